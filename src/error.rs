//! Typed errors of the library. The gate maps them to MCP tool results (`isError: true`).

use thiserror::Error;

/// A bad argument: found before any AWS call.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ArgError {
    /// The arguments break the tool's input schema (type, required, enum, pattern, size...).
    #[error("Invalid argument `{field}`: {problem}")]
    Schema { field: String, problem: String },
    /// The arguments break an AWS rule that the schema cannot state.
    #[error("Invalid argument `{field}`: {problem}")]
    Rule { field: String, problem: String },
    /// Schema-valid arguments that still could not be read (should not happen).
    #[error("Invalid arguments for {tool}: {message}")]
    Shape { tool: &'static str, message: String },
    /// The whole argument object is too large.
    #[error("Invalid arguments: {size} bytes given, at most {max} bytes are accepted")]
    TooLarge { size: usize, max: usize },
    /// `arguments` was not a JSON object.
    #[error("Invalid arguments: expected a JSON object of named parameters, got {got}")]
    NotAnObject { got: &'static str },
}

impl ArgError {
    pub fn rule(field: impl Into<String>, problem: impl Into<String>) -> Self {
        ArgError::Rule {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// A failure while running a tool's handler.
#[derive(Debug, Error)]
pub enum ToolError {
    /// AWS (or the endpoint in its place) answered with an error, or could not be reached.
    #[error("{}", aws_message(.code, .message, .request_id.as_deref(), .operation))]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
        request_id: Option<String>,
        /// Whether the request reached AWS. Only `No` (connect failure, no credentials, request
        /// never built) gives the rate-limit slot back; `Unknown` (sent, then the connection
        /// failed or timed out) may have changed something and keeps it.
        reached: Reached,
    },
    /// A rule discovered while handling (for example a value the API would reject).
    #[error(transparent)]
    Arg(#[from] ArgError),
    /// The service answered, but not with what its API documents (a list item of another
    /// shape, a list that is not one): reported, never dropped or read as empty.
    #[error("{operation}: unexpected answer: {detail}")]
    UnexpectedAnswer {
        operation: &'static str,
        detail: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

fn aws_message(code: &str, message: &str, request_id: Option<&str>, operation: &str) -> String {
    let rid = request_id.unwrap_or("none");
    if message.is_empty() {
        format!("AWS error {code} from {operation} (request id: {rid})")
    } else {
        format!("AWS error {code} from {operation} (request id: {rid}): {message}")
    }
}

/// Whether a failed request reached AWS (or the broker).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reached {
    /// AWS answered.
    Yes,
    /// Never sent: nothing can have changed.
    No,
    /// Sent, then no answer (connection reset, timeout): it may have been processed.
    Unknown,
}

impl<'de> serde::Deserialize<'de> for Reached {
    /// What [`Reached`]'s serialisation writes: `true`, `false` or `"unknown"`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Bool(bool),
            Text(String),
        }
        match Written::deserialize(d)? {
            Written::Bool(true) => Ok(Reached::Yes),
            Written::Bool(false) => Ok(Reached::No),
            Written::Text(t) if t == "unknown" => Ok(Reached::Unknown),
            Written::Text(t) => Err(serde::de::Error::custom(format!(
                "reached_aws: expected true, false or \"unknown\", got {t:?}"
            ))),
        }
    }
}

impl serde::Serialize for Reached {
    /// `true`, `false` or `"unknown"` in audit records.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Reached::Yes => s.serialize_bool(true),
            Reached::No => s.serialize_bool(false),
            Reached::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl ToolError {
    /// Whether the call may have reached AWS: anything but a certain `No` keeps the slot.
    pub fn reached(&self) -> Reached {
        match self {
            ToolError::Aws { reached, .. } => *reached,
            ToolError::UnexpectedAnswer { .. } => Reached::Yes,
            ToolError::Arg(_) | ToolError::Internal(_) => Reached::No,
        }
    }
}

/// A policy file that cannot be used. Each error carries its location in the file.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("{location}: {message}")]
pub struct PolicyError {
    pub location: String,
    pub message: String,
}

impl PolicyError {
    pub fn new(location: impl Into<String>, message: impl std::fmt::Display) -> Self {
        PolicyError {
            location: location.into(),
            message: message.to_string(),
        }
    }
}

/// All the errors of one policy file.
#[derive(Debug, Error, Clone, PartialEq)]
#[error("invalid policy {source_name}: {}", .errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct PolicyErrors {
    pub source_name: String,
    pub errors: Vec<PolicyError>,
}

/// A policy file that cannot be read, or read but not used: each error on a line of its own,
/// with the file and the location.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PolicyFileError {
    #[error("policy {0}")]
    Input(#[from] crate::input::InputError),
    #[error("{}", lines(.0))]
    Invalid(PolicyErrors),
}

fn lines(e: &PolicyErrors) -> String {
    e.errors
        .iter()
        .map(|err| {
            let message: Vec<&str> = err
                .message
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            format!("{}: {}: {}", e.source_name, err.location, message.join(" "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}
