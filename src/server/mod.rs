//! The MCP server: `tools/list` shows what the gate lets an agent see; `tools/call` goes
//! through [`Gate::call`] and nowhere else.

use std::sync::Arc;

use rmcp::model::SubscriptionFilter;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, RequestContext, SubscriptionContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::gate::{Asker, CallCtx, Gate};
use crate::policy::Caller;

pub mod tasks;
pub use tasks::Tasks;

/// How often a session's tool-list watcher looks whether its session has ended.
const SESSION_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// The header that carries a server-issued HTTP session id.
pub const SESSION_HEADER: &str = "mcp-session-id";

/// The gate's name for a server-issued HTTP session.
pub fn session_key(id: &str) -> String {
    format!("http:{id}")
}

/// One MCP session over a shared gate.
#[derive(Clone)]
pub struct GuardedServer {
    gate: Arc<Gate>,
    session: Arc<str>,
    /// The caller on stdio (`--principal`); over HTTP each request carries its own.
    caller: Arc<Caller>,
    /// Calls running as MCP tasks (shared by every session of an HTTP server).
    tasks: Arc<Tasks>,
}

impl GuardedServer {
    pub fn new(gate: Arc<Gate>) -> Self {
        Self::with_caller(gate, Caller::default())
    }

    pub fn with_caller(gate: Arc<Gate>, caller: Caller) -> Self {
        GuardedServer {
            gate,
            session: uuid::Uuid::new_v4().to_string().into(),
            caller: Arc::new(caller),
            tasks: Arc::default(),
        }
    }

    /// Share the running tasks with other sessions (HTTP: a principal's tasks outlive the
    /// request or session that started them).
    pub fn with_tasks(mut self, tasks: Arc<Tasks>) -> Self {
        self.tasks = tasks;
        self
    }

    /// The authenticated caller of a request: the HTTP token's, else this session's (stdio).
    fn caller_of<'a>(&'a self, context: &'a RequestContext<RoleServer>) -> Option<&'a Caller> {
        match context.extensions.get::<axum::http::request::Parts>() {
            Some(parts) => parts.extensions.get::<Caller>(),
            None => Some(&self.caller),
        }
    }

    pub fn session_id(&self) -> &str {
        &self.session
    }
}

const INSTRUCTIONS: &str = "Amazon MQ, RabbitMQ and IAM tools behind a policy gate. Refusals start \
with a stable prefix: 'Denied by policy:', 'Denied by read-only mode:', 'Approval required:', \
'Rate limited:', 'State store unavailable:', 'No AWS identity:', 'Resource lookup failed:', \
'Audit log unavailable:', 'Not authenticated:', 'Invalid arguments:' or 'Unknown tool:'; AWS failures \
start with 'AWS error' and carry the AWS error code and request id. Do not retry a policy refusal \
with the same arguments; an 'Approval required:' refusal says when a retry of the identical call runs.";

