//! RabbitMQ broker administration through the RabbitMQ management HTTP API: the 19 tools of the
//! AWS Labs Amazon MQ server, with the misspelled `rabbimq_*` names corrected.
//!
//! Connections belong to the MCP session (never to the process), credentials live in memory
//! only, every request has a timeout and verifies TLS, and names in URL paths are validated and
//! percent-encoded (`/`, the default vhost, works).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::REGION_PATTERN;
use crate::aws::aws_error;
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolSpec, info, tool};
use crate::error::{ArgError, Reached, ToolError};

const BROKER_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
/// Queue, exchange, vhost and shovel names: 1–255 characters, no control characters.
const NAME: &str = r"^[^\x00-\x1F\x7F]{1,255}$";

/// How a session reaches one broker's management API.
#[derive(Clone)]
struct Connection {
    base: reqwest::Url,
    auth: Auth,
    http: reqwest::Client,
}

#[derive(Clone)]
enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("Connection")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The RabbitMQ connections of every MCP session, by session id. In memory only.
pub struct Connections {
    by_session: Mutex<HashMap<String, Connection>>,
    /// Hosts a connection may send credentials to (globs, case-insensitive).
    allowed_hosts: Vec<globset::GlobMatcher>,
}

/// Where credentials may go unless configured otherwise: loopback, and Amazon MQ brokers.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "localhost",
    "127.*.*.*",
    "::1",
    "[::1]",
    "*.mq.*.amazonaws.com",
    "*.mq.*.amazonaws.com.cn",
    "*.mq.*.on.aws",
];

impl Default for Connections {
    fn default() -> Self {
        let hosts: Vec<String> = DEFAULT_ALLOWED_HOSTS
            .iter()
            .map(|h| h.to_string())
            .collect();
        Connections::with_allowed_hosts(&hosts).unwrap_or_else(|_| Connections {
            by_session: Mutex::default(),
            allowed_hosts: Vec::new(),
        })
    }
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

impl Connections {
    /// Connections that may reach only these management hosts (globs such as
    /// `*.mq.eu-west-1.amazonaws.com`, `rabbit.internal`, `10.0.0.*`).
    pub fn with_allowed_hosts(hosts: &[String]) -> Result<Self, String> {
        let allowed_hosts = hosts
            .iter()
            .map(|h| {
                globset::GlobBuilder::new(&h.to_ascii_lowercase())
                    .literal_separator(false)
                    .build()
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("allowed RabbitMQ host `{h}`: {e}"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Connections {
            by_session: Mutex::default(),
            allowed_hosts,
        })
    }

    /// Refuse a management URL whose host is not allowed, before anything is sent to it.
    fn check_host(&self, url: &reqwest::Url) -> Result<(), ArgError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if self.allowed_hosts.iter().any(|g| g.is_match(&host)) {
            return Ok(());
        }
        Err(ArgError::rule(
            "management_url",
            format!(
                "host `{host}` is not an allowed RabbitMQ management host (by default loopback and Amazon MQ brokers; the server's --rabbitmq-allowed-host adds others), so no credentials were sent"
            ),
        ))
    }

    fn get(&self, session: &str) -> Result<Connection, ToolError> {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session)
            .cloned()
            .ok_or_else(|| {
                ToolError::Arg(ArgError::rule(
                    "connection",
                    "this session has no RabbitMQ connection: call rabbitmq_broker_initialize_connection (or _with_oauth) first",
                ))
            })
    }

    fn set(&self, session: &str, conn: Connection) {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session.to_string(), conn);
    }

    /// Forget a session's connection (when the session ends).
    pub fn remove(&self, session: &str) {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session);
    }
}

fn enc(s: &str) -> String {
    utf8_percent_encode(s, NON_ALPHANUMERIC).to_string()
}

/// A RabbitMQ error or transport failure, as a tool error.
fn http_error(
    operation: &'static str,
    status: Option<StatusCode>,
    message: String,
    reached: Reached,
) -> ToolError {
    ToolError::Aws {
        operation,
        code: match status {
            Some(s) => format!("HTTP{}", s.as_u16()),
            None => "BrokerUnreachable".into(),
        },
        message,
        request_id: None,
        reached,
    }
}

