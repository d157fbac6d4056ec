//! Enforcement: the one gate every `tools/call` passes before any handler runs.
//!
//! [`Gate::call`] is orchestration only: validate the arguments → [`authorize`] (pure: every
//! reason a call can be refused before it runs) → ask a human if the verdict says so
//! (`approve`) → reserve rate-limit slots → the AWS identity the call runs as (the caller's
//! own role under `--aws-roles`) → write the `started` audit record → run the handler → write
//! the outcome. Each refusal is a typed [`Refusal`] that knows its text and
//! its audit record. Handlers are reachable only through [`Gate::call`].

use std::sync::{Arc, RwLock};
use std::time::Instant;

use tracing::Instrument;

use rmcp::model::{
    CallToolResponse, CallToolResult, ContentBlock, InputResponses, JsonObject, RequestStateCodec,
    Tool,
};
use rmcp::{Peer, RoleServer};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::audit::{AuditLog, Outcome};
use crate::aws::AwsClients;
use crate::catalogue::{Catalogue, Extensions, Prepared, RiskClass, ToolContext, ToolSpec};
use crate::clock::Clock;
use crate::error::{ArgError, Reached, ToolError};
use crate::identity::assume::{Acting, AwsIdentities};
use crate::resource::lookup::Lookups;
use around::ForgetOnDrop;
use call::Call;

/// How long looked-up resource facts are used before they are fetched again.
pub const DEFAULT_RESOURCE_TTL: std::time::Duration = std::time::Duration::from_secs(30);
use crate::policy::{CallFacts, Caller, CompiledPolicy, Decision};
use crate::state::{Reservation, StateSpec, Store};
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
    pub const IDENTITY: &str = "No AWS identity:";
    pub const LOOKUP: &str = "Resource lookup failed:";
    pub const UNAUTHENTICATED: &str = "Not authenticated:";
    pub const DENIED_ADMIN: &str = "Denied by the admin API:";
    pub const DRAINING: &str = "Shutting down:";
}

/// Who calls, from which session, and how a human can be asked for approval.
pub struct CallCtx<'a> {
    pub session: &'a str,
    pub caller: &'a Caller,
    pub asker: Asker<'a>,
    /// Where a long call reports progress, and the client's cancellation.
    pub progress: crate::catalogue::Progress,
    /// The client's trace context (`_meta.traceparent` or the HTTP header), if it sent one
    /// and traces are exported.
    pub trace: crate::telemetry::context::Carrier,
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
            progress: Default::default(),
            trace: Default::default(),
        }
    }
}

mod approve;
mod around;
mod call;
mod counting;
mod drain;
mod explain;

pub use explain::Explanation;
pub mod offline;
mod outside;
mod refusal;
mod refusals;
#[cfg(test)]
mod tests;
mod verdict;
use approve::{Approved, Halt};
pub use refusal::{Refusal, RefusalKind};
pub use verdict::{Denial, GateOptions, Request, Verdict, authorize};

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
    /// The tool families' own state (see [`Extensions`]).
    extensions: Extensions,
    /// Where windows, caches and expiries read the time.
    clock: Clock,
    /// Each caller's own AWS role (`--aws-roles`); the server's credentials for all when None.
    identities: Option<Arc<AwsIdentities>>,
    /// Where approval events are sent (`--approval-webhook`).
    webhook: Option<crate::approval::webhook::Webhook>,
    /// Facts of the resources calls touch, for `resource.*` conditions (looked up with the
    /// server's own AWS identity, cached briefly).
    lookups: Lookups,
    /// What calls put in force, read for the policy's guard by the family that offers it
    /// (the IAM guard's reader), cached for `resource_ttl`.
    guard_reader: Option<Arc<dyn crate::catalogue::guard::GuardReader>>,
    /// How long looked-up facts are kept.
    resource_ttl: std::time::Duration,
    /// Refused calls per session and principal (a flood of refusals is slowed and summarised).
    refusals: refusals::RefusalBudget,
    /// The same budget per principal, over all its sessions (a new session does not reset it).
    principal_refusals: refusals::RefusalBudget,
    metrics: crate::metrics::Metrics,
    options: GateOptions,
    /// Shutting down: calls running, and whether new ones are refused.
    drain: drain::Drain,
}

