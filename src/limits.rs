//! Limits as a store counts them: an exact sliding-window log per counter (each entry with its
//! cost, so a budget is the same log summed), and a count of calls running at once. A call
//! reserves its slot in every limit that applies to it, all or none, under one lock; window
//! slots can be given back (when the AWS call failed before AWS accepted it), running slots are
//! given back when the call ends, however it ends (the guard is dropped).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::policy::{CallFacts, CompiledLimit, CostError, LimitKind};

/// One counter a call must fit in: the limit, the counter its keys select and what the call
/// costs in it.
#[derive(Debug, Clone)]
pub struct Counted<'a> {
    pub key: String,
    pub limit: &'a CompiledLimit,
    pub cost: u64,
}

/// The counters of `limits` for a call, or why its cost cannot be read.
pub fn counted<'a>(
    limits: &[&'a CompiledLimit],
    facts: &CallFacts<'_>,
) -> Result<Vec<Counted<'a>>, CostError> {
    limits
        .iter()
        .map(|l| {
            Ok(Counted {
                key: l.counter(facts),
                limit: l,
                cost: l.cost_of(facts.args)?,
            })
        })
        .collect()
}

/// The counters of `limits` for a call of `session` by `principal` with no arguments (tests).
pub fn counted_plain<'a>(
    limits: &[&'a CompiledLimit],
    session: &str,
    caller: &crate::policy::Caller,
) -> Vec<Counted<'a>> {
    let facts = CallFacts {
        session,
        caller,
        args: &Value::Null,
        resource: None,
    };
    counted(limits, &facts).unwrap_or_default()
}

/// The first limit that blocks every call it counts (`max: 0`: a caller or a tool switched
/// off by policy), if any: such a call is refused without asking a store.
pub fn blocking<'a>(limits: &[&'a CompiledLimit]) -> Option<&'a CompiledLimit> {
    limits
        .iter()
        .copied()
        .find(|l| l.max == 0 && l.window().is_some())
}

/// Why a blocking limit refused the call: no wait makes a retry run.
pub fn blocked_reason(l: &CompiledLimit) -> String {
    format!(
        "limit {} blocks these calls (max: 0); no retry runs until the policy changes",
        l.id
    )
}

/// The first counter the call can never fit in, whatever is counted (its cost is more than the
/// whole budget): refused without asking a store.
pub fn never_fits<'c, 'a>(counted: &'c [Counted<'a>]) -> Option<&'c Counted<'a>> {
    counted
        .iter()
        .find(|c| c.limit.window().is_some() && c.cost > u64::from(c.limit.max))
}

/// Why a call costs more than a whole budget.
pub fn over_budget_reason(c: &Counted<'_>) -> String {
    format!(
        "limit {} allows a cost of {} per {} ({}); this call costs {}, more than the whole budget, so it never runs under this policy",
        c.limit.id,
        c.limit.max,
        wait_text(c.limit.window().unwrap_or_default()),
        c.limit.per_text(),
        c.cost
    )
}

pub use crate::policy::limit::wait_text;

#[derive(Debug, Default)]
struct Counters {
    /// Window limits: when each counted call was made, and its cost.
    logs: HashMap<String, VecDeque<(Instant, u64)>>,
    /// `max_in_flight`: calls running now.
    running: HashMap<String, u32>,
}

/// The in-process counter store.
#[derive(Debug, Default)]
pub struct Limiter {
    counters: Arc<Mutex<Counters>>,
}

/// Slots held by one call.
#[derive(Debug, Default)]
#[must_use = "a reservation is either kept (dropped) or given back with Limiter::release"]
pub struct Reservation {
    taken: Vec<(String, Instant, u64)>,
    /// Running slots, given back when this is dropped.
    pub(crate) running: Option<Running>,
}

/// Slots of `max_in_flight` limits, held until dropped.
#[derive(Debug)]
pub struct Running {
    counters: Arc<Mutex<Counters>>,
    keys: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut c = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for key in &self.keys {
            if let Some(n) = c.running.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    c.running.remove(key);
                }
            }
        }
    }
}

/// The limit a call did not fit in.
#[derive(Debug, Clone, PartialEq)]
pub struct Exceeded {
    pub limit_id: String,
    pub max: u32,
    pub kind: LimitKind,
    /// How the limit is counted, in words (`per session`).
    pub per: String,
    /// What this call costs; None for a limit without `cost`.
    pub cost: Option<u64>,
    /// What is counted now (calls, cost spent, or calls running).
    pub used: u64,
    /// When enough of the window has passed for the call to fit; None for calls running at
    /// once (a retry fits when one of them ends).
    pub retry_after: Option<Duration>,
}

