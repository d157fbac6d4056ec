//! The gate through the real binary: listing, bad inputs (none of which reaches AWS), policy
//! decisions, rate limits (also under concurrent calls), read-only mode, the audit log.

use libtest_mimic::Trial;

use crate::support::{Needs, trial};

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{FakeAws, Options, Server};

const BROKER: &str = "b-0123abcd-0123-4567-89ab-0123456789ab";

/// A server whose AWS endpoint is a recording fake that answers every call.
pub(crate) async fn recorded(policy: &str) -> (Server, FakeAws) {
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some(policy.to_string()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    (s, fake)
}

/// A recording Amazon MQ endpoint that answers every call.
pub(crate) async fn fake_mq() -> FakeAws {
    FakeAws::start(Arc::new(|req| {
        let body = if req.path == "/v1/brokers" && req.method == "GET" {
            json!({"brokerSummaries": []})
        } else if req.path == "/v1/brokers" {
            json!({"brokerId": "b-new", "brokerArn": "arn:aws:mq:us-east-1:123456789012:broker:x:b-new"})
        } else if req.path.starts_with("/v1/brokers/") && req.path.ends_with("/reboot") {
            json!({})
        } else if req.path.starts_with("/v1/brokers/") {
            json!({"brokerId": BROKER, "brokerName": "x"})
        } else {
            json!({})
        };
        (200, body.to_string())
    }))
    .await
}

const OPEN: &str = "version: 1\ndefault: allow\n";

pub(crate) fn create_args() -> Value {
    json!({"broker_name": "ok-name", "engine_type": "RABBITMQ", "deployment_mode": "SINGLE_INSTANCE",
           "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.t3.micro"})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

async fn bad_inputs_are_refused_before_aws_with_the_field_named() {
    let (s, fake) = recorded("version: 1\ndefault: allow\nhide: [delete_configuration]\n").await;
    let big = "x".repeat(1024 * 1024);
    let cases: Vec<(&str, Value, &str, &str)> = vec![
        (
            "describe_broker",
            json!({"BrokerId": 42}),
            "Invalid arguments:",
            "`BrokerId`",
        ),
        (
            "describe_broker",
            json!({}),
            "Invalid arguments:",
            "`BrokerId`: is required",
        ),
        (
            "describe_broker",
            json!({"BrokerId": BROKER, "Verbose": true}),
            "Invalid arguments:",
            "`Verbose`: unknown parameter",
        ),
        (
            "create_broker",
            with(create_args(), "broker_name", json!("no spaces allowed")),
            "Invalid arguments:",
            "`broker_name`",
        ),
        (
            "create_broker",
            with(create_args(), "engine_type", json!("KAFKA")),
            "Invalid arguments:",
            "`engine_type`",
        ),
        (
            "create_broker",
            with(create_args(), "password", json!("short")),
            "Invalid arguments:",
            "`password`",
        ),
        (
            "create_broker",
            with(create_args(), "password", json!("aaaaaaaaaaaaaaaa")),
            "Invalid arguments:",
            "4 unique characters",
        ),
        (
            "create_broker",
            with(
                create_args(),
                "deployment_mode",
                json!("ACTIVE_STANDBY_MULTI_AZ"),
            ),
            "Invalid arguments:",
            "`deployment_mode`",
        ),
        (
            "create_broker",
            with(create_args(), "tags", json!({"aws:owner": "x"})),
            "Invalid arguments:",
            "reserved by AWS",
        ),
        (
            "list_brokers",
            json!({"region": "mars-north-1x"}),
            "Invalid arguments:",
            "`region`",
        ),
        (
            "list_brokers",
            json!({"MaxResults": 1000}),
            "Invalid arguments:",
            "`MaxResults`",
        ),
        (
            "list_tags",
            json!({"ResourceArn": "arn:aws:s3:::bucket"}),
            "Invalid arguments:",
            "`ResourceArn`",
        ),
        (
            "describe_broker",
            json!({"BrokerId": "../../etc/passwd"}),
            "Invalid arguments:",
            "`BrokerId`",
        ),
        (
            "update_broker",
            json!({"BrokerId": BROKER}),
            "Invalid arguments:",
            "at least one field",
        ),
        (
            "describe_broker",
            json!({"BrokerId": big}),
            "Invalid arguments:",
            "bytes",
        ),
        ("no_such_tool", json!({}), "Unknown tool:", "no_such_tool"),
        (
            "delete_configuration",
            json!({"ConfigurationId": "c-1"}),
            "Denied by policy:",
            "hidden",
        ),
    ];
    for (tool, args, prefix, needle) in &cases {
        let text = s.err(tool, args.clone()).await;
        assert!(text.starts_with(prefix), "{tool}: {text}");
        assert!(
            text.contains(needle),
            "{tool}: expected {needle:?} in {text}"
        );
        assert!(
            text.len() < 600,
            "{tool}: error too long ({} bytes)",
            text.len()
        );
    }
    // A secret that breaks a rule is never echoed.
    let text = s
        .err(
            "create_broker",
            with(create_args(), "password", json!("bad,password,12")),
        )
        .await;
    assert!(!text.contains("bad,password,12"), "{text}");

    assert!(
        fake.requests().is_empty(),
        "a refused call reached AWS: {:?}",
        fake.requests()
    );
    let records = s.audit_records();
    assert_eq!(records.len(), cases.len() + 1);
    assert!(records.iter().all(|r| r["outcome"]["status"] != "ok"));
    // The 1 MiB argument is logged redacted of nothing secret, but the audit stays a JSON line per call.
    let (audit, _) = s.stop().await;
    assert!(!audit.contains("bad,password,12"));
}

async fn hidden_tools_are_absent_from_the_list() {
    let (s, _fake) =
        recorded("version: 1\ndefault: allow\nhide: [\"delete_*\", reboot_broker]\n").await;
    let names: Vec<&str> = s.tools().iter().map(|t| t.name.as_ref()).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("delete_") || *n == "reboot_broker"),
        "{names:?}"
    );
    assert!(names.contains(&"create_broker") && names.contains(&"list_brokers"));
    assert_eq!(names.len(), 81 - 9 - 1);
    let text = s.err("reboot_broker", json!({"BrokerId": BROKER})).await;
    assert_eq!(
        text,
        "Denied by policy: rule hide: the tool `reboot_broker` is hidden by the policy"
    );
}

