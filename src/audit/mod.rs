//! The audit log: one JSON Lines record per tool call, secrets redacted, tamper-evident: each
//! record carries its number (`seq`), the SHA-256 of the previous record's line (`prev`) and of
//! the policy in force (`policy`), so `guarded-aws-mcp audit verify` finds an edited, deleted,
//! inserted or reordered record, and a missing file of a rotated log. Writing, rotation and
//! signed checkpoints are in [`log`]; checking in [`verify`]; keys in [`signing`].

pub mod cloudwatch;
mod log;
#[cfg(test)]
mod log_tests;
pub mod ship;
#[cfg(test)]
mod ship_tests;
pub mod signing;
mod verify;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use log::{AuditLog, AuditOptions, Rotate, Written, rotated_files};
pub use verify::{Broken, Report, verify, verify_files, verify_stream};

/// `prev` of the first record of a log.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Lower-case hex of some bytes (a table lookup per nibble: a `format!` per byte cost about a
/// microsecond per hash, and every audit record and counter key is hashed).
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Lower-case hex SHA-256: the audit chain, the policy hash, token hashes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

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

/// A URL without the credentials it carries (`http://user:pass@host` → `http://REDACTED@host`);
/// other text unchanged.
fn without_userinfo(s: &str) -> Option<String> {
    if !s.contains("://") || !s.contains('@') {
        return None;
    }
    let mut url = reqwest::Url::parse(s).ok()?;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    url.set_password(None).ok()?;
    url.set_username("REDACTED").ok()?;
    Some(url.to_string())
}

/// The largest argument object an audit record stores; a larger one is replaced by its size and
/// SHA-256 (the refused oversized call is still recorded, not its payload).
pub const MAX_AUDITED_ARGS_BYTES: usize = 16 * 1024;

/// What an audit record stores of a call's arguments: redacted, and at most
/// [`MAX_AUDITED_ARGS_BYTES`].
pub fn audited_args(args: &Value) -> Value {
    let redacted = redact(args);
    oversized(&redacted).unwrap_or(redacted)
}

/// What an audit record stores instead of redacted arguments larger than
/// [`MAX_AUDITED_ARGS_BYTES`]: their size and SHA-256. None when they fit.
pub fn oversized(redacted: &Value) -> Option<Value> {
    let text = redacted.to_string();
    (text.len() > MAX_AUDITED_ARGS_BYTES).then(|| {
        serde_json::json!({
            "truncated": true,
            "bytes": text.len(),
            "sha256": sha256_hex(text.as_bytes()),
        })
    })
}

/// A copy of `value` with every secret field replaced by [`REDACTED`], and credentials removed
/// from URLs.
pub fn redact(value: &Value) -> Value {
    match value {
        Value::String(s) => without_userinfo(s).map_or_else(|| value.clone(), Value::String),
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
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
        /// true, false, or "unknown" (sent, then no answer: it may have been processed).
        reached_aws: crate::error::Reached,
    },
    /// Something else failed inside the server (or the state store could not be reached).
    Error { message: String },
    /// The call was put to a human and has not been approved yet.
    AwaitingApproval {
        via: String,
        approval_id: Option<String>,
    },
    /// A call that passed the gate is about to run (written before the AWS call for every tool
    /// that is not a read; its outcome follows in a second record). When this record cannot
    /// be written, the call does not run.
    Started,
    /// An operator approved or denied an out-of-band approval (`approvals approve|deny`).
    ApprovalDecided { approval_id: String, by: String },
    /// A signed checkpoint (`--audit-signing-key`): `count` records before it, the last of
    /// them hashing to `head`, after the checkpoint whose line hashes to `previous`; `key`
    /// names the signing key, `signature` (Ed25519, base64) covers all of it with the
    /// checkpoint's number and time.
    Checkpoint {
        count: u64,
        head: String,
        previous: String,
        key: String,
        signature: String,
    },
}

