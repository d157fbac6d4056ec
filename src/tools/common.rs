//! Pieces shared by the tool families: argument rules and output conversions.

use std::collections::HashMap;

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::error::ArgError;

/// Regex of AWS region names (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
pub const REGION_PATTERN: &str = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$";

/// The AWS regions this build knows (commercial, China, GovCloud, European Sovereign Cloud). A
/// `region` argument must be one of them or named by `serve --extra-region`: each region gets an
/// SDK client of its own, so made-up names must not reach the client cache.
pub const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "cn-north-1",
    "cn-northwest-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eusc-de-east-1",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-gov-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// Refuse a `region` argument that is not a known region (or one of `extra`).
pub fn check_region(args: &serde_json::Value, extra: &[String]) -> Result<(), ArgError> {
    let Some(region) = args.get("region").and_then(serde_json::Value::as_str) else {
        return Ok(());
    };
    if KNOWN_REGIONS.contains(&region) || extra.iter().any(|e| e == region) {
        return Ok(());
    }
    Err(ArgError::rule(
        "region",
        format!(
            "`{region}` is not an AWS region this server knows; a region newer than this build can be added with `serve --extra-region {region}`"
        ),
    ))
}

/// A paged Amazon MQ list tool's arguments: the fields given, then `MaxResults` and
/// `NextToken`, written once here.
macro_rules! mq_paged {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            /// Page size, 1 to 100.
            #[schemars(range(min = 1, max = 100))]
            #[serde(rename = "MaxResults", default)]
            pub max_results: Option<i32>,
            /// The `NextToken` of the previous page.
            #[schemars(length(min = 1, max = 4096))]
            #[serde(rename = "NextToken", default)]
            pub next_token: Option<String>,
        }
        impl $crate::catalogue::CheckArgs for $name {}
    };
}
pub(crate) use mq_paged;

/// A paged IAM list tool's arguments: the fields given, then `max_items` and `marker`,
/// written once here.
macro_rules! iam_paged {
    ($(#[$m:meta])* pub struct $name:ident { $($(#[$fm:meta])* pub $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$fm])* pub $f: $t,)*
            /// Page size, 1 to 1000 (AWS default 100).
            #[schemars(range(min = 1, max = 1000))]
            #[serde(default)]
            pub max_items: Option<i32>,
            /// The `Marker` of the previous page.
            #[schemars(length(min = 1, max = 320))]
            #[serde(default)]
            pub marker: Option<String>,
        }
        impl $crate::catalogue::CheckArgs for $name {}
    };
}
pub(crate) use iam_paged;

/// A timestamp as ISO 8601 text.
pub fn ts(d: Option<&DateTime>) -> Option<String> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
}

