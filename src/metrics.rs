//! The server's metrics, in the Prometheus text format (`serve --metrics ADDR`, a listener of
//! its own that works with stdio too) and, when the `OTEL_*` variables ask for it, the same
//! instruments over OTLP: calls by tool, decision and outcome; the time the whole call, the
//! gate and the AWS call take; rate-limit refusals by limit; approvals asked and decided;
//! policy reloads; state-store errors; refused bearer tokens. Labels are bounded (tool names,
//! decisions, outcomes, limit ids, services): no principal and no argument values.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, Meter};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

/// Seconds buckets from 10 µs to 30 s (a refused call takes microseconds, a created broker's
/// wait minutes).
const BUCKETS: &[f64] = &[
    0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0,
];

/// The server's instruments.
pub struct Metrics {
    registry: Registry,
    calls: IntCounterVec,
    call_seconds: HistogramVec,
    gate_seconds: HistogramVec,
    aws_seconds: HistogramVec,
    rate_limited: IntCounterVec,
    reloads: IntCounterVec,
    store_errors: IntCounterVec,
    approvals: IntCounterVec,
    decided: IntCounterVec,
    pending: IntGauge,
    token_refusals: IntCounterVec,
    refusals: IntCounterVec,
    otlp: Option<Otlp>,
}

/// The same instruments, exported over OTLP.
struct Otlp {
    calls: Counter<u64>,
    call_seconds: Histogram<f64>,
    gate_seconds: Histogram<f64>,
    aws_seconds: Histogram<f64>,
    rate_limited: Counter<u64>,
    reloads: Counter<u64>,
    store_errors: Counter<u64>,
    approvals: Counter<u64>,
    decided: Counter<u64>,
    token_refusals: Counter<u64>,
    refusals: Counter<u64>,
}

