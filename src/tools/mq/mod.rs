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

use super::common::{Waited, check_tags, ts, wait_for};
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolInfo, ToolSpec, tool};
use crate::error::{ArgError, ToolError};

// AWS generates `b-<uuid>` / `c-<uuid>`; local fakes generate shorter IDs. Both are letters,
// digits and hyphens, which is what keeps an ID from escaping its place in the request path.
pub(super) const BROKER_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
pub(super) const CONFIGURATION_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
pub(super) const BROKER_NAME: &str = r"^[A-Za-z0-9._~-]{1,50}$";
pub(super) const CONFIGURATION_NAME: &str = r"^[A-Za-z0-9._~-]{1,150}$";
pub(super) const USERNAME: &str = r"^[A-Za-z0-9._~-]{2,100}$";
pub(super) const PASSWORD: &str = r"^[^,:=]{12,250}$";
pub(super) const MQ_ARN: &str =
    r"^arn:aws[a-z-]*:mq:[a-z0-9-]+:[0-9]{12}:(broker|configuration):.+$";
pub(super) const INSTANCE_TYPE: &str = r"^mq\.[a-z0-9]+\.[a-z0-9]+$";
pub(super) const ENGINE_VERSION: &str = r"^[0-9]+(\.[0-9]+){0,2}$";
pub(super) const SECURITY_GROUP: &str = r"^sg-[0-9a-f]{8,17}$";
pub(super) const SUBNET: &str = r"^subnet-[0-9a-f]{8,17}$";
pub(super) const REVISION: &str = r"^[0-9]{1,9}$";
pub(super) const TIME_OF_DAY: &str = r"^([01][0-9]|2[0-3]):[0-5][0-9]$";
pub(super) const REGION: &str = super::common::REGION_PATTERN;

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

pub mod change;
pub mod create_delete;
pub mod describe;
pub mod list;
/// The Amazon MQ resources its tools act on, for `resource.*` conditions.
pub mod resources;
pub mod types;
mod waits;

pub use change::*;
pub use create_delete::*;
pub use describe::*;
pub use list::*;
pub use types::*;

// ---------------------------------------------------------------- catalogue entries

/// The Amazon MQ tools.
/// The Amazon MQ family.
pub struct AmazonMq;

impl super::Family for AmazonMq {
    fn name(&self) -> &'static str {
        "Amazon MQ"
    }
    fn tools(&self) -> Vec<ToolSpec> {
        tools()
    }
    fn resource_kinds(&self) -> &'static [&'static crate::resource::ResourceKind] {
        &resources::KINDS
    }
    fn aws_services(&self) -> &'static [&'static str] {
        &["mq"]
    }
}

pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(
            ToolInfo {
                name: "create_broker",
                class: Write,
                aws_api: "mq:CreateBroker",
                idempotent: false,
                description: "Create an Amazon MQ broker (ActiveMQ or RabbitMQ) with one \
                administrative user. Billable. Returns BrokerId and BrokerArn; with `wait`, waits \
                (with progress) until the broker is RUNNING.",
            },
            create_broker,
        )
        .also_calls(&["mq:DescribeBroker"])
        .tags_what_it_creates(),
        tool(
            ToolInfo {
                name: "create_configuration",
                class: Write,
                aws_api: "mq:CreateConfiguration",
                idempotent: false,
                description: "Create a broker configuration (revision 1) for an engine and \
                version.",
            },
            create_configuration,
        )
        .tags_what_it_creates(),
        tool(
            ToolInfo {
                name: "delete_broker",
                class: Destructive,
                aws_api: "mq:DeleteBroker",
                idempotent: true,
                description: "Delete a broker and all its messages. Irreversible.",
            },
            delete_broker,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "delete_configuration",
                class: Destructive,
                aws_api: "mq:DeleteConfiguration",
                idempotent: true,
                description: "Delete a configuration that no broker uses. Irreversible.",
            },
            delete_configuration,
        )
        .targets(resources::configuration_by("ConfigurationId")),
        tool(
            ToolInfo {
                name: "describe_broker",
                class: Read,
                aws_api: "mq:DescribeBroker",
                idempotent: true,
                description: "Describe a broker: state, engine, instance type, endpoints, \
                configurations, users, network settings.",
            },
            describe_broker,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "describe_broker_engine_types",
                class: Read,
                aws_api: "mq:DescribeBrokerEngineTypes",
                idempotent: true,
                description: "List the broker engines and engine versions available in a region.",
            },
            describe_broker_engine_types,
        ),
        tool(
            ToolInfo {
                name: "describe_broker_instance_options",
                class: Read,
                aws_api: "mq:DescribeBrokerInstanceOptions",
                idempotent: true,
                description: "List the broker instance types, storage types, deployment modes and \
                zones available in a region.",
            },
            describe_broker_instance_options,
        ),
        tool(
            ToolInfo {
                name: "describe_configuration",
                class: Read,
                aws_api: "mq:DescribeConfiguration",
                idempotent: true,
                description: "Describe a configuration and its latest revision.",
            },
            describe_configuration,
        )
        .targets(resources::configuration_by("ConfigurationId")),
        tool(
            ToolInfo {
                name: "describe_configuration_revision",
                class: Read,
                aws_api: "mq:DescribeConfigurationRevision",
                idempotent: true,
                description: "Get one revision of a configuration, with its data (base64, and \
                decoded).",
            },
            describe_configuration_revision,
        )
        .targets(resources::configuration_by("ConfigurationId")),
        tool(
            ToolInfo {
                name: "describe_shared_resources",
                class: Read,
                aws_api: "mq:DescribeSharedResources",
                idempotent: true,
                description: "List the resources shared with a broker through AWS RAM, with their \
                status and DNS names.",
            },
            describe_shared_resources,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "describe_broker_user",
                class: Read,
                aws_api: "mq:DescribeUser",
                idempotent: true,
                description: "Describe a broker user: console access, groups, pending changes. \
                (The AWS Labs server calls this describe_user.)",
            },
            describe_broker_user,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "list_brokers",
                class: Read,
                aws_api: "mq:ListBrokers",
                idempotent: true,
                description: "List the brokers in a region, one page at a time (MaxResults, \
                NextToken).",
            },
            list_brokers,
        ),
        tool(
            ToolInfo {
                name: "list_configuration_revisions",
                class: Read,
                aws_api: "mq:ListConfigurationRevisions",
                idempotent: true,
                description: "List the revisions of a configuration, one page at a time.",
            },
            list_configuration_revisions,
        )
        .targets(resources::configuration_by("ConfigurationId")),
        tool(
            ToolInfo {
                name: "list_configurations",
                class: Read,
                aws_api: "mq:ListConfigurations",
                idempotent: true,
                description: "List the configurations in a region, one page at a time.",
            },
            list_configurations,
        ),
        tool(
            ToolInfo {
                name: "list_tags",
                class: Read,
                aws_api: "mq:ListTags",
                idempotent: true,
                description: "List the tags of a broker or configuration.",
            },
            list_tags,
        )
        .targets(resources::arn_by("ResourceArn")),
        tool(
            ToolInfo {
                name: "list_broker_users",
                class: Read,
                aws_api: "mq:ListUsers",
                idempotent: true,
                description: "List the users of a broker, one page at a time. (The AWS Labs server \
                calls this list_users.)",
            },
            list_broker_users,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "promote",
                class: Execute,
                aws_api: "mq:Promote",
                idempotent: false,
                description: "Promote a cross-region replica broker to primary (SWITCHOVER or \
                FAILOVER). Disrupts clients. With `wait`, waits (with progress) until it is the \
                RUNNING primary.",
            },
            promote,
        )
        .also_calls(&["mq:DescribeBroker"])
        .targets(resources::broker_by("BrokerId"))
        .disruptive(),
        tool(
            ToolInfo {
                name: "reboot_broker",
                class: Execute,
                aws_api: "mq:RebootBroker",
                idempotent: false,
                description: "Reboot a broker; pending changes take effect. Disconnects clients.",
            },
            reboot_broker,
        )
        .also_calls(&["mq:DescribeBroker"])
        .targets(resources::broker_by("BrokerId"))
        .disruptive(),
        tool(
            ToolInfo {
                name: "update_broker",
                class: Write,
                aws_api: "mq:UpdateBroker",
                idempotent: false,
                description: "Change a broker's settings; only the fields given are changed. Most \
                changes apply at the next reboot: the result lists PendingChanges; `reboot: true` \
                reboots the broker now (disconnects clients) and `wait` waits (with progress) \
                until nothing is pending.",
            },
            update_broker,
        )
        .also_calls(&["mq:DescribeBroker", "mq:RebootBroker"])
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "update_configuration",
                class: Write,
                aws_api: "mq:UpdateConfiguration",
                idempotent: false,
                description: "Write a new revision of a configuration. Data is the configuration \
                text; the server base64-encodes it.",
            },
            update_configuration,
        )
        .targets(resources::configuration_by("ConfigurationId")),
        tool(
            ToolInfo {
                name: "create_broker_user",
                class: Write,
                aws_api: "mq:CreateUser",
                idempotent: false,
                description: "Create a broker user (ActiveMQ, or RabbitMQ replication user). \
                Applied at the next reboot.",
            },
            create_broker_user,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "update_broker_user",
                class: Write,
                aws_api: "mq:UpdateUser",
                idempotent: true,
                description: "Change a broker user's password, console access or groups; only the \
                fields given are changed.",
            },
            update_broker_user,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "delete_broker_user",
                class: Destructive,
                aws_api: "mq:DeleteUser",
                idempotent: true,
                description: "Delete a broker user. Applied at the next reboot.",
            },
            delete_broker_user,
        )
        .targets(resources::broker_by("BrokerId")),
        tool(
            ToolInfo {
                name: "create_tags",
                class: Write,
                aws_api: "mq:CreateTags",
                idempotent: true,
                description: "Add or overwrite tags on a broker or configuration.",
            },
            create_tags,
        )
        .targets(resources::arn_by("ResourceArn")),
        tool(
            ToolInfo {
                name: "delete_tags",
                class: Write,
                aws_api: "mq:DeleteTags",
                idempotent: true,
                description: "Remove tags from a broker or configuration.",
            },
            delete_tags,
        )
        .targets(resources::arn_by("ResourceArn")),
    ]
}

/// Amazon MQ: one client per region.
impl crate::aws::AwsService for aws_sdk_mq::Client {
    fn from_config(config: &aws_config::SdkConfig) -> Self {
        aws_sdk_mq::Client::new(config)
    }
}