impl Connection {
    fn build(base: &str, auth: Auth, allowed: &Connections) -> Result<Connection, ToolError> {
        let mut base = reqwest::Url::parse(base)
            .map_err(|e| ArgError::rule("management_url", format!("is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(
                ArgError::rule("management_url", "must be an http:// or https:// URL").into(),
            );
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ArgError::rule(
                "management_url",
                "must not carry credentials; pass username and password",
            )
            .into());
        }
        allowed.check_host(&base)?;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| ToolError::Internal(format!("HTTP client: {e}")))?;
        Ok(Connection { base, auth, http })
    }

    /// Send a request to `api/<path>` (path segments already encoded).
    async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
    ) -> Result<(StatusCode, Value), ToolError> {
        // Segment by segment: a name never becomes a dot-segment that climbs the API path.
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| ToolError::Internal("management URL cannot take a path".into()))?;
            segments.pop_if_empty().push("api");
            for seg in path.split('/') {
                let raw = percent_encoding::percent_decode_str(seg).decode_utf8_lossy();
                if raw == "." || raw == ".." {
                    return Err(ArgError::rule(
                        "name",
                        "`.` and `..` are path segments, not RabbitMQ names",
                    )
                    .into());
                }
                segments.push(&raw);
            }
        }
        let req = self.http.request(method, url);
        let req = match &self.auth {
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        let resp = req.send().await.map_err(|e| {
            // A connect failure never reached the broker; anything after it may have.
            let reached = if e.is_connect() {
                Reached::No
            } else {
                Reached::Unknown
            };
            http_error(
                operation,
                None,
                format!("{} unreachable: {}", self.base, e.without_url()),
                reached,
            )
        })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        Ok((status, value))
    }

    /// A request that must succeed (2xx).
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        path: &str,
    ) -> Result<Value, ToolError> {
        let (status, value) = self.send(operation, method, path).await?;
        if status.is_success() {
            return Ok(value);
        }
        let reason = value
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        let message = match status {
            StatusCode::UNAUTHORIZED => format!("the broker refused the credentials: {reason}"),
            StatusCode::NOT_FOUND => format!("not found: {reason}"),
            _ => reason,
        };
        Err(http_error(operation, Some(status), message, Reached::Yes))
    }
}

/// This family's connections, kept in the context's extensions by the server.
fn connections(ctx: &ToolContext) -> Result<std::sync::Arc<Connections>, ToolError> {
    ctx.extensions
        .get::<Connections>()
        .ok_or_else(|| ToolError::Internal("the RabbitMQ connections are not set up".into()))
}

/// A management API request on the session's connection that must succeed (2xx).
async fn api(
    ctx: &ToolContext,
    operation: &'static str,
    method: Method,
    path: &str,
) -> Result<Value, ToolError> {
    connections(ctx)?
        .get(&ctx.session)?
        .call(operation, method, path)
        .await
}

/// Decode a list answer into typed items.
fn items<T: for<'de> Deserialize<'de>>(v: Value) -> Vec<T> {
    match v {
        Value::Array(list) => list
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect(),
        _ => Vec::new(),
    }
}

fn one<T: for<'de> Deserialize<'de>>(operation: &str, v: Value) -> Result<T, ToolError> {
    serde_json::from_value(v)
        .map_err(|e| ToolError::Internal(format!("{operation}: unexpected answer: {e}")))
}

// ---------------------------------------------------------------- connect

/// Arguments of `rabbitmq_broker_initialize_connection`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectArgs {
    /// Amazon MQ broker ID; the management URL is read with DescribeBroker. Or give `management_url`.
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(default)]
    pub broker_id: Option<String>,
    /// Region of the broker; the server's default region when omitted.
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    /// The management API's base URL, for self-hosted or local brokers (`http://127.0.0.1:15672`).
    #[schemars(length(max = 2048))]
    #[serde(default)]
    pub management_url: Option<String>,
    #[schemars(length(min = 1, max = 255))]
    pub username: String,
    /// Secret: kept in memory for this session only; never logged or audited.
    #[schemars(length(min = 1, max = 1024))]
    pub password: String,
}

fn one_target(broker_id: &Option<String>, url: &Option<String>) -> Result<(), ArgError> {
    match (broker_id, url) {
        (Some(_), Some(_)) => Err(ArgError::rule(
            "broker_id",
            "give broker_id or management_url, not both",
        )),
        (None, None) => Err(ArgError::rule(
            "broker_id",
            "give broker_id (Amazon MQ) or management_url",
        )),
        _ => Ok(()),
    }
}

