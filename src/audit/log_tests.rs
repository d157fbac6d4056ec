//! Rotation, restarts and signed checkpoints, written and verified.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::signing::{PublicKey, Signer, keygen};
use super::*;

fn record(i: usize) -> AuditRecord {
    AuditRecord::event(
        "s",
        format!("t{i}"),
        json!({"i": i}),
        "allow",
        Outcome::Ok,
        "h".into(),
    )
}

fn keys(dir: &Path) -> (PathBuf, PublicKey) {
    let key = dir.join("audit.key");
    let public = keygen(&key).unwrap();
    (key, PublicKey::load(&public).unwrap())
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Rewrite a file's records with a fresh chain from `prev`, as someone who can edit the file
/// and knows SHA-256 would: the hash chain alone cannot tell.
fn rechain(lines: &[String], mut prev: String, mut seq: u64) -> Vec<String> {
    lines
        .iter()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["prev"] = json!(prev);
            v["seq"] = json!(seq);
            seq += 1;
            let out = serde_json::to_string(&v).unwrap();
            prev = sha256_hex(out.as_bytes());
            out
        })
        .collect()
}

/// Keep the lines before `from` as they are; rechain the rest after them.
fn rechain_from(lines: &[String], from: usize) -> Vec<String> {
    let prev = if from == 0 {
        GENESIS.to_string()
    } else {
        sha256_hex(lines[from - 1].as_bytes())
    };
    let mut out = lines[..from].to_vec();
    out.extend(rechain(&lines[from..], prev, from as u64 + 1));
    out
}

#[test]
fn rotated_files_chain_into_each_other_and_a_restart_continues() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let options = || AuditOptions {
        rotate: Some(Rotate::Size(2048)),
        ..AuditOptions::default()
    };
    let log = AuditLog::open_with(&path, options()).unwrap();
    for i in 0..40 {
        log.write(record(i)).unwrap();
    }
    drop(log);
    let rotated = rotated_files(&path);
    assert!(rotated.len() >= 3, "{rotated:?}");
    let name = rotated[1]
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("audit.0000000000"), "{name}");
    // The rotated file is named after its first record's number.
    let first: Value = serde_json::from_str(&lines(&rotated[1])[0]).unwrap();
    assert!(name.contains(&format!("{:012}", first["seq"].as_u64().unwrap())));
    // A restart goes on from the active file (or the newest rotated one when it is empty).
    let log = AuditLog::open_with(&path, options()).unwrap();
    for i in 40..45 {
        log.write(record(i)).unwrap();
    }
    drop(log);
    let report = verify_files(&[dir.path().to_path_buf()], None).unwrap();
    assert_eq!(report.records, 45);
    assert_eq!(report.files, rotated_files(&path).len() + 1);
}

#[test]
fn a_missing_or_foreign_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_with(
        &path,
        AuditOptions {
            rotate: Some(Rotate::Size(1024)),
            ..AuditOptions::default()
        },
    )
    .unwrap();
    for i in 0..40 {
        log.write(record(i)).unwrap();
    }
    drop(log);
    let rotated = rotated_files(&path);
    let all = || vec![dir.path().to_path_buf()];
    // A file in the middle removed.
    let middle = rotated[1].clone();
    let kept = std::fs::read(&middle).unwrap();
    std::fs::remove_file(&middle).unwrap();
    let e = verify_files(&all(), None).unwrap_err();
    assert!(
        e.reason
            .contains("are missing (a file before this one is missing, or was cut short)"),
        "{e}"
    );
    std::fs::write(&middle, &kept).unwrap();
    // The first file removed.
    let first = std::fs::read(&rotated[0]).unwrap();
    std::fs::remove_file(&rotated[0]).unwrap();
    let e = verify_files(&all(), None).unwrap_err();
    assert!(
        e.reason
            .contains("the log does not start at its first file"),
        "{e}"
    );
    std::fs::write(&rotated[0], &first).unwrap();
    // A file replaced by another with the same numbers.
    let replaced = lines(&rotated[1]);
    let mut other: Vec<String> = replaced
        .iter()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["tool"] = json!("forged");
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    other[0] = {
        let mut v: Value = serde_json::from_str(&other[0]).unwrap();
        v["prev"] = json!("f".repeat(64));
        serde_json::to_string(&v).unwrap()
    };
    std::fs::write(&rotated[1], other.join("\n") + "\n").unwrap();
    let e = verify_files(&all(), None).unwrap_err();
    assert!(
        e.reason
            .contains("does not chain to the last record of the file before it"),
        "{e}"
    );
}

