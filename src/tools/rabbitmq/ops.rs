//! Every management-API operation the family calls, written once: its label (errors, metrics,
//! spans), its method and its path under `/api/`, where `{…}` stands for one segment the call
//! fills in. The catalogue's `aws_api` text (`GET /api/queues/{vhost}/{name}`) is derived from
//! the same tokens.

use reqwest::Method;

use crate::error::ToolError;

/// One management-API operation.
#[derive(Debug)]
pub struct Op {
    /// `rabbitmq:ListQueues`.
    pub label: &'static str,
    pub method: Method,
    /// The path under `/api/`: `queues/{vhost}/{name}`.
    pub path: &'static str,
    /// What the catalogue shows: `GET /api/queues/{vhost}/{name}`.
    pub api: &'static str,
}

macro_rules! op {
    ($label:literal, $method:ident, $path:literal) => {
        Op {
            label: concat!("rabbitmq:", $label),
            method: Method::$method,
            path: $path,
            api: concat!(stringify!($method), " /api/", $path),
        }
    };
}

pub static OVERVIEW: Op = op!("GetOverview", GET, "overview");
pub static WHOAMI: Op = op!("WhoAmI", GET, "whoami");
/// What the connect tools call: the broker (for a broker id) and the overview.
pub const CONNECT_API: &str = "mq:DescribeBroker + GET /api/overview";
pub static LIST_QUEUES: Op = op!("ListQueues", GET, "queues");
pub static GET_QUEUE: Op = op!("GetQueue", GET, "queues/{vhost}/{name}");
pub static LIST_EXCHANGES: Op = op!("ListExchanges", GET, "exchanges");
pub static GET_EXCHANGE: Op = op!("GetExchange", GET, "exchanges/{vhost}/{name}");
pub static EXCHANGE_BINDINGS: Op = op!(
    "GetExchangeBindings",
    GET,
    "exchanges/{vhost}/{name}/bindings/source"
);
pub static LIST_VHOSTS: Op = op!("ListVhosts", GET, "vhosts");
pub static LIST_SHOVELS: Op = op!("ListShovels", GET, "shovels");
pub static VHOST_SHOVELS: Op = op!("ListShovels", GET, "shovels/{vhost}");
pub static GET_SHOVEL: Op = op!("GetShovel", GET, "parameters/shovel/{vhost}/{name}");
pub static LIST_NODES: Op = op!("ListNodes", GET, "nodes");
pub static LIST_CONNECTIONS: Op = op!("ListConnections", GET, "connections");
pub static LIST_CONSUMERS: Op = op!("ListConsumers", GET, "consumers");
pub static LIST_USERS: Op = op!("ListUsers", GET, "users");
pub static HEALTH_ALARMS: Op = op!("HealthAlarms", GET, "health/checks/alarms");
pub static HEALTH_QUORUM_CRITICAL: Op = op!(
    "HealthQuorumCritical",
    GET,
    "health/checks/node-is-quorum-critical"
);
pub static GET_DEFINITIONS: Op = op!("GetDefinitions", GET, "definitions");
pub static DELETE_QUEUE: Op = op!("DeleteQueue", DELETE, "queues/{vhost}/{name}");
pub static PURGE_QUEUE: Op = op!("PurgeQueue", DELETE, "queues/{vhost}/{name}/contents");
pub static DELETE_EXCHANGE: Op = op!("DeleteExchange", DELETE, "exchanges/{vhost}/{name}");

impl Op {
    /// The path's segments with `values` in the places of its `{…}`, in order.
    pub fn segments<'a>(&'a self, values: &[&'a str]) -> Result<Vec<&'a str>, ToolError> {
        let mut values = values.iter();
        let mut out = Vec::new();
        for seg in self.path.split('/') {
            if seg.starts_with('{') && seg.ends_with('}') {
                let v = values.next().ok_or_else(|| {
                    ToolError::Internal(format!("{}: no value for {seg}", self.label))
                })?;
                out.push(*v);
            } else {
                out.push(seg);
            }
        }
        if values.next().is_some() {
            return Err(ToolError::Internal(format!(
                "{}: more values than its path takes",
                self.label
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operation_is_written_once() {
        assert_eq!(GET_QUEUE.label, "rabbitmq:GetQueue");
        assert_eq!(GET_QUEUE.api, "GET /api/queues/{vhost}/{name}");
        assert_eq!(PURGE_QUEUE.method, Method::DELETE);
        assert_eq!(
            PURGE_QUEUE.segments(&["/", "q.1"]).unwrap(),
            ["queues", "/", "q.1", "contents"]
        );
        assert!(GET_QUEUE.segments(&["/"]).is_err());
        assert!(LIST_QUEUES.segments(&["x"]).is_err());
        assert!(CONNECT_API.ends_with(OVERVIEW.api));
    }
}
