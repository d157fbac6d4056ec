//! `guarded-aws-mcp serve`: its flags, and starting the server on stdio or HTTP.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;

use super::{CliError, StateArgs, load_policy, parse_duration, runtime_and_store};
use crate::audit::AuditLog;
use crate::aws::{AwsClients, AwsOptions};
use crate::catalogue::Catalogue;
use crate::gate::{Gate, GateOptions};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Policy file; without it the built-in policies/default.yaml is used.
    #[arg(long, env = "GUARDED_AWS_MCP_POLICY")]
    pub policy: Option<PathBuf>,
    /// Refuse every tool that is not a read, whatever the policy says.
    #[arg(long, env = "GUARDED_AWS_MCP_READ_ONLY")]
    pub read_only: bool,
    /// Shadow mode: evaluate and audit every call with the decision it would get, and allow it.
    #[arg(long, env = "GUARDED_AWS_MCP_SHADOW")]
    pub shadow: bool,
    /// Default AWS region (else AWS_REGION or the profile's).
    #[arg(long, env = "GUARDED_AWS_MCP_REGION")]
    pub region: Option<String>,
    /// AWS profile (else AWS_PROFILE or the default chain).
    #[arg(long, env = "GUARDED_AWS_MCP_PROFILE")]
    pub profile: Option<String>,
    /// AWS endpoint for every service, for a local fake (else AWS_ENDPOINT_URL).
    #[arg(long, env = "GUARDED_AWS_MCP_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Audit log file (JSON Lines); default: the user's state folder,
    /// ~/.local/state/guarded-aws-mcp/audit.jsonl on Linux.
    #[arg(long, env = "GUARDED_AWS_MCP_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,
    /// Rotate the audit log at a size (`100M`, `1G`) or `daily`: the file is renamed after its
    /// first record's number and time, and the next file's first record chains to its last.
    #[arg(long, value_name = "SIZE|daily", env = "GUARDED_AWS_MCP_AUDIT_ROTATE")]
    pub audit_rotate: Option<crate::audit::Rotate>,
    /// Sign audit checkpoints with this Ed25519 private key (`guarded-aws-mcp audit keygen`):
    /// every --audit-checkpoint-every records, every --audit-checkpoint-interval and at
    /// shutdown, so that `audit verify --public-key` proves the log up to its last checkpoint.
    #[arg(long, value_name = "FILE", env = "GUARDED_AWS_MCP_AUDIT_SIGNING_KEY")]
    pub audit_signing_key: Option<PathBuf>,
    /// A checkpoint after this many records.
    #[arg(long, default_value_t = 1000)]
    pub audit_checkpoint_every: u64,
    /// A checkpoint when records were written and this long has passed since the last one.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub audit_checkpoint_interval: std::time::Duration,
    /// Ship every audit record to this CloudWatch Logs log group (which must exist), in a
    /// stream per replica named by host and start time. The local audit file is the spool:
    /// the shipped position is kept beside it, so shipping resumes after an outage or restart.
    #[arg(
        long,
        value_name = "LOG_GROUP",
        env = "GUARDED_AWS_MCP_AUDIT_CLOUDWATCH"
    )]
    pub audit_cloudwatch: Option<String>,
    /// Ship with this IAM role (assumed with the server's credentials) instead of the
    /// server's own identity.
    #[arg(
        long,
        value_name = "ROLE_ARN",
        requires = "audit_cloudwatch",
        env = "GUARDED_AWS_MCP_AUDIT_CLOUDWATCH_ROLE"
    )]
    pub audit_cloudwatch_role: Option<String>,
    /// /readyz answers 503 once shipping to CloudWatch Logs has failed this long.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub audit_cloudwatch_unready_after: std::time::Duration,
    /// On SIGTERM, how long calls running may take to finish (new calls are refused at once
    /// and /readyz answers 503); then the last audit checkpoint is written and the server
    /// exits 0.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub drain_timeout: std::time::Duration,
    /// Serve MCP over streamable HTTP at ADDR (`127.0.0.1:8080`) instead of stdio; needs tokens.
    #[arg(long, value_name = "ADDR")]
    pub http: Option<std::net::SocketAddr>,
    /// Bearer tokens file for --http (YAML: principal, roles, sha256 of the token).
    #[arg(long, env = "GUARDED_AWS_MCP_TOKENS_FILE")]
    pub tokens: Option<PathBuf>,
    /// A browser Origin allowed to call the HTTP server (`https://app.example.com`), besides
    /// this listener's own loopback origins; requests with any other Origin get 403.
    #[arg(long = "allowed-origin")]
    pub allowed_origins: Vec<String>,
    /// Serve Prometheus metrics (and /healthz, /readyz) at http://ADDR/metrics, with stdio
    /// or HTTP.
    #[arg(long, value_name = "ADDR", env = "GUARDED_AWS_MCP_METRICS")]
    pub metrics: Option<std::net::SocketAddr>,
    /// HTTP connections served at once; more are closed at once.
    #[arg(
        long,
        default_value_t = 1024,
        env = "GUARDED_AWS_MCP_HTTP_MAX_CONNECTIONS"
    )]
    pub http_max_connections: usize,
    /// HTTP sessions one principal may hold open (shared by replicas with --state redis://);
    /// one more `initialize` gets 429 until one is deleted or idles out (10 minutes).
    #[arg(
        long,
        default_value_t = 100,
        env = "GUARDED_AWS_MCP_HTTP_MAX_SESSIONS_PER_PRINCIPAL"
    )]
    pub http_max_sessions_per_principal: usize,
    /// Time a client has to send a request's headers (`10s`, `1m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub http_header_timeout: std::time::Duration,
    /// An HTTP connection silent in both directions this long is closed.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    pub http_idle_timeout: std::time::Duration,
    /// Extra Host names accepted over HTTP (loopback names always are).
    #[arg(long = "allowed-host")]
    pub allowed_hosts: Vec<String>,
    /// The tool families' own flags.
    #[command(flatten)]
    pub tools: crate::tools::ToolsConfig,
    /// Regions newer than this build's list, accepted in `region` arguments (repeat the flag).
    #[arg(
        long = "extra-region",
        env = "GUARDED_AWS_MCP_EXTRA_REGIONS",
        value_delimiter = ','
    )]
    pub extra_regions: Vec<String>,
    /// The caller's principal on stdio, for policy rules and per-principal limits.
    #[arg(long, env = "GUARDED_AWS_MCP_PRINCIPAL", default_value = "local")]
    pub principal: String,
    /// The stdio caller's roles (repeat the flag).
    #[arg(long = "role", env = "GUARDED_AWS_MCP_ROLES", value_delimiter = ',')]
    pub roles: Vec<String>,
    /// Identity provider whose access tokens `--http` accepts (its `iss`), e.g.
    /// `https://keycloak.example.com/realms/team`; besides or instead of --tokens.
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_OAUTH_ISSUER",
        requires = "oauth_audience"
    )]
    pub oauth_issuer: Option<String>,
    /// This server's resource URI, which tokens must name in `aud` (RFC 8707), e.g.
    /// `https://mcp.example.com/mcp`.
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_OAUTH_AUDIENCE",
        requires = "oauth_issuer"
    )]
    pub oauth_audience: Option<String>,
    /// The provider's JWKS URL; else found from the issuer's metadata.
    #[arg(long, env = "GUARDED_AWS_MCP_OAUTH_JWKS_URL")]
    pub oauth_jwks_url: Option<String>,
    /// The claim that names the principal (`sub`, `email`, `preferred_username`, ...).
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_OAUTH_PRINCIPAL_CLAIM",
        default_value = "sub"
    )]
    pub oauth_principal_claim: String,
    /// Put before every principal from the identity provider (`idp:` makes `sub` alice the
    /// principal `idp:alice`). With a tokens file as well, this keeps the two sources apart;
    /// without it, a token whose principal is also a tokens-file principal is refused.
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_OAUTH_PRINCIPAL_PREFIX",
        default_value = ""
    )]
    pub oauth_principal_prefix: String,
    /// Claims whose values are the caller's roles (repeat the flag; dotted paths such as
    /// `realm_access.roles`; `scope` is split on spaces).
    #[arg(
        long = "oauth-roles-claim",
        env = "GUARDED_AWS_MCP_OAUTH_ROLES_CLAIMS",
        value_delimiter = ',',
        default_value = "roles"
    )]
    pub oauth_roles_claims: Vec<String>,
    /// A scope every access token must carry (else 403 insufficient_scope).
    #[arg(long, env = "GUARDED_AWS_MCP_OAUTH_REQUIRED_SCOPE")]
    pub oauth_required_scope: Option<String>,
    /// A token signed by a key not in the cached key set fetches the set again at most this
    /// often.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub oauth_jwks_refetch_interval: std::time::Duration,
    /// How long looked-up resource facts (tags, state …, for `resource.*` policy conditions)
    /// are used before they are fetched again; `0s`: looked up for every call.
    #[arg(long, default_value = "30s", value_parser = parse_ttl, env = "GUARDED_AWS_MCP_RESOURCE_CACHE_TTL")]
    pub resource_cache_ttl: std::time::Duration,
    /// Callers with this role may list, approve and deny approvals over HTTP
    /// (`/admin/approvals`); without it that API is off. Never give it to an agent's token.
    #[arg(long, env = "GUARDED_AWS_MCP_ADMIN_ROLE")]
    pub admin_role: Option<String>,
    /// POST approval events (requested, decided) to this URL: JSON with a Slack-compatible
    /// `text`, signed with --approval-webhook-secret.
    #[arg(long, env = "GUARDED_AWS_MCP_APPROVAL_WEBHOOK")]
    pub approval_webhook: Option<String>,
    /// The webhook signing secret (Standard Webhooks: `webhook-signature`, HMAC-SHA256 over
    /// `id.timestamp.body`); a `whsec_` secret is base64-decoded.
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_APPROVAL_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    pub approval_webhook_secret: Option<String>,
    /// AWS roles file: each caller acts in AWS as its own IAM role (STS AssumeRole with
    /// SourceIdentity and session tags). Format: `guarded-aws-mcp aws-roles schema`.
    #[arg(long, env = "GUARDED_AWS_MCP_AWS_ROLES")]
    pub aws_roles: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateArgs,
}