impl CheckArgs for ConnectArgs {
    fn check(&self) -> Result<(), ArgError> {
        one_target(&self.broker_id, &self.management_url)
    }
}

/// Arguments of `rabbitmq_broker_initialize_connection_with_oauth`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectOauthArgs {
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(default)]
    pub broker_id: Option<String>,
    #[schemars(regex(pattern = REGION_PATTERN))]
    #[serde(default)]
    pub region: Option<String>,
    #[schemars(length(max = 2048))]
    #[serde(default)]
    pub management_url: Option<String>,
    /// Secret: an OAuth 2 access token the broker accepts; in memory for this session only.
    #[schemars(length(min = 1, max = 16384))]
    pub oauth_token: String,
}

impl CheckArgs for ConnectOauthArgs {
    fn check(&self) -> Result<(), ArgError> {
        one_target(&self.broker_id, &self.management_url)
    }
}

/// The connection a session now uses.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Connected {
    pub management_url: String,
    pub rabbitmq_version: Option<String>,
    pub cluster_name: Option<String>,
    pub user: Option<String>,
}

async fn resolve_url(
    ctx: &ToolContext,
    broker_id: &Option<String>,
    region: &Option<String>,
    url: &Option<String>,
) -> Result<String, ToolError> {
    if let Some(u) = url {
        return Ok(u.clone());
    }
    let id = broker_id.clone().unwrap_or_default();
    let b = ctx
        .aws
        .mq(region.as_deref())
        .await
        .describe_broker()
        .broker_id(&id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeBroker", e))?;
    if b.engine_type().map(|e| e.as_str()) != Some("RABBITMQ") {
        return Err(
            ArgError::rule("broker_id", format!("broker {id} is not a RabbitMQ broker")).into(),
        );
    }
    b.broker_instances()
        .iter()
        .find_map(|i| i.console_url.clone())
        .ok_or_else(|| {
            ArgError::rule(
                "broker_id",
                format!("broker {id} has no console URL yet (is it RUNNING?)"),
            )
            .into()
        })
}

async fn connect(ctx: &ToolContext, url: String, auth: Auth) -> Result<Connected, ToolError> {
    let rabbit = connections(ctx)?;
    let conn = Connection::build(&url, auth, &rabbit)?;
    let overview = conn
        .call("rabbitmq:GetOverview", Method::GET, "overview")
        .await?;
    let whoami = conn
        .call("rabbitmq:WhoAmI", Method::GET, "whoami")
        .await
        .ok();
    rabbit.set(&ctx.session, conn.clone());
    Ok(Connected {
        management_url: conn.base.to_string(),
        rabbitmq_version: overview
            .get("rabbitmq_version")
            .and_then(Value::as_str)
            .map(str::to_string),
        cluster_name: overview
            .get("cluster_name")
            .and_then(Value::as_str)
            .map(str::to_string),
        user: whoami.and_then(|w| w.get("name").and_then(Value::as_str).map(str::to_string)),
    })
}

async fn initialize_connection(ctx: ToolContext, a: ConnectArgs) -> Result<Connected, ToolError> {
    let url = resolve_url(&ctx, &a.broker_id, &a.region, &a.management_url).await?;
    connect(
        &ctx,
        url,
        Auth::Basic {
            user: a.username,
            password: a.password,
        },
    )
    .await
}

async fn initialize_connection_with_oauth(
    ctx: ToolContext,
    a: ConnectOauthArgs,
) -> Result<Connected, ToolError> {
    let url = resolve_url(&ctx, &a.broker_id, &a.region, &a.management_url).await?;
    connect(&ctx, url, Auth::Bearer(a.oauth_token)).await
}

// ---------------------------------------------------------------- guidelines

/// Arguments of `rabbitmq_broker_get_guideline`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuidelineArgs {
    pub guideline_name: Guideline,
}
impl CheckArgs for GuidelineArgs {}

/// The guidelines this server ships.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Guideline {
    ProductionReadiness,
    QueueTypes,
    Sizing,
    Troubleshooting,
}

/// A guideline text.
#[derive(Debug, Serialize, JsonSchema)]
pub struct GuidelineOut {
    pub name: String,
    pub markdown: String,
}

