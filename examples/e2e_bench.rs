//! End-to-end benchmark: the release binary over stdio against a local AWS fake, beside the
//! same AWS calls made directly with the AWS SDK in the same run (the floor).
//!
//! Run with `scripts/bench.sh` (builds the release binary, starts moto on 127.0.0.1, runs this).
//! Reports, for a refused call, `list_brokers`, `describe_broker` and IAM `list_users`: p50 / p99
//! latency over N calls, calls per second, the time from process start to the first
//! `tools/list` answer, and the server's peak RSS. The refused call is also measured against a
//! null server — this program started again as a minimal rmcp stdio server that answers every
//! `tools/call` at once — under the same client in the same run: the floor of any stdio MCP
//! server, so "added over the null server" is what this server's gate and handling cost.

use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, JsonObject};
use rmcp::transport::TokioChildProcess;
use serde_json::json;

/// The null server: every tools/call answered at once with a tool error, nothing listed.
#[derive(Clone)]
struct NullServer;

impl rmcp::ServerHandler for NullServer {
    fn get_info(&self) -> rmcp::model::ServerConfig {
        rmcp::model::ServerConfig::new(
            rmcp::model::ServerCapabilities::builder()
                .enable_tools()
                .build(),
        )
    }

    async fn call_tool(
        &self,
        _request: CallToolRequestParams,
        _context: rmcp::service::RequestContext<rmcp::RoleServer>,
    ) -> Result<rmcp::model::CallToolResponse, rmcp::ErrorData> {
        Ok(
            rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text("refused")])
                .into(),
        )
    }
}

/// Run as the null server (this program, started with `GUARDED_NULL_SERVER=1`).
async fn null_server() -> Result<(), Box<dyn std::error::Error>> {
    NullServer
        .serve(rmcp::transport::stdio())
        .await?
        .waiting()
        .await?;
    Ok(())
}

/// delete_broker is refused; list_broker_users reads the broker's tags (a DescribeBroker
/// lookup before each decision: the server runs with `--resource-cache-ttl 0s`).
const POLICY: &str = "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: deny\n      reason: benchmark refusal\n  list_broker_users:\n    - action: deny\n      reason: only the benchmark's broker\n      when: [{path: resource.tags.env, op: ne, value: bench}]\n";

struct Stats {
    p50: Duration,
    p99: Duration,
    per_sec: f64,
}

fn stats(mut samples: Vec<Duration>, wall: Duration) -> Stats {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
    Stats {
        p50: at(0.50),
        p99: at(0.99),
        per_sec: samples.len() as f64 / wall.as_secs_f64(),
    }
}

async fn time_n<F, Fut>(n: usize, mut f: F) -> Stats
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    // Warm up connections and caches first.
    for _ in 0..20 {
        f().await;
    }
    let mut samples = Vec::with_capacity(n);
    let wall = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        f().await;
        samples.push(t.elapsed());
    }
    stats(samples, wall.elapsed())
}

