//! MCP over streamable HTTP (`serve --http ADDR`). Every request must carry
//! `Authorization: Bearer <token>` (a tokens-file token or an identity provider's access token,
//! [`super::auth`]); a missing or invalid token gets 401 and never reaches the MCP service (so
//! no session is made). The token's caller travels in the request's extensions to
//! [`crate::server::GuardedServer::call_tool`], where the gate sees it.
//!
//! Sessions: a client on protocol 2025-11-25 or earlier gets a session issued by the server at
//! `initialize` (`Mcp-Session-Id`), bound to the principal that opened it: the same id presented
//! with another principal's token is refused (403), an id the server never issued is unknown
//! (404), an idle session expires after 5 minutes, `DELETE` ends it, and what it kept (its
//! RabbitMQ connection and credentials) goes with it. Such a session lives on the replica that
//! issued it (route by `Mcp-Session-Id`). Protocol 2026-07-28 has no sessions: its requests are
//! served statelessly by any replica; with `--state redis://...` replicas share limits and
//! approvals.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio_util::sync::CancellationToken;

use super::auth::{AuthState, Authenticator, authenticate, resource_metadata, unauthenticated};
use crate::gate::Gate;
use crate::policy::Caller;
use crate::server::{GuardedServer, SESSION_HEADER, session_key};

/// The largest request body accepted over HTTP.
pub const MAX_BODY_BYTES: usize = super::MAX_MESSAGE_BYTES;

/// The axum app: `/mcp` behind bearer-token authentication.
pub fn app(
    gate: Arc<Gate>,
    auth: Arc<Authenticator>,
    allowed_hosts: Vec<String>,
    allowed_origins: Vec<String>,
    admin_role: Option<String>,
    max_sessions_per_principal: usize,
    ct: CancellationToken,
) -> axum::Router {
    let mut config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(true)
        .with_json_response(true)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_cancellation_token(ct);
    if !allowed_hosts.is_empty() {
        config = config.with_allowed_hosts(allowed_hosts);
    }
    // With Redis, any replica serves any session: rmcp restores one it has not seen from
    // what the replica that issued it saved.
    let shared = gate.store().shared().is_some();
    if shared {
        config.session_store = Some(Arc::new(super::shared_sessions::SharedSessions {
            gate: gate.clone(),
            idle: SESSION_MEMORY,
        }));
    }
    let health_gate = gate.clone();
    // A principal's MCP tasks outlive the request (or session) that started them.
    let tasks = Arc::new(crate::server::Tasks::default());
    let sessions = Arc::new(Sessions {
        gate: gate.clone(),
        by_id: Mutex::default(),
        trimmer: super::trim::Trimmer::start(),
        max_per_principal: max_sessions_per_principal,
        shared,
    });
    let service = StreamableHttpService::new(
        move || Ok(GuardedServer::new(gate.clone()).with_tasks(tasks.clone())),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    // Outermost first: the Origin check, authentication, then the session's principal.
    let origins: Arc<Vec<String>> = Arc::new(
        allowed_origins
            .iter()
            .map(|o| o.trim_end_matches('/').to_ascii_lowercase())
            .collect(),
    );
    let auth_state = Arc::new(AuthState {
        auth: auth.clone(),
        gate: health_gate.clone(),
    });
    let mcp = axum::Router::new()
        .nest_service("/mcp", service)
        .layer(axum::middleware::from_fn_with_state(sessions, bind_session))
        .layer(axum::middleware::from_fn_with_state(
            auth_state.clone(),
            authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(
            origins.clone(),
            check_origin,
        ));
    // The approvals for operators with the admin role (404 without --admin-role).
    let admin = axum::Router::new()
        .route("/admin/approvals", axum::routing::get(super::admin::list))
        .route(
            "/admin/approvals/{id}",
            axum::routing::get(super::admin::show),
        )
        .route(
            "/admin/approvals/{id}/approve",
            axum::routing::post(super::admin::approve),
        )
        .route(
            "/admin/approvals/{id}/deny",
            axum::routing::post(super::admin::deny),
        )
        .with_state(Arc::new(super::admin::Admin {
            gate: health_gate.clone(),
            role: admin_role,
        }))
        .layer(axum::middleware::from_fn_with_state(
            auth_state,
            authenticate,
        ))
        .layer(axum::middleware::from_fn_with_state(origins, check_origin));
    // Health checks for load balancers: no token, no MCP, nothing about the calls.
    let health = axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .with_state(health_gate);
    // RFC 9728: where clients learn which identity provider issues tokens for this server.
    let metadata = axum::Router::new()
        .route(
            "/.well-known/oauth-protected-resource",
            axum::routing::get(resource_metadata),
        )
        .route(
            "/.well-known/oauth-protected-resource/{*resource}",
            axum::routing::get(resource_metadata),
        )
        .with_state(auth);
    mcp.merge(health).merge(metadata).merge(admin)
}

/// The process is up.
pub(crate) async fn healthz() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({"status": "ok"})),
    )
        .into_response()
}

