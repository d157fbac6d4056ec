//! Human approval through the real binary: an MCP client that answers elicitation (accept,
//! decline, timeout) on the current protocol (MRTR, sealed state) and on 2025-11-25
//! (server-initiated elicitation); forged and replayed MRTR state; the out-of-band flow with
//! `guarded-aws-mcp approvals`. Every AWS call goes to a recording fake, so "ran exactly once"
//! and "made no AWS call" are counted, not assumed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use libtest_mimic::Trial;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ClientCapabilities, ClientConfig, ElicitRequestParams,
    ElicitResult, ElicitationAction, ElicitationCapability, FormElicitationCapability,
    Implementation, ProtocolVersion,
};
use rmcp::service::RequestContext;
use rmcp::{ClientHandler, ErrorData, RoleClient};
use serde_json::{Value, json};

use crate::gate::{create_args, fake_mq, recorded};
use crate::support::{BIN, FakeAws, Needs, Options, Server, text, trial};

/// A human at the client: answers every elicitation after `delay`.
#[derive(Clone)]
pub(crate) struct Human {
    action: ElicitationAction,
    approve: bool,
    delay: Duration,
    protocol: ProtocolVersion,
    pub(crate) asked: Arc<Mutex<Vec<String>>>,
    /// Send this as the accepted form's content instead of `{"approve": …}`.
    content: Option<Value>,
}

impl Human {
    pub(crate) fn new(action: ElicitationAction, approve: bool) -> Self {
        Human {
            action,
            approve,
            delay: Duration::ZERO,
            protocol: ProtocolVersion::LATEST,
            asked: Arc::default(),
            content: None,
        }
    }

    pub(crate) fn on(mut self, protocol: ProtocolVersion) -> Self {
        self.protocol = protocol;
        self
    }

    /// Answer "accept" with this content (empty or malformed forms).
    fn answering(mut self, content: Value) -> Self {
        self.content = Some(content);
        self
    }

    fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl ClientHandler for Human {
    fn get_info(&self) -> ClientConfig {
        let mut caps = ClientCapabilities::default();
        let mut elicitation = ElicitationCapability::default();
        elicitation.form = Some(FormElicitationCapability::default());
        caps.elicitation = Some(elicitation);
        ClientConfig::new(caps, Implementation::new("approval-test", "0"))
            .with_protocol_version(self.protocol.clone())
    }

    async fn create_elicitation(
        &self,
        request: ElicitRequestParams,
        _context: RequestContext<RoleClient>,
    ) -> Result<ElicitResult, ErrorData> {
        if let ElicitRequestParams::FormElicitationParams { message, .. } = &request {
            self.asked.lock().unwrap().push(message.clone());
        }
        tokio::time::sleep(self.delay).await;
        let mut r = ElicitResult::new(self.action.clone());
        if self.action == ElicitationAction::Accept {
            r.content = Some(
                self.content
                    .clone()
                    .unwrap_or_else(|| json!({ "approve": self.approve })),
            );
        }
        Ok(r)
    }
}

const APPROVE_CREATE: &str = r#"
version: 1
default: allow
tools:
  create_broker:
    - action: require_approval
      reason: brokers cost money
      approval_timeout: 1s
"#;

pub(crate) fn creates(fake: &FakeAws) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/brokers")
        .count()
}

async fn with_human(human: Human) -> (Server<Human>, FakeAws) {
    let fake = fake_mq().await;
    let s = Server::start_with(
        Options {
            policy: Some(APPROVE_CREATE.into()),
            endpoint: Some(fake.url.clone()),
            discover: human.protocol == ProtocolVersion::V_2026_07_28,
            ..Options::default()
        },
        human,
    )
    .await;
    (s, fake)
}

async fn call<H: ClientHandler>(s: &Server<H>, args: Value) -> rmcp::model::CallToolResult {
    let mut p = CallToolRequestParams::new("create_broker");
    if let Value::Object(m) = args {
        p = p.with_arguments(m);
    }
    s.client.call_tool(p).await.expect("tools/call answered")
}

