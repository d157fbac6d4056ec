//! Shutting down cleanly (SIGTERM, as Kubernetes sends it): from the signal on, `/readyz`
//! answers 503 and new calls are refused with a retryable error before anything is decided;
//! calls running finish (or the drain timeout ends the wait); then the audit log's last
//! checkpoint is written and the file synced.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use super::Gate;

/// Whether the gate drains, and how many calls run through it now.
#[derive(Debug, Default)]
pub(super) struct Drain {
    draining: AtomicBool,
    running: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// One call running: counted until dropped (however the call ends).
pub(super) struct Running<'a>(&'a Drain);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        if self.0.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

impl Drain {
    pub(super) fn enter(&self) -> Running<'_> {
        self.running.fetch_add(1, Ordering::AcqRel);
        Running(self)
    }

    pub(super) fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }
}

impl Gate {
    /// Take no new calls from now on; `/readyz` says so.
    pub fn start_draining(&self) {
        self.drain.draining.store(true, Ordering::Release);
        tracing::info!(
            running = self.calls_running(),
            "draining: new calls are refused, calls running finish"
        );
    }

    pub fn draining(&self) -> bool {
        self.drain.draining()
    }

    /// Calls inside the gate now.
    pub fn calls_running(&self) -> usize {
        self.drain.running.load(Ordering::Acquire)
    }

    /// SIGTERM: take no new calls and wait for the running ones, at most `timeout`; whether
    /// all finished.
    pub async fn drain(&self, timeout: Duration) -> bool {
        self.start_draining();
        self.drained(timeout).await
    }

    /// Wait until no call runs, or `timeout` passes; whether all finished.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.drain.idle.notified();
                if self.calls_running() == 0 {
                    return;
                }
                idle.await;
            }
        };
        let done = tokio::time::timeout(timeout, wait).await.is_ok();
        if !done {
            tracing::warn!(
                running = self.calls_running(),
                "drain timeout: calls still running are cut off"
            );
        }
        done
    }

    /// Write a checkpoint when one is due (`--audit-checkpoint-interval`).
    pub fn audit_checkpoint_if_due(&self) {
        if let Err(e) = self.audit.checkpoint_if_due() {
            tracing::error!(error = %e, "an audit checkpoint could not be written");
        }
    }

    /// At exit: the last checkpoint, the audit file synced.
    pub fn close_audit(&self) {
        if let Err(e) = self.audit.close() {
            tracing::error!(error = %e, "the audit log could not be closed cleanly");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The wait ends when the last running call ends, not before.
    #[tokio::test(start_paused = true)]
    async fn the_wait_ends_with_the_last_call() {
        let d = std::sync::Arc::new(Drain::default());
        let a = d.enter();
        let b = d.enter();
        drop(a);
        assert_eq!(d.running.load(Ordering::Acquire), 1);
        let d2 = d.clone();
        let waiter = tokio::spawn(async move {
            loop {
                let idle = d2.idle.notified();
                if d2.running.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(b);
        waiter.await.unwrap();
    }
}