/// AWS tag rules: keys 1–128 characters and not starting with `aws:`, values at most 256.
pub fn check_tags(field: &str, tags: &HashMap<String, String>) -> Result<(), ArgError> {
    if tags.len() > 50 {
        return Err(ArgError::rule(
            field,
            format!("{} tags given; at most 50 are allowed", tags.len()),
        ));
    }
    for (k, v) in tags {
        let n = k.chars().count();
        if n == 0 || n > 128 {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                format!("tag key is {n} characters long; it must be 1 to 128"),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                "tag keys starting with `aws:` are reserved by AWS",
            ));
        }
        if v.chars().count() > 256 {
            return Err(ArgError::rule(
                format!("{field}.{k}"),
                format!(
                    "tag value is {} characters long; at most 256 are allowed",
                    v.chars().count()
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Issue 11 (8): any regex-valid region name made a new SDK client that was never freed.
    #[test]
    fn only_known_regions_pass() {
        assert!(check_region(&json!({"region": "eu-west-1"}), &[]).is_ok());
        assert!(check_region(&json!({}), &[]).is_ok());
        let e = check_region(&json!({"region": "zz-xxxx-1"}), &[]).unwrap_err();
        assert!(e.to_string().contains("--extra-region zz-xxxx-1"), "{e}");
        assert!(check_region(&json!({"region": "zz-xxxx-1"}), &["zz-xxxx-1".into()]).is_ok());
    }
}

/// The longest `wait` a tool accepts, in seconds.
pub const MAX_WAIT_SECONDS: u32 = 1800;

/// How a wait for long AWS work ended (`Waited` in results).
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "PascalCase")]
pub struct Waited {
    /// The last state seen (`RUNNING`, `SUCCEEDED`, `CREATION_IN_PROGRESS` …).
    pub state: String,
    /// Whether the work reached an end state (success or failure) within the wait.
    pub finished: bool,
    /// How long the server waited.
    pub waited_seconds: u64,
    /// Why the wait ended early, when the client cancelled it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<bool>,
}

/// First poll after this long, then 1.5 times longer each time, at most [`POLL_MAX`].
pub const POLL_FIRST: std::time::Duration = std::time::Duration::from_millis(500);
pub const POLL_MAX: std::time::Duration = std::time::Duration::from_secs(15);

/// Poll long AWS work until `end` says the state is final (Some), `wait` runs out, or the
/// client cancels; each poll is reported as progress (`what` names the work). The polls are
/// part of the call: same AWS identity, one audit record.
pub async fn wait_for<F, Fut>(
    ctx: &crate::catalogue::ToolContext,
    what: &str,
    wait: std::time::Duration,
    mut poll: F,
    end: fn(&str) -> bool,
) -> Result<Waited, crate::error::ToolError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<String, crate::error::ToolError>>,
{
    // Tokio's clock, which tests pause and advance instead of waiting.
    let started = tokio::time::Instant::now();
    let total = wait.as_secs_f64();
    let mut delay = POLL_FIRST;
    loop {
        let state = poll().await?;
        let elapsed = started.elapsed();
        let finished = end(&state);
        ctx.progress
            .report(
                elapsed.as_secs_f64().min(total),
                total,
                format!("{what}: {state} after {}s", elapsed.as_secs()),
            )
            .await;
        let left = wait.saturating_sub(elapsed);
        if finished || left.is_zero() {
            return Ok(Waited {
                state,
                finished,
                waited_seconds: elapsed.as_secs(),
                cancelled: None,
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(delay.min(left)) => {}
            _ = ctx.progress.cancelled.cancelled() => {
                return Ok(Waited {
                    state,
                    finished: false,
                    waited_seconds: started.elapsed().as_secs(),
                    cancelled: Some(true),
                });
            }
        }
        delay = (delay.mul_f64(1.5)).min(POLL_MAX);
    }
}

#[cfg(test)]
mod wait_tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn ctx() -> crate::catalogue::ToolContext {
        crate::catalogue::ToolContext {
            aws: Arc::new(crate::aws::AwsClients::new(Default::default())),
            extensions: Default::default(),
            operation: "mq:DescribeBroker",
            session: "s".into(),
            reveal_secrets: false,
            acting_as: None,
            add_tags: Default::default(),
            progress: Default::default(),
        }
    }

    /// The wait polls at 0, 0.5, 1.25, 2.375 … s (1.5 times longer each time, at most 15 s) and
    /// gives up at `wait`: time is tokio's clock, which the test runs paused (it advances only
    /// when every task waits), so nothing sleeps for real.
    #[tokio::test(start_paused = true)]
    async fn a_wait_polls_with_backoff_until_it_runs_out() {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let started = tokio::time::Instant::now();
        let waited = wait_for(
            &ctx(),
            "broker b-1",
            Duration::from_secs(60),
            move || {
                p.fetch_add(1, Ordering::SeqCst);
                async { Ok("CREATION_IN_PROGRESS".to_string()) }
            },
            |s| s == "RUNNING",
        )
        .await
        .unwrap();
        assert!(!waited.finished);
        assert_eq!(waited.waited_seconds, 60);
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(60),
            "it ends at the wait, not after"
        );
        // 0, 0.5, 1.25, 2.375, 4.06, 6.59, 10.39, 16.08, 24.62, 37.44 (then 15 s apart: 52.44),
        // and the last at 60 s.
        assert_eq!(polls.load(Ordering::SeqCst), 12);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_at_the_end_state() {
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let waited = wait_for(
            &ctx(),
            "broker b-1",
            Duration::from_secs(600),
            move || {
                let n = p.fetch_add(1, Ordering::SeqCst);
                async move {
                    Ok(if n < 3 {
                        "CREATION_IN_PROGRESS"
                    } else {
                        "RUNNING"
                    }
                    .to_string())
                }
            },
            |s| s == "RUNNING",
        )
        .await
        .unwrap();
        assert!(waited.finished);
        assert_eq!(waited.state, "RUNNING");
        assert_eq!(polls.load(Ordering::SeqCst), 4);
        assert_eq!(
            waited.waited_seconds, 2,
            "polled at 0, 0.5, 1.25 and 2.375 s"
        );
    }
}
