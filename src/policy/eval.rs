//! The policy decision: pure code, no I/O. Given a compiled policy, a tool and its (validated)
//! arguments, say allow / deny / require_approval, why, and which rate limits apply.

use std::fmt;

use serde_json::Value;

use super::compile::{CompiledCondition, CompiledPolicy, CompiledRule, Operand, Subject};
use super::history::{HistoryFacts, Needs};
use super::limit::CompiledLimit;
use super::model::{Action, Approver, Op};
use crate::catalogue::{RiskClass, ToolSpec};

/// What decided a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// A rule, by its location in the policy (`tools.create_broker[0]`).
    Rule(String),
    /// The default of the tool's risk class (`classes.write`).
    Class(RiskClass),
    /// The policy's `default`.
    Default,
    /// The tool is hidden by `hide`.
    Hidden,
}

impl fmt::Display for Basis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Basis::Rule(loc) => f.write_str(loc),
            Basis::Class(c) => write!(f, "classes.{c}"),
            Basis::Default => f.write_str("default"),
            Basis::Hidden => f.write_str("hide"),
        }
    }
}

/// Who is calling: the principal of the HTTP bearer token (a tokens-file entry or an identity
/// provider's access token), or of `--principal` on stdio.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: String,
    pub roles: Vec<String>,
    /// The identity provider's token the caller presented, when it was one.
    pub token: Option<std::sync::Arc<TokenFacts>>,
    name_value: Value,
}

/// What an identity provider's access token said about its holder (never the token itself).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenFacts {
    /// The token's `iss`.
    pub issuer: String,
    /// The token's `jti`, when it has one.
    pub id: Option<String>,
    /// Every claim of the token, for caller templates.
    pub claims: serde_json::Map<String, Value>,
}

impl Caller {
    pub fn new(principal: impl Into<String>, roles: Vec<String>) -> Self {
        let principal = principal.into();
        Caller {
            name_value: Value::String(principal.clone()),
            principal,
            roles,
            token: None,
        }
    }

    /// A caller authenticated by an identity provider's token.
    pub fn with_token(mut self, token: TokenFacts) -> Self {
        self.token = Some(std::sync::Arc::new(token));
        self
    }
}

impl Default for Caller {
    fn default() -> Self {
        Caller::new("local", Vec::new())
    }
}

/// How long a human has to approve a call when the rule does not say.
pub const DEFAULT_APPROVAL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(900);

/// The gate's verdict on one call.
#[derive(Debug, Clone)]
pub struct Decision<'p> {
    pub action: Action,
    pub basis: Basis,
    pub reason: String,
    /// The conditions of the deciding rule, as text (`args.x not_in [..]`).
    pub conditions: Vec<String>,
    /// The rate limits the call must fit in when it runs (allowed, or approved).
    pub limits: Vec<&'p CompiledLimit>,
    /// The deciding `allow` rule lets the result carry secrets.
    pub reveal_secrets: bool,
    /// For `require_approval`: how long a human has to answer, and an approval lasts.
    pub approval_timeout: std::time::Duration,
    /// For `require_approval`: who may approve.
    pub approver: Approver,
}

impl CompiledPolicy {
    /// The guard its `iam_guard` section compiles to, when present.
    pub fn guard(&self) -> Option<&dyn crate::catalogue::guard::Guard> {
        self.guard
            .as_ref()
            .map(|g| g as &dyn crate::catalogue::guard::Guard)
    }

    /// True when `hide` hides the tool.
    pub fn is_hidden(&self, tool: &str) -> bool {
        self.hidden.contains(tool)
    }

    /// The rules that apply to a tool, in the order they are considered.
    pub(crate) fn rules_for(&self, tool: &str) -> &[std::sync::Arc<CompiledRule>] {
        self.rules.get(tool).map(Vec::as_slice).unwrap_or_default()
    }

    /// Every rule considered for a call, in the order it is considered, with whether its
    /// conditions held (`policy explain`).
    pub fn considered(
        &self,
        tool: &str,
        args: &Value,
        caller: &Caller,
        (resource, history): (Option<&Value>, Option<&HistoryFacts>),
    ) -> Vec<String> {
        let on = On {
            args,
            caller,
            resource,
            history,
        };
        self.rules_for(tool)
            .iter()
            .map(|r| {
                let held = r.when.iter().all(|c| holds_for(c, &on));
                format!(
                    "{} {}: {}",
                    r.location,
                    r.action.as_str(),
                    if held {
                        "matches"
                    } else {
                        "conditions do not hold"
                    }
                )
            })
            .collect()
    }

