//! The command line: policy validate / explain / schema, tools, and serve's refusal to start.

use libtest_mimic::Trial;

use crate::support::{Needs, trial_sync};

use std::process::Command;

use crate::support::BIN;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("GUARDED_AWS_MCP_POLICY")
        .output()
        .expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn validate_accepts_shipped_policies() {
    for f in [
        "default",
        "read-only",
        "dev-permissive",
        "production-strict",
        "team",
    ] {
        let path = format!("{}/policies/{f}.yaml", env!("CARGO_MANIFEST_DIR"));
        let (code, out, _) = run(&["policy", "validate", &path]);
        assert_eq!(code, 0, "{f}: {out}");
        assert!(out.contains(": ok ("), "{out}");
    }
}

fn validate_prints_every_error_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "version: 1\nhide: [nothing_like_this]\ntools:\n  create_broker:\n    - action: deny\n      when:\n        - {path: args.color, op: eq, value: red}\n        - {path: args.broker_name, op: regex, value: \"[\"}\n",
    )
    .unwrap();
    let (code, out, _) = run(&["policy", "validate", path.to_str().unwrap()]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].contains("hide[0]"), "{out}");
    assert!(
        lines[1].contains("tools.create_broker[0].when[0].path"),
        "{out}"
    );
    assert!(
        lines[2].contains("tools.create_broker[0].when[1].value"),
        "{out}"
    );
}

fn explain_names_rule_and_condition() {
    let (code, out, _) = run(&[
        "policy",
        "explain",
        "--tool",
        "create_broker",
        "--args",
        r#"{"broker_name":"a","engine_type":"RABBITMQ","deployment_mode":"SINGLE_INSTANCE","username":"admin","password":"Sup3r-secret-pw-42","publicly_accessible":true}"#,
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("decision: deny"), "{out}");
    assert!(out.contains("decided by: tools.create_broker[0]"), "{out}");
    assert!(
        out.contains("condition held: args.publicly_accessible eq true"),
        "{out}"
    );

    let (_, out, _) = run(&["policy", "explain", "--tool", "list_brokers", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["limits"].as_array().unwrap().len(), 2);

    // The shipped default gives policy_generation_start approval and 10 calls per 60 s.
    let (_, out, _) = run(&[
        "policy",
        "explain",
        "--tool",
        "policy_generation_start",
        "--json",
        "--args",
        r#"{"principal_arn":"arn:aws:iam::123456789012:role/app"}"#,
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["decision"], "require_approval");
    assert_eq!(v["basis"], "tools.policy_generation_start[0]");
    assert_eq!(
        v["limits"][0],
        "tools.policy_generation_start[0].limit: 10 calls per 60s per session"
    );

    let (_, out, _) = run(&[
        "policy",
        "explain",
        "--tool",
        "delete_broker",
        "--read-only",
        "--args",
        r#"{"BrokerId":"b-1"}"#,
    ]);
    assert!(
        out.contains("decision: deny") && out.contains("read-only"),
        "{out}"
    );

    // Shadow mode: explain still names the refusal that is audited but not enforced.
    let dir = tempfile::tempdir().unwrap();
    let shadow = dir.path().join("shadow.yaml");
    std::fs::write(
        &shadow,
        "version: 1\nmode: shadow\ndefault: allow\nhide: [reboot_broker]\n",
    )
    .unwrap();
    let (_, out, _) = run(&[
        "policy",
        "explain",
        "--policy",
        shadow.to_str().unwrap(),
        "--tool",
        "reboot_broker",
        "--args",
        r#"{"BrokerId":"b-1"}"#,
    ]);
    assert!(
        out.contains("decision: deny")
            && out.contains("decided by: hide")
            && out.contains("shadow mode, not enforced"),
        "{out}"
    );
}

fn tools_lists_the_catalogue() {
    let (code, out, _) = run(&["tools", "--json"]);
    assert_eq!(code, 0);
    let v: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert_eq!(v.len(), 81);
    let broker = v.iter().find(|t| t["name"] == "create_broker").unwrap();
    assert_eq!(broker["class"], "write");
    assert_eq!(broker["aws_api"], "mq:CreateBroker");
}

fn serve_refuses_an_invalid_policy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "version: 1\ntools:\n  nope:\n    - action: allow\n").unwrap();
    let (code, _, err) = run(&[
        "serve",
        "--policy",
        path.to_str().unwrap(),
        "--audit-log",
        dir.path().join("a.jsonl").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("refusing to start") && err.contains("tools.nope"),
        "{err}"
    );
}

fn schema_command_matches_the_shipped_file() {
    let (_, out, _) = run(&["policy", "schema"]);
    let shipped = std::fs::read_to_string(format!(
        "{}/policies/policy.schema.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    assert_eq!(out.trim(), shipped.trim());
}

/// This module's tests, for the e2e harness.
/// `tokens new` prints a token once and an entry that accepts exactly it; the shipped example
/// tokens file and HTTP client configs parse.
fn tokens_new_and_the_examples() {
    use guarded_aws_mcp::transport::tokens::Tokens;
    let (code, out, err) = run(&["tokens", "new", "--principal", "alice", "--role", "ops"]);
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert!(token.len() >= 40, "{token}");
    let entry = err
        .split("tokens-file entry:")
        .nth(1)
        .expect("entry printed");
    assert!(
        !entry.contains(token),
        "the file entry holds the token itself"
    );
    let tokens = Tokens::parse(entry, "printed entry").expect("entry parses");
    let caller = tokens.check(token).expect("the token is accepted");
    assert_eq!(caller.principal, "alice");
    assert_eq!(caller.roles, ["ops"]);
    assert!(tokens.check(&format!("{token}x")).is_none());

    let dir = env!("CARGO_MANIFEST_DIR");
    let example = std::fs::read_to_string(format!("{dir}/examples/tokens.example.yaml")).unwrap();
    let t = Tokens::parse(&example, "tokens.example.yaml").expect("example parses");
    assert_eq!(
        t.check("example-token-replace-me-0123456789")
            .map(|c| c.principal),
        Some("example".to_string())
    );
    for f in ["vscode-http-mcp.json", "cursor-http-mcp.json"] {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{dir}/examples/{f}")).unwrap())
                .unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(v.to_string().contains("http://127.0.0.1:8080/mcp"), "{f}");
    }
    // serve --http without tokens refuses to start, saying how to make them.
    let out = Command::new(BIN)
        .args(["serve", "--http", "127.0.0.1:0", "--audit-log", "/dev/null"])
        .env_remove("GUARDED_AWS_MCP_TOKENS")
        .env_remove("GUARDED_AWS_MCP_TOKENS_FILE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--http needs bearer tokens") && err.contains("tokens new"),
        "{err}"
    );
}

/// Issue 16: every shipped policy has a test file, and the test command runs them all.
fn shipped_policies_pass_their_tests() {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut files: Vec<String> = std::fs::read_dir(format!("{root}/policies/tests"))
        .expect("policies/tests")
        .flatten()
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".yaml"))
        .collect();
    files.sort();
    let shipped = std::fs::read_dir(format!("{root}/policies"))
        .expect("policies")
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        .count();
    assert_eq!(
        files.len(),
        shipped,
        "one test file per shipped policy: {files:?}"
    );
    let args: Vec<&str> = ["policy", "test"]
        .into_iter()
        .chain(files.iter().map(String::as_str))
        .collect();
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains(" passed, 0 failed"), "{out}");
    let (_, json, _) = run(&["policy", "test", "--json", &files[0]]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["failed"], 0);
}

