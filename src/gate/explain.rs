//! `policy explain`: what the gate would decide for a call and why, without calling AWS or
//! counting the call.

use serde::Serialize;
use serde_json::Value;

use super::verdict::{Denial, Request, Verdict, authorize};
use super::{Gate, args_of};
use crate::catalogue::RiskClass;
use crate::policy::Caller;

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
    /// The history queries the tool's rules read and what each counted
    /// (`policy explain --history` supplies the earlier calls).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub history_facts: Vec<String>,
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
        self.explain_with(name, args, caller, resource, None, &[])
    }

    /// [`Gate::explain`], with what the policy's guard would read from AWS given as a fixture.
    pub fn explain_with(
        &self,
        name: &str,
        args: Value,
        caller: &Caller,
        resource: Option<&Value>,
        guard: Option<&dyn crate::catalogue::guard::GuardFixture>,
        earlier: &[super::offline::EarlierCall],
    ) -> Explanation {
        let policy = self.policy();
        let spec = self.catalogue.get(name).cloned();
        let grants = spec.as_deref().zip(guard).map(|(s, f)| f.facts(s, &args));
        let class = spec.as_ref().map(|s| s.class);
        let validated = spec.as_deref().map(|s| self.validate(s, args));
        let history = match args_of(&validated) {
            Some(Ok(a)) => super::offline::fixture_history(
                &policy,
                name,
                &crate::policy::CallFacts {
                    session: "offline",
                    caller,
                    args: a,
                    resource,
                },
                earlier,
            ),
            _ => Default::default(),
        };
        let request = Request {
            history: Some(&history),
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
            history_facts: Vec::new(),
        };
        let considered = || match request.tool {
            Some((_, Ok(args))) => {
                policy.considered(name, args, caller, (resource, Some(&history)))
            }
            _ => Vec::new(),
        };
        let resource_facts = || {
            policy
                .resource_paths(name)
                .iter()
                .map(|p| format!("resource.{}", p.join(".")))
                .collect()
        };
        let history_facts = || {
            policy
                .history_reads(name)
                .map(|(i, q, _)| {
                    let n = history.get(&i).copied().unwrap_or(0);
                    format!("{}: {n} call{}", q.text, if n == 1 { "" } else { "s" })
                })
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
                    history_facts: history_facts(),
                };
            }
            Verdict::Deny(d) => return refused(&d, d.text()),
            // Shadow mode: hiding or the guard would have refused it.
            Verdict::Allow {
                shadowed: Some(w @ (Denial::Hidden { .. } | Denial::Guard { .. })),
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
            limits: decision.limits.iter().map(|l| l.describe()).collect(),
            considered: considered(),
            resource_facts: resource_facts(),
            history_facts: history_facts(),
        }
    }
}