impl Otlp {
    fn new(meter: &Meter) -> Otlp {
        let seconds = |name: &'static str, what: &'static str| {
            meter
                .f64_histogram(name)
                .with_unit("s")
                .with_description(what)
                .with_boundaries(BUCKETS.to_vec())
                .build()
        };
        let count = |name: &'static str, what: &'static str| {
            meter.u64_counter(name).with_description(what).build()
        };
        Otlp {
            calls: count(
                "guarded.tool.calls",
                "Tool calls by tool, decision and outcome.",
            ),
            call_seconds: seconds(
                "mcp.server.operation.duration",
                "Time from a tools/call reaching the gate to its outcome.",
            ),
            gate_seconds: seconds(
                "guarded.gate.duration",
                "Time a call spends in the gate before its handler runs (or it is refused).",
            ),
            aws_seconds: seconds(
                "guarded.aws.duration",
                "Time a handler spends calling AWS (or the RabbitMQ API).",
            ),
            rate_limited: count(
                "guarded.rate_limit.refusals",
                "Calls refused by a full rate limit.",
            ),
            reloads: count("guarded.policy.reloads", "Policy reloads, by result."),
            store_errors: count(
                "guarded.state_store.errors",
                "Calls refused because the state store could not be reached.",
            ),
            approvals: count(
                "guarded.approval.waits",
                "Calls answered `awaiting approval`, by how the human is asked.",
            ),
            decided: count(
                "guarded.approvals.decided",
                "Approvals decided by an operator over /admin/approvals.",
            ),
            token_refusals: count(
                "guarded.http.token_refusals",
                "HTTP requests refused for their bearer token, by reason.",
            ),
            refusals: count(
                "guarded.refusals",
                "Tool calls refused, by the kind of refusal.",
            ),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("otlp", &self.otlp.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

fn counter(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn histogram(name: &str, help: &str, labels: &[&str]) -> HistogramVec {
    HistogramVec::new(
        HistogramOpts::new(name, help).buckets(BUCKETS.to_vec()),
        labels,
    )
    .expect("valid metric")
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let m = Metrics {
            calls: counter(
                "mcp_tool_calls_total",
                "Tool calls by tool, decision and outcome.",
                &["tool", "decision", "outcome"],
            ),
            call_seconds: histogram(
                "mcp_tool_call_duration_seconds",
                "Time from a tools/call reaching the gate to its outcome, by decision.",
                &["decision"],
            ),
            gate_seconds: histogram(
                "guarded_gate_duration_seconds",
                "Time a call spends in the gate before its handler runs (or it is refused), by decision.",
                &["decision"],
            ),
            aws_seconds: histogram(
                "guarded_aws_call_duration_seconds",
                "Time a handler spends calling AWS (or the RabbitMQ API), by service and result.",
                &["service", "result"],
            ),
            rate_limited: counter(
                "guarded_rate_limit_refusals_total",
                "Calls refused by a full rate limit.",
                &["limit"],
            ),
            reloads: counter(
                "guarded_policy_reloads_total",
                "Policy reloads, by result.",
                &["result"],
            ),
            store_errors: counter(
                "guarded_state_store_errors_total",
                "Calls refused because the state store could not be reached.",
                &["decision"],
            ),
            approvals: counter(
                "guarded_approval_waits_total",
                "Calls answered `awaiting approval` (a new request, or a retry while it is pending), by how the human is asked.",
                &["via"],
            ),
            decided: counter(
                "guarded_approvals_decided_total",
                "Approvals decided by an operator over /admin/approvals, by decision.",
                &["decision"],
            ),
            pending: IntGauge::new(
                "guarded_approvals_pending",
                "Approvals waiting for a decision (read from the state store at each scrape).",
            )
            .expect("valid metric"),
            token_refusals: counter(
                "guarded_http_token_refusals_total",
                "HTTP requests refused for their bearer token, by reason.",
                &["reason"],
            ),
            refusals: counter(
                "guarded_refusals_total",
                "Tool calls refused, by the kind of refusal (denied, invalid, approval, rate_limited, identity, lookup, not_found, state_store, flooded, audit_unavailable, internal, unauthenticated, self_approval).",
                &["kind"],
            ),
            otlp: None,
            registry,
        };
        for c in [
            &m.calls,
            &m.rate_limited,
            &m.reloads,
            &m.store_errors,
            &m.approvals,
            &m.decided,
            &m.token_refusals,
            &m.refusals,
        ] {
            let _ = m.registry.register(Box::new(c.clone()));
        }
        for h in [&m.call_seconds, &m.gate_seconds, &m.aws_seconds] {
            let _ = m.registry.register(Box::new(h.clone()));
        }
        let _ = m.registry.register(Box::new(m.pending.clone()));
        m
    }

    /// Also export every instrument through `meter` (OTLP).
    pub fn with_otlp(mut self, meter: &Meter) -> Self {
        self.otlp = Some(Otlp::new(meter));
        self
    }

    /// A refused call, by the refusal's kind (`RefusalKind::as_str`).
    pub fn refused(&self, kind: &'static str) {
        self.refusals.with_label_values(&[kind]).inc();
        if let Some(o) = &self.otlp {
            o.refusals.add(1, &[KeyValue::new("kind", kind)]);
        }
    }

    /// An HTTP request refused for its token (`missing`, `unknown`, `expired`, `signature` …).
    pub fn token_refused(&self, reason: &str) {
        self.token_refusals.with_label_values(&[reason]).inc();
        if let Some(o) = &self.otlp {
            o.token_refusals
                .add(1, &[KeyValue::new("reason", reason.to_string())]);
        }
    }

    /// One call's outcome (what its audit record says): the whole call's time and the part of
    /// it spent in the gate.
    pub fn call(
        &self,
        tool: &str,
        decision: &str,
        outcome: &crate::audit::Outcome,
        refused: Option<&'static str>,
        seconds: f64,
        gate_seconds: f64,
    ) {
        if let Some(kind) = refused {
            self.refused(kind);
        }
        let status = outcome_status(outcome);
        self.calls
            .with_label_values(&[tool, decision, status])
            .inc();
        self.call_seconds
            .with_label_values(&[decision])
            .observe(seconds);
        self.gate_seconds
            .with_label_values(&[decision])
            .observe(gate_seconds);
        if let Some(o) = &self.otlp {
            let attrs = [
                KeyValue::new("mcp.method.name", "tools/call"),
                KeyValue::new("gen_ai.tool.name", tool.to_string()),
                KeyValue::new("guarded.decision", decision.to_string()),
                KeyValue::new("guarded.outcome", status),
            ];
            o.calls.add(1, &attrs);
            o.call_seconds.record(seconds, &attrs);
            // The decision attribute alone (attrs[2]).
            o.gate_seconds.record(gate_seconds, &attrs[2..3]);
        }
        match outcome {
            crate::audit::Outcome::RateLimited { limit } => {
                self.rate_limited.with_label_values(&[limit]).inc();
                if let Some(o) = &self.otlp {
                    o.rate_limited
                        .add(1, &[KeyValue::new("guarded.limit", limit.clone())]);
                }
            }
            crate::audit::Outcome::Error { .. } if refused == Some("state_store") => {
                self.store_errors.with_label_values(&[decision]).inc();
                if let Some(o) = &self.otlp {
                    o.store_errors.add(
                        1,
                        &[KeyValue::new("guarded.decision", decision.to_string())],
                    );
                }
            }
            crate::audit::Outcome::AwaitingApproval { via, .. } => {
                let via = if via.starts_with("elicitation") {
                    "elicitation"
                } else {
                    "out_of_band"
                };
                self.approvals.with_label_values(&[via]).inc();
                if let Some(o) = &self.otlp {
                    o.approvals.add(1, &[KeyValue::new("via", via)]);
                }
            }
            _ => {}
        }
    }

    /// The time a handler spent on its AWS (or RabbitMQ API) requests.
    pub fn aws_call(&self, service: &'static str, ok: bool, seconds: f64) {
        let result = if ok { "ok" } else { "error" };
        self.aws_seconds
            .with_label_values(&[service, result])
            .observe(seconds);
        if let Some(o) = &self.otlp {
            o.aws_seconds.record(
                seconds,
                &[
                    KeyValue::new("rpc.service", service),
                    KeyValue::new("guarded.result", result),
                ],
            );
        }
    }

    /// An operator's decision on an approval.
    pub fn approval_decided(&self, approved: bool) {
        let decision = if approved { "approved" } else { "denied" };
        self.decided.with_label_values(&[decision]).inc();
        if let Some(o) = &self.otlp {
            o.decided.add(1, &[KeyValue::new("decision", decision)]);
        }
    }

    /// How many approvals wait for a decision (set before each scrape).
    pub fn set_pending_approvals(&self, n: usize) {
        self.pending.set(n.try_into().unwrap_or(i64::MAX));
    }

    pub fn reload(&self, accepted: bool) {
        let result = if accepted { "ok" } else { "refused" };
        self.reloads.with_label_values(&[result]).inc();
        if let Some(o) = &self.otlp {
            o.reloads.add(1, &[KeyValue::new("result", result)]);
        }
    }

    /// Expose how audit shipping goes (`serve --audit-cloudwatch`): records shipped, failures,
    /// records CloudWatch refused, lag in records and in seconds.
    pub fn register_audit_shipping(&self, s: &crate::audit::ship::ShipStatus) {
        for c in [&s.shipped, &s.failures, &s.rejected] {
            let _ = self.registry.register(Box::new(c.clone()));
        }
        let _ = self.registry.register(Box::new(s.lag_records.clone()));
        let _ = self.registry.register(Box::new(s.lag_seconds.clone()));
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

/// The outcome's label (also the span's `guarded.outcome`).
pub fn outcome_status(o: &crate::audit::Outcome) -> &'static str {
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
        Checkpoint { .. } => "checkpoint",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_has_every_instrument_after_use() {
        let m = Metrics::new();
        m.call(
            "list_brokers",
            "allow",
            &crate::audit::Outcome::Ok,
            None,
            0.002,
            0.00001,
        );
        m.call(
            "list_brokers",
            "allow",
            &crate::audit::Outcome::Error {
                message: "the state store (redis) cannot be reached".into(),
            },
            Some("state_store"),
            0.002,
            0.00001,
        );
        m.aws_call("mq", true, 0.002);
        m.approval_decided(true);
        m.set_pending_approvals(3);
        let text = m.render();
        for needle in [
            "mcp_tool_calls_total{decision=\"allow\",outcome=\"ok\",tool=\"list_brokers\"} 1",
            "guarded_gate_duration_seconds_count{decision=\"allow\"} 2",
            "guarded_aws_call_duration_seconds_count{result=\"ok\",service=\"mq\"} 1",
            "guarded_approvals_decided_total{decision=\"approved\"} 1",
            "guarded_refusals_total{kind=\"state_store\"} 1",
            "guarded_state_store_errors_total{decision=\"allow\"} 1",
            "guarded_approvals_pending 3",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
