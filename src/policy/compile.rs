//! Loading a policy: parse the YAML, check it against the tool catalogue, and compile it into
//! the form the evaluator reads (globs resolved to tool names, regexes compiled).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use globset::{Glob, GlobMatcher};
use regex::Regex;
use serde_json::Value;

use super::history::{HistoryBook, Needs};
use super::limit::{CompiledLimit, compile_limit};
use super::model::{Action, Approver, Condition, Op, PolicyFile, Rule, Window};
use super::template::{Template, TemplateText};
use crate::catalogue::{Catalogue, RiskClass, ToolSpec};
use crate::error::{PolicyError, PolicyErrors};
use crate::tools::GuardSection as GuardSpec;

/// A policy checked against the catalogue, ready for evaluation.
#[derive(Debug)]
pub struct CompiledPolicy {
    pub(crate) default: Action,
    pub(crate) classes: HashMap<RiskClass, Action>,
    pub(crate) hidden: HashSet<String>,
    /// Per tool name: the rules of every key that matches it, in file order.
    pub(crate) rules: HashMap<String, Vec<Arc<CompiledRule>>>,
    pub(crate) limits: Vec<CompiledLimit>,
    /// The history queries conditions read, and the series the store logs for them.
    pub(crate) history: HistoryBook,
    /// Per tool name: the history queries its rules read (a tool absent reads none).
    pub(crate) history_reads: HashMap<String, Vec<usize>>,
    pub(crate) guard: Option<GuardSpec>,
    /// Per tool name: the `resource.*` paths its rules read (a tool absent needs no lookup).
    pub(crate) resource_paths: HashMap<String, Vec<Vec<String>>>,
    /// `tag_on_create`: tag key and value template, in file order.
    pub(crate) tag_on_create: Vec<(String, TemplateText)>,
    /// The token claims the policy reads (`team`, `org.unit`), sorted: what the audit record
    /// keeps of a caller's token so that `policy replay` can decide again.
    pub(crate) claims_read: Vec<String>,
    /// `mode: shadow`: decisions are audited, not enforced.
    pub shadow: bool,
    /// SHA-256 of the policy text, for the audit log.
    pub hash: String,
    pub source_name: String,
}

#[derive(Debug)]
pub(crate) struct CompiledRule {
    pub location: String,
    pub action: Action,
    pub reason: Option<String>,
    pub when: Vec<CompiledCondition>,
    pub limit: Option<CompiledLimit>,
    pub reveal_secrets: bool,
    pub approval_timeout: Option<Duration>,
    pub approver: Option<Approver>,
}

