//! Every way the gate refuses a call, typed: a [`Denial`] from [`super::authorize`], or a step
//! after it (approval, rate limits, the state store). Each knows the text the agent reads and
//! what its audit record says, in one place.

use super::prefix;
use super::verdict::Denial;
use crate::audit::Outcome;
use crate::state::StoreError;

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
        }
    }

    /// The audit record's `decision`.
    pub fn decision(&self) -> &'static str {
        match self {
            Refusal::Denied(d) => d.decision(),
            Refusal::Approval { .. } => "require_approval",
            Refusal::RateLimited { .. } => "allow",
            Refusal::Lookup { .. } => "none",
            Refusal::StoreDown { decision, .. } | Refusal::Identity { decision, .. } => decision,
        }
    }

    /// The audit record's `rule`.
    pub fn basis(&self) -> Option<String> {
        match self {
            Refusal::Denied(d) => d.basis(),
            Refusal::Lookup { .. } => None,
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
        }
    }

    /// Invalid calls count towards the refused-calls budget; denials, rate limits and
    /// approvals are the policy working as written.
    pub fn is_invalid(&self) -> bool {
        matches!(self.outcome(), Outcome::Invalid { .. })
    }
}
