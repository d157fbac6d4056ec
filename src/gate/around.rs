//! The I/O around the decision, kept out of the pure [`super::authorize`]: the facts of the
//! resource a call touches (looked up before the decision, when the policy reads them) and the
//! AWS identity the call runs as (assumed after it, under `--aws-roles`).

use rmcp::model::CallToolResponse;
use serde_json::Value;
use tracing::Instrument;

use super::refusal::Refusal;
use super::{Call, Gate, tool_outcome};
use crate::audit::Outcome;
use crate::catalogue::ToolSpec;
use crate::catalogue::guard::GuardFacts;
use crate::error::{Reached, ToolError};
use crate::identity::assume::IdentityError;
use crate::policy::{CallFacts, Decision, HistoryFacts};
use crate::resource::lookup::{LookupError, Lookups};
use crate::state::{Counting, Logged};

impl Gate {
    /// The AWS identity the call will run as: the caller's own role under `--aws-roles`
    /// (assumed now if not cached), else the server's. Kept on the call for the handler and
    /// the audit records. No role, or an STS failure, refuses the call before any other AWS
    /// call.
    pub(super) async fn acting_as(
        &self,
        call: &Call<'_>,
        spec: &ToolSpec,
        decision: &Decision<'_>,
    ) -> Result<(), Refusal> {
        let Some(ids) = &self.identities else {
            return Ok(());
        };
        match ids
            .for_call(call.cx.caller, spec)
            .instrument(crate::step_span!("aws_identity"))
            .await
        {
            Ok(acting) => {
                let _ = call.acting.set(acting);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(tool = call.name, error = %e, "no AWS identity for the caller");
                let outcome = match &e {
                    IdentityError::NoRole { .. } => Outcome::Denied,
                    // STS answered; the tool's own AWS call was never made.
                    IdentityError::AssumeRole { source, .. } => not_reached(source),
                };
                Err(Refusal::Identity {
                    decision: decision.action.as_str(),
                    basis: decision.basis.to_string(),
                    reason: e.to_string(),
                    outcome,
                })
            }
        }
    }

    /// What the call puts in force beyond its arguments, for the policy's guard (the IAM
    /// guard: when the tool attaches a managed policy, joins a group or sends a trust policy),
    /// read by the guard's family before the decision, so that the guard judges the documents,
    /// not their names. A thing the call names that does not exist ends the call with AWS's
    /// NotFound answer; a read that fails refuses it (fail closed).
    pub(super) async fn guard_facts(
        &self,
        call: &Call<'_>,
        spec: Option<&ToolSpec>,
        args: Option<Result<&Value, &crate::error::ArgError>>,
    ) -> Result<Option<GuardFacts>, CallToolResponse> {
        let (Some(spec), Some(Ok(args)), Some(guard), Some(reader)) = (
            spec,
            args,
            call.policy.guard(),
            self.guard_reader.as_deref(),
        ) else {
            return Ok(None);
        };
        // Nothing to read when the arguments alone are refused (the decision says why).
        if spec.documents.is_empty() || guard.refused_on_arguments(spec, args) {
            return Ok(None);
        }
        match reader
            .read(guard, spec, args)
            .instrument(crate::step_span!("iam_grants"))
            .await
        {
            Ok(g) => {
                if let Some(g) = &g {
                    let _ = call.grants.set(g.summary().clone());
                }
                Ok(g)
            }
            Err(LookupError::NotFound(e)) => {
                tracing::info!(tool = call.name, error = %e, "what the change names does not exist");
                Err(call.refuse(Refusal::NotFound(e)))
            }
            Err(LookupError::Failed(e)) => {
                tracing::warn!(tool = call.name, error = %e, "the guard's read failed; refusing");
                Err(call.refuse(Refusal::Lookup {
                    reason: format!("cannot read {}: {e}", guard.reading()),
                    outcome: not_reached(&e),
                }))
            }
        }
    }

