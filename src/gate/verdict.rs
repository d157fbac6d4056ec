//! The whole decision on a call, as one pure function: [`authorize`] reads the compiled
//! policy, the server's options, the tool, the validated arguments (or why they are invalid)
//! and the caller, and answers a [`Verdict`]. It does no I/O; the gate does the lookups,
//! counting, asking and calling around it. Every reason a call can be refused before it is
//! counted or run is a [`Denial`] here.

use serde_json::Value;

use super::prefix;
use crate::audit::Outcome;
use crate::catalogue::guard::{Finding, GuardFacts};
use crate::catalogue::{RiskClass, ToolSpec};
use crate::error::ArgError;
use crate::policy::{Action, Caller, CompiledPolicy, Decision};

/// Settings of the gate that are not in the policy file.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// Refuse every tool that is not of class read, whatever the policy says.
    pub read_only: bool,
    /// Audit every decision but enforce none (like `mode: shadow` in the policy).
    pub shadow: bool,
    /// Regions accepted in `region` arguments besides the ones this build knows.
    pub extra_regions: Vec<String>,
}

/// One call, as [`authorize`] sees it.
pub struct Request<'a> {
    /// The tool name as the client sent it.
    pub name: &'a str,
    /// The catalogue's tool of that name (None: no such tool), with its arguments after
    /// validation (schema defaults applied), or why they are invalid.
    pub tool: Option<(&'a ToolSpec, Args<'a>)>,
    pub caller: &'a Caller,
    /// The facts of the resource the call touches, when the policy needs them and they were
    /// looked up (the lookup is I/O, done by the gate before it asks).
    pub resource: Option<&'a Value>,
    /// What the call puts in force beyond its arguments, read by the gate for the policy's
    /// guard (the IAM guard: attached or group policies, the server's account).
    pub grants: Option<&'a GuardFacts>,
    /// The counts of the history queries the tool's rules read, looked up by the gate before
    /// it asks (a query not given counts 0).
    pub history: Option<&'a crate::policy::HistoryFacts>,
}

/// Validated arguments, or why they are invalid.
pub type Args<'a> = Result<&'a Value, &'a ArgError>;

/// Why a call is refused before it is counted or run.
#[derive(Debug, Clone, PartialEq)]
pub enum Denial {
    /// No tool of that name.
    UnknownTool { name: String },
    /// The policy's `hide` names the tool.
    Hidden { tool: String },
    /// `--read-only` and the tool is not a read.
    ReadOnly { tool: String, class: RiskClass },
    /// The arguments break the tool's schema or AWS's rules.
    Invalid(ArgError),
    /// The policy's guard (the IAM guard, in its section `iam_guard`) refused what the call
    /// would put in force.
    Guard {
        section: &'static str,
        finding: Finding,
    },
    /// A policy rule, class default or default said deny; `conditions`: the deciding rule's
    /// conditions, which held.
    Rule {
        basis: String,
        reason: String,
        conditions: Vec<String>,
    },
    /// Shadow mode only: the call would have needed approval.
    ApprovalNeeded { basis: String, reason: String },
}

impl Denial {
    /// The refusal as the agent reads it, starting with its stable prefix.
    pub fn text(&self) -> String {
        match self {
            Denial::UnknownTool { name } => {
                format!("{} no tool named `{name}`", prefix::UNKNOWN_TOOL)
            }
            Denial::Invalid(e) => format!("{} {e}", prefix::INVALID),
            Denial::ReadOnly { .. } => {
                format!(
                    "{} {}",
                    prefix::READ_ONLY,
                    self.reason().unwrap_or_default()
                )
            }
            Denial::ApprovalNeeded { basis, reason } => {
                format!("{} rule {basis}: {reason}", prefix::APPROVAL)
            }
            Denial::Hidden { tool } => format!(
                "{} rule hide: the tool `{tool}` is hidden by the policy",
                prefix::DENIED
            ),
            Denial::Guard { .. } | Denial::Rule { .. } => {
                let mut text = format!(
                    "{} rule {}: {}",
                    prefix::DENIED,
                    self.basis().unwrap_or_default(),
                    self.reason().unwrap_or_default()
                );
                // What earlier calls decided it: the agent learns what to do first.
                if let Denial::Rule { conditions, .. } = self {
                    let history: Vec<&str> = conditions
                        .iter()
                        .filter(|c| c.starts_with("history("))
                        .map(String::as_str)
                        .collect();
                    if !history.is_empty() {
                        text.push_str(&format!(" (decided by {})", history.join(" and ")));
                    }
                }
                text
            }
        }
    }

