//! Policies that see the resource: conditions on a broker's or IAM user's tags and state,
//! looked up before the decision; the owner template; tags added on create that the agent
//! cannot override; the lookup cache; a lookup that fails; and no lookup when the policy does
//! not ask for one.

use std::sync::Arc;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::support::{FakeAws, Needs, Options, Request, Server, trial, unique};

/// Agents may delete only dev brokers, and only their own; what they create is tagged as
/// theirs.
const OWNED_DEV: &str = r#"version: 1
default: allow
tag_on_create:
  created-by: guarded-aws-mcp
  owner: "${principal}"
tools:
  delete_broker:
    - action: deny
      reason: agents delete only dev brokers
      when: [{path: resource.tags.env, op: ne, value: dev}]
    - action: deny
      reason: agents delete only their own brokers
      when: [{path: resource.tags.owner, op: ne, value: "${principal}"}]
  reboot_broker:
    - action: deny
      reason: agents reboot only dev brokers
      when: [{path: resource.tags.env, op: ne, value: dev}]
  delete_user:
    - action: deny
      reason: agents delete only the users they created
      when: [{path: resource.tags.owner, op: ne, value: "${principal}"}]
"#;

fn as_principal(who: &str, extra: &[&str]) -> Options {
    let mut args = vec!["--principal".to_string(), who.to_string()];
    args.extend(extra.iter().map(|s| s.to_string()));
    Options {
        policy: Some(OWNED_DEV.into()),
        args,
        ..Options::default()
    }
}

async fn create_broker(s: &Server, name: &str, tags: Value) -> String {
    let created = s
        .ok(
            "create_broker",
            json!({"broker_name": name, "engine_type": "ACTIVEMQ", "deployment_mode": "SINGLE_INSTANCE",
                   "username": "admin", "password": "Sup3r-secret-pw-42", "host_instance_type": "mq.t3.micro",
                   "tags": tags}),
        )
        .await;
    created["BrokerId"].as_str().unwrap().to_string()
}

async fn agents_delete_only_dev_brokers_they_created() {
    let alice = Server::start(as_principal("alice", &[])).await;
    let bob = Server::start(as_principal("bob", &[])).await;
    // The agent's own `owner` tag is overridden by the policy's.
    let dev = create_broker(
        &alice,
        &unique("dev"),
        json!({"env": "dev", "owner": "mallory"}),
    )
    .await;
    let prod = create_broker(&alice, &unique("prod"), json!({"env": "prod"})).await;
    let tags = &alice.ok("describe_broker", json!({"BrokerId": dev})).await["Tags"];
    assert_eq!(tags["owner"], "alice", "{tags}");
    assert_eq!(tags["created-by"], "guarded-aws-mcp");
    assert_eq!(tags["env"], "dev");

    let refused = bob.err("delete_broker", json!({"BrokerId": dev})).await;
    assert!(
        refused.contains("agents delete only their own brokers"),
        "{refused}"
    );
    let refused = alice.err("delete_broker", json!({"BrokerId": prod})).await;
    assert!(
        refused.contains("agents delete only dev brokers"),
        "{refused}"
    );
    for id in [&dev, &prod] {
        alice.ok("describe_broker", json!({"BrokerId": id})).await;
    }
    // The record of the refusal carries the facts that decided it.
    let rec = alice
        .audit_records()
        .into_iter()
        .find(|r| r["tool"] == "delete_broker")
        .unwrap();
    assert_eq!(rec["decision"], "deny");
    assert_eq!(
        rec["resource"],
        json!({"tags.env": "prod", "tags.owner": "alice"})
    );

    alice.ok("delete_broker", json!({"BrokerId": dev})).await;
    let gone = alice.err("describe_broker", json!({"BrokerId": dev})).await;
    assert!(gone.contains("NotFound"), "{gone}");
    // A broker that does not exist (deleted: what was cached of it is forgotten): AWS's
    // NotFound, from the lookup, and nothing else.
    let missing = alice.err("delete_broker", json!({"BrokerId": dev})).await;
    assert!(missing.starts_with("AWS error NotFound"), "{missing}");

    // IAM users: tagged on create; only their creator may delete them.
    let user = unique("agent-user");
    alice
        .ok("create_user", json!({"user_name": user, "confirmed": true}))
        .await;
    let got = alice.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(got["User"]["Tags"]["owner"], "alice", "{got}");
    assert_eq!(
        got["User"]["Tags"]["created-by"], "guarded-aws-mcp",
        "{got}"
    );
    let refused = bob
        .err("delete_user", json!({"user_name": user, "confirmed": true}))
        .await;
    assert!(
        refused.contains("agents delete only the users they created"),
        "{refused}"
    );
    alice
        .ok("delete_user", json!({"user_name": user, "confirmed": true}))
        .await;

    // Configurations and roles are tagged on create too.
    let cfg = alice
        .ok(
            "create_configuration",
            json!({"name": unique("cfg"), "engine_type": "ACTIVEMQ", "engine_version": "5.18",
                   "authentication_strategy": "SIMPLE", "tags": {"owner": "mallory", "team": "qa"}}),
        )
        .await;
    let cfg_id = cfg["Id"].as_str().unwrap();
    let described = alice
        .ok("describe_configuration", json!({"ConfigurationId": cfg_id}))
        .await;
    assert_eq!(described["Tags"]["owner"], "alice", "{described}");
    assert_eq!(described["Tags"]["team"], "qa", "{described}");
    let role = unique("agent-role");
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    alice
        .ok(
            "create_role",
            json!({"role_name": role, "assume_role_policy_document": trust}),
        )
        .await;
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config());
    let got = iam.get_role().role_name(&role).send().await.unwrap();
    let tags: Vec<(&str, &str)> = got
        .role()
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key(), t.value()))
        .collect();
    assert!(tags.contains(&("owner", "alice")), "{tags:?}");
    assert!(
        tags.contains(&("created-by", "guarded-aws-mcp")),
        "{tags:?}"
    );
}

