//! Limits as the gate counts them: what a limit selects, the counter a call falls in (one per
//! combination of the values of its `per` keys) and what the call costs. Pure code: the
//! counting itself is the state store's.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use super::compile::{matching_tools, parse_window};
use super::eval::Caller;
use super::model::{CostSpec, LimitSpec};
use crate::catalogue::{Catalogue, RiskClass, ToolSpec};
use crate::error::PolicyError;

/// A compiled limit.
#[derive(Debug, Clone)]
pub struct CompiledLimit {
    /// Where the limit is written in the policy (`limits[2]`, `tools.x[0].limit`); also the
    /// first part of its counters' names.
    pub id: String,
    /// Calls (or cost units) per window, or calls at once.
    pub max: u32,
    pub kind: LimitKind,
    /// The keys it is counted per, in the order written.
    pub per: Vec<KeyPart>,
    /// What one call costs (1 without).
    pub cost: Option<Cost>,
    pub(crate) class: Option<RiskClass>,
    pub(crate) tools: Option<HashSet<String>>,
    /// Conditions that must hold for the limit to count a call.
    pub(crate) when: Vec<super::compile::CompiledCondition>,
}

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitKind {
    /// Calls (or their cost) in a sliding window.
    Window(Duration),
    /// Calls running at once.
    InFlight,
}

/// One key a limit is counted per.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Session,
    Principal,
    Global,
    /// The caller's roles, as a set.
    Roles,
    /// A token claim (dotted path).
    Claim(Vec<String>),
    /// An argument (dotted path).
    Arg(Vec<String>),
    /// A fact of the resource the call acts on.
    Resource(Vec<String>),
}

/// What a counter key is made of: the call and its caller.
#[derive(Debug, Clone, Copy)]
pub struct CallFacts<'a> {
    pub session: &'a str,
    pub caller: &'a Caller,
    pub args: &'a Value,
    pub resource: Option<&'a Value>,
}

/// How a call's cost is read from its arguments.
#[derive(Debug, Clone)]
pub struct Cost {
    /// The argument path as written (`args.host_instance_type`).
    pub text: String,
    path: Vec<String>,
    table: Option<HashMap<String, u64>>,
    default: Option<u64>,
}

/// A call whose cost cannot be read: refused, since a budget never guesses low.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CostError {
    #[error(
        "limit {limit} charges by {path}, which this call does not give (and the limit has no `default`)"
    )]
    Missing { limit: String, path: String },
    #[error("limit {limit} has no cost for this value of {path} (and no `default`)")]
    Unpriced { limit: String, path: String },
    #[error("limit {limit} charges by {path}, which must be a number of at least 0")]
    NotACount { limit: String, path: String },
}

impl CostError {
    /// The limit whose cost could not be read.
    pub fn limit(&self) -> &str {
        match self {
            CostError::Missing { limit, .. }
            | CostError::Unpriced { limit, .. }
            | CostError::NotACount { limit, .. } => limit,
        }
    }
}

impl CompiledLimit {
    pub(crate) fn selects(&self, tool: &ToolSpec) -> bool {
        self.class.is_none_or(|c| c == tool.class)
            && self.tools.as_ref().is_none_or(|t| t.contains(tool.name))
    }

    /// The window of a rate limit or budget; None for `max_in_flight`.
    pub fn window(&self) -> Option<Duration> {
        match self.kind {
            LimitKind::Window(w) => Some(w),
            LimitKind::InFlight => None,
        }
    }

    /// The counter this call falls in: the limit's id, then a SHA-256 of the JSON list of its
    /// keys' values (null for a value the call lacks). JSON keeps every value apart (a string
    /// is never a number, `a,b` is never two values), so two different combinations never share
    /// a counter, and the name stays short whatever the arguments hold.
    pub fn counter(&self, facts: &CallFacts<'_>) -> String {
        let values: Vec<Value> = self.per.iter().map(|p| p.value(facts)).collect();
        let encoded = serde_json::to_vec(&values).unwrap_or_default();
        format!("{}#{}", self.id, crate::audit::sha256_hex(&encoded))
    }

    /// What this call costs (1 without `cost`).
    pub fn cost_of(&self, args: &Value) -> Result<u64, CostError> {
        match &self.cost {
            None => Ok(1),
            Some(c) => c.of_call(&self.id, args),
        }
    }

