//! The IAM guard's reading before the decision ([`GuardReader`]): what an IAM change puts in
//! force beyond its arguments (an attached managed policy's default version, a group's
//! policies, the server's account for trust checks) and, when `access_analyzer` asks, IAM
//! Access Analyzer's answers about every document the call would put in force. Cached briefly;
//! a change to a policy or group makes what was read of it stale.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::analyzer::{AnalyzerSpec, NoNewAccess};
use super::{DocKind, Grants, GuardSpec, PolicyDocument};
use crate::aws::AwsClients;
use crate::catalogue::ToolSpec;
use crate::catalogue::guard::{Guard, GuardFacts, GuardReader};
use crate::clock::Clock;
use crate::resource::Located;
use crate::resource::lookup::LookupError;
use crate::tools::iam::access_checks::{AnalyzerLookups, Question};
use crate::tools::iam::grants::GrantLookups;

/// Reads for the IAM guard with the server's own AWS identity.
pub struct IamGuardReader {
    grants: GrantLookups,
    analyzer: AnalyzerLookups,
}

impl IamGuardReader {
    /// Reads cached `ttl`, by `clock`.
    pub fn new(aws: Arc<AwsClients>, ttl: Duration, clock: Clock) -> IamGuardReader {
        let mut grants = GrantLookups::new(aws.clone(), ttl);
        grants.set_clock(clock);
        IamGuardReader {
            grants,
            analyzer: AnalyzerLookups::new(aws),
        }
    }

    /// The documents to ask IAM Access Analyzer about: each policy document argument exactly
    /// as it will be sent (with the inline policy it replaces, when CheckNoNewAccess is asked),
    /// and each document the call puts in force.
    async fn questions(
        &self,
        analyzer: &AnalyzerSpec,
        spec: &ToolSpec,
        args: &Value,
        grants: Option<&Grants>,
    ) -> Result<Vec<Question>, LookupError> {
        let mut out = Vec::new();
        for (field, kind) in &spec.documents {
            let trust = match kind {
                DocKind::Identity => false,
                DocKind::Trust => true,
                DocKind::ManagedPolicyArn | DocKind::GroupMembership => continue,
            };
            let Some(doc) = args.get(*field).and_then(PolicyDocument::parse) else {
                continue;
            };
            let replaces = if !trust && analyzer.no_new_access != NoNewAccess::Off {
                self.grants.replaced_inline(args).await?
            } else {
                None
            };
            out.push(Question {
                origin: field.to_string(),
                // The handler sends this same canonical serialisation.
                text: doc.to_string(),
                trust,
                replaces,
            });
        }
        for d in grants.map(|g| g.documents.as_slice()).unwrap_or_default() {
            out.push(Question {
                origin: d.origin.clone(),
                text: d.document.to_string(),
                trust: false,
                replaces: None,
            });
        }
        Ok(out)
    }
}

#[async_trait::async_trait]
impl GuardReader for IamGuardReader {
    async fn read(
        &self,
        guard: &dyn Guard,
        spec: &ToolSpec,
        args: &Value,
    ) -> Result<Option<GuardFacts>, LookupError> {
        let Some(guard) = guard.as_any().downcast_ref::<GuardSpec>() else {
            return Ok(None);
        };
        let mut grants = self.grants.for_call(&spec.documents, args).await?;
        if let Some(analyzer) = guard.access_analyzer.as_ref().filter(|a| a.asks()) {
            let questions = self
                .questions(analyzer, spec, args, grants.as_ref())
                .await?;
            if !questions.is_empty() {
                let answers = self.analyzer.ask(analyzer, &questions).await?;
                grants.get_or_insert_with(Default::default).analyzer = answers;
            }
        }
        Ok(grants.map(|g| {
            let summary = g.summary();
            GuardFacts::new(g, summary)
        }))
    }

    fn resource_changed(&self, at: &Located) {
        self.grants.resource_changed(at);
    }

    fn made(&self) -> u64 {
        self.grants.made() + self.analyzer.made()
    }
}
