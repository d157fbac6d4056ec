//! Every IAM and policy-generation tool through the real binary: IAM against moto (and a
//! loopback fake for SimulatePrincipalPolicy, which moto lacks), policy generation against the
//! Access Analyzer fake; and the IAM policy-document guard.

use libtest_mimic::Trial;

use crate::support::{Needs, trial};

use serde_json::{Value, json};

use crate::fakes;
use crate::support::{FakeAws, Options, Server, unique};

const OPEN_GUARDED: &str = "version: 1\ndefault: allow\niam_guard: {}\n";

async fn iam_server(policy: &str) -> Server {
    Server::start(Options {
        policy: Some(policy.into()),
        ..Options::default()
    })
    .await
}

fn doc(action: &str, resource: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

fn trust(principal: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})
}

async fn users_groups_and_memberships() {
    let s = iam_server(OPEN_GUARDED).await;
    let user = unique("alice");
    let group = unique("ops");
    let path = format!("/{}/", unique("team"));

    let created = s
        .ok(
            "create_user",
            json!({"user_name": user, "path": path, "confirmed": true}),
        )
        .await;
    assert_eq!(created["UserName"], user.as_str());
    assert_eq!(created["Path"], path.as_str());
    let listed = s.ok("list_users", json!({"path_prefix": path})).await;
    assert_eq!(listed["Users"].as_array().unwrap().len(), 1);

    s.ok("create_group", json!({"group_name": group})).await;
    let groups = s.ok("list_groups", json!({})).await;
    assert!(
        groups["Groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["GroupName"] == group.as_str())
    );
    s.ok(
        "add_user_to_group",
        json!({"group_name": group, "user_name": user}),
    )
    .await;
    let g = s.ok("get_group", json!({"group_name": group})).await;
    assert_eq!(g["Users"], json!([user]));
    let u = s.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(u["Groups"], json!([group]));

    s.ok(
        "remove_user_from_group",
        json!({"group_name": group, "user_name": user}),
    )
    .await;
    let g = s.ok("get_group", json!({"group_name": group})).await;
    assert_eq!(g["Users"], json!([]));

    // delete_group with force removes members and policies first.
    s.ok(
        "add_user_to_group",
        json!({"group_name": group, "user_name": user}),
    )
    .await;
    s.ok(
        "attach_group_policy",
        json!({"group_name": group, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    let g = s.ok("get_group", json!({"group_name": group})).await;
    assert_eq!(g["AttachedPolicies"][0]["PolicyName"], "ReadOnlyAccess");
    s.ok(
        "detach_group_policy",
        json!({"group_name": group, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    s.ok(
        "attach_group_policy",
        json!({"group_name": group, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    let deleted = s
        .ok("delete_group", json!({"group_name": group, "force": true}))
        .await;
    assert_eq!(
        deleted["AlsoRemoved"].as_array().unwrap().len(),
        2,
        "{deleted}"
    );
    let gone = s.err("get_group", json!({"group_name": group})).await;
    assert!(gone.starts_with("AWS error NoSuchEntity"), "{gone}");

    // delete_user with force removes keys, policies and memberships first.
    s.ok("put_user_policy", json!({"user_name": user, "policy_name": "read", "policy_document": doc("s3:GetObject", "*")})).await;
    s.ok("create_access_key", json!({"user_name": user})).await;
    let blocked = s.err("delete_user", json!({"user_name": user})).await;
    assert!(blocked.starts_with("AWS error DeleteConflict"), "{blocked}");
    let deleted = s
        .ok("delete_user", json!({"user_name": user, "force": true}))
        .await;
    assert_eq!(deleted["Deleted"], format!("user/{user}"));
    let gone = s.err("get_user", json!({"user_name": user})).await;
    assert!(gone.starts_with("AWS error NoSuchEntity"), "{gone}");
}

async fn list_tools_page_with_marker() {
    // moto pages managed policies (it ignores max_items for users, roles and groups).
    let s = iam_server(OPEN_GUARDED).await;
    let first = s
        .ok("list_policies", json!({"scope": "AWS", "max_items": 3}))
        .await;
    assert_eq!(first["Policies"].as_array().unwrap().len(), 3);
    assert_eq!(first["IsTruncated"], true);
    let marker = first["Marker"].as_str().expect("Marker").to_string();
    let second = s
        .ok(
            "list_policies",
            json!({"scope": "AWS", "max_items": 3, "marker": marker}),
        )
        .await;
    assert_eq!(second["Policies"].as_array().unwrap().len(), 3);
    let names = |v: &Value| -> Vec<String> {
        v["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["Arn"].as_str().unwrap().to_string())
            .collect()
    };
    let (a, b) = (names(&first), names(&second));
    assert!(
        a.iter().all(|x| !b.contains(x)),
        "the second page repeats the first: {a:?} {b:?}"
    );
}

async fn roles_and_inline_policies() {
    let s = iam_server(OPEN_GUARDED).await;
    let role = unique("app-role");
    let user = unique("bob");

    let trust_doc = trust(json!({"Service": "lambda.amazonaws.com"}));
    let created = s
        .ok("create_role", json!({"role_name": role, "assume_role_policy_document": trust_doc, "description": "test role", "max_session_duration": 7200}))
        .await;
    assert_eq!(created["RoleName"], role.as_str());
    assert_eq!(
        created["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "lambda.amazonaws.com"
    );
    let roles = s.ok("list_roles", json!({"max_items": 1000})).await;
    assert!(
        roles["Roles"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["RoleName"] == role.as_str())
    );

    // Role inline policies: the document as a JSON string.
    let text = doc("s3:GetObject", "arn:aws:s3:::bucket/*").to_string();
    s.ok(
        "put_role_policy",
        json!({"role_name": role, "policy_name": "read", "policy_document": text}),
    )
    .await;
    let got = s
        .ok(
            "get_role_policy",
            json!({"role_name": role, "policy_name": "read"}),
        )
        .await;
    assert_eq!(
        got["PolicyDocument"]["Statement"][0]["Action"],
        "s3:GetObject"
    );
    s.ok("add_inline_policy", json!({"role_name": role, "policy_name": "second", "policy_document": doc("sqs:SendMessage", "*")})).await;
    let names = s.ok("list_role_policies", json!({"role_name": role})).await;
    let mut names: Vec<&str> = names["PolicyNames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    names.sort();
    assert_eq!(names, ["read", "second"]);
    let refused = s.err("add_inline_policy", json!({"role_name": role, "policy_name": "read", "policy_document": doc("sqs:*", "arn:aws:sqs:us-east-1:123456789012:q")})).await;
    assert!(
        refused.starts_with("Invalid arguments:")
            && refused.contains("already has an inline policy named read"),
        "{refused}"
    );
    let still = s
        .ok(
            "get_role_policy",
            json!({"role_name": role, "policy_name": "read"}),
        )
        .await;
    assert_eq!(
        still["PolicyDocument"]["Statement"][0]["Action"], "s3:GetObject",
        "add_inline_policy never overwrites"
    );
    s.ok(
        "delete_role_policy",
        json!({"role_name": role, "policy_name": "second"}),
    )
    .await;
    let names = s.ok("list_role_policies", json!({"role_name": role})).await;
    assert_eq!(names["PolicyNames"], json!(["read"]));

    s.ok(
        "attach_role_policy",
        json!({"role_name": role, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    s.ok(
        "detach_role_policy",
        json!({"role_name": role, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;

    // User inline policies: the document as an object.
    s.ok("create_user", json!({"user_name": user})).await;
    s.ok("put_user_policy", json!({"user_name": user, "policy_name": "mq-read", "policy_document": doc("mq:Describe*", "*")})).await;
    let got = s
        .ok(
            "get_user_policy",
            json!({"user_name": user, "policy_name": "mq-read"}),
        )
        .await;
    assert_eq!(got["Owner"], format!("user/{user}"));
    let refused = s.err("add_inline_policy", json!({"user_name": user, "policy_name": "mq-read", "policy_document": doc("mq:List*", "*")})).await;
    assert!(
        refused.contains("already has an inline policy"),
        "{refused}"
    );
    s.ok("add_inline_policy", json!({"user_name": user, "policy_name": "mq-list", "policy_document": doc("mq:List*", "*")})).await;
    let names = s.ok("list_user_policies", json!({"user_name": user})).await;
    let mut names: Vec<&str> = names["PolicyNames"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    names.sort();
    assert_eq!(names, ["mq-list", "mq-read"]);
    s.ok(
        "delete_user_policy",
        json!({"user_name": user, "policy_name": "mq-read"}),
    )
    .await;
    s.ok(
        "delete_user_policy",
        json!({"user_name": user, "policy_name": "mq-list"}),
    )
    .await;
    let names = s.ok("list_user_policies", json!({"user_name": user})).await;
    assert_eq!(names["PolicyNames"], json!([]));
    let both = s.err("add_inline_policy", json!({"user_name": user, "role_name": role, "policy_name": "x", "policy_document": doc("s3:GetObject", "*")})).await;
    assert!(both.contains("not both"), "{both}");
}

async fn managed_policies_and_attachments() {
    let s = iam_server(OPEN_GUARDED).await;
    let user = unique("carol");
    let aws = s
        .ok("list_policies", json!({"scope": "AWS", "max_items": 5}))
        .await;
    assert_eq!(aws["Policies"].as_array().unwrap().len(), 5);
    assert_eq!(aws["IsTruncated"], true);
    let local = s.ok("list_policies", json!({})).await;
    assert!(
        local["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| !p["Arn"].as_str().unwrap().contains(":aws:policy/"))
    );

    let d = s
        .ok(
            "get_managed_policy_document",
            json!({"policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
        )
        .await;
    assert!(d["Document"]["Statement"].is_array(), "{d}");
    assert_eq!(d["IsDefaultVersion"], true);

    s.ok("create_user", json!({"user_name": user})).await;
    s.ok(
        "attach_user_policy",
        json!({"user_name": user, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    let u = s.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(
        u["AttachedPolicies"][0]["PolicyArn"],
        "arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    let attached = s
        .ok(
            "list_policies",
            json!({"scope": "AWS", "only_attached": true, "max_items": 1000}),
        )
        .await;
    assert!(
        attached["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["PolicyName"] == "ReadOnlyAccess")
    );
    s.ok(
        "detach_user_policy",
        json!({"user_name": user, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
    let u = s.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(u["AttachedPolicies"], json!([]));
}

async fn access_keys_hide_the_secret_unless_the_policy_reveals_it() {
    let s = iam_server(OPEN_GUARDED).await;
    let user = unique("dave");
    s.ok("create_user", json!({"user_name": user})).await;
    let key = s.ok("create_access_key", json!({"user_name": user})).await;
    assert_eq!(key["SecretAccessKey"], "[REDACTED]");
    assert_eq!(key["SecretRevealed"], false);
    let id = key["AccessKeyId"].as_str().unwrap().to_string();
    let u = s.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(u["AccessKeys"][0]["AccessKeyId"], id.as_str());
    s.ok(
        "delete_access_key",
        json!({"user_name": user, "access_key_id": id}),
    )
    .await;
    let u = s.ok("get_user", json!({"user_name": user})).await;
    assert_eq!(u["AccessKeys"], json!([]));
    drop(s);

    let s = iam_server("version: 1\ndefault: allow\ntools:\n  create_access_key:\n    - action: allow\n      reveal_secrets: true\n").await;
    let key = s.ok("create_access_key", json!({"user_name": user})).await;
    let secret = key["SecretAccessKey"].as_str().unwrap().to_string();
    assert!(secret.len() >= 20 && secret != "[REDACTED]", "{secret}");
    assert_eq!(key["SecretRevealed"], true);
    let (audit, stderr) = s.stop().await;
    assert!(
        !audit.contains(&secret) && !stderr.contains(&secret),
        "the secret reached a log"
    );
}

async fn simulate_principal_policy_against_a_loopback_fake() {
    let fake = fakes::iam_simulation().await;
    let s = Server::start(Options {
        policy: Some(OPEN_GUARDED.into()),
        env: vec![("AWS_ENDPOINT_URL_IAM".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    let r = s
        .ok(
            "simulate_principal_policy",
            json!({"policy_source_arn": "arn:aws:iam::123456789012:user/alice", "action_names": ["s3:GetObject", "iam:CreateUser"],
                   "context_entries": {"aws:SourceIp": "10.0.0.1"}}),
        )
        .await;
    assert_eq!(r["EvaluationResults"][0]["Decision"], "allowed");
    assert_eq!(r["EvaluationResults"][1]["Decision"], "implicitDeny");
    let body = &fake.requests()[0].body;
    assert!(
        body.contains("PolicySourceArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Auser%2Falice"),
        "{body}"
    );
    assert!(
        body.contains("ContextEntries.member.1.ContextKeyName=aws%3ASourceIp"),
        "{body}"
    );
}

async fn policy_generation_against_the_access_analyzer_fake() {
    let fake = fakes::access_analyzer().await;
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        env: vec![("AWS_ENDPOINT_URL_ACCESSANALYZER".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    let role = "arn:aws:iam::123456789012:role/app";
    let started = s
        .ok(
            "policy_generation_start",
            json!({"principal_arn": role, "client_token": "tok-1",
                   "cloud_trail": {"trail_arns": ["arn:aws:cloudtrail:us-east-1:123456789012:trail/main"], "all_regions": true,
                                   "access_role_arn": "arn:aws:iam::123456789012:role/aa-reader", "start_time": "2026-11-01T00:00:00Z",
                                   "end_time": "2026-11-20T00:00:00Z"}}),
        )
        .await;
    let job = started["JobId"].as_str().unwrap().to_string();
    let again = s
        .ok(
            "policy_generation_start",
            json!({"principal_arn": role, "client_token": "tok-1"}),
        )
        .await;
    assert_eq!(
        again["JobId"],
        job.as_str(),
        "the client token makes the start idempotent"
    );
    let body: Value = serde_json::from_str(&fake.requests()[0].body).unwrap();
    assert_eq!(body["cloudTrailDetails"]["trails"][0]["allRegions"], true);
    assert_eq!(
        body["cloudTrailDetails"]["accessRole"],
        "arn:aws:iam::123456789012:role/aa-reader"
    );

    let other = s
        .ok(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:user/bob"}),
        )
        .await;
    let other = other["JobId"].as_str().unwrap().to_string();

    let listed = s
        .ok("policy_generation_list", json!({"principal_arn": role}))
        .await;
    assert_eq!(listed["PolicyGenerations"].as_array().unwrap().len(), 1);
    assert_eq!(listed["PolicyGenerations"][0]["Status"], "IN_PROGRESS");
    let page = s
        .ok("policy_generation_list", json!({"max_results": 1}))
        .await;
    assert_eq!(page["NextToken"], "1");
    let page2 = s
        .ok(
            "policy_generation_list",
            json!({"max_results": 1, "next_token": "1"}),
        )
        .await;
    assert_eq!(page2["PolicyGenerations"][0]["JobId"], other.as_str());

    let cancelled = s
        .ok("policy_generation_cancel", json!({"job_id": other}))
        .await;
    assert_eq!(cancelled["CancelRequested"], true);
    let got = s
        .ok("policy_generation_get", json!({"job_id": other}))
        .await;
    assert_eq!(got["Job"]["Status"], "CANCELED");
    assert_eq!(got["GeneratedPolicies"], json!([]));

    let got = s
        .ok(
            "policy_generation_get",
            json!({"job_id": job, "include_resource_placeholders": true}),
        )
        .await;
    assert_eq!(got["Job"]["Status"], "SUCCEEDED");
    assert_eq!(got["PrincipalArn"], role);
    assert_eq!(
        got["GeneratedPolicies"][0]["Statement"][0]["Resource"],
        "arn:aws:s3:::${BucketName}/*"
    );
    let conflict = s
        .err("policy_generation_cancel", json!({"job_id": job}))
        .await;
    assert!(
        conflict
            .starts_with("AWS error ConflictException from access-analyzer:CancelPolicyGeneration"),
        "{conflict}"
    );
    let missing = s
        .err("policy_generation_get", json!({"job_id": "job-9999"}))
        .await;
    assert!(
        missing.starts_with("AWS error ResourceNotFoundException"),
        "{missing}"
    );

    let bad = s
        .err(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:group/ops"}),
        )
        .await;
    assert!(
        bad.starts_with("Invalid arguments: Invalid argument `principal_arn`"),
        "{bad}"
    );
    let bad = s
        .err(
            "policy_generation_start",
            json!({"principal_arn": role, "cloud_trail": {"trail_arns": ["arn:aws:cloudtrail:us-east-1:123456789012:trail/main"],
                   "access_role_arn": "arn:aws:iam::123456789012:role/r", "start_time": "yesterday"}}),
        )
        .await;
    assert!(bad.contains("cloud_trail.start_time"), "{bad}");
}

async fn default_policy_puts_policy_generation_to_a_human() {
    let fake = fakes::access_analyzer().await;
    let s = Server::start(Options {
        env: vec![("AWS_ENDPOINT_URL_ACCESSANALYZER".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    let text = s
        .err(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:role/app"}),
        )
        .await;
    assert!(
        text.starts_with("Approval required: rule tools.policy_generation_start[0]: policy generation starts an AWS job"),
        "{text}"
    );
    s.ok("policy_generation_list", json!({})).await;
    assert_eq!(
        fake.requests().len(),
        1,
        "only the list reached Access Analyzer"
    );
}

async fn policy_generation_rate_limit_of_the_default_shape() {
    // The default policy's limit on an allow rule (as it will apply once a call is approved):
    // 10 calls per 60 s per session.
    let fake = fakes::access_analyzer().await;
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: deny\ntools:\n  policy_generation_start:\n    - action: allow\n      limit: {max: 10, window: 60, per: session}\n".into()),
        env: vec![("AWS_ENDPOINT_URL_ACCESSANALYZER".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    for _ in 0..10 {
        s.ok(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:role/app"}),
        )
        .await;
    }
    let text = s
        .err(
            "policy_generation_start",
            json!({"principal_arn": "arn:aws:iam::123456789012:role/app"}),
        )
        .await;
    assert!(
        text.starts_with(
            "Rate limited: limit tools.policy_generation_start[0].limit allows 10 calls per 60s"
        ),
        "{text}"
    );
    assert_eq!(fake.requests().len(), 10);
}

/// The guard: documents that must pass reach AWS; one refused document per rule makes no call.
async fn iam_guard_refuses_documents_that_widen_power() {
    let fake = FakeAws::not_found().await;
    let s = Server::start(Options {
        policy: Some(OPEN_GUARDED.into()),
        env: vec![("AWS_ENDPOINT_URL_IAM".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "put_user_policy",
            json!({"user_name": "u", "policy_name": "p", "policy_document": doc("*", "*")}),
            "iam_guard.wildcard_admin: policy_document Statement[0]",
        ),
        (
            "put_role_policy",
            json!({"role_name": "r", "policy_name": "p", "policy_document": doc("iam:*", "*").to_string()}),
            "iam_guard.wildcard_admin",
        ),
        (
            "add_inline_policy",
            json!({"user_name": "u", "policy_name": "p", "policy_document": {"Statement": [{"Sid": "Sneaky", "Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}}),
            "iam_guard.not_action_allow: policy_document Statement[0] (Sid \"Sneaky\")",
        ),
        (
            "put_user_policy",
            json!({"user_name": "u", "policy_name": "p", "policy_document": doc("iam:PassRole", "*")}),
            "iam_guard.escalation",
        ),
        (
            "put_role_policy",
            json!({"role_name": "r", "policy_name": "p", "policy_document": doc("iam:AttachRolePolicy", "arn:aws:iam::123456789012:role/*")}),
            "iam_guard.escalation",
        ),
        (
            "create_role",
            json!({"role_name": "r", "assume_role_policy_document": trust(json!({"AWS": "*"}))}),
            "iam_guard.public_trust: assume_role_policy_document Statement[0]",
        ),
        (
            "attach_user_policy",
            json!({"user_name": "u", "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
            "iam_guard.managed_policies",
        ),
        (
            "attach_role_policy",
            json!({"role_name": "r", "policy_arn": "arn:aws:iam::aws:policy/IAMFullAccess"}),
            "iam_guard.managed_policies",
        ),
        (
            "attach_group_policy",
            json!({"group_name": "g", "policy_arn": "arn:aws:iam::aws:policy/PowerUserAccess"}),
            "iam_guard.managed_policies",
        ),
    ];
    for (tool, args, needle) in &cases {
        let text = s.err(tool, args.clone()).await;
        assert!(
            text.starts_with("Denied by policy: rule iam_guard."),
            "{tool}: {text}"
        );
        assert!(
            text.contains(needle),
            "{tool}: expected {needle:?} in {text}"
        );
    }
    let malformed = s
        .err(
            "put_user_policy",
            json!({"user_name": "u", "policy_name": "p", "policy_document": "{\"Statement\": [}"}),
        )
        .await;
    assert!(
        malformed.starts_with(
            "Invalid arguments: Invalid argument `policy_document`: is not valid JSON:"
        ) && malformed.contains("line 1 column"),
        "{malformed}"
    );
    assert!(fake.requests().is_empty(), "a refused document reached IAM");
    let records = s.audit_records();
    assert_eq!(records[0]["rule"], "iam_guard.wildcard_admin");

    // The same documents pass when the guard is off...
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: allow\n".into()),
        env: vec![("AWS_ENDPOINT_URL_IAM".into(), fake.url.clone())],
        ..Options::default()
    })
    .await;
    let text = s
        .err(
            "put_user_policy",
            json!({"user_name": "u", "policy_name": "p", "policy_document": doc("*", "*")}),
        )
        .await;
    assert!(
        text.starts_with("AWS error"),
        "reached the (fake) IAM: {text}"
    );
    assert_eq!(fake.requests().len(), 1);

    // ...and ordinary documents pass the guard and reach IAM (moto).
    let s = iam_server(OPEN_GUARDED).await;
    let user = unique("erin");
    let role = unique("svc");
    s.ok("create_user", json!({"user_name": user})).await;
    s.ok("put_user_policy", json!({"user_name": user, "policy_name": "ok", "policy_document": doc("iam:PassRole", "arn:aws:iam::123456789012:role/app-role")})).await;
    s.ok("put_user_policy", json!({"user_name": user, "policy_name": "ok2", "policy_document": {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]}})).await;
    let own = own_account().await;
    s.ok("create_role", json!({"role_name": role, "assume_role_policy_document": trust(json!({"AWS": format!("arn:aws:iam::{own}:root")}))})).await;
    s.ok(
        "attach_user_policy",
        json!({"user_name": user, "policy_arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    )
    .await;
}

/// The account the endpoint's credentials belong to (moto: 123456789012; LocalStack:
/// 000000000000).
async fn own_account() -> String {
    aws_sdk_sts::Client::new(&crate::support::sdk_config())
        .get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_string()
}

/// Issue 24 (1-3): an IAM change is judged by the documents it puts in force. Attaching a
/// customer-managed admin policy is refused on a user, a role and a group, naming the policy,
/// its version and the statement; joining a group that holds an admin policy (attached or
/// inline) is refused naming the group; AWS-managed AdministratorAccess is refused for what it
/// grants even with the name list empty; trust is limited to the server's own and the listed
/// accounts. Nothing refused reaches IAM's write APIs (AWS shows nothing attached).
async fn iam_changes_are_judged_by_what_they_grant() {
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config());
    let admin_doc = doc("*", "*").to_string();
    let benign_doc = doc("mq:ListBrokers", "*").to_string();
    let org_admin = iam
        .create_policy()
        .policy_name(unique("OrgAdmin"))
        .policy_document(&admin_doc)
        .send()
        .await
        .unwrap();
    let org_admin = org_admin.policy().unwrap().arn().unwrap().to_string();
    let benign = iam
        .create_policy()
        .policy_name(unique("Benign"))
        .policy_document(&benign_doc)
        .send()
        .await
        .unwrap();
    let benign = benign.policy().unwrap().arn().unwrap().to_string();
    let user = unique("dana");
    let role = unique("app");
    iam.create_user().user_name(&user).send().await.unwrap();
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trust(json!({"Service": "lambda.amazonaws.com"})).to_string())
        .send()
        .await
        .unwrap();
    let (g_attached, g_inline, g_benign) = (unique("admins"), unique("inline"), unique("readers"));
    for g in [&g_attached, &g_inline, &g_benign] {
        iam.create_group().group_name(g).send().await.unwrap();
    }
    iam.attach_group_policy()
        .group_name(&g_attached)
        .policy_arn(&org_admin)
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name(&g_inline)
        .policy_name("everything")
        .policy_document(&admin_doc)
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name(&g_benign)
        .policy_arn(&benign)
        .send()
        .await
        .unwrap();

    let s = iam_server(
        "version: 1\ndefault: allow\niam_guard: {trusted_accounts: [\"111122223333\"]}\n",
    )
    .await;
    for (tool, args) in [
        (
            "attach_user_policy",
            json!({"user_name": user, "policy_arn": org_admin}),
        ),
        (
            "attach_role_policy",
            json!({"role_name": role, "policy_arn": org_admin}),
        ),
        (
            "attach_group_policy",
            json!({"group_name": g_benign, "policy_arn": org_admin}),
        ),
    ] {
        let t = s.err(tool, args).await;
        assert!(
            t.starts_with("Denied by policy: rule iam_guard.wildcard_admin")
                && t.contains(&format!("policy {org_admin} (version v1) Statement[0]")),
            "{tool}: {t}"
        );
    }
    let attached =
        |r: aws_sdk_iam::operation::list_attached_user_policies::ListAttachedUserPoliciesOutput| {
            r.attached_policies().len()
        };
    assert_eq!(
        attached(
            iam.list_attached_user_policies()
                .user_name(&user)
                .send()
                .await
                .unwrap()
        ),
        0
    );
    let role_attached = iam
        .list_attached_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert!(role_attached.attached_policies().is_empty());
    let group_attached = iam
        .list_attached_group_policies()
        .group_name(&g_benign)
        .send()
        .await
        .unwrap();
    assert_eq!(
        group_attached.attached_policies().len(),
        1,
        "only the benign one"
    );
    s.ok(
        "attach_user_policy",
        json!({"user_name": user, "policy_arn": benign}),
    )
    .await;

    for (group, origin) in [
        (
            &g_attached,
            format!("group {g_attached} attached policy {org_admin}"),
        ),
        (
            &g_inline,
            format!("group {g_inline} inline policy everything"),
        ),
    ] {
        let t = s
            .err(
                "add_user_to_group",
                json!({"user_name": user, "group_name": group}),
            )
            .await;
        assert!(
            t.starts_with("Denied by policy: rule iam_guard.wildcard_admin") && t.contains(&origin),
            "{group}: {t}"
        );
    }
    s.ok(
        "add_user_to_group",
        json!({"user_name": user, "group_name": g_benign}),
    )
    .await;
    let groups = iam
        .list_groups_for_user()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = groups.groups().iter().map(|g| g.group_name()).collect();
    assert_eq!(names, [g_benign.as_str()]);

    // Trust: another account refused, a listed one and the server's own allowed.
    let own = own_account().await;
    let t = s
        .err(
            "create_role",
            json!({"role_name": unique("x"), "assume_role_policy_document": trust(json!({"AWS": "arn:aws:iam::999999999999:root"}))}),
        )
        .await;
    assert!(
        t.starts_with("Denied by policy: rule iam_guard.foreign_trust")
            && t.contains("account 999999999999"),
        "{t}"
    );
    for who in [
        "111122223333".to_string(),
        format!("arn:aws:iam::{own}:root"),
    ] {
        s.ok(
            "create_role",
            json!({"role_name": unique("trusted"), "assume_role_policy_document": trust(json!({"AWS": who}))}),
        )
        .await;
    }
    // The record of a refused attach names what was read.
    let records = s.audit_records();
    let refused = records
        .iter()
        .find(|r| r["tool"] == "attach_user_policy")
        .unwrap();
    assert_eq!(
        refused["iam_grants"]["documents"][0],
        format!("policy {org_admin} (version v1)"),
        "{refused}"
    );
    s.stop().await;

    // AWS-managed AdministratorAccess, with the name list empty: refused for what it grants.
    let s = iam_server("version: 1\ndefault: allow\niam_guard: {managed_policies: []}\n").await;
    let t = s
        .err(
            "attach_user_policy",
            json!({"user_name": user, "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        )
        .await;
    assert!(
        t.starts_with("Denied by policy: rule iam_guard.wildcard_admin")
            && t.contains("arn:aws:iam::aws:policy/AdministratorAccess"),
        "{t}"
    );
    // A policy that does not exist: AWS's NotFound, nothing attached.
    let t = s
        .err(
            "attach_user_policy",
            json!({"user_name": user, "policy_arn": "arn:aws:iam::123456789012:policy/nope"}),
        )
        .await;
    assert!(t.starts_with("AWS error NoSuchEntity"), "{t}");
    s.stop().await;
}

/// Issue 24 (4): IAM Access Analyzer's own checks, opted into per policy. ValidatePolicy
/// findings of the listed types, CheckAccessNotGranted for listed actions and CheckNoNewAccess
/// for a replaced inline policy refuse the call, quoting the finding; answers are cached by the
/// document; Access Analyzer unreachable refuses (nothing written); without the section
/// nothing is asked. IAM is moto; Access Analyzer a loopback fake in AWS's answer shapes.
async fn access_analyzer_checks_refuse_what_aws_finds() {
    let analyzer = fakes::access_analyzer_checks().await;
    let policy = "version: 1\ndefault: allow\niam_guard:\n  escalation: false\n  access_analyzer:\n    validate: [error, security_warning]\n    not_granted: [iam:CreateAccessKey]\n    no_new_access: deny\n";
    let start = |policy: &str, aa: &str| {
        Server::start(Options {
            policy: Some(policy.into()),
            env: vec![("AWS_ENDPOINT_URL_ACCESSANALYZER".into(), aa.to_string())],
            ..Options::default()
        })
    };
    let s = start(policy, &analyzer.url).await;
    let iam = aws_sdk_iam::Client::new(&crate::support::sdk_config());
    let user = unique("frank");
    s.ok("create_user", json!({"user_name": user})).await;
    // ValidatePolicy's security warning (the built-in escalation check is off here).
    let t = s
        .err(
            "put_user_policy",
            json!({"user_name": user, "policy_name": "pass", "policy_document": doc("iam:PassRole", "*")}),
        )
        .await;
    assert!(
        t.starts_with("Denied by policy: rule iam_guard.access_analyzer: policy_document Statement[0]: IAM Access Analyzer ValidatePolicy SECURITY_WARNING PASS_ROLE_WITH_STAR_IN_RESOURCE")
            && t.contains("learn more: https://docs.aws.amazon.com/IAM/"),
        "{t}"
    );
    // CheckAccessNotGranted for a listed action.
    let t = s
        .err(
            "put_user_policy",
            json!({"user_name": user, "policy_name": "keys", "policy_document": doc("iam:CreateAccessKey", &format!("arn:aws:iam::123456789012:user/{user}"))}),
        )
        .await;
    assert!(
        t.contains("iam_guard.access_analyzer") && t.contains("CheckAccessNotGranted: FAIL"),
        "{t}"
    );
    // A benign document passes, and asking again is answered from the cache.
    let benign = json!({"user_name": user, "policy_name": "list", "policy_document": doc("mq:ListBrokers", "*")});
    s.ok("put_user_policy", benign.clone()).await;
    let asked = analyzer.requests().len();
    s.ok("put_user_policy", benign.clone()).await;
    // The replacement is asked about once more (CheckNoNewAccess against the existing one);
    // the document's own checks come from the cache.
    let again: Vec<String> = analyzer.requests()[asked..]
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(again, ["/policy/check-no-new-access"], "{again:?}");
    // Replacing it with a broader one: CheckNoNewAccess refuses.
    let t = s
        .err(
            "put_user_policy",
            json!({"user_name": user, "policy_name": "list", "policy_document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["mq:ListBrokers", "mq:DeleteBroker"], "Resource": "*"}]}}),
        )
        .await;
    assert!(
        t.contains("CheckNoNewAccess: FAIL") && t.contains("mq:deletebroker"),
        "{t}"
    );
    let kept = iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("list")
        .send()
        .await
        .unwrap();
    assert!(
        !kept.policy_document().contains("DeleteBroker"),
        "the refused document was written"
    );
    // Trust policies are validated as role trust policies.
    let own = own_account().await;
    s.ok(
        "create_role",
        json!({"role_name": unique("r"), "assume_role_policy_document": trust(json!({"AWS": format!("arn:aws:iam::{own}:root")}))}),
    )
    .await;
    let validated: Vec<Value> = analyzer
        .requests()
        .iter()
        .filter(|r| r.path == "/policy/validation")
        .map(|r| serde_json::from_str(&r.body).unwrap())
        .collect();
    let last = validated.last().unwrap();
    assert_eq!(last["policyType"], "RESOURCE_POLICY", "{last}");
    assert_eq!(
        last["validatePolicyResourceType"],
        "AWS::IAM::AssumeRolePolicyDocument"
    );
    // The record keeps the findings by code.
    let rec = s
        .audit_records()
        .into_iter()
        .find(|r| r["tool"] == "put_user_policy")
        .unwrap();
    assert_eq!(
        rec["iam_grants"]["analyzer"][0]["code"], "PASS_ROLE_WITH_STAR_IN_RESOURCE",
        "{rec}"
    );
    s.stop().await;

    // Access Analyzer unreachable: refused, nothing written.
    let down = format!("http://127.0.0.1:{}", crate::support::free_port());
    let s = start(policy, &down).await;
    let t = s
        .err(
            "put_user_policy",
            json!({"user_name": user, "policy_name": "new", "policy_document": doc("mq:ListBrokers", "*")}),
        )
        .await;
    assert!(t.contains("access-analyzer:ValidatePolicy"), "{t}");
    let names = iam
        .list_user_policies()
        .user_name(&user)
        .send()
        .await
        .unwrap();
    assert!(!names.policy_names().iter().any(|n| n == "new"));
    s.stop().await;

    // no_new_access: require_approval: the broader replacement waits for an operator.
    let s = start(
        "version: 1\ndefault: allow\niam_guard:\n  access_analyzer: {no_new_access: require_approval}\n",
        &analyzer.url,
    )
    .await;
    let t = s
        .err(
            "put_user_policy",
            json!({"user_name": user, "policy_name": "list", "policy_document": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["mq:ListBrokers", "mq:RebootBroker"], "Resource": "*"}]}}),
        )
        .await;
    assert!(
        t.starts_with("Approval required")
            && t.contains("iam_guard.access_analyzer")
            && t.contains("CheckNoNewAccess"),
        "{t}"
    );
    let kept = iam
        .get_user_policy()
        .user_name(&user)
        .policy_name("list")
        .send()
        .await
        .unwrap();
    assert!(
        !kept.policy_document().contains("RebootBroker"),
        "written before approval"
    );
    // A replacement that grants nothing new runs at once.
    s.ok("put_user_policy", benign.clone()).await;
    s.stop().await;

    // Without the section, nothing is asked.
    let before = analyzer.requests().len();
    let s = start("version: 1\ndefault: allow\niam_guard: {}\n", &analyzer.url).await;
    s.ok("put_user_policy", json!({"user_name": user, "policy_name": "plain", "policy_document": doc("mq:ListBrokers", "*")})).await;
    assert_eq!(analyzer.requests().len(), before);
    s.stop().await;
}

/// Issue 24 (5): every client the server makes honours its service's own endpoint variable:
/// with `AWS_ENDPOINT_URL` pointing nowhere, MQ goes to a fake, IAM and STS to the test
/// target, Access Analyzer to its fake, each by `AWS_ENDPOINT_URL_<SERVICE>`.
async fn each_service_takes_its_own_endpoint() {
    let mq = crate::gate::fake_mq().await;
    let analyzer = fakes::access_analyzer_checks().await;
    let nowhere = format!("http://127.0.0.1:{}", crate::support::free_port());
    let target = crate::support::aws_endpoint();
    let s = Server::start(Options {
        policy: Some(
            "version: 1\ndefault: allow\niam_guard:\n  access_analyzer: {validate: [error]}\n"
                .into(),
        ),
        endpoint: Some(nowhere),
        env: vec![
            ("AWS_ENDPOINT_URL_MQ".into(), mq.url.clone()),
            ("AWS_ENDPOINT_URL_IAM".into(), target.clone()),
            ("AWS_ENDPOINT_URL_STS".into(), target.clone()),
            (
                "AWS_ENDPOINT_URL_ACCESSANALYZER".into(),
                analyzer.url.clone(),
            ),
        ],
        ..Options::default()
    })
    .await;
    s.ok("list_brokers", json!({})).await;
    assert!(!mq.requests().is_empty(), "MQ went to its own endpoint");
    s.ok("list_users", json!({})).await;
    let own = own_account().await;
    s.ok(
        "create_role",
        json!({"role_name": unique("ep"), "assume_role_policy_document": trust(json!({"AWS": format!("arn:aws:iam::{own}:root")}))}),
    )
    .await;
    assert!(
        analyzer
            .requests()
            .iter()
            .any(|r| r.path == "/policy/validation"),
        "Access Analyzer went to its own endpoint"
    );
    s.stop().await;
}

/// This module's tests, for the e2e harness.
pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "iam_tools::each_service_takes_its_own_endpoint",
            Needs::Iam,
            each_service_takes_its_own_endpoint,
        ),
        trial(
            "iam_tools::access_analyzer_checks_refuse_what_aws_finds",
            Needs::Iam,
            access_analyzer_checks_refuse_what_aws_finds,
        ),
        trial(
            "iam_tools::iam_changes_are_judged_by_what_they_grant",
            Needs::ManagedPolicies,
            iam_changes_are_judged_by_what_they_grant,
        ),
        trial(
            "iam_tools::users_groups_and_memberships",
            Needs::ManagedPolicies,
            users_groups_and_memberships,
        ),
        trial(
            "iam_tools::list_tools_page_with_marker",
            Needs::ManagedPolicies,
            list_tools_page_with_marker,
        ),
        trial(
            "iam_tools::roles_and_inline_policies",
            Needs::ManagedPolicies,
            roles_and_inline_policies,
        ),
        trial(
            "iam_tools::managed_policies_and_attachments",
            Needs::ManagedPolicies,
            managed_policies_and_attachments,
        ),
        trial(
            "iam_tools::access_keys_hide_the_secret_unless_the_policy_reveals_it",
            Needs::Iam,
            access_keys_hide_the_secret_unless_the_policy_reveals_it,
        ),
        trial(
            "iam_tools::simulate_principal_policy_against_a_loopback_fake",
            Needs::Nothing,
            simulate_principal_policy_against_a_loopback_fake,
        ),
        trial(
            "iam_tools::policy_generation_against_the_access_analyzer_fake",
            Needs::Nothing,
            policy_generation_against_the_access_analyzer_fake,
        ),
        trial(
            "iam_tools::default_policy_puts_policy_generation_to_a_human",
            Needs::Nothing,
            default_policy_puts_policy_generation_to_a_human,
        ),
        trial(
            "iam_tools::policy_generation_rate_limit_of_the_default_shape",
            Needs::Nothing,
            policy_generation_rate_limit_of_the_default_shape,
        ),
        trial(
            "iam_tools::iam_guard_refuses_documents_that_widen_power",
            Needs::ManagedPolicies,
            iam_guard_refuses_documents_that_widen_power,
        ),
    ]
}
