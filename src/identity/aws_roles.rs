//! The AWS roles file (`serve --aws-roles FILE`): which AWS role each caller acts as. Pure: the
//! choice, the session name, the source identity, the session tags and the per-tool session
//! policy are computed here without I/O; [`super::assume`] makes the STS calls.
//!
//! ```yaml
//! default: server          # server (the server's own credentials) | refuse | a role ARN
//! session_policy: per_tool # none | per_tool: each AssumeRole allows only the tool's actions
//! duration_seconds: 3600   # 900 ..= 43200
//! principals:              # by principal first
//!   alice@example.com: arn:aws:iam::111122223333:role/agent-alice
//! roles:                   # then the first entry whose role the caller has
//!   - role: ops
//!     role_arn: arn:aws:iam::111122223333:role/agent-ops
//! ```

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::input::InputError;
use crate::policy::Caller;

const ROLE_ARN: &str = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+$";

/// [`ROLE_ARN`], compiled once (a constant pattern: a unit test compiles it).
fn role_arn() -> &'static regex::Regex {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(ROLE_ARN).unwrap_or_else(|e| panic!("ROLE_ARN: {e}"))
    });
    &RE
}

/// The roles file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsRolesFile {
    /// What a caller that no entry names acts as: `server` (the server's own AWS credentials),
    /// `refuse` (its calls are refused), or a role ARN.
    #[serde(default = "server")]
    pub default: String,
    /// `per_tool`: every AssumeRole carries an inline session policy that allows only the
    /// AWS actions of the tool being called.
    #[serde(default)]
    pub session_policy: SessionPolicy,
    /// How long assumed credentials last (they are refreshed 5 minutes before they end).
    #[serde(default = "hour")]
    #[schemars(range(min = 900, max = 43200))]
    pub duration_seconds: u32,
    /// The external id the roles' trust policies require, if any.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Role ARN by principal (checked first).
    #[serde(default)]
    pub principals: BTreeMap<String, String>,
    /// Role ARN by caller role, in order: the first role the caller has wins.
    #[serde(default)]
    pub roles: Vec<RoleEntry>,
}

fn server() -> String {
    "server".into()
}

fn hour() -> u32 {
    3600
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleEntry {
    pub role: String,
    pub role_arn: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionPolicy {
    #[default]
    None,
    PerTool,
}

/// What one caller acts as.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// The server's own AWS credentials.
    Server,
    /// No AWS identity: the call is refused.
    Refuse,
    /// This role; `by` names the entry that chose it.
    Assume { role_arn: String, by: String },
}

impl AwsRolesFile {
    /// Parse and check a roles file; `source` names it in errors.
    pub fn parse(text: &str, source: &str) -> Result<Self, InputError> {
        crate::input::check_yaml(text, source)?;
        let file: AwsRolesFile = serde_norway::from_str(text).map_err(|e| InputError::Format {
            file: source.to_string(),
            expected: "an AWS roles file",
            detail: e.to_string(),
        })?;
        let check = |place: String, v: &str| {
            if v.len() <= 2048 && role_arn().is_match(v) {
                Ok(())
            } else {
                Err(InputError::invalid(
                    source,
                    place,
                    format!(
                        "must be an IAM role ARN (arn:aws:iam::123456789012:role/name), not {v:?}"
                    ),
                ))
            }
        };
        if !matches!(file.default.as_str(), "server" | "refuse") {
            check("default".into(), &file.default)?;
        }
        for (p, a) in &file.principals {
            check(format!("principals.{p}"), a)?;
        }
        for (i, e) in file.roles.iter().enumerate() {
            check(format!("roles[{i}].role_arn"), &e.role_arn)?;
        }
        if !(900..=43200).contains(&file.duration_seconds) {
            return Err(InputError::invalid(
                source,
                "duration_seconds",
                "must be between 900 and 43200",
            ));
        }
        if let Some(x) = &file.external_id
            && !(2..=1224).contains(&x.len())
        {
            return Err(InputError::invalid(
                source,
                "external_id",
                "must be 2 to 1224 characters",
            ));
        }
        Ok(file)
    }

    /// The role a caller acts as.
    pub fn choose(&self, caller: &Caller) -> Choice {
        if let Some(arn) = self.principals.get(&caller.principal) {
            return Choice::Assume {
                role_arn: arn.clone(),
                by: format!("principals.{}", caller.principal),
            };
        }
        if let Some((i, e)) = self
            .roles
            .iter()
            .enumerate()
            .find(|(_, e)| caller.roles.contains(&e.role))
        {
            return Choice::Assume {
                role_arn: e.role_arn.clone(),
                by: format!("roles[{i}] ({})", e.role),
            };
        }
        match self.default.as_str() {
            "server" => Choice::Server,
            "refuse" => Choice::Refuse,
            arn => Choice::Assume {
                role_arn: arn.to_string(),
                by: "default".into(),
            },
        }
    }
}

/// The JSON Schema of the roles file (policies/aws-roles.schema.json).
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(AwsRolesFile)).unwrap_or_default()
}

