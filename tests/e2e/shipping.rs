//! The audit log shipped to CloudWatch Logs (moto's, and LocalStack's in the LocalStack run),
//! at least once: through an outage (the endpoint behind a loopback switch that refuses and
//! cuts connections), a restart with records left unshipped, and a drain on SIGTERM that ships
//! the last records and the closing checkpoint. What arrives is compared with the local file
//! record by record, and `audit verify --cloudwatch` proves the stream's chain.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use libtest_mimic::Trial;
use serde_json::{Value, json};

use crate::support::{
    BIN, HttpOptions, HttpServer, Needs, Options, Server, address_on_stderr, aws_endpoint, call_on,
    eventually_some, sdk_config, text, trial, unique,
};

const POLICY: &str = "version: 1\ndefault: allow\ntools:\n  delete_broker:\n    - action: deny\n      reason: not from agents\n";

/// A loopback TCP forwarder to the AWS endpoint that can be switched off: while off it closes
/// every connection it accepts and cuts those it carries. It notes the SigV4 access key id of
/// every request it forwards.
struct Switch {
    port: u16,
    up: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
    signed_by: Arc<Mutex<Vec<String>>>,
}

/// The access key ids of `Credential=AKID/...` in a chunk of request bytes.
fn access_keys(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.match_indices("Credential=")
        .filter_map(|(i, m)| text[i + m.len()..].split('/').next().map(str::to_string))
        .collect()
}

impl Switch {
    async fn start(target: SocketAddr) -> Switch {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let live: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Default::default();
        let signed_by: Arc<Mutex<Vec<String>>> = Default::default();
        let (up2, live2, signed2) = (up.clone(), live.clone(), signed_by.clone());
        let accept = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            while let Ok((inbound, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(inbound);
                    continue;
                }
                let signed = signed2.clone();
                let task = tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut in_r, mut in_w) = inbound.into_split();
                    let (mut out_r, mut out_w) = outbound.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut out_r, &mut in_w).await;
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    while let Ok(n) = in_r.read(&mut buf).await {
                        if n == 0 || out_w.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        signed.lock().unwrap().extend(access_keys(&buf[..n]));
                    }
                    back.abort();
                });
                live2.lock().unwrap().push(task.abort_handle());
            }
        });
        Switch {
            port,
            up,
            live,
            accept,
            signed_by,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn down(&self) {
        self.up.store(false, Ordering::SeqCst);
        for h in self.live.lock().unwrap().drain(..) {
            h.abort();
        }
    }

    fn on(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Switch {
    fn drop(&mut self) {
        self.accept.abort();
        self.down();
    }
}

fn endpoint_addr() -> SocketAddr {
    let url = reqwest::Url::parse(&aws_endpoint()).unwrap();
    format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
        .parse()
        .unwrap()
}

fn logs() -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&sdk_config())
}

async fn new_group() -> String {
    let group = format!("/guarded/{}", unique("audit"));
    logs()
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("create the log group");
    group
}

/// The streams of a group.
async fn streams(group: &str) -> Vec<String> {
    logs()
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .expect("describe log streams")
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name().map(str::to_string))
        .collect()
}

/// Every message of a stream, from the head.
async fn messages(group: &str, stream: &str) -> Vec<String> {
    guarded_aws_mcp::audit::cloudwatch::read_stream(&logs(), group, stream)
        .await
        .expect("read the stream")
}

