//! A replica in a fleet: it drains on SIGTERM (readiness off at once, new calls refused with a
//! retryable error, the call running finishes, exit 0), and its audit trail rotates with the
//! chain intact and ends with a signed checkpoint that `audit verify --public-key` proves.

use std::sync::atomic::Ordering;
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::json;

use crate::support::{
    BIN, HttpOptions, HttpServer, Needs, call_on, eventually, eventually_some, text, trial,
};

const TOKEN: &str = "drain-token-0123456789abcdef";

fn run(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(BIN)
        .args(args)
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// SIGTERM while a long call runs: /readyz turns 503 at once, a new call is refused with
/// `Shutting down:`, the running call completes, the server exits 0; its audit log, rotated
/// on the way, verifies with the public key and ends with a checkpoint over every record.
async fn sigterm_drains_and_the_audit_trail_proves_its_end() {
    let (fake, describes) = crate::progress::slow_broker(3).await;
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("audit.key");
    let (code, out, err) = run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let public = format!("{}.pub", key.display());
    let mut s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: vec![(TOKEN, "ops", vec![])],
        endpoint: fake.url.clone(),
        state: None,
        args: [
            "--drain-timeout",
            "120s",
            "--audit-rotate",
            "2K",
            "--audit-signing-key",
            key.to_str().unwrap(),
            "--audit-checkpoint-every",
            "4",
        ]
        .map(String::from)
        .to_vec(),
    })
    .await;
    let client = std::sync::Arc::new(s.client(TOKEN).await);
    for _ in 0..12 {
        let r = call_on(&client, "list_brokers", json!({})).await;
        assert!(
            r.is_error == Some(true),
            "the fake has no list: {}",
            text(&r)
        );
    }
    let running = {
        let c = client.clone();
        tokio::spawn(async move {
            call_on(&c, "create_broker", crate::progress::create_args(600)).await
        })
    };
    eventually(Duration::from_secs(10), "the wait polls", || {
        describes.load(Ordering::SeqCst) >= 1
    })
    .await;
    s.terminate();
    let ready = format!("{}/readyz", s.base());
    eventually_some(
        Duration::from_secs(2),
        "readiness off while draining",
        || async {
            match reqwest::get(&ready).await.map(|r| r.status().as_u16()) {
                Ok(503) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    let other = s.client(TOKEN).await;
    let refused = call_on(&other, "list_brokers", json!({})).await;
    assert!(
        text(&refused).starts_with("Shutting down: this server is shutting down"),
        "{}",
        text(&refused)
    );
    let finished = running.await.expect("the running call");
    assert!(finished.is_error != Some(true), "{}", text(&finished));
    assert!(text(&finished).contains("RUNNING"), "{}", text(&finished));
    drop(other);
    assert_eq!(s.exited().await, Some(0), "exit 0 after draining");
    let dir = s.audit.parent().unwrap().to_path_buf();
    let rotated = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().to_string();
            n.starts_with("audit.0") && n.ends_with(".jsonl")
        })
        .count();
    assert!(rotated >= 2, "the log was rotated ({rotated} files)");
    let (code, out, err) = run(&[
        "audit",
        "verify",
        "--public-key",
        &public,
        dir.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("chain unbroken"), "{out}");
    assert!(out.contains("with valid signatures"), "{out}");
    assert!(out.contains("0 records after it"), "{out}");
    // Every call's record is there: the finished create, the refusal while draining.
    let all: Vec<serde_json::Value> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".jsonl"))
        .flat_map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        all.iter()
            .any(|r| r["tool"] == "create_broker" && r["outcome"]["status"] == "ok")
    );
    assert!(
        all.iter()
            .any(|r| r["tool"] == "list_brokers" && r["outcome"]["message"] == "draining")
    );
    // A removed file is named.
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("audit.0")
        })
        .collect();
    files.sort();
    std::fs::remove_file(&files[1]).unwrap();
    let (code, out, _) = run(&["audit", "verify", dir.to_str().unwrap()]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("are missing (a file before this one is missing"),
        "{out}"
    );
}

