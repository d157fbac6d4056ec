//! Faults and load: the AWS fake dying mid-run, 10 000 calls and their audit chain, secrets
//! searched for everywhere the server writes, malformed protocol input.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::support::{BIN, Needs, Options, OwnMoto, Server, free_port, text, trial, unique};

async fn aws_fake_stopped_mid_run() {
    let port = free_port();
    let moto = OwnMoto::start(port);
    let s = Server::start(Options {
        policy_file: Some("policies/dev-permissive.yaml".into()),
        endpoint: Some(format!("http://127.0.0.1:{}", moto.port)),
        ..Options::default()
    })
    .await;
    s.ok("list_brokers", json!({})).await;
    moto.stop();
    let down = s.err("list_brokers", json!({})).await;
    assert!(
        down.starts_with("AWS error EndpointUnreachable from mq:ListBrokers"),
        "{down}"
    );
    assert_eq!(
        s.client
            .list_all_tools()
            .await
            .expect("still serving")
            .len(),
        81
    );
    let moto = OwnMoto::start(port);
    let back = s.ok("list_brokers", json!({})).await;
    assert!(back["BrokerSummaries"].is_array());
    moto.stop();
}

async fn ten_thousand_calls_make_ten_thousand_chained_records() {
    let s = Arc::new(
        Server::start(Options {
            policy: Some("version: 1\ndefault: deny\n".into()),
            endpoint: Some("http://127.0.0.1:9".into()),
            ..Options::default()
        })
        .await,
    );
    let tasks = (0..16).map(|w| {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..625 {
                let r = s
                    .call("describe_broker", json!({"BrokerId": format!("b-{w}-{i}")}))
                    .await;
                assert_eq!(r.is_error, Some(true));
            }
        })
    });
    for t in futures::future::join_all(tasks).await {
        t.expect("worker");
    }
    let audit = s.audit.clone();
    let records = std::fs::read_to_string(&audit).unwrap();
    assert_eq!(records.lines().count(), 10_000);
    let mut seen = std::collections::HashSet::new();
    for line in records.lines() {
        let v: Value = serde_json::from_str(line).expect("every record is one whole JSON line");
        assert_eq!(v["decision"], "deny");
        seen.insert(v["args"]["BrokerId"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 10_000, "every call has its own record");
    let out = Command::new(BIN)
        .args(["audit", "verify"])
        .arg(&audit)
        .output()
        .unwrap();
    let msg = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && msg.contains("ok, 10000 records"),
        "{msg}"
    );
}

async fn audit_verify_finds_an_edited_record() {
    let s = Server::start(Options {
        policy: Some("version: 1\ndefault: deny\n".into()),
        endpoint: Some("http://127.0.0.1:9".into()),
        ..Options::default()
    })
    .await;
    for i in 0..5 {
        s.err("describe_broker", json!({"BrokerId": format!("b-{i}")}))
            .await;
    }
    let path = s.audit.clone();
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("audit.jsonl");
    std::fs::copy(&path, &copy).unwrap();
    let verify = |p: &std::path::Path| {
        let out = Command::new(BIN)
            .args(["audit", "verify"])
            .arg(p)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, msg) = verify(&copy);
    assert_eq!(code, Some(0), "{msg}");
    let edited = std::fs::read_to_string(&copy).unwrap().replacen(
        "\"decision\":\"deny\"",
        "\"decision\":\"allow\"",
        1,
    );
    std::fs::write(&copy, edited).unwrap();
    let (code, msg) = verify(&copy);
    assert_eq!(code, Some(1));
    assert!(msg.contains("record 2 does not follow record 1"), "{msg}");
}

async fn secrets_appear_nowhere() {
    let rabbit = std::env::var("GUARDED_TEST_RABBITMQ_URL").expect("GUARDED_TEST_RABBITMQ_URL");
    let broker_pw = format!("Brk-{}-pw", unique("s"));
    let user_pw = format!("Usr-{}-pw", unique("s"));
    let ldap_pw = format!("Ldap-{}-pw", unique("s"));
    let rabbit_pw = format!("Rmq-{}-pw", unique("s"));
    let token = format!("tok.{}.sig", unique("s"));
    let bad_pw = "has,comma:and=equals";
    let secrets = [
        broker_pw.as_str(),
        user_pw.as_str(),
        ldap_pw.as_str(),
        rabbit_pw.as_str(),
        token.as_str(),
        bad_pw,
    ];

    let s = Server::on_target("policies/dev-permissive.yaml").await;
    let mut results = Vec::new();
    let created = s
        .call("create_broker", json!({"broker_name": unique("sec"), "engine_type": "ACTIVEMQ", "deployment_mode": "SINGLE_INSTANCE",
                                       "username": "admin", "password": broker_pw, "host_instance_type": "mq.t3.micro"}))
        .await;
    let id = created
        .structured_content
        .as_ref()
        .and_then(|v| v["BrokerId"].as_str())
        .unwrap_or("b-x")
        .to_string();
    results.push(created);
    results.push(
        s.call(
            "create_broker_user",
            json!({"BrokerId": id, "Username": "app", "Password": user_pw}),
        )
        .await,
    );
    results.push(
        s.call(
            "update_broker_user",
            json!({"BrokerId": id, "Username": "app", "Password": user_pw}),
        )
        .await,
    );
    results.push(
        s.call("update_broker", json!({"BrokerId": id, "LdapServerMetadata": {"Hosts": ["ldap.example.internal"], "RoleBase": "ou=r", "RoleSearchMatching": "(m={0})",
               "ServiceAccountPassword": ldap_pw, "ServiceAccountUsername": "svc", "UserBase": "ou=u", "UserSearchMatching": "(u={0})"}}))
            .await,
    );
    results.push(s.call("create_broker", json!({"broker_name": "x", "engine_type": "ACTIVEMQ", "deployment_mode": "SINGLE_INSTANCE", "username": "admin", "password": bad_pw})).await);
    results.push(
        s.call(
            "rabbitmq_broker_initialize_connection",
            json!({"management_url": rabbit, "username": "guest", "password": rabbit_pw}),
        )
        .await,
    );
    results.push(
        s.call(
            "rabbitmq_broker_initialize_connection_with_oauth",
            json!({"management_url": rabbit, "oauth_token": token}),
        )
        .await,
    );
    results.push(s.call("rabbitmq_broker_initialize_connection", json!({"management_url": "http://127.0.0.1:9", "username": "guest", "password": rabbit_pw})).await);
    let everything_the_client_got: String = results
        .iter()
        .map(|r| format!("{} {:?}", text(r), r.structured_content))
        .collect();
    let (audit, stderr) = s.stop().await;
    assert!(audit.contains("[REDACTED]"));
    for secret in secrets {
        assert!(
            !everything_the_client_got.contains(secret),
            "{secret} in a result (stdout)"
        );
        assert!(!audit.contains(secret), "{secret} in the audit log");
        assert!(
            !stderr.contains(secret),
            "{secret} in stderr (RUST_LOG=trace)"
        );
    }
}

