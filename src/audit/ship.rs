//! Shipping the audit log off the host, at least once (`serve --audit-cloudwatch`). The local
//! file is the spool: a follower reads complete records from where shipping stands (across
//! rotated files), sends them in batches within PutLogEvents' limits, and after each accepted
//! batch persists the position (the last shipped record's number and hash, and the stream)
//! beside the log. After an outage it retries the same batch with backoff; after a restart it
//! resumes from the persisted position in the same stream. A record is never dropped from the
//! spool, and a record sent twice (an answer lost after CloudWatch stored the batch) is the same
//! line twice: recognisable by its stream (the replica) and `seq`.
//!
//! The sink is a trait so that the follower, the batching and the retries are tested in process
//! against a fake; [`super::cloudwatch`] is the real one.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus::{Gauge, IntCounter, IntGauge};
use serde::{Deserialize, Serialize};

use super::log::{Head, Written, first_seq, numbered_rotated_files};
use super::sha256_hex;
use crate::clock::Clock;

/// PutLogEvents: at most this many events in a batch.
pub const MAX_BATCH_EVENTS: usize = 10_000;
/// PutLogEvents: at most this many bytes in a batch, counting each event's message and 26 bytes.
pub const MAX_BATCH_BYTES: usize = 1_048_576;
/// What CloudWatch counts for each event besides its message.
pub const EVENT_OVERHEAD: usize = 26;
/// The largest event sent (CloudWatch's limit was 256 KiB per event; an audit record stores at
/// most 16 KiB of arguments, so a record this large is not one this server writes).
pub const MAX_EVENT_BYTES: usize = 262_144 - EVENT_OVERHEAD;
/// PutLogEvents: the events of a batch span at most 24 hours.
pub const MAX_BATCH_SPAN_MS: i64 = 24 * 3600 * 1000;

/// One record as a log event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Milliseconds since the Unix epoch (the record's `ts`; never before the event before it
    /// in the batch, as CloudWatch wants them in order).
    pub timestamp: i64,
    pub message: String,
}

/// What a sink answered for an accepted batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accepted {
    /// Events CloudWatch refused to store (too old for its retention, too new): counted and
    /// logged; they stay in the local file.
    pub rejected: u64,
}

/// Why a batch was not stored.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum SinkError {
    #[error("the log stream does not exist")]
    StreamMissing,
    #[error("the log group {0} does not exist (create it, or correct --audit-cloudwatch)")]
    GroupMissing(String),
    #[error("{0}")]
    Failed(String),
}

/// Where shipped records go.
#[async_trait::async_trait]
pub trait Sink: Send + Sync + 'static {
    /// Create the stream (an existing one is fine).
    async fn create_stream(&self, stream: &str) -> Result<(), SinkError>;
    /// Store events in order.
    async fn put(&self, stream: &str, events: &[Event]) -> Result<Accepted, SinkError>;
}

/// Where shipping stands, persisted beside the log after every accepted batch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    pub group: String,
    pub stream: String,
    /// The last record shipped (0: none yet).
    pub seq: u64,
    /// The SHA-256 of its line: the next record's `prev` must be it, or the spool was replaced.
    pub hash: String,
}

/// The position file of a log: `audit.cloudwatch.json` beside `audit.jsonl`.
pub fn position_path(active: &Path) -> PathBuf {
    let stem = active
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("audit");
    active.with_file_name(format!("{stem}.cloudwatch.json"))
}

impl Position {
    /// Nothing shipped yet, to a new stream of `group` named after `host` and now.
    fn start(group: &str, host: &str, clock: &Clock) -> Position {
        Position {
            group: group.to_string(),
            stream: stream_name(host, clock.wall().into()),
            seq: 0,
            hash: String::new(),
        }
    }

    /// The persisted position, if any (an unreadable file is reported and shipping starts over:
    /// duplicates, not losses).
    pub fn load(path: &Path) -> Option<Position> {
        let text = std::fs::read(path).ok()?;
        match serde_json::from_slice(&text) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "the audit shipping position cannot be read; shipping starts again from the oldest record");
                None
            }
        }
    }

    /// Write it (a new file renamed over the old, so a crash leaves one or the other).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, path)
    }
}

/// A complete record read from the spool.
#[derive(Debug, Clone)]
pub struct Line {
    pub seq: u64,
    pub prev: String,
    pub hash: String,
    pub timestamp: i64,
    pub text: String,
}

/// What reading the spool found that shipping cannot continue over.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error(
        "the audit log does not continue the shipped position (record {seq}'s successor does not chain to it): the log was replaced"
    )]
    Replaced { seq: u64 },
    #[error("the audit log cannot be read: {0}")]
    Io(#[from] std::io::Error),
}

