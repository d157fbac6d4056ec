//! Metrics in the Prometheus text format (`serve --metrics ADDR`, a listener of its own that
//! works with stdio too): calls by tool, decision and outcome; the time the gate and the whole
//! call take; rate-limit refusals by limit; policy reloads; state-store errors. Labels are
//! bounded (tool names, decisions, outcomes, limit ids): no principal and no argument values.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// The server's instruments.
pub struct Metrics {
    registry: Registry,
    calls: IntCounterVec,
    call_seconds: HistogramVec,
    rate_limited: IntCounterVec,
    reloads: IntCounterVec,
    store_errors: IntCounterVec,
    approvals: IntCounterVec,
    token_refusals: IntCounterVec,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let calls = IntCounterVec::new(
            Opts::new(
                "mcp_tool_calls_total",
                "Tool calls by tool, decision and outcome.",
            ),
            &["tool", "decision", "outcome"],
        )
        .expect("valid metric");
        let call_seconds = HistogramVec::new(
            HistogramOpts::new(
                "mcp_tool_call_duration_seconds",
                "Time from a tools/call reaching the gate to its outcome, by decision.",
            )
            .buckets(vec![
                0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0,
                30.0,
            ]),
            &["decision"],
        )
        .expect("valid metric");
        let rate_limited = IntCounterVec::new(
            Opts::new(
                "guarded_rate_limit_refusals_total",
                "Calls refused by a full rate limit.",
            ),
            &["limit"],
        )
        .expect("valid metric");
        let reloads = IntCounterVec::new(
            Opts::new("guarded_policy_reloads_total", "Policy reloads, by result."),
            &["result"],
        )
        .expect("valid metric");
        let store_errors = IntCounterVec::new(
            Opts::new(
                "guarded_state_store_errors_total",
                "Calls refused because the state store could not be reached.",
            ),
            &["decision"],
        )
        .expect("valid metric");
        let approvals = IntCounterVec::new(
            Opts::new(
                "guarded_approval_waits_total",
                "Calls answered `awaiting approval` (a new request, or a retry while it is pending), by how the human is asked.",
            ),
            &["via"],
        )
        .expect("valid metric");
        let token_refusals = IntCounterVec::new(
            Opts::new(
                "guarded_http_token_refusals_total",
                "HTTP requests refused for their bearer token, by reason.",
            ),
            &["reason"],
        )
        .expect("valid metric");
        for c in [
            &calls,
            &rate_limited,
            &reloads,
            &store_errors,
            &approvals,
            &token_refusals,
        ] {
            let _ = registry.register(Box::new(c.clone()));
        }
        let _ = registry.register(Box::new(call_seconds.clone()));
        Metrics {
            registry,
            calls,
            call_seconds,
            rate_limited,
            reloads,
            store_errors,
            approvals,
            token_refusals,
        }
    }

    /// An HTTP request refused for its token (`missing`, `unknown`, `expired`, `signature` …).
    pub fn token_refused(&self, reason: &str) {
        self.token_refusals.with_label_values(&[reason]).inc();
    }

    /// One call's outcome (what its audit record says).
    pub fn call(&self, tool: &str, decision: &str, outcome: &crate::audit::Outcome, seconds: f64) {
        let status = outcome_status(outcome);
        self.calls
            .with_label_values(&[tool, decision, status])
            .inc();
        self.call_seconds
            .with_label_values(&[decision])
            .observe(seconds);
        match outcome {
            crate::audit::Outcome::RateLimited { limit } => {
                self.rate_limited.with_label_values(&[limit]).inc()
            }
            crate::audit::Outcome::Error { message } if message.contains("state store") => {
                self.store_errors.with_label_values(&[decision]).inc()
            }
            crate::audit::Outcome::AwaitingApproval { via, .. } => {
                let via = if via.starts_with("elicitation") {
                    "elicitation"
                } else {
                    "out_of_band"
                };
                self.approvals.with_label_values(&[via]).inc()
            }
            _ => {}
        }
    }

    pub fn reload(&self, accepted: bool) {
        self.reloads
            .with_label_values(&[if accepted { "ok" } else { "refused" }])
            .inc();
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

fn outcome_status(o: &crate::audit::Outcome) -> &'static str {
    use crate::audit::Outcome::*;
    match o {
        Ok => "ok",
        Denied => "denied",
        Invalid { .. } => "invalid",
        RateLimited { .. } => "rate_limited",
        AwsError { .. } => "aws_error",
        Error { .. } => "error",
        AwaitingApproval { .. } => "awaiting_approval",
        Started => "started",
        ApprovalDecided { .. } => "approval_decided",
    }
}
