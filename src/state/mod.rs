//! Shared state behind one interface: rate-limit counters, out-of-band approvals, used MRTR
//! nonces and the key that seals MRTR state. In memory (the embedded default; approvals in a
//! directory so the `approvals` CLI of another process sees them) or in Redis
//! (`--state redis://...`), where every replica counts and approves together.
//!
//! A store that cannot be reached fails closed: the gate refuses the calls that need it.

mod history;
mod memory;
mod redis;

use std::path::PathBuf;
use std::time::Duration;

use crate::approval::Approval;
use crate::limits::Exceeded;

pub use history::{Counting, Logged, MemoryHistory};
pub use memory::MemoryStore;
pub use redis::RedisStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the state store ({store}) cannot be reached: {detail}")]
    Unavailable { store: String, detail: String },
    #[error("no approval `{0}` (it may have expired)")]
    NotFound(String),
    #[error("approval `{id}` is {status}, not pending")]
    NotPending { id: String, status: &'static str },
    #[error("the approvals directory {dir}: {detail}")]
    Dir { dir: String, detail: String },
}

pub use self::redis::DEFAULT_LEASE;
pub use crate::limits::{Counted, counted};

/// Slots a call holds: window slots stay counted when it is dropped; running slots
/// (`max_in_flight`) are given back when it is dropped.
#[derive(Debug, Default)]
#[must_use = "a reservation is either kept (dropped) or given back with Store::release"]
pub enum Reservation {
    #[default]
    None,
    Memory(crate::limits::Reservation),
    Redis {
        /// Window counters and the member added to each.
        slots: Vec<(String, String)>,
        /// Leases on running slots, renewed while held.
        lease: Option<self::redis::Lease>,
    },
}
/// A `--state` that is neither `memory` nor a Redis URL (its password masked).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("--state `{given}`: use `memory` or a Redis URL (`redis://127.0.0.1:6379/0`)")]
pub struct StateSpecError {
    pub given: String,
}

/// Where state lives (`--state`).
#[derive(Debug, Clone, PartialEq)]
pub enum StateSpec {
    /// Counters in this process; approvals in a directory.
    Memory {
        approvals_dir: PathBuf,
    },
    Redis {
        url: String,
    },
}

impl StateSpec {
    /// `memory` or `redis://...` / `rediss://...`.
    pub fn parse(text: &str, approvals_dir: PathBuf) -> Result<Self, StateSpecError> {
        if text == "memory" {
            Ok(StateSpec::Memory { approvals_dir })
        } else if text.starts_with("redis://") || text.starts_with("rediss://") {
            Ok(StateSpec::Redis { url: text.into() })
        } else {
            Err(StateSpecError {
                given: mask_url(text),
            })
        }
    }
}

/// A URL with any user and password replaced by `***`.
pub fn mask_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

/// The default approvals directory of the embedded store.
pub fn default_approvals_dir() -> PathBuf {
    dirs::state_dir()
        .or_else(dirs::data_local_dir)
        .unwrap_or_else(std::env::temp_dir)
        .join("guarded-aws-mcp")
        .join("approvals")
}

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

impl Store {
    pub fn open(spec: &StateSpec) -> Result<Store, StoreError> {
        Store::open_with_clock(spec, crate::clock::Clock::system())
    }

    /// A store whose windows and expiries follow `clock` (in memory; Redis counts by its own
    /// clock, shared by every replica).
    pub fn open_with_clock(
        spec: &StateSpec,
        clock: crate::clock::Clock,
    ) -> Result<Store, StoreError> {
        Ok(match spec {
            StateSpec::Memory { approvals_dir } => {
                Store::Memory(MemoryStore::new(approvals_dir.clone()).with_clock(clock))
            }
            StateSpec::Redis { url } => Store::Redis(RedisStore::open(url)?),
        })
    }

    /// Short description for logs: never carries a password.
    pub fn describe(&self) -> String {
        match self {
            Store::Memory(m) => format!("memory (approvals in {})", m.dir().display()),
            Store::Redis(r) => r.describe(),
        }
    }

    /// Reserve the call's slot in every counter, or none when one is full.
    pub async fn try_acquire(
        &self,
        counted: &[Counted<'_>],
    ) -> Result<Result<Reservation, Exceeded>, StoreError> {
        if counted.is_empty() {
            return Ok(Ok(Reservation::None));
        }
        match self {
            Store::Memory(m) => Ok(m
                .limiter()
                .try_acquire(counted, m.clock().now())
                .map(Reservation::Memory)),
            Store::Redis(r) => r.try_acquire(counted).await,
        }
    }

    /// Give the slots back (the call never reached AWS). A store that cannot be reached keeps
    /// them: the limit errs on the strict side.
    pub async fn release(&self, reservation: Reservation) {
        match (self, reservation) {
            (_, Reservation::None) => {}
            (Store::Memory(m), Reservation::Memory(r)) => m.limiter().release(r),
            (Store::Redis(s), Reservation::Redis { slots, lease }) => {
                drop(lease);
                if let Err(e) = s.release(&slots).await {
                    tracing::warn!(error = %e, "could not give rate-limit slots back");
                }
            }
            _ => {}
        }
    }

    /// Log a call that succeeded in the history series it belongs to.
    pub async fn record_history(&self, entries: &[Logged]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        match self {
            Store::Memory(m) => {
                m.history().record(entries, m.clock().now());
                Ok(())
            }
            Store::Redis(r) => r.record_history(entries).await,
        }
    }

    /// How many logged calls each query finds in its window (at most its cap).
    pub async fn count_history(&self, queries: &[Counting]) -> Result<Vec<u64>, StoreError> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        match self {
            Store::Memory(m) => Ok(m.history().count(queries, m.clock().now())),
            Store::Redis(r) => r.count_history(queries).await,
        }
    }

