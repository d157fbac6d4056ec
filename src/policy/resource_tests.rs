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

/// Tools that change something but act on no existing AWS resource that could carry an owner:
/// they create one, start or stop a policy-generation job, or act on a RabbitMQ broker with the
/// credentials the caller gave (the broker's own users decide there).
fn acts_on_no_owned_resource(name: &str) -> bool {
    matches!(
        name,
        "create_broker"
            | "create_configuration"
            | "create_user"
            | "create_role"
            | "create_group"
            | "policy_generation_start"
            | "policy_generation_cancel"
    ) || name.starts_with("rabbitmq_")
}

/// Every tool that changes or deletes an existing AWS resource names it (a target), so that
/// `resource.*` rules can see it.
#[test]
fn every_tool_that_changes_an_existing_resource_names_it() {
    use crate::catalogue::RiskClass;
    for spec in Catalogue::builtin().iter() {
        if spec.class == RiskClass::Read || acts_on_no_owned_resource(spec.name) {
            continue;
        }
        assert!(spec.target.is_some(), "{} names no resource", spec.name);
    }
}

/// Issue 23 (5): each shipped policy that promises "agents change only what they created"
/// keeps its promise over the whole catalogue: another principal's call on a resource alice
/// owns is refused (denied, or left to an operator) for every tool that changes it; a call
/// with no resource facts (the lookup found nothing to name) is refused too.
#[test]
fn shipped_policies_keep_agents_to_what_they_created() {
    use crate::catalogue::RiskClass;
    use crate::policy::Approver;
    let c = Catalogue::builtin();
    let bob = Caller::new("bob", vec![]);
    let mut holes = Vec::new();
    let alices = json!({"tags": {"owner": "alice", "created-by": "guarded-aws-mcp"},
        "name": "x", "arn": "arn:aws:iam::123456789012:user/x", "path": "/",
        "attached_policies": [], "state": "RUNNING"});
    for (file, text, families) in [
        (
            "dev-permissive",
            include_str!("../../policies/dev-permissive.yaml"),
            &["mq", "iam"][..],
        ),
        // The default policy promises it for Amazon MQ; IAM writes wait for an operator there.
        (
            "default",
            include_str!("../../policies/default.yaml"),
            &["mq", "iam"][..],
        ),
    ] {
        let p = load_str(text, file, &c).unwrap();
        for spec in c.iter() {
            if spec.class == RiskClass::Read || acts_on_no_owned_resource(spec.name) {
                continue;
            }
            let family = if spec.aws_api.starts_with("mq:") {
                "mq"
            } else {
                "iam"
            };
            if !families.contains(&family) {
                continue;
            }
            let target = spec.target.expect("named (the test above)");
            let args = json!({ target.arg(): "x" });
            for facts in [Some(&alices), None] {
                let d = p.decide_with(spec, &args, &bob, facts);
                let refused = d.action == Action::Deny
                    || (d.action == Action::RequireApproval && d.approver == Approver::Operator);
                if !refused {
                    holes.push(format!(
                        "{file}: bob may {} alice's resource (facts: {}): {:?} by {}",
                        spec.name,
                        facts.is_some(),
                        d.action,
                        d.basis
                    ));
                }
            }
        }
    }
    assert!(holes.is_empty(), "{}", holes.join("\n"));
}
