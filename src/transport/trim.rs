//! Giving memory back after sessions end. Ended sessions free their memory to the allocator,
//! which (glibc's malloc) keeps it: the HTTP load benchmark saw RSS stay at the peak of 1 000
//! idle sessions after they were all deleted. A second after sessions end, free memory is
//! returned to the operating system with `malloc_trim` (on other C libraries, nothing).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

/// How long after a session ends memory is trimmed (so a burst of ends trims once).
const SETTLE: Duration = Duration::from_secs(1);

/// Wakes the trimmer when sessions end.
#[derive(Clone, Default)]
pub struct Trimmer {
    ended: Arc<Notify>,
}

impl Trimmer {
    /// Start the trimmer task on the current runtime.
    pub fn start() -> Trimmer {
        let t = Trimmer::default();
        let ended = t.ended.clone();
        tokio::spawn(async move {
            loop {
                ended.notified().await;
                // Sessions often end in bursts: trim once for the burst (at most once a
                // second under steady churn).
                tokio::time::sleep(SETTLE).await;
                let _ = tokio::task::spawn_blocking(trim).await;
            }
        });
        t
    }

    /// A session ended.
    pub fn session_ended(&self) {
        self.ended.notify_one();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim only walks and releases the allocator's own free memory.
    let released = unsafe { libc::malloc_trim(0) };
    tracing::debug!(released = released != 0, "memory of ended sessions trimmed");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
