//! describe_broker_user and the list_* tools.

use super::*;

/// A broker user.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(rename = "BrokerId")]
    pub broker_id: String,
    /// 2–100 letters, digits, `-`, `.`, `_`, `~`.
    #[schemars(regex(pattern = USERNAME))]
    #[serde(rename = "Username")]
    pub username: String,
}
impl CheckArgs for UserArgs {}

/// A broker user's details.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokerUser {
    pub broker_id: Option<String>,
    pub username: Option<String>,
    pub console_access: Option<bool>,
    pub groups: Vec<String>,
    pub replication_user: Option<bool>,
    pub pending_change: Option<String>,
}

pub(super) async fn describe_broker_user(
    ctx: ToolContext,
    a: UserArgs,
) -> Result<BrokerUser, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(BrokerUser {
        broker_id: out.broker_id,
        username: out.username,
        console_access: out.console_access,
        groups: out.groups.unwrap_or_default(),
        replication_user: out.replication_user,
        pending_change: out
            .pending
            .and_then(|p| p.pending_change)
            .map(|c| c.as_str().to_string()),
    })
}

/// Brokers, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokersOut {
    pub broker_summaries: Vec<BrokerSummary>,
    pub next_token: Option<String>,
}

pub(super) async fn list_brokers(ctx: ToolContext, a: PageArgs) -> Result<BrokersOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .list_brokers()
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(BrokersOut {
        broker_summaries: out
            .broker_summaries()
            .iter()
            .map(BrokerSummary::from)
            .collect(),
        next_token: out.next_token,
    })
}

/// Revisions of a configuration, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RevisionsOut {
    pub configuration_id: Option<String>,
    pub revisions: Vec<Revision>,
    pub next_token: Option<String>,
}

pub(super) async fn list_configuration_revisions(
    ctx: ToolContext,
    a: ConfigurationPageArgs,
) -> Result<RevisionsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .list_configuration_revisions()
        .configuration_id(&a.configuration_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(RevisionsOut {
        configuration_id: out.configuration_id.clone(),
        revisions: out.revisions().iter().map(revision).collect(),
        next_token: out.next_token,
    })
}

/// Configurations, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationsOut {
    pub configurations: Vec<Configuration>,
    pub next_token: Option<String>,
}

pub(super) async fn list_configurations(
    ctx: ToolContext,
    a: PageArgs,
) -> Result<ConfigurationsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .list_configurations()
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(ConfigurationsOut {
        configurations: out
            .configurations()
            .iter()
            .map(Configuration::from)
            .collect(),
        next_token: out.next_token,
    })
}

/// A broker or configuration ARN.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ResourceArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// ARN of a broker or configuration (`arn:aws:mq:REGION:ACCOUNT:broker:NAME:ID`).
    #[schemars(regex(pattern = MQ_ARN))]
    #[serde(rename = "ResourceArn")]
    pub resource_arn: String,
}
impl CheckArgs for ResourceArgs {}

/// Tags of a resource.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TagsOut {
    pub tags: HashMap<String, String>,
}

pub(super) async fn list_tags(ctx: ToolContext, a: ResourceArgs) -> Result<TagsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .list_tags()
        .resource_arn(&a.resource_arn)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(TagsOut {
        tags: out.tags.unwrap_or_default(),
    })
}

/// Users of a broker, one page.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UsersOut {
    pub broker_id: Option<String>,
    pub users: Vec<UserSummary>,
    pub next_token: Option<String>,
}

pub(super) async fn list_broker_users(
    ctx: ToolContext,
    a: BrokerPageArgs,
) -> Result<UsersOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .list_users()
        .broker_id(&a.broker_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UsersOut {
        broker_id: out.broker_id.clone(),
        users: out.users().iter().map(UserSummary::from).collect(),
        next_token: out.next_token,
    })
}
