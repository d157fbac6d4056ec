//! HTTP load benchmark: `serve --http` (the release binary) under 1, 16, 64 and 256 concurrent
//! clients on loopback, beside a null HTTP MCP server (this program started again as a minimal
//! server that answers every request at once) under the same clients in the same run: the floor
//! of any streamable-HTTP MCP server on this machine.
//!
//! Rows: a refused call (`delete_broker`, denied by the policy), an allowed call
//! (`list_brokers` against a fake Amazon MQ in this process that answers at once), and the
//! allowed call with a rate limit counted in Redis (`--state redis://…`; skipped when Redis does
//! not answer). Each client opens its own session (`initialize`) and calls in a loop for the
//! row's time. Then the server's memory: RSS before and after 1 000 idle sessions (bytes per
//! session), and RSS after they are closed against RSS before the load (a leak would not come
//! back).
//!
//! Run: `scripts/bench.sh http` (or `cargo run --release --example http_load`). Environment:
//! `GUARDED_LOAD_SECONDS` per row (default 3), `GUARDED_LOAD_CLIENTS` (default `1,16,64,256`),
//! `GUARDED_LOAD_REDIS` (default `redis://127.0.0.1:6379/15`), `GUARDED_BIN` (default
//! `target/release/guarded-aws-mcp`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const TOKEN: &str = "load-test-token-0123456789abcdef";
const POLICY: &str = "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: deny\n      reason: benchmark refusal\n";
const POLICY_REDIS: &str = "version: 1\ndefault: allow\ntools:\n  list_brokers:\n    - action: allow\n      limit: {max: 1000000000, window: 1h, per: principal}\n";

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    if std::env::var_os("GUARDED_NULL_HTTP").is_some() {
        return runtime.block_on(null_server());
    }
    runtime.block_on(run())
}

