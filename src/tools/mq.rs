//! Amazon MQ tools (aws-sdk-mq): the 20 tools of the AWS Labs Amazon MQ server, with the
//! broker-user tools renamed (`list_users` → `list_broker_users`, `describe_user` →
//! `describe_broker_user`), plus create/update/delete broker user and create/delete tags.
//!
//! Parameter names follow the AWS Labs server (`BrokerId`, `broker_name`, ...) so that agents
//! and prompts written for it keep working; types follow the API (objects, arrays, integers).

use std::collections::HashMap;

use aws_sdk_mq::types as sdk;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{check_tags, ts};
use crate::aws::aws_error;
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolSpec, info, tool};
use crate::error::{ArgError, ToolError};

// AWS generates `b-<uuid>` / `c-<uuid>`; local fakes generate shorter IDs. Both are letters,
// digits and hyphens, which is what keeps an ID from escaping its place in the request path.
const BROKER_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
const CONFIGURATION_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
const BROKER_NAME: &str = r"^[A-Za-z0-9._~-]{1,50}$";
const CONFIGURATION_NAME: &str = r"^[A-Za-z0-9._~-]{1,150}$";
const USERNAME: &str = r"^[A-Za-z0-9._~-]{2,100}$";
const PASSWORD: &str = r"^[^,:=]{12,250}$";
const MQ_ARN: &str = r"^arn:aws[a-z-]*:mq:[a-z0-9-]+:[0-9]{12}:(broker|configuration):.+$";
const INSTANCE_TYPE: &str = r"^mq\.[a-z0-9]+\.[a-z0-9]+$";
const ENGINE_VERSION: &str = r"^[0-9]+(\.[0-9]+){0,2}$";
const SECURITY_GROUP: &str = r"^sg-[0-9a-f]{8,17}$";
const SUBNET: &str = r"^subnet-[0-9a-f]{8,17}$";
const REVISION: &str = r"^[0-9]{1,9}$";
const TIME_OF_DAY: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";
const REGION: &str = super::common::REGION_PATTERN;

macro_rules! str_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
    };
}

str_enum!(
    /// Broker engine.
    EngineType { ActiveMq = "ACTIVEMQ", RabbitMq = "RABBITMQ" }
);
str_enum!(
    /// Broker deployment mode.
    DeploymentMode {
        SingleInstance = "SINGLE_INSTANCE",
        ActiveStandbyMultiAz = "ACTIVE_STANDBY_MULTI_AZ",
        ClusterMultiAz = "CLUSTER_MULTI_AZ",
    }
);
str_enum!(
    /// How users authenticate to the broker.
    AuthStrategy { Simple = "SIMPLE", Ldap = "LDAP", ConfigManaged = "CONFIG_MANAGED" }
);
str_enum!(
    /// Broker storage.
    StorageType { Ebs = "EBS", Efs = "EFS" }
);
str_enum!(
    /// Promotion mode of a cross-region data replication (CRDR) replica.
    PromoteMode { Switchover = "SWITCHOVER", Failover = "FAILOVER" }
);
str_enum!(
    /// Cross-region data replication mode.
    ReplicationMode { None = "NONE", Crdr = "CRDR" }
);
str_enum!(
    /// Day of the week.
    DayOfWeek {
        Monday = "MONDAY", Tuesday = "TUESDAY", Wednesday = "WEDNESDAY", Thursday = "THURSDAY",
        Friday = "FRIDAY", Saturday = "SATURDAY", Sunday = "SUNDAY",
    }
);

// ---------------------------------------------------------------- shared input shapes

/// A configuration and revision to apply to a broker.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationRef {
    /// Configuration ID (`c-...`).
    #[schemars(regex(pattern = CONFIGURATION_ID))]
    #[serde(rename = "Id")]
    pub id: String,
    /// Revision number; the latest when omitted.
    #[schemars(range(min = 1))]
    #[serde(rename = "Revision", default)]
    pub revision: Option<i32>,
}

