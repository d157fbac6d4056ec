//! Tool families: one module per AWS service, each a set of handlers plus catalogue entries.

pub mod access_analyzer;
pub mod common;
pub mod iam;
pub mod mq;
pub mod rabbitmq;

use crate::catalogue::ToolSpec;

/// Every tool of this build.
pub fn all() -> Vec<ToolSpec> {
    let mut all = mq::tools();
    all.extend(iam::tools());
    all.extend(access_analyzer::tools());
    all.extend(rabbitmq::tools());
    all
}
