//! The MCP tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663): a long call (one with
//! `wait`) from a client that declared the extension is answered at once with a task handle;
//! the call runs through the same [`Gate::call`] in the background, its polls become the
//! task's status message, `tasks/get` returns its result, `tasks/cancel` stops the wait, and an
//! approval the gate asks for is asked through the task (`input_required`, answered with
//! `tasks/update`).
//!
//! Tasks belong to the principal that started them (from the transport's authentication, as
//! every caller here): another principal's `tasks/get` or `tasks/cancel` finds no such task.
//! They live in this process's memory: behind several replicas, route a principal's requests
//! to one replica (or use sessions).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmcp::ErrorData;
use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, CreateTaskResult, InputResponses, JsonObject,
};
use rmcp::task_manager::{TaskContext, TaskExit, TaskManager, TaskOptions};
use rmcp::{Peer, RoleServer};

use crate::gate::{Asker, CallCtx, Gate};
use crate::policy::Caller;

/// Running tasks one principal may have at once; a call beyond them is refused.
pub const MAX_RUNNING: usize = 32;

/// Tasks one principal may have at once, running or kept for their result; a call beyond them
/// is refused until the oldest expire.
pub const MAX_LIVE: usize = 256;

/// How long a finished task's result is kept after its wait could have ended.
const KEEP_AFTER: u64 = 10 * 60 * 1000;

/// The longest a task is kept (its `ttlMs`), whatever it asks.
pub const MAX_TTL_MS: u64 = 24 * 60 * 60 * 1000;

/// The tasks of every principal this process serves.
#[derive(Default)]
pub struct Tasks {
    by_principal: Mutex<HashMap<String, TaskManager>>,
    /// Per principal: until when each of its tasks may still be held (the task manager keeps a
    /// finished task for up to two of its ttl windows).
    live: Mutex<HashMap<String, std::collections::VecDeque<std::time::Instant>>>,
    clock: crate::clock::Clock,
}

/// A task's `ttlMs` for a call that waits `wait` seconds: the wait and ten minutes to fetch the
/// result, at most a day.
pub fn ttl_ms(wait: u64) -> u64 {
    wait.saturating_mul(1000)
        .saturating_add(KEEP_AFTER)
        .min(MAX_TTL_MS)
}

impl std::fmt::Debug for Tasks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tasks").finish_non_exhaustive()
    }
}

/// How a task asks a human for approval: the connection's own way, owned by the task.
pub enum TaskAsker {
    OutOfBand,
    Elicit(Peer<RoleServer>),
    /// Input-required results (protocol 2026-07-28), asked through the task.
    Mrtr,
}

/// One call to run as a task.
pub struct TaskCall {
    pub gate: Arc<Gate>,
    pub session: String,
    pub caller: Caller,
    pub asker: TaskAsker,
    pub trace: crate::telemetry::context::Carrier,
    pub name: String,
    pub args: Option<JsonObject>,
    /// The call's `wait`, in seconds (the task is kept this long and then some).
    pub wait: u64,
}

/// Whether a call should run as a task: the client declared the extension and the call asks
/// to `wait`.
pub fn wanted(client_declared: bool, args: Option<&JsonObject>) -> Option<u64> {
    if !client_declared {
        return None;
    }
    args?
        .get("wait")?
        .as_u64()
        .filter(|w| (1..=u64::from(crate::tools::common::MAX_WAIT_SECONDS)).contains(w))
}

impl Tasks {
    /// Tasks whose holding time follows `clock`.
    pub fn with_clock(clock: crate::clock::Clock) -> Self {
        Tasks {
            clock,
            ..Tasks::default()
        }
    }

    fn manager(&self, principal: &str) -> TaskManager {
        let mut map = self.by_principal.lock().unwrap_or_else(|e| e.into_inner());
        map.entry(principal.to_string()).or_default().clone()
    }

    fn existing(&self, principal: &str) -> Option<TaskManager> {
        let map = self.by_principal.lock().unwrap_or_else(|e| e.into_inner());
        map.get(principal).cloned()
    }

