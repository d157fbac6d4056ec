//! `guarded-aws-mcp audit verify`: the hash chain of one log file or of a rotated set (in
//! order of their first record's number, each file's first record chained to the previous
//! file's last), record numbers without gaps, and, with the public key, every checkpoint's
//! signature, head, count and link to the checkpoint before it.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::log::{Checkpoint, first_seq};
use super::signing::PublicKey;
use super::{GENESIS, sha256_hex};

/// Where and why an audit log's chain is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// The file, when several were read.
    pub file: Option<String>,
    /// 1-based record (line) number within the file.
    pub record: usize,
    pub reason: String,
}

impl std::fmt::Display for Broken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: record {} {}", self.record, self.reason),
            None => write!(f, "record {} {}", self.record, self.reason),
        }
    }
}

/// What a whole log holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub files: usize,
    pub records: u64,
    /// Checkpoints seen, and whether their signatures were checked.
    pub checkpoints: u64,
    pub signatures_checked: bool,
    /// The last checkpoint's record number and time.
    pub last_checkpoint: Option<(u64, String)>,
    /// Records after the last checkpoint: what could be removed from the end unnoticed.
    pub after_last_checkpoint: u64,
    /// Records read twice (a shipped stream: a batch sent again after its answer was lost),
    /// each copy identical.
    pub duplicates: u64,
}

/// Reads records in order and checks each against what came before.
struct Verifier<'k> {
    key: Option<&'k PublicKey>,
    prev: String,
    seq: u64,
    checkpoint: String,
    report: Report,
}

impl<'k> Verifier<'k> {
    fn new(key: Option<&'k PublicKey>) -> Self {
        Verifier {
            key,
            prev: GENESIS.to_string(),
            seq: 0,
            checkpoint: GENESIS.to_string(),
            report: Report {
                signatures_checked: key.is_some(),
                ..Report::default()
            },
        }
    }

    /// One file, after those before it.
    fn file(&mut self, mut reader: impl BufRead, name: Option<&str>) -> Result<(), Broken> {
        self.report.files += 1;
        let mut buf = Vec::new();
        let mut record = 0usize;
        let broken = |record: usize, reason: String| Broken {
            file: name.map(str::to_string),
            record,
            reason,
        };
        loop {
            buf.clear();
            record += 1;
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| broken(record, format!("cannot be read: {e}")))?;
            if n == 0 {
                return Ok(());
            }
            let Some(line) = buf.strip_suffix(b"\n") else {
                return Err(broken(
                    record,
                    "is incomplete (no newline at the end): a torn write or a truncated file"
                        .into(),
                ));
            };
            let v: Value = serde_json::from_slice(line).map_err(|e| {
                broken(
                    record,
                    format!("is not a JSON record ({e}): torn or edited"),
                )
            })?;
            self.record(&v, line, record == 1 && self.report.files > 1)
                .map_err(|reason| broken(record, reason))?;
        }
    }

    fn record(&mut self, v: &Value, line: &[u8], starts_file: bool) -> Result<(), String> {
        let claimed = v.get("prev").and_then(Value::as_str).unwrap_or("");
        let seq = v.get("seq").and_then(Value::as_u64).unwrap_or(0);
        // Numbered records say what is missing: a gap in the numbers.
        if seq > 0 && seq != self.seq + 1 && (self.seq > 0 || claimed != GENESIS) {
            return Err(if seq > self.seq + 1 {
                let what = if starts_file {
                    "a file before this one is missing, or was cut short"
                } else if self.seq == 0 {
                    "the log does not start at its first file (it was removed)"
                } else {
                    "they were removed"
                };
                format!(
                    "is number {seq}, but the record before it is {}: records {} to {} are missing ({what})",
                    self.seq,
                    self.seq + 1,
                    seq - 1
                )
            } else {
                format!(
                    "is number {seq}, not {}: records or files are repeated or out of order",
                    self.seq + 1
                )
            });
        }
        if claimed != self.prev {
            return Err(if self.report.records == 0 {
                "is not the first record of a log (its prev is not the genesis hash): records were removed before it".to_string()
            } else if starts_file {
                "does not chain to the last record of the file before it: a file was replaced, edited or reordered".to_string()
            } else {
                format!(
                    "does not follow record {}: record {} was changed, or records were removed, inserted or reordered between them",
                    self.report.records, self.report.records
                )
            });
        }
        let hash = sha256_hex(line);
        let outcome = v.get("outcome");
        if outcome
            .and_then(|o| o.get("status"))
            .and_then(Value::as_str)
            == Some("checkpoint")
        {
            self.checkpoint(v, seq, &hash)?;
        } else {
            self.report.after_last_checkpoint += 1;
        }
        self.prev = hash;
        self.seq = seq;
        self.report.records += 1;
        Ok(())
    }

    fn checkpoint(&mut self, v: &Value, seq: u64, hash: &str) -> Result<(), String> {
        let o = &v["outcome"];
        let field = |name: &str| o.get(name).and_then(Value::as_str).unwrap_or("");
        let ts = v.get("ts").and_then(Value::as_str).unwrap_or("");
        let count = o.get("count").and_then(Value::as_u64).unwrap_or(u64::MAX);
        if field("head") != self.prev || count != seq.saturating_sub(1) {
            return Err(
                "is a checkpoint whose head or count is not the chain's: it was edited or moved"
                    .into(),
            );
        }
        if field("previous") != self.checkpoint {
            return Err(
                "is a checkpoint that does not follow the checkpoint before it: a checkpoint was removed or edited"
                    .into(),
            );
        }
        if let Some(key) = self.key {
            if field("key") != key.id() {
                return Err(format!(
                    "is a checkpoint signed with key {}, not the key given ({})",
                    field("key"),
                    key.id()
                ));
            }
            let claim = Checkpoint {
                seq,
                ts,
                head: field("head"),
                count,
                previous: field("previous"),
            };
            if !key.verifies(&claim.message(), field("signature")) {
                return Err(
                    "is a checkpoint whose signature does not verify: it was edited or forged"
                        .into(),
                );
            }
        }
        self.checkpoint = hash.to_string();
        self.report.checkpoints += 1;
        self.report.last_checkpoint = Some((seq, ts.to_string()));
        self.report.after_last_checkpoint = 0;
        Ok(())
    }
}

