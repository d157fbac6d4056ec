//! What the IAM guard's reads cost an attach: `attach_role_policy` through the gate in process
//! (no MCP transport) against moto, with the managed policy's document read cold (a fresh gate
//! each call), cached, and with `--resource-cache-ttl 0s` (GetPolicy each call, the version's
//! document cached), beside the floors measured in the same run: the direct SDK
//! AttachRolePolicy, and GetPolicy + GetPolicyVersion + AttachRolePolicy made directly.
//!
//! Run with `scripts/bench.sh iam` (starts moto on 127.0.0.1), or with
//! `GUARDED_BENCH_ENDPOINT=http://127.0.0.1:PORT cargo run --release --example iam_guard_cost`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use guarded_aws_mcp::audit::AuditLog;
use guarded_aws_mcp::aws::{AwsClients, AwsOptions};
use guarded_aws_mcp::catalogue::Catalogue;
use guarded_aws_mcp::gate::{CallCtx, Gate, GateOptions};
use guarded_aws_mcp::policy::{Caller, load_str};
use serde_json::json;

const POLICY: &str = "version: 1\ndefault: allow\niam_guard: {}\n";

fn row(name: &str, mut samples: Vec<Duration>) {
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "{name:<62} n={:<5} p50 {:>8.3} ms  p99 {:>8.3} ms",
        samples.len(),
        p(0.5).as_secs_f64() * 1e3,
        p(0.99).as_secs_f64() * 1e3
    );
}

fn gate(endpoint: &str, catalogue: &Arc<Catalogue>, ttl: Option<Duration>) -> Gate {
    let aws = Arc::new(AwsClients::new(AwsOptions {
        endpoint_url: Some(endpoint.to_string()),
        region: Some("us-east-1".into()),
        ..AwsOptions::default()
    }));
    let policy = load_str(POLICY, "bench", catalogue).expect("policy");
    let g = Gate::new(
        catalogue.clone(),
        policy,
        AuditLog::disabled(),
        aws,
        GateOptions::default(),
    )
    .expect("gate");
    match ttl {
        Some(t) => g.with_resource_cache_ttl(t),
        None => g,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let endpoint = std::env::var("GUARDED_BENCH_ENDPOINT")
        .map_err(|_| "set GUARDED_BENCH_ENDPOINT to a local AWS fake (scripts/bench.sh iam)")?;
    let n: usize = std::env::var("GUARDED_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .load()
        .await;
    let iam = aws_sdk_iam::Client::new(&config);
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let role = format!("bench-{}", &suffix[..8]);
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await?;
    let created = iam
        .create_policy()
        .policy_name(format!("bench-read-{}", &suffix[..8]))
        .policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Action": ["mq:Describe*", "mq:List*"], "Resource": "*"}]})
            .to_string(),
        )
        .send()
        .await?;
    let arn = created
        .policy()
        .and_then(|p| p.arn())
        .ok_or("no ARN")?
        .to_string();

    // Floors.
    let mut attach_only = Vec::with_capacity(n);
    let mut read_and_attach = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        iam.attach_role_policy()
            .role_name(&role)
            .policy_arn(&arn)
            .send()
            .await?;
        attach_only.push(t.elapsed());
        let t = Instant::now();
        let p = iam.get_policy().policy_arn(&arn).send().await?;
        let v = p
            .policy()
            .and_then(|p| p.default_version_id())
            .unwrap_or("v1")
            .to_string();
        iam.get_policy_version()
            .policy_arn(&arn)
            .version_id(v)
            .send()
            .await?;
        iam.attach_role_policy()
            .role_name(&role)
            .policy_arn(&arn)
            .send()
            .await?;
        read_and_attach.push(t.elapsed());
    }

    let catalogue = Arc::new(Catalogue::builtin());
    let caller = Caller::new("bench", vec![]);
    let args = json!({"role_name": role, "policy_arn": arn});
    async fn call(g: &Gate, caller: &Caller, args: &serde_json::Value) -> Duration {
        let t = Instant::now();
        let r = g
            .call(
                CallCtx::out_of_band("bench", caller),
                "attach_role_policy",
                args.as_object().cloned(),
            )
            .await;
        let elapsed = t.elapsed();
        let text = format!("{r:?}");
        assert!(!text.contains("is_error: Some(true)"), "refused: {text}");
        elapsed
    }
    let mut cold = Vec::new();
    for _ in 0..n.min(100) {
        let g = gate(&endpoint, &catalogue, None);
        cold.push(call(&g, &caller, &args).await);
    }
    let cached_gate = gate(&endpoint, &catalogue, None);
    call(&cached_gate, &caller, &args).await;
    let mut cached = Vec::with_capacity(n);
    for _ in 0..n {
        cached.push(call(&cached_gate, &caller, &args).await);
    }
    let ttl0 = gate(&endpoint, &catalogue, Some(Duration::ZERO));
    call(&ttl0, &caller, &args).await;
    let mut uncached_version = Vec::with_capacity(n);
    for _ in 0..n {
        uncached_version.push(call(&ttl0, &caller, &args).await);
    }
    println!("IAM guard cost of attach_role_policy against {endpoint} (moto), same run:");
    row("floor: direct SDK AttachRolePolicy", attach_only);
    row(
        "floor: direct SDK GetPolicy + GetPolicyVersion + AttachRolePolicy",
        read_and_attach,
    );
    row("gate, document read cold (fresh gate each call)", cold);
    row(
        "gate, default version read each call (--resource-cache-ttl 0s)",
        uncached_version,
    );
    row("gate, cached (30 s default TTL)", cached);
    println!(
        "IAM requests the cached gate's reads made: {} (of {} calls)",
        cached_gate.grant_lookups(),
        n + 1
    );
    Ok(())
}
