//! Rate limits: an exact sliding-window log per counter. A call reserves one slot in every
//! limit that applies to it, all or none, under one lock; a reservation can be given back
//! (when the AWS call failed before AWS accepted it).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::policy::{CompiledLimit, Scope};

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

fn counter_key(limit: &CompiledLimit, session: &str) -> String {
    match limit.scope {
        Scope::Session => format!("{}#session:{session}", limit.id),
        Scope::Global => format!("{}#global", limit.id),
    }
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserve one slot in each limit, or none when any is full.
    pub fn try_acquire(
        &self,
        limits: &[&CompiledLimit],
        session: &str,
        now: Instant,
    ) -> Result<Reservation, Exceeded> {
        if limits.is_empty() {
            return Ok(Reservation::default());
        }
        let keys: Vec<String> = limits.iter().map(|l| counter_key(l, session)).collect();
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for (limit, key) in limits.iter().zip(&keys) {
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
        let mut taken = Vec::with_capacity(keys.len());
        for key in keys {
            counters.entry(key.clone()).or_default().push_back(now);
            taken.push((key, now));
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
            if let Some(log) = counters.get_mut(&key) {
                if let Some(pos) = log.iter().rposition(|t| *t == at) {
                    log.remove(pos);
                }
            }
        }
    }

    /// Calls counted now in a limit's window (for tests and `policy explain`).
    pub fn count(&self, limit: &CompiledLimit, session: &str, now: Instant) -> usize {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        counters
            .get(&counter_key(limit, session))
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
    use super::*;
    use std::sync::Arc;

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
        let _ = lim.try_acquire(&[&l], "s", t0).unwrap();
        let _ = lim
            .try_acquire(&[&l], "s", t0 + Duration::from_secs(1))
            .unwrap();
        let err = lim
            .try_acquire(&[&l], "s", t0 + Duration::from_secs(2))
            .unwrap_err();
        assert_eq!(err.limit_id, "a");
        assert_eq!(err.retry_after, Duration::from_secs(8));
        // The first call leaves the window at t0+10s.
        let _ = lim
            .try_acquire(&[&l], "s", t0 + Duration::from_secs(10))
            .unwrap();
        assert!(
            lim.try_acquire(&[&l], "s", t0 + Duration::from_secs(10))
                .is_err()
        );
    }

    #[test]
    fn sessions_are_counted_apart_and_global_together() {
        let s = limit("s", 1, 60, Scope::Session);
        let g = limit("g", 2, 60, Scope::Global);
        let lim = Limiter::new();
        let t = Instant::now();
        let _ = lim.try_acquire(&[&s], "one", t).unwrap();
        let _ = lim.try_acquire(&[&s], "two", t).unwrap();
        assert!(lim.try_acquire(&[&s], "one", t).is_err());
        let _ = lim.try_acquire(&[&g], "one", t).unwrap();
        let _ = lim.try_acquire(&[&g], "two", t).unwrap();
        assert!(lim.try_acquire(&[&g], "three", t).is_err());
    }

    #[test]
    fn refused_call_consumes_nothing_in_other_limits() {
        let wide = limit("wide", 10, 60, Scope::Session);
        let narrow = limit("narrow", 1, 60, Scope::Session);
        let lim = Limiter::new();
        let t = Instant::now();
        let _ = lim.try_acquire(&[&wide, &narrow], "s", t).unwrap();
        assert!(lim.try_acquire(&[&wide, &narrow], "s", t).is_err());
        assert_eq!(lim.count(&wide, "s", t), 1);
    }

    #[test]
    fn released_slot_is_given_back() {
        let l = limit("a", 1, 60, Scope::Global);
        let lim = Limiter::new();
        let t = Instant::now();
        let r = lim.try_acquire(&[&l], "s", t).unwrap();
        assert!(lim.try_acquire(&[&l], "s", t).is_err());
        lim.release(r);
        assert_eq!(lim.count(&l, "s", t), 0);
        let _ = lim.try_acquire(&[&l], "s", t).unwrap();
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
                        .filter(|_| lim.try_acquire(&[&l], "s", Instant::now()).is_ok())
                        .count()
                })
            })
            .collect();
        let allowed: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert_eq!(allowed, 37);
    }
}
