//! guarded-aws-mcp: an MCP server for Amazon MQ with a policy gate in front of every tool call.
//!
//! Layout: [`catalogue`] (the tools), [`tools`] (one module per AWS service), [`policy`] (the
//! policy model, loading and the pure decision), [`validate`] (argument checks), [`limits`]
//! (rate limits), [`identity`] (OAuth tokens and per-caller AWS roles), [`resource`] (the
//! facts of the resource a call touches, for policy conditions), [`state`] (counters and
//! approvals: memory or Redis), [`approval`] (human approval), [`gate`] (enforcement: the one
//! place every call passes), [`audit`], [`aws`] (clients and error mapping), [`server`] and
//! [`transport`] (MCP over stdio and HTTP), [`metrics`] and [`telemetry`] (Prometheus, OpenTelemetry),
//! [`cli`].

// The gate's call future, nested in rmcp's service and the stdio transport, is deeper than the
// compiler's default layout query limit.
#![recursion_limit = "256"]

pub mod approval;
pub mod audit;
pub mod aws;
pub mod catalogue;
pub mod cli;
pub mod clock;
pub mod error;
pub mod escape;
pub mod gate;
pub mod identity;
pub mod input;
pub mod limits;
pub mod metrics;
pub mod policy;
pub mod reload;
pub mod resource;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tools;
pub mod transport;
pub mod validate;

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod layout_tests;
