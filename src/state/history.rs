//! Earlier calls, in memory: one log per history key of when each call that counts was made,
//! bounded by how long and how many calls the policy reads.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A call to log: its key, how long calls of the series are kept and how many at most.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub key: String,
    pub keep: Duration,
    pub cap: u64,
}

/// A count to read: the key, the window and the most the answer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counting {
    pub key: String,
    pub within: Duration,
    pub cap: u64,
}

#[derive(Debug, Default)]
pub struct MemoryHistory {
    /// Per key: how long its calls are kept, and when each was made.
    logs: Mutex<HashMap<String, (Duration, VecDeque<Instant>)>>,
}

impl MemoryHistory {
    pub fn record(&self, entries: &[Logged], now: Instant) {
        let mut logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        for e in entries {
            let (keep, log) = logs.entry(e.key.clone()).or_default();
            *keep = e.keep;
            log.push_back(now);
            while log
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= e.keep)
                || log.len() as u64 > e.cap
            {
                log.pop_front();
            }
        }
        // Logs that only hold expired calls are dropped now and then, so keys do not pile up.
        if logs.len() > 4096 {
            logs.retain(|_, (keep, log)| {
                log.back()
                    .is_some_and(|t| now.saturating_duration_since(*t) < *keep)
            });
        }
    }

    pub fn count(&self, queries: &[Counting], now: Instant) -> Vec<u64> {
        let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
        queries
            .iter()
            .map(|q| {
                let n = logs.get(&q.key).map_or(0, |(_, log)| {
                    log.iter()
                        .filter(|t| now.saturating_duration_since(**t) < q.within)
                        .count() as u64
                });
                n.min(q.cap)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The log keeps the newest `cap` calls within `keep`; counts read their own window.
    #[test]
    fn bounded_by_time_and_count() {
        let h = MemoryHistory::default();
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let logged = |cap| Logged {
            key: "k".into(),
            keep: Duration::from_secs(3600),
            cap,
        };
        let q = |within, cap| Counting {
            key: "k".into(),
            within: Duration::from_secs(within),
            cap,
        };
        for s in [0, 100, 200, 3000] {
            h.record(&[logged(3)], at(s));
        }
        // Cap 3: the call at 0 was dropped.
        assert_eq!(
            h.count(&[q(3600, 10), q(1000, 10), q(3600, 2)], at(3000)),
            [3, 1, 2]
        );
        // At 3700 the call at 100 is past the hour.
        assert_eq!(h.count(&[q(3600, 10)], at(3700)), [2]);
        assert_eq!(
            h.count(
                &[Counting {
                    key: "other".into(),
                    ..q(3600, 1)
                }],
                at(0)
            ),
            [0]
        );
    }
}