/// What a condition looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Subject {
    Args,
    Principal,
    Roles,
    /// A claim of the caller's token.
    Claim,
    /// A fact of the resource the call touches.
    Resource,
    /// Earlier calls: the policy's history query of this index.
    History(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledCondition {
    /// The path as written (`args.a.b`), for explanations.
    pub text: String,
    pub subject: Subject,
    /// The path below `args` or `resource` (empty for `principal` and `roles`).
    pub path: Vec<String>,
    pub op: Op,
    pub operand: Operand,
}

#[derive(Debug, Clone)]
pub(crate) enum Operand {
    Value(Value),
    List(Vec<Value>),
    Number(f64),
    Regex(Regex),
    Glob(GlobMatcher),
    Exists(bool),
    /// A caller template (eq and ne).
    Template(Template),
    /// The count a history condition needs.
    History(Needs),
}

/// Parse and check a policy text. `source_name` names the file in errors.
pub fn load_str(
    text: &str,
    source_name: &str,
    catalogue: &Catalogue,
) -> Result<CompiledPolicy, PolicyErrors> {
    let fail = |errors| PolicyErrors {
        source_name: source_name.to_string(),
        errors,
    };
    crate::input::check_yaml(text, source_name)
        .map_err(|e| fail(vec![PolicyError::new("document", e.to_string())]))?;
    let file: PolicyFile = serde_norway::from_str(text).map_err(|e| {
        let location = match e.location() {
            Some(l) => format!("line {} column {}", l.line(), l.column()),
            None => "document".to_string(),
        };
        fail(vec![PolicyError::new(location, e.to_string())])
    })?;
    let mut policy = compile(&file, catalogue).map_err(fail)?;
    policy.hash = crate::audit::sha256_hex(text.as_bytes());
    policy.source_name = source_name.to_string();
    Ok(policy)
}

/// Check a parsed policy against the catalogue; every error is reported, with its location.
pub fn compile(
    file: &PolicyFile,
    catalogue: &Catalogue,
) -> Result<CompiledPolicy, Vec<PolicyError>> {
    let mut errors = Vec::new();
    if file.version != 1 {
        errors.push(PolicyError::new(
            "version",
            format!(
                "unsupported version {}; this build reads version 1",
                file.version
            ),
        ));
    }

    let mut hidden = HashSet::new();
    for (i, pattern) in file.hide.iter().enumerate() {
        match matching_tools(pattern, catalogue) {
            Ok(names) if names.is_empty() => errors.push(PolicyError::new(
                format!("hide[{i}]"),
                format!("`{pattern}` matches no tool of the catalogue"),
            )),
            Ok(names) => hidden.extend(names),
            Err(e) => errors.push(PolicyError::new(format!("hide[{i}]"), e)),
        }
    }

    let mut limits = Vec::new();
    for (i, spec) in file.limits.iter().enumerate() {
        match compile_limit(spec, &format!("limits[{i}]"), catalogue, None) {
            Ok(l) => limits.push(l),
            Err(e) => errors.extend(e),
        }
    }

    let mut rules: HashMap<String, Vec<Arc<CompiledRule>>> = HashMap::new();
    let mut history = HistoryBook::default();
    // Precedence among rules of one action: the tool's exact name first, then globs, each in
    // file order. Evaluation keeps this order.
    let (exact, globs): (Vec<_>, Vec<_>) = file.tools.iter().partition(|(k, _)| !is_glob(k));
    for (key, key_rules) in exact.into_iter().chain(globs) {
        let loc_key = format!("tools.{key}");
        let names = match matching_tools(key, catalogue) {
            Ok(n) if n.is_empty() => {
                errors.push(PolicyError::new(
                    &loc_key,
                    format!(
                        "`{key}` matches no tool of the catalogue (see `guarded-aws-mcp tools`)"
                    ),
                ));
                continue;
            }
            Ok(n) => n,
            Err(e) => {
                errors.push(PolicyError::new(&loc_key, e));
                continue;
            }
        };
        let specs: Vec<&ToolSpec> = names
            .iter()
            .filter_map(|n| catalogue.get(n).map(|s| s.as_ref()))
            .collect();
        for (j, rule) in key_rules.iter().enumerate() {
            let location = format!("{loc_key}[{j}]");
            match compile_rule(rule, &location, &specs, catalogue, &mut history) {
                Ok(compiled) => {
                    // Each matching tool gets the rule, so evaluation is a single lookup.
                    let compiled = Arc::new(compiled);
                    for name in &names {
                        rules
                            .entry(name.clone())
                            .or_default()
                            .push(compiled.clone());
                    }
                }
                Err(e) => errors.extend(e),
            }
        }
    }

    let mut tag_on_create = Vec::new();
    for (key, value) in file.tag_on_create.iter() {
        let loc = format!("tag_on_create.{key}");
        if key.is_empty() || key.len() > 128 || key.starts_with("aws:") {
            errors.push(PolicyError::new(
                &loc,
                "a tag key is 1 to 128 characters and does not start with `aws:`",
            ));
        }
        match TemplateText::parse(value) {
            Ok(t) => tag_on_create.push((key.clone(), t)),
            Err(e) => errors.push(PolicyError::new(&loc, e.to_string())),
        }
    }
    let mut resource_paths: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    let mut read = |tool: &str, path: &Vec<String>| {
        let paths = resource_paths.entry(tool.to_string()).or_default();
        if !paths.contains(path) {
            paths.push(path.clone());
        }
    };
    for (tool, tool_rules) in &rules {
        for c in tool_rules.iter().flat_map(|r| r.when.iter()) {
            if c.subject == Subject::Resource {
                read(tool, &c.path);
            }
        }
    }
    // A limit counted per a resource fact reads it for the tools it selects that have it.
    for name in catalogue.names() {
        let Some(spec) = catalogue.get(name) else {
            continue;
        };
        let Some(target) = spec.target else { continue };
        let rule_limits = rules
            .get(name)
            .into_iter()
            .flatten()
            .filter_map(|r| r.limit.as_ref());
        let selecting = limits.iter().filter(|l| l.selects(spec)).chain(rule_limits);
        for path in super::limit::resource_keys(selecting) {
            let segs: Vec<&str> = path.iter().map(String::as_str).collect();
            if target.fact_types(&segs).is_some() {
                read(name, &path);
            }
        }
    }

    if errors.is_empty() {
        let mut claims_read: std::collections::BTreeSet<String> =
            tag_on_create.iter().flat_map(|(_, t)| t.claims()).collect();
        claims_read.extend(super::limit::claims_read(
            limits
                .iter()
                .chain(rules.values().flatten().filter_map(|r| r.limit.as_ref())),
        ));
        let limit_conditions = limits
            .iter()
            .chain(rules.values().flatten().filter_map(|r| r.limit.as_ref()))
            .flat_map(|l| l.when.iter());
        for c in rules
            .values()
            .flatten()
            .flat_map(|r| r.when.iter())
            .chain(limit_conditions)
        {
            if c.subject == Subject::Claim {
                claims_read.insert(c.path.join("."));
            }
        }
        for rule in rules.values().flatten() {
            for c in &rule.when {
                if let Operand::Template(Template::Claim(path)) = &c.operand {
                    claims_read.insert(path.join("."));
                }
            }
        }
        let mut history_reads: HashMap<String, Vec<usize>> = HashMap::new();
        for (tool, tool_rules) in &rules {
            for c in tool_rules.iter().flat_map(|r| r.when.iter()) {
                if let Subject::History(i) = c.subject {
                    let reads = history_reads.entry(tool.clone()).or_default();
                    if !reads.contains(&i) {
                        reads.push(i);
                    }
                }
            }
        }
        Ok(CompiledPolicy {
            history,
            history_reads,
            resource_paths,
            claims_read: claims_read.into_iter().collect(),
            tag_on_create,
            default: file.default,
            classes: file.classes.iter().map(|(k, v)| (*k, *v)).collect(),
            hidden,
            rules,
            limits,
            guard: file.iam_guard.clone(),
            shadow: file.mode == super::model::Mode::Shadow,
            hash: String::new(),
            source_name: String::new(),
        })
    } else {
        Err(errors)
    }
}

/// Tool names matched by an exact name or a glob.
fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

pub(crate) fn matching_tools(pattern: &str, catalogue: &Catalogue) -> Result<Vec<String>, String> {
    if !is_glob(pattern) {
        return Ok(catalogue
            .get(pattern)
            .map(|t| vec![t.name.to_string()])
            .unwrap_or_default());
    }
    let glob = Glob::new(pattern)
        .map_err(|e| format!("`{pattern}` is not a valid glob: {e}"))?
        .compile_matcher();
    Ok(catalogue
        .names()
        .filter(|n| glob.is_match(n))
        .map(str::to_string)
        .collect())
}

/// A window a policy cannot count over.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WindowError {
    #[error("`{0}` is not a window; write seconds or a number with s, m, h or d (`30s`, `1h`)")]
    NotAWindow(String),
    #[error("window must be at least 1 second")]
    Zero,
    #[error("window must be at most 366 days")]
    TooLong,
}