/// One audit record: written by the gate, read back by `policy replay` and `audit verify`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub ts: String,
    pub session: String,
    /// The caller: the HTTP token's principal, or `--principal` on stdio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// The caller's roles (so `policy replay` can decide role rules again).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// The identity provider's token the caller presented: its issuer and `jti`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<TokenRecord>,
    /// The token claims the policy in force reads (null when the token lacks one), so that
    /// `policy replay` decides claim rules again; never the other claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<serde_json::Map<String, Value>>,
    /// The AWS identity the call ran as, when the caller acts as its own role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_identity: Option<AwsIdentityRecord>,
    /// The facts of the call's resource that the policy read (`{"tags.env": "dev"}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<Value>,
    /// What the IAM guard read of an IAM change: the documents it judged (policy ARNs with
    /// version ids, a group's policies) and the server's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam_grants: Option<Value>,
    /// What the history conditions the policy read found: each query, and the calls it
    /// counted (`{"history(describe_broker within 15m per session same BrokerId)": 1}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<std::collections::BTreeMap<String, u64>>,
    pub tool: String,
    /// Arguments with secrets redacted.
    pub args: Value,
    /// allow | deny | require_approval; `none` when the call never reached the policy.
    pub decision: String,
    /// The rule, class default or default that decided (`tools.create_broker[0]`).
    pub rule: Option<String>,
    /// The deciding rule's conditions, which held (`args.host_instance_type not_in [..]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    pub reason: Option<String>,
    #[serde(default)]
    pub latency_us: u64,
    pub outcome: Outcome,
    /// SHA-256 of the policy in force.
    #[serde(default)]
    pub policy: String,
    /// `shadow` when the decision was audited, not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The record's number in the log, from 1, across rotated files. Set by the writer.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub seq: u64,
    /// SHA-256 of the previous record's line; [`GENESIS`] for the first. Set by the writer.
    #[serde(default)]
    pub prev: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl AuditRecord {
    /// A record of something that is not a call through the gate (a policy reload, an
    /// operator's decision, a refusal before the gate): the time now, no caller facts beyond
    /// what the fields set afterwards say, no latency.
    pub fn event(
        session: impl Into<String>,
        tool: impl Into<String>,
        args: Value,
        decision: impl Into<String>,
        outcome: Outcome,
        policy: String,
    ) -> AuditRecord {
        AuditRecord {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            session: session.into(),
            principal: None,
            roles: Vec::new(),
            token: None,
            claims: None,
            aws_identity: None,
            resource: None,
            iam_grants: None,
            history: None,
            tool: tool.into(),
            args,
            decision: decision.into(),
            rule: None,
            conditions: Vec::new(),
            reason: None,
            latency_us: 0,
            outcome,
            policy,
            mode: None,
            seq: 0,
            prev: String::new(),
        }
    }
}