/// A file's identity, to see that the active file was rotated away under the reader.
#[cfg(unix)]
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

#[cfg(not(unix))]
fn identity(m: &std::fs::Metadata) -> (u64, u64) {
    (0, m.len())
}

/// Reads complete records after a position, following the log across rotation.
pub struct SpoolReader {
    active: PathBuf,
    file: Option<(BufReader<File>, (u64, u64))>,
    /// A line read without its newline yet (being written).
    partial: Vec<u8>,
    /// The last record handed out (or skipped as shipped).
    seq: u64,
    /// The hash the next record's `prev` must be (checked once, after opening at a position).
    expect_prev: Option<String>,
}

impl SpoolReader {
    /// Positioned after record `seq` (0: at the oldest record there is); with `hash`, the next
    /// record must chain to it.
    pub fn open_after(active: &Path, seq: u64, hash: Option<&str>) -> SpoolReader {
        SpoolReader {
            active: active.to_path_buf(),
            file: None,
            partial: Vec::new(),
            seq,
            expect_prev: hash.filter(|_| seq > 0).map(str::to_string),
        }
    }

    /// The files of the log in order: rotated ones by their first record, then the active one.
    fn files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = numbered_rotated_files(&self.active)
            .into_iter()
            .map(|(_, p)| p)
            .collect();
        files.push(self.active.clone());
        files
    }

    /// The file to read after record `self.seq`: the last one whose first record is at most
    /// the next, or the oldest.
    fn choose(&self) -> PathBuf {
        let rotated = numbered_rotated_files(&self.active);
        let next = self.seq + 1;
        let active_first = first_seq(&self.active);
        if active_first > 0 && active_first <= next {
            return self.active.clone();
        }
        rotated
            .iter()
            .rev()
            .find(|(first, _)| *first <= next)
            .or(rotated.first())
            .map_or_else(|| self.active.clone(), |(_, p)| p.clone())
    }

    fn open(&mut self, path: &Path) -> std::io::Result<bool> {
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let id = identity(&file.metadata()?);
        self.file = Some((BufReader::new(file), id));
        self.partial.clear();
        Ok(true)
    }

    /// The file after the one being read, when the log moved on from it (rotated, or a rotated
    /// file read to its end).
    fn moved_on(&self) -> std::io::Result<Option<PathBuf>> {
        let Some((_, id)) = &self.file else {
            return Ok(Some(self.choose()));
        };
        match std::fs::metadata(&self.active) {
            Ok(m) if identity(&m) == *id => return Ok(None),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        }
        let files = self.files();
        let here = files.iter().position(|p| {
            std::fs::metadata(p)
                .map(|m| identity(&m) == *id)
                .unwrap_or(false)
        });
        Ok(Some(match here {
            Some(i) if i + 1 < files.len() => files[i + 1].clone(),
            _ => self.choose(),
        }))
    }

    /// Read one complete line from the open file, if there is one.
    fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let Some((reader, _)) = &mut self.file else {
            return Ok(None);
        };
        reader.read_until(b'\n', &mut self.partial)?;
        if self.partial.last() == Some(&b'\n') {
            let mut line = std::mem::take(&mut self.partial);
            line.pop();
            return Ok(Some(line));
        }
        Ok(None)
    }

    /// The next record not yet shipped, if one is written completely.
    pub fn next_line(&mut self) -> Result<Option<Line>, SpoolError> {
        loop {
            if self.file.is_none() {
                let path = self.choose();
                if !self.open(&path)? {
                    return Ok(None);
                }
            }
            let bytes = match self.read_line()? {
                Some(b) => b,
                None => {
                    let Some(next) = self.moved_on()? else {
                        return Ok(None);
                    };
                    // Records written to the old file before it was renamed.
                    if let Some(b) = self.read_line()? {
                        b
                    } else {
                        if !self.partial.is_empty() {
                            tracing::warn!(
                                bytes = self.partial.len(),
                                "an audit file ends with an incomplete record (a torn write); it is not shipped"
                            );
                        }
                        if !self.open(&next)? {
                            return Ok(None);
                        }
                        continue;
                    }
                }
            };
            let Some(line) = parse(bytes) else {
                tracing::warn!("a line of the audit log is not a record; it is not shipped");
                continue;
            };
            if line.seq != 0 && line.seq <= self.seq {
                continue;
            }
            if let Some(expect) = self.expect_prev.take()
                && line.seq == self.seq + 1
                && line.prev != expect
            {
                return Err(SpoolError::Replaced { seq: self.seq });
            }
            if line.seq > self.seq + 1 && self.seq > 0 {
                tracing::warn!(
                    from = self.seq + 1,
                    to = line.seq - 1,
                    "audit records are missing from the local log (removed before they were shipped)"
                );
            }
            self.seq = line.seq.max(self.seq);
            return Ok(Some(line));
        }
    }
}

