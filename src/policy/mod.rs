//! The policy: its file format ([`model`]), loading and checking ([`compile`]) and the pure
//! decision ([`eval`]); caller templates in values ([`template`]).

pub mod compile;
pub mod eval;
pub mod history;
pub mod limit;
pub mod lint;
pub mod model;
pub mod template;

pub use compile::{CompiledPolicy, WindowError, load_str, parse_window, policy_json_schema};
pub use eval::{Basis, Caller, DEFAULT_APPROVAL_TIMEOUT, Decision, TokenFacts};
pub use history::{HistoryFacts, Series};
pub use limit::{CallFacts, CompiledLimit, CostError, KeyPart, LimitKind};
pub use model::{Action, Approver, Op, PolicyFile, Scope};

/// The policy compiled into the binary, used when no `--policy` is given.
pub const DEFAULT_POLICY: &str = include_str!("../../policies/default.yaml");
/// The name the embedded default policy goes by in errors and audit records.
pub const DEFAULT_POLICY_NAME: &str = "policies/default.yaml (built in)";

#[cfg(test)]
mod limit_tests;
#[cfg(test)]
mod resource_tests;
#[cfg(test)]
mod tests;