fn last_record(s: &Server<impl ClientHandler>) -> Value {
    s.audit_records().pop().expect("an audit record")
}

async fn accept_runs_the_call_once(protocol: ProtocolVersion) {
    let mrtr = protocol == ProtocolVersion::V_2026_07_28;
    let human = Human::new(ElicitationAction::Accept, true).on(protocol);
    let asked = human.asked.clone();
    let (s, fake) = with_human(human).await;
    let r = call(&s, create_args()).await;
    assert_ne!(r.is_error, Some(true), "{}", text(&r));
    assert_eq!(creates(&fake), 1);
    let asked = asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 1);
    let prompt = &asked[0];
    assert!(prompt.contains("`create_broker`"), "{prompt}");
    assert!(
        prompt.contains("tools.create_broker[0]: brokers cost money"),
        "{prompt}"
    );
    assert!(prompt.contains("ok-name"), "{prompt}");
    assert!(
        !prompt.contains("Sup3r-secret-pw-42"),
        "the password reached the human: {prompt}"
    );
    let rec = last_record(&s);
    assert_eq!(rec["decision"], "approved", "{rec}");
    assert_eq!(rec["outcome"]["status"], "ok");
    // The path taken: an input-required result on 2026-07-28, a server request before.
    let reason = rec["reason"].as_str().unwrap();
    assert_eq!(reason.contains("input required"), mrtr, "{reason}");
    let (audit, stderr) = s.stop().await;
    assert!(!audit.contains("Sup3r-secret-pw-42") && !stderr.contains("Sup3r-secret-pw-42"));
}

async fn decline_and_cancel_refuse_without_aws(protocol: ProtocolVersion) {
    for (action, approve, word) in [
        (ElicitationAction::Decline, false, "declined"),
        (ElicitationAction::Cancel, false, "cancelled"),
        (ElicitationAction::Accept, false, "declined"),
    ] {
        let (s, fake) = with_human(Human::new(action, approve).on(protocol.clone())).await;
        let r = call(&s, create_args()).await;
        assert_eq!(r.is_error, Some(true));
        let t = text(&r);
        assert!(
            t.starts_with(
                "Approval required: rule tools.create_broker[0]: brokers cost money; the user"
            ) && t.contains(word),
            "{t}"
        );
        assert_eq!(creates(&fake), 0, "a refused call reached AWS");
        let rec = last_record(&s);
        assert_eq!(rec["decision"], "require_approval");
        assert_eq!(rec["outcome"]["status"], "denied");
        s.stop().await;
    }
}

async fn no_answer_in_time_refuses(protocol: ProtocolVersion) {
    // approval_timeout is 1s; the human answers after 2s.
    let human = Human::new(ElicitationAction::Accept, true)
        .on(protocol)
        .after(Duration::from_secs(2));
    let (s, fake) = with_human(human).await;
    let r = call(&s, create_args()).await;
    let t = text(&r);
    assert_eq!(r.is_error, Some(true), "{t}");
    assert!(
        t.contains("no answer within the approval timeout of 1s"),
        "{t}"
    );
    assert_eq!(creates(&fake), 0);
    s.stop().await;
}

