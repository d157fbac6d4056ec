//! Audit records the gate writes for what is not a call through it: a refusal before the gate
//! (a request without an authenticated caller, an operator deciding its own call's approval)
//! and a policy reload.

use serde_json::Value;

use super::{Gate, Refusal, call};
use crate::audit::{AuditRecord, Outcome};

impl Gate {
    /// Refuse something that is not a call through the gate: audited, counted, and its text
    /// returned for the answer.
    pub fn refuse_outside(
        &self,
        refusal: &Refusal,
        session: &str,
        principal: Option<&str>,
        what: &str,
        args: Value,
    ) -> String {
        tracing::warn!(kind = refusal.kind().as_str(), what = what, "refused");
        self.metrics.refused(refusal.kind().as_str());
        let _ = self.audit.write(AuditRecord {
            principal: principal.map(str::to_string),
            rule: refusal.basis(),
            reason: refusal.reason(),
            ..AuditRecord::event(
                session,
                call::bounded_name(what),
                args,
                refusal.decision(),
                refusal.outcome(),
                self.policy().hash.clone(),
            )
        });
        refusal.text()
    }

    /// Record a policy reload (or its refusal) in the audit log.
    pub fn audit_reload(&self, file: &str, accepted: bool, detail: String) {
        self.metrics.reload(accepted);
        let _ = self.audit.write(AuditRecord {
            reason: Some(detail.clone()),
            ..AuditRecord::event(
                "server",
                "policy_reload",
                serde_json::json!({ "file": file }),
                if accepted { "reloaded" } else { "refused" },
                if accepted {
                    Outcome::Ok
                } else {
                    Outcome::Invalid { message: detail }
                },
                self.policy().hash.clone(),
            )
        });
    }
}
