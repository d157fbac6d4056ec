//! Sessions across replicas: two `serve --http` replicas (the release binary) sharing Redis.
//! For N sessions opened on replica A: the first request of each on replica B (which restores
//! the session from Redis) beside a request on A (which holds it): the floor. Then a replica's
//! RSS after 1 000 idle sessions with `--state memory` and with `--state redis://…`.
//!
//! Run: `cargo run --release --example session_resume` with Redis on 127.0.0.1:6379.
//! Environment: `GUARDED_LOAD_REDIS` (default `redis://127.0.0.1:6379/15`), `GUARDED_BIN`
//! (default `target/release/guarded-aws-mcp`), `GUARDED_SESSIONS` (default 200).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "resume-bench-token-0123456789abcdef";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Replica {
    child: tokio::process::Child,
    url: String,
    _dir: tempfile::TempDir,
}

async fn start(state: &str) -> Result<Replica, Error> {
    let bin = std::env::var("GUARDED_BIN").unwrap_or("target/release/guarded-aws-mcp".into());
    let dir = tempfile::tempdir()?;
    let tokens = dir.path().join("tokens.yaml");
    let hash = guarded_aws_mcp::transport::tokens::hash(TOKEN);
    std::fs::write(
        &tokens,
        json!({"tokens": [{"principal": "bench", "roles": [], "sha256": hash}]}).to_string(),
    )?;
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, "version: 1\ndefault: allow\n")?;
    let stderr = dir.path().join("stderr.log");
    let child = tokio::process::Command::new(bin)
        .args(["serve", "--http", "127.0.0.1:0", "--state", state])
        .args(["--http-max-sessions-per-principal", "5000"])
        .arg("--tokens")
        .arg(&tokens)
        .arg("--policy")
        .arg(&policy)
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .arg("--approvals-dir")
        .arg(dir.path().join("approvals"))
        .env("RUST_LOG", "warn")
        .env("AWS_REGION", "us-east-1")
        .stderr(std::fs::File::create(&stderr)?)
        .kill_on_drop(true)
        .spawn()?;
    for _ in 0..200 {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        if let Some(rest) = log.split("listening on ").nth(1) {
            let url = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            return Ok(Replica {
                child,
                url,
                _dir: dir,
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("the server did not start".into())
}

async fn post(
    http: &reqwest::Client,
    url: &str,
    session: Option<&str>,
    body: Value,
) -> Result<Option<String>, Error> {
    let mut req = http
        .post(url)
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-11-25")
        .body(body.to_string());
    if let Some(id) = session {
        req = req.header("mcp-session-id", id);
    }
    let r = req.send().await?;
    if !r.status().is_success() {
        return Err(format!("{}: {}", r.status(), r.text().await?).into());
    }
    let id = r
        .headers()
        .get("mcp-session-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    r.bytes().await?;
    Ok(id)
}

async fn open(http: &reqwest::Client, url: &str) -> Result<String, Error> {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench", "version": "0"}}});
    let id = post(http, url, None, init).await?.ok_or("no session id")?;
    post(
        http,
        url,
        Some(&id),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await?;
    Ok(id)
}

fn list() -> Value {
    json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn p50_p99(mut v: Vec<Duration>) -> (f64, f64) {
    v.sort();
    let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize].as_secs_f64() * 1e3;
    (at(0.5), at(0.99))
}

async fn run() -> Result<(), Error> {
    let redis = std::env::var("GUARDED_LOAD_REDIS").unwrap_or("redis://127.0.0.1:6379/15".into());
    let n: usize = std::env::var("GUARDED_SESSIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let http = reqwest::Client::new();
    let (a, b) = (start(&redis).await?, start(&redis).await?);
    let (mut local, mut resumed, mut warm) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let id = open(&http, &a.url).await?;
        let t = Instant::now();
        post(&http, &a.url, Some(&id), list()).await?;
        local.push(t.elapsed());
        let t = Instant::now();
        post(&http, &b.url, Some(&id), list()).await?;
        resumed.push(t.elapsed());
        let t = Instant::now();
        post(&http, &b.url, Some(&id), list()).await?;
        warm.push(t.elapsed());
    }
    let (l50, l99) = p50_p99(local);
    let (r50, r99) = p50_p99(resumed);
    let (w50, w99) = p50_p99(warm);
    println!("tools/list over {n} sessions, p50 / p99 ms:");
    println!("  on the replica that issued the session (floor): {l50:.2} / {l99:.2}");
    println!("  first request on the other replica (restored from Redis): {r50:.2} / {r99:.2}");
    println!("  next request there: {w50:.2} / {w99:.2}");
    drop((a, b));
    for state in ["memory", redis.as_str()] {
        let r = start(state).await?;
        let pid = r.child.id().ok_or("pid")?;
        open(&http, &r.url).await?;
        let before = rss_kib(pid);
        for _ in 0..1000 {
            open(&http, &r.url).await?;
        }
        let after = rss_kib(pid);
        println!(
            "RSS with --state {}: {before} KiB, then {after} KiB with 1 000 more idle sessions ({} bytes per session)",
            if state == "memory" { "memory" } else { "redis" },
            (after.saturating_sub(before)) * 1024 / 1000
        );
    }
    Ok(())
}

fn main() -> Result<(), Error> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}
