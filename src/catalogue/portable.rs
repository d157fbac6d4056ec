//! Schemas every common MCP client accepts. The TypeScript SDK validates each tool's schemas
//! (a boolean subschema such as the `true` schemars writes for an untyped JSON value made its
//! `listTools` throw for all 81 tools), and JSON Schema validators warn on formats they do not
//! know (`uint64`, `int32` …). [`make_portable`] rewrites what schemars generates; the test
//! below walks every tool so that a new tool cannot bring either back.

use serde_json::{Map, Value};

/// Formats the common validators (ajv with ajv-formats, Python's jsonschema) know.
pub const PORTABLE_FORMATS: &[&str] = &[
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "uuid",
    "regex",
];

/// Keywords whose value is one schema.
const ONE: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedProperties",
    "unevaluatedItems",
];
/// Keywords whose value is a list of schemas.
const LIST: &[&str] = &["anyOf", "oneOf", "allOf", "prefixItems"];
/// Keywords whose value is a map of schemas.
const MAP: &[&str] = &["properties", "patternProperties", "$defs", "definitions"];

/// Rewrite a schema in place: boolean subschemas become objects (`true` → `{}`, `false` →
/// `{"not": {}}`; `additionalProperties: false` stays, it is a keyword value every client
/// reads), and numeric formats become `minimum` / `maximum`.
pub fn make_portable(schema: &mut Value) {
    let Value::Object(map) = schema else {
        return;
    };
    numeric_format(map);
    for key in ONE {
        if let Some(sub) = map.get_mut(*key) {
            if *key == "additionalProperties" && *sub == Value::Bool(false) {
                continue;
            }
            if *key == "additionalProperties" && *sub == Value::Bool(true) {
                map.remove(*key);
                continue;
            }
            fix(sub);
        }
    }
    for key in LIST {
        if let Some(Value::Array(items)) = map.get_mut(*key) {
            items.iter_mut().for_each(fix);
        }
    }
    for key in MAP {
        if let Some(Value::Object(subs)) = map.get_mut(*key) {
            subs.values_mut().for_each(fix);
        }
    }
}

fn fix(sub: &mut Value) {
    match sub {
        Value::Bool(true) => *sub = Value::Object(Map::new()),
        Value::Bool(false) => *sub = serde_json::json!({"not": {}}),
        _ => make_portable(sub),
    }
}

/// `format: uint32` and the like → `minimum` / `maximum` (JavaScript numbers are exact up to
/// 2^53, so 64-bit types get no maximum).
fn numeric_format(map: &mut Map<String, Value>) {
    let Some(format) = map.get("format").and_then(Value::as_str) else {
        return;
    };
    let (min, max): (Option<i64>, Option<i64>) = match format {
        "uint8" => (Some(0), Some(u8::MAX as i64)),
        "uint16" => (Some(0), Some(u16::MAX as i64)),
        "uint32" => (Some(0), Some(u32::MAX as i64)),
        "uint64" | "uint" | "uint128" => (Some(0), None),
        "int8" => (Some(i8::MIN as i64), Some(i8::MAX as i64)),
        "int16" => (Some(i16::MIN as i64), Some(i16::MAX as i64)),
        "int32" => (Some(i32::MIN as i64), Some(i32::MAX as i64)),
        "int64" | "int" | "int128" | "float" | "double" => (None, None),
        _ => return,
    };
    map.remove("format");
    if let Some(min) = min {
        let tighter = map
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| m >= min as f64);
        if !tighter {
            map.insert("minimum".into(), min.into());
        }
    }
    if let Some(max) = max {
        let tighter = map
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| m <= max as f64);
        if !tighter {
            map.insert("maximum".into(), max.into());
        }
    }
}

/// A human-readable title from a tool name: `create_broker` → "Create broker",
/// `rabbitmq_broker_list_queues` → "RabbitMQ broker list queues".
pub fn title(name: &str) -> String {
    let words: Vec<String> = name
        .split('_')
        .enumerate()
        .map(|(i, w)| match w {
            "rabbitmq" => "RabbitMQ".to_string(),
            "mq" => "MQ".to_string(),
            "iam" => "IAM".to_string(),
            "id" => "ID".to_string(),
            "oauth" => "OAuth".to_string(),
            w if i == 0 => {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect())
                    .unwrap_or_default()
            }
            w => w.to_string(),
        })
        .collect();
    words.join(" ")
}

/// What is not portable in a schema: boolean subschemas and unknown formats, by JSON pointer.
pub fn problems(schema: &Value) -> Vec<String> {
    fn walk(v: &Value, at: String, out: &mut Vec<String>) {
        let Value::Object(map) = v else {
            out.push(format!("{at}: a non-object schema {v}"));
            return;
        };
        if let Some(f) = map.get("format").and_then(Value::as_str)
            && !PORTABLE_FORMATS.contains(&f)
        {
            out.push(format!("{at}: format {f:?}"));
        }
        for key in ONE {
            if let Some(sub) = map.get(*key) {
                if *key == "additionalProperties" && *sub == Value::Bool(false) {
                    continue;
                }
                walk(sub, format!("{at}/{key}"), out);
            }
        }
        for key in LIST {
            if let Some(Value::Array(items)) = map.get(*key) {
                for (i, s) in items.iter().enumerate() {
                    walk(s, format!("{at}/{key}/{i}"), out);
                }
            }
        }
        for key in MAP {
            if let Some(Value::Object(subs)) = map.get(*key) {
                for (k, s) in subs {
                    walk(s, format!("{at}/{key}/{k}"), out);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(schema, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Issue 12 (1): every tool's schemas are portable and every tool has a title.
    #[test]
    fn every_tool_schema_is_portable_and_titled() {
        let catalogue = super::super::Catalogue::builtin();
        let mut bad = Vec::new();
        for spec in catalogue.iter() {
            let tool = spec.to_mcp();
            for (which, schema) in [
                ("input", Value::Object((*tool.input_schema).clone())),
                (
                    "output",
                    Value::Object(tool.output_schema.as_deref().cloned().unwrap_or_default()),
                ),
            ] {
                if schema.get("type") != Some(&json!("object")) {
                    bad.push(format!(
                        "{} {which}: top-level type is not object",
                        spec.name
                    ));
                }
                for p in problems(&schema) {
                    bad.push(format!("{} {which}{p}", spec.name));
                }
            }
            if tool.title.as_deref().is_none_or(str::is_empty) {
                bad.push(format!("{}: no title", spec.name));
            }
        }
        assert!(bad.is_empty(), "{}", bad.join("\n"));
    }

    #[test]
    fn rewrites_booleans_and_numeric_formats() {
        let mut s = json!({"type": "object", "properties": {
            "any": true, "n": {"type": "integer", "format": "uint64", "minimum": 0},
            "m": {"type": ["integer", "null"], "format": "int32"},
            "list": {"type": "array", "items": true}},
            "additionalProperties": false});
        make_portable(&mut s);
        assert!(problems(&s).is_empty(), "{:?}", problems(&s));
        assert_eq!(s["properties"]["any"], json!({}));
        assert_eq!(s["properties"]["m"]["maximum"], json!(i32::MAX));
        assert_eq!(s["additionalProperties"], json!(false));
        assert_eq!(
            title("rabbitmq_broker_list_queues"),
            "RabbitMQ broker list queues"
        );
        assert_eq!(title("create_broker"), "Create broker");
    }
}
