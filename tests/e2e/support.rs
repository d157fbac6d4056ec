//! Test support: run the real binary over stdio with rmcp's client, and a small recording
//! AWS endpoint on 127.0.0.1 for operations the local AWS fake lacks and for proving that a
//! refused call made no AWS call.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use libtest_mimic::{Completion, Failed, Trial};
use rmcp::model::{CallToolRequestParams, CallToolResult, Tool};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::TokioChildProcess;
use rmcp::{ClientHandler, ServiceExt};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const BIN: &str = env!("CARGO_BIN_EXE_guarded-aws-mcp");

/// The AWS endpoint the tests run against: `GUARDED_TEST_AWS_ENDPOINT`, else the moto server
/// the test command started (`GUARDED_TEST_MOTO_ENDPOINT`).
/// An AWS SDK configuration for the test target (static test credentials, us-east-1), for
/// tests that set up or check AWS state directly.
pub fn sdk_config() -> aws_types::SdkConfig {
    aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_types::region::Region::new("us-east-1"))
        .endpoint_url(aws_endpoint())
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new("testing", "testing", None, None, "test"),
            ),
        )
        .build()
}

pub fn aws_endpoint() -> String {
    std::env::var("GUARDED_TEST_AWS_ENDPOINT")
        .ok()
        .filter(|e| !e.is_empty())
        .ok_or(())
        .or_else(|_| std::env::var("GUARDED_TEST_MOTO_ENDPOINT"))
        .unwrap_or_else(|_| {
            panic!("no AWS endpoint: run the suite with scripts/test.sh (which starts moto on 127.0.0.1), or set GUARDED_TEST_AWS_ENDPOINT")
        })
}

/// The kind of AWS endpoint the tests run against (`GUARDED_TEST_TARGET`, default `moto`).
pub fn target() -> String {
    std::env::var("GUARDED_TEST_TARGET").unwrap_or_else(|_| "moto".into())
}

/// What a test needs from its environment beyond the loopback fakes it starts itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    Nothing,
    /// Amazon MQ on the target endpoint.
    Mq,
    /// IAM on the target endpoint.
    Iam,
    /// IAM with AWS managed policies (ReadOnlyAccess ...) on the target endpoint.
    ManagedPolicies,
    /// A RabbitMQ management API (`GUARDED_TEST_RABBITMQ_URL`).
    RabbitMq,
    /// A redis-server binary to start private Redis servers with.
    Redis,
    /// CloudWatch Logs on the target endpoint, where the test may make log groups.
    Logs,
}

/// Why the target cannot serve a test, or None when it can. The target is named by
/// `GUARDED_TEST_TARGET`: `moto` (the default), `localstack` (community), `localstack-pro`, `aws`.
pub fn missing(needs: Needs) -> Option<String> {
    let target = target();
    match (needs, target.as_str()) {
        (Needs::Nothing, _) => None,
        (Needs::Redis, _) => redis_server_bin()
            .is_none()
            .then(|| "no redis-server binary: set GUARDED_TEST_REDIS_SERVER or install redis-server".to_string()),
        (Needs::RabbitMq, _) => std::env::var("GUARDED_TEST_RABBITMQ_URL")
            .is_err()
            .then(|| "no RabbitMQ management API: GUARDED_TEST_RABBITMQ_URL is not set".to_string()),
        (Needs::Mq, "localstack") => {
            Some("LocalStack community serves no Amazon MQ (it answers 501: LocalStack Pro only)".into())
        }
        (Needs::Logs, "aws") => Some(
            "makes CloudWatch Logs groups of its own: not run against real AWS".into(),
        ),
        (Needs::Mq, "aws") => Some(
            "creates billable Amazon MQ brokers, which take about 20 minutes to start: not run against real AWS".into(),
        ),
        (_, "moto" | "localstack" | "localstack-pro" | "aws") => None,
        (_, other) => Some(format!("unknown GUARDED_TEST_TARGET {other:?}: moto, localstack, localstack-pro or aws")),
    }
}

/// An async test, ignored with the reason when its needs are not met.
pub fn trial<F, Fut>(name: &str, needs: Needs, f: F) -> Trial
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    Trial::ignorable_test(name, move || {
        if let Some(reason) = missing(needs) {
            return Ok(Completion::ignored_with(reason));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failed::from(e.to_string()))?;
        rt.block_on(f());
        Ok(Completion::Completed)
    })
}

