//! Every way the server refuses a call, typed: a [`Denial`] from [`super::authorize`], a step
//! after it (approval, rate limits, the state store, the caller's AWS identity, the resource's
//! lookup), or around the gate (a caller over its budget of invalid calls, an audit log that
//! cannot be written, a request without an authenticated caller, an operator deciding its own
//! call's approval). Each knows the text the agent reads, what its audit record says and the
//! label metrics count it under, in one place.

use std::time::Duration;

use super::prefix;
use super::verdict::Denial;
use crate::audit::Outcome;
use crate::error::ToolError;
use crate::state::StoreError;

/// What kind of refusal, as metrics label it (`guarded_refusals_total{kind}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalKind {
    /// The policy (a rule, hiding, read-only mode, the IAM guard) refused it.
    Denied,
    /// Unknown tool or invalid arguments.
    Invalid,
    /// It needs an approval it does not have (yet).
    Approval,
    RateLimited,
    Identity,
    Lookup,
    NotFound,
    StateStore,
    Flooded,
    AuditUnavailable,
    Internal,
    Unauthenticated,
    SelfApproval,
    Draining,
}

impl RefusalKind {
    pub const ALL: [RefusalKind; 14] = [
        RefusalKind::Denied,
        RefusalKind::Invalid,
        RefusalKind::Approval,
        RefusalKind::RateLimited,
        RefusalKind::Identity,
        RefusalKind::Lookup,
        RefusalKind::NotFound,
        RefusalKind::StateStore,
        RefusalKind::Flooded,
        RefusalKind::AuditUnavailable,
        RefusalKind::Internal,
        RefusalKind::Unauthenticated,
        RefusalKind::SelfApproval,
        RefusalKind::Draining,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalKind::Denied => "denied",
            RefusalKind::Invalid => "invalid",
            RefusalKind::Approval => "approval",
            RefusalKind::RateLimited => "rate_limited",
            RefusalKind::Identity => "identity",
            RefusalKind::Lookup => "lookup",
            RefusalKind::NotFound => "not_found",
            RefusalKind::StateStore => "state_store",
            RefusalKind::Flooded => "flooded",
            RefusalKind::AuditUnavailable => "audit_unavailable",
            RefusalKind::Internal => "internal",
            RefusalKind::Unauthenticated => "unauthenticated",
            RefusalKind::SelfApproval => "self_approval",
            RefusalKind::Draining => "draining",
        }
    }
}

#[derive(Debug)]
pub enum Refusal {
    /// Refused by the decision itself.
    Denied(Denial),
    /// A `require_approval` call that does not run (now).
    Approval {
        basis: String,
        reason: String,
        outcome: Outcome,
    },
    /// A rate limit is full.
    RateLimited {
        basis: String,
        limit: String,
        reason: String,
    },
    /// The caller has no AWS identity (the roles file refuses it, or AssumeRole failed).
    Identity {
        decision: &'static str,
        basis: String,
        reason: String,
        outcome: Outcome,
    },
    /// The resource's facts, which the policy's conditions read, could not be looked up.
    Lookup { reason: String, outcome: Outcome },
    /// The state store (rate limits, approvals) cannot be reached: fail closed.
    StoreDown {
        decision: &'static str,
        basis: String,
        error: String,
    },
    /// What the call names does not exist (AWS's NotFound, from the lookup before the
    /// decision): the agent reads AWS's answer, nothing was changed.
    NotFound(ToolError),
    /// A session, or a principal over all its sessions, sent too many invalid calls: refused
    /// unread until `retry_after`; audited once per episode (`audit`).
    Flooded {
        whose: &'static str,
        retry_after: Duration,
        audit: bool,
    },
    /// The audit record cannot be written, so the call does not run (or its result is
    /// withheld). Not audited: that is what failed.
    AuditUnavailable { error: String, what: &'static str },
    /// A state the gate's own logic rules out; refused rather than trusted.
    Internal(String),
    /// A request that reached the server without an authenticated caller (over HTTP the
    /// transport refuses those first; this is the server's own check behind it).
    Unauthenticated,
    /// An operator tried to decide the approval of its own call (`/admin/approvals`).
    SelfApproval { approval_id: String },
    /// The server is shutting down (SIGTERM): calls running finish, new ones are refused
    /// before anything is decided; a retry reaches another replica.
    Draining,
}

impl Refusal {
    pub fn approval(basis: &str, reason: String, outcome: Outcome) -> Refusal {
        Refusal::Approval {
            basis: basis.to_string(),
            reason,
            outcome,
        }
    }

