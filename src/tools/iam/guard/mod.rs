//! The IAM policy-document guard: pure checks of the policy documents and managed-policy ARNs
//! that IAM tools would send, configured by the `iam_guard` section of the policy file.
//!
//! It refuses, naming the statement and the reason:
//! - a statement that allows every action, or a whole service (`iam:*`), on every resource;
//! - `NotAction` / `NotResource` with `Allow`;
//! - privilege-escalation actions (`iam:PassRole`, `iam:PutUserPolicy`, `sts:AssumeRole`, ...)
//!   on broad resources;
//! - trust policies that let any principal (`"*"`) assume a role;
//! - attaching listed managed policies (AdministratorAccess, IAMFullAccess, PowerUserAccess),
//!   and what any attached policy or joined group grants ([`Grants`], read by the gate);
//! - trust policies naming `AWS` principals of other accounts, or `Federated` principals, that
//!   the policy does not list ([`trust`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::ArgError;

/// Parse a JSON policy document, refusing duplicate keys: IAM and the guard must never read two
/// different documents from one text. The caller sends `value.to_string()`, exactly what was
/// checked, never the original text.
pub fn parse_document(text: &str) -> Result<Value, DocumentError> {
    struct Strict(Value);
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Value;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
            Ok(Value::Bool(b))
        }
        fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
            Ok(n.into())
        }
        fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
            Ok(n.into())
        }
        fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
            Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
        }
        fn visit_str<E>(self, s: &str) -> Result<Value, E> {
            Ok(Value::String(s.to_string()))
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(Strict(v)) = seq.next_element()? {
                items.push(v);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut out = serde_json::Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if out.contains_key(&key) {
                    return Err(serde::de::Error::custom(format!(
                        "duplicate key \"{key}\" (IAM and this server could read different documents)"
                    )));
                }
                let Strict(v) = map.next_value()?;
                out.insert(key, v);
            }
            Ok(Value::Object(out))
        }
    }
    impl<'de> Deserialize<'de> for Strict {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(V).map(Strict)
        }
    }
    serde_json::from_str::<Strict>(text)
        .map(|s| s.0)
        .map_err(|e| DocumentError(e.to_string()))
}

/// A policy document's text that is not one JSON document (or writes a key twice).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct DocumentError(pub String);

/// An IAM policy document: a JSON object, or the same as a JSON string.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum PolicyDocument {
    Object(serde_json::Map<String, Value>),
    Text(String),
}

impl PolicyDocument {
    /// The document as the JSON text IAM receives: the canonical serialisation of what the
    /// guard checked, never the original text. Malformed JSON is an error with its position;
    /// duplicate keys are refused.
    pub fn to_text(&self, field: &str) -> Result<String, ArgError> {
        match self {
            PolicyDocument::Object(map) => Ok(Value::Object(map.clone()).to_string()),
            PolicyDocument::Text(text) => match parse_document(text) {
                Ok(v @ Value::Object(_)) => Ok(v.to_string()),
                Ok(_) => Err(ArgError::rule(
                    field,
                    "a policy document must be a JSON object",
                )),
                // serde_json's message ends with the position: "... at line 1 column 33".
                Err(e) => Err(ArgError::rule(field, format!("is not valid JSON: {e}"))),
            },
        }
    }

    /// The parsed document (for the guard), if it is valid.
    pub fn parse(value: &Value) -> Option<Value> {
        match value {
            Value::Object(_) => Some(value.clone()),
            Value::String(s) => parse_document(s).ok(),
            _ => None,
        }
    }
}

/// What an argument holds, for the guard (declared in the catalogue, where every tool's
/// policy-document arguments are checked to be guarded).
pub use crate::catalogue::DocKind;

/// The `iam_guard` section of a policy file. Each check is on unless turned off.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardSpec {
    /// Refuse statements that allow `*` or `service:*` on resource `*`.
    #[serde(default = "on")]
    pub wildcard_admin: bool,
    /// Refuse `Allow` statements that use `NotAction` or `NotResource`.
    #[serde(default = "on")]
    pub not_action_allow: bool,
    /// Refuse privilege-escalation actions on broad resources (`*`, `…/*`).
    #[serde(default = "on")]
    pub escalation: bool,
    /// The privilege-escalation actions; the built-in list when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_actions: Option<Vec<String>>,
    /// Refuse trust policies that let any principal (`"*"`) assume the role.
    #[serde(default = "on")]
    pub public_trust: bool,
    /// Managed policies (names or ARNs) that `attach_*_policy` may not attach: a first quick
    /// check by name, before the policy's document is read and checked for what it grants.
    #[serde(default = "default_managed")]
    pub managed_policies: Vec<String>,
    /// Read what an IAM change puts in force before deciding: a managed policy's default
    /// version for `attach_*_policy`, a group's attached and inline policies for
    /// `add_user_to_group`; each document is checked as an inline one would be.
    #[serde(default = "on")]
    pub granted_documents: bool,
    /// Refuse trust policies whose `AWS` principals are in an account other than the server's
    /// own or `trusted_accounts`.
    #[serde(default = "on")]
    pub foreign_trust: bool,
    /// Accounts (12 digits) that trust policies may name besides the server's own.
    #[serde(default)]
    pub trusted_accounts: Vec<String>,
    /// `Federated` principals (identity-provider ARNs or names such as `cognito-identity.amazonaws.com`)
    /// trust policies may name; none by default.
    #[serde(default)]
    pub trusted_federations: Vec<String>,
    /// AWS's own policy checks (IAM Access Analyzer), off unless given: every document an IAM
    /// tool would send, or puts in force, is checked; an answer it cannot get refuses the call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_analyzer: Option<AnalyzerSpec>,
}

