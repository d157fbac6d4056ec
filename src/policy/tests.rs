//! Unit tests of the policy model, its checks against the catalogue and the pure decision.

use serde_json::{Value, json};

use super::*;
use crate::catalogue::Catalogue;

pub(super) fn cat() -> Catalogue {
    Catalogue::builtin()
}

pub(super) fn load(yaml: &str) -> CompiledPolicy {
    match load_str(yaml, "test.yaml", &cat()) {
        Ok(p) => p,
        Err(e) => panic!("policy should load: {e}"),
    }
}

fn errors(yaml: &str) -> Vec<String> {
    match load_str(yaml, "test.yaml", &cat()) {
        Ok(_) => panic!("policy should be refused"),
        Err(e) => e.errors.iter().map(|e| e.to_string()).collect(),
    }
}

fn decide(p: &CompiledPolicy, tool: &str, args: Value) -> (Action, String) {
    let c = cat();
    let spec = c.get(tool).expect("tool exists");
    let d = p.decide(spec, &args, &Caller::default());
    (d.action, d.basis.to_string())
}

fn one_condition(tool: &str, path: &str, op: &str, value: Value) -> CompiledPolicy {
    let yaml = format!(
        "version: 1\ndefault: allow\ntools:\n  {tool}:\n    - action: deny\n      when:\n        - {{path: {path}, op: {op}, value: {value}}}\n"
    );
    load(&yaml)
}

fn denied(p: &CompiledPolicy, tool: &str, args: Value) -> bool {
    decide(p, tool, args).0 == Action::Deny
}

#[test]
fn every_shipped_policy_loads() {
    for (name, text) in [
        ("default", include_str!("../../policies/default.yaml")),
        ("read-only", include_str!("../../policies/read-only.yaml")),
        (
            "dev-permissive",
            include_str!("../../policies/dev-permissive.yaml"),
        ),
        (
            "production-strict",
            include_str!("../../policies/production-strict.yaml"),
        ),
        ("team", include_str!("../../policies/team.yaml")),
        ("history", include_str!("../../policies/history.yaml")),
    ] {
        load_str(text, name, &cat()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn op_eq_and_ne() {
    let p = one_condition("create_broker", "args.engine_type", "eq", json!("RABBITMQ"));
    assert!(denied(
        &p,
        "create_broker",
        json!({"engine_type": "RABBITMQ"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"engine_type": "ACTIVEMQ"})
    ));
    let p = one_condition("create_broker", "args.engine_type", "ne", json!("RABBITMQ"));
    assert!(denied(
        &p,
        "create_broker",
        json!({"engine_type": "ACTIVEMQ"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"engine_type": "RABBITMQ"})
    ));
    // A missing argument is "not equal".
    assert!(denied(&p, "create_broker", json!({})));
}

#[test]
fn op_in_and_not_in() {
    let p = one_condition(
        "create_broker",
        "args.host_instance_type",
        "in",
        json!(["mq.m5.4xlarge", "mq.m5.2xlarge"]),
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"host_instance_type": "mq.m5.4xlarge"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"host_instance_type": "mq.t3.micro"})
    ));
    let p = one_condition(
        "create_broker",
        "args.host_instance_type",
        "not_in",
        json!(["mq.t3.micro"]),
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"host_instance_type": "mq.m5.large"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"host_instance_type": "mq.t3.micro"})
    ));
}

#[test]
fn numeric_ops() {
    for (op, below, at, above) in [
        ("lt", true, false, false),
        ("lte", true, true, false),
        ("gt", false, false, true),
        ("gte", false, true, true),
    ] {
        let p = one_condition("list_brokers", "args.MaxResults", op, json!(50));
        assert_eq!(
            denied(&p, "list_brokers", json!({"MaxResults": 10})),
            below,
            "{op} below"
        );
        assert_eq!(
            denied(&p, "list_brokers", json!({"MaxResults": 50})),
            at,
            "{op} at"
        );
        assert_eq!(
            denied(&p, "list_brokers", json!({"MaxResults": 90})),
            above,
            "{op} above"
        );
        assert!(!denied(&p, "list_brokers", json!({})), "{op} missing");
    }
}