    pub fn store_down(e: &StoreError, decision: &'static str, basis: &str) -> Refusal {
        tracing::warn!(error = %e, "state store unavailable; refusing");
        Refusal::StoreDown {
            decision,
            basis: basis.to_string(),
            error: e.to_string(),
        }
    }

    /// The refusal as the agent reads it, starting with its stable prefix.
    pub fn text(&self) -> String {
        match self {
            Refusal::Denied(d) => d.text(),
            Refusal::Approval { basis, reason, .. } => {
                format!("{} rule {basis}: {reason}", prefix::APPROVAL)
            }
            Refusal::RateLimited { reason, .. } => format!("{} {reason}", prefix::RATE_LIMITED),
            Refusal::Identity { reason, .. } => {
                format!("{} {reason}; no AWS call was made", prefix::IDENTITY)
            }
            Refusal::Lookup { reason, .. } => {
                format!("{} {reason}; the call was not made", prefix::LOOKUP)
            }
            Refusal::StoreDown { .. } => {
                format!("{} {}", prefix::STATE, self.reason().unwrap_or_default())
            }
            Refusal::NotFound(e) => e.to_string(),
            Refusal::Flooded { .. } | Refusal::Unauthenticated | Refusal::SelfApproval { .. } => {
                let (p, reason) = match self {
                    Refusal::Flooded { .. } => (prefix::RATE_LIMITED, self.reason()),
                    Refusal::SelfApproval { .. } => (prefix::DENIED_ADMIN, self.reason()),
                    _ => (prefix::UNAUTHENTICATED, self.reason()),
                };
                format!("{p} {}", reason.unwrap_or_default())
            }
            Refusal::AuditUnavailable { error, what } => format!(
                "{} its record cannot be written ({error}), so {what}",
                prefix::AUDIT
            ),
            Refusal::Internal(what) => format!("internal error: {what}"),
            Refusal::Draining => {
                format!("{} {}", prefix::DRAINING, self.reason().unwrap_or_default())
            }
        }
    }

    /// The label metrics count it under.
    pub fn kind(&self) -> RefusalKind {
        match self {
            Refusal::Denied(Denial::UnknownTool { .. } | Denial::Invalid(_)) => {
                RefusalKind::Invalid
            }
            Refusal::Denied(Denial::ApprovalNeeded { .. }) | Refusal::Approval { .. } => {
                RefusalKind::Approval
            }
            Refusal::Denied(_) => RefusalKind::Denied,
            Refusal::RateLimited { .. } => RefusalKind::RateLimited,
            Refusal::Identity { .. } => RefusalKind::Identity,
            Refusal::Lookup { .. } => RefusalKind::Lookup,
            Refusal::StoreDown { .. } => RefusalKind::StateStore,
            Refusal::NotFound(_) => RefusalKind::NotFound,
            Refusal::Flooded { .. } => RefusalKind::Flooded,
            Refusal::AuditUnavailable { .. } => RefusalKind::AuditUnavailable,
            Refusal::Internal(_) => RefusalKind::Internal,
            Refusal::Unauthenticated => RefusalKind::Unauthenticated,
            Refusal::SelfApproval { .. } => RefusalKind::SelfApproval,
            Refusal::Draining => RefusalKind::Draining,
        }
    }

    /// Whether the refusal gets an audit record: all but an unwritable audit log, and a flood
    /// after its first refusal.
    pub fn audited(&self) -> bool {
        match self {
            Refusal::AuditUnavailable { .. } => false,
            Refusal::Flooded { audit, .. } => *audit,
            _ => true,
        }
    }

