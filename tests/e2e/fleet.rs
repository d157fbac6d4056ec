//! A replica in a fleet: it drains on SIGTERM (readiness off at once, new calls refused with a
//! retryable error, the call running finishes, exit 0), and its audit trail rotates with the
//! chain intact and ends with a signed checkpoint that `audit verify --public-key` proves.

use std::sync::atomic::Ordering;
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::json;

use crate::support::{BIN, HttpOptions, HttpServer, Needs, call_on, eventually, text, trial};

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
    let mut status = 0;
    for _ in 0..100 {
        status = reqwest::get(&ready)
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0);
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 503, "readiness is off while draining");
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

pub fn trials() -> Vec<Trial> {
    vec![trial(
        "fleet::sigterm_drains_and_the_audit_trail_proves_its_end",
        Needs::Nothing,
        sigterm_drains_and_the_audit_trail_proves_its_end,
    )]
}
