//! History conditions, limits keyed by arguments and claims, budgets and running-call limits,
//! through the real binary (and, for leases, the Redis store itself): what the agent reads,
//! what AWS sees, and what replicas sharing one Redis count together.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::support::{
    FakeAws, HttpOptions, HttpServer, Needs, Options, Redis, Request, Server, call_on, eventually,
    text, trial,
};

/// An Amazon MQ endpoint that answers everything, except a DescribeBroker of `b-missing`
/// (NotFound); every request is recorded.
async fn mq() -> FakeAws {
    FakeAws::start(Arc::new(|r: &Request| {
        if r.path == "/v1/brokers/b-missing" {
            return (404, r#"{"message":"no broker b-missing"}"#.into());
        }
        let body = if r.method == "POST" && r.path == "/v1/brokers" {
            json!({"brokerId": "b-new", "brokerArn": "arn:aws:mq:us-east-1:123456789012:broker:x:b-new"})
        } else if r.path.starts_with("/v1/brokers/") && !r.path.ends_with("/reboot") {
            json!({"brokerId": r.path.trim_start_matches("/v1/brokers/"), "brokerName": "x"})
        } else {
            json!({})
        };
        (200, body.to_string())
    }))
    .await
}

fn reboots(fake: &FakeAws, broker: &str) -> usize {
    let path = format!("/v1/brokers/{broker}/reboot");
    fake.requests().iter().filter(|r| r.path == path).count()
}

const LOOK_FIRST: &str = r#"
version: 1
default: allow
limits:
  - {max: 1, window: 1h, per: [args.BrokerId], tool: reboot_broker}
tools:
  reboot_broker:
    - action: deny
      reason: describe the broker in this session before rebooting it
      when:
        - {history: {tool: describe_broker, within: 15m, per: session, same: [BrokerId]}, op: absent}
"#;

/// A reboot is refused until the same broker was described, successfully, in this session;
/// then one reboot per broker per hour runs.
async fn history_counts_only_calls_that_succeeded() {
    let fake = mq().await;
    let s = Server::start(Options {
        policy: Some(LOOK_FIRST.into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let refused = s.err("reboot_broker", json!({"BrokerId": "b-1"})).await;
    assert_eq!(
        refused,
        "Denied by policy: rule tools.reboot_broker[0]: describe the broker in this session before rebooting it (decided by history(describe_broker within 15m per session same BrokerId) absent)"
    );
    // A describe that fails is not history.
    s.err("describe_broker", json!({"BrokerId": "b-missing"}))
        .await;
    s.err("reboot_broker", json!({"BrokerId": "b-missing"}))
        .await;
    assert_eq!(reboots(&fake, "b-missing"), 0);
    // Describing another broker does not count for this one.
    s.ok("describe_broker", json!({"BrokerId": "b-2"})).await;
    assert!(
        s.err("reboot_broker", json!({"BrokerId": "b-1"}))
            .await
            .starts_with("Denied by policy: rule tools.reboot_broker[0]")
    );
    s.ok("describe_broker", json!({"BrokerId": "b-1"})).await;
    s.ok("reboot_broker", json!({"BrokerId": "b-1"})).await;
    s.ok("reboot_broker", json!({"BrokerId": "b-2"})).await;
    let limited = s.err("reboot_broker", json!({"BrokerId": "b-1"})).await;
    assert!(
        limited.starts_with(
            "Rate limited: limit limits[0] allows 1 calls per 1h (per args.BrokerId); retry in "
        ),
        "{limited}"
    );
    assert_eq!((reboots(&fake, "b-1"), reboots(&fake, "b-2")), (1, 1));
    // The audit record says what the history held when the reboot was decided.
    let records = s.audit_records();
    let ran = records
        .iter()
        .find(|r| r["tool"] == "reboot_broker" && r["outcome"]["status"] == "ok")
        .expect("a reboot that ran");
    assert_eq!(
        ran["history"],
        json!({"history(describe_broker within 15m per session same BrokerId)": 1})
    );
    let first = records
        .iter()
        .find(|r| r["tool"] == "reboot_broker")
        .unwrap();
    assert_eq!(
        first["conditions"],
        json!(["history(describe_broker within 15m per session same BrokerId) absent"])
    );
}

const SHARED: &str = r#"
version: 1
default: allow
limits:
  - {max: 10, window: 30d, per: [principal], tool: create_broker,
     cost: {of: args.host_instance_type, table: {mq.t3.micro: 1, mq.m5.large: 8}, default: 32}}
tools:
  reboot_broker:
    - action: deny
      reason: describe the broker first
      when:
        - {history: {tool: describe_broker, within: 15m, per: principal, same: [BrokerId]}, op: absent}
"#;

fn create(size: &str) -> Value {
    json!({"broker_name": "b", "engine_type": "RABBITMQ", "deployment_mode": "SINGLE_INSTANCE",
           "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": size})
}

/// Two replicas (stdio servers for the same principal) on one Redis share history and budget;
/// with Redis down, calls that need them are refused and nothing reaches AWS.
async fn replicas_share_history_and_budgets() {
    let mut redis = Redis::start().await;
    let fake = mq().await;
    let replica = || {
        Server::start(Options {
            policy: Some(SHARED.into()),
            endpoint: Some(fake.url.clone()),
            args: vec![
                "--state".into(),
                redis.url(),
                "--principal".into(),
                "alice".into(),
            ],
            ..Options::default()
        })
    };
    let (a, b) = (replica().await, replica().await);
    a.ok("describe_broker", json!({"BrokerId": "b-1"})).await;
    b.ok("reboot_broker", json!({"BrokerId": "b-1"})).await;
    assert!(
        b.err("reboot_broker", json!({"BrokerId": "b-2"}))
            .await
            .starts_with(
                "Denied by policy: rule tools.reboot_broker[0]: describe the broker first"
            )
    );
    a.ok("create_broker", create("mq.m5.large")).await;
    // Another large one would pass the budget; a smaller one still fits.
    let over = b.err("create_broker", create("mq.m5.large")).await;
    assert!(
        over.contains("8 is spent and this call costs 8: retry in "),
        "{over}"
    );
    b.ok("create_broker", create("mq.t3.micro")).await;
    a.ok("create_broker", create("mq.t3.micro")).await;
    let spent = a.err("create_broker", create("mq.t3.micro")).await;
    assert!(
        spent.starts_with("Rate limited: limit limits[0] allows a cost of 10 per 30d (per principal); 10 is spent and this call costs 1: retry in "),
        "{spent}"
    );
    let whole = b.err("create_broker", create("mq.m5.4xlarge")).await;
    assert!(
        whole.contains("this call costs 32, more than the whole budget"),
        "{whole}"
    );
    let creates = || {
        fake.requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/brokers")
            .count()
    };
    assert_eq!(creates(), 3);
    redis.down();
    let down = a.err("reboot_broker", json!({"BrokerId": "b-1"})).await;
    assert!(down.contains("state store"), "{down}");
    let down = b.err("create_broker", create("mq.t3.micro")).await;
    assert!(down.contains("state store"), "{down}");
    assert_eq!((reboots(&fake, "b-1"), creates()), (1, 3));
}

const TEAM_TOKENS: [&str; 3] = [
    "ann-token-0123456789abcdef",
    "ben-token-0123456789abcdef",
    "cid-token-0123456789abcdef",
];

/// 16 clients over two replicas race a limit keyed by the broker's id and a budget: exactly
/// what they allow runs, whoever asks and wherever.
async fn keyed_limits_and_budgets_are_exact_across_replicas() {
    let redis = Redis::start().await;
    let fake = mq().await;
    let policy = r#"
version: 1
default: allow
limits:
  - {max: 5, window: 1h, per: [args.BrokerId], tool: describe_broker}
  - {max: 50, window: 1d, per: global, tool: create_broker,
     cost: {of: args.host_instance_type, table: {mq.m5.large: 8}, default: 32}}
"#;
    let start = || {
        HttpServer::start(HttpOptions {
            policy: policy.into(),
            tokens: vec![
                (TEAM_TOKENS[0], "ann", vec![]),
                (TEAM_TOKENS[1], "ben", vec![]),
                (TEAM_TOKENS[2], "cid", vec![]),
            ],
            endpoint: fake.url.clone(),
            state: Some(redis.url()),
            args: Vec::new(),
        })
    };
    let (a, b) = (start().await, start().await);
    let mut clients = Vec::new();
    for i in 0..16 {
        let server = if i % 2 == 0 { &a } else { &b };
        clients.push(Arc::new(server.client(TEAM_TOKENS[i % 3]).await));
    }
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .map(|c| {
            tokio::spawn(async move {
                let mut ran = (0usize, 0usize);
                for i in 0..12 {
                    let broker = if i % 2 == 0 { "b-even" } else { "b-odd" };
                    let r = call_on(&c, "describe_broker", json!({"BrokerId": broker})).await;
                    if r.is_error != Some(true) {
                        ran.0 += 1;
                    }
                    let r = call_on(&c, "create_broker", create("mq.m5.large")).await;
                    if r.is_error == Some(true) {
                        assert!(
                            text(&r).starts_with("Rate limited: limit limits[1]"),
                            "{}",
                            text(&r)
                        );
                    } else {
                        ran.1 += 1;
                    }
                }
                ran
            })
        })
        .collect();
    let (mut described, mut created) = (0, 0);
    for t in tasks {
        let (d, c) = t.await.expect("client task");
        described += d;
        created += c;
    }
    // Five per broker id; six brokers of cost 8 fit a budget of 50.
    assert_eq!((described, created), (10, 6));
    let aws = fake.requests();
    assert_eq!(
        aws.iter()
            .filter(|r| r.method == "GET" && r.path.starts_with("/v1/brokers/b-"))
            .count(),
        10
    );
    assert_eq!(
        aws.iter()
            .filter(|r| r.method == "POST" && r.path == "/v1/brokers")
            .count(),
        6
    );
    drop(clients);
    a.stop().await;
    b.stop().await;
}

/// A running-call slot is held while the call runs and comes back when it fails, ends, or is
/// cancelled by the client.
async fn running_slots_come_back_after_failure_and_cancellation() {
    let (fake, describes) = crate::progress::slow_broker(usize::MAX).await;
    let s = Server::start(Options {
        policy: Some(
            "version: 1\ndefault: allow\nlimits:\n  - {max_in_flight: 1, per: [principal], class: write}\n"
                .into(),
        ),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    // A failing write (the fake has no configurations) gives its slot back each time.
    for _ in 0..3 {
        let failed = s
            .err(
                "create_configuration",
                json!({"name": "c", "engine_type": "RABBITMQ", "engine_version": "3.13",
                       "authentication_strategy": "SIMPLE"}),
            )
            .await;
        assert!(!failed.starts_with("Rate limited"), "{failed}");
    }
    let mut params = rmcp::model::CallToolRequestParams::new("create_broker");
    params.arguments = crate::progress::create_args(600).as_object().cloned();
    let running = s
        .client
        .send_cancellable_request(
            rmcp::model::ClientRequest::CallToolRequest(rmcp::model::Request::new(params)),
            rmcp::service::PeerRequestOptions::no_options(),
        )
        .await
        .expect("sent");
    eventually(Duration::from_secs(10), "the wait polls", || {
        describes.load(Ordering::SeqCst) >= 1
    })
    .await;
    let busy = s.err("create_broker", create("mq.m5.large")).await;
    assert_eq!(
        busy,
        "Rate limited: limit limits[0] allows 1 calls at once (per principal); 1 are running: retry when one ends"
    );
    running.cancel(Some("enough".into())).await.expect("cancel");
    eventually(
        Duration::from_secs(10),
        "the cancelled call's record",
        || {
            s.audit_records()
                .iter()
                .filter(|r| r["tool"] == "create_broker" && r["outcome"]["status"] == "ok")
                .count()
                == 1
        },
    )
    .await;
    s.ok("create_broker", create("mq.m5.large")).await;
}

/// Running slots in Redis: never more than allowed across two stores, given back when dropped,
/// and a dead replica's slots end with their lease.
async fn running_slots_are_exact_and_leases_outlive_no_replica() {
    use guarded_aws_mcp::catalogue::Catalogue;
    use guarded_aws_mcp::policy::{CallFacts, Caller, load_str};
    use guarded_aws_mcp::state::RedisStore;
    let redis = Redis::start().await;
    let catalogue = Catalogue::builtin();
    let policy = load_str(
        "version: 1\ndefault: allow\nlimits:\n  - {max_in_flight: 3, per: [principal]}\n",
        "t.yaml",
        &catalogue,
    )
    .expect("policy");
    // The spawned tasks hold counters that borrow the policy's limits.
    let policy: &'static _ = Box::leak(Box::new(policy));
    let spec = catalogue.get("list_brokers").expect("tool");
    let caller = Caller::new("alice", vec![]);
    let args = json!({});
    let limits = policy.decide(spec, &args, &caller).limits;
    let facts = CallFacts {
        session: "s",
        caller: &caller,
        args: &args,
        resource: None,
    };
    let counted = Arc::new(guarded_aws_mcp::limits::counted(&limits, &facts).expect("counted"));
    let lease = Duration::from_secs(1);
    let stores = Arc::new([
        RedisStore::open(&redis.url()).unwrap().with_lease(lease),
        RedisStore::open(&redis.url()).unwrap().with_lease(lease),
    ]);
    let held = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (stores, counted, held, most, ran) = (
            stores.clone(),
            counted.clone(),
            held.clone(),
            most.clone(),
            ran.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                let got = stores[i % 2].try_acquire(&counted).await.expect("redis");
                if let Ok(slot) = got {
                    let now = held.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    ran.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(3)).await;
                    held.fetch_sub(1, Ordering::SeqCst);
                    drop(slot);
                }
                tokio::task::yield_now().await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert!(most.load(Ordering::SeqCst) <= 3, "{most:?} held at once");
    assert!(ran.load(Ordering::SeqCst) >= 3, "{ran:?} ran");
    // Every slot comes back: three can be held again.
    let mut again = Vec::new();
    for _ in 0..3 {
        let slot = crate::support::eventually_some(
            Duration::from_secs(2),
            "a slot comes back",
            || async {
                stores[0]
                    .try_acquire(&counted)
                    .await
                    .expect("redis")
                    .map_err(|_| "all held".to_string())
            },
        )
        .await;
        again.push(slot);
    }
    drop(again);
    // A replica that dies holding all three: its own runtime ends (no renewal, no release).
    let url = redis.url();
    let counted_dead = counted.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dead = RedisStore::open(&url).unwrap().with_lease(lease);
            let mut n = 0;
            while n < 3 {
                if let Ok(slot) = dead.try_acquire(&counted_dead).await.expect("redis") {
                    std::mem::forget(slot);
                    n += 1;
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        });
    })
    .join()
    .expect("the dying replica");
    assert!(
        stores[1]
            .try_acquire(&counted)
            .await
            .expect("redis")
            .is_err(),
        "the dead replica's slots are held until their lease ends"
    );
    // The lease ends by Redis's clock: the wait is for that event.
    crate::support::eventually_some(
        Duration::from_secs(10),
        "a dead replica's slot coming back after its lease",
        || async {
            stores[1]
                .try_acquire(&counted)
                .await
                .expect("redis")
                .map(drop)
                .map_err(|_| "still held".to_string())
        },
    )
    .await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "limits::history_counts_only_calls_that_succeeded",
            Needs::Nothing,
            history_counts_only_calls_that_succeeded,
        ),
        trial(
            "limits::replicas_share_history_and_budgets",
            Needs::Redis,
            replicas_share_history_and_budgets,
        ),
        trial(
            "limits::keyed_limits_and_budgets_are_exact_across_replicas",
            Needs::Redis,
            keyed_limits_and_budgets_are_exact_across_replicas,
        ),
        trial(
            "limits::running_slots_come_back_after_failure_and_cancellation",
            Needs::Nothing,
            running_slots_come_back_after_failure_and_cancellation,
        ),
        trial(
            "limits::running_slots_are_exact_and_leases_outlive_no_replica",
            Needs::Redis,
            running_slots_are_exact_and_leases_outlive_no_replica,
        ),
    ]
}
