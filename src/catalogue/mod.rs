//! The tool catalogue: every tool the server offers, with its risk class, MCP annotations,
//! the AWS API it calls, its input/output JSON schemas and its handler.
//!
//! A tool family (Amazon MQ, later IAM, RabbitMQ) is a module that returns a `Vec<ToolSpec>`
//! built with [`tool`]; the gate, the policy checker and the server read only this catalogue.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub mod guard;
mod portable;
pub mod reference;
pub use portable::{make_portable, problems, title};

use crate::aws::AwsClients;
use crate::error::{ArgError, ToolError};

/// What an argument holds that the IAM guard reads: a tool's entry names each such argument
/// (`with_documents`), and the catalogue refuses a PolicyDocument argument it does not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    /// An identity policy document (inline user, role or group policy).
    Identity,
    /// A role's trust (assume-role) policy document.
    Trust,
    /// The ARN of a managed policy to attach: the guard also reads its default version's
    /// document and checks it as an identity policy.
    ManagedPolicyArn,
    /// The name of a group a user joins: the guard reads the group's attached and inline
    /// policies and checks each as if attached to the user.
    GroupMembership,
}

/// How much harm a tool can do; policies give defaults per class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RiskClass {
    /// Reads state; changes nothing.
    Read,
    /// Creates or changes resources.
    Write,
    /// Deletes resources or data.
    Destructive,
    /// Starts an operation or job (reboot, failover, policy generation).
    Execute,
}

impl RiskClass {
    pub const ALL: [RiskClass; 4] = [
        RiskClass::Read,
        RiskClass::Write,
        RiskClass::Destructive,
        RiskClass::Execute,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RiskClass::Read => "read",
            RiskClass::Write => "write",
            RiskClass::Destructive => "destructive",
            RiskClass::Execute => "execute",
        }
    }
}

impl fmt::Display for RiskClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State a family keeps per MCP session (the RabbitMQ family's connections and credentials):
/// told when a session ends, so that nothing of it outlives the session.
pub trait SessionState: Any + Send + Sync {
    fn session_ended(&self, session: &str);
}

/// State the tool families keep for the server's life, by type: the core never names a
/// family's types. Cloned per call (one reference count).
#[derive(Clone, Default)]
pub struct Extensions {
    inner: Arc<ExtensionsInner>,
}

#[derive(Clone, Default)]
struct ExtensionsInner {
    by_type: std::collections::HashMap<std::any::TypeId, Arc<dyn Any + Send + Sync>>,
    sessions: Vec<Arc<dyn SessionState>>,
}

impl Extensions {
    fn inner_mut(&mut self) -> &mut ExtensionsInner {
        // Built at start-up, before clones are handed out (a shared one is copied).
        Arc::make_mut(&mut self.inner)
    }

    pub fn with<T: Any + Send + Sync>(mut self, value: Arc<T>) -> Self {
        self.inner_mut()
            .by_type
            .insert(std::any::TypeId::of::<T>(), value);
        self
    }

    /// State kept per session: reachable by type, and told when a session ends.
    pub fn with_session_state<T: SessionState>(mut self, value: Arc<T>) -> Self {
        let inner = self.inner_mut();
        inner
            .by_type
            .insert(std::any::TypeId::of::<T>(), value.clone());
        inner.sessions.push(value);
        self
    }

    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.inner
            .by_type
            .get(&std::any::TypeId::of::<T>())
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }

    /// A session ended: every family forgets what it kept for it.
    pub fn session_ended(&self, session: &str) {
        for s in &self.inner.sessions {
            s.session_ended(session);
        }
    }
}

