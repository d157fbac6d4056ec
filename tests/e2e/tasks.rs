//! Issue 17: the MCP tasks extension (`io.modelcontextprotocol/tasks`). A client that declares
//! it gets a task handle for a call with `wait`; `tasks/get` shows the polls as the status
//! message and then the result; `tasks/cancel` stops the polling; tasks belong to the
//! principal that started them.

use std::sync::atomic::Ordering;
use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::ClientHandler;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CancelTaskParams, ClientCapabilities, ClientConfig,
    GetTaskParams, GetTaskResult, Implementation, TaskPayload, TaskStatus,
};
use rmcp::service::{RoleClient, RunningService};
use serde_json::{Value, json};

use crate::progress::{allowing_all, create_args, slow_broker};
use crate::support::{HttpOptions, HttpServer, Needs, Options, Server, eventually, trial};

/// A client that declares the tasks extension (and, with `elicits`, form elicitation).
#[derive(Clone, Default)]
struct TaskClient {
    elicits: bool,
}

impl ClientHandler for TaskClient {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::builder().enable_tasks().build();
        if self.elicits {
            let mut elicitation = rmcp::model::ElicitationCapability::default();
            elicitation.form = Some(rmcp::model::FormElicitationCapability::default());
            caps.elicitation = Some(elicitation);
        }
        ClientConfig::new(caps, Implementation::new("tasks-test", "0"))
    }
}

fn create(wait: u32) -> CallToolRequestParams {
    let mut p = CallToolRequestParams::new("create_broker");
    p.arguments = create_args(wait).as_object().cloned();
    p
}

/// Start `create_broker` as a task: its id.
async fn start_task(client: &RunningService<RoleClient, TaskClient>, wait: u32) -> String {
    match client.call_tool_once(create(wait)).await.expect("answered") {
        CallToolResponse::Task(t) => {
            assert_eq!(t.task.status, TaskStatus::Working);
            t.task.task_id
        }
        other => panic!("expected a task handle, got {other:?}"),
    }
}