impl Exceeded {
    pub fn new(c: &Counted<'_>, used: u64, retry_after: Option<Duration>) -> Self {
        Exceeded {
            limit_id: c.limit.id.clone(),
            max: c.limit.max,
            kind: c.limit.kind,
            per: c.limit.per_text(),
            cost: c.limit.cost.as_ref().map(|_| c.cost),
            used,
            retry_after,
        }
    }

    /// The refusal's reason: which limit, how it counts, and when a retry can succeed.
    pub fn reason(&self) -> String {
        let retry = self.retry_after.map(wait_text).unwrap_or_default();
        match (self.kind, self.cost) {
            (LimitKind::InFlight, _) => format!(
                "limit {} allows {} calls at once ({}); {} are running: retry when one ends",
                self.limit_id, self.max, self.per, self.used
            ),
            (LimitKind::Window(w), None) => format!(
                "limit {} allows {} calls per {} ({}); retry in {retry}",
                self.limit_id,
                self.max,
                wait_text(w),
                self.per
            ),
            (LimitKind::Window(w), Some(cost)) => format!(
                "limit {} allows a cost of {} per {} ({}); {} is spent and this call costs {cost}: retry in {retry}",
                self.limit_id,
                self.max,
                wait_text(w),
                self.per,
                self.used
            ),
        }
    }
}

