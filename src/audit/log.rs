//! Writing the audit log: one chained line per record, numbered (`seq`), in one write under
//! one lock. Optionally rotated (the active file renamed after its first record's number and
//! time; the next file's first record chains to the previous file's last), and optionally
//! checkpointed: every N records, every T seconds and at shutdown, a record signed with the
//! operator's Ed25519 key holds the chain head, the record count and the previous checkpoint's
//! hash, so that removing records from the end is detectable up to the last checkpoint.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::signing::Signer;
use super::{AuditRecord, GENESIS, Outcome, sha256_hex};

/// When the active file is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotate {
    /// When it holds at least this many bytes.
    Size(u64),
    /// When a record of another (UTC) day than its first record's is written.
    Daily,
}

impl std::str::FromStr for Rotate {
    type Err = String;

    /// `daily`, or a size: bytes, or a number with K, M or G (powers of 1024; `100M`).
    fn from_str(text: &str) -> Result<Rotate, String> {
        if text == "daily" {
            return Ok(Rotate::Daily);
        }
        let t = text.trim_end_matches(['B', 'b']).trim_end_matches('i');
        let (num, mult) = match t.char_indices().last() {
            Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
            Some((i, 'M' | 'm')) => (&t[..i], 1 << 20),
            Some((i, 'G' | 'g')) => (&t[..i], 1 << 30),
            _ => (t, 1),
        };
        num.parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
            .filter(|n| *n >= 1024)
            .map(Rotate::Size)
            .ok_or_else(|| {
                format!("`{text}`: rotate `daily` or at a size of at least 1K (`100M`, `1G`)")
            })
    }
}

/// How the log is kept.
#[derive(Debug, Default)]
pub struct AuditOptions {
    pub rotate: Option<Rotate>,
    /// Signs checkpoints; none: no checkpoints.
    pub signer: Option<Signer>,
    /// A checkpoint after this many records (0: only by time and at shutdown).
    pub checkpoint_every: u64,
    /// A checkpoint when records were written and this long has passed since the last.
    pub checkpoint_interval: Option<Duration>,
    /// What the checkpoint interval is read from.
    pub clock: crate::clock::Clock,
}

/// Where records go.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    file: Option<Mutex<Chain>>,
    /// The last write failed (`/readyz` reports it until a write succeeds).
    failing: std::sync::atomic::AtomicBool,
    options: AuditOptions,
    written: Arc<Written>,
    /// Shipping to CloudWatch Logs, when on: `/readyz` reads how it goes.
    shipping: std::sync::OnceLock<Arc<super::ship::ShipStatus>>,
}

/// How far the log is written: the last record's number, and a wake-up for whoever follows
/// the file (the shipper).
#[derive(Debug, Default)]
pub struct Written {
    seq: AtomicU64,
    notify: tokio::sync::Notify,
}

impl Written {
    /// The number of the last record written (0 before the first).
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Resolves after the next record is written (or at once when one was written since the
    /// last wait ended).
    pub async fn changed(&self) {
        self.notify.notified().await;
    }
}

/// The open file and where the chain stands.
#[derive(Debug)]
struct Chain {
    file: File,
    /// The hash of the last record's line (GENESIS before the first).
    last: String,
    /// The last record's number (0 before the first).
    seq: u64,
    /// Bytes in the active file.
    bytes: u64,
    /// The active file's first record: its number and time (RFC 3339).
    first: Option<(u64, String)>,
    /// The hash of the last checkpoint's line (GENESIS before the first).
    checkpoint: String,
    /// Records written since the last checkpoint, and when it was written.
    since_checkpoint: u64,
    checkpoint_at: Instant,
}

/// What reading a log file found.
#[derive(Debug, Default)]
struct Scan {
    first: Option<(u64, String)>,
    last: Option<(String, u64)>,
    checkpoint: Option<String>,
    since_checkpoint: u64,
}

/// Read a log file through: its first record, last record, last checkpoint.
fn scan(path: &Path) -> std::io::Result<Scan> {
    let mut scan = Scan::default();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(scan),
        Err(e) => return Err(e),
    };
    // A device (`/dev/null`, `/dev/full`) holds no records to continue from.
    if !file.metadata()?.is_file() {
        return Ok(scan);
    }
    let mut reader = BufReader::new(file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            return Ok(scan);
        }
        let Some(line) = buf.strip_suffix(b"\n") else {
            return Err(std::io::Error::other(format!(
                "the audit log {} ends with an incomplete record; run `guarded-aws-mcp audit verify` on it and move it aside",
                path.display()
            )));
        };
        let head: Head = serde_json::from_slice(line).unwrap_or_default();
        if scan.first.is_none() {
            scan.first = Some((head.seq, head.ts.clone()));
        }
        let hash = sha256_hex(line);
        if head.outcome.is_some_and(|o| o.status == "checkpoint") {
            scan.checkpoint = Some(hash.clone());
            scan.since_checkpoint = 0;
        } else {
            scan.since_checkpoint += 1;
        }
        scan.last = Some((hash, head.seq));
    }
}

