//! Long AWS work with `wait`: the server polls with backoff and sends progress notifications
//! (when the client sent a progress token) until the work ends, the wait runs out or the
//! client cancels.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation, NumberOrString,
    ProgressNotificationParam, ProgressToken, RequestMetaObject,
};
use rmcp::service::NotificationContext;
use serde_json::{Value, json};

use crate::support::{FakeAws, Needs, Options, Request, Server, eventually, text, trial};

/// A client that keeps the progress notifications it receives.
#[derive(Clone, Default)]
struct Watcher {
    seen: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl Watcher {
    /// The messages of the notifications received so far.
    fn messages(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|p| p.message.clone())
            .collect()
    }
}

impl ClientHandler for Watcher {
    fn get_info(&self) -> ClientConfig {
        ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("progress-test", "0"),
        )
    }

    async fn on_progress(
        &self,
        params: ProgressNotificationParam,
        _context: NotificationContext<rmcp::RoleClient>,
    ) {
        self.seen.lock().unwrap().push(params);
    }
}

/// A server that allows everything, against `fake`, with this client handler.
pub(crate) async fn allowing_all<H: ClientHandler>(fake: &FakeAws, handler: H) -> Server<H> {
    Server::start_with(
        Options {
            policy: Some("version: 1\ndefault: allow\n".into()),
            endpoint: Some(fake.url.clone()),
            ..Options::default()
        },
        handler,
    )
    .await
}

fn with_progress(name: &'static str, args: Value, token: &str) -> CallToolRequestParams {
    let mut meta = RequestMetaObject::default();
    meta.set_progress_token(ProgressToken(NumberOrString::String(
        token.to_string().into(),
    )));
    let mut p = CallToolRequestParams::new(name);
    p.arguments = args.as_object().cloned();
    p.meta = Some(meta);
    p
}

