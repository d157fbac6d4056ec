//! A runnable MCP client: starts guarded-aws-mcp over stdio, lists the tools it offers and
//! calls `list_brokers`. Point it at a local fake or at your AWS account:
//!
//!   cargo build && cargo run --example list_brokers -- [--endpoint-url http://127.0.0.1:5000]
//!
//! Any arguments are passed on to `guarded-aws-mcp serve`.

use rmcp::ServiceExt;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::TokioChildProcess;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bin = std::env::var("GUARDED_AWS_MCP_BIN").unwrap_or_else(|_| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/target/debug/guarded-aws-mcp").to_string()
    });
    let mut cmd = tokio::process::Command::new(bin);
    cmd.arg("serve").args(std::env::args().skip(1));
    let client = ().serve(TokioChildProcess::new(cmd)?).await?;

    let tools = client.list_all_tools().await?;
    println!("{} tools offered:", tools.len());
    for t in &tools {
        println!("  {}", t.name);
    }

    let result = client
        .call_tool(CallToolRequestParams::new("list_brokers"))
        .await?;
    for c in &result.content {
        if let Some(t) = c.as_text() {
            println!("list_brokers (isError: {:?}):\n{}", result.is_error, t.text);
        }
    }
    client.cancel().await?;
    Ok(())
}