    /// Start `call` as a task of its caller; the handle is the call's answer.
    pub fn start(&self, call: TaskCall) -> CallToolResponse {
        let manager = self.manager(&call.caller.principal);
        if manager.running_task_count() >= MAX_RUNNING {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "{} {MAX_RUNNING} tasks of this principal are already running; wait for one to finish or cancel one",
                crate::gate::prefix::RATE_LIMITED
            ))])
            .into();
        }
        let ttl = ttl_ms(call.wait);
        if let Err(free_in) = self.hold(&call.caller.principal, ttl) {
            return CallToolResult::error(vec![ContentBlock::text(format!(
                "{} {MAX_LIVE} tasks of this principal are kept (running or holding a result); the oldest is released in {}s",
                crate::gate::prefix::RATE_LIMITED,
                free_in.as_secs().max(1)
            ))])
            .into();
        }
        let options = TaskOptions::new()
            .with_ttl_ms(ttl)
            .with_poll_interval_ms(2000)
            .with_status_message(format!("{} started", call.name));
        let task = manager.spawn(options, move |task| Box::pin(run(call, task)));
        CallToolResponse::Task(CreateTaskResult::new(task))
    }

    /// Count a new task of `principal`, kept for up to two `ttl_ms` windows; or how long until
    /// one of the [`MAX_LIVE`] it holds is released.
    fn hold(&self, principal: &str, ttl_ms: u64) -> Result<(), std::time::Duration> {
        let now = self.clock.now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|_, held| {
            held.retain(|until| *until > now);
            !held.is_empty()
        });
        let held = live.entry(principal.to_string()).or_default();
        if held.len() >= MAX_LIVE {
            let soonest = held.iter().min().copied().unwrap_or(now);
            return Err(soonest.saturating_duration_since(now));
        }
        held.push_back(now + std::time::Duration::from_millis(ttl_ms.saturating_mul(2)));
        Ok(())
    }

    pub fn get(&self, principal: &str, id: &str) -> Result<rmcp::model::GetTaskResult, ErrorData> {
        let manager = self.existing(principal).ok_or_else(|| unknown(id))?;
        Ok(rmcp::model::GetTaskResult::new(manager.get_task(id)?))
    }

    pub fn update(
        &self,
        principal: &str,
        id: &str,
        responses: InputResponses,
    ) -> Result<(), ErrorData> {
        let manager = self.existing(principal).ok_or_else(|| unknown(id))?;
        manager.update_task(id, responses)
    }

    pub fn cancel(&self, principal: &str, id: &str) -> Result<(), ErrorData> {
        let manager = self.existing(principal).ok_or_else(|| unknown(id))?;
        manager.cancel_task(id)
    }
}

fn unknown(id: &str) -> ErrorData {
    ErrorData::invalid_params(format!("no task {id}"), None)
}

/// The task's work: the gate call, its approvals asked through the task, its cancellation
/// turned into the call's.
async fn run(call: TaskCall, task: TaskContext) -> Result<CallToolResult, TaskExit> {
    let cancel = tokio_util::sync::CancellationToken::new();
    let progress = crate::catalogue::Progress::for_task(task.clone(), cancel.clone());
    let forward = {
        let (task, cancel) = (task.clone(), cancel.clone());
        tokio::spawn(async move {
            task.cancelled().await;
            cancel.cancel();
        })
    };
    let mut retry: (Option<InputResponses>, Option<String>) = (None, None);
    let mut round = 0u32;
    let outcome = loop {
        let asker = match &call.asker {
            TaskAsker::OutOfBand => Asker::OutOfBand,
            TaskAsker::Elicit(peer) => Asker::Elicit(peer),
            TaskAsker::Mrtr => Asker::Mrtr {
                responses: retry.0.take(),
                state: retry.1.take(),
            },
        };
        let cx = CallCtx {
            session: &call.session,
            caller: &call.caller,
            asker,
            progress: progress.clone(),
            trace: call.trace.clone(),
        };
        match call.gate.call(cx, &call.name, call.args.clone()).await {
            CallToolResponse::Complete(result) => break Ok(result),
            CallToolResponse::InputRequired(input) => {
                // Each question the gate asks goes to the client through the task, under a key
                // of its own (a task's keys are unique over its life), and comes back under the
                // gate's key for the retry.
                round += 1;
                let mut answers = InputResponses::new();
                for (key, request) in input.input_requests.unwrap_or_default() {
                    match task.request_input(format!("{round}.{key}"), request).await {
                        Ok(answer) => {
                            answers.insert(key, answer);
                        }
                        Err(_) => break,
                    }
                }
                if task.is_cancel_requested() {
                    break Err(TaskExit::Cancelled);
                }
                retry = (Some(answers), input.request_state);
            }
            _ => {
                break Err(TaskExit::Error(ErrorData::internal_error(
                    "a task's call answered with another task",
                    None,
                )));
            }
        }
    };
    forward.abort();
    // A call that ran is completed, cancelled or not: its result says what was done (a
    // cancelled wait reports `Cancelled: true`).
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A principal holds at most MAX_LIVE tasks; the next is refused with the time until the
    /// soonest is released, and admitted once that time has passed (by the clock, not a sleep).
    #[test]
    fn held_tasks_are_bounded_and_released_by_time() {
        let (clock, hand) = crate::clock::Clock::manual();
        let tasks = Tasks::with_clock(clock);
        for i in 0..MAX_LIVE {
            hand.advance(Duration::from_millis(1));
            tasks.hold("alice", 1000 + i as u64).expect("under the cap");
        }
        let wait = tasks.hold("alice", 1000).expect_err("over the cap");
        assert_eq!(wait, Duration::from_millis(2000 - MAX_LIVE as u64 + 1));
        assert!(tasks.hold("bob", 1000).is_ok(), "per principal");
        hand.advance(wait - Duration::from_millis(1));
        assert!(tasks.hold("alice", 1000).is_err(), "not a moment early");
        hand.advance(Duration::from_millis(1));
        assert!(tasks.hold("alice", 1000).is_ok(), "released");
    }
}
