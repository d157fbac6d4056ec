//! promote, reboot_broker, update_*, broker users and tags.

use super::*;

/// Arguments of `promote`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Broker ID of the replica to promote.
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(rename = "BrokerId")]
    pub broker_id: String,
    #[serde(rename = "Mode")]
    pub mode: PromoteMode,
    /// Wait up to this many seconds (at most 1800) for the broker to serve as the RUNNING
    /// primary, with progress notifications.
    #[schemars(range(min = 1, max = 1800))]
    #[serde(default)]
    pub wait: Option<u32>,
}
impl CheckArgs for PromoteArgs {}

/// The result of a promotion request.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct PromoteOut {
    pub broker_id: Option<String>,
    /// With `wait`: the broker's state when the wait ended (`PRIMARY` once promoted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<Waited>,
}

pub(super) async fn promote(ctx: ToolContext, a: PromoteArgs) -> Result<PromoteOut, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .promote()
        .broker_id(&a.broker_id)
        .mode(sdk::PromoteMode::from(a.mode.as_str()))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let waited = match a.wait {
        Some(seconds) => Some(
            super::waits::wait_for_promotion(&ctx, a.region.as_deref(), &a.broker_id, seconds)
                .await?,
        ),
        None => None,
    };
    Ok(PromoteOut {
        broker_id: out.broker_id,
        waited,
    })
}

/// Arguments of `reboot_broker`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebootArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(rename = "BrokerId")]
    pub broker_id: String,
    /// Wait up to this many seconds (at most 1800) for the broker to be RUNNING again, with
    /// progress notifications.
    #[schemars(range(min = 1, max = 1800))]
    #[serde(default)]
    pub wait: Option<u32>,
}
impl CheckArgs for RebootArgs {}

/// The result of a reboot request.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RebootOut {
    pub broker_id: String,
    pub reboot_requested: bool,
    /// With `wait`: the broker's state when the wait ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<Waited>,
}

pub(super) async fn reboot_broker(ctx: ToolContext, a: RebootArgs) -> Result<RebootOut, ToolError> {
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .reboot_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    let waited = match a.wait {
        Some(seconds) => Some(
            super::waits::wait_for_broker(&ctx, a.region.as_deref(), &a.broker_id, seconds).await?,
        ),
        None => None,
    };
    Ok(RebootOut {
        broker_id: a.broker_id,
        reboot_requested: true,
        waited,
    })
}

/// Arguments of `update_broker`: only the fields given are changed.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct UpdateBrokerArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default, rename = "region")]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    pub broker_id: String,
    #[serde(default)]
    pub authentication_strategy: Option<AuthStrategy>,
    #[serde(default)]
    pub auto_minor_version_upgrade: Option<bool>,
    #[serde(default)]
    pub configuration: Option<ConfigurationRef>,
    #[schemars(regex(pattern = ENGINE_VERSION))]
    #[serde(default)]
    pub engine_version: Option<String>,
    #[schemars(regex(pattern = INSTANCE_TYPE))]
    #[serde(default)]
    pub host_instance_type: Option<String>,
    #[serde(default)]
    pub ldap_server_metadata: Option<LdapInput>,
    #[serde(default)]
    pub logs: Option<LogsInput>,
    #[serde(default)]
    pub maintenance_window_start_time: Option<MaintenanceWindow>,
    /// Up to 5 security group IDs.
    #[schemars(length(max = 5), inner(regex(pattern = SECURITY_GROUP)))]
    #[serde(default)]
    pub security_groups: Option<Vec<String>>,
    /// AWS RAM resource share ARNs.
    #[serde(default)]
    pub resource_share_arns: Option<Vec<String>>,
    /// Storage size in GiB.
    #[schemars(range(min = 1, max = 16384))]
    #[serde(default)]
    pub storage_size: Option<i32>,
    #[serde(default)]
    pub data_replication_mode: Option<ReplicationMode>,
    /// Reboot the broker right after the update, so that changes pending a reboot take effect
    /// now (disconnects clients); without it they wait for the next reboot.
    #[serde(default, rename = "reboot")]
    pub reboot: bool,
    /// With `reboot`: wait up to this many seconds (at most 1800) until the broker is RUNNING
    /// with nothing pending, with progress notifications.
    #[schemars(range(min = 1, max = 1800))]
    #[serde(default, rename = "wait")]
    pub wait: Option<u32>,
}

