//! Enforcement: the one gate every `tools/call` passes before any handler runs.
//!
//! In order: the tool exists and is not hidden; the arguments pass the tool's schema and AWS
//! rules; the policy decides; rate limits reserve a slot; the handler calls AWS; one audit
//! record is written. Handlers are reachable only through [`Gate::call`].

use std::sync::{Arc, RwLock};
use std::time::Instant;

use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, InputResponses, JsonObject, RequestStateCodec,
    Tool,
};
use rmcp::{Peer, RoleServer};
use serde::Serialize;
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::audit::{AuditLog, AuditRecord, Outcome, audited_args, redact};
use crate::aws::AwsClients;
use crate::catalogue::{Catalogue, RiskClass, ToolContext, ToolSpec};
use crate::error::{ArgError, ToolError};
use crate::iam_guard::DocKind;
use crate::policy::{Action, Caller, CompiledPolicy, Decision};
use crate::state::{StateSpec, Store, StoreError, counted};
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
    pub const STATE: &str = "State store unavailable:";
    pub const AUDIT: &str = "Audit log unavailable:";
    pub const AWS: &str = "AWS error";
}

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

/// Who calls, from which session, and how a human can be asked for approval.
pub struct CallCtx<'a> {
    pub session: &'a str,
    pub caller: &'a Caller,
    pub asker: Asker<'a>,
}

/// How the gate can put a call to a human.
pub enum Asker<'a> {
    /// The client has no elicitation: approvals go through `guarded-aws-mcp approvals`.
    OutOfBand,
    /// A server-initiated `elicitation/create` request (clients before protocol 2026-07-28).
    Elicit(&'a Peer<RoleServer>),
    /// MRTR (protocol 2026-07-28): the result asks for input; the client retries with the
    /// answer and the sealed state.
    Mrtr {
        responses: Option<InputResponses>,
        state: Option<String>,
    },
}

impl<'a> CallCtx<'a> {
    /// A call with no elicitation (benchmarks, tests, stdio clients without it).
    pub fn out_of_band(session: &'a str, caller: &'a Caller) -> Self {
        CallCtx {
            session,
            caller,
            asker: Asker::OutOfBand,
        }
    }
}

mod approve;
mod refusals;
use approve::{Approved, Halt};

