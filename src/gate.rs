//! Enforcement: the one gate every `tools/call` passes before any handler runs.
//!
//! In order: the tool exists and is not hidden; the arguments pass the tool's schema and AWS
//! rules; the policy decides; rate limits reserve a slot; the handler calls AWS; one audit
//! record is written. Handlers are reachable only through [`Gate::call`].

use std::sync::{Arc, RwLock};
use std::time::Instant;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool};
use serde::Serialize;
use serde_json::Value;

use crate::audit::{AuditLog, AuditRecord, Outcome, redact};
use crate::aws::AwsClients;
use crate::catalogue::{Catalogue, RiskClass, ToolContext, ToolSpec};
use crate::error::{ArgError, ToolError};
use crate::iam_guard::DocKind;
use crate::limits::Limiter;
use crate::policy::{Action, CompiledPolicy, Decision};
use crate::tools::iam::PolicyDocument;
use crate::validate::ArgValidator;

/// Stable prefixes of refusals, so agents and people can tell them from AWS errors.
pub mod prefix {
    pub const UNKNOWN_TOOL: &str = "Unknown tool:";
    pub const INVALID: &str = "Invalid arguments:";
    pub const DENIED: &str = "Denied by policy:";
    pub const READ_ONLY: &str = "Denied by read-only mode:";
    pub const APPROVAL: &str = "Approval required:";
    pub const RATE_LIMITED: &str = "Rate limited:";
    pub const AWS: &str = "AWS error";
}

/// Settings of the gate that are not in the policy file.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// Refuse every tool that is not of class read, whatever the policy says.
    pub read_only: bool,
    /// Audit every decision but enforce none (like `mode: shadow` in the policy).
    pub shadow: bool,
}

pub struct Gate {
    catalogue: Arc<Catalogue>,
    validator: ArgValidator,
    policy: RwLock<Arc<CompiledPolicy>>,
    limiter: Limiter,
    audit: AuditLog,
    aws: Arc<AwsClients>,
    /// RabbitMQ connections of every session this gate serves.
    rabbit: Arc<crate::tools::rabbitmq::Connections>,
    options: GateOptions,
}

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
}

/// A call that passed steps 1–3 (in shadow mode: with the policy refusal it would have had).
type Checked<'p> = (
    Arc<ToolSpec>,
    crate::catalogue::Prepared,
    Decision<'p>,
    Option<Box<Stop>>,
);

/// A refusal or failure on the way through the gate.
struct Stop {
    text: String,
    decision: &'static str,
    basis: Option<String>,
    reason: Option<String>,
    outcome: Outcome,
}