/// The null server: `initialize` answered with a session id, notifications accepted, every
/// other request answered at once with a tool error.
async fn null_server() -> Result<(), Error> {
    async fn answer(body: axum::body::Bytes) -> axum::response::Response {
        use axum::response::IntoResponse;
        let Ok(req) = serde_json::from_slice::<Value>(&body) else {
            return (axum::http::StatusCode::BAD_REQUEST, "bad json").into_response();
        };
        let Some(id) = req.get("id").cloned() else {
            return axum::http::StatusCode::ACCEPTED.into_response();
        };
        if req["method"] == "initialize" {
            let result = json!({"jsonrpc": "2.0", "id": id, "result": {
                "protocolVersion": "2025-11-25", "capabilities": {"tools": {}},
                "serverInfo": {"name": "null", "version": "0"}}});
            return (
                [
                    ("content-type", "application/json".to_string()),
                    ("mcp-session-id", uuid::Uuid::new_v4().to_string()),
                ],
                result.to_string(),
            )
                .into_response();
        }
        let result = json!({"jsonrpc": "2.0", "id": id, "result": {
            "content": [{"type": "text", "text": "refused"}], "isError": true}});
        ([("content-type", "application/json")], result.to_string()).into_response()
    }
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(answer).delete(|| async { axum::http::StatusCode::OK }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    eprintln!(
        "null server listening on http://{}/mcp",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// A fake Amazon MQ that answers ListBrokers at once.
async fn fake_mq() -> Result<String, Error> {
    let app = axum::Router::new().route(
        "/v1/brokers",
        axum::routing::get(|| async {
            (
                [("content-type", "application/json")],
                r#"{"brokerSummaries":[]}"#,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// A server process and the URL it listens on.
struct Child {
    child: tokio::process::Child,
    url: String,
}

impl Child {
    fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// Start `cmd`, reading its stderr for `listening on http://…/mcp`.
    async fn start(mut cmd: tokio::process::Command) -> Result<Child, Error> {
        use tokio::io::AsyncBufReadExt;
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn()?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let url = tokio::time::timeout(Duration::from_secs(20), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(i) = line.find("http://")
                    && line.contains("listening on")
                {
                    let url = line[i..].split_whitespace().next().unwrap_or_default();
                    return Some(url.to_string());
                }
            }
            None
        })
        .await?
        .ok_or("the server did not say where it listens")?;
        // Keep draining stderr so the server never blocks on it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Child { child, url })
    }
}

/// `serve --http` with a tokens file and a policy, in `dir`.
async fn guarded(
    dir: &std::path::Path,
    policy: &str,
    state: &str,
    endpoint: &str,
) -> Result<Child, Error> {
    let bin = std::env::var("GUARDED_BIN").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/release/guarded-aws-mcp"
        )
        .into()
    });
    let tokens = dir.join("tokens.json");
    std::fs::write(
        &tokens,
        json!({"tokens": [{"principal": "load", "roles": [],
            "sha256": guarded_aws_mcp::transport::tokens::hash(TOKEN)}]})
        .to_string(),
    )?;
    let policy_file = dir.join(format!("policy-{}.yaml", uuid::Uuid::new_v4().simple()));
    std::fs::write(&policy_file, policy)?;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(["serve", "--http", "127.0.0.1:0", "--state", state])
        .arg("--tokens")
        .arg(&tokens)
        // Every client is the one principal `load`, which opens thousands of sessions here.
        .args(["--http-max-sessions-per-principal", "1000000"])
        .arg("--policy")
        .arg(&policy_file)
        .arg("--audit-log")
        .arg(dir.join(format!("audit-{}.jsonl", uuid::Uuid::new_v4().simple())))
        .arg("--approvals-dir")
        .arg(dir.join("approvals"))
        .env("RUST_LOG", "warn")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT");
    Child::start(cmd).await
}

/// One MCP client: its own connection pool and session.
struct Client {
    http: reqwest::Client,
    url: String,
    session: String,
}

impl Client {
    async fn post(
        &self,
        session: Option<&str>,
        body: &Value,
    ) -> Result<(u16, String, Option<String>), Error> {
        let mut req = self
            .http
            .post(&self.url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .body(body.to_string());
        if let Some(s) = session {
            req = req.header("mcp-session-id", s);
        }
        let r = req.send().await?;
        let status = r.status().as_u16();
        let issued = r
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        Ok((status, r.text().await?, issued))
    }

    async fn open(url: &str) -> Result<Client, Error> {
        Client::open_with(url, 1).await
    }

    /// `keep`: connections kept open between requests (0: a session without a connection).
    async fn open_with(url: &str, keep: usize) -> Result<Client, Error> {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(keep)
            .build()?;
        let mut c = Client {
            http,
            url: url.to_string(),
            session: String::new(),
        };
        let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "load", "version": "0"}}});
        let (status, body, issued) = c.post(None, &init).await?;
        if status != 200 {
            return Err(format!("initialize: {status} {body}").into());
        }
        c.session = issued.ok_or("no session id issued")?;
        c.post(
            Some(&c.session),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await?;
        Ok(c)
    }

    async fn call(&self, id: u64, tool: &str, expect_error: bool) -> Result<(), Error> {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": if tool == "delete_broker" {
                json!({"BrokerId": "b-load"}) } else { json!({}) }}});
        let (status, text, _) = self.post(Some(&self.session), &body).await?;
        let is_error = text.contains("\"isError\":true");
        if status != 200 || !text.contains("\"result\"") || is_error != expect_error {
            return Err(format!("{tool}: {status} {text}").into());
        }
        Ok(())
    }

    async fn close(&self) -> bool {
        self.http
            .delete(&self.url)
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("mcp-session-id", &self.session)
            .header("mcp-protocol-version", "2025-11-25")
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
    }
}

/// One row's figures.
struct Row {
    calls: usize,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

/// `clients` sessions calling `tool` in a loop for `seconds`.
async fn load(
    url: &str,
    clients: usize,
    tool: &'static str,
    expect_error: bool,
    seconds: f64,
) -> Result<Row, Error> {
    let mut opened = Vec::with_capacity(clients);
    for _ in 0..clients {
        opened.push(Arc::new(Client::open(url).await?));
    }
    // Warm each connection once.
    for c in &opened {
        c.call(1, tool, expect_error).await?;
    }
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(seconds);
    let tasks: Vec<_> = opened
        .iter()
        .cloned()
        .map(|c| {
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut id = 2;
                while Instant::now() < until {
                    let t = Instant::now();
                    c.call(id, tool, expect_error).await?;
                    samples.push(t.elapsed());
                    id += 1;
                }
                Ok::<_, Error>(samples)
            })
        })
        .collect();
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await??);
    }
    let wall = start.elapsed();
    for c in &opened {
        c.close().await;
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    Ok(Row {
        calls: samples.len(),
        per_second: samples.len() as f64 / wall.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    })
}

fn rss_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// How many sockets a process has open.
fn sockets(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.flatten()
                .filter(|e| {
                    std::fs::read_link(e.path())
                        .is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
                })
                .count()
        })
        .unwrap_or(0)
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

async fn redis_answers(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(Ok(mut c)) = tokio::time::timeout(
        Duration::from_secs(2),
        client.get_multiplexed_async_connection(),
    )
    .await
    else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut c)
        .await
        .is_ok()
}