impl ServeArgs {
    /// The OAuth resource server the flags configure, if any.
    fn oauth(&self) -> Result<Option<crate::identity::oauth::OAuth>, CliError> {
        let (Some(issuer), Some(audience)) = (&self.oauth_issuer, &self.oauth_audience) else {
            return Ok(None);
        };
        let mut c = crate::identity::oauth::OAuthConfig::new(issuer.clone(), audience.clone());
        c.jwks_url = self.oauth_jwks_url.clone();
        c.principal_claim = self.oauth_principal_claim.clone();
        c.principal_prefix = self.oauth_principal_prefix.clone();
        c.roles_claims = self.oauth_roles_claims.clone();
        c.required_scope = self.oauth_required_scope.clone();
        c.refetch_interval = self.oauth_jwks_refetch_interval;
        Ok(Some(crate::identity::oauth::OAuth::new(c)?))
    }
}

/// A cache lifetime: a duration as in policies, or 0 (no caching).
fn parse_ttl(text: &str) -> Result<std::time::Duration, crate::policy::WindowError> {
    match text.trim() {
        "0" | "0s" => Ok(std::time::Duration::ZERO),
        t => parse_duration(t),
    }
}

/// The AWS roles file, checked.
pub fn load_aws_roles(
    path: &Path,
) -> Result<crate::identity::aws_roles::AwsRolesFile, crate::input::InputError> {
    let text = crate::input::read(path)?;
    crate::identity::aws_roles::AwsRolesFile::parse(&text, &path.display().to_string())
}

