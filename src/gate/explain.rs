//! `policy explain`: what the gate would decide for a call and why, without calling AWS or
//! counting the call.

use serde::Serialize;
use serde_json::Value;

use super::verdict::{Denial, Request, Verdict, authorize};
use super::{Gate, args_of};
use crate::catalogue::RiskClass;
use crate::policy::{Caller, CompiledLimit, Scope};

/// What the gate would do with a call, without calling AWS (`policy explain`).
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub tool: String,
    pub class: Option<RiskClass>,
    /// allow | deny | require_approval | invalid | unknown
    pub decision: String,
    pub basis: Option<String>,
    pub reason: String,
    pub conditions: Vec<String>,
    pub limits: Vec<String>,
    /// Every rule considered, in order (exact name first, then globs in file order), and
    /// whether it matched.
    pub considered: Vec<String>,
    /// The `resource.*` facts the tool's rules read (the server looks them up before deciding;
    /// `policy explain --resource` supplies them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resource_facts: Vec<String>,
}

impl Gate {
    /// What the gate would decide for a call, without calling AWS or counting it.
    /// `resource`: facts of the resource the call touches, for `resource.*` conditions (none:
    /// those conditions fail, as when a fact is missing).
    pub fn explain(
        &self,
        name: &str,
        args: Value,
        caller: &Caller,
        resource: Option<&Value>,
    ) -> Explanation {
        self.explain_with(name, args, caller, resource, None)
    }

    /// [`Gate::explain`], with what the IAM guard would read from AWS given as a fixture.
    pub fn explain_with(
        &self,
        name: &str,
        args: Value,
        caller: &Caller,
        resource: Option<&Value>,
        iam: Option<&crate::tools::iam::guard::IamFixture>,
    ) -> Explanation {
        let policy = self.policy();
        let spec = self.catalogue.get(name).cloned();
        let grants = spec
            .as_deref()
            .zip(iam)
            .map(|(s, f)| f.grants(&s.documents, &args));
        let class = spec.as_ref().map(|s| s.class);
        let validated = spec.as_deref().map(|s| self.validate(s, args));
        let request = Request {
            name,
            tool: spec.as_deref().zip(args_of(&validated)),
            caller,
            resource,
            // Offline: only what the fixture says the gate would read.
            grants: grants.as_ref(),
        };
        let refused = |d: &Denial, reason: String| Explanation {
            tool: name.to_string(),
            class,
            decision: match d {
                Denial::UnknownTool { .. } => "unknown".into(),
                Denial::Invalid(_) => "invalid".into(),
                d => d.decision().to_string(),
            },
            basis: d.basis(),
            reason,
            conditions: Vec::new(),
            limits: Vec::new(),
            considered: Vec::new(),
            resource_facts: Vec::new(),
        };
        let considered = || match request.tool {
            Some((_, Ok(args))) => policy.considered(name, args, caller, resource),
            _ => Vec::new(),
        };
        let resource_facts = || {
            policy
                .resource_paths(name)
                .iter()
                .map(|p| format!("resource.{}", p.join(".")))
                .collect()
        };
        let decision = match authorize(&policy, &self.options, &request) {
            // A rule denied it: the answer names the rule and the conditions that held.
            Verdict::Deny(Denial::Rule {
                basis,
                reason,
                conditions,
            }) => {
                return Explanation {
                    tool: name.to_string(),
                    class,
                    decision: "deny".into(),
                    basis: Some(basis),
                    reason,
                    conditions,
                    limits: Vec::new(),
                    considered: considered(),
                    resource_facts: resource_facts(),
                };
            }
            Verdict::Deny(d) => return refused(&d, d.text()),
            // Shadow mode: hiding or the IAM guard would have refused it.
            Verdict::Allow {
                shadowed: Some(w @ (Denial::Hidden { .. } | Denial::IamGuard(_))),
                ..
            } => return refused(&w, format!("shadow mode, not enforced: {}", w.text())),
            Verdict::Allow { decision, .. } | Verdict::RequireApproval(decision) => decision,
        };
        Explanation {
            tool: name.to_string(),
            class,
            decision: decision.action.as_str().to_string(),
            basis: Some(decision.basis.to_string()),
            reason: decision.reason,
            conditions: decision.conditions,
            limits: decision.limits.iter().map(|l| describe_limit(l)).collect(),
            considered: considered(),
            resource_facts: resource_facts(),
        }
    }
}

/// `limits[0]: 10 calls per 60s per session`.
fn describe_limit(l: &CompiledLimit) -> String {
    format!(
        "{}: {} calls per {}s per {}",
        l.id,
        l.max,
        l.window.as_secs(),
        match l.scope {
            Scope::Session => "session",
            Scope::Principal => "principal",
            Scope::Global => "server (global)",
        }
    )
}