    /// The audit record's `decision`.
    pub fn decision(&self) -> &'static str {
        match self {
            Refusal::Denied(d) => d.decision(),
            Refusal::Approval { .. } => "require_approval",
            Refusal::RateLimited { .. } => "allow",
            Refusal::StoreDown { decision, .. } | Refusal::Identity { decision, .. } => decision,
            Refusal::SelfApproval { .. } => "deny",
            Refusal::Lookup { .. }
            | Refusal::NotFound(_)
            | Refusal::Flooded { .. }
            | Refusal::AuditUnavailable { .. }
            | Refusal::Internal(_)
            | Refusal::Unauthenticated
            | Refusal::Draining => "none",
        }
    }

    /// The audit record's `rule`.
    pub fn basis(&self) -> Option<String> {
        match self {
            Refusal::Denied(d) => d.basis(),
            Refusal::SelfApproval { .. } => Some("admin.self_approval".into()),
            Refusal::Lookup { .. }
            | Refusal::NotFound(_)
            | Refusal::Flooded { .. }
            | Refusal::AuditUnavailable { .. }
            | Refusal::Internal(_)
            | Refusal::Unauthenticated
            | Refusal::Draining => None,
            Refusal::Approval { basis, .. }
            | Refusal::RateLimited { basis, .. }
            | Refusal::Identity { basis, .. }
            | Refusal::StoreDown { basis, .. } => Some(basis.clone()),
        }
    }

    /// The audit record's `reason`.
    pub fn reason(&self) -> Option<String> {
        match self {
            Refusal::Denied(d) => d.reason(),
            Refusal::Approval { reason, .. }
            | Refusal::RateLimited { reason, .. }
            | Refusal::Identity { reason, .. }
            | Refusal::Lookup { reason, .. } => Some(reason.clone()),
            Refusal::StoreDown { error, .. } => Some(format!(
                "{error}; calls that need rate limits or approvals are refused until it is back (no AWS call was made)"
            )),
            Refusal::Flooded {
                whose, retry_after, ..
            } => Some(format!(
                "more than {} refused calls in {}s from {whose}; retry in {}s",
                super::refusals::MAX_REFUSALS,
                super::refusals::WINDOW.as_secs(),
                retry_after.as_secs().max(1)
            )),
            Refusal::Unauthenticated => Some("the request carries no authenticated caller".into()),
            Refusal::Draining => Some(
                "this server is shutting down and takes no new calls; retry it (another replica serves it), nothing was decided or run"
                    .into(),
            ),
            Refusal::SelfApproval { approval_id } => Some(format!(
                "a principal cannot decide an approval of its own call ({approval_id})"
            )),
            Refusal::NotFound(_) | Refusal::AuditUnavailable { .. } | Refusal::Internal(_) => None,
        }
    }

    /// The audit record's `outcome`.
    pub fn outcome(&self) -> Outcome {
        match self {
            Refusal::Denied(d) => d.outcome(),
            Refusal::Approval { outcome, .. }
            | Refusal::Identity { outcome, .. }
            | Refusal::Lookup { outcome, .. } => outcome.clone(),
            Refusal::RateLimited { limit, .. } => Outcome::RateLimited {
                limit: limit.clone(),
            },
            Refusal::StoreDown { error, .. } => Outcome::Error {
                message: error.clone(),
            },
            Refusal::NotFound(e) => super::around::not_reached(e),
            Refusal::Flooded { .. } => Outcome::RateLimited {
                limit: "refused_calls".into(),
            },
            Refusal::AuditUnavailable { error, .. } => Outcome::Error {
                message: error.clone(),
            },
            Refusal::Internal(what) => Outcome::Error {
                message: format!("internal error: {what}"),
            },
            Refusal::Unauthenticated => Outcome::Invalid {
                message: "no authenticated caller".into(),
            },
            Refusal::SelfApproval { .. } => Outcome::Denied,
            Refusal::Draining => Outcome::Error {
                message: "draining".into(),
            },
        }
    }

    /// Invalid calls count towards the refused-calls budget; denials, rate limits and
    /// approvals are the policy working as written.
    pub fn is_invalid(&self) -> bool {
        matches!(self.outcome(), Outcome::Invalid { .. })
    }
}
