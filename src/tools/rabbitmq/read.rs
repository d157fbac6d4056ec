//! The read tools.

use super::*;

// ---------------------------------------------------------------- read tools

/// No arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}
impl CheckArgs for NoArgs {}

pub(super) fn default_vhost() -> String {
    "/".into()
}

/// Refuse `.` and `..`: in a URL path they are dot-segments (also percent-encoded), so
/// `vhost: ".."` would climb out of the resource the policy was asked about.
pub(super) fn check_names(names: &[(&str, &str)]) -> Result<(), ArgError> {
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

pub(super) async fn list_queues(ctx: ToolContext, _a: NoArgs) -> Result<QueuesOut, ToolError> {
    let v = api(&ctx, &ops::LIST_QUEUES, &[]).await?;
    Ok(QueuesOut {
        queues: items(ops::LIST_QUEUES.label, v)?,
    })
}

pub(super) async fn get_queue_info(ctx: ToolContext, a: QueueArgs) -> Result<Queue, ToolError> {
    let v = api(&ctx, &ops::GET_QUEUE, &[&a.vhost, &a.queue]).await?;
    one(ops::GET_QUEUE.label, v)
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

pub(super) async fn list_exchanges(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<ExchangesOut, ToolError> {
    let v = api(&ctx, &ops::LIST_EXCHANGES, &[]).await?;
    Ok(ExchangesOut {
        exchanges: items(ops::LIST_EXCHANGES.label, v)?,
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

pub(super) async fn get_exchange_info(
    ctx: ToolContext,
    a: ExchangeReadArgs,
) -> Result<ExchangeInfo, ToolError> {
    let conn = connections(&ctx)?.get(&ctx.session)?;
    let v = conn
        .call(&ops::GET_EXCHANGE, &[&a.vhost, &a.exchange])
        .await?;
    let b = conn
        .call(&ops::EXCHANGE_BINDINGS, &[&a.vhost, &a.exchange])
        .await?;
    Ok(ExchangeInfo {
        exchange: one(ops::GET_EXCHANGE.label, v)?,
        bindings: items(ops::EXCHANGE_BINDINGS.label, b)?,
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

pub(super) async fn list_vhosts(ctx: ToolContext, _a: NoArgs) -> Result<VhostsOut, ToolError> {
    let v = api(&ctx, &ops::LIST_VHOSTS, &[]).await?;
    Ok(VhostsOut {
        vhosts: items(ops::LIST_VHOSTS.label, v)?,
    })
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

pub(super) fn strip_uri_credentials(v: &mut Value) {
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

pub(super) async fn list_shovels(ctx: ToolContext, _a: NoArgs) -> Result<ShovelsOut, ToolError> {
    let mut v = api(&ctx, &ops::LIST_SHOVELS, &[]).await?;
    strip_uri_credentials(&mut v);
    Ok(ShovelsOut {
        shovels: items(ops::LIST_SHOVELS.label, v)?,
    })
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

pub(super) async fn get_shovel_info(
    ctx: ToolContext,
    a: ShovelArgs,
) -> Result<ShovelInfo, ToolError> {
    let conn = connections(&ctx)?.get(&ctx.session)?;
    let mut def = conn.call(&ops::GET_SHOVEL, &[&a.vhost, &a.name]).await?;
    strip_uri_credentials(&mut def);
    let mut statuses = conn.call(&ops::VHOST_SHOVELS, &[&a.vhost]).await?;
    strip_uri_credentials(&mut statuses);
    let status = items::<ShovelStatus>(ops::VHOST_SHOVELS.label, statuses)?
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

pub(super) async fn get_cluster_nodes_info(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<NodesOut, ToolError> {
    let v = api(&ctx, &ops::LIST_NODES, &[]).await?;
    Ok(NodesOut {
        nodes: items(ops::LIST_NODES.label, v)?,
    })
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

pub(super) async fn list_connections(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<ConnectionsOut, ToolError> {
    let v = api(&ctx, &ops::LIST_CONNECTIONS, &[]).await?;
    Ok(ConnectionsOut {
        connections: items(ops::LIST_CONNECTIONS.label, v)?,
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

pub(super) async fn list_consumers(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<ConsumersOut, ToolError> {
    let v = api(&ctx, &ops::LIST_CONSUMERS, &[]).await?;
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

pub(super) async fn list_users(ctx: ToolContext, _a: NoArgs) -> Result<UsersOut, ToolError> {
    let v = api(&ctx, &ops::LIST_USERS, &[]).await?;
    Ok(UsersOut {
        users: items(ops::LIST_USERS.label, v)?,
    })
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

pub(super) async fn health(
    ctx: &ToolContext,
    op: &'static Op,
    detail: &str,
) -> Result<HealthOut, ToolError> {
    let operation = op.label;
    let path = op.segments(&[])?;
    let (status, v) = connections(ctx)?
        .get(&ctx.session)?
        .send(operation, op.method.clone(), &path)
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

pub(super) async fn is_in_alarm(ctx: ToolContext, _a: NoArgs) -> Result<HealthOut, ToolError> {
    health(&ctx, &ops::HEALTH_ALARMS, "alarms").await
}

pub(super) async fn is_quorum_critical(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<HealthOut, ToolError> {
    health(&ctx, &ops::HEALTH_QUORUM_CRITICAL, "queues").await
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

pub(super) async fn get_broker_definition(
    ctx: ToolContext,
    _a: NoArgs,
) -> Result<DefinitionsOut, ToolError> {
    let mut v = api(&ctx, &ops::GET_DEFINITIONS, &[]).await?;
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
