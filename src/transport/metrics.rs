//! The metrics listener (`serve --metrics ADDR`): `/metrics` in the Prometheus text format,
//! and the same `/healthz` and `/readyz` as the MCP listener. It works with stdio too.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::http::{healthz, readyz};
use crate::gate::Gate;

/// The metrics listener's routes.
pub fn app(gate: Arc<Gate>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .with_state(gate)
}

async fn scrape(State(gate): State<Arc<Gate>>) -> Response {
    // The pending approvals are the state store's (shared by replicas), read at each scrape.
    match gate.approvals(false).await {
        Ok(pending) => gate.metrics().set_pending_approvals(pending.len()),
        Err(e) => tracing::warn!(error = %e, "cannot count pending approvals for /metrics"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        gate.metrics().render(),
    )
        .into_response()
}

/// Serve the metrics listener on `addr` until the process ends.
pub async fn serve(gate: Arc<Gate>, addr: std::net::SocketAddr) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    // Tests and scripts read this line to learn the port when ADDR ends in :0.
    eprintln!("guarded-aws-mcp: metrics on http://{local}/metrics");
    axum::serve(listener, app(gate)).await
}