    /// Whether deciding a call of this tool reads its resource's facts (`resource.*`).
    /// The token claims the policy reads (`team`, `org.unit`), sorted.
    pub fn claims_read(&self) -> &[String] {
        &self.claims_read
    }

    /// What the audit record keeps of a caller's token claims: each claim the policy reads,
    /// its value or null when the token lacks it; None for a caller without a token or a policy
    /// that reads no claim.
    pub fn claims_for_audit(&self, caller: &Caller) -> Option<serde_json::Map<String, Value>> {
        caller.token.as_ref()?;
        if self.claims_read.is_empty() {
            return None;
        }
        Some(
            self.claims_read
                .iter()
                .map(|name| {
                    let path: Vec<String> = name.split('.').map(str::to_string).collect();
                    let values = crate::policy::template::Template::Claim(path).values(caller);
                    let v = match values.len() {
                        0 => Value::Null,
                        1 => values.into_iter().next().unwrap_or(Value::Null),
                        _ => Value::Array(values),
                    };
                    (name.clone(), v)
                })
                .collect(),
        )
    }

    /// The history queries a call of this tool reads before its decision, with the series
    /// each counts in.
    pub fn history_reads(
        &self,
        tool: &str,
    ) -> impl Iterator<
        Item = (
            usize,
            &super::history::HistoryQuery,
            &super::history::Series,
        ),
    > {
        self.history_reads
            .get(tool)
            .into_iter()
            .flatten()
            .filter_map(|i| {
                let q = self.history.queries.get(*i)?;
                Some((*i, q, self.history.series.get(q.series)?))
            })
    }

    /// How far back deciding a call of this tool counts: the longest window of the history
    /// its rules read and of the budgets (limits with a cost) that may count it. `policy
    /// replay` cannot rebuild that much before the first record of a log.
    pub fn lookback(&self, tool: &ToolSpec) -> Option<std::time::Duration> {
        let history = self.history_reads(tool.name).map(|(_, q, _)| q.within);
        let budgets = self
            .limits
            .iter()
            .filter(|l| l.selects(tool))
            .chain(
                self.rules_for(tool.name)
                    .iter()
                    .filter_map(|r| r.limit.as_ref()),
            )
            .filter(|l| l.cost.is_some())
            .filter_map(|l| l.window());
        history.chain(budgets).max()
    }

    /// The series a successful call of this tool is logged in.
    pub fn history_logged(&self, tool: &str) -> impl Iterator<Item = &super::history::Series> {
        self.history
            .series
            .iter()
            .filter(move |s| s.tools.contains(tool))
    }

    pub fn needs_resource(&self, tool: &str) -> bool {
        self.resource_paths.contains_key(tool)
    }

