//! A family's guard over what a call puts in force beyond its policy rules: the IAM guard
//! (`tools/iam/guard`) judges the policy documents an IAM change would put in force. Its
//! section of the policy compiles to a [`Guard`], which answers purely from the call's
//! arguments and the [`GuardFacts`] read for the call before the decision; the family's
//! [`GuardReader`] does that reading (I/O, cached). The gate holds only these traits, so it
//! names no family.

use std::any::Any;
use std::sync::Arc;

use serde_json::Value;

use super::ToolSpec;
use crate::resource::Located;
use crate::resource::lookup::LookupError;

/// Why a guard refused (or asks an operator about) a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which check: `wildcard_admin`, `not_action_allow`, `escalation`, `public_trust`,
    /// `managed_policies`, `access_analyzer.…`.
    pub check: &'static str,
    /// Where: `policy_document Statement[1] (Sid "All")`.
    pub location: String,
    pub reason: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.reason)
    }
}

/// What a guard's reader found for one call (opaque to the gate), with the summary the audit
/// record keeps.
#[derive(Clone)]
pub struct GuardFacts {
    facts: Arc<dyn Any + Send + Sync>,
    summary: Value,
}

impl std::fmt::Debug for GuardFacts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardFacts")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl GuardFacts {
    pub fn new<T: Any + Send + Sync>(facts: T, summary: Value) -> GuardFacts {
        GuardFacts {
            facts: Arc::new(facts),
            summary,
        }
    }

    /// The facts, as the family that read them knows them.
    pub fn get<T: Any>(&self) -> Option<&T> {
        self.facts.downcast_ref()
    }

    /// What the audit record keeps of them.
    pub fn summary(&self) -> &Value {
        &self.summary
    }
}

/// A guard compiled from its section of the policy. Pure: no I/O, no clock.
pub trait Guard: Send + Sync + std::fmt::Debug {
    /// Its section of the policy, which the bases it decides by start with (`iam_guard`).
    fn section(&self) -> &'static str;
    /// Whether the call's arguments alone are refused (nothing is read for it then).
    fn refused_on_arguments(&self, spec: &ToolSpec, args: &Value) -> bool;
    /// Its refusal of the call, on the arguments and what was read for it.
    fn refusal(&self, spec: &ToolSpec, args: &Value, facts: Option<&GuardFacts>)
    -> Option<Finding>;
    /// A finding that sends the call to an operator for approval instead of refusing it.
    fn approval(&self, facts: Option<&GuardFacts>) -> Option<Finding>;
    /// What its reader reads, for a refusal when reading fails (`what this IAM change would
    /// grant, for the IAM guard`).
    fn reading(&self) -> &'static str;
    /// The guard as its family knows it (its reader reads what it asks for).
    fn as_any(&self) -> &dyn Any;
}

/// Reads what a call puts in force, for a guard: the family's I/O before the decision.
#[async_trait::async_trait]
pub trait GuardReader: Send + Sync {
    /// The facts `guard` needs to judge `spec`'s call with `args` (None: nothing to read). A
    /// thing the call names that does not exist is [`LookupError::NotFound`].
    async fn read(
        &self,
        guard: &dyn Guard,
        spec: &ToolSpec,
        args: &Value,
    ) -> Result<Option<GuardFacts>, LookupError>;
    /// A call changed this resource: what was read of it is stale.
    fn resource_changed(&self, at: &Located);
    /// Requests made to AWS so far.
    fn made(&self) -> u64;
}

/// What `policy test` cases and `policy explain` give instead of reading: the facts as a
/// fixture states them.
pub trait GuardFixture: std::fmt::Debug {
    fn facts(&self, spec: &ToolSpec, args: &Value) -> GuardFacts;
}
