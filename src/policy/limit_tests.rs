//! Unit tests of keyed limits, budgets, running-call limits and history conditions: how they
//! load, which counter a call falls in, what it costs, and how history decides.

use serde_json::{Value, json};

use super::tests::{cat, load};
use super::*;
use crate::limits::{Limiter, counted};

fn errors(yaml: &str) -> String {
    match load_str(yaml, "test.yaml", &cat()) {
        Ok(_) => panic!("policy should be refused"),
        Err(e) => e.to_string(),
    }
}

fn facts<'a>(session: &'a str, caller: &'a Caller, args: &'a Value) -> CallFacts<'a> {
    CallFacts {
        session,
        caller,
        args,
        resource: None,
    }
}

fn token_caller(principal: &str, claims: Value) -> Caller {
    Caller::new(principal, vec![]).with_token(TokenFacts {
        issuer: "https://idp.example".into(),
        id: None,
        claims: claims.as_object().cloned().unwrap_or_default(),
    })
}

/// One reboot per broker per hour, whoever asks: the broker's id is the key.
#[test]
fn a_limit_keyed_by_an_argument_counts_each_value_apart() {
    let p = load(
        "version: 1\ndefault: allow\nlimits:\n  - {max: 1, window: 1h, per: [args.BrokerId], tool: reboot_broker}\n",
    );
    let c = cat();
    let spec = c.get("reboot_broker").unwrap();
    let lim = Limiter::new();
    let t = std::time::Instant::now();
    let call = |session: &str, who: &str, broker: &str| {
        let caller = Caller::new(who, vec![]);
        let args = json!({"BrokerId": broker});
        let d = p.decide(spec, &args, &caller);
        let counters = counted(&d.limits, &facts(session, &caller, &args)).unwrap();
        lim.try_acquire(&counters, t).map(drop)
    };
    assert!(call("s1", "alice", "b-1").is_ok());
    // Another session and principal: the same broker is still rebooted once.
    let e = call("s2", "bob", "b-1").unwrap_err();
    assert_eq!(
        e.reason(),
        "limit limits[0] allows 1 calls per 1h (per args.BrokerId); retry in 1h"
    );
    assert!(call("s1", "alice", "b-2").is_ok());
}

/// Every encoding of a key is injective: values that read alike in text never share a counter.
#[test]
fn counters_of_different_values_never_coincide() {
    let p = load(
        "version: 1\ndefault: allow\nlimits:\n  - {max: 5, window: 1h, per: [claims.team, principal]}\n",
    );
    let l = &p.limits[0];
    let args = json!({});
    let key = |caller: &Caller| l.counter(&facts("s", caller, &args));
    let pairs = [
        (
            token_caller("y\nz", json!({"team": "x"})),
            token_caller("z", json!({"team": "x\ny"})),
        ),
        (
            token_caller("a", json!({"team": "1"})),
            token_caller("a", json!({"team": 1})),
        ),
        // A caller without the claim is counted under an explicit empty value, which is not
        // the empty string, nor the text "null".
        (
            token_caller("a", json!({})),
            token_caller("a", json!({"team": ""})),
        ),
        (
            token_caller("a", json!({})),
            token_caller("a", json!({"team": "null"})),
        ),
    ];
    for (one, other) in &pairs {
        assert_ne!(key(one), key(other), "{one:?} / {other:?}");
    }
    // Callers without the claim share its empty value.
    assert_eq!(
        key(&Caller::new("a", vec![])),
        key(&token_caller("a", json!({"other": 1})))
    );
    // Roles are a set: order and repeats do not make another counter.
    let r = load("version: 1\ndefault: allow\nlimits:\n  - {max: 5, window: 1h, per: roles}\n");
    let rk = |roles: &[&str]| {
        let caller = Caller::new("p", roles.iter().map(|s| s.to_string()).collect());
        r.limits[0].counter(&facts("s", &caller, &args))
    };
    assert_eq!(rk(&["a", "b"]), rk(&["b", "a", "a"]));
    assert_ne!(rk(&["a", "b"]), rk(&["a,b"]));
    // The claim is read for the audit record (`policy replay`).
    assert_eq!(p.claims_read(), ["team"]);
}