impl ConfigurationRef {
    fn to_sdk(&self) -> sdk::ConfigurationId {
        sdk::ConfigurationId::builder()
            .id(&self.id)
            .set_revision(self.revision)
            .build()
    }
}

/// Which logs the broker publishes to CloudWatch Logs.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LogsInput {
    /// Audit logging (ActiveMQ only).
    #[serde(rename = "Audit", default)]
    pub audit: Option<bool>,
    /// General logging.
    #[serde(rename = "General", default)]
    pub general: Option<bool>,
}

impl LogsInput {
    fn to_sdk(&self) -> sdk::Logs {
        sdk::Logs::builder()
            .set_audit(self.audit)
            .set_general(self.general)
            .build()
    }
}

/// The weekly maintenance window start.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceWindow {
    #[serde(rename = "DayOfWeek")]
    pub day_of_week: DayOfWeek,
    /// 24-hour `HH:MM`.
    #[schemars(regex(pattern = TIME_OF_DAY))]
    #[serde(rename = "TimeOfDay")]
    pub time_of_day: String,
    /// IANA time zone or UTC offset; UTC when omitted.
    #[schemars(length(max = 64))]
    #[serde(rename = "TimeZone", default)]
    pub time_zone: Option<String>,
}

impl MaintenanceWindow {
    fn to_sdk(&self) -> sdk::WeeklyStartTime {
        sdk::WeeklyStartTime::builder()
            .day_of_week(sdk::DayOfWeek::from(self.day_of_week.as_str()))
            .time_of_day(&self.time_of_day)
            .set_time_zone(self.time_zone.clone())
            .build()
    }
}

/// LDAP server settings (ActiveMQ only).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
pub struct LdapInput {
    #[schemars(length(min = 1, max = 3))]
    pub hosts: Vec<String>,
    pub role_base: String,
    #[serde(default)]
    pub role_name: Option<String>,
    pub role_search_matching: String,
    #[serde(default)]
    pub role_search_subtree: Option<bool>,
    /// Secret: never logged or audited.
    pub service_account_password: String,
    pub service_account_username: String,
    pub user_base: String,
    #[serde(default)]
    pub user_role_name: Option<String>,
    pub user_search_matching: String,
    #[serde(default)]
    pub user_search_subtree: Option<bool>,
}

impl LdapInput {
    fn to_sdk(&self) -> sdk::LdapServerMetadataInput {
        sdk::LdapServerMetadataInput::builder()
            .set_hosts(Some(self.hosts.clone()))
            .role_base(&self.role_base)
            .set_role_name(self.role_name.clone())
            .role_search_matching(&self.role_search_matching)
            .set_role_search_subtree(self.role_search_subtree)
            .service_account_password(&self.service_account_password)
            .service_account_username(&self.service_account_username)
            .user_base(&self.user_base)
            .set_user_role_name(self.user_role_name.clone())
            .user_search_matching(&self.user_search_matching)
            .set_user_search_subtree(self.user_search_subtree)
            .build()
    }
}

