//! RabbitMQ broker administration through the RabbitMQ management HTTP API: the 19 tools of the
//! AWS Labs Amazon MQ server, with the misspelled `rabbimq_*` names corrected.
//!
//! Connections belong to the MCP session (never to the process), credentials live in memory
//! only, every request has a timeout and verifies TLS, and names in URL paths are validated and
//! percent-encoded (`/`, the default vhost, works).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::common::REGION_PATTERN;
use crate::aws::aws_error;
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolInfo, ToolSpec, tool};
use crate::error::{ArgError, Reached, ToolError};
use ops::Op;

pub(super) const BROKER_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
/// Queue, exchange, vhost and shovel names: 1–255 characters, no control characters.
pub(super) const NAME: &str = r"^[^\x00-\x1F\x7F]{1,255}$";

pub mod connect;
/// How a session reaches one broker's management API.
pub mod connection;
pub mod destructive;
/// Allowed management hosts, compared by what they denote.
pub mod hosts;
/// Every management-API operation, written once.
pub mod ops;
pub mod read;

pub use connect::*;
pub use connection::*;
pub use destructive::*;
pub use hosts::{HostPattern, HostPatternError};
pub use read::*;

// ---------------------------------------------------------------- catalogue entries

/// The RabbitMQ broker tools.
/// The family's `serve` flags.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Config {
    /// More RabbitMQ management hosts the connect tools may send credentials to (repeat the
    /// flag), besides loopback and Amazon MQ brokers (`*.mq.*.amazonaws.com`): a host name
    /// whose `*` is one DNS label, an IP address, a CIDR block, or an IPv4 pattern `10.0.0.*`.
    #[arg(
        long = "rabbitmq-allowed-host",
        env = "GUARDED_AWS_MCP_RABBITMQ_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub rabbitmq_allowed_hosts: Vec<String>,
}

/// The RabbitMQ brokers family (the management HTTP API; Amazon MQ for broker ids).
pub struct RabbitMq;

impl super::Family for RabbitMq {
    fn name(&self) -> &'static str {
        "RabbitMQ brokers (management API)"
    }
    fn tools(&self) -> Vec<ToolSpec> {
        tools()
    }
    fn aws_services(&self) -> &'static [&'static str] {
        &["mq"]
    }
    fn http_api(&self) -> Option<(&'static str, &'static str)> {
        Some(("rabbitmq-management", "rabbitmq"))
    }
    /// Per-session connections and credentials, to the allowed management hosts only.
    fn extensions(
        &self,
        config: &super::ToolsConfig,
        into: crate::catalogue::Extensions,
    ) -> Result<crate::catalogue::Extensions, super::ToolsConfigError> {
        let connections = Connections::with_allowed_hosts(&config.rabbitmq.rabbitmq_allowed_hosts)?;
        Ok(into.with_session_state(std::sync::Arc::new(connections)))
    }
}

pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(
            ToolInfo {
                name: "rabbitmq_broker_initialize_connection",
                class: Read,
                aws_api: ops::CONNECT_API,
                idempotent: true,
                description: "Connect this session to a RabbitMQ broker's management API: an \
                Amazon MQ broker by broker_id (and region), or any broker by management_url; with \
                username and password. (AWS Labs: rabbimq_broker_initialize_connection.)",
            },
            initialize_connection,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_initialize_connection_with_oauth",
                class: Read,
                aws_api: ops::CONNECT_API,
                idempotent: true,
                description: "Connect this session to a RabbitMQ broker's management API with an \
                OAuth 2 access token. (AWS Labs: rabbimq_broker_initialize_connection_with_oauth.)",
            },
            initialize_connection_with_oauth,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_guideline",
                class: Read,
                aws_api: "none (built-in text)",
                idempotent: true,
                description: "Get a RabbitMQ operations guideline: production_readiness, \
                queue_types, sizing or troubleshooting.",
            },
            get_guideline,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_queues",
                class: Read,
                aws_api: ops::LIST_QUEUES.api,
                idempotent: true,
                description: "List queues with their type, state, message and consumer counts.",
            },
            list_queues,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_exchanges",
                class: Read,
                aws_api: ops::LIST_EXCHANGES.api,
                idempotent: true,
                description: "List exchanges.",
            },
            list_exchanges,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_vhosts",
                class: Read,
                aws_api: ops::LIST_VHOSTS.api,
                idempotent: true,
                description: "List virtual hosts.",
            },
            list_vhosts,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_queue_info",
                class: Read,
                aws_api: ops::GET_QUEUE.api,
                idempotent: true,
                description: "Get one queue's details.",
            },
            get_queue_info,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_exchange_info",
                class: Read,
                aws_api: ops::GET_EXCHANGE.api,
                idempotent: true,
                description: "Get one exchange and its bindings.",
            },
            get_exchange_info,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_shovels",
                class: Read,
                aws_api: ops::LIST_SHOVELS.api,
                idempotent: true,
                description: "List shovels and their state (URIs without credentials).",
            },
            list_shovels,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_shovel_info",
                class: Read,
                aws_api: ops::GET_SHOVEL.api,
                idempotent: true,
                description: "Get one shovel's definition and state.",
            },
            get_shovel_info,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_cluster_nodes_info",
                class: Read,
                aws_api: ops::LIST_NODES.api,
                idempotent: true,
                description: "Get the cluster nodes: memory, disk, file descriptors, alarms.",
            },
            get_cluster_nodes_info,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_connections",
                class: Read,
                aws_api: ops::LIST_CONNECTIONS.api,
                idempotent: true,
                description: "List client connections.",
            },
            list_connections,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_consumers",
                class: Read,
                aws_api: ops::LIST_CONSUMERS.api,
                idempotent: true,
                description: "List consumers.",
            },
            list_consumers,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_list_users",
                class: Read,
                aws_api: ops::LIST_USERS.api,
                idempotent: true,
                description: "List broker users (names and tags; never password hashes).",
            },
            list_users,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_is_in_alarm",
                class: Read,
                aws_api: ops::HEALTH_ALARMS.api,
                idempotent: true,
                description: "Whether a memory or disk alarm is in effect (true when the broker \
                says so).",
            },
            is_in_alarm,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_is_quorum_critical",
                class: Read,
                aws_api: ops::HEALTH_QUORUM_CRITICAL.api,
                idempotent: true,
                description: "Whether stopping this node would cost a quorum queue its quorum \
                (true when the broker says so).",
            },
            is_quorum_critical,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_get_broker_definition",
                class: Read,
                aws_api: ops::GET_DEFINITIONS.api,
                idempotent: true,
                description: "Get the broker's definitions (vhosts, queues, exchanges, bindings, \
                policies, users without password hashes).",
            },
            get_broker_definition,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_delete_queue",
                class: Destructive,
                aws_api: ops::DELETE_QUEUE.api,
                idempotent: true,
                description: "Delete a queue and its messages. Irreversible.",
            },
            delete_queue,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_purge_queue",
                class: Destructive,
                aws_api: ops::PURGE_QUEUE.api,
                idempotent: false,
                description: "Delete every message of a queue. Irreversible.",
            },
            purge_queue,
        ),
        tool(
            ToolInfo {
                name: "rabbitmq_broker_delete_exchange",
                class: Destructive,
                aws_api: ops::DELETE_EXCHANGE.api,
                idempotent: true,
                description: "Delete an exchange and its bindings. Irreversible.",
            },
            delete_exchange,
        ),
    ]
}
