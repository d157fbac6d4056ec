//! A budget of refused calls per session and principal: a client that keeps sending calls the
//! gate refuses (invalid, denied, oversized) is slowed down, and the audit log records the
//! flood once per window instead of once per call.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Refused calls allowed per caller and window before further calls are refused unread.
pub const MAX_REFUSALS: usize = 60;
pub const WINDOW: Duration = Duration::from_secs(60);
/// Callers remembered at once; idle ones are forgotten first.
const MAX_CALLERS: usize = 10_000;

#[derive(Default)]
pub(super) struct RefusalBudget {
    by_caller: Mutex<HashMap<String, Recent>>,
}

#[derive(Default)]
struct Recent {
    at: VecDeque<Instant>,
    /// The flood of this window was audited already.
    audited: bool,
}

/// The caller is over budget: refuse unread. `audit` is true for the first such call of a window.
pub(super) struct Exhausted {
    pub audit: bool,
    pub retry_after: Duration,
}

impl RefusalBudget {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Recent>> {
        self.by_caller.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `caller` may be heard at `now`.
    pub fn check(&self, caller: &str, now: Instant) -> Option<Exhausted> {
        let mut map = self.lock();
        let recent = map.get_mut(caller)?;
        while recent
            .at
            .front()
            .is_some_and(|t| now.duration_since(*t) > WINDOW)
        {
            recent.at.pop_front();
        }
        if recent.at.len() < MAX_REFUSALS {
            recent.audited = false;
            return None;
        }
        let audit = !recent.audited;
        recent.audited = true;
        let oldest = recent.at.front().copied().unwrap_or(now);
        Some(Exhausted {
            audit,
            retry_after: WINDOW.saturating_sub(now.duration_since(oldest)),
        })
    }

    /// Count a refused call made at `now`.
    pub fn note(&self, caller: &str, now: Instant) {
        let mut map = self.lock();
        if map.len() >= MAX_CALLERS && !map.contains_key(caller) {
            map.retain(|_, r| {
                r.at.back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
            if map.len() >= MAX_CALLERS {
                return;
            }
        }
        let recent = map.entry(caller.to_string()).or_default();
        recent.at.push_back(now);
        while recent.at.len() > MAX_REFUSALS {
            recent.at.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_runs_out_per_caller_and_audits_once() {
        let (clock, hand) = crate::clock::Clock::manual();
        let b = RefusalBudget::default();
        for _ in 0..MAX_REFUSALS {
            assert!(b.check("s|p", clock.now()).is_none());
            b.note("s|p", clock.now());
            hand.advance(Duration::from_millis(10));
        }
        let first = b.check("s|p", clock.now()).expect("over budget");
        assert!(first.audit);
        assert!(!b.check("s|p", clock.now()).expect("still over").audit);
        assert!(b.check("other|p", clock.now()).is_none(), "per caller");
        // The window slides: once the oldest refusal is older than the window, the caller is
        // heard again, and the retry time said so.
        hand.advance(first.retry_after);
        assert!(b.check("s|p", clock.now()).is_some(), "not a moment early");
        hand.advance(Duration::from_millis(1));
        assert!(b.check("s|p", clock.now()).is_none(), "heard again");
    }
}