/// The first protocol revision where servers may not send requests of their own (SEP-2260):
/// approval is asked through an input-required result instead.
fn mrtr(version: Option<ProtocolVersion>) -> bool {
    version.is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

impl ServerHandler for GuardedServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_tool_list_changed()
                .enable_tasks()
                .build(),
        )
        .with_server_info(Implementation::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
        ))
        .with_instructions(INSTRUCTIONS)
    }

    /// A session with a handshake (protocol 2025-11-25 and earlier, stdio or HTTP) hears of
    /// reloads that change the tool list: on stdout, or on its HTTP GET stream.
    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        let mut listing = self.gate.listing_changes();
        let peer = context.peer.clone();
        // The task ends with the session: it looks every few seconds (the HTTP load benchmark
        // found it outliving closed sessions, with their peer, until the next reload).
        tokio::spawn(async move {
            let mut check = tokio::time::interval(SESSION_CHECK);
            loop {
                tokio::select! {
                    changed = listing.changed() => {
                        if changed.is_err() || peer.is_transport_closed() {
                            break;
                        }
                        if let Err(e) = peer.notify_tool_list_changed().await {
                            tracing::debug!(error = %e, "could not send tools/list_changed; session gone");
                            break;
                        }
                    }
                    _ = check.tick() => {
                        if peer.is_transport_closed() {
                            break;
                        }
                    }
                }
            }
        });
    }

    /// Protocol 2026-07-28 clients learn of tool-list changes through `subscriptions/listen`.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let mut accepted = SubscriptionFilter::new();
        accepted.tools_list_changed = requested.tools_list_changed.filter(|on| *on);
        Some(accepted)
    }

    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        if context.accepted().tools_list_changed != Some(true) {
            context.cancelled().await;
            return Ok(());
        }
        let mut listing = self.gate.listing_changes();
        loop {
            tokio::select! {
                _ = context.cancelled() => return Ok(()),
                changed = listing.changed() => {
                    if changed.is_err() || context.sink().notify_tool_list_changed().await.is_err() {
                        return Ok(());
                    }
                }
            }
        }
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.gate.list_tools()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // Over HTTP the auth layer put the token's caller into the request; an HTTP request
        // without one never reaches the gate.
        let parts = context.extensions.get::<axum::http::request::Parts>();
        let Some(caller) = self.caller_of(&context) else {
            let text = self.gate.refuse_outside(
                &crate::gate::Refusal::Unauthenticated,
                "none",
                None,
                &request.name,
                serde_json::json!({}),
            );
            return Ok(
                rmcp::model::CallToolResult::error(vec![rmcp::model::ContentBlock::text(text)])
                    .into(),
            );
        };
        // A session id reaches here only if the server issued it to this principal
        // (transport::http checks it); without one (protocol 2026-07-28, stateless),
        // per-session state is the principal's.
        let http_session = parts.map(|parts| {
            parts
                .headers
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(session_key)
                .unwrap_or_else(|| format!("http-principal:{}", caller.principal))
        });
        let session = http_session.as_deref().unwrap_or(&self.session);
        // The protocol era and the capabilities are what the connection negotiated at
        // `initialize`, never what a request's `_meta` claims: a client that negotiated no
        // elicitation cannot turn itself into an approver by claiming protocol 2026-07-28 and
        // sending `inputResponses`. Only a connection without a legacy handshake (protocol
        // 2026-07-28, per-request metadata by design) is taken at its requests' word.
        let (protocol, capabilities) = match context.peer.peer_info() {
            Some(info) if !mrtr(Some(info.protocol_version.clone())) => (
                Some(info.protocol_version.clone()),
                Some(info.capabilities.clone()),
            ),
            _ => (context.protocol_version(), context.client_capabilities()),
        };
        let form = capabilities
            .as_ref()
            .and_then(|c| c.elicitation.as_ref())
            .is_some_and(|e| e.form.is_some() || e.url.is_none());
        let asker = if !form {
            Asker::OutOfBand
        } else if mrtr(protocol.clone()) {
            Asker::Mrtr {
                responses: request.input_responses,
                state: request.request_state,
            }
        } else {
            Asker::Elicit(&context.peer)
        };
        tracing::debug!(
            protocol = ?protocol.map(|v| v.as_str().to_string()),
            elicitation = form,
            asker = match asker {
                Asker::OutOfBand => "out-of-band",
                Asker::Elicit(_) => "elicitation request",
                Asker::Mrtr { .. } => "input required (MRTR)",
            },
            "call_tool"
        );
        let progress = crate::catalogue::Progress::new(
            context.peer.clone(),
            context.meta.get_progress_token(),
            context.ct.clone(),
        );
        // The client's trace context, read only when traces are exported.
        let trace = if crate::telemetry::tracing_enabled() {
            crate::telemetry::context::of_call(&context.meta, parts.map(|p| &p.headers))
        } else {
            Default::default()
        };
        // A long call from a client that declared the tasks extension runs as a task.
        let declared = capabilities.as_ref().is_some_and(|c| c.supports_tasks());
        // Only a valid call becomes a task; an invalid one is refused below, at once.
        if let Some(wait) = tasks::wanted(declared, request.arguments.as_ref())
            && self
                .gate
                .arguments_valid(&request.name, request.arguments.as_ref())
        {
            return Ok(self.tasks.start(tasks::TaskCall {
                gate: self.gate.clone(),
                session: session.to_string(),
                caller: caller.clone(),
                asker: match asker {
                    Asker::OutOfBand => tasks::TaskAsker::OutOfBand,
                    Asker::Elicit(peer) => tasks::TaskAsker::Elicit(peer.clone()),
                    Asker::Mrtr { .. } => tasks::TaskAsker::Mrtr,
                },
                trace,
                name: request.name.to_string(),
                args: request.arguments,
                wait,
            }));
        }
        let cx = CallCtx {
            session,
            caller,
            asker,
            progress,
            trace,
        };
        Ok(self.gate.call(cx, &request.name, request.arguments).await)
    }

    async fn get_task(
        &self,
        request: rmcp::model::GetTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetTaskResult, ErrorData> {
        let caller = self.caller_of(&context).ok_or_else(no_caller)?;
        self.tasks.get(&caller.principal, &request.task_id)
    }

    async fn update_task(
        &self,
        request: rmcp::model::UpdateTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let caller = self.caller_of(&context).ok_or_else(no_caller)?;
        self.tasks
            .update(&caller.principal, &request.task_id, request.input_responses)
    }

    async fn cancel_task(
        &self,
        request: rmcp::model::CancelTaskParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let caller = self.caller_of(&context).ok_or_else(no_caller)?;
        self.tasks.cancel(&caller.principal, &request.task_id)
    }
}

fn no_caller() -> ErrorData {
    ErrorData::invalid_request("the request carries no authenticated caller", None)
}
