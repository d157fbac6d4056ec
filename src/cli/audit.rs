//! `guarded-aws-mcp audit`: verify a log (files, or a stream shipped to CloudWatch Logs) and
//! make checkpoint signing keys.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check an audit log's hash chain and numbering: one file, or the files (or folders) of a
    /// rotated log, in order; name the first broken record, a missing file, and, with
    /// --public-key, a checkpoint whose signature, head or link does not verify. With
    /// --cloudwatch, the records shipped to a log stream instead (an identical duplicate is
    /// counted, not a break). Exit code 1 if broken.
    Verify {
        #[arg(required_unless_present = "cloudwatch", conflicts_with = "cloudwatch")]
        paths: Vec<PathBuf>,
        /// A shipped stream, `LOG_GROUP/STREAM` (`serve --audit-cloudwatch`), read with the
        /// AWS configuration of the environment (AWS_REGION, AWS_PROFILE,
        /// AWS_ENDPOINT_URL_CLOUDWATCH_LOGS) or the flags below.
        #[arg(long, value_name = "LOG_GROUP/STREAM")]
        cloudwatch: Option<String>,
        /// AWS region of the log group.
        #[arg(long, requires = "cloudwatch")]
        region: Option<String>,
        /// AWS profile to read it with.
        #[arg(long, requires = "cloudwatch")]
        profile: Option<String>,
        /// AWS endpoint (a local fake).
        #[arg(long, requires = "cloudwatch")]
        endpoint_url: Option<String>,
        /// The public key of `--audit-signing-key` (`FILE.pub` from `audit keygen`): check
        /// every checkpoint's signature.
        #[arg(long)]
        public_key: Option<PathBuf>,
    },
    /// Write a new Ed25519 key pair for signed checkpoints: the private key to FILE (mode
    /// 0600, for `serve --audit-signing-key`) and the public key to FILE.pub (for `audit
    /// verify --public-key`). Never overwrites.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

/// Run an `audit` command.
pub fn run(command: AuditCommand) -> ExitCode {
    match command {
        AuditCommand::Verify {
            paths,
            public_key,
            cloudwatch,
            region,
            profile,
            endpoint_url,
        } => {
            let stream = match cloudwatch
                .as_deref()
                .map(|c| crate::audit::cloudwatch::split_group_stream(c).ok_or(c))
            {
                None => None,
                Some(Ok((group, stream))) => Some(Stream {
                    group: group.to_string(),
                    stream: stream.to_string(),
                    aws: crate::aws::AwsOptions {
                        region,
                        profile,
                        endpoint_url,
                        ..Default::default()
                    },
                }),
                Some(Err(c)) => {
                    eprintln!("guarded-aws-mcp: --cloudwatch `{c}`: expected LOG_GROUP/STREAM");
                    return ExitCode::FAILURE;
                }
            };
            verify(&paths, stream, public_key.as_deref())
        }
        AuditCommand::Keygen { out } => match crate::audit::signing::keygen(&out) {
            Ok(public) => {
                println!(
                    "private key: {} (give it to `serve --audit-signing-key`; keep it secret)\npublic key: {} (give it to `audit verify --public-key`)",
                    out.display(),
                    public.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("guarded-aws-mcp: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// A stream to read back.
struct Stream {
    group: String,
    stream: String,
    aws: crate::aws::AwsOptions,
}

/// Every record of a shipped stream.
fn read_stream(s: Stream) -> Result<Vec<String>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let aws = crate::aws::AwsClients::new(s.aws);
        let client = aws_sdk_cloudwatchlogs::Client::new(aws.config().await);
        crate::audit::cloudwatch::read_stream(&client, &s.group, &s.stream)
            .await
            .map_err(|e| e.to_string())
    })
}

/// `audit verify`: the chain, the numbering, the checkpoints.
fn verify(paths: &[PathBuf], stream: Option<Stream>, public_key: Option<&Path>) -> ExitCode {
    let key = match public_key
        .map(crate::audit::signing::PublicKey::load)
        .transpose()
    {
        Ok(k) => k,
        Err(e) => {
            eprintln!("guarded-aws-mcp: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (shown, verified) = match stream {
        Some(s) => {
            let name = format!("{}/{}", s.group, s.stream);
            match read_stream(s) {
                Ok(lines) => (
                    name.clone(),
                    crate::audit::verify_stream(lines, &name, key.as_ref()),
                ),
                Err(e) => {
                    eprintln!("guarded-aws-mcp: {name}: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
        None => {
            let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            (
                shown.join(", "),
                crate::audit::verify_files(paths, key.as_ref()),
            )
        }
    };
    match verified {
        Ok(r) => {
            println!(
                "{shown}: ok, {} records in {} file{}, chain unbroken",
                r.records,
                r.files,
                if r.files == 1 { "" } else { "s" }
            );
            if r.duplicates > 0 {
                println!(
                    "{} record{} shipped twice (a batch sent again after its answer was lost), each copy identical",
                    r.duplicates,
                    if r.duplicates == 1 { "" } else { "s" }
                );
            }
            match (&r.last_checkpoint, r.signatures_checked) {
                (Some((seq, ts)), checked) => println!(
                    "{} checkpoint{} {}; the last is record {seq} ({ts}); {} record{} after it, which a checkpoint does not yet prove",
                    r.checkpoints,
                    if r.checkpoints == 1 { "" } else { "s" },
                    if checked {
                        "with valid signatures"
                    } else {
                        "linked (signatures not checked: give --public-key)"
                    },
                    r.after_last_checkpoint,
                    if r.after_last_checkpoint == 1 {
                        ""
                    } else {
                        "s"
                    },
                ),
                (None, true) => println!(
                    "no checkpoints: nothing proves the end of the log (serve --audit-signing-key writes them)"
                ),
                (None, false) => {}
            }
            ExitCode::SUCCESS
        }
        Err(b) => {
            println!("{b}");
            ExitCode::FAILURE
        }
    }
}