/// MRTR driven by hand: the state is bound to the call, cannot be altered, and works once.
async fn mrtr_state_is_sealed_and_single_use() {
    let (s, fake) = with_human(Human::new(ElicitationAction::Accept, true)).await;
    let params = |args: Value| {
        let Value::Object(m) = args else {
            unreachable!()
        };
        CallToolRequestParams::new("create_broker").with_arguments(m)
    };
    let first = s
        .client
        .call_tool_once(params(create_args()))
        .await
        .expect("answered");
    let CallToolResponse::InputRequired(input) = first else {
        panic!("expected an input-required result, got {first:?}");
    };
    let state = input.request_state.clone().expect("requestState");
    let requests = input.input_requests.clone().expect("inputRequests");
    assert!(requests.contains_key("approval"), "{requests:?}");
    assert!(
        !state.contains("Sup3r"),
        "the state carries no plaintext argument"
    );
    assert_eq!(creates(&fake), 0);

    let answer = |approve: bool| -> rmcp::model::InputResponses {
        [(
            "approval".to_string(),
            json!({"action": "accept", "content": {"approve": approve}}),
        )]
        .into()
    };
    let retry = |args: Value, state: String| {
        params(args)
            .with_input_responses(answer(true))
            .with_request_state(state)
    };
    let refused = |resp: CallToolResponse| match resp {
        CallToolResponse::Complete(r) => {
            assert_eq!(r.is_error, Some(true), "{}", text(&r));
            text(&r)
        }
        other => panic!("expected a refusal, got {other:?}"),
    };

    // Altered state.
    let mut forged = state.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let t = refused(
        s.client
            .call_tool_once(retry(create_args(), forged))
            .await
            .unwrap(),
    );
    assert!(
        t.contains("does not belong to this call") && t.contains("altered"),
        "{t}"
    );
    // The state of one call used for other arguments.
    let mut other = create_args();
    other["broker_name"] = json!("another-broker");
    let t = refused(
        s.client
            .call_tool_once(retry(other, state.clone()))
            .await
            .unwrap(),
    );
    assert!(t.contains("does not belong to this call"), "{t}");
    assert_eq!(creates(&fake), 0);

    // The genuine answer runs the call once; the same answer again is refused.
    match s
        .client
        .call_tool_once(retry(create_args(), state.clone()))
        .await
        .unwrap()
    {
        CallToolResponse::Complete(r) => assert_ne!(r.is_error, Some(true), "{}", text(&r)),
        other => panic!("expected the call to run, got {other:?}"),
    }
    assert_eq!(creates(&fake), 1);
    let t = refused(
        s.client
            .call_tool_once(retry(create_args(), state.clone()))
            .await
            .unwrap(),
    );
    assert!(t.contains("already used"), "{t}");
    assert_eq!(creates(&fake), 1, "a replayed approval ran the call again");

    // Expiry after the approval timeout is stepped by a clock in process
    // (gate::tests::an_mrtr_approval_expires_by_the_gate_clock).
    let decisions: Vec<String> = s
        .audit_records()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["decision"].as_str().unwrap(),
                r["outcome"]["status"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            "require_approval/awaiting_approval",
            "require_approval/denied",
            "require_approval/denied",
            "approved/ok",
            "require_approval/denied",
        ]
    );
    s.stop().await;
}

