//! One call on its way through the gate: what its audit records, refusals, metrics and span
//! need.

use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{CallToolResponse, CallToolResult, ContentBlock, InputRequiredResult};
use serde_json::Value;

use super::refusal::RefusalKind;
use super::{CallCtx, Gate, Refusal};
use crate::audit::{AuditRecord, AwsIdentityRecord, Outcome, TokenRecord, oversized, redact};
use crate::identity::assume::Acting;
use crate::policy::{CompiledPolicy, Decision};

/// One call on its way through the gate: what its audit records and refusals need.
pub(super) struct Call<'a> {
    pub(super) gate: &'a Gate,
    pub(super) cx: &'a CallCtx<'a>,
    pub(super) name: &'a str,
    pub(super) start: Instant,
    pub(super) policy: Arc<CompiledPolicy>,
    /// The arguments with secrets redacted (approval prompts and records).
    pub(super) redacted: Value,
    /// What the audit record stores instead of the redacted arguments when they are too large.
    oversized: Option<Value>,
    pub(super) budget_key: String,
    /// The AWS identity the call runs as, once known (unset: the server's own).
    pub(super) acting: std::sync::OnceLock<Acting>,
    /// The resource facts the policy read, once looked up.
    pub(super) resource: std::sync::OnceLock<Value>,
    /// What the IAM guard read of an IAM change (documents' origins, the account).
    pub(super) grants: std::sync::OnceLock<Value>,
    /// What the history conditions read counted, once looked up.
    pub(super) history: std::sync::OnceLock<std::collections::BTreeMap<String, u64>>,
    /// The deciding rule's conditions, which held (from the answer of `authorize`).
    pub(super) conditions: std::sync::OnceLock<Vec<String>>,
    /// When the handler started: the gate's part of the call ends there.
    pub(super) handler_at: std::sync::OnceLock<Instant>,
    /// The call's span (disabled unless traces are exported).
    pub(super) span: tracing::Span,
}

impl<'a> Call<'a> {
    pub(super) fn new(
        gate: &'a Gate,
        cx: &'a CallCtx<'a>,
        name: &'a str,
        raw: &Value,
        span: tracing::Span,
    ) -> Self {
        let redacted = redact(raw);
        Call {
            gate,
            cx,
            name,
            start: Instant::now(),
            policy: gate.policy(),
            oversized: oversized(&redacted),
            redacted,
            // A principal never holds a control character, so the key is injective.
            budget_key: format!("{}\n{}", cx.session, cx.caller.principal),
            acting: std::sync::OnceLock::new(),
            resource: std::sync::OnceLock::new(),
            grants: std::sync::OnceLock::new(),
            history: std::sync::OnceLock::new(),
            conditions: std::sync::OnceLock::new(),
            handler_at: std::sync::OnceLock::new(),
            span,
        }
    }

    /// Write one audit record for this call.
    pub(super) fn record(
        &self,
        decision: &str,
        basis: Option<String>,
        reason: Option<String>,
        outcome: Outcome,
    ) -> std::io::Result<()> {
        self.record_as(decision, basis, reason, outcome, None)
    }

    /// Write one audit record for this call; a refusal's kind is counted by metrics.
    fn record_as(
        &self,
        decision: &str,
        basis: Option<String>,
        reason: Option<String>,
        outcome: Outcome,
        refused: Option<RefusalKind>,
    ) -> std::io::Result<()> {
        crate::telemetry::span::outcome(
            &self.span,
            decision,
            basis.as_deref(),
            crate::metrics::outcome_status(&outcome),
        );
        let elapsed = self.start.elapsed();
        if outcome != Outcome::Started {
            let seconds = elapsed.as_secs_f64();
            let gate_seconds = self
                .handler_at
                .get()
                .map_or(seconds, |at| at.duration_since(self.start).as_secs_f64());
            self.gate.metrics.call(
                self.gate.label(self.name),
                decision,
                &outcome,
                refused.map(RefusalKind::as_str),
                seconds,
                gate_seconds,
            );
        }
        self.gate.audit.write(AuditRecord {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            session: self.cx.session.to_string(),
            principal: Some(self.cx.caller.principal.clone()),
            roles: self.cx.caller.roles.clone(),
            token: self.cx.caller.token.as_ref().map(|t| TokenRecord {
                issuer: t.issuer.clone(),
                jti: t.id.clone(),
            }),
            claims: self.policy.claims_for_audit(self.cx.caller),
            aws_identity: match self.acting.get() {
                Some(Acting::Assumed(a)) => Some(AwsIdentityRecord {
                    role_arn: a.role_arn.clone(),
                    assumed_arn: a.assumed_arn.clone(),
                    session_name: a.session_name.clone(),
                    source_identity: a.source_identity.clone(),
                }),
                _ => None,
            },
            resource: self.resource.get().cloned(),
            iam_grants: self.grants.get().cloned(),
            history: self.history.get().cloned(),
            tool: bounded_name(self.name),
            args: self.oversized.as_ref().unwrap_or(&self.redacted).clone(),
            decision: decision.to_string(),
            rule: basis,
            conditions: self.conditions.get().cloned().unwrap_or_default(),
            reason,
            latency_us: elapsed.as_micros() as u64,
            outcome,
            policy: self.policy.hash.clone(),
            mode: self.gate.shadow(&self.policy).then(|| "shadow".to_string()),
            seq: 0,
            prev: String::new(),
        })
    }

    /// Refuse the call: audit it and tell the agent why. A refusal stays a refusal whether or
    /// not its record could be written.
    pub(super) fn refuse(&self, r: Refusal) -> CallToolResponse {
        tracing::info!(tool = self.name, decision = r.decision(), rule = ?r.basis(), "refused");
        if r.is_invalid() {
            let now = self.gate.clock.now();
            self.gate.refusals.note(&self.budget_key, now);
            self.gate
                .principal_refusals
                .note(&self.cx.caller.principal, now);
        }
        if r.audited() {
            let _ = self.record_as(
                r.decision(),
                r.basis(),
                r.reason(),
                r.outcome(),
                Some(r.kind()),
            );
        } else {
            self.gate.metrics.refused(r.kind().as_str());
        }
        CallToolResult::error(vec![ContentBlock::text(r.text())]).into()
    }

    /// MRTR: the answer is a request for the human's input.
    pub(super) fn ask(
        &self,
        input: InputRequiredResult,
        decision: &Decision<'_>,
    ) -> CallToolResponse {
        tracing::info!(tool = self.name, "asked the user for approval (MRTR)");
        let _ = self.record(
            "require_approval",
            Some(decision.basis.to_string()),
            Some(decision.reason.clone()),
            Outcome::AwaitingApproval {
                via: "elicitation (input required)".into(),
                approval_id: None,
            },
        );
        input.into()
    }

    /// A state the gate's own logic rules out; refused rather than trusted.
    pub(super) fn fail(&self, what: &str) -> CallToolResponse {
        tracing::error!(tool = self.name, "internal: {what}");
        self.refuse(Refusal::Internal(what.to_string()))
    }
}

/// The tool name as the audit record keeps it: a name longer than any tool's is cut (at a
/// character boundary) and marked with its length, so a client cannot fill the log with names.
pub(super) fn bounded_name(name: &str) -> String {
    const MAX: usize = 128;
    if name.len() <= MAX {
        return name.to_string();
    }
    let mut end = MAX;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &name[..end], name.len())
}