fn parse(bytes: Vec<u8>) -> Option<Line> {
    let text = String::from_utf8(bytes).ok()?;
    let head: Head = serde_json::from_str(&text).ok()?;
    let timestamp = chrono::DateTime::parse_from_rfc3339(&head.ts)
        .map(|t| t.timestamp_millis())
        .unwrap_or_else(|_| chrono::Utc::now().timestamp_millis());
    Some(Line {
        seq: head.seq,
        prev: head.prev,
        hash: sha256_hex(text.as_bytes()),
        timestamp,
        text,
    })
}

/// A batch being filled, within PutLogEvents' limits.
#[derive(Debug, Default)]
pub struct Batch {
    pub lines: Vec<Line>,
    bytes: usize,
    /// The last record taken from the spool (sent, or skipped as too large): where the
    /// position moves once the batch is accepted.
    last: Option<(u64, String)>,
}

impl Batch {
    /// Whether `line` fits after what the batch holds.
    pub fn fits(&self, line: &Line) -> bool {
        let Some(first) = self.lines.first() else {
            return true;
        };
        self.lines.len() < MAX_BATCH_EVENTS
            && self.bytes + line.text.len() + EVENT_OVERHEAD <= MAX_BATCH_BYTES
            && line.timestamp - first.timestamp <= MAX_BATCH_SPAN_MS
    }

    pub fn push(&mut self, line: Line) {
        self.bytes += line.text.len() + EVENT_OVERHEAD;
        self.last = Some((line.seq, line.hash.clone()));
        self.lines.push(line);
    }

    /// Pass over a record that is not sent.
    fn skip(&mut self, line: &Line) {
        self.last = Some((line.seq, line.hash.clone()));
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The events, in order, each at or after the one before it.
    pub fn events(&self) -> Vec<Event> {
        let mut at = i64::MIN;
        self.lines
            .iter()
            .map(|l| {
                at = at.max(l.timestamp);
                Event {
                    timestamp: at,
                    message: l.text.clone(),
                }
            })
            .collect()
    }
}

/// How shipping goes: metrics, and what `/readyz` says.
#[derive(Debug)]
pub struct ShipStatus {
    pub shipped: IntCounter,
    pub failures: IntCounter,
    pub rejected: IntCounter,
    pub lag_records: IntGauge,
    pub lag_seconds: Gauge,
    /// Since when, and why, sending has failed (None while it works).
    failing: Mutex<Option<(std::time::Instant, String)>>,
    unready_after: Duration,
    clock: Clock,
}

impl ShipStatus {
    pub fn new(unready_after: Duration, clock: Clock) -> ShipStatus {
        let counter = |name: &str, help: &str| IntCounter::new(name, help).expect("valid metric");
        ShipStatus {
            shipped: counter(
                "guarded_audit_shipped_records_total",
                "Audit records CloudWatch Logs accepted.",
            ),
            failures: counter(
                "guarded_audit_ship_failures_total",
                "Audit batches CloudWatch Logs did not accept (each retry counts).",
            ),
            rejected: counter(
                "guarded_audit_ship_rejected_records_total",
                "Audit records CloudWatch Logs refused to store (too old or too new); they stay in the local file.",
            ),
            lag_records: IntGauge::new(
                "guarded_audit_ship_lag_records",
                "Audit records written and not yet shipped.",
            )
            .expect("valid metric"),
            lag_seconds: Gauge::new(
                "guarded_audit_ship_lag_seconds",
                "Age of the oldest audit record read from the file and not yet accepted (0 between batches).",
            )
            .expect("valid metric"),
            failing: Mutex::new(None),
            unready_after,
            clock,
        }
    }

    fn failed(&self, why: &str) {
        self.failures.inc();
        let mut f = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        match &mut *f {
            Some((_, last)) => *last = why.to_string(),
            None => *f = Some((self.clock.now(), why.to_string())),
        }
    }

