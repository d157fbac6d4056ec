//! What the commands report when they cannot do their work: the library's typed errors, and
//! the few that belong to the command line itself.

/// Why a command could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    StateSpec(#[from] crate::state::StateSpecError),
    #[error(transparent)]
    Store(#[from] crate::state::StoreError),
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    #[error(transparent)]
    Policy(#[from] crate::error::PolicyFileError),
    #[error(transparent)]
    OAuth(#[from] crate::identity::oauth::OAuthConfigError),
    #[error(transparent)]
    Auth(#[from] crate::transport::auth::AuthConfigError),
    /// `--http` was given tokens it cannot use.
    #[error("--http needs bearer tokens: {0}")]
    Tokens(Box<CliError>),
    #[error(
        "pass --tokens FILE (or set GUARDED_AWS_MCP_TOKENS_FILE or GUARDED_AWS_MCP_TOKENS); make one with `guarded-aws-mcp tokens new --principal NAME`"
    )]
    NoTokens,
    #[error(transparent)]
    Gate(#[from] crate::gate::GateError),
    #[error(transparent)]
    Telemetry(#[from] crate::telemetry::TelemetryError),
    #[error(transparent)]
    Webhook(#[from] crate::approval::webhook::WebhookError),
    #[error(transparent)]
    Catalogue(#[from] crate::catalogue::CatalogueError),
}