/// `30`, `30s`, `5m`, `1h`, `1d`.
pub fn parse_window(w: &Window) -> Result<Duration, WindowError> {
    let secs = match w {
        Window::Seconds(s) => *s,
        Window::Text(t) => {
            let t = t.trim();
            // The unit is the last character (which may be any character: split on its start).
            let (num, unit) = t.split_at(t.char_indices().last().map_or(0, |(i, _)| i));
            let (num, mult) = match unit {
                "s" => (num, 1),
                "m" => (num, 60),
                "h" => (num, 3600),
                "d" => (num, 86_400),
                _ => (t, 1),
            };
            num.parse::<u64>()
                .ok()
                .and_then(|n| n.checked_mul(mult))
                .ok_or_else(|| WindowError::NotAWindow(t.to_string()))?
        }
    };
    if secs == 0 {
        return Err(WindowError::Zero);
    }
    if secs > 366 * 86_400 {
        return Err(WindowError::TooLong);
    }
    Ok(Duration::from_secs(secs))
}

fn compile_rule(
    rule: &Rule,
    location: &str,
    specs: &[&ToolSpec],
    catalogue: &Catalogue,
    history: &mut HistoryBook,
) -> Result<CompiledRule, Vec<PolicyError>> {
    let mut errors = Vec::new();
    let mut when = Vec::new();
    for (k, cond) in rule.when.iter().enumerate() {
        let at = format!("{location}.when[{k}]");
        let compiled = match (&cond.path, &cond.history) {
            (Some(_), None) => compile_condition(cond, &at, specs),
            (None, Some(h)) => history
                .add(h, cond.op, cond.value.as_ref(), &at, specs, catalogue)
                .map(|(i, needs)| CompiledCondition {
                    text: history.queries[i].text.clone(),
                    subject: Subject::History(i),
                    path: Vec::new(),
                    op: cond.op,
                    operand: Operand::History(needs),
                }),
            (Some(_), Some(_)) => Err(PolicyError::new(
                &at,
                "a condition has a `path` or a `history`, not both",
            )),
            (None, None) => Err(PolicyError::new(
                &at,
                "a condition needs a `path` (`args.BrokerId`, `principal` …) or a `history`",
            )),
        };
        match compiled {
            Ok(c) => when.push(c),
            Err(e) => errors.push(e),
        }
    }
    if rule.reveal_secrets && rule.action != Action::Allow {
        errors.push(PolicyError::new(
            format!("{location}.reveal_secrets"),
            "only an `allow` rule can reveal secrets",
        ));
    }
    let mut limit = None;
    if let Some(spec) = &rule.limit {
        if rule.action == Action::Deny {
            errors.push(PolicyError::new(
                format!("{location}.limit"),
                "a limit counts calls that run; put it on an `allow` or `require_approval` rule",
            ));
        }
        match compile_limit(spec, &format!("{location}.limit"), catalogue, Some(specs)) {
            Ok(l) => limit = Some(l),
            Err(e) => errors.extend(e),
        }
    }
    let mut approval_timeout = None;
    if let Some(w) = &rule.approval_timeout {
        if rule.action != Action::RequireApproval {
            errors.push(PolicyError::new(
                format!("{location}.approval_timeout"),
                "only a `require_approval` rule has an approval timeout",
            ));
        }
        match parse_window(w) {
            Ok(d) => approval_timeout = Some(d),
            Err(e) => errors.push(PolicyError::new(format!("{location}.approval_timeout"), e)),
        }
    }
    if rule.approver.is_some() && rule.action != Action::RequireApproval {
        errors.push(PolicyError::new(
            format!("{location}.approver"),
            "only a `require_approval` rule has an approver",
        ));
    }
    if errors.is_empty() {
        Ok(CompiledRule {
            location: location.to_string(),
            action: rule.action,
            reason: rule.reason.clone(),
            when,
            limit,
            reveal_secrets: rule.reveal_secrets,
            approval_timeout,
            approver: rule.approver,
        })
    } else {
        Err(errors)
    }
}