/// AWS's password rule for broker users, beyond the schema's pattern: at least 4 unique
/// characters. The value is never echoed.
fn check_password(field: &str, password: Option<&str>) -> Result<(), ArgError> {
    if let Some(p) = password {
        let mut unique: Vec<char> = p.chars().collect();
        unique.sort_unstable();
        unique.dedup();
        if unique.len() < 4 {
            return Err(ArgError::rule(
                field,
                "the password must contain at least 4 unique characters (value not shown)",
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- output shapes

/// A broker in a listing.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokerSummary {
    pub broker_arn: Option<String>,
    pub broker_id: Option<String>,
    pub broker_name: Option<String>,
    pub broker_state: Option<String>,
    pub created: Option<String>,
    pub deployment_mode: Option<String>,
    pub engine_type: Option<String>,
    pub host_instance_type: Option<String>,
}

impl From<&sdk::BrokerSummary> for BrokerSummary {
    fn from(b: &sdk::BrokerSummary) -> Self {
        BrokerSummary {
            broker_arn: b.broker_arn.clone(),
            broker_id: b.broker_id.clone(),
            broker_name: b.broker_name.clone(),
            broker_state: b.broker_state.as_ref().map(|s| s.as_str().to_string()),
            created: ts(b.created.as_ref()),
            deployment_mode: b.deployment_mode.as_ref().map(|s| s.as_str().to_string()),
            engine_type: b.engine_type.as_ref().map(|s| s.as_str().to_string()),
            host_instance_type: b.host_instance_type.clone(),
        }
    }
}

/// A configuration and revision in use.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct ConfigurationIdOut {
    pub id: Option<String>,
    pub revision: Option<i32>,
}

fn config_id(c: &sdk::ConfigurationId) -> ConfigurationIdOut {
    ConfigurationIdOut {
        id: c.id.clone(),
        revision: c.revision,
    }
}

/// The configurations of a broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokerConfigurations {
    pub current: Option<ConfigurationIdOut>,
    pub pending: Option<ConfigurationIdOut>,
    pub history: Vec<ConfigurationIdOut>,
}

/// A broker instance's endpoints.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct BrokerInstance {
    pub console_url: Option<String>,
    pub endpoints: Vec<String>,
    pub ip_address: Option<String>,
}

/// A broker user in a listing.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct UserSummary {
    pub username: Option<String>,
    pub pending_change: Option<String>,
}

impl From<&sdk::UserSummary> for UserSummary {
    fn from(u: &sdk::UserSummary) -> Self {
        UserSummary {
            username: u.username.clone(),
            pending_change: u.pending_change.as_ref().map(|c| c.as_str().to_string()),
        }
    }
}

/// The full description of a broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Broker {
    pub broker_arn: Option<String>,
    pub broker_id: Option<String>,
    pub broker_name: Option<String>,
    pub broker_state: Option<String>,
    pub created: Option<String>,
    pub deployment_mode: Option<String>,
    pub engine_type: Option<String>,
    pub engine_version: Option<String>,
    pub pending_engine_version: Option<String>,
    pub host_instance_type: Option<String>,
    pub pending_host_instance_type: Option<String>,
    pub authentication_strategy: Option<String>,
    pub auto_minor_version_upgrade: Option<bool>,
    pub publicly_accessible: Option<bool>,
    pub storage_type: Option<String>,
    pub security_groups: Vec<String>,
    pub subnet_ids: Vec<String>,
    pub broker_instances: Vec<BrokerInstance>,
    pub configurations: Option<BrokerConfigurations>,
    pub logs: Option<LogsOut>,
    pub maintenance_window_start_time: Option<MaintenanceWindowOut>,
    pub users: Vec<UserSummary>,
    pub tags: HashMap<String, String>,
    pub data_replication_mode: Option<String>,
    pub actions_required: Vec<String>,
}

/// Logging settings of a broker.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct LogsOut {
    pub audit: Option<bool>,
    pub general: Option<bool>,
    pub audit_log_group: Option<String>,
    pub general_log_group: Option<String>,
}

/// A maintenance window start.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct MaintenanceWindowOut {
    pub day_of_week: Option<String>,
    pub time_of_day: Option<String>,
    pub time_zone: Option<String>,
}

fn window_out(w: &sdk::WeeklyStartTime) -> MaintenanceWindowOut {
    MaintenanceWindowOut {
        day_of_week: w.day_of_week.as_ref().map(|d| d.as_str().to_string()),
        time_of_day: w.time_of_day.clone(),
        time_zone: w.time_zone.clone(),
    }
}

/// A configuration revision.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Revision {
    pub revision: Option<i32>,
    pub created: Option<String>,
    pub description: Option<String>,
}

fn revision(r: &sdk::ConfigurationRevision) -> Revision {
    Revision {
        revision: r.revision,
        created: ts(r.created.as_ref()),
        description: r.description.clone(),
    }
}

/// A broker configuration.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Configuration {
    pub arn: Option<String>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub authentication_strategy: Option<String>,
    pub engine_type: Option<String>,
    pub engine_version: Option<String>,
    pub created: Option<String>,
    pub latest_revision: Option<Revision>,
    pub tags: HashMap<String, String>,
}

