//! `guarded-aws-mcp policy import --from intercept FILE [--server mq|iam]`: a PolicyLayer
//! Intercept policy (the proxy people put in front of the AWS Labs servers) converted to this
//! server's format. What cannot be said exactly is converted as closely as it can be and
//! named in a warning: Intercept's calendar-aligned UTC windows become sliding windows,
//! `increment_from` sums become budgets (`cost`), `regex` / `contains` conditions cannot be negated.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::catalogue::Catalogue;

#[derive(Debug, Deserialize)]
struct InterceptPolicy {
    version: Value,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    hide: Vec<String>,
    #[serde(default)]
    tools: BTreeMap<String, InterceptTool>,
}

#[derive(Debug, Default, Deserialize)]
struct InterceptTool {
    #[serde(default)]
    rules: Vec<InterceptRule>,
}

#[derive(Debug, Deserialize)]
struct InterceptRule {
    name: String,
    #[serde(default)]
    action: Option<String>,
    #[serde(default)]
    conditions: Vec<InterceptCondition>,
    #[serde(default)]
    on_deny: Option<String>,
    #[serde(default)]
    rate_limit: Option<String>,
    #[serde(default)]
    state: Option<InterceptState>,
}

#[derive(Debug, Deserialize)]
struct InterceptCondition {
    path: String,
    op: String,
    #[serde(default)]
    value: Value,
}

#[derive(Debug, Deserialize)]
struct InterceptState {
    counter: String,
    window: String,
    #[serde(default)]
    increment: Option<f64>,
    #[serde(default)]
    increment_from: Option<String>,
}

/// Which AWS Labs server the Intercept policy was written for: its tool names map to ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Server {
    /// awslabs.amazon-mq-mcp-server (`list_users` → `list_broker_users`, `rabbimq_*` → `rabbitmq_*`).
    Mq,
    /// awslabs.iam-mcp-server (names unchanged).
    Iam,
}

/// Our name for a tool of the AWS Labs server.
fn rename(server: Server, name: &str) -> String {
    if server == Server::Mq {
        match name {
            "list_users" => return "list_broker_users".into(),
            "describe_user" => return "describe_broker_user".into(),
            "create_user" => return "create_broker_user".into(),
            "update_user" => return "update_broker_user".into(),
            "delete_user" => return "delete_broker_user".into(),
            _ => {}
        }
    }
    match name.strip_prefix("rabbimq_") {
        Some(rest) => format!("rabbitmq_{rest}"),
        None => name.to_string(),
    }
}

/// `minute` / `hour` / `day` → our window text.
fn window(w: &str) -> Option<&'static str> {
    match w {
        "minute" => Some("1m"),
        "hour" => Some("1h"),
        "day" => Some("1d"),
        _ => None,
    }
}

/// The condition that makes an Intercept `evaluate` condition fail (we deny when it holds).
fn negate(c: &InterceptCondition) -> Option<Value> {
    let path = c.path.clone();
    let (op, value) = match c.op.as_str() {
        "eq" => ("ne", c.value.clone()),
        "neq" => ("eq", c.value.clone()),
        "in" => ("not_in", c.value.clone()),
        "not_in" => ("in", c.value.clone()),
        "lt" => ("gte", c.value.clone()),
        "lte" => ("gt", c.value.clone()),
        "gt" => ("lte", c.value.clone()),
        "gte" => ("lt", c.value.clone()),
        "exists" => ("exists", Value::Bool(!c.value.as_bool().unwrap_or(true))),
        _ => return None,
    };
    Some(json!({"path": path, "op": op, "value": value}))
}

/// Why a policy could not be imported.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error("version must be \"1\", got {0}")]
    Version(Value),
    #[error("the converted policy cannot be written as YAML: {0}")]
    Write(String),
    /// A bug of the converter: what it wrote does not load.
    #[error(transparent)]
    Invalid(#[from] crate::error::PolicyErrors),
}

