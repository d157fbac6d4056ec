//! The describe_* tools.

use super::*;

pub(super) async fn describe_broker(ctx: ToolContext, a: BrokerArgs) -> Result<Broker, ToolError> {
    let b = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let str_of = |o: Option<&str>| o.map(str::to_string);
    Ok(Broker {
        broker_arn: b.broker_arn.clone(),
        broker_id: b.broker_id.clone(),
        broker_name: b.broker_name.clone(),
        broker_state: str_of(b.broker_state.as_ref().map(|s| s.as_str())),
        created: ts(b.created.as_ref()),
        deployment_mode: str_of(b.deployment_mode.as_ref().map(|s| s.as_str())),
        engine_type: str_of(b.engine_type.as_ref().map(|s| s.as_str())),
        engine_version: b.engine_version.clone(),
        pending_engine_version: b.pending_engine_version.clone(),
        host_instance_type: b.host_instance_type.clone(),
        pending_host_instance_type: b.pending_host_instance_type.clone(),
        authentication_strategy: str_of(b.authentication_strategy.as_ref().map(|s| s.as_str())),
        auto_minor_version_upgrade: b.auto_minor_version_upgrade,
        publicly_accessible: b.publicly_accessible,
        storage_type: str_of(b.storage_type.as_ref().map(|s| s.as_str())),
        security_groups: b.security_groups.clone().unwrap_or_default(),
        subnet_ids: b.subnet_ids.clone().unwrap_or_default(),
        broker_instances: b
            .broker_instances()
            .iter()
            .map(|i| BrokerInstance {
                console_url: i.console_url.clone(),
                endpoints: i.endpoints.clone().unwrap_or_default(),
                ip_address: i.ip_address.clone(),
            })
            .collect(),
        configurations: b.configurations.as_ref().map(|c| BrokerConfigurations {
            current: c.current.as_ref().map(config_id),
            pending: c.pending.as_ref().map(config_id),
            history: c.history().iter().map(config_id).collect(),
        }),
        logs: b.logs.as_ref().map(|l| LogsOut {
            audit: l.audit,
            general: l.general,
            audit_log_group: l.audit_log_group.clone(),
            general_log_group: l.general_log_group.clone(),
        }),
        maintenance_window_start_time: b.maintenance_window_start_time.as_ref().map(window_out),
        users: b.users().iter().map(UserSummary::from).collect(),
        tags: b.tags.clone().unwrap_or_default(),
        data_replication_mode: str_of(b.data_replication_mode.as_ref().map(|s| s.as_str())),
        actions_required: b
            .actions_required()
            .iter()
            .filter_map(|a| a.action_required_code.clone())
            .collect(),
    })
}

/// Arguments of `describe_broker_engine_types`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineTypesArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    #[serde(rename = "EngineType", default)]
    pub engine_type: Option<EngineType>,
    /// Page size, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    /// The `NextToken` of the previous page.
    #[schemars(length(min = 1, max = 4096))]
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
impl CheckArgs for EngineTypesArgs {}

/// An engine and its versions.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EngineTypeOut {
    pub engine_type: Option<String>,
    pub engine_versions: Vec<String>,
}

/// Engines available.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct EngineTypesOut {
    pub broker_engine_types: Vec<EngineTypeOut>,
    pub next_token: Option<String>,
}

pub(super) async fn describe_broker_engine_types(
    ctx: ToolContext,
    a: EngineTypesArgs,
) -> Result<EngineTypesOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_broker_engine_types()
        .set_engine_type(a.engine_type.map(|e| e.as_str().to_string()))
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(EngineTypesOut {
        broker_engine_types: out
            .broker_engine_types()
            .iter()
            .map(|t| EngineTypeOut {
                engine_type: t.engine_type.as_ref().map(|e| e.as_str().to_string()),
                engine_versions: t
                    .engine_versions()
                    .iter()
                    .filter_map(|v| v.name.clone())
                    .collect(),
            })
            .collect(),
        next_token: out.next_token,
    })
}

/// Arguments of `describe_broker_instance_options`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstanceOptionsArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    #[serde(rename = "EngineType", default)]
    pub engine_type: Option<EngineType>,
    #[schemars(regex(pattern = INSTANCE_TYPE))]
    #[serde(rename = "HostInstanceType", default)]
    pub host_instance_type: Option<String>,
    #[serde(rename = "StorageType", default)]
    pub storage_type: Option<StorageType>,
    /// Page size, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    /// The `NextToken` of the previous page.
    #[schemars(length(min = 1, max = 4096))]
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
impl CheckArgs for InstanceOptionsArgs {}

/// One instance option.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceOption {
    pub engine_type: Option<String>,
    pub host_instance_type: Option<String>,
    pub storage_type: Option<String>,
    pub availability_zones: Vec<String>,
    pub supported_deployment_modes: Vec<String>,
    pub supported_engine_versions: Vec<String>,
}

