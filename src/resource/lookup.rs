//! Fetching a resource's facts (each kind's own lookup, declared by its family), with the
//! server's own AWS identity, cached per resource for a short while. A resource that does not exist is [`LookupError::NotFound`]
//! (AWS's own answer, handed to the agent); any other failure refuses the call (fail closed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::clock::Clock;

use serde_json::{Map, Value};

use super::Located;
use crate::aws::AwsClients;
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

    /// Drop what is known of a resource (a call has just changed or deleted it), under every
    /// name it is cached by: a broker changed through its ARN (`create_tags`) is also forgotten
    /// as the broker its id names, and the other way round (entries of one `arn` fact).
    pub fn forget(&self, at: &Located) {
        let mut cache = self.lock();
        let arn = cache
            .get(at)
            .and_then(|(_, facts)| facts.get("arn"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| at.name.starts_with("arn:").then(|| at.name.clone()));
        cache.remove(at);
        if let Some(arn) = arn {
            cache.retain(|_, (_, facts)| {
                facts.get("arn").and_then(Value::as_str) != Some(arn.as_str())
            });
        }
    }

    /// The facts of a resource: cached when fetched less than `ttl` ago.
    pub async fn facts(&self, at: &Located) -> Result<Value, LookupError> {
        if let Some((when, facts)) = self.lock().get(at)
            && self.clock.since(*when) < self.ttl
        {
            return Ok(facts.clone());
        }
        self.made.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let facts = (at.kind.fetch)(&self.aws, at)
            .await
            .map_err(LookupError::of)?;
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

/// Tags as a fact: an object of key to value.
pub fn tags_object<'a>(tags: impl Iterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        tags.map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect::<Map<_, _>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::{ResourceKind, Target};
    use std::sync::atomic::{AtomicUsize, Ordering};

    static FETCHES: AtomicUsize = AtomicUsize::new(0);

    fn counted<'a>(
        _: &'a AwsClients,
        at: &'a Located,
    ) -> futures::future::BoxFuture<'a, Result<Value, ToolError>> {
        let n = FETCHES.fetch_add(1, Ordering::SeqCst);
        let arn = format!(
            "arn:aws:test:::thing/{}",
            at.name.trim_start_matches("arn:aws:test:::thing/")
        );
        Box::pin(async move { Ok(serde_json::json!({"arn": arn, "fetch": n})) })
    }

    static THING: ResourceKind = ResourceKind {
        id: "test:thing",
        name: "a thing",
        facts: &[("arn", "string")],
        fetch: counted,
    };

    /// Facts are fetched once per TTL, by the cache's clock (stepped, never slept); a change
    /// through the resource's ARN forgets it under its id too.
    #[tokio::test]
    async fn facts_are_cached_for_the_ttl_and_forgotten_on_change() {
        let (clock, hand) = crate::clock::Clock::manual();
        let mut lookups = Lookups::new(
            Arc::new(AwsClients::new(Default::default())),
            Duration::from_secs(30),
        );
        lookups.set_clock(clock);
        let by_id = Target::one("Id", &THING)
            .locate(&serde_json::json!({"Id": "t-1"}))
            .unwrap();
        let first = lookups.facts(&by_id).await.unwrap();
        hand.advance(Duration::from_secs(29));
        assert_eq!(lookups.facts(&by_id).await.unwrap(), first, "cached");
        assert_eq!(lookups.made(), 1);
        hand.advance(Duration::from_secs(1));
        assert_ne!(
            lookups.facts(&by_id).await.unwrap(),
            first,
            "fetched again at the TTL"
        );
        assert_eq!(lookups.made(), 2);

        let by_arn = Target::one("Arn", &THING)
            .locate(&serde_json::json!({"Arn": "arn:aws:test:::thing/t-1"}))
            .unwrap();
        lookups.forget(&by_arn);
        lookups.facts(&by_id).await.unwrap();
        assert_eq!(lookups.made(), 3, "a change by ARN forgot the entry by id");
    }
}