    /// The `resource.*` paths the tool's rules read (what a lookup must supply, and what the
    /// audit record keeps).
    pub fn resource_paths(&self, tool: &str) -> &[Vec<String>] {
        self.resource_paths
            .get(tool)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The `tag_on_create` tags for this caller, templates filled in.
    pub fn tags_on_create(&self, caller: &Caller) -> std::collections::BTreeMap<String, String> {
        self.tag_on_create
            .iter()
            .map(|(k, v)| (k.clone(), v.render(caller)))
            .collect()
    }

    /// Decide a call. `args` are the arguments after schema validation, with schema defaults.
    /// Conditions on `resource.*` fail (as for a missing argument) without resource facts.
    pub fn decide<'p>(&'p self, tool: &ToolSpec, args: &Value, caller: &Caller) -> Decision<'p> {
        self.decide_with(tool, args, caller, None)
    }

    /// Decide a call, with the facts of the resource it touches when they were looked up.
    pub fn decide_with<'p>(
        &'p self,
        tool: &ToolSpec,
        args: &Value,
        caller: &Caller,
        resource: Option<&Value>,
    ) -> Decision<'p> {
        self.decide_on(tool, args, caller, resource, None)
    }

    /// Decide a call, with what was looked up for it: the facts of its resource and the
    /// counts of the history queries its rules read (a query not counted counts 0).
    pub fn decide_on<'p>(
        &'p self,
        tool: &ToolSpec,
        args: &Value,
        caller: &Caller,
        resource: Option<&Value>,
        history: Option<&HistoryFacts>,
    ) -> Decision<'p> {
        let on = On {
            args,
            caller,
            resource,
            history,
        };
        if self.is_hidden(tool.name) {
            return Decision {
                action: Action::Deny,
                basis: Basis::Hidden,
                reason: "the tool is hidden by the policy".into(),
                conditions: Vec::new(),
                limits: Vec::new(),
                reveal_secrets: false,
                approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
                approver: Approver::Any,
            };
        }
        let mut winner: Option<&CompiledRule> = None;
        let mut rule_limits: Vec<(Action, &CompiledLimit)> = Vec::new();
        for rule in self.rules_for(tool.name) {
            if !rule.when.iter().all(|c| holds_for(c, &on)) {
                continue;
            }
            if let Some(l) = &rule.limit {
                rule_limits.push((rule.action, l));
            }
            // Deny > require_approval > allow; the first rule of the strongest action decides.
            if winner.is_none_or(|w| rule.action > w.action) {
                winner = Some(rule);
            }
        }
        let (action, basis, reason, conditions) = match winner {
            Some(rule) => (
                rule.action,
                Basis::Rule(rule.location.clone()),
                rule.reason.clone().unwrap_or_else(|| match rule.action {
                    Action::Allow => "allowed by rule".into(),
                    Action::Deny => "denied by rule".into(),
                    Action::RequireApproval => "requires human approval".into(),
                }),
                rule.when.iter().map(describe).collect(),
            ),
            None => match self.classes.get(&tool.class) {
                Some(a) => (
                    *a,
                    Basis::Class(tool.class),
                    format!("default for {} tools", tool.class),
                    Vec::new(),
                ),
                None => (
                    self.default,
                    Basis::Default,
                    "policy default".into(),
                    Vec::new(),
                ),
            },
        };
        // The limits of the matching rules of the deciding action, and the policy-wide ones.
        let limits = if action != Action::Deny {
            rule_limits
                .into_iter()
                .filter(|(a, _)| *a == action)
                .map(|(_, l)| l)
                .chain(self.limits.iter().filter(|l| l.selects(tool)))
                .filter(|l| l.when.iter().all(|c| holds_for(c, &on)))
                .collect()
        } else {
            Vec::new()
        };
        Decision {
            action,
            basis,
            reason,
            conditions,
            limits,
            reveal_secrets: action == Action::Allow && winner.is_some_and(|w| w.reveal_secrets),
            approval_timeout: winner
                .and_then(|w| w.approval_timeout)
                .unwrap_or(DEFAULT_APPROVAL_TIMEOUT),
            approver: winner.and_then(|w| w.approver).unwrap_or_default(),
        }
    }
}

fn lookup<'a>(args: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter()
        .try_fold(args, |v, k| v.get(k))
        .filter(|v| !v.is_null())
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// What conditions look at: the arguments, the caller, and the resource's facts if looked up.
pub(crate) struct On<'a> {
    pub args: &'a Value,
    pub caller: &'a Caller,
    pub resource: Option<&'a Value>,
    pub history: Option<&'a HistoryFacts>,
}

/// Whether one condition holds for this call. On `roles`, an op holds when it holds for some
/// role (`ne` and `not_in`: for every role); `exists` holds when the caller has a role. A
/// caller template holds for `eq` when the subject equals one of the caller's values, for `ne`
/// when it equals none.
pub(crate) fn holds_for(cond: &CompiledCondition, on: &On<'_>) -> bool {
    let caller = on.caller;
    if let (Subject::History(i), Operand::History(needs)) = (cond.subject, &cond.operand) {
        let count = on.history.and_then(|h| h.get(&i)).copied().unwrap_or(0);
        return needs.holds(count);
    }
    if let Operand::Template(t) = &cond.operand {
        let wanted = t.values(caller);
        let subject: Vec<Value> = match cond.subject {
            Subject::Args => lookup(on.args, &cond.path).cloned().into_iter().collect(),
            Subject::Resource => on
                .resource
                .and_then(|r| lookup(r, &cond.path))
                .cloned()
                .into_iter()
                .collect(),
            Subject::Principal => vec![caller.name_value.clone()],
            Subject::Roles => caller
                .roles
                .iter()
                .map(|r| Value::String(r.clone()))
                .collect(),
            Subject::Claim => claim(caller, &cond.path).cloned().into_iter().collect(),
            Subject::History(_) => Vec::new(),
        };
        let equal = subject.iter().any(|v| wanted.iter().any(|w| num_eq(v, w)));
        return if cond.op == Op::Ne { !equal } else { equal };
    }
    match cond.subject {
        Subject::Args => holds(cond, on.args),
        Subject::Resource => holds_value(cond, on.resource.and_then(|r| lookup(r, &cond.path))),
        Subject::Principal => holds_value(cond, Some(&caller.name_value)),
        Subject::History(_) => false,
        Subject::Claim => holds_value(cond, claim(caller, &cond.path)),
        Subject::Roles => {
            let roles = caller.roles.iter().map(|r| Value::String(r.clone()));
            match (&cond.op, &cond.operand) {
                (Op::Exists, Operand::Exists(want)) => caller.roles.is_empty() != *want,
                (Op::Contains, Operand::Value(x)) => caller.roles.iter().any(|r| x == r.as_str()),
                (Op::Ne | Op::NotIn, _) => roles.into_iter().all(|r| holds_value(cond, Some(&r))),
                _ => roles.into_iter().any(|r| holds_value(cond, Some(&r))),
            }
        }
    }
}