/// Why a gate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Schema(#[from] crate::validate::SchemaError),
    #[error(transparent)]
    Store(#[from] crate::state::StoreError),
    #[error(transparent)]
    Tools(#[from] crate::tools::ToolsConfigError),
}

impl Gate {
    pub fn new(
        catalogue: Arc<Catalogue>,
        policy: CompiledPolicy,
        audit: AuditLog,
        aws: Arc<AwsClients>,
        options: GateOptions,
    ) -> Result<Self, GateError> {
        let validator = ArgValidator::new(&catalogue)?;
        let store = Store::open(&StateSpec::Memory {
            approvals_dir: crate::state::default_approvals_dir(),
        })?;
        Ok(Gate {
            catalogue,
            validator,
            policy: RwLock::new(Arc::new(policy)),
            store: Arc::new(store),
            listing: tokio::sync::watch::channel(0).0,
            codec: OnceCell::new(),
            audit,
            aws_once: Arc::new(aws.single_attempt()),
            lookups: Lookups::new(aws.clone(), DEFAULT_RESOURCE_TTL),
            guard_reader: crate::tools::guard_reader(&aws, DEFAULT_RESOURCE_TTL, &Clock::system()),
            resource_ttl: DEFAULT_RESOURCE_TTL,
            aws,
            extensions: crate::tools::extensions(&Default::default())?,
            clock: Clock::system(),
            identities: None,
            webhook: None,
            refusals: Default::default(),
            principal_refusals: Default::default(),
            metrics: Default::default(),
            options,
            drain: Default::default(),
        })
    }

    /// Keep counters and approvals in this store (the default: memory, approvals in the
    /// default approvals directory).
    pub fn with_store(mut self, store: Arc<Store>) -> Self {
        self.store = store;
        self
    }

    /// RabbitMQ connections with this configuration (allowed management hosts).
    /// Read windows, caches and expiries from this clock (tests step a manual one).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.lookups.set_clock(clock.clone());
        self.guard_reader = crate::tools::guard_reader(&self.aws, self.resource_ttl, &clock);
        self.clock = clock;
        self
    }

    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// Send approval events to this webhook.
    pub fn with_webhook(mut self, hook: crate::approval::webhook::Webhook) -> Self {
        self.webhook = Some(hook);
        self
    }

    /// The approvals in the state store (pending ones, or all), with their current status.
    pub async fn approvals(
        &self,
        all: bool,
    ) -> Result<Vec<crate::approval::Approval>, crate::state::StoreError> {
        let now = self.clock.unix();
        Ok(self
            .store
            .list_approvals()
            .await?
            .into_iter()
            .map(|mut a| {
                a.status = a.status_at(now);
                a
            })
            .filter(|a| all || a.status == crate::approval::Status::Pending)
            .collect())
    }

    /// One approval, with its current status.
    pub async fn approval(
        &self,
        id: &str,
    ) -> Result<Option<crate::approval::Approval>, crate::state::StoreError> {
        let now = self.clock.unix();
        Ok(self.store.get_approval(id).await?.map(|mut a| {
            a.status = a.status_at(now);
            a
        }))
    }

    /// An operator's decision (`/admin/approvals`): recorded in the state store, the audit log
    /// and the webhook.
    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
        by: &str,
    ) -> Result<crate::approval::Approval, crate::state::StoreError> {
        let a = self.store.decide_approval(id, approve, by).await?;
        self.metrics.approval_decided(approve);
        let _ = self
            .audit
            .write(a.decision_record(approve, by, self.policy().hash.clone()));
        if let Some(hook) = &self.webhook {
            hook.notify("approval_decided", &a);
        }
        Ok(a)
    }

    /// Keep looked-up resource facts this long (default [`DEFAULT_RESOURCE_TTL`]).
    pub fn with_resource_cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.lookups = Lookups::new(self.aws.clone(), ttl);
        self.lookups.set_clock(self.clock.clone());
        self.resource_ttl = ttl;
        self.guard_reader = crate::tools::guard_reader(&self.aws, ttl, &self.clock);
        self
    }

    /// How many requests the guard's reads made to AWS (IAM, STS, Access Analyzer).
    pub fn grant_lookups(&self) -> u64 {
        self.guard_reader.as_ref().map_or(0, |r| r.made())
    }

    /// How many resource lookups reached AWS.
    pub fn resource_lookups(&self) -> u64 {
        self.lookups.made()
    }

    /// Make each caller's AWS calls as the role the AWS roles file gives it.
    pub fn with_identities(mut self, identities: AwsIdentities) -> Self {
        self.identities = Some(Arc::new(identities));
        self
    }

    /// The per-caller AWS identities in force, if any.
    pub fn identities(&self) -> Option<&AwsIdentities> {
        self.identities.as_deref()
    }

    /// Also export the metrics over OTLP, through this meter.
    pub fn with_otlp_meter(mut self, meter: Option<opentelemetry::metrics::Meter>) -> Self {
        if let Some(meter) = meter {
            self.metrics = std::mem::take(&mut self.metrics).with_otlp(&meter);
        }
        self
    }

    /// The server's metrics (`serve --metrics`).
    pub fn metrics(&self) -> &crate::metrics::Metrics {
        &self.metrics
    }

    /// Whether the gate can take calls (`/readyz`): a policy is loaded (always, once built),
    /// the audit log's last write succeeded, and the state store answers. Each problem named.
    pub async fn readiness(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.drain.draining() {
            problems.push("shutting down: draining the calls running".to_string());
        }
        if !self.audit.writable() {
            problems.push("the audit log cannot be written".to_string());
        }
        if let Err(e) = self.store.ping().await {
            problems.push(e.to_string());
        }
        problems.extend(self.audit.shipping_problem());
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Forget what a session kept (a family's per-session state: RabbitMQ connections and
    /// their credentials) when it ends.
    pub fn end_session(&self, session: &str) {
        self.extensions.session_ended(session);
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

    /// Validate a call's arguments: the tool's schema, AWS's rules, a known region; then
    /// deserialise them once for the handler.
    fn validate(&self, spec: &ToolSpec, raw: Value) -> Result<(Value, Prepared), ArgError> {
        validate(&self.validator, spec, raw, &self.options.extra_regions)
    }

    /// The state store (limits, approvals, HTTP session counts).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether `args` are valid for the tool `name` (schema and the tool's own rules), without
    /// deciding or running anything: a call that would start a task is checked first, so an
    /// invalid one is refused at once, never as a task.
    pub fn arguments_valid(&self, name: &str, args: Option<&JsonObject>) -> bool {
        let Some(spec) = self.catalogue.get(name) else {
            return false;
        };
        let raw = Value::Object(args.cloned().unwrap_or_default());
        self.validate(spec, raw).is_ok()
    }

    /// Run one tool call through the gate and, if it passes, the handler.
    pub async fn call(
        &self,
        cx: CallCtx<'_>,
        name: &str,
        args: Option<JsonObject>,
    ) -> CallToolResponse {
        let span = crate::telemetry::span::call(self.label(name), &cx.caller.principal, || {
            cx.trace.clone()
        });
        self.gated(&cx, name, args, span.clone())
            .instrument(span)
            .await
    }

    /// [`Gate::call`] inside the call's span.
    async fn gated(
        &self,
        cx: &CallCtx<'_>,
        name: &str,
        args: Option<JsonObject>,
        span: tracing::Span,
    ) -> CallToolResponse {
        let _running = self.drain.enter();
        let raw = Value::Object(args.unwrap_or_default());
        let call = Call::new(self, cx, name, &raw, span);
        if self.drain.draining() {
            return call.refuse(Refusal::Draining);
        }
        if let Some(over) = self.flooded(&call) {
            return over;
        }
        let spec = self.catalogue.get(name).cloned();
        if let Some(s) = spec.as_deref() {
            crate::telemetry::span::class(&call.span, s.class.as_str());
        }
        let validated = spec
            .as_deref()
            .map(|s| crate::step_span!("validate").in_scope(|| self.validate(s, raw)));
        // The existing resource the call names, if its tool acts on one.
        let target = spec.as_deref().and_then(|s| s.target).zip(
            validated
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|(v, _)| v),
        );
        let at = target.and_then(|(t, args)| t.locate(args));
        let resource = match self.resource_facts(&call, at.as_ref()).await {
            Ok(r) => r,
            Err(stop) => return stop,
        };
        let grants = match self
            .guard_facts(&call, spec.as_deref(), args_of(&validated))
            .await
        {
            Ok(g) => g,
            Err(stop) => return stop,
        };
        // A call that changes its resource makes what is cached of it stale.
        let changes = at.filter(|_| spec.as_deref().is_some_and(|s| s.class != RiskClass::Read));
        if let (Some(at), Some(reader)) = (&changes, &self.guard_reader) {
            reader.resource_changed(at);
        }
        let valid_args = validated
            .as_ref()
            .and_then(|r| r.as_ref().ok())
            .map(|(v, _)| v);
        let facts = valid_args.map(|args| CallFacts {
            session: cx.session,
            caller: cx.caller,
            args,
            resource: resource.as_ref(),
        });
        let history = match self.history_facts(&call, facts.as_ref()).await {
            Ok(h) => h,
            Err(stop) => return stop,
        };
        // What this call is logged as in the history, should it succeed.
        let logged = facts
            .as_ref()
            .map(|f| around::history_entries(&call.policy, name, f))
            .unwrap_or_default();
        let request = Request {
            name,
            tool: spec.as_deref().zip(args_of(&validated)),
            caller: cx.caller,
            resource: resource.as_ref(),
            grants: grants.as_ref(),
            history: history.as_ref(),
        };
        let mut verdict = crate::step_span!("decide")
            .in_scope(|| authorize(&call.policy, &self.options, &request));
        // The conditions that held go to the audit record (nothing after this reads them).
        let held = match &mut verdict {
            // A denial keeps them too: its text names the history conditions that held.
            Verdict::Deny(Denial::Rule { conditions, .. }) => conditions.clone(),
            Verdict::Allow { decision, .. } | Verdict::RequireApproval(decision) => {
                std::mem::take(&mut decision.conditions)
            }
            Verdict::Deny(_) => Vec::new(),
        };
        if !held.is_empty() {
            let _ = call.conditions.set(held);
        }
        let (decision, shadowed, approved) = match verdict {
            Verdict::Deny(d) => return call.refuse(Refusal::Denied(d)),
            Verdict::Allow { decision, shadowed } => (decision, shadowed, None),
            Verdict::RequireApproval(decision) => {
                let Some((spec, Ok(args))) = request.tool else {
                    return call.fail("approval without a tool");
                };
                match self
                    .seek_approval(cx, spec, args, &call.redacted, &decision)
                    .instrument(crate::step_span!("approval"))
                    .await
                {
                    Ok(a) => (decision, None, Some(a)),
                    Err(Halt::Stop(r)) => return call.refuse(r),
                    Err(Halt::Ask(input)) => return call.ask(input, &decision),
                }
            }
        };
        // authorize refuses unknown tools and invalid arguments, so both are here.
        let (Some(spec), Some(Ok((args, prepared)))) = (spec, validated) else {
            return call.fail("an allowed call without a tool or arguments");
        };
        let mut shadowed = shadowed.map(Refusal::Denied);
        let facts = CallFacts {
            session: cx.session,
            caller: cx.caller,
            args: &args,
            resource: resource.as_ref(),
        };
        let reservation = match self
            .reserve(&call, &decision, &facts, &mut shadowed)
            .instrument(crate::step_span!("rate_limit"))
            .await
        {
            Ok(r) => r,
            Err(r) => return call.refuse(r),
        };
        if let Err(r) = self.acting_as(&call, &spec, &decision).await {
            self.store.release(reservation).await;
            return call.refuse(r);
        }
        if let Err(stop) = self
            .before_run(&call, &spec, &decision, approved.as_ref())
            .await
        {
            self.store.release(reservation).await;
            return stop;
        }
        let audit = audit_basis(shadowed.as_ref(), approved, &decision);
        let _forget = changes.map(|at| ForgetOnDrop(&self.lookups, at));
        self.run(
            &call,
            &spec,
            prepared,
            &decision,
            (reservation, logged),
            audit,
        )
        .await
    }

    /// What metrics and spans call a tool: its name when the catalogue has it, else `unknown`
    /// (a client picks the names it sends; labels must stay few).
    pub(crate) fn label<'n>(&self, name: &'n str) -> &'n str {
        if self.catalogue.get(name).is_some() {
            name
        } else {
            "unknown"
        }
    }

    /// Just before the handler: a call that can change something is in the audit log first
    /// (fail closed), then its approval, if any, is used up, once.
    async fn before_run(
        &self,
        call: &Call<'_>,
        spec: &ToolSpec,
        decision: &Decision<'_>,
        approved: Option<&Approved>,
    ) -> Result<(), CallToolResponse> {
        let basis = decision.basis.to_string();
        if spec.class != RiskClass::Read {
            call.record(
                decision.action.as_str(),
                Some(basis.clone()),
                Some(decision.reason.clone()),
                Outcome::Started,
            )
            .map_err(|e| call.refuse(audit_stop(&e, "the call was not made")))?;
        }
        let Some(a) = approved else {
            return Ok(());
        };
        let refusal = match self.spend(&a.spend).await {
            Ok(true) => return Ok(()),
            Ok(false) => Refusal::approval(
                &basis,
                "this approval was already used; an approval runs a call once, so call again to be asked again".into(),
                Outcome::Denied,
            ),
            Err(e) => Refusal::store_down(&e, "require_approval", &basis),
        };
        Err(call.refuse(refusal))
    }

    /// Run the handler and write the call's outcome.
    async fn run(
        &self,
        call: &Call<'_>,
        spec: &ToolSpec,
        prepared: Prepared,
        decision: &Decision<'_>,
        (reservation, logged): (Reservation, Vec<crate::state::Logged>),
        (decided, basis, why): (&'static str, Option<String>, Option<String>),
    ) -> CallToolResponse {
        // A mutation that is not idempotent is sent once: a retry after a lost answer could
        // make the change twice (and past the rate limit).
        let once = spec.class != RiskClass::Read && !spec.idempotent;
        let (aws, aws_once, acting_as) = match call.acting.get() {
            None | Some(Acting::Server) => (&self.aws, &self.aws_once, None),
            Some(Acting::Assumed(a)) => (&a.clients, &a.once, Some(a.role_arn.as_str().into())),
        };
        let ctx = ToolContext {
            aws: if once { aws_once } else { aws }.clone(),
            extensions: self.extensions.clone(),
            operation: spec.aws_api,
            session: call.cx.session.into(),
            reveal_secrets: decision.reveal_secrets,
            acting_as,
            progress: call.cx.progress.clone(),
            add_tags: Arc::new(if spec.creates_tagged {
                call.policy.tags_on_create(call.cx.caller)
            } else {
                Default::default()
            }),
        };
        let handler = crate::telemetry::span::handler(&spec.api);
        let at = *call.handler_at.get_or_init(Instant::now);
        let result = spec.run(ctx, prepared).instrument(handler.clone()).await;
        self.metrics
            .aws_call(spec.api.service, result.is_ok(), at.elapsed().as_secs_f64());
        match &result {
            Err(ToolError::Aws {
                code, request_id, ..
            }) => crate::telemetry::span::handler_failed(&handler, code, request_id.as_deref()),
            Err(other) => {
                let kind = crate::metrics::outcome_status(&tool_outcome(other));
                crate::telemetry::span::handler_failed(&handler, kind, None)
            }
            Ok(_) => {}
        }
        match result {
            Ok(value) => {
                drop(reservation);
                // History counts calls that succeeded. One the store cannot log is missing
                // from it: `absent` conditions then refuse (the safe side), counts read low.
                if let Err(e) = self.store.record_history(&logged).await {
                    tracing::warn!(tool = call.name, error = %e, "could not log the call in the history");
                }
                // A read whose record cannot be written does not hand out what it read.
                let written = call.record(decided, basis, why, Outcome::Ok);
                if let (Err(e), RiskClass::Read) = (written, spec.class) {
                    return call.refuse(audit_stop(&e, "the result is withheld"));
                }
                let text = serde_json::to_string_pretty(&value).unwrap_or_default();
                let mut r = CallToolResult::success(vec![ContentBlock::text(text)]);
                r.structured_content = Some(value);
                r.into()
            }
            Err(err) => {
                // Only a call that certainly never reached AWS gives its slot back.
                if err.reached() == Reached::No {
                    self.store.release(reservation).await;
                }
                tracing::info!(tool = call.name, error = %err, "tool failed");
                let _ = call.record(decided, basis, why, tool_outcome(&err));
                let text = match &err {
                    ToolError::Arg(a) => format!("{} {a}", prefix::INVALID),
                    other => other.to_string(),
                };
                CallToolResult::error(vec![ContentBlock::text(text)]).into()
            }
        }
    }
}