fn on() -> bool {
    true
}

fn default_managed() -> Vec<String> {
    ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"]
        .map(String::from)
        .to_vec()
}

/// Actions that let a principal widen its own power.
pub const ESCALATION_ACTIONS: &[&str] = &[
    "iam:PassRole",
    "iam:PutUserPolicy",
    "iam:PutRolePolicy",
    "iam:PutGroupPolicy",
    "iam:AttachUserPolicy",
    "iam:AttachRolePolicy",
    "iam:AttachGroupPolicy",
    "iam:CreateAccessKey",
    "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile",
    "iam:UpdateAssumeRolePolicy",
    "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion",
    "iam:AddUserToGroup",
    "sts:AssumeRole",
];

impl Default for GuardSpec {
    fn default() -> Self {
        GuardSpec {
            wildcard_admin: true,
            not_action_allow: true,
            escalation: true,
            escalation_actions: None,
            public_trust: true,
            managed_policies: default_managed(),
            granted_documents: true,
            foreign_trust: true,
            trusted_accounts: Vec::new(),
            trusted_federations: Vec::new(),
            access_analyzer: None,
        }
    }
}

pub use crate::catalogue::guard::Finding;

fn as_list(v: Option<&Value>) -> Vec<&str> {
    match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// IAM wildcard match (`*` any run, `?` one character), case-insensitive as IAM actions are.
/// ASCII text (every action and almost every ARN) is matched byte by byte without allocating.
fn wildcard_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        return match_units(pattern.as_bytes(), text.as_bytes(), |a, b| {
            a.eq_ignore_ascii_case(b)
        });
    }
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    match_units(&p, &t, |a, b| a == b)
}

/// The wildcard match over units (bytes or characters) that `eq` compares.
fn match_units<T: Copy + PartialEq + WildUnit>(
    p: &[T],
    t: &[T],
    eq: impl Fn(&T, &T) -> bool,
) -> bool {
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi].is_one() || eq(&p[pi], &t[ti])) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi].is_any() {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| c.is_any())
}

/// A unit of a wildcard pattern: `*` (any run) or `?` (one unit).
trait WildUnit {
    fn is_any(&self) -> bool;
    fn is_one(&self) -> bool;
}

impl WildUnit for u8 {
    fn is_any(&self) -> bool {
        *self == b'*'
    }
    fn is_one(&self) -> bool {
        *self == b'?'
    }
}

impl WildUnit for char {
    fn is_any(&self) -> bool {
        *self == '*'
    }
    fn is_one(&self) -> bool {
        *self == '?'
    }
}

/// Only wildcards (`*`, `**`, `?*`, `*?`, ...) with at least one `*`: matches every non-empty text.
fn is_wild(s: &str) -> bool {
    s.contains('*') && s.chars().all(|c| matches!(c, '*' | '?'))
}

/// Resource names no narrow pattern can match: different lengths, letters, digits, `/`, `:`.
const PROBE_NAMES: [&str; 3] = ["x", "Zq7Kx9w", "0-probe_Q.v/deep/Path:9"];