impl Gate {
    pub fn new(
        catalogue: Arc<Catalogue>,
        policy: CompiledPolicy,
        audit: AuditLog,
        aws: Arc<AwsClients>,
        options: GateOptions,
    ) -> Result<Self, String> {
        let validator = ArgValidator::new(&catalogue)?;
        Ok(Gate {
            catalogue,
            validator,
            policy: RwLock::new(Arc::new(policy)),
            limiter: Limiter::new(),
            audit,
            aws,
            rabbit: Default::default(),
            options,
        })
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<CompiledPolicy> {
        self.policy
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Put a new policy in force. Rate-limit counters are kept: a limit at the same place in
    /// the new policy goes on counting.
    pub fn set_policy(&self, policy: CompiledPolicy) {
        *self.policy.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(policy);
    }

    /// Record a policy reload (or its refusal) in the audit log.
    pub fn audit_reload(&self, file: &str, accepted: bool, detail: String) {
        let policy = self.policy();
        self.audit.write(AuditRecord {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            session: "server".into(),
            tool: "policy_reload".into(),
            args: serde_json::json!({ "file": file }),
            decision: if accepted { "reloaded" } else { "refused" }.into(),
            rule: None,
            reason: Some(detail.clone()),
            latency_us: 0,
            outcome: if accepted {
                Outcome::Ok
            } else {
                Outcome::Invalid { message: detail }
            },
            policy: policy.hash.clone(),
            mode: None,
            prev: String::new(),
        });
    }

    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    fn shadow(&self, policy: &CompiledPolicy) -> bool {
        self.options.shadow || policy.shadow
    }

    fn visible(&self, policy: &CompiledPolicy, spec: &ToolSpec) -> bool {
        !((policy.is_hidden(spec.name) && !self.shadow(policy))
            || (self.options.read_only && spec.class != RiskClass::Read))
    }

    /// The tools an agent may see: neither hidden by the policy nor excluded by read-only mode.
    pub fn list_tools(&self) -> Vec<Tool> {
        let policy = self.policy();
        self.catalogue
            .iter()
            .filter(|s| self.visible(&policy, s))
            .map(|s| s.to_mcp())
            .collect()
    }

    /// Steps 1–3: existence, hiding, read-only mode, arguments, policy.
    fn check<'p>(
        &self,
        policy: &'p CompiledPolicy,
        name: &str,
        args: Value,
    ) -> Result<Checked<'p>, Box<Stop>> {
        let shadow = self.shadow(policy);
        // In shadow mode a policy refusal found here is kept, and the call goes on.
        let mut would: Option<Box<Stop>> = None;
        let Some(spec) = self.catalogue.get(name).cloned() else {
            return Err(Box::new(Stop {
                text: format!("{} no tool named `{name}`", prefix::UNKNOWN_TOOL),
                decision: "none",
                basis: None,
                reason: None,
                outcome: Outcome::Invalid {
                    message: "unknown tool".into(),
                },
            }));
        };
        if policy.is_hidden(name) {
            let s = Box::new(Stop {
                text: format!(
                    "{} rule hide: the tool `{name}` is hidden by the policy",
                    prefix::DENIED
                ),
                decision: "deny",
                basis: Some("hide".into()),
                reason: Some("the tool is hidden by the policy".into()),
                outcome: Outcome::Denied,
            });
            if !shadow {
                return Err(s);
            }
            would = Some(s);
        }
        if self.options.read_only && spec.class != RiskClass::Read {
            let reason = format!(
                "the server runs with --read-only and `{name}` is a {} tool",
                spec.class
            );
            return Err(Box::new(Stop {
                text: format!("{} {reason}", prefix::READ_ONLY),
                decision: "deny",
                basis: Some("read_only".into()),
                reason: Some(reason),
                outcome: Outcome::Denied,
            }));
        }
        let args = self.validator.validate(&spec, args).map_err(invalid)?;
        let prepared = spec.prepare(&args).map_err(invalid)?;
        if let Some(guard) = &policy.guard {
            for (field, kind) in &spec.documents {
                let Some(value) = args.get(*field) else {
                    continue;
                };
                let checked = match kind {
                    DocKind::ManagedPolicyArn => Some(value.clone()),
                    DocKind::Identity | DocKind::Trust => PolicyDocument::parse(value),
                };
                if let Some(f) = checked.and_then(|v| guard.check(*kind, field, &v)) {
                    let reason = f.to_string();
                    let s = Box::new(Stop {
                        text: format!("{} rule iam_guard.{}: {reason}", prefix::DENIED, f.check),
                        decision: "deny",
                        basis: Some(format!("iam_guard.{}", f.check)),
                        reason: Some(reason),
                        outcome: Outcome::Denied,
                    });
                    if !shadow {
                        return Err(s);
                    }
                    would.get_or_insert(s);
                }
            }
        }
        let decision = policy.decide(&spec, &args);
        Ok((spec, prepared, decision, would))
    }