/// The mark that only an encoded value holds: a value written as it is never contains it.
const MARK: char = '=';
/// Hex digits of the principal's SHA-256 in an encoded value (80 bits).
const HASH_DIGITS: usize = 20;

/// `s` itself when STS takes it as it is (2 to `max` characters that `allowed` accepts, no
/// `=`); otherwise a readable prefix (other characters become `-`), `=` and a hash of the
/// exact `s`. The mapping is injective: a value written as it is never holds `=`, an encoded
/// one always does, and two encoded values differ unless their 80-bit hashes collide. So two
/// principals never get one SourceIdentity, session name or tag, however alike they look.
fn encode(s: &str, max: usize, allowed: fn(char) -> bool) -> String {
    let ok = |c: char| allowed(c) && c != MARK;
    let n = s.chars().count();
    if (2..=max).contains(&n) && s.chars().all(ok) {
        return s.to_string();
    }
    let digest = crate::audit::sha256_hex(s.as_bytes());
    let keep = max - 1 - HASH_DIGITS;
    let prefix: String = s
        .chars()
        .map(|c| if ok(c) { c } else { '-' })
        .take(keep)
        .collect();
    format!("{prefix}{MARK}{}", &digest[..HASH_DIGITS])
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// The `RoleSessionName`: the principal, in STS's characters (CloudTrail shows it), encoded
/// injectively ([`encode`]).
pub fn session_name(principal: &str) -> String {
    encode(principal, 64, name_char)
}

/// The `SourceIdentity`: the principal, as IAM conditions on `aws:SourceIdentity` and
/// CloudTrail see it, encoded injectively ([`encode`]). (STS refuses values starting with
/// `aws:`, which these characters cannot spell.)
pub fn source_identity(principal: &str) -> String {
    encode(principal, 64, name_char)
}

fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/=+-@".contains(c)
}

/// Session tags: `principal` and `roles`, each encoded injectively ([`encode`]). Roles are
/// joined with spaces when no role holds a space; otherwise the list is encoded from its JSON,
/// so `["a b"]` and `["a", "b"]` stay apart.
pub fn session_tags(caller: &Caller) -> Vec<(String, String)> {
    let mut tags = vec![(
        "principal".to_string(),
        encode(&caller.principal, 256, tag_char),
    )];
    if !caller.roles.is_empty() {
        let joined = if caller.roles.iter().any(|r| r.is_empty() || r.contains(' ')) {
            // Never `ok` as it is: JSON brackets and quotes are not tag characters.
            serde_json::to_string(&caller.roles).unwrap_or_default()
        } else {
            caller.roles.join(" ")
        };
        tags.push(("roles".to_string(), encode(&joined, 256, tag_char)));
    }
    tags
}