/// Sample ARNs of the type a resource pattern names: each segment with a wildcard gets a value
/// no narrow pattern matches; the resource part keeps its literal type (`role/`, `bucket/`).
fn probes(pattern: &str) -> Vec<String> {
    let Some(rest) = pattern.strip_prefix("arn:") else {
        // Not an ARN: probe ARNs of unrelated services.
        return PROBE_NAMES
            .iter()
            .flat_map(|n| {
                [
                    format!("arn:aws:iam::123456789012:role/{n}"),
                    format!("arn:aws:ec2:eu-west-3:210987654321:instance/{n}"),
                ]
            })
            .collect();
    };
    let mut parts = rest.splitn(5, ':');
    let mut seg = |probe: &str| {
        let p = parts.next().unwrap_or("");
        if p.contains(['*', '?']) {
            probe.to_string()
        } else {
            p.to_string()
        }
    };
    let head = [
        seg("aws"),
        seg("iam"),
        seg("us-east-1"),
        seg("123456789012"),
    ]
    .join(":");
    let res = parts.next().unwrap_or("");
    // The literal type before the first `/` or `:` of the resource part (`role/`); when a
    // wildcard comes first (`role*`), the literal text before it, as a type of its own.
    let wild = res.find(['*', '?']);
    let typ = match (res.find(['/', ':']), wild) {
        (Some(sep), w) if w.is_none_or(|w| sep < w) => res[..=sep].to_string(),
        (_, Some(w)) if w > 0 => format!("{}/", &res[..w]),
        _ => String::new(),
    };
    PROBE_NAMES
        .iter()
        .map(|n| format!("arn:{head}:{typ}{n}"))
        .collect()
}

/// True when a resource pattern matches every ARN of the type it names (`*`, `role/*`,
/// `role/?*`, `role/**`, `arn:aws:iam::*:role/**`, `arn:aws:*:*:*:**` ...), decided by matching
/// it against sample ARNs of that type rather than by a list of spellings.
fn is_broad_resource(r: &str) -> bool {
    is_wild(r) || probes(r).iter().all(|p| wildcard_match(r, p))
}

/// True when a resource pattern matches every resource of every service.
fn is_every_resource(r: &str) -> bool {
    is_wild(r)
        || PROBE_NAMES.iter().all(|n| {
            [
                format!("arn:aws:iam::123456789012:role/{n}"),
                format!("arn:aws:s3:::{n}"),
                format!("arn:aws:ec2:eu-west-3:210987654321:instance/{n}"),
            ]
            .iter()
            .all(|p| wildcard_match(r, p))
        })
}

fn is_service_wildcard(a: &str) -> bool {
    a == "*"
        || a.split_once(':')
            .is_some_and(|(svc, act)| !svc.is_empty() && act == "*")
}

fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

fn statement_location(field: &str, i: usize, st: &Value) -> String {
    match st.get("Sid").and_then(Value::as_str) {
        Some(sid) => format!("{field} Statement[{i}] (Sid \"{sid}\")"),
        None => format!("{field} Statement[{i}]"),
    }
}

/// Any principal at all: `"*"`, `["*"]`, or `"*"` under any key (`AWS`, `aws`, `Federated`,
/// `Service`, `CanonicalUser`).
fn is_public_principal(p: Option<&Value>) -> bool {
    match p {
        Some(Value::Object(map)) => map.values().any(|v| is_public_principal(Some(v))),
        Some(v) => as_list(Some(v)).iter().any(|s| is_wild(s)),
        None => false,
    }
}

impl GuardSpec {
    /// Check one argument as [`GuardSpec::check_with`] does, knowing nothing read from AWS
    /// (so no account is the server's own).
    pub fn check(&self, kind: DocKind, field: &str, value: &Value) -> Option<Finding> {
        self.check_with(kind, field, value, None)
    }

    /// Check one argument; `field` names it in the finding. `grants` are the documents the
    /// gate read for the call and the server's own account (trust checks need it).
    pub fn check_with(
        &self,
        kind: DocKind,
        field: &str,
        value: &Value,
        grants: Option<&Grants>,
    ) -> Option<Finding> {
        self.check_arguments(kind, field, value).or_else(|| {
            (kind == DocKind::Trust && self.foreign_trust)
                .then(|| {
                    trust::foreign_principal(
                        self,
                        field,
                        value,
                        grants.and_then(|g| g.own_account.as_deref()),
                    )
                })
                .flatten()
        })
    }

    /// The checks that need nothing read from AWS: documents as written, managed-policy names,
    /// open trust.
    pub fn check_arguments(&self, kind: DocKind, field: &str, value: &Value) -> Option<Finding> {
        match kind {
            DocKind::ManagedPolicyArn => self.check_arn(field, value.as_str()?),
            DocKind::GroupMembership => None,
            DocKind::Identity | DocKind::Trust => self.check_document(kind, field, value),
        }
    }

    /// Check what the call puts in force that its arguments do not show: each document read
    /// (a managed policy's default version, a group's policies), as an identity policy.
    pub fn check_grants(&self, grants: &Grants) -> Option<Finding> {
        let own = || {
            grants
                .documents
                .iter()
                .find_map(|d| self.check_document(DocKind::Identity, &d.origin, &d.document))
        };
        self.granted_documents.then(own).flatten().or_else(|| {
            self.access_analyzer
                .as_ref()
                .and_then(|a| a.refusal(&grants.analyzer))
        })
    }

