//! HTTP sessions any replica can serve (`--state redis://…`): rmcp's session store hook keeps
//! what a replica needs to take a session over (the client's `initialize`) in Redis, beside the
//! principal the session is bound to (see `http::bind_session`), both expiring when the session
//! idles and removed everywhere by DELETE.

use std::sync::Arc;
use std::time::Duration;

use rmcp::transport::streamable_http_server::session::{
    SessionState, SessionStore, SessionStoreError,
};

use crate::gate::Gate;

/// rmcp's session store, backed by the gate's Redis store.
pub struct SharedSessions {
    pub gate: Arc<Gate>,
    /// How long an idle session is kept.
    pub idle: Duration,
}

#[async_trait::async_trait]
impl SessionStore for SharedSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let Some(redis) = self.gate.store().shared() else {
            return Ok(None);
        };
        match redis.http_session_state(session_id).await? {
            Some(text) => Ok(Some(serde_json::from_str(&text)?)),
            None => Ok(None),
        }
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let Some(redis) = self.gate.store().shared() else {
            return Ok(());
        };
        let text = serde_json::to_string(state)?;
        Ok(redis
            .save_http_session_state(session_id, &text, self.idle)
            .await?)
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let Some(redis) = self.gate.store().shared() else {
            return Ok(());
        };
        Ok(redis.end_http_session(session_id).await?)
    }
}
