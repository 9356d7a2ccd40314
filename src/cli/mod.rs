//! The command line: arguments (clap) resolved once into settings, one file per subcommand,
//! and the exit codes of `docs/reference/exit-codes.md` (0 pass, 1 fail, 2 usage or
//! configuration, 3 infrastructure, 130 interrupted: `exit.rs`), each [`CliError`] mapped to one.

mod args;
mod compare;
mod error;
mod exit;
mod forward;
mod help;
mod html;
mod init;
mod inspect;
mod list;
mod merge;
mod meta;
mod models;
mod plan;
mod program;
mod replay;
mod review;
mod run;
mod serve;
mod settings;
mod snapshot;

use std::io::Write;

use clap::{Parser, Subcommand};

pub(crate) use error::CliError;

use crate::trace::render::clean;

/// A test runner for AI agents that treats OpenTelemetry traces as results.
#[derive(Debug, Parser)]
#[command(
    name = "traceval",
    version,
    about,
    propagate_version = true,
    after_help = help::TRACEVAL
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a project: a suite, an example agent and a scripted model that pass at once.
    #[command(after_help = init::HELP)]
    Init(init::InitArgs),
    /// Print trace files (OTLP JSON or JSONL) as span trees, or summarise them as JSON.
    #[command(after_help = help::INSPECT)]
    Inspect(inspect::InspectArgs),
    /// Run suites: every case k times per model, graded from the agents' traces.
    #[command(after_help = help::RUN)]
    Run(Box<args::RunArgs>),
    /// Print the plan `run` would execute, without running anything.
    #[command(after_help = help::LIST)]
    List(args::SelectArgs),
    /// Compare runs, or the models of one run: paired statistics, flaky versus broken cases,
    /// what the agents did differently; with a `--fail-on-…`/`--max-…` flag, a CI gate.
    #[command(after_help = help::COMPARE)]
    Compare(args::CompareArgs),
    /// Join the reports of one run's shards (`run --shard I/N`) into the whole run's report.
    #[command(after_help = merge::HELP)]
    Merge(merge::MergeArgs),
    /// Write the self-contained HTML report of a finished run from its JSON report.
    #[command(after_help = html::HELP)]
    Html(html::HtmlArgs),
    /// Serve a scripted model as an OpenAI-compatible API on 127.0.0.1.
    #[command(after_help = help::SERVE_MODEL)]
    ServeModel(args::ServeModelArgs),
    /// List, accept, reject or review the pending trace-shape snapshots of `suites/snapshots/`.
    #[command(after_help = help::SNAPSHOT)]
    Snapshot(snapshot::SnapshotArgs),
}

/// Runs the command line and returns the exit code.
pub(crate) fn main() -> i32 {
    // reqwest is built without a default TLS provider (ring instead of aws-lc: a lighter
    // build); building a client before one is installed panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help and version to stdout with code 0, usage errors with code 2.
            let _ = e.print();
            return e.exit_code();
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::PASS,
        Err(e) => {
            let mut stderr = std::io::stderr().lock();
            // Messages may quote a trace file's content: escape it like any trace text.
            let _ = writeln!(stderr, "{}", message_lines("error: ", &e.to_string()));
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                let _ = writeln!(stderr, "{}", message_lines("  caused by: ", &c.to_string()));
                cause = c.source();
            }
            let hint = match &e {
                CliError::SuiteLoad(load) | CliError::Conventions(load) => load.hint(),
                CliError::Script(script) => script.hint(),
                _ => None,
            };
            if let Some(hint) = hint {
                let _ = writeln!(stderr, "  hint: {}", clean(hint, 500));
            }
            e.exit_code()
        }
    }
}

/// The project root: `--project DIR`, which must be a directory, else the project that the
/// suite `paths` (or, without any, the working directory) are in ([`crate::suite::find_root`]).
fn project_root(
    project: Option<&std::path::Path>,
    paths: &[std::path::PathBuf],
) -> Result<std::path::PathBuf, CliError> {
    if let Some(dir) = project {
        if !dir.is_dir() {
            return Err(CliError::NoProjectDir(dir.to_path_buf()));
        }
        return Ok(dir.to_path_buf());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| CliError::Infrastructure("cannot read the working directory".to_owned(), e))?;
    Ok(crate::suite::find_root(&cwd, paths)?)
}

/// Lines of a message shown at most; a longer one ends with `…`.
const MAX_MESSAGE_LINES: usize = 20;

/// `prefix` and `message`, a message of several lines (a regex error's caret diagram) as
/// lines aligned under its first, each escaped like any trace text.
fn message_lines(prefix: &str, message: &str) -> String {
    let indent = " ".repeat(prefix.chars().count());
    let mut out = String::new();
    for (i, line) in message.trim_end().lines().enumerate() {
        if i == MAX_MESSAGE_LINES {
            out.push('\n');
            out.push_str(&indent);
            out.push('…');
            break;
        }
        if i > 0 {
            out.push('\n');
        }
        out.push_str(if i == 0 { prefix } else { &indent });
        out.push_str(&clean(line, 500));
    }
    if out.is_empty() {
        out.push_str(prefix.trim_end());
    }
    out
}

fn run(cli: Cli) -> Result<i32, CliError> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Inspect(args) => inspect::run(&args),
        Command::Run(args) => run::run(&args),
        Command::List(args) => list::list(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Merge(args) => merge::run(&args),
        Command::Html(args) => html::run(&args),
        Command::ServeModel(args) => serve::serve_model(&args),
        Command::Snapshot(args) => snapshot::run(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_of_several_lines_are_printed_as_aligned_lines() {
        let regex = "regex parse error:\n    (unclosed\n    ^\nerror: unclosed group";
        assert_eq!(
            message_lines("  caused by: ", regex),
            "  caused by: regex parse error:\n             \
             \x20   (unclosed\n                 ^\n             error: unclosed group"
        );
        // One line stays one line; control characters are still escaped.
        assert_eq!(
            message_lines("error: ", "bad \u{1b}[2J"),
            "error: bad \\u{1b}[2J"
        );
        let long = (0..30)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join("\n");
        let shown = message_lines("e: ", &long);
        assert_eq!(shown.lines().count(), MAX_MESSAGE_LINES + 1);
        assert!(shown.ends_with("   …"), "{shown}");
    }
}