/// `guarded-aws-mcp approvals ARGS` on a store (`store` is `--approvals-dir` or `--state` and its
/// value), with the operator's audit log.
pub(crate) fn run_approvals(
    store: (&str, &std::ffi::OsStr),
    audit: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    let out = std::process::Command::new(BIN)
        .arg("approvals")
        .args(args)
        .arg(store.0)
        .arg(store.1)
        .arg("--audit-log")
        .arg(audit)
        .output()
        .expect("run approvals");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn approvals_cli(
    dir: &std::path::Path,
    audit: &std::path::Path,
    args: &[&str],
) -> (i32, String, String) {
    run_approvals(("--approvals-dir", dir.as_os_str()), audit, args)
}

pub(crate) fn approval_id(t: &str) -> String {
    let at = t
        .find("apr-")
        .unwrap_or_else(|| panic!("no approval id in {t}"));
    t[at..at + 20].to_string()
}

/// No elicitation: refused with an id; an operator approves; the identical retry runs once.
async fn out_of_band_approval_runs_the_identical_retry_once() {
    let policy = APPROVE_CREATE.replace("approval_timeout: 1s", "approval_timeout: 10m");
    let (s, fake) = recorded(&policy).await;
    let ops_audit = s.approvals.with_file_name("approvals-audit.jsonl");
    let t = s.err("create_broker", create_args()).await;
    assert!(t.starts_with("Approval required: rule tools.create_broker[0]: brokers cost money; this client cannot ask the user"), "{t}");
    assert!(t.contains("guarded-aws-mcp approvals approve apr-"), "{t}");
    let id = approval_id(&t);
    // Asking again while pending names the same approval.
    let again = s.err("create_broker", create_args()).await;
    assert!(
        again.contains(&format!("approval {id} is still pending")),
        "{again}"
    );
    assert_eq!(creates(&fake), 0);

    let (code, out, err) = approvals_cli(&s.approvals, &ops_audit, &["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&id) && out.contains("create_broker") && out.contains("pending"),
        "{out}"
    );
    let (code, out, _) = approvals_cli(&s.approvals, &ops_audit, &["show", &id]);
    assert_eq!(code, 0);
    assert!(
        out.contains("brokers cost money") && out.contains("ok-name"),
        "{out}"
    );
    assert!(
        !out.contains("Sup3r-secret-pw-42") && out.contains("[REDACTED]"),
        "{out}"
    );

    // Other arguments are another call: approving this one does not let them through.
    let mut other = create_args();
    other["broker_name"] = json!("other-name");
    let other_text = s.err("create_broker", other.clone()).await;
    let other_id = approval_id(&other_text);
    assert_ne!(other_id, id);

    let (code, out, err) = approvals_cli(
        &s.approvals,
        &ops_audit,
        &["approve", &id, "--by", "tester"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("approved by tester"), "{out}");
    let (code, _, err) = approvals_cli(&s.approvals, &ops_audit, &["deny", &id]);
    assert_ne!(code, 0);
    assert!(err.contains("is approved, not pending"), "{err}");

    let ran = s.ok("create_broker", create_args()).await;
    assert_eq!(ran["BrokerId"], "b-new", "{ran}");
    assert_eq!(creates(&fake), 1);
    let rec = s.audit_records().pop().unwrap();
    assert_eq!(rec["decision"], "approved");
    assert!(
        rec["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("approved out of band by tester ({id})")),
        "{rec}"
    );
    // The next identical call needs a new approval.
    let t = s.err("create_broker", create_args()).await;
    assert_ne!(approval_id(&t), id);
    assert!(t.contains("was requested"), "{t}");
    assert_eq!(creates(&fake), 1);

    // Denied: the retry is refused with the operator's name.
    let (code, _, err) = approvals_cli(
        &s.approvals,
        &ops_audit,
        &["deny", &other_id, "--by", "boss"],
    );
    assert_eq!(code, 0, "{err}");
    let t = s.err("create_broker", other).await;
    assert!(
        t.contains(&format!("approval {other_id} was denied by boss")),
        "{t}"
    );
    assert_eq!(creates(&fake), 1);

    // Unknown ids and path tricks are refused.
    let (code, _, err) = approvals_cli(&s.approvals, &ops_audit, &["approve", "apr-../../x"]);
    assert_ne!(code, 0);
    assert!(err.contains("no approval"), "{err}");
    // The operator's decisions are audited, in a chain that verifies.
    let ops = std::fs::read_to_string(&ops_audit).unwrap();
    assert_eq!(ops.lines().count(), 2, "{ops}");
    assert!(
        ops.contains("\"by\":\"tester\"") && ops.contains("\"by\":\"boss\""),
        "{ops}"
    );
    let v = std::process::Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&ops_audit)
        .output()
        .unwrap();
    assert!(v.status.success());
    s.stop().await;
}

/// An approved call that does not fit its rate limit is refused without using the approval.
async fn approval_is_not_spent_on_a_rate_limited_call() {
    let policy = "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: require_approval\n      approval_timeout: 10m\n      limit: {max: 1, window: 1h}\n";
    let (s, fake) = recorded(policy).await;
    let ops = s.approvals.with_file_name("ops.jsonl");
    for round in 0..2 {
        let t = s.err("create_broker", create_args()).await;
        let id = approval_id(&t);
        let (code, _, err) = approvals_cli(&s.approvals, &ops, &["approve", &id]);
        assert_eq!(code, 0, "{err}");
        let r = s.call("create_broker", create_args()).await;
        if round == 0 {
            assert_ne!(r.is_error, Some(true), "{}", text(&r));
        } else {
            assert!(text(&r).starts_with("Rate limited:"), "{}", text(&r));
            let (_, out, _) = approvals_cli(&s.approvals, &ops, &["show", &id]);
            assert!(
                out.contains("status:    approved"),
                "the approval was spent: {out}"
            );
        }
    }
    assert_eq!(creates(&fake), 1);
    s.stop().await;
}

/// Issue 12 (5): an accepted form with no `approve`, or a malformed one, got raw serde text.
async fn empty_or_malformed_answers_are_refused_plainly(protocol: ProtocolVersion) {
    for (content, expect) in [
        (json!({}), "the user declined"),
        (json!({"approve": "yes"}), "the answer could not be read"),
    ] {
        let human = Human::new(ElicitationAction::Accept, true)
            .on(protocol.clone())
            .answering(content.clone());
        let (s, fake) = with_human(human).await;
        let r = call(&s, create_args()).await;
        let t = text(&r);
        assert_eq!(r.is_error, Some(true), "{t}");
        assert!(
            t.contains(expect) && !t.contains("serde") && !t.contains("missing field"),
            "{content}: {t}"
        );
        assert_eq!(creates(&fake), 0);
        s.stop().await;
    }
}

pub fn trials() -> Vec<Trial> {
    let mrtr = ProtocolVersion::LATEST;
    let old = ProtocolVersion::V_2025_11_25;
    vec![
        trial(
            "approvals::empty_or_malformed_answers_are_refused_plainly_mrtr",
            Needs::Nothing,
            || empty_or_malformed_answers_are_refused_plainly(ProtocolVersion::V_2026_07_28),
        ),
        trial(
            "approvals::empty_or_malformed_answers_are_refused_plainly_2025_11_25",
            Needs::Nothing,
            || empty_or_malformed_answers_are_refused_plainly(ProtocolVersion::V_2025_11_25),
        ),
        trial(
            "approvals::mrtr_accept_runs_the_call_once",
            Needs::Nothing,
            {
                let v = mrtr.clone();
                move || accept_runs_the_call_once(v)
            },
        ),
        trial(
            "approvals::mrtr_decline_and_cancel_refuse_without_aws",
            Needs::Nothing,
            {
                let v = mrtr.clone();
                move || decline_and_cancel_refuse_without_aws(v)
            },
        ),
        trial(
            "approvals::mrtr_no_answer_in_time_refuses",
            Needs::Nothing,
            {
                let v = mrtr.clone();
                move || no_answer_in_time_refuses(v)
            },
        ),
        trial(
            "approvals::mrtr_state_is_sealed_and_single_use",
            Needs::Nothing,
            mrtr_state_is_sealed_and_single_use,
        ),
        trial(
            "approvals::elicitation_accept_runs_the_call_once",
            Needs::Nothing,
            {
                let v = old.clone();
                move || accept_runs_the_call_once(v)
            },
        ),
        trial(
            "approvals::elicitation_decline_and_cancel_refuse_without_aws",
            Needs::Nothing,
            {
                let v = old.clone();
                move || decline_and_cancel_refuse_without_aws(v)
            },
        ),
        trial("approvals::elicitation_timeout_refuses", Needs::Nothing, {
            let v = old.clone();
            move || no_answer_in_time_refuses(v)
        }),
        trial(
            "approvals::approval_is_not_spent_on_a_rate_limited_call",
            Needs::Nothing,
            approval_is_not_spent_on_a_rate_limited_call,
        ),
        trial(
            "approvals::out_of_band_approval_runs_the_identical_retry_once",
            Needs::Nothing,
            out_of_band_approval_runs_the_identical_retry_once,
        ),
    ]
}