/// The fields of a line that the writer, the verifier and the shipper read back.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct Head {
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub ts: String,
    #[serde(default)]
    pub prev: String,
    #[serde(default)]
    outcome: Option<Status>,
}

/// The number of a file's first record (0 when it has none, or is unnumbered).
pub(super) fn first_seq(path: &Path) -> u64 {
    let Ok(f) = File::open(path) else {
        return 0;
    };
    let mut line = String::new();
    let _ = BufReader::new(f).read_line(&mut line);
    serde_json::from_str::<Head>(&line).map_or(0, |h| h.seq)
}

#[derive(Debug, Default, serde::Deserialize)]
struct Status {
    #[serde(default)]
    status: String,
}

/// The rotated files of a log (`audit.000000000123.20261203T101500Z.jsonl` beside
/// `audit.jsonl`), oldest first.
pub fn rotated_files(active: &Path) -> Vec<PathBuf> {
    numbered_rotated_files(active)
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// The rotated files of a log with the number of their first record (from their names),
/// oldest first.
pub fn numbered_rotated_files(active: &Path) -> Vec<(u64, PathBuf)> {
    let (Some(dir), Some(stem)) = (
        active.parent().map(|d| {
            if d.as_os_str().is_empty() {
                Path::new(".")
            } else {
                d
            }
        }),
        active.file_stem().and_then(|s| s.to_str()),
    ) else {
        return Vec::new();
    };
    let prefix = format!("{stem}.");
    let mut found: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let rest = name.strip_prefix(&prefix)?.strip_suffix(".jsonl")?;
            let seq = rest.split('.').next()?.parse::<u64>().ok()?;
            Some((seq, e.path()))
        })
        .collect();
    found.sort();
    found
}