/// A case whose expectation is wrong fails, names what it got, and the exit code says so.
/// Lint: a rule that can never decide is a warning, and an error with --strict.
fn validate_lints_and_strict_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shadowed.yaml");
    std::fs::write(
        &file,
        "version: 1\ntools:\n  create_broker:\n    - action: allow\n  \"create_*\":\n    - action: deny\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    let (code, out, _) = run(&["policy", "validate", path]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("warning: tools.create_broker[0]: can never decide: tools.create_*[0]"),
        "{out}"
    );
    let (code, _, _) = run(&["policy", "validate", "--strict", path]);
    assert_eq!(code, 1);
    // `policy init` writes policies that validate and pass lint, for every profile.
    for profile in ["read-only", "cautious", "permissive"] {
        let (code, text, _) = run(&["policy", "init", "--profile", profile]);
        assert_eq!(code, 0);
        let f = dir.path().join(format!("{profile}.yaml"));
        std::fs::write(&f, text).unwrap();
        let (code, out, _) = run(&["policy", "validate", "--strict", f.to_str().unwrap()]);
        assert_eq!(code, 0, "{profile}: {out}");
        assert!(out.contains("0 warnings"), "{out}");
    }
    for shipped in [
        "default",
        "team",
        "production-strict",
        "dev-permissive",
        "read-only",
    ] {
        let p = format!("{}/policies/{shipped}.yaml", env!("CARGO_MANIFEST_DIR"));
        let (code, out, _) = run(&["policy", "validate", "--strict", &p]);
        assert_eq!(code, 0, "{out}");
    }
}