impl From<&sdk::Configuration> for Configuration {
    fn from(c: &sdk::Configuration) -> Self {
        Configuration {
            arn: c.arn.clone(),
            id: c.id.clone(),
            name: c.name.clone(),
            description: c.description.clone(),
            authentication_strategy: c
                .authentication_strategy
                .as_ref()
                .map(|a| a.as_str().to_string()),
            engine_type: c.engine_type.as_ref().map(|e| e.as_str().to_string()),
            engine_version: c.engine_version.clone(),
            created: ts(c.created.as_ref()),
            latest_revision: c.latest_revision.as_ref().map(revision),
            tags: c.tags.clone().unwrap_or_default(),
        }
    }
}

// ---------------------------------------------------------------- argument types

/// Only a region.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PageArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Page size, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    /// The `NextToken` of the previous page.
    #[schemars(length(min = 1, max = 4096))]
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
impl CheckArgs for PageArgs {}

/// A broker.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(rename = "BrokerId")]
    pub broker_id: String,
}
impl CheckArgs for BrokerArgs {}

/// A broker, paged.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BrokerPageArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Broker ID (on AWS, `b-` followed by a UUID).
    #[schemars(regex(pattern = BROKER_ID))]
    #[serde(rename = "BrokerId")]
    pub broker_id: String,
    /// Page size, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    /// The `NextToken` of the previous page.
    #[schemars(length(min = 1, max = 4096))]
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
impl CheckArgs for BrokerPageArgs {}

/// A configuration.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Configuration ID (on AWS, `c-` followed by a UUID).
    #[schemars(regex(pattern = CONFIGURATION_ID))]
    #[serde(rename = "ConfigurationId")]
    pub configuration_id: String,
}
impl CheckArgs for ConfigurationArgs {}

/// A configuration, paged.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigurationPageArgs {
    /// AWS region for this call; the server's default region when omitted.
    #[schemars(regex(pattern = REGION))]
    #[serde(default)]
    pub region: Option<String>,
    /// Configuration ID (on AWS, `c-` followed by a UUID).
    #[schemars(regex(pattern = CONFIGURATION_ID))]
    #[serde(rename = "ConfigurationId")]
    pub configuration_id: String,
    /// Page size, 1 to 100.
    #[schemars(range(min = 1, max = 100))]
    #[serde(rename = "MaxResults", default)]
    pub max_results: Option<i32>,
    /// The `NextToken` of the previous page.
    #[schemars(length(min = 1, max = 4096))]
    #[serde(rename = "NextToken", default)]
    pub next_token: Option<String>,
}
impl CheckArgs for ConfigurationPageArgs {}

