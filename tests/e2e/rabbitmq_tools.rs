//! The RabbitMQ broker tools against a real RabbitMQ with its management plugin on 127.0.0.1
//! (started and configured by scripts/test.sh). Each test sets up what it needs through the
//! management API first, in a vhost of its own, and checks the effect through the API.

use libtest_mimic::Trial;

use crate::support::{Needs, trial};

use std::sync::Arc;

use serde_json::{Value, json};

use crate::support::{FakeAws, Options, Server, unique};

fn rabbit_url() -> String {
    std::env::var("GUARDED_TEST_RABBITMQ_URL").unwrap_or_else(|_| {
        panic!("GUARDED_TEST_RABBITMQ_URL is not set: run the suite with scripts/test.sh, which starts RabbitMQ's management API on 127.0.0.1")
    })
}

/// The test's own admin access to the management API.
struct Admin {
    http: reqwest::Client,
    base: String,
}

fn enc(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Admin {
    fn new() -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: rabbit_url(),
        }
    }

    async fn req(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}/api/{path}", self.base))
            .basic_auth("guest", Some("guest"));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.expect("management API reachable");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, body: Value) {
        let (s, v) = self.req(reqwest::Method::PUT, path, Some(body)).await;
        assert!(s < 300, "PUT {path}: {s} {v}");
    }

    async fn publish(&self, vhost: &str, queue: &str, n: usize) {
        for i in 0..n {
            let (s, v) = self
                .req(
                    reqwest::Method::POST,
                    &format!("exchanges/{}/amq.default/publish", enc(vhost)),
                    Some(json!({"properties": {}, "routing_key": queue, "payload": format!("m{i}"), "payload_encoding": "string"})),
                )
                .await;
            assert!(s < 300 && v["routed"] == true, "publish: {s} {v}");
        }
    }

    /// Messages in a queue, read deterministically (requeued), not from the lagging stats.
    async fn peek(&self, vhost: &str, queue: &str) -> usize {
        let (s, v) = self
            .req(
                reqwest::Method::POST,
                &format!("queues/{}/{}/get", enc(vhost), enc(queue)),
                Some(json!({"count": 100, "ackmode": "ack_requeue_true", "encoding": "auto"})),
            )
            .await;
        assert!(s < 300, "get: {s} {v}");
        v.as_array().map(Vec::len).unwrap_or(0)
    }

    async fn exists(&self, path: &str) -> bool {
        self.req(reqwest::Method::GET, path, None).await.0 == 200
    }

    async fn vhost(&self) -> String {
        let v = unique("vh");
        self.put(&format!("vhosts/{}", enc(&v)), json!({})).await;
        self.put(
            &format!("permissions/{}/guest", enc(&v)),
            json!({"configure": ".*", "write": ".*", "read": ".*"}),
        )
        .await;
        v
    }
}

async fn connected(policy_file: &str) -> Server {
    let s = Server::on_target(policy_file).await;
    let c = s
        .ok(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": rabbit_url(), "username": "guest", "password": "guest"}),
        )
        .await;
    assert!(c["rabbitmq_version"].as_str().is_some(), "{c}");
    assert_eq!(c["user"], "guest");
    s
}

