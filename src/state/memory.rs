//! The embedded store: counters and nonces in this process; approvals as files in a
//! directory, so that `guarded-aws-mcp approvals` run by an operator in another terminal sees
//! and decides them.
//!
//! Per approval `ID`: `ID.json` (the request, written once), then at most one of `ID.approved`
//! or `ID.denied` (created exclusively, so approve and deny cannot both win), and `ID.used`
//! (the approved file renamed: a rename succeeds for one caller only).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::approval::{self, Approval, Status};
use crate::clock::Clock;
use crate::limits::Limiter;

pub struct MemoryStore {
    limiter: Limiter,
    history: super::MemoryHistory,
    dir: PathBuf,
    nonces: Mutex<HashMap<String, Instant>>,
    seal_key: Vec<u8>,
    /// HTTP sessions per principal, each until it goes idle.
    sessions: Mutex<HashMap<String, HashMap<String, Instant>>>,
    clock: Clock,
}

/// The content of `ID.approved` / `ID.denied`.
#[derive(Serialize, Deserialize)]
struct Verdict {
    by: String,
    at: i64,
    /// Approved (true) or denied. One verdict file per approval, created exclusively, so an
    /// approval and a denial can never both succeed.
    approve: bool,
}

impl MemoryStore {
    pub fn new(dir: PathBuf) -> Self {
        MemoryStore {
            limiter: Limiter::new(),
            history: Default::default(),
            dir,
            nonces: Mutex::default(),
            seal_key: super::random_key(),
            sessions: Mutex::default(),
            clock: Clock::system(),
        }
    }

