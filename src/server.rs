//! The MCP server: `tools/list` shows what the gate lets an agent see; `tools/call` goes
//! through [`Gate::call`] and nowhere else.

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use crate::gate::Gate;

/// One MCP session over a shared gate.
#[derive(Clone)]
pub struct GuardedServer {
    gate: Arc<Gate>,
    session: Arc<str>,
}

impl GuardedServer {
    pub fn new(gate: Arc<Gate>) -> Self {
        GuardedServer {
            gate,
            session: uuid::Uuid::new_v4().to_string().into(),
        }
    }

    pub fn session_id(&self) -> &str {
        &self.session
    }
}

const INSTRUCTIONS: &str = "Amazon MQ tools behind a policy gate. Refusals start with a stable \
prefix: 'Denied by policy:', 'Denied by read-only mode:', 'Approval required:', 'Rate limited:', \
'Invalid arguments:' or 'Unknown tool:'; AWS failures start with 'AWS error' and carry the AWS \
error code and request id. Do not retry a policy refusal with the same arguments.";

impl ServerHandler for GuardedServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new(
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
            ))
            .with_instructions(INSTRUCTIONS)
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
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        Ok(self
            .gate
            .call(&self.session, &request.name, request.arguments)
            .await
            .into())
    }
}
