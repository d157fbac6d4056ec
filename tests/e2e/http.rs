//! Streamable HTTP through the real binary: bearer tokens (valid, missing, wrong), rules and
//! limits per principal, and replicas sharing one private Redis: limits held exactly under
//! concurrent clients, approvals seen across replicas, Redis stopped mid-run (fail closed) and
//! back (recovery).

use std::sync::Arc;

use libtest_mimic::Trial;
use serde_json::json;

use crate::approvals::{approval_id, creates, run_approvals};
use crate::gate::fake_mq;
use crate::support::{FakeAws, HttpOptions, HttpServer, Needs, Redis, call_on, text, trial};

pub(crate) const ALICE: &str = "alice-token-0123456789abcdef";
pub(crate) const BOB: &str = "bob-token-0123456789abcdef";
const CAROL: &str = "carol-token-0123456789abcdef";

pub(crate) fn people() -> Vec<(&'static str, &'static str, Vec<&'static str>)> {
    vec![
        (ALICE, "alice", vec!["reader", "ops"]),
        (BOB, "bob", vec!["contractor"]),
        (CAROL, "carol", vec!["reader"]),
    ]
}

fn lists(fake: &FakeAws) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/v1/brokers")
        .count()
}

/// A raw JSON-RPC POST with these headers: the status, the body and the response headers.
pub(crate) async fn raw_post(
    url: &str,
    headers: &[(&str, String)],
    body: &serde_json::Value,
) -> (u16, String, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    for (name, value) in headers {
        req = req.header(*name, value);
    }
    let r = req.send().await.expect("HTTP answered");
    let status = r.status().as_u16();
    let response_headers = r.headers().clone();
    (status, r.text().await.unwrap_or_default(), response_headers)
}

pub(crate) fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap_or_default().to_string())
}

pub(crate) fn initialize() -> serde_json::Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"}}})
}

fn bearer(token: Option<&str>) -> Vec<(&'static str, String)> {
    token
        .map(|t| vec![("authorization", format!("Bearer {t}"))])
        .unwrap_or_default()
}

/// `initialize` with a token or none: status, body, WWW-Authenticate.
async fn post(url: &str, token: Option<&str>) -> (u16, String, Option<String>) {
    let (status, body, headers) = raw_post(url, &bearer(token), &initialize()).await;
    (status, body, header(&headers, "www-authenticate"))
}

