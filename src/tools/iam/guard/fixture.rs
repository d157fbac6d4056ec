//! What the IAM guard would read from AWS, given offline (`policy test` cases' `iam:`, `policy
//! explain --iam`), so a policy author tests attach, group and trust rules and Access
//! Analyzer findings without AWS.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AnalyzerFinding, DocKind, GrantedDocument, Grants};

/// Facts the IAM guard reads from AWS, as fixtures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IamFixture {
    /// The server's own account (trust policies may name it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own_account: Option<String>,
    /// Managed policies' default-version documents, by ARN (what `attach_*_policy` attaches).
    #[serde(default)]
    pub policies: BTreeMap<String, Value>,
    /// Each group's policy documents, attached and inline (what `add_user_to_group` joins).
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<Value>>,
    /// IAM Access Analyzer's answers about the call's documents.
    #[serde(default)]
    pub analyzer: Vec<AnalyzerAnswer>,
}

/// One Access Analyzer answer, as a fixture.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerAnswer {
    pub operation: AnalyzerOperation,
    /// ValidatePolicy's finding type (`SECURITY_WARNING` …), or `FAIL` for the access checks.
    #[serde(rename = "type")]
    pub finding_type: String,
    /// ValidatePolicy's issue code.
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub statement: Option<usize>,
    /// Which document (`policy_document`); the call's first document when omitted.
    #[serde(default)]
    pub origin: Option<String>,
}

/// Access Analyzer's check operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum AnalyzerOperation {
    ValidatePolicy,
    CheckAccessNotGranted,
    CheckNoNewAccess,
}

impl AnalyzerOperation {
    fn as_str(self) -> &'static str {
        match self {
            AnalyzerOperation::ValidatePolicy => "ValidatePolicy",
            AnalyzerOperation::CheckAccessNotGranted => "CheckAccessNotGranted",
            AnalyzerOperation::CheckNoNewAccess => "CheckNoNewAccess",
        }
    }
}

impl IamFixture {
    /// What the gate would have read for a tool with these documents and arguments. A managed
    /// policy or group the fixture does not hold reads as holding nothing.
    pub fn grants(&self, docs: &[(&'static str, DocKind)], args: &Value) -> Grants {
        let mut grants = Grants {
            own_account: self.own_account.clone(),
            ..Grants::default()
        };
        let mut first = None;
        for (field, kind) in docs {
            let value = args.get(*field).and_then(Value::as_str);
            first.get_or_insert(field.to_string());
            match (kind, value) {
                (DocKind::ManagedPolicyArn, Some(arn)) => {
                    if let Some(d) = self.policies.get(arn) {
                        grants.documents.push(GrantedDocument {
                            origin: format!("policy {arn} (fixture)"),
                            document: d.clone(),
                        });
                    }
                }
                (DocKind::GroupMembership, Some(group)) => {
                    for (i, d) in self.groups.get(group).into_iter().flatten().enumerate() {
                        grants.documents.push(GrantedDocument {
                            origin: format!("group {group} policy {i} (fixture)"),
                            document: d.clone(),
                        });
                    }
                }
                _ => {}
            }
        }
        grants.analyzer = self
            .analyzer
            .iter()
            .map(|a| AnalyzerFinding {
                origin: a
                    .origin
                    .clone()
                    .or_else(|| first.clone())
                    .unwrap_or_default(),
                operation: a.operation.as_str(),
                finding_type: a.finding_type.clone(),
                issue_code: a.code.clone(),
                details: "(fixture)".into(),
                learn_more: String::new(),
                statement: a.statement,
            })
            .collect();
        grants
    }
}