fn local_lines(audit: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Wait until the stream holds every record of the local file (each at least once).
async fn shipped_all(group: &str, stream: &str, audit: &std::path::Path, within: Duration) {
    eventually_some(within, "every record reaching the stream", || async {
        let local = local_lines(audit);
        let remote = messages(group, stream).await;
        if !local.is_empty() && local.iter().all(|l| remote.contains(l)) {
            Ok(())
        } else {
            Err(format!("{} local, {} shipped", local.len(), remote.len()))
        }
    })
    .await
}

/// The streams of a group once the replica has made one.
async fn streams_made(group: &str) -> Vec<String> {
    eventually_some(
        Duration::from_secs(5),
        "a stream in the log group",
        || async {
            let found = streams(group).await;
            if found.is_empty() {
                Err("no stream".to_string())
            } else {
                Ok(found)
            }
        },
    )
    .await
}

/// What `/readyz` answers once `expect` holds of its status and body.
async fn readiness(ready: &str, what: &str, expect: impl Fn(u16, &str) -> bool) -> String {
    eventually_some(Duration::from_secs(15), what, || async {
        let r = reqwest::get(ready).await.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let body = r.text().await.map_err(|e| e.to_string())?;
        if expect(status, &body) {
            Ok(body)
        } else {
            Err(format!("{status} {body}"))
        }
    })
    .await
}

/// The stream holds exactly the local records, in order, each once or with identical copies.
fn same_records(local: &[String], remote: &[String]) {
    let seq = |l: &String| {
        serde_json::from_str::<Value>(l).unwrap()["seq"]
            .as_u64()
            .unwrap()
    };
    let mut deduped: Vec<&String> = Vec::new();
    for r in remote {
        if deduped.last().is_some_and(|d| seq(d) >= seq(r)) {
            assert!(local.contains(r), "a copy that is not a local record: {r}");
            continue;
        }
        deduped.push(r);
    }
    let local: Vec<&String> = local.iter().collect();
    assert_eq!(
        deduped, local,
        "the stream holds the local records in order"
    );
}

/// `audit verify --cloudwatch GROUP/STREAM` with `more` arguments: its exit code and output.
fn verify_stream(group: &str, stream: &str, more: &[&str]) -> (i32, String) {
    let out = std::process::Command::new(BIN)
        .args([
            "audit",
            "verify",
            "--cloudwatch",
            &format!("{group}/{stream}"),
        ])
        .args(more)
        .args(["--endpoint-url", &aws_endpoint(), "--region", "us-east-1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run audit verify");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn server_options(switch: &Switch, audit: &std::path::Path) -> Options {
    Options {
        policy: Some(POLICY.into()),
        audit_log: Some(audit.display().to_string()),
        env: vec![("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS".into(), switch.url())],
        ..Options::default()
    }
}

async fn refused_calls(s: &Server, n: usize) {
    for i in 0..n {
        let e = s
            .err(
                "delete_broker",
                json!({"BrokerId": format!("b-00000000-0000-0000-0000-0000000000{i:02}")}),
            )
            .await;
        assert!(e.contains("not from agents"), "{e}");
    }
}

/// Records reach the stream; while the endpoint is down they wait (readiness says so after
/// the threshold, the metrics count failures and lag); back up, they arrive; a server stopped
/// during an outage leaves records unshipped, and its restart ships them to the same stream.
/// The stream is then the local log: every record in order, duplicates identical, and
/// `audit verify --cloudwatch` proves its chain.
async fn every_record_arrives_through_an_outage_and_a_restart() {
    let group = new_group().await;
    let switch = Switch::start(endpoint_addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut opts = server_options(&switch, &audit);
    opts.args = [
        "--audit-cloudwatch",
        &group,
        "--audit-cloudwatch-unready-after",
        "1s",
        "--metrics",
        "127.0.0.1:0",
        "--drain-timeout",
        "2s",
    ]
    .map(String::from)
    .to_vec();
    let s = Server::start(opts.clone()).await;
    let metrics = address_on_stderr(&s.stderr, "metrics on ", "/metrics")
        .await
        .expect("metrics address");
    let ready = metrics.replace("/metrics", "/readyz");
    refused_calls(&s, 4).await;
    let stream = {
        let mut found = streams_made(&group).await;
        assert_eq!(found.len(), 1, "one stream per replica: {found:?}");
        found.remove(0)
    };
    shipped_all(&group, &stream, &audit, Duration::from_secs(20)).await;
    let shipped_before = messages(&group, &stream).await.len();

    // The outage.
    switch.down();
    refused_calls(&s, 5).await;
    readiness(
        &ready,
        "/readyz reporting the shipping outage",
        |_, body| body.contains("audit shipping to CloudWatch Logs has failed"),
    )
    .await;
    let m = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in {m}"))
    };
    assert!(value("guarded_audit_ship_failures_total") >= 1.0, "{m}");
    assert!(value("guarded_audit_ship_lag_records") >= 5.0, "{m}");
    assert!(value("guarded_audit_shipped_records_total") >= shipped_before as f64);
    assert_eq!(messages(&group, &stream).await.len(), shipped_before);

    // Back up: everything arrives, readiness recovers.
    switch.on();
    shipped_all(&group, &stream, &audit, Duration::from_secs(60)).await;
    readiness(&ready, "/readyz 200 again", |status, _| status == 200).await;

    // Down again, and the server stops: its last records stay in the local log.
    switch.down();
    refused_calls(&s, 3).await;
    let _ = s.stop().await;
    let local_at_stop = local_lines(&audit).len();
    let remote = messages(&group, &stream).await;
    assert!(
        local_lines(&audit).iter().any(|l| !remote.contains(l)),
        "records were left unshipped at the stop"
    );
    switch.on();
    let s = Server::start(opts).await;
    refused_calls(&s, 2).await;
    shipped_all(&group, &stream, &audit, Duration::from_secs(60)).await;
    let _ = s.stop().await;
    assert!(local_lines(&audit).len() > local_at_stop);
    assert_eq!(
        streams(&group).await,
        vec![stream.clone()],
        "the same stream"
    );
    same_records(&local_lines(&audit), &messages(&group, &stream).await);
    let (code, out) = verify_stream(&group, &stream, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("chain unbroken"), "{out}");
    assert!(
        out.contains(&format!("ok, {} records", local_lines(&audit).len())),
        "{out}"
    );
}

/// SIGTERM: the replica drains, writes its closing checkpoint and ships it with everything
/// before it before it exits 0; the stream verifies with the public key up to its last record.
async fn a_drained_replica_ships_its_last_records_and_checkpoint() {
    let group = new_group().await;
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("audit.key");
    let out = std::process::Command::new(BIN)
        .args(["audit", "keygen", "--out", key.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut s = HttpServer::start_with_env(
        HttpOptions {
            policy: POLICY.into(),
            tokens: vec![("ship-token-0123456789abcdef", "ops", vec![])],
            endpoint: aws_endpoint(),
            state: None,
            args: [
                "--audit-cloudwatch",
                &group,
                "--audit-signing-key",
                key.to_str().unwrap(),
            ]
            .map(String::from)
            .to_vec(),
        },
        &[],
    )
    .await;
    let client = s.client("ship-token-0123456789abcdef").await;
    for i in 0..3 {
        let r = call_on(
            &client,
            "delete_broker",
            json!({"BrokerId": format!("b-00000000-0000-0000-0000-0000000000{i:02}")}),
        )
        .await;
        assert!(text(&r).contains("not from agents"), "{}", text(&r));
    }
    drop(client);
    s.terminate();
    assert_eq!(s.exited().await, Some(0));
    let found = streams(&group).await;
    assert_eq!(found.len(), 1, "{found:?}");
    let local = local_lines(&s.audit);
    let last: Value = serde_json::from_str(local.last().unwrap()).unwrap();
    assert_eq!(last["outcome"]["status"], "checkpoint", "{last}");
    // Shipped before exit: nothing waits for another start.
    same_records(&local, &messages(&group, &found[0]).await);
    let public = format!("{}.pub", key.display());
    let (code, text) = verify_stream(&group, &found[0], &["--public-key", &public]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("with valid signatures"), "{text}");
    assert!(text.contains("0 records after it"), "{text}");
}

/// `--audit-cloudwatch-role`: the server assumes the role with its own credentials (STS, a
/// loopback fake here) and every request to CloudWatch Logs is signed with the role's
/// credentials, not the server's.
async fn a_role_of_its_own_signs_the_shipping() {
    let group = new_group().await;
    let sts = crate::identity::sts_and_mq_fake().await;
    let switch = Switch::start(endpoint_addr()).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = dir.path().join("audit.jsonl");
    let mut opts = server_options(&switch, &audit);
    opts.env
        .push(("AWS_ENDPOINT_URL_STS".into(), sts.url.clone()));
    opts.args = [
        "--audit-cloudwatch",
        &group,
        "--audit-cloudwatch-role",
        "arn:aws:iam::123456789012:role/auditshipper",
    ]
    .map(String::from)
    .to_vec();
    let s = Server::start(opts).await;
    refused_calls(&s, 2).await;
    let stream = streams_made(&group).await.remove(0);
    shipped_all(&group, &stream, &audit, Duration::from_secs(20)).await;
    let _ = s.stop().await;
    let assumed: Vec<_> = sts
        .requests()
        .into_iter()
        .filter(|r| r.body.contains("Action=AssumeRole"))
        .collect();
    assert!(!assumed.is_empty(), "the role was assumed");
    assert!(
        assumed
            .iter()
            .all(|r| r.body.contains("RoleSessionName=guarded-aws-mcp-audit")
                && r.body.contains("auditshipper")),
        "{:?}",
        assumed.iter().map(|r| r.body.clone()).collect::<Vec<_>>()
    );
    assert!(
        assumed.iter().all(|r| r.access_key_id() == Some("testing")),
        "assumed with the server's own credentials"
    );
    let signed = switch.signed_by.lock().unwrap().clone();
    assert!(!signed.is_empty(), "requests reached CloudWatch Logs");
    assert!(
        signed.iter().all(|k| k == "ASIAAUDITSHIPPER"),
        "every request signed with the role's key: {signed:?}"
    );
}

/// A log group that does not exist stops the start with a clear message.
async fn a_missing_log_group_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(BIN)
        .args(["serve", "--audit-cloudwatch", "/guarded/no-such-group"])
        .arg("--audit-log")
        .arg(dir.path().join("audit.jsonl"))
        .env("AWS_ENDPOINT_URL", aws_endpoint())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--audit-cloudwatch: the log group /guarded/no-such-group does not exist"),
        "{err}"
    );
}

pub fn trials() -> Vec<Trial> {
    let needs = Needs::Logs;
    vec![
        trial(
            "shipping::every_record_arrives_through_an_outage_and_a_restart",
            needs,
            every_record_arrives_through_an_outage_and_a_restart,
        ),
        trial(
            "shipping::a_drained_replica_ships_its_last_records_and_checkpoint",
            needs,
            a_drained_replica_ships_its_last_records_and_checkpoint,
        ),
        trial(
            "shipping::a_role_of_its_own_signs_the_shipping",
            needs,
            a_role_of_its_own_signs_the_shipping,
        ),
        trial(
            "shipping::a_missing_log_group_stops_the_start",
            needs,
            a_missing_log_group_stops_the_start,
        ),
    ]
}
