//! Transports. stdio is the default (and, for now, the only) one: stdout carries the protocol,
//! so all logging goes to stderr.

use std::sync::Arc;

use rmcp::ServiceExt;

use crate::gate::Gate;
use crate::server::GuardedServer;

/// Serve one MCP session on stdin/stdout until the client closes it.
pub async fn serve_stdio(gate: Arc<Gate>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let server = GuardedServer::new(gate);
    tracing::info!(session = server.session_id(), "serving MCP on stdio");
    let running = server.serve(rmcp::transport::stdio()).await?;
    running.waiting().await?;
    Ok(())
}
