//! The shipper against a fake sink: every record once and in order across rotation, an outage
//! (nothing lost, `/readyz` told after the threshold), a restart (same stream, from the
//! position), a replaced log (a new stream), a lost answer (an identical duplicate that
//! `verify_stream` recognises), and PutLogEvents' limits. Time is tokio's paused clock and a
//! manual [`Clock`]; nothing sleeps for real.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::ship::*;
use super::*;
use crate::clock::Clock;

fn record(i: usize) -> AuditRecord {
    AuditRecord::event(
        "s",
        format!("t{i}"),
        json!({"i": i, "pad": "x".repeat(100)}),
        "allow",
        Outcome::Ok,
        "h".into(),
    )
}

#[derive(Default)]
struct FakeState {
    streams: HashMap<String, Vec<Event>>,
    /// Answer every request with an error (the endpoint is down).
    down: bool,
    /// Store the next batch, then answer with an error (the answer was lost).
    lose_next_answer: bool,
    puts: usize,
}

#[derive(Clone, Default)]
struct FakeSink(Arc<Mutex<FakeState>>);

impl FakeSink {
    fn state(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.0.lock().unwrap()
    }

    /// The `seq` of every event of a stream, in order.
    fn seqs(&self, stream: &str) -> Vec<u64> {
        self.state()
            .streams
            .get(stream)
            .map(|evs| {
                evs.iter()
                    .map(|e| {
                        serde_json::from_str::<serde_json::Value>(&e.message).unwrap()["seq"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn messages(&self, stream: &str) -> Vec<String> {
        self.state().streams[stream]
            .iter()
            .map(|e| e.message.clone())
            .collect()
    }
}

#[async_trait::async_trait]
impl Sink for FakeSink {
    async fn create_stream(&self, stream: &str) -> Result<(), SinkError> {
        let mut s = self.state();
        if s.down {
            return Err(SinkError::Failed("connection refused".into()));
        }
        s.streams.entry(stream.to_string()).or_default();
        Ok(())
    }

    async fn put(&self, stream: &str, events: &[Event]) -> Result<Accepted, SinkError> {
        let mut s = self.state();
        if s.down {
            return Err(SinkError::Failed("connection refused".into()));
        }
        s.puts += 1;
        assert!(events.len() <= MAX_BATCH_EVENTS);
        assert!(events.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
        let Some(log) = s.streams.get_mut(stream) else {
            return Err(SinkError::StreamMissing);
        };
        log.extend(events.iter().cloned());
        if std::mem::take(&mut s.lose_next_answer) {
            return Err(SinkError::Failed("timed out".into()));
        }
        Ok(Accepted::default())
    }
}

fn all_seqs(log: &Path) -> Vec<u64> {
    let mut files = rotated_files(log);
    files.push(log.to_path_buf());
    files
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<serde_json::Value>(l).unwrap()["seq"]
                        .as_u64()
                        .unwrap()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn shipper(
    sink: &FakeSink,
    log: &AuditLog,
    path: &Path,
    clock: Clock,
) -> (Shipper<FakeSink>, Arc<ShipStatus>) {
    let status = Arc::new(ShipStatus::new(Duration::from_secs(60), clock));
    let s = Shipper::new(
        sink.clone(),
        path,
        "group",
        "host-1",
        log.written(),
        status.clone(),
        Pace::default(),
    );
    (s, status)
}

/// Wait (in paused time) until `cond` holds, up to ten minutes of it.
async fn until(mut cond: impl FnMut() -> bool) {
    for _ in 0..6000 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not reached in ten minutes of paused time");
}

#[tokio::test(start_paused = true)]
async fn every_record_once_and_in_order_across_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_with(
        &path,
        AuditOptions {
            rotate: Some(Rotate::Size(1024)),
            ..Default::default()
        },
    )
    .unwrap();
    let sink = FakeSink::default();
    for i in 0..20 {
        log.write(record(i)).unwrap();
    }
    let (s, status) = shipper(&sink, &log, &path, Clock::system());
    let stream = s.stream().to_string();
    assert!(stream.starts_with("host-1."), "{stream}");
    let handle = s.spawn();
    // More records, rotating under the running shipper.
    for i in 20..60 {
        log.write(record(i)).unwrap();
        if i % 7 == 0 {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
    assert!(rotated_files(&path).len() >= 5, "the log rotated");
    until(|| sink.seqs(&stream).len() >= 60).await;
    assert!(handle.finish(Duration::from_secs(10)).await);
    assert_eq!(sink.seqs(&stream), (1..=60).collect::<Vec<_>>());
    assert_eq!(all_seqs(&path), (1..=60).collect::<Vec<_>>());
    assert_eq!(status.shipped.get(), 60);
    assert_eq!(status.lag_records.get(), 0);
    let position = Position::load(&position_path(&path)).unwrap();
    assert_eq!(
        (position.seq, position.stream.as_str()),
        (60, stream.as_str())
    );
    // The stream is the chain.
    let report = verify_stream(sink.messages(&stream), "group/stream", None).unwrap();
    assert_eq!((report.records, report.duplicates), (60, 0));
}

#[tokio::test(start_paused = true)]
async fn an_outage_loses_nothing_and_readiness_says_so_after_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let sink = FakeSink::default();
    let (clock, hand) = Clock::manual();
    let (s, status) = shipper(&sink, &log, &path, clock);
    let stream = s.stream().to_string();
    let handle = s.spawn();
    log.write(record(0)).unwrap();
    until(|| sink.seqs(&stream).len() == 1).await;

    sink.state().down = true;
    for i in 1..10 {
        log.write(record(i)).unwrap();
    }
    until(|| status.failures.get() >= 3).await;
    assert_eq!(
        sink.seqs(&stream),
        vec![1],
        "nothing arrives while it is down"
    );
    assert_eq!(status.lag_records.get(), 9);
    assert_eq!(status.problem(), None, "not yet past the threshold");
    hand.advance(Duration::from_secs(61));
    let problem = status.problem().expect("readiness reports the outage");
    assert!(
        problem.contains("has failed for 61s (9 records waiting): connection refused"),
        "{problem}"
    );

    sink.state().down = false;
    until(|| sink.seqs(&stream).len() == 10).await;
    assert_eq!(sink.seqs(&stream), (1..=10).collect::<Vec<_>>());
    assert_eq!(status.problem(), None);
    assert!(handle.finish(Duration::from_secs(10)).await);
}

#[tokio::test(start_paused = true)]
async fn a_restart_resumes_in_the_same_stream_from_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = FakeSink::default();
    let stream = {
        let log = AuditLog::open(&path).unwrap();
        for i in 0..5 {
            log.write(record(i)).unwrap();
        }
        let (s, _) = shipper(&sink, &log, &path, Clock::system());
        let stream = s.stream().to_string();
        let handle = s.spawn();
        until(|| sink.seqs(&stream).len() == 5).await;
        // Down at exit: the last records stay in the spool.
        sink.state().down = true;
        for i in 5..8 {
            log.write(record(i)).unwrap();
        }
        assert!(!handle.finish(Duration::from_secs(5)).await);
        stream
    };
    sink.state().down = false;
    let log = AuditLog::open(&path).unwrap();
    for i in 8..10 {
        log.write(record(i)).unwrap();
    }
    let (s, _) = shipper(&sink, &log, &path, Clock::system());
    assert_eq!(s.stream(), stream, "the same stream goes on");
    let handle = s.spawn();
    until(|| sink.seqs(&stream).len() == 10).await;
    assert!(handle.finish(Duration::from_secs(10)).await);
    assert_eq!(sink.seqs(&stream), (1..=10).collect::<Vec<_>>());
    assert_eq!(sink.state().streams.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_replaced_log_goes_to_a_new_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let sink = FakeSink::default();
    let first = {
        let log = AuditLog::open(&path).unwrap();
        for i in 0..3 {
            log.write(record(i)).unwrap();
        }
        let (s, _) = shipper(&sink, &log, &path, Clock::system());
        let stream = s.stream().to_string();
        let handle = s.spawn();
        until(|| sink.seqs(&stream).len() == 3).await;
        assert!(handle.finish(Duration::from_secs(5)).await);
        stream
    };
    // A new log of five records where the old one was: record 4 does not chain to record 3.
    std::fs::remove_file(&path).unwrap();
    let log = AuditLog::open(&path).unwrap();
    for i in 0..5 {
        log.write(record(100 + i)).unwrap();
    }
    let (clock, hand) = Clock::manual();
    hand.advance(Duration::from_secs(3600));
    let (s, _) = shipper(&sink, &log, &path, clock);
    let handle = s.spawn();
    until(|| sink.state().streams.len() == 2).await;
    let second = sink
        .state()
        .streams
        .keys()
        .find(|k| **k != first)
        .unwrap()
        .clone();
    until(|| sink.seqs(&second).len() == 5).await;
    assert!(handle.finish(Duration::from_secs(5)).await);
    assert_eq!(sink.seqs(&first), vec![1, 2, 3]);
    assert_eq!(sink.seqs(&second), vec![1, 2, 3, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn a_lost_answer_makes_an_identical_duplicate_that_verify_recognises() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    let sink = FakeSink::default();
    let (s, status) = shipper(&sink, &log, &path, Clock::system());
    let stream = s.stream().to_string();
    sink.state().lose_next_answer = true;
    for i in 0..4 {
        log.write(record(i)).unwrap();
    }
    let handle = s.spawn();
    until(|| status.shipped.get() == 4).await;
    assert!(handle.finish(Duration::from_secs(5)).await);
    assert_eq!(sink.seqs(&stream), vec![1, 2, 3, 4, 1, 2, 3, 4]);
    let report = verify_stream(sink.messages(&stream), "g/s", None).unwrap();
    assert_eq!((report.records, report.duplicates), (4, 4));
    // A copy that differs is an edit, not a duplicate.
    let mut edited = sink.messages(&stream);
    edited[5] = edited[5].replace("\"t1\"", "\"tX\"");
    let broken = verify_stream(edited, "g/s", None).unwrap_err();
    assert!(
        broken.to_string().contains("twice with different contents"),
        "{broken}"
    );
    // A record missing from the stream is a gap.
    let mut gap = sink.messages(&stream)[..4].to_vec();
    gap.remove(2);
    let broken = verify_stream(gap, "g/s", None).unwrap_err();
    assert!(
        broken.to_string().contains("records 3 to 3 are missing"),
        "{broken}"
    );
}

#[test]
fn batches_keep_within_put_log_events_limits() {
    let line = |seq: u64, ts: i64, len: usize| Line {
        seq,
        prev: String::new(),
        hash: String::new(),
        timestamp: ts,
        text: "x".repeat(len),
    };
    // Events.
    let mut b = Batch::default();
    for i in 0..MAX_BATCH_EVENTS as u64 {
        assert!(b.fits(&line(i, 0, 10)));
        b.push(line(i, 0, 10));
    }
    assert!(!b.fits(&line(0, 0, 10)));
    // Bytes, with 26 per event.
    let mut b = Batch::default();
    let big = MAX_EVENT_BYTES;
    for i in 0..4 {
        b.push(line(i, 0, big));
    }
    assert_eq!(4 * (big + EVENT_OVERHEAD), MAX_BATCH_BYTES);
    assert!(!b.fits(&line(5, 0, 1)));
    // A day at most between the first and the last.
    let mut b = Batch::default();
    b.push(line(1, 1_000, 10));
    assert!(b.fits(&line(2, 1_000 + MAX_BATCH_SPAN_MS, 10)));
    assert!(!b.fits(&line(2, 1_001 + MAX_BATCH_SPAN_MS, 10)));
    // Timestamps never go back within a batch.
    b.push(line(2, 500, 10));
    let ts: Vec<i64> = b.events().iter().map(|e| e.timestamp).collect();
    assert_eq!(ts, vec![1_000, 1_000]);
}

#[test]
fn stream_names_are_safe_and_carry_the_start_time() {
    let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T12:45:00Z")
        .unwrap()
        .into();
    assert_eq!(stream_name("pod-7c9f", at), "pod-7c9f.20261203T124500Z");
    assert_eq!(stream_name("a/b:c*d", at), "a-b-c-d.20261203T124500Z");
    assert_eq!(stream_name("", at), "guarded-aws-mcp.20261203T124500Z");
}

#[test]
fn a_record_being_written_is_read_only_once_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open(&path).unwrap();
    log.write(record(0)).unwrap();
    let full = std::fs::read_to_string(&path).unwrap();
    let mut reader = SpoolReader::open_after(&path, 0, None);
    assert_eq!(reader.next_line().unwrap().unwrap().seq, 1);
    assert!(reader.next_line().unwrap().is_none());
    // Half of a second record (as another writer's torn append would look mid-write).
    let second = full.replace("\"seq\":1", "\"seq\":2");
    let (head, tail) = second.split_at(second.len() / 2);
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    f.write_all(head.as_bytes()).unwrap();
    assert!(
        reader.next_line().unwrap().is_none(),
        "not before its newline"
    );
    f.write_all(tail.as_bytes()).unwrap();
    assert_eq!(reader.next_line().unwrap().unwrap().seq, 2);
}