async fn every_tool_is_listed_with_schemas_and_annotations() {
    let (s, _fake) = recorded(OPEN).await;
    assert_eq!(s.tools().len(), 81);
    let regional: Vec<&str> = guarded_aws_mcp::tools::mq::tools()
        .iter()
        .chain(guarded_aws_mcp::tools::access_analyzer::tools().iter())
        .map(|t| t.name)
        .collect();
    let global: Vec<&str> = guarded_aws_mcp::tools::iam::tools()
        .iter()
        .map(|t| t.name)
        .collect();
    for t in s.tools() {
        let a = t.annotations.as_ref().expect("annotations");
        assert!(
            a.read_only_hint.is_some()
                && a.destructive_hint.is_some()
                && a.idempotent_hint.is_some()
                && a.open_world_hint.is_some(),
            "{}",
            t.name
        );
        assert_eq!(
            t.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            t.name
        );
        assert_eq!(
            t.input_schema.get("additionalProperties"),
            Some(&json!(false)),
            "{}",
            t.name
        );
        assert!(t.output_schema.is_some(), "{}", t.name);
        let region = t
            .input_schema
            .get("properties")
            .and_then(|p| p.get("region"));
        if regional.contains(&t.name.as_ref()) {
            assert!(region.is_some(), "{}: region parameter", t.name);
        }
        if global.contains(&t.name.as_ref()) {
            assert!(region.is_none(), "{}: IAM is global", t.name);
        }
        let required = t
            .input_schema
            .get("required")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert!(
            !required.contains(&json!("region")),
            "{}: region is optional",
            t.name
        );
    }
    let delete = s
        .tools()
        .iter()
        .find(|t| t.name == "delete_broker")
        .unwrap();
    assert_eq!(
        delete.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
    let list = s.tools().iter().find(|t| t.name == "list_brokers").unwrap();
    assert_eq!(
        list.annotations.as_ref().unwrap().read_only_hint,
        Some(true)
    );
}

async fn policy_decisions_reach_the_agent_with_rule_and_reason() {
    let policy = r#"
version: 1
default: deny
classes:
  read: allow
  execute: require_approval
tools:
  create_broker:
    - action: deny
      reason: only small brokers
      when:
        - {path: args.host_instance_type, op: not_in, value: [mq.t3.micro]}
    - action: allow
  describe_broker:
    - action: deny
      reason: that broker is off limits
      when:
        - {path: args.BrokerId, op: eq, value: b-secret}
"#;
    let (s, fake) = recorded(policy).await;
    let text = s
        .err(
            "create_broker",
            with(create_args(), "host_instance_type", json!("mq.m5.4xlarge")),
        )
        .await;
    assert_eq!(
        text,
        "Denied by policy: rule tools.create_broker[0]: only small brokers"
    );
    s.ok("create_broker", create_args()).await;

    let text = s
        .err("describe_broker", json!({"BrokerId": "b-secret"}))
        .await;
    assert_eq!(
        text,
        "Denied by policy: rule tools.describe_broker[0]: that broker is off limits"
    );
    s.ok("describe_broker", json!({"BrokerId": BROKER})).await;

    let text = s.err("reboot_broker", json!({"BrokerId": BROKER})).await;
    assert!(
        text.starts_with("Approval required: rule classes.execute:"),
        "{text}"
    );
    let text = s.err("create_tags", json!({"ResourceArn": "arn:aws:mq:us-east-1:123456789012:broker:x:b-1", "Tags": {"a": "b"}})).await;
    assert_eq!(text, "Denied by policy: rule default: policy default");

    // Two calls reached AWS: the allowed create_broker and describe_broker.
    assert_eq!(fake.requests().len(), 2);
    let records = s.audit_records();
    let decisions: Vec<(&str, &str)> = records
        .iter()
        .map(|r| {
            (
                r["decision"].as_str().unwrap(),
                r["rule"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("deny", "tools.create_broker[0]"),
            ("allow", "tools.create_broker[1]"),
            ("deny", "tools.describe_broker[0]"),
            ("allow", "classes.read"),
            ("require_approval", "classes.execute"),
            ("deny", "default"),
        ]
    );
    for r in &records {
        assert!(
            r["ts"].is_string()
                && r["session"].is_string()
                && r["latency_us"].is_u64()
                && r["policy"].as_str().unwrap().len() == 64
        );
    }
    assert_eq!(records[1]["args"]["password"], "[REDACTED]");
}

async fn rate_limits_refuse_and_do_not_count_refusals() {
    let policy = r#"
version: 1
default: allow
tools:
  describe_broker:
    - action: allow
      limit: {max: 3, window: 1h, per: session}
"#;
    let (s, fake) = recorded(policy).await;
    for _ in 0..3 {
        s.ok("describe_broker", json!({"BrokerId": BROKER})).await;
    }
    let text = s.err("describe_broker", json!({"BrokerId": BROKER})).await;
    assert!(
        text.starts_with(
            "Rate limited: limit tools.describe_broker[0].limit allows 3 calls per 1h (per session); retry in"
        ),
        "{text}"
    );
    // Bad input does not consume and is not counted either.
    s.err("describe_broker", json!({"BrokerId": 1})).await;
    assert_eq!(fake.requests().len(), 3);
    assert_eq!(s.audit_records()[3]["outcome"]["status"], "rate_limited");
}

async fn rate_limit_is_exact_under_concurrent_calls() {
    let policy = "version: 1\ndefault: allow\nlimits:\n  - {max: 7, window: 1h, per: global}\n";
    let (s, fake) = recorded(policy).await;
    let s = Arc::new(s);
    let calls = (0..40).map(|_| {
        let s = s.clone();
        tokio::spawn(async move { s.call("list_brokers", json!({})).await })
    });
    let results = futures::future::join_all(calls).await;
    let allowed = results
        .iter()
        .filter(|r| r.as_ref().unwrap().is_error != Some(true))
        .count();
    assert_eq!(allowed, 7);
    assert_eq!(fake.requests().len(), 7);
}

async fn slot_is_given_back_when_aws_was_not_reached() {
    // Nothing listens on this port: the call fails before AWS accepted it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = Server::start(Options {
        policy: Some(
            "version: 1\ndefault: allow\nlimits:\n  - {max: 1, window: 1h, per: session}\n".into(),
        ),
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await;
    for _ in 0..3 {
        let text = s.err("list_brokers", json!({})).await;
        assert!(
            text.starts_with("AWS error EndpointUnreachable from mq:ListBrokers"),
            "{text}"
        );
    }
    let records = s.audit_records();
    assert!(
        records
            .iter()
            .all(|r| r["outcome"]["status"] == "aws_error" && r["outcome"]["reached_aws"] == false)
    );
}

async fn read_only_mode_overrides_the_policy() {
    let fake = FakeAws::not_found().await;
    let s = Server::start(Options {
        policy: Some(OPEN.into()),
        read_only: true,
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    assert!(
        s.tools()
            .iter()
            .all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true))
    );
    assert_eq!(s.tools().len(), 43);
    let text = s.err("delete_broker", json!({"BrokerId": BROKER})).await;
    assert_eq!(
        text,
        "Denied by read-only mode: the server runs with --read-only and `delete_broker` is a destructive tool"
    );
    assert!(fake.requests().is_empty());
}

async fn shipped_policies_behave_as_documented() {
    // The built-in default: reads allowed, writes need approval, destructive denied.
    let fake = FakeAws::start(Arc::new(|_| {
        (200, json!({"brokerSummaries": []}).to_string())
    }))
    .await;
    let s = Server::start(Options {
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    s.ok("list_brokers", json!({})).await;
    let text = s.err("create_broker", create_args()).await;
    assert!(
        text.starts_with("Approval required: rule tools.create_broker[1]: creating a broker is billable; this client cannot ask the user, so the call was not made and approval apr-"),
        "{text}"
    );
    assert!(fake.requests().iter().all(|r| r.method == "GET"));
    let text = s
        .err(
            "create_broker",
            with(create_args(), "publicly_accessible", json!(true)),
        )
        .await;
    assert!(
        text.starts_with("Denied by policy: rule tools.create_broker[0]"),
        "{text}"
    );
    let text = s.err("delete_broker", json!({"BrokerId": BROKER})).await;
    assert_eq!(
        text,
        "Denied by policy: rule classes.destructive: default for destructive tools"
    );
    assert_eq!(fake.requests().len(), 1);
    drop(s);

    let s = Server::start(Options {
        policy_file: Some("policies/read-only.yaml".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    assert!(
        s.tools()
            .iter()
            .all(|t| t.annotations.as_ref().unwrap().read_only_hint == Some(true))
    );
    s.ok("list_brokers", json!({})).await;
    drop(s);

    let s = Server::start(Options {
        policy_file: Some("policies/production-strict.yaml".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    assert!(!s.tools().iter().any(|t| t.name.starts_with("delete_")));
    let text = s.err("reboot_broker", json!({"BrokerId": BROKER})).await;
    assert!(
        text.starts_with("Denied by policy: rule tools.reboot_broker[0]"),
        "{text}"
    );
    let text = s.err("create_broker", create_args()).await;
    assert!(text.contains("must be multi-AZ"), "{text}");
    drop(s);

    let s = Server::start(Options {
        policy_file: Some("policies/dev-permissive.yaml".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let text = s
        .err(
            "create_broker",
            with(create_args(), "host_instance_type", json!("mq.m5.4xlarge")),
        )
        .await;
    assert!(text.contains("only small brokers"), "{text}");
    // Only the two list_brokers calls reached AWS.
    assert_eq!(fake.requests().len(), 2);
}

async fn missing_profile_is_an_error_not_a_crash() {
    let fake = FakeAws::not_found().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(crate::support::BIN);
    cmd.args(["serve", "--profile", "no-such-profile", "--policy"])
        .arg(format!(
            "{}/policies/read-only.yaml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg("--audit-log")
        .arg(dir.path().join("a.jsonl"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_CONFIG_FILE", dir.path().join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.path().join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL", &fake.url)
        .stderr(std::process::Stdio::null());
    use rmcp::ServiceExt;
    let client = ().serve(rmcp::transport::TokioChildProcess::new(cmd).unwrap()).await.unwrap();
    let r = client
        .call_tool(rmcp::model::CallToolRequestParams::new("list_brokers"))
        .await
        .expect("the server answers");
    assert_eq!(r.is_error, Some(true));
    let text = crate::support::text(&r);
    assert!(
        text.starts_with("AWS error NoCredentials from mq:ListBrokers"),
        "{text}"
    );
    assert!(fake.requests().is_empty());
    // Still serving.
    assert_eq!(client.list_all_tools().await.unwrap().len(), 43);
}

async fn shadow_mode_audits_and_allows() {
    let policy = "version: 1\nmode: shadow\ndefault: deny\nhide: [reboot_broker]\nclasses:\n  read: allow\nlimits:\n  - {max: 1, window: 1h, per: session, class: read}\n";
    let (s, fake) = recorded(policy).await;
    assert!(
        s.tools().iter().any(|t| t.name == "reboot_broker"),
        "hidden tools are listed in shadow mode"
    );
    s.ok("list_brokers", json!({})).await;
    s.ok("list_brokers", json!({})).await; // over the limit of 1: allowed, audited as rate-limited
    s.ok("create_broker", create_args()).await; // denied by default: allowed, audited as deny
    s.ok("reboot_broker", json!({"BrokerId": BROKER})).await; // hidden: allowed, audited
    let bad = s.err("describe_broker", json!({"BrokerId": 7})).await;
    assert!(
        bad.starts_with("Invalid arguments:"),
        "validation is not policy: {bad}"
    );
    assert_eq!(fake.requests().len(), 4);
    let r = s.audit_records();
    assert!(r.iter().all(|x| x["mode"] == "shadow"), "{r:?}");
    assert_eq!(r[0]["decision"], "allow");
    assert_eq!(r[1]["outcome"]["status"], "ok");
    assert!(
        r[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("shadow mode, not enforced: Rate limited: limit limits[0]"),
        "{}",
        r[1]
    );
    assert_eq!(
        (r[2]["decision"].as_str(), r[2]["rule"].as_str()),
        (Some("deny"), Some("default"))
    );
    assert_eq!(
        (r[3]["decision"].as_str(), r[3]["rule"].as_str()),
        (Some("deny"), Some("hide"))
    );
    assert_eq!(r[4]["outcome"]["status"], "invalid");
}

/// Wait (up to 5 s) until the audit log holds `n` accepted policy reloads.
async fn wait_for_reloads<H: rmcp::ClientHandler>(s: &Server<H>, n: usize) {
    crate::support::eventually(
        std::time::Duration::from_secs(5),
        "the policy reloads audited",
        || {
            s.audit_records()
                .iter()
                .filter(|r| r["tool"] == "policy_reload" && r["decision"] == "reloaded")
                .count()
                >= n
        },
    )
    .await;
}

/// A client that counts `notifications/tools/list_changed`.
#[derive(Clone, Default)]
struct ListWatcher(Arc<std::sync::atomic::AtomicUsize>);

impl rmcp::ClientHandler for ListWatcher {
    async fn on_tool_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<rmcp::RoleClient>,
    ) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A reload that changes `hide` tells the client to list the tools again; one that leaves
/// `hide` alone does not.
async fn reload_that_hides_tools_notifies_the_client() {
    let watcher = ListWatcher::default();
    let seen = watcher.0.clone();
    let s = Server::start_with(
        Options {
            policy: Some(OPEN.into()),
            endpoint: Some(fake_mq().await.url.clone()),
            ..Options::default()
        },
        watcher,
    )
    .await;
    let path = s.policy_path.clone().unwrap();
    let count = || seen.load(std::sync::atomic::Ordering::SeqCst);
    assert!(s.tools().iter().any(|t| t.name == "delete_broker"));
    std::fs::write(&path, format!("{OPEN}hide: [delete_broker]\n")).unwrap();
    wait_for_reloads(&s, 1).await;
    crate::support::eventually(
        std::time::Duration::from_secs(2),
        "tools/list_changed after hide changed",
        || count() > 0,
    )
    .await;
    assert_eq!(count(), 1, "tools/list_changed after hide changed");
    let tools = s.client.list_all_tools().await.unwrap();
    assert!(!tools.iter().any(|t| t.name == "delete_broker"));
    // Same hide, another rule: no notification.
    std::fs::write(
        &path,
        format!("{OPEN}hide: [delete_broker]\ntools:\n  list_brokers:\n    - action: deny\n"),
    )
    .unwrap();
    wait_for_reloads(&s, 2).await;
    let _ = s.client.list_all_tools().await.unwrap();
    assert_eq!(count(), 1);
    s.stop().await;
}

async fn hot_reload_takes_valid_policies_and_keeps_counting() {
    let (s, fake) =
        recorded("version: 1\ndefault: allow\nlimits:\n  - {max: 3, window: 1h, per: session}\n")
            .await;
    let path = s.policy_path.clone().unwrap();
    s.ok("list_brokers", json!({})).await;
    s.ok("list_brokers", json!({})).await;

    // A valid new policy: list_brokers is now denied by a rule.
    std::fs::write(&path, "version: 1\ndefault: allow\nlimits:\n  - {max: 3, window: 1h, per: session}\ntools:\n  list_brokers:\n    - action: deny\n      reason: reloaded\n").unwrap();
    wait_for_reloads(&s, 1).await;
    let denied = s.err("list_brokers", json!({})).await;
    assert_eq!(
        denied, "Denied by policy: rule tools.list_brokers[0]: reloaded",
        "the new policy took effect"
    );

    // An invalid file is refused; the last good policy stays in force.
    std::fs::write(
        &path,
        "version: 1\ntools:\n  no_such_tool:\n    - action: allow\n",
    )
    .unwrap();
    crate::support::eventually(
        std::time::Duration::from_secs(5),
        "the invalid policy audited as refused",
        || {
            std::fs::read_to_string(&s.audit)
                .unwrap_or_default()
                .lines()
                .any(|l| {
                    l.contains("\"tool\":\"policy_reload\"")
                        && l.contains("\"decision\":\"refused\"")
                })
        },
    )
    .await;
    let text = s.err("list_brokers", json!({})).await;
    assert_eq!(
        text,
        "Denied by policy: rule tools.list_brokers[0]: reloaded"
    );

    // Counters survive reloads: calls keep counting against the same limit of 3, so however
    // the calls fell around the reloads, no more than 3 ever reach AWS.
    std::fs::write(
        &path,
        "version: 1\ndefault: allow\nlimits:\n  - {max: 3, window: 1h, per: session}\n",
    )
    .unwrap();
    wait_for_reloads(&s, 2).await;
    let limited = crate::support::eventually_some(
        std::time::Duration::from_secs(5),
        "describe_broker rate limited",
        || async {
            let t =
                crate::support::text(&s.call("describe_broker", json!({"BrokerId": BROKER})).await);
            if t.starts_with("Rate limited:") {
                Ok(t)
            } else {
                Err(t)
            }
        },
    )
    .await;
    assert!(
        limited.starts_with("Rate limited: limit limits[0] allows 3 calls"),
        "{limited}"
    );
    assert_eq!(fake.requests().len(), 3, "a reload reset the counters");
    let reloads: Vec<Value> = s
        .audit_records()
        .into_iter()
        .filter(|r| r["tool"] == "policy_reload")
        .collect();
    assert!(
        reloads
            .iter()
            .filter(|r| r["decision"] == "reloaded")
            .count()
            >= 2,
        "{reloads:?}"
    );
}

/// This module's tests, for the e2e harness.
pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "gate::bad_inputs_are_refused_before_aws_with_the_field_named",
            Needs::Nothing,
            bad_inputs_are_refused_before_aws_with_the_field_named,
        ),
        trial(
            "gate::hidden_tools_are_absent_from_the_list",
            Needs::Nothing,
            hidden_tools_are_absent_from_the_list,
        ),
        trial(
            "gate::every_tool_is_listed_with_schemas_and_annotations",
            Needs::Nothing,
            every_tool_is_listed_with_schemas_and_annotations,
        ),
        trial(
            "gate::policy_decisions_reach_the_agent_with_rule_and_reason",
            Needs::Nothing,
            policy_decisions_reach_the_agent_with_rule_and_reason,
        ),
        trial(
            "gate::rate_limits_refuse_and_do_not_count_refusals",
            Needs::Nothing,
            rate_limits_refuse_and_do_not_count_refusals,
        ),
        trial(
            "gate::rate_limit_is_exact_under_concurrent_calls",
            Needs::Nothing,
            rate_limit_is_exact_under_concurrent_calls,
        ),
        trial(
            "gate::slot_is_given_back_when_aws_was_not_reached",
            Needs::Nothing,
            slot_is_given_back_when_aws_was_not_reached,
        ),
        trial(
            "gate::read_only_mode_overrides_the_policy",
            Needs::Nothing,
            read_only_mode_overrides_the_policy,
        ),
        trial(
            "gate::shipped_policies_behave_as_documented",
            Needs::Nothing,
            shipped_policies_behave_as_documented,
        ),
        trial(
            "gate::missing_profile_is_an_error_not_a_crash",
            Needs::Nothing,
            missing_profile_is_an_error_not_a_crash,
        ),
        trial(
            "gate::reload_that_hides_tools_notifies_the_client",
            Needs::Nothing,
            reload_that_hides_tools_notifies_the_client,
        ),
        trial(
            "gate::hot_reload_takes_valid_policies_and_keeps_counting",
            Needs::Nothing,
            hot_reload_takes_valid_policies_and_keeps_counting,
        ),
        trial(
            "gate::shadow_mode_audits_and_allows",
            Needs::Nothing,
            shadow_mode_audits_and_allows,
        ),
    ]
}