#[test]
fn limit_keys_and_shapes_are_checked_at_load() {
    let e = errors(
        "version: 1\ntools:\n  reboot_broker:\n    - action: allow\n      limit: {max: 1, window: 1h, per: [args.broker_name]}\n",
    );
    assert!(
        e.contains("tools.reboot_broker[0].limit.per[0]: `args.broker_name` is not a key any tool this limit counts has (reboot_broker)"),
        "{e}"
    );
    let e = errors("version: 1\nlimits:\n  - {max: 1, window: 1h, per: [team]}\n");
    assert!(
        e.contains("limits[0].per[0]: `team`: a key is session"),
        "{e}"
    );
    let e = errors("version: 1\nlimits:\n  - {max: 1, window: 1h, per: [principal, principal]}\n");
    assert!(e.contains("`principal` is written twice"), "{e}");
    let e = errors("version: 1\nlimits:\n  - {max: 1, per: principal}\n");
    assert!(e.contains("limits[0]: `max` needs a `window`"), "{e}");
    let e = errors("version: 1\nlimits:\n  - {max_in_flight: 2, window: 1m}\n");
    assert!(e.contains("takes no `max` or `window`"), "{e}");
    let e = errors("version: 1\nlimits:\n  - {max_in_flight: 0}\n");
    assert!(
        e.contains("limits[0].max_in_flight: must be at least 1"),
        "{e}"
    );
    let e = errors(
        "version: 1\nlimits:\n  - {max: 9, window: 1d, tool: create_broker, cost: args.broker_name}\n",
    );
    assert!(
        e.contains("limits[0].cost: `args.broker_name` is string, not a number"),
        "{e}"
    );
    let e = errors(
        "version: 1\nlimits:\n  - {max: 9, window: 1d, tool: list_brokers, cost: {of: args.host_instance_type, table: {a: 1}}}\n",
    );
    assert!(
        e.contains("is not an argument of any tool this limit counts (list_brokers)"),
        "{e}"
    );
    // A resource fact no counted tool has.
    let e = errors(
        "version: 1\nlimits:\n  - {max: 9, window: 1d, tool: list_brokers, per: [resource.tags.team]}\n",
    );
    assert!(e.contains("`resource.tags.team` is not a key"), "{e}");
}

/// A budget charges each call its cost; a call it cannot price is refused, never guessed low.
#[test]
fn a_budget_prices_calls_from_their_arguments() {
    let p = load(
        r#"version: 1
default: allow
limits:
  - {max: 20, window: 30d, per: [principal], tool: create_broker,
     cost: {of: args.host_instance_type, table: {mq.t3.micro: 1, mq.m5.large: 8}, default: 32}}
  - {max: 100000, window: 1d, per: global, tool: create_role, cost: args.max_session_duration}
  - {max: 5, window: 1d, tool: create_broker, cost: {of: args.host_instance_type, table: {mq.t3.micro: 1}}}
"#,
    );
    let cost = |i: usize, args: Value| p.limits[i].cost_of(&args);
    assert_eq!(cost(0, json!({"host_instance_type": "mq.m5.large"})), Ok(8));
    assert_eq!(
        cost(0, json!({"host_instance_type": "mq.m5.4xlarge"})),
        Ok(32)
    );
    assert_eq!(cost(0, json!({})), Ok(32));
    assert_eq!(cost(1, json!({"max_session_duration": 3600})), Ok(3600));
    assert_eq!(cost(1, json!({"max_session_duration": 1.5})), Ok(2));
    assert!(matches!(cost(1, json!({})), Err(CostError::Missing { .. })));
    assert!(matches!(
        cost(1, json!({"max_session_duration": -5})),
        Err(CostError::NotACount { .. })
    ));
    let e = cost(2, json!({"host_instance_type": "mq.m5.large"})).unwrap_err();
    assert_eq!(
        e.to_string(),
        "limit limits[2] has no cost for this value of args.host_instance_type (and no `default`)"
    );
    assert_eq!(
        p.limits[0].describe(),
        "limits[0]: a cost of 20 per 30d per principal, each call charged by args.host_instance_type"
    );
}

fn history_policy() -> CompiledPolicy {
    load(
        r#"version: 1
default: allow
tools:
  reboot_broker:
    - action: deny
      reason: describe the broker in this session before rebooting it
      when:
        - {history: {tool: describe_broker, within: 15m, per: session, same: [BrokerId]}, op: absent}
  delete_broker:
    - action: require_approval
      when:
        - {history: {tool: "reboot_*", within: 1h, per: principal}, op: count_gte, value: 3}
"#,
    )
}

#[test]
fn history_conditions_decide_on_the_counts_looked_up() {
    let p = history_policy();
    let c = cat();
    let who = Caller::default();
    let args = json!({"BrokerId": "b-1"});
    let decide = |tool: &str, counts: &[(usize, u64)]| {
        let h: HistoryFacts = counts.iter().copied().collect();
        p.decide_on(c.get(tool).unwrap(), &args, &who, None, Some(&h))
    };
    let reads: Vec<_> = p.history_reads("reboot_broker").collect();
    assert_eq!(reads.len(), 1);
    let (i, q, series) = reads[0];
    assert_eq!(
        q.text,
        "history(describe_broker within 15m per session same BrokerId)"
    );
    assert_eq!((series.keep.as_secs(), series.cap), (900, 1));
    let d = decide("reboot_broker", &[(i, 0)]);
    assert_eq!(d.action, Action::Deny);
    assert_eq!(
        d.conditions,
        ["history(describe_broker within 15m per session same BrokerId) absent"]
    );
    assert_eq!(decide("reboot_broker", &[(i, 1)]).action, Action::Allow);
    // Not looked up counts none: `absent` holds, the safe side for a deny.
    assert_eq!(
        p.decide(c.get("reboot_broker").unwrap(), &args, &who)
            .action,
        Action::Deny
    );
    let (j, _, s2) = p.history_reads("delete_broker").next().unwrap();
    assert_eq!(s2.cap, 3);
    assert_eq!(decide("delete_broker", &[(j, 2)]).action, Action::Allow);
    assert_eq!(
        decide("delete_broker", &[(j, 3)]).action,
        Action::RequireApproval
    );
    // A successful describe is logged in the first series, a reboot in the second.
    assert_eq!(p.history_logged("describe_broker").count(), 1);
    assert_eq!(p.history_logged("reboot_broker").count(), 1);
    assert_eq!(p.history_logged("list_brokers").count(), 0);
}