    /// Count windows, idle sessions, nonces and approval expiry by this clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn history(&self) -> &super::MemoryHistory {
        &self.history
    }

    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    pub fn seal_key(&self) -> &[u8] {
        &self.seal_key
    }

    fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Dir {
            dir: self.dir.display().to_string(),
            detail: e.to_string(),
        }
    }

    fn path(&self, id: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{id}.{ext}"))
    }

    pub fn create_approval(&self, a: &Approval) -> Result<(), StoreError> {
        // Only the user that runs the server (and its operator) reads approvals.
        let mut dir = fs::DirBuilder::new();
        dir.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            dir.mode(0o700);
        }
        dir.create(&self.dir).map_err(|e| self.err(e))?;
        let tmp = self.path(&a.id, "tmp");
        let body = serde_json::to_vec_pretty(a).map_err(|e| self.err(e))?;
        let mut f = private_file(&tmp).map_err(|e| self.err(e))?;
        f.write_all(&body).map_err(|e| self.err(e))?;
        f.sync_all().map_err(|e| self.err(e))?;
        fs::rename(&tmp, self.path(&a.id, "json")).map_err(|e| self.err(e))
    }

    pub fn get_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        if !approval::valid_id(id) {
            return Ok(None);
        }
        let body = match fs::read(self.path(id, "json")) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.err(e)),
        };
        let mut a: Approval = serde_json::from_slice(&body).map_err(|e| self.err(e))?;
        let verdict = |ext: &str| -> Option<Verdict> {
            fs::read(self.path(id, ext))
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
        };
        let (status, v) = if let Some(v) = verdict("used") {
            (Status::Used, Some(v))
        } else if let Some(v) = verdict("verdict") {
            let status = if v.approve {
                Status::Approved
            } else {
                Status::Denied
            };
            (status, Some(v))
        } else {
            (Status::Pending, None)
        };
        a.status = status;
        if let Some(v) = v {
            a.decided_by = Some(v.by);
            a.decided_at = Some(v.at);
        }
        Ok(Some(a))
    }

    pub fn list_approvals(&self) -> Result<Vec<Approval>, StoreError> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.err(e)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Some(a) = self.get_approval(id)? {
                out.push(a);
            }
        }
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        Ok(out)
    }

    pub fn find_approval(&self, key: &str) -> Result<Option<Approval>, StoreError> {
        let now = self.clock.unix();
        Ok(self
            .list_approvals()?
            .into_iter()
            .find(|a| a.key == key && a.is_live(now)))
    }

    pub fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<Approval, StoreError> {
        super::pending(self.get_approval(id)?, id, self.clock.unix())?;
        let verdict = serde_json::to_vec(&Verdict {
            by: by.into(),
            at: self.clock.unix(),
            approve,
        })
        .map_err(|e| self.err(e))?;
        // One exclusive create decides: whichever of approve and deny comes first wins.
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        match options.open(self.path(id, "verdict")) {
            Ok(mut f) => f.write_all(&verdict).map_err(|e| self.err(e))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let status = match self.get_approval(id)?.map(|a| a.status) {
                    Some(Status::Denied) => "denied",
                    Some(Status::Used) => "used",
                    _ => "approved",
                };
                return Err(StoreError::NotPending {
                    id: id.into(),
                    status,
                });
            }
            Err(e) => return Err(self.err(e)),
        }
        self.get_approval(id)?
            .ok_or_else(|| StoreError::NotFound(id.into()))
    }

    pub fn consume_approval(&self, id: &str) -> Result<bool, StoreError> {
        if !approval::valid_id(id) {
            return Ok(false);
        }
        let approved = fs::read(self.path(id, "verdict"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Verdict>(&b).ok())
            .is_some_and(|v| v.approve);
        if !approved {
            return Ok(false);
        }
        // The rename is atomic: of two racing calls, one uses the approval.
        match fs::rename(self.path(id, "verdict"), self.path(id, "used")) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    /// Count `member` as one of `principal`'s sessions until `idle` from now, unless it has
    /// `max` already; whether it was admitted.
    pub fn open_session(&self, principal: &str, member: &str, max: usize, idle: Duration) -> bool {
        let now = self.clock.now();
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        all.retain(|_, held| {
            held.retain(|_, until| *until > now);
            !held.is_empty()
        });
        let held = all.entry(principal.to_string()).or_default();
        if held.len() >= max {
            return false;
        }
        held.insert(member.to_string(), now + idle);
        true
    }

    /// Replace `from` (a reservation) by `to` (the session id), or refresh `to` when `from` is
    /// None; remove `from` alone when `to` is None.
    pub fn move_session(
        &self,
        principal: &str,
        from: Option<&str>,
        to: Option<&str>,
        idle: Duration,
    ) {
        let mut all = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        let Some(held) = all.get_mut(principal) else {
            return;
        };
        if let Some(f) = from {
            held.remove(f);
        }
        if let Some(t) = to
            && (from.is_some() || held.contains_key(t))
        {
            held.insert(t.to_string(), self.clock.now() + idle);
        }
    }

    pub fn use_nonce(&self, nonce: &str, ttl: Duration) -> bool {
        let now = self.clock.now();
        let mut nonces = self.nonces.lock().unwrap_or_else(|e| e.into_inner());
        nonces.retain(|_, until| *until > now);
        if nonces.contains_key(nonce) {
            return false;
        }
        nonces.insert(nonce.to_string(), now + ttl);
        true
    }
}

/// A new file only its owner can read.
fn private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn approval(key: &str, expires_in: i64) -> Approval {
        approval_at(key, approval::now(), expires_in)
    }

    fn approval_at(key: &str, now: i64, expires_in: i64) -> Approval {
        Approval {
            id: approval::new_id(),
            key: key.into(),
            tool: "create_broker".into(),
            args: json!({"broker_name": "x"}),
            rule: "tools.create_broker[0]".into(),
            reason: "costs money".into(),
            principal: "p".into(),
            session: "s".into(),
            created_at: now,
            expires_at: now + expires_in,
            status: Status::Pending,
            decided_by: None,
            decided_at: None,
        }
    }

    /// Approvals expire, nonces and idle sessions are released, by the store's clock: the test
    /// steps it instead of sleeping.
    #[test]
    fn expiry_follows_the_store_clock() {
        let dir = tempfile::tempdir().unwrap();
        let (clock, hand) = crate::clock::Clock::manual();
        let store = MemoryStore::new(dir.path().join("a")).with_clock(clock.clone());
        let a = approval_at("k", clock.unix(), 60);
        store.create_approval(&a).unwrap();
        assert!(store.find_approval("k").unwrap().is_some());
        hand.advance(Duration::from_secs(61));
        assert!(store.find_approval("k").unwrap().is_none(), "expired");
        assert!(matches!(
            store.decide_approval(&a.id, true, "op"),
            Err(StoreError::NotPending { .. })
        ));

        assert!(store.use_nonce("n", Duration::from_secs(30)));
        assert!(!store.use_nonce("n", Duration::from_secs(30)), "used once");
        hand.advance(Duration::from_secs(31));
        assert!(
            store.use_nonce("n", Duration::from_secs(30)),
            "forgotten after its ttl"
        );

        let idle = Duration::from_secs(600);
        assert!(store.open_session("alice", "s1", 1, idle));
        assert!(!store.open_session("alice", "s2", 1, idle), "at the cap");
        hand.advance(idle);
        assert!(store.open_session("alice", "s2", 1, idle), "s1 went idle");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(16))]
        /// An approval is never spent twice, however many identical calls race for it.
        #[test]
        fn an_approval_is_spent_once(racers in 1usize..8) {
            let dir = tempfile::tempdir().unwrap();
            let store = std::sync::Arc::new(MemoryStore::new(dir.path().join("a")));
            let a = approval("k", 60);
            store.create_approval(&a).unwrap();
            store.decide_approval(&a.id, true, "op").unwrap();
            let spent = (0..racers)
                .map(|_| {
                    let store = store.clone();
                    let id = a.id.clone();
                    std::thread::spawn(move || store.consume_approval(&id).unwrap())
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|used| *used)
                .count();
            proptest::prop_assert_eq!(spent, 1);
            proptest::prop_assert!(!store.consume_approval(&a.id).unwrap());
        }
    }

    #[test]
    fn approve_and_deny_race_has_one_winner() {
        // Issue 11 (12): approve and deny of one approval could both succeed.
        for _ in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let store = std::sync::Arc::new(MemoryStore::new(dir.path().join("a")));
            let a = approval("k", 60);
            store.create_approval(&a).unwrap();
            let threads: Vec<_> = [true, false]
                .into_iter()
                .map(|approve| {
                    let store = store.clone();
                    let id = a.id.clone();
                    std::thread::spawn(move || store.decide_approval(&id, approve, "op").is_ok())
                })
                .collect();
            let wins = threads
                .into_iter()
                .map(|t| t.join().unwrap())
                .filter(|w| *w)
                .count();
            assert_eq!(wins, 1);
        }
    }

    #[test]
    fn approve_once_consume_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new(dir.path().join("a"));
        let a = approval("k", 60);
        store.create_approval(&a).unwrap();
        assert_eq!(store.find_approval("k").unwrap().unwrap().id, a.id);
        assert!(
            !store.consume_approval(&a.id).unwrap(),
            "pending is not usable"
        );
        let decided = store.decide_approval(&a.id, true, "alice").unwrap();
        assert_eq!(decided.status, Status::Approved);
        assert_eq!(decided.decided_by.as_deref(), Some("alice"));
        assert!(matches!(
            store.decide_approval(&a.id, false, "bob"),
            Err(StoreError::NotPending { .. })
        ));
        assert!(store.consume_approval(&a.id).unwrap());
        assert!(!store.consume_approval(&a.id).unwrap());
        assert_eq!(
            store.get_approval(&a.id).unwrap().unwrap().status,
            Status::Used
        );
        assert!(store.find_approval("k").unwrap().is_none());
    }

    #[test]
    fn denied_and_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = MemoryStore::new(dir.path().join("approvals"));
        let a = approval("k", 60);
        store.create_approval(&a).unwrap();
        store.decide_approval(&a.id, false, "bob").unwrap();
        assert!(!store.consume_approval(&a.id).unwrap());
        assert_eq!(
            store.find_approval("k").unwrap().unwrap().status,
            Status::Denied
        );
        let old = approval("old", -1);
        store.create_approval(&old).unwrap();
        assert!(store.find_approval("old").unwrap().is_none());
        assert!(matches!(
            store.decide_approval(&old.id, true, "x"),
            Err(StoreError::NotPending {
                status: "expired",
                ..
            })
        ));
        assert!(store.get_approval("../../etc/passwd").unwrap().is_none());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(store.dir()), 0o700);
            assert_eq!(mode(&store.path(&a.id, "json")), 0o600);
            assert_eq!(mode(&store.path(&a.id, "verdict")), 0o600);
        }
    }

    #[test]
    fn nonces_are_single_use() {
        let store = MemoryStore::new(std::env::temp_dir());
        assert!(store.use_nonce("n", Duration::from_secs(60)));
        assert!(!store.use_nonce("n", Duration::from_secs(60)));
        assert!(store.use_nonce("m", Duration::from_secs(60)));
    }
}