/// The converted policy (YAML, with the warnings as a comment block), and the warnings.
pub fn convert(
    text: &str,
    server: Server,
    catalogue: &Catalogue,
) -> Result<(String, Vec<String>), ImportError> {
    let name = "the policy to import";
    crate::input::check_yaml(text, name)?;
    let src: InterceptPolicy =
        serde_norway::from_str(text).map_err(|e| crate::input::InputError::Format {
            file: name.to_string(),
            expected: "an Intercept policy",
            detail: e.to_string(),
        })?;
    if src.version != json!("1") && src.version != json!(1) {
        return Err(ImportError::Version(src.version.clone()));
    }
    let mut warnings = Vec::new();
    let known = |name: &str| name == "*" || catalogue.get(name).is_some();
    let default_deny = src.default.as_deref() == Some("deny");
    let mut hide = Vec::new();
    for h in &src.hide {
        let ours = rename(server, h);
        if known(&ours) {
            hide.push(Value::String(ours));
        } else {
            warnings.push(format!("hide: `{h}` is no tool of this server; dropped"));
        }
    }
    let mut tools = serde_json::Map::new();
    let mut limits = Vec::new();
    for (name, tool) in &src.tools {
        let ours = rename(server, name);
        if ours != *name && name != "*" {
            warnings.push(format!("tools.{name}: renamed to `{ours}`"));
        }
        if !known(&ours) {
            warnings.push(format!(
                "tools.{name}: no tool of this server has that name; its rules are dropped"
            ));
            continue;
        }
        let mut rules: Vec<Value> = Vec::new();
        let mut allow = json!({"action": "allow"});
        for r in &tool.rules {
            let at = format!("tools.{name}.rules[{:?}]", r.name);
            let reason = r.on_deny.clone().unwrap_or_else(|| r.name.clone());
            let numeric = |arg: &str| {
                catalogue.get(&ours).is_some_and(|spec| {
                    spec.params
                        .get(arg)
                        .is_some_and(|t| t.iter().any(|t| t == "integer" || t == "number"))
                })
            };
            let limit = rule_limit(r, &at, &numeric, &mut warnings);
            match r.action.as_deref().unwrap_or("evaluate") {
                "deny" => rules.push(json!({"action": "deny", "reason": reason})),
                "require_approval" => {
                    warnings.push(format!(
                        "{at}: require_approval asks a human when the conditions hold"
                    ));
                    let when: Vec<Value> = r.conditions.iter().map(|c| json!({"path": c.path, "op": c.op.replace("neq", "ne"), "value": c.value})).collect();
                    let mut rule = json!({"action": "require_approval", "reason": reason});
                    if !when.is_empty() {
                        rule["when"] = Value::Array(when);
                    }
                    rules.push(rule);
                }
                _ => {
                    for c in r
                        .conditions
                        .iter()
                        .filter(|c| !c.path.starts_with("state."))
                    {
                        match negate(c) {
                            Some(when) => rules.push(json!({"action": "deny", "reason": reason, "when": [when]})),
                            None => warnings.push(format!(
                                "{at}: the condition `{} {}` cannot be negated here (no `not {}`); dropped — write a deny rule for it by hand",
                                c.path, c.op, c.op
                            )),
                        }
                    }
                }
            }
            if let Some(l) = limit {
                if name == "*" {
                    limits.push(l);
                } else {
                    allow["limit"] = l;
                }
            }
        }
        if name != "*" && (default_deny || allow.get("limit").is_some()) {
            rules.push(allow);
        }
        if !rules.is_empty() {
            tools.insert(ours, Value::Array(rules));
        }
    }
    let mut policy = serde_json::Map::new();
    policy.insert("version".into(), json!(1));
    policy.insert(
        "default".into(),
        json!(if default_deny { "deny" } else { "allow" }),
    );
    if !hide.is_empty() {
        policy.insert("hide".into(), Value::Array(hide));
    }
    if !limits.is_empty() {
        policy.insert("limits".into(), Value::Array(limits));
    }
    policy.insert("tools".into(), Value::Object(tools));
    let yaml = serde_norway::to_string(&Value::Object(policy))
        .map_err(|e| ImportError::Write(e.to_string()))?;
    let mut out = String::from(
        "# Converted from a PolicyLayer Intercept policy by `guarded-aws-mcp policy import`.\n",
    );
    for w in &warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    out.push_str(&yaml);
    // The result must load.
    crate::policy::load_str(&out, "converted policy", catalogue)?;
    Ok((out, warnings))
}

