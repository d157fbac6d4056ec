//! Regression tests for what a hostile agent or network caller found (issue 11): each test
//! reproduces an attack that worked before its fix, through the real binary.

use libtest_mimic::Trial;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitationAction,
    Implementation, ProtocolVersion,
};
use rmcp::{ClientHandler, model::RequestMetaObject};
use serde_json::{Value, json};

use crate::approvals::{Human, approval_id, creates, run_approvals};
use crate::gate::{create_args, fake_mq};
use crate::support::{Needs, Options, Server, text, trial};

/// A client that negotiates `protocol` and declares no capability at all.
#[derive(Clone)]
pub(crate) struct Plain(pub ProtocolVersion);

impl ClientHandler for Plain {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("plain", "0"),
        )
        .with_protocol_version(self.0.clone())
    }
}

const APPROVE_CREATE: &str = r#"
version: 1
default: allow
tools:
  create_broker:
    - action: require_approval
      reason: brokers cost money
"#;

fn params(args: Value) -> CallToolRequestParams {
    let Value::Object(m) = args else {
        unreachable!()
    };
    CallToolRequestParams::new("create_broker").with_arguments(m)
}

fn claiming(mut p: CallToolRequestParams) -> CallToolRequestParams {
    p.meta = Some(claim_2026());
    p
}

fn claim_2026() -> RequestMetaObject {
    let Value::Object(m) = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
    }) else {
        unreachable!()
    };
    RequestMetaObject::from(m)
}

fn refused(resp: CallToolResponse) -> String {
    match resp {
        CallToolResponse::Complete(r) => {
            assert_eq!(r.is_error, Some(true), "{}", text(&r));
            text(&r)
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Issue 11 (1): a client that negotiated 2025-06-18 with no elicitation claimed protocol
/// 2026-07-28 in `_meta`, sent `inputResponses`, got an input-required result and approved its
/// own `create_broker`. The era and capabilities are now those negotiated at initialize.
async fn a_client_cannot_claim_an_era_to_approve_its_own_call() {
    let fake = fake_mq().await;
    let s = Server::start_with(
        Options {
            policy: Some(APPROVE_CREATE.into()),
            endpoint: Some(fake.url.clone()),
            ..Options::default()
        },
        Plain(ProtocolVersion::V_2025_06_18),
    )
    .await;
    let first = s
        .client
        .call_tool_once(claiming(params(create_args())).with_input_responses(Default::default()))
        .await
        .expect("answered");
    let t = refused(first);
    assert!(t.starts_with("Approval required:"), "{t}");
    // It went out of band: the client was not asked, and an operator's approval is pending.
    let id = approval_id(&t);
    let answer: rmcp::model::InputResponses = [(
        "approval".to_string(),
        json!({"action": "accept", "content": {"approve": true}}),
    )]
    .into();
    let second = s
        .client
        .call_tool_once(
            claiming(params(create_args()))
                .with_input_responses(answer)
                .with_request_state("forged"),
        )
        .await
        .expect("answered");
    let t = refused(second);
    assert!(t.contains(&id) && t.contains("still pending"), "{t}");
    assert_eq!(creates(&fake), 0, "no broker without an operator");
    s.stop().await;
}

const OPERATOR_CREATE: &str = r#"
version: 1
default: allow
tools:
  create_broker:
    - action: require_approval
      approver: operator
      reason: brokers cost money
"#;

/// Issue 11 (1): `approver: operator` — a client that does offer elicitation (the current
/// protocol, MRTR) is never asked; only the out-of-band approval runs the call.
async fn operator_approval_cannot_be_given_by_the_client() {
    let fake = fake_mq().await;
    let human = Human::new(ElicitationAction::Accept, true);
    let asked = human.asked.clone();
    let s = Server::start_with(
        Options {
            policy: Some(OPERATOR_CREATE.into()),
            endpoint: Some(fake.url.clone()),
            discover: true,
            ..Options::default()
        },
        human,
    )
    .await;
    let t = refused(
        s.client
            .call_tool_once(params(create_args()))
            .await
            .expect("answered"),
    );
    assert!(t.contains("approved only by an operator"), "{t}");
    assert!(asked.lock().unwrap().is_empty(), "the client was asked");
    let id = approval_id(&t);
    assert_eq!(creates(&fake), 0);
    let ops = s.approvals.with_file_name("ops.jsonl");
    let (code, _, err) = run_approvals(
        ("--approvals-dir", s.approvals.as_os_str()),
        &ops,
        &["approve", &id],
    );
    assert_eq!(code, 0, "{err}");
    let r = s
        .client
        .call_tool_once(params(create_args()))
        .await
        .expect("answered");
    let CallToolResponse::Complete(r) = r else {
        panic!("expected a result, got {r:?}");
    };
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(creates(&fake), 1);
    s.stop().await;
}

/// An endpoint that reads each whole request, counts it, and resets the connection without an
/// answer: AWS processed the call, the answer was lost.
async fn resetting_endpoint() -> (
    String,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
    std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let bodies = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = count.clone();
    let kept = bodies.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            let kept = kept.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                seen.fetch_add(1, Ordering::SeqCst);
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf).into_owned());
                // A zero linger resets the connection at once (it never blocks).
                #[expect(deprecated)]
                let _ = sock.set_linger(Some(std::time::Duration::ZERO));
                drop(sock);
            });
        }
    });
    (url, count, bodies)
}