#[test]
fn op_regex_glob_contains_exists() {
    let p = one_condition(
        "create_broker",
        "args.broker_name",
        "regex",
        json!("^prod-"),
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"broker_name": "prod-orders"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"broker_name": "dev-orders"})
    ));

    let p = one_condition("create_broker", "args.broker_name", "glob", json!("*-prod"));
    assert!(denied(
        &p,
        "create_broker",
        json!({"broker_name": "orders-prod"})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"broker_name": "orders-dev"})
    ));

    let p = one_condition(
        "create_broker",
        "args.broker_name",
        "contains",
        json!("tmp"),
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"broker_name": "a-tmp-b"})
    ));
    assert!(!denied(&p, "create_broker", json!({"broker_name": "ab"})));
    // contains on a list and on an object (key).
    let p = one_condition(
        "create_broker",
        "args.security_groups",
        "contains",
        json!("sg-0123456789abcdef0"),
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"security_groups": ["sg-0123456789abcdef0"]})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"security_groups": ["sg-11111111"]})
    ));
    let p = one_condition("create_broker", "args.tags", "contains", json!("owner"));
    assert!(denied(
        &p,
        "create_broker",
        json!({"tags": {"owner": "me"}})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"tags": {"team": "me"}})
    ));

    let p = one_condition(
        "update_broker",
        "args.HostInstanceType",
        "exists",
        json!(true),
    );
    assert!(denied(
        &p,
        "update_broker",
        json!({"HostInstanceType": "mq.m5.large"})
    ));
    assert!(!denied(
        &p,
        "update_broker",
        json!({"EngineVersion": "3.13"})
    ));
    let p = one_condition(
        "update_broker",
        "args.HostInstanceType",
        "exists",
        json!(false),
    );
    assert!(denied(
        &p,
        "update_broker",
        json!({"EngineVersion": "3.13"})
    ));
}

#[test]
fn nested_paths() {
    let p = one_condition("update_broker", "args.Logs.General", "eq", json!(false));
    assert!(denied(
        &p,
        "update_broker",
        json!({"Logs": {"General": false}})
    ));
    assert!(!denied(
        &p,
        "update_broker",
        json!({"Logs": {"General": true}})
    ));
    assert!(!denied(&p, "update_broker", json!({})));
}

#[test]
fn all_conditions_must_hold() {
    let p = load(
        "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.engine_type, op: eq, value: RABBITMQ}\n        - {path: args.publicly_accessible, op: eq, value: true}\n",
    );
    assert!(denied(
        &p,
        "create_broker",
        json!({"engine_type": "RABBITMQ", "publicly_accessible": true})
    ));
    assert!(!denied(
        &p,
        "create_broker",
        json!({"engine_type": "RABBITMQ", "publicly_accessible": false})
    ));
}

#[test]
fn precedence_deny_over_approval_over_allow_across_keys() {
    let p = load(
        r#"
version: 1
default: allow
tools:
  "describe_*":
    - action: allow
  describe_broker:
    - action: require_approval
      reason: needs a look
  "describe_b*":
    - action: deny
      reason: no
      when:
        - {path: args.region, op: eq, value: eu-west-1}
"#,
    );
    let id = "b-1234abcd-1234-1234-1234-123456789abc";
    assert_eq!(
        decide(
            &p,
            "describe_broker",
            json!({"BrokerId": id, "region": "eu-west-1"})
        ),
        (Action::Deny, "tools.describe_b*[0]".into())
    );
    assert_eq!(
        decide(&p, "describe_broker", json!({"BrokerId": id})),
        (Action::RequireApproval, "tools.describe_broker[0]".into())
    );
    assert_eq!(
        decide(&p, "describe_configuration", json!({})),
        (Action::Allow, "tools.describe_*[0]".into())
    );
}

