//! The destructive tools: delete a queue or exchange, purge a queue.

use super::*;

// ---------------------------------------------------------------- destructive tools

/// What a destructive call did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Done {
    pub action: String,
    pub vhost: String,
    pub name: String,
}

pub(super) async fn delete_queue(ctx: ToolContext, a: QueueArgs) -> Result<Done, ToolError> {
    let path = ["queues", &a.vhost, &a.queue];
    api(&ctx, "rabbitmq:DeleteQueue", Method::DELETE, &path).await?;
    Ok(Done {
        action: "deleted queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

pub(super) async fn purge_queue(ctx: ToolContext, a: QueueArgs) -> Result<Done, ToolError> {
    let path = ["queues", &a.vhost, &a.queue, "contents"];
    api(&ctx, "rabbitmq:PurgeQueue", Method::DELETE, &path).await?;
    Ok(Done {
        action: "purged queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

pub(super) async fn delete_exchange(ctx: ToolContext, a: ExchangeArgs) -> Result<Done, ToolError> {
    let path = ["exchanges", &a.vhost, &a.exchange];
    api(&ctx, "rabbitmq:DeleteExchange", Method::DELETE, &path).await?;
    Ok(Done {
        action: "deleted exchange".into(),
        vhost: a.vhost,
        name: a.exchange,
    })
}
