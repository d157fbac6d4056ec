//! MCP over streamable HTTP (`serve --http ADDR`). Every request must carry
//! `Authorization: Bearer <token>`; a missing or unknown token gets 401 and never reaches the
//! MCP service (so no session is made). The token's caller travels in the request's extensions
//! to [`crate::server::GuardedServer::call_tool`], where the gate sees it.
//!
//! Requests are served statelessly (no sticky sessions), so replicas behind a load balancer
//! can answer any request; with `--state redis://...` they share limits and approvals.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::tokens::Tokens;
use crate::gate::Gate;
use crate::server::GuardedServer;

/// The largest request body accepted over HTTP.
pub const MAX_BODY_BYTES: usize = super::MAX_MESSAGE_BYTES;

/// The axum app: `/mcp` behind bearer-token authentication.
pub fn app(
    gate: Arc<Gate>,
    tokens: Arc<Tokens>,
    allowed_hosts: Vec<String>,
    ct: CancellationToken,
) -> axum::Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(ct);
    if !allowed_hosts.is_empty() {
        config = config.with_allowed_hosts(allowed_hosts);
    }
    let service = StreamableHttpService::new(
        move || Ok(GuardedServer::new(gate.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(tokens, authenticate))
}

/// Serve until Ctrl-C (or SIGTERM).
pub async fn serve(
    gate: Arc<Gate>,
    tokens: Arc<Tokens>,
    addr: SocketAddr,
    allowed_hosts: Vec<String>,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let ct = CancellationToken::new();
    let mut hosts = allowed_hosts;
    if hosts.is_empty() && !local.ip().is_loopback() {
        tracing::warn!(
            "serving on a non-loopback address without --allowed-host: requests must name a loopback Host"
        );
    }
    if !hosts.is_empty() {
        hosts.extend(["localhost".into(), "127.0.0.1".into(), "::1".into()]);
    }
    let app = app(gate, tokens.clone(), hosts, ct.child_token());
    tracing::info!(address = %local, principals = tokens.len(), "serving MCP over streamable HTTP at /mcp");
    // Tests and scripts read this line to learn the port when ADDR ends in :0.
    eprintln!("guarded-aws-mcp: listening on http://{local}/mcp");
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            ct.cancel();
        })
        .await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Let a request through only with a known bearer token; attach its caller.
async fn authenticate(State(tokens): State<Arc<Tokens>>, mut req: Request, next: Next) -> Response {
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let Some(presented) = presented else {
        tracing::info!(path = %req.uri().path(), "HTTP request without a bearer token refused");
        return unauthorized("missing bearer token: send `Authorization: Bearer <token>`");
    };
    match tokens.check(presented) {
        Some(caller) => {
            tracing::debug!(principal = %caller.principal, "HTTP request authenticated");
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        None => {
            tracing::info!(path = %req.uri().path(), "HTTP request with an unknown bearer token refused");
            unauthorized("invalid bearer token")
        }
    }
}

fn unauthorized(message: &'static str) -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        axum::Json(serde_json::json!({ "error": "unauthorized", "message": message })),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"guarded-aws-mcp\""),
    );
    r
}