    /// The limit in words (`policy explain`): `limits[0]: 10 calls per 1m per session`.
    pub fn describe(&self) -> String {
        let per = self.per_text();
        match (self.kind, &self.cost) {
            (LimitKind::InFlight, _) => format!("{}: {} calls at once {per}", self.id, self.max),
            (LimitKind::Window(w), None) => {
                format!("{}: {} calls per {} {per}", self.id, self.max, wait_text(w))
            }
            (LimitKind::Window(w), Some(c)) => format!(
                "{}: a cost of {} per {} {per}, each call charged by {}",
                self.id,
                self.max,
                wait_text(w),
                c.text
            ),
        }
    }

    /// How the limit is counted, in words (`per session`, `per args.BrokerId and principal`,
    /// `across all sessions`).
    pub fn per_text(&self) -> String {
        if self.per == [KeyPart::Global] {
            return "across all sessions".into();
        }
        let parts: Vec<String> = self.per.iter().map(KeyPart::text).collect();
        format!("per {}", parts.join(" and "))
    }
}

impl KeyPart {
    fn parse(text: &str) -> Option<KeyPart> {
        let dotted = |p: &str| -> Option<Vec<String>> {
            let segs: Vec<String> = p.split('.').map(str::to_string).collect();
            (!segs.iter().any(String::is_empty)).then_some(segs)
        };
        Some(match text {
            "session" => KeyPart::Session,
            "principal" => KeyPart::Principal,
            "global" => KeyPart::Global,
            "roles" => KeyPart::Roles,
            _ => {
                if let Some(p) = text.strip_prefix("claims.") {
                    KeyPart::Claim(dotted(p)?)
                } else if let Some(p) = text.strip_prefix("args.") {
                    KeyPart::Arg(dotted(p)?)
                } else if let Some(p) = text.strip_prefix("resource.") {
                    // A tag key keeps its dots (`resource.tags.app.kubernetes.io/name`).
                    match p.split_once('.') {
                        Some((first, rest)) if !first.is_empty() && !rest.is_empty() => {
                            KeyPart::Resource(vec![first.into(), rest.into()])
                        }
                        None if !p.is_empty() => KeyPart::Resource(vec![p.into()]),
                        _ => return None,
                    }
                } else {
                    return None;
                }
            }
        })
    }

    /// The key as written.
    pub fn text(&self) -> String {
        match self {
            KeyPart::Session => "session".into(),
            KeyPart::Principal => "principal".into(),
            KeyPart::Global => "global".into(),
            KeyPart::Roles => "roles".into(),
            KeyPart::Claim(p) => format!("claims.{}", p.join(".")),
            KeyPart::Arg(p) => format!("args.{}", p.join(".")),
            KeyPart::Resource(p) => format!("resource.{}", p.join(".")),
        }
    }

    /// This key's value for a call (null when the call lacks it).
    fn value(&self, f: &CallFacts<'_>) -> Value {
        let at = |v: &Value, path: &[String]| {
            path.iter()
                .try_fold(v, |v, k| v.get(k))
                .cloned()
                .unwrap_or(Value::Null)
        };
        match self {
            KeyPart::Session => Value::String(f.session.into()),
            KeyPart::Principal => Value::String(f.caller.principal.clone()),
            KeyPart::Global => Value::Null,
            KeyPart::Roles => {
                let set: std::collections::BTreeSet<&String> = f.caller.roles.iter().collect();
                Value::Array(set.into_iter().map(|r| Value::String(r.clone())).collect())
            }
            KeyPart::Claim(p) => f
                .caller
                .token
                .as_ref()
                .map(|t| {
                    p.split_first()
                        .and_then(|(first, rest)| t.claims.get(first).map(|v| at(v, rest)))
                        .unwrap_or(Value::Null)
                })
                .unwrap_or(Value::Null),
            KeyPart::Arg(p) => at(f.args, p),
            KeyPart::Resource(p) => f.resource.map(|r| at(r, p)).unwrap_or(Value::Null),
        }
    }
}

impl Cost {
    fn of_call(&self, limit: &str, args: &Value) -> Result<u64, CostError> {
        let value = self
            .path
            .iter()
            .try_fold(args, |v, k| v.get(k))
            .filter(|v| !v.is_null());
        let err_path = || (limit.to_string(), self.text.clone());
        let Some(v) = value else {
            let (limit, path) = err_path();
            return self.default.ok_or(CostError::Missing { limit, path });
        };
        if let Some(table) = &self.table {
            let key = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            return table.get(&key).copied().or(self.default).ok_or_else(|| {
                let (limit, path) = err_path();
                CostError::Unpriced { limit, path }
            });
        }
        match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 && n <= u32::MAX as f64 => Ok(n.ceil() as u64),
            _ => {
                let (limit, path) = err_path();
                Err(CostError::NotACount { limit, path })
            }
        }
    }
}