/// JSON types a parameter may hold, from the tool's input schema.
fn param_types<'a>(specs: &'a [&ToolSpec], param: &str) -> Option<Vec<&'a str>> {
    let mut found = None::<Vec<&str>>;
    for spec in specs {
        if let Some(types) = spec.params.get(param) {
            found
                .get_or_insert_with(Vec::new)
                .extend(types.iter().map(String::as_str));
        }
    }
    found
}

fn value_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn fits(v: &Value, types: &[&str]) -> bool {
    let t = value_type(v);
    types.is_empty()
        || types.contains(&t)
        || (t == "integer" && types.contains(&"number"))
        || (t == "number"
            && types.contains(&"integer")
            && v.as_f64().is_some_and(|f| f.fract() == 0.0))
}

pub(crate) fn compile_condition(
    cond: &Condition,
    location: &str,
    specs: &[&ToolSpec],
) -> Result<CompiledCondition, PolicyError> {
    let text = cond.path.as_deref().unwrap_or_default();
    if matches!(cond.op, Op::Absent | Op::CountGte | Op::CountLt) {
        return Err(PolicyError::new(
            format!("{location}.op"),
            format!(
                "op `{}` counts earlier calls: it tests a `history`, not a path",
                cond.op.as_str()
            ),
        ));
    }
    let (subject, param) = match text {
        "principal" => (Subject::Principal, None),
        "roles" => (Subject::Roles, None),
        path => match (
            path.strip_prefix("args.").filter(|p| !p.is_empty()),
            path.strip_prefix("resource.").filter(|p| !p.is_empty()),
            path.strip_prefix("claims.")
                .filter(|p| !p.split('.').any(str::is_empty)),
        ) {
            (Some(param), _, _) => (Subject::Args, Some(param)),
            (_, Some(fact), _) => (Subject::Resource, Some(fact)),
            (_, _, Some(claim)) => (Subject::Claim, Some(claim)),
            _ => {
                return Err(PolicyError::new(
                    format!("{location}.path"),
                    format!(
                        "`{}`: a path is `args.` followed by a parameter name, `resource.` followed by a fact, `claims.` followed by a token claim, `principal` or `roles`",
                        text
                    ),
                ));
            }
        },
    };
    let types = match subject {
        Subject::Principal => Some(vec!["string"]),
        // A token's claims are whatever the identity provider puts there.
        Subject::Claim => Some(vec![
            "string", "number", "integer", "boolean", "array", "object",
        ]),
        Subject::Roles => Some(vec!["array", "string"]),
        Subject::Args => param.and_then(|p| param_types(specs, p)),
        Subject::History(_) => None,
        Subject::Resource => Some(resource_types(
            specs,
            param.unwrap_or_default(),
            text,
            location,
        )?),
    };
    let Some(types) = types else {
        let mut known: Vec<&str> = specs
            .iter()
            .flat_map(|s| s.params.keys().map(String::as_str))
            .collect();
        known.sort();
        known.dedup();
        return Err(PolicyError::new(
            format!("{location}.path"),
            format!(
                "`{}` is not a parameter of {}; parameters: {}",
                text,
                specs.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
                known.join(", ")
            ),
        ));
    };
    let vloc = format!("{location}.value");
    let need =
        |what: &str| PolicyError::new(&vloc, format!("op `{}` needs {what}", cond.op.as_str()));
    let is_stringish = types.contains(&"string") || types.contains(&"array");
    if let Some(t) = cond.value.as_ref().and_then(Template::whole) {
        let t = t.map_err(|e| PolicyError::new(&vloc, e))?;
        if !matches!(cond.op, Op::Eq | Op::Ne) {
            return Err(PolicyError::new(
                &vloc,
                format!(
                    "a caller template compares with eq or ne, not `{}`",
                    cond.op.as_str()
                ),
            ));
        }
        return Ok(CompiledCondition {
            text: text.to_string(),
            subject,
            path: split_path(subject, param),
            op: cond.op,
            operand: Operand::Template(t),
        });
    }
    let operand = match cond.op {
        Op::Eq | Op::Ne => {
            let v = cond.value.clone().ok_or_else(|| need("a value"))?;
            if !fits(&v, &types) {
                return Err(wrong_type(&vloc, &v, &types));
            }
            Operand::Value(v)
        }
        Op::In | Op::NotIn => {
            let Some(Value::Array(items)) = cond.value.clone() else {
                return Err(need("a list of values"));
            };
            if let Some(bad) = items.iter().find(|v| !fits(v, &types)) {
                return Err(wrong_type(&vloc, bad, &types));
            }
            Operand::List(items)
        }
        Op::Lt | Op::Lte | Op::Gt | Op::Gte => {
            let n = cond
                .value
                .as_ref()
                .and_then(Value::as_f64)
                .ok_or_else(|| need("a number"))?;
            if !types.contains(&"integer") && !types.contains(&"number") {
                return Err(PolicyError::new(
                    &vloc,
                    format!(
                        "op `{}` compares numbers, but `{}` is {}",
                        cond.op.as_str(),
                        text,
                        types.join(" or ")
                    ),
                ));
            }
            Operand::Number(n)
        }
        Op::Regex => {
            let s = cond
                .value
                .as_ref()
                .and_then(Value::as_str)
                .ok_or_else(|| need("a regular expression string"))?;
            if !is_stringish {
                return Err(not_text(&vloc, cond, &types));
            }
            Operand::Regex(
                Regex::new(s)
                    .map_err(|e| PolicyError::new(&vloc, format!("regex does not compile: {e}")))?,
            )
        }
        Op::Glob => {
            let s = cond
                .value
                .as_ref()
                .and_then(Value::as_str)
                .ok_or_else(|| need("a glob pattern string"))?;
            if !is_stringish {
                return Err(not_text(&vloc, cond, &types));
            }
            Operand::Glob(
                Glob::new(s)
                    .map_err(|e| PolicyError::new(&vloc, format!("glob does not compile: {e}")))?
                    .compile_matcher(),
            )
        }
        Op::Contains => {
            let v = cond.value.clone().ok_or_else(|| need("a value"))?;
            if !(is_stringish || types.contains(&"object")) {
                return Err(PolicyError::new(
                    &vloc,
                    format!(
                        "op `contains` applies to strings, lists and objects, but `{}` is {}",
                        text,
                        types.join(" or ")
                    ),
                ));
            }
            Operand::Value(v)
        }
        Op::Absent | Op::CountGte | Op::CountLt => {
            return Err(need("a `history` (it counts earlier calls)"));
        }
        Op::Exists => match &cond.value {
            None => Operand::Exists(true),
            Some(Value::Bool(b)) => Operand::Exists(*b),
            Some(_) => return Err(need("true or false (or no value)")),
        },
    };
    Ok(CompiledCondition {
        text: text.to_string(),
        subject,
        path: split_path(subject, param),
        op: cond.op,
        operand,
    })
}