    /// Run one tool call through the gate and, if it passes, the handler.
    pub async fn call(
        &self,
        session: &str,
        name: &str,
        args: Option<JsonObject>,
    ) -> CallToolResult {
        let start = Instant::now();
        let policy = self.policy();
        let shadow = self.shadow(&policy);
        let raw = Value::Object(args.unwrap_or_default());
        let redacted = redact(&raw);
        let record =
            |decision: &str, basis: Option<String>, reason: Option<String>, outcome: Outcome| {
                self.audit.write(AuditRecord {
                    ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    session: session.to_string(),
                    tool: name.to_string(),
                    args: redacted.clone(),
                    decision: decision.to_string(),
                    rule: basis,
                    reason,
                    latency_us: start.elapsed().as_micros() as u64,
                    outcome,
                    policy: policy.hash.clone(),
                    mode: shadow.then(|| "shadow".to_string()),
                    prev: String::new(),
                });
            };
        let stop = |s: Stop| {
            tracing::info!(tool = name, decision = s.decision, rule = ?s.basis, "refused");
            record(s.decision, s.basis, s.reason, s.outcome);
            CallToolResult::error(vec![ContentBlock::text(s.text)])
        };

        let (spec, prepared, decision, mut would) = match self.check(&policy, name, raw) {
            Ok(v) => v,
            Err(s) => return stop(*s),
        };
        let basis = decision.basis.to_string();
        let refusal = match decision.action {
            Action::Allow => None,
            Action::Deny => Some(Stop {
                text: format!("{} rule {basis}: {}", prefix::DENIED, decision.reason),
                decision: "deny",
                basis: Some(basis.clone()),
                reason: Some(decision.reason.clone()),
                outcome: Outcome::Denied,
            }),
            Action::RequireApproval => {
                let reason = format!(
                    "{}; human approval is not available in this version, so the call was refused",
                    decision.reason
                );
                Some(Stop {
                    text: format!("{} rule {basis}: {reason}", prefix::APPROVAL),
                    decision: "require_approval",
                    basis: Some(basis.clone()),
                    reason: Some(reason),
                    outcome: Outcome::Denied,
                })
            }
        };
        if let Some(r) = refusal {
            if !shadow {
                return stop(r);
            }
            would.get_or_insert(Box::new(r));
        }

        // A call the policy would refuse (shadow mode) takes no rate-limit slot.
        let limits: &[&crate::policy::CompiledLimit] = if would.is_some() {
            &[]
        } else {
            &decision.limits
        };
        let reservation = match self.limiter.try_acquire(limits, session, Instant::now()) {
            Ok(r) => r,
            Err(e) => {
                let reason = format!(
                    "limit {} allows {} calls per {}s ({}); retry in {}s",
                    e.limit_id,
                    e.max,
                    e.window.as_secs(),
                    match e.scope {
                        crate::policy::Scope::Session => "per session",
                        crate::policy::Scope::Global => "across all sessions",
                    },
                    e.retry_after.as_secs().max(1)
                );
                let s = Stop {
                    text: format!("{} {reason}", prefix::RATE_LIMITED),
                    decision: "allow",
                    basis: Some(basis.clone()),
                    reason: Some(reason),
                    outcome: Outcome::RateLimited { limit: e.limit_id },
                };
                if !shadow {
                    return stop(s);
                }
                would = Some(Box::new(s));
                crate::limits::Reservation::default()
            }
        };
        // What the audit record says decided the call: in shadow mode, the refusal it escaped.
        let (decided, decided_by, why) = match &would {
            Some(w) => (
                w.decision,
                w.basis.clone(),
                Some(format!("shadow mode, not enforced: {}", w.text)),
            ),
            None => ("allow", Some(basis.clone()), Some(decision.reason.clone())),
        };

        let ctx = ToolContext {
            aws: self.aws.clone(),
            rabbit: self.rabbit.clone(),
            session: session.into(),
            reveal_secrets: decision.reveal_secrets,
        };
        let result = spec.run(ctx, prepared).await;
        match result {
            Ok(value) => {
                drop(reservation);
                record(decided, decided_by, why, Outcome::Ok);
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(value);
                r
            }
            Err(err) => {
                if err.reached_aws() {
                    drop(reservation);
                } else {
                    self.limiter.release(reservation);
                }
                let outcome = match &err {
                    ToolError::Aws {
                        code,
                        request_id,
                        accepted,
                        ..
                    } => Outcome::AwsError {
                        code: code.clone(),
                        request_id: request_id.clone(),
                        reached_aws: *accepted,
                    },
                    ToolError::Arg(a) => Outcome::Invalid {
                        message: a.to_string(),
                    },
                    ToolError::Internal(m) => Outcome::Error { message: m.clone() },
                };
                tracing::info!(tool = name, error = %err, "tool failed");
                record(decided, decided_by, why, outcome);
                let text = match &err {
                    ToolError::Arg(a) => format!("{} {a}", prefix::INVALID),
                    other => other.to_string(),
                };
                CallToolResult::error(vec![ContentBlock::text(text)])
            }
        }
    }

    /// What the gate would decide for a call, without calling AWS or counting it.
    pub fn explain(&self, name: &str, args: Value) -> Explanation {
        let policy = self.policy();
        let class = self.catalogue.get(name).map(|s| s.class);
        let refused = |s: Stop, reason: String| Explanation {
            tool: name.to_string(),
            class,
            decision: match s.outcome {
                Outcome::Invalid { .. } if class.is_none() => "unknown".into(),
                Outcome::Invalid { .. } => "invalid".into(),
                _ => s.decision.to_string(),
            },
            basis: s.basis,
            reason,
            conditions: Vec::new(),
            limits: Vec::new(),
        };
        match self.check(&policy, name, args) {
            // Shadow mode: hide or the IAM guard would have refused the call.
            Ok((_, _, _, Some(w))) => {
                let reason = format!("shadow mode, not enforced: {}", w.text);
                refused(*w, reason)
            }
            Ok((_, _, d, None)) => Explanation {
                tool: name.to_string(),
                class,
                decision: d.action.as_str().to_string(),
                basis: Some(d.basis.to_string()),
                reason: d.reason,
                conditions: d.conditions,
                limits: d
                    .limits
                    .iter()
                    .map(|l| {
                        format!(
                            "{}: {} calls per {}s per {}",
                            l.id,
                            l.max,
                            l.window.as_secs(),
                            match l.scope {
                                crate::policy::Scope::Session => "session",
                                crate::policy::Scope::Global => "server (global)",
                            }
                        )
                    })
                    .collect(),
            },
            Err(s) => {
                let reason = s.text.clone();
                refused(*s, reason)
            }
        }
    }
}

fn invalid(e: ArgError) -> Box<Stop> {
    Box::new(Stop {
        text: format!("{} {e}", prefix::INVALID),
        decision: "none",
        basis: None,
        reason: None,
        outcome: Outcome::Invalid {
            message: e.to_string(),
        },
    })
}
