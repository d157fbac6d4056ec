//! The IAM guard as the gate sees it ([`Guard`]): its checks over a call's policy-document and
//! managed-policy arguments and over what the call puts in force ([`Grants`], read before the
//! decision), and the fixtures that stand for that reading in `policy test` and `explain`.

use serde_json::Value;

use super::Grants;
use super::{DocKind, Finding, GuardSpec, IamFixture, PolicyDocument};
use crate::catalogue::ToolSpec;
use crate::catalogue::guard::{Guard, GuardFacts, GuardFixture};

/// The tool's arguments the IAM guard reads, as it checks them: a policy document parsed, a
/// managed-policy ARN or group name as it is. Absent or unparsable ones are left out.
fn guarded_arguments<'s>(
    spec: &'s ToolSpec,
    args: &'s Value,
) -> impl Iterator<Item = (&'static str, DocKind, Value)> + 's {
    spec.documents.iter().filter_map(|(field, kind)| {
        let value = args.get(*field)?;
        let checked = match kind {
            DocKind::ManagedPolicyArn | DocKind::GroupMembership => Some(value.clone()),
            DocKind::Identity | DocKind::Trust => PolicyDocument::parse(value),
        }?;
        Some((*field, *kind, checked))
    })
}

/// The documents read for a call, from the facts the gate holds.
fn grants(facts: Option<&GuardFacts>) -> Option<&Grants> {
    facts.and_then(GuardFacts::get::<Grants>)
}

impl Guard for GuardSpec {
    fn section(&self) -> &'static str {
        "iam_guard"
    }

    /// Documents, managed-policy names and open trust: the gate then reads nothing from AWS
    /// before deciding.
    fn refused_on_arguments(&self, spec: &ToolSpec, args: &Value) -> bool {
        guarded_arguments(spec, args)
            .any(|(field, kind, checked)| self.check_arguments(kind, field, &checked).is_some())
    }

    /// The first finding on the tool's policy-document and managed-policy arguments, then on
    /// what the call puts in force beyond them.
    fn refusal(
        &self,
        spec: &ToolSpec,
        args: &Value,
        facts: Option<&GuardFacts>,
    ) -> Option<Finding> {
        let grants = grants(facts);
        guarded_arguments(spec, args)
            .find_map(|(field, kind, checked)| self.check_with(kind, field, &checked, grants))
            .or_else(|| grants.and_then(|g| self.check_grants(g)))
    }

    /// CheckNoNewAccess failed under `no_new_access: require_approval`.
    fn approval(&self, facts: Option<&GuardFacts>) -> Option<Finding> {
        self.access_analyzer
            .as_ref()?
            .approval(&grants(facts)?.analyzer)
    }

    fn reading(&self) -> &'static str {
        "what this IAM change would grant, for the IAM guard"
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl GuardFixture for IamFixture {
    fn facts(&self, spec: &ToolSpec, args: &Value) -> GuardFacts {
        let g = self.grants(&spec.documents, args);
        let summary = g.summary();
        GuardFacts::new(g, summary)
    }
}
