//! The gate's decision, in process: table-driven cases with snapshots of what the agent reads
//! (`snapshots/`), and the gate's invariants as properties over generated policies, callers
//! and arguments.

use std::time::{Duration, Instant};

use proptest::prelude::*;
use serde_json::{Value, json};

use super::verdict::{Denial, GateOptions, Request, Verdict, authorize};
use super::{Refusal, prefix};
use crate::catalogue::{Catalogue, RiskClass};
use crate::policy::{Caller, CompiledPolicy, load_str};

fn catalogue() -> &'static Catalogue {
    static CATALOGUE: std::sync::OnceLock<Catalogue> = std::sync::OnceLock::new();
    CATALOGUE.get_or_init(Catalogue::builtin)
}

fn validator() -> &'static crate::validate::ArgValidator {
    static VALIDATOR: std::sync::OnceLock<crate::validate::ArgValidator> =
        std::sync::OnceLock::new();
    VALIDATOR.get_or_init(|| crate::validate::ArgValidator::new(catalogue()).expect("validator"))
}

fn policy(yaml: &str) -> CompiledPolicy {
    load_str(yaml, "test.yaml", catalogue()).unwrap_or_else(|e| panic!("{e}"))
}

/// What the agent reads for a call (the refusal text, or the decision when it may run).
fn outcome(
    p: &CompiledPolicy,
    options: &GateOptions,
    tool: &str,
    args: Value,
    who: &Caller,
) -> String {
    let spec = catalogue().get(tool).map(|s| s.as_ref());
    let validated = spec.map(|s| super::validate(validator(), s, args, &options.extra_regions));
    let request = Request {
        name: tool,
        tool: spec.zip(validated.as_ref().map(|r| r.as_ref().map(|(v, _)| v))),
        caller: who,
        resource: None,
        grants: None,
        history: None,
    };
    match authorize(p, options, &request) {
        Verdict::Deny(d) => Refusal::Denied(d).text(),
        Verdict::RequireApproval(d) => format!(
            "require_approval by {} (approver {}): {}",
            d.basis,
            d.approver.as_str(),
            d.reason
        ),
        Verdict::Allow {
            decision,
            shadowed: Some(w),
        } => format!(
            "allow (shadow mode, {} not enforced: {})",
            decision.basis,
            w.text()
        ),
        Verdict::Allow { decision, .. } => format!(
            "allow by {}; limits: {}",
            decision.basis,
            decision
                .limits
                .iter()
                .map(|l| l.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

const POLICY: &str = r#"
version: 1
default: deny
hide: [delete_configuration]
classes:
  read: allow
  write: require_approval
iam_guard: {}
limits:
  - {max: 100, window: 1m, per: session}
tools:
  create_broker:
    - action: deny
      reason: publicly accessible brokers are not allowed
      when: [{path: args.publicly_accessible, op: eq, value: true}]
    - action: require_approval
      approver: operator
      reason: brokers cost money
  reboot_broker:
    - action: allow
      when: [{path: roles, op: contains, value: ops}]
"#;

fn create() -> Value {
    json!({"broker_name": "b", "engine_type": "RABBITMQ", "deployment_mode": "SINGLE_INSTANCE",
           "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.t3.micro"})
}

/// Every reason a call is refused or let through, as the agent reads it.
#[test]
fn every_verdict_as_the_agent_reads_it() {
    let p = policy(POLICY);
    let normal = GateOptions::default();
    let read_only = GateOptions {
        read_only: true,
        ..GateOptions::default()
    };
    let shadow = GateOptions {
        shadow: true,
        ..GateOptions::default()
    };
    let anyone = Caller::default();
    let ops = Caller::new("olga", vec!["ops".into()]);
    let cases: Vec<(&str, &GateOptions, &str, Value, &Caller)> = vec![
        ("unknown tool", &normal, "drop_database", json!({}), &anyone),
        (
            "hidden",
            &normal,
            "delete_configuration",
            json!({"ConfigurationId": "c-1"}),
            &anyone,
        ),
        (
            "read-only mode",
            &read_only,
            "reboot_broker",
            json!({"BrokerId": "b-1"}),
            &ops,
        ),
        (
            "invalid argument",
            &normal,
            "describe_broker",
            json!({"BrokerId": "b 1"}),
            &anyone,
        ),
        (
            "unknown region",
            &normal,
            "list_brokers",
            json!({"region": "zz-xxxx-1"}),
            &anyone,
        ),
        (
            "iam guard",
            &normal,
            "put_user_policy",
            json!({"user_name": "u", "policy_name": "p",
            "policy_document": {"Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "arn:aws:iam::123456789012:role/?*"}]}}),
            &anyone,
        ),
        (
            "rule deny",
            &normal,
            "create_broker",
            {
                let mut a = create();
                a["publicly_accessible"] = json!(true);
                a
            },
            &anyone,
        ),
        ("rule approval", &normal, "create_broker", create(), &anyone),
        (
            "class approval",
            &normal,
            "create_user",
            json!({"user_name": "u"}),
            &anyone,
        ),
        (
            "default deny",
            &normal,
            "reboot_broker",
            json!({"BrokerId": "b-1"}),
            &anyone,
        ),
        (
            "allowed by role",
            &normal,
            "reboot_broker",
            json!({"BrokerId": "b-1"}),
            &ops,
        ),
        (
            "allowed by class",
            &normal,
            "list_brokers",
            json!({}),
            &anyone,
        ),
        (
            "shadow hidden",
            &shadow,
            "delete_configuration",
            json!({"ConfigurationId": "c-1"}),
            &anyone,
        ),
        (
            "shadow approval",
            &shadow,
            "create_broker",
            create(),
            &anyone,
        ),
    ];
    let table: Vec<String> = cases
        .into_iter()
        .map(|(name, o, tool, args, who)| format!("{name}: {}", outcome(&p, o, tool, args, who)))
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}

/// The refusals that come after the decision, as the agent reads them and as audited.
#[test]
fn refusals_after_the_decision() {
    let refusals = [
        Refusal::approval(
            "tools.create_broker[1]",
            "brokers cost money; the user declined, so the call was not made".into(),
            crate::audit::Outcome::Denied,
        ),
        Refusal::RateLimited {
            basis: "tools.list_brokers[0]".into(),
            limit: "limits[0]".into(),
            reason: "limit limits[0] allows 2 calls per 60s (per session); retry in 59s".into(),
        },
        Refusal::StoreDown {
            decision: "allow",
            basis: "classes.read".into(),
            error: "state store redis://127.0.0.1:6390 unreachable".into(),
        },
    ];
    let table: Vec<String> = refusals
        .iter()
        .map(|r| {
            format!(
                "{}\n  decision={} rule={:?} outcome={}",
                r.text(),
                r.decision(),
                r.basis(),
                serde_json::to_string(&r.outcome()).unwrap_or_default()
            )
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"));
}

/// Tools for generated cases: a mix of classes.
const TOOLS: &[&str] = &[
    "list_brokers",
    "describe_broker",
    "create_broker",
    "reboot_broker",
    "delete_broker",
    "create_user",
    "get_user",
    "rabbitmq_broker_list_queues",
    "policy_generation_start",
];

fn args_for(tool: &str) -> Value {
    match tool {
        "describe_broker" | "reboot_broker" | "delete_broker" => json!({"BrokerId": "b-1"}),
        "create_broker" => create(),
        "create_user" | "get_user" => json!({"user_name": "u"}),
        "policy_generation_start" => {
            json!({"principal_arn": "arn:aws:iam::123456789012:role/r"})
        }
        _ => json!({}),
    }
}

fn action() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["allow", "deny", "require_approval"])
}

/// A generated policy: a default, class defaults, rules under exact names and globs (some
/// conditional on a role), and a hide list.
fn policy_text() -> impl Strategy<Value = String> {
    let rule = (
        prop::sample::select(vec![
            "list_brokers",
            "create_broker",
            "reboot_broker",
            "delete_broker",
            "create_*",
            "*_broker",
            "*",
            "get_user",
        ]),
        action(),
        any::<bool>(),
    );
    (
        action(),
        prop::collection::vec((prop::sample::select(vec!["read", "write", "destructive", "execute"]), action()), 0..4),
        prop::collection::vec(rule, 0..8),
        prop::collection::vec(prop::sample::select(TOOLS.to_vec()), 0..3),
    )
        .prop_map(|(default, classes, rules, hide)| {
            let mut y = format!("version: 1\ndefault: {default}\n");
            let mut seen = std::collections::HashSet::new();
            let classes: Vec<_> = classes.into_iter().filter(|(c, _)| seen.insert(*c)).collect();
            if !classes.is_empty() {
                y.push_str("classes:\n");
                for (c, a) in classes {
                    y.push_str(&format!("  {c}: {a}\n"));
                }
            }
            if !hide.is_empty() {
                y.push_str(&format!("hide: [{}]\n", hide.join(", ")));
            }
            let mut keys: Vec<(&str, Vec<String>)> = Vec::new();
            for (key, a, when_ops) in rules {
                let rule = if when_ops {
                    format!("    - action: {a}\n      when: [{{path: roles, op: contains, value: ops}}]\n")
                } else {
                    format!("    - action: {a}\n")
                };
                match keys.iter_mut().find(|(k, _)| *k == key) {
                    Some((_, rs)) => rs.push(rule),
                    None => keys.push((key, vec![rule])),
                }
            }
            if !keys.is_empty() {
                y.push_str("tools:\n");
                for (k, rs) in keys {
                    y.push_str(&format!("  \"{k}\":\n{}", rs.concat()));
                }
            }
            y
        })
}

fn caller() -> impl Strategy<Value = Caller> {
    prop::sample::select(vec![
        vec![],
        vec!["ops".to_string()],
        vec!["reader".to_string()],
    ])
    .prop_map(|roles| Caller::new("p", roles))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A matching deny always wins; a hidden tool never runs; read-only mode never runs a
    /// non-read tool; only Allow lets a call go on to be counted and run.
    #[test]
    fn the_decision_holds_its_invariants(
        text in policy_text(),
        tool in prop::sample::select(TOOLS.to_vec()),
        who in caller(),
        read_only in any::<bool>(),
    ) {
        let p = policy(&text);
        let options = GateOptions { read_only, ..GateOptions::default() };
        let spec = catalogue().get(tool).expect("tool");
        let args = args_for(tool);
        let args = validator().validate(spec, args).expect("valid arguments");
        let request = Request { name: tool, tool: Some((spec, Ok(&args))), caller: &who, resource: None, grants: None, history: None };
        let verdict = authorize(&p, &options, &request);
        let decision = p.decide(spec, &args, &who);
        if p.is_hidden(tool) {
            prop_assert!(matches!(verdict, Verdict::Deny(Denial::Hidden { .. })), "{text}\n{verdict:?}");
        } else if read_only && spec.class != RiskClass::Read {
            prop_assert!(matches!(verdict, Verdict::Deny(Denial::ReadOnly { .. })), "{verdict:?}");
        } else if decision.action == crate::policy::Action::Deny {
            prop_assert!(matches!(verdict, Verdict::Deny(Denial::Rule { .. })), "{text}\n{verdict:?}");
        }
        // A matching deny rule decides over any allow or approval.
        // (The only condition generated is `roles contains ops`.)
        let ops = who.roles.iter().any(|x| x == "ops");
        let deny_matches = p.rules_for(tool).iter().any(|r| {
            r.action == crate::policy::Action::Deny && (r.when.is_empty() || ops)
        });
        if deny_matches {
            prop_assert!(matches!(verdict, Verdict::Deny(_)), "{text}\n{verdict:?}");
        }
        if let Verdict::Allow { shadowed, .. } = &verdict {
            prop_assert!(shadowed.is_none());
            prop_assert!(!p.is_hidden(tool));
            prop_assert!(!(read_only && spec.class != RiskClass::Read));
        }
    }

    /// Rate limits never let more than `max` calls through in any window, with releases of
    /// calls that never reached AWS mixed in.
    #[test]
    fn limits_never_pass_more_than_max(
        max in 1u32..12,
        steps in prop::collection::vec((0u64..40_000, any::<bool>()), 1..120),
    ) {
        let p = policy(&format!(
            "version: 1\ndefault: allow\nlimits:\n  - {{max: {max}, window: 30s, per: session}}\n"
        ));
        let spec = catalogue().get("list_brokers").expect("tool");
        let d = p.decide(spec, &json!({}), &Caller::default());
        let counters = crate::limits::counted_plain(&d.limits, "s", &Caller::new("p", vec![]));
        let limiter = crate::limits::Limiter::new();
        let t0 = Instant::now();
        let mut now = Duration::ZERO;
        let mut passed: Vec<Duration> = Vec::new();
        for (gap_ms, release) in steps {
            now += Duration::from_millis(gap_ms);
            if let Ok(r) = limiter.try_acquire(&counters, t0 + now) {
                if release {
                    limiter.release(r);
                } else {
                    passed.push(now);
                }
            }
            let window = Duration::from_secs(30);
            let in_window = passed.iter().filter(|t| now.saturating_sub(**t) < window).count();
            prop_assert!(in_window <= max as usize, "{in_window} > {max}");
        }
    }
}

/// Stable prefixes, so agents and people can tell refusals from AWS errors.
#[test]
fn refusal_prefixes_are_stable() {
    insta::assert_snapshot!(
        [
            prefix::UNKNOWN_TOOL,
            prefix::INVALID,
            prefix::DENIED,
            prefix::READ_ONLY,
            prefix::APPROVAL,
            prefix::RATE_LIMITED,
            prefix::STATE,
            prefix::AUDIT,
            prefix::AWS,
        ]
        .join("\n")
    );
}

/// The whole gate in process (no binary, no network): a refused call's answer and its audit
/// record, and `policy explain`'s answers.
#[test]
fn gate_in_process_refusal_audit_and_explain() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let audit_path = dir.path().join("audit.jsonl");
    let aws = Arc::new(crate::aws::AwsClients::new(crate::aws::AwsOptions {
        // Nothing may reach it: every call below is refused before AWS.
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("us-east-1".into()),
        ..crate::aws::AwsOptions::default()
    }));
    let store = crate::state::Store::open(&crate::state::StateSpec::Memory {
        approvals_dir: dir.path().join("approvals"),
    })
    .expect("store");
    let gate = super::Gate::new(
        Arc::new(Catalogue::builtin()),
        policy(POLICY),
        crate::audit::AuditLog::open(&audit_path).expect("audit log"),
        aws,
        GateOptions::default(),
    )
    .expect("gate")
    .with_store(Arc::new(store));
    let caller = Caller::new("alice", vec!["reader".into()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let call = |tool: &str, args: Value| {
        let Value::Object(m) = args else {
            unreachable!()
        };
        let cx = super::CallCtx::out_of_band("session-1", &caller);
        match rt.block_on(gate.call(cx, tool, Some(m))) {
            rmcp::model::CallToolResponse::Complete(r) => r,
            other => panic!("{other:?}"),
        }
    };
    let mut public = create();
    public["publicly_accessible"] = json!(true);
    let r = call("create_broker", public);
    assert_eq!(r.is_error, Some(true));
    let records: Vec<Value> = std::fs::read_to_string(&audit_path)
        .expect("audit")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(
        records.len(),
        1,
        "one record, and no started record for a refused call"
    );
    let mut record = records[0].clone();
    for volatile in ["ts", "latency_us", "policy", "prev"] {
        record[volatile] = json!(format!("<{volatile}>"));
    }
    insta::assert_snapshot!(
        "refused_call",
        format!(
            "{}\n{}",
            r.content[0]
                .as_text()
                .map(|t| t.text.as_str())
                .unwrap_or_default(),
            serde_json::to_string_pretty(&record).expect("json")
        )
    );
    let explained: Vec<Value> = [
        ("create_broker", create()),
        ("reboot_broker", json!({"BrokerId": "b-1"})),
        ("list_brokers", json!({})),
        ("delete_configuration", json!({"ConfigurationId": "c-1"})),
    ]
    .into_iter()
    .map(|(tool, args)| {
        serde_json::to_value(gate.explain(tool, args, &caller, None)).expect("json")
    })
    .collect();
    insta::assert_snapshot!(
        "explain",
        serde_json::to_string_pretty(&explained).expect("json")
    );
}

/// Every refusal outside the policy's decision, as the agent reads it, what its audit record
/// says and the kind metrics count it under: one type, one place.
#[test]
fn every_refusal_around_the_decision() {
    let not_found = crate::error::ToolError::Aws {
        operation: "mq:DescribeBroker",
        code: "NotFoundException".into(),
        message: "Can't find requested broker [b-1].".into(),
        request_id: Some("req-1".into()),
        reached: crate::error::Reached::Yes,
    };
    let refusals = [
        Refusal::NotFound(not_found),
        Refusal::Flooded {
            whose: "this session",
            retry_after: Duration::from_secs(41),
            audit: true,
        },
        Refusal::AuditUnavailable {
            error: "No space left on device (os error 28)".into(),
            what: "the call was not made",
        },
        Refusal::Internal("the approval vanished".into()),
        Refusal::Unauthenticated,
        Refusal::SelfApproval {
            approval_id: "apr-0123456789abcdef".into(),
        },
        Refusal::store_down(
            &crate::state::StoreError::Unavailable {
                store: "redis".into(),
                detail: "connection refused".into(),
            },
            "allow",
            "tools.list_brokers[0]",
        ),
    ];
    let table: Vec<String> = refusals
        .iter()
        .map(|r| {
            format!(
                "{} | audited {} | decision {} | rule {:?} | outcome {} | {}",
                r.kind().as_str(),
                r.audited(),
                r.decision(),
                r.basis(),
                serde_json::to_string(&r.outcome()).unwrap(),
                r.text()
            )
        })
        .collect();
    insta::assert_snapshot!(table.join("\n"));
    let kinds: std::collections::HashSet<&str> =
        super::RefusalKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        kinds.len(),
        super::RefusalKind::ALL.len(),
        "labels are distinct"
    );
}

/// An approval asked by input-required (MRTR) expires by the gate's clock: the test steps it to
/// the rule's `approval_timeout` and past it instead of sleeping.
#[test]
fn an_mrtr_approval_expires_by_the_gate_clock() {
    use std::sync::Arc;
    let dir = tempfile::tempdir().expect("tempdir");
    let (clock, hand) = crate::clock::Clock::manual();
    let aws = Arc::new(crate::aws::AwsClients::new(crate::aws::AwsOptions {
        // An approved call's AWS request fails at once here; the test reads the refusals.
        endpoint_url: Some("http://127.0.0.1:9".into()),
        region: Some("us-east-1".into()),
        ..crate::aws::AwsOptions::default()
    }));
    let store = crate::state::Store::open_with_clock(
        &crate::state::StateSpec::Memory {
            approvals_dir: dir.path().join("approvals"),
        },
        clock.clone(),
    )
    .expect("store");
    let gate = super::Gate::new(
        Arc::new(Catalogue::builtin()),
        policy(
            "version: 1\ndefault: deny\ntools:\n  reboot_broker:\n    - {action: require_approval, approval_timeout: 60s}\n",
        ),
        crate::audit::AuditLog::open(&dir.path().join("audit.jsonl")).expect("audit log"),
        aws,
        GateOptions::default(),
    )
    .expect("gate")
    .with_store(Arc::new(store))
    .with_clock(clock);
    let caller = Caller::new("alice", Vec::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let call = |state: Option<String>| {
        let responses: Option<rmcp::model::InputResponses> = state.as_ref().map(|_| {
            [(
                "approval".to_string(),
                json!({"action": "accept", "content": {"approve": true}}),
            )]
            .into()
        });
        let cx = super::CallCtx {
            session: "session-1",
            caller: &caller,
            asker: super::Asker::Mrtr { responses, state },
            progress: Default::default(),
            trace: Default::default(),
        };
        let Value::Object(args) = json!({"BrokerId": "b-1"}) else {
            unreachable!()
        };
        rt.block_on(gate.call(cx, "reboot_broker", Some(args)))
    };
    let ask = || match call(None) {
        rmcp::model::CallToolResponse::InputRequired(input) => {
            input.request_state.expect("sealed state")
        }
        other => panic!("expected a request for input: {other:?}"),
    };
    let answered = |state: String| match call(Some(state)) {
        rmcp::model::CallToolResponse::Complete(r) => r
            .content
            .first()
            .and_then(|c| c.as_text())
            .map(|t| t.text.clone())
            .unwrap_or_default(),
        other => panic!("expected an answer: {other:?}"),
    };
    // Answered at the last second of the timeout: approved (the AWS call then fails).
    let state = ask();
    hand.advance(Duration::from_secs(60));
    let t = answered(state);
    assert!(!t.contains("approval timeout"), "{t}");
    assert!(t.starts_with(prefix::AWS), "approved and run: {t}");
    // A second later: refused, nothing run.
    let state = ask();
    hand.advance(Duration::from_secs(61));
    let t = answered(state);
    assert!(
        t.starts_with(prefix::APPROVAL)
            && t.contains("no answer within the approval timeout of 60s"),
        "{t}"
    );
}

/// `max: 0` blocks every call the limit counts, with its own text (no retry time: none would
/// help), offline and through the gate, without asking the state store; calls it does not
/// count run.
#[test]
fn a_limit_of_zero_blocks_with_its_own_text() {
    use std::sync::Arc;
    const YAML: &str = "version: 1\ndefault: allow\nlimits:\n  - {max: 0, window: 1m, per: principal, tool: reboot_broker}\n";
    let p = policy(YAML);
    let caller = Caller::new("alice", Vec::new());
    let decider =
        super::offline::Decider::new(catalogue(), validator(), &p, GateOptions::default());
    let got = decider.decide(
        "reboot_broker",
        json!({"BrokerId": "b-1"}),
        (&caller, None),
        true,
    );
    assert_eq!(got.kind, super::offline::DecisionKind::RateLimited);
    assert_eq!(got.rule.as_deref(), Some("limits[0]"));
    assert!(
        got.reason.contains("blocks these calls (max: 0)"),
        "{}",
        got.reason
    );
    let other = decider.decide("list_brokers", json!({}), (&caller, None), true);
    assert_eq!(other.kind, super::offline::DecisionKind::Allow);

    // Through the gate, with a state store that cannot be reached: the block needs none.
    let dir = tempfile::tempdir().expect("tempdir");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = {
        let _in = rt.enter();
        crate::state::Store::open(&crate::state::StateSpec::Redis {
            url: "redis://127.0.0.1:9/0".into(),
        })
        .expect("a client (it connects lazily)")
    };
    let gate = super::Gate::new(
        Arc::new(Catalogue::builtin()),
        policy(YAML),
        crate::audit::AuditLog::open(&dir.path().join("audit.jsonl")).expect("audit log"),
        Arc::new(crate::aws::AwsClients::new(crate::aws::AwsOptions {
            endpoint_url: Some("http://127.0.0.1:9".into()),
            region: Some("us-east-1".into()),
            ..crate::aws::AwsOptions::default()
        })),
        GateOptions::default(),
    )
    .expect("gate")
    .with_store(Arc::new(store));
    let Value::Object(args) = json!({"BrokerId": "b-1"}) else {
        unreachable!()
    };
    let cx = super::CallCtx::out_of_band("session-1", &caller);
    let r = match rt.block_on(gate.call(cx, "reboot_broker", Some(args))) {
        rmcp::model::CallToolResponse::Complete(r) => r,
        other => panic!("{other:?}"),
    };
    let text = r.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(
        text,
        "Rate limited: limit limits[0] blocks these calls (max: 0); no retry runs until the policy changes"
    );
}
