//! Human approval of calls that a rule marks `require_approval`: the approval record kept in
//! the state store for the out-of-band flow (`guarded-aws-mcp approvals ...`), the key that
//! makes an identical retry find its approval, and the sealed state of an MRTR elicitation.

pub mod webhook;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Where an out-of-band approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for an operator.
    Pending,
    /// Approved; the next identical call runs, once.
    Approved,
    /// Refused by an operator.
    Denied,
    /// Approved and run.
    Used,
    /// Not decided (or not used) in time.
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Approved => "approved",
            Status::Denied => "denied",
            Status::Used => "used",
            Status::Expired => "expired",
        }
    }
}

/// One call put to a human out of band.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Approval {
    pub id: String,
    /// [`call_key`] of the call: the identical retry has the same key.
    pub key: String,
    pub tool: String,
    /// The arguments with secrets redacted.
    pub args: Value,
    /// The rule that asked for approval, and its reason.
    pub rule: String,
    pub reason: String,
    pub principal: String,
    pub session: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds after which a pending or approved (unused) approval is void.
    pub expires_at: i64,
    pub status: Status,
    /// Who approved or denied it (`approvals approve --by`), and when (unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<i64>,
}

impl Approval {
    /// The status as of `now` (a pending or approved approval past its expiry is expired).
    pub fn status_at(&self, now: i64) -> Status {
        match self.status {
            Status::Pending | Status::Approved if now >= self.expires_at => Status::Expired,
            s => s,
        }
    }
}

impl Approval {
    /// Whether an identical call should still find this approval: not used, not expired
    /// (a denial, too, lasts until the expiry).
    pub fn is_live(&self, now: i64) -> bool {
        self.status != Status::Used && now < self.expires_at
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A new approval id: `apr-` and 16 hex digits.
pub fn new_id() -> String {
    format!("apr-{}", &uuid::Uuid::new_v4().simple().to_string()[..16])
}

/// Whether `id` has the shape of an approval id (checked before it names a file or a key).
pub fn valid_id(id: &str) -> bool {
    id.len() == 20 && id.starts_with("apr-") && id[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// The identity of a call for approval purposes: principal, tool and the canonical JSON of
/// the validated arguments (object keys sorted), hashed.
pub fn call_key(principal: &str, tool: &str, args: &Value) -> String {
    let mut h = Sha256::new();
    h.update(principal.as_bytes());
    h.update([0]);
    h.update(tool.as_bytes());
    h.update([0]);
    h.update(canonical(args).as_bytes());
    crate::audit::hex(&h.finalize())
}

/// JSON with object keys in sorted order at every level.
pub fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&m[k]));
                }
                Value::Object(out)
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

/// What the human is asked to fill in (MCP form elicitation).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[schemars(title = "Approve this AWS call?")]
pub struct Answer {
    /// Run this call now, once.
    #[serde(default)]
    #[schemars(default = "no")]
    pub approve: bool,
}

fn no() -> bool {
    false
}

rmcp::elicit_safe!(Answer);

/// The key of the elicitation in an MRTR `inputRequests` map.
pub const INPUT_KEY: &str = "approval";

/// What travels sealed through the client between the MRTR rounds of one approval.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SealedState {
    /// [`call_key`] of the call asked about; the retry must have the same one.
    pub key: String,
    pub session: String,
    /// Single use: a retry with an answer is accepted once per nonce.
    pub nonce: String,
    pub rule: String,
    /// Unix seconds, by the gate's clock, after which the answer is refused (the sealing's own
    /// time limit, by the system clock, stays as a second line; a state sealed by an older
    /// replica has none and is bound by that limit alone).
    #[serde(default)]
    pub expires_at: Option<i64>,
}

/// The text shown to the human: tool, arguments (redacted), rule and reason.
pub fn prompt(tool: &str, redacted_args: &Value, rule: &str, reason: &str) -> String {
    let args = serde_json::to_string_pretty(redacted_args).unwrap_or_default();
    format!(
        "An agent asks to call `{tool}`.\nRule {rule}: {reason}\nArguments (secrets redacted):\n{args}\nApprove to run it once."
    )
}

impl Approval {
    /// The audit record of an operator's decision on this approval (`approvals approve|deny`,
    /// `/admin/approvals`); `policy` is the hash of the policy in force, when known.
    pub fn decision_record(
        &self,
        approve: bool,
        by: &str,
        policy: String,
    ) -> crate::audit::AuditRecord {
        crate::audit::AuditRecord {
            principal: Some(self.principal.clone()),
            rule: Some(self.rule.clone()),
            reason: Some(self.reason.clone()),
            ..crate::audit::AuditRecord::event(
                self.session.clone(),
                self.tool.clone(),
                self.args.clone(),
                if approve { "approved" } else { "denied" },
                crate::audit::Outcome::ApprovalDecided {
                    approval_id: self.id.clone(),
                    by: by.to_string(),
                },
                policy,
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn key_ignores_key_order_but_not_values_tool_or_principal() {
        let a = call_key("p", "t", &json!({"a": 1, "b": {"y": 2, "x": [1, 2]}}));
        let b = call_key("p", "t", &json!({"b": {"x": [1, 2], "y": 2}, "a": 1}));
        assert_eq!(a, b);
        assert_ne!(
            a,
            call_key("p", "t", &json!({"a": 1, "b": {"y": 2, "x": [2, 1]}}))
        );
        assert_ne!(
            a,
            call_key("q", "t", &json!({"a": 1, "b": {"y": 2, "x": [1, 2]}}))
        );
        assert_ne!(
            a,
            call_key("p", "u", &json!({"a": 1, "b": {"y": 2, "x": [1, 2]}}))
        );
    }

    #[test]
    fn ids_are_checked() {
        let id = new_id();
        assert!(valid_id(&id), "{id}");
        assert!(!valid_id("apr-../../etc/passwd"));
        assert!(!valid_id("apr-0123456789abcdeg"));
        assert!(!valid_id(""));
    }

    #[test]
    fn expiry() {
        let a = Approval {
            id: new_id(),
            key: String::new(),
            tool: "t".into(),
            args: json!({}),
            rule: "r".into(),
            reason: "x".into(),
            principal: "p".into(),
            session: "s".into(),
            created_at: 100,
            expires_at: 200,
            status: Status::Approved,
            decided_by: None,
            decided_at: None,
        };
        assert_eq!(a.status_at(199), Status::Approved);
        assert_eq!(a.status_at(200), Status::Expired);
        let used = Approval {
            status: Status::Used,
            ..a
        };
        assert_eq!(used.status_at(500), Status::Used);
    }
}
