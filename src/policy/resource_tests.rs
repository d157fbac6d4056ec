//! Conditions on the resource a call touches, caller templates and `tag_on_create`: checked
//! against the catalogue when loaded, decided as a pure function of the facts.

use serde_json::json;

use super::{Action, Caller, load_str};
use crate::catalogue::Catalogue;

fn policy(text: &str) -> Result<super::CompiledPolicy, String> {
    load_str(text, "p.yaml", &Catalogue::builtin()).map_err(|e| e.to_string())
}

const OWNED_DEV: &str = "version: 1\ndefault: allow\ntag_on_create:\n  created-by: guarded-aws-mcp\n  owner: \"${principal}\"\ntools:\n  delete_broker:\n    - action: deny\n      reason: only dev brokers\n      when: [{path: resource.tags.env, op: ne, value: dev}]\n    - action: deny\n      reason: only your own\n      when: [{path: resource.tags.owner, op: ne, value: \"${principal}\"}]\n";

#[test]
fn resource_facts_and_the_owner_template_decide() {
    let p = policy(OWNED_DEV).unwrap();
    let c = Catalogue::builtin();
    let spec = c.get("delete_broker").unwrap();
    let args = json!({"BrokerId": "b-1"});
    let alice = Caller::new("alice", vec![]);
    let bob = Caller::new("bob", vec![]);
    let facts =
        |env: &str, owner: &str| json!({"tags": {"env": env, "owner": owner}, "state": "RUNNING"});
    let d = |who: &Caller, f: serde_json::Value| p.decide_with(spec, &args, who, Some(&f)).action;
    assert_eq!(d(&alice, facts("dev", "alice")), Action::Allow);
    assert_eq!(d(&alice, facts("prod", "alice")), Action::Deny);
    assert_eq!(d(&bob, facts("dev", "alice")), Action::Deny);
    assert_eq!(
        d(&alice, json!({"tags": {"env": "dev"}})),
        Action::Deny,
        "no owner tag: not yours"
    );
    // Without facts, `ne` holds (as for a missing argument): the deny rules refuse.
    assert_eq!(p.decide(spec, &args, &alice).action, Action::Deny);
    assert!(p.needs_resource("delete_broker") && !p.needs_resource("list_brokers"));
    assert_eq!(
        p.resource_paths("delete_broker"),
        &[
            vec!["tags".to_string(), "env".to_string()],
            vec!["tags".to_string(), "owner".to_string()]
        ]
    );
    let tags = p.tags_on_create(&alice);
    assert_eq!(tags.get("owner").map(String::as_str), Some("alice"));
    assert_eq!(
        tags.get("created-by").map(String::as_str),
        Some("guarded-aws-mcp")
    );
}

#[test]
fn other_facts_and_types() {
    let p = policy("version: 1\ndefault: deny\ntools:\n  reboot_broker:\n    - action: allow\n      when: [{path: resource.state, op: eq, value: RUNNING}, {path: resource.publicly_accessible, op: eq, value: false}]\n  delete_user:\n    - action: allow\n      when: [{path: resource.path, op: glob, value: \"/agents/*\"}, {path: resource.attached_policies, op: exists, value: false}]\n").unwrap();
    let c = Catalogue::builtin();
    let reboot = c.get("reboot_broker").unwrap();
    let args = json!({"BrokerId": "b-1"});
    let who = Caller::default();
    let run = json!({"state": "RUNNING", "publicly_accessible": false});
    assert_eq!(
        p.decide_with(reboot, &args, &who, Some(&run)).action,
        Action::Allow
    );
    let public = json!({"state": "RUNNING", "publicly_accessible": true});
    assert_eq!(
        p.decide_with(reboot, &args, &who, Some(&public)).action,
        Action::Deny
    );
    let del = c.get("delete_user").unwrap();
    let uargs = json!({"user_name": "x"});
    let agent = json!({"path": "/agents/", "attached_policies": null});
    assert_eq!(
        p.decide_with(del, &uargs, &who, Some(&agent)).action,
        Action::Allow
    );
}

#[test]
fn resource_paths_are_checked_against_what_each_tool_touches() {
    let e = policy("version: 1\ntools:\n  list_brokers:\n    - action: allow\n      when: [{path: resource.tags.env, op: eq, value: dev}]\n").err().unwrap();
    assert!(
        e.contains("list_brokers acts on no single existing resource"),
        "{e}"
    );
    let e = policy("version: 1\ntools:\n  delete_broker:\n    - action: allow\n      when: [{path: resource.path, op: eq, value: /x/}]\n").err().unwrap();
    assert!(
        e.contains("not a fact of delete_broker's resource (an Amazon MQ broker)")
            && e.contains("tags.<key>"),
        "{e}"
    );
    let e = policy("version: 1\ntools:\n  delete_broker:\n    - action: allow\n      when: [{path: resource.state, op: in, value: [\"${principal}\"]}]\n").err();
    assert!(
        e.is_none(),
        "a list holding template text is plain text: {e:?}"
    );
    let e = policy("version: 1\ntools:\n  delete_broker:\n    - action: allow\n      when: [{path: resource.tags.owner, op: regex, value: \"${principal}\"}]\n").err().unwrap();
    assert!(e.contains("caller template compares with eq or ne"), "{e}");
    let e = policy("version: 1\ntools:\n  delete_broker:\n    - action: allow\n      when: [{path: resource.tags.owner, op: eq, value: \"${someone}\"}]\n").err().unwrap();
    assert!(e.contains("is not a template"), "{e}");
    let e = policy("version: 1\ntag_on_create:\n  \"aws:owner\": x\n")
        .err()
        .unwrap();
    assert!(e.contains("tag_on_create.aws:owner"), "{e}");
    // A glob over tools with different resources: every tool must offer the fact.
    let e = policy("version: 1\ntools:\n  \"delete_*\":\n    - action: allow\n      when: [{path: resource.tags.env, op: eq, value: dev}]\n").err().unwrap();
    assert!(
        e.contains("delete_access_key") || e.contains("not a fact of delete_group"),
        "{e}"
    );
}

#[test]
fn templates_work_on_arguments_and_claims_too() {
    let p = policy("version: 1\ndefault: deny\ntools:\n  create_user:\n    - action: allow\n      when: [{path: args.user_name, op: eq, value: \"${principal}\"}]\n  delete_user:\n    - action: allow\n      when: [{path: resource.tags.team, op: eq, value: \"${claims.team}\"}]\n").unwrap();
    let c = Catalogue::builtin();
    let create = c.get("create_user").unwrap();
    let alice = Caller::new("alice", vec![]);
    assert_eq!(
        p.decide(create, &json!({"user_name": "alice"}), &alice)
            .action,
        Action::Allow
    );
    assert_eq!(
        p.decide(create, &json!({"user_name": "bob"}), &alice)
            .action,
        Action::Deny
    );
    let del = c.get("delete_user").unwrap();
    let facts = json!({"tags": {"team": "payments"}});
    let member = Caller::new("carol", vec![]).with_token(super::TokenFacts {
        issuer: "i".into(),
        id: None,
        claims: json!({"team": "payments"}).as_object().unwrap().clone(),
    });
    assert_eq!(
        p.decide_with(del, &json!({"user_name": "x"}), &member, Some(&facts))
            .action,
        Action::Allow
    );
    assert_eq!(
        p.decide_with(del, &json!({"user_name": "x"}), &alice, Some(&facts))
            .action,
        Action::Deny,
        "no token, no claims"
    );
}
