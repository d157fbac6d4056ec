//! State in Redis, shared by every replica that points at the same server. Each operation is
//! one round trip; the ones that must be atomic across replicas are Lua scripts, and the
//! sliding windows use Redis's own clock, so replicas' clocks need not agree.

use std::time::Duration;

use redis::AsyncCommands;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{Counted, Reservation, StoreError};
use crate::approval::{self, Approval, Status};
use crate::limits::Exceeded;
use crate::policy::LimitKind;

const PREFIX: &str = "guarded-aws-mcp";
/// How long a decided or used approval is kept for `approvals list` after it expired.
const KEEP_AFTER_EXPIRY: i64 = 86_400;

/// KEYS: counters. ARGV: four per counter (kind: `w` window, `b` budget, `f` running; max;
/// window or lease in ms; cost), then the member to add. Returns {0, 0, 0} when every counter
/// had room (the call counted in each), else {index of the full counter (1-based), ms until
/// the call would fit (-1: when a running call ends), what is counted now}.
///
/// A window counter is a sorted set of members scored by time; a budget's members end in
/// `:cost`, summed; a running counter's members are scored by their lease's end.
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member = ARGV[#ARGV]
for i, key in ipairs(KEYS) do
  local kind = ARGV[4 * i - 3]
  local max = tonumber(ARGV[4 * i - 2])
  local ms = tonumber(ARGV[4 * i - 1])
  local cost = tonumber(ARGV[4 * i])
  if kind == 'f' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local running = redis.call('ZCARD', key)
    if running >= max then return {i, -1, running} end
  elseif kind == 'w' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ms)
    local used = redis.call('ZCARD', key)
    if used >= max then
      local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
      local retry = ms
      if oldest[2] then retry = ms - (now - tonumber(oldest[2])) end
      return {i, retry, used}
    end
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ms)
    local all = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
    local used = 0
    for j = 1, #all, 2 do used = used + tonumber(string.match(all[j], ':(%d+)$')) end
    if used + cost > max then
      local left = used
      local retry = ms
      for j = 1, #all, 2 do
        left = left - tonumber(string.match(all[j], ':(%d+)$'))
        if left + cost <= max then
          retry = ms - (now - tonumber(all[j + 1]))
          break
        end
      end
      return {i, retry, used}
    end
  end
end
for i, key in ipairs(KEYS) do
  local kind = ARGV[4 * i - 3]
  local ms = tonumber(ARGV[4 * i - 1])
  if kind == 'f' then
    redis.call('ZADD', key, now + ms, member)
  elseif kind == 'w' then
    redis.call('ZADD', key, now, member)
  elseif tonumber(ARGV[4 * i]) > 0 then
    redis.call('ZADD', key, now, member .. ':' .. ARGV[4 * i])
  end
  redis.call('PEXPIRE', key, ms)
end
return {0, 0, 0}
";

/// KEYS: running counters. ARGV: lease (ms), member. Extends the member's lease in each
/// counter that still holds it.
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now + lease, ARGV[2]) >= 0 then
    redis.call('PEXPIRE', key, lease)
  end
end
return 1
";

/// KEYS: history logs. ARGV: the member, then keep (ms) and cap per log. Adds the call to
/// each log and drops what is older than keep or beyond the newest cap calls.
const RECORD: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i, key in ipairs(KEYS) do
  local keep = tonumber(ARGV[2 * i])
  local cap = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', key, now, ARGV[1])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - keep)
  redis.call('ZREMRANGEBYRANK', key, 0, -(cap + 1))
  redis.call('PEXPIRE', key, keep)
end
return 1
";

/// KEYS: history logs. ARGV: the window (ms) per log. The calls each log holds in its window.
const COUNT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('ZCOUNT', key, '(' .. (now - tonumber(ARGV[i])), '+inf')
end
return out
";

