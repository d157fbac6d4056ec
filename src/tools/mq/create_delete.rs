//! create_broker, create_configuration, delete_broker, delete_configuration.

use super::*;

pub(super) fn default_instance_type() -> String {
    "mq.m5.large".into()
}

/// Arguments of `create_broker`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateBrokerArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Wait up to this many seconds (at most 1800) for the broker to be RUNNING, with progress
    /// notifications; without it the call returns as soon as AWS accepts the request (a broker
    /// takes about 20 minutes to start).
    #[schemars(range(min = 1, max = 1800))]
    #[serde(default)]
    pub wait: Option<u32>,
    /// Broker name: 1–50 letters, digits, `-`, `.`, `_`, `~`; unique per account and region.
    #[schemars(regex(pattern = BROKER_NAME))]
    pub broker_name: String,
    pub engine_type: EngineType,
    pub deployment_mode: DeploymentMode,
    /// The broker's first (administrative) user.
    #[schemars(regex(pattern = USERNAME))]
    pub username: String,
    /// Secret: 12–250 characters, at least 4 unique, no `,` `:` `=`. Never logged or audited.
    #[schemars(regex(pattern = PASSWORD))]
    pub password: String,
    /// Engine version (`5.18`, `3.13`); AWS picks the latest when omitted.
    #[schemars(regex(pattern = ENGINE_VERSION))]
    #[serde(default)]
    pub engine_version: Option<String>,
    /// Whether the broker gets a public endpoint. Default false (the AWS Labs server defaults to true).
    #[serde(default)]
    pub publicly_accessible: bool,
    /// Instance type, for example `mq.t3.micro`, `mq.m5.large`, `mq.m7g.large`.
    #[schemars(regex(pattern = INSTANCE_TYPE))]
    #[serde(default = "default_instance_type")]
    pub host_instance_type: String,
    #[serde(default = "yes")]
    pub auto_minor_version_upgrade: bool,
    #[serde(default)]
    pub authentication_strategy: Option<AuthStrategy>,
    #[serde(default)]
    pub storage_type: Option<StorageType>,
    #[serde(default)]
    pub configuration: Option<ConfigurationRef>,
    #[serde(default)]
    pub logs: Option<LogsInput>,
    #[serde(default)]
    pub maintenance_window_start_time: Option<MaintenanceWindow>,
    /// Up to 5 security group IDs.
    #[schemars(length(max = 5), inner(regex(pattern = SECURITY_GROUP)))]
    #[serde(default)]
    pub security_groups: Option<Vec<String>>,
    /// Subnet IDs: one for SINGLE_INSTANCE, two for ACTIVE_STANDBY_MULTI_AZ.
    #[schemars(length(max = 6), inner(regex(pattern = SUBNET)))]
    #[serde(default)]
    pub subnet_ids: Option<Vec<String>>,
    /// Tags for the broker.
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
}

pub(super) fn yes() -> bool {
    true
}

impl CheckArgs for CreateBrokerArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_password("password", Some(&self.password))?;
        if let Some(tags) = &self.tags {
            check_tags("tags", tags)?;
        }
        if self.engine_type == EngineType::RabbitMq
            && self.deployment_mode == DeploymentMode::ActiveStandbyMultiAz
        {
            return Err(ArgError::rule(
                "deployment_mode",
                "RABBITMQ brokers support SINGLE_INSTANCE or CLUSTER_MULTI_AZ, not ACTIVE_STANDBY_MULTI_AZ",
            ));
        }
        if self.engine_type == EngineType::ActiveMq
            && self.deployment_mode == DeploymentMode::ClusterMultiAz
        {
            return Err(ArgError::rule(
                "deployment_mode",
                "ACTIVEMQ brokers support SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ, not CLUSTER_MULTI_AZ",
            ));
        }
        if self.host_instance_type == "mq.t3.micro"
            && self.deployment_mode != DeploymentMode::SingleInstance
        {
            return Err(ArgError::rule(
                "host_instance_type",
                "mq.t3.micro supports only the SINGLE_INSTANCE deployment mode",
            ));
        }
        Ok(())
    }
}

/// Identifiers of a new broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct CreatedBroker {
    pub broker_arn: Option<String>,
    pub broker_id: Option<String>,
    /// With `wait`: the broker's state when the wait ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<Waited>,
}