/// How `--http` authenticates: the tokens file (when given, or in the environment) and the
/// identity provider (when configured); at least one.
fn authenticator(args: &ServeArgs) -> Result<crate::transport::auth::Authenticator, CliError> {
    let oauth = args.oauth()?;
    let tokens_given =
        args.tokens.is_some() || std::env::var_os("GUARDED_AWS_MCP_TOKENS").is_some();
    let tokens = if tokens_given || oauth.is_none() {
        Some(load_tokens(args.tokens.as_deref()).map_err(|e| CliError::Tokens(Box::new(e)))?)
    } else {
        None
    };
    Ok(crate::transport::auth::Authenticator::new(tokens, oauth)?)
}

/// Tokens from `--tokens FILE`, else the text of `GUARDED_AWS_MCP_TOKENS`.
fn load_tokens(file: Option<&Path>) -> Result<crate::transport::tokens::Tokens, CliError> {
    use crate::transport::tokens::Tokens;
    match file {
        Some(p) => {
            let text = crate::input::read(p)?;
            Ok(Tokens::parse(&text, &p.display().to_string())?)
        }
        None => match std::env::var("GUARDED_AWS_MCP_TOKENS") {
            Ok(text) => Ok(Tokens::parse(&text, "GUARDED_AWS_MCP_TOKENS")?),
            Err(_) => Err(CliError::NoTokens),
        },
    }
}

