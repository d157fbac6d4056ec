//! Lint: a policy that loads can still say things that never happen. `policy validate` prints
//! these warnings (`--strict` makes them errors), each with its location and reason. (Glob keys
//! that match no tool, and conditions whose values cannot match an argument's type, are load
//! errors already.)

use std::collections::BTreeMap;

use serde_json::Value;

use super::compile::{CompiledPolicy, Operand, Subject};
use super::model::{Action, Approver, Op};
use crate::catalogue::Catalogue;

/// One warning: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    pub location: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every warning about a loaded policy.
pub fn lint(policy: &CompiledPolicy, catalogue: &Catalogue) -> Vec<Warning> {
    let mut warnings = Vec::new();
    never_decides(policy, catalogue, &mut warnings);
    values_outside_the_enum(policy, catalogue, &mut warnings);
    client_only_approvals(policy, &mut warnings);
    limits_that_never_count(policy, catalogue, &mut warnings);
    warnings.sort_by(|a, b| a.location.cmp(&b.location));
    warnings.dedup();
    warnings
}

/// A rule that decides no call of any tool it names: an earlier rule of the same or a
/// stronger action always matches first, or a stronger one always matches at all; or every
/// tool it names is hidden.
fn never_decides(policy: &CompiledPolicy, catalogue: &Catalogue, out: &mut Vec<Warning>) {
    // rule location → (tools it could decide, a reason it cannot)
    let mut can_decide: BTreeMap<&str, bool> = BTreeMap::new();
    let mut why: BTreeMap<&str, String> = BTreeMap::new();
    for spec in catalogue.iter() {
        let rules = policy.rules_for(spec.name);
        let hidden = policy.is_hidden(spec.name);
        for (i, r) in rules.iter().enumerate() {
            let shadow = rules.iter().enumerate().find(|(j, s)| {
                s.when.is_empty() && (s.action > r.action || (s.action == r.action && *j < i))
            });
            let decides = !hidden && shadow.is_none();
            let entry = can_decide.entry(r.location.as_str()).or_insert(false);
            *entry |= decides;
            if !decides {
                why.entry(r.location.as_str())
                    .or_insert_with(|| match shadow {
                        Some((_, s)) => format!(
                            "can never decide: {} ({}, no conditions) always matches first",
                            s.location,
                            s.action.as_str()
                        ),
                        None => "can never decide: every tool it names is hidden".into(),
                    });
            }
        }
    }
    for (location, decides) in can_decide {
        if !decides {
            out.push(Warning {
                location: location.to_string(),
                message: why.remove(location).unwrap_or_default(),
            });
        }
    }
}

/// The values an argument's schema allows, when it is an enum (following a `$ref`).
fn enum_values(spec: &crate::catalogue::ToolSpec, param: &str) -> Option<Vec<Value>> {
    let schema = spec.input_schema.get("properties")?.get(param)?;
    let resolve = |v: &Value| -> Option<Value> {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => spec
                .input_schema
                .get("$defs")?
                .get(r.strip_prefix("#/$defs/")?)
                .cloned(),
            None => Some(v.clone()),
        }
    };
    let node = resolve(schema)?;
    let node = match node.get("anyOf").and_then(Value::as_array) {
        Some(branches) => branches
            .iter()
            .find_map(resolve)
            .filter(|b| b.get("enum").is_some())?,
        None => node,
    };
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        return Some(values.clone());
    }
    // schemars writes a documented enum as oneOf of consts.
    let consts: Vec<Value> = node
        .get("oneOf")?
        .as_array()?
        .iter()
        .filter_map(|b| b.get("const").cloned())
        .collect();
    (!consts.is_empty()).then_some(consts)
}

