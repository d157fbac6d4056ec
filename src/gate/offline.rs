//! Deciding calls without a server: `policy test` and `policy replay` ask the same pure
//! [`authorize`] the gate asks, with the same argument validation, and count rate limits in a
//! private in-memory limiter.

use serde_json::Value;

use super::verdict::{Denial, GateOptions, Request, Verdict, authorize};
use crate::catalogue::Catalogue;
use crate::clock::Clock;
use crate::limits::{Exceeded, Limiter, counted};
use crate::policy::{CallFacts, Caller, CompiledPolicy, HistoryFacts, LimitKind};
use crate::state::{Counting, MemoryHistory};
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

    /// Whether the call does not run as asked (refused, limited, or waiting for a human).
    pub fn refused(self) -> bool {
        matches!(
            self,
            DecisionKind::Deny
                | DecisionKind::Hidden
                | DecisionKind::RequireApproval
                | DecisionKind::RateLimited
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

/// A call made before the one decided (`policy test`'s `history:`), as history conditions
/// count it: it ran and succeeded.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EarlierCall {
    pub tool: String,
    /// Its arguments (only those a history condition's `same` reads matter).
    #[serde(default = "empty_object")]
    pub args: Value,
    /// How long ago: seconds, or a number with s, m, h or d; default just now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ago: Option<crate::policy::model::Window>,
    /// Its caller's principal; default the decided call's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Its session; default the decided call's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// The counts of the history queries a call of `tool` reads, over the earlier calls given.
pub fn fixture_history(
    policy: &CompiledPolicy,
    tool: &str,
    facts: &CallFacts<'_>,
    earlier: &[EarlierCall],
) -> HistoryFacts {
    let mut out = HistoryFacts::new();
    for (i, q, series) in policy.history_reads(tool) {
        let key = series.key(facts);
        let n = earlier
            .iter()
            .filter(|c| series.tools.contains(&c.tool))
            .filter(|c| {
                let ago = c
                    .ago
                    .as_ref()
                    .and_then(|w| crate::policy::parse_window(w).ok())
                    .unwrap_or_default();
                ago < q.within
            })
            .filter(|c| {
                let caller = Caller::new(
                    c.principal
                        .clone()
                        .unwrap_or_else(|| facts.caller.principal.clone()),
                    Vec::new(),
                );
                let earlier = CallFacts {
                    session: c.session.as_deref().unwrap_or(facts.session),
                    caller: &caller,
                    args: &c.args,
                    resource: None,
                };
                series.key(&earlier) == key
            })
            .count();
        out.insert(i, n as u64);
    }
    out
}

/// What the gate would have looked up for a call, given as fixtures.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fixtures<'f> {
    /// Facts of the resource the call touches, for `resource.*` conditions and keys.
    pub resource: Option<&'f Value>,
    /// What the policy's guard would read from AWS (the IAM guard: an IAM fixture).
    pub guard: Option<&'f dyn crate::catalogue::guard::GuardFixture>,
    /// Calls made before, besides those this decider allowed itself.
    pub history: &'f [EarlierCall],
    /// Calls of this caller running now, for `max_in_flight` limits.
    pub in_flight: u32,
    /// The call's session (default `offline`).
    pub session: Option<&'f str>,
}

/// A policy with the catalogue and validation, deciding calls offline.
pub struct Decider<'a> {
    pub catalogue: &'a Catalogue,
    pub validator: &'a ArgValidator,
    pub policy: &'a CompiledPolicy,
    pub options: GateOptions,
    limiter: Limiter,
    history: MemoryHistory,
    clock: Clock,
    /// Log every call it allows in the history, as if it succeeded (`policy test`); off, the
    /// caller logs what succeeded (`policy replay`, from the records' outcomes).
    assume_success: bool,
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
            history: MemoryHistory::default(),
            clock: Clock::system(),
            assume_success: true,
        }
    }

    /// Count windows and history by this clock (`policy replay` moves it to each record's time).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Log only the calls [`Decider::log_success`] is told of.
    pub fn logging_only_told(mut self) -> Self {
        self.assume_success = false;
        self
    }

    /// Forget every counted and logged call.
    pub fn reset_limits(&mut self) {
        self.limiter = Limiter::new();
        self.history = MemoryHistory::default();
    }

    /// Log a call in the history series it belongs to, as if it succeeded now.
    pub fn log_success(&self, tool: &str, facts: &CallFacts<'_>) {
        let logged = super::around::history_entries(self.policy, tool, facts);
        self.history.record(&logged, self.clock.now());
    }

    /// The counts of the history queries a call reads: the calls this decider logged, and the
    /// fixture's earlier calls.
    pub fn history_facts(
        &self,
        tool: &str,
        facts: &CallFacts<'_>,
        earlier: &[EarlierCall],
    ) -> HistoryFacts {
        let mut out = fixture_history(self.policy, tool, facts, earlier);
        for (i, q, series) in self.policy.history_reads(tool) {
            let logged = self.history.count(
                &[Counting {
                    key: series.key(facts),
                    within: q.within,
                    cap: u64::MAX,
                }],
                self.clock.now(),
            );
            *out.entry(i).or_default() += logged.first().copied().unwrap_or(0);
        }
        out
    }

    /// Decide one call. `validate: false` takes the arguments as they are (replaying audit
    /// records, whose secrets are redacted). An allowed call takes its rate-limit slots here,
    /// so repeated calls end `rate_limited` as they would on a server (one session).
    /// `resource`: the facts of the resource the call touches, for `resource.*` conditions.
    pub fn decide(
        &self,
        tool: &str,
        args: Value,
        (caller, resource): (&Caller, Option<&Value>),
        validate: bool,
    ) -> Offline {
        let fixtures = Fixtures {
            resource,
            ..Fixtures::default()
        };
        self.decide_with(tool, args, caller, &fixtures, validate)
    }

    /// [`Decider::decide`], with what the gate would have looked up given as fixtures. An
    /// allowed call that fits its limits is logged in the history as a success.
    pub fn decide_with(
        &self,
        tool: &str,
        args: Value,
        caller: &Caller,
        fx: &Fixtures<'_>,
        validate: bool,
    ) -> Offline {
        let spec = self.catalogue.get(tool).map(|s| s.as_ref());
        let grants = spec.zip(fx.guard).map(|(s, f)| f.facts(s, &args));
        let checked = match (spec, validate) {
            (Some(s), true) => Some(
                super::validate(self.validator, s, args, &self.options.extra_regions)
                    .map(|(v, _)| v),
            ),
            (Some(_), false) => Some(Ok(args)),
            (None, _) => None,
        };
        let session = fx.session.unwrap_or("offline");
        let null = Value::Null;
        let facts = CallFacts {
            session,
            caller,
            args: match &checked {
                Some(Ok(a)) => a,
                _ => &null,
            },
            resource: fx.resource,
        };
        let history = self.history_facts(tool, &facts, fx.history);
        let request = Request {
            name: tool,
            tool: spec.zip(checked.as_ref().map(|r| r.as_ref())),
            caller,
            resource: fx.resource,
            // Offline: only what the fixture says the gate would read.
            grants: grants.as_ref(),
            history: Some(&history),
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
                let limited = |limit: &str, reason: String| Offline {
                    kind: DecisionKind::RateLimited,
                    rule: Some(limit.to_string()),
                    reason,
                };
                if let Some(l) = crate::limits::blocking(&decision.limits) {
                    return limited(&l.id, crate::limits::blocked_reason(l));
                }
                let counters = match counted(&decision.limits, &facts) {
                    Ok(c) => c,
                    Err(e) => return limited(e.limit(), e.to_string()),
                };
                if let Some(c) = crate::limits::never_fits(&counters) {
                    return limited(&c.limit.id, crate::limits::over_budget_reason(c));
                }
                // Calls already running (the fixture's count) fill `max_in_flight` limits.
                if let Some(c) = counters
                    .iter()
                    .find(|c| c.limit.kind == LimitKind::InFlight && fx.in_flight >= c.limit.max)
                {
                    let e = Exceeded::new(c, fx.in_flight.into(), None);
                    return limited(&e.limit_id, e.reason());
                }
                match self.limiter.try_acquire(&counters, self.clock.now()) {
                    // An offline call ends at once: its running slots are given back here.
                    Ok(_) => {
                        if self.assume_success {
                            self.log_success(tool, &facts);
                        }
                        Offline {
                            kind: DecisionKind::Allow,
                            rule: Some(decision.basis.to_string()),
                            reason: match shadowed {
                                Some(w) => format!("shadow mode, not enforced: {}", w.text()),
                                None => decision.reason,
                            },
                        }
                    }
                    Err(e) => limited(&e.limit_id, e.reason()),
                }
            }
        }
    }
}
