//! The command line: `serve` (in [`serve`]), `policy validate|explain|schema`, `approvals`,
//! `tokens`, `audit verify`, `tools`.

mod approvals;
mod audit;
mod error;
pub use error::CliError;
pub mod import;
pub mod init;
pub mod policy_test;
pub mod reference;
mod replay;
mod serve;

pub use serve::ServeArgs;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};

use crate::audit::AuditLog;
use crate::aws::{AwsClients, AwsOptions};
use crate::catalogue::Catalogue;
use crate::error::PolicyFileError;
use crate::gate::{Gate, GateOptions};
use crate::policy::{self, CompiledPolicy};

#[derive(Debug, Parser)]
#[command(
    name = "guarded-aws-mcp",
    version,
    about = "An MCP server for Amazon MQ, RabbitMQ brokers, IAM and IAM policy generation, with a policy gate in front of every tool call"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP on stdio, or over streamable HTTP with --http.
    Serve(Box<ServeArgs>),
    /// Check or explain a policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Work with audit logs.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// List, show, approve or deny calls waiting for human approval (out-of-band flow).
    Approvals(approvals::ApprovalsArgs),
    /// Make bearer tokens for `serve --http`.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Check an AWS roles file (`serve --aws-roles`), or print its JSON Schema.
    #[command(subcommand)]
    AwsRoles(AwsRolesCommand),
    /// List the tool catalogue: name, risk class, MCP annotations, AWS API.
    Tools {
        /// Print JSON instead of a table.
        #[arg(long, conflicts_with = "markdown")]
        json: bool,
        /// Print the tools reference in Markdown (docs/tools.md): every tool and its arguments.
        #[arg(long)]
        markdown: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AwsRolesCommand {
    /// Check a roles file; print what each listed principal and role acts as.
    Validate { file: PathBuf },
    /// Print the JSON Schema of the roles file (policies/aws-roles.schema.json).
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Make a random token; print it once, and the tokens-file entry that stores its hash.
    New {
        #[arg(long)]
        principal: String,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Print the SHA-256 of a token read from stdin (for a tokens file).
    Hash,
}

/// Where counters and approvals live; shared by `serve` and `approvals`.
#[derive(Debug, Args, Clone)]
pub struct StateArgs {
    /// `memory` (this process; approvals in --approvals-dir) or a Redis URL
    /// (`redis://127.0.0.1:6379/0`) shared by every replica.
    #[arg(
        long,
        env = "GUARDED_AWS_MCP_STATE",
        default_value = "memory",
        global = true
    )]
    pub state: String,
    /// Where the embedded store keeps approvals; default: the user's state folder,
    /// ~/.local/state/guarded-aws-mcp/approvals on Linux.
    #[arg(long, env = "GUARDED_AWS_MCP_APPROVALS_DIR", global = true)]
    pub approvals_dir: Option<PathBuf>,
}

/// The async runtime, and the state store opened inside it (the Redis client needs one).
pub(crate) fn runtime_and_store(
    multi_thread: bool,
    state: &StateArgs,
) -> Result<(tokio::runtime::Runtime, crate::state::Store), CliError> {
    let runtime = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .map_err(CliError::Runtime)?;
    let store = {
        let _entered = runtime.enter();
        crate::state::Store::open(&state.spec()?)?
    };
    Ok((runtime, store))
}

impl StateArgs {
    pub fn spec(&self) -> Result<crate::state::StateSpec, crate::state::StateSpecError> {
        crate::state::StateSpec::parse(
            &self.state,
            self.approvals_dir
                .clone()
                .unwrap_or_else(crate::state::default_approvals_dir),
        )
    }
}

