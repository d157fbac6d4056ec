//! Cost of the gate without AWS: the policy decision alone, and a whole refused call
//! (schema validation + decision + audit record in memory), with a policy that has rules for
//! every tool of the catalogue.
//!
//! Run: `cargo bench --bench decision`. Prints criterion's figures, then p50/p99 per decision
//! from 200 000 individually timed decisions.
//!
//! The refused call is also measured under the server's own `tracing` subscriber (the log
//! written to a sink), without and with OpenTelemetry: traces and metrics exported over OTLP to
//! a loopback receiver in this process. The difference is what telemetry adds to a call.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group};
use guarded_aws_mcp::audit::AuditLog;
use guarded_aws_mcp::aws::{AwsClients, AwsOptions};
use guarded_aws_mcp::catalogue::Catalogue;
use guarded_aws_mcp::gate::{CallCtx, Gate, GateOptions, Request, Verdict, authorize};
use guarded_aws_mcp::policy::{Caller, CompiledPolicy, load_str};
use serde_json::{Value, json};

/// Three rules per tool of the catalogue (a deny with two conditions, an approval, an allow with a limit), plus
/// class defaults, policy-wide limits and glob keys.
fn full_policy(catalogue: &Catalogue) -> CompiledPolicy {
    let mut yaml = String::from(
        "version: 1\ndefault: deny\nclasses:\n  read: allow\n  write: require_approval\nlimits:\n  - {max: 1000000, window: 1m, per: session}\n  - {max: 1000000, window: 1h, per: global, class: destructive}\ntools:\n  \"describe_*\":\n    - action: allow\n  \"list_*\":\n    - action: allow\n",
    );
    for t in catalogue.iter() {
        // Conditions on `region` where the tool has it (Amazon MQ, Access Analyzer), else on its
        // first text parameter (IAM is global).
        let param = if t.params.contains_key("region") {
            "region".to_string()
        } else {
            match t
                .params
                .iter()
                .find(|(p, types)| !p.contains('.') && types.iter().any(|ty| ty == "string"))
            {
                Some((p, _)) => p.clone(),
                None => {
                    // A tool without parameters (RabbitMQ listings): an allow with a limit.
                    yaml.push_str(&format!(
                        "  {}:\n    - action: allow\n      limit: {{max: 1000000, window: 1h, per: session}}\n",
                        t.name
                    ));
                    continue;
                }
            }
        };
        yaml.push_str(&format!(
            "  {name}:\n    - action: deny\n      reason: not here\n      when:\n        - {{path: args.{param}, op: regex, value: \"^(cn|us-gov|forbidden)-\"}}\n        - {{path: args.{param}, op: exists}}\n    - action: require_approval\n      when:\n        - {{path: args.{param}, op: in, value: [ap-east-1, me-south-1]}}\n    - action: allow\n      limit: {{max: 1000000, window: 1h, per: session}}\n",
            name = t.name
        ));
    }
    match load_str(&yaml, "bench.yaml", catalogue) {
        Ok(p) => p,
        Err(e) => panic!("bench policy: {e}"),
    }
}