    fn succeeded(&self) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// What `/readyz` reports: shipping has failed for longer than the threshold.
    pub fn problem(&self) -> Option<String> {
        let f = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        let (since, why) = f.as_ref()?;
        let failing_for = self.clock.since(*since);
        (failing_for >= self.unready_after).then(|| {
            format!(
                "audit shipping to CloudWatch Logs has failed for {}s ({} records waiting): {why}",
                failing_for.as_secs(),
                self.lag_records.get()
            )
        })
    }
}

/// How the shipper waits.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// After a record is written, wait this long for more before sending: batches at high
    /// rates, one event per batch at low ones.
    pub linger: Duration,
    /// The file is read this often even without a wake-up.
    pub poll: Duration,
    /// The first and the longest wait before a failed batch is sent again.
    pub backoff: (Duration, Duration),
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            linger: Duration::from_millis(200),
            poll: Duration::from_secs(1),
            backoff: (Duration::from_secs(1), Duration::from_secs(30)),
        }
    }
}

/// A log stream's name: the replica's host name and the time shipping of this spool began
/// (`guarded-7d9f-x2x.20261203T124500Z`); only characters CloudWatch allows, and no `/`, so
/// that `GROUP/STREAM` reads back unambiguously.
pub fn stream_name(host: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .take(200)
        .collect();
    let host = if host.is_empty() {
        "guarded-aws-mcp".to_string()
    } else {
        host
    };
    format!("{host}.{}", at.format("%Y%m%dT%H%M%SZ"))
}

/// This machine's host name: `HOSTNAME` (a Kubernetes pod's name), else the kernel's.
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.trim().is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_default()
}

/// Tells a running shipper to send what is left and stop.
#[derive(Debug, Default)]
struct Finish {
    asked: AtomicBool,
    notify: tokio::sync::Notify,
}

/// Follows the log and sends its records.
pub struct Shipper<S: Sink> {
    sink: S,
    host: String,
    position_path: PathBuf,
    position: Position,
    active: PathBuf,
    reader: SpoolReader,
    /// A record read that did not fit the last batch.
    carry: Option<Line>,
    stream_ready: bool,
    written: Arc<Written>,
    status: Arc<ShipStatus>,
    pace: Pace,
    finish: Arc<Finish>,
}

/// A shipper running on the runtime.
pub struct ShipperHandle {
    finish: Arc<Finish>,
    task: tokio::task::JoinHandle<()>,
    status: Arc<ShipStatus>,
}

impl ShipperHandle {
    /// Send what is written and stop, within `timeout`; whether everything was sent. What is
    /// not stays in the local file and is sent after the next start.
    pub async fn finish(self, timeout: Duration) -> bool {
        self.finish.asked.store(true, Ordering::Release);
        self.finish.notify.notify_one();
        let abort = self.task.abort_handle();
        match tokio::time::timeout(timeout, self.task).await {
            Ok(_) => true,
            Err(_) => {
                abort.abort();
                tracing::warn!(
                    waiting = self.status.lag_records.get(),
                    "audit records not shipped before exit; they stay in the local log and are shipped after the next start"
                );
                false
            }
        }
    }
}

impl<S: Sink> Shipper<S> {
    /// Ship the records of the log at `active` to `group`: from the position persisted beside
    /// it, in its stream, or from the oldest record in a new stream named after `host`.
    pub fn new(
        sink: S,
        active: &Path,
        group: &str,
        host: &str,
        written: Arc<Written>,
        status: Arc<ShipStatus>,
        pace: Pace,
    ) -> Shipper<S> {
        let position_path = position_path(active);
        let position = Position::load(&position_path)
            .filter(|p| p.group == group)
            .unwrap_or_else(|| Position::start(group, host, &status.clock));
        let reader = SpoolReader::open_after(active, position.seq, Some(&position.hash));
        Shipper {
            sink,
            host: host.to_string(),
            position_path,
            position,
            active: active.to_path_buf(),
            reader,
            carry: None,
            stream_ready: false,
            written,
            status,
            pace,
            finish: Default::default(),
        }
    }

    /// The stream records go to.
    pub fn stream(&self) -> &str {
        &self.position.stream
    }

    /// Create its stream now (the server does at start, so that a log group that does not
    /// exist stops it); the first batch then goes straight to PutLogEvents.
    pub async fn create_stream(&mut self) -> Result<(), SinkError> {
        self.sink.create_stream(&self.position.stream).await?;
        self.stream_ready = true;
        Ok(())
    }

    /// Run on the current runtime.
    pub fn spawn(self) -> ShipperHandle {
        let finish = self.finish.clone();
        let status = self.status.clone();
        ShipperHandle {
            finish,
            status,
            task: tokio::spawn(self.run()),
        }
    }

