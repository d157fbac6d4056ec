//! Audit shipping to CloudWatch Logs (a local fake: moto or LocalStack): the lag while the log
//! is written at 1 000 records a second, and the throughput of a backlog, beside the floor of
//! the same batches sent with the SDK alone (PutLogEvents back to back, no spool, no position).
//!
//! Run: `cargo run --release --example audit_shipping` with moto on 127.0.0.1 and
//! `AWS_ENDPOINT_URL` pointing at it (static test credentials, `AWS_REGION`).
//! Environment: `GUARDED_RATE` (records a second, default 1000), `GUARDED_SECONDS` (default 10),
//! `GUARDED_BACKLOG` (default 50000).

use std::sync::Arc;
use std::time::{Duration, Instant};

use guarded_aws_mcp::audit::ship::{Batch, Pace, ShipStatus, Shipper, SpoolReader};
use guarded_aws_mcp::audit::{AuditLog, AuditRecord, Outcome};
use guarded_aws_mcp::clock::Clock;
use serde_json::json;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn record(i: u64) -> AuditRecord {
    AuditRecord::event(
        "bench-session",
        "describe_broker",
        json!({"BrokerId": format!("b-00000000-0000-0000-0000-{i:012}"), "region": "us-east-1"}),
        "allow",
        Outcome::Ok,
        "0".repeat(64),
    )
}

async fn group(client: &aws_sdk_cloudwatchlogs::Client) -> Result<String, Error> {
    let name = format!("/guarded/bench-{}", std::process::id());
    let _ = client.create_log_group().log_group_name(&name).send().await;
    Ok(name)
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let client = aws_sdk_cloudwatchlogs::Client::new(&config);
    let group = group(&client).await?;
    let rate = env("GUARDED_RATE", 1000);
    let seconds = env("GUARDED_SECONDS", 10);
    let backlog = env("GUARDED_BACKLOG", 50_000);

    // 1. Steady: records written at `rate` a second while the shipper follows the file.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&path)?);
    let status = Arc::new(ShipStatus::new(Duration::from_secs(300), Clock::system()));
    let sink = guarded_aws_mcp::audit::cloudwatch::CloudWatchSink::new(client.clone(), &group);
    let shipper = Shipper::new(
        sink.clone(),
        &path,
        &group,
        "bench-steady",
        log.written(),
        status.clone(),
        Pace::default(),
    )
    .spawn();
    let total = rate * seconds;
    // Each record's write time, and when the shipped count passed it (polled every 1 ms).
    let written_at: Arc<std::sync::Mutex<Vec<Instant>>> = Default::default();
    let watcher = {
        let status = status.clone();
        tokio::spawn(async move {
            let mut accepted_at = Vec::with_capacity(total as usize);
            while (accepted_at.len() as u64) < total {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let now = Instant::now();
                while (accepted_at.len() as u64) < status.shipped.get().min(total) {
                    accepted_at.push(now);
                }
            }
            accepted_at
        })
    };
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let per_tick = (rate / 100).max(1);
    let mut i = 0;
    let started = Instant::now();
    while i < total {
        tick.tick().await;
        for _ in 0..per_tick {
            log.write(record(i))?;
            written_at
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(Instant::now());
            i += 1;
        }
    }
    let wrote_in = started.elapsed();
    let accepted_at = watcher.await?;
    shipper.finish(Duration::from_secs(30)).await;
    let written_at = written_at.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut lags: Vec<f64> = written_at
        .iter()
        .zip(&accepted_at)
        .map(|(w, a)| a.saturating_duration_since(*w).as_secs_f64() * 1000.0)
        .collect();
    let last = lags.last().copied().unwrap_or(0.0);
    lags.sort_by(f64::total_cmp);
    // The floor: one event sent alone, PutLogEvents' round trip.
    let stream = "bench-single";
    use guarded_aws_mcp::audit::ship::Sink;
    sink.create_stream(stream).await?;
    let mut single = Vec::new();
    for i in 0..200 {
        let event = guarded_aws_mcp::audit::ship::Event {
            timestamp: chrono::Utc::now().timestamp_millis(),
            message: serde_json::to_string(&record(i))?,
        };
        let t = Instant::now();
        sink.put(stream, &[event]).await?;
        single.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    single.sort_by(f64::total_cmp);
    println!(
        "steady: {total} records at {rate}/s written in {:.1} s; shipped {} in {} failures; write to accepted: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; the last record {:.0} ms (linger {} ms); floor: one PutLogEvents of one event p50 {:.1} ms, p99 {:.1} ms",
        wrote_in.as_secs_f64(),
        status.shipped.get(),
        status.failures.get(),
        pct(&lags, 0.5),
        pct(&lags, 0.99),
        pct(&lags, 1.0),
        last,
        Pace::default().linger.as_millis(),
        pct(&single, 0.5),
        pct(&single, 0.99),
    );

    // 2. Backlog: `backlog` records written first, then shipped as fast as they go.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&path)?);
    for i in 0..backlog {
        log.write(record(i))?;
    }
    let status = Arc::new(ShipStatus::new(Duration::from_secs(300), Clock::system()));
    let started = Instant::now();
    let shipper = Shipper::new(
        sink.clone(),
        &path,
        &group,
        "bench-backlog",
        log.written(),
        status.clone(),
        Pace::default(),
    )
    .spawn();
    while status.shipped.get() < backlog && started.elapsed() < Duration::from_secs(300) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let shipped_in = started.elapsed();
    shipper.finish(Duration::from_secs(30)).await;
    println!(
        "backlog: {backlog} records shipped in {:.2} s: {:.0} records/s",
        shipped_in.as_secs_f64(),
        backlog as f64 / shipped_in.as_secs_f64()
    );

    // 3. Floor: the same records, in batches as large, PutLogEvents back to back.
    let mut reader = SpoolReader::open_after(&path, 0, None);
    let mut batches: Vec<Batch> = Vec::new();
    let mut batch = Batch::default();
    while let Some(line) = reader.next_line()? {
        if !batch.fits(&line) {
            batches.push(std::mem::take(&mut batch));
        }
        batch.push(line);
    }
    batches.push(batch);
    let stream = "bench-floor";
    sink.create_stream(stream).await?;
    let started = Instant::now();
    for b in &batches {
        sink.put(stream, &b.events()).await?;
    }
    let floor = started.elapsed();
    println!(
        "floor: the same {backlog} records in {} PutLogEvents calls: {:.2} s, {:.0} records/s",
        batches.len(),
        floor.as_secs_f64(),
        backlog as f64 / floor.as_secs_f64()
    );
    Ok(())
}
