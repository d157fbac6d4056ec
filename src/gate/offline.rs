//! Deciding calls without a server: `policy test` and `policy replay` ask the same pure
//! [`authorize`] the gate asks, with the same argument validation, and count rate limits in a
//! private in-memory limiter.

use serde_json::Value;

use super::verdict::{Denial, GateOptions, Request, Verdict, authorize};
use crate::catalogue::Catalogue;
use crate::limits::{Limiter, counted};
use crate::policy::{Caller, CompiledPolicy};
use crate::validate::ArgValidator;

/// What a call gets, in the words of `policy test` (its `expect`) and `policy replay`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
#[schemars(rename = "Expect")]
pub enum DecisionKind {
    Allow,
    Deny,
    RequireApproval,
    /// The arguments are refused before the policy is asked.
    Invalid,
    /// The tool is hidden by the policy.
    Hidden,
    /// No tool of that name.
    Unknown,
    /// Allowed, but its rate limit is full (use with `after`).
    RateLimited,
}

impl DecisionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DecisionKind::Allow => "allow",
            DecisionKind::Deny => "deny",
            DecisionKind::RequireApproval => "require_approval",
            DecisionKind::Invalid => "invalid",
            DecisionKind::Hidden => "hidden",
            DecisionKind::Unknown => "unknown",
            DecisionKind::RateLimited => "rate_limited",
        }
    }

    /// Whether the call does not run as asked (refused, or waiting for a human).
    pub fn refused(self) -> bool {
        matches!(
            self,
            DecisionKind::Deny | DecisionKind::Hidden | DecisionKind::RequireApproval
        )
    }
}

impl std::fmt::Display for DecisionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a call would get offline, with the deciding rule and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offline {
    pub kind: DecisionKind,
    /// The deciding rule (`tools.create_broker[0]`, `classes.read`, `hide` …).
    pub rule: Option<String>,
    pub reason: String,
}

/// A policy with the catalogue and validation, deciding calls offline.
pub struct Decider<'a> {
    pub catalogue: &'a Catalogue,
    pub validator: &'a ArgValidator,
    pub policy: &'a CompiledPolicy,
    pub options: GateOptions,
    limiter: Limiter,
}

impl<'a> Decider<'a> {
    pub fn new(
        catalogue: &'a Catalogue,
        validator: &'a ArgValidator,
        policy: &'a CompiledPolicy,
        options: GateOptions,
    ) -> Self {
        Decider {
            catalogue,
            validator,
            policy,
            options,
            limiter: Limiter::new(),
        }
    }

    /// Forget every counted call.
    pub fn reset_limits(&mut self) {
        self.limiter = Limiter::new();
    }

    /// Decide one call. `validate: false` takes the arguments as they are (replaying audit
    /// records, whose secrets are redacted). An allowed call takes its rate-limit slots here,
    /// so repeated calls end `rate_limited` as they would on a server (one session).
    /// `resource`: the facts of the resource the call touches, for `resource.*` conditions.
    pub fn decide(
        &self,
        tool: &str,
        args: Value,
        facts: (&Caller, Option<&Value>),
        validate: bool,
    ) -> Offline {
        self.decide_with(tool, args, facts, None, validate)
    }

    /// [`Decider::decide`], with what the IAM guard would read from AWS given as a fixture.
    pub fn decide_with(
        &self,
        tool: &str,
        args: Value,
        (caller, resource): (&Caller, Option<&Value>),
        iam: Option<&crate::tools::iam::guard::IamFixture>,
        validate: bool,
    ) -> Offline {
        let spec = self.catalogue.get(tool).map(|s| s.as_ref());
        let grants = spec.zip(iam).map(|(s, f)| f.grants(&s.documents, &args));
        let checked = match (spec, validate) {
            (Some(s), true) => Some(
                super::validate(self.validator, s, args, &self.options.extra_regions)
                    .map(|(v, _)| v),
            ),
            (Some(_), false) => Some(Ok(args)),
            (None, _) => None,
        };
        let request = Request {
            name: tool,
            tool: spec.zip(checked.as_ref().map(|r| r.as_ref())),
            caller,
            resource,
            // Offline: only what the fixture says the gate would read.
            grants: grants.as_ref(),
        };
        match authorize(self.policy, &self.options, &request) {
            Verdict::Deny(d) => Offline {
                kind: match d {
                    Denial::UnknownTool { .. } => DecisionKind::Unknown,
                    Denial::Invalid(_) => DecisionKind::Invalid,
                    Denial::Hidden { .. } => DecisionKind::Hidden,
                    _ => DecisionKind::Deny,
                },
                rule: d.basis(),
                reason: d.reason().unwrap_or_else(|| d.text()),
            },
            Verdict::RequireApproval(d) => Offline {
                kind: DecisionKind::RequireApproval,
                rule: Some(d.basis.to_string()),
                reason: d.reason,
            },
            Verdict::Allow { decision, shadowed } => {
                let rule = Some(decision.basis.to_string());
                if let Some(l) = crate::limits::blocking(&decision.limits) {
                    return Offline {
                        kind: DecisionKind::RateLimited,
                        rule: Some(l.id.clone()),
                        reason: crate::limits::blocked_reason(l),
                    };
                }
                let counters = counted(&decision.limits, "offline", &caller.principal);
                match self
                    .limiter
                    .try_acquire(&counters, std::time::Instant::now())
                {
                    Ok(_) => Offline {
                        kind: DecisionKind::Allow,
                        rule,
                        reason: match shadowed {
                            Some(w) => format!("shadow mode, not enforced: {}", w.text()),
                            None => decision.reason,
                        },
                    },
                    Err(e) => Offline {
                        kind: DecisionKind::RateLimited,
                        rule: Some(e.limit_id.clone()),
                        reason: format!(
                            "limit {} allows {} calls per {}s",
                            e.limit_id,
                            e.max,
                            e.window.as_secs()
                        ),
                    },
                }
            }
        }
    }
}