pub struct Gate {
    catalogue: Arc<Catalogue>,
    validator: ArgValidator,
    policy: RwLock<Arc<CompiledPolicy>>,
    store: Arc<Store>,
    /// Bumped when a reload changes which tools are visible (`tools/list_changed`).
    listing: tokio::sync::watch::Sender<u64>,
    /// Seals MRTR state with the store's key (shared by replicas on Redis).
    codec: OnceCell<RequestStateCodec>,
    audit: AuditLog,
    aws: Arc<AwsClients>,
    /// The same AWS settings without retries, for non-idempotent mutations.
    aws_once: Arc<AwsClients>,
    /// RabbitMQ connections of every session this gate serves.
    rabbit: Arc<crate::tools::rabbitmq::Connections>,
    /// Refused calls per session and principal (a flood of refusals is slowed and summarised).
    refusals: refusals::RefusalBudget,
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
    Value,
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
        let store = Store::open(&StateSpec::Memory {
            approvals_dir: crate::state::default_approvals_dir(),
        })
        .map_err(|e| e.to_string())?;
        Ok(Gate {
            catalogue,
            validator,
            policy: RwLock::new(Arc::new(policy)),
            store: Arc::new(store),
            listing: tokio::sync::watch::channel(0).0,
            codec: OnceCell::new(),
            audit,
            aws_once: Arc::new(aws.single_attempt()),
            aws,
            rabbit: Default::default(),
            refusals: Default::default(),
            options,
        })
    }

    /// Keep counters and approvals in this store (the default: memory, approvals in the
    /// default approvals directory).
    pub fn with_store(mut self, store: Arc<Store>) -> Self {
        self.store = store;
        self
    }

    /// RabbitMQ connections with this configuration (allowed management hosts).
    pub fn with_rabbitmq(mut self, connections: crate::tools::rabbitmq::Connections) -> Self {
        self.rabbit = Arc::new(connections);
        self
    }

    /// Forget what a session kept (its RabbitMQ connection and credentials) when it ends.
    pub fn end_session(&self, session: &str) {
        self.rabbit.remove(session);
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
        let mut current = self.policy.write().unwrap_or_else(|e| e.into_inner());
        let hidden_changed = current.hidden != policy.hidden;
        *current = Arc::new(policy);
        drop(current);
        if hidden_changed {
            self.listing.send_modify(|v| *v += 1);
        }
    }

    /// Changes whenever a reload changes the tools an agent may see.
    pub fn listing_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.listing.subscribe()
    }

    /// Record a policy reload (or its refusal) in the audit log.
    pub fn audit_reload(&self, file: &str, accepted: bool, detail: String) {
        let policy = self.policy();
        let _ = self.audit.write(AuditRecord {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            session: "server".into(),
            principal: None,
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
        caller: &Caller,
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
        crate::tools::common::check_region(&args, &self.options.extra_regions).map_err(invalid)?;
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
        let decision = policy.decide(&spec, &args, caller);
        Ok((spec, args, prepared, decision, would))
    }

    /// Run one tool call through the gate and, if it passes, the handler.
    pub async fn call(
        &self,
        cx: CallCtx<'_>,
        name: &str,
        args: Option<JsonObject>,
    ) -> CallToolResponse {
        let start = Instant::now();
        let session = cx.session;
        let policy = self.policy();
        let shadow = self.shadow(&policy);
        let raw = Value::Object(args.unwrap_or_default());
        let redacted = redact(&raw);
        let audited = audited_args(&raw);
        let record =
            |decision: &str, basis: Option<String>, reason: Option<String>, outcome: Outcome| {
                self.audit.write(AuditRecord {
                    ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                    session: session.to_string(),
                    principal: Some(cx.caller.principal.clone()),
                    tool: name.to_string(),
                    args: audited.clone(),
                    decision: decision.to_string(),
                    rule: basis,
                    reason,
                    latency_us: start.elapsed().as_micros() as u64,
                    outcome,
                    policy: policy.hash.clone(),
                    mode: shadow.then(|| "shadow".to_string()),
                    prev: String::new(),
                })
            };
        let budget_key = format!("{session}|{}", cx.caller.principal);
        if let Some(over) = self.refusals.check(&budget_key) {
            let text = format!(
                "{} more than {} refused calls in {}s from this session; retry in {}s",
                prefix::RATE_LIMITED,
                refusals::MAX_REFUSALS,
                refusals::WINDOW.as_secs(),
                over.retry_after.as_secs().max(1)
            );
            if over.audit {
                // Once per window: the calls after this one are refused without a record each.
                let _ = record(
                    "none",
                    None,
                    Some(text.clone()),
                    Outcome::RateLimited {
                        limit: "refused_calls".into(),
                    },
                );
            }
            return CallToolResult::error(vec![ContentBlock::text(text)]).into();
        }
        let stop = |s: Stop| -> CallToolResponse {
            tracing::info!(tool = name, decision = s.decision, rule = ?s.basis, "refused");
            // Invalid calls (malformed, oversized, unknown tools) count towards the budget;
            // denials, rate limits and approvals are the policy working as written.
            if matches!(s.outcome, Outcome::Invalid { .. }) {
                self.refusals.note(&budget_key);
            }
            // A refusal stays a refusal whether or not its record could be written.
            let _ = record(s.decision, s.basis, s.reason, s.outcome);
            CallToolResult::error(vec![ContentBlock::text(s.text)]).into()
        };

        let (spec, args, prepared, decision, mut would) =
            match self.check(&policy, name, raw, cx.caller) {
                Ok(v) => v,
                Err(s) => return stop(*s),
            };
        let basis = decision.basis.to_string();
        // How a call that needed approval got it, and what it uses up when it runs.
        let mut approved: Option<Approved> = None;
        let refusal = match decision.action {
            Action::Allow => None,
            Action::Deny => Some(Stop {
                text: format!("{} rule {basis}: {}", prefix::DENIED, decision.reason),
                decision: "deny",
                basis: Some(basis.clone()),
                reason: Some(decision.reason.clone()),
                outcome: Outcome::Denied,
            }),
            // In shadow mode nobody is asked: the call is audited as needing approval.
            Action::RequireApproval if shadow => Some(approval_stop(
                &basis,
                decision.reason.clone(),
                Outcome::Denied,
            )),
            Action::RequireApproval => {
                match self
                    .seek_approval(&cx, &spec, &args, &redacted, &decision, &basis)
                    .await
                {
                    Ok(a) => {
                        approved = Some(a);
                        None
                    }
                    Err(Halt::Stop(s)) => return stop(s),
                    Err(Halt::Ask(input)) => {
                        tracing::info!(tool = name, "asked the user for approval (MRTR)");
                        let _ = record(
                            "require_approval",
                            Some(basis.clone()),
                            Some(decision.reason.clone()),
                            Outcome::AwaitingApproval {
                                via: "elicitation (input required)".into(),
                                approval_id: None,
                            },
                        );
                        return input.into();
                    }
                }
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
        let counters = counted(limits, session, &cx.caller.principal);
        let reservation = match self.store.try_acquire(&counters).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                let reason = format!(
                    "limit {} allows {} calls per {}s ({}); retry in {}s",
                    e.limit_id,
                    e.max,
                    e.window.as_secs(),
                    match e.scope {
                        crate::policy::Scope::Session => "per session",
                        crate::policy::Scope::Principal => "per principal",
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
                crate::state::Reservation::None
            }
            Err(e) => {
                let s = store_stop(&e, decision.action.as_str(), &basis);
                if !shadow {
                    return stop(s);
                }
                would = Some(Box::new(s));
                crate::state::Reservation::None
            }
        };
        // Every call that can change something is in the audit log before it runs: a call whose
        // record cannot be written is not made (fail closed).
        if spec.class != RiskClass::Read {
            if let Err(e) = record(
                decision.action.as_str(),
                Some(basis.clone()),
                Some(decision.reason.clone()),
                Outcome::Started,
            ) {
                self.store.release(reservation).await;
                return audit_stop(&e, "the call was not made");
            }
        }
        // The call has its slots: now the approval is used up, once.
        if let Some(a) = &approved {
            let refusal = match self.spend(&a.spend).await {
                Ok(true) => None,
                Ok(false) => Some(approval_stop(
                    &basis,
                    "this approval was already used; an approval runs a call once, so call again to be asked again".into(),
                    Outcome::Denied,
                )),
                Err(e) => Some(store_stop(&e, "require_approval", &basis)),
            };
            if let Some(r) = refusal {
                self.store.release(reservation).await;
                return stop(r);
            }
        }
        // What the audit record says decided the call: in shadow mode, the refusal it escaped.
        let (decided, decided_by, why) = match (&would, approved.map(|a| a.how)) {
            (Some(w), _) => (
                w.decision,
                w.basis.clone(),
                Some(format!("shadow mode, not enforced: {}", w.text)),
            ),
            (None, Some(how)) => (
                "approved",
                Some(basis.clone()),
                Some(format!("{}; {how}", decision.reason)),
            ),
            (None, None) => ("allow", Some(basis.clone()), Some(decision.reason.clone())),
        };

        // A mutation that is not idempotent is sent once: a retry after a lost answer could
        // make the change twice (and past the rate limit).
        let once = spec.class != RiskClass::Read && !spec.idempotent;
        let ctx = ToolContext {
            aws: if once {
                self.aws_once.clone()
            } else {
                self.aws.clone()
            },
            rabbit: self.rabbit.clone(),
            session: session.into(),
            reveal_secrets: decision.reveal_secrets,
        };
        let result = spec.run(ctx, prepared).await;
        match result {
            Ok(value) => {
                drop(reservation);
                // A read whose record cannot be written does not hand out what it read.
                if let Err(e) = record(decided, decided_by, why, Outcome::Ok) {
                    if spec.class == RiskClass::Read {
                        return audit_stop(&e, "the result is withheld");
                    }
                }
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(value);
                r.into()
            }
            Err(err) => {
                // Only a call that certainly never reached AWS gives its slot back.
                if err.reached() == crate::error::Reached::No {
                    self.store.release(reservation).await;
                } else {
                    drop(reservation);
                }
                let outcome = match &err {
                    ToolError::Aws {
                        code,
                        request_id,
                        reached,
                        ..
                    } => Outcome::AwsError {
                        code: code.clone(),
                        request_id: request_id.clone(),
                        reached_aws: *reached,
                    },
                    ToolError::Arg(a) => Outcome::Invalid {
                        message: a.to_string(),
                    },
                    ToolError::Internal(m) => Outcome::Error { message: m.clone() },
                };
                tracing::info!(tool = name, error = %err, "tool failed");
                let _ = record(decided, decided_by, why, outcome);
                let text = match &err {
                    ToolError::Arg(a) => format!("{} {a}", prefix::INVALID),
                    other => other.to_string(),
                };
                CallToolResult::error(vec![ContentBlock::text(text)]).into()
            }
        }
    }

    /// What the gate would decide for a call, without calling AWS or counting it.
    pub fn explain(&self, name: &str, args: Value, caller: &Caller) -> Explanation {
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
        match self.check(&policy, name, args, caller) {
            // Shadow mode: hide or the IAM guard would have refused the call.
            Ok((_, _, _, _, Some(w))) => {
                let reason = format!("shadow mode, not enforced: {}", w.text);
                refused(*w, reason)
            }
            Ok((_, _, _, d, None)) => Explanation {
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
                                crate::policy::Scope::Principal => "principal",
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

/// A `require_approval` call that does not run (now): `Approval required: rule <basis>: <reason>`.
fn approval_stop(basis: &str, reason: String, outcome: Outcome) -> Stop {
    Stop {
        text: format!("{} rule {basis}: {reason}", prefix::APPROVAL),
        decision: "require_approval",
        basis: Some(basis.to_string()),
        reason: Some(reason),
        outcome,
    }
}

/// The audit log cannot be written: refuse (fail closed).
fn audit_stop(e: &std::io::Error, what: &str) -> CallToolResponse {
    tracing::error!(error = %e, "audit log unavailable; refusing");
    CallToolResult::error(vec![ContentBlock::text(format!(
        "{} its record cannot be written ({e}), so {what}",
        prefix::AUDIT
    ))])
    .into()
}

/// The store cannot be reached: the call is refused (fail closed).
fn store_stop(e: &StoreError, decision: &'static str, basis: &str) -> Stop {
    let reason = format!(
        "{e}; calls that need rate limits or approvals are refused until it is back (no AWS call was made)"
    );
    tracing::warn!(error = %e, "state store unavailable; refusing");
    Stop {
        text: format!("{} {reason}", prefix::STATE),
        decision,
        basis: Some(basis.to_string()),
        reason: Some(reason),
        outcome: Outcome::Error {
            message: e.to_string(),
        },
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