async fn tokens_valid_missing_and_wrong() {
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: Vec::new(),
    })
    .await;
    let (status, body, www) = post(&s.url, None).await;
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("missing bearer token"), "{body}");
    assert!(www.unwrap_or_default().starts_with("Bearer"));
    let (status, body, _) = post(&s.url, Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert!(body.contains("invalid bearer token"), "{body}");
    // The hash of a token is not the token.
    let hashed = guarded_aws_mcp::transport::tokens::hash(ALICE);
    assert_eq!(post(&s.url, Some(&hashed)).await.0, 401);
    let (status, _, _) = post(&s.url, Some(ALICE)).await;
    assert_eq!(status, 200);

    let client = s.client(ALICE).await;
    let tools = client.list_all_tools().await.expect("tools/list");
    assert!(tools.iter().any(|t| t.name == "list_brokers"));
    let r = call_on(&client, "list_brokers", json!({})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(lists(&fake), 1);
    let records = s.audit_records();
    assert_eq!(records.len(), 1, "401s leave no audit record: {records:?}");
    assert_eq!(records[0]["principal"], "alice");
    let _ = client.cancel().await;
    let log = s.stop().await;
    for secret in [ALICE, BOB, CAROL, "not-a-token"] {
        assert!(!log.contains(secret), "a token reached the log");
    }
}

/// A raw JSON-RPC POST with a token and, optionally, a session id: status, body, issued session.
pub(crate) async fn rpc(
    url: &str,
    token: &str,
    session: Option<&str>,
    body: serde_json::Value,
) -> (u16, String, Option<String>) {
    let mut headers = bearer(Some(token));
    headers.push(("mcp-protocol-version", "2025-11-25".into()));
    if let Some(id) = session {
        headers.push(("mcp-session-id", id.into()));
    }
    let (status, body, response) = raw_post(url, &headers, &body).await;
    (status, body, header(&response, "mcp-session-id"))
}

/// Issue 11 (2): the session was whatever `Mcp-Session-Id` the client sent. Bob, denied the
/// RabbitMQ connect tool, sent `Mcp-Session-Id: alice` and used alice's stored credentials;
/// random ids passed a spent `per: session` limit. Sessions are now issued by the server and
/// bound to the principal that opened them.
async fn sessions_are_issued_and_bound_to_their_principal() {
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\ntools:\n  list_brokers:\n    - action: allow\n      limit: {max: 1, window: 1h, per: session}\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: Vec::new(),
    })
    .await;
    let init = initialize();
    let (status, body, issued) = rpc(&s.url, ALICE, None, init.clone()).await;
    assert_eq!(status, 200, "{body}");
    let alice = issued.expect("the server issues a session id");
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    assert!(
        rpc(&s.url, ALICE, Some(&alice), initialized.clone())
            .await
            .0
            < 300
    );
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "list_brokers", "arguments": {}}});
    let (status, body, _) = rpc(&s.url, ALICE, Some(&alice), list.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("\"isError\":true"), "{body}");
    // Alice's session limit is spent.
    let (_, body, _) = rpc(&s.url, ALICE, Some(&alice), list.clone()).await;
    assert!(body.contains("Rate limited:"), "{body}");
    // Bob presents alice's session: refused before anything runs.
    let (status, body, _) = rpc(&s.url, BOB, Some(&alice), list.clone()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("another principal"), "{body}");
    // Ids the server never issued are unknown, whoever sends them: no fresh limits to be had.
    for id in [
        "alice",
        "http:alice",
        "0000",
        &uuid::Uuid::new_v4().to_string(),
    ] {
        let (status, body, _) = rpc(&s.url, ALICE, Some(id), list.clone()).await;
        assert_eq!(status, 404, "{id}: {body}");
    }
    assert_eq!(lists(&fake), 1);
    // Bob's own session is his, with its own count.
    let (_, _, bobs) = rpc(&s.url, BOB, None, init).await;
    let bob = bobs.expect("session");
    assert_ne!(bob, alice);
    rpc(&s.url, BOB, Some(&bob), initialized).await;
    let (_, body, _) = rpc(&s.url, BOB, Some(&bob), list).await;
    assert!(!body.contains("\"isError\":true"), "{body}");
    assert_eq!(lists(&fake), 2);
    let sessions: std::collections::HashSet<String> = s
        .audit_records()
        .iter()
        .map(|r| r["session"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(sessions.contains(&format!("http:{alice}")), "{sessions:?}");
    assert!(sessions.contains(&format!("http:{bob}")), "{sessions:?}");
    s.stop().await;
}

/// Issue 11 (7): connections that never finished their headers were never closed (3 000 open
/// after 35 s; at 20 000 an authenticated call timed out). Now a head must arrive within the
/// header timeout, and connections past the cap are closed at once.
async fn stalled_connections_are_closed_and_capped() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: [
            "--http-max-connections",
            "16",
            "--http-header-timeout",
            "1s",
        ]
        .map(String::from)
        .to_vec(),
    })
    .await;
    let addr = s
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let mut stalled = Vec::new();
    for _ in 0..16 {
        let mut c = tokio::net::TcpStream::connect(&addr).await.unwrap();
        c.write_all(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        stalled.push(c);
    }
    // Full once the server has taken the 16: a 17th connection is then closed without an
    // answer (asked until it is, in case the server had not taken them all yet).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let mut extra = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let _ = extra
            .write_all(b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            .await;
        let mut buf = [0u8; 64];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), extra.read(&mut buf))
            .await
            .expect("closed, not left hanging")
            .unwrap_or(0);
        if n == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a connection past the cap is closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // The stalled heads time out and their connections are closed...
    for c in &mut stalled {
        let mut buf = [0u8; 512];
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut buf))
            .await
            .expect("the server closes a stalled connection");
        // hyper may answer 408 before closing; either way the connection ends.
        if let Ok(n) = r
            && n > 0
        {
            let more = tokio::time::timeout(std::time::Duration::from_secs(5), c.read(&mut buf))
                .await
                .expect("then closes it");
            assert!(matches!(more, Ok(0) | Err(_)));
        }
    }
    // ...and an authenticated client is served again.
    let (status, body, _) = post(&s.url, Some(ALICE)).await;
    assert_eq!(status, 200, "{body}");
    s.stop().await;
}