    pub async fn create_approval(&self, a: &Approval) -> Result<(), StoreError> {
        match self {
            Store::Memory(m) => m.create_approval(a),
            Store::Redis(r) => r.create_approval(a).await,
        }
    }

    /// The newest approval of a call key that is still pending, approved or denied.
    pub async fn find_approval(&self, key: &str) -> Result<Option<Approval>, StoreError> {
        match self {
            Store::Memory(m) => m.find_approval(key),
            Store::Redis(r) => r.find_approval(key).await,
        }
    }

    pub async fn get_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        match self {
            Store::Memory(m) => m.get_approval(id),
            Store::Redis(r) => r.get_approval(id).await,
        }
    }

    /// Every approval the store holds, newest first.
    pub async fn list_approvals(&self) -> Result<Vec<Approval>, StoreError> {
        match self {
            Store::Memory(m) => m.list_approvals(),
            Store::Redis(r) => r.list_approvals().await,
        }
    }

    /// Approve or deny a pending approval.
    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<Approval, StoreError> {
        match self {
            Store::Memory(m) => m.decide_approval(id, approve, by),
            Store::Redis(r) => r.decide_approval(id, approve, by).await,
        }
    }

    /// Turn an approved approval into a used one; true for exactly one caller.
    pub async fn consume_approval(&self, id: &str) -> Result<bool, StoreError> {
        match self {
            Store::Memory(m) => m.consume_approval(id),
            Store::Redis(r) => r.consume_approval(id).await,
        }
    }

    /// Record a single-use nonce; true the first time it is seen within `ttl`.
    /// Whether the store can be reached (`/readyz`); the memory store always can.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Store::Memory(_) => Ok(()),
            Store::Redis(r) => r.ping().await,
        }
    }

    /// Count `member` as one of `principal`'s HTTP sessions (shared by replicas on Redis) until
    /// it has been idle for `idle`, unless `max` are counted already; whether it was admitted.
    pub async fn open_session(
        &self,
        principal: &str,
        member: &str,
        max: usize,
        idle: Duration,
    ) -> Result<bool, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.open_session(principal, member, max, idle)),
            Store::Redis(r) => r.open_session(principal, member, max, idle).await,
        }
    }

    /// Turn a reservation (`from`) into the session id (`to`), refresh a session (`to` alone),
    /// or end one (`from` alone).
    pub async fn move_session(
        &self,
        principal: &str,
        from: Option<&str>,
        to: Option<&str>,
        idle: Duration,
    ) -> Result<(), StoreError> {
        match self {
            Store::Memory(m) => {
                m.move_session(principal, from, to, idle);
                Ok(())
            }
            Store::Redis(r) => r.move_session(principal, from, to, idle).await,
        }
    }

    /// The Redis store, when sessions and state are shared by replicas.
    pub fn shared(&self) -> Option<&RedisStore> {
        match self {
            Store::Memory(_) => None,
            Store::Redis(r) => Some(r),
        }
    }

    pub async fn use_nonce(&self, nonce: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.use_nonce(nonce, ttl)),
            Store::Redis(r) => r.use_nonce(nonce, ttl).await,
        }
    }

    /// The secret that seals MRTR state: per process in memory, shared by replicas in Redis.
    pub async fn seal_key(&self) -> Result<Vec<u8>, StoreError> {
        match self {
            Store::Memory(m) => Ok(m.seal_key().to_vec()),
            Store::Redis(r) => r.seal_key().await,
        }
    }
}

/// The approval `id`, if it exists and is still pending.
pub(crate) fn pending(found: Option<Approval>, id: &str, now: i64) -> Result<Approval, StoreError> {
    let a = found.ok_or_else(|| StoreError::NotFound(id.into()))?;
    match a.status_at(now) {
        crate::approval::Status::Pending => Ok(a),
        status => Err(StoreError::NotPending {
            id: id.into(),
            status: status.as_str(),
        }),
    }
}

/// 32 bytes (256 bits) from the operating system's random number generator: bearer tokens and
/// sealing keys. (Two UUIDv4s gave only 244 random bits.)
pub(crate) fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    // The OS RNG failing is not something the server can work around.
    if let Err(e) = getrandom::fill(&mut key) {
        panic!("the operating system's random number generator failed: {e}");
    }
    key
}

#[cfg(test)]
mod random_tests {
    /// Issue 11 (12): tokens and keys carry 256 random bits.
    #[test]
    fn keys_are_256_random_bits() {
        let a = super::random_key();
        let b = super::random_key();
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
        // No UUID version/variant nibbles forced into fixed positions.
        let fixed = (0..64).all(|_| {
            let k = super::random_key();
            k[6] >> 4 == 4 && k[8] >> 6 == 2
        });
        assert!(!fixed);
    }
}
