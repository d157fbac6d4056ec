//! Issue 17: OpenTelemetry. A loopback OTLP/HTTP receiver decodes what the server exports
//! (protobuf, with the `opentelemetry-proto` types): the spans of a denied and an allowed call,
//! joined to the client's trace from `_meta.traceparent` or the HTTP `traceparent` header, with
//! no argument values in them; and the metrics, with exact counts.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use libtest_mimic::Trial;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{metric, number_data_point};
use opentelemetry_proto::tonic::trace::v1::{Span, span};
use prost::Message;
use rmcp::model::{CallToolRequestParams, RequestMetaObject};
use serde_json::json;

use crate::gate::fake_mq;
use crate::http::raw_post;
use crate::support::{HttpOptions, HttpServer, Needs, Options, Server, text, trial};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
const BROKER_PASSWORD: &str = "Tr4ce-me-not-0123456789";

/// What the receiver was sent.
#[derive(Default)]
struct Received {
    traces: Vec<ExportTraceServiceRequest>,
    metrics: Vec<ExportMetricsServiceRequest>,
    /// Every request body as it came, to search for what must not be there.
    raw: Vec<u8>,
}

/// An OTLP/HTTP receiver on 127.0.0.1 (`/v1/traces`, `/v1/metrics`, protobuf).
struct Receiver {
    url: String,
    got: Arc<Mutex<Received>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let got = Arc::new(Mutex::new(Received::default()));
        let (t, m) = (got.clone(), got.clone());
        let app = axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(move |body: Bytes| async move {
                    let req = ExportTraceServiceRequest::decode(body.as_ref()).expect("traces");
                    let mut g = t.lock().unwrap();
                    g.raw.extend_from_slice(&body);
                    g.traces.push(req);
                    protobuf_ok()
                }),
            )
            .route(
                "/v1/metrics",
                axum::routing::post(move |body: Bytes| async move {
                    let req = ExportMetricsServiceRequest::decode(body.as_ref()).expect("metrics");
                    let mut g = m.lock().unwrap();
                    g.raw.extend_from_slice(&body);
                    g.metrics.push(req);
                    protobuf_ok()
                }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { url, got }
    }

    /// The variables that point a server at this receiver, exporting quickly.
    fn env(&self) -> Vec<(String, String)> {
        vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT".into(), self.url.clone()),
            ("OTEL_BSP_SCHEDULE_DELAY".into(), "100".into()),
            ("OTEL_METRIC_EXPORT_INTERVAL".into(), "200".into()),
        ]
    }

    fn spans(&self) -> Vec<Span> {
        let g = self.got.lock().unwrap();
        g.traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    /// Wait (up to 20 s) until a span named `name` has arrived with its children.
    async fn wait_for_span(&self, name: &str, children: usize) -> (Span, Vec<Span>) {
        for _ in 0..200 {
            let spans = self.spans();
            if let Some(root) = spans.iter().find(|s| s.name == name) {
                let kids: Vec<Span> = spans
                    .iter()
                    .filter(|s| s.parent_span_id == root.span_id)
                    .cloned()
                    .collect();
                if kids.len() >= children {
                    return (root.clone(), kids);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let names: Vec<String> = self.spans().into_iter().map(|s| s.name).collect();
        panic!("no span {name} with {children} children; got {names:?}");
    }

    /// The latest value of a counter's data point whose attributes include `attrs`.
    fn counter(&self, name: &str, attrs: &[(&str, &str)]) -> Option<i64> {
        let g = self.got.lock().unwrap();
        let mut last = None;
        for m in g
            .metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| &s.metrics)
            .filter(|m| m.name == name)
        {
            let Some(metric::Data::Sum(sum)) = &m.data else {
                continue;
            };
            for p in &sum.data_points {
                if attrs
                    .iter()
                    .all(|(k, v)| string_attr(&p.attributes, k).as_deref() == Some(*v))
                    && let Some(number_data_point::Value::AsInt(v)) = p.value
                {
                    last = Some(v);
                }
            }
        }
        last
    }

    fn raw_contains(&self, needle: &str) -> bool {
        let g = self.got.lock().unwrap();
        g.raw.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

fn protobuf_ok() -> impl axum::response::IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
        Vec::<u8>::new(),
    )
}

fn string_attr(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| match kv.value.as_ref() {
            Some(AnyValue {
                value: Some(any_value::Value::StringValue(s)),
            }) => Some(s.clone()),
            _ => None,
        })
}

fn names(spans: &[Span]) -> Vec<String> {
    let mut n: Vec<String> = spans.iter().map(|s| s.name.clone()).collect();
    n.sort();
    n
}

fn traceparent(trace_id: &str, parent: &str) -> String {
    format!("00-{trace_id}-{parent}-01")
}

const POLICY: &str = "version: 1\ndefault: allow\ntools:\n  create_broker_user:\n    - action: deny\n      reason: no new broker users\n";

/// A denied call and an allowed one, each sent with `_meta.traceparent`: the server spans
/// continue the client's trace, name the gate's steps as children, carry the decision, the
/// rule and the AWS operation, and never an argument value.
async fn spans_continue_the_clients_trace_from_meta() {
    let otlp = Receiver::start().await;
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some(POLICY.into()),
        endpoint: Some(fake.url.clone()),
        env: otlp.env(),
        args: vec!["--principal".into(), "alice".into()],
        ..Options::default()
    })
    .await;
    let call = |name: &'static str, args: serde_json::Value, parent: &str| {
        let mut meta = RequestMetaObject::default();
        meta.insert("traceparent".into(), traceparent(TRACE_ID, parent).into());
        let mut p = CallToolRequestParams::new(name);
        p.arguments = args.as_object().cloned();
        p.meta = Some(meta);
        p
    };
    let denied = s
        .client
        .call_tool(call(
            "create_broker_user",
            json!({"BrokerId": "b-1234", "Username": "app", "Password": BROKER_PASSWORD}),
            PARENT_ID,
        ))
        .await
        .expect("answered");
    assert!(
        text(&denied).starts_with("Denied by policy:"),
        "{}",
        text(&denied)
    );
    let allowed = s
        .client
        .call_tool(call("list_brokers", json!({}), "1111111111111111"))
        .await
        .expect("answered");
    assert_ne!(allowed.is_error, Some(true), "{}", text(&allowed));

    let (root, kids) = otlp.wait_for_span("tools/call create_broker_user", 2).await;
    assert_eq!(hex(&root.trace_id), TRACE_ID, "joined the client's trace");
    assert_eq!(
        hex(&root.parent_span_id),
        PARENT_ID,
        "child of the client's span"
    );
    assert_eq!(root.kind, span::SpanKind::Server as i32);
    let attr = |s: &Span, k: &str| string_attr(&s.attributes, k);
    assert_eq!(
        attr(&root, "gen_ai.tool.name").as_deref(),
        Some("create_broker_user")
    );
    assert_eq!(
        attr(&root, "mcp.method.name").as_deref(),
        Some("tools/call")
    );
    assert_eq!(attr(&root, "enduser.id").as_deref(), Some("alice"));
    assert_eq!(attr(&root, "guarded.class").as_deref(), Some("write"));
    assert_eq!(attr(&root, "guarded.decision").as_deref(), Some("deny"));
    assert_eq!(attr(&root, "guarded.outcome").as_deref(), Some("denied"));
    assert_eq!(attr(&root, "error.type").as_deref(), Some("denied"));
    assert!(attr(&root, "guarded.rule").is_some_and(|r| r.contains("create_broker_user")));
    assert_eq!(
        root.status.as_ref().map(|s| s.code),
        Some(2),
        "status error"
    );
    // A refused call never reached a rate limit or AWS.
    assert_eq!(names(&kids), ["decide", "validate"]);

    let (root, kids) = otlp.wait_for_span("tools/call list_brokers", 4).await;
    assert_eq!(hex(&root.trace_id), TRACE_ID);
    assert_eq!(hex(&root.parent_span_id), "1111111111111111");
    assert_eq!(attr(&root, "guarded.decision").as_deref(), Some("allow"));
    assert_eq!(attr(&root, "guarded.outcome").as_deref(), Some("ok"));
    assert!(attr(&root, "error.type").is_none());
    assert_eq!(
        names(&kids),
        ["decide", "mq ListBrokers", "rate_limit", "validate"]
    );
    let aws = kids.iter().find(|k| k.name == "mq ListBrokers").unwrap();
    assert_eq!(aws.kind, span::SpanKind::Client as i32);
    assert_eq!(attr(aws, "rpc.system").as_deref(), Some("aws-api"));
    assert_eq!(attr(aws, "rpc.service").as_deref(), Some("mq"));
    assert_eq!(attr(aws, "rpc.method").as_deref(), Some("ListBrokers"));

    // Metrics over OTLP, exact counts.
    let counted = || {
        (
            otlp.counter(
                "guarded.tool.calls",
                &[
                    ("gen_ai.tool.name", "create_broker_user"),
                    ("guarded.outcome", "denied"),
                ],
            ),
            otlp.counter(
                "guarded.tool.calls",
                &[
                    ("gen_ai.tool.name", "list_brokers"),
                    ("guarded.outcome", "ok"),
                ],
            ),
        )
    };
    let exact = (Some(1), Some(1));
    crate::support::eventually(
        Duration::from_secs(10),
        "each call counted once over OTLP",
        || counted() == exact,
    )
    .await;

    // Neither the password nor the broker id (argument values) went anywhere.
    assert!(!otlp.raw_contains(BROKER_PASSWORD));
    assert!(!otlp.raw_contains("b-1234"));
    s.stop().await;
}

