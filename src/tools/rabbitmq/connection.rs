//! A session's connection to a broker's management API: allowed hosts, requests, errors.

use super::*;

/// How a session reaches one broker's management API.
#[derive(Clone)]
pub(super) struct Connection {
    pub(super) base: reqwest::Url,
    auth: Auth,
    http: reqwest::Client,
}

#[derive(Clone)]
pub(super) enum Auth {
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print credentials.
        f.debug_struct("Connection")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

/// The RabbitMQ connections of every MCP session, by session id. In memory only.
pub struct Connections {
    by_session: Mutex<HashMap<String, Connection>>,
    /// Hosts a connection may send credentials to.
    allowed_hosts: Vec<HostPattern>,
}

/// Where credentials may go unless configured otherwise: loopback, and Amazon MQ brokers.
pub const DEFAULT_ALLOWED_HOSTS: &[&str] = &[
    "localhost",
    "127.0.0.0/8",
    "::1",
    "*.mq.*.amazonaws.com",
    "*.mq.*.amazonaws.com.cn",
    "*.mq.*.on.aws",
];

impl Default for Connections {
    /// The default hosts only (they are valid globs; were they not, no host would be allowed).
    fn default() -> Self {
        Connections::with_allowed_hosts(&[]).unwrap_or_else(|_| Connections {
            by_session: Mutex::default(),
            allowed_hosts: Vec::new(),
        })
    }
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections").finish_non_exhaustive()
    }
}

impl Connections {
    /// Connections that may reach only the default hosts ([`DEFAULT_ALLOWED_HOSTS`]) and these
    /// ([`HostPattern`]s such as `*.mq.eu-west-1.amazonaws.com`, `rabbit.internal`,
    /// `10.0.0.0/8` or `10.0.0.*`).
    pub fn with_allowed_hosts(extra: &[String]) -> Result<Self, HostPatternError> {
        let allowed_hosts = DEFAULT_ALLOWED_HOSTS
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .map(HostPattern::parse)
            .collect::<Result<_, _>>()?;
        Ok(Connections {
            by_session: Mutex::default(),
            allowed_hosts,
        })
    }

    /// Refuse a management URL whose host is not allowed, before anything is sent to it.
    pub(super) fn check_host(&self, url: &reqwest::Url) -> Result<(), ArgError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        if let Some(h) = url.host()
            && self.allowed_hosts.iter().any(|p| p.allows(&h))
        {
            return Ok(());
        }
        Err(ArgError::rule(
            "management_url",
            format!(
                "host `{host}` is not an allowed RabbitMQ management host (by default loopback and Amazon MQ brokers; the server's --rabbitmq-allowed-host adds others), so no credentials were sent"
            ),
        ))
    }

    pub(super) fn get(&self, session: &str) -> Result<Connection, ToolError> {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session)
            .cloned()
            .ok_or_else(|| {
                ToolError::Arg(ArgError::rule(
                    "connection",
                    "this session has no RabbitMQ connection: call rabbitmq_broker_initialize_connection (or _with_oauth) first",
                ))
            })
    }

    pub(super) fn set(&self, session: &str, conn: Connection) {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(session.to_string(), conn);
    }

    /// Forget a session's connection (when the session ends).
    pub fn remove(&self, session: &str) {
        self.by_session
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(session);
    }
}

impl crate::catalogue::SessionState for Connections {
    fn session_ended(&self, session: &str) {
        self.remove(session);
    }
}

/// A RabbitMQ error or transport failure, as a tool error.
pub(super) fn http_error(
    operation: &'static str,
    status: Option<StatusCode>,
    message: String,
    reached: Reached,
) -> ToolError {
    ToolError::Aws {
        operation,
        code: match status {
            Some(s) => format!("HTTP{}", s.as_u16()),
            None => "BrokerUnreachable".into(),
        },
        message,
        request_id: None,
        reached,
    }
}