/// A duration as in policies: seconds, or a number with s, m, h or d.
fn parse_duration(text: &str) -> Result<std::time::Duration, crate::policy::WindowError> {
    let w = match text.parse::<u64>() {
        Ok(n) => crate::policy::model::Window::Seconds(n),
        Err(_) => crate::policy::model::Window::Text(text.to_string()),
    };
    crate::policy::parse_window(&w)
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Check a policy file against the tool catalogue; print every error with its location,
    /// and warnings about rules and limits that never take effect.
    Validate {
        file: PathBuf,
        /// Warnings are errors (exit code 1).
        #[arg(long)]
        strict: bool,
    },
    /// Print the decision the gate would take for a call, and why, without calling AWS.
    Explain {
        /// Policy file; the built-in default when omitted.
        #[arg(long, env = "GUARDED_AWS_MCP_POLICY")]
        policy: Option<PathBuf>,
        #[arg(long)]
        tool: String,
        /// The call's arguments as a JSON object.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Explain as the server would decide with --read-only.
        #[arg(long)]
        read_only: bool,
        /// The caller's principal.
        #[arg(long, default_value = "local")]
        principal: String,
        /// The caller's roles (repeat the flag).
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Facts of the resource the call touches, as a JSON object
        /// (`{"tags": {"env": "prod"}, "state": "RUNNING"}`), for `resource.*` conditions;
        /// without it those conditions do not hold, and the facts they need are listed.
        #[arg(long)]
        resource: Option<String>,
        /// What the IAM guard would read from AWS, as a JSON object (`{"own_account":
        /// "111122223333", "policies": {"<arn>": {…}}, "groups": {"<name>": [{…}]},
        /// "analyzer": [{"operation": "ValidatePolicy", "type": "ERROR", "code": "…"}]}`);
        /// without it nothing read from AWS is judged.
        #[arg(long)]
        iam: Option<String>,
        /// Calls made before, for `history` conditions, as a JSON list (`[{"tool":
        /// "describe_broker", "args": {"BrokerId": "b-1"}, "ago": "5m"}]`); without it
        /// history conditions count none.
        #[arg(long)]
        history: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Print the JSON Schema of the policy format (policies/policy.schema.json).
    Schema,
    /// Print a commented starting policy: every tool by family and risk class, with the
    /// class defaults of a profile. It validates and passes lint.
    Init {
        #[arg(long, value_enum, default_value = "cautious")]
        profile: init::Profile,
    },
    /// Convert a PolicyLayer Intercept policy to this server's format: print it, with a
    /// warning (on stderr and as a comment) for everything that cannot be said exactly.
    Import {
        /// The source format.
        #[arg(long, value_parser = ["intercept"])]
        from: String,
        /// The AWS Labs server the policy was written for (its tool names map to ours).
        #[arg(long, value_enum, default_value = "mq")]
        server: import::Server,
        file: PathBuf,
    },
    /// Run policy test files: each case's call must get the decision it expects. No AWS call.
    /// Exit code 1 when a case fails.
    Test {
        files: Vec<PathBuf>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Print the JSON Schema of test files (policies/policy-test.schema.json) instead.
        #[arg(long)]
        schema: bool,
    },
    /// Re-decide every call of an audit log under a candidate policy and report what would
    /// change. Exit code 2 when an allowed call would be refused or a refused one allowed.
    Replay {
        /// The audit log (JSON Lines) to replay.
        #[arg(long)]
        audit: PathBuf,
        /// The candidate policy.
        #[arg(long)]
        policy: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Load a policy file, or the built-in default.
pub fn load_policy(
    path: Option<&Path>,
    catalogue: &Catalogue,
) -> Result<CompiledPolicy, PolicyFileError> {
    match path {
        Some(p) => {
            let text = crate::input::read(p)?;
            policy::load_str(&text, &p.display().to_string(), catalogue)
                .map_err(PolicyFileError::Invalid)
        }
        None => policy::load_str(
            policy::DEFAULT_POLICY,
            policy::DEFAULT_POLICY_NAME,
            catalogue,
        )
        .map_err(PolicyFileError::Invalid),
    }
}

/// The most verbose level allowed for log targets whose verbose levels print whole protocol
/// messages or request bodies, with the secrets in them (or, for notify, log every file event,
/// which feeds back on itself when stderr is written into a watched folder) — whatever
/// `RUST_LOG` asks for.
fn secret_safe_cap(target: &str) -> Option<tracing::Level> {
    if target.starts_with("rmcp")
        || target.starts_with("hyper")
        || target.starts_with("aws_smithy_http_client")
    {
        Some(tracing::Level::INFO)
    } else if target.starts_with("aws_smithy_runtime") {
        Some(tracing::Level::DEBUG)
    } else if target.starts_with("notify") {
        // notify logs every file event at trace: with stderr written into the policy's folder,
        // each log line would be an event that logs a line, for ever.
        Some(tracing::Level::INFO)
    } else {
        None
    }
}

/// Logging to stderr, level from `RUST_LOG` (default `info`), with the caps above; and the
/// call spans to OpenTelemetry when `telemetry` exports traces.
pub fn init_tracing(telemetry: &crate::telemetry::Telemetry) {
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = subscriber(telemetry, std::io::stderr).try_init();
}

/// The server's `tracing` subscriber, writing its log to `writer` (benchmarks use a sink).
pub fn subscriber<W>(
    telemetry: &crate::telemetry::Telemetry,
    writer: W,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::Layer;
    use tracing_subscriber::filter::FilterExt;
    use tracing_subscriber::layer::SubscriberExt;
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let caps = tracing_subscriber::filter::filter_fn(|meta| {
        !crate::telemetry::is_span_target(meta.target())
            && secret_safe_cap(meta.target()).is_none_or(|cap| *meta.level() <= cap)
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_filter(env.and(caps));
    tracing_subscriber::registry()
        .with(layer)
        .with(telemetry.layer())
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // OpenTelemetry (from the `OTEL_*` variables) serves `serve` only.
    let telemetry = match &cli.command {
        Command::Serve(_) => match crate::telemetry::Telemetry::from_env() {
            Ok(t) => t,
            Err(e) => {
                eprintln!("guarded-aws-mcp: {e}");
                return ExitCode::FAILURE;
            }
        },
        _ => Default::default(),
    };
    init_tracing(&telemetry);
    match cli.command {
        Command::Serve(args) => serve::serve(*args, telemetry),
        Command::Policy(PolicyCommand::Validate { file, strict }) => {
            let catalogue = Catalogue::builtin();
            match load_policy(Some(&file), &catalogue) {
                Ok(p) => {
                    let warnings = crate::policy::lint::lint(&p, &catalogue);
                    for w in &warnings {
                        println!("{}: warning: {w}", file.display());
                    }
                    println!(
                        "{}: ok ({} tools with rules, {} hidden, {} limits, {} warnings)",
                        file.display(),
                        p.rules.len(),
                        p.hidden.len(),
                        p.limits.len(),
                        warnings.len()
                    );
                    if strict && !warnings.is_empty() {
                        ExitCode::FAILURE
                    } else {
                        ExitCode::SUCCESS
                    }
                }
                Err(e) => {
                    println!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Policy(PolicyCommand::Explain {
            policy,
            tool,
            args,
            read_only,
            principal,
            roles,
            resource,
            iam,
            history,
            json,
        }) => explain(
            policy.as_deref(),
            &tool,
            (
                &args,
                resource.as_deref(),
                iam.as_deref(),
                history.as_deref(),
            ),
            read_only,
            &crate::policy::Caller::new(principal, roles),
            json,
        ),
        Command::Approvals(a) => approvals::run(a),
        Command::Tokens(TokensCommand::New { principal, roles }) => {
            if let Err(e) = crate::identity::principal::check(&principal) {
                eprintln!("guarded-aws-mcp: --principal: {e}");
                return ExitCode::FAILURE;
            }
            let token = crate::transport::tokens::generate();
            let entry = crate::transport::tokens::TokensFile {
                tokens: vec![crate::transport::tokens::TokenEntry {
                    principal,
                    roles,
                    sha256: crate::transport::tokens::hash(&token),
                }],
            };
            eprintln!("token (shown once; give it to the client, keep only the hash):");
            println!("{token}");
            eprintln!("tokens-file entry:");
            eprint!("{}", serde_norway::to_string(&entry).unwrap_or_default());
            ExitCode::SUCCESS
        }
        Command::Tokens(TokensCommand::Hash) => {
            let mut line = String::new();
            if std::io::stdin().read_line(&mut line).is_err() || line.trim().is_empty() {
                eprintln!("guarded-aws-mcp: give the token on stdin");
                return ExitCode::FAILURE;
            }
            println!("{}", crate::transport::tokens::hash(line.trim()));
            ExitCode::SUCCESS
        }
        Command::Policy(PolicyCommand::Import { server, file, .. }) => {
            let text = match crate::input::read(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            match import::convert(&text, server, &Catalogue::builtin()) {
                Ok((yaml, warnings)) => {
                    for w in &warnings {
                        eprintln!("warning: {w}");
                    }
                    print!("{yaml}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{}: {e}", file.display());
                    ExitCode::FAILURE
                }
            }
        }
        Command::Policy(PolicyCommand::Init { profile }) => {
            print!("{}", init::policy(profile, &Catalogue::builtin()));
            ExitCode::SUCCESS
        }
        Command::Policy(PolicyCommand::Test { schema: true, .. }) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&policy_test::schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::Policy(PolicyCommand::Test { files, json, .. }) => policy_test::run(&files, json),
        Command::Policy(PolicyCommand::Replay {
            audit,
            policy,
            json,
        }) => replay::run(&audit, &policy, json),
        Command::Policy(PolicyCommand::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&policy::policy_json_schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::Audit(command) => audit::run(command),
        Command::Tools { markdown: true, .. } => {
            print!(
                "{}",
                crate::catalogue::reference::markdown(&Catalogue::builtin())
            );
            ExitCode::SUCCESS
        }
        Command::Tools { json, .. } => {
            print_tools(json);
            ExitCode::SUCCESS
        }
        Command::AwsRoles(AwsRolesCommand::Schema) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&crate::identity::aws_roles::schema())
                    .unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::AwsRoles(AwsRolesCommand::Validate { file }) => {
            match serve::load_aws_roles(&file) {
                Ok(f) => {
                    println!("{}: ok", file.display());
                    for (p, arn) in &f.principals {
                        println!("  principal {p} -> {arn}");
                    }
                    for e in &f.roles {
                        println!("  role {} -> {}", e.role, e.role_arn);
                    }
                    println!("  anyone else -> {}", f.default);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("{e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn explain(
    policy: Option<&Path>,
    tool: &str,
    (args, resource, iam, history): (&str, Option<&str>, Option<&str>, Option<&str>),
    read_only: bool,
    caller: &crate::policy::Caller,
    json: bool,
) -> ExitCode {
    let catalogue = Arc::new(Catalogue::builtin());
    let compiled = match load_policy(policy, &catalogue) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let args: serde_json::Value = match serde_json::from_str(args) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("--args is not JSON: {e}");
            return ExitCode::FAILURE;
        }
    };
    let resource: Option<serde_json::Value> = match resource.map(serde_json::from_str).transpose() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("--resource is not JSON: {e}");
            return ExitCode::FAILURE;
        }
    };
    let iam: Option<crate::tools::GuardFixtureFile> =
        match iam.map(serde_json::from_str).transpose() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("--iam is not an IAM fixture: {e}");
                return ExitCode::FAILURE;
            }
        };
    let earlier: Vec<crate::gate::offline::EarlierCall> =
        match history.map(serde_json::from_str).transpose() {
            Ok(h) => h.unwrap_or_default(),
            Err(e) => {
                eprintln!("--history is not a list of calls: {e}");
                return ExitCode::FAILURE;
            }
        };
    let aws = Arc::new(AwsClients::new(AwsOptions::default()));
    let gate = match Gate::new(
        catalogue,
        compiled,
        AuditLog::disabled(),
        aws,
        GateOptions {
            read_only,
            ..GateOptions::default()
        },
    ) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let x = gate.explain_with(
        tool,
        args,
        caller,
        resource.as_ref(),
        iam.as_ref()
            .map(|f| f as &dyn crate::catalogue::guard::GuardFixture),
        &earlier,
    );
    if json {
        println!("{}", serde_json::to_string_pretty(&x).unwrap_or_default());
    } else {
        println!("tool: {}", x.tool);
        if let Some(c) = x.class {
            println!("class: {c}");
        }
        println!("decision: {}", x.decision);
        if let Some(b) = &x.basis {
            println!("decided by: {b}");
        }
        println!("reason: {}", x.reason);
        for f in &x.resource_facts {
            println!("resource fact read: {f}");
        }
        for h in &x.history_facts {
            println!("history read: {h}");
        }
        for c in &x.conditions {
            println!("condition held: {c}");
        }
        for c in &x.considered {
            println!("considered: {c}");
        }
        for l in &x.limits {
            println!("limit: {l}");
        }
    }
    ExitCode::SUCCESS
}

fn print_tools(json: bool) {
    let catalogue = Catalogue::builtin();
    if json {
        let list: Vec<_> = catalogue
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name,
                    "class": t.class,
                    "aws_api": t.aws_api,
                    "aws_actions": t.aws_actions(),
                    "annotations": t.annotations(),
                    "description": t.description,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&list).unwrap_or_default()
        );
        return;
    }
    println!(
        "{:<34} {:<12} {:<42} ANNOTATIONS",
        "TOOL", "CLASS", "AWS API"
    );
    for t in catalogue.iter() {
        let a = t.annotations();
        let mut hints = Vec::new();
        if a.read_only_hint == Some(true) {
            hints.push("readOnly");
        }
        if a.destructive_hint == Some(true) {
            hints.push("destructive");
        }
        if a.idempotent_hint == Some(true) {
            hints.push("idempotent");
        }
        if a.open_world_hint == Some(true) {
            hints.push("openWorld");
        }
        println!(
            "{:<34} {:<12} {:<42} {}",
            t.name,
            t.class.as_str(),
            t.aws_api,
            hints.join(",")
        );
    }
}