#[test]
fn class_default_then_policy_default() {
    let p = load(
        "version: 1\ndefault: deny\nclasses:\n  read: allow\n  destructive: require_approval\n",
    );
    assert_eq!(
        decide(&p, "list_brokers", json!({})),
        (Action::Allow, "classes.read".into())
    );
    assert_eq!(
        decide(&p, "delete_broker", json!({})),
        (Action::RequireApproval, "classes.destructive".into())
    );
    assert_eq!(
        decide(&p, "create_broker", json!({})),
        (Action::Deny, "default".into())
    );
    let p = load("version: 1\ndefault: allow\n");
    assert_eq!(
        decide(&p, "delete_broker", json!({})),
        (Action::Allow, "default".into())
    );
}

#[test]
fn hide_globs_and_names() {
    let p = load("version: 1\ndefault: allow\nhide: [delete_configuration, \"reboot_*\"]\n");
    assert!(p.is_hidden("delete_configuration"));
    assert!(p.is_hidden("reboot_broker"));
    assert!(!p.is_hidden("delete_broker"));
    assert_eq!(
        decide(&p, "reboot_broker", json!({})),
        (Action::Deny, "hide".into())
    );
}

#[test]
fn limits_follow_the_deciding_action() {
    let p = load(
        r#"
version: 1
default: allow
limits:
  - {max: 5, window: 1h, per: global, class: destructive}
  - {max: 100, window: 1m, per: session}
  - {max: 3, window: 10s, tool: "list_*"}
tools:
  list_brokers:
    - action: allow
      limit: {max: 2, window: 1h, per: session}
"#,
    );
    let c = cat();
    let d = p.decide(
        c.get("list_brokers").unwrap(),
        &json!({}),
        &Caller::default(),
    );
    let ids: Vec<&str> = d.limits.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(
        ids,
        ["tools.list_brokers[0].limit", "limits[1]", "limits[2]"]
    );
    let d = p.decide(
        c.get("delete_broker").unwrap(),
        &json!({}),
        &Caller::default(),
    );
    let ids: Vec<&str> = d.limits.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["limits[0]", "limits[1]"]);
    assert_eq!(
        p.limits[2].window(),
        Some(std::time::Duration::from_secs(10))
    );
}

#[test]
fn load_errors_name_their_location() {
    let e = errors("version: 2\n");
    assert!(e[0].starts_with("version:"), "{e:?}");

    let e = errors("version: 1\ntools:\n  no_such_tool:\n    - action: allow\n");
    assert!(
        e[0].contains("tools.no_such_tool") && e[0].contains("matches no tool"),
        "{e:?}"
    );

    let e = errors("version: 1\nhide: [\"zzz_*\"]\n");
    assert!(e[0].starts_with("hide[0]"), "{e:?}");

    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.nope, op: eq, value: 1}\n",
    );
    assert!(
        e[0].starts_with("tools.create_broker[0].when[0].path") && e[0].contains("not a parameter"),
        "{e:?}"
    );

    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.publicly_accessible, op: eq, value: \"yes\"}\n",
    );
    assert!(
        e[0].starts_with("tools.create_broker[0].when[0].value") && e[0].contains("boolean"),
        "{e:?}"
    );

    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.broker_name, op: regex, value: \"(\"}\n",
    );
    assert!(e[0].contains("regex does not compile"), "{e:?}");

    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.broker_name, op: lt, value: 3}\n",
    );
    assert!(e[0].contains("compares numbers"), "{e:?}");

    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.broker_name, op: in, value: x}\n",
    );
    assert!(e[0].contains("needs a list"), "{e:?}");

    // `max: 0` is a block, not an error; a bad window still is.
    let e = errors("version: 1\nlimits:\n  - {max: 0, window: 5x}\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].starts_with("limits[0].window"), "{e:?}");

    let e = errors(
        "version: 1\ntools:\n  list_brokers:\n    - action: deny\n      limit: {max: 1, window: 1m}\n",
    );
    assert!(e[0].starts_with("tools.list_brokers[0].limit"), "{e:?}");

    // Unknown fields and bad YAML are reported with their line.
    let e = errors("version: 1\ntools:\n  list_brokers:\n    - acton: allow\n");
    assert!(e[0].contains("line 4") && e[0].contains("acton"), "{e:?}");

    // Several errors are reported at once.
    let e = errors("version: 1\nhide: [nope]\ntools:\n  nope2:\n    - action: allow\n");
    assert_eq!(e.len(), 2, "{e:?}");
}