async fn get_guideline(_ctx: ToolContext, a: GuidelineArgs) -> Result<GuidelineOut, ToolError> {
    let (name, text) = match a.guideline_name {
        Guideline::ProductionReadiness => (
            "production_readiness",
            include_str!("guidelines/production_readiness.md"),
        ),
        Guideline::QueueTypes => ("queue_types", include_str!("guidelines/queue_types.md")),
        Guideline::Sizing => ("sizing", include_str!("guidelines/sizing.md")),
        Guideline::Troubleshooting => (
            "troubleshooting",
            include_str!("guidelines/troubleshooting.md"),
        ),
    };
    Ok(GuidelineOut {
        name: name.into(),
        markdown: text.into(),
    })
}

// ---------------------------------------------------------------- read tools

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}
impl CheckArgs for NoArgs {}

fn default_vhost() -> String {
    "/".into()
}

/// Refuse `.` and `..`: in a URL path they are dot-segments (also percent-encoded), so
/// `vhost: ".."` would climb out of the resource the policy was asked about.
fn check_names(names: &[(&str, &str)]) -> Result<(), ArgError> {
    for (field, value) in names {
        if *value == "." || *value == ".." {
            return Err(ArgError::rule(
                *field,
                format!("`{value}` is a path segment, not a RabbitMQ name"),
            ));
        }
    }
    Ok(())
}

/// A queue.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueArgs {
    #[schemars(regex(pattern = NAME))]
    pub queue: String,
    /// Virtual host; `/` when omitted.
    #[schemars(regex(pattern = NAME))]
    #[serde(default = "default_vhost")]
    pub vhost: String,
}
impl CheckArgs for QueueArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_names(&[("queue", &self.queue), ("vhost", &self.vhost)])
    }
}

/// An exchange.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeArgs {
    #[schemars(regex(pattern = NAME))]
    pub exchange: String,
    /// Virtual host; `/` when omitted.
    #[schemars(regex(pattern = NAME))]
    #[serde(default = "default_vhost")]
    pub vhost: String,
}

impl CheckArgs for ExchangeArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_names(&[("exchange", &self.exchange), ("vhost", &self.vhost)])?;
        if self.exchange.starts_with("amq.") {
            return Err(ArgError::rule(
                "exchange",
                "`amq.*` exchanges are built in and cannot be deleted",
            ));
        }
        Ok(())
    }
}

/// An exchange to read (built-in ones included).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeReadArgs {
    #[schemars(regex(pattern = NAME))]
    pub exchange: String,
    #[schemars(regex(pattern = NAME))]
    #[serde(default = "default_vhost")]
    pub vhost: String,
}
impl CheckArgs for ExchangeReadArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_names(&[("exchange", &self.exchange), ("vhost", &self.vhost)])
    }
}

/// A shovel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShovelArgs {
    #[schemars(regex(pattern = NAME))]
    pub name: String,
    #[schemars(regex(pattern = NAME))]
    #[serde(default = "default_vhost")]
    pub vhost: String,
}
impl CheckArgs for ShovelArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_names(&[("name", &self.name), ("vhost", &self.vhost)])
    }
}

/// A queue's state.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Queue {
    pub name: String,
    pub vhost: String,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub durable: Option<bool>,
    #[serde(default)]
    pub auto_delete: Option<bool>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub messages: Option<u64>,
    #[serde(default)]
    pub messages_ready: Option<u64>,
    #[serde(default)]
    pub messages_unacknowledged: Option<u64>,
    #[serde(default)]
    pub consumers: Option<u64>,
    #[serde(default)]
    pub memory: Option<u64>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub arguments: Option<HashMap<String, Value>>,
}

/// Queues.
#[derive(Debug, Serialize, JsonSchema)]
pub struct QueuesOut {
    pub queues: Vec<Queue>,
}

async fn list_queues(ctx: ToolContext, _a: NoArgs) -> Result<QueuesOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListQueues", Method::GET, "queues").await?;
    Ok(QueuesOut { queues: items(v) })
}

async fn get_queue_info(ctx: ToolContext, a: QueueArgs) -> Result<Queue, ToolError> {
    let path = format!("queues/{}/{}", enc(&a.vhost), enc(&a.queue));
    let v = api(&ctx, "rabbitmq:GetQueue", Method::GET, &path).await?;
    one("rabbitmq:GetQueue", v)
}

/// An exchange.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Exchange {
    pub name: String,
    pub vhost: String,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub durable: Option<bool>,
    #[serde(default)]
    pub auto_delete: Option<bool>,
    #[serde(default)]
    pub internal: Option<bool>,
    #[serde(default)]
    pub arguments: Option<HashMap<String, Value>>,
}