impl Connection {
    pub(super) fn build(
        base: &str,
        auth: Auth,
        allowed: &Connections,
    ) -> Result<Connection, ToolError> {
        let mut base = reqwest::Url::parse(base)
            .map_err(|e| ArgError::rule("management_url", format!("is not a URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(
                ArgError::rule("management_url", "must be an http:// or https:// URL").into(),
            );
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(ArgError::rule(
                "management_url",
                "must not carry credentials; pass username and password",
            )
            .into());
        }
        allowed.check_host(&base)?;
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        // No proxy: credentials go to the host that was checked, never to one that
        // HTTP_PROXY or HTTPS_PROXY names.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| ToolError::Internal(format!("HTTP client: {e}")))?;
        Ok(Connection { base, auth, http })
    }

    /// Send a request to `api/<segments…>`. Each segment is a name as given (`/` and `%` in it
    /// are percent-encoded); `.` and `..` are refused, so a name never climbs the API path.
    pub(super) async fn send(
        &self,
        operation: &'static str,
        method: Method,
        path: &[&str],
    ) -> Result<(StatusCode, Value), ToolError> {
        let mut url = self.base.clone();
        {
            let mut segments = url
                .path_segments_mut()
                .map_err(|_| ToolError::Internal("management URL cannot take a path".into()))?;
            segments.pop_if_empty().push("api");
            for seg in path {
                if *seg == "." || *seg == ".." {
                    return Err(ArgError::rule(
                        "name",
                        "`.` and `..` are path segments, not RabbitMQ names",
                    )
                    .into());
                }
                segments.push(seg);
            }
        }
        let req = self.http.request(method, url);
        let req = match &self.auth {
            Auth::Basic { user, password } => req.basic_auth(user, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        let resp = req.send().await.map_err(|e| {
            // A connect failure never reached the broker; anything after it may have.
            let reached = if e.is_connect() {
                Reached::No
            } else {
                Reached::Unknown
            };
            http_error(
                operation,
                None,
                format!("{} unreachable: {}", self.base, e.without_url()),
                reached,
            )
        })?;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        let value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&body).unwrap_or(Value::String(body))
        };
        Ok((status, value))
    }

    /// A request that must succeed (2xx).
    pub(super) async fn call(&self, op: &'static Op, values: &[&str]) -> Result<Value, ToolError> {
        let operation = op.label;
        let path = op.segments(values)?;
        let (status, value) = self.send(operation, op.method.clone(), &path).await?;
        if status.is_success() {
            return Ok(value);
        }
        let reason = value
            .get("reason")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| value.to_string());
        let message = match status {
            StatusCode::UNAUTHORIZED => format!("the broker refused the credentials: {reason}"),
            StatusCode::NOT_FOUND => format!("not found: {reason}"),
            _ => reason,
        };
        Err(http_error(operation, Some(status), message, Reached::Yes))
    }
}

/// This family's connections, kept in the context's extensions by the server.
pub(super) fn connections(ctx: &ToolContext) -> Result<std::sync::Arc<Connections>, ToolError> {
    ctx.extensions
        .get::<Connections>()
        .ok_or_else(|| ToolError::Internal("the RabbitMQ connections are not set up".into()))
}

/// A management API request on the session's connection that must succeed (2xx).
pub(super) async fn api(
    ctx: &ToolContext,
    op: &'static Op,
    values: &[&str],
) -> Result<Value, ToolError> {
    connections(ctx)?.get(&ctx.session)?.call(op, values).await
}

/// Decode a list answer into typed items. An answer that is not a list, or an item that is not
/// what the management API documents, is an error naming the item: never dropped silently.
pub(super) fn items<T: for<'de> Deserialize<'de>>(
    operation: &'static str,
    v: Value,
) -> Result<Vec<T>, ToolError> {
    let Value::Array(list) = v else {
        return Err(ToolError::UnexpectedAnswer {
            operation,
            detail: format!("expected a list, got {}", json_kind(&v)),
        });
    };
    list.into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item).map_err(|e| ToolError::UnexpectedAnswer {
                operation,
                detail: format!("item {i}: {e}"),
            })
        })
        .collect()
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

pub(super) fn one<T: for<'de> Deserialize<'de>>(
    operation: &'static str,
    v: Value,
) -> Result<T, ToolError> {
    serde_json::from_value(v).map_err(|e| ToolError::UnexpectedAnswer {
        operation,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Named {
        name: String,
    }

    /// A list item of another shape is an error naming the item, never dropped: an agent told
    /// "these are all the queues" must not be missing one.
    #[test]
    fn list_items_that_do_not_decode_are_errors_not_gaps() {
        let ok: Vec<Named> = items("rabbitmq:ListQueues", json!([{"name": "a"}])).unwrap();
        assert_eq!(ok, vec![Named { name: "a".into() }]);
        let e =
            items::<Named>("rabbitmq:ListQueues", json!([{"name": "a"}, {"name": 7}])).unwrap_err();
        assert!(
            matches!(&e, ToolError::UnexpectedAnswer { operation: "rabbitmq:ListQueues", detail } if detail.starts_with("item 1:")),
            "{e}"
        );
        let e = items::<Named>("rabbitmq:ListQueues", json!({"error": "x"})).unwrap_err();
        assert!(
            e.to_string().contains("expected a list, got an object"),
            "{e}"
        );
        assert_eq!(e.reached(), crate::error::Reached::Yes);
    }
}