impl Limiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserve the call's slot in each limit, or none when any is full.
    pub fn try_acquire(&self, counted: &[Counted], now: Instant) -> Result<Reservation, Exceeded> {
        if counted.is_empty() {
            return Ok(Reservation::default());
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for c in counted {
            match c.limit.kind {
                LimitKind::InFlight => {
                    let n = counters.running.get(&c.key).copied().unwrap_or(0);
                    if n >= c.limit.max {
                        return Err(Exceeded::new(c, n.into(), None));
                    }
                }
                LimitKind::Window(window) => {
                    let log = counters.logs.entry(c.key.clone()).or_default();
                    while log
                        .front()
                        .is_some_and(|(t, _)| now.saturating_duration_since(*t) >= window)
                    {
                        log.pop_front();
                    }
                    let used: u64 = log.iter().map(|(_, cost)| cost).sum();
                    let max = u64::from(c.limit.max);
                    if used + c.cost > max {
                        // The call fits once enough of the oldest calls leave the window.
                        let mut left = used;
                        let mut retry = window;
                        for (t, cost) in log.iter() {
                            left -= cost;
                            if left + c.cost <= max {
                                retry = window.saturating_sub(now.saturating_duration_since(*t));
                                break;
                            }
                        }
                        return Err(Exceeded::new(c, used, Some(retry)));
                    }
                }
            }
        }
        let mut taken = Vec::with_capacity(counted.len());
        let mut running = Vec::new();
        for c in counted {
            match c.limit.kind {
                LimitKind::InFlight => {
                    *counters.running.entry(c.key.clone()).or_default() += 1;
                    running.push(c.key.clone());
                }
                LimitKind::Window(_) if c.cost == 0 => {}
                LimitKind::Window(_) => {
                    counters
                        .logs
                        .entry(c.key.clone())
                        .or_default()
                        .push_back((now, c.cost));
                    taken.push((c.key.clone(), now, c.cost));
                }
            }
        }
        Ok(Reservation {
            taken,
            running: (!running.is_empty()).then(|| Running {
                counters: self.counters.clone(),
                keys: running,
            }),
        })
    }

    /// Give the slots of a reservation back.
    pub fn release(&self, reservation: Reservation) {
        let Reservation { taken, running } = reservation;
        drop(running);
        if taken.is_empty() {
            return;
        }
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        for (key, at, cost) in taken {
            if let Some(log) = counters.logs.get_mut(&key)
                && let Some(pos) = log.iter().rposition(|e| *e == (at, cost))
            {
                log.remove(pos);
            }
        }
    }

    /// What a counter holds now: calls (or cost) in its window, or calls running (for tests).
    pub fn count(&self, c: &Counted, now: Instant) -> u64 {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        match c.limit.kind {
            LimitKind::InFlight => counters.running.get(&c.key).copied().unwrap_or(0).into(),
            LimitKind::Window(w) => counters
                .logs
                .get(&c.key)
                .map(|log| {
                    log.iter()
                        .filter(|(t, _)| now.saturating_duration_since(*t) < w)
                        .map(|(_, cost)| cost)
                        .sum()
                })
                .unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Caller, KeyPart};

    fn c<'a>(l: &'a CompiledLimit, session: &str) -> Vec<Counted<'a>> {
        counted_plain(&[l], session, &Caller::new("p", vec![]))
    }

    pub(crate) fn limit(id: &str, max: u32, secs: u64, per: KeyPart) -> CompiledLimit {
        CompiledLimit {
            id: id.into(),
            max,
            kind: LimitKind::Window(Duration::from_secs(secs)),
            per: vec![per],
            cost: None,
            class: None,
            tools: None,
            when: Vec::new(),
        }
    }

    #[test]
    fn allows_max_then_refuses_until_window_passes() {
        let l = limit("a", 2, 10, KeyPart::Session);
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
        assert_eq!(err.retry_after, Some(Duration::from_secs(8)));
        assert_eq!(
            err.reason(),
            "limit a allows 2 calls per 10s (per session); retry in 8s"
        );
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
        let s = limit("s", 1, 60, KeyPart::Session);
        let g = limit("g", 2, 60, KeyPart::Global);
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
        let wide = limit("wide", 10, 60, KeyPart::Session);
        let narrow = limit("narrow", 1, 60, KeyPart::Session);
        let lim = Limiter::new();
        let t = Instant::now();
        let caller = Caller::new("p", vec![]);
        let both = || counted_plain(&[&wide, &narrow], "s", &caller);
        let _ = lim.try_acquire(&both(), t).unwrap();
        assert!(lim.try_acquire(&both(), t).is_err());
        assert_eq!(lim.count(&c(&wide, "s")[0], t), 1);
    }

    #[test]
    fn released_slot_is_given_back() {
        let l = limit("a", 1, 60, KeyPart::Global);
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
        let l = Arc::new(limit("c", 37, 3600, KeyPart::Global));
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

    /// A budget sums costs; the refusal says when enough has left the window for this cost.
    #[test]
    fn a_budget_sums_costs_and_says_when_this_cost_fits() {
        let l = limit("b", 20, 3600, KeyPart::Principal);
        let lim = Limiter::new();
        let t0 = Instant::now();
        let at = |secs| t0 + Duration::from_secs(secs);
        let counted = |cost| {
            let mut v = c(&l, "s");
            v[0].cost = cost;
            v
        };
        let _ = lim.try_acquire(&counted(8), at(0)).unwrap();
        let _ = lim.try_acquire(&counted(8), at(600)).unwrap();
        let _ = lim.try_acquire(&counted(4), at(1200)).unwrap();
        // 20 spent: a call costing 1 fits when the first 8 leave (at 3600), one costing 16
        // when the first two leave (at 4200).
        let e = lim.try_acquire(&counted(1), at(1800)).unwrap_err();
        assert_eq!(
            (e.used, e.retry_after),
            (20, Some(Duration::from_secs(1800)))
        );
        let e = lim.try_acquire(&counted(16), at(1800)).unwrap_err();
        assert_eq!(e.retry_after, Some(Duration::from_secs(2400)));
        assert!(e.reason().contains("retry in 40m"), "{}", e.reason());
        let _ = lim.try_acquire(&counted(16), at(4200)).unwrap();
        assert_eq!(lim.count(&counted(0)[0], at(4200)), 20);
    }

    /// Running slots come back when the guard is dropped, however the call ended.
    #[test]
    fn running_slots_come_back_when_the_call_ends() {
        let mut l = limit("f", 2, 1, KeyPart::Principal);
        l.kind = LimitKind::InFlight;
        let lim = Limiter::new();
        let t = Instant::now();
        let a = lim.try_acquire(&c(&l, "s"), t).unwrap();
        let b = lim.try_acquire(&c(&l, "other"), t).unwrap();
        let e = lim.try_acquire(&c(&l, "s"), t).unwrap_err();
        assert_eq!(
            e.reason(),
            "limit f allows 2 calls at once (per principal); 2 are running: retry when one ends"
        );
        drop(a);
        let again = lim.try_acquire(&c(&l, "s"), t).unwrap();
        lim.release(b);
        drop(again);
        assert_eq!(lim.count(&c(&l, "s")[0], t), 0);
    }

    #[test]
    fn waits_read_as_people_write_them() {
        let t = |s| wait_text(Duration::from_secs(s));
        assert_eq!(
            [
                t(0),
                t(59),
                t(119),
                t(120),
                t(2460),
                t(7200),
                t(11_100),
                t(86_400 * 3 + 3600)
            ],
            ["1s", "59s", "119s", "2m", "41m", "2h", "3h 5m", "3d 1h"]
        );
    }
}
