//! Argument validation against each tool's JSON input schema (types, required fields, enums,
//! unknown fields, AWS name patterns and sizes), with errors that name the field, what was
//! given (never for secrets) and what is allowed.

use std::collections::HashMap;
use std::io;

use serde_json::{Map, Value};

use crate::audit::{is_secret_key, redact};
use crate::catalogue::{Catalogue, ToolSpec};
use crate::error::ArgError;

/// Largest argument object accepted, serialised.
pub const MAX_ARGS_BYTES: usize = 256 * 1024;

struct Compiled {
    validator: jsonschema::Validator,
    defaults: Map<String, Value>,
    allowed: Vec<String>,
}

/// Compiled validators for every tool of a catalogue.
pub struct ArgValidator {
    tools: HashMap<&'static str, Compiled>,
}

struct CountingWriter(usize);
impl io::Write for CountingWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn serialized_len(v: &Value) -> usize {
    let mut w = CountingWriter(0);
    let _ = serde_json::to_writer(&mut w, v);
    w.0
}

/// A tool's input schema that does not compile: a bug of this build.
#[derive(Debug, Clone, thiserror::Error)]
#[error("input schema of {tool} does not compile: {problem}")]
pub struct SchemaError {
    pub tool: &'static str,
    pub problem: String,
}

impl ArgValidator {
    /// Compile every tool's input schema. A schema that does not compile is a bug of this
    /// build, reported as an error naming the tool.
    pub fn new(catalogue: &Catalogue) -> Result<Self, SchemaError> {
        let mut tools = HashMap::new();
        for spec in catalogue.iter() {
            let schema = Value::Object(spec.input_schema.as_ref().clone());
            let validator = jsonschema::validator_for(&schema).map_err(|e| SchemaError {
                tool: spec.name,
                problem: e.to_string(),
            })?;
            let props = spec
                .input_schema
                .get("properties")
                .and_then(Value::as_object);
            let defaults = props
                .map(|p| {
                    p.iter()
                        .filter_map(|(k, v)| {
                            v.get("default")
                                .filter(|d| !d.is_null())
                                .map(|d| (k.clone(), d.clone()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            let allowed = props
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            tools.insert(
                spec.name,
                Compiled {
                    validator,
                    defaults,
                    allowed,
                },
            );
        }
        Ok(ArgValidator { tools })
    }

    /// Check `args` for `tool`; on success, return them with the schema's defaults filled in.
    pub fn validate(&self, tool: &ToolSpec, args: Value) -> Result<Value, ArgError> {
        let size = serialized_len(&args);
        if size > MAX_ARGS_BYTES {
            return Err(ArgError::TooLarge {
                size,
                max: MAX_ARGS_BYTES,
            });
        }
        let got = match &args {
            Value::Object(_) => None,
            Value::Null => Some("null"),
            Value::Bool(_) => Some("a boolean"),
            Value::Number(_) => Some("a number"),
            Value::String(_) => Some("a string"),
            Value::Array(_) => Some("an array"),
        };
        if let Some(got) = got {
            return Err(ArgError::NotAnObject { got });
        }
        let Some(compiled) = self.tools.get(tool.name) else {
            return Err(ArgError::Shape {
                tool: tool.name,
                message: "no validator for this tool".into(),
            });
        };
        if let Err(error) = compiled.validator.validate(&args) {
            return Err(describe(&error, &compiled.allowed));
        }
        let mut args = args;
        if let Some(map) = args.as_object_mut() {
            for (k, v) in &compiled.defaults {
                map.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        Ok(args)
    }
}

fn pointer_to_field(path: &str) -> String {
    path.trim_start_matches('/')
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

fn shown(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 80 {
        let mut cut = 77;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

fn describe(error: &jsonschema::ValidationError<'_>, allowed: &[String]) -> ArgError {
    use jsonschema::error::ValidationErrorKind as K;
    let field = pointer_to_field(error.instance_path().as_str());
    match error.kind() {
        K::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            let prefix = if field.is_empty() {
                String::new()
            } else {
                format!("{field}.")
            };
            ArgError::Schema {
                field: format!("{prefix}{name}"),
                problem: "is required but was not given".into(),
            }
        }
        K::AdditionalProperties { unexpected } => {
            let prefix = if field.is_empty() {
                String::new()
            } else {
                format!("{field}.")
            };
            let allowed_text = if field.is_empty() {
                format!("; allowed parameters: {}", allowed.join(", "))
            } else {
                String::new()
            };
            ArgError::Schema {
                field: unexpected
                    .iter()
                    .map(|u| format!("{prefix}{u}"))
                    .collect::<Vec<_>>()
                    .join("`, `"),
                problem: format!("unknown parameter{allowed_text}"),
            }
        }
        _ => {
            let secret = field.split('.').any(is_secret_key);
            let mut problem = error.masked_with("the value").to_string();
            if !secret {
                // The value may hold secrets below this field (an `anyOf` over an object).
                problem.push_str(&format!(" (given: {})", shown(&redact(error.instance()))));
            }
            ArgError::Schema {
                field: if field.is_empty() {
                    "arguments".into()
                } else {
                    field
                },
                problem,
            }
        }
    }
}
