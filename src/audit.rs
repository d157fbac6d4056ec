//! The audit log: one JSON Lines record per tool call, secrets redacted.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value};

/// Replaces every secret value in records, logs and error messages.
pub const REDACTED: &str = "[REDACTED]";

/// True for argument names that hold secrets: passwords, tokens, secret keys, credentials.
/// Paging and idempotency tokens (`NextToken`, `client_token`) are not secrets.
pub fn is_secret_key(key: &str) -> bool {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if matches!(
        k.as_str(),
        "nexttoken" | "clienttoken" | "paginationtoken" | "continuationtoken" | "marker"
    ) {
        return false;
    }
    k.contains("password")
        || k.contains("passwd")
        || k.contains("secret")
        || k.ends_with("token")
        || k.contains("privatekey")
        || k.contains("credential")
}

/// A copy of `value` with every secret field replaced by [`REDACTED`].
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let v = if is_secret_key(k) && !v.is_null() {
                        Value::String(REDACTED.into())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// How a call ended.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Outcome {
    /// The handler ran and AWS answered.
    Ok,
    /// The policy refused the call (deny, hidden, read-only, require_approval).
    Denied,
    /// The arguments were invalid (or the tool unknown).
    Invalid { message: String },
    /// A rate limit was full.
    RateLimited { limit: String },
    /// AWS answered with an error, or could not be reached.
    AwsError {
        code: String,
        request_id: Option<String>,
        reached_aws: bool,
    },
    /// Something else failed inside the server.
    Error { message: String },
}

/// One audit record.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub ts: String,
    pub session: String,
    pub tool: String,
    /// Arguments with secrets redacted.
    pub args: Value,
    /// allow | deny | require_approval; `none` when the call never reached the policy.
    pub decision: String,
    /// The rule, class default or default that decided (`tools.create_broker[0]`).
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub latency_us: u64,
    pub outcome: Outcome,
    /// SHA-256 of the policy in force.
    pub policy: String,
}

/// Where records go.
#[derive(Debug)]
pub struct AuditLog {
    path: Option<PathBuf>,
    file: Option<Mutex<File>>,
}

impl AuditLog {
    /// Append to `path`, creating it and its folder.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options.open(path)?;
        Ok(AuditLog {
            path: Some(path.to_path_buf()),
            file: Some(Mutex::new(file)),
        })
    }

    /// A log that writes nothing (benchmarks, `policy explain`).
    pub fn disabled() -> Self {
        AuditLog {
            path: None,
            file: None,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The default file: `$XDG_STATE_HOME/guarded-aws-mcp/audit.jsonl` (or the platform's
    /// state or data folder).
    pub fn default_path() -> Option<PathBuf> {
        dirs::state_dir()
            .or_else(dirs::data_local_dir)
            .map(|d| d.join("guarded-aws-mcp").join("audit.jsonl"))
    }

    /// Write one record as one line, in one write, so concurrent records never interleave.
    pub fn write(&self, record: &AuditRecord) {
        let Some(file) = &self.file else { return };
        let mut line = match serde_json::to_vec(record) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "audit record could not be serialised");
                return;
            }
        };
        line.push(b'\n');
        let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = file.write_all(&line) {
            tracing::error!(error = %e, "audit record could not be written");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "Password",
            "oauth_token",
            "SecretAccessKey",
            "service_account_password",
            "SessionToken",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "NextToken",
            "next_token",
            "client_token",
            "username",
            "BrokerId",
            "Marker",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn redacts_nested_secrets() {
        let v = json!({"username": "u", "password": "hunter22", "users": [{"Password": "x"}], "ldap": {"ServiceAccountPassword": "y"}});
        let r = redact(&v);
        let text = r.to_string();
        assert!(!text.contains("hunter22") && !text.contains("\"x\"") && !text.contains("\"y\""));
        assert_eq!(r["username"], "u");
        assert_eq!(r["password"], REDACTED);
    }

    #[test]
    fn writes_one_line_per_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..3 {
            log.write(&AuditRecord {
                ts: "t".into(),
                session: "s".into(),
                tool: format!("t{i}"),
                args: json!({}),
                decision: "allow".into(),
                rule: None,
                reason: None,
                latency_us: 1,
                outcome: Outcome::Ok,
                policy: "h".into(),
            });
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["outcome"]["status"], "ok");
        }
    }
}