    /// Ship until asked to finish and nothing is left.
    pub async fn run(mut self) {
        tracing::info!(group = %self.position.group, stream = %self.position.stream, from = self.position.seq + 1, "shipping the audit log to CloudWatch Logs");
        loop {
            let mut batch = Batch::default();
            match self.fill(&mut batch) {
                Ok(()) => {}
                Err(SpoolError::Replaced { seq }) => {
                    tracing::error!(seq, stream = %self.position.stream, "the audit log was replaced under the shipper; its records go to a new stream from the oldest");
                    let mut fresh =
                        Position::start(&self.position.group, &self.host, &self.status.clock);
                    if fresh.stream == self.position.stream {
                        fresh.stream.push_str("-2");
                    }
                    self.position = fresh;
                    self.reader = SpoolReader::open_after(&self.active, 0, None);
                    self.carry = None;
                    self.stream_ready = false;
                    continue;
                }
                Err(e) => {
                    self.status.failed(&e.to_string());
                    tracing::error!(error = %e, "audit shipping cannot read the log");
                    tokio::time::sleep(self.pace.backoff.0).await;
                    continue;
                }
            }
            if batch.last.is_none() {
                self.update_lag(&batch);
                if self.finish.asked.load(Ordering::Acquire) {
                    return;
                }
                tokio::select! {
                    _ = self.written.changed() => {}
                    _ = self.finish.notify.notified() => {}
                    _ = tokio::time::sleep(self.pace.poll) => {}
                }
                if !self.finish.asked.load(Ordering::Acquire) {
                    tokio::time::sleep(self.pace.linger).await;
                }
                continue;
            }
            self.send(&batch).await;
        }
    }

    /// Take records from the spool until the batch is full or none is left.
    fn fill(&mut self, batch: &mut Batch) -> Result<(), SpoolError> {
        loop {
            let line = match self.carry.take() {
                Some(l) => l,
                None => match self.reader.next_line()? {
                    Some(l) => l,
                    None => return Ok(()),
                },
            };
            if line.text.len() > MAX_EVENT_BYTES {
                tracing::error!(
                    seq = line.seq,
                    bytes = line.text.len(),
                    "an audit record is larger than a CloudWatch event can be; it stays in the local log only"
                );
                self.status.rejected.inc();
                batch.skip(&line);
                continue;
            }
            if !batch.fits(&line) {
                self.carry = Some(line);
                return Ok(());
            }
            batch.push(line);
        }
    }

    /// Send a batch until it is accepted, then move the position past it.
    async fn send(&mut self, batch: &Batch) {
        let events = batch.events();
        let mut wait = self.pace.backoff.0;
        loop {
            self.update_lag(batch);
            let sent = if events.is_empty() {
                Ok(Accepted::default())
            } else {
                self.try_send(&events).await
            };
            match sent {
                Ok(accepted) => {
                    if accepted.rejected > 0 {
                        tracing::warn!(
                            rejected = accepted.rejected,
                            "CloudWatch Logs refused to store audit records (outside its time limits); they stay in the local log"
                        );
                    }
                    self.status.rejected.inc_by(accepted.rejected);
                    self.status
                        .shipped
                        .inc_by((events.len() as u64).saturating_sub(accepted.rejected));
                    self.status.succeeded();
                    if let Some((seq, hash)) = &batch.last {
                        self.position.seq = *seq;
                        self.position.hash = hash.clone();
                    }
                    if let Err(e) = self.position.save(&self.position_path) {
                        tracing::warn!(error = %e, file = %self.position_path.display(), "the audit shipping position cannot be saved; a restart would send some records again");
                    }
                    self.update_lag(&Batch::default());
                    return;
                }
                Err(e) => {
                    self.status.failed(&e.to_string());
                    tracing::warn!(error = %e, records = events.len(), retry_in = ?wait, "audit records could not be shipped; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(self.pace.backoff.1);
                }
            }
        }
    }

    async fn try_send(&mut self, events: &[Event]) -> Result<Accepted, SinkError> {
        let stream = self.position.stream.clone();
        if !self.stream_ready {
            self.sink.create_stream(&stream).await?;
            self.stream_ready = true;
        }
        match self.sink.put(&stream, events).await {
            Err(SinkError::StreamMissing) => {
                self.stream_ready = false;
                self.sink.create_stream(&stream).await?;
                self.stream_ready = true;
                self.sink.put(&stream, events).await
            }
            other => other,
        }
    }

    fn update_lag(&self, waiting: &Batch) {
        let lag = self.written.seq().saturating_sub(self.position.seq);
        self.status
            .lag_records
            .set(i64::try_from(lag).unwrap_or(i64::MAX));
        let age = waiting.lines.first().map_or(0.0, |l| {
            let now = chrono::DateTime::<chrono::Utc>::from(self.status.clock.wall());
            (now.timestamp_millis() - l.timestamp).max(0) as f64 / 1000.0
        });
        self.status.lag_seconds.set(age);
    }
}
