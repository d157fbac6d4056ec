//! Who an HTTP request comes from: a bearer token from the tokens file, or an access token
//! from the team's identity provider (OAuth 2.1 resource server, [`crate::identity::oauth`]),
//! or either when both are configured. A request without a valid token gets 401 (with
//! `WWW-Authenticate` pointing at the protected resource metadata when an identity provider
//! is configured) and never reaches the MCP service; a valid token without the required scope
//! gets 403 `insufficient_scope`. The caller travels in the request's extensions.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::tokens::Tokens;
use crate::identity::oauth::{OAuth, TokenError};

/// The ways a request may authenticate.
///
/// A principal from the identity provider and one from the tokens file are never the same
/// caller: with `--oauth-principal-prefix` the provider's principals carry the prefix (and no
/// tokens-file principal may start with it); without it, a token whose principal is also a
/// tokens-file principal is refused.
pub struct Authenticator {
    pub tokens: Option<Tokens>,
    pub oauth: Option<OAuth>,
}

/// Identity sources `--http` cannot serve with.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AuthConfigError {
    #[error(
        "--http needs a tokens file (--tokens) or an identity provider (--oauth-issuer), or both"
    )]
    NoSource,
    #[error(
        "the tokens file's principal `{principal}` starts with --oauth-principal-prefix `{prefix}`: the two identity sources would share it"
    )]
    SharedPrefix { principal: String, prefix: String },
}

impl Authenticator {
    pub fn new(tokens: Option<Tokens>, oauth: Option<OAuth>) -> Result<Self, AuthConfigError> {
        if tokens.is_none() && oauth.is_none() {
            return Err(AuthConfigError::NoSource);
        }
        if let (Some(t), Some(o)) = (&tokens, &oauth) {
            let prefix = &o.config().principal_prefix;
            if !prefix.is_empty()
                && let Some(p) = t.principals().find(|p| p.starts_with(prefix.as_str()))
            {
                return Err(AuthConfigError::SharedPrefix {
                    principal: p.escape_debug().to_string(),
                    prefix: prefix.escape_debug().to_string(),
                });
            }
        }
        Ok(Authenticator { tokens, oauth })
    }

    /// An identity provider's caller, unless it names a tokens-file principal.
    fn apart(&self, caller: &crate::policy::Caller) -> Result<(), TokenError> {
        match &self.tokens {
            Some(t) if t.principals().any(|p| p == caller.principal) => {
                Err(TokenError::SharedPrincipal)
            }
            _ => Ok(()),
        }
    }

    /// The `WWW-Authenticate` value of a 401 or 403.
    fn challenge(&self, error: Option<(&str, &str)>) -> HeaderValue {
        let mut parts = vec![];
        match &self.oauth {
            Some(o) => parts.push(format!("resource_metadata=\"{}\"", o.metadata_url())),
            None => parts.push("realm=\"guarded-aws-mcp\"".to_string()),
        }
        if let Some((code, description)) = error {
            parts.push(format!("error=\"{code}\""));
            parts.push(format!(
                "error_description=\"{}\"",
                description.replace('"', "'")
            ));
            if let (Some(o), "insufficient_scope") = (&self.oauth, code)
                && let Some(s) = &o.config().required_scope
            {
                parts.push(format!("scope=\"{s}\""));
            }
        }
        HeaderValue::from_str(&format!("Bearer {}", parts.join(", ")))
            .unwrap_or_else(|_| HeaderValue::from_static("Bearer"))
    }

    fn refuse(&self, status: StatusCode, error: Option<(&str, &str)>, message: &str) -> Response {
        let mut r = (
            status,
            axum::Json(serde_json::json!({
                "error": error.map(|e| e.0).unwrap_or("unauthorized"),
                "message": message,
            })),
        )
            .into_response();
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, self.challenge(error));
        r
    }
}

/// The authentication layer's state: the ways to authenticate, and the gate whose metrics
/// count the refusals.
pub struct AuthState {
    pub auth: Arc<Authenticator>,
    pub gate: Arc<crate::gate::Gate>,
}

/// Let a request through only with a valid bearer token; attach its caller.
pub async fn authenticate(
    State(state): State<Arc<AuthState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let auth = &state.auth;
    let metrics = state.gate.metrics();
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
        metrics.token_refused("missing");
        return auth.refuse(
            StatusCode::UNAUTHORIZED,
            None,
            "missing bearer token: send `Authorization: Bearer <token>`",
        );
    };
    if let Some(caller) = auth.tokens.as_ref().and_then(|t| t.check(presented)) {
        tracing::debug!(principal = %caller.principal, "HTTP request authenticated (tokens file)");
        req.extensions_mut().insert(caller);
        return next.run(req).await;
    }
    let Some(oauth) = &auth.oauth else {
        tracing::info!(path = %req.uri().path(), "HTTP request with an unknown bearer token refused");
        metrics.token_refused("unknown");
        return auth.refuse(StatusCode::UNAUTHORIZED, None, "invalid bearer token");
    };
    match oauth
        .verify(presented)
        .await
        .and_then(|c| auth.apart(&c).map(|()| c))
    {
        Ok(caller) => {
            tracing::debug!(principal = %caller.principal, "HTTP request authenticated (identity provider)");
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(e) => {
            tracing::info!(path = %req.uri().path(), reason = %e, "HTTP request with a refused access token");
            metrics.token_refused(e.label());
            let status = match e {
                TokenError::InsufficientScope(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            let text = e.to_string();
            auth.refuse(status, Some((e.code(), &text)), &text)
        }
    }
}

/// RFC 9728 protected resource metadata (`/.well-known/oauth-protected-resource[/mcp]`), served
/// without a token; 404 when no identity provider is configured.
pub async fn resource_metadata(State(auth): State<Arc<Authenticator>>) -> Response {
    match &auth.oauth {
        Some(o) => (StatusCode::OK, axum::Json(o.metadata())).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(serde_json::json!({
                "error": "not_found",
                "message": "no identity provider is configured (--oauth-issuer)",
            })),
        )
            .into_response(),
    }
}

/// The 401 of a request that reached the session check without a caller (cannot happen behind
/// [`authenticate`]; refused rather than trusted).
pub fn unauthenticated() -> Response {
    let mut r = (
        StatusCode::UNAUTHORIZED,
        axum::Json(
            serde_json::json!({ "error": "unauthorized", "message": "missing bearer token" }),
        ),
    )
        .into_response();
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"guarded-aws-mcp\""),
    );
    r
}
