//! AWS configuration and clients: the full default credential chain, `AWS_ENDPOINT_URL`
//! honoured, one client per service and region reused (the services are the families'), request timeouts; and the mapping of
//! SDK errors to [`ToolError`] with the AWS error code and request id.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::request_id::RequestId;
use tokio::sync::OnceCell;

use crate::error::{Reached, ToolError};

/// How to reach AWS.
#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Default region; else the config chain's (`AWS_REGION`, profile).
    pub region: Option<String>,
    /// Named profile; else the chain's (`AWS_PROFILE`, `default`).
    pub profile: Option<String>,
    /// Endpoint for every service; else `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`.
    pub endpoint_url: Option<String>,
    pub connect_timeout: Duration,
    /// Upper bound for one API call, retries included.
    pub operation_timeout: Duration,
}

impl Default for AwsOptions {
    fn default() -> Self {
        AwsOptions {
            region: None,
            profile: None,
            endpoint_url: None,
            connect_timeout: Duration::from_secs(3),
            operation_timeout: Duration::from_secs(30),
        }
    }
}

/// At most this many clients are cached (one per service and region).
const MAX_CACHED_CLIENTS: usize = 256;

/// An AWS SDK client a family uses, made from the shared configuration. Each family declares
/// the services it calls (`impl AwsService for aws_sdk_mq::Client` in `tools/mq`); this module
/// names none.
pub trait AwsService: Clone + Send + Sync + 'static {
    /// A global service (IAM, STS) has one client, in the default region; the others one per
    /// region.
    const GLOBAL: bool = false;
    fn from_config(config: &SdkConfig) -> Self;
}

/// Lazily loaded AWS configuration and cached service clients.
pub struct AwsClients {
    options: AwsOptions,
    /// Loaded once, shared with the single-attempt clients.
    base: std::sync::Arc<OnceCell<SdkConfig>>,
    /// Attempts per call; the SDK's standard retry when None. Non-idempotent mutations use 1:
    /// a retry after a lost answer could do the change twice.
    attempts: Option<u32>,
    /// Clients by service type and region.
    clients: Mutex<HashMap<(TypeId, String), Box<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for AwsClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClients")
            .field("options", &self.options)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl AwsClients {
    pub fn new(options: AwsOptions) -> Self {
        AwsClients {
            options,
            base: Default::default(),
            attempts: None,
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// The same AWS settings acting with other credentials (an assumed role's): the server's
    /// configuration with its credentials replaced. `attempts` as in this set.
    pub async fn with_credentials(&self, credentials: aws_credential_types::Credentials) -> Self {
        let config = self
            .config()
            .await
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build();
        AwsClients {
            base: std::sync::Arc::new(OnceCell::new_with(Some(config))),
            attempts: self.attempts,
            ..AwsClients::new(self.options.clone())
        }
    }

    /// The same AWS settings, making each call once (no retries): for non-idempotent mutations.
    /// The configuration is loaded once and shared; only the clients differ.
    pub fn single_attempt(&self) -> Self {
        AwsClients {
            base: self.base.clone(),
            attempts: Some(1),
            ..AwsClients::new(self.options.clone())
        }
    }

    /// The configuration a client is built from: the shared one, with this set's attempts and,
    /// when given, another region.
    fn client_config(&self, base: &SdkConfig, region: Option<&str>) -> SdkConfig {
        let mut b = base.to_builder();
        if let Some(r) = region {
            b = b.region(Region::new(r.to_string()));
        }
        if let Some(n) = self.attempts {
            b = b.retry_config(
                aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(n),
            );
        }
        b.build()
    }

    /// The shared SDK configuration, loaded on first use (so start-up never waits on it).
    pub async fn config(&self) -> &SdkConfig {
        self.base
            .get_or_init(|| async {
                let o = &self.options;
                let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(o.connect_timeout)
                        .operation_timeout(o.operation_timeout)
                        .build(),
                );
                if let Some(r) = &o.region {
                    loader = loader.region(Region::new(r.clone()));
                }
                if let Some(p) = &o.profile {
                    loader = loader.profile_name(p);
                }
                if let Some(e) = &o.endpoint_url {
                    loader = loader.endpoint_url(e);
                }
                loader.load().await
            })
            .await
    }

    /// The client of service `C` for `region` (else the default region; a global service's
    /// one client whatever the region), made once.
    pub async fn client<C: AwsService>(&self, region: Option<&str>) -> C {
        let region = if C::GLOBAL { None } else { region };
        let key = (TypeId::of::<C>(), region.unwrap_or("").to_string());
        if let Some(c) = lock(&self.clients)
            .get(&key)
            .and_then(|c| c.downcast_ref::<C>())
        {
            return c.clone();
        }
        let client = C::from_config(&self.client_config(self.config().await, region));
        let mut cache = lock(&self.clients);
        // Regions are checked against a known list, so this bound is a second line of defence.
        if cache.len() >= MAX_CACHED_CLIENTS && !cache.contains_key(&key) {
            cache.clear();
        }
        cache
            .entry(key)
            .or_insert_with(|| Box::new(client.clone()))
            .downcast_ref::<C>()
            .cloned()
            .unwrap_or(client)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Map an SDK error to a [`ToolError::Aws`] with the AWS error code and request id.
pub fn aws_error<E>(operation: &'static str, err: SdkError<E, HttpResponse>) -> ToolError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = err.request_id().map(str::to_string);
    let detail = short(&err);
    let (code, message, reached) = match &err {
        SdkError::ServiceError(se) => {
            let e = se.err();
            let status = se.raw().status().as_u16();
            (
                e.code()
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("HTTP{status}")),
                e.message().unwrap_or_default().to_string(),
                Reached::Yes,
            )
        }
        SdkError::ResponseError(_) => ("ResponseError".to_string(), detail, Reached::Yes),
        // Sent, no answer in time: it may have been processed.
        SdkError::TimeoutError(_) => ("Timeout".to_string(), detail, Reached::Unknown),
        SdkError::DispatchFailure(_) if detail.contains("credential") => {
            ("NoCredentials".to_string(), detail, Reached::No)
        }
        // The connection was never made: nothing was sent.
        SdkError::DispatchFailure(_) if detail.contains("client error (Connect)") => {
            ("EndpointUnreachable".to_string(), detail, Reached::No)
        }
        // Connected, then the connection failed: the request may have been processed.
        SdkError::DispatchFailure(_) => (
            "ConnectionLost".to_string(),
            format!("the request may have reached AWS: {detail}"),
            Reached::Unknown,
        ),
        SdkError::ConstructionFailure(_) => ("RequestNotSent".to_string(), detail, Reached::No),
        _ => ("Unknown".to_string(), detail, Reached::Unknown),
    };
    ToolError::Aws {
        operation,
        code,
        message,
        request_id,
        reached,
    }
}

/// The error chain on one line, at most 500 bytes.
fn short<E: std::error::Error + 'static>(err: &E) -> String {
    let mut s = DisplayErrorContext(err)
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if s.len() > 500 {
        let mut cut = 500;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}