pub(super) fn serve(args: ServeArgs, telemetry: crate::telemetry::Telemetry) -> ExitCode {
    let code = serve_until_done(args, &telemetry);
    // What the exporters still hold is sent before the process ends.
    telemetry.shutdown();
    code
}

fn serve_until_done(args: ServeArgs, telemetry: &crate::telemetry::Telemetry) -> ExitCode {
    let catalogue = Arc::new(Catalogue::builtin());
    let compiled = match load_policy(args.policy.as_deref(), &catalogue) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("guarded-aws-mcp: refusing to start on an invalid policy:\n{e}");
            return ExitCode::FAILURE;
        }
    };
    let signer = match args
        .audit_signing_key
        .as_deref()
        .map(crate::audit::signing::Signer::load)
        .transpose()
    {
        Ok(s) => s,
        Err(e) => {
            eprintln!("guarded-aws-mcp: --audit-signing-key: {e}");
            return ExitCode::FAILURE;
        }
    };
    let signing = signer.is_some();
    let audit_options = crate::audit::AuditOptions {
        rotate: args.audit_rotate,
        signer,
        checkpoint_every: args.audit_checkpoint_every,
        checkpoint_interval: Some(args.audit_checkpoint_interval),
        clock: crate::clock::Clock::system(),
    };
    let audit_path = args.audit_log.clone().or_else(AuditLog::default_path);
    let audit = match &audit_path {
        Some(p) => match AuditLog::open_with(p, audit_options) {
            Ok(a) => a,
            Err(e) => {
                eprintln!(
                    "guarded-aws-mcp: cannot open the audit log {}: {e}",
                    p.display()
                );
                return ExitCode::FAILURE;
            }
        },
        None => {
            eprintln!("guarded-aws-mcp: no state folder for the audit log; pass --audit-log FILE");
            return ExitCode::FAILURE;
        }
    };
    let shipping = match (&args.audit_cloudwatch, &audit_path) {
        (Some(group), Some(path)) => {
            let status = Arc::new(crate::audit::ship::ShipStatus::new(
                args.audit_cloudwatch_unready_after,
                crate::clock::Clock::system(),
            ));
            audit.set_shipping(status.clone());
            Some(Shipping {
                group,
                role: args.audit_cloudwatch_role.as_deref(),
                path,
                status,
                written: audit.written(),
            })
        }
        _ => None,
    };
    let aws = Arc::new(AwsClients::new(AwsOptions {
        region: args.region.clone(),
        profile: args.profile.clone(),
        endpoint_url: args.endpoint_url.clone(),
        ..AwsOptions::default()
    }));
    tracing::info!(
        policy = %compiled.source_name,
        policy_sha256 = %compiled.hash,
        audit_log = ?audit.path(),
        read_only = args.read_only,
        pid = std::process::id(),
        "starting"
    );
    // One stdio session: a current-thread runtime avoids the hand-offs between worker threads
    // (measured: 0.36–0.50 ms added over a direct SDK call at p50, against 0.67–0.86 ms with the
    // multi-thread runtime; see docs/performance.md). HTTP serves many clients.
    let (runtime, store) = match runtime_and_store(args.http.is_some(), &args.state) {
        Ok((r, s)) => (r, Arc::new(s)),
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(state = %store.describe(), "state store");
    let auth = match args.http.map(|_| authenticator(&args)) {
        None => None,
        Some(Ok(a)) => Some(Arc::new(a)),
        Some(Err(e)) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let identities = match args.aws_roles.as_deref().map(load_aws_roles).transpose() {
        Ok(f) => f.map(|f| crate::identity::assume::AwsIdentities::new(f, aws.clone())),
        Err(e) => {
            eprintln!("guarded-aws-mcp: refusing to start on an invalid AWS roles file:\n{e}");
            return ExitCode::FAILURE;
        }
    };
    let gate = match Gate::new(
        catalogue,
        compiled,
        audit,
        aws.clone(),
        GateOptions {
            read_only: args.read_only,
            shadow: args.shadow,
            extra_regions: args.extra_regions.clone(),
        },
    ) {
        Ok(g) => {
            let mut g = g
                .with_store(store)
                .with_resource_cache_ttl(args.resource_cache_ttl)
                .with_otlp_meter(telemetry.meter());
            if let Some(url) = &args.approval_webhook {
                match crate::approval::webhook::Webhook::new(
                    url,
                    args.approval_webhook_secret.as_deref(),
                ) {
                    Ok(hook) => g = g.with_webhook(hook),
                    Err(e) => {
                        eprintln!("guarded-aws-mcp: {e}");
                        return ExitCode::FAILURE;
                    }
                }
            }
            match identities {
                Some(ids) => g.with_identities(ids),
                None => g,
            }
        }
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let gate = match crate::tools::extensions(&args.tools) {
        Ok(x) => Arc::new(gate.with_extensions(x)),
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Hot reload of a policy file (the built-in default cannot change).
    let _watcher = match &args.policy {
        Some(path) => match crate::reload::watch(gate.clone(), path.clone()) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the policy file; changes need a restart");
                None
            }
        },
        None => None,
    };
    if signing {
        let (gate, every) = (gate.clone(), args.audit_checkpoint_interval);
        runtime.spawn(async move {
            let tick = (every / 4).max(std::time::Duration::from_secs(1));
            loop {
                tokio::time::sleep(tick).await;
                gate.audit_checkpoint_if_due();
            }
        });
    }
    let shipper = match shipping {
        Some(ship) => {
            gate.metrics().register_audit_shipping(&ship.status);
            match runtime.block_on(start_shipping(ship, &aws)) {
                Ok(h) => Some(h),
                Err(e) => {
                    eprintln!("guarded-aws-mcp: --audit-cloudwatch: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => None,
    };
    let code = serve_gate(&args, &runtime, gate.clone(), auth);
    gate.close_audit();
    if let Some(h) = shipper {
        // The last records, the closing checkpoint among them.
        runtime.block_on(h.finish(FINAL_SHIPPING_TIMEOUT.min(args.drain_timeout)));
    }
    code
}

/// At exit, how long shipping the last audit records may take after the drain (or the drain
/// timeout, when shorter).
pub const FINAL_SHIPPING_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What `--audit-cloudwatch` ships and how.
struct Shipping<'a> {
    group: &'a str,
    role: Option<&'a str>,
    path: &'a Path,
    status: Arc<crate::audit::ship::ShipStatus>,
    written: Arc<crate::audit::Written>,
}

/// Start shipping the audit log: the stream is created at once, so that a log group that
/// does not exist stops the start; CloudWatch not answering does not (shipping retries, and
/// `/readyz` reports it after its threshold).
async fn start_shipping(
    ship: Shipping<'_>,
    aws: &AwsClients,
) -> Result<crate::audit::ship::ShipperHandle, String> {
    use crate::audit::ship::{Pace, Shipper, SinkError, host_name};
    let base = aws.config().await.clone();
    let config = match ship.role {
        None => base,
        Some(role) => {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role)
                .configure(&base)
                .session_name("guarded-aws-mcp-audit")
                .build()
                .await;
            base.to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build()
        }
    };
    let sink = crate::audit::cloudwatch::CloudWatchSink::new(
        aws_sdk_cloudwatchlogs::Client::new(&config),
        ship.group,
    );
    let mut shipper = Shipper::new(
        sink,
        ship.path,
        ship.group,
        &host_name(),
        ship.written,
        ship.status,
        Pace::default(),
    );
    let stream = shipper.stream().to_string();
    match tokio::time::timeout(std::time::Duration::from_secs(10), shipper.create_stream()).await {
        Ok(Err(e @ SinkError::GroupMissing(_))) => return Err(e.to_string()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "CloudWatch Logs does not answer; audit records wait in the local log")
        }
        Err(_) => {
            tracing::warn!("CloudWatch Logs does not answer; audit records wait in the local log")
        }
        Ok(Ok(())) => {}
    }
    tracing::info!(group = ship.group, %stream, "shipping the audit log");
    Ok(shipper.spawn())
}

/// Serve over HTTP or stdio until the end.
fn serve_gate(
    args: &ServeArgs,
    runtime: &tokio::runtime::Runtime,
    gate: Arc<Gate>,
    auth: Option<Arc<crate::transport::auth::Authenticator>>,
) -> ExitCode {
    if let Some(addr) = args.metrics {
        let gate = gate.clone();
        runtime.spawn(async move {
            if let Err(e) = crate::transport::metrics::serve(gate, addr).await {
                tracing::error!(error = %e, %addr, "cannot serve metrics");
            }
        });
    }
    if let (Some(addr), Some(auth)) = (args.http, auth) {
        return match runtime.block_on(crate::transport::http::serve(
            gate,
            auth,
            addr,
            (args.allowed_hosts.clone(), args.allowed_origins.clone()),
            args.admin_role.clone(),
            crate::transport::listener::Limits {
                max_connections: args.http_max_connections.max(1),
                max_sessions_per_principal: args.http_max_sessions_per_principal.max(1),
                header_read_timeout: args.http_header_timeout,
                idle_timeout: args.http_idle_timeout,
                drain_timeout: args.drain_timeout,
            },
        )) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("guarded-aws-mcp: cannot serve HTTP on {addr}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Err(e) = crate::identity::principal::check(&args.principal) {
        eprintln!("guarded-aws-mcp: --principal: {e}");
        return ExitCode::FAILURE;
    }
    let caller = crate::policy::Caller::new(args.principal.clone(), args.roles.clone());
    let drain_timeout = args.drain_timeout;
    let served = runtime.block_on(async {
        let session = tokio::spawn(crate::transport::serve_stdio(gate.clone(), caller));
        tokio::select! {
            ended = session => ended.map_err(|e| e.to_string().into()).and_then(|r| r),
            () = crate::transport::shutdown_signal() => {
                // SIGTERM: no new calls, the calls running finish (their answers go out while
                // the audit is closed and shipped), then exit 0.
                gate.drain(drain_timeout).await;
                for _ in 0..16 {
                    tokio::task::yield_now().await;
                }
                Ok(())
            }
        }
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "MCP session ended with an error");
            ExitCode::FAILURE
        }
    }
}