/// A claim of the caller's token (none without a token).
fn claim<'a>(caller: &'a Caller, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let v = caller.token.as_ref()?.claims.get(first)?;
    lookup(v, rest)
}

/// Whether one condition holds for these arguments. A missing argument makes `ne`, `not_in`
/// and `exists: false` hold, and every other op fail.
pub(crate) fn holds(cond: &CompiledCondition, args: &Value) -> bool {
    holds_value(cond, lookup(args, &cond.path))
}

fn holds_value(cond: &CompiledCondition, value: Option<&Value>) -> bool {
    let Some(v) = value else {
        return match (&cond.op, &cond.operand) {
            (Op::Ne | Op::NotIn, _) => true,
            (Op::Exists, Operand::Exists(want)) => !want,
            _ => false,
        };
    };
    match (&cond.op, &cond.operand) {
        (Op::Eq, Operand::Value(x)) => num_eq(v, x),
        (Op::Ne, Operand::Value(x)) => !num_eq(v, x),
        (Op::In, Operand::List(xs)) => xs.iter().any(|x| num_eq(v, x)),
        (Op::NotIn, Operand::List(xs)) => !xs.iter().any(|x| num_eq(v, x)),
        (Op::Lt | Op::Lte | Op::Gt | Op::Gte, Operand::Number(n)) => match v.as_f64() {
            Some(x) => match cond.op {
                Op::Lt => x < *n,
                Op::Lte => x <= *n,
                Op::Gt => x > *n,
                _ => x >= *n,
            },
            None => false,
        },
        (Op::Regex, Operand::Regex(re)) => any_text(v, |s| re.is_match(s)),
        (Op::Glob, Operand::Glob(g)) => any_text(v, |s| g.is_match(s)),
        (Op::Contains, Operand::Value(x)) => match v {
            Value::String(s) => x.as_str().is_some_and(|needle| s.contains(needle)),
            Value::Array(items) => items.iter().any(|i| num_eq(i, x)),
            Value::Object(map) => x.as_str().is_some_and(|k| map.contains_key(k)),
            _ => false,
        },
        (Op::Exists, Operand::Exists(want)) => *want,
        _ => false,
    }
}

fn any_text(v: &Value, f: impl Fn(&str) -> bool) -> bool {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().any(|i| i.as_str().is_some_and(&f)),
        _ => false,
    }
}

fn describe(c: &CompiledCondition) -> String {
    let operand = match &c.operand {
        Operand::Value(v) => v.to_string(),
        Operand::List(xs) => Value::Array(xs.clone()).to_string(),
        Operand::Number(n) => n.to_string(),
        Operand::Regex(r) => format!("/{}/", r.as_str()),
        Operand::Glob(g) => format!("`{}`", g.glob()),
        Operand::Exists(b) => b.to_string(),
        Operand::Template(t) => match t {
            crate::policy::template::Template::Principal => "${principal}".into(),
            crate::policy::template::Template::Roles => "${roles}".into(),
            crate::policy::template::Template::Claim(c) => format!("${{claims.{}}}", c.join(".")),
        },
        Operand::History(needs) => {
            return format!(
                "{} {}",
                c.text,
                match needs {
                    Needs::Any(true) => "exists".to_string(),
                    Needs::Any(false) => "absent".to_string(),
                    Needs::AtLeast(n) => format!("count_gte {n}"),
                    Needs::FewerThan(n) => format!("count_lt {n}"),
                }
            );
        }
    };
    format!("{} {} {}", c.text, c.op.as_str(), operand)
}