/// Issue 12 (3): over HTTP a 2025-11-25 client that declares elicitation was told it could not
/// be asked (the stateless server had forgotten its capabilities). Its session now keeps them,
/// and the approval is asked by a server-initiated `elicitation/create`.
async fn a_2025_client_over_http_is_asked_by_elicitation() {
    use crate::approvals::Human;
    use rmcp::model::{ElicitationAction, ProtocolVersion};
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: require_approval\n      reason: brokers cost money\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: Vec::new(),
    })
    .await;
    let human = Human::new(ElicitationAction::Accept, true).on(ProtocolVersion::V_2025_11_25);
    let asked = human.asked.clone();
    let client = s.client_with(ALICE, human, false).await;
    let r = call_on(&client, "create_broker", crate::gate::create_args()).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(asked.lock().unwrap().len(), 1, "asked once");
    assert_eq!(creates(&fake), 1, "ran once");
    let _ = client.cancel().await;
    let no = Human::new(ElicitationAction::Decline, false).on(ProtocolVersion::V_2025_11_25);
    let client = s.client_with(BOB, no, false).await;
    let r = call_on(&client, "create_broker", crate::gate::create_args()).await;
    assert!(text(&r).contains("the user declined"), "{}", text(&r));
    assert_eq!(creates(&fake), 1);
    let _ = client.cancel().await;
    s.stop().await;
}

/// Issue 12 (4): a request with a foreign `Origin` (a page on another site, DNS rebinding) gets
/// 403 before authentication; the listener's own loopback origin and no Origin are served.
async fn foreign_origins_are_refused() {
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: vec!["--allowed-origin".into(), "https://app.example.com".into()],
    })
    .await;
    let init = initialize();
    let send = |origin: Option<&'static str>, token: Option<&'static str>| {
        let mut headers = bearer(token);
        if let Some(o) = origin {
            headers.push(("origin", o.to_string()));
        }
        let url = s.url.clone();
        let init = init.clone();
        async move { raw_post(&url, &headers, &init).await.0 }
    };
    assert_eq!(send(Some("http://evil.example"), Some(ALICE)).await, 403);
    assert_eq!(
        send(Some("http://evil.example"), None).await,
        403,
        "before authentication"
    );
    assert_eq!(
        send(Some("https://app.example.com"), Some(ALICE)).await,
        200
    );
    assert_eq!(send(None, Some(ALICE)).await, 200);
    let own: &'static str = Box::leak(s.url.trim_end_matches("/mcp").to_string().into_boxed_str());
    assert_eq!(send(Some(own), Some(ALICE)).await, 200);
    s.stop().await;
}

/// Issue 17 (3): `/healthz` says the process is up; `/readyz` goes not-ready when the state
/// store is down and ready again when it returns. Neither needs a token.
async fn health_and_readiness_follow_the_state_store() {
    let mut redis = Redis::start().await;
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: Some(redis.url()),
        args: Vec::new(),
    })
    .await;
    let base = s.url.trim_end_matches("/mcp").to_string();
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let r = reqwest::get(url).await.expect("answered");
            (r.status().as_u16(), r.text().await.unwrap_or_default())
        }
    };
    assert_eq!(get("/healthz").await.0, 200);
    assert_eq!(
        get("/readyz").await,
        (200, "{\"status\":\"ready\"}".to_string())
    );
    redis.down();
    let (status, body) = get("/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("not ready") && body.contains("redis"),
        "{body}"
    );
    assert_eq!(get("/healthz").await.0, 200, "the process is still up");
    redis.up().await;
    crate::support::eventually_some(
        std::time::Duration::from_secs(5),
        "ready again once Redis is back",
        || async {
            match get("/readyz").await {
                (200, _) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            }
        },
    )
    .await;
    s.stop().await;
}

const TEAM_POLICY: &str = r#"
version: 1
default: deny
tools:
  list_brokers:
    - action: allow
      when: [{path: roles, op: contains, value: reader}]
      limit: {max: 3, window: 1h, per: principal}
  describe_broker:
    - action: allow
    - action: deny
      reason: contractors do not read broker details
      when: [{path: principal, op: eq, value: bob}]
"#;