/// What a handler receives besides its arguments.
#[derive(Clone)]
pub struct ToolContext {
    pub aws: Arc<AwsClients>,
    /// The tool families' own state (see [`Extensions`]).
    pub extensions: Extensions,
    /// The AWS API operation of the tool being run (`mq:CreateBroker`), written once, in the
    /// catalogue entry.
    pub operation: &'static str,
    /// The MCP session the call belongs to.
    pub session: Arc<str>,
    /// The deciding policy rule allows secrets (a new secret access key) in the result.
    pub reveal_secrets: bool,
    /// The IAM role the call runs as, when the caller acts as its own role (`--aws-roles`);
    /// None when it runs with the server's own credentials.
    pub acting_as: Option<Arc<str>>,
    /// Tags the policy adds to what the tool creates (`tag_on_create`, templates filled in);
    /// they win over tags of the same key in the arguments.
    pub add_tags: Arc<BTreeMap<String, String>>,
    /// Progress notifications to the client (when it sent a progress token), and whether it
    /// cancelled the call: for tools that wait on long AWS work.
    pub progress: Progress,
}

/// Where a long call reports its progress (`notifications/progress`, when the client asked
/// for it with a progress token), and the client's cancellation (`notifications/cancelled`).
#[derive(Clone, Default)]
pub struct Progress {
    to: Option<(rmcp::Peer<rmcp::RoleServer>, rmcp::model::ProgressToken)>,
    /// A call run as an MCP task reports as the task's status message.
    task: Option<rmcp::task_manager::TaskContext>,
    pub cancelled: tokio_util::sync::CancellationToken,
}

impl fmt::Debug for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Progress")
            .field("token", &self.to.as_ref().map(|(_, t)| t))
            .finish_non_exhaustive()
    }
}

impl Progress {
    pub fn new(
        peer: rmcp::Peer<rmcp::RoleServer>,
        token: Option<rmcp::model::ProgressToken>,
        cancelled: tokio_util::sync::CancellationToken,
    ) -> Self {
        Progress {
            to: token.map(|t| (peer, t)),
            task: None,
            cancelled,
        }
    }

    /// The progress of a call run as an MCP task: its status message.
    pub fn for_task(
        task: rmcp::task_manager::TaskContext,
        cancelled: tokio_util::sync::CancellationToken,
    ) -> Self {
        Progress {
            to: None,
            task: Some(task),
            cancelled,
        }
    }

    /// Tell the client how far the call is (`done` of `total`, with a message). Nothing when
    /// it sent no progress token; a notification that cannot be sent is dropped.
    pub async fn report(&self, done: f64, total: f64, message: String) {
        if let Some(task) = &self.task {
            task.set_status_message(message.clone());
        }
        if let Some((peer, token)) = &self.to {
            let n = rmcp::model::ProgressNotificationParam::new(token.clone(), done)
                .with_total(total)
                .with_message(message);
            if let Err(e) = peer.notify_progress(n).await {
                tracing::debug!(error = %e, "progress notification not sent");
            }
        }
    }
}

impl ToolContext {
    /// `tags` with the policy's `tag_on_create` tags added over them (theirs win).
    pub fn with_added_tags(
        &self,
        tags: Option<std::collections::HashMap<String, String>>,
    ) -> Option<std::collections::HashMap<String, String>> {
        if self.add_tags.is_empty() {
            return tags;
        }
        let mut tags = tags.unwrap_or_default();
        for (k, v) in self.add_tags.iter() {
            tags.insert(k.clone(), v.clone());
        }
        Some(tags)
    }

