//! Fetching a resource's facts from AWS (DescribeBroker, DescribeConfiguration, GetUser,
//! GetRole, GetGroup and their attached policies), with the server's own AWS identity, cached
//! per resource for a short while. A resource that does not exist is [`LookupError::NotFound`]
//! (AWS's own answer, handed to the agent); any other failure refuses the call (fail closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;

use serde_json::{Map, Value, json};

use super::{Located, Target};
use crate::aws::{AwsClients, aws_error};
use crate::error::ToolError;

/// At most this many resources are cached; the oldest half goes when full.
const MAX_CACHED: usize = 4096;

/// Why a resource has no facts.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    /// AWS says the resource does not exist.
    #[error("{0}")]
    NotFound(ToolError),
    /// The lookup failed (AWS unreachable, access denied …).
    #[error("{0}")]
    Failed(ToolError),
}

impl LookupError {
    pub(crate) fn of(e: ToolError) -> LookupError {
        let not_found = matches!(&e, ToolError::Aws { code, .. }
            if matches!(code.as_str(), "NotFoundException" | "NoSuchEntity" | "NoSuchEntityException" | "HTTP404"));
        if not_found {
            LookupError::NotFound(e)
        } else {
            LookupError::Failed(e)
        }
    }
}

/// Looked-up facts, cached for `ttl`.
pub struct Lookups {
    aws: Arc<AwsClients>,
    ttl: Duration,
    cache: Mutex<HashMap<Located, (Instant, Value)>>,
    made: std::sync::atomic::AtomicU64,
    clock: Clock,
}

impl Lookups {
    pub fn new(aws: Arc<AwsClients>, ttl: Duration) -> Self {
        Lookups {
            aws,
            ttl,
            cache: Mutex::default(),
            made: Default::default(),
            clock: Clock::system(),
        }
    }

    /// Read the cache's time from this clock.
    pub fn set_clock(&mut self, clock: Clock) {
        self.clock = clock;
    }

    /// How many lookups reached AWS (tests and metrics).
    pub fn made(&self) -> u64 {
        self.made.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Located, (Instant, Value)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drop what is known of a resource (a call has just changed or deleted it).
    pub fn forget(&self, at: &Located) {
        self.lock().remove(at);
    }

    /// The facts of a resource: cached when fetched less than `ttl` ago.
    pub async fn facts(&self, at: &Located) -> Result<Value, LookupError> {
        if let Some((when, facts)) = self.lock().get(at)
            && self.clock.since(*when) < self.ttl
        {
            return Ok(facts.clone());
        }
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let facts = fetch(&self.aws, at).await.map_err(LookupError::of)?;
        let mut cache = self.lock();
        if cache.len() >= MAX_CACHED {
            let (ttl, now) = (self.ttl, self.clock.now());
            cache.retain(|_, (when, _)| now.saturating_duration_since(*when) < ttl);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(at.clone(), (self.clock.now(), facts.clone()));
        Ok(facts)
    }
}

fn tags_of<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        tags.map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect::<Map<_, _>>(),
    )
}

async fn fetch(aws: &AwsClients, at: &Located) -> Result<Value, ToolError> {
    match at.target {
        Target::Broker(_) => broker(aws, &at.name, at.region.as_deref()).await,
        Target::Configuration(_) => configuration(aws, &at.name, at.region.as_deref()).await,
        Target::MqArn(_) => {
            // arn:aws:mq:<region>:<account>:broker:<name>:<id> | …:configuration:<id>
            let parts: Vec<&str> = at.name.split(':').collect();
            let region = parts
                .get(3)
                .filter(|r| !r.is_empty())
                .map(|r| r.to_string());
            let region = region.or_else(|| at.region.clone());
            match (parts.get(5), parts.last()) {
                (Some(&"broker"), Some(id)) => broker(aws, id, region.as_deref()).await,
                (Some(&"configuration"), Some(id)) => {
                    configuration(aws, id, region.as_deref()).await
                }
                _ => Err(ToolError::Internal(format!(
                    "{} names neither a broker nor a configuration",
                    at.name
                ))),
            }
        }
        Target::IamUserOrRole(..) => Err(ToolError::Internal(
            "a user-or-role target is located as a user or a role before its lookup".into(),
        )),
        Target::IamUser(_) => {
            let iam = aws.iam().await;
            let out = iam
                .get_user()
                .user_name(&at.name)
                .send()
                .await
                .map_err(|e| aws_error("iam:GetUser", e))?;
            let u = out.user();
            let attached = iam
                .list_attached_user_policies()
                .user_name(&at.name)
                .send()
                .await
                .map_err(|e| aws_error("iam:ListAttachedUserPolicies", e))?;
            Ok(json!({
                "name": u.map(|u| u.user_name()),
                "arn": u.map(|u| u.arn()),
                "path": u.map(|u| u.path()),
                "tags": tags_of(u.map(|u| u.tags()).unwrap_or_default().iter().map(|t| (t.key(), t.value()))),
                "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
            }))
        }
        Target::IamRole(_) => {
            let iam = aws.iam().await;
            let out = iam
                .get_role()
                .role_name(&at.name)
                .send()
                .await
                .map_err(|e| aws_error("iam:GetRole", e))?;
            let r = out.role();
            let attached = iam
                .list_attached_role_policies()
                .role_name(&at.name)
                .send()
                .await
                .map_err(|e| aws_error("iam:ListAttachedRolePolicies", e))?;
            Ok(json!({
                "name": r.map(|r| r.role_name()),
                "arn": r.map(|r| r.arn()),
                "path": r.map(|r| r.path()),
                "tags": tags_of(r.map(|r| r.tags()).unwrap_or_default().iter().map(|t| (t.key(), t.value()))),
                "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
            }))
        }
        Target::IamGroup(_) => {
            let iam = aws.iam().await;
            let out = iam
                .get_group()
                .group_name(&at.name)
                .max_items(1)
                .send()
                .await
                .map_err(|e| aws_error("iam:GetGroup", e))?;
            let g = out.group();
            let attached = iam
                .list_attached_group_policies()
                .group_name(&at.name)
                .send()
                .await
                .map_err(|e| aws_error("iam:ListAttachedGroupPolicies", e))?;
            Ok(json!({
                "name": g.map(|g| g.group_name()),
                "arn": g.map(|g| g.arn()),
                "path": g.map(|g| g.path()),
                "attached_policies": attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(),
            }))
        }
    }
}

async fn broker(aws: &AwsClients, id: &str, region: Option<&str>) -> Result<Value, ToolError> {
    let b = aws
        .mq(region)
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
        .mq(region)
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