impl CheckArgs for UpdateBrokerArgs {
    fn check(&self) -> Result<(), ArgError> {
        let nothing = self.authentication_strategy.is_none()
            && self.auto_minor_version_upgrade.is_none()
            && self.configuration.is_none()
            && self.engine_version.is_none()
            && self.host_instance_type.is_none()
            && self.ldap_server_metadata.is_none()
            && self.logs.is_none()
            && self.maintenance_window_start_time.is_none()
            && self.security_groups.is_none()
            && self.resource_share_arns.is_none()
            && self.storage_size.is_none()
            && self.data_replication_mode.is_none();
        if nothing {
            return Err(ArgError::rule(
                "BrokerId",
                "update_broker needs at least one field to change besides BrokerId",
            ));
        }
        if self.wait.is_some() && !self.reboot {
            return Err(ArgError::rule(
                "wait",
                "wait needs reboot: true (an update's changes take effect at the broker's next reboot; without one there is nothing to wait for)",
            ));
        }
        Ok(())
    }
}

/// The broker's settings after the update request.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatedBroker {
    pub broker_id: Option<String>,
    pub authentication_strategy: Option<String>,
    pub auto_minor_version_upgrade: Option<bool>,
    pub configuration: Option<ConfigurationIdOut>,
    pub engine_version: Option<String>,
    pub host_instance_type: Option<String>,
    pub security_groups: Vec<String>,
    pub maintenance_window_start_time: Option<MaintenanceWindowOut>,
    pub data_replication_mode: Option<String>,
    /// The settings that wait for a reboot, read back after the update (absent when the
    /// broker could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_changes: Option<Vec<String>>,
    /// With `reboot`: the reboot was requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reboot_requested: Option<bool>,
    /// With `wait`: the broker's state when the wait ended (`RUNNING` once nothing is pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waited: Option<Waited>,
}

pub(super) async fn update_broker(
    ctx: ToolContext,
    a: UpdateBrokerArgs,
) -> Result<UpdatedBroker, ToolError> {
    let ldap = a.ldap_server_metadata.as_ref().map(LdapInput::to_sdk);
    let window = a
        .maintenance_window_start_time
        .as_ref()
        .map(MaintenanceWindow::to_sdk);
    let mq = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await;
    let out = mq
        .update_broker()
        .broker_id(&a.broker_id)
        .set_authentication_strategy(
            a.authentication_strategy
                .map(|s| sdk::AuthenticationStrategy::from(s.as_str())),
        )
        .set_auto_minor_version_upgrade(a.auto_minor_version_upgrade)
        .set_configuration(a.configuration.as_ref().map(ConfigurationRef::to_sdk))
        .set_engine_version(a.engine_version)
        .set_host_instance_type(a.host_instance_type)
        .set_ldap_server_metadata(ldap)
        .set_logs(a.logs.as_ref().map(LogsInput::to_sdk))
        .set_maintenance_window_start_time(window)
        .set_security_groups(a.security_groups)
        .set_resource_share_arns(a.resource_share_arns)
        .set_storage_size(a.storage_size)
        .set_data_replication_mode(
            a.data_replication_mode
                .map(|m| sdk::DataReplicationMode::from(m.as_str())),
        )
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    // What waits for a reboot. The update is made; a failure to read it back is reported in
    // the log, not as the update's failure.
    let pending_changes = match mq.describe_broker().broker_id(&a.broker_id).send().await {
        Ok(b) => Some(super::waits::pending_changes(&b)),
        Err(e) => {
            let e = crate::aws::aws_error("mq:DescribeBroker", e);
            tracing::warn!(error = %e, "update_broker: cannot read the broker's pending changes");
            None
        }
    };
    let mut reboot_requested = None;
    let mut waited = None;
    if a.reboot {
        mq.reboot_broker()
            .broker_id(&a.broker_id)
            .send()
            .await
            .map_err(|e| crate::aws::aws_error("mq:RebootBroker", e))?;
        reboot_requested = Some(true);
        if let Some(seconds) = a.wait {
            waited = Some(
                super::waits::wait_until_applied(&ctx, a.region.as_deref(), &a.broker_id, seconds)
                    .await?,
            );
        }
    }
    Ok(UpdatedBroker {
        pending_changes,
        reboot_requested,
        waited,
        broker_id: out.broker_id.clone(),
        authentication_strategy: out
            .authentication_strategy
            .as_ref()
            .map(|s| s.as_str().to_string()),
        auto_minor_version_upgrade: out.auto_minor_version_upgrade,
        configuration: out.configuration.as_ref().map(config_id),
        engine_version: out.engine_version.clone(),
        host_instance_type: out.host_instance_type.clone(),
        security_groups: out.security_groups.clone().unwrap_or_default(),
        maintenance_window_start_time: out.maintenance_window_start_time.as_ref().map(window_out),
        data_replication_mode: out
            .data_replication_mode
            .as_ref()
            .map(|m| m.as_str().to_string()),
    })
}