async fn paired<A, FA, B, FB>(n: usize, mut a: A, mut b: B) -> (Stats, Stats)
where
    A: FnMut() -> FA,
    FA: std::future::Future<Output = ()>,
    B: FnMut() -> FB,
    FB: std::future::Future<Output = ()>,
{
    for _ in 0..20 {
        a().await;
        b().await;
    }
    let (mut sa, mut sb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let (mut wa, mut wb) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..n {
        let t = Instant::now();
        a().await;
        let d = t.elapsed();
        sa.push(d);
        wa += d;
        let t = Instant::now();
        b().await;
        let d = t.elapsed();
        sb.push(d);
        wb += d;
    }
    (stats(sa, wa), stats(sb, wb))
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var_os("GUARDED_NULL_SERVER").is_some() {
        return null_server().await;
    }
    let endpoint = std::env::var("GUARDED_BENCH_ENDPOINT")
        .map_err(|_| "set GUARDED_BENCH_ENDPOINT (scripts/bench.sh does)")?;
    let bin = std::env::var("GUARDED_BENCH_BIN").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/release/guarded-aws-mcp"
        )
        .to_string()
    });
    let n: usize = std::env::var("GUARDED_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let policy = dir.path().join("bench.yaml");
    std::fs::write(&policy, POLICY)?;

    // The floor: the AWS SDK, directly.
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let mq = aws_sdk_mq::Client::new(&conf);
    let iam = aws_sdk_iam::Client::new(&conf);
    let broker = mq
        .create_broker()
        .broker_name(format!("bench-{}", std::process::id()))
        .engine_type(aws_sdk_mq::types::EngineType::Rabbitmq)
        .deployment_mode(aws_sdk_mq::types::DeploymentMode::SingleInstance)
        .host_instance_type("mq.t3.micro")
        .publicly_accessible(false)
        .auto_minor_version_upgrade(true)
        .tags("env", "bench")
        .users(
            aws_sdk_mq::types::User::builder()
                .username("admin")
                .password("Bench-password-1")
                .build(),
        )
        .send()
        .await?
        .broker_id
        .ok_or("no broker id")?;
    let _ = iam
        .create_user()
        .user_name(format!("bench-{}", std::process::id()))
        .send()
        .await;

    // The server: start to first tools/list.
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.arg("serve")
        .arg("--policy")
        .arg(&policy)
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .arg("--endpoint-url")
        .arg(&endpoint)
        .arg("--resource-cache-ttl")
        .arg("0s")
        .env("RUST_LOG", "warn");
    let transport = TokioChildProcess::new(cmd)?;
    let pid = transport.id().ok_or("no pid")?;
    let client = ().serve(transport).await?;
    let tools = client.list_all_tools().await?;
    let to_first_list = started.elapsed();

    let call = |name: &'static str, args: serde_json::Value| {
        let client = &client;
        let args: JsonObject = args.as_object().cloned().unwrap_or_default();
        async move {
            let r = client
                .call_tool(CallToolRequestParams::new(name).with_arguments(args))
                .await
                .expect("tools/call");
            std::hint::black_box(r);
        }
    };

    let refused = time_n(n, || call("delete_broker", json!({"BrokerId": broker}))).await;
    // The same refused call, each after 4 ms of idleness (as long as a moto call): the server
    // process has gone to sleep and must be woken, as it is between the paired calls below.
    let (refused_idle, _) = paired(
        n,
        || call("delete_broker", json!({"BrokerId": broker})),
        || async { tokio::time::sleep(Duration::from_millis(4)).await },
    )
    .await;
    // Each server call is paired with the same AWS call made directly, alternating, so drift in
    // the fake's speed affects both sides alike.
    let (list, list_floor) = paired(
        n,
        || call("list_brokers", json!({})),
        || async {
            std::hint::black_box(mq.list_brokers().send().await.expect("ListBrokers"));
        },
    )
    .await;
    let (describe, describe_floor) = paired(
        n,
        || call("describe_broker", json!({"BrokerId": broker})),
        || async {
            std::hint::black_box(
                mq.describe_broker()
                    .broker_id(&broker)
                    .send()
                    .await
                    .expect("DescribeBroker"),
            );
        },
    )
    .await;
    let (users, users_floor) = paired(
        n,
        || call("list_users", json!({})),
        || async {
            std::hint::black_box(iam.list_users().send().await.expect("ListUsers"));
        },
    )
    .await;
    // A call whose policy reads the broker's tags: one DescribeBroker lookup, then ListUsers.
    let (looked_up, looked_up_floor) = paired(
        n,
        || call("list_broker_users", json!({"BrokerId": broker})),
        || async {
            std::hint::black_box(
                mq.list_users()
                    .broker_id(&broker)
                    .send()
                    .await
                    .expect("ListUsers"),
            );
        },
    )
    .await;
    let rss = peak_rss_kib(pid);
    client.cancel().await?;

    // The floor of any stdio MCP server, under the same client: the null server.
    let mut null_cmd = tokio::process::Command::new(std::env::current_exe()?);
    null_cmd.env("GUARDED_NULL_SERVER", "1");
    let null_client = ().serve(TokioChildProcess::new(null_cmd)?).await?;
    let null_call = || {
        let client = &null_client;
        async move {
            let r = client
                .call_tool(
                    CallToolRequestParams::new("delete_broker").with_arguments(
                        json!({"BrokerId": "b-1"})
                            .as_object()
                            .cloned()
                            .unwrap_or_default(),
                    ),
                )
                .await
                .expect("tools/call");
            std::hint::black_box(r);
        }
    };
    let null_refused = time_n(n, null_call).await;
    let (null_idle, _) = paired(n, null_call, || async {
        tokio::time::sleep(Duration::from_millis(4)).await
    })
    .await;
    null_client.cancel().await?;

    println!(
        "guarded-aws-mcp end-to-end, {n} sequential calls per row, {} tools listed",
        tools.len()
    );
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>12} {:>12} {:>14}",
        "call", "p50", "p99", "calls/s", "floor p50", "floor p99", "added at p50"
    );
    println!(
        "(floor: the null stdio server for refused calls, the direct SDK call for the others)"
    );
    let row = |name: &str, s: &Stats, floor: Option<&Stats>| {
        let (fp50, fp99, added) = match floor {
            Some(f) => (us(f.p50), us(f.p99), us(s.p50.saturating_sub(f.p50))),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<22} {:>10} {:>10} {:>10.0} {:>12} {:>12} {:>14}",
            name,
            us(s.p50),
            us(s.p99),
            s.per_sec,
            fp50,
            fp99,
            added
        );
    };
    row("refused (policy)", &refused, Some(&null_refused));
    row("refused, after 4 ms idle", &refused_idle, Some(&null_idle));
    row("list_brokers", &list, Some(&list_floor));
    row("describe_broker", &describe, Some(&describe_floor));
    row("list_users (IAM)", &users, Some(&users_floor));
    row("broker users + lookup", &looked_up, Some(&looked_up_floor));
    println!(
        "one resource lookup (DescribeBroker before the decision) adds about {} at p50 \
         (broker users + lookup, less describe_broker's own overhead over its floor)",
        us((looked_up.p50.saturating_sub(looked_up_floor.p50))
            .saturating_sub(describe.p50.saturating_sub(describe_floor.p50)))
    );
    println!(
        "process start to first tools/list answer: {:.1} ms",
        to_first_list.as_secs_f64() * 1e3
    );
    match rss {
        Some(kib) => println!("server peak RSS: {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak RSS: unavailable (no /proc)"),
    }
    // Where the added time goes: the audit record's latency_us is the time inside the gate
    // (validation, decision, limits, the handler with its AWS call, result conversion); the
    // rest of a server call is the stdio JSON-RPC round trip.
    let audit = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap_or_default();
    println!("time inside the server's gate (audit latency_us), p50:");
    for (tool, server, floor) in [
        ("delete_broker", &refused, None),
        ("list_brokers", &list, Some(&list_floor)),
        ("describe_broker", &describe, Some(&describe_floor)),
        ("list_users", &users, Some(&users_floor)),
    ] {
        let mut inside: Vec<u64> = audit
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|r| r["tool"] == tool)
            .filter_map(|r| r["latency_us"].as_u64())
            .collect();
        inside.sort_unstable();
        let Some(p50) = inside.get(inside.len() / 2) else {
            continue;
        };
        let gate = Duration::from_micros(*p50);
        let beyond_sdk = floor
            .map(|f: &Stats| {
                format!(
                    ", {} more than the direct SDK call",
                    us(gate.saturating_sub(f.p50))
                )
            })
            .unwrap_or_default();
        println!(
            "  {tool:<16} {}{beyond_sdk}; stdio round trip and client {}",
            us(gate),
            us(server.p50.saturating_sub(gate))
        );
    }
    Ok(())
}
