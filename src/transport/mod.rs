//! Transports. stdio is the default: stdout carries the protocol, so all logging goes to
//! stderr. Streamable HTTP is in [`http`], its authentication in [`auth`], the tokens file in
//! [`tokens`].
//!
//! Between stdin/stdout and rmcp sits a small framing layer: every line is checked to be one
//! JSON value of at most [`MAX_MESSAGE_BYTES`] before rmcp sees it; a line that is not JSON gets
//! a JSON-RPC parse error (-32700), an oversized one an invalid-request error (-32600), and the
//! server goes on. Output lines from rmcp and these errors are written whole, never interleaved.

use std::sync::Arc;

use rmcp::ServiceExt;
use serde_json::json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::gate::Gate;
use crate::policy::Caller;
use crate::server::GuardedServer;

pub mod admin;
pub mod auth;
pub mod http;
pub mod listener;
pub mod metrics;
mod shared_sessions;
pub mod tokens;
mod trim;

/// The largest JSON-RPC message accepted on stdio.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serve one MCP session on stdin/stdout until the client closes it. When they are pipes (as
/// MCP clients spawn servers) they are read and written non-blocking from the runtime's own
/// thread ([`pipes`]): no hand-off to a blocking thread for every message each way. Otherwise
/// (a terminal, a file, a socket) tokio's blocking stdin and stdout.
pub async fn serve_stdio(gate: Arc<Gate>, caller: Caller) -> Result<(), BoxError> {
    #[cfg(unix)]
    if let Some(input) = pipes::stdin() {
        tracing::debug!("stdio: non-blocking pipes");
        return match pipes::stdout() {
            Some(output) => serve_framed(gate, caller, input, output).await,
            None => serve_framed(gate, caller, input, tokio::io::stdout()).await,
        };
    }
    serve_framed(gate, caller, tokio::io::stdin(), tokio::io::stdout()).await
}

/// Resolves on Ctrl-C or SIGTERM (what Kubernetes, and an MCP client ending a stdio server,
/// send).
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// stdin and stdout as non-blocking pipes driven by the runtime (tokio's pipe support sets
/// `O_NONBLOCK` and registers them with the reactor).
#[cfg(unix)]
mod pipes {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    use tokio::net::unix::pipe;

    /// stdin, when it is a pipe.
    pub fn stdin() -> Option<pipe::Receiver> {
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        pipe::Receiver::from_owned_fd(fd).ok()
    }

    /// stdout, when it is a pipe that stderr does not share (non-blocking writes on a shared
    /// pipe would make a log line fail when the pipe is full).
    pub fn stdout() -> Option<pipe::Sender> {
        let out = std::io::stdout().as_fd().try_clone_to_owned().ok()?;
        let err = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
        let o = std::fs::File::from(out.try_clone().ok()?).metadata().ok()?;
        let e = std::fs::File::from(err).metadata().ok()?;
        if o.dev() == e.dev() && o.ino() == e.ino() {
            return None;
        }
        pipe::Sender::from_owned_fd(out).ok()
    }
}

/// Serve one MCP session over a line-delimited byte stream pair.
pub async fn serve_framed<R, W>(
    gate: Arc<Gate>,
    caller: Caller,
    input: R,
    output: W,
) -> Result<(), BoxError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let server = GuardedServer::with_caller(gate, caller);
    tracing::info!(session = server.session_id(), "serving MCP on stdio");
    let (ours, theirs) = tokio::io::duplex(1 << 20);
    let (from_rmcp, to_rmcp) = tokio::io::split(ours);
    let (errors_tx, errors_rx) = mpsc::channel::<String>(64);
    let reader = tokio::spawn(frame_input(BufReader::new(input), to_rmcp, errors_tx));
    let writer = tokio::spawn(merge_output(BufReader::new(from_rmcp), errors_rx, output));
    // A reload that hides or shows tools tells the client to list them again: the server does
    // it for every session, stdio or HTTP (GuardedServer::on_initialized).
    let running = server.serve(tokio::io::split(theirs)).await?;
    let result = running.waiting().await;
    reader.abort();
    let _ = writer.await;
    result?;
    Ok(())
}