/// The broker's facts are cached (30 s by default), but a change through the gate (here its
/// tags, through its ARN) forgets them under every name: the next call reads the new tags.
/// (Expiry by the TTL is stepped by a clock in resource::lookup's unit test.)
async fn a_retagged_broker_is_seen_at_once() {
    let alice = Server::start(as_principal("alice", &[])).await;
    let id = create_broker(&alice, &unique("ttl"), json!({"env": "dev"})).await;
    alice.ok("reboot_broker", json!({"BrokerId": id})).await;
    let arn = alice.ok("describe_broker", json!({"BrokerId": id})).await["BrokerArn"]
        .as_str()
        .unwrap()
        .to_string();
    alice
        .ok(
            "create_tags",
            json!({"ResourceArn": arn, "Tags": {"env": "prod"}}),
        )
        .await;
    let refused = alice.err("reboot_broker", json!({"BrokerId": id})).await;
    assert!(
        refused.contains("agents reboot only dev brokers"),
        "{refused}"
    );
}

/// A recording fake: DescribeBroker answers with `describe` (status, body); everything else
/// succeeds.
async fn recording_mq(describe: (u16, &'static str)) -> FakeAws {
    FakeAws::start(Arc::new(move |r: &Request| {
        if r.method == "GET" && r.path.starts_with("/v1/brokers/") {
            return (describe.0, describe.1.to_string());
        }
        (200, r#"{"brokerId":"b-1"}"#.to_string())
    }))
    .await
}

async fn lookups_fail_closed_and_cost_nothing_when_unused() {
    // The lookup fails (the endpoint answers 500): refused, and no DELETE is sent.
    let fake = recording_mq((500, r#"{"message":"internal"}"#)).await;
    let s = Server::start(Options {
        policy: Some(OWNED_DEV.into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let t = s.err("delete_broker", json!({"BrokerId": "b-1"})).await;
    assert!(
        t.starts_with("Resource lookup failed: cannot look up an Amazon MQ broker `b-1`"),
        "{t}"
    );
    assert!(
        fake.requests().iter().all(|r| r.method == "GET"),
        "no mutation"
    );

    // The endpoint down altogether: refused too.
    let down = Server::start(Options {
        policy: Some(OWNED_DEV.into()),
        endpoint: Some(format!("http://127.0.0.1:{}", crate::support::free_port())),
        ..Options::default()
    })
    .await;
    let t = down.err("delete_broker", json!({"BrokerId": "b-1"})).await;
    assert!(t.starts_with("Resource lookup failed:"), "{t}");

    // A policy that never mentions resource.*: the delete is the only request.
    let fake = recording_mq((200, r#"{"brokerId":"b-1"}"#)).await;
    let plain = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    plain.ok("delete_broker", json!({"BrokerId": "b-1"})).await;
    let methods: Vec<String> = fake.requests().iter().map(|r| r.method.clone()).collect();
    assert_eq!(methods, ["DELETE"]);
}

/// Issue 23 (5): under the shipped dev-permissive policy, bob changes nothing of what alice
/// created: inline policies on her user and role, her access key, her group memberships, her
/// role's attached policies; AWS shows it all unchanged.
async fn dev_permissive_keeps_agents_to_what_they_created() {
    let start = |who: &str| {
        Server::start(Options {
            policy_file: Some("policies/dev-permissive.yaml".into()),
            args: vec!["--principal".into(), who.into()],
            ..Options::default()
        })
    };
    let alice = start("alice").await;
    let bob = start("bob").await;
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config());
    let user = unique("alice-user");
    let role = unique("alice-role");
    let group = unique("group");
    alice
        .ok("create_user", json!({"user_name": user, "confirmed": true}))
        .await;
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    alice
        .ok(
            "create_role",
            json!({"role_name": role, "assume_role_policy_document": trust}),
        )
        .await;
    let key = alice
        .ok("create_access_key", json!({"user_name": user}))
        .await;
    let key_id = key["AccessKeyId"]
        .as_str()
        .unwrap_or_else(|| panic!("{key}"))
        .to_string();
    iam.create_group().group_name(&group).send().await.unwrap();
    iam.add_user_to_group()
        .group_name(&group)
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let doc = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": "mq:ListBrokers", "Resource": "*"}]});
    let managed = iam
        .create_policy()
        .policy_name(unique("benign"))
        .policy_document(doc.to_string())
        .send()
        .await
        .unwrap();
    let managed_arn = managed.policy().unwrap().arn().unwrap().to_string();
    iam.attach_role_policy()
        .role_name(&role)
        .policy_arn(&managed_arn)
        .send()
        .await
        .unwrap();

    for (tool, args) in [
        (
            "add_inline_policy",
            json!({"user_name": user, "policy_name": "bobs", "policy_document": doc}),
        ),
        (
            "add_inline_policy",
            json!({"role_name": role, "policy_name": "bobs", "policy_document": doc}),
        ),
        (
            "delete_access_key",
            json!({"user_name": user, "access_key_id": key_id, "confirmed": true}),
        ),
        (
            "add_user_to_group",
            json!({"user_name": user, "group_name": group}),
        ),
        (
            "remove_user_from_group",
            json!({"user_name": user, "group_name": group}),
        ),
        (
            "detach_role_policy",
            json!({"role_name": role, "policy_arn": managed_arn}),
        ),
        (
            "attach_group_policy",
            json!({"group_name": group, "policy_arn": managed_arn}),
        ),
    ] {
        let t = bob.err(tool, args).await;
        assert!(
            t.starts_with("Denied") && t.contains("agents"),
            "bob's {tool}: {t}"
        );
    }
    // Nothing changed in AWS.
    let inline = iam
        .list_user_policies()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert!(inline.policy_names().is_empty());
    let inline = iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert!(inline.policy_names().is_empty());
    let keys = iam
        .list_access_keys()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);
    let groups = iam
        .list_groups_for_user()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert_eq!(groups.groups().len(), 1);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(attached.attached_policies().len(), 1);
    // The owner may.
    alice
        .ok(
            "add_inline_policy",
            json!({"role_name": role, "policy_name": "alices", "policy_document": doc}),
        )
        .await;
    alice.stop().await;
    bob.stop().await;
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "resource_policy::dev_permissive_keeps_agents_to_what_they_created",
            Needs::Iam,
            dev_permissive_keeps_agents_to_what_they_created,
        ),
        trial(
            "resource_policy::agents_delete_only_dev_brokers_they_created",
            Needs::Mq,
            agents_delete_only_dev_brokers_they_created,
        ),
        trial(
            "resource_policy::a_retagged_broker_is_seen_at_once",
            Needs::Mq,
            a_retagged_broker_is_seen_at_once,
        ),
        trial(
            "resource_policy::lookups_fail_closed_and_cost_nothing_when_unused",
            Needs::Nothing,
            lookups_fail_closed_and_cost_nothing_when_unused,
        ),
    ]
}