    /// An SDK error of this tool's operation, with the AWS error code and request id.
    pub fn aws_error<E>(
        &self,
        err: aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> ToolError
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
    {
        crate::aws::aws_error(self.operation, err)
    }
}

/// Arguments that passed the schema: deserialised once by the gate, handed to the handler.
pub type Prepared = Box<dyn Any + Send>;
type PrepareFn = dyn Fn(&Value) -> Result<Prepared, ArgError> + Send + Sync;
type HandlerFn =
    dyn Fn(ToolContext, Prepared) -> BoxFuture<'static, Result<Value, ToolError>> + Send + Sync;

/// AWS rules on arguments that a JSON schema cannot state (cross-field rules and the like).
/// Field patterns and sizes belong in the schema, through `#[schemars(...)]` attributes.
pub trait CheckArgs {
    fn check(&self) -> Result<(), ArgError> {
        Ok(())
    }
}

/// One tool of the catalogue.
pub struct ToolSpec {
    pub name: &'static str,
    /// The family the tool belongs to (`Amazon MQ`), set when the family's tools are listed.
    pub family: &'static str,
    pub description: &'static str,
    pub class: RiskClass,
    /// The AWS API operation(s) the handler calls, for example `mq:CreateBroker`.
    pub aws_api: &'static str,
    pub idempotent: bool,
    /// Destructive hint for MCP clients (true for destructive tools and disruptive executes).
    pub destructive_hint: bool,
    pub input_schema: Arc<JsonObject>,
    pub output_schema: Arc<JsonObject>,
    /// Parameter paths (dotted) that the input schema declares, with their JSON types: the
    /// policy checker uses them.
    pub params: BTreeMap<String, Vec<String>>,
    /// Arguments that carry IAM policy documents or managed-policy ARNs, for the IAM guard.
    pub documents: Vec<(&'static str, DocKind)>,
    /// Every AWS action the handler may need (see [`ToolSpec::aws_actions`]), worked out when
    /// the entry is built.
    actions: Vec<&'static str>,
    /// The first request the handler makes, named for metrics and spans (worked out when the
    /// entry is built, not per call).
    pub api: ApiCall,
    /// The existing resource the tool acts on, for `resource.*` policy conditions.
    pub target: Option<crate::resource::Target>,
    /// The tool creates a resource that takes tags (`tag_on_create` adds the policy's).
    pub creates_tagged: bool,
    /// Why an argument or result type has no object schema: [`Catalogue::new`] refuses the tool.
    schema_problem: Option<String>,
    prepare: Arc<PrepareFn>,
    handler: Arc<HandlerFn>,
}

impl fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("class", &self.class)
            .field("aws_api", &self.aws_api)
            .finish_non_exhaustive()
    }
}

impl ToolSpec {
    pub fn annotations(&self) -> ToolAnnotations {
        ToolAnnotations::with_title(portable::title(self.name))
            .read_only(self.class == RiskClass::Read)
            .destructive(self.destructive_hint)
            .idempotent(self.idempotent)
            .open_world(true)
    }

    /// The MCP `Tool` description of this tool.
    pub fn to_mcp(&self) -> Tool {
        let title = portable::title(self.name);
        Tool::new(self.name, self.description, self.input_schema.clone())
            .with_raw_output_schema(self.output_schema.clone())
            .with_title(title.clone())
            .with_annotations(self.annotations())
    }

    /// Deserialise schema-valid arguments and apply the tool's AWS rules.
    pub fn prepare(&self, args: &Value) -> Result<Prepared, ArgError> {
        (self.prepare)(args)
    }

    /// Run the handler. Only the gate calls this.
    pub(crate) fn run(
        &self,
        ctx: ToolContext,
        prepared: Prepared,
    ) -> BoxFuture<'static, Result<Value, ToolError>> {
        (self.handler)(ctx, prepared)
    }
}

/// Static facts about a tool, given to [`tool`] by name: a catalogue entry reads
/// `tool(ToolInfo { name, class, aws_api, idempotent, description }, handler)`.
pub struct ToolInfo {
    pub name: &'static str,
    pub description: &'static str,
    pub class: RiskClass,
    pub aws_api: &'static str,
    pub idempotent: bool,
}