/// examples/kubernetes agrees with the binary: its policy loads, every flag it passes exists,
/// its probes are the server's, and the grace period outlasts the drain timeout.
/// (scripts/test.sh also checks the manifests against the Kubernetes schemas.)
fn the_kubernetes_example_fits_the_server() {
    use serde::Deserialize;
    let root = env!("CARGO_MANIFEST_DIR");
    let mut docs = Vec::new();
    for file in ["config.yaml", "deployment.yaml", "redis.yaml"] {
        let text = std::fs::read_to_string(format!("{root}/examples/kubernetes/{file}")).unwrap();
        for doc in serde_norway::Deserializer::from_str(&text) {
            docs.push(serde_json::Value::deserialize(doc).expect("a YAML document"));
        }
    }
    let kind = |k: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == k && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{k} {name}"))
            .clone()
    };
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.yaml");
    let cm = kind("ConfigMap", "guarded-aws-mcp-policy");
    std::fs::write(&policy, cm["data"]["policy.yaml"].as_str().unwrap()).unwrap();
    let (code, out, err) = run(&["policy", "validate", "--strict", policy.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let deploy = kind("Deployment", "guarded-aws-mcp");
    assert_eq!(deploy["spec"]["replicas"], 3);
    let pod = &deploy["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args: Vec<&str> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(args[0], "serve");
    let (_, help, _) = run(&["serve", "--help"]);
    let mut drain = None;
    for a in &args[1..] {
        let flag = a.split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}=")),
            "serve has no {flag}"
        );
        if flag == "--drain-timeout" {
            drain = a
                .split('=')
                .nth(1)
                .and_then(|v| v.trim_end_matches('s').parse::<u64>().ok());
        }
    }
    let grace = pod["terminationGracePeriodSeconds"].as_u64().unwrap();
    // The drain, then at most 10 s for open connections to deliver their answers and 10 s to
    // ship the last audit records.
    assert!(
        grace > drain.expect("a drain timeout") + 10 + 10,
        "grace {grace} s"
    );
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let pdb = kind("PodDisruptionBudget", "guarded-aws-mcp");
    assert!(pdb["spec"]["minAvailable"].as_u64().unwrap() < 3);
    // Redis is where every replica's --state points.
    let state = args.iter().find(|a| a.starts_with("--state=")).unwrap();
    let redis = kind("Service", "guarded-aws-mcp-redis");
    assert!(state.contains(&format!(
        "redis://{}:{}",
        redis["metadata"]["name"].as_str().unwrap(),
        redis["spec"]["ports"][0]["port"]
    )));
}