impl AuditLog {
    /// Append to `path`, creating it and its folder.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        AuditLog::open_with(path, AuditOptions::default())
    }

    /// Append to `path`, rotated and checkpointed as `options` say. The chain continues from
    /// the active file's last record, or, when it is empty, from the newest rotated file's.
    pub fn open_with(path: &Path, options: AuditOptions) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_active(path)?;
        let bytes = file.metadata()?.len();
        let mut found = scan(path)?;
        if found.last.is_none()
            && let Some(newest) = rotated_files(path).last()
        {
            let before = scan(newest)?;
            found = Scan {
                first: None,
                ..before
            };
        }
        let (last, seq) = found.last.unwrap_or_else(|| (GENESIS.to_string(), 0));
        let written = Arc::new(Written::default());
        written.seq.store(seq, Ordering::Release);
        Ok(AuditLog {
            path: Some(path.to_path_buf()),
            file: Some(Mutex::new(Chain {
                file,
                last,
                seq,
                bytes,
                first: found.first,
                checkpoint: found.checkpoint.unwrap_or_else(|| GENESIS.to_string()),
                since_checkpoint: found.since_checkpoint,
                checkpoint_at: options.clock.now(),
            })),
            failing: Default::default(),
            options,
            written,
            shipping: Default::default(),
        })
    }

    /// A log that writes nothing (benchmarks, `policy explain`).
    pub fn disabled() -> Self {
        AuditLog {
            path: None,
            file: None,
            failing: Default::default(),
            options: AuditOptions::default(),
            written: Default::default(),
            shipping: Default::default(),
        }
    }

    /// How far the log is written, for a follower of the file.
    pub fn written(&self) -> Arc<Written> {
        self.written.clone()
    }

    /// Report how shipping goes in `/readyz` (`serve --audit-cloudwatch`).
    pub fn set_shipping(&self, status: Arc<super::ship::ShipStatus>) {
        let _ = self.shipping.set(status);
    }

    /// What is wrong with shipping, when it has failed for longer than its threshold.
    pub fn shipping_problem(&self) -> Option<String> {
        self.shipping.get().and_then(|s| s.problem())
    }

    /// False while the last write failed.
    pub fn writable(&self) -> bool {
        !self.failing.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The default file: `$XDG_STATE_HOME/guarded-aws-mcp/audit.jsonl` (or the platform's
    /// state or data folder).
    pub fn default_path() -> Option<PathBuf> {
        dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .map(|d| d.join("guarded-aws-mcp").join("audit.jsonl"))
    }

    /// Write one record as one line, in one write, so concurrent records never interleave.
    /// Numbered and chained to the previous record under the same lock. An error means the
    /// record is not in the log: the gate then refuses to run the call (see
    /// [`Outcome::Started`]).
    pub fn write(&self, record: AuditRecord) -> std::io::Result<()> {
        let Some(chain) = &self.file else {
            return Ok(());
        };
        let mut chain = chain.lock().unwrap_or_else(|e| e.into_inner());
        if self.rotation_due(&chain, &record.ts)
            && let Err(e) = self.rotate(&mut chain)
        {
            // The record still goes to the active file: a failed rename loses nothing.
            tracing::error!(error = %e, "the audit log could not be rotated");
        }
        let written = self.append(&mut chain, record);
        self.failing
            .store(written.is_err(), std::sync::atomic::Ordering::Relaxed);
        written?;
        if self.options.signer.is_some()
            && self.options.checkpoint_every > 0
            && chain.since_checkpoint >= self.options.checkpoint_every
            && let Err(e) = self.checkpoint(&mut chain)
        {
            tracing::error!(error = %e, "an audit checkpoint could not be written");
        }
        Ok(())
    }

    /// Write a checkpoint when records were written since the last one and the checkpoint
    /// interval has passed (the server asks every few seconds).
    pub fn checkpoint_if_due(&self) -> std::io::Result<()> {
        let (Some(chain), Some(interval)) = (&self.file, self.options.checkpoint_interval) else {
            return Ok(());
        };
        let mut chain = chain.lock().unwrap_or_else(|e| e.into_inner());
        if chain.since_checkpoint > 0 && self.options.clock.since(chain.checkpoint_at) >= interval {
            self.checkpoint(&mut chain)?;
        }
        Ok(())
    }

    /// At shutdown: a last checkpoint over every record written, and the file synced.
    pub fn close(&self) -> std::io::Result<()> {
        let Some(chain) = &self.file else {
            return Ok(());
        };
        let mut chain = chain.lock().unwrap_or_else(|e| e.into_inner());
        if chain.since_checkpoint > 0 {
            self.checkpoint(&mut chain)?;
        }
        chain.file.sync_all()
    }

    fn append(&self, chain: &mut Chain, mut record: AuditRecord) -> std::io::Result<()> {
        record.prev = chain.last.clone();
        record.seq = chain.seq + 1;
        let mut line = serde_json::to_vec(&record).map_err(|e| {
            tracing::error!(error = %e, "audit record could not be serialised");
            std::io::Error::other(e)
        })?;
        let hash = sha256_hex(&line);
        line.push(b'\n');
        if let Err(e) = chain.file.write_all(&line) {
            tracing::error!(error = %e, "audit record could not be written");
            return Err(e);
        }
        chain.last = hash.clone();
        chain.seq = record.seq;
        self.written.seq.store(record.seq, Ordering::Release);
        self.written.notify.notify_one();
        chain.bytes += line.len() as u64;
        chain.first.get_or_insert((record.seq, record.ts.clone()));
        if matches!(record.outcome, Outcome::Checkpoint { .. }) {
            chain.checkpoint = hash;
            chain.since_checkpoint = 0;
            chain.checkpoint_at = self.options.clock.now();
        } else {
            chain.since_checkpoint += 1;
        }
        Ok(())
    }

    fn checkpoint(&self, chain: &mut Chain) -> std::io::Result<()> {
        let Some(signer) = &self.options.signer else {
            return Ok(());
        };
        let mut record = AuditRecord::event(
            "server",
            "audit_checkpoint",
            serde_json::json!({}),
            "none",
            Outcome::Started,
            String::new(),
        );
        let claim = Checkpoint {
            seq: chain.seq + 1,
            ts: &record.ts,
            head: &chain.last,
            count: chain.seq,
            previous: &chain.checkpoint,
        };
        record.outcome = Outcome::Checkpoint {
            count: chain.seq,
            head: chain.last.clone(),
            previous: chain.checkpoint.clone(),
            key: signer.id().to_string(),
            signature: signer.sign(&claim.message()),
        };
        self.append(chain, record)
    }

    fn rotation_due(&self, chain: &Chain, ts: &str) -> bool {
        let Some((_, first_ts)) = &chain.first else {
            return false;
        };
        match self.options.rotate {
            None => false,
            Some(Rotate::Size(limit)) => chain.bytes >= limit,
            Some(Rotate::Daily) => first_ts.get(..10) != ts.get(..10),
        }
    }

    /// Close the active file with a checkpoint (when signing), rename it after its first
    /// record, and start a new one; the chain goes on.
    fn rotate(&self, chain: &mut Chain) -> std::io::Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        if chain.since_checkpoint > 0 {
            self.checkpoint(chain)?;
        }
        chain.file.sync_all()?;
        let Some((first_seq, first_ts)) = chain.first.clone() else {
            return Ok(());
        };
        let stamp: String = first_ts
            .chars()
            .take(19)
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("audit");
        let rotated = path.with_file_name(format!("{stem}.{first_seq:012}.{stamp}Z.jsonl"));
        std::fs::rename(path, &rotated)?;
        chain.file = open_active(path)?;
        chain.bytes = 0;
        chain.first = None;
        tracing::info!(rotated = %rotated.display(), "audit log rotated");
        Ok(())
    }
}

fn open_active(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).append(true).read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// What a checkpoint's signature covers.
pub(crate) struct Checkpoint<'a> {
    /// The checkpoint record's own number.
    pub seq: u64,
    pub ts: &'a str,
    /// The hash of the record before it (its `prev`).
    pub head: &'a str,
    /// Records before it.
    pub count: u64,
    /// The hash of the previous checkpoint's line (GENESIS for the first).
    pub previous: &'a str,
}

impl Checkpoint<'_> {
    pub fn message(&self) -> Vec<u8> {
        format!(
            "guarded-aws-mcp audit checkpoint v1\n{}\n{}\n{}\n{}\n{}\n",
            self.seq, self.ts, self.head, self.count, self.previous
        )
        .into_bytes()
    }
}
