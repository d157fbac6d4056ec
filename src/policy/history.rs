//! History conditions: rules that read what was called before. A condition names a query (a
//! tool or glob, a window, whose calls, which arguments must be the same); queries that
//! select the same calls share a series, which the state store keeps one log per key of
//! (`per` value and `same` values), bounded by the largest window and count the policy reads.
//! The gate records a call in every series it belongs to when it succeeds, and counts the
//! queries a call's rules read before deciding. Pure code: keys, caps and counts.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::compile::{matching_tools, parse_window};
use super::limit::CallFacts;
use super::model::{HistorySpec, Op, Scope};
use crate::catalogue::{Catalogue, ToolSpec};
use crate::error::PolicyError;

/// One history query a condition reads.
#[derive(Debug, Clone)]
pub struct HistoryQuery {
    /// The series it counts in (an index into the policy's series).
    pub series: usize,
    pub within: Duration,
    /// How the condition reads (`history(describe_broker within 15m per session same BrokerId)`).
    pub text: String,
}

/// Calls of the same tools, kept per the same key: what the store logs.
#[derive(Debug, Clone)]
pub struct Series {
    /// Derived from what it selects (the tool pattern, `per`, `same`), so a reloaded policy
    /// that reads the same history finds the calls logged before.
    pub id: String,
    pub pattern: String,
    pub tools: HashSet<String>,
    pub per: Scope,
    pub same: Vec<String>,
    /// How long calls are kept: the largest window a query of the series reads.
    pub keep: Duration,
    /// How many calls are kept per key: the largest count a query of the series reads.
    pub cap: u64,
}

/// The counts of the history queries a call's rules read, by query index.
pub type HistoryFacts = BTreeMap<usize, u64>;

impl Series {
    /// The log a call falls in: the series id, then a SHA-256 of the JSON list of the `per`
    /// value and the `same` arguments' values (null when absent): injective, short.
    pub fn key(&self, facts: &CallFacts<'_>) -> String {
        let mut values = vec![match self.per {
            Scope::Session => Value::String(facts.session.into()),
            Scope::Principal => Value::String(facts.caller.principal.clone()),
            Scope::Global => Value::Null,
        }];
        values.extend(self.same.iter().map(|name| {
            name.split('.')
                .try_fold(facts.args, |v, k| v.get(k))
                .cloned()
                .unwrap_or(Value::Null)
        }));
        let encoded = serde_json::to_vec(&values).unwrap_or_default();
        format!("{}#{}", self.id, crate::audit::sha256_hex(&encoded))
    }
}

/// Queries and series as a policy is compiled.
#[derive(Debug, Default)]
pub(crate) struct HistoryBook {
    pub queries: Vec<HistoryQuery>,
    pub series: Vec<Series>,
}

/// A history condition's operand: the count it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Needs {
    /// `exists` (true) or `absent` / `exists: false` (false).
    Any(bool),
    AtLeast(u64),
    FewerThan(u64),
}

impl Needs {
    pub fn holds(self, count: u64) -> bool {
        match self {
            Needs::Any(want) => (count > 0) == want,
            Needs::AtLeast(n) => count >= n,
            Needs::FewerThan(n) => count < n,
        }
    }

    /// The most calls a log must keep to answer this.
    fn cap(self) -> u64 {
        match self {
            Needs::Any(_) => 1,
            Needs::AtLeast(n) | Needs::FewerThan(n) => n.max(1),
        }
    }
}

impl HistoryBook {
    /// Check a history condition of a rule over `specs` and register its query; its index.
    pub fn add(
        &mut self,
        spec: &HistorySpec,
        op: Op,
        value: Option<&Value>,
        location: &str,
        specs: &[&ToolSpec],
        catalogue: &Catalogue,
    ) -> Result<(usize, Needs), PolicyError> {
        let at = |field: &str, e: String| PolicyError::new(format!("{location}{field}"), e);
        let needs = match (op, value) {
            (Op::Exists, None) => Needs::Any(true),
            (Op::Exists, Some(Value::Bool(b))) => Needs::Any(*b),
            (Op::Absent, None) => Needs::Any(false),
            (Op::CountGte | Op::CountLt, Some(v)) => {
                let n = v
                    .as_u64()
                    .filter(|n| *n >= 1 && *n <= 10_000)
                    .ok_or_else(|| {
                        at(
                            ".value",
                            format!("op `{}` needs a count from 1 to 10000", op.as_str()),
                        )
                    })?;
                if op == Op::CountGte {
                    Needs::AtLeast(n)
                } else {
                    Needs::FewerThan(n)
                }
            }
            (Op::CountGte | Op::CountLt, None) => {
                return Err(at(".value", format!("op `{}` needs a count", op.as_str())));
            }
            (Op::Exists | Op::Absent, Some(_)) => {
                return Err(at(
                    ".value",
                    format!(
                        "op `{}` takes no value (exists also takes true or false)",
                        op.as_str()
                    ),
                ));
            }
            _ => {
                return Err(at(
                    ".op",
                    format!(
                        "a history condition tests with exists, absent, count_gte or count_lt, not `{}`",
                        op.as_str()
                    ),
                ));
            }
        };
        let tools: HashSet<String> = match matching_tools(&spec.tool, catalogue) {
            Ok(n) if n.is_empty() => {
                return Err(at(
                    ".history.tool",
                    format!("`{}` matches no tool of the catalogue", spec.tool),
                ));
            }
            Ok(n) => n.into_iter().collect(),
            Err(e) => return Err(at(".history.tool", e)),
        };
        let within =
            parse_window(&spec.within).map_err(|e| at(".history.within", e.to_string()))?;
        for (i, name) in spec.same.iter().enumerate() {
            let lacking: Vec<&str> = specs
                .iter()
                .map(|s| s.name)
                .chain(tools.iter().map(String::as_str))
                .filter(|t| {
                    catalogue
                        .get(t)
                        .is_none_or(|s| !s.params.contains_key(name.as_str()))
                })
                .collect();
            if !lacking.is_empty() {
                let mut lacking = lacking;
                lacking.sort();
                lacking.dedup();
                return Err(at(
                    &format!(".history.same[{i}]"),
                    format!(
                        "`{name}` must be an argument of this rule's tools and of the tools the history counts; {} lack it",
                        lacking.join(", ")
                    ),
                ));
            }
        }
        let id_source = serde_json::json!([spec.tool, spec.per.as_str(), spec.same]);
        let mut id = crate::audit::sha256_hex(id_source.to_string().as_bytes());
        id.truncate(32);
        let series = match self.series.iter().position(|s| s.id == id) {
            Some(i) => {
                let s = &mut self.series[i];
                s.keep = s.keep.max(within);
                s.cap = s.cap.max(needs.cap());
                i
            }
            None => {
                self.series.push(Series {
                    id,
                    pattern: spec.tool.clone(),
                    tools,
                    per: spec.per,
                    same: spec.same.clone(),
                    keep: within,
                    cap: needs.cap(),
                });
                self.series.len() - 1
            }
        };
        let same = if spec.same.is_empty() {
            String::new()
        } else {
            format!(" same {}", spec.same.join(", "))
        };
        self.queries.push(HistoryQuery {
            series,
            within,
            text: format!(
                "history({} within {} per {}{same})",
                spec.tool,
                super::limit::wait_text(within),
                spec.per.as_str()
            ),
        });
        Ok((self.queries.len() - 1, needs))
    }
}