async fn rules_and_limits_per_principal() {
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: TEAM_POLICY.into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: None,
        args: Vec::new(),
    })
    .await;
    let alice1 = s.client(ALICE).await;
    let alice2 = s.client(ALICE).await;
    let bob = s.client(BOB).await;
    let carol = s.client(CAROL).await;
    let ok = |r: &rmcp::model::CallToolResult| r.is_error != Some(true);
    // alice: 3 calls per principal, whichever of her clients makes them.
    let mut allowed = 0;
    for i in 0..6 {
        let c = if i % 2 == 0 { &alice1 } else { &alice2 };
        let r = call_on(c, "list_brokers", json!({})).await;
        if ok(&r) {
            allowed += 1;
        } else {
            assert!(text(&r).starts_with("Rate limited: limit tools.list_brokers[0].limit allows 3 calls per 1h (per principal)"), "{}", text(&r));
        }
    }
    assert_eq!(allowed, 3);
    // carol has her own 3.
    for _ in 0..3 {
        assert!(ok(&call_on(&carol, "list_brokers", json!({})).await));
    }
    // bob has no reader role: the default denies; and a rule names him.
    let r = call_on(&bob, "list_brokers", json!({})).await;
    assert!(
        text(&r).starts_with("Denied by policy: rule default"),
        "{}",
        text(&r)
    );
    let r = call_on(&bob, "describe_broker", json!({"BrokerId": "b-1"})).await;
    assert_eq!(
        text(&r),
        "Denied by policy: rule tools.describe_broker[1]: contractors do not read broker details"
    );
    assert!(ok(&call_on(
        &carol,
        "describe_broker",
        json!({"BrokerId": "b-1"})
    )
    .await));
    assert_eq!(lists(&fake), 6);
    let principals: Vec<String> = s
        .audit_records()
        .iter()
        .map(|r| r["principal"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(principals.iter().filter(|p| *p == "bob").count(), 2);
    assert_eq!(principals.iter().filter(|p| *p == "alice").count(), 6);
    for c in [alice1, alice2, bob, carol] {
        let _ = c.cancel().await;
    }
    s.stop().await;
}

const SHARED_LIMIT: &str = r#"
version: 1
default: allow
limits:
  - {max: 50, window: 1h, per: global, tool: list_brokers}
tools:
  create_broker:
    - action: require_approval
      reason: brokers cost money
"#;

/// Two replicas sharing one Redis, each started with `args` as well.
pub(crate) async fn two_replicas(
    redis: &Redis,
    fake: &FakeAws,
    args: &[&str],
) -> (HttpServer, HttpServer) {
    let start = || {
        HttpServer::start(HttpOptions {
            policy: SHARED_LIMIT.into(),
            tokens: people(),
            endpoint: fake.url.clone(),
            state: Some(redis.url()),
            args: args.iter().map(|a| a.to_string()).collect(),
        })
    };
    (start().await, start().await)
}

/// 16 clients over two replicas, 200 calls each, concurrently: exactly 50 run.
async fn replicas_hold_a_shared_limit_exactly() {
    let redis = Redis::start().await;
    let fake = fake_mq().await;
    let (a, b) = two_replicas(&redis, &fake, &[]).await;
    let mut clients = Vec::new();
    for i in 0..16 {
        let server = if i % 2 == 0 { &a } else { &b };
        let token = [ALICE, CAROL, BOB][i % 3];
        clients.push(Arc::new(server.client(token).await));
    }
    let mut tasks = Vec::new();
    for c in &clients {
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut limited) = (0usize, 0usize);
            for _ in 0..200 {
                let r = call_on(&c, "list_brokers", json!({})).await;
                if r.is_error == Some(true) {
                    assert!(text(&r).starts_with("Rate limited: limit limits[0] allows 50 calls per 1h (across all sessions)"), "{}", text(&r));
                    limited += 1;
                } else {
                    ok += 1;
                }
            }
            (ok, limited)
        }));
    }
    let (mut ok, mut limited) = (0, 0);
    for t in tasks {
        let (o, l) = t.await.expect("client task");
        ok += o;
        limited += l;
    }
    assert_eq!(ok, 50, "allowed calls across both replicas");
    assert_eq!(limited, 16 * 200 - 50);
    assert_eq!(lists(&fake), 50, "AWS saw exactly the allowed calls");
    let audited = a.audit_records().len() + b.audit_records().len();
    assert_eq!(audited, 16 * 200);
    drop(clients);
    a.stop().await;
    b.stop().await;
}

fn approvals_cli(redis: &Redis, args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    run_approvals(
        ("--state", url.as_ref()),
        &dir.path().join("ops.jsonl"),
        args,
    )
}