/// The server can take calls: the audit log is writable and the state store answers.
pub(crate) async fn readyz(State(gate): State<Arc<Gate>>) -> Response {
    match gate.readiness().await {
        Ok(()) => (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "ready"})),
        )
            .into_response(),
        Err(problems) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "not ready", "problems": problems})),
        )
            .into_response(),
    }
}

/// The spec's MUST against DNS rebinding: a request whose `Origin` is present and not allowed
/// gets 403 before anything else. Requests without `Origin` (not from a browser) go on.
async fn check_origin(
    State(allowed): State<Arc<Vec<String>>>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default().to_ascii_lowercase();
        if !allowed.contains(&origin) {
            tracing::warn!(origin = %origin, "HTTP request from a foreign Origin refused");
            return refusal(
                StatusCode::FORBIDDEN,
                "this Origin is not allowed (a browser page on another site); see --allowed-origin",
            );
        }
    }
    next.run(req).await
}

/// How long a session's owner is remembered after its last request (rmcp ends an idle session
/// after 5 minutes).
const SESSION_MEMORY: Duration = Duration::from_secs(600);

/// How often a session's count in the state store is refreshed while it is used.
const REFRESH_EVERY: Duration = Duration::from_secs(30);

/// Which principal opened each session the server issued.
struct Sessions {
    gate: Arc<Gate>,
    /// Session id: its principal, its last use, and when its count was last refreshed.
    by_id: Mutex<HashMap<String, (String, Instant, Instant)>>,
    trimmer: super::trim::Trimmer,
    max_per_principal: usize,
    /// Sessions are kept in Redis, for every replica.
    shared: bool,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant, Instant)>> {
        self.by_id.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owner of a session, refreshing its last use; and whether its count in the store is
    /// due for a refresh.
    fn owner(&self, id: &str) -> Option<(String, bool)> {
        let now = Instant::now();
        let mut map = self.lock();
        let entry = map.get_mut(id)?;
        entry.1 = now;
        let refresh = now.duration_since(entry.2) >= REFRESH_EVERY;
        if refresh {
            entry.2 = now;
        }
        Some((entry.0.clone(), refresh))
    }

    fn open(&self, id: String, principal: String) {
        let now = Instant::now();
        let mut map = self.lock();
        let expired: Vec<String> = map
            .iter()
            .filter(|(_, (_, last, _))| now.duration_since(*last) > SESSION_MEMORY)
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            map.remove(&k);
            self.gate.end_session(&session_key(&k));
            self.trimmer.session_ended();
        }
        map.insert(id, (principal, now, now));
    }

    /// The owner of a session: this replica's memory, or, when sessions are shared, Redis
    /// (asked on every request, so a session deleted on another replica ends here too).
    async fn find(&self, id: &str) -> Result<Option<(String, bool)>, crate::state::StoreError> {
        let local = self.owner(id);
        let Some(redis) = self.gate.store().shared().filter(|_| self.shared) else {
            return Ok(local);
        };
        let shared = match redis.http_session_owner(id, SESSION_MEMORY).await {
            Ok(owner) => owner,
            // Redis down: a session this replica holds goes on (its calls that need the store
            // are refused as usual); only one it has not seen cannot be checked.
            Err(e) if local.is_some() => {
                tracing::warn!(error = %e, "the state store is unavailable; serving a session this replica holds");
                return Ok(local);
            }
            Err(e) => return Err(e),
        };
        match shared {
            Some(owner) => Ok(Some(match local {
                Some(found) => found,
                None => {
                    tracing::info!("serving an HTTP session another replica issued");
                    self.open(id.to_string(), owner.clone());
                    (owner, false)
                }
            })),
            None => {
                if local.is_some() {
                    self.close(id);
                }
                Ok(None)
            }
        }
    }

    /// Bind a new session to its principal for every replica.
    async fn share(&self, id: &str, principal: &str) {
        if let Some(redis) = self.gate.store().shared().filter(|_| self.shared)
            && let Err(e) = redis.bind_http_session(id, principal, SESSION_MEMORY).await
        {
            tracing::warn!(error = %e, "could not share the HTTP session; other replicas will not serve it");
        }
    }

    /// End a session for every replica.
    async fn unshare(&self, id: &str) {
        if let Some(redis) = self.gate.store().shared().filter(|_| self.shared)
            && let Err(e) = redis.end_http_session(id).await
        {
            tracing::warn!(error = %e, "could not end the HTTP session in the state store; it idles out");
        }
    }

    fn close(&self, id: &str) {
        self.lock().remove(id);
        self.gate.end_session(&session_key(id));
        self.trimmer.session_ended();
    }

    /// Move a session's count in the store; a store that cannot be reached is logged (the count
    /// idles out on its own).
    async fn count(&self, principal: &str, from: Option<&str>, to: Option<&str>) {
        if let Err(e) = self
            .gate
            .store()
            .move_session(principal, from, to, SESSION_MEMORY)
            .await
        {
            tracing::warn!(error = %e, "could not update the principal's session count");
        }
    }
}