/// Exchanges.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExchangesOut {
    pub exchanges: Vec<Exchange>,
}

async fn list_exchanges(ctx: ToolContext, _a: NoArgs) -> Result<ExchangesOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListExchanges", Method::GET, "exchanges").await?;
    Ok(ExchangesOut {
        exchanges: items(v),
    })
}

/// An exchange with its bindings.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExchangeInfo {
    pub exchange: Exchange,
    /// Bindings where this exchange is the source.
    pub bindings: Vec<Binding>,
}

/// A binding.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Binding {
    #[serde(default)]
    pub source: Option<String>,
    #[serde(default)]
    pub destination: Option<String>,
    #[serde(default)]
    pub destination_type: Option<String>,
    #[serde(default)]
    pub routing_key: Option<String>,
}

async fn get_exchange_info(
    ctx: ToolContext,
    a: ExchangeReadArgs,
) -> Result<ExchangeInfo, ToolError> {
    let conn = connections(&ctx)?.get(&ctx.session)?;
    let base = format!("exchanges/{}/{}", enc(&a.vhost), enc(&a.exchange));
    let v = conn
        .call("rabbitmq:GetExchange", Method::GET, &base)
        .await?;
    let b = conn
        .call(
            "rabbitmq:GetExchangeBindings",
            Method::GET,
            &format!("{base}/bindings/source"),
        )
        .await?;
    Ok(ExchangeInfo {
        exchange: one("rabbitmq:GetExchange", v)?,
        bindings: items(b),
    })
}

/// A virtual host.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Vhost {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub tracing: Option<bool>,
    #[serde(default)]
    pub messages: Option<u64>,
}

/// Virtual hosts.
#[derive(Debug, Serialize, JsonSchema)]
pub struct VhostsOut {
    pub vhosts: Vec<Vhost>,
}

async fn list_vhosts(ctx: ToolContext, _a: NoArgs) -> Result<VhostsOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListVhosts", Method::GET, "vhosts").await?;
    Ok(VhostsOut { vhosts: items(v) })
}

/// A shovel's status.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShovelStatus {
    pub name: String,
    #[serde(default)]
    pub vhost: Option<String>,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub src_uri: Option<String>,
    #[serde(default)]
    pub dest_uri: Option<String>,
}

/// Shovels.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShovelsOut {
    pub shovels: Vec<ShovelStatus>,
}

fn strip_uri_credentials(v: &mut Value) {
    // Shovel URIs may carry user:password@; never return them.
    match v {
        Value::String(s) if s.contains("://") && s.contains('@') => {
            if let Ok(mut u) = reqwest::Url::parse(s) {
                let _ = u.set_password(None);
                let _ = u.set_username("");
                *s = u.to_string();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(strip_uri_credentials),
        Value::Object(map) => map.values_mut().for_each(strip_uri_credentials),
        _ => {}
    }
}

async fn list_shovels(ctx: ToolContext, _a: NoArgs) -> Result<ShovelsOut, ToolError> {
    let mut v = api(&ctx, "rabbitmq:ListShovels", Method::GET, "shovels").await?;
    strip_uri_credentials(&mut v);
    Ok(ShovelsOut { shovels: items(v) })
}

/// A shovel's definition and status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ShovelInfo {
    pub name: String,
    pub vhost: String,
    /// The shovel's definition (source and destination), URIs without credentials.
    pub definition: Value,
    pub status: Option<ShovelStatus>,
}

async fn get_shovel_info(ctx: ToolContext, a: ShovelArgs) -> Result<ShovelInfo, ToolError> {
    let conn = connections(&ctx)?.get(&ctx.session)?;
    let mut def = conn
        .call(
            "rabbitmq:GetShovel",
            Method::GET,
            &format!("parameters/shovel/{}/{}", enc(&a.vhost), enc(&a.name)),
        )
        .await?;
    strip_uri_credentials(&mut def);
    let mut statuses = conn
        .call(
            "rabbitmq:ListShovels",
            Method::GET,
            &format!("shovels/{}", enc(&a.vhost)),
        )
        .await?;
    strip_uri_credentials(&mut statuses);
    let status = items::<ShovelStatus>(statuses)
        .into_iter()
        .find(|s| s.name == a.name);
    Ok(ShovelInfo {
        name: a.name,
        vhost: a.vhost,
        definition: def.get("value").cloned().unwrap_or(Value::Null),
        status,
    })
}

/// A cluster node.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Node {
    pub name: String,
    #[serde(default)]
    pub running: Option<bool>,
    #[serde(default)]
    pub r#type: Option<String>,
    #[serde(default)]
    pub mem_used: Option<u64>,
    #[serde(default)]
    pub mem_limit: Option<u64>,
    #[serde(default)]
    pub mem_alarm: Option<bool>,
    #[serde(default)]
    pub disk_free: Option<u64>,
    #[serde(default)]
    pub disk_free_limit: Option<u64>,
    #[serde(default)]
    pub disk_free_alarm: Option<bool>,
    #[serde(default)]
    pub fd_used: Option<u64>,
    #[serde(default)]
    pub fd_total: Option<u64>,
    #[serde(default)]
    pub uptime: Option<u64>,
}

