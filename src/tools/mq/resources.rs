//! The Amazon MQ resources the family's tools act on, as policy conditions see them
//! (`resource.tags.env`, `resource.state` …): brokers and configurations, by id or ARN, and
//! how their facts are fetched (DescribeBroker, DescribeConfiguration).

use futures::future::BoxFuture;
use serde_json::{Value, json};

use crate::aws::{AwsClients, aws_error};
use crate::error::ToolError;
use crate::resource::lookup::tags_object as tags_of;
use crate::resource::{Located, ResourceKind, Target};

const BROKER_FACTS: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "string"),
    ("arn", "string"),
    ("state", "string"),
    ("engine_type", "string"),
    ("engine_version", "string"),
    ("deployment_mode", "string"),
    ("host_instance_type", "string"),
    ("publicly_accessible", "boolean"),
    ("tags", "object"),
];

/// The facts brokers and configurations both have.
const CONFIGURATION_FACTS: &[(&str, &str)] = &[
    ("id", "string"),
    ("name", "string"),
    ("arn", "string"),
    ("engine_type", "string"),
    ("engine_version", "string"),
    ("tags", "object"),
];

pub static BROKER: ResourceKind = ResourceKind {
    id: "mq:broker",
    name: "an Amazon MQ broker",
    facts: BROKER_FACTS,
    fetch: broker_facts,
};

pub static CONFIGURATION: ResourceKind = ResourceKind {
    id: "mq:configuration",
    name: "an Amazon MQ configuration",
    facts: CONFIGURATION_FACTS,
    fetch: configuration_facts,
};

/// A broker or a configuration by ARN: the facts both have.
pub static MQ_ARN: ResourceKind = ResourceKind {
    id: "mq:arn",
    name: "an Amazon MQ broker or configuration",
    facts: CONFIGURATION_FACTS,
    fetch: by_arn,
};

/// Every Amazon MQ resource kind.
pub static KINDS: [&ResourceKind; 3] = [&BROKER, &CONFIGURATION, &MQ_ARN];

/// A broker by id (`BrokerId`).
pub const fn broker_by(arg: &'static str) -> Target {
    Target::one(arg, &BROKER)
}

/// A configuration by id (`ConfigurationId`).
pub const fn configuration_by(arg: &'static str) -> Target {
    Target::one(arg, &CONFIGURATION)
}

/// A broker or configuration by ARN (`ResourceArn`).
pub const fn arn_by(arg: &'static str) -> Target {
    Target::one(arg, &MQ_ARN)
}

fn broker_facts<'a>(
    aws: &'a AwsClients,
    at: &'a Located,
) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(broker(aws, &at.name, at.region.as_deref()))
}

fn configuration_facts<'a>(
    aws: &'a AwsClients,
    at: &'a Located,
) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(configuration(aws, &at.name, at.region.as_deref()))
}

fn by_arn<'a>(aws: &'a AwsClients, at: &'a Located) -> BoxFuture<'a, Result<Value, ToolError>> {
    Box::pin(async move {
        // arn:aws:mq:<region>:<account>:broker:<name>:<id> | …:configuration:<id>
        let parts: Vec<&str> = at.name.split(':').collect();
        let region = parts
            .get(3)
            .filter(|r| !r.is_empty())
            .map(|r| r.to_string());
        let region = region.or_else(|| at.region.clone());
        match (parts.get(5), parts.last()) {
            (Some(&"broker"), Some(id)) => broker(aws, id, region.as_deref()).await,
            (Some(&"configuration"), Some(id)) => configuration(aws, id, region.as_deref()).await,
            _ => Err(ToolError::Internal(format!(
                "{} names neither a broker nor a configuration",
                at.name
            ))),
        }
    })
}

async fn broker(aws: &AwsClients, id: &str, region: Option<&str>) -> Result<Value, ToolError> {
    let b = aws
        .client::<aws_sdk_mq::Client>(region)
        .await
        .describe_broker()
        .broker_id(id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeBroker", e))?;
    Ok(json!({
        "id": b.broker_id(),
        "name": b.broker_name(),
        "arn": b.broker_arn(),
        "state": b.broker_state().map(|s| s.as_str()),
        "engine_type": b.engine_type().map(|s| s.as_str()),
        "engine_version": b.engine_version(),
        "deployment_mode": b.deployment_mode().map(|s| s.as_str()),
        "host_instance_type": b.host_instance_type(),
        "publicly_accessible": b.publicly_accessible(),
        "tags": tags_of(b.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))),
    }))
}

async fn configuration(
    aws: &AwsClients,
    id: &str,
    region: Option<&str>,
) -> Result<Value, ToolError> {
    let c = aws
        .client::<aws_sdk_mq::Client>(region)
        .await
        .describe_configuration()
        .configuration_id(id)
        .send()
        .await
        .map_err(|e| aws_error("mq:DescribeConfiguration", e))?;
    Ok(json!({
        "id": c.id(),
        "name": c.name(),
        "arn": c.arn(),
        "engine_type": c.engine_type().map(|s| s.as_str()),
        "engine_version": c.engine_version(),
        "tags": tags_of(c.tags().into_iter().flatten().map(|(k, v)| (k.as_str(), v.as_str()))),
    }))
}