#[test]
fn window_units() {
    use super::model::Window;
    assert_eq!(parse_window(&Window::Seconds(60)).unwrap().as_secs(), 60);
    assert_eq!(
        parse_window(&Window::Text("90s".into())).unwrap().as_secs(),
        90
    );
    assert_eq!(
        parse_window(&Window::Text("2m".into())).unwrap().as_secs(),
        120
    );
    assert_eq!(
        parse_window(&Window::Text("1h".into())).unwrap().as_secs(),
        3600
    );
    assert_eq!(
        parse_window(&Window::Text("1d".into())).unwrap().as_secs(),
        86400
    );
    assert!(parse_window(&Window::Text("0s".into())).is_err());
    assert!(parse_window(&Window::Text("1w".into())).is_err());
    assert!(parse_window(&Window::Text("".into())).is_err());
    // Found by the policy_load fuzz target: a multi-byte last character is no unit, no panic.
    for text in ["ǒ", "5ǒ", "ǒs", "€"] {
        assert!(parse_window(&Window::Text(text.into())).is_err(), "{text}");
    }
}

#[test]
fn schema_file_is_current() {
    let generated = serde_json::to_string_pretty(&policy_json_schema()).unwrap();
    let shipped = include_str!("../../policies/policy.schema.json");
    assert_eq!(
        generated.trim(),
        shipped.trim(),
        "policies/policy.schema.json is stale: run `guarded-aws-mcp policy schema > policies/policy.schema.json`"
    );
}

