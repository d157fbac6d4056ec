//! The tools reference (`docs/tools.md`), written from the catalogue: every tool with its
//! family, risk class, MCP annotations, the AWS API and IAM actions it uses, and its arguments
//! as its input schema declares them. A unit test keeps the file in step with the catalogue.

use std::fmt::Write as _;

use serde_json::{Map, Value};

use super::Catalogue;

/// The reference as Markdown.
pub fn markdown(catalogue: &Catalogue) -> String {
    let mut out = String::new();
    out.push_str(
        "# Tools reference\n\n\
         Generated from the tool catalogue by `guarded-aws-mcp tools --markdown`; a test fails \
         when this file and the catalogue differ. How to use them: [using the tools](using-the-tools.md); \
         how a policy names them: [policies](policies.md).\n\n",
    );
    let mut families: Vec<&str> = Vec::new();
    for t in catalogue.iter() {
        if !families.contains(&t.family) {
            families.push(t.family);
        }
    }
    let _ = writeln!(out, "{} tools:\n", catalogue.len());
    out.push_str("| family | tools |\n|---|---:|\n");
    for f in &families {
        let n = catalogue.iter().filter(|t| t.family == *f).count();
        let _ = writeln!(out, "| [{f}](#{}) | {n} |", slug(f));
    }
    for f in &families {
        let _ = write!(out, "\n## {f}\n\n");
        out.push_str("| tool | class | AWS API |\n|---|---|---|\n");
        for t in catalogue.iter().filter(|t| t.family == *f) {
            let _ = writeln!(
                out,
                "| [`{}`](#{}) | {} | {} |",
                t.name,
                slug(t.name),
                t.class,
                cell(t.aws_api)
            );
        }
        for t in catalogue.iter().filter(|t| t.family == *f) {
            let _ = write!(out, "\n### {}\n\n{}\n\n", t.name, t.description);
            let a = t.annotations();
            let mut hints = Vec::new();
            for (on, name) in [
                (a.read_only_hint, "readOnly"),
                (a.destructive_hint, "destructive"),
                (a.idempotent_hint, "idempotent"),
                (a.open_world_hint, "openWorld"),
            ] {
                if on == Some(true) {
                    hints.push(name);
                }
            }
            let _ = writeln!(
                out,
                "- class: `{}`; hints: {}",
                t.class,
                if hints.is_empty() {
                    "none".to_string()
                } else {
                    hints.join(", ")
                }
            );
            let actions = t.aws_actions();
            if actions.is_empty() {
                out.push_str("- IAM actions: none (no AWS call)\n");
            } else {
                let list: Vec<String> = actions.iter().map(|a| format!("`{a}`")).collect();
                let _ = writeln!(out, "- IAM actions: {}", list.join(", "));
            }
            out.push('\n');
            arguments(&mut out, &t.input_schema);
        }
    }
    out
}

/// The arguments table of one input schema.
fn arguments(out: &mut String, schema: &Map<String, Value>) {
    let props = schema.get("properties").and_then(Value::as_object);
    let Some(props) = props.filter(|p| !p.is_empty()) else {
        out.push_str("No arguments.\n");
        return;
    };
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let defs = schema.get("$defs").and_then(Value::as_object);
    out.push_str("| argument | type | required | description |\n|---|---|---|---|\n");
    for (name, p) in props {
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} | {} |",
            cell(&type_of(p, defs)),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            },
            cell(&description_of(p, defs))
        );
    }
}

/// The schema a `$ref` names, within the tool's own `$defs`.
fn resolve<'a>(v: &'a Value, defs: Option<&'a Map<String, Value>>) -> Option<(&'a str, &'a Value)> {
    let r = v.get("$ref")?.as_str()?;
    let name = r.strip_prefix("#/$defs/")?;
    Some((name, defs?.get(name)?))
}

fn type_of(v: &Value, defs: Option<&Map<String, Value>>) -> String {
    if let Some((name, def)) = resolve(v, defs) {
        return match def.get("enum").and_then(Value::as_array) {
            Some(values) => enum_list(values),
            None => name.to_string(),
        };
    }
    if let Some(values) = v.get("enum").and_then(Value::as_array) {
        return enum_list(values);
    }
    if let Some(alts) = v.get("anyOf").and_then(Value::as_array) {
        let parts: Vec<String> = alts
            .iter()
            .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
            .map(|a| type_of(a, defs))
            .collect();
        return parts.join(" or ");
    }
    let base = match v.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".to_string(),
    };
    if let Some(items) = v.get("items").filter(|_| base == "array") {
        return format!("array of {}", type_of(items, defs));
    }
    base
}

fn enum_list(values: &[Value]) -> String {
    let names: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => format!("`{s}`"),
            other => format!("`{other}`"),
        })
        .collect();
    format!("one of {}", names.join(", "))
}

fn description_of(v: &Value, defs: Option<&Map<String, Value>>) -> String {
    let own = v.get("description").and_then(Value::as_str);
    let referred = || {
        resolve(v, defs)
            .or_else(|| {
                v.get("anyOf")
                    .and_then(Value::as_array)
                    .and_then(|alts| alts.iter().find_map(|a| resolve(a, defs)))
            })
            .and_then(|(_, d)| d.get("description").and_then(Value::as_str))
    };
    own.or_else(referred).unwrap_or_default().to_string()
}

/// Text made safe for one Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// The anchor GitHub gives a heading.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}
