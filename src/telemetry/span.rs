//! The spans of a tool call: one `tools/call <tool>` server span, the gate's steps as its
//! children (`validate`, `resource_lookup`, `decide`, `approval`, `rate_limit`,
//! `aws_identity`, `audit`, and the handler's `aws mq:CreateBroker` or `rabbitmq GET …`), with
//! attributes from the OpenTelemetry semantic conventions where they exist (`mcp.method.name`,
//! `gen_ai.tool.name`, `enduser.id`, `rpc.system`/`rpc.service`/`rpc.method`,
//! `aws.request_id`, `error.type`) and `guarded.*` for the gate's own (class, decision, rule,
//! outcome). Argument values, tokens and secrets are never attributes.

use tracing::Span;
use tracing::field::Empty;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::TARGET;
use super::context::Carrier;

/// The span of one `tools/call`, joined to the client's trace when it sent one.
pub fn call(tool: &str, principal: &str, carrier: impl FnOnce() -> Carrier) -> Span {
    let span = tracing::info_span!(
        target: TARGET,
        "tools/call",
        otel.name = %format_args!("tools/call {tool}"),
        otel.kind = "server",
        otel.status_code = Empty,
        mcp.method.name = "tools/call",
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = tool,
        enduser.id = principal,
        guarded.class = Empty,
        guarded.decision = Empty,
        guarded.rule = Empty,
        guarded.outcome = Empty,
        error.type = Empty,
    );
    if !span.is_disabled()
        && let Some(parent) = carrier().parent()
    {
        let _ = span.set_parent(parent);
    }
    span
}

/// One of the gate's steps, a child of the current call span.
#[macro_export]
macro_rules! step_span {
    ($name:literal) => {
        tracing::info_span!(target: $crate::telemetry::TARGET, $name)
    };
}

/// The handler's span: the AWS operation (or RabbitMQ API request) the tool is for.
pub fn handler(api: &crate::catalogue::ApiCall) -> Span {
    tracing::info_span!(
        target: TARGET,
        "handler",
        otel.name = %format_args!("{} {}", api.service, api.method),
        otel.kind = "client",
        otel.status_code = Empty,
        rpc.system = api.system,
        rpc.service = api.service,
        rpc.method = api.method,
        aws.request_id = Empty,
        error.type = Empty,
    )
}

/// A handler's failure: AWS's error code and request id.
pub fn handler_failed(span: &Span, code: &str, request_id: Option<&str>) {
    span.record("otel.status_code", "error");
    span.record("error.type", code);
    if let Some(id) = request_id {
        span.record("aws.request_id", id);
    }
}

/// The call's class, once the tool is known.
pub fn class(span: &Span, class: &str) {
    span.record("guarded.class", class);
}

/// The call's end: the gate's decision, the deciding rule and the outcome. Outcomes other than
/// `ok`, `started` and an approval wait mark the span as an error of that type.
pub fn outcome(span: &Span, decision: &str, rule: Option<&str>, outcome: &str) {
    if span.is_disabled() {
        return;
    }
    span.record("guarded.decision", decision);
    if let Some(rule) = rule {
        span.record("guarded.rule", rule);
    }
    span.record("guarded.outcome", outcome);
    if !matches!(outcome, "ok" | "started" | "awaiting_approval") {
        span.record("otel.status_code", "error");
        span.record("error.type", outcome);
    }
}
