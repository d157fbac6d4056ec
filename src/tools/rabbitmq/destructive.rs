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
    api(&ctx, &ops::DELETE_QUEUE, &[&a.vhost, &a.queue]).await?;
    Ok(Done {
        action: "deleted queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

pub(super) async fn purge_queue(ctx: ToolContext, a: QueueArgs) -> Result<Done, ToolError> {
    api(&ctx, &ops::PURGE_QUEUE, &[&a.vhost, &a.queue]).await?;
    Ok(Done {
        action: "purged queue".into(),
        vhost: a.vhost,
        name: a.queue,
    })
}

pub(super) async fn delete_exchange(ctx: ToolContext, a: ExchangeArgs) -> Result<Done, ToolError> {
    api(&ctx, &ops::DELETE_EXCHANGE, &[&a.vhost, &a.exchange]).await?;
    Ok(Done {
        action: "deleted exchange".into(),
        vhost: a.vhost,
        name: a.exchange,
    })
}