/// A broker that is CREATION_IN_PROGRESS for the first `slow` DescribeBroker calls, then
/// RUNNING; it counts them.
pub(crate) async fn slow_broker(slow: usize) -> (FakeAws, Arc<AtomicUsize>) {
    let describes = Arc::new(AtomicUsize::new(0));
    let seen = describes.clone();
    let fake = FakeAws::start(Arc::new(move |r: &Request| {
        if r.method == "POST" && r.path == "/v1/brokers" {
            return (200, r#"{"brokerArn":"arn:aws:mq:us-east-1:123456789012:broker:slow:b-slow","brokerId":"b-slow"}"#.into());
        }
        if r.method == "GET" && r.path == "/v1/brokers/b-slow" {
            let n = seen.fetch_add(1, Ordering::SeqCst) + 1;
            let state = if n > slow { "RUNNING" } else { "CREATION_IN_PROGRESS" };
            return (200, format!(r#"{{"brokerId":"b-slow","brokerName":"slow","brokerState":"{state}"}}"#));
        }
        (404, r#"{"message":"not here"}"#.into())
    }))
    .await;
    (fake, describes)
}

pub(crate) fn create_args(wait: u32) -> Value {
    json!({"broker_name": "slow", "engine_type": "RABBITMQ", "deployment_mode": "SINGLE_INSTANCE",
           "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.m5.large",
           "wait": wait})
}

async fn waits_report_progress_until_the_work_is_done() {
    // A broker: CREATION_IN_PROGRESS twice, then RUNNING.
    let (fake, describes) = slow_broker(2).await;
    let analyzer = crate::fakes::access_analyzer().await;
    let watcher = Watcher::default();
    let s = Server::start_with(
        Options {
            policy: Some("version: 1\ndefault: allow\n".into()),
            endpoint: Some(fake.url.clone()),
            env: vec![(
                "AWS_ENDPOINT_URL_ACCESSANALYZER".into(),
                analyzer.url.clone(),
            )],
            ..Options::default()
        },
        watcher.clone(),
    )
    .await;
    let r = s
        .client
        .call_tool(with_progress("create_broker", create_args(60), "create-1"))
        .await
        .unwrap();
    let out: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(out["Waited"]["State"], "RUNNING", "{out}");
    assert_eq!(out["Waited"]["Finished"], true);
    assert_eq!(describes.load(Ordering::SeqCst), 3);
    // Progress notifications are sent before the result; the client may handle the last one
    // after it.
    eventually(
        Duration::from_secs(5),
        "three progress notifications",
        || watcher.seen.lock().unwrap().len() >= 3,
    )
    .await;
    let seen = watcher.seen.lock().unwrap().clone();
    let messages: Vec<String> = seen.iter().filter_map(|p| p.message.clone()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with("broker b-slow: CREATION_IN_PROGRESS"),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with("broker b-slow: RUNNING"),
        "{messages:?}"
    );
    assert!(seen.windows(2).all(|w| w[0].progress <= w[1].progress));
    assert!(seen.iter().all(|p| p.total == Some(60.0)));

    // A policy generation: IN_PROGRESS, then SUCCEEDED.
    watcher.seen.lock().unwrap().clear();
    let r = s
        .client
        .call_tool(with_progress(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:role/app", "wait": 60}),
            "gen-1",
        ))
        .await
        .unwrap();
    let out: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(out["Waited"]["State"], "SUCCEEDED", "{out}");
    eventually(Duration::from_secs(5), "the SUCCEEDED notification", || {
        watcher
            .messages()
            .last()
            .is_some_and(|m| m.contains("SUCCEEDED"))
    })
    .await;
    let statuses = watcher.messages();
    assert!(
        statuses.last().unwrap().contains("SUCCEEDED"),
        "{statuses:?}"
    );
    // One call, one audit record, however many polls.
    let records = s.audit_records();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["tool"] == "create_broker")
            .count(),
        1
    );
}

async fn a_cancelled_wait_stops_polling() {
    // Never RUNNING.
    let (fake, describes) = slow_broker(usize::MAX).await;
    let s = allowing_all(&fake, Watcher::default()).await;
    let handle =
        s.client
            .send_cancellable_request(
                rmcp::model::ClientRequest::CallToolRequest(rmcp::model::Request::new(
                    with_progress("create_broker", create_args(600), "create-2"),
                )),
                rmcp::service::PeerRequestOptions::no_options(),
            )
            .await
            .unwrap();
    eventually(Duration::from_secs(10), "two polls", || {
        describes.load(Ordering::SeqCst) >= 2
    })
    .await;
    let before = describes.load(Ordering::SeqCst);
    handle
        .cancel(Some("the agent gave up".into()))
        .await
        .unwrap();
    // The wait ends at the cancellation, and the call's record is written after it ends: once
    // the record is there, no poll can follow.
    eventually(
        Duration::from_secs(10),
        "the cancelled call's record",
        || {
            s.audit_records()
                .iter()
                .any(|r| r["tool"] == "create_broker")
        },
    )
    .await;
    let after = describes.load(Ordering::SeqCst);
    assert!(
        after <= before + 1,
        "polling stopped: {before} then {after}"
    );
    let record = s
        .audit_records()
        .into_iter()
        .find(|r| r["tool"] == "create_broker")
        .unwrap();
    assert_eq!(record["outcome"]["status"], "ok", "{record}");
    // The server goes on serving (the fake answers ListBrokers with a 404).
    let r = s.call("list_brokers", json!({})).await;
    assert_eq!(r.is_error, Some(true), "{}", text(&r));
}

/// A broker whose update waits for a reboot: UpdateBroker sets a pending engine version; after
/// RebootBroker it is RUNNING-with-pending once (the reboot has not begun), REBOOT_IN_PROGRESS
/// once, then RUNNING on the new version. A replica that is promoted: REPLICA twice, then
/// PRIMARY. Every request is recorded.
async fn changing_broker() -> FakeAws {
    #[derive(Default)]
    struct Broker {
        pending: bool,
        rebooted_polls: Option<usize>,
        promoted_polls: Option<usize>,
    }
    let b = Arc::new(Mutex::new(Broker::default()));
    FakeAws::start(Arc::new(move |r: &Request| {
        let mut b = b.lock().unwrap();
        match (r.method.as_str(), r.path.as_str()) {
            ("PUT", "/v1/brokers/b-up") => {
                b.pending = true;
                (200, r#"{"brokerId":"b-up","engineVersion":"4.2"}"#.into())
            }
            ("POST", "/v1/brokers/b-up/reboot") => {
                b.rebooted_polls = Some(0);
                (200, "{}".into())
            }
            ("GET", "/v1/brokers/b-up") => {
                let (state, version, pending) = match b.rebooted_polls.as_mut() {
                    None => ("RUNNING", "3.13", b.pending),
                    Some(n) => {
                        *n += 1;
                        match *n {
                            1 => ("RUNNING", "3.13", true),
                            2 => ("REBOOT_IN_PROGRESS", "3.13", true),
                            _ => ("RUNNING", "4.2", false),
                        }
                    }
                };
                let pending = if pending { r#","pendingEngineVersion":"4.2""# } else { "" };
                (200, format!(r#"{{"brokerId":"b-up","brokerState":"{state}","engineVersion":"{version}"{pending}}}"#))
            }
            ("POST", "/v1/brokers/b-rep/promote") => {
                b.promoted_polls = Some(0);
                (200, r#"{"brokerId":"b-rep"}"#.into())
            }
            ("GET", "/v1/brokers/b-rep") => {
                let n = b.promoted_polls.as_mut().map(|n| {
                    *n += 1;
                    *n
                });
                let role = if n.is_some_and(|n| n > 2) { "PRIMARY" } else { "REPLICA" };
                (200, format!(r#"{{"brokerId":"b-rep","brokerState":"RUNNING","dataReplicationMetadata":{{"dataReplicationRole":"{role}"}}}}"#))
            }
            _ => (404, r#"{"message":"not here"}"#.into()),
        }
    }))
    .await
}

/// Issue 17: `update_broker` with `reboot` and `wait`, and `promote` with `wait`, report
/// progress until the change is applied or the replica is the primary.
async fn updates_and_promotions_wait_until_applied() {
    let fake = changing_broker().await;
    let watcher = Watcher::default();
    let s = allowing_all(&fake, watcher.clone()).await;
    // `wait` without `reboot` has nothing to wait for: refused before any request.
    let e = s
        .err(
            "update_broker",
            json!({"BrokerId": "b-up", "EngineVersion": "4.2", "wait": 60}),
        )
        .await;
    assert!(e.contains("wait needs reboot: true"), "{e}");
    assert!(fake.requests().is_empty());
    // Without reboot: the pending change is reported and nothing else happens.
    let out = s
        .ok(
            "update_broker",
            json!({"BrokerId": "b-up", "EngineVersion": "4.2"}),
        )
        .await;
    assert_eq!(out["PendingChanges"], json!(["EngineVersion"]), "{out}");
    assert!(out.get("RebootRequested").is_none());
    // With reboot and wait: polled through the reboot until nothing is pending.
    let r = s
        .client
        .call_tool(with_progress(
            "update_broker",
            json!({"BrokerId": "b-up", "EngineVersion": "4.2", "reboot": true, "wait": 60}),
            "update-1",
        ))
        .await
        .unwrap();
    let out: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(out["RebootRequested"], true, "{out}");
    assert_eq!(out["Waited"]["State"], "RUNNING", "{out}");
    assert_eq!(out["Waited"]["Finished"], true);
    eventually(
        Duration::from_secs(5),
        "three progress notifications",
        || watcher.messages().len() >= 3,
    )
    .await;
    let messages = watcher.messages();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[0].starts_with("broker b-up: RUNNING_WITH_PENDING_CHANGES"),
        "{messages:?}"
    );
    assert!(
        messages[1].starts_with("broker b-up: REBOOT_IN_PROGRESS"),
        "{messages:?}"
    );
    assert!(
        messages[2].starts_with("broker b-up: RUNNING"),
        "{messages:?}"
    );
    let reboots = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/v1/brokers/b-up/reboot")
        .count();
    assert_eq!(reboots, 1);

    // A promotion: REPLICA, REPLICA, then the RUNNING primary.
    watcher.seen.lock().unwrap().clear();
    let r = s
        .client
        .call_tool(with_progress(
            "promote",
            json!({"BrokerId": "b-rep", "Mode": "SWITCHOVER", "wait": 60}),
            "promote-1",
        ))
        .await
        .unwrap();
    let out: Value = serde_json::from_str(&text(&r)).unwrap();
    assert_eq!(out["Waited"]["State"], "PRIMARY", "{out}");
    eventually(
        Duration::from_secs(5),
        "three progress notifications",
        || watcher.messages().len() >= 3,
    )
    .await;
    let messages = watcher.messages();
    assert_eq!(
        messages
            .iter()
            .map(|m| m.split(" after").next().unwrap_or(m))
            .collect::<Vec<_>>(),
        [
            "broker b-rep: RUNNING (REPLICA)",
            "broker b-rep: RUNNING (REPLICA)",
            "broker b-rep: PRIMARY"
        ]
    );
    // One audit record per call, however many polls.
    let records = s.audit_records();
    assert_eq!(records.iter().filter(|r| r["tool"] == "promote").count(), 1);
    assert_eq!(
        records
            .iter()
            .filter(|r| r["tool"] == "update_broker")
            .count(),
        3
    );
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "progress::waits_report_progress_until_the_work_is_done",
            Needs::Nothing,
            waits_report_progress_until_the_work_is_done,
        ),
        trial(
            "progress::a_cancelled_wait_stops_polling",
            Needs::Nothing,
            a_cancelled_wait_stops_polling,
        ),
        trial(
            "progress::updates_and_promotions_wait_until_applied",
            Needs::Nothing,
            updates_and_promotions_wait_until_applied,
        ),
    ]
}