/// `eq` / `in` values an enum argument can never take: the condition never holds (or, for
/// `ne` / `not_in`, always holds).
fn values_outside_the_enum(
    policy: &CompiledPolicy,
    catalogue: &crate::catalogue::Catalogue,
    out: &mut Vec<Warning>,
) {
    for spec in catalogue.iter() {
        for r in policy.rules_for(spec.name) {
            for (k, c) in r.when.iter().enumerate() {
                if c.subject != Subject::Args || c.path.len() != 1 {
                    continue;
                }
                let Some(allowed) = enum_values(spec, &c.path[0]) else {
                    continue;
                };
                let given: Vec<&Value> = match (&c.op, &c.operand) {
                    (Op::Eq | Op::Ne, Operand::Value(v)) => vec![v],
                    (Op::In | Op::NotIn, Operand::List(items)) => items.iter().collect(),
                    _ => continue,
                };
                let outside: Vec<String> = given
                    .iter()
                    .filter(|v| !allowed.contains(v))
                    .map(|v| v.to_string())
                    .collect();
                if !outside.is_empty() {
                    out.push(Warning {
                        location: format!("{}.when[{k}]", r.location),
                        message: format!(
                            "`{}` of `{}` is one of {}; {} can never be given",
                            c.text,
                            spec.name,
                            allowed
                                .iter()
                                .map(Value::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                            outside.join(", ")
                        ),
                    });
                }
            }
        }
    }
}

/// `approver: client` refuses every call from a client without elicitation, with no
/// out-of-band way to approve: worth knowing before it surprises someone.
fn client_only_approvals(policy: &CompiledPolicy, out: &mut Vec<Warning>) {
    let mut seen = std::collections::BTreeSet::new();
    for rules in policy.rules.values() {
        for r in rules {
            if r.approver == Some(Approver::Client) && seen.insert(r.location.clone()) {
                out.push(Warning {
                    location: r.location.clone(),
                    message: "approver: client — calls from MCP clients without elicitation (and the out-of-band `approvals` command) can never approve it".into(),
                });
            }
        }
    }
}

/// A limit that counts no call: every tool it applies to is hidden, or always denied.
fn limits_that_never_count(policy: &CompiledPolicy, catalogue: &Catalogue, out: &mut Vec<Warning>) {
    let always_denied = |name: &str| {
        policy.is_hidden(name)
            || policy
                .rules_for(name)
                .iter()
                .any(|r| r.action == Action::Deny && r.when.is_empty())
    };
    for l in &policy.limits {
        let selected: Vec<&str> = catalogue
            .iter()
            .filter(|s| l.selects(s))
            .map(|s| s.name)
            .collect();
        if !selected.is_empty() && selected.iter().all(|n| always_denied(n)) {
            out.push(Warning {
                location: l.id.clone(),
                message: "counts no call: every tool it selects is hidden or always denied".into(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(yaml: &str) -> Vec<String> {
        let c = Catalogue::builtin();
        let p = super::super::load_str(yaml, "t.yaml", &c).expect("loads");
        lint(&p, &c).iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn finds_rules_that_never_decide() {
        let w = warnings(
            "version: 1\ntools:\n  create_broker:\n    - action: allow\n    - action: allow\n      reveal_secrets: false\n      when: [{path: args.broker_name, op: eq, value: x}]\n  \"create_*\":\n    - action: deny\n",
        );
        assert!(
            w.iter().any(|w| w
                .starts_with("tools.create_broker[0]: can never decide: tools.create_*[0] (deny")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|w| w.starts_with("tools.create_broker[1]")),
            "{w:?}"
        );
        let w = warnings(
            "version: 1\nhide: [reboot_broker]\ntools:\n  reboot_broker:\n    - action: allow\n",
        );
        assert!(
            w.iter()
                .any(|w| w.contains("every tool it names is hidden")),
            "{w:?}"
        );
    }

    #[test]
    fn finds_limits_that_never_count() {
        let w = warnings(
            "version: 1\nhide: [\"delete_*\"]\nlimits:\n  - {max: 1, window: 1m, tool: \"delete_*\"}\n  - {max: 1, window: 1m, tool: reboot_broker}\ntools:\n  reboot_broker:\n    - action: deny\n",
        );
        assert!(
            w.iter().any(|w| w.starts_with("limits[1]: counts no call")),
            "{w:?}"
        );
        assert!(
            w.iter().any(|w| w.starts_with("limits[0]: counts no call")),
            "{w:?}"
        );
    }

    #[test]
    fn finds_enum_values_that_can_never_be_given_and_client_only_approvals() {
        let w = warnings(
            "version: 1\ntools:\n  create_broker:\n    - action: deny\n      when: [{path: args.engine_type, op: in, value: [RABBITMQ, KAFKA]}]\n    - action: require_approval\n      approver: client\n",
        );
        assert!(
            w.iter()
                .any(|w| w.starts_with("tools.create_broker[0].when[0]")
                    && w.contains("\"KAFKA\" can never be given")),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|w| w.starts_with("tools.create_broker[1]: approver: client")),
            "{w:?}"
        );
    }

    #[test]
    fn the_shipped_policies_are_clean() {
        let c = Catalogue::builtin();
        for name in [
            "default",
            "dev-permissive",
            "production-strict",
            "read-only",
            "team",
        ] {
            let path = format!("{}/policies/{name}.yaml", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("policy");
            let p = super::super::load_str(&text, &path, &c).expect("loads");
            let w = lint(&p, &c);
            assert!(w.is_empty(), "{name}: {w:?}");
        }
    }
}