/// The tools a limit can count: a rule's tools, or the catalogue's tools its `class` and
/// `tool` select.
fn selected<'c>(
    catalogue: &'c Catalogue,
    rule_tools: Option<&[&'c ToolSpec]>,
    class: Option<RiskClass>,
    tools: Option<&HashSet<String>>,
) -> Vec<&'c ToolSpec> {
    match rule_tools {
        Some(specs) => specs.to_vec(),
        None => catalogue
            .names()
            .filter_map(|n| catalogue.get(n).map(|s| s.as_ref()))
            .filter(|s| class.is_none_or(|c| c == s.class))
            .filter(|s| tools.is_none_or(|t| t.contains(s.name)))
            .collect(),
    }
}

/// Check a limit against the catalogue. `rule_tools`: the tools of the rule it is written on,
/// or None for a top-level limit (which may select tools with `class` and `tool`).
pub(crate) fn compile_limit(
    spec: &LimitSpec,
    location: &str,
    catalogue: &Catalogue,
    rule_tools: Option<&[&ToolSpec]>,
) -> Result<CompiledLimit, Vec<PolicyError>> {
    let mut errors = Vec::new();
    let err = |at: &str, e: String| PolicyError::new(format!("{location}{at}"), e);
    let kind = match (spec.max, &spec.window, spec.max_in_flight) {
        (Some(max), Some(w), None) => match parse_window(w) {
            Ok(w) => Some((max, LimitKind::Window(w))),
            Err(e) => {
                errors.push(err(".window", e.to_string()));
                None
            }
        },
        (None, None, Some(n)) if n > 0 => Some((n, LimitKind::InFlight)),
        (None, None, Some(_)) => {
            errors.push(err(
                ".max_in_flight",
                "must be at least 1 (to block calls, write `max: 0` with a window)".into(),
            ));
            None
        }
        (Some(_), None, None) => {
            errors.push(err("", "`max` needs a `window` (`window: 1h`)".into()));
            None
        }
        (None, Some(_), None) => {
            errors.push(err("", "`window` needs a `max`".into()));
            None
        }
        (None, None, None) => {
            errors.push(err(
                "",
                "a limit has `max` and `window`, or `max_in_flight`".into(),
            ));
            None
        }
        (_, _, Some(_)) => {
            errors.push(err(
                "",
                "`max_in_flight` counts calls running at once; it takes no `max` or `window` (write two limits)".into(),
            ));
            None
        }
    };
    if spec.cost.is_some() && spec.max_in_flight.is_some() {
        errors.push(err(
            ".cost",
            "a cost is charged against `max` over a window, not `max_in_flight`".into(),
        ));
    }
    let mut tools = None;
    if rule_tools.is_some() && (spec.class.is_some() || spec.tool.is_some()) {
        errors.push(err(
            "",
            "`class` and `tool` select tools only in the top-level `limits`; a rule's limit applies to the calls its rule matches".into(),
        ));
    }
    if let Some(pattern) = &spec.tool {
        match matching_tools(pattern, catalogue) {
            Ok(n) if n.is_empty() => errors.push(err(
                ".tool",
                format!("`{pattern}` matches no tool of the catalogue"),
            )),
            Ok(n) => tools = Some(n.into_iter().collect::<HashSet<_>>()),
            Err(e) => errors.push(err(".tool", e)),
        }
    }
    let specs = selected(catalogue, rule_tools, spec.class, tools.as_ref());
    let names = || {
        let mut n: Vec<&str> = specs.iter().map(|s| s.name).collect();
        n.sort();
        if n.len() > 6 {
            format!("{} and {} more", n[..6].join(", "), n.len() - 6)
        } else {
            n.join(", ")
        }
    };
    let mut per = Vec::new();
    for (i, text) in spec.per.keys().into_iter().enumerate() {
        let at = match spec.per {
            super::model::PerKeys::One(_) => ".per".to_string(),
            super::model::PerKeys::Many(_) => format!(".per[{i}]"),
        };
        let Some(part) = KeyPart::parse(text) else {
            errors.push(err(&at, format!("`{text}`: a key is session, principal, global, roles, claims.NAME, args.PATH or resource.PATH")));
            continue;
        };
        if per.contains(&part) {
            errors.push(err(&at, format!("`{text}` is written twice")));
            continue;
        }
        let known = match &part {
            KeyPart::Arg(p) => {
                let p = p.join(".");
                specs.iter().any(|s| s.params.contains_key(&p))
            }
            KeyPart::Resource(p) => {
                let segs: Vec<&str> = p.iter().map(String::as_str).collect();
                specs
                    .iter()
                    .any(|s| s.target.is_some_and(|t| t.fact_types(&segs).is_some()))
            }
            _ => true,
        };
        if !known {
            errors.push(err(
                &at,
                format!(
                    "`{text}` is not a key any tool this limit counts has ({})",
                    names()
                ),
            ));
        }
        per.push(part);
    }
    if per.len() > 1 && per.contains(&KeyPart::Global) {
        errors.push(err(
            ".per",
            "`global` counts every call together; it is not combined with other keys".into(),
        ));
    }
    if per.is_empty() {
        per.push(KeyPart::Session);
    }
    let mut when = Vec::new();
    for (k, cond) in spec.when.iter().enumerate() {
        let at = format!("{location}.when[{k}]");
        if cond.history.is_some() {
            errors.push(PolicyError::new(
                &at,
                "a limit's conditions test the call and its caller; put history conditions on a rule",
            ));
            continue;
        }
        match super::compile::compile_condition(cond, &at, &specs) {
            Ok(c) => when.push(c),
            Err(e) => errors.push(e),
        }
    }
    let cost = spec
        .cost
        .as_ref()
        .and_then(|c| match compile_cost(c, &specs, &names) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.push(err(".cost", e));
                None
            }
        });
    match kind {
        Some((max, kind)) if errors.is_empty() => Ok(CompiledLimit {
            id: location.to_string(),
            max,
            kind,
            per,
            cost,
            class: spec.class,
            tools,
            when,
        }),
        _ => Err(errors),
    }
}