/// The inline session policy that allows only `actions` (a tool's AWS actions).
pub fn session_policy_for(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "OnlyThisTool",
            "Effect": "Allow",
            "Action": actions,
            "Resource": "*",
        }]
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "default: refuse\nsession_policy: per_tool\nprincipals:\n  alice: arn:aws:iam::111122223333:role/agent-alice\nroles:\n  - role: ops\n    role_arn: arn:aws:iam::111122223333:role/agent-ops\n  - role: dev\n    role_arn: arn:aws:iam::111122223333:role/team/agent-dev\n";

    #[test]
    fn principal_first_then_the_first_role_then_the_default() {
        let f = AwsRolesFile::parse(FILE, "r.yaml").unwrap();
        let who = |p: &str, r: &[&str]| {
            f.choose(&Caller::new(p, r.iter().map(|s| s.to_string()).collect()))
        };
        assert_eq!(
            who("alice", &["ops"]),
            Choice::Assume {
                role_arn: "arn:aws:iam::111122223333:role/agent-alice".into(),
                by: "principals.alice".into()
            }
        );
        assert!(
            matches!(who("bob", &["dev", "ops"]), Choice::Assume { by, .. } if by == "roles[0] (ops)")
        );
        assert_eq!(who("carol", &["guest"]), Choice::Refuse);
        assert_eq!(f.session_policy, SessionPolicy::PerTool);
        let server = AwsRolesFile::parse("principals: {}\n", "r").unwrap();
        assert_eq!(server.choose(&Caller::default()), Choice::Server);
    }

    #[test]
    fn the_shipped_schema_is_current() {
        let shipped: serde_json::Value =
            serde_json::from_str(include_str!("../../policies/aws-roles.schema.json")).unwrap();
        assert_eq!(
            shipped,
            schema(),
            "policies/aws-roles.schema.json is stale: run `guarded-aws-mcp aws-roles schema > policies/aws-roles.schema.json`"
        );
    }

    #[test]
    fn the_example_file_is_valid() {
        AwsRolesFile::parse(include_str!("../../examples/aws-roles.yaml"), "example").unwrap();
    }

    #[test]
    fn bad_files_name_the_place() {
        let e = AwsRolesFile::parse("principals:\n  alice: arn:aws:iam::1:user/x\n", "r.yaml")
            .unwrap_err();
        assert!(
            matches!(&e, InputError::Invalid { place, .. } if place == "principals.alice"),
            "{e}"
        );
        let e = AwsRolesFile::parse("default: nobody\n", "r.yaml").unwrap_err();
        assert!(
            matches!(&e, InputError::Invalid { place, .. } if place == "default"),
            "{e}"
        );
        assert!(AwsRolesFile::parse("duration_seconds: 60\n", "r").is_err());
        assert!(
            AwsRolesFile::parse("role: x\n", "r").is_err(),
            "unknown fields refused"
        );
    }

    #[test]
    fn different_principals_never_share_an_aws_identity() {
        let long = |c: char| format!("{}{c}", "p".repeat(69));
        let mut principals: Vec<String> = [
            "ops:alice",
            "ops/alice",
            "ops alice",
            "ops-alice",
            "alicé",
            "alic?",
            "alic-",
            "a",
            "a-",
            "x=y",
            "x-y",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        principals.extend([long('1'), long('2'), "p".repeat(70)]);
        // A principal spelled like another's encoded value stays apart from it.
        principals.push(session_name("ops:alice"));
        for f in [session_name, source_identity] {
            let values: std::collections::HashSet<String> =
                principals.iter().map(|p| f(p)).collect();
            assert_eq!(values.len(), principals.len(), "{values:?}");
        }
        let tags: std::collections::HashSet<Vec<(String, String)>> = principals
            .iter()
            .map(|p| session_tags(&Caller::new(p.as_str(), vec![])))
            .collect();
        assert_eq!(tags.len(), principals.len());
        let roles =
            |r: &[&str]| session_tags(&Caller::new("x", r.iter().map(|s| s.to_string()).collect()));
        assert_ne!(roles(&["a b"]), roles(&["a", "b"]));
        assert_ne!(roles(&["a,b"]), roles(&["a-b"]));
    }

    #[test]
    fn names_and_tags_use_only_what_sts_accepts() {
        assert_eq!(session_name("alice.smith@ops"), "alice.smith@ops");
        assert!(session_name("alice smith/ops").starts_with("alice-smith-ops="));
        assert_eq!(session_name("a").len(), 2 + HASH_DIGITS);
        assert_eq!(session_name(&"x".repeat(100)).len(), 64);
        assert!(source_identity("aws:root").starts_with("aws-root="));
        for v in [session_name("a b/c~d"), session_name(&"é".repeat(70))] {
            assert!(v.len() <= 64 && v.chars().all(name_char), "{v}");
        }
        let tags = session_tags(&Caller::new(
            "alice@example.com",
            vec!["ops".into(), "a,b".into()],
        ));
        assert_eq!(
            tags[0],
            ("principal".to_string(), "alice@example.com".to_string())
        );
        assert!(tags[1].1.starts_with("ops a-b="), "{tags:?}");
        let p: serde_json::Value =
            serde_json::from_str(&session_policy_for(&["mq:ListBrokers"])).unwrap();
        assert_eq!(
            p["Statement"][0]["Action"],
            serde_json::json!(["mq:ListBrokers"])
        );
    }
}