/// An approval asked for on one replica is approved once in Redis and runs on the other.
async fn replicas_see_each_others_approvals() {
    let redis = Redis::start().await;
    let fake = fake_mq().await;
    let (a, b) = two_replicas(&redis, &fake, &[]).await;
    let on_a = a.client(ALICE).await;
    let on_b = b.client(ALICE).await;
    let args = crate::gate::create_args();
    let r = call_on(&on_a, "create_broker", args.clone()).await;
    let id = &approval_id(&text(&r));
    let r = call_on(&on_b, "create_broker", args.clone()).await;
    assert!(
        text(&r).contains(&format!("approval {id} is still pending")),
        "{}",
        text(&r)
    );
    let (code, out, err) = approvals_cli(&redis, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(id) && out.contains("alice"), "{out}");
    let (code, _, err) = approvals_cli(&redis, &["approve", id, "--by", "ops"]);
    assert_eq!(code, 0, "{err}");
    // The two replicas race for the one approval: exactly one runs the call.
    let (ra, rb) = tokio::join!(
        call_on(&on_a, "create_broker", args.clone()),
        call_on(&on_b, "create_broker", args.clone())
    );
    let ran = [&ra, &rb]
        .iter()
        .filter(|r| r.is_error != Some(true))
        .count();
    assert_eq!(ran, 1, "{} / {}", text(&ra), text(&rb));
    assert_eq!(creates(&fake), 1);
    // Another principal's identical call is another call.
    let bob = b.client(BOB).await;
    let r = call_on(&bob, "create_broker", args.clone()).await;
    assert!(text(&r).contains("was requested"), "{}", text(&r));
    for c in [on_a, on_b, bob] {
        let _ = c.cancel().await;
    }
    a.stop().await;
    b.stop().await;
}