/// With Redis, an HTTP session one replica issued is served by the other (it restores the
/// session from what the first saved), stays bound to its principal there, and a DELETE on
/// either ends it on both.
async fn any_replica_serves_any_session() {
    use crate::http::{ALICE, BOB, rpc, two_replicas};
    let redis = crate::support::Redis::start().await;
    let fake = crate::gate::fake_mq().await;
    let (a, b) = two_replicas(&redis, &fake, &[]).await;
    let (status, body, id) = rpc(&a.url, ALICE, None, crate::http::initialize()).await;
    assert_eq!(status, 200, "{body}");
    let id = id.expect("a session id");
    let (status, _, _) = rpc(
        &a.url,
        ALICE,
        Some(&id),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    assert!(status == 202 || status == 200, "{status}");
    // The other replica lists and calls in it.
    let (status, body, _) = rpc(
        &b.url,
        ALICE,
        Some(&id),
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("list_brokers"), "{body}");
    let (status, body, _) = rpc(
        &b.url,
        ALICE,
        Some(&id),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
               "params": {"name": "list_brokers", "arguments": {}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"result\""), "{body}");
    // Still alice's: bob's token with her session id is refused on either replica.
    for url in [&a.url, &b.url] {
        let (status, _, _) = rpc(
            url,
            BOB,
            Some(&id),
            json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
        )
        .await;
        assert_eq!(status, 403);
    }
    // Deleted on A: B answers 404 from then on.
    let r = reqwest::Client::new()
        .delete(&a.url)
        .header("authorization", format!("Bearer {ALICE}"))
        .header("mcp-session-id", &id)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let (status, body, _) = rpc(
        &b.url,
        ALICE,
        Some(&id),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/list"}),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    // Both replicas audited the call where it ran.
    assert_eq!(
        b.audit_records()
            .iter()
            .filter(|r| r["tool"] == "list_brokers")
            .count(),
        1
    );
    a.stop().await;
    b.stop().await;
}

/// A stdio server (a desktop client's child) on SIGTERM, which MCP clients send when the
/// server does not exit after stdin closes: the call running finishes and is answered, a new
/// call is refused as shutting down, and the audit log is closed with a signed checkpoint.
async fn a_stdio_server_drains_on_sigterm() {
    let (fake, describes) = crate::progress::slow_broker(3).await;
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("audit.key");
    let (code, out, err) = run(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let s = crate::support::Server::start(crate::support::Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        endpoint: Some(fake.url.clone()),
        args: [
            "--drain-timeout",
            "120s",
            "--audit-signing-key",
            key.to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec(),
        ..Default::default()
    })
    .await;
    let stderr = s.stderr.clone();
    let mut pid = None;
    eventually(Duration::from_secs(10), "the server logs its pid", || {
        pid = std::fs::read_to_string(&stderr).ok().and_then(|t| {
            let at = t.find(" pid=")? + 5;
            t[at..]
                .split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse::<i32>()
                .ok()
        });
        pid.is_some()
    })
    .await;
    let pid = pid.unwrap();
    let running = s.call("create_broker", crate::progress::create_args(600));
    let stop = async {
        eventually(Duration::from_secs(10), "the wait polls", || {
            describes.load(Ordering::SeqCst) >= 1
        })
        .await;
        // SAFETY: kill(2) on the server process this test started.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        // The signal is handled on the server's runtime: a call after it is refused.
        eventually_some(
            Duration::from_secs(4),
            "a call refused as shutting down",
            || async {
                let refused = text(&s.call("list_brokers", json!({})).await);
                if refused.starts_with("Shutting down:") {
                    Ok(refused)
                } else {
                    Err(refused)
                }
            },
        )
        .await
    };
    let (finished, refused) = tokio::join!(running, stop);
    assert!(
        refused.starts_with("Shutting down: this server is shutting down"),
        "{refused}"
    );
    assert!(finished.is_error != Some(true), "{}", text(&finished));
    assert!(text(&finished).contains("RUNNING"), "{}", text(&finished));
    let audit = s.audit.clone();
    eventually(
        Duration::from_secs(10),
        "the audit log is closed with a checkpoint",
        || {
            std::fs::read_to_string(&audit)
                .ok()
                .and_then(|t| t.lines().last().map(str::to_string))
                .is_some_and(|l| l.contains("\"status\":\"checkpoint\""))
        },
    )
    .await;
    let (code, out, err) = run(&[
        "audit",
        "verify",
        "--public-key",
        &format!("{}.pub", key.display()),
        audit.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("0 records after it"), "{out}");
    let stderr = std::fs::read_to_string(&stderr).unwrap_or_default();
    assert!(stderr.contains("draining"), "{stderr}");
}

/// Data lines of a server-sent event stream read so far, as JSON.
fn sse_messages(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// A 2025-era client's approval asked by elicitation on replica A and answered on replica B
/// (no stickiness): B cannot deliver the answer to the call waiting on A, so the call is
/// refused when its approval times out, clearly, and runs nothing; the same answer sent to A
/// afterwards runs nothing either. Never twice, never silently.
async fn an_elicitation_answered_on_another_replica_runs_nothing() {
    use crate::http::{ALICE, rpc};
    let redis = crate::support::Redis::start().await;
    let fake = crate::gate::fake_mq().await;
    let policy = "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: require_approval\n      reason: brokers cost money\n      approval_timeout: 3s\n";
    let start = || {
        HttpServer::start(HttpOptions {
            policy: policy.into(),
            tokens: crate::http::people(),
            endpoint: fake.url.clone(),
            state: Some(redis.url()),
            args: Vec::new(),
        })
    };
    let (a, b) = (start().await, start().await);
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}},
        "clientInfo": {"name": "raw", "version": "0"}}});
    let (status, body, session) = rpc(&a.url, ALICE, None, init).await;
    assert_eq!(status, 200, "{body}");
    let session = session.expect("a session id");
    let _ = rpc(
        &a.url,
        ALICE,
        Some(&session),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let mut call = reqwest::Client::new()
        .post(&a.url)
        .header("authorization", format!("Bearer {ALICE}"))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "create_broker", "arguments": crate::gate::create_args()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 200);
    let mut seen = String::new();
    let ask = loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), call.chunk())
            .await
            .expect("the elicitation request arrives")
            .unwrap()
            .expect("the stream stays open");
        seen.push_str(&String::from_utf8_lossy(&chunk));
        if let Some(m) = sse_messages(&seen)
            .into_iter()
            .find(|m| m["method"] == "elicitation/create")
        {
            break m;
        }
    };
    // The human accepts, and the answer goes to the other replica.
    let answer = json!({"jsonrpc": "2.0", "id": ask["id"],
        "result": {"action": "accept", "content": {"approve": true}}});
    let (status, body, _) = rpc(&b.url, ALICE, Some(&session), answer.clone()).await;
    assert!(status < 500, "B answered {status}: {body}");
    // The call on A ends refused at its approval timeout, and nothing was created.
    let result = loop {
        if let Some(m) = sse_messages(&seen).into_iter().find(|m| m["id"] == 7) {
            break m;
        }
        let chunk = tokio::time::timeout(Duration::from_secs(20), call.chunk())
            .await
            .expect("the call ends")
            .unwrap();
        match chunk {
            Some(c) => seen.push_str(&String::from_utf8_lossy(&c)),
            None => panic!("the stream ended without the call's result: {seen}"),
        }
    };
    assert_eq!(result["result"]["isError"], true, "{result}");
    let text = result["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("");
    assert!(
        text.contains("no answer within the approval timeout of 3s"),
        "{text}"
    );
    // The same answer on A, late: no call waits for it, nothing runs.
    let (status, body, _) = rpc(&a.url, ALICE, Some(&session), answer).await;
    assert!(status < 500, "A answered {status}: {body}");
    assert_eq!(crate::approvals::creates(&fake), 0, "nothing ran");
    let refused: Vec<_> = a
        .audit_records()
        .into_iter()
        .filter(|r| r["tool"] == "create_broker")
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
    a.stop().await;
    b.stop().await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "fleet::an_elicitation_answered_on_another_replica_runs_nothing",
            Needs::Redis,
            an_elicitation_answered_on_another_replica_runs_nothing,
        ),
        trial(
            "fleet::a_stdio_server_drains_on_sigterm",
            Needs::Nothing,
            a_stdio_server_drains_on_sigterm,
        ),
        trial(
            "fleet::sigterm_drains_and_the_audit_trail_proves_its_end",
            Needs::Nothing,
            sigterm_drains_and_the_audit_trail_proves_its_end,
        ),
        trial(
            "fleet::any_replica_serves_any_session",
            Needs::Redis,
            any_replica_serves_any_session,
        ),
        crate::support::trial_sync(
            "fleet::the_kubernetes_example_fits_the_server",
            Needs::Nothing,
            the_kubernetes_example_fits_the_server,
        ),
    ]
}
