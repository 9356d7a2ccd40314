//! The command line: arguments (clap), one file per subcommand, and the error-to-exit-code map
//! of `docs/reference/exit-codes.md` (0 pass, 1 fail, 2 usage or configuration, 3 infrastructure).

mod help;
mod inspect;
mod replay;
mod run;
mod snapshot;

use std::io::Write;

use clap::{Parser, Subcommand};

use crate::capture::ReceiverError;
use crate::capture::file::TraceFileError;
use crate::llm::scripted::ScriptError;
use crate::report::WriteError;
use crate::suite::SuiteLoadError;
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
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print trace files (OTLP JSON or JSONL) as span trees, or summarise them as JSON.
    #[command(after_help = help::INSPECT)]
    Inspect(inspect::InspectArgs),
    /// Run suites: every case k times per model, graded from the agents' traces.
    #[command(after_help = help::RUN)]
    Run(run::RunArgs),
    /// Print the plan `run` would execute, without running anything.
    #[command(after_help = help::LIST)]
    List(run::SelectArgs),
    /// Serve a scripted model as an OpenAI-compatible API on 127.0.0.1.
    #[command(after_help = help::SERVE_MODEL)]
    ServeModel(run::ServeModelArgs),
    /// List, accept, reject or review the pending trace-shape snapshots of `suites/snapshots/`.
    #[command(after_help = help::SNAPSHOT)]
    Snapshot(snapshot::SnapshotArgs),
}

/// Everything that stops a command, by exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A trace file could not be read or parsed (exit 2).
    #[error(transparent)]
    TraceFile(#[from] TraceFileError),
    /// A suite or `traceval.toml` is invalid (exit 2).
    #[error("failed to load suites")]
    SuiteLoad(#[from] SuiteLoadError),
    /// A file given for its `[conventions]` is invalid or has none (exit 2).
    #[error("failed to load conventions")]
    Conventions(#[source] SuiteLoadError),
    /// A scripted model's script is invalid (exit 2).
    #[error("failed to load a model script")]
    Script(#[from] ScriptError),
    /// The arguments do not make sense together (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Writing the output failed (exit 3).
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
    /// The OTLP receiver could not start (exit 3).
    #[error("cannot start the OTLP receiver")]
    Receiver(#[source] Box<ReceiverError>),
    /// A report file could not be written (exit 3).
    #[error("cannot write the report")]
    Report(#[source] Box<WriteError>),
    /// Something the run needs from the machine failed (exit 3).
    #[error("{0}")]
    Infrastructure(String, #[source] std::io::Error),
    /// Snapshot files could not be written; the warnings say which (exit 3).
    #[error("{0} snapshot file(s) could not be written (see the warnings above)")]
    SnapshotWrite(usize),
}

impl CliError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::TraceFile(_)
            | CliError::SuiteLoad(_)
            | CliError::Conventions(_)
            | CliError::Script(_)
            | CliError::Usage(_) => 2,
            CliError::Output(_)
            | CliError::Receiver(_)
            | CliError::Report(_)
            | CliError::Infrastructure(..)
            | CliError::SnapshotWrite(_) => 3,
        }
    }
}

/// Runs the command line and returns the exit code.
pub fn main() -> i32 {
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
        Err(CliError::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
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
            return Err(CliError::Usage(format!(
                "--project `{}`: no such directory",
                dir.display()
            )));
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
        Command::Inspect(args) => inspect::run(&args),
        Command::Run(args) => run::run(&args),
        Command::List(args) => run::list(&args),
        Command::ServeModel(args) => run::serve_model(&args),
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
