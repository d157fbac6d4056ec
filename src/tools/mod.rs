//! Tool families: one module per AWS service, each a set of handlers plus catalogue entries.

pub mod common;
pub mod mq;

use crate::catalogue::ToolSpec;

/// Every tool of this build.
pub fn all() -> Vec<ToolSpec> {
    mq::tools()
}