fn default_instance_type() -> String {
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

fn yes() -> bool {
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
}

async fn create_broker(ctx: ToolContext, a: CreateBrokerArgs) -> Result<CreatedBroker, ToolError> {
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
        .mq(a.region.as_deref())
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
        .set_tags(a.tags)
        .send()
        .await
        .map_err(|e| aws_error("mq:CreateBroker", e))?;
    Ok(CreatedBroker {
        broker_arn: out.broker_arn,
        broker_id: out.broker_id,
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

async fn create_configuration(
    ctx: ToolContext,
    a: CreateConfigurationArgs,
) -> Result<Configuration, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .create_configuration()
        .authentication_strategy(sdk::AuthenticationStrategy::from(
            a.authentication_strategy.as_str(),
        ))
        .engine_type(sdk::EngineType::from(a.engine_type.as_str()))
        .engine_version(&a.engine_version)
        .name(&a.name)
        .set_tags(a.tags)
        .send()
        .await
        .map_err(|e| aws_error("mq:CreateConfiguration", e))?;
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

async fn delete_broker(ctx: ToolContext, a: BrokerArgs) -> Result<BrokerIdOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .delete_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DeleteBroker", e))?;
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

async fn delete_configuration(
    ctx: ToolContext,
    a: ConfigurationArgs,
) -> Result<ConfigurationIdOnly, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .delete_configuration()
        .configuration_id(&a.configuration_id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DeleteConfiguration", e))?;
    Ok(ConfigurationIdOnly {
        configuration_id: out.configuration_id,
    })
}

async fn describe_broker(ctx: ToolContext, a: BrokerArgs) -> Result<Broker, ToolError> {
    let b = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeBroker", e))?;
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

async fn describe_broker_engine_types(
    ctx: ToolContext,
    a: EngineTypesArgs,
) -> Result<EngineTypesOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_broker_engine_types()
        .set_engine_type(a.engine_type.map(|e| e.as_str().to_string()))
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeBrokerEngineTypes", e))?;
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

async fn describe_broker_instance_options(
    ctx: ToolContext,
    a: InstanceOptionsArgs,
) -> Result<InstanceOptionsOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_broker_instance_options()
        .set_engine_type(a.engine_type.map(|e| e.as_str().to_string()))
        .set_host_instance_type(a.host_instance_type)
        .set_storage_type(a.storage_type.map(|s| s.as_str().to_string()))
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeBrokerInstanceOptions", e))?;
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

async fn describe_configuration(
    ctx: ToolContext,
    a: ConfigurationArgs,
) -> Result<Configuration, ToolError> {
    let c = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_configuration()
        .configuration_id(&a.configuration_id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeConfiguration", e))?;
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

async fn describe_configuration_revision(
    ctx: ToolContext,
    a: RevisionArgs,
) -> Result<RevisionData, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_configuration_revision()
        .configuration_id(&a.configuration_id)
        .configuration_revision(&a.configuration_revision)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeConfigurationRevision", e))?;
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

async fn describe_shared_resources(
    ctx: ToolContext,
    a: BrokerPageArgs,
) -> Result<SharedResourcesOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_shared_resources()
        .broker_id(&a.broker_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeSharedResources", e))?;
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

async fn describe_broker_user(ctx: ToolContext, a: UserArgs) -> Result<BrokerUser, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .describe_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeUser", e))?;
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

async fn list_brokers(ctx: ToolContext, a: PageArgs) -> Result<BrokersOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .list_brokers()
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:ListBrokers", e))?;
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

async fn list_configuration_revisions(
    ctx: ToolContext,
    a: ConfigurationPageArgs,
) -> Result<RevisionsOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .list_configuration_revisions()
        .configuration_id(&a.configuration_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:ListConfigurationRevisions", e))?;
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

async fn list_configurations(
    ctx: ToolContext,
    a: PageArgs,
) -> Result<ConfigurationsOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .list_configurations()
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:ListConfigurations", e))?;
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

async fn list_tags(ctx: ToolContext, a: ResourceArgs) -> Result<TagsOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .list_tags()
        .resource_arn(&a.resource_arn)
        .send()
        .await
        .map_err(|e| aws_error("mq:ListTags", e))?;
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

async fn list_broker_users(ctx: ToolContext, a: BrokerPageArgs) -> Result<UsersOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .list_users()
        .broker_id(&a.broker_id)
        .set_max_results(a.max_results)
        .set_next_token(a.next_token)
        .send()
        .await
        .map_err(|e| aws_error("mq:ListUsers", e))?;
    Ok(UsersOut {
        broker_id: out.broker_id.clone(),
        users: out.users().iter().map(UserSummary::from).collect(),
        next_token: out.next_token,
    })
}

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
}
impl CheckArgs for PromoteArgs {}

async fn promote(ctx: ToolContext, a: PromoteArgs) -> Result<BrokerIdOut, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .promote()
        .broker_id(&a.broker_id)
        .mode(sdk::PromoteMode::from(a.mode.as_str()))
        .send()
        .await
        .map_err(|e| aws_error("mq:Promote", e))?;
    Ok(BrokerIdOut {
        broker_id: out.broker_id,
    })
}

/// The result of a reboot request.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct RebootOut {
    pub broker_id: String,
    pub reboot_requested: bool,
}

async fn reboot_broker(ctx: ToolContext, a: BrokerArgs) -> Result<RebootOut, ToolError> {
    ctx.aws
        .mq(a.region.as_deref())
        .await
        .reboot_broker()
        .broker_id(&a.broker_id)
        .send()
        .await
        .map_err(|e| aws_error("mq:RebootBroker", e))?;
    Ok(RebootOut {
        broker_id: a.broker_id,
        reboot_requested: true,
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
}

async fn update_broker(ctx: ToolContext, a: UpdateBrokerArgs) -> Result<UpdatedBroker, ToolError> {
    let ldap = a.ldap_server_metadata.as_ref().map(LdapInput::to_sdk);
    let window = a
        .maintenance_window_start_time
        .as_ref()
        .map(MaintenanceWindow::to_sdk);
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
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
        .map_err(|e| aws_error("mq:UpdateBroker", e))?;
    Ok(UpdatedBroker {
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

async fn update_configuration(
    ctx: ToolContext,
    a: UpdateConfigurationArgs,
) -> Result<UpdatedConfiguration, ToolError> {
    let out = ctx
        .aws
        .mq(a.region.as_deref())
        .await
        .update_configuration()
        .configuration_id(&a.configuration_id)
        .data(aws_smithy_types::base64::encode(a.data.as_bytes()))
        .set_description(a.description)
        .send()
        .await
        .map_err(|e| aws_error("mq:UpdateConfiguration", e))?;
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

async fn create_broker_user(ctx: ToolContext, a: UserWriteArgs) -> Result<UserChanged, ToolError> {
    let Some(password) = a.password.as_deref() else {
        return Err(ArgError::rule("Password", "is required to create a broker user").into());
    };
    ctx.aws
        .mq(a.region.as_deref())
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
        .map_err(|e| aws_error("mq:CreateUser", e))?;
    Ok(UserChanged {
        broker_id: a.broker_id,
        username: a.username,
        change: "CREATE".into(),
    })
}

async fn update_broker_user(ctx: ToolContext, a: UserWriteArgs) -> Result<UserChanged, ToolError> {
    ctx.aws
        .mq(a.region.as_deref())
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
        .map_err(|e| aws_error("mq:UpdateUser", e))?;
    Ok(UserChanged {
        broker_id: a.broker_id,
        username: a.username,
        change: "UPDATE".into(),
    })
}

async fn delete_broker_user(ctx: ToolContext, a: UserArgs) -> Result<UserChanged, ToolError> {
    ctx.aws
        .mq(a.region.as_deref())
        .await
        .delete_user()
        .broker_id(&a.broker_id)
        .username(&a.username)
        .send()
        .await
        .map_err(|e| aws_error("mq:DeleteUser", e))?;
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

async fn create_tags(ctx: ToolContext, a: CreateTagsArgs) -> Result<TagsOut, ToolError> {
    ctx.aws
        .mq(a.region.as_deref())
        .await
        .create_tags()
        .resource_arn(&a.resource_arn)
        .set_tags(Some(a.tags.clone()))
        .send()
        .await
        .map_err(|e| aws_error("mq:CreateTags", e))?;
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

async fn delete_tags(ctx: ToolContext, a: DeleteTagsArgs) -> Result<TagKeysOut, ToolError> {
    ctx.aws
        .mq(a.region.as_deref())
        .await
        .delete_tags()
        .resource_arn(&a.resource_arn)
        .set_tag_keys(Some(a.tag_keys.clone()))
        .send()
        .await
        .map_err(|e| aws_error("mq:DeleteTags", e))?;
    Ok(TagKeysOut {
        removed_tag_keys: a.tag_keys,
    })
}

// ---------------------------------------------------------------- catalogue entries

/// The Amazon MQ tools.
pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(info("create_broker", Write, "mq:CreateBroker", false,
            "Create an Amazon MQ broker (ActiveMQ or RabbitMQ) with one administrative user. Billable. Returns BrokerId and BrokerArn."), create_broker),
        tool(info("create_configuration", Write, "mq:CreateConfiguration", false,
            "Create a broker configuration (revision 1) for an engine and version."), create_configuration),
        tool(info("delete_broker", Destructive, "mq:DeleteBroker", true,
            "Delete a broker and all its messages. Irreversible."), delete_broker),
        tool(info("delete_configuration", Destructive, "mq:DeleteConfiguration", true,
            "Delete a configuration that no broker uses. Irreversible."), delete_configuration),
        tool(info("describe_broker", Read, "mq:DescribeBroker", true,
            "Describe a broker: state, engine, instance type, endpoints, configurations, users, network settings."), describe_broker),
        tool(info("describe_broker_engine_types", Read, "mq:DescribeBrokerEngineTypes", true,
            "List the broker engines and engine versions available in a region."), describe_broker_engine_types),
        tool(info("describe_broker_instance_options", Read, "mq:DescribeBrokerInstanceOptions", true,
            "List the broker instance types, storage types, deployment modes and zones available in a region."), describe_broker_instance_options),
        tool(info("describe_configuration", Read, "mq:DescribeConfiguration", true,
            "Describe a configuration and its latest revision."), describe_configuration),
        tool(info("describe_configuration_revision", Read, "mq:DescribeConfigurationRevision", true,
            "Get one revision of a configuration, with its data (base64, and decoded)."), describe_configuration_revision),
        tool(info("describe_shared_resources", Read, "mq:DescribeSharedResources", true,
            "List the resources shared with a broker through AWS RAM, with their status and DNS names."), describe_shared_resources),
        tool(info("describe_broker_user", Read, "mq:DescribeUser", true,
            "Describe a broker user: console access, groups, pending changes. (The AWS Labs server calls this describe_user.)"), describe_broker_user),
        tool(info("list_brokers", Read, "mq:ListBrokers", true,
            "List the brokers in a region, one page at a time (MaxResults, NextToken)."), list_brokers),
        tool(info("list_configuration_revisions", Read, "mq:ListConfigurationRevisions", true,
            "List the revisions of a configuration, one page at a time."), list_configuration_revisions),
        tool(info("list_configurations", Read, "mq:ListConfigurations", true,
            "List the configurations in a region, one page at a time."), list_configurations),
        tool(info("list_tags", Read, "mq:ListTags", true,
            "List the tags of a broker or configuration."), list_tags),
        tool(info("list_broker_users", Read, "mq:ListUsers", true,
            "List the users of a broker, one page at a time. (The AWS Labs server calls this list_users.)"), list_broker_users),
        tool(info("promote", Execute, "mq:Promote", false,
            "Promote a cross-region replica broker to primary (SWITCHOVER or FAILOVER). Disrupts clients."), promote).disruptive(),
        tool(info("reboot_broker", Execute, "mq:RebootBroker", false,
            "Reboot a broker; pending changes take effect. Disconnects clients."), reboot_broker).disruptive(),
        tool(info("update_broker", Write, "mq:UpdateBroker", false,
            "Change a broker's settings; only the fields given are changed. Most changes apply at the next reboot."), update_broker),
        tool(info("update_configuration", Write, "mq:UpdateConfiguration", false,
            "Write a new revision of a configuration. Data is the configuration text; the server base64-encodes it."), update_configuration),
        tool(info("create_broker_user", Write, "mq:CreateUser", false,
            "Create a broker user (ActiveMQ, or RabbitMQ replication user). Applied at the next reboot."), create_broker_user),
        tool(info("update_broker_user", Write, "mq:UpdateUser", true,
            "Change a broker user's password, console access or groups; only the fields given are changed."), update_broker_user),
        tool(info("delete_broker_user", Destructive, "mq:DeleteUser", true,
            "Delete a broker user. Applied at the next reboot."), delete_broker_user),
        tool(info("create_tags", Write, "mq:CreateTags", true,
            "Add or overwrite tags on a broker or configuration."), create_tags),
        tool(info("delete_tags", Write, "mq:DeleteTags", true,
            "Remove tags from a broker or configuration."), delete_tags),
    ]
}
