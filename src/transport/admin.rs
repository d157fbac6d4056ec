//! The approvals over HTTP (`/admin/approvals`), for a chat bot or a small web page that decides
//! without a shell on the server. Only callers with the configured admin role
//! (`serve --admin-role`) may use it, authenticated like every request; a principal can never
//! decide an approval of its own call. Off (404) unless an admin role is configured.
//!
//! `GET /admin/approvals[?all=true]`, `GET /admin/approvals/{id}`,
//! `POST /admin/approvals/{id}/approve`, `POST /admin/approvals/{id}/deny`.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use crate::gate::Gate;
use crate::policy::Caller;
use crate::state::StoreError;

/// The admin API's state.
pub struct Admin {
    pub gate: Arc<Gate>,
    /// The role a caller needs; None: the API is off.
    pub role: Option<String>,
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// The refusal to send when the caller may not use the admin API.
fn refused(admin: &Admin, caller: &Caller) -> Option<Response> {
    let Some(role) = &admin.role else {
        return Some(answer(
            StatusCode::NOT_FOUND,
            json!({"error": "not_found", "message": "the admin API is off (serve --admin-role ROLE turns it on)"}),
        ));
    };
    if caller.roles.iter().any(|r| r == role) {
        None
    } else {
        tracing::warn!(principal = %caller.principal, "admin API refused: no admin role");
        Some(answer(
            StatusCode::FORBIDDEN,
            json!({"error": "forbidden", "message": format!("the admin API needs the role `{role}`")}),
        ))
    }
}

fn store_error(e: StoreError) -> Response {
    let status = match &e {
        StoreError::NotFound(_) => StatusCode::NOT_FOUND,
        StoreError::NotPending { .. } => StatusCode::CONFLICT,
        _ => StatusCode::SERVICE_UNAVAILABLE,
    };
    answer(
        status,
        json!({"error": status.canonical_reason(), "message": e.to_string()}),
    )
}

pub async fn list(
    State(admin): State<Arc<Admin>>,
    Extension(caller): Extension<Caller>,
    RawQuery(query): RawQuery,
) -> Response {
    if let Some(r) = refused(&admin, &caller) {
        return r;
    }
    // `?all=true` lists decided, used and expired approvals too.
    let all = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .any(|kv| kv == "all=true" || kv == "all=1");
    match admin.gate.approvals(all).await {
        Ok(list) => answer(StatusCode::OK, json!({"approvals": list})),
        Err(e) => store_error(e),
    }
}

pub async fn show(
    State(admin): State<Arc<Admin>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    if let Some(r) = refused(&admin, &caller) {
        return r;
    }
    match admin.gate.approval(&id).await {
        Ok(Some(a)) => answer(StatusCode::OK, json!(a)),
        Ok(None) => store_error(StoreError::NotFound(id)),
        Err(e) => store_error(e),
    }
}

pub async fn approve(
    State(admin): State<Arc<Admin>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    decide(&admin, &caller, id, true).await
}

pub async fn deny(
    State(admin): State<Arc<Admin>>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    decide(&admin, &caller, id, false).await
}

async fn decide(admin: &Admin, caller: &Caller, id: String, approve: bool) -> Response {
    if let Some(r) = refused(admin, caller) {
        return r;
    }
    match admin.gate.approval(&id).await {
        Ok(Some(a)) if a.principal == caller.principal => {
            let refusal = crate::gate::Refusal::SelfApproval {
                approval_id: id.clone(),
            };
            let message = admin.gate.refuse_outside(
                &refusal,
                "admin",
                Some(&caller.principal),
                if approve { "approve" } else { "deny" },
                json!({"approval_id": id}),
            );
            return answer(
                StatusCode::FORBIDDEN,
                json!({"error": "forbidden", "message": message}),
            );
        }
        Ok(Some(_)) => {}
        Ok(None) => return store_error(StoreError::NotFound(id)),
        Err(e) => return store_error(e),
    }
    match admin
        .gate
        .decide_approval(&id, approve, &caller.principal)
        .await
    {
        Ok(a) => {
            tracing::info!(approval = %id, by = %caller.principal, approve, "approval decided over HTTP");
            answer(StatusCode::OK, json!(a))
        }
        Err(e) => store_error(e),
    }
}
