//! Approvals reach the operator: `approval_requested` and `approval_decided` are POSTed to a
//! webhook (`serve --approval-webhook URL`), as JSON with a Slack-compatible `text`, signed the
//! Standard Webhooks way (secret from `--approval-webhook-secret`): `webhook-id` (one per event,
//! the same on every retry), `webhook-timestamp` (Unix seconds of the attempt) and
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so a receiver can refuse
//! a replayed or old event. Sent in the background with retries and backoff: a slow or failing
//! receiver never delays a call. The body names the tool, principal, rule and reason, never the
//! arguments (they may hold secrets).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use super::Approval;

/// Attempts per notification, and the first pause between them (doubled each time).
const ATTEMPTS: u32 = 4;
const FIRST_PAUSE: Duration = Duration::from_millis(500);

/// Where approval events go.
#[derive(Clone)]
pub struct Webhook {
    url: String,
    secret: Option<Arc<[u8]>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field(
                "host",
                &reqwest::Url::parse(&self.url)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string)),
            )
            .finish_non_exhaustive()
    }
}

/// A `--approval-webhook` the server cannot send to.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// Not a URL (the text is not repeated: a webhook URL's path is often its secret).
    #[error("--approval-webhook is not a URL: {0}")]
    Url(String),
    #[error("--approval-webhook must be an http or https URL")]
    Scheme,
    #[error("cannot build the webhook's HTTP client: {0}")]
    Client(String),
}

impl Webhook {
    pub fn new(url: &str, secret: Option<&str>) -> Result<Self, WebhookError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| WebhookError::Url(e.to_string()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(WebhookError::Scheme);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Webhook {
            url: url.to_string(),
            secret: secret.map(|s| Arc::from(Self::key(s))),
            http,
        })
    }

    /// The event's body: what happened to which approval, never its arguments.
    pub fn body(event: &str, a: &Approval) -> Value {
        // Slack reads `text` as mrkdwn: what callers chose is escaped there (the JSON fields
        // beside it carry the same values as they are).
        use crate::escape::slack as m;
        let text = match event {
            "approval_requested" => format!(
                "Approval {} requested: {} by {} (rule {}: {}). Decide with `guarded-aws-mcp approvals approve|deny {}` or POST /admin/approvals/{}/approve|deny.",
                m(&a.id),
                m(&a.tool),
                m(&a.principal),
                m(&a.rule),
                m(&a.reason),
                m(&a.id),
                m(&a.id)
            ),
            _ => format!(
                "Approval {} {} by {}: {} by {}.",
                m(&a.id),
                a.status.as_str(),
                m(a.decided_by.as_deref().unwrap_or("an operator")),
                m(&a.tool),
                m(&a.principal)
            ),
        };
        json!({
            "event": event,
            "approval_id": a.id,
            "tool": a.tool,
            "principal": a.principal,
            "rule": a.rule,
            "reason": a.reason,
            "status": a.status.as_str(),
            "decided_by": a.decided_by,
            "expires_at": a.expires_at,
            "text": text,
        })
    }

    /// The signing key of a secret: a Standard Webhooks secret (`whsec_` and base64) is its
    /// decoded bytes; any other secret is its bytes as they are.
    pub fn key(secret: &str) -> Vec<u8> {
        use base64::Engine as _;
        secret
            .strip_prefix("whsec_")
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .unwrap_or_else(|| secret.as_bytes().to_vec())
    }

    /// The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body`.
    pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
        use base64::Engine as _;
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
        let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
        ctx.update(format!("{id}.{timestamp}.").as_bytes());
        ctx.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(ctx.sign().as_ref())
        )
    }

    /// Send an event in the background; the caller does not wait.
    pub fn notify(&self, event: &'static str, a: &Approval) {
        let body = Self::body(event, a).to_string();
        let hook = self.clone();
        let id = a.id.clone();
        // One id per event: a receiver that has seen it knows a retry (or a replay).
        let event_id = format!("msg_{}", uuid::Uuid::new_v4().simple());
        tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            for attempt in 1..=ATTEMPTS {
                let timestamp = chrono::Utc::now().timestamp();
                let mut req = hook
                    .http
                    .post(&hook.url)
                    .header("content-type", "application/json")
                    .header("x-guarded-event", event)
                    .header("webhook-id", &event_id)
                    .header("webhook-timestamp", timestamp.to_string());
                if let Some(key) = &hook.secret {
                    req = req.header(
                        "webhook-signature",
                        Self::signature(key, &event_id, timestamp, body.as_bytes()),
                    );
                }
                match req.body(body.clone()).send().await {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => {
                        tracing::warn!(approval = %id, event, status = %r.status(), attempt, "approval webhook refused the event")
                    }
                    Err(e) => {
                        tracing::warn!(approval = %id, event, error = %e.without_url(), attempt, "approval webhook unreachable")
                    }
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_follows_standard_webhooks() {
        // The Standard Webhooks specification's own example.
        let key = Webhook::key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            Webhook::signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert_eq!(Webhook::key("plain"), b"plain");
        assert!(Webhook::new("ftp://x", None).is_err());
    }

    #[test]
    fn the_slack_text_escapes_what_callers_chose() {
        let a = Approval {
            id: "apr-1".into(),
            key: "k".into(),
            tool: "delete_broker".into(),
            args: serde_json::json!({}),
            rule: "tools.delete_broker[0]".into(),
            reason: "line\nforged".into(),
            principal: "<!channel> <https://evil.example/a|Approve>".into(),
            session: "s".into(),
            created_at: 0,
            expires_at: 1,
            status: crate::approval::Status::Pending,
            decided_by: None,
            decided_at: None,
        };
        let text = Webhook::body("approval_requested", &a)["text"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            !text.contains("<!channel>") && !text.contains("<https://"),
            "{text}"
        );
        assert!(text.contains("&lt;!channel&gt;"), "{text}");
        assert!(!text.contains('\n'), "{text}");
    }
}