/// Over HTTP the `traceparent` header joins the trace when `_meta` has none.
async fn spans_continue_the_trace_of_the_http_header() {
    let otlp = Receiver::start().await;
    let fake = fake_mq().await;
    let env = otlp.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let s = HttpServer::start_with_env(
        HttpOptions {
            policy: POLICY.into(),
            tokens: vec![("tok-alice-0123456789abcdef", "alice", vec![])],
            endpoint: fake.url.clone(),
            state: None,
            args: Vec::new(),
        },
        &env,
    )
    .await;
    let token = (
        "authorization",
        "Bearer tok-alice-0123456789abcdef".to_string(),
    );
    let version = ("mcp-protocol-version", "2025-11-25".to_string());
    let (status, body, headers) = raw_post(
        &s.url,
        &[token.clone(), version.clone()],
        &crate::http::initialize(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let session = crate::http::header(&headers, "mcp-session-id").expect("session");
    let with = |extra: Option<(&'static str, String)>| {
        let mut h = vec![
            token.clone(),
            version.clone(),
            ("mcp-session-id", session.clone()),
        ];
        h.extend(extra);
        h
    };
    raw_post(
        &s.url,
        &with(None),
        &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
    )
    .await;
    let parent = "2222222222222222";
    let trace = "aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb";
    let (status, body, _) = raw_post(
        &s.url,
        &with(Some(("traceparent", traceparent(trace, parent)))),
        &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                "params": {"name": "list_brokers", "arguments": {}}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("\"isError\":true"), "{body}");
    let (root, _) = otlp.wait_for_span("tools/call list_brokers", 4).await;
    assert_eq!(hex(&root.trace_id), trace);
    assert_eq!(hex(&root.parent_span_id), parent);
    // The token never leaves in a span or metric.
    assert!(!otlp.raw_contains("tok-alice-0123456789abcdef"));
    s.stop().await;
}

/// Without the variables nothing is exported, and a bad protocol is refused at start.
async fn nothing_is_exported_unless_asked_and_grpc_is_refused() {
    let otlp = Receiver::start().await;
    let fake = fake_mq().await;
    let s = Server::start(Options {
        policy: Some(POLICY.into()),
        endpoint: Some(fake.url.clone()),
        ..Options::default()
    })
    .await;
    s.ok("list_brokers", json!({})).await;
    s.stop().await;
    assert!(otlp.spans().is_empty());

    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_guarded-aws-mcp"))
        .args(["serve", "--audit-log", "/dev/null"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &otlp.url)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL=grpc is not supported"),
        "{stderr}"
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn trials() -> Vec<Trial> {
    vec![
        trial(
            "telemetry::spans_continue_the_clients_trace_from_meta",
            Needs::Nothing,
            spans_continue_the_clients_trace_from_meta,
        ),
        trial(
            "telemetry::spans_continue_the_trace_of_the_http_header",
            Needs::Nothing,
            spans_continue_the_trace_of_the_http_header,
        ),
        trial(
            "telemetry::nothing_is_exported_unless_asked_and_grpc_is_refused",
            Needs::Nothing,
            nothing_is_exported_unless_asked_and_grpc_is_refused,
        ),
    ]
}