#[test]
fn rules_match_principal_and_roles() {
    let p = load(
        r#"
version: 1
default: deny
tools:
  create_broker:
    - action: allow
      when: [{path: roles, op: contains, value: platform}]
    - action: require_approval
      when: [{path: principal, op: in, value: [alice, bob]}]
      approval_timeout: 2m
  list_brokers:
    - action: allow
      when: [{path: roles, op: not_in, value: [contractor]}]
    - action: deny
      when: [{path: principal, op: glob, value: "ci-*"}]
"#,
    );
    let c = cat();
    let call = |tool: &str, who: &Caller| p.decide(c.get(tool).unwrap(), &json!({}), who);
    let alice = Caller::new("alice", vec![]);
    let ops = Caller::new("carol", vec!["ops".into(), "platform".into()]);
    let contractor = Caller::new("dave", vec!["contractor".into()]);
    let ci = Caller::new("ci-runner", vec![]);

    let d = call("create_broker", &alice);
    assert_eq!(d.action, Action::RequireApproval);
    assert_eq!(d.approval_timeout, std::time::Duration::from_secs(120));
    assert_eq!(call("create_broker", &ops).action, Action::Allow);
    assert_eq!(call("create_broker", &ci).action, Action::Deny);
    assert_eq!(call("list_brokers", &alice).action, Action::Allow);
    assert_eq!(call("list_brokers", &contractor).action, Action::Deny);
    assert_eq!(call("list_brokers", &ci).action, Action::Deny);
    assert_eq!(
        call("list_brokers", &ops).conditions,
        vec![r#"roles not_in ["contractor"]"#]
    );
}

#[test]
fn principal_paths_and_approval_timeouts_are_checked() {
    let e = errors(
        r#"
version: 1
tools:
  create_broker:
    - action: allow
      approval_timeout: 1m
    - action: require_approval
      approval_timeout: 0s
    - action: allow
      when: [{path: principals, op: eq, value: x}]
    - action: allow
      when: [{path: principal, op: gt, value: 1}]
"#,
    );
    let text = e.join("\n");
    assert!(
        text.contains("tools.create_broker[0].approval_timeout: only a `require_approval` rule"),
        "{text}"
    );
    assert!(
        text.contains("tools.create_broker[1].approval_timeout: window must be at least 1 second"),
        "{text}"
    );
    assert!(
        text.contains("tools.create_broker[2].when[0].path"),
        "{text}"
    );
    assert!(
        text.contains("tools.create_broker[3].when[0].value"),
        "{text}"
    );
}

#[test]
fn per_principal_limits_count_across_sessions() {
    let p = load(
        r#"
version: 1
default: allow
limits:
  - {max: 2, window: 1h, per: principal}
"#,
    );
    let c = cat();
    let d = p.decide(
        c.get("list_brokers").unwrap(),
        &json!({}),
        &Caller::default(),
    );
    let lim = crate::limits::Limiter::new();
    let t = std::time::Instant::now();
    let a1 = crate::limits::counted_plain(&d.limits, "session-1", &Caller::new("alice", vec![]));
    let a2 = crate::limits::counted_plain(&d.limits, "session-2", &Caller::new("alice", vec![]));
    let b = crate::limits::counted_plain(&d.limits, "session-1", &Caller::new("bob", vec![]));
    let _ = lim.try_acquire(&a1, t).unwrap();
    let _ = lim.try_acquire(&a2, t).unwrap();
    assert!(lim.try_acquire(&a1, t).is_err());
    assert!(lim.try_acquire(&a2, t).is_err());
    let _ = lim.try_acquire(&b, t).unwrap();
}

#[test]
fn team_policy_follows_roles() {
    let p = load(include_str!("../../policies/team.yaml"));
    let c = cat();
    let d = |tool: &str, args: Value, roles: &[&str]| {
        let who = Caller::new("someone", roles.iter().map(|r| r.to_string()).collect());
        p.decide(c.get(tool).unwrap(), &args, &who).action
    };
    assert_eq!(d("list_brokers", json!({}), &["reader"]), Action::Allow);
    assert_eq!(d("list_brokers", json!({}), &[]), Action::Deny);
    assert_eq!(d("create_broker", json!({}), &["reader"]), Action::Deny);
    assert_eq!(
        d("create_broker", json!({}), &["operator"]),
        Action::RequireApproval
    );
    assert_eq!(
        d(
            "create_broker",
            json!({"publicly_accessible": true}),
            &["operator"]
        ),
        Action::Deny
    );
    assert_eq!(d("put_user_policy", json!({}), &["operator"]), Action::Deny);
    assert_eq!(
        d("put_user_policy", json!({}), &["iam-admin"]),
        Action::RequireApproval
    );
    assert_eq!(
        d("delete_broker", json!({}), &["operator", "iam-admin"]),
        Action::Deny
    );
    let who = Caller::new("x", vec!["iam-admin".into()]);
    let generation = p.decide(c.get("policy_generation_start").unwrap(), &json!({}), &who);
    assert!(
        generation
            .limits
            .iter()
            .any(|l| l.per == [crate::policy::KeyPart::Principal] && l.max == 5)
    );
}

/// Issue 11 (9): a key written twice was accepted and one of the two silently dropped.
#[test]
fn duplicate_keys_are_refused() {
    let e = errors(
        "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: deny\n  create_broker:\n    - action: allow\n",
    );
    assert!(
        e.iter()
            .any(|e| e.contains("\"create_broker\" is written twice")),
        "{e:?}"
    );
    let e = errors("version: 1\nclasses:\n  read: allow\n  read: deny\n");
    assert!(e.iter().any(|e| e.contains("written twice")), "{e:?}");
    let e = errors("version: 1\ndefault: allow\ndefault: deny\n");
    assert!(e.iter().any(|e| e.contains("duplicate")), "{e:?}");
}

/// Issue 11 (9): among rules of one action, the exact name decides before globs, and globs in
/// file order — not in the alphabetical order of their keys.
#[test]
fn exact_names_then_globs_in_file_order_decide() {
    let p = load(
        "version: 1\ndefault: deny\ntools:\n  reboot_broker:\n    - action: deny\n      reason: exact\n  \"*\":\n    - action: deny\n      reason: star\n",
    );
    let (_, basis) = decide(&p, "reboot_broker", json!({"broker_id": "b-1"}));
    assert_eq!(basis, "tools.reboot_broker[0]");
    // `create_*` sorts before `create_access_key`, but the exact key's reveal rule decides.
    let p = load(
        "version: 1\ndefault: deny\ntools:\n  \"create_*\":\n    - action: allow\n  create_access_key:\n    - action: allow\n      reveal_secrets: true\n",
    );
    let c = cat();
    let d = p.decide(
        c.get("create_access_key").unwrap(),
        &json!({"user_name": "u"}),
        &Caller::default(),
    );
    assert_eq!(d.basis.to_string(), "tools.create_access_key[0]");
    assert!(d.reveal_secrets);
    // Two globs: the first in the file decides, whatever their names' order.
    let p = load(
        "version: 1\ndefault: deny\ntools:\n  \"reboot_*\":\n    - action: deny\n  \"*_broker\":\n    - action: deny\n",
    );
    let (_, basis) = decide(&p, "reboot_broker", json!({"broker_id": "b-1"}));
    assert_eq!(basis, "tools.reboot_*[0]");
    let p = load(
        "version: 1\ndefault: deny\ntools:\n  \"*_broker\":\n    - action: deny\n  \"reboot_*\":\n    - action: deny\n",
    );
    let (_, basis) = decide(&p, "reboot_broker", json!({"broker_id": "b-1"}));
    assert_eq!(basis, "tools.*_broker[0]");
}

#[test]
fn approver_is_carried_and_only_on_approval_rules() {
    let p = load(
        "version: 1\ndefault: deny\ntools:\n  create_broker:\n    - action: require_approval\n      approver: operator\n",
    );
    let c = cat();
    let d = p.decide(
        c.get("create_broker").unwrap(),
        &json!({}),
        &Caller::default(),
    );
    assert_eq!(d.approver, Approver::Operator);
    let e = errors(
        "version: 1\ntools:\n  create_broker:\n    - action: allow\n      approver: operator\n",
    );
    assert!(
        e.iter()
            .any(|e| e.contains("tools.create_broker[0].approver")),
        "{e:?}"
    );
}

/// Issue 11 (11): policies/team.yaml's description, sentence by sentence, over every tool.
#[test]
fn team_policy_does_what_its_description_says() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/team.yaml"))
        .expect("team.yaml");
    let p = load(&text);
    let c = cat();
    let iam_changes = [
        "put_user_policy",
        "put_role_policy",
        "attach_user_policy",
        "attach_role_policy",
        "detach_user_policy",
        "detach_role_policy",
        "policy_generation_start",
    ];
    let roles = [
        vec![],
        vec!["reader"],
        vec!["operator"],
        vec!["iam-admin"],
        vec!["reader", "operator", "iam-admin"],
    ];
    for spec in c.iter() {
        for r in &roles {
            let caller = Caller::new("p", r.iter().map(|s| s.to_string()).collect());
            let d = p.decide(spec, &json!({}), &caller);
            let who = format!("{} as {r:?}: {:?} by {}", spec.name, d.action, d.basis);
            if r.is_empty() {
                assert_eq!(d.action, Action::Deny, "no role gets nothing: {who}");
            }
            if spec.class == crate::catalogue::RiskClass::Destructive {
                assert_eq!(d.action, Action::Deny, "destructive denied: {who}");
            }
            if spec.class == crate::catalogue::RiskClass::Read {
                assert_ne!(
                    d.action,
                    Action::RequireApproval,
                    "reads never approved: {who}"
                );
            }
            if iam_changes.contains(&spec.name) {
                if r.contains(&"iam-admin") {
                    assert_eq!(d.action, Action::RequireApproval, "{who}");
                    assert_eq!(d.approver, Approver::Operator, "{who}");
                } else {
                    assert_eq!(d.action, Action::Deny, "iam-admin only: {who}");
                }
            }
        }
    }
    // Readers read.
    let reader = Caller::new("r", vec!["reader".into()]);
    for tool in [
        "list_brokers",
        "describe_broker",
        "get_user_policy",
        "list_users",
    ] {
        let d = p.decide(c.get(tool).unwrap(), &json!({}), &reader);
        assert_eq!(d.action, Action::Allow, "{tool}");
    }
}
