//! Connecting a session to a broker, and the operations guidelines.

use super::*;

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

pub(super) fn one_target(broker_id: &Option<String>, url: &Option<String>) -> Result<(), ArgError> {
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

pub(super) async fn resolve_url(
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
        .client::<aws_sdk_mq::Client>(region.as_deref())
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

pub(super) async fn connect(
    ctx: &ToolContext,
    url: String,
    auth: Auth,
) -> Result<Connected, ToolError> {
    let rabbit = connections(ctx)?;
    let conn = Connection::build(&url, auth, &rabbit)?;
    let overview = conn.call(&ops::OVERVIEW, &[]).await?;
    let whoami = conn.call(&ops::WHOAMI, &[]).await.ok();
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

pub(super) async fn initialize_connection(
    ctx: ToolContext,
    a: ConnectArgs,
) -> Result<Connected, ToolError> {
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

pub(super) async fn initialize_connection_with_oauth(
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

pub(super) async fn get_guideline(
    _ctx: ToolContext,
    a: GuidelineArgs,
) -> Result<GuidelineOut, ToolError> {
    let (name, text) = match a.guideline_name {
        Guideline::ProductionReadiness => (
            "production_readiness",
            include_str!("../guidelines/production_readiness.md"),
        ),
        Guideline::QueueTypes => ("queue_types", include_str!("../guidelines/queue_types.md")),
        Guideline::Sizing => ("sizing", include_str!("../guidelines/sizing.md")),
        Guideline::Troubleshooting => (
            "troubleshooting",
            include_str!("../guidelines/troubleshooting.md"),
        ),
    };
    Ok(GuidelineOut {
        name: name.into(),
        markdown: text.into(),
    })
}