async fn read_tools_see_what_the_broker_holds() {
    let admin = Admin::new();
    let vh = admin.vhost().await;
    let q = "orders";
    admin
        .put(
            &format!("queues/{}/{q}", enc(&vh)),
            json!({"durable": true, "arguments": {"x-queue-type": "quorum"}}),
        )
        .await;
    admin
        .put(
            &format!("exchanges/{}/events", enc(&vh)),
            json!({"type": "topic", "durable": true}),
        )
        .await;
    let (s, _) = admin
        .req(
            reqwest::Method::POST,
            &format!("bindings/{}/e/events/q/{q}", enc(&vh)),
            Some(json!({"routing_key": "order.*"})),
        )
        .await;
    assert!(s < 300);
    // A queue in the default vhost `/` whose name needs encoding.
    let odd = format!("{} a/b c", unique("odd"));
    admin
        .put(
            &format!("queues/%2F/{}", enc(&odd)),
            json!({"durable": false, "auto_delete": false}),
        )
        .await;
    admin.publish(&vh, q, 3).await;
    // A shovel whose URIs carry a password: the tools must never return it.
    admin
        .put(
            &format!("queues/{}/shovel-src", enc(&vh)),
            json!({"durable": true}),
        )
        .await;
    admin
        .put(
            &format!("parameters/shovel/{}/move-it", enc(&vh)),
            json!({"value": {"src-protocol": "amqp091", "src-uri": "amqp://guest:guest@127.0.0.1:5672/".to_string() + &enc(&vh), "src-queue": "shovel-src",
                             "dest-protocol": "amqp091", "dest-uri": "amqp://guest:guest@127.0.0.1:5672/".to_string() + &enc(&vh), "dest-queue": q}}),
        )
        .await;

    let s = connected("policies/dev-permissive.yaml").await;
    let vhosts = s.ok("rabbitmq_broker_list_vhosts", json!({})).await;
    assert!(
        vhosts["vhosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == vh.as_str())
    );
    assert!(
        vhosts["vhosts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["name"] == "/")
    );

    let queues = s.ok("rabbitmq_broker_list_queues", json!({})).await;
    let mine = queues["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["vhost"] == vh.as_str() && x["name"] == q)
        .expect("queue listed");
    assert_eq!(mine["type"], "quorum");

    let info = s
        .ok(
            "rabbitmq_broker_get_queue_info",
            json!({"queue": q, "vhost": vh}),
        )
        .await;
    assert_eq!(info["name"], q);
    assert_eq!(info["durable"], true);
    let info = s
        .ok("rabbitmq_broker_get_queue_info", json!({"queue": odd}))
        .await;
    assert_eq!(info["vhost"], "/", "the default vhost is used and encoded");
    assert_eq!(info["name"], odd.as_str());

    let exchanges = s.ok("rabbitmq_broker_list_exchanges", json!({})).await;
    assert!(
        exchanges["exchanges"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["name"] == "events" && e["vhost"] == vh.as_str())
    );
    let ex = s
        .ok(
            "rabbitmq_broker_get_exchange_info",
            json!({"exchange": "events", "vhost": vh}),
        )
        .await;
    assert_eq!(ex["exchange"]["type"], "topic");
    assert_eq!(ex["bindings"][0]["destination"], q);
    assert_eq!(ex["bindings"][0]["routing_key"], "order.*");

    let shovels = s.ok("rabbitmq_broker_list_shovels", json!({})).await;
    let text = shovels.to_string();
    assert!(
        !text.contains("guest:guest"),
        "shovel URIs leak credentials: {text}"
    );
    let shovel = s
        .ok(
            "rabbitmq_broker_get_shovel_info",
            json!({"name": "move-it", "vhost": vh}),
        )
        .await;
    assert_eq!(shovel["definition"]["src-queue"], "shovel-src");
    assert!(!shovel.to_string().contains("guest:guest"), "{shovel}");

    let nodes = s
        .ok("rabbitmq_broker_get_cluster_nodes_info", json!({}))
        .await;
    assert!(
        nodes["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["running"] == true)
    );
    s.ok("rabbitmq_broker_list_connections", json!({})).await;
    s.ok("rabbitmq_broker_list_consumers", json!({})).await;

    let users = s.ok("rabbitmq_broker_list_users", json!({})).await;
    assert!(
        users["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "guest")
    );
    assert!(!users.to_string().contains("password_hash"));

    let defs = s
        .ok("rabbitmq_broker_get_broker_definition", json!({}))
        .await;
    let text = defs.to_string();
    assert!(
        !text.contains("password_hash") && !text.contains("hashing_algorithm"),
        "definitions leak password hashes"
    );
    assert!(
        defs["queues"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == q && x["vhost"] == vh.as_str())
    );

    let alarm = s.ok("rabbitmq_broker_is_in_alarm", json!({})).await;
    assert_eq!(alarm["result"], false, "{alarm}");
    let quorum = s.ok("rabbitmq_broker_is_quorum_critical", json!({})).await;
    assert_eq!(
        quorum["result"], false,
        "a single node is never quorum-critical: {quorum}"
    );

    let guide = s
        .ok(
            "rabbitmq_broker_get_guideline",
            json!({"guideline_name": "queue_types"}),
        )
        .await;
    assert!(guide["markdown"].as_str().unwrap().contains("quorum"));
}

async fn destructive_tools_change_the_broker() {
    let admin = Admin::new();
    let vh = admin.vhost().await;
    admin
        .put(
            &format!("queues/{}/work", enc(&vh)),
            json!({"durable": true}),
        )
        .await;
    admin
        .put(
            &format!("queues/{}/gone", enc(&vh)),
            json!({"durable": true}),
        )
        .await;
    admin
        .put(
            &format!("exchanges/{}/old-events", enc(&vh)),
            json!({"type": "fanout"}),
        )
        .await;
    admin.publish(&vh, "work", 4).await;
    assert_eq!(admin.peek(&vh, "work").await, 4);

    let s = connected("policies/dev-permissive.yaml").await;
    s.ok(
        "rabbitmq_broker_purge_queue",
        json!({"queue": "work", "vhost": vh}),
    )
    .await;
    assert_eq!(admin.peek(&vh, "work").await, 0);
    assert!(
        admin.exists(&format!("queues/{}/work", enc(&vh))).await,
        "purge keeps the queue"
    );

    s.ok(
        "rabbitmq_broker_delete_queue",
        json!({"queue": "gone", "vhost": vh}),
    )
    .await;
    assert!(!admin.exists(&format!("queues/{}/gone", enc(&vh))).await);
    s.ok(
        "rabbitmq_broker_delete_exchange",
        json!({"exchange": "old-events", "vhost": vh}),
    )
    .await;
    assert!(
        !admin
            .exists(&format!("exchanges/{}/old-events", enc(&vh)))
            .await
    );

    let missing = s
        .err(
            "rabbitmq_broker_delete_queue",
            json!({"queue": "gone", "vhost": vh}),
        )
        .await;
    assert!(
        missing.starts_with("AWS error HTTP404 from rabbitmq:DeleteQueue"),
        "{missing}"
    );
    let builtin = s
        .err(
            "rabbitmq_broker_delete_exchange",
            json!({"exchange": "amq.direct", "vhost": vh}),
        )
        .await;
    assert!(builtin.starts_with("Invalid arguments:"), "{builtin}");
    let bad = s
        .err(
            "rabbitmq_broker_delete_queue",
            json!({"queue": "a\u{0007}b"}),
        )
        .await;
    assert!(
        bad.starts_with("Invalid arguments: Invalid argument `queue`"),
        "{bad}"
    );
}

async fn destructive_tools_are_denied_by_the_default_policy() {
    let s = Server::start(Options::default()).await;
    // Issue 11 (12): a connection to a management_url the agent names needs approval by default.
    let t = s
        .err(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": rabbit_url(), "username": "guest", "password": "guest"}),
        )
        .await;
    assert!(
        t.starts_with("Approval required: rule tools.rabbitmq_broker_initialize_connection*[0]"),
        "{t}"
    );
    for tool in [
        "rabbitmq_broker_delete_queue",
        "rabbitmq_broker_purge_queue",
    ] {
        let text = s.err(tool, json!({"queue": "anything"})).await;
        assert_eq!(
            text,
            "Denied by policy: rule classes.destructive: default for destructive tools"
        );
    }
    let del = s
        .tools()
        .iter()
        .find(|t| t.name == "rabbitmq_broker_delete_exchange")
        .unwrap();
    assert_eq!(
        del.annotations.as_ref().unwrap().destructive_hint,
        Some(true)
    );
}

async fn connections_belong_to_the_session_and_credentials_stay_secret() {
    // A session that never connected has no connection, whatever other sessions did.
    let other = connected("policies/dev-permissive.yaml").await;
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let text = s.err("rabbitmq_broker_list_queues", json!({})).await;
    assert!(
        text.contains("this session has no RabbitMQ connection"),
        "{text}"
    );
    other.ok("rabbitmq_broker_list_queues", json!({})).await;

    let wrong = s
        .err("rabbitmq_broker_initialize_connection", json!({"management_url": rabbit_url(), "username": "guest", "password": "not-the-password-1"}))
        .await;
    assert!(
        wrong.starts_with("AWS error HTTP401 from rabbitmq:GetOverview")
            && wrong.contains("refused the credentials"),
        "{wrong}"
    );
    let token = "eyJhbGciOiJSUzI1NiJ9.secret-token-value.sig";
    let oauth = s
        .err(
            "rabbitmq_broker_initialize_connection_with_oauth",
            json!({"management_url": rabbit_url(), "oauth_token": token}),
        )
        .await;
    assert!(oauth.contains("HTTP401"), "{oauth}");
    let unreachable = s
        .err("rabbitmq_broker_initialize_connection", json!({"management_url": "http://127.0.0.1:9", "username": "guest", "password": "guest"}))
        .await;
    assert!(
        unreachable.starts_with("AWS error BrokerUnreachable"),
        "{unreachable}"
    );
    let (audit, stderr) = s.stop().await;
    for secret in [token, "not-the-password-1"] {
        assert!(
            !audit.contains(secret) && !stderr.contains(secret),
            "{secret} reached a log"
        );
    }
}

async fn connect_by_amazon_mq_broker_id() {
    // DescribeBroker answered by a loopback fake whose console URL is the local RabbitMQ.
    let url = rabbit_url();
    let fake = FakeAws::start(Arc::new(move |req| {
        let engine = if req.path.ends_with("b-rabbit") { "RABBITMQ" } else { "ACTIVEMQ" };
        (200, json!({"brokerId": "x", "engineType": engine, "brokerInstances": [{"consoleURL": url, "endpoints": []}]}).to_string())
    }))
    .await;
    let s = Server::start(Options {
        policy_file: Some("policies/dev-permissive.yaml".into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    let c = s
        .ok("rabbitmq_broker_initialize_connection", json!({"broker_id": "b-rabbit", "region": "eu-west-1", "username": "guest", "password": "guest"}))
        .await;
    assert!(
        c["management_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1")
    );
    s.ok("rabbitmq_broker_list_vhosts", json!({})).await;
    assert_eq!(fake.requests()[0].path, "/v1/brokers/b-rabbit");
    let not_rabbit = s
        .err(
            "rabbitmq_broker_initialize_connection",
            json!({"broker_id": "b-active", "username": "guest", "password": "guest"}),
        )
        .await;
    assert!(
        not_rabbit.contains("is not a RabbitMQ broker"),
        "{not_rabbit}"
    );
    let both = s
        .err("rabbitmq_broker_initialize_connection", json!({"broker_id": "b-rabbit", "management_url": "http://127.0.0.1:1", "username": "g", "password": "g"}))
        .await;
    assert!(both.contains("not both"), "{both}");
}

async fn health_checks_report_true_on_503() {
    // The broker's "yes" is an HTTP 503: the AWS Labs server raised on it; we report true.
    let fake = FakeAws::start(Arc::new(|req| match req.path.as_str() {
        "/api/overview" => (200, json!({"rabbitmq_version": "3.13.7", "cluster_name": "c"}).to_string()),
        "/api/whoami" => (200, json!({"name": "admin"}).to_string()),
        "/api/health/checks/alarms" => (503, json!({"status": "failed", "reason": "resource alarm(s) in effect", "alarms": [{"node": "rabbit@a", "resource": "memory"}]}).to_string()),
        "/api/health/checks/node-is-quorum-critical" => (503, json!({"status": "failed", "reason": "there are quorum queues with minimum online quorum", "queues": [{"name": "orders", "virtual_host": "/"}]}).to_string()),
        _ => (404, json!({"error": "Object Not Found", "reason": "Not Found"}).to_string()),
    }))
    .await;
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    s.ok(
        "rabbitmq_broker_initialize_connection",
        json!({"management_url": fake.url, "username": "admin", "password": "pw"}),
    )
    .await;
    let alarm = s.ok("rabbitmq_broker_is_in_alarm", json!({})).await;
    assert_eq!(alarm["result"], true);
    assert_eq!(alarm["details"][0]["resource"], "memory");
    let quorum = s.ok("rabbitmq_broker_is_quorum_critical", json!({})).await;
    assert_eq!(quorum["result"], true);
    assert_eq!(quorum["details"][0]["name"], "orders");
}

/// This module's tests, for the e2e harness.
/// Issue 11 (4): `vhost: ".."` made `purge_queue` send `DELETE /api/vhosts/contents` and delete a
/// whole vhost on the real broker, past a policy that denied purging that vhost.
async fn dot_segment_names_cannot_climb_the_api_path() {
    let admin = Admin::new();
    let vh = admin.vhost().await;
    admin
        .put(
            &format!("queues/{}/keep", enc(&vh)),
            json!({"durable": true}),
        )
        .await;
    let policy = format!(
        "version: 1\ndefault: allow\ntools:\n  rabbitmq_broker_purge_queue:\n    - action: deny\n      when: [{{path: args.vhost, op: eq, value: {vh}}}]\n"
    );
    let s = Server::start(Options {
        policy: Some(policy),
        ..Options::default()
    })
    .await;
    s.ok(
        "rabbitmq_broker_initialize_connection",
        json!({"management_url": rabbit_url(), "username": "guest", "password": "guest"}),
    )
    .await;
    for (tool, args) in [
        (
            "rabbitmq_broker_purge_queue",
            json!({"vhost": "..", "queue": "vhosts"}),
        ),
        (
            "rabbitmq_broker_delete_queue",
            json!({"vhost": "..", "queue": "vhosts"}),
        ),
        (
            "rabbitmq_broker_purge_queue",
            json!({"vhost": vh, "queue": ".."}),
        ),
        (
            "rabbitmq_broker_delete_exchange",
            json!({"vhost": ".", "exchange": "x"}),
        ),
        (
            "rabbitmq_broker_get_queue_info",
            json!({"vhost": "..", "queue": "."}),
        ),
    ] {
        let t = s.err(tool, args.clone()).await;
        assert!(
            t.starts_with("Invalid arguments:") && t.contains("is a path segment"),
            "{tool} {args}: {t}"
        );
    }
    assert!(
        admin.exists(&format!("vhosts/{}", enc(&vh))).await,
        "vhost deleted"
    );
    assert!(admin.exists(&format!("queues/{}/keep", enc(&vh))).await);
    // Names that merely contain dots are names.
    admin
        .put(
            &format!("queues/{}/a..b", enc(&vh)),
            json!({"durable": true}),
        )
        .await;
    let q = s
        .ok(
            "rabbitmq_broker_get_queue_info",
            json!({"vhost": vh, "queue": "a..b"}),
        )
        .await;
    assert_eq!(q["name"], "a..b");
    s.stop().await;
}

/// Issue 11 (12): credentials go only to allowed management hosts.
async fn credentials_go_only_to_allowed_hosts() {
    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let t = s
        .err(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": "https://collector.example.net:15671", "username": "guest", "password": "exfil-pw-1"}),
        )
        .await;
    assert!(
        t.starts_with("Invalid arguments:")
            && t.contains("collector.example.net")
            && t.contains("not an allowed RabbitMQ management host"),
        "{t}"
    );
    let (audit, stderr) = s.stop().await;
    assert!(!audit.contains("exfil-pw-1") && !stderr.contains("exfil-pw-1"));
}

/// Issue 23 (1): a host is compared by what it denotes. Names that spell a loopback address
/// are names; the proxy variables never carry credentials anywhere; loopback still connects.
async fn names_that_spell_loopback_get_no_credentials() {
    let recorder = crate::support::FakeAws::start(std::sync::Arc::new(|_| {
        (200, r#"{"rabbitmq_version":"9.9.9"}"#.to_string())
    }))
    .await;
    let s = Server::start(crate::support::Options {
        policy_file: Some("policies/dev-permissive.yaml".into()),
        env: vec![
            ("HTTP_PROXY".into(), recorder.url.clone()),
            ("HTTPS_PROXY".into(), recorder.url.clone()),
            ("http_proxy".into(), recorder.url.clone()),
            ("ALL_PROXY".into(), recorder.url.clone()),
        ],
        ..Default::default()
    })
    .await;
    for url in [
        "http://127.0.0.1.evil.example/",
        "http://127.0.0.evil.example/",
        "http://127.1.2.attacker-controlled.example:15672",
        "http://localhost.evil.example/",
        "https://b-1.mq.us-east-1.amazonaws.com.evil.example/",
    ] {
        let t = s
            .err(
                "rabbitmq_broker_initialize_connection",
                json!({"management_url": url, "username": "guest", "password": "spelled-pw-9"}),
            )
            .await;
        assert!(
            t.starts_with("Invalid arguments:")
                && t.contains("not an allowed RabbitMQ management host"),
            "{url}: {t}"
        );
    }
    let t = s
        .err(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": "http://guest:pw@127.0.0.1:15672/", "username": "guest", "password": "spelled-pw-9"}),
        )
        .await;
    assert!(t.contains("must not carry credentials"), "{t}");
    // Loopback still connects, directly: the proxy variables are not used for it either.
    let c = s
        .ok(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": rabbit_url(), "username": "guest", "password": "guest"}),
        )
        .await;
    assert_eq!(c["user"], "guest", "{c}");
    assert_eq!(recorder.requests().len(), 0, "the proxy received a request");
    let (audit, stderr) = s.stop().await;
    assert!(!audit.contains("spelled-pw-9") && !stderr.contains("spelled-pw-9"));
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "rabbitmq_tools::names_that_spell_loopback_get_no_credentials",
            Needs::RabbitMq,
            names_that_spell_loopback_get_no_credentials,
        ),
        trial(
            "rabbitmq_tools::dot_segment_names_cannot_climb_the_api_path",
            Needs::RabbitMq,
            dot_segment_names_cannot_climb_the_api_path,
        ),
        trial(
            "rabbitmq_tools::credentials_go_only_to_allowed_hosts",
            Needs::RabbitMq,
            credentials_go_only_to_allowed_hosts,
        ),
        trial(
            "rabbitmq_tools::read_tools_see_what_the_broker_holds",
            Needs::RabbitMq,
            read_tools_see_what_the_broker_holds,
        ),
        trial(
            "rabbitmq_tools::destructive_tools_change_the_broker",
            Needs::RabbitMq,
            destructive_tools_change_the_broker,
        ),
        trial(
            "rabbitmq_tools::destructive_tools_are_denied_by_the_default_policy",
            Needs::RabbitMq,
            destructive_tools_are_denied_by_the_default_policy,
        ),
        trial(
            "rabbitmq_tools::connections_belong_to_the_session_and_credentials_stay_secret",
            Needs::RabbitMq,
            connections_belong_to_the_session_and_credentials_stay_secret,
        ),
        trial(
            "rabbitmq_tools::connect_by_amazon_mq_broker_id",
            Needs::RabbitMq,
            connect_by_amazon_mq_broker_id,
        ),
        trial(
            "rabbitmq_tools::health_checks_report_true_on_503",
            Needs::Nothing,
            health_checks_report_true_on_503,
        ),
    ]
}