/// `policy import --from intercept`: an Intercept policy for the AWS Labs Amazon MQ server
/// becomes one that validates, with warnings for what changes.
fn imports_an_intercept_policy() {
    let src = format!(
        "{}/examples/intercept-amazon-mq.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let (code, out, err) = run(&[
        "policy",
        "import",
        "--from",
        "intercept",
        "--server",
        "mq",
        &src,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("renamed to `list_broker_users`"), "{err}");
    assert!(err.contains("calendar-aligned"), "{err}");
    assert!(
        out.contains("rabbitmq_broker_delete_queue") && out.contains("policy_generation_start"),
        "{out}"
    );
    let dir = tempfile::tempdir().unwrap();
    let converted = dir.path().join("converted.yaml");
    std::fs::write(&converted, &out).unwrap();
    let (code, text, _) = run(&["policy", "validate", converted.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let (_, explained, _) = run(&[
        "policy",
        "explain",
        "--policy",
        converted.to_str().unwrap(),
        "--tool",
        "delete_broker",
        "--args",
        r#"{"BrokerId":"b-1"}"#,
    ]);
    assert!(
        explained.contains("decision: deny")
            && explained.contains("Broker deletion is not permitted"),
        "{explained}"
    );
}

fn a_wrong_expectation_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("wrong.yaml");
    std::fs::write(
        &file,
        format!(
            "policy: {}/policies/default.yaml\ncases:\n  - name: deletes are allowed (they are not)\n    tool: delete_broker\n    args: {{BrokerId: b-1}}\n    expect: allow\n  - name: the rule is named wrongly\n    tool: list_brokers\n    expect: allow\n    rule: classes.write\n",
            env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let (code, out, _) = run(&["policy", "test", file.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("FAIL") && out.contains("expected allow, got deny by classes.destructive"),
        "{out}"
    );
    assert!(
        out.contains("expected rule classes.write, got tools.list_*[0]"),
        "{out}"
    );
    assert!(out.contains("0 passed, 2 failed"), "{out}");
}

/// `policy replay`: the calls of an audit log under a candidate policy, and what changes.
fn replay_reports_changes_and_gates_on_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let record = |tool: &str, args: serde_json::Value, decision: &str, rule: &str, status: &str| {
        serde_json::json!({"ts": "2026-11-28T10:00:00Z", "session": "s", "principal": "alice",
            "tool": tool, "args": args, "decision": decision, "rule": rule, "reason": "r",
            "latency_us": 5, "outcome": {"status": status}, "policy": "p", "prev": "x"})
        .to_string()
    };
    let mut lines = Vec::new();
    for _ in 0..3 {
        lines.push(record(
            "list_brokers",
            serde_json::json!({}),
            "allow",
            "classes.read",
            "ok",
        ));
    }
    lines.push(record(
        "delete_broker",
        serde_json::json!({"BrokerId": "b-1"}),
        "deny",
        "classes.destructive",
        "denied",
    ));
    lines.push(record(
        "create_broker",
        serde_json::json!({"broker_name": "x", "password": "[REDACTED]"}),
        "approved",
        "tools.create_broker[1]",
        "started",
    ));
    lines.push(record(
        "create_broker",
        serde_json::json!({"broker_name": "x", "password": "[REDACTED]"}),
        "approved",
        "tools.create_broker[1]",
        "ok",
    ));
    lines.push("not json".into());
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let same = format!("{}/policies/default.yaml", env!("CARGO_MANIFEST_DIR"));
    let (code, out, err) = run(&[
        "policy",
        "replay",
        "--audit",
        log.to_str().unwrap(),
        "--policy",
        &same,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("no decision changes"), "{out}");
    assert!(
        out.contains("7 records, 5 replayed, 5 unchanged, 0 changed"),
        "{out}"
    );
    let stricter = dir.path().join("stricter.yaml");
    std::fs::write(
        &stricter,
        "version: 1\ndefault: deny\nclasses: {read: allow, destructive: allow}\ntools:\n  list_brokers:\n    - action: deny\n      reason: no listing\n",
    )
    .unwrap();
    let (code, out, _) = run(&[
        "policy",
        "replay",
        "--audit",
        log.to_str().unwrap(),
        "--policy",
        stricter.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("list_brokers")
            && out.contains("allow -> deny")
            && out.contains("tools.list_brokers[0]"),
        "{out}"
    );
    assert!(
        out.contains("delete_broker") && out.contains("deny -> allow"),
        "{out}"
    );
    assert!(out.contains("3 newly refused, 1 newly allowed"), "{out}");
}

/// `policy replay` rebuilds history and budgets from the log in order: a reboot the log
/// shows running is refused by a candidate that wants a describe within 15 minutes when the
/// describe was 20 minutes earlier; one inside the window is unchanged; one too close to the
/// log's start to know its history is undecidable; a budget fills as the calls come.
fn replay_rebuilds_history_and_budgets() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let record = |ts: &str, tool: &str, args: serde_json::Value| {
        serde_json::json!({"ts": ts, "session": "s", "principal": "alice",
            "tool": tool, "args": args, "decision": "allow", "rule": "classes.read", "reason": "r",
            "latency_us": 5, "outcome": {"status": "ok"}, "policy": "p", "prev": "x"})
        .to_string()
    };
    let broker = |id: &str| serde_json::json!({"BrokerId": id});
    let create = serde_json::json!({"broker_name": "x", "engine_type": "RABBITMQ",
        "deployment_mode": "SINGLE_INSTANCE", "username": "admin", "password": "[REDACTED]",
        "host_instance_type": "mq.m5.large"});
    let lines = [
        record("2026-11-28T10:00:00Z", "describe_broker", broker("b-1")),
        record("2026-11-28T10:05:00Z", "reboot_broker", broker("b-1")),
        record("2026-11-28T10:20:00Z", "reboot_broker", broker("b-1")),
        record("2026-11-28T10:30:00Z", "describe_broker", broker("b-2")),
        record("2026-11-28T10:31:00Z", "reboot_broker", broker("b-2")),
        record("2026-11-28T11:00:00Z", "create_broker", create.clone()),
        record("2026-11-28T11:01:00Z", "create_broker", create.clone()),
        record("2026-11-28T11:02:00Z", "create_broker", create),
    ];
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    let candidate = dir.path().join("candidate.yaml");
    std::fs::write(
        &candidate,
        r#"version: 1
default: allow
limits:
  - {max: 16, window: 1h, per: [principal], tool: create_broker,
     cost: {of: args.host_instance_type, table: {mq.m5.large: 8}, default: 32}}
tools:
  reboot_broker:
    - action: deny
      reason: describe first
      when:
        - {history: {tool: describe_broker, within: 15m, per: session, same: [BrokerId]}, op: absent}
"#,
    )
    .unwrap();
    let (code, out, err) = run(&[
        "policy",
        "replay",
        "--json",
        "--audit",
        log.to_str().unwrap(),
        "--policy",
        candidate.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let t = &v["totals"];
    assert_eq!(
        (
            &t["replayed"],
            &t["unchanged"],
            &t["changed"],
            &t["undecidable"]
        ),
        (
            &serde_json::json!(8),
            &serde_json::json!(5),
            &serde_json::json!(2),
            &serde_json::json!(1)
        ),
        "{out}"
    );
    let changes = v["changes"].as_array().unwrap();
    let change = |tool: &str| {
        changes
            .iter()
            .find(|c| c["tool"] == tool)
            .unwrap_or_else(|| panic!("{tool}: {out}"))
    };
    assert_eq!(
        (
            &change("reboot_broker")["new"],
            &change("reboot_broker")["count"]
        ),
        (&serde_json::json!("deny"), &serde_json::json!(1))
    );
    assert_eq!(
        (
            &change("create_broker")["new"],
            &change("create_broker")["count"]
        ),
        (&serde_json::json!("rate_limited"), &serde_json::json!(1))
    );
    assert!(
        v["undecidable"][0]["reason"]
            .as_str()
            .unwrap()
            .contains("the log does not reach back that far"),
        "{out}"
    );
    // `policy explain` shows the history a call reads, from the calls it is given.
    let (code, out, err) = run(&[
        "policy",
        "explain",
        "--policy",
        candidate.to_str().unwrap(),
        "--args",
        r#"{"BrokerId": "b-1"}"#,
        "--history",
        r#"[{"tool": "describe_broker", "args": {"BrokerId": "b-1"}, "ago": "5m"}]"#,
        "--tool",
        "reboot_broker",
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("decision: allow"), "{out}");
    assert!(
        out.contains(
            "history read: history(describe_broker within 15m per session same BrokerId): 1 call"
        ),
        "{out}"
    );
}

/// Issue 23 (11): hostile YAML (deeply nested, or huge) is refused with the reason before it
/// is parsed, by every command that reads a file: policy import, validate and test, aws-roles
/// validate, and serve's tokens file.
fn hostile_yaml_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("deep.yaml");
    std::fs::write(
        &deep,
        format!("version: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .unwrap();
    let huge = dir.path().join("huge.yaml");
    std::fs::write(&huge, "- x\n".repeat(5_000_000)).unwrap();
    let tests = dir.path().join("tests.yaml");
    std::fs::write(
        &tests,
        format!("policy: x.yaml\ncases: {}\n", "[".repeat(10_000)),
    )
    .unwrap();
    let f = |p: &std::path::Path| p.to_str().unwrap().to_string();
    for (args, want) in [
        (
            vec!["policy", "import", "--from", "intercept", &f(&deep)],
            "nested deeper than 64",
        ),
        (
            vec!["policy", "import", "--from", "intercept", &f(&huge)],
            "larger than",
        ),
        (
            vec!["policy", "validate", &f(&deep)],
            "nested deeper than 64",
        ),
        (vec!["policy", "validate", &f(&huge)], "larger than"),
        (vec!["policy", "test", &f(&tests)], "nested deeper than 64"),
        (
            vec!["aws-roles", "validate", &f(&deep)],
            "nested deeper than 64",
        ),
        (
            vec!["serve", "--http", "127.0.0.1:0", "--tokens", &f(&deep)],
            "nested deeper than 64",
        ),
    ] {
        let (code, out, err) = run(&args);
        assert_ne!(code, 0, "{args:?}");
        assert!(
            out.contains(want) || err.contains(want),
            "{args:?}: {out}{err}"
        );
    }
}

/// Issue 24 (6): `policy explain --iam` takes what the IAM guard would read from AWS.
fn explain_takes_iam_fixtures() {
    let policy = format!(
        "{}/policies/dev-permissive.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let args = r#"{"role_name":"x","assume_role_policy_document":{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}}"#;
    let explain = |iam: &str| {
        run(&[
            "policy",
            "explain",
            "--policy",
            &policy,
            "--tool",
            "create_role",
            "--args",
            args,
            "--iam",
            iam,
            "--json",
        ])
    };
    let (code, out, err) = explain(r#"{"own_account":"111122223333"}"#);
    assert_eq!(code, 0, "{err}");
    let x: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(x["decision"], "allow", "{out}");
    let (_, out, _) = explain(r#"{"own_account":"444455556666"}"#);
    let x: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(x["decision"], "deny", "{out}");
    assert!(out.contains("iam_guard.foreign_trust"), "{out}");
    let (code, _, err) = explain(r#"{"own_acount":"1"}"#);
    assert_ne!(code, 0);
    assert!(err.contains("--iam is not an IAM fixture"), "{err}");
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial_sync(
            "cli::explain_takes_iam_fixtures",
            Needs::Nothing,
            explain_takes_iam_fixtures,
        ),
        trial_sync(
            "cli::hostile_yaml_is_refused_before_parsing",
            Needs::Nothing,
            hostile_yaml_is_refused_before_parsing,
        ),
        trial_sync(
            "cli::shipped_policies_pass_their_tests",
            Needs::Nothing,
            shipped_policies_pass_their_tests,
        ),
        trial_sync(
            "cli::imports_an_intercept_policy",
            Needs::Nothing,
            imports_an_intercept_policy,
        ),
        trial_sync(
            "cli::validate_lints_and_strict_fails",
            Needs::Nothing,
            validate_lints_and_strict_fails,
        ),
        trial_sync(
            "cli::a_wrong_expectation_fails",
            Needs::Nothing,
            a_wrong_expectation_fails,
        ),
        trial_sync(
            "cli::replay_reports_changes_and_gates_on_them",
            Needs::Nothing,
            replay_reports_changes_and_gates_on_them,
        ),
        trial_sync(
            "cli::replay_rebuilds_history_and_budgets",
            Needs::Nothing,
            replay_rebuilds_history_and_budgets,
        ),
        trial_sync(
            "cli::tokens_new_and_the_examples",
            Needs::Nothing,
            tokens_new_and_the_examples,
        ),
        trial_sync(
            "cli::validate_accepts_shipped_policies",
            Needs::Nothing,
            validate_accepts_shipped_policies,
        ),
        trial_sync(
            "cli::validate_prints_every_error_with_its_location",
            Needs::Nothing,
            validate_prints_every_error_with_its_location,
        ),
        trial_sync(
            "cli::explain_names_rule_and_condition",
            Needs::Nothing,
            explain_names_rule_and_condition,
        ),
        trial_sync(
            "cli::tools_lists_the_catalogue",
            Needs::Nothing,
            tools_lists_the_catalogue,
        ),
        trial_sync(
            "cli::serve_refuses_an_invalid_policy",
            Needs::Nothing,
            serve_refuses_an_invalid_policy,
        ),
        trial_sync(
            "cli::schema_command_matches_the_shipped_file",
            Needs::Nothing,
            schema_command_matches_the_shipped_file,
        ),
    ]
}