/// How long a running slot is held in Redis without its replica renewing it: a replica that
/// dies gives its running slots back within this time. Renewed every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Running slots held in Redis: renewed in the background while held, removed when dropped
/// (and, should the replica die, given back when the lease runs out).
#[derive(Debug)]
pub struct Lease {
    renew: tokio::task::JoinHandle<()>,
    conn: ConnectionManager,
    keys: Vec<String>,
    member: String,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renew.abort();
        let (mut conn, keys, member) = (
            self.conn.clone(),
            std::mem::take(&mut self.keys),
            std::mem::take(&mut self.member),
        );
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                let mut pipe = redis::pipe();
                for key in &keys {
                    pipe.zrem(key, &member).ignore();
                }
                if let Err(e) = pipe.query_async::<()>(&mut conn).await {
                    tracing::warn!(error = %e, "could not give running slots back; their lease ends them");
                }
            });
        }
    }
}

/// KEYS[1]: status key. ARGV: expected prefix of the status, the new status.
/// Sets the status (keeping its expiry) when it starts with the expected prefix.
const TRANSITION: &str = r"
local cur = redis.call('GET', KEYS[1])
if not cur then return -1 end
if string.sub(cur, 1, string.len(ARGV[1])) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
return 1
";

/// KEYS[1]: a principal's sessions. ARGV: max, idle (ms), member. Drops the idle ones, then
/// adds the member unless `max` are held: 1 when added, 0 when full.
const OPEN_SESSION: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
";

/// KEYS[1]: a principal's sessions. ARGV: idle (ms), from ('' for none), to ('' for none).
/// Removes `from`; adds `to` when `from` was given, else refreshes `to` if it is held.
const MOVE_SESSION: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ms = now + tonumber(ARGV[1])
if ARGV[2] ~= '' then redis.call('ZREM', KEYS[1], ARGV[2]) end
if ARGV[3] ~= '' then
  if ARGV[2] ~= '' then
    redis.call('ZADD', KEYS[1], until_ms, ARGV[3])
  else
    redis.call('ZADD', KEYS[1], 'XX', until_ms, ARGV[3])
  end
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]))
end
return 1
";

/// The Lua scripts, loaded once per store.
struct Scripts {
    acquire: redis::Script,
    renew: redis::Script,
    record: redis::Script,
    count: redis::Script,
    transition: redis::Script,
    open_session: redis::Script,
    move_session: redis::Script,
}

pub struct RedisStore {
    conn: ConnectionManager,
    shown: String,
    seal_key: OnceCell<Vec<u8>>,
    scripts: Box<Scripts>,
    lease: Duration,
}

fn k(parts: &[&str]) -> String {
    let mut s = String::from(PREFIX);
    for p in parts {
        s.push(':');
        s.push_str(p);
    }
    s
}

