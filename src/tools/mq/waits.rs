//! Waiting for brokers (`wait`): RUNNING after create and reboot, an update's pending changes
//! applied after its reboot, a promoted replica serving as the primary. Each poll is a
//! DescribeBroker made as part of the call.

use super::*;

/// States that end any wait: the broker will not get where it was going without a human.
fn failed(state: &str) -> bool {
    matches!(
        state,
        "CREATION_FAILED" | "DELETION_IN_PROGRESS" | "CRITICAL_ACTION_REQUIRED"
    )
}

/// Poll a broker's DescribeBroker until `state_of` gives a state `end` accepts.
async fn poll_broker(
    ctx: &ToolContext,
    region: Option<&str>,
    id: &str,
    seconds: u32,
    state_of: fn(&aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput) -> String,
    end: fn(&str) -> bool,
) -> Result<Waited, ToolError> {
    let mq = ctx.aws.client::<aws_sdk_mq::Client>(region).await;
    wait_for(
        ctx,
        &format!("broker {id}"),
        std::time::Duration::from_secs(seconds.into()),
        || {
            let mq = mq.clone();
            async move {
                let b = mq
                    .describe_broker()
                    .broker_id(id)
                    .send()
                    .await
                    .map_err(|e| crate::aws::aws_error("mq:DescribeBroker", e))?;
                Ok(state_of(&b))
            }
        },
        end,
    )
    .await
}

fn broker_state(b: &aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput) -> String {
    b.broker_state()
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|| "UNKNOWN".into())
}

/// Wait for a broker to leave its in-progress states (RUNNING, or a failure).
pub(super) async fn wait_for_broker(
    ctx: &ToolContext,
    region: Option<&str>,
    id: &str,
    seconds: u32,
) -> Result<Waited, ToolError> {
    poll_broker(ctx, region, id, seconds, broker_state, |s| {
        s == "RUNNING" || failed(s)
    })
    .await
}

/// The state while an update waits for its reboot.
const PENDING: &str = "RUNNING_WITH_PENDING_CHANGES";

/// The settings of a broker that wait for its next reboot.
pub(super) fn pending_changes(
    b: &aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput,
) -> Vec<String> {
    let mut pending = Vec::new();
    if b.pending_engine_version()
        .is_some_and(|v| Some(v) != b.engine_version())
    {
        pending.push("EngineVersion");
    }
    if b.pending_host_instance_type()
        .is_some_and(|v| Some(v) != b.host_instance_type())
    {
        pending.push("HostInstanceType");
    }
    if !b.pending_security_groups().is_empty() && b.pending_security_groups() != b.security_groups()
    {
        pending.push("SecurityGroups");
    }
    if b.pending_authentication_strategy()
        .is_some_and(|v| Some(v) != b.authentication_strategy())
    {
        pending.push("AuthenticationStrategy");
    }
    if b.pending_ldap_server_metadata().is_some() {
        pending.push("LdapServerMetadata");
    }
    if b.pending_storage_size().is_some() {
        pending.push("StorageSize");
    }
    if b.pending_data_replication_mode()
        .is_some_and(|v| Some(v) != b.data_replication_mode())
    {
        pending.push("DataReplicationMode");
    }
    if let Some(c) = b.configurations()
        && let Some(next) = c.pending()
        && c.current() != Some(next)
    {
        pending.push("Configuration");
    }
    pending.into_iter().map(String::from).collect()
}

/// Wait, after an update's reboot, until the broker is RUNNING with nothing pending (the
/// reboot may not have begun at the first poll: RUNNING with the changes still pending is not
/// the end).
pub(super) async fn wait_until_applied(
    ctx: &ToolContext,
    region: Option<&str>,
    id: &str,
    seconds: u32,
) -> Result<Waited, ToolError> {
    poll_broker(
        ctx,
        region,
        id,
        seconds,
        |b| {
            let state = broker_state(b);
            if state == "RUNNING" && !pending_changes(b).is_empty() {
                PENDING.into()
            } else {
                state
            }
        },
        |s| s == "RUNNING" || failed(s),
    )
    .await
}

/// The state of a promotion: `PRIMARY` once the broker serves as the primary and is RUNNING.
fn promotion_state(b: &aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput) -> String {
    let state = broker_state(b);
    let role = b
        .data_replication_metadata()
        .and_then(|m| m.data_replication_role())
        .unwrap_or("NONE");
    if state == "RUNNING" && role == "PRIMARY" {
        "PRIMARY".into()
    } else {
        format!("{state} ({role})")
    }
}

/// Wait until a promoted replica serves as the primary (or fails).
pub(super) async fn wait_for_promotion(
    ctx: &ToolContext,
    region: Option<&str>,
    id: &str,
    seconds: u32,
) -> Result<Waited, ToolError> {
    poll_broker(ctx, region, id, seconds, promotion_state, |s| {
        s == "PRIMARY" || failed(s.split(' ').next().unwrap_or(s))
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_mq::operation::describe_broker::DescribeBrokerOutput;

    #[test]
    fn pending_changes_are_the_settings_that_differ() {
        let none = DescribeBrokerOutput::builder()
            .engine_version("3.13")
            .pending_engine_version("3.13")
            .security_groups("sg-1")
            .pending_security_groups("sg-1")
            .build();
        assert!(pending_changes(&none).is_empty());
        let some = DescribeBrokerOutput::builder()
            .engine_version("3.13")
            .pending_engine_version("4.2")
            .host_instance_type("mq.m5.large")
            .pending_host_instance_type("mq.m5.xlarge")
            .configurations(
                sdk::Configurations::builder()
                    .current(
                        sdk::ConfigurationId::builder()
                            .id("c-1")
                            .revision(1)
                            .build(),
                    )
                    .pending(
                        sdk::ConfigurationId::builder()
                            .id("c-1")
                            .revision(2)
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(
            pending_changes(&some),
            ["EngineVersion", "HostInstanceType", "Configuration"]
        );
    }

    #[test]
    fn a_promotion_ends_when_the_broker_is_the_running_primary() {
        let replica = DescribeBrokerOutput::builder()
            .broker_state(sdk::BrokerState::Running)
            .data_replication_metadata(
                sdk::DataReplicationMetadataOutput::builder()
                    .data_replication_role("REPLICA")
                    .build(),
            )
            .build();
        assert_eq!(promotion_state(&replica), "RUNNING (REPLICA)");
        let primary = DescribeBrokerOutput::builder()
            .broker_state(sdk::BrokerState::Running)
            .data_replication_metadata(
                sdk::DataReplicationMetadataOutput::builder()
                    .data_replication_role("PRIMARY")
                    .build(),
            )
            .build();
        assert_eq!(promotion_state(&primary), "PRIMARY");
    }
}
