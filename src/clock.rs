//! Time, injected. Everything that expires, counts a window or waits for an interval reads
//! the time from a [`Clock`]: the system's in the server, a [`ManualClock`] in tests, which
//! step it instead of sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

/// Where the time comes from. Cheap to clone; the system clock is the default.
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<ManualClock>>,
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.manual {
            None => f.write_str("Clock(system)"),
            Some(m) => write!(f, "Clock(manual, +{:?})", m.offset()),
        }
    }
}

impl Clock {
    /// The system's clocks.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that moves only when the returned handle advances it.
    pub fn manual() -> (Clock, Arc<ManualClock>) {
        let m = Arc::new(ManualClock {
            instant: Instant::now(),
            wall: SystemTime::now(),
            offset: Mutex::new(Duration::ZERO),
        });
        (
            Clock {
                manual: Some(m.clone()),
            },
            m,
        )
    }

    /// Monotonic time, for intervals and windows.
    pub fn now(&self) -> Instant {
        match &self.manual {
            None => Instant::now(),
            Some(m) => m.instant + m.offset(),
        }
    }

    /// Wall-clock time, for what is stored or shown (expiry as Unix seconds).
    pub fn wall(&self) -> SystemTime {
        match &self.manual {
            None => SystemTime::now(),
            Some(m) => m.wall + m.offset(),
        }
    }

    /// Unix seconds.
    pub fn unix(&self) -> i64 {
        self.wall()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    }

    /// Time since `earlier`, by this clock.
    pub fn since(&self, earlier: Instant) -> Duration {
        self.now().saturating_duration_since(earlier)
    }
}

/// The handle of a manual clock: tests advance it.
#[derive(Debug)]
pub struct ManualClock {
    instant: Instant,
    wall: SystemTime,
    offset: Mutex<Duration>,
}

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner()) += by;
    }

    fn offset(&self) -> Duration {
        *self.offset.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_moves_only_when_advanced() {
        let (clock, hand) = Clock::manual();
        let (t0, w0) = (clock.now(), clock.unix());
        assert_eq!(clock.now(), t0);
        hand.advance(Duration::from_secs(90));
        assert_eq!(clock.since(t0), Duration::from_secs(90));
        assert_eq!(clock.unix() - w0, 90);
        let copy = clock.clone();
        hand.advance(Duration::from_secs(10));
        assert_eq!(copy.since(t0), Duration::from_secs(100));
    }
}