    fn check_arn(&self, field: &str, arn: &str) -> Option<Finding> {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let listed = self
            .managed_policies
            .iter()
            .find(|m| m.as_str() == arn || (!m.contains(':') && m.as_str() == name))?;
        Some(Finding {
            check: "managed_policies",
            location: field.to_string(),
            reason: format!(
                "attaching the managed policy {listed} is not allowed (iam_guard.managed_policies)"
            ),
        })
    }

    fn check_document(&self, kind: DocKind, field: &str, doc: &Value) -> Option<Finding> {
        let escalation: Vec<&str> = match &self.escalation_actions {
            Some(list) => list.iter().map(String::as_str).collect(),
            None => ESCALATION_ACTIONS.to_vec(),
        };
        for (i, st) in statements(doc).into_iter().enumerate() {
            let allow = st.get("Effect").and_then(Value::as_str) == Some("Allow");
            if !allow {
                continue;
            }
            let loc = || statement_location(field, i, st);
            let actions = as_list(st.get("Action"));
            let resources = as_list(st.get("Resource"));
            if kind == DocKind::Trust {
                if self.public_trust && st.get("NotPrincipal").is_some() {
                    return Some(Finding {
                        check: "public_trust",
                        location: loc(),
                        reason: "uses NotPrincipal with Allow, which lets every principal not listed assume the role".into(),
                    });
                }
                if self.public_trust && is_public_principal(st.get("Principal")) {
                    return Some(Finding {
                        check: "public_trust",
                        location: loc(),
                        reason: "lets any principal (\"*\") assume the role".into(),
                    });
                }
                continue;
            }
            if self.not_action_allow
                && (st.get("NotAction").is_some() || st.get("NotResource").is_some())
            {
                let which = if st.get("NotAction").is_some() {
                    "NotAction"
                } else {
                    "NotResource"
                };
                return Some(Finding {
                    check: "not_action_allow",
                    location: loc(),
                    reason: format!("uses {which} with Allow, which grants everything not listed"),
                });
            }
            let on_everything = resources.iter().find(|r| is_every_resource(r));
            if let (true, Some(r)) = (self.wildcard_admin, on_everything)
                && let Some(a) = actions.iter().find(|a| is_service_wildcard(a))
            {
                let what = if *a == "*" {
                    "every action".to_string()
                } else {
                    format!("every action of {}", a.trim_end_matches(":*"))
                };
                return Some(Finding {
                    check: "wildcard_admin",
                    location: loc(),
                    reason: format!("allows {what} (\"{a}\") on every resource (\"{r}\")"),
                });
            }
            if self.escalation
                && let Some(r) = resources.iter().find(|r| is_broad_resource(r))
            {
                for a in &actions {
                    if let Some(e) = escalation.iter().find(|e| wildcard_match(a, e)) {
                        return Some(Finding {
                            check: "escalation",
                            location: loc(),
                            reason: format!(
                                "allows the privilege-escalation action {e} (via \"{a}\") on the broad resource \"{r}\""
                            ),
                        });
                    }
                }
            }
        }
        None
    }
}

/// What an IAM change would put in force beyond its arguments, read from AWS by the gate
/// before it decides (the reading is I/O; the checks of it are pure).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grants {
    /// The documents the call attaches or grants, each named by where it came from.
    pub documents: Vec<GrantedDocument>,
    /// The server's own account (STS GetCallerIdentity), when a trust policy is checked.
    pub own_account: Option<String>,
    /// IAM Access Analyzer's answers about the documents, when `access_analyzer` asks.
    pub analyzer: Vec<AnalyzerFinding>,
}

/// One document an IAM change puts in force.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantedDocument {
    /// `policy arn:aws:iam::…:policy/OrgAdmin (version v2)`, `group admins inline policy x`.
    pub origin: String,
    pub document: Value,
}

impl Grants {
    /// What the audit record keeps: where each document came from, the account, and Access
    /// Analyzer's findings by operation, type and issue code.
    pub fn summary(&self) -> Value {
        serde_json::json!({
            "documents": self.documents.iter().map(|d| d.origin.as_str()).collect::<Vec<_>>(),
            "own_account": self.own_account,
            "analyzer": self.analyzer.iter().map(|a| serde_json::json!({
                "origin": a.origin, "operation": a.operation,
                "type": a.finding_type, "code": a.issue_code,
            })).collect::<Vec<_>>(),
        })
    }
}

pub mod analyzer;
pub mod fixture;
mod judge;
pub mod reader;
mod trust;

pub use analyzer::{AnalyzerFinding, AnalyzerSpec};
pub use fixture::IamFixture;

#[cfg(test)]
mod tests;