/// Arguments of `update_configuration`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateConfigurationArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Configuration ID (on AWS, `c-` followed by a UUID).
    #[schemars(regex(pattern = CONFIGURATION_ID))]
    #[serde(rename = "ConfigurationId")]
    pub configuration_id: String,
    /// The configuration text itself (ActiveMQ XML, or RabbitMQ Cuttlefish), not base64: the
    /// server encodes it as the API requires.
    #[schemars(length(min = 1, max = 65536))]
    #[serde(rename = "Data")]
    pub data: String,
    /// Description of the new revision.
    #[schemars(length(max = 256))]
    #[serde(rename = "Description", default)]
    pub description: Option<String>,
}
impl CheckArgs for UpdateConfigurationArgs {}

/// The configuration after the update, with any sanitization warnings.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UpdatedConfiguration {
    pub arn: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub created: Option<String>,
    pub latest_revision: Option<Revision>,
    pub warnings: Vec<String>,
}

pub(super) async fn update_configuration(
    ctx: ToolContext,
    a: UpdateConfigurationArgs,
) -> Result<UpdatedConfiguration, ToolError> {
    let out = ctx
        .aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .update_configuration()
        .configuration_id(&a.configuration_id)
        .data(aws_smithy_types::base64::encode(a.data.as_bytes()))
        .set_description(a.description)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UpdatedConfiguration {
        arn: out.arn.clone(),
        id: out.id.clone(),
        name: out.name.clone(),
        created: ts(out.created.as_ref()),
        latest_revision: out.latest_revision.as_ref().map(revision),
        warnings: out
            .warnings()
            .iter()
            .map(|w| {
                format!(
                    "{}: {} {}",
                    w.reason.as_ref().map(|r| r.as_str()).unwrap_or("warning"),
                    w.element_name.as_deref().unwrap_or(""),
                    w.attribute_name.as_deref().unwrap_or("")
                )
                .trim()
                .to_string()
            })
            .collect(),
    })
}

/// Arguments of `create_broker_user` and `update_broker_user`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct UserWriteArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default, rename = "region")]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    pub broker_id: String,
    /// 2–100 letters, digits, `-`, `.`, `_`, `~`.
    #[schemars(regex(pattern = USERNAME))]
    pub username: String,
    /// Secret: 12–250 characters, at least 4 unique, no `,` `:` `=`. Never logged or audited.
    #[schemars(regex(pattern = PASSWORD))]
    #[serde(default)]
    pub password: Option<String>,
    /// Access to the ActiveMQ web console.
    #[serde(default)]
    pub console_access: Option<bool>,
    /// ActiveMQ groups, up to 20, each 2–100 characters.
    #[schemars(length(max = 20), inner(regex(pattern = USERNAME)))]
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    /// Whether this is the replication user of a CRDR pair.
    #[serde(default)]
    pub replication_user: Option<bool>,
}