/// Raw stdio: garbage, a truncated frame and an oversized message; the server stays up and
/// answers the next valid request.
/// stdin and stdout that are files, not pipes (`serve < requests > answers`): the server
/// falls back to blocking stdio and answers the same.
fn stdio_from_and_to_files() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    std::fs::write(
        &input,
        concat!(
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#, "\n",
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, "\n",
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, "\n",
        ),
    )
    .unwrap();
    let output = dir.path().join("out.jsonl");
    let status = Command::new(BIN)
        .args(["serve", "--audit-log"])
        .arg(dir.path().join("a.jsonl"))
        .env("RUST_LOG", "warn")
        .stdin(std::fs::File::open(&input).unwrap())
        .stdout(std::fs::File::create(&output).unwrap())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let answers: Vec<Value> = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = answers
        .iter()
        .find(|a| a["id"] == 2)
        .expect("tools/list answered");
    assert_eq!(listed["result"]["tools"].as_array().unwrap().len(), 81);
}

fn malformed_protocol_input() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--audit-log"])
        .arg(dir.path().join("a.jsonl"))
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |line: &[u8]| {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    };
    send(br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#);
    send(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    send(b"this is not JSON");
    send(br#"{"jsonrpc":"2.0","id":2,"method":"tools/li"#);
    let mut big = br#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"describe_broker","arguments":{"BrokerId":""#.to_vec();
    big.extend(std::iter::repeat_n(b'x', 4 * 1024 * 1024));
    big.extend(br#""}}}"#);
    send(&big);
    send(br#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"describe_broker","arguments":"not an object"}}"#);
    // Over the 8 MiB message limit.
    send(&vec![b'['; 9 * 1024 * 1024]);
    send(b"42");
    send(br#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#);
    let mut answers = std::collections::HashMap::new();
    let mut framing_errors = Vec::new();
    let mut line = String::new();
    while answers.len() < 4 || framing_errors.len() < 4 {
        line.clear();
        if stdout.read_line(&mut line).unwrap() == 0 {
            break;
        }
        let v: Value = serde_json::from_str(&line).expect("every output line is JSON-RPC");
        match v["id"].as_u64() {
            Some(id) => {
                answers.insert(id, v);
            }
            None => framing_errors.push(v),
        }
    }
    let codes: Vec<i64> = framing_errors
        .iter()
        .map(|e| e["error"]["code"].as_i64().unwrap())
        .collect();
    assert_eq!(
        codes,
        [-32700, -32700, -32600, -32600],
        "{framing_errors:?}"
    );
    assert!(
        framing_errors[0]["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Parse error:")
    );
    assert!(
        framing_errors[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
    assert!(answers[&1]["result"]["serverInfo"].is_object());
    // The oversized call is answered, as a refusal naming the size.
    let big_text = answers[&3]["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        big_text.starts_with("Invalid arguments:") && big_text.contains("bytes"),
        "{big_text}"
    );
    assert!(
        answers[&4]["error"]["code"].is_i64(),
        "arguments that are not an object are a protocol error: {}",
        answers[&4]
    );
    assert_eq!(
        answers[&5]["result"]["tools"].as_array().unwrap().len(),
        81,
        "still serving"
    );
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server is still running"
    );
    drop(stdin);
    let _ = child.wait();
}

/// This module's tests, for the e2e harness.
pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "faults::aws_fake_stopped_mid_run",
            Needs::Mq,
            aws_fake_stopped_mid_run,
        ),
        trial(
            "faults::ten_thousand_calls_make_ten_thousand_chained_records",
            Needs::Nothing,
            ten_thousand_calls_make_ten_thousand_chained_records,
        ),
        trial(
            "faults::audit_verify_finds_an_edited_record",
            Needs::Nothing,
            audit_verify_finds_an_edited_record,
        ),
        trial(
            "faults::secrets_appear_nowhere",
            Needs::RabbitMq,
            secrets_appear_nowhere,
        ),
        crate::support::trial_sync(
            "faults::stdio_from_and_to_files",
            Needs::Nothing,
            stdio_from_and_to_files,
        ),
        crate::support::trial_sync(
            "faults::malformed_protocol_input",
            Needs::Nothing,
            malformed_protocol_input,
        ),
    ]
}