    /// The facts of the resource a call touches, when the policy's rules for the tool read
    /// `resource.*` (a policy that never does costs nothing here). A resource that does not
    /// exist ends the call with AWS's NotFound answer; a lookup that fails refuses it (fail
    /// closed). Either way nothing is changed.
    pub(super) async fn resource_facts(
        &self,
        call: &Call<'_>,
        at: Option<&crate::resource::Located>,
    ) -> Result<Option<Value>, CallToolResponse> {
        let Some(at) = at.filter(|_| call.policy.needs_resource(call.name)) else {
            return Ok(None);
        };
        match self
            .lookups
            .facts(at)
            .instrument(crate::step_span!("resource_lookup"))
            .await
        {
            Ok(facts) => {
                let used =
                    crate::resource::used_facts(&facts, call.policy.resource_paths(call.name));
                let _ = call.resource.set(used);
                Ok(Some(facts))
            }
            Err(LookupError::NotFound(e)) => {
                tracing::info!(tool = call.name, error = %e, "the call's resource does not exist");
                Err(call.refuse(Refusal::NotFound(e)))
            }
            Err(LookupError::Failed(e)) => {
                tracing::warn!(tool = call.name, error = %e, "resource lookup failed; refusing");
                Err(call.refuse(Refusal::Lookup {
                    reason: format!(
                        "cannot look up {} `{}` for the policy's resource conditions: {e}",
                        at.kind.name, at.name
                    ),
                    outcome: not_reached(&e),
                }))
            }
        }
    }
}

impl Gate {
    /// The counts of the history queries the call's rules read, from the state store (none
    /// read: no lookup). A store that cannot be reached refuses the call: the policy cannot
    /// be asked without them.
    pub(super) async fn history_facts(
        &self,
        call: &Call<'_>,
        facts: Option<&CallFacts<'_>>,
    ) -> Result<Option<HistoryFacts>, CallToolResponse> {
        let Some(facts) = facts else {
            return Ok(None);
        };
        let reads: Vec<_> = call.policy.history_reads(call.name).collect();
        if reads.is_empty() {
            return Ok(None);
        }
        let queries: Vec<Counting> = reads
            .iter()
            .map(|(_, q, series)| Counting {
                key: series.key(facts),
                within: q.within,
                cap: series.cap,
            })
            .collect();
        match self
            .store
            .count_history(&queries)
            .instrument(crate::step_span!("history_lookup"))
            .await
        {
            Ok(counts) => {
                let _ = call.history.set(
                    reads
                        .iter()
                        .zip(&counts)
                        .map(|((_, q, _), n)| (q.text.clone(), *n))
                        .collect(),
                );
                Ok(Some(
                    reads
                        .iter()
                        .zip(counts)
                        .map(|((i, _, _), n)| (*i, n))
                        .collect(),
                ))
            }
            Err(e) => Err(call.refuse(Refusal::store_down(&e, "none", "history"))),
        }
    }
}

/// What a call that succeeds is logged as in the history series it belongs to.
pub(super) fn history_entries(
    policy: &crate::policy::CompiledPolicy,
    tool: &str,
    facts: &CallFacts<'_>,
) -> Vec<Logged> {
    policy
        .history_logged(tool)
        .map(|s| Logged {
            key: s.key(facts),
            keep: s.keep,
            cap: s.cap,
        })
        .collect()
}

/// Forgets a resource's cached facts when the call that changes it ends (however it ends).
pub(super) struct ForgetOnDrop<'a>(pub &'a Lookups, pub crate::resource::Located);

impl Drop for ForgetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.forget(&self.1);
    }
}

/// The outcome of an error that stopped a call before its own AWS call: AWS's code, but the
/// call's request was never sent.
pub(super) fn not_reached(e: &ToolError) -> Outcome {
    match e {
        ToolError::Aws {
            code, request_id, ..
        } => Outcome::AwsError {
            code: code.clone(),
            request_id: request_id.clone(),
            reached_aws: Reached::No,
        },
        other => tool_outcome(other),
    }
}
