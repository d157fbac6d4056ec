//! Argument and result types shared by the Amazon MQ tools.

use super::*;
use crate::tools::common::mq_paged;

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
    pub(super) fn to_sdk(&self) -> sdk::ConfigurationId {
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
    pub(super) fn to_sdk(&self) -> sdk::Logs {
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
    pub(super) fn to_sdk(&self) -> sdk::WeeklyStartTime {
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
    pub(super) fn to_sdk(&self) -> sdk::LdapServerMetadataInput {
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
pub(super) fn check_password(field: &str, password: Option<&str>) -> Result<(), ArgError> {
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

pub(super) fn config_id(c: &sdk::ConfigurationId) -> ConfigurationIdOut {
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

pub(super) fn window_out(w: &sdk::WeeklyStartTime) -> MaintenanceWindowOut {
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

pub(super) fn revision(r: &sdk::ConfigurationRevision) -> Revision {
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

mq_paged! {
/// Only a region.
    pub struct PageArgs {
        /// AWS region for this call; the server's default region when omitted.
        #[schemars(regex(pattern = REGION))]
        #[serde(default)]
        pub region: Option<String>,
    }
}

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

mq_paged! {
/// A broker, paged.
    pub struct BrokerPageArgs {
        /// AWS region for this call; the server's default region when omitted.
        #[schemars(regex(pattern = REGION))]
        #[serde(default)]
        pub region: Option<String>,
        /// Broker ID (on AWS, `b-` followed by a UUID).
        #[schemars(regex(pattern = BROKER_ID))]
        #[serde(rename = "BrokerId")]
        pub broker_id: String,
    }
}

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

mq_paged! {
/// A configuration, paged.
    pub struct ConfigurationPageArgs {
        /// AWS region for this call; the server's default region when omitted.
        #[schemars(regex(pattern = REGION))]
        #[serde(default)]
        pub region: Option<String>,
        /// Configuration ID (on AWS, `c-` followed by a UUID).
        #[schemars(regex(pattern = CONFIGURATION_ID))]
        #[serde(rename = "ConfigurationId")]
        pub configuration_id: String,
    }
}
