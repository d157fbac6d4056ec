//! Approvals reach the operator: `approval_requested` and `approval_decided` are POSTed to a
//! webhook (`serve --approval-webhook URL`), as JSON with a Slack-compatible `text`, signed with
//! HMAC-SHA256 over the body (`X-Guarded-Signature: sha256=<hex>`, secret from
//! `--approval-webhook-secret`). Sent in the background with retries and backoff: a slow or
//! failing receiver never delays a call. The body names the tool, principal, rule and reason,
//! never the arguments (they may hold secrets).

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

impl Webhook {
    pub fn new(url: &str, secret: Option<&str>) -> Result<Self, String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|e| format!("--approval-webhook {url:?}: {e}"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err("--approval-webhook must be an http or https URL".into());
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Webhook {
            url: url.to_string(),
            secret: secret.map(|s| Arc::from(s.as_bytes())),
            http,
        })
    }

    /// The event's body: what happened to which approval, never its arguments.
    pub fn body(event: &str, a: &Approval) -> Value {
        let text = match event {
            "approval_requested" => format!(
                "Approval {} requested: {} by {} (rule {}: {}). Decide with `guarded-aws-mcp approvals approve|deny {}` or POST /admin/approvals/{}/approve|deny.",
                a.id, a.tool, a.principal, a.rule, a.reason, a.id, a.id
            ),
            _ => format!(
                "Approval {} {} by {}: {} by {}.",
                a.id,
                a.status.as_str(),
                a.decided_by.as_deref().unwrap_or("an operator"),
                a.tool,
                a.principal
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

    /// The `X-Guarded-Signature` value of a body: `sha256=` and the hex HMAC-SHA256.
    pub fn signature(secret: &[u8], body: &[u8]) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        format!(
            "sha256={}",
            crate::audit::hex(aws_lc_rs::hmac::sign(&key, body).as_ref())
        )
    }

    /// Send an event in the background; the caller does not wait.
    pub fn notify(&self, event: &'static str, a: &Approval) {
        let body = Self::body(event, a).to_string();
        let hook = self.clone();
        let id = a.id.clone();
        tokio::spawn(async move {
            let mut pause = FIRST_PAUSE;
            for attempt in 1..=ATTEMPTS {
                let mut req = hook
                    .http
                    .post(&hook.url)
                    .header("content-type", "application/json")
                    .header("x-guarded-event", event);
                if let Some(secret) = &hook.secret {
                    req = req.header(
                        "x-guarded-signature",
                        Self::signature(secret, body.as_bytes()),
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
    fn the_signature_is_the_hmac_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            Webhook::signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(Webhook::new("ftp://x", None).is_err());
    }
}