/// Issue 11 (5): a call whose answer was lost after AWS processed it gave its rate-limit slot
/// back, and the SDK retried it: 4 refused-as-unreachable `create_broker` calls made 12 brokers
/// against a limit of 1. Now the slot is kept, the audit says `reached_aws: "unknown"`, and a
/// non-idempotent mutation is sent once.
async fn a_lost_answer_keeps_the_slot_and_is_not_retried() {
    let (url, count, bodies) = resetting_endpoint().await;
    let s = Server::start(Options {
        policy: Some(
            "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: allow\n      limit: {max: 1, window: 1h, per: session}\n".into(),
        ),
        endpoint: Some(url),
        ..Options::default()
    })
    .await;
    let first = s.err("create_broker", create_args()).await;
    assert!(
        first.contains("ConnectionLost") && first.contains("may have reached AWS"),
        "{first}"
    );
    for _ in 0..3 {
        let t = s.err("create_broker", create_args()).await;
        assert!(t.starts_with("Rate limited:"), "{t}");
    }
    assert_eq!(
        count.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one request reached the endpoint"
    );
    // CreateBroker carries an idempotency token, so a retry by the caller cannot make two.
    assert!(
        bodies.lock().unwrap()[0].contains("creatorRequestId"),
        "no idempotency token sent"
    );
    let records = s.audit_records();
    assert_eq!(
        records[0]["outcome"]["reached_aws"], "unknown",
        "{}",
        records[0]
    );
    s.stop().await;
}

/// Issue 11 (6c): with `--audit-log /dev/full` a write call ran and only a log line said its
/// record was lost. A call that can change something now needs its record first; a read whose
/// record cannot be written withholds its result.
async fn a_call_whose_record_cannot_be_written_does_not_run() {
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        endpoint: Some(fake.url.clone()),
        audit_log: Some("/dev/full".into()),
        ..Options::default()
    })
    .await;
    let t = s.err("create_broker", create_args()).await;
    assert!(
        t.starts_with("Audit log unavailable:") && t.contains("the call was not made"),
        "{t}"
    );
    assert_eq!(creates(&fake), 0);
    let t = s.err("list_brokers", json!({})).await;
    assert!(t.contains("the result is withheld"), "{t}");
    s.stop().await;
}