/// Check one log's hash chain (and numbering); the number of records when it is whole.
pub fn verify(reader: impl BufRead) -> Result<usize, Broken> {
    let mut v = Verifier::new(None);
    v.file(reader, None)?;
    Ok(v.report.records as usize)
}

/// The files a path names: a file, or a folder's `*.jsonl` files.
fn files_of(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !path.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    for e in std::fs::read_dir(path)? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "jsonl") {
            out.push(p);
        }
    }
    Ok(out)
}

/// Check a log of one or more files (or folders of them), in the order of their first
/// record's number; with `key`, every checkpoint's signature too.
pub fn verify_files(paths: &[PathBuf], key: Option<&PublicKey>) -> Result<Report, Broken> {
    let mut files = Vec::new();
    for p in paths {
        files.extend(files_of(p).map_err(|e| Broken {
            file: Some(p.display().to_string()),
            record: 0,
            reason: format!("cannot be read: {e}"),
        })?);
    }
    let mut ordered: Vec<(u64, PathBuf)> = files.into_iter().map(|p| (first_seq(&p), p)).collect();
    // Empty files (an active file just rotated) come last; otherwise by first record.
    ordered.sort_by_key(|(seq, _)| if *seq == 0 { u64::MAX } else { *seq });
    let mut v = Verifier::new(key);
    for (_, path) in &ordered {
        let name = path.display().to_string();
        let f = std::fs::File::open(path).map_err(|e| Broken {
            file: Some(name.clone()),
            record: 0,
            reason: format!("cannot be read: {e}"),
        })?;
        v.file(std::io::BufReader::new(f), Some(&name))?;
    }
    Ok(v.report)
}

/// Check the records of a shipped stream (`audit verify --cloudwatch`): put in order by their
/// number (the chain then proves that order), an identical second copy of a record counted as a
/// duplicate and dropped, a different one reported as a break.
pub fn verify_stream(
    mut lines: Vec<String>,
    name: &str,
    key: Option<&PublicKey>,
) -> Result<Report, Broken> {
    let seq_of = |l: &str| {
        serde_json::from_str::<Value>(l)
            .ok()
            .and_then(|v| v.get("seq").and_then(Value::as_u64))
            .unwrap_or(0)
    };
    let mut numbered: Vec<(u64, String)> = lines.drain(..).map(|l| (seq_of(&l), l)).collect();
    numbered.sort_by_key(|(seq, _)| *seq);
    let mut text = Vec::new();
    let mut duplicates = 0;
    let mut last: Option<&(u64, String)> = None;
    for entry in &numbered {
        if let Some(before) = last
            && before.0 == entry.0
            && entry.0 > 0
        {
            if before.1 != entry.1 {
                return Err(Broken {
                    file: Some(name.to_string()),
                    record: usize::try_from(entry.0).unwrap_or(usize::MAX),
                    reason: format!(
                        "(number {}) is in the stream twice with different contents: one copy was edited",
                        entry.0
                    ),
                });
            }
            duplicates += 1;
            continue;
        }
        text.extend_from_slice(entry.1.as_bytes());
        text.push(b'\n');
        last = Some(entry);
    }
    let mut v = Verifier::new(key);
    v.file(std::io::Cursor::new(text), Some(name))?;
    v.report.duplicates = duplicates;
    Ok(v.report)
}