/// The validated arguments of a call, as [`authorize`] reads them.
fn args_of(validated: &Option<Result<(Value, Prepared), ArgError>>) -> Option<verdict::Args<'_>> {
    validated.as_ref().map(|r| r.as_ref().map(|(v, _)| v))
}

/// A call's arguments against the tool's schema, AWS's rules and the known regions, then
/// deserialised once for the handler. Pure, like [`authorize`], which takes its answer.
pub(crate) fn validate(
    validator: &ArgValidator,
    spec: &ToolSpec,
    raw: Value,
    extra_regions: &[String],
) -> Result<(Value, Prepared), ArgError> {
    let args = validator.validate(spec, raw)?;
    crate::tools::common::check_region(&args, extra_regions)?;
    let prepared = spec.prepare(&args)?;
    Ok((args, prepared))
}

/// What the outcome record says decided the call: in shadow mode, the refusal it escaped;
/// after an approval, who approved it.
fn audit_basis(
    shadowed: Option<&Refusal>,
    approved: Option<Approved>,
    decision: &Decision<'_>,
) -> (&'static str, Option<String>, Option<String>) {
    let basis = Some(decision.basis.to_string());
    match (shadowed, approved) {
        (Some(w), _) => (
            w.decision(),
            w.basis(),
            Some(format!("shadow mode, not enforced: {}", w.text())),
        ),
        (None, Some(a)) => (
            "approved",
            basis,
            Some(format!("{}; {}", decision.reason, a.how)),
        ),
        (None, None) => ("allow", basis, Some(decision.reason.clone())),
    }
}

/// A handler's failure as an audit outcome.
fn tool_outcome(err: &ToolError) -> Outcome {
    match err {
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
        ToolError::Internal(_) | ToolError::UnexpectedAnswer { .. } => Outcome::Error {
            message: err.to_string(),
        },
    }
}

/// The audit log cannot be written: refuse (fail closed).
fn audit_stop(e: &std::io::Error, what: &'static str) -> Refusal {
    tracing::error!(error = %e, "audit log unavailable; refusing");
    Refusal::AuditUnavailable {
        error: e.to_string(),
        what,
    }
}