/// Build a catalogue entry from typed arguments `A`, a typed result `O` and an async handler.
pub fn tool<A, O, F, Fut>(info: ToolInfo, handler: F) -> ToolSpec
where
    A: DeserializeOwned + JsonSchema + CheckArgs + Send + 'static,
    O: Serialize + JsonSchema + 'static,
    F: Fn(ToolContext, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
{
    let input = schema_object::<A>(SchemaSettings::draft2020_12());
    let output = schema_object::<O>(SchemaSettings::draft2020_12().for_serialize());
    let schema_problem = input.as_ref().err().or(output.as_ref().err()).cloned();
    let input_schema = input.unwrap_or_default();
    let output_schema = output.unwrap_or_default();
    let params = schema_params(&input_schema);
    let name = info.name;
    let prepare = move |args: &Value| -> Result<Prepared, ArgError> {
        let typed = A::deserialize(args).map_err(|e| ArgError::Shape {
            tool: name,
            message: e.to_string(),
        })?;
        typed.check()?;
        Ok(Box::new(typed))
    };
    let handler = Arc::new(handler);
    let run = move |ctx: ToolContext,
                    prepared: Prepared|
          -> BoxFuture<'static, Result<Value, ToolError>> {
        let handler = handler.clone();
        Box::pin(async move {
            let args = prepared
                .downcast::<A>()
                .map_err(|_| ToolError::Internal(format!("argument type mismatch in {name}")))?;
            let out = handler(ctx, *args).await?;
            serde_json::to_value(out).map_err(|e| ToolError::Internal(e.to_string()))
        })
    };
    ToolSpec {
        name: info.name,
        family: "",
        description: info.description,
        class: info.class,
        aws_api: info.aws_api,
        idempotent: info.idempotent,
        destructive_hint: matches!(info.class, RiskClass::Destructive),
        input_schema,
        output_schema,
        params,
        documents: Vec::new(),
        actions: api_actions(info.aws_api),
        api: ApiCall::of(info.aws_api),
        target: None,
        creates_tagged: false,
        schema_problem,
        prepare: Arc::new(prepare),
        handler: Arc::new(run),
    }
}

impl ToolSpec {
    /// Mark a tool as disruptive for MCP clients (reboot, failover) without making it destructive.
    pub fn disruptive(mut self) -> Self {
        self.destructive_hint = true;
        self
    }

    /// Name the arguments that carry IAM policy documents or managed-policy ARNs.
    pub fn with_documents(mut self, docs: &[(&'static str, DocKind)]) -> Self {
        self.documents = docs.to_vec();
        self
    }

    /// The existing resource the tool acts on (policy conditions on `resource.*` see it).
    pub fn targets(mut self, target: crate::resource::Target) -> Self {
        self.target = Some(target);
        self
    }

    /// The tool creates a resource that takes tags: the policy's `tag_on_create` tags are
    /// added to it (the handler reads them from [`ToolContext::add_tags`]).
    pub fn tags_what_it_creates(mut self) -> Self {
        self.creates_tagged = true;
        self
    }

    /// Name the AWS actions the handler calls besides its main operation (a get that also
    /// lists attached policies, a delete that first detaches them).
    pub fn also_calls(mut self, actions: &'static [&'static str]) -> Self {
        for a in actions {
            if !self.actions.contains(a) {
                self.actions.push(a);
            }
        }
        self
    }

    /// Every IAM action the handler may need (`mq:DescribeBroker`, `iam:GetUser`, ...): the
    /// ones `aws_api` names and those of [`ToolSpec::also_calls`]. Empty for a tool that calls
    /// no AWS API (the RabbitMQ management tools). Per-tool session policies allow exactly these.
    pub fn aws_actions(&self) -> &[&'static str] {
        &self.actions
    }
}

/// The first request an `aws_api` text names: an AWS operation (`mq:CreateBroker` → system
/// `aws-api`, service `mq`, method `CreateBroker`) or an HTTP request (`GET /api/overview` →
/// system and service `http`, which the tool's family names: `tools::Family::http_api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiCall {
    pub system: &'static str,
    pub service: &'static str,
    pub method: &'static str,
}

impl ApiCall {
    pub fn of(aws_api: &'static str) -> ApiCall {
        let first = aws_api.split(['+', ',']).next().unwrap_or(aws_api).trim();
        match first.split_once(':') {
            Some((service, method)) if !service.contains(' ') => ApiCall {
                system: "aws-api",
                service,
                method,
            },
            _ => ApiCall {
                system: "http",
                service: "http",
                method: first,
            },
        }
    }
}

