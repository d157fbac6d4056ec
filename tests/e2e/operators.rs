//! Approvals reach the operator: a signed webhook for every approval requested and decided
//! (in the background, retried, never carrying arguments), and approve/deny over
//! `/admin/approvals` for callers with the admin role.

use std::sync::Arc;
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::support::{FakeAws, HttpOptions, HttpServer, Needs, Request, call_on, text, trial};

const POLICY: &str = "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: require_approval\n      approver: operator\n      reason: deletes need an operator\n";
const AGENT: &str = "alice-agent-token-0123";
const OPS: &str = "ops-approver-token-0123";
const OTHER: &str = "carol-plain-token-01234";
const SECRET: &str = "webhook-s3cret";

/// AWS: DeleteBroker succeeds.
async fn mq() -> FakeAws {
    FakeAws::start(Arc::new(|r: &Request| {
        if r.method == "DELETE" {
            (200, r#"{"brokerId":"b-1"}"#.to_string())
        } else {
            (404, r#"{"message":"not here"}"#.to_string())
        }
    }))
    .await
}

async fn server(aws: &FakeAws, hook: &FakeAws) -> HttpServer {
    HttpServer::start(HttpOptions {
        policy: POLICY.into(),
        tokens: vec![
            (AGENT, "alice", vec!["agent"]),
            (OPS, "ops", vec!["approver"]),
            (OTHER, "carol", vec![]),
        ],
        endpoint: aws.url.clone(),
        state: None,
        args: [
            "--admin-role",
            "approver",
            "--approval-webhook",
            &hook.url,
            "--approval-webhook-secret",
            SECRET,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    })
    .await
}

fn approval_id(refusal: &str) -> String {
    let at = refusal.find("apr-").expect("an approval id in the refusal");
    refusal[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect()
}

async fn admin(s: &HttpServer, token: &str, method: reqwest::Method, path: &str) -> (u16, Value) {
    let base = s.url.trim_end_matches("/mcp");
    let r = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The webhook requests received so far, waiting up to 5 s for at least `n`.
async fn hooks(hook: &FakeAws, n: usize) -> Vec<Request> {
    for _ in 0..100 {
        if hook.requests().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    hook.requests()
}

/// What a receiver does (docs/approvals.md's snippet, in Rust): recompute the Standard Webhooks
/// signature over `id.timestamp.body`, and refuse a timestamp more than 5 minutes off.
fn signed(r: &Request) -> bool {
    use base64::Engine as _;
    let (Some(id), Some(ts), Some(sig)) = (
        r.header("webhook-id"),
        r.header("webhook-timestamp"),
        r.header("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(ts_num) = ts.parse::<i64>() else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    if (now - ts_num).abs() > 300 {
        return false;
    }
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, SECRET.as_bytes());
    let want = aws_lc_rs::hmac::sign(&key, format!("{id}.{ts}.{}", r.body).as_bytes());
    let want = format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(want.as_ref())
    );
    sig.split(' ').any(|s| s == want)
}

async fn operators_decide_over_http_and_hear_through_the_webhook() {
    let aws = mq().await;
    let hook = FakeAws::start(Arc::new(|_| (200, "{}".to_string()))).await;
    let s = server(&aws, &hook).await;
    let alice = s.client(AGENT).await;

    // The agent's call asks for approval; the webhook hears of it, signed, without arguments.
    let asked = text(&call_on(&alice, "delete_broker", json!({"BrokerId": "b-1"})).await);
    let id = approval_id(&asked);
    let got = hooks(&hook, 1).await;
    assert_eq!(got.len(), 1);
    assert!(signed(&got[0]), "{:?}", got[0].headers);
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(body["event"], "approval_requested");
    assert_eq!(body["approval_id"], id.as_str());
    assert_eq!(
        (body["tool"].as_str(), body["principal"].as_str()),
        (Some("delete_broker"), Some("alice"))
    );
    assert!(body["text"].as_str().unwrap().contains(&id));
    assert!(
        body.get("args").is_none() && !got[0].body.contains("b-1"),
        "no arguments: {body}"
    );

    // Only the admin role may look or decide.
    let (status, _) = admin(&s, OTHER, reqwest::Method::GET, "/admin/approvals").await;
    assert_eq!(status, 403);
    let (status, _) = admin(
        &s,
        AGENT,
        reqwest::Method::POST,
        &format!("/admin/approvals/{id}/approve"),
    )
    .await;
    assert_eq!(status, 403, "the agent cannot approve its own call");
    let (status, list) = admin(&s, OPS, reqwest::Method::GET, "/admin/approvals").await;
    assert_eq!(status, 200);
    assert_eq!(list["approvals"][0]["id"], id.as_str(), "{list}");
    let (status, one) = admin(
        &s,
        OPS,
        reqwest::Method::GET,
        &format!("/admin/approvals/{id}"),
    )
    .await;
    assert_eq!((status, one["status"].as_str()), (200, Some("pending")));

    // An approver whose own call waits cannot approve it either.
    let ops = s.client(OPS).await;
    let own = approval_id(&text(
        &call_on(&ops, "delete_broker", json!({"BrokerId": "b-2"})).await,
    ));
    let (status, body) = admin(
        &s,
        OPS,
        reqwest::Method::POST,
        &format!("/admin/approvals/{own}/approve"),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // Approved over HTTP: the agent's retry runs, once; the webhook hears of the decision.
    let (status, decided) = admin(
        &s,
        OPS,
        reqwest::Method::POST,
        &format!("/admin/approvals/{id}/approve"),
    )
    .await;
    assert_eq!(
        (
            status,
            decided["status"].as_str(),
            decided["decided_by"].as_str()
        ),
        (200, Some("approved"), Some("ops"))
    );
    let r = call_on(&alice, "delete_broker", json!({"BrokerId": "b-1"})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(
        aws.requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
    let got = hooks(&hook, 3).await;
    let decided: Vec<Value> = got
        .iter()
        .map(|r| serde_json::from_str::<Value>(&r.body).unwrap())
        .filter(|b| b["event"] == "approval_decided")
        .collect();
    assert_eq!(decided.len(), 1);
    assert_eq!(
        (
            decided[0]["status"].as_str(),
            decided[0]["decided_by"].as_str()
        ),
        (Some("approved"), Some("ops"))
    );
    assert!(got.iter().all(signed));

    // Denied over HTTP: the retry is refused; deciding twice is a conflict.
    let (status, _) = admin(
        &s,
        OPS,
        reqwest::Method::POST,
        &format!("/admin/approvals/{id}/deny"),
    )
    .await;
    assert_eq!(status, 409, "already decided");
    let other = approval_id(&text(
        &call_on(&alice, "delete_broker", json!({"BrokerId": "b-3"})).await,
    ));
    let (status, _) = admin(
        &s,
        OPS,
        reqwest::Method::POST,
        &format!("/admin/approvals/{other}/deny"),
    )
    .await;
    assert_eq!(status, 200);
    let t = text(&call_on(&alice, "delete_broker", json!({"BrokerId": "b-3"})).await);
    assert!(t.contains("denied by ops"), "{t}");
    // An approver cannot decide its own call's approval; the attempt is refused and audited.
    let ops = s.client(OPS).await;
    let asked = text(&call_on(&ops, "delete_broker", json!({"BrokerId": "b-4"})).await);
    let own = approval_id(&asked);
    let (status, body) = admin(
        &s,
        OPS,
        reqwest::Method::POST,
        &format!("/admin/approvals/{own}/approve"),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("cannot decide an approval of its own call")),
        "{body}"
    );
    // The decisions are in the server's audit log, and so is the refused attempt.
    let records = s.all_audit_records();
    assert!(
        records.iter().any(|r| r["rule"] == "admin.self_approval"
            && r["principal"] == "ops"
            && r["args"]["approval_id"] == own.as_str()),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|r| r["decision"] == "approved" && r["outcome"]["by"] == "ops"),
        "{records:?}"
    );
}

async fn a_failing_webhook_never_delays_the_call() {
    let aws = mq().await;
    // The receiver refuses every event: the server tries 4 times, in the background.
    let hook = FakeAws::start(Arc::new(|_| (500, "{}".to_string()))).await;
    let s = server(&aws, &hook).await;
    let alice = s.client(AGENT).await;
    let asked = text(&call_on(&alice, "delete_broker", json!({"BrokerId": "b-1"})).await);
    assert!(asked.starts_with("Approval required"), "{asked}");
    // The call was answered before the retries (0.5 s, 1 s, 2 s apart) were made.
    assert!(hook.requests().len() <= 1, "the call waited for retries");
    let got = hooks(&hook, 4).await;
    assert_eq!(got.len(), 4, "four attempts");
    // Issue 23 (9): every attempt is signed over its id and timestamp; the retries of one
    // event share its id, so a receiver tells a retry or a replay from a new event.
    assert!(got.iter().all(signed), "{:?}", got[0].headers);
    let ids: std::collections::HashSet<&str> =
        got.iter().filter_map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    // A replayed body under another id or an old timestamp does not verify.
    let mut replayed = got[0].clone();
    replayed.headers.retain(|(k, _)| k != "webhook-id");
    replayed
        .headers
        .push(("webhook-id".into(), "msg_other".into()));
    assert!(!signed(&replayed));
    let mut old = got[0].clone();
    old.headers.retain(|(k, _)| k != "webhook-timestamp");
    old.headers
        .push(("webhook-timestamp".into(), "1600000000".into()));
    assert!(!signed(&old));
}

/// Issue 23 (8): what a caller chose reaches the operator escaped for the medium: Slack's
/// mrkdwn in the webhook's `text` (no mention, no link), the terminal in `approvals list`
/// (no escape sequence); the JSON fields keep the values as they are.
async fn operator_text_is_escaped_for_its_medium() {
    let aws = mq().await;
    let hook = FakeAws::start(Arc::new(|_| (200, "{}".to_string()))).await;
    let sly = "<!channel> <https://evil.example/approve|Approve now>";
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: require_approval\n      approver: operator\n      reason: \"deletes \\e[2K\\rneed\\nan operator\"\n".into(),
        tokens: vec![(AGENT, sly, vec!["agent"])],
        endpoint: aws.url.clone(),
        state: None,
        args: ["--approval-webhook", &hook.url, "--approval-webhook-secret", SECRET]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    })
    .await;
    let alice = s.client(AGENT).await;
    let asked = text(&call_on(&alice, "delete_broker", json!({"BrokerId": "b-1"})).await);
    assert!(asked.starts_with("Approval required"), "{asked}");
    let got = hooks(&hook, 1).await;
    let body: Value = serde_json::from_str(&got[0].body).unwrap();
    let slack = body["text"].as_str().unwrap();
    assert!(
        !slack.contains("<!channel>") && !slack.contains("<https://"),
        "{slack}"
    );
    assert!(slack.contains("&lt;!channel&gt;"), "{slack}");
    assert!(
        !slack.contains('\u{1b}') && !slack.contains('\n'),
        "{slack}"
    );
    assert_eq!(body["principal"], sly, "JSON keeps the value");
    let (code, out, err) = crate::approvals::run_approvals(
        ("--approvals-dir", s.approvals.as_os_str()),
        &s.audit,
        &["list"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(sly), "{out}");
    let (_, shown, _) = crate::approvals::run_approvals(
        ("--approvals-dir", s.approvals.as_os_str()),
        &s.audit,
        &["show", &approval_id(&asked)],
    );
    for o in [&out, &shown] {
        assert!(!o.contains('\u{1b}') && !o.contains('\r'), "{o:?}");
    }
    assert!(
        shown.contains("deletes \\u{1b}[2K\\rneed\\nan operator"),
        "{shown}"
    );
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "operators::operators_decide_over_http_and_hear_through_the_webhook",
            Needs::Nothing,
            operators_decide_over_http_and_hear_through_the_webhook,
        ),
        trial(
            "operators::operator_text_is_escaped_for_its_medium",
            Needs::Nothing,
            operator_text_is_escaped_for_its_medium,
        ),
        trial(
            "operators::a_failing_webhook_never_delays_the_call",
            Needs::Nothing,
            a_failing_webhook_never_delays_the_call,
        ),
    ]
}