#[test]
fn signed_checkpoints_prove_the_chain_up_to_them() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keys(dir.path());
    let path = dir.path().join("audit.jsonl");
    let open = || {
        AuditLog::open_with(
            &path,
            AuditOptions {
                signer: Some(Signer::load(&key).unwrap()),
                checkpoint_every: 10,
                ..AuditOptions::default()
            },
        )
        .unwrap()
    };
    let log = open();
    for i in 0..25 {
        log.write(record(i)).unwrap();
    }
    let files = vec![path.clone()];
    let report = verify_files(&files, Some(&public)).unwrap();
    assert_eq!((report.records, report.checkpoints), (27, 2));
    assert_eq!(report.after_last_checkpoint, 5);
    // At shutdown, a last checkpoint covers everything.
    log.close().unwrap();
    drop(log);
    let report = verify_files(&files, Some(&public)).unwrap();
    assert_eq!((report.checkpoints, report.after_last_checkpoint), (3, 0));
    // A restart chains its checkpoints to the last one.
    let log = open();
    for i in 0..10 {
        log.write(record(i)).unwrap();
    }
    drop(log);
    let report = verify_files(&files, Some(&public)).unwrap();
    assert_eq!(report.checkpoints, 4);
    let original = lines(&path);

    // Records removed from the middle and the chain recomputed: the next checkpoint's head
    // and count no longer fit.
    let mut cut = original.clone();
    cut.remove(3);
    let forged = rechain_from(&cut, 3);
    std::fs::write(&path, forged.join("\n") + "\n").unwrap();
    assert!(verify_files(&files, None).is_err_and(|e| e.reason.contains("head or count")));
    let e = verify_files(&files, Some(&public)).unwrap_err();
    assert!(e.reason.contains("head or count is not the chain's"), "{e}");

    // A checkpoint removed (the chain recomputed): the next one does not follow it.
    let checkpoints: Vec<usize> = original
        .iter()
        .enumerate()
        .filter(|(_, l)| l.contains("\"status\":\"checkpoint\""))
        .map(|(i, _)| i)
        .collect();
    let mut without = original.clone();
    without.remove(checkpoints[0]);
    let mut forged = rechain_from(&without, checkpoints[0]);
    // The forger also makes the next checkpoint's head and count fit the shortened chain;
    // its link to the removed checkpoint (and its signature) cannot be made to fit.
    let next = checkpoints[1] - 1;
    let mut v: Value = serde_json::from_str(&forged[next]).unwrap();
    v["outcome"]["head"] = v["prev"].clone();
    v["outcome"]["count"] = json!(v["seq"].as_u64().unwrap() - 1);
    forged[next] = serde_json::to_string(&v).unwrap();
    let forged = rechain_from(&forged, next + 1);
    std::fs::write(&path, forged.join("\n") + "\n").unwrap();
    assert!(verify_files(&files, None).is_err_and(|e| {
        e.reason
            .contains("does not follow the checkpoint before it")
    }));
    let e = verify_files(&files, Some(&public)).unwrap_err();
    assert!(
        e.reason
            .contains("does not follow the checkpoint before it"),
        "{e}"
    );

    // An edited checkpoint: its signature fails.
    let mut edited = original.clone();
    let mut v: Value = serde_json::from_str(&edited[checkpoints[1]]).unwrap();
    v["ts"] = json!("2030-01-01T00:00:00.000000Z");
    edited[checkpoints[1]] = serde_json::to_string(&v).unwrap();
    let forged = rechain_from(&edited, checkpoints[1]);
    std::fs::write(&path, forged.join("\n") + "\n").unwrap();
    let e = verify_files(&files, Some(&public)).unwrap_err();
    assert!(e.reason.contains("signature does not verify"), "{e}");

    // Another key's public key does not verify them.
    std::fs::write(&path, original.join("\n") + "\n").unwrap();
    let other = dir.path().join("other.key");
    let stranger = PublicKey::load(&keygen(&other).unwrap()).unwrap();
    let e = verify_files(&files, Some(&stranger)).unwrap_err();
    assert!(e.reason.contains("not the key given"), "{e}");
}

#[test]
fn rotation_sizes_and_daily_parse() {
    assert_eq!("100M".parse::<Rotate>(), Ok(Rotate::Size(100 << 20)));
    assert_eq!("1GiB".parse::<Rotate>(), Ok(Rotate::Size(1 << 30)));
    assert_eq!("4096".parse::<Rotate>(), Ok(Rotate::Size(4096)));
    assert_eq!("daily".parse::<Rotate>(), Ok(Rotate::Daily));
    assert!("10".parse::<Rotate>().is_err());
    assert!("weekly".parse::<Rotate>().is_err());
}

/// A checkpoint is due when records were written and the interval has passed, by the log's
/// clock (stepped here): not before, and not again without new records.
#[test]
fn checkpoints_by_time_follow_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let (key, public) = keys(dir.path());
    let (clock, hand) = crate::clock::Clock::manual();
    let path = dir.path().join("audit.jsonl");
    let log = AuditLog::open_with(
        &path,
        AuditOptions {
            signer: Some(Signer::load(&key).unwrap()),
            checkpoint_every: 0,
            checkpoint_interval: Some(std::time::Duration::from_secs(60)),
            clock,
            ..AuditOptions::default()
        },
    )
    .unwrap();
    let checkpoints = || {
        lines(&path)
            .iter()
            .filter(|l| l.contains("\"status\":\"checkpoint\""))
            .count()
    };
    log.write(record(0)).unwrap();
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 0, "the interval has not passed");
    hand.advance(std::time::Duration::from_secs(59));
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 0);
    hand.advance(std::time::Duration::from_secs(1));
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 1, "due after 60 s");
    hand.advance(std::time::Duration::from_secs(600));
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 1, "no records since: no checkpoint");
    // A record long after the last checkpoint: due at the next look.
    log.write(record(1)).unwrap();
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 2);
    // The interval counts from that checkpoint.
    log.write(record(2)).unwrap();
    hand.advance(std::time::Duration::from_secs(30));
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 2);
    hand.advance(std::time::Duration::from_secs(30));
    log.checkpoint_if_due().unwrap();
    assert_eq!(checkpoints(), 3);
    let report = verify_files(std::slice::from_ref(&path), Some(&public)).unwrap();
    assert_eq!((report.checkpoints, report.after_last_checkpoint), (3, 0));
}