/// Cluster nodes.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NodesOut {
    pub nodes: Vec<Node>,
}

async fn get_cluster_nodes_info(ctx: ToolContext, _a: NoArgs) -> Result<NodesOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListNodes", Method::GET, "nodes").await?;
    Ok(NodesOut { nodes: items(v) })
}

/// A client connection.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ClientConnection {
    pub name: String,
    #[serde(default)]
    pub vhost: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub peer_host: Option<String>,
    #[serde(default)]
    pub channels: Option<u64>,
}

/// Client connections.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConnectionsOut {
    pub connections: Vec<ClientConnection>,
}

async fn list_connections(ctx: ToolContext, _a: NoArgs) -> Result<ConnectionsOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListConnections", Method::GET, "connections").await?;
    Ok(ConnectionsOut {
        connections: items(v),
    })
}

/// A consumer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Consumer {
    pub consumer_tag: Option<String>,
    pub queue: Option<String>,
    pub vhost: Option<String>,
    pub ack_required: Option<bool>,
    pub prefetch_count: Option<u64>,
    pub channel: Option<String>,
}

/// Consumers.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ConsumersOut {
    pub consumers: Vec<Consumer>,
}

async fn list_consumers(ctx: ToolContext, _a: NoArgs) -> Result<ConsumersOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListConsumers", Method::GET, "consumers").await?;
    let list = v.as_array().cloned().unwrap_or_default();
    Ok(ConsumersOut {
        consumers: list
            .iter()
            .map(|c| Consumer {
                consumer_tag: c
                    .get("consumer_tag")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                queue: c
                    .pointer("/queue/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                vhost: c
                    .pointer("/queue/vhost")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                ack_required: c.get("ack_required").and_then(Value::as_bool),
                prefetch_count: c.get("prefetch_count").and_then(Value::as_u64),
                channel: c
                    .pointer("/channel_details/name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            })
            .collect(),
    })
}

/// A broker user (never its password hash).
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct BrokerUser {
    pub name: String,
    /// Tags (`administrator`, `monitoring`, ...); a list, or comma-separated on older brokers.
    #[serde(default)]
    pub tags: Value,
}

/// Broker users.
#[derive(Debug, Serialize, JsonSchema)]
pub struct UsersOut {
    pub users: Vec<BrokerUser>,
}

async fn list_users(ctx: ToolContext, _a: NoArgs) -> Result<UsersOut, ToolError> {
    let v = api(&ctx, "rabbitmq:ListUsers", Method::GET, "users").await?;
    Ok(UsersOut { users: items(v) })
}

/// A health check's answer.
#[derive(Debug, Serialize, JsonSchema)]
pub struct HealthOut {
    /// True when the broker says so (its health check answers 503).
    pub result: bool,
    pub status: Option<String>,
    pub reason: Option<String>,
    /// The alarms in effect, or the queues that would lose quorum.
    pub details: Value,
}

async fn health(
    ctx: &ToolContext,
    operation: &'static str,
    path: &str,
    detail: &str,
) -> Result<HealthOut, ToolError> {
    let (status, v) = connections(ctx)?
        .get(&ctx.session)?
        .send(operation, Method::GET, path)
        .await?;
    let flagged = match status {
        s if s.is_success() => false,
        StatusCode::SERVICE_UNAVAILABLE => true,
        s => {
            return Err(http_error(
                operation,
                Some(s),
                v.get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                Reached::Yes,
            ));
        }
    };
    Ok(HealthOut {
        result: flagged,
        status: v.get("status").and_then(Value::as_str).map(str::to_string),
        reason: v.get("reason").and_then(Value::as_str).map(str::to_string),
        details: v.get(detail).cloned().unwrap_or(Value::Array(Vec::new())),
    })
}

async fn is_in_alarm(ctx: ToolContext, _a: NoArgs) -> Result<HealthOut, ToolError> {
    health(
        &ctx,
        "rabbitmq:HealthAlarms",
        "health/checks/alarms",
        "alarms",
    )
    .await
}

async fn is_quorum_critical(ctx: ToolContext, _a: NoArgs) -> Result<HealthOut, ToolError> {
    health(
        &ctx,
        "rabbitmq:HealthQuorumCritical",
        "health/checks/node-is-quorum-critical",
        "queues",
    )
    .await
}

/// The broker's definitions (topology, users without password hashes, policies).
#[derive(Debug, Serialize, JsonSchema)]
pub struct DefinitionsOut {
    pub rabbitmq_version: Option<String>,
    pub vhosts: Value,
    /// Users: name and tags only; password hashes are never returned.
    pub users: Value,
    pub permissions: Value,
    pub policies: Value,
    pub queues: Value,
    pub exchanges: Value,
    pub bindings: Value,
    pub parameters: Value,
}

async fn get_broker_definition(ctx: ToolContext, _a: NoArgs) -> Result<DefinitionsOut, ToolError> {
    let mut v = api(&ctx, "rabbitmq:GetDefinitions", Method::GET, "definitions").await?;
    if let Some(Value::Array(users)) = v.get_mut("users") {
        for u in users.iter_mut() {
            if let Value::Object(map) = u {
                map.retain(|k, _| k == "name" || k == "tags" || k == "limits");
            }
        }
    }
    strip_uri_credentials(&mut v);
    let take = |k: &str| v.get(k).cloned().unwrap_or(Value::Array(Vec::new()));
    Ok(DefinitionsOut {
        rabbitmq_version: v
            .get("rabbitmq_version")
            .and_then(Value::as_str)
            .map(str::to_string),
        vhosts: take("vhosts"),
        users: take("users"),
        permissions: take("permissions"),
        policies: take("policies"),
        queues: take("queues"),
        exchanges: take("exchanges"),
        bindings: take("bindings"),
        parameters: take("parameters"),
    })
}

// ---------------------------------------------------------------- destructive tools

/// What a destructive call did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Done {
    pub action: String,
    pub vhost: String,
    pub name: String,
}

async fn delete_queue(ctx: ToolContext, a: QueueArgs) -> Result<Done, ToolError> {
    let path = format!("queues/{}/{}", enc(&a.vhost), enc(&a.queue));
    api(&ctx, "rabbitmq:DeleteQueue", Method::DELETE, &path).await?;
    Ok(Done {
        action: "deleted queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

async fn purge_queue(ctx: ToolContext, a: QueueArgs) -> Result<Done, ToolError> {
    let path = format!("queues/{}/{}/contents", enc(&a.vhost), enc(&a.queue));
    api(&ctx, "rabbitmq:PurgeQueue", Method::DELETE, &path).await?;
    Ok(Done {
        action: "purged queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

async fn delete_exchange(ctx: ToolContext, a: ExchangeArgs) -> Result<Done, ToolError> {
    let path = format!("exchanges/{}/{}", enc(&a.vhost), enc(&a.exchange));
    api(&ctx, "rabbitmq:DeleteExchange", Method::DELETE, &path).await?;
    Ok(Done {
        action: "deleted exchange".into(),
        vhost: a.vhost,
        name: a.exchange,
    })
}

// ---------------------------------------------------------------- catalogue entries

/// The RabbitMQ broker tools.
pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(
            info(
                "rabbitmq_broker_initialize_connection",
                Read,
                "mq:DescribeBroker + GET /api/overview",
                true,
                "Connect this session to a RabbitMQ broker's management API: an Amazon MQ broker by broker_id (and region), or any broker by management_url; with username and password. (AWS Labs: rabbimq_broker_initialize_connection.)",
            ),
            initialize_connection,
        ),
        tool(
            info(
                "rabbitmq_broker_initialize_connection_with_oauth",
                Read,
                "mq:DescribeBroker + GET /api/overview",
                true,
                "Connect this session to a RabbitMQ broker's management API with an OAuth 2 access token. (AWS Labs: rabbimq_broker_initialize_connection_with_oauth.)",
            ),
            initialize_connection_with_oauth,
        ),
        tool(
            info(
                "rabbitmq_broker_get_guideline",
                Read,
                "none (built-in text)",
                true,
                "Get a RabbitMQ operations guideline: production_readiness, queue_types, sizing or troubleshooting.",
            ),
            get_guideline,
        ),
        tool(
            info(
                "rabbitmq_broker_list_queues",
                Read,
                "GET /api/queues",
                true,
                "List queues with their type, state, message and consumer counts.",
            ),
            list_queues,
        ),
        tool(
            info(
                "rabbitmq_broker_list_exchanges",
                Read,
                "GET /api/exchanges",
                true,
                "List exchanges.",
            ),
            list_exchanges,
        ),
        tool(
            info(
                "rabbitmq_broker_list_vhosts",
                Read,
                "GET /api/vhosts",
                true,
                "List virtual hosts.",
            ),
            list_vhosts,
        ),
        tool(
            info(
                "rabbitmq_broker_get_queue_info",
                Read,
                "GET /api/queues/{vhost}/{name}",
                true,
                "Get one queue's details.",
            ),
            get_queue_info,
        ),
        tool(
            info(
                "rabbitmq_broker_get_exchange_info",
                Read,
                "GET /api/exchanges/{vhost}/{name}",
                true,
                "Get one exchange and its bindings.",
            ),
            get_exchange_info,
        ),
        tool(
            info(
                "rabbitmq_broker_list_shovels",
                Read,
                "GET /api/shovels",
                true,
                "List shovels and their state (URIs without credentials).",
            ),
            list_shovels,
        ),
        tool(
            info(
                "rabbitmq_broker_get_shovel_info",
                Read,
                "GET /api/parameters/shovel/{vhost}/{name}",
                true,
                "Get one shovel's definition and state.",
            ),
            get_shovel_info,
        ),
        tool(
            info(
                "rabbitmq_broker_get_cluster_nodes_info",
                Read,
                "GET /api/nodes",
                true,
                "Get the cluster nodes: memory, disk, file descriptors, alarms.",
            ),
            get_cluster_nodes_info,
        ),
        tool(
            info(
                "rabbitmq_broker_list_connections",
                Read,
                "GET /api/connections",
                true,
                "List client connections.",
            ),
            list_connections,
        ),
        tool(
            info(
                "rabbitmq_broker_list_consumers",
                Read,
                "GET /api/consumers",
                true,
                "List consumers.",
            ),
            list_consumers,
        ),
        tool(
            info(
                "rabbitmq_broker_list_users",
                Read,
                "GET /api/users",
                true,
                "List broker users (names and tags; never password hashes).",
            ),
            list_users,
        ),
        tool(
            info(
                "rabbitmq_broker_is_in_alarm",
                Read,
                "GET /api/health/checks/alarms",
                true,
                "Whether a memory or disk alarm is in effect (true when the broker says so).",
            ),
            is_in_alarm,
        ),
        tool(
            info(
                "rabbitmq_broker_is_quorum_critical",
                Read,
                "GET /api/health/checks/node-is-quorum-critical",
                true,
                "Whether stopping this node would cost a quorum queue its quorum (true when the broker says so).",
            ),
            is_quorum_critical,
        ),
        tool(
            info(
                "rabbitmq_broker_get_broker_definition",
                Read,
                "GET /api/definitions",
                true,
                "Get the broker's definitions (vhosts, queues, exchanges, bindings, policies, users without password hashes).",
            ),
            get_broker_definition,
        ),
        tool(
            info(
                "rabbitmq_broker_delete_queue",
                Destructive,
                "DELETE /api/queues/{vhost}/{name}",
                true,
                "Delete a queue and its messages. Irreversible.",
            ),
            delete_queue,
        ),
        tool(
            info(
                "rabbitmq_broker_purge_queue",
                Destructive,
                "DELETE /api/queues/{vhost}/{name}/contents",
                false,
                "Delete every message of a queue. Irreversible.",
            ),
            purge_queue,
        ),
        tool(
            info(
                "rabbitmq_broker_delete_exchange",
                Destructive,
                "DELETE /api/exchanges/{vhost}/{name}",
                true,
                "Delete an exchange and its bindings. Irreversible.",
            ),
            delete_exchange,
        ),
    ]
}