/// The path's segments below `args.` or `resource.`; a tag key keeps its dots
/// (`resource.tags.app.kubernetes.io/name`).
fn split_path(subject: Subject, param: Option<&str>) -> Vec<String> {
    let Some(p) = param else {
        return Vec::new();
    };
    match (subject, p.split_once('.')) {
        (Subject::Resource, Some((first, rest))) => vec![first.to_string(), rest.to_string()],
        _ => p.split('.').map(str::to_string).collect(),
    }
}

/// The types of a `resource.*` fact, which every tool the rule covers must offer.
fn resource_types(
    specs: &[&ToolSpec],
    fact: &str,
    path: &str,
    location: &str,
) -> Result<Vec<&'static str>, PolicyError> {
    let segments: Vec<&str> = match fact.split_once('.') {
        Some((first, rest)) => vec![first, rest],
        None => vec![fact],
    };
    let mut types = Vec::new();
    for spec in specs {
        let Some(target) = spec.target else {
            return Err(PolicyError::new(
                format!("{location}.path"),
                format!(
                    "`{path}`: {} acts on no single existing resource, so it has no resource facts (they exist for tools that act on a broker, configuration, IAM user, role or group)",
                    spec.name
                ),
            ));
        };
        match target.fact_types(&segments) {
            Some(t) => types = t,
            None => {
                return Err(PolicyError::new(
                    format!("{location}.path"),
                    format!(
                        "`{path}` is not a fact of {}'s resource ({}); its facts: {}",
                        spec.name,
                        target.kind(),
                        target.fact_names()
                    ),
                ));
            }
        }
    }
    Ok(types)
}

fn wrong_type(loc: &str, v: &Value, types: &[&str]) -> PolicyError {
    PolicyError::new(
        loc,
        format!(
            "{v} is a {}, but the parameter is {}",
            value_type(v),
            types.join(" or ")
        ),
    )
}

fn not_text(loc: &str, cond: &Condition, types: &[&str]) -> PolicyError {
    let text = cond.path.as_deref().unwrap_or_default();
    PolicyError::new(
        loc,
        format!(
            "op `{}` matches text, but `{}` is {}",
            cond.op.as_str(),
            text,
            types.join(" or ")
        ),
    )
}

/// For `policy validate` output and the schema file.
pub fn policy_json_schema() -> Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PolicyFile>();
    serde_json::to_value(schema).unwrap_or(Value::Null)
}