/// A request naming a session must come from the principal that opened it; a new session is
/// bound to the principal that opened it, and counted against its cap.
async fn bind_session(State(sessions): State<Arc<Sessions>>, req: Request, next: Next) -> Response {
    let Some(principal) = req
        .extensions()
        .get::<Caller>()
        .map(|c| c.principal.clone())
    else {
        return unauthenticated();
    };
    let presented = req
        .headers()
        .get(SESSION_HEADER)
        .map(|v| v.to_str().map(str::to_string).unwrap_or_default());
    if let Some(id) = &presented {
        let found = match sessions.find(id).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "HTTP session refused: the state store is unavailable");
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the state store that holds sessions is unavailable; retry shortly",
                );
            }
        };
        match found {
            None => {
                tracing::info!(principal = %principal, "HTTP request with an unknown session id refused");
                return refusal(
                    StatusCode::NOT_FOUND,
                    "session not found: it was never issued, has expired or was deleted; initialize a new one",
                );
            }
            Some((owner, _)) if owner != principal => {
                tracing::warn!(principal = %principal, "HTTP request with another principal's session id refused");
                return refusal(
                    StatusCode::FORBIDDEN,
                    "this session belongs to another principal",
                );
            }
            Some((_, refresh)) => {
                if refresh {
                    sessions.count(&principal, None, Some(id)).await;
                }
            }
        }
    }
    // A request without a session that is not a 2026-07-28 (sessionless) one may open a
    // session: it holds a place under the principal's cap until the answer says.
    let reserved = if presented.is_none() && !req.headers().contains_key("mcp-method") {
        let place = format!("opening:{}", uuid::Uuid::new_v4().simple());
        match sessions
            .gate
            .store()
            .open_session(
                &principal,
                &place,
                sessions.max_per_principal,
                SESSION_MEMORY,
            )
            .await
        {
            Ok(true) => Some(place),
            Ok(false) => {
                tracing::info!(principal = %principal, "HTTP session refused: the principal's session cap is reached");
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    axum::Json(serde_json::json!({
                        "error": "Too Many Requests",
                        "message": format!(
                            "this principal has {} open sessions, the most allowed (--http-max-sessions-per-principal): end one with DELETE, or wait until one has been idle for {} minutes",
                            sessions.max_per_principal,
                            SESSION_MEMORY.as_secs() / 60
                        ),
                    })),
                )
                    .into_response();
            }
            Err(e) => {
                tracing::warn!(error = %e, "HTTP session refused: the state store is unavailable");
                return refusal(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the state store that counts sessions is unavailable; retry shortly",
                );
            }
        }
    } else {
        None
    };
    let delete = req.method() == axum::http::Method::DELETE;
    let response = next.run(req).await;
    let issued = response
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match (&presented, issued) {
        (None, Some(issued)) => {
            sessions
                .count(&principal, reserved.as_deref(), Some(&issued))
                .await;
            sessions.share(&issued, &principal).await;
            sessions.open(issued, principal);
        }
        (Some(id), _) if delete && response.status().is_success() => {
            sessions.close(id);
            sessions.unshare(id).await;
            sessions.count(&principal, Some(id), None).await;
        }
        _ => {
            if let Some(place) = &reserved {
                sessions.count(&principal, Some(place), None).await;
            }
        }
    }
    response
}

fn refusal(status: StatusCode, message: &'static str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": status.canonical_reason(), "message": message })),
    )
        .into_response()
}

/// Serve until Ctrl-C or SIGTERM, then drain: new calls refused, calls running finished
/// (within the drain timeout).
pub async fn serve(
    gate: Arc<Gate>,
    auth: Arc<Authenticator>,
    addr: SocketAddr,
    (allowed_hosts, allowed_origins): (Vec<String>, Vec<String>),
    admin_role: Option<String>,
    limits: super::listener::Limits,
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
    // Browser pages served from this listener's own loopback address may call it.
    let port = local.port();
    let mut origins = allowed_origins;
    origins.extend([
        format!("http://127.0.0.1:{port}"),
        format!("http://localhost:{port}"),
        format!("http://[::1]:{port}"),
    ]);
    let drain_timeout = limits.drain_timeout;
    let draining = gate.clone();
    let principals = auth.tokens.as_ref().map_or(0, |t| t.len());
    let issuer = auth.oauth.as_ref().map(|o| o.config().issuer.clone());
    let app = app(
        gate,
        auth,
        hosts,
        origins,
        admin_role,
        limits.max_sessions_per_principal,
        ct.child_token(),
    );
    tracing::info!(address = %local, principals, ?issuer, ?limits, "serving MCP over streamable HTTP at /mcp");
    // Tests and scripts read this line to learn the port when ADDR ends in :0.
    eprintln!("guarded-aws-mcp: listening on http://{local}/mcp");
    let served = super::listener::serve(listener, app, limits, async move {
        super::shutdown_signal().await;
        // Keep listening while draining: /readyz answers 503, new calls a retryable refusal,
        // calls running finish.
        draining.drain(drain_timeout).await;
    })
    .await;
    // Only once the connections have delivered their answers: the sessions end.
    ct.cancel();
    served
}