/// Issue 11 (6a, 6d): an `anyOf` validation error echoed an LDAP service-account password into
/// the tool result and the audit record; refused calls stored megabytes of arguments each.
async fn refusals_keep_secrets_out_and_records_small() {
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let secret = "ldap-Secret-pw-9";
    let t = s
        .err(
            "update_broker",
            json!({"BrokerId": "b-1", "LdapServerMetadata": {"ServiceAccountPassword": secret,
                   "Hosts": [], "RoleBase": "x"}}),
        )
        .await;
    assert!(t.starts_with("Invalid arguments:"), "{t}");
    assert!(!t.contains(secret), "{t}");
    let big = "x".repeat(4 * 1024 * 1024);
    for _ in 0..3 {
        let t = s
            .err(
                "create_broker",
                json!({"broker_name": big, "password": "p"}),
            )
            .await;
        assert!(
            t.starts_with("Invalid arguments:"),
            "{}",
            &t[..t.len().min(200)]
        );
    }
    let audit_bytes = std::fs::metadata(&s.audit).unwrap().len();
    assert!(audit_bytes < 64 * 1024, "audit log is {audit_bytes} bytes");
    let records = s.audit_records();
    assert_eq!(records[1]["args"]["truncated"], true, "{}", records[1]);
    // A flood of invalid calls is slowed down and recorded once per window.
    for _ in 0..70 {
        s.call("describe_broker", json!({"BrokerId": "bad id!"}))
            .await;
    }
    let t = s
        .err("describe_broker", json!({"BrokerId": "bad id!"}))
        .await;
    assert!(
        t.starts_with("Rate limited: more than 60 refused calls"),
        "{t}"
    );
    let (audit, stderr) = s.stop().await;
    assert!(!audit.contains(secret) && !stderr.contains(secret));
    let flood = audit
        .lines()
        .filter(|l| l.contains("refused_calls"))
        .count();
    assert_eq!(flood, 1, "the flood is audited once");
    assert!(audit.lines().count() < 70, "{}", audit.lines().count());
}

/// Issue 11 (10): a policy written in place was loaded half-written (calls the full file denies
/// ran during a pause in the write), and the watcher re-triggered on its own reads and on a log
/// written into the policy's folder.
async fn a_policy_is_loaded_only_when_its_write_is_finished() {
    use std::io::Write;
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: deny\n".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let path = s.policy_path.clone().expect("a policy file");
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(b"version: 1\ndefault: allow\n").unwrap();
    f.flush().unwrap();
    // The watcher has seen the write (and reloaded nothing, the writer still has the file).
    let stderr = s.stderr.clone();
    crate::support::eventually(
        std::time::Duration::from_secs(10),
        "the watcher seeing the half-written policy",
        || {
            std::fs::read_to_string(&stderr)
                .unwrap_or_default()
                .contains("not a finished write: nothing reloaded")
        },
    )
    .await;
    for _ in 0..3 {
        let t = s.err("list_brokers", json!({})).await;
        assert!(
            t.contains("rule default"),
            "half-written policy in force: {t}"
        );
    }
    f.write_all(b"tools:\n  list_brokers:\n    - action: deny\n      reason: the whole file\n")
        .unwrap();
    drop(f);
    let mut t = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        t = s.err("list_brokers", json!({})).await;
        if t.contains("the whole file") {
            break;
        }
    }
    assert!(t.contains("tools.list_brokers[0]: the whole file"), "{t}");
    assert!(
        fake.requests().is_empty(),
        "no call ran under a half-written policy"
    );
    // Idle, with trace logging into the policy's own folder: the watcher stays quiet.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let before = std::fs::metadata(&s.stderr).unwrap().len();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let grown = std::fs::metadata(&s.stderr).unwrap().len() - before;
    assert!(grown < 4096, "stderr grew {grown} bytes while idle");
    let reloads = s
        .audit_records()
        .iter()
        .filter(|r| r["tool"] == "policy_reload")
        .count();
    assert_eq!(reloads, 1, "one reload for one finished write");
    s.stop().await;
}

/// Issue 17 (2): `--metrics ADDR` with stdio: after known traffic, the Prometheus endpoint
/// counts it exactly, by tool, decision and outcome.
async fn metrics_count_the_calls_exactly() {
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some(
            "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: deny\n  list_brokers:\n    - action: allow\n      limit: {max: 2, window: 1h, per: session}\n".into(),
        ),
        endpoint: Some(fake.url.clone()),
        args: vec!["--metrics".into(), "127.0.0.1:0".into()],
        ..Options::default()
    })
    .await;
    let url = crate::support::address_on_stderr(&s.stderr, "metrics on ", "/metrics")
        .await
        .expect("the metrics address on stderr");
    for _ in 0..3 {
        s.call("list_brokers", json!({})).await;
    }
    s.call("delete_broker", json!({"BrokerId": "b-1"})).await;
    s.call("describe_broker", json!({"BrokerId": "b 1"})).await;
    let text = reqwest::get(&url)
        .await
        .expect("scrape")
        .text()
        .await
        .unwrap_or_default();
    for line in [
        r#"mcp_tool_calls_total{decision="allow",outcome="ok",tool="list_brokers"} 2"#,
        r#"mcp_tool_calls_total{decision="allow",outcome="rate_limited",tool="list_brokers"} 1"#,
        r#"mcp_tool_calls_total{decision="deny",outcome="denied",tool="delete_broker"} 1"#,
        r#"mcp_tool_calls_total{decision="none",outcome="invalid",tool="describe_broker"} 1"#,
        r#"guarded_rate_limit_refusals_total{limit="tools.list_brokers[0].limit"} 1"#,
        r#"mcp_tool_call_duration_seconds_count{decision="allow"} 3"#,
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}\n{text}");
    }
    assert!(
        !text.contains("b-1") && !text.contains("local"),
        "no argument or principal values as labels"
    );
    let ready = reqwest::get(url.replace("/metrics", "/readyz"))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    s.stop().await;
}

