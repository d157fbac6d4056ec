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
use crate::catalogue::{CheckArgs, RiskClass, ToolContext, ToolSpec, info, tool};
use crate::error::{ArgError, Reached, ToolError};

pub(super) const BROKER_ID: &str = r"^[A-Za-z0-9-]{1,100}$";
/// Queue, exchange, vhost and shovel names: 1–255 characters, no control characters.
pub(super) const NAME: &str = r"^[^\x00-\x1F\x7F]{1,255}$";

pub mod connect;
/// How a session reaches one broker's management API.
pub mod connection;
pub mod destructive;
/// Allowed management hosts, compared by what they denote.
pub mod hosts;
pub mod read;

pub use connect::*;
pub use connection::*;
pub use destructive::*;
pub use hosts::{HostPattern, HostPatternError};
pub use read::*;

// ---------------------------------------------------------------- catalogue entries

/// The RabbitMQ broker tools.
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
    /// Per-session connections and credentials, to the allowed management hosts only.
    fn extensions(
        &self,
        config: &super::ToolsConfig,
        into: crate::catalogue::Extensions,
    ) -> Result<crate::catalogue::Extensions, super::ToolsConfigError> {
        let connections = Connections::with_allowed_hosts(&config.rabbitmq_allowed_hosts)?;
        Ok(into.with_session_state(std::sync::Arc::new(connections)))
    }
}

pub fn tools() -> Vec<ToolSpec> {
    use RiskClass::*;
    vec![
        tool(
            info(
                "rabbitmq_broker_initialize_connection",
                Read,
                "mq:DescribeBroker + GET /api/overview",
                true,
                "Connect this session to a RabbitMQ broker's management API: an Amazon MQ broker by broker_id (and region), or any broker by management_url; with username and password. (AWS Labs: rabbimq_broker_initialize_connection.)",
            ),
            initialize_connection,
        ),
        tool(
            info(
                "rabbitmq_broker_initialize_connection_with_oauth",
                Read,
                "mq:DescribeBroker + GET /api/overview",
                true,
                "Connect this session to a RabbitMQ broker's management API with an OAuth 2 access token. (AWS Labs: rabbimq_broker_initialize_connection_with_oauth.)",
            ),
            initialize_connection_with_oauth,
        ),
        tool(
            info(
                "rabbitmq_broker_get_guideline",
                Read,
                "none (built-in text)",
                true,
                "Get a RabbitMQ operations guideline: production_readiness, queue_types, sizing or troubleshooting.",
            ),
            get_guideline,
        ),
        tool(
            info(
                "rabbitmq_broker_list_queues",
                Read,
                "GET /api/queues",
                true,
                "List queues with their type, state, message and consumer counts.",
            ),
            list_queues,
        ),
        tool(
            info(
                "rabbitmq_broker_list_exchanges",
                Read,
                "GET /api/exchanges",
                true,
                "List exchanges.",
            ),
            list_exchanges,
        ),
        tool(
            info(
                "rabbitmq_broker_list_vhosts",
                Read,
                "GET /api/vhosts",
                true,
                "List virtual hosts.",
            ),
            list_vhosts,
        ),
        tool(
            info(
                "rabbitmq_broker_get_queue_info",
                Read,
                "GET /api/queues/{vhost}/{name}",
                true,
                "Get one queue's details.",
            ),
            get_queue_info,
        ),
        tool(
            info(
                "rabbitmq_broker_get_exchange_info",
                Read,
                "GET /api/exchanges/{vhost}/{name}",
                true,
                "Get one exchange and its bindings.",
            ),
            get_exchange_info,
        ),
        tool(
            info(
                "rabbitmq_broker_list_shovels",
                Read,
                "GET /api/shovels",
                true,
                "List shovels and their state (URIs without credentials).",
            ),
            list_shovels,
        ),
        tool(
            info(
                "rabbitmq_broker_get_shovel_info",
                Read,
                "GET /api/parameters/shovel/{vhost}/{name}",
                true,
                "Get one shovel's definition and state.",
            ),
            get_shovel_info,
        ),
        tool(
            info(
                "rabbitmq_broker_get_cluster_nodes_info",
                Read,
                "GET /api/nodes",
                true,
                "Get the cluster nodes: memory, disk, file descriptors, alarms.",
            ),
            get_cluster_nodes_info,
        ),
        tool(
            info(
                "rabbitmq_broker_list_connections",
                Read,
                "GET /api/connections",
                true,
                "List client connections.",
            ),
            list_connections,
        ),
        tool(
            info(
                "rabbitmq_broker_list_consumers",
                Read,
                "GET /api/consumers",
                true,
                "List consumers.",
            ),
            list_consumers,
        ),
        tool(
            info(
                "rabbitmq_broker_list_users",
                Read,
                "GET /api/users",
                true,
                "List broker users (names and tags; never password hashes).",
            ),
            list_users,
        ),
        tool(
            info(
                "rabbitmq_broker_is_in_alarm",
                Read,
                "GET /api/health/checks/alarms",
                true,
                "Whether a memory or disk alarm is in effect (true when the broker says so).",
            ),
            is_in_alarm,
        ),
        tool(
            info(
                "rabbitmq_broker_is_quorum_critical",
                Read,
                "GET /api/health/checks/node-is-quorum-critical",
                true,
                "Whether stopping this node would cost a quorum queue its quorum (true when the broker says so).",
            ),
            is_quorum_critical,
        ),
        tool(
            info(
                "rabbitmq_broker_get_broker_definition",
                Read,
                "GET /api/definitions",
                true,
                "Get the broker's definitions (vhosts, queues, exchanges, bindings, policies, users without password hashes).",
            ),
            get_broker_definition,
        ),
        tool(
            info(
                "rabbitmq_broker_delete_queue",
                Destructive,
                "DELETE /api/queues/{vhost}/{name}",
                true,
                "Delete a queue and its messages. Irreversible.",
            ),
            delete_queue,
        ),
        tool(
            info(
                "rabbitmq_broker_purge_queue",
                Destructive,
                "DELETE /api/queues/{vhost}/{name}/contents",
                false,
                "Delete every message of a queue. Irreversible.",
            ),
            purge_queue,
        ),
        tool(
            info(
                "rabbitmq_broker_delete_exchange",
                Destructive,
                "DELETE /api/exchanges/{vhost}/{name}",
                true,
                "Delete an exchange and its bindings. Irreversible.",
            ),
            delete_exchange,
        ),
    ]
}