async fn run() -> Result<(), Error> {
    let seconds: f64 = std::env::var("GUARDED_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3.0);
    let counts: Vec<usize> = std::env::var("GUARDED_LOAD_CLIENTS")
        .unwrap_or_else(|_| "1,16,64,256".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let redis_url =
        std::env::var("GUARDED_LOAD_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/15".into());
    let dir = tempfile::tempdir()?;
    let fake = fake_mq().await?;

    let mut null_cmd = tokio::process::Command::new(std::env::current_exe()?);
    null_cmd.env("GUARDED_NULL_HTTP", "1");
    let null = Child::start(null_cmd).await?;
    let server = guarded(dir.path(), POLICY, "memory", &fake).await?;
    // Warm up, then the RSS the run starts from.
    load(&server.url, 4, "list_brokers", false, 0.5).await?;
    let rss_start = rss_kib(server.pid(), "VmRSS:");

    println!("| clients | call | server | calls | calls/s | p50 ms | p99 ms |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    let print = |clients: usize, what: &str, who: &str, r: &Row| {
        println!(
            "| {clients} | {what} | {who} | {} | {:.0} | {} | {} |",
            r.calls,
            r.per_second,
            ms(r.p50),
            ms(r.p99)
        );
    };
    for &n in &counts {
        let floor = load(&null.url, n, "delete_broker", true, seconds).await?;
        print(n, "any", "null server (floor)", &floor);
        let refused = load(&server.url, n, "delete_broker", true, seconds).await?;
        print(n, "refused", "guarded", &refused);
        let allowed = load(&server.url, n, "list_brokers", false, seconds).await?;
        print(n, "allowed (fake MQ)", "guarded", &allowed);
    }
    let peak_load = rss_kib(server.pid(), "VmHWM:");

    // 1 000 idle sessions (no connection held: the session's own state), twice: memory the
    // allocator keeps is reused by the second round, a leak would grow by as much again.
    // The load's sessions were just closed: let the server give their memory back first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_load = rss_kib(server.pid(), "VmRSS:");
    let before = after_load;
    let mut rounds = Vec::new();
    let count: usize = std::env::var("GUARDED_LOAD_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for _ in 0..count {
        let mut idle = Vec::with_capacity(1000);
        for _ in 0..1000 {
            idle.push(Client::open_with(&server.url, 0).await?);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let with_sessions = rss_kib(server.pid(), "VmRSS:");
        let mut closed = 0;
        for c in &idle {
            closed += usize::from(c.close().await);
        }
        drop(idle);
        tokio::time::sleep(Duration::from_secs(2)).await;
        rounds.push((with_sessions, closed, rss_kib(server.pid(), "VmRSS:")));
    }
    // Idle blocking threads retire after 10 s.
    tokio::time::sleep(Duration::from_secs(12)).await;
    let rss_end = rss_kib(server.pid(), "VmRSS:");
    let open_sockets = sockets(server.pid());

    // The Redis-counted limit, on a server of its own.
    let redis = if redis_answers(&redis_url).await {
        let s = guarded(dir.path(), POLICY_REDIS, &redis_url, &fake).await?;
        load(&s.url, 4, "list_brokers", false, 0.5).await?;
        let mut rows = Vec::new();
        for &n in &counts {
            rows.push((n, load(&s.url, n, "list_brokers", false, seconds).await?));
        }
        Some(rows)
    } else {
        None
    };
    match &redis {
        Some(rows) => {
            for (n, r) in rows {
                print(*n, "allowed, limit counted in Redis", "guarded", r);
            }
        }
        None => println!("\n(Redis at {redis_url} did not answer: no Redis rows)"),
    }
    println!();
    println!(
        "server RSS: {rss_start} KiB after warm-up, peak {peak_load} KiB under load, {after_load} KiB 3 s after the load's sessions closed"
    );
    for (i, (with_sessions, closed, after)) in rounds.iter().enumerate() {
        println!(
            "round {}: 1000 idle sessions: {before} KiB before, {with_sessions} KiB with them ({} bytes per session); {closed} closed with DELETE; {after} KiB after",
            i + 1,
            (with_sessions.saturating_sub(before) * 1024) / 1000
        );
    }
    println!(
        "12 s after the last session closed: {rss_end} KiB ({:+.1}% against {rss_start} KiB after warm-up), {open_sockets} sockets open",
        (rss_end as f64 - rss_start as f64) * 100.0 / rss_start.max(1) as f64
    );
    drop(null);
    drop(server);
    Ok(())
}
