//! Asking IAM Access Analyzer about the documents an IAM change would put in force (for
//! `iam_guard.access_analyzer`): ValidatePolicy, CheckAccessNotGranted and CheckNoNewAccess,
//! with the server's own AWS identity. Answers are cached by a hash of the question (the
//! document exactly as sent and what was asked), since the custom checks are billed per call.
//! An error or no answer is [`LookupError::Failed`]: the call is refused (fail closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_accessanalyzer::types::{
    Access, AccessCheckPolicyType, CheckAccessNotGrantedResult, CheckNoNewAccessResult,
    PathElement, PolicyType, ValidatePolicyResourceType,
};

use crate::aws::{AwsClients, aws_error};
use crate::resource::lookup::LookupError;
use crate::tools::iam::guard::{AnalyzerFinding, AnalyzerSpec};

/// At most this many answers are cached; all go when full.
const MAX_CACHED: usize = 4096;
/// ValidatePolicy pages read at most.
const MAX_PAGES: usize = 10;

/// A document to ask about: where it came from, its text exactly as sent, whether it is a
/// trust policy, and the document it replaces (for CheckNoNewAccess).
pub struct Question {
    pub origin: String,
    pub text: String,
    pub trust: bool,
    pub replaces: Option<String>,
}

/// One of the three checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    Validate,
    NotGranted,
    NoNewAccess,
}

pub struct AnalyzerLookups {
    aws: Arc<AwsClients>,
    cache: Mutex<HashMap<String, Vec<AnalyzerFinding>>>,
    made: std::sync::atomic::AtomicU64,
}

impl AnalyzerLookups {
    pub fn new(aws: Arc<AwsClients>) -> Self {
        AnalyzerLookups {
            aws,
            cache: Mutex::default(),
            made: Default::default(),
        }
    }