impl CheckArgs for UserWriteArgs {
    fn check(&self) -> Result<(), ArgError> {
        check_password("Password", self.password.as_deref())
    }
}

/// The result of a user change (applied at the next reboot or maintenance window).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UserChanged {
    pub broker_id: String,
    pub username: String,
    pub change: String,
}

pub(super) async fn create_broker_user(
    ctx: ToolContext,
    a: UserWriteArgs,
) -> Result<UserChanged, ToolError> {
    let Some(password) = a.password.as_deref() else {
        return Err(ArgError::rule("Password", "is required to create a broker user").into());
    };
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .create_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .password(password)
        .set_console_access(a.console_access)
        .set_groups(a.groups)
        .set_replication_user(a.replication_user)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UserChanged {
        broker_id: a.broker_id,
        username: a.username,
        change: "CREATE".into(),
    })
}

pub(super) async fn update_broker_user(
    ctx: ToolContext,
    a: UserWriteArgs,
) -> Result<UserChanged, ToolError> {
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .update_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .set_password(a.password)
        .set_console_access(a.console_access)
        .set_groups(a.groups)
        .set_replication_user(a.replication_user)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UserChanged {
        broker_id: a.broker_id,
        username: a.username,
        change: "UPDATE".into(),
    })
}

pub(super) async fn delete_broker_user(
    ctx: ToolContext,
    a: UserArgs,
) -> Result<UserChanged, ToolError> {
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .delete_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(UserChanged {
        broker_id: a.broker_id,
        username: a.username,
        change: "DELETE".into(),
    })
}

/// Arguments of `create_tags`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTagsArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// ARN of a broker or configuration.
    #[schemars(regex(pattern = MQ_ARN))]
    #[serde(rename = "ResourceArn")]
    pub resource_arn: String,
    /// Tags to add or overwrite: key → value.
    #[schemars(length(min = 1))]
    #[serde(rename = "Tags")]
    pub tags: HashMap<String, String>,
}

impl CheckArgs for CreateTagsArgs {
    fn check(&self) -> Result<(), ArgError> {
        if self.tags.is_empty() {
            return Err(ArgError::rule("Tags", "give at least one tag"));
        }
        check_tags("Tags", &self.tags)
    }
}

pub(super) async fn create_tags(ctx: ToolContext, a: CreateTagsArgs) -> Result<TagsOut, ToolError> {
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .create_tags()
        .resource_arn(&a.resource_arn)
        .set_tags(Some(a.tags.clone()))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(TagsOut { tags: a.tags })
}

/// Arguments of `delete_tags`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteTagsArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// ARN of a broker or configuration.
    #[schemars(regex(pattern = MQ_ARN))]
    #[serde(rename = "ResourceArn")]
    pub resource_arn: String,
    /// Keys of the tags to remove.
    #[schemars(length(min = 1, max = 50), inner(length(min = 1, max = 128)))]
    #[serde(rename = "TagKeys")]
    pub tag_keys: Vec<String>,
}
impl CheckArgs for DeleteTagsArgs {}

/// Tag keys removed.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct TagKeysOut {
    pub removed_tag_keys: Vec<String>,
}

pub(super) async fn delete_tags(
    ctx: ToolContext,
    a: DeleteTagsArgs,
) -> Result<TagKeysOut, ToolError> {
    ctx.aws
        .client::<aws_sdk_mq::Client>(a.region.as_deref())
        .await
        .delete_tags()
        .resource_arn(&a.resource_arn)
        .set_tag_keys(Some(a.tag_keys.clone()))
        .send()
        .await
        .map_err(|e| ctx.aws_error(e))?;
    Ok(TagKeysOut {
        removed_tag_keys: a.tag_keys,
    })
}