    /// The audit record's `decision`.
    pub fn decision(&self) -> &'static str {
        match self {
            Denial::UnknownTool { .. } | Denial::Invalid(_) => "none",
            Denial::ApprovalNeeded { .. } => "require_approval",
            _ => "deny",
        }
    }

    /// What decided: the rule's location, `hide`, `read_only`, `<guard section>.<check>`
    /// (`iam_guard.wildcard_admin`).
    pub fn basis(&self) -> Option<String> {
        match self {
            Denial::UnknownTool { .. } | Denial::Invalid(_) => None,
            Denial::Hidden { .. } => Some("hide".into()),
            Denial::ReadOnly { .. } => Some("read_only".into()),
            Denial::Guard { section, finding } => Some(format!("{section}.{}", finding.check)),
            Denial::Rule { basis, .. } | Denial::ApprovalNeeded { basis, .. } => {
                Some(basis.clone())
            }
        }
    }

    /// Why, in a sentence (the audit record's `reason`).
    pub fn reason(&self) -> Option<String> {
        match self {
            Denial::UnknownTool { .. } | Denial::Invalid(_) => None,
            Denial::Hidden { .. } => Some("the tool is hidden by the policy".into()),
            Denial::ReadOnly { tool, class } => Some(format!(
                "the server runs with --read-only and `{tool}` is {} {class} tool",
                if *class == RiskClass::Execute {
                    "an"
                } else {
                    "a"
                }
            )),
            Denial::Guard { finding, .. } => Some(finding.to_string()),
            Denial::Rule { reason, .. } | Denial::ApprovalNeeded { reason, .. } => {
                Some(reason.clone())
            }
        }
    }

    /// The audit record's `outcome`.
    pub fn outcome(&self) -> Outcome {
        match self {
            Denial::UnknownTool { .. } => Outcome::Invalid {
                message: "unknown tool".into(),
            },
            Denial::Invalid(e) => Outcome::Invalid {
                message: e.to_string(),
            },
            _ => Outcome::Denied,
        }
    }
}

/// What the gate does with a call.
#[derive(Debug)]
pub enum Verdict<'p> {
    /// Refuse it now.
    Deny(Denial),
    /// Put it to a human (the decision names the rule, reason, timeout and approver).
    RequireApproval(Decision<'p>),
    /// Run it within the decision's limits. In shadow mode `shadowed` is the refusal that was
    /// not enforced; such a call takes no rate-limit slot.
    Allow {
        decision: Decision<'p>,
        shadowed: Option<Denial>,
    },
}

/// Decide a call. Pure: the same inputs give the same verdict.
///
/// In order: an unknown tool; a hidden tool; a non-read tool under `--read-only`; invalid
/// arguments; an IAM policy document or managed policy the guard refuses; the policy's rules
/// (deny over require_approval over allow), class defaults and default. In shadow mode
/// (`--shadow` or `mode: shadow`) hiding, the guard and the policy are evaluated but not
/// enforced; read-only mode and invalid arguments still refuse.
pub fn authorize<'p>(
    policy: &'p CompiledPolicy,
    options: &GateOptions,
    req: &Request<'_>,
) -> Verdict<'p> {
    let Some((spec, args)) = req.tool else {
        return Verdict::Deny(Denial::UnknownTool {
            name: req.name.to_string(),
        });
    };
    let shadow = options.shadow || policy.shadow;
    let mut shadowed: Option<Denial> = None;
    // A refusal shadow mode lets through is remembered (the first one), else enforced.
    macro_rules! refuse {
        ($denial:expr) => {{
            let d = $denial;
            if !shadow {
                return Verdict::Deny(d);
            }
            shadowed.get_or_insert(d);
        }};
    }
    if policy.is_hidden(spec.name) {
        refuse!(Denial::Hidden {
            tool: spec.name.to_string()
        });
    }
    if options.read_only && spec.class != RiskClass::Read {
        return Verdict::Deny(Denial::ReadOnly {
            tool: spec.name.to_string(),
            class: spec.class,
        });
    }
    let args = match args {
        Ok(a) => a,
        Err(e) => return Verdict::Deny(Denial::Invalid(e.clone())),
    };
    let guard = policy.guard();
    if let Some(g) = guard
        && let Some(finding) = g.refusal(spec, args, req.grants)
    {
        refuse!(Denial::Guard {
            section: g.section(),
            finding
        });
    }
    let mut decision = policy.decide_on(spec, args, req.caller, req.resource, req.history);
    // A change the guard sends to an operator waits for one, unless the rules refuse the call
    // anyway (`iam_guard.access_analyzer.no_new_access: require_approval`).
    if decision.action != Action::Deny
        && let Some(g) = guard
        && let Some(f) = g.approval(req.grants)
    {
        decision.action = Action::RequireApproval;
        decision.basis = crate::policy::Basis::Rule(format!("{}.{}", g.section(), f.check));
        decision.reason = format!("{f}");
        decision.approver = crate::policy::Approver::Operator;
    }
    match decision.action {
        Action::Allow => {}
        Action::Deny => refuse!(Denial::Rule {
            basis: decision.basis.to_string(),
            reason: decision.reason.clone(),
            conditions: decision.conditions.clone(),
        }),
        Action::RequireApproval if shadow => {
            shadowed.get_or_insert(Denial::ApprovalNeeded {
                basis: decision.basis.to_string(),
                reason: decision.reason.clone(),
            });
        }
        Action::RequireApproval => return Verdict::RequireApproval(decision),
    }
    Verdict::Allow { decision, shadowed }
}