/// Issue 23 (4): tool names a client makes up never become metric labels, and the budget of
/// refused calls is kept per principal as well, so new sessions do not reset it.
async fn made_up_tool_names_are_not_labels_and_new_sessions_do_not_reset_the_budget() {
    use crate::support::{HttpOptions, HttpServer, call_on};
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: vec![("flood-token-0123456789", "mallory", vec![])],
        endpoint: fake.url.clone(),
        state: None,
        args: vec!["--metrics".into(), "127.0.0.1:0".into()],
    })
    .await;
    let url = crate::support::address_on_stderr(&s.stderr, "metrics on ", "/metrics")
        .await
        .expect("the metrics address on stderr");
    let scrape = || async { reqwest::get(&url).await.unwrap().text().await.unwrap() };
    let before = scrape().await.len();
    let mut refused_unread = 0;
    for session in 0..8 {
        let c = s.client("flood-token-0123456789").await;
        for i in 0..10 {
            let name = format!("{session}-{i}-{}", "x".repeat(100_000));
            let t = text(&call_on(&c, &name, json!({})).await);
            if t.contains("refused calls in 60s from this principal's sessions") {
                refused_unread += 1;
            }
        }
        let _ = c.cancel().await;
    }
    // 60 refusals fill the principal's budget; the other 20, in fresh sessions, are refused
    // unread.
    assert_eq!(refused_unread, 20);
    let after = scrape().await;
    assert!(
        !after.contains("xxxxxxxxxx"),
        "a made-up name became a label"
    );
    assert!(
        after
            .lines()
            .any(|l| l.starts_with("mcp_tool_calls_total{") && l.contains("tool=\"unknown\"")),
        "{after}"
    );
    assert!(
        after.len() < before + 4096,
        "/metrics grew from {before} to {} bytes",
        after.len()
    );
    // The audit keeps a bounded name.
    let longest = s
        .all_audit_records()
        .iter()
        .map(|r| r["tool"].as_str().unwrap_or_default().len())
        .max()
        .unwrap_or_default();
    assert!(longest < 200, "an audit record kept a {longest}-byte name");
    s.stop().await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "hardening::made_up_tool_names_are_not_labels_and_new_sessions_do_not_reset_the_budget",
            Needs::Nothing,
            made_up_tool_names_are_not_labels_and_new_sessions_do_not_reset_the_budget,
        ),
        trial(
            "hardening::metrics_count_the_calls_exactly",
            Needs::Nothing,
            metrics_count_the_calls_exactly,
        ),
        trial(
            "hardening::a_policy_is_loaded_only_when_its_write_is_finished",
            Needs::Nothing,
            a_policy_is_loaded_only_when_its_write_is_finished,
        ),
        trial(
            "hardening::a_call_whose_record_cannot_be_written_does_not_run",
            Needs::Nothing,
            a_call_whose_record_cannot_be_written_does_not_run,
        ),
        trial(
            "hardening::refusals_keep_secrets_out_and_records_small",
            Needs::Nothing,
            refusals_keep_secrets_out_and_records_small,
        ),
        trial(
            "hardening::a_lost_answer_keeps_the_slot_and_is_not_retried",
            Needs::Nothing,
            a_lost_answer_keeps_the_slot_and_is_not_retried,
        ),
        trial(
            "hardening::a_client_cannot_claim_an_era_to_approve_its_own_call",
            Needs::Nothing,
            a_client_cannot_claim_an_era_to_approve_its_own_call,
        ),
        trial(
            "hardening::operator_approval_cannot_be_given_by_the_client",
            Needs::Nothing,
            operator_approval_cannot_be_given_by_the_client,
        ),
    ]
}