/// MRTR across replicas: asked on one, answered on the other (shared sealing key), and the
/// same answer replayed on the first is refused (shared nonces).
async fn elicitation_answer_on_another_replica() {
    use rmcp::model::{CallToolRequestParams, CallToolResponse, ElicitationAction};
    let redis = Redis::start().await;
    let fake = fake_mq().await;
    let (a, b) = two_replicas(&redis, &fake, &[]).await;
    let human = || crate::approvals::Human::new(ElicitationAction::Accept, true);
    let on_a = a.client_with(ALICE, human(), true).await;
    let on_b = b.client_with(ALICE, human(), true).await;
    let serde_json::Value::Object(args) = crate::gate::create_args() else {
        unreachable!()
    };
    let params = || CallToolRequestParams::new("create_broker").with_arguments(args.clone());
    let CallToolResponse::InputRequired(input) = on_a.call_tool_once(params()).await.unwrap()
    else {
        panic!("expected an input-required result from replica A");
    };
    let answer: rmcp::model::InputResponses = [(
        "approval".to_string(),
        json!({"action": "accept", "content": {"approve": true}}),
    )]
    .into();
    let retry = || {
        params()
            .with_input_responses(answer.clone())
            .with_request_state(input.request_state.clone().unwrap())
    };
    match on_b.call_tool_once(retry()).await.unwrap() {
        CallToolResponse::Complete(r) => assert_ne!(r.is_error, Some(true), "{}", text(&r)),
        other => panic!("expected replica B to run the call, got {other:?}"),
    }
    match on_a.call_tool_once(retry()).await.unwrap() {
        CallToolResponse::Complete(r) => assert!(text(&r).contains("already used"), "{}", text(&r)),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(creates(&fake), 1);
    let _ = on_a.cancel().await;
    let _ = on_b.cancel().await;
    a.stop().await;
    b.stop().await;
}

/// Redis stops: calls that need it are refused with the reason and reach no AWS; calls that
/// do not need it go on. Redis returns: the server recovers by itself.
async fn redis_down_fails_closed_then_recovers() {
    let mut redis = Redis::start().await;
    let fake = fake_mq().await;
    let s = HttpServer::start(HttpOptions {
        policy: SHARED_LIMIT.into(),
        tokens: people(),
        endpoint: fake.url.clone(),
        state: Some(redis.url()),
        args: Vec::new(),
    })
    .await;
    let c = s.client(ALICE).await;
    assert_ne!(
        call_on(&c, "list_brokers", json!({})).await.is_error,
        Some(true)
    );
    assert_eq!(lists(&fake), 1);

    redis.down();
    for _ in 0..3 {
        let r = call_on(&c, "list_brokers", json!({})).await;
        let t = text(&r);
        assert_eq!(r.is_error, Some(true), "{t}");
        assert!(
            t.starts_with("State store unavailable: the state store (redis redis://127.0.0.1:"),
            "{t}"
        );
        assert!(
            t.contains("cannot be reached") && t.contains("no AWS call was made"),
            "{t}"
        );
    }
    assert_eq!(lists(&fake), 1, "a call was made without its rate limit");
    // describe_broker has no limit and needs no approval: it does not need the store.
    let r = call_on(&c, "describe_broker", json!({"BrokerId": "b-1"})).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    let rec = s.audit_records();
    let refused = rec
        .iter()
        .filter(|r| r["outcome"]["status"] == "error")
        .count();
    assert_eq!(refused, 3);

    redis.up().await;
    let mut recovered = false;
    for _ in 0..50 {
        let r = call_on(&c, "list_brokers", json!({})).await;
        if r.is_error != Some(true) {
            recovered = true;
            break;
        }
        assert!(
            text(&r).starts_with("State store unavailable:"),
            "{}",
            text(&r)
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "the server did not recover after Redis returned");
    assert_eq!(lists(&fake), 2);
    let _ = c.cancel().await;
    s.stop().await;
}

/// Issue 23 (7): one principal's HTTP sessions are capped, across replicas sharing Redis;
/// the refusal is 429 with the reason; another principal is not affected; a deleted session
/// gives its place back.
async fn sessions_per_principal_are_capped_across_replicas() {
    let redis = Redis::start().await;
    let fake = fake_mq().await;
    let (a, b) = two_replicas(&redis, &fake, &["--http-max-sessions-per-principal", "3"]).await;
    let open = |url: String, token: &'static str| async move {
        let (status, body, h) = raw_post(&url, &bearer(Some(token)), &initialize()).await;
        (status, body, header(&h, "mcp-session-id"))
    };
    let mut ids = Vec::new();
    for url in [&a.url, &a.url, &b.url] {
        let (status, body, id) = open(url.clone(), ALICE).await;
        assert_eq!(status, 200, "{body}");
        ids.push(id.unwrap());
    }
    for url in [&a.url, &b.url] {
        let (status, body, id) = open(url.clone(), ALICE).await;
        assert_eq!(status, 429, "{body}");
        assert!(id.is_none());
        assert!(body.contains("3 open sessions"), "{body}");
    }
    let (status, _, _) = open(b.url.clone(), BOB).await;
    assert_eq!(status, 200, "bob has his own sessions");
    // Deleting one on A lets alice open one on B.
    let r = reqwest::Client::new()
        .delete(&a.url)
        .header("authorization", format!("Bearer {ALICE}"))
        .header("mcp-session-id", &ids[0])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (status, body, _) = open(b.url.clone(), ALICE).await;
    assert_eq!(status, 200, "{body}");
    a.stop().await;
    b.stop().await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "http::sessions_per_principal_are_capped_across_replicas",
            Needs::Redis,
            sessions_per_principal_are_capped_across_replicas,
        ),
        trial(
            "http::health_and_readiness_follow_the_state_store",
            Needs::Redis,
            health_and_readiness_follow_the_state_store,
        ),
        trial(
            "http::a_2025_client_over_http_is_asked_by_elicitation",
            Needs::Nothing,
            a_2025_client_over_http_is_asked_by_elicitation,
        ),
        trial(
            "http::foreign_origins_are_refused",
            Needs::Nothing,
            foreign_origins_are_refused,
        ),
        trial(
            "http::stalled_connections_are_closed_and_capped",
            Needs::Nothing,
            stalled_connections_are_closed_and_capped,
        ),
        trial(
            "http::sessions_are_issued_and_bound_to_their_principal",
            Needs::Nothing,
            sessions_are_issued_and_bound_to_their_principal,
        ),
        trial(
            "http::tokens_valid_missing_and_wrong",
            Needs::Nothing,
            tokens_valid_missing_and_wrong,
        ),
        trial(
            "http::rules_and_limits_per_principal",
            Needs::Nothing,
            rules_and_limits_per_principal,
        ),
        trial(
            "http::replicas_hold_a_shared_limit_exactly",
            Needs::Redis,
            replicas_hold_a_shared_limit_exactly,
        ),
        trial(
            "http::replicas_see_each_others_approvals",
            Needs::Redis,
            replicas_see_each_others_approvals,
        ),
        trial(
            "http::elicitation_answer_on_another_replica",
            Needs::Redis,
            elicitation_answer_on_another_replica,
        ),
        trial(
            "http::redis_down_fails_closed_then_recovers",
            Needs::Redis,
            redis_down_fails_closed_then_recovers,
        ),
    ]
}