/// The IAM actions an `aws_api` text names: every `service:Action` token, whatever the
/// service (`mq:DescribeBroker + GET /api/overview` names one; `iam:PutUserPolicy,
/// iam:PutRolePolicy` two). A management-API request (`GET /api/overview`) is none.
fn api_actions(aws_api: &'static str) -> Vec<&'static str> {
    aws_api
        .split([',', '+', ' '])
        .filter(|t| {
            t.split_once(':').is_some_and(|(svc, action)| {
                !svc.is_empty()
                    && svc
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && action.starts_with(|c: char| c.is_ascii_uppercase())
                    && action.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .collect()
}

/// The schema of `T`, which must describe a JSON object (MCP's arguments and structured
/// results are objects); else why not. A type whose schema is `true` or `{}` would accept
/// anything: the catalogue refuses such a tool, it never lists it.
fn schema_object<T: JsonSchema>(settings: SchemaSettings) -> Result<Arc<JsonObject>, String> {
    let schema = settings.into_generator().into_root_schema_for::<T>();
    let mut value = schema.to_value();
    portable::make_portable(&mut value);
    let mut object = match value {
        Value::Object(o) if o.get("type").and_then(Value::as_str) == Some("object") => o,
        other => {
            return Err(format!(
                "the schema of {} is {other}, not an object's",
                T::schema_name()
            ));
        }
    };
    object.remove("title");
    object.remove("description");
    Ok(Arc::new(object))
}

/// The dotted parameter paths an input schema declares (objects are followed, through `$ref`),
/// each with the JSON types it may hold.
fn schema_params(schema: &JsonObject) -> BTreeMap<String, Vec<String>> {
    fn resolve<'a>(node: &'a Value, defs: &'a JsonObject) -> &'a Value {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => r
                .strip_prefix("#/$defs/")
                .and_then(|n| defs.get(n))
                .unwrap_or(node),
            None => node,
        }
    }
    fn types(node: &Value, defs: &JsonObject, out: &mut Vec<String>, depth: usize) {
        let node = resolve(node, defs);
        match node.get("type") {
            Some(Value::String(t)) => out.push(t.clone()),
            Some(Value::Array(ts)) => {
                out.extend(ts.iter().filter_map(Value::as_str).map(str::to_string))
            }
            _ => {}
        }
        if node.get("enum").is_some() && node.get("type").is_none() {
            out.push("string".into());
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(items) = node.get(key).and_then(Value::as_array)
                && depth < 8
            {
                for item in items {
                    types(item, defs, out, depth + 1);
                }
            }
        }
    }
    fn walk(
        node: &Value,
        defs: &JsonObject,
        prefix: &str,
        out: &mut BTreeMap<String, Vec<String>>,
        depth: usize,
    ) {
        if depth > 8 {
            return;
        }
        let node = resolve(node, defs);
        if let Some(props) = node.get("properties").and_then(Value::as_object) {
            for (k, v) in props {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                let mut ts = Vec::new();
                types(v, defs, &mut ts, 0);
                ts.retain(|t| t != "null");
                ts.sort();
                ts.dedup();
                out.insert(path.clone(), ts);
                walk(v, defs, &path, out, depth + 1);
            }
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(items) = node.get(key).and_then(Value::as_array) {
                for item in items {
                    walk(item, defs, prefix, out, depth + 1);
                }
            }
        }
    }
    let empty = JsonObject::new();
    let defs = schema
        .get("$defs")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = BTreeMap::new();
    walk(&Value::Object(schema.clone()), defs, "", &mut out, 0);
    out
}

/// The top-level arguments whose schema is an IAM `PolicyDocument` (the IAM family's guard type).
fn document_fields(schema: &JsonObject) -> Vec<String> {
    let is_document = |v: &Value| {
        v.to_string()
            .contains("\"$ref\":\"#/$defs/PolicyDocument\"")
    };
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(_, v)| is_document(v))
                .map(|(k, _)| k.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// Why a list of tools does not make a catalogue: a bug of the build that lists them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error("two tools are named `{0}`")]
    DuplicateName(&'static str),
    #[error("tool `{tool}`: {problem}")]
    Schema { tool: &'static str, problem: String },
    #[error(
        "tool `{tool}`: argument `{field}` is a PolicyDocument the IAM guard does not check (add it with `with_documents`)"
    )]
    UnguardedDocument { tool: &'static str, field: String },
}

/// Every tool the server offers, by name.
pub struct Catalogue {
    tools: BTreeMap<&'static str, Arc<ToolSpec>>,
}

impl Catalogue {
    /// A catalogue of these tools; two tools of one name are an error, never a silent drop.
    pub fn new(specs: Vec<ToolSpec>) -> Result<Self, CatalogueError> {
        let mut tools = BTreeMap::new();
        for s in specs {
            let name = s.name;
            if let Some(problem) = &s.schema_problem {
                return Err(CatalogueError::Schema {
                    tool: name,
                    problem: problem.clone(),
                });
            }
            // An IAM policy document the guard does not see cannot be written.
            for field in document_fields(&s.input_schema) {
                if !s.documents.iter().any(|(f, _)| *f == field) {
                    return Err(CatalogueError::UnguardedDocument { tool: name, field });
                }
            }
            if tools.insert(name, Arc::new(s)).is_some() {
                return Err(CatalogueError::DuplicateName(name));
            }
        }
        Ok(Catalogue { tools })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ToolSpec>> {
        self.tools.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ToolSpec>> {
        self.tools.values()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.tools.keys().copied()
    }

    pub fn len(&self) -> usize {
        self.tools.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A family's per-session state hears of every session that ends, through any clone of
    /// the extensions (the gate hands one to each call), and stays reachable by its type.
    #[test]
    fn session_state_is_told_when_a_session_ends() {
        #[derive(Default)]
        struct Kept(std::sync::Mutex<Vec<String>>);
        impl SessionState for Kept {
            fn session_ended(&self, session: &str) {
                self.0.lock().unwrap().push(session.to_string());
            }
        }
        let kept = Arc::new(Kept::default());
        let x = Extensions::default().with_session_state(kept.clone());
        let per_call = x.clone();
        x.session_ended("s-1");
        per_call.session_ended("s-2");
        assert_eq!(*kept.0.lock().unwrap(), ["s-1", "s-2"]);
        assert!(Arc::ptr_eq(&per_call.get::<Kept>().unwrap(), &kept));
    }

    /// Arguments whose schema is `true`: anything.
    #[derive(Deserialize, JsonSchema)]
    #[serde(transparent)]
    #[schemars(transparent)]
    struct Anything(#[allow(dead_code)] Value);
    impl CheckArgs for Anything {}

    /// A tool whose arguments have no object schema is refused, never listed with `{}`
    /// (which every client would read as "any arguments").
    #[test]
    fn a_tool_without_an_object_schema_is_refused() {
        let spec = tool::<Anything, Value, _, _>(
            ToolInfo {
                name: "anything",
                class: RiskClass::Read,
                aws_api: "mq:ListBrokers",
                idempotent: true,
                description: "any",
            },
            |_ctx, _args| async { Ok(Value::Null) },
        );
        match Catalogue::new(vec![spec]) {
            Err(CatalogueError::Schema { tool, problem }) => {
                assert_eq!(tool, "anything");
                assert!(problem.contains("not an object's"), "{problem}");
            }
            Err(e) => panic!("another error: {e}"),
            Ok(_) => panic!("a tool that accepts anything was catalogued"),
        }
    }

    #[test]
    fn services_are_named_from_the_api_text() {
        assert_eq!(ApiCall::of("mq:CreateBroker").service, "mq");
        assert_eq!(ApiCall::of("mq:CreateBroker").method, "CreateBroker");
        assert_eq!(
            ApiCall::of("iam:PutUserPolicy, iam:PutRolePolicy").service,
            "iam"
        );
        assert_eq!(
            ApiCall::of("access-analyzer:StartPolicyGeneration").service,
            "access-analyzer"
        );
        let http = ApiCall::of("GET /api/overview");
        assert_eq!(
            (http.system, http.service, http.method),
            ("http", "http", "GET /api/overview")
        );
        assert_eq!(
            ApiCall::of("mq:DescribeBroker + GET /api/overview").service,
            "mq"
        );
    }
}