/// The same BrokerId and session make the same log key; another broker or session another.
#[test]
fn history_keys_follow_per_and_same() {
    let p = history_policy();
    let (_, _, series) = p.history_reads("reboot_broker").next().unwrap();
    let who = Caller::default();
    let key = |session: &str, args: Value| series.key(&facts(session, &who, &args));
    let describe = key("s", json!({"BrokerId": "b-1", "other": 1}));
    assert_eq!(describe, key("s", json!({"BrokerId": "b-1"})));
    assert_ne!(describe, key("s", json!({"BrokerId": "b-2"})));
    assert_ne!(describe, key("t", json!({"BrokerId": "b-1"})));
}

#[test]
fn history_conditions_are_checked_at_load() {
    let base = "version: 1\ntools:\n  reboot_broker:\n    - action: deny\n      when:\n        - ";
    let e = errors(&format!(
        "{base}{{history: {{tool: describe_broker, within: 15m, same: [broker_name]}}, op: absent}}\n"
    ));
    assert!(
        e.contains("tools.reboot_broker[0].when[0].history.same[0]: `broker_name` must be an argument of this rule's tools and of the tools the history counts; describe_broker, reboot_broker lack it"),
        "{e}"
    );
    let e = errors(&format!(
        "{base}{{history: {{tool: describe_broker, within: 15m}}, op: eq, value: 1}}\n"
    ));
    assert!(e.contains("when[0].op: a history condition tests with exists, absent, count_gte or count_lt, not `eq`"), "{e}");
    let e = errors(&format!(
        "{base}{{history: {{tool: describe_broker, within: 15m}}, op: count_gte}}\n"
    ));
    assert!(e.contains("op `count_gte` needs a count"), "{e}");
    let e = errors(&format!(
        "{base}{{history: {{tool: nothing_*, within: 15m}}, op: exists}}\n"
    ));
    assert!(e.contains("`nothing_*` matches no tool"), "{e}");
    let e = errors(&format!(
        "{base}{{path: args.BrokerId, history: {{tool: describe_broker, within: 1m}}, op: exists}}\n"
    ));
    assert!(e.contains("a `path` or a `history`, not both"), "{e}");
    let e = errors(&format!("{base}{{path: args.BrokerId, op: absent}}\n"));
    assert!(e.contains("op `absent` counts earlier calls"), "{e}");
}

/// `max: 0` with a condition on a token claim blocks the callers it names, only them.
#[test]
fn a_limit_with_conditions_counts_only_the_calls_they_hold_for() {
    let p = load(
        r#"version: 1
default: allow
limits:
  - {max: 0, window: 1m, per: [principal], when: [{path: claims.suspended, op: eq, value: true}]}
  - {max: 500, window: 1h, per: [claims.team]}
"#,
    );
    let c = cat();
    let spec = c.get("list_brokers").unwrap();
    let limits = |who: &Caller| -> Vec<String> {
        p.decide(spec, &json!({}), who)
            .limits
            .iter()
            .map(|l| l.id.clone())
            .collect()
    };
    let suspended = token_caller("mallory", json!({"suspended": true, "team": "red"}));
    let fine = token_caller("alice", json!({"suspended": false, "team": "red"}));
    assert_eq!(limits(&suspended), ["limits[0]", "limits[1]"]);
    assert_eq!(
        crate::limits::blocking(&p.decide(spec, &json!({}), &suspended).limits)
            .map(|l| l.id.as_str()),
        Some("limits[0]")
    );
    assert_eq!(limits(&fine), ["limits[1]"]);
    // Without a token there is no claim: the condition does not hold.
    assert_eq!(limits(&Caller::new("local", vec![])), ["limits[1]"]);
    assert_eq!(p.claims_read(), ["suspended", "team"]);
    // Rules read claims too.
    let r = load(
        "version: 1\ndefault: allow\ntools:\n  create_broker:\n    - action: deny\n      when: [{path: claims.org.tier, op: in, value: [free]}]\n",
    );
    let d = |who: &Caller| {
        r.decide(c.get("create_broker").unwrap(), &json!({}), who)
            .action
    };
    assert_eq!(
        d(&token_caller("a", json!({"org": {"tier": "free"}}))),
        Action::Deny
    );
    assert_eq!(
        d(&token_caller("a", json!({"org": {"tier": "paid"}}))),
        Action::Allow
    );
    assert_eq!(r.claims_read(), ["org.tier"]);
}