/// What the framing layer makes of one input line.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// A blank line: ignored.
    Empty,
    /// One JSON object or array: passed to the MCP service.
    Message(&'a [u8]),
    /// Answered with a JSON-RPC error, id null.
    Reject { code: i64, message: String },
}

/// Classify one line (without its newline). Pure: the fuzz target `jsonrpc_frame` drives it.
pub fn classify(line: &[u8]) -> Frame<'_> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return Frame::Empty;
    }
    if trimmed.len() > MAX_MESSAGE_BYTES {
        return Frame::Reject {
            code: -32600,
            message: format!("Invalid request: message larger than {MAX_MESSAGE_BYTES} bytes"),
        };
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(trimmed) {
        Ok(_) if matches!(trimmed.first(), Some(b'{') | Some(b'[')) => Frame::Message(trimmed),
        Ok(_) => Frame::Reject {
            code: -32600,
            message: "Invalid request: a JSON-RPC message is a JSON object".into(),
        },
        Err(e) => Frame::Reject {
            code: -32700,
            message: format!("Parse error: {e}"),
        },
    }
}

fn error_line(code: i64, message: String) -> String {
    json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}}).to_string()
}

/// Read lines from the client; pass valid JSON lines to rmcp; answer the others.
async fn frame_input<R, W>(mut input: R, mut to_rmcp: W, errors: mpsc::Sender<String>)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut oversized = false;
        // Read one line, keeping at most MAX_MESSAGE_BYTES of it.
        let ended = loop {
            let buf = match input.fill_buf().await {
                Ok(b) => b,
                Err(_) => break true,
            };
            if buf.is_empty() {
                break true;
            }
            let (chunk, found) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            if !oversized && line.len() + chunk.len() <= MAX_MESSAGE_BYTES {
                line.extend_from_slice(chunk);
            } else {
                oversized = true;
                line.clear();
            }
            let used = found.unwrap_or(buf.len());
            input.consume(used);
            if found.is_some() {
                break false;
            }
        };
        if oversized {
            tracing::warn!("refused a message over {MAX_MESSAGE_BYTES} bytes");
            let _ = errors
                .send(error_line(
                    -32600,
                    format!("Invalid request: message larger than {MAX_MESSAGE_BYTES} bytes"),
                ))
                .await;
        } else {
            match classify(&line) {
                Frame::Empty => {}
                Frame::Message(m) => {
                    let mut framed = m.to_vec();
                    framed.push(b'\n');
                    if to_rmcp.write_all(&framed).await.is_err() {
                        return;
                    }
                }
                Frame::Reject { code, message } => {
                    let _ = errors.send(error_line(code, message)).await;
                }
            }
        }
        if ended {
            // End of input: let rmcp see the end too.
            let _ = to_rmcp.shutdown().await;
            return;
        }
    }
}

/// Write rmcp's output lines and the framing errors to the client, one whole line at a time.
async fn merge_output<R, W>(mut from_rmcp: R, mut errors: mpsc::Receiver<String>, mut output: W)
where
    R: AsyncBufRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut line = Vec::new();
    let mut errors_open = true;
    loop {
        line.clear();
        tokio::select! {
            read = from_rmcp.read_until(b'\n', &mut line) => {
                match read {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                            break;
                        }
                    }
                }
            }
            msg = errors.recv(), if errors_open => {
                match msg {
                    Some(m) => {
                        let mut l = m.into_bytes();
                        l.push(b'\n');
                        if output.write_all(&l).await.is_err() || output.flush().await.is_err() {
                            break;
                        }
                    }
                    None => errors_open = false,
                }
            }
        }
    }
}