fn compile_cost(
    spec: &CostSpec,
    specs: &[&ToolSpec],
    names: &dyn Fn() -> String,
) -> Result<Cost, String> {
    let (text, table, default) = match spec {
        CostSpec::Path(p) => (p.clone(), None, None),
        CostSpec::Table(t) => (t.of.clone(), t.table.as_ref(), t.default),
    };
    let Some(path) = text.strip_prefix("args.").filter(|p| !p.is_empty()) else {
        return Err(format!(
            "`{text}`: a cost is read from an argument, `args.` followed by its name"
        ));
    };
    let types: Vec<&str> = specs
        .iter()
        .filter_map(|s| s.params.get(path))
        .flatten()
        .map(String::as_str)
        .collect();
    if types.is_empty() {
        return Err(format!(
            "`{text}` is not an argument of any tool this limit counts ({})",
            names()
        ));
    }
    if table.is_none() && !types.iter().any(|t| *t == "integer" || *t == "number") {
        return Err(format!(
            "`{text}` is {}, not a number: give a `table` of costs per value",
            types.join(" or ")
        ));
    }
    Ok(Cost {
        path: path.split('.').map(str::to_string).collect(),
        text,
        table: table.map(|t| t.iter().map(|(k, v)| (k.clone(), *v)).collect()),
        default,
    })
}

/// The `claims.*` keys the limits read, for the audit record (`policy replay`).
pub(crate) fn claims_read<'a>(limits: impl Iterator<Item = &'a CompiledLimit>) -> Vec<String> {
    limits
        .flat_map(|l| l.per.iter())
        .filter_map(|p| match p {
            KeyPart::Claim(c) => Some(c.join(".")),
            _ => None,
        })
        .collect()
}

/// The `resource.*` keys of the limits that select this tool.
pub(crate) fn resource_keys<'a>(
    limits: impl Iterator<Item = &'a CompiledLimit>,
) -> Vec<Vec<String>> {
    limits
        .flat_map(|l| l.per.iter())
        .filter_map(|p| match p {
            KeyPart::Resource(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

/// A duration as a refusal says it: `41s`, `41m`, `3h 5m`, `2d 4h`.
pub fn wait_text(d: Duration) -> String {
    // Up to the next second: a retry sooner than said would be refused.
    let s = (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1);
    match s {
        0..120 => format!("{s}s"),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) && s < 172_800 => format!("{}h", s / 3600),
        120..7200 => format!("{}m", s.div_ceil(60)),
        7200..172_800 => match (s / 3600, (s % 3600).div_ceil(60)) {
            (h, 60) => format!("{}h", h + 1),
            (h, m) => format!("{h}h {m}m"),
        },
        _ => match (s / 86_400, (s % 86_400).div_ceil(3600)) {
            (d, 24) => format!("{}d", d + 1),
            (d, h) => format!("{d}d {h}h"),
        },
    }
}