/// Poll `tasks/get` until the task is terminal (20 s at most), keeping the status messages.
async fn finish(
    client: &RunningService<RoleClient, TaskClient>,
    id: &str,
) -> (GetTaskResult, Vec<String>) {
    let mut messages = Vec::new();
    for _ in 0..200 {
        let t = client
            .get_task(GetTaskParams::new(id))
            .await
            .expect("tasks/get");
        if let Some(m) = &t.task.task.status_message
            && messages.last() != Some(m)
        {
            messages.push(m.clone());
        }
        if !matches!(
            t.task.task.status,
            TaskStatus::Working | TaskStatus::InputRequired
        ) {
            return (t, messages);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("task {id} did not finish: {messages:?}");
}

fn result_of(t: &GetTaskResult) -> Value {
    match &t.task.payload {
        TaskPayload::Completed { result } => {
            Value::Object(result.clone())["structuredContent"].clone()
        }
        other => panic!("not completed: {other:?}"),
    }
}

async fn a_long_call_runs_as_a_task() {
    let (fake, describes) = slow_broker(2).await;
    let s = allowing_all(&fake, TaskClient::default()).await;
    let id = start_task(&s.client, 60).await;
    let (done, messages) = finish(&s.client, &id).await;
    assert_eq!(done.task.task.status, TaskStatus::Completed);
    let out = result_of(&done);
    assert_eq!(out["BrokerId"], "b-slow", "{out}");
    assert_eq!(out["Waited"]["State"], "RUNNING", "{out}");
    assert_eq!(describes.load(Ordering::SeqCst), 3);
    assert!(
        messages.iter().any(|m| m.contains("CREATION_IN_PROGRESS")),
        "the polls show as the status: {messages:?}"
    );
    // One call, one audit record.
    let records = s.audit_records();
    assert_eq!(
        records
            .iter()
            .filter(|r| r["tool"] == "create_broker")
            .count(),
        1
    );
    // Without `wait` the same client gets its answer at once.
    let mut quick = create(1);
    quick.arguments.as_mut().unwrap().remove("wait");
    assert!(matches!(
        s.client.call_tool_once(quick).await.unwrap(),
        CallToolResponse::Complete(_)
    ));
}

async fn a_cancelled_task_stops_polling() {
    let (fake, describes) = slow_broker(usize::MAX).await;
    let s = allowing_all(&fake, TaskClient::default()).await;
    let id = start_task(&s.client, 600).await;
    eventually(Duration::from_secs(10), "two polls", || {
        describes.load(Ordering::SeqCst) >= 2
    })
    .await;
    s.client
        .cancel_task(CancelTaskParams::new(id.clone()))
        .await
        .expect("tasks/cancel");
    let (done, _) = finish(&s.client, &id).await;
    // The broker was created: the result says so, with the wait cut short.
    let out = result_of(&done);
    assert_eq!(out["BrokerId"], "b-slow", "{out}");
    assert_eq!(out["Waited"]["Cancelled"], true, "{out}");
    // The result is made when the wait has ended: no poll follows it.
    let after = describes.load(Ordering::SeqCst);
    let records = s.audit_records();
    assert!(
        records.iter().any(|r| r["tool"] == "create_broker"),
        "the task's call is audited once it ends: {records:?}"
    );
    assert_eq!(describes.load(Ordering::SeqCst), after, "polling stopped");
}

async fn tasks_belong_to_their_principal() {
    let (fake, _) = slow_broker(1).await;
    let s = HttpServer::start(HttpOptions {
        policy: "version: 1\ndefault: allow\n".into(),
        tokens: vec![
            ("task-alice-0123456789abcdef", "alice", vec![]),
            ("task-bob-0123456789abcdef", "bob", vec![]),
        ],
        endpoint: fake.url.clone(),
        state: None,
        args: Vec::new(),
    })
    .await;
    let alice = s
        .client_with("task-alice-0123456789abcdef", TaskClient::default(), false)
        .await;
    let bob = s
        .client_with("task-bob-0123456789abcdef", TaskClient::default(), false)
        .await;
    let id = start_task(&alice, 60).await;
    let e = bob
        .get_task(GetTaskParams::new(id.clone()))
        .await
        .expect_err("bob cannot see alice's task");
    assert!(e.to_string().contains("no task"), "{e}");
    assert!(
        bob.cancel_task(CancelTaskParams::new(id.clone()))
            .await
            .is_err()
    );
    let (done, _) = finish(&alice, &id).await;
    assert_eq!(result_of(&done)["Waited"]["State"], "RUNNING");
    s.stop().await;
}

/// Protocol 2026-07-28: the gate's approval question becomes the task's `input_required`;
/// the answer sent with `tasks/update` lets the call run.
async fn an_approval_is_asked_through_the_task() {
    let (fake, describes) = slow_broker(1).await;
    let s = Server::start_with(
        Options {
            policy: Some(
                "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: require_approval\n      reason: brokers cost money\n".into(),
            ),
            endpoint: Some(fake.url.clone()),
            discover: true,
            ..Options::default()
        },
        TaskClient { elicits: true },
    )
    .await;
    let id = start_task(&s.client, 60).await;
    let key = crate::support::eventually_some(
        Duration::from_secs(5),
        "the task asking for approval",
        || async {
            let t = s
                .client
                .get_task(GetTaskParams::new(id.clone()))
                .await
                .unwrap();
            match &t.task.payload {
                TaskPayload::InputRequired { input_requests } => {
                    Ok(input_requests.keys().next().cloned())
                }
                _ => Err(format!("{:?}", t.task.task.status)),
            }
        },
    )
    .await;
    let key = key.expect("the task asks for approval");
    assert!(key.ends_with("approval"), "{key}");
    assert_eq!(
        describes.load(Ordering::SeqCst),
        0,
        "nothing ran before the answer"
    );
    let params = rmcp::model::UpdateTaskParams::new(
        id.clone(),
        [(
            key,
            json!({"action": "accept", "content": {"approve": true}}),
        )]
        .into(),
    );
    s.client.update_task(params).await.expect("tasks/update");
    let (done, _) = finish(&s.client, &id).await;
    let out = result_of(&done);
    assert_eq!(out["Waited"]["State"], "RUNNING", "{out}");
    let records = s.audit_records();
    let create: Vec<&Value> = records
        .iter()
        .filter(|r| r["tool"] == "create_broker")
        .collect();
    assert_eq!(create.last().unwrap()["decision"], "approved", "{create:?}");
}

/// Issue 23 (6): tasks have bounds. An invalid call is refused at once, never as a task; a
/// `wait` beyond its maximum is invalid (it wrapped into a task before); a task's ttl is its
/// wait plus ten minutes, at most a day; a principal keeps at most 256 tasks.
async fn tasks_are_bounded() {
    let (fake, _) = slow_broker(0).await;
    let s = Server::start_with(
        Options {
            // Allowed creates only as `small`; anything else is denied at once (a quick task).
            policy: Some("version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: deny\n      when: [{path: args.broker_name, op: ne, value: small}]\n".into()),
            endpoint: Some(fake.url.clone()),
            ..Options::default()
        },
        TaskClient::default(),
    )
    .await;
    let complete_text = |r: CallToolResponse| match r {
        CallToolResponse::Complete(c) => crate::support::text(&c),
        other => panic!("expected an answer, got a task: {other:?}"),
    };
    let mut huge = create(1);
    huge.arguments
        .as_mut()
        .unwrap()
        .insert("wait".into(), json!(u64::MAX));
    let t = complete_text(s.client.call_tool_once(huge).await.unwrap());
    assert!(
        t.starts_with("Invalid arguments:") && t.contains("wait"),
        "{t}"
    );
    let mut invalid = create(5);
    invalid
        .arguments
        .as_mut()
        .unwrap()
        .insert("host_instance_type".into(), json!("not a type"));
    let t = complete_text(s.client.call_tool_once(invalid).await.unwrap());
    assert!(t.starts_with("Invalid arguments:"), "{t}");

    // A valid task's ttl: the wait and ten minutes.
    let mut first = create(1800);
    first
        .arguments
        .as_mut()
        .unwrap()
        .insert("broker_name".into(), json!("denied-1"));
    let ttl = match s.client.call_tool_once(first).await.unwrap() {
        CallToolResponse::Task(t) => t.task.ttl_ms,
        other => panic!("expected a task: {other:?}"),
    };
    assert_eq!(ttl, Some(1_800_000 + 600_000));
    // 256 kept at most: the 257th is refused with the reason.
    let mut refused = None;
    for i in 2..=257 {
        let mut p = create(5);
        p.arguments
            .as_mut()
            .unwrap()
            .insert("broker_name".into(), json!(format!("denied-{i}")));
        if let CallToolResponse::Complete(c) = s.client.call_tool_once(p).await.unwrap() {
            refused = Some((i, crate::support::text(&c)));
            break;
        }
    }
    let (i, t) = refused.expect("the 257th task was refused");
    assert_eq!(i, 257);
    assert!(t.contains("256 tasks of this principal are kept"), "{t}");
    s.stop().await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "tasks::tasks_are_bounded",
            Needs::Nothing,
            tasks_are_bounded,
        ),
        trial(
            "tasks::a_long_call_runs_as_a_task",
            Needs::Nothing,
            a_long_call_runs_as_a_task,
        ),
        trial(
            "tasks::a_cancelled_task_stops_polling",
            Needs::Nothing,
            a_cancelled_task_stops_polling,
        ),
        trial(
            "tasks::tasks_belong_to_their_principal",
            Needs::Nothing,
            tasks_belong_to_their_principal,
        ),
        trial(
            "tasks::an_approval_is_asked_through_the_task",
            Needs::Nothing,
            an_approval_is_asked_through_the_task,
        ),
    ]
}