pub(super) async fn create_broker(
    ctx: ToolContext,
    a: CreateBrokerArgs,
) -> Result<CreatedBroker, ToolError> {
    let user = sdk::User::builder()
        .username(&a.username)
        .password(&a.password)
        .console_access(true)
        .build();
    let window = a
        .maintenance_window_start_time
        .as_ref()
        .map(MaintenanceWindow::to_sdk);
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .create_broker()
        .broker_name(&a.broker_name)
        .engine_type(sdk::EngineType::from(a.engine_type.as_str()))
        .deployment_mode(sdk::DeploymentMode::from(a.deployment_mode.as_str()))
        .users(user)
        .set_engine_version(a.engine_version)
        .publicly_accessible(a.publicly_accessible)
        .host_instance_type(a.host_instance_type)
        .auto_minor_version_upgrade(a.auto_minor_version_upgrade)
        .set_authentication_strategy(
            a.authentication_strategy
                .map(|s| sdk::AuthenticationStrategy::from(s.as_str())),
        )
        .set_storage_type(
            a.storage_type
                .map(|s| sdk::BrokerStorageType::from(s.as_str())),
        )
        .set_configuration(a.configuration.as_ref().map(ConfigurationRef::to_sdk))
        .set_logs(a.logs.as_ref().map(LogsInput::to_sdk))
        .set_maintenance_window_start_time(window)
        .set_security_groups(a.security_groups)
        .set_subnet_ids(a.subnet_ids)
        .set_tags(ctx.with_added_tags(a.tags))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let waited = match (a.wait, out.broker_id.as_deref()) {
        (Some(seconds), Some(id)) => {
            Some(super::waits::wait_for_broker(&ctx, a.region.as_deref(), id, seconds).await?)
        }
        _ => None,
    };
    Ok(CreatedBroker {
        broker_arn: out.broker_arn,
        broker_id: out.broker_id,
        waited,
    })
}

/// Arguments of `create_configuration`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateConfigurationArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    pub authentication_strategy: AuthStrategy,
    pub engine_type: EngineType,
    #[schemars(regex(pattern = ENGINE_VERSION))]
    pub engine_version: String,
    /// 1–150 letters, digits, `-`, `.`, `_`, `~`.
    #[schemars(regex(pattern = CONFIGURATION_NAME))]
    pub name: String,
    #[serde(default)]
    pub tags: Option<HashMap<String, String>>,
}

impl CheckArgs for CreateConfigurationArgs {
    fn check(&self) -> Result<(), ArgError> {
        match &self.tags {
            Some(tags) => check_tags("tags", tags),
            None => Ok(()),
        }
    }
}

pub(super) async fn create_configuration(
    ctx: ToolContext,
    a: CreateConfigurationArgs,
) -> Result<Configuration, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .create_configuration()
        .authentication_strategy(sdk::AuthenticationStrategy::from(
            a.authentication_strategy.as_str(),
        ))
        .engine_type(sdk::EngineType::from(a.engine_type.as_str()))
        .engine_version(&a.engine_version)
        .name(&a.name)
        .set_tags(ctx.with_added_tags(a.tags))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(Configuration {
        arn: out.arn,
        id: out.id,
        name: out.name,
        description: None,
        authentication_strategy: out.authentication_strategy.map(|s| s.as_str().to_string()),
        engine_type: Some(a.engine_type.as_str().to_string()),
        engine_version: Some(a.engine_version),
        created: ts(out.created.as_ref()),
        latest_revision: out.latest_revision.as_ref().map(revision),
        tags: HashMap::new(),
    })
}

/// A broker ID.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokerIdOut {
    pub broker_id: Option<String>,
}

pub(super) async fn delete_broker(
    ctx: ToolContext,
    a: BrokerArgs,
) -> Result<BrokerIdOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .delete_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(BrokerIdOut {
        broker_id: out.broker_id,
    })
}

/// A configuration ID.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationIdOnly {
    pub configuration_id: Option<String>,
}

pub(super) async fn delete_configuration(
    ctx: ToolContext,
    a: ConfigurationArgs,
) -> Result<ConfigurationIdOnly, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .delete_configuration()
        .configuration_id(&a.configuration_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(ConfigurationIdOnly {
        configuration_id: out.configuration_id,
    })
}