    /// How many requests reached Access Analyzer.
    pub fn made(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Every answer about every question that the spec asks for. Each check is cached on its
    /// own (by what it was asked), so a document asked about again costs nothing.
    pub async fn ask(
        &self,
        spec: &AnalyzerSpec,
        questions: &[Question],
    ) -> Result<Vec<AnalyzerFinding>, LookupError> {
        let mut out = Vec::new();
        for q in questions {
            let mut asks: Vec<(Check, String)> = Vec::new();
            if !spec.validate.is_empty() {
                asks.push((
                    Check::Validate,
                    format!("validate\n{}\n{}", q.trust, q.text),
                ));
            }
            if !spec.not_granted.is_empty() && !q.trust {
                asks.push((
                    Check::NotGranted,
                    format!("not-granted\n{:?}\n{}", spec.not_granted, q.text),
                ));
            }
            if let (true, Some(existing)) = (
                spec.no_new_access != crate::tools::iam::guard::analyzer::NoNewAccess::Off,
                &q.replaces,
            ) {
                asks.push((
                    Check::NoNewAccess,
                    format!("no-new\n{existing}\n{}", q.text),
                ));
            }
            for (check, question) in asks {
                let key = crate::audit::sha256_hex(question.as_bytes());
                let cached = self.lock().get(&key).cloned();
                let answers = match cached {
                    Some(a) => a,
                    None => {
                        let a = self.ask_one(check, spec, q).await?;
                        let mut cache = self.lock();
                        if cache.len() >= MAX_CACHED {
                            cache.clear();
                        }
                        cache.insert(key, a.clone());
                        a
                    }
                };
                out.extend(answers.into_iter().map(|mut a| {
                    a.origin = q.origin.clone();
                    a
                }));
            }
        }
        Ok(out)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<AnalyzerFinding>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self) {
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn ask_one(
        &self,
        check: Check,
        spec: &AnalyzerSpec,
        q: &Question,
    ) -> Result<Vec<AnalyzerFinding>, LookupError> {
        let client = self
            .aws
            .client::<aws_sdk_accessanalyzer::Client>(None)
            .await;
        let failed = |e| LookupError::Failed(e);
        let mut out = Vec::new();
        if check == Check::Validate {
            let mut token: Option<String> = None;
            for _ in 0..MAX_PAGES {
                self.count();
                let mut req = client
                    .validate_policy()
                    .policy_document(&q.text)
                    .set_next_token(token.clone());
                req = if q.trust {
                    req.policy_type(PolicyType::ResourcePolicy)
                        .validate_policy_resource_type(ValidatePolicyResourceType::RoleTrust)
                } else {
                    req.policy_type(PolicyType::IdentityPolicy)
                };
                let page = req
                    .send()
                    .await
                    .map_err(|e| failed(aws_error("access-analyzer:ValidatePolicy", e)))?;
                for f in page.findings() {
                    out.push(AnalyzerFinding {
                        origin: String::new(),
                        operation: "ValidatePolicy",
                        finding_type: f.finding_type().as_str().to_string(),
                        issue_code: f.issue_code().to_string(),
                        details: f.finding_details().to_string(),
                        learn_more: f.learn_more_link().to_string(),
                        statement: f.locations().iter().find_map(|l| {
                            l.path().iter().find_map(|p| match p {
                                PathElement::Index(i) => usize::try_from(*i).ok(),
                                _ => None,
                            })
                        }),
                    });
                }
                token = page.next_token().map(str::to_string);
                if token.is_none() {
                    break;
                }
            }
        }
        if check == Check::NotGranted {
            self.count();
            let access = Access::builder()
                .set_actions(Some(spec.not_granted.clone()))
                .build();
            let r = client
                .check_access_not_granted()
                .policy_document(&q.text)
                .access(access)
                .policy_type(AccessCheckPolicyType::IdentityPolicy)
                .send()
                .await
                .map_err(|e| failed(aws_error("access-analyzer:CheckAccessNotGranted", e)))?;
            let passed = match r.result() {
                Some(CheckAccessNotGrantedResult::Pass) => Some(true),
                Some(CheckAccessNotGrantedResult::Fail) => Some(false),
                _ => None,
            };
            out.extend(access_check(
                "CheckAccessNotGranted",
                &format!("grants one of {}", spec.not_granted.join(", ")),
                passed,
                r.reasons(),
                r.message(),
            )?);
        }
        if let (Check::NoNewAccess, Some(existing)) = (check, &q.replaces) {
            self.count();
            let r = client
                .check_no_new_access()
                .new_policy_document(&q.text)
                .existing_policy_document(existing)
                .policy_type(AccessCheckPolicyType::IdentityPolicy)
                .send()
                .await
                .map_err(|e| failed(aws_error("access-analyzer:CheckNoNewAccess", e)))?;
            let passed = match r.result() {
                Some(CheckNoNewAccessResult::Pass) => Some(true),
                Some(CheckNoNewAccessResult::Fail) => Some(false),
                _ => None,
            };
            out.extend(access_check(
                "CheckNoNewAccess",
                "grants access the policy it replaces did not",
                passed,
                r.reasons(),
                r.message(),
            )?);
        }
        Ok(out)
    }
}

/// The finding of a failed access check (CheckAccessNotGranted, CheckNoNewAccess), none for a
/// pass; no result at all is an error (the call is refused).
fn access_check(
    operation: &'static str,
    what: &str,
    passed: Option<bool>,
    reasons: &[aws_sdk_accessanalyzer::types::ReasonSummary],
    message: Option<&str>,
) -> Result<Option<AnalyzerFinding>, LookupError> {
    match passed {
        Some(true) => Ok(None),
        Some(false) => {
            let reason = reasons.first();
            Ok(Some(AnalyzerFinding {
                origin: String::new(),
                operation,
                finding_type: "FAIL".into(),
                issue_code: String::new(),
                details: format!(
                    "{what}: {}",
                    reason
                        .and_then(|r| r.description())
                        .or(message)
                        .unwrap_or("(no reason given)")
                ),
                learn_more: String::new(),
                statement: reason
                    .and_then(|r| r.statement_index())
                    .and_then(|i| usize::try_from(i).ok()),
            }))
        }
        None => Err(LookupError::Failed(crate::error::ToolError::Internal(
            format!("IAM Access Analyzer {operation} gave no result"),
        ))),
    }
}