/// Which identity-provider token authenticated a call (never the token).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenRecord {
    pub issuer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The assumed role a call ran as (what CloudTrail shows for it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AwsIdentityRecord {
    pub role_arn: String,
    /// `arn:aws:sts::…:assumed-role/<role>/<session>`.
    pub assumed_arn: String,
    pub session_name: String,
    pub source_identity: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

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

    fn record(i: usize) -> AuditRecord {
        AuditRecord {
            ts: "t".into(),
            latency_us: 1,
            ..AuditRecord::event(
                "s",
                format!("t{i}"),
                json!({}),
                "allow",
                Outcome::Ok,
                "h".into(),
            )
        }
    }

    /// What the writer writes, `policy replay` reads back as the same typed record: every
    /// outcome, `reached_aws` in its three spellings, the conditions that held.
    #[test]
    fn records_read_back_as_written() {
        let outcomes = [
            Outcome::Ok,
            Outcome::Denied,
            Outcome::Invalid {
                message: "m".into(),
            },
            Outcome::RateLimited { limit: "l".into() },
            Outcome::AwsError {
                code: "C".into(),
                request_id: Some("r".into()),
                reached_aws: crate::error::Reached::Unknown,
            },
            Outcome::AwsError {
                code: "C".into(),
                request_id: None,
                reached_aws: crate::error::Reached::No,
            },
            Outcome::Error {
                message: "e".into(),
            },
            Outcome::AwaitingApproval {
                via: "v".into(),
                approval_id: Some("apr-1".into()),
            },
            Outcome::Started,
            Outcome::ApprovalDecided {
                approval_id: "apr-1".into(),
                by: "op".into(),
            },
        ];
        for outcome in outcomes {
            let mut r = record(1);
            r.outcome = outcome.clone();
            r.conditions = vec!["args.x eq 1".into()];
            let line = serde_json::to_string(&r).unwrap();
            let back: AuditRecord = serde_json::from_str(&line).unwrap();
            assert_eq!(back.outcome, outcome, "{line}");
            assert_eq!(back.conditions, r.conditions);
            assert_eq!(serde_json::to_string(&back).unwrap(), line, "the same line");
        }
        let bad = r#"{"ts":"t","session":"s","tool":"x","args":{},"decision":"allow","rule":null,"reason":null,"outcome":{"status":"aws_error","code":"C","request_id":null,"reached_aws":"maybe"}}"#;
        assert!(serde_json::from_str::<AuditRecord>(bad).is_err());
    }

    fn log_with(n: usize) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..n {
            log.write(record(i)).unwrap();
        }
        (dir, path)
    }

    fn check(text: &str) -> Result<usize, Broken> {
        verify(std::io::Cursor::new(text.as_bytes()))
    }

    #[test]
    fn writes_one_chained_line_per_record() {
        let (_dir, path) = log_with(3);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.lines().count(), 3);
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["prev"], GENESIS);
        assert_eq!(first["outcome"]["status"], "ok");
        assert_eq!(check(&text), Ok(3));
        // Reopening continues the chain.
        let log = AuditLog::open(&path).unwrap();
        log.write(record(3)).unwrap();
        assert_eq!(check(&std::fs::read_to_string(&path).unwrap()), Ok(4));
        assert_eq!(check(""), Ok(0));
    }

    #[test]
    fn finds_edited_deleted_reordered_and_torn_records() {
        let (_dir, path) = log_with(5);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let join = |ls: Vec<&str>| ls.iter().map(|l| format!("{l}\n")).collect::<String>();

        let edited = text.replacen("\"tool\":\"t2\"", "\"tool\":\"tX\"", 1);
        let e = check(&edited).unwrap_err();
        assert_eq!(e.record, 4, "{e:?}");
        assert!(e.reason.contains("record 3 was changed"), "{e:?}");

        let deleted = join(vec![lines[0], lines[1], lines[3], lines[4]]);
        assert_eq!(check(&deleted).unwrap_err().record, 3);

        let reordered = join(vec![lines[0], lines[2], lines[1], lines[3], lines[4]]);
        assert_eq!(check(&reordered).unwrap_err().record, 2);

        let first_gone = join(lines[1..].to_vec());
        assert_eq!(check(&first_gone).unwrap_err().record, 1);

        let torn = &text[..text.len() - 10];
        let e = check(torn).unwrap_err();
        assert_eq!(e.record, 5, "{e:?}");

        let no_newline = &text[..text.len() - 1];
        assert!(check(no_newline).unwrap_err().reason.contains("incomplete"));
        // A log that ends in a torn record is not appended to.
        std::fs::write(&path, no_newline).unwrap();
        assert!(AuditLog::open(&path).is_err());
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::*;
    use serde_json::json;

    /// Issue 11 (6b): credentials inside a URL argument were stored verbatim.
    #[test]
    fn urls_lose_their_credentials() {
        let v = redact(
            &json!({"management_url": "http://user:pa55@broker.example:15672/api",
                               "plain": "http://broker.example/x", "email": "a@b.c"}),
        );
        assert_eq!(
            v["management_url"],
            "http://REDACTED@broker.example:15672/api"
        );
        assert_eq!(v["plain"], "http://broker.example/x");
        assert_eq!(v["email"], "a@b.c");
        assert!(!v.to_string().contains("pa55"));
    }

    /// Issue 11 (6d): a refused 8 MiB argument was stored whole in its audit record.
    #[test]
    fn audited_args_are_capped_with_a_hash() {
        let big = json!({"broker_name": "x".repeat(100_000)});
        let a = audited_args(&big);
        assert_eq!(a["truncated"], true);
        assert!(a["bytes"].as_u64().unwrap() > 100_000);
        assert_eq!(a["sha256"].as_str().unwrap().len(), 64);
        let small = json!({"broker_name": "x", "password": "p"});
        assert_eq!(
            audited_args(&small),
            json!({"broker_name": "x", "password": REDACTED})
        );
    }
}