fn cases() -> Vec<(&'static str, Value)> {
    vec![
        ("list_brokers", json!({"MaxResults": 10})),
        (
            "describe_broker",
            json!({"BrokerId": "b-0123abcd-0123-4567-89ab-0123456789ab", "region": "eu-west-1"}),
        ),
        (
            "create_broker",
            json!({"broker_name": "orders", "engine_type": "RABBITMQ", "deployment_mode": "SINGLE_INSTANCE",
                   "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.t3.micro",
                   "region": "cn-north-1"}),
        ),
        (
            "delete_broker",
            json!({"BrokerId": "b-0123abcd-0123-4567-89ab-0123456789ab"}),
        ),
        ("list_users", json!({"path_prefix": "/team/"})),
        (
            "put_user_policy",
            json!({"user_name": "alice", "policy_name": "read",
                   "policy_document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}}),
        ),
    ]
}

fn percentiles(policy: &CompiledPolicy, catalogue: &Catalogue) {
    let cases = cases();
    let specs: Vec<_> = cases
        .iter()
        .map(|(n, _)| catalogue.get(n).expect("tool"))
        .collect();
    let caller = Caller::new("bench", vec!["ops".into()]);
    let mut samples = Vec::with_capacity(200_000);
    for i in 0..200_000 {
        let k = i % cases.len();
        let t = Instant::now();
        black_box(policy.decide(specs[k], &cases[k].1, &caller));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    let p = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    println!(
        "policy decision over {} calls: p50 {} ns, p99 {} ns, max {} ns",
        samples.len(),
        p(0.50),
        p(0.99),
        samples[samples.len() - 1]
    );
}

fn benches(c: &mut Criterion) {
    let catalogue = Arc::new(Catalogue::builtin());
    let policy = full_policy(&catalogue);
    percentiles(&policy, &catalogue);
    let caller = Caller::new("bench", vec!["ops".into()]);

    for (name, args) in cases() {
        let spec = catalogue.get(name).expect("tool").clone();
        c.bench_function(&format!("decide/{name}"), |b| {
            b.iter(|| black_box(policy.decide(&spec, black_box(&args), &caller)))
        });
    }

    // Deciding on the resource's facts: the owner template and a tag, as the shipped
    // dev-permissive policy does (the facts are looked up before; this is the decision alone).
    let owned = load_str(
        "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: deny\n      when: [{path: resource.tags.env, op: ne, value: dev}]\n    - action: deny\n      when: [{path: resource.tags.owner, op: ne, value: \"${principal}\"}]\n",
        "bench",
        &catalogue,
    )
    .expect("policy");
    let spec = catalogue.get("delete_broker").expect("tool").clone();
    let args = json!({"BrokerId": "b-1234567890"});
    let facts = json!({"id": "b-1234567890", "state": "RUNNING", "tags": {"env": "dev", "owner": "bench", "team": "payments"}});
    c.bench_function("decide/delete_broker_with_resource_facts", |b| {
        b.iter(|| {
            black_box(owned.decide_with(&spec, black_box(&args), &caller, Some(black_box(&facts))))
        })
    });

    // The whole pure decision: hiding, read-only mode, the IAM guard and the policy.
    let options = GateOptions::default();
    for (name, args) in cases() {
        let spec = catalogue.get(name).expect("tool").clone();
        c.bench_function(&format!("authorize/{name}"), |b| {
            b.iter(|| {
                let request = Request {
                    name,
                    tool: Some((&spec, Ok(black_box(&args)))),
                    caller: &caller,
                    resource: None,
                    grants: None,
                    history: None,
                };
                black_box(matches!(
                    authorize(&policy, &options, &request),
                    Verdict::Allow { .. }
                ))
            })
        });
    }

    // The IAM guard judging what an attach puts in force (the document read beforehand, as
    // the gate does): the decision alone, with the read document and the server's account.
    let guarded = load_str(
        "version: 1\ndefault: allow\niam_guard: {trusted_accounts: [\"444455556666\"]}\n",
        "bench",
        &catalogue,
    )
    .expect("policy");
    let attach = catalogue.get("attach_role_policy").expect("tool").clone();
    let attach_args =
        json!({"role_name": "app", "policy_arn": "arn:aws:iam::111122223333:policy/ReadBrokers"});
    let grants = guarded_aws_mcp::tools::iam::guard::Grants {
        documents: vec![guarded_aws_mcp::tools::iam::guard::GrantedDocument {
            origin: "policy arn:aws:iam::111122223333:policy/ReadBrokers (version v3)".into(),
            document: json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "Read", "Effect": "Allow", "Action": ["mq:Describe*", "mq:List*"], "Resource": "*"},
                {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:GetLogEvents", "logs:FilterLogEvents"], "Resource": "arn:aws:logs:*:111122223333:log-group:/aws/amazonmq/*"},
                {"Sid": "NoDelete", "Effect": "Deny", "Action": "mq:Delete*", "Resource": "*"}]}),
        }],
        own_account: Some("111122223333".into()),
        analyzer: Vec::new(),
    };
    let summary = grants.summary();
    let grants = guarded_aws_mcp::catalogue::guard::GuardFacts::new(grants, summary);
    let request = Request {
        name: "attach_role_policy",
        tool: Some((&attach, Ok(&attach_args))),
        caller: &caller,
        resource: None,
        grants: Some(&grants),
        history: None,
    };
    c.bench_function("authorize/attach_role_policy_with_granted_document", |b| {
        b.iter(|| {
            black_box(matches!(
                authorize(&guarded, &options, black_box(&request)),
                Verdict::Allow { .. }
            ))
        })
    });
    let mut samples = Vec::with_capacity(200_000);
    for _ in 0..200_000 {
        let t = Instant::now();
        black_box(authorize(&guarded, &options, black_box(&request)));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    println!(
        "authorize attach_role_policy with a granted document over {} calls: p50 {} ns, p99 {} ns",
        samples.len(),
        samples[samples.len() / 2],
        samples[(samples.len() as f64 * 0.99) as usize]
    );

    // History and keyed limits (policies/history.yaml): the counts looked up are given; the
    // decision reads them, and the keys the gate computes per call.
    let history = load_str(
        include_str!("../policies/history.yaml"),
        "bench",
        &catalogue,
    )
    .expect("policy");
    let reboot = catalogue.get("reboot_broker").expect("tool").clone();
    let reboot_args = json!({"BrokerId": "b-1234567890"});
    let counted: guarded_aws_mcp::policy::HistoryFacts = history
        .history_reads("reboot_broker")
        .map(|(i, _, _)| (i, 1))
        .collect();
    c.bench_function("decide/reboot_broker_with_history", |b| {
        b.iter(|| {
            black_box(history.decide_on(
                &reboot,
                black_box(&reboot_args),
                &caller,
                None,
                Some(black_box(&counted)),
            ))
        })
    });
    let mut samples = Vec::with_capacity(200_000);
    for _ in 0..200_000 {
        let t = Instant::now();
        black_box(history.decide_on(&reboot, &reboot_args, &caller, None, Some(&counted)));
        samples.push(t.elapsed().as_nanos() as u64);
    }
    samples.sort_unstable();
    println!(
        "decision with history facts (reboot_broker, policies/history.yaml) over {} calls: p50 {} ns, p99 {} ns",
        samples.len(),
        samples[samples.len() / 2],
        samples[(samples.len() as f64 * 0.99) as usize]
    );
    let facts = guarded_aws_mcp::policy::CallFacts {
        session: "bench-session",
        caller: &caller,
        args: &reboot_args,
        resource: None,
    };
    c.bench_function("keys/history_and_limit_keys_of_a_call", |b| {
        b.iter(|| {
            let d = history.decide_on(&reboot, &reboot_args, &caller, None, Some(&counted));
            let keys: Vec<String> = history
                .history_reads("reboot_broker")
                .map(|(_, _, s)| s.key(black_box(&facts)))
                .collect();
            black_box((keys, guarded_aws_mcp::limits::counted(&d.limits, &facts)))
        })
    });
    // Counting in memory: a budget keyed by principal against a per-session count (the floor).
    let budget = load_str(
        "version: 1
default: allow
limits:
  - {max: 4000000000, window: 30d, per: [principal, claims.team], tool: create_broker, cost: {of: args.host_instance_type, table: {mq.m5.large: 8}, default: 32}}
",
        "bench",
        &catalogue,
    )
    .expect("policy");
    let plain = load_str(
        "version: 1
default: allow
limits:
  - {max: 4000000000, window: 30d, per: session}
",
        "bench",
        &catalogue,
    )
    .expect("policy");
    let create = catalogue.get("create_broker").expect("tool").clone();
    let create_args = json!({"host_instance_type": "mq.m5.large"});
    let create_facts = guarded_aws_mcp::policy::CallFacts {
        args: &create_args,
        ..facts
    };
    for (name, p) in [("session_count", &plain), ("keyed_budget", &budget)] {
        let limiter = guarded_aws_mcp::limits::Limiter::new();
        let limits = p.decide(&create, &create_args, &caller).limits;
        c.bench_function(&format!("limits/{name}_reserve_and_release"), |b| {
            b.iter(|| {
                let counted =
                    guarded_aws_mcp::limits::counted(&limits, black_box(&create_facts)).unwrap();
                let r = limiter.try_acquire(&counted, Instant::now()).unwrap();
                limiter.release(r);
            })
        });
    }

    // A whole call refused by the policy: validation, decision, audit record (to /dev/null).
    let aws = Arc::new(AwsClients::new(AwsOptions::default()));
    let audit = AuditLog::open(std::path::Path::new("/dev/null")).expect("open /dev/null");
    let gate = Gate::new(
        catalogue.clone(),
        full_policy(&catalogue),
        audit,
        aws,
        GateOptions::default(),
    )
    .expect("gate");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let refused = cases()[2].1.as_object().cloned();
    c.bench_function("gate/refused_call", |b| {
        b.iter(|| {
            runtime.block_on(gate.call(
                CallCtx::out_of_band("bench", &caller),
                "create_broker",
                black_box(refused.clone()),
            ))
        })
    });
    // The same, refused by a history rule: the history is looked up in the memory store first.
    let history_gate = Gate::new(
        catalogue.clone(),
        load_str(
            include_str!("../policies/history.yaml"),
            "bench",
            &catalogue,
        )
        .expect("policy"),
        AuditLog::open(std::path::Path::new("/dev/null")).expect("open /dev/null"),
        Arc::new(AwsClients::new(AwsOptions::default())),
        GateOptions::default(),
    )
    .expect("gate");
    let reboot = json!({"BrokerId": "b-1234567890"}).as_object().cloned();
    c.bench_function("gate/refused_call_by_history", |b| {
        b.iter(|| {
            runtime.block_on(history_gate.call(
                CallCtx::out_of_band("bench", &caller),
                "reboot_broker",
                black_box(reboot.clone()),
            ))
        })
    });
}

/// The refused call under the server's subscriber, without and with OpenTelemetry exporting
/// to a loopback OTLP receiver.
fn telemetry_benches(c: &mut Criterion) {
    let catalogue = Arc::new(Catalogue::builtin());
    let caller = Caller::new("bench", vec!["dev".into()]);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let refused = cases()[2].1.as_object().cloned();
    let off = guarded_aws_mcp::telemetry::Telemetry::default();
    let endpoint = otlp_sink();
    // SAFETY: set before any other thread of this process reads the environment (the sink's
    // thread does not).
    unsafe {
        std::env::set_var("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
        std::env::set_var("OTEL_BSP_SCHEDULE_DELAY", "1000");
        std::env::set_var("OTEL_METRIC_EXPORT_INTERVAL", "1000");
    }
    let start = |traces, metrics| {
        guarded_aws_mcp::telemetry::Telemetry::start(guarded_aws_mcp::telemetry::Signals {
            traces,
            metrics,
        })
        .expect("OTLP exporters")
    };
    let (traces, metrics, on) = (start(true, false), start(false, true), start(true, true));
    let discard = guarded_aws_mcp::telemetry::Telemetry::with_providers(
        Some(
            opentelemetry_sdk::trace::SdkTracerProvider::builder()
                .with_batch_exporter(Discard)
                .build(),
        ),
        None,
    );
    for (name, telemetry) in [
        ("log", &off),
        ("log+spans_discarded", &discard),
        ("log+otel_traces", &traces),
        ("log+otel_metrics", &metrics),
        ("log+otel", &on),
    ] {
        let aws = Arc::new(AwsClients::new(AwsOptions::default()));
        let audit = AuditLog::open(std::path::Path::new("/dev/null")).expect("open /dev/null");
        let gate = Gate::new(
            catalogue.clone(),
            full_policy(&catalogue),
            audit,
            aws,
            GateOptions::default(),
        )
        .expect("gate")
        .with_otlp_meter(telemetry.meter());
        let subscriber = guarded_aws_mcp::cli::subscriber(telemetry, std::io::sink);
        tracing::subscriber::with_default(subscriber, || {
            c.bench_function(&format!("gate/refused_call/{name}"), |b| {
                b.iter(|| {
                    runtime.block_on(gate.call(
                        CallCtx::out_of_band("bench", &caller),
                        "create_broker",
                        black_box(refused.clone()),
                    ))
                })
            });
        });
    }
    for t in [traces, metrics, on, discard] {
        t.shutdown();
    }
}

/// A span exporter that drops what it is given: the cost of making spans, without encoding
/// and sending them.
#[derive(Debug)]
struct Discard;

impl opentelemetry_sdk::trace::SpanExporter for Discard {
    async fn export(
        &self,
        _batch: Vec<opentelemetry_sdk::trace::SpanData>,
    ) -> opentelemetry_sdk::error::OTelSdkResult {
        Ok(())
    }
}

/// An OTLP/HTTP receiver on 127.0.0.1 that reads each export and answers 200.
fn otlp_sink() -> String {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut writer = stream;
                loop {
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end();
                        if line.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).is_err()
                        || writer
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    url
}

/// Writing audit records to a file: plain (the floor), and with signed checkpoints every 1000
/// records (the default) and after every record (what one signature costs).
fn audit_benches(c: &mut Criterion) {
    use guarded_aws_mcp::audit::{AuditOptions, AuditRecord, Outcome, signing};
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("bench.key");
    signing::keygen(&key).expect("keygen");
    let record = || {
        AuditRecord::event(
            "bench-session",
            "describe_broker",
            json!({"BrokerId": "b-1234567890"}),
            "allow",
            Outcome::Ok,
            "0".repeat(64),
        )
    };
    for (name, every) in [
        ("plain", None),
        ("signed_every_1000", Some(1000)),
        ("signed_every_1", Some(1)),
    ] {
        let log = AuditLog::open_with(
            &dir.path().join(format!("{name}.jsonl")),
            AuditOptions {
                signer: every.map(|_| signing::Signer::load(&key).expect("key")),
                checkpoint_every: every.unwrap_or(0),
                ..AuditOptions::default()
            },
        )
        .expect("log");
        c.bench_function(&format!("audit/write_record_{name}"), |b| {
            b.iter(|| log.write(black_box(record())).expect("written"))
        });
    }
}

/// What a call that reads history and counts a keyed limit in Redis adds: the history count
/// before the decision, the reservation after it, the history log after success — beside one
/// PING, the floor of a round trip. Runs when `GUARDED_BENCH_REDIS` names a Redis
/// (`redis://127.0.0.1:6379/15`; scripts/bench.sh sets it).
fn redis_benches(c: &mut Criterion) {
    use guarded_aws_mcp::state::{Counting, Logged, RedisStore};
    let Ok(url) = std::env::var("GUARDED_BENCH_REDIS") else {
        return;
    };
    let catalogue = Catalogue::builtin();
    let policy = load_str(
        include_str!("../policies/history.yaml"),
        "bench",
        &catalogue,
    )
    .expect("policy");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = runtime.block_on(async { RedisStore::open(&url).expect("redis") });
    let caller = Caller::new("bench", vec![]);
    let spec = catalogue.get("reboot_broker").expect("tool");
    let args = json!({"BrokerId": "b-bench"});
    let facts = guarded_aws_mcp::policy::CallFacts {
        session: "bench",
        caller: &caller,
        args: &args,
        resource: None,
    };
    let queries: Vec<Counting> = policy
        .history_reads("reboot_broker")
        .map(|(_, q, s)| Counting {
            key: s.key(&facts),
            within: q.within,
            cap: s.cap,
        })
        .collect();
    let logged: Vec<Logged> = policy
        .history_logged("reboot_broker")
        .map(|s| Logged {
            key: s.key(&facts),
            keep: s.keep,
            cap: s.cap,
        })
        .collect();
    // The keyed limit (one reboot per broker per hour) raised so every iteration fits.
    let keyed = load_str(
        "version: 1\ndefault: allow\nlimits:\n  - {max: 4000000000, window: 1h, per: [args.BrokerId], tool: reboot_broker}\n",
        "bench",
        &catalogue,
    )
    .expect("policy");
    let limits = keyed.decide(spec, &args, &caller).limits;
    let counted = guarded_aws_mcp::limits::counted(&limits, &facts).expect("counted");
    c.bench_function("redis/ping_floor", |b| {
        b.iter(|| runtime.block_on(store.ping()).expect("ping"))
    });
    c.bench_function("redis/history_count_reserve_and_log", |b| {
        b.iter(|| {
            runtime.block_on(async {
                black_box(store.count_history(&queries).await.expect("count"));
                let r = store
                    .try_acquire(&counted)
                    .await
                    .expect("redis")
                    .expect("fits");
                store.record_history(&logged).await.expect("log");
                drop(r);
            })
        })
    });
}

criterion_group!(
    decision,
    benches,
    telemetry_benches,
    audit_benches,
    redis_benches
);

fn main() {
    decision();
    Criterion::default().configure_from_args().final_summary();
}
