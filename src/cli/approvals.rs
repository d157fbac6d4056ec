//! `guarded-aws-mcp approvals list | show ID | approve ID | deny ID`: the operator's side of
//! the out-of-band approval flow. Each decision is an audit record.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::StateArgs;
use crate::approval::{Approval, Status};
use crate::audit::AuditLog;
use crate::state::Store;

#[derive(Debug, Args)]
pub struct ApprovalsArgs {
    #[command(subcommand)]
    pub command: ApprovalsCommand,
    #[command(flatten)]
    pub state: StateArgs,
    /// Audit log for approve/deny records; default: approvals.jsonl in the user's state folder
    /// (the server's own log records what it did with each approval).
    #[arg(long, env = "GUARDED_AWS_MCP_APPROVALS_AUDIT_LOG", global = true)]
    pub audit_log: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ApprovalsCommand {
    /// Approvals waiting for a decision (all of them with --all), newest first.
    List {
        #[arg(long)]
        all: bool,
    },
    /// One approval: tool, arguments (secrets redacted), rule, reason, caller, status.
    Show { id: String },
    /// Approve: the agent's identical retry runs once, before the approval expires.
    Approve {
        id: String,
        /// Who approves (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
    /// Deny: the agent's retry is refused with the operator's name.
    Deny {
        id: String,
        #[arg(long)]
        by: Option<String>,
    },
}

pub fn run(args: ApprovalsArgs) -> ExitCode {
    let (runtime, store) = match super::runtime_and_store(false, &args.state) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(go(args, store))
}

async fn go(args: ApprovalsArgs, store: Store) -> ExitCode {
    let now = crate::approval::now();
    match args.command {
        ApprovalsCommand::List { all } => match store.list_approvals().await {
            Ok(list) => {
                let list: Vec<Approval> = list
                    .into_iter()
                    .map(|mut a| {
                        a.status = a.status_at(now);
                        a
                    })
                    .filter(|a| all || a.status == Status::Pending)
                    .collect();
                if args.json {
                    println!(
                        "{}",
                        serde_json::to_string_pretty(&list).unwrap_or_default()
                    );
                } else if list.is_empty() {
                    println!("no {}approvals", if all { "" } else { "pending " });
                } else {
                    println!(
                        "{:<21} {:<9} {:<28} {:<14} {:<26} RULE",
                        "ID", "STATUS", "TOOL", "PRINCIPAL", "EXPIRES"
                    );
                    // What callers chose is shown escaped: it can neither move the cursor
                    // nor forge a row.
                    use crate::escape::terminal as t;
                    for a in &list {
                        println!(
                            "{:<21} {:<9} {:<28} {:<14} {:<26} {}",
                            t(&a.id),
                            a.status.as_str(),
                            t(&a.tool),
                            t(&a.principal),
                            time(a.expires_at),
                            t(&a.rule)
                        );
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        ApprovalsCommand::Show { id } => match store.get_approval(&id).await {
            Ok(Some(mut a)) => {
                a.status = a.status_at(now);
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&a).unwrap_or_default());
                } else {
                    print_one(&a);
                }
                ExitCode::SUCCESS
            }
            Ok(None) => fail(crate::state::StoreError::NotFound(id)),
            Err(e) => fail(e),
        },
        ApprovalsCommand::Approve { id, by } => {
            decide(&args.audit_log, &store, &id, true, by, args.json).await
        }
        ApprovalsCommand::Deny { id, by } => {
            decide(&args.audit_log, &store, &id, false, by, args.json).await
        }
    }
}

async fn decide(
    audit_log: &Option<PathBuf>,
    store: &Store,
    id: &str,
    approve: bool,
    by: Option<String>,
    json: bool,
) -> ExitCode {
    let by = by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "operator".into());
    let a = match store.decide_approval(id, approve, &by).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let path = audit_log
        .clone()
        .or_else(|| AuditLog::default_path().map(|p| p.with_file_name("approvals.jsonl")));
    match path.as_deref().map(AuditLog::open) {
        Some(Ok(log)) => {
            if let Err(e) = log.write(a.decision_record(approve, &by, String::new())) {
                eprintln!("guarded-aws-mcp: warning: the decision was not audited: {e}");
            }
        }
        Some(Err(e)) => eprintln!("guarded-aws-mcp: warning: the decision was not audited: {e}"),
        None => eprintln!("guarded-aws-mcp: warning: no audit log; pass --audit-log FILE"),
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&a).unwrap_or_default());
    } else if approve {
        println!(
            "{} approved by {}: the identical call of `{}` runs once if retried before {}",
            crate::escape::terminal(&a.id),
            crate::escape::terminal(&by),
            crate::escape::terminal(&a.tool),
            time(a.expires_at)
        );
    } else {
        println!(
            "{} denied by {}: the retry of `{}` will be refused",
            crate::escape::terminal(&a.id),
            crate::escape::terminal(&by),
            crate::escape::terminal(&a.tool)
        );
    }
    ExitCode::SUCCESS
}

fn print_one(a: &Approval) {
    use crate::escape::terminal as t;
    println!("id:        {}", t(&a.id));
    println!("status:    {}", a.status.as_str());
    println!("tool:      {}", t(&a.tool));
    println!("principal: {}", t(&a.principal));
    println!("session:   {}", t(&a.session));
    println!("rule:      {}", t(&a.rule));
    println!("reason:    {}", t(&a.reason));
    println!("created:   {}", time(a.created_at));
    println!("expires:   {}", time(a.expires_at));
    if let Some(by) = &a.decided_by {
        println!(
            "decided:   by {} at {}",
            t(by),
            time(a.decided_at.unwrap_or_default())
        );
    }
    println!(
        "arguments (secrets redacted):\n{}",
        serde_json::to_string_pretty(&a.args).unwrap_or_default()
    );
}

fn time(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

fn fail(e: crate::state::StoreError) -> ExitCode {
    eprintln!("guarded-aws-mcp: {e}");
    ExitCode::FAILURE
}