/// A synchronous test.
pub fn trial_sync(name: &str, needs: Needs, f: fn()) -> Trial {
    Trial::ignorable_test(name, move || {
        if let Some(reason) = missing(needs) {
            return Ok(Completion::ignored_with(reason));
        }
        f();
        Ok(Completion::Completed)
    })
}

/// `eventually` for what takes I/O to see (an HTTP answer, an AWS read): `check` is awaited
/// every 20 ms until it gives a value; the test fails, naming `what` and the last thing `check`
/// saw, when it has not within `within`.
pub async fn eventually_some<T, F, Fut>(within: std::time::Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = std::time::Instant::now() + within;
    loop {
        let seen = match check().await {
            Ok(v) => return v,
            Err(seen) => seen,
        };
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what} (last seen: {seen})"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A unique name for this test's AWS resources.
/// Wait for an event: `check` is asked every 20 ms until it holds; the test fails, naming
/// `what`, when it has not after `within`. Tests wait on what they expect to happen, never for
/// an amount of time to pass.
pub async fn eventually(within: std::time::Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !check() {
        assert!(
            std::time::Instant::now() < deadline,
            "never happened: {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

pub struct Server<H: ClientHandler = ()> {
    pub client: RunningService<RoleClient, H>,
    pub audit: PathBuf,
    /// The embedded store's approvals directory (`--approvals-dir`) of this server.
    pub approvals: PathBuf,
    pub stderr: PathBuf,
    /// The policy file written from `Options::policy`, if any.
    pub policy_path: Option<PathBuf>,
    _dir: tempfile::TempDir,
    tools: Vec<Tool>,
}

#[derive(Default, Clone)]
pub struct Options {
    /// Policy YAML text; the built-in default when None and `policy_file` is None.
    pub policy: Option<String>,
    pub policy_file: Option<String>,
    pub read_only: bool,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Extra environment, for example a per-service endpoint.
    pub env: Vec<(String, String)>,
    /// Extra arguments of `serve` (`--state redis://...`, `--principal ...`).
    pub args: Vec<String>,
    /// Start the client the 2026-07-28 way (`server/discover`, per-request metadata) instead
    /// of the `initialize` handshake.
    pub discover: bool,
    /// `--audit-log` instead of a file in the test's folder (`/dev/full`).
    pub audit_log: Option<String>,
}

impl Server {
    pub async fn start(opts: Options) -> Server {
        Server::start_with(opts, ()).await
    }

    pub async fn on_target(policy_file: &str) -> Server {
        Server::start(Options {
            policy_file: Some(policy_file.into()),
            ..Options::default()
        })
        .await
    }
}

impl<H: ClientHandler> Server<H> {
    /// Start the server with a client that answers the server's requests with `handler`.
    pub async fn start_with(opts: Options, handler: H) -> Server<H> {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let stderr = dir.path().join("stderr.log");
        let approvals = dir.path().join("approvals");
        let mut cmd = tokio::process::Command::new(BIN);
        let audit_arg = opts
            .audit_log
            .clone()
            .map(PathBuf::from)
            .unwrap_or_else(|| audit.clone());
        cmd.arg("serve")
            .arg("--audit-log")
            .arg(&audit_arg)
            .arg("--approvals-dir")
            .arg(&approvals)
            .args(&opts.args);
        let mut policy_path = None;
        if let Some(text) = &opts.policy {
            let p = dir.path().join("policy.yaml");
            std::fs::write(&p, text).expect("write policy");
            cmd.arg("--policy").arg(&p);
            policy_path = Some(p);
        } else if let Some(f) = &opts.policy_file {
            cmd.arg("--policy")
                .arg(format!("{}/{f}", env!("CARGO_MANIFEST_DIR")));
        }
        if opts.read_only {
            cmd.arg("--read-only");
        }
        cmd.env_remove("GUARDED_AWS_MCP_POLICY")
            .env("RUST_LOG", "trace");
        if target() == "aws" && opts.endpoint.is_none() {
            // A real account: the caller's own credential chain and region, no endpoint.
            if let Some(r) = &opts.region {
                cmd.env("AWS_REGION", r);
            }
        } else {
            cmd.env_remove("AWS_PROFILE")
                .env("AWS_ACCESS_KEY_ID", "testing")
                .env("AWS_SECRET_ACCESS_KEY", "testing")
                .env("AWS_REGION", opts.region.as_deref().unwrap_or("us-east-1"))
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
                .env(
                    "AWS_SHARED_CREDENTIALS_FILE",
                    dir.path().join("no-credentials"),
                )
                .env(
                    "AWS_ENDPOINT_URL",
                    opts.endpoint.clone().unwrap_or_else(aws_endpoint),
                );
        }
        // The test's own variables last: they may replace the defaults (credentials).
        cmd.envs(opts.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let log = std::fs::File::create(&stderr).expect("stderr file");
        let (transport, _) = TokioChildProcess::builder(cmd)
            .stderr(Stdio::from(log))
            .spawn()
            .expect("spawn server");
        let client = start_client(handler, transport, opts.discover).await;
        let tools = client.list_all_tools().await.expect("tools/list");
        Server {
            client,
            audit,
            approvals,
            stderr,
            policy_path,
            _dir: dir,
            tools,
        }
    }

    pub fn tools(&self) -> &[Tool] {
        &self.tools
    }

    pub async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let mut params = CallToolRequestParams::new(name.to_string());
        if let Value::Object(map) = args {
            params = params.with_arguments(map);
        }
        self.client
            .call_tool(params)
            .await
            .expect("tools/call answered")
    }

    /// Call a tool that must succeed; check its structured result against its output schema.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let r = self.call(name, args).await;
        let text = text(&r);
        assert_ne!(r.is_error, Some(true), "{name} failed: {text}");
        let structured = r.structured_content.clone().expect("structuredContent");
        let parsed: Value = serde_json::from_str(&text).expect("text content is JSON");
        assert_eq!(parsed, structured, "text and structuredContent differ");
        let tool = self
            .tools
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("{name} not listed"));
        let schema = Value::Object(
            tool.output_schema
                .clone()
                .expect("outputSchema")
                .as_ref()
                .clone(),
        );
        let validator = jsonschema::validator_for(&schema).expect("output schema compiles");
        if let Err(e) = validator.validate(&structured) {
            panic!("{name}: result does not match outputSchema: {e}\n{structured:#}");
        }
        structured
    }

    /// Call a tool that must fail; return the error text.
    pub async fn err(&self, name: &str, args: Value) -> String {
        let r = self.call(name, args).await;
        assert_eq!(r.is_error, Some(true), "{name} should fail: {}", text(&r));
        assert!(r.structured_content.is_none());
        text(&r)
    }

    /// The audit records of finished calls (without the `started` record each non-read call
    /// writes before it runs).
    pub fn audit_records(&self) -> Vec<Value> {
        finished(&self.audit)
    }

    pub async fn stop(self) -> (String, String) {
        let _ = self.client.cancel().await;
        let audit = std::fs::read_to_string(&self.audit).unwrap_or_default();
        let stderr = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        (audit, stderr)
    }
}

/// The address a server prints on stderr after `announce` (`listening on `, `metrics on `),
/// ending with `suffix`; waits up to 10 s for the whole line (a half-written one would give a
/// cut address).
pub async fn address_on_stderr(
    stderr: &std::path::Path,
    announce: &str,
    suffix: &str,
) -> Option<String> {
    for _ in 0..200 {
        let log = std::fs::read_to_string(stderr).unwrap_or_default();
        let found = log.lines().find_map(|l| {
            let (_, url) = l.split_once(announce)?;
            (url.starts_with("http://") && url.ends_with(suffix)).then(|| url.to_string())
        });
        if found.is_some() {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    None
}

/// The records of an audit log other than `started` ones.
pub fn finished(audit: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(audit)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("audit line is JSON"))
        .filter(|r| r["outcome"]["status"] != "started")
        .collect()
}

/// Start an MCP client on a transport: the `initialize` handshake, or with `discover` the
/// 2026-07-28 way (`server/discover`, metadata on every request).
async fn start_client<H, T, E, A>(
    handler: H,
    transport: T,
    discover: bool,
) -> RunningService<RoleClient, H>
where
    H: ClientHandler,
    T: rmcp::transport::IntoTransport<RoleClient, E, A>,
    E: std::error::Error + Send + Sync + 'static,
{
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    let result = if discover {
        handler
            .serve_with_lifecycle(
                transport,
                ClientLifecycleMode::Discover {
                    preferred_versions: vec![rmcp::model::ProtocolVersion::V_2026_07_28],
                },
            )
            .await
    } else {
        handler.serve(transport).await
    };
    result.unwrap_or_else(|e| panic!("MCP client start (discover: {discover}): {e}"))
}

pub fn text(r: &CallToolResult) -> String {
    r.content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One request the fake endpoint received.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub query: String,
    pub body: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    /// A header's value (name in lower case).
    #[allow(dead_code)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The access key id a SigV4-signed request was signed with.
    #[allow(dead_code)]
    pub fn access_key_id(&self) -> Option<&str> {
        let auth = self.header("authorization")?;
        let cred = auth.split("Credential=").nth(1)?;
        cred.split('/').next()
    }
}

pub type Responder = dyn Fn(&Request) -> (u16, String) + Send + Sync;

/// A recording HTTP endpoint on 127.0.0.1 that answers like an AWS REST-JSON service.
pub struct FakeAws {
    pub url: String,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl FakeAws {
    pub async fn start(responder: Arc<Responder>) -> FakeAws {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let recorded = recorded.clone();
                let responder = responder.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    loop {
                        let Some(req) = read_request(&mut sock, &mut buf).await else {
                            return;
                        };
                        recorded.lock().unwrap().push(req.clone());
                        let (status, body) = responder(&req);
                        let head = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\nx-amzn-requestid: fake-{}\r\ncontent-length: {}\r\n\r\n",
                            recorded.lock().unwrap().len(),
                            body.len()
                        );
                        if sock.write_all(head.as_bytes()).await.is_err()
                            || sock.write_all(body.as_bytes()).await.is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        FakeAws { url, requests }
    }

    /// An endpoint that answers every request with a NotFoundException.
    pub async fn not_found() -> FakeAws {
        FakeAws::start(Arc::new(|_| {
            (
                404,
                r#"{"errorAttribute":"x","message":"not here"}"#.to_string(),
            )
        }))
        .await
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

async fn read_request(sock: &mut tokio::net::TcpStream, buf: &mut Vec<u8>) -> Option<Request> {
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.lines();
    let mut first = lines.next()?.split_whitespace();
    let method = first.next()?.to_string();
    let target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
    buf.drain(..head_end + len);
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        body,
        headers,
    })
}

/// A server on streamable HTTP (`serve --http 127.0.0.1:0`) with a tokens file.
pub struct HttpServer {
    child: tokio::process::Child,
    pub url: String,
    pub audit: PathBuf,
    pub stderr: PathBuf,
    /// The embedded store's approvals directory (`--approvals-dir`).
    #[allow(dead_code)]
    pub approvals: PathBuf,
    _dir: tempfile::TempDir,
}

pub struct HttpOptions {
    pub policy: String,
    /// token, principal, roles
    pub tokens: Vec<(&'static str, &'static str, Vec<&'static str>)>,
    pub endpoint: String,
    /// `--state`; memory when None.
    pub state: Option<String>,
    /// More arguments of `serve`.
    pub args: Vec<String>,
}

impl HttpServer {
    pub async fn start(o: HttpOptions) -> HttpServer {
        HttpServer::start_with_env(o, &[]).await
    }

    /// Started with more environment variables.
    pub async fn start_with_env(o: HttpOptions, env: &[(&str, &str)]) -> HttpServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = dir.path().join("audit.jsonl");
        let stderr = dir.path().join("stderr.log");
        let approvals = dir.path().join("approvals");
        let policy = dir.path().join("policy.yaml");
        std::fs::write(&policy, &o.policy).expect("write policy");
        let tokens = dir.path().join("tokens.yaml");
        let entries: Vec<Value> = o
            .tokens
            .iter()
            .map(|(t, p, r)| {
                serde_json::json!({"principal": p, "roles": r,
                    "sha256": guarded_aws_mcp::transport::tokens::hash(t)})
            })
            .collect();
        std::fs::write(
            &tokens,
            serde_json::json!({ "tokens": entries }).to_string(),
        )
        .expect("write tokens");
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("serve").arg("--http").arg("127.0.0.1:0");
        if !o.tokens.is_empty() {
            cmd.arg("--tokens").arg(&tokens);
        }
        cmd.arg("--policy")
            .arg(&policy)
            .arg("--audit-log")
            .arg(&audit)
            .arg("--approvals-dir")
            .arg(&approvals)
            .arg("--state")
            .arg(o.state.as_deref().unwrap_or("memory"))
            .args(&o.args)
            .env_remove("GUARDED_AWS_MCP_POLICY")
            .env_remove("AWS_PROFILE")
            .env("RUST_LOG", "debug")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", dir.path().join("no-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                dir.path().join("no-credentials"),
            )
            .env("AWS_ENDPOINT_URL", &o.endpoint)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&stderr).expect("stderr")))
            .kill_on_drop(true);
        let child = cmd.spawn().expect("spawn HTTP server");
        let url = address_on_stderr(&stderr, "listening on ", "/mcp").await;
        let url = url.unwrap_or_else(|| {
            panic!(
                "HTTP server did not start: {}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        });
        HttpServer {
            child,
            url,
            audit,
            stderr,
            approvals,
            _dir: dir,
        }
    }

    /// An MCP client that authenticates with `token`.
    pub async fn client(&self, token: &str) -> RunningService<RoleClient, ()> {
        self.client_with(token, (), false).await
    }

    /// A client with its own handler; `discover`: the 2026-07-28 way (no `initialize`).
    pub async fn client_with<H: ClientHandler>(
        &self,
        token: &str,
        handler: H,
        discover: bool,
    ) -> RunningService<RoleClient, H> {
        use rmcp::transport::StreamableHttpClientTransport;
        use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
        let transport = StreamableHttpClientTransport::from_config(
            StreamableHttpClientTransportConfig::with_uri(self.url.clone()).auth_header(token),
        );
        start_client(handler, transport, discover).await
    }

    /// The audit records of finished calls (without the `started` record each non-read call
    /// writes before it runs).
    pub fn audit_records(&self) -> Vec<Value> {
        finished(&self.audit)
    }

    /// Every audit record, `started` ones included.
    #[allow(dead_code)]
    pub fn all_audit_records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }

    pub async fn stop(mut self) -> String {
        let _ = self.child.kill().await;
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Send SIGTERM, as Kubernetes does to stop a pod.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("the server runs") as i32;
        // SAFETY: kill(2) on a child process id this test started and has not reaped.
        let r = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(r, 0, "SIGTERM sent");
    }

    /// Wait for the process to exit; its exit code.
    pub async fn exited(&mut self) -> Option<i32> {
        self.child.wait().await.ok().and_then(|s| s.code())
    }

    /// The listener's base address (`http://127.0.0.1:PORT`).
    pub fn base(&self) -> String {
        self.url.trim_end_matches("/mcp").to_string()
    }
}

/// Call a tool on any running client.
pub async fn call_on<H: ClientHandler>(
    client: &RunningService<RoleClient, H>,
    name: &str,
    args: Value,
) -> CallToolResult {
    let mut params = CallToolRequestParams::new(name.to_string());
    if let Value::Object(map) = args {
        params = params.with_arguments(map);
    }
    client.call_tool(params).await.expect("tools/call answered")
}

/// A private redis-server on a loopback port, which a test may stop and start again.
pub struct Redis {
    pub port: u16,
    child: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

/// The redis-server binary: `GUARDED_TEST_REDIS_SERVER`, else `redis-server` on PATH.
pub fn redis_server_bin() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("GUARDED_TEST_REDIS_SERVER") {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
            .map(|d| d.join("redis-server"))
            .find(|p| p.is_file())
    })
}

impl Redis {
    pub async fn start() -> Redis {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut r = Redis {
            port,
            child: None,
            _dir: tempfile::tempdir().expect("tempdir"),
        };
        r.up().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Start (or start again) on the same port.
    pub async fn up(&mut self) {
        let bin = redis_server_bin().expect("redis-server");
        let child = std::process::Command::new(bin)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(self._dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        for _ in 0..100 {
            if let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await {
                let _ = s.write_all(b"PING\r\n").await;
                let mut buf = [0u8; 16];
                if let Ok(n) = s.read(&mut buf).await
                    && buf[..n].starts_with(b"+PONG")
                {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("redis-server did not start on port {}", self.port);
    }

    /// Stop it (SIGKILL: as if the host died).
    pub fn down(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.down();
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A moto server of a test's own (so it can be stopped and started again, or run with
/// settings of its own such as IAM enforcement).
pub struct OwnMoto {
    child: std::process::Child,
    pub port: u16,
}

impl OwnMoto {
    pub fn start(port: u16) -> OwnMoto {
        OwnMoto::start_with(port, &[])
    }

    /// With more environment for moto (`INITIAL_NO_AUTH_ACTION_COUNT`).
    pub fn start_with(port: u16, env: &[(&str, &str)]) -> OwnMoto {
        let bin = std::env::var("GUARDED_TEST_MOTO_BIN")
            .expect("GUARDED_TEST_MOTO_BIN (set by scripts/test.sh)");
        let child = std::process::Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        OwnMoto { child, port }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