/// Instance options available.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceOptionsOut {
    pub broker_instance_options: Vec<InstanceOption>,
    pub next_token: Option<String>,
}

pub(super) async fn describe_broker_instance_options(
    ctx: ToolContext,
    a: InstanceOptionsArgs,
) -> Result<InstanceOptionsOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_broker_instance_options()
        .set_engine_type(a.engine_type.map(|e| e.as_str().to_string()))
        .set_host_instance_type(a.host_instance_type)
        .set_storage_type(a.storage_type.map(|s| s.as_str().to_string()))
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(InstanceOptionsOut {
        broker_instance_options: out
            .broker_instance_options()
            .iter()
            .map(|o| InstanceOption {
                engine_type: o.engine_type.as_ref().map(|e| e.as_str().to_string()),
                host_instance_type: o.host_instance_type.clone(),
                storage_type: o.storage_type.as_ref().map(|s| s.as_str().to_string()),
                availability_zones: o
                    .availability_zones()
                    .iter()
                    .filter_map(|z| z.name.clone())
                    .collect(),
                supported_deployment_modes: o
                    .supported_deployment_modes()
                    .iter()
                    .map(|m| m.as_str().to_string())
                    .collect(),
                supported_engine_versions: o.supported_engine_versions().to_vec(),
            })
            .collect(),
        next_token: out.next_token,
    })
}

pub(super) async fn describe_configuration(
    ctx: ToolContext,
    a: ConfigurationArgs,
) -> Result<Configuration, ToolError> {
    let c = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_configuration()
        .configuration_id(&a.configuration_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(Configuration {
        arn: c.arn,
        id: c.id,
        name: c.name,
        description: c.description,
        authentication_strategy: c.authentication_strategy.map(|s| s.as_str().to_string()),
        engine_type: c.engine_type.map(|e| e.as_str().to_string()),
        engine_version: c.engine_version,
        created: ts(c.created.as_ref()),
        latest_revision: c.latest_revision.as_ref().map(revision),
        tags: c.tags.unwrap_or_default(),
    })
}

/// Arguments of `describe_configuration_revision`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RevisionArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Configuration ID (on AWS, `c-` followed by a UUID).
    #[schemars(regex(pattern = CONFIGURATION_ID))]
    #[serde(rename = "ConfigurationId")]
    pub configuration_id: String,
    /// Revision number, as digits (`"1"`).
    #[schemars(regex(pattern = REVISION))]
    #[serde(rename = "ConfigurationRevision")]
    pub configuration_revision: String,
}
impl CheckArgs for RevisionArgs {}

/// One revision of a configuration, with its data.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RevisionData {
    pub configuration_id: Option<String>,
    pub created: Option<String>,
    pub description: Option<String>,
    /// The configuration as AWS returns it: base64.
    pub data: Option<String>,
    /// `Data` decoded, when it is UTF-8 text.
    pub data_decoded: Option<String>,
}

pub(super) async fn describe_configuration_revision(
    ctx: ToolContext,
    a: RevisionArgs,
) -> Result<RevisionData, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_configuration_revision()
        .configuration_id(&a.configuration_id)
        .configuration_revision(&a.configuration_revision)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let decoded = out
        .data
        .as_deref()
        .and_then(|d| aws_smithy_types::base64::decode(d).ok())
        .and_then(|b| String::from_utf8(b).ok());
    Ok(RevisionData {
        configuration_id: out.configuration_id,
        created: ts(out.created.as_ref()),
        description: out.description,
        data: out.data,
        data_decoded: decoded,
    })
}

/// A resource shared with a broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SharedResource {
    pub resource_arn: Option<String>,
    pub r#type: Option<String>,
    pub status: Option<String>,
    pub dns_names: Vec<String>,
    pub resource_share_arns: Vec<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

/// Shared resources of a broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct SharedResourcesOut {
    pub shared_resources: Vec<SharedResource>,
    pub next_token: Option<String>,
}

pub(super) async fn describe_shared_resources(
    ctx: ToolContext,
    a: BrokerPageArgs,
) -> Result<SharedResourcesOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .describe_shared_resources()
        .broker_id(&a.broker_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(SharedResourcesOut {
        shared_resources: out
            .shared_resources()
            .iter()
            .map(|r| SharedResource {
                resource_arn: r.resource_arn.clone(),
                r#type: r.r#type.as_ref().map(|t| t.as_str().to_string()),
                status: r.status.as_ref().map(|s| s.as_str().to_string()),
                dns_names: r.dns_names.clone().unwrap_or_default(),
                resource_share_arns: r.resource_share_arns.clone().unwrap_or_default(),
                error_code: r
                    .error
                    .as_ref()
                    .and_then(|e| e.code.as_ref())
                    .map(|c| c.as_str().to_string()),
                error_message: r.error.as_ref().and_then(|e| e.message.clone()),
            })
            .collect(),
        next_token: out.next_token,
    })
}