/// A rule's rate limit (`rate_limit: N/window`, or a counter condition), if it has one.
fn rule_limit(
    r: &InterceptRule,
    at: &str,
    numeric: &dyn Fn(&str) -> bool,
    warnings: &mut Vec<String>,
) -> Option<Value> {
    let sliding = |w: &str| {
        format!(
            "{at}: Intercept's {w} window is calendar-aligned (UTC); here it is a sliding window of one {w}"
        )
    };
    if let Some(rl) = &r.rate_limit {
        let (n, w) = rl.split_once('/')?;
        let (Ok(max), Some(win)) = (n.trim().parse::<u64>(), window(w.trim())) else {
            warnings.push(format!(
                "{at}: rate_limit {rl:?} is not N/minute|hour|day; dropped"
            ));
            return None;
        };
        warnings.push(sliding(w.trim()));
        return Some(json!({"max": max, "window": win, "per": "global"}));
    }
    let state = r.state.as_ref()?;
    let Some(win) = window(&state.window) else {
        warnings.push(format!(
            "{at}: window {:?} is not minute, hour or day; dropped",
            state.window
        ));
        return None;
    };
    let bound = r
        .conditions
        .iter()
        .find(|c| c.path.ends_with(&format!(".{}", state.counter)))?;
    let v = bound.value.as_f64()?;
    // A counter that adds an argument's value is a budget charged by that argument.
    if let Some(from) = &state.increment_from {
        let arg = from.strip_prefix("args.").unwrap_or(from);
        if !numeric(arg) {
            warnings.push(format!(
                "{at}: counter {:?} adds `{from}`, which is not a numeric argument of the tool; dropped",
                state.counter
            ));
            return None;
        }
        let max = match bound.op.as_str() {
            "lte" => v.floor(),
            "lt" => (v - 1.0).ceil(),
            _ => {
                warnings.push(format!(
                    "{at}: counter condition {:?} is not lt/lte; dropped",
                    bound.op
                ));
                return None;
            }
        };
        warnings.push(format!(
            "{at}: counter {:?} becomes a budget of {max} charged by args.{arg}; a call without it is refused (a budget never guesses low)",
            state.counter
        ));
        warnings.push(sliding(&state.window));
        return Some(
            json!({"max": max.max(0.0) as u64, "window": win, "per": "global", "cost": format!("args.{arg}")}),
        );
    }
    let step = state.increment.unwrap_or(1.0).max(1.0);
    let max = match bound.op.as_str() {
        "lte" => (v / step).floor(),
        "lt" => ((v - 1.0) / step).floor(),
        _ => {
            warnings.push(format!(
                "{at}: counter condition {:?} is not lt/lte; dropped",
                bound.op
            ));
            return None;
        }
    };
    if step > 1.0 {
        warnings.push(format!(
            "{at}: increment {step} per call becomes {max} calls"
        ));
    }
    warnings.push(sliding(&state.window));
    Some(json!({"max": max.max(1.0) as u64, "window": win, "per": "global"}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MQ: &str = r#"
version: "1"
description: "Amazon MQ server"
hide: [rabbimq_broker_delete_queue]
tools:
  delete_broker:
    rules:
      - name: "no deletes"
        action: "deny"
        on_deny: "Broker deletion is not permitted via AI agents"
  create_broker:
    rules:
      - name: "small only"
        conditions:
          - {path: "args.host_instance_type", op: "in", value: ["mq.t3.micro", "mq.m5.large"]}
        on_deny: "only small brokers"
      - name: "daily brokers"
        rate_limit: 2/day
  list_users:
    rules:
      - name: "hourly"
        rate_limit: 30/hour
  "*":
    rules:
      - name: "global rate limit"
        conditions:
          - {path: "state._global.calls_per_minute", op: "lte", value: 60}
        state: {counter: "calls_per_minute", window: "minute"}
"#;

    #[test]
    fn converts_an_mq_server_policy_with_warnings() {
        let c = Catalogue::builtin();
        let (yaml, warnings) = convert(MQ, Server::Mq, &c).expect("converts");
        let p = crate::policy::load_str(&yaml, "c.yaml", &c).expect("loads");
        let decide = |tool: &str, args: Value| {
            let d = p.decide(
                c.get(tool).unwrap(),
                &args,
                &crate::policy::Caller::default(),
            );
            (d.action, d.reason)
        };
        assert_eq!(
            decide("delete_broker", json!({"BrokerId": "b"})).0,
            crate::policy::Action::Deny
        );
        let big = decide(
            "create_broker",
            json!({"host_instance_type": "mq.m5.4xlarge"}),
        );
        assert_eq!(
            big,
            (
                crate::policy::Action::Deny,
                "only small brokers".to_string()
            )
        );
        assert_eq!(
            decide(
                "create_broker",
                json!({"host_instance_type": "mq.t3.micro"})
            )
            .0,
            crate::policy::Action::Allow
        );
        assert!(p.is_hidden("rabbitmq_broker_delete_queue"));
        assert!(yaml.contains("list_broker_users"), "{yaml}");
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("renamed to `list_broker_users`")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("calendar-aligned")),
            "{warnings:?}"
        );
        assert!(yaml.contains("max: 60"), "{yaml}");
    }

    #[test]
    fn policy_generation_rate_limit_and_what_cannot_be_said() {
        let iam = r#"
version: "1"
default: deny
tools:
  policy_generation_start:
    rules:
      - name: "ten a minute"
        rate_limit: "10/minute"
  list_users:
    rules: []
  put_user_policy:
    rules:
      - name: "named policies"
        conditions: [{path: "args.policy_name", op: "regex", value: "^agent-"}]
      - name: "spend"
        conditions: [{path: "state.put_user_policy.total", op: "lte", value: 100}]
        state: {counter: "total", window: "day", increment_from: "args.size"}
  create_role:
    rules:
      - name: "session hours"
        conditions: [{path: "state.create_role.seconds", op: "lt", value: 86400}]
        state: {counter: "seconds", window: "day", increment_from: "args.max_session_duration"}
"#;
        let c = Catalogue::builtin();
        let (yaml, warnings) = convert(iam, Server::Iam, &c).expect("converts");
        let p = crate::policy::load_str(&yaml, "c.yaml", &c).expect("loads");
        let d = p.decide(
            c.get("policy_generation_start").unwrap(),
            &json!({}),
            &crate::policy::Caller::default(),
        );
        assert_eq!(d.action, crate::policy::Action::Allow);
        assert_eq!(
            (d.limits[0].max, d.limits[0].window()),
            (10, Some(std::time::Duration::from_secs(60)))
        );
        assert!(
            warnings.iter().any(|w| w.contains("cannot be negated")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("adds `args.size`, which is not a numeric argument")),
            "{warnings:?}"
        );
        // A counter that adds a numeric argument is a budget charged by it.
        let role = p.decide(
            c.get("create_role").unwrap(),
            &json!({}),
            &crate::policy::Caller::default(),
        );
        let budget = role.limits[0];
        assert_eq!(budget.max, 86_399);
        assert_eq!(
            budget.cost_of(&json!({"max_session_duration": 43_200})),
            Ok(43_200)
        );
        // default deny: an unlisted tool stays denied, a listed one is allowed.
        let none = p.decide(
            c.get("create_user").unwrap(),
            &json!({}),
            &crate::policy::Caller::default(),
        );
        assert_eq!(none.action, crate::policy::Action::Deny);
        let listed = p.decide(
            c.get("list_users").unwrap(),
            &json!({}),
            &crate::policy::Caller::default(),
        );
        assert_eq!(listed.action, crate::policy::Action::Allow);
    }
}
