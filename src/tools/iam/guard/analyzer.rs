//! AWS's own policy checks (IAM Access Analyzer), opted into per policy with
//! `iam_guard.access_analyzer`: ValidatePolicy findings of the listed types, CheckAccessNotGranted
//! for listed actions, and CheckNoNewAccess when a document replaces an existing one. The gate
//! asks Access Analyzer (I/O, in the resource module's analyzer.rs); what its answers decide is here,
//! pure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Finding;

/// The `iam_guard.access_analyzer` section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerSpec {
    /// ValidatePolicy finding types that refuse the call: `error`, `security_warning`,
    /// `warning`, `suggestion`. Empty: ValidatePolicy is not asked.
    #[serde(default)]
    pub validate: Vec<FindingType>,
    /// Actions no document may grant (CheckAccessNotGranted), e.g. `iam:PassRole`. Empty: not
    /// asked.
    #[serde(default)]
    pub not_granted: Vec<String>,
    /// A document that replaces an existing inline policy (`put_user_policy`,
    /// `put_role_policy`) must grant nothing new (CheckNoNewAccess): `deny`, `require_approval`
    /// (an operator approves it) or `off`.
    #[serde(default)]
    pub no_new_access: NoNewAccess,
}

/// ValidatePolicy's finding types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingType {
    Error,
    SecurityWarning,
    Warning,
    Suggestion,
}

impl FindingType {
    /// As Access Analyzer spells it.
    pub fn aws(self) -> &'static str {
        match self {
            FindingType::Error => "ERROR",
            FindingType::SecurityWarning => "SECURITY_WARNING",
            FindingType::Warning => "WARNING",
            FindingType::Suggestion => "SUGGESTION",
        }
    }
}

/// What CheckNoNewAccess decides.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoNewAccess {
    /// A replacement that grants new access is refused.
    Deny,
    /// A replacement that grants new access waits for an operator's approval.
    RequireApproval,
    /// Not asked.
    #[default]
    Off,
}

/// One answer of Access Analyzer about one document, as the gate keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalyzerFinding {
    /// Where the document came from (`policy_document`, `policy arn:… (version v1)`).
    pub origin: String,
    /// `ValidatePolicy`, `CheckAccessNotGranted` or `CheckNoNewAccess`.
    pub operation: &'static str,
    /// ValidatePolicy's finding type (`SECURITY_WARNING`), or `FAIL` for the access checks.
    pub finding_type: String,
    /// ValidatePolicy's issue code (`PASS_ROLE_WITH_STAR_IN_RESOURCE`); empty for the others.
    pub issue_code: String,
    pub details: String,
    pub learn_more: String,
    /// The statement the finding is about, when Access Analyzer says.
    pub statement: Option<usize>,
}

impl AnalyzerSpec {
    /// Whether any check is asked for.
    pub fn asks(&self) -> bool {
        !self.validate.is_empty()
            || !self.not_granted.is_empty()
            || self.no_new_access != NoNewAccess::Off
    }

    /// The first answer that refuses the call: a ValidatePolicy finding of a listed type, or a
    /// failed access check (CheckNoNewAccess only under `no_new_access: deny`).
    pub fn refusal(&self, answers: &[AnalyzerFinding]) -> Option<Finding> {
        let a = answers.iter().find(|a| match a.operation {
            "ValidatePolicy" => self.validate.iter().any(|t| t.aws() == a.finding_type),
            "CheckNoNewAccess" => {
                a.finding_type == "FAIL" && self.no_new_access == NoNewAccess::Deny
            }
            _ => a.finding_type == "FAIL",
        })?;
        Some(Self::finding(a))
    }

    /// Under `no_new_access: require_approval`, the failed CheckNoNewAccess that makes the call
    /// wait for an operator.
    pub fn approval(&self, answers: &[AnalyzerFinding]) -> Option<Finding> {
        if self.no_new_access != NoNewAccess::RequireApproval {
            return None;
        }
        answers
            .iter()
            .find(|a| a.operation == "CheckNoNewAccess" && a.finding_type == "FAIL")
            .map(Self::finding)
    }

    fn finding(a: &AnalyzerFinding) -> Finding {
        let location = match a.statement {
            Some(i) => format!("{} Statement[{i}]", a.origin),
            None => a.origin.clone(),
        };
        let what = if a.issue_code.is_empty() {
            format!("IAM Access Analyzer {}: FAIL", a.operation)
        } else {
            format!(
                "IAM Access Analyzer {} {} {}",
                a.operation, a.finding_type, a.issue_code
            )
        };
        let more = if a.learn_more.is_empty() {
            String::new()
        } else {
            format!(" (learn more: {})", a.learn_more)
        };
        Finding {
            check: "access_analyzer",
            location,
            reason: format!("{what}: {}{more}", a.details),
        }
    }
}
