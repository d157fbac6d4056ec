//! The CLI reference (`docs/cli.md`), written from the clap definitions: every command's
//! `--help`. A unit test keeps the file in step with the flags.

use clap::CommandFactory;

use super::Cli;

/// The reference as Markdown.
pub fn markdown() -> String {
    let mut cmd = prepare(Cli::command().bin_name("guarded-aws-mcp"));
    cmd.build();
    let mut out = String::from(
        "# CLI reference\n\n\
         Generated from the command-line definitions (every command's `--help`); a test fails \
         when this file and the flags differ (`GUARDED_UPDATE_DOCS=1 cargo test --lib docs` \
         rewrites it). The flags in context: [getting started](getting-started.md), \
         [serving a team](serving-a-team.md), [operations](operations.md).\n",
    );
    section(&mut cmd, "guarded-aws-mcp", &mut out);
    out
}

/// Help that does not depend on where it is rendered: a fixed width, and no environment
/// variable's value (only its name).
fn prepare(cmd: clap::Command) -> clap::Command {
    cmd.term_width(100)
        .max_term_width(100)
        .mut_args(|a| a.hide_env_values(true))
        .mut_subcommands(prepare)
}

fn section(cmd: &mut clap::Command, path: &str, out: &mut String) {
    out.push_str(&format!("\n## `{path}`\n\n```text\n"));
    let help = cmd.render_long_help().to_string();
    for line in help.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.push_str("```\n");
    let names: Vec<String> = cmd
        .get_subcommands()
        .filter(|s| s.get_name() != "help")
        .map(|s| s.get_name().to_string())
        .collect();
    for name in names {
        if let Some(sub) = cmd.find_subcommand_mut(&name) {
            section(sub, &format!("{path} {name}"), out);
        }
    }
}