impl RedisStore {
    /// Connects lazily: the server starts with Redis down and recovers when it comes up.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let shown = super::mask_url(url);
        let unavailable = |e: redis::RedisError| StoreError::Unavailable {
            store: format!("redis {shown}"),
            detail: e.to_string(),
        };
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let conn = ConnectionManager::new_lazy_with_config(client, config).map_err(unavailable)?;
        Ok(RedisStore {
            conn,
            shown: format!("redis {shown}"),
            seal_key: OnceCell::new(),
            scripts: Box::new(Scripts {
                acquire: redis::Script::new(ACQUIRE),
                renew: redis::Script::new(RENEW),
                record: redis::Script::new(RECORD),
                count: redis::Script::new(COUNT),
                transition: redis::Script::new(TRANSITION),
                open_session: redis::Script::new(OPEN_SESSION),
                move_session: redis::Script::new(MOVE_SESSION),
            }),
            lease: DEFAULT_LEASE,
        })
    }

    pub fn describe(&self) -> String {
        self.shown.clone()
    }

    fn down(&self, e: redis::RedisError) -> StoreError {
        StoreError::Unavailable {
            store: self.shown.clone(),
            detail: e.to_string(),
        }
    }

    /// How long a running slot outlives a replica that stopped renewing it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.max(Duration::from_millis(300));
        self
    }

    pub async fn try_acquire(
        &self,
        counted: &[Counted<'_>],
    ) -> Result<Result<Reservation, Exceeded>, StoreError> {
        let member = uuid::Uuid::new_v4().simple().to_string();
        let keys: Vec<String> = counted.iter().map(|c| k(&["limit", &c.key])).collect();
        let mut inv = self.scripts.acquire.prepare_invoke();
        for (key, c) in keys.iter().zip(counted) {
            let (kind, ms) = match c.limit.kind {
                LimitKind::InFlight => ("f", self.lease.as_millis() as u64),
                LimitKind::Window(w) if c.limit.cost.is_some() => ("b", w.as_millis() as u64),
                LimitKind::Window(w) => ("w", w.as_millis() as u64),
            };
            inv.key(key);
            inv.arg(kind).arg(c.limit.max).arg(ms).arg(c.cost);
        }
        inv.arg(&member);
        let mut conn = self.conn.clone();
        let (full, retry_ms, used): (usize, i64, u64) = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        if full == 0 {
            let mut slots = Vec::new();
            let mut running = Vec::new();
            for (key, c) in keys.into_iter().zip(counted) {
                match c.limit.kind {
                    LimitKind::InFlight => running.push(key),
                    LimitKind::Window(_) if c.limit.cost.is_some() => {
                        slots.push((key, format!("{member}:{}", c.cost)))
                    }
                    LimitKind::Window(_) => slots.push((key, member.clone())),
                }
            }
            let lease = (!running.is_empty()).then(|| self.lease(running, member));
            return Ok(Ok(Reservation::Redis { slots, lease }));
        }
        let Some(c) = counted.get(full - 1) else {
            return Err(StoreError::Unavailable {
                store: self.shown.clone(),
                detail: format!("unexpected reply {full} from the rate-limit script"),
            });
        };
        let retry = u64::try_from(retry_ms).ok().map(Duration::from_millis);
        Ok(Err(Exceeded::new(c, used, retry)))
    }

    /// Hold running slots: renew their lease every third of it until dropped.
    fn lease(&self, keys: Vec<String>, member: String) -> Lease {
        let (renew, lease) = (self.scripts.renew.clone(), self.lease);
        let (mut conn, k2, m2) = (self.conn.clone(), keys.clone(), member.clone());
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / 3).await;
                let mut inv = renew.prepare_invoke();
                for key in &k2 {
                    inv.key(key);
                }
                inv.arg(lease.as_millis() as u64).arg(&m2);
                if let Err(e) = inv.invoke_async::<i64>(&mut conn).await {
                    tracing::warn!(error = %e, "could not renew a running slot's lease");
                }
            }
        });
        Lease {
            renew: task,
            conn: self.conn.clone(),
            keys,
            member,
        }
    }

    pub async fn release(&self, slots: &[(String, String)]) -> Result<(), StoreError> {
        if slots.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        for (key, member) in slots {
            pipe.zrem(key, member).ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.down(e))
    }

    pub async fn record_history(&self, entries: &[super::Logged]) -> Result<(), StoreError> {
        let mut inv = self.scripts.record.prepare_invoke();
        inv.arg(uuid::Uuid::new_v4().simple().to_string());
        for e in entries {
            inv.key(k(&["history", &e.key]));
            inv.arg(e.keep.as_millis() as u64).arg(e.cap);
        }
        let mut conn = self.conn.clone();
        inv.invoke_async::<i64>(&mut conn)
            .await
            .map(drop)
            .map_err(|e| self.down(e))
    }

    pub async fn count_history(&self, queries: &[super::Counting]) -> Result<Vec<u64>, StoreError> {
        let mut inv = self.scripts.count.prepare_invoke();
        for q in queries {
            inv.key(k(&["history", &q.key]));
            inv.arg(q.within.as_millis() as u64);
        }
        let mut conn = self.conn.clone();
        let counts: Vec<u64> = inv
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(counts
            .into_iter()
            .zip(queries)
            .map(|(n, q)| n.min(q.cap))
            .collect())
    }

    pub async fn create_approval(&self, a: &Approval) -> Result<(), StoreError> {
        let ttl = ((a.expires_at - approval::now()).max(1) + KEEP_AFTER_EXPIRY) as u64;
        let body = serde_json::to_string(a).map_err(|e| StoreError::Unavailable {
            store: self.shown.clone(),
            detail: e.to_string(),
        })?;
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .set_ex(k(&["approval", &a.id]), body, ttl)
            .ignore()
            .set_ex(
                k(&["approval-status", &a.id]),
                Status::Pending.as_str(),
                ttl,
            )
            .ignore()
            .set_ex(k(&["approval-key", &a.key]), &a.id, ttl)
            .ignore()
            .zadd(k(&["approvals"]), &a.id, a.created_at)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| self.down(e))
    }

    pub async fn get_approval(&self, id: &str) -> Result<Option<Approval>, StoreError> {
        if !approval::valid_id(id) {
            return Ok(None);
        }
        let mut conn = self.conn.clone();
        let (body, status): (Option<String>, Option<String>) = redis::pipe()
            .get(k(&["approval", id]))
            .get(k(&["approval-status", id]))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        let (Some(body), Some(status)) = (body, status) else {
            return Ok(None);
        };
        let Ok(mut a) = serde_json::from_str::<Approval>(&body) else {
            return Ok(None);
        };
        // status is `pending`, or `<status>|<by>|<at>`.
        let mut parts = status.splitn(3, '|');
        a.status = match parts.next() {
            Some("approved") => Status::Approved,
            Some("denied") => Status::Denied,
            Some("used") => Status::Used,
            _ => Status::Pending,
        };
        a.decided_by = parts.next().map(str::to_string);
        a.decided_at = parts.next().and_then(|t| t.parse().ok());
        Ok(Some(a))
    }

    pub async fn list_approvals(&self) -> Result<Vec<Approval>, StoreError> {
        let mut conn = self.conn.clone();
        let ids: Vec<String> = conn
            .zrevrange(k(&["approvals"]), 0, -1)
            .await
            .map_err(|e| self.down(e))?;
        let mut out = Vec::new();
        let mut gone = Vec::new();
        for id in ids {
            match self.get_approval(&id).await? {
                Some(a) => out.push(a),
                None => gone.push(id),
            }
        }
        if !gone.is_empty() {
            let _: Result<(), _> = conn.zrem(k(&["approvals"]), gone).await;
        }
        Ok(out)
    }

    pub async fn find_approval(&self, key: &str) -> Result<Option<Approval>, StoreError> {
        let mut conn = self.conn.clone();
        let id: Option<String> = conn
            .get(k(&["approval-key", key]))
            .await
            .map_err(|e| self.down(e))?;
        let Some(id) = id else { return Ok(None) };
        let now = approval::now();
        Ok(self.get_approval(&id).await?.filter(|a| a.is_live(now)))
    }

    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<Approval, StoreError> {
        super::pending(self.get_approval(id).await?, id, approval::now())?;
        let new = format!(
            "{}|{}|{}",
            if approve { "approved" } else { "denied" },
            by.replace('|', "/"),
            approval::now()
        );
        if !self.set_status_if(id, "pending", new).await? {
            let now = self.get_approval(id).await?;
            return Err(match now {
                Some(a) => StoreError::NotPending {
                    id: id.into(),
                    status: a.status.as_str(),
                },
                None => StoreError::NotFound(id.into()),
            });
        }
        self.get_approval(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(id.into()))
    }

    pub async fn consume_approval(&self, id: &str) -> Result<bool, StoreError> {
        if !approval::valid_id(id) {
            return Ok(false);
        }
        let Some(a) = self.get_approval(id).await? else {
            return Ok(false);
        };
        let used = format!(
            "used|{}|{}",
            a.decided_by.unwrap_or_default(),
            a.decided_at.unwrap_or_default()
        );
        self.set_status_if(id, "approved|", used).await
    }

    /// Set an approval's status when the current one starts with `expected`, atomically.
    async fn set_status_if(
        &self,
        id: &str,
        expected: &str,
        new: String,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let done: i64 = self
            .scripts
            .transition
            .key(k(&["approval-status", id]))
            .arg(expected)
            .arg(new)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(done == 1)
    }

    /// Whether Redis answers (`/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(())
    }

    pub async fn open_session(
        &self,
        principal: &str,
        member: &str,
        max: usize,
        idle: Duration,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let added: i64 = self
            .scripts
            .open_session
            .key(k(&["sessions", principal]))
            .arg(max)
            .arg(idle.as_millis().max(1) as u64)
            .arg(member)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(added == 1)
    }

    pub async fn move_session(
        &self,
        principal: &str,
        from: Option<&str>,
        to: Option<&str>,
        idle: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        let _: i64 = self
            .scripts
            .move_session
            .key(k(&["sessions", principal]))
            .arg(idle.as_millis().max(1) as u64)
            .arg(from.unwrap_or_default())
            .arg(to.unwrap_or_default())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(())
    }

    pub async fn use_nonce(&self, nonce: &str, ttl: Duration) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(k(&["nonce", nonce]))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl.as_millis().max(1) as u64)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(set.is_some())
    }

    /// The sealing key every replica shares: the first replica to ask creates it.
    pub async fn seal_key(&self) -> Result<Vec<u8>, StoreError> {
        self.seal_key
            .get_or_try_init(|| async {
                let mut conn = self.conn.clone();
                let fresh = crate::audit::hex(&super::random_key());
                let key = k(&["seal-key"]);
                let _: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(&fresh)
                    .arg("NX")
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.down(e))?;
                let stored: String = conn.get(&key).await.map_err(|e| self.down(e))?;
                Ok(stored.into_bytes())
            })
            .await
            .cloned()
    }

    /// Bind an HTTP session to its principal, for every replica, until it idles for `ttl`.
    pub async fn bind_http_session(
        &self,
        id: &str,
        principal: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.pset_ex::<_, _, ()>(k(&["http-session", id]), principal, ttl.as_millis() as u64)
            .await
            .map_err(|e| self.down(e))
    }

    /// The principal an HTTP session is bound to, if it still exists; its idle time restarts
    /// (and its saved state's with it).
    pub async fn http_session_owner(
        &self,
        id: &str,
        ttl: Duration,
    ) -> Result<Option<String>, StoreError> {
        let ms = ttl.as_millis() as u64;
        let mut conn = self.conn.clone();
        let (owner, _, _): (Option<String>, i64, i64) = redis::pipe()
            .get(k(&["http-session", id]))
            .pexpire(k(&["http-session", id]), ms as i64)
            .pexpire(k(&["http-session-state", id]), ms as i64)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.down(e))?;
        Ok(owner)
    }

    /// End an HTTP session for every replica.
    pub async fn end_http_session(&self, id: &str) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(&[k(&["http-session", id]), k(&["http-session-state", id])])
            .await
            .map_err(|e| self.down(e))
    }

    /// What another replica needs to serve an HTTP session (the client's `initialize`).
    pub async fn save_http_session_state(
        &self,
        id: &str,
        state: &str,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let mut conn = self.conn.clone();
        conn.pset_ex::<_, _, ()>(
            k(&["http-session-state", id]),
            state,
            ttl.as_millis() as u64,
        )
        .await
        .map_err(|e| self.down(e))
    }

    pub async fn http_session_state(&self, id: &str) -> Result<Option<String>, StoreError> {
        let mut conn = self.conn.clone();
        conn.get(k(&["http-session-state", id]))
            .await
            .map_err(|e| self.down(e))
    }
}
