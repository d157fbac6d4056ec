//! Rate limits: an exact sliding-window log per counter. A call reserves one slot in every
//! limit that applies to it, all or none, under one lock; a reservation can be given back
//! (when the AWS call failed before AWS accepted it).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::policy::{CompiledLimit, Scope};

/// One counter a call must fit in: the limit and the counter that scope selects.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    pub key: String,
    pub limit: &'a CompiledLimit,
}

/// The counters of `limits` for a call of `session` by `principal`.
pub fn counted<'a>(
    limits: &[&'a CompiledLimit],
    session: &str,
    principal: &str,
) -> Vec<Counted<'a>> {
    limits
        .iter()
        .map(|l| Counted {
            key: match l.scope {
                Scope::Session => format!("{}#session:{session}", l.id),
                Scope::Principal => format!("{}#principal:{principal}", l.id),
                Scope::Global => format!("{}#global", l.id),
            },
            limit: l,
        })
        .collect()
}

/// The first limit that blocks every call it counts (`max: 0`: a caller or a tool switched
/// off by policy), if any: such a call is refused without asking a store.
pub fn blocking<'a>(limits: &[&'a CompiledLimit]) -> Option<&'a CompiledLimit> {
    limits.iter().copied().find(|l| l.max == 0)
}

/// Why a blocking limit refused the call: no wait makes a retry run.
pub fn blocked_reason(l: &CompiledLimit) -> String {
    format!(
        "limit {} blocks these calls (max: 0); no retry runs until the policy changes",
        l.id
    )
}

/// The in-process counter store.
#[derive(Debug, Default)]
pub struct Limiter {
    counters: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Slots held by one call.
#[derive(Debug, Default)]
#[must_use = "a reservation is either kept (dropped) or given back with Limiter::release"]
pub struct Reservation {
    taken: Vec<(String, Instant)>,
}

/// The limit a call did not fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceeded {
    pub limit_id: String,
    pub max: u32,
    pub window: Duration,
    pub scope: Scope,
    /// When the oldest counted call leaves the window.
    pub retry_after: Duration,
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserve one slot in each limit, or none when any is full.
    pub fn try_acquire(&self, counted: &[Counted], now: Instant) -> Result<Reservation, Exceeded> {
        if counted.is_empty() {
            return Ok(Reservation::default());
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for Counted { key, limit } in counted {
            let log = counters.entry(key.clone()).or_default();
            while log
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= limit.window)
            {
                log.pop_front();
            }
            if log.len() >= limit.max as usize {
                let oldest = log.front().copied().unwrap_or(now);
                return Err(Exceeded {
                    limit_id: limit.id.clone(),
                    max: limit.max,
                    window: limit.window,
                    scope: limit.scope,
                    retry_after: limit
                        .window
                        .saturating_sub(now.saturating_duration_since(oldest)),
                });
            }
        }
        let mut taken = Vec::with_capacity(counted.len());
        for c in counted {
            counters.entry(c.key.clone()).or_default().push_back(now);
            taken.push((c.key.clone(), now));
        }
        Ok(Reservation { taken })
    }

    /// Give the slots of a reservation back.
    pub fn release(&self, reservation: Reservation) {
        if reservation.taken.is_empty() {
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for (key, at) in reservation.taken {
            if let Some(log) = counters.get_mut(&key)
                && let Some(pos) = log.iter().rposition(|t| *t == at)
            {
                log.remove(pos);
            }
        }
    }

    /// Calls counted now in a counter's window (for tests).
    pub fn count(&self, c: &Counted, now: Instant) -> usize {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let limit = c.limit;
        counters
            .get(&c.key)
            .map(|log| {
                log.iter()
                    .filter(|t| now.saturating_duration_since(**t) < limit.window)
                    .count()
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::counted;
    use super::*;
    use crate::policy::CompiledLimit;
    use std::sync::Arc;

    fn c<'a>(l: &'a CompiledLimit, session: &str) -> Vec<Counted<'a>> {
        counted(&[l], session, "p")
    }

    fn limit(id: &str, max: u32, secs: u64, scope: Scope) -> CompiledLimit {
        CompiledLimit {
            id: id.into(),
            max,
            window: Duration::from_secs(secs),
            scope,
            class: None,
            tools: None,
        }
    }

    #[test]
    fn allows_max_then_refuses_until_window_passes() {
        let l = limit("a", 2, 10, Scope::Session);
        let lim = Limiter::new();
        let t0 = Instant::now();
        let _ = lim.try_acquire(&c(&l, "s"), t0).unwrap();
        let _ = lim
            .try_acquire(&c(&l, "s"), t0 + Duration::from_secs(1))
            .unwrap();
        let err = lim
            .try_acquire(&c(&l, "s"), t0 + Duration::from_secs(2))
            .unwrap_err();
        assert_eq!(err.limit_id, "a");
        assert_eq!(err.retry_after, Duration::from_secs(8));
        // The first call leaves the window at t0+10s.
        let _ = lim
            .try_acquire(&c(&l, "s"), t0 + Duration::from_secs(10))
            .unwrap();
        assert!(
            lim.try_acquire(&c(&l, "s"), t0 + Duration::from_secs(10))
                .is_err()
        );
    }

    #[test]
    fn sessions_are_counted_apart_and_global_together() {
        let s = limit("s", 1, 60, Scope::Session);
        let g = limit("g", 2, 60, Scope::Global);
        let lim = Limiter::new();
        let t = Instant::now();
        let _ = lim.try_acquire(&c(&s, "one"), t).unwrap();
        let _ = lim.try_acquire(&c(&s, "two"), t).unwrap();
        assert!(lim.try_acquire(&c(&s, "one"), t).is_err());
        let _ = lim.try_acquire(&c(&g, "one"), t).unwrap();
        let _ = lim.try_acquire(&c(&g, "two"), t).unwrap();
        assert!(lim.try_acquire(&c(&g, "three"), t).is_err());
    }

    #[test]
    fn refused_call_consumes_nothing_in_other_limits() {
        let wide = limit("wide", 10, 60, Scope::Session);
        let narrow = limit("narrow", 1, 60, Scope::Session);
        let lim = Limiter::new();
        let t = Instant::now();
        let _ = lim
            .try_acquire(&counted(&[&wide, &narrow], "s", "p"), t)
            .unwrap();
        assert!(
            lim.try_acquire(&counted(&[&wide, &narrow], "s", "p"), t)
                .is_err()
        );
        assert_eq!(lim.count(&c(&wide, "s")[0], t), 1);
    }

    #[test]
    fn released_slot_is_given_back() {
        let l = limit("a", 1, 60, Scope::Global);
        let lim = Limiter::new();
        let t = Instant::now();
        let r = lim.try_acquire(&c(&l, "s"), t).unwrap();
        assert!(lim.try_acquire(&c(&l, "s"), t).is_err());
        lim.release(r);
        assert_eq!(lim.count(&c(&l, "s")[0], t), 0);
        let _ = lim.try_acquire(&c(&l, "s"), t).unwrap();
    }

    #[test]
    fn exact_under_concurrency() {
        let l = Arc::new(limit("c", 37, 3600, Scope::Global));
        let lim = Arc::new(Limiter::new());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (l, lim) = (l.clone(), lim.clone());
                std::thread::spawn(move || {
                    (0..100)
                        .filter(|_| lim.try_acquire(&c(&l, "s"), Instant::now()).is_ok())
                        .count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 37);
    }
}
