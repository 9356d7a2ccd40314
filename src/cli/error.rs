//! [`CliError`]: everything that stops a command, each variant with its exit code.

use std::path::PathBuf;

use super::exit;
use super::replay::ReplayError;
use crate::capture::ReceiverError;
use crate::capture::file::TraceFileError;
use crate::compare::CompareError;
use crate::llm::http::ProviderError;
use crate::llm::scripted::ScriptError;
use crate::report::WriteError;
use crate::report::merge::MergeError;
use crate::suite::{FilterError, ShardError, SuiteLoadError};

/// Everything that stops a command, by exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
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
    /// `--project DIR` is not a directory (exit 2).
    #[error("--project `{}`: no such directory", .0.display())]
    NoProjectDir(PathBuf),
    /// `--profile NAME` names a profile `traceval.toml` does not define (exit 2).
    #[error("no `[profile.{name}]` in {}", config.display())]
    UnknownProfile {
        /// The profile asked for.
        name: String,
        /// The project's `traceval.toml`.
        config: PathBuf,
    },
    /// `--profile NAME` in a project without a `traceval.toml` (exit 2).
    #[error(
        "--profile {name}: the project has no traceval.toml to define `[profile.{name}]` in \
         (looked in `{}`)",
        root.display()
    )]
    ProfileWithoutConfig {
        /// The profile asked for.
        name: String,
        /// The project root.
        root: PathBuf,
    },
    /// A `--model` name is given twice (exit 2).
    #[error("--model `{0}` is given twice")]
    ModelTwice(String),
    /// A `--filter` pattern is invalid (exit 2).
    #[error("{0}")]
    Filter(FilterError),
    /// `--shard` is not `I/N` (exit 2).
    #[error("{0}")]
    Shard(ShardError),
    /// Two cases' snapshot files would share a name (exit 2).
    #[error("{0}")]
    SnapshotNameClash(String),
    /// The filter leaves no case to run (exit 2).
    #[error("no case matches the filter")]
    NoCaseMatches,
    /// A `--model` name is defined neither in `traceval.toml` nor in a selected suite (exit 2).
    #[error(
        "--model `{name}` is not defined in traceval.toml or in suite `{suite}` ({})",
        path.display()
    )]
    UndefinedModel {
        /// The model name.
        name: String,
        /// The first suite that lacks it.
        suite: String,
        /// That suite's file.
        path: PathBuf,
    },
    /// An agent's or a command tool's program is missing or not executable (exit 2).
    #[error(
        "{}:{line}: `{key}` of suite `{suite}`: program `{}` {problem}",
        path.display(),
        program.display()
    )]
    Program {
        /// The suite file.
        path: PathBuf,
        /// The line of the key.
        line: usize,
        /// `agent.command` or `tool[i].command`.
        key: String,
        /// The suite's name.
        suite: String,
        /// The program, as it would be spawned.
        program: PathBuf,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The builtin agent of a suite has no model to call (exit 2).
    #[error(
        "suite `{suite}` ({}) uses the builtin agent, which needs a model: add `models = [...]` \
         with [model.NAME] definitions, or pass --model",
        path.display()
    )]
    BuiltinWithoutModel {
        /// The suite's name.
        suite: String,
        /// The suite file.
        path: PathBuf,
    },
    /// An agent's API model cannot be configured (a missing key, a bad header) (exit 2).
    #[error("model `{model}` of suite `{suite}`: {error}")]
    ModelProvider {
        /// The model name.
        model: String,
        /// The suite's name.
        suite: String,
        /// Why.
        error: ProviderError,
    },
    /// A judge's API model cannot be configured (exit 2).
    #[error("judge model `{model}` of suite `{suite}`: {error}")]
    JudgeProvider {
        /// The model name.
        model: String,
        /// The suite's name.
        suite: String,
        /// Why.
        error: ProviderError,
    },
    /// `INSTA_UPDATE` names no snapshot mode while a case takes snapshots (exit 2).
    #[error("{0}")]
    SnapshotMode(String),
    /// `--replay RUN` cannot be replayed (exit 2).
    #[error("{0}")]
    Replay(ReplayError),
    /// `inspect` was given a traceval report instead of a trace file (exit 2).
    #[error("{0}")]
    NotATraceFile(String),
    /// `inspect` cannot read a directory it was given (exit 2).
    #[error("cannot read directory `{}`: {error}", dir.display())]
    ReadDir {
        /// The directory.
        dir: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// A directory given to `inspect` holds no trace file (exit 2).
    #[error("`{}` holds no trace files (`*.json`, `*.jsonl`)", .0.display())]
    NoTraceFiles(PathBuf),
    /// No pending snapshot matches `traceval snapshot`'s filter (exit 2).
    #[error(
        "no pending snapshot matches the filter ({total} pending in {dir}: `traceval snapshot \
         list` shows them)"
    )]
    NoPendingMatch {
        /// Pending snapshots in all.
        total: usize,
        /// The snapshot directory, as shown.
        dir: String,
    },
    /// `traceval snapshot review` without a terminal (exit 2).
    #[error(
        "`traceval snapshot review` asks on a terminal, and stdin or stderr is not one: use \
         `traceval snapshot accept` or `traceval snapshot reject` (with a filter to pick \
         snapshots)"
    )]
    ReviewWithoutTerminal,
    /// A gate flag on `traceval run` without `--baseline` (exit 2).
    #[error(
        "gate flags such as `--fail-on-regression` compare with a baseline: add `--baseline BASE.json`"
    )]
    GateWithoutBaseline,
    /// `traceval merge`: the inputs are not the shards of one run (exit 2), or cannot be read
    /// or their traces copied (exit 3).
    #[error(transparent)]
    Merge(#[from] MergeError),
    /// `traceval compare`: the reports cannot be compared (exit 2), or read (exit 3).
    #[error(transparent)]
    Compare(#[from] CompareError),
    /// A report cannot be read (exit 3) or is not one this traceval reads (exit 2).
    #[error(transparent)]
    ReadReport(#[from] crate::report::read::ReadError),
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
    /// `--forward*`, `OTEL_EXPORTER_OTLP_*` or `[forward]` cannot be used (exit 2).
    #[error("forwarding: {0}")]
    Forward(String),
    /// `traceval init` would overwrite files (exit 2).
    #[error(
        "these files exist, and `traceval init` leaves them alone: {}; `--force` overwrites them",
        .0.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", ")
    )]
    InitExists(Vec<PathBuf>),
    /// Snapshot files could not be written; the warnings say which (exit 3).
    #[error("{0} snapshot file(s) could not be written (see the warnings above)")]
    SnapshotWrite(usize),
}

impl CliError {
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            CliError::TraceFile(_)
            | CliError::SuiteLoad(_)
            | CliError::Conventions(_)
            | CliError::Script(_)
            | CliError::NoProjectDir(_)
            | CliError::UnknownProfile { .. }
            | CliError::ProfileWithoutConfig { .. }
            | CliError::ModelTwice(_)
            | CliError::Filter(_)
            | CliError::Shard(_)
            | CliError::SnapshotNameClash(_)
            | CliError::NoCaseMatches
            | CliError::UndefinedModel { .. }
            | CliError::Program { .. }
            | CliError::BuiltinWithoutModel { .. }
            | CliError::ModelProvider { .. }
            | CliError::JudgeProvider { .. }
            | CliError::SnapshotMode(_)
            | CliError::Replay(_)
            | CliError::NotATraceFile(_)
            | CliError::ReadDir { .. }
            | CliError::NoTraceFiles(_)
            | CliError::NoPendingMatch { .. }
            | CliError::ReviewWithoutTerminal
            | CliError::GateWithoutBaseline
            | CliError::InitExists(_)
            | CliError::Forward(_) => exit::USAGE,
            CliError::Merge(e) if e.is_io() => exit::INFRASTRUCTURE,
            CliError::Merge(_) => exit::USAGE,
            CliError::Compare(e) if e.is_io() => exit::INFRASTRUCTURE,
            CliError::Compare(_) => exit::USAGE,
            CliError::ReadReport(e) if e.is_io() => exit::INFRASTRUCTURE,
            CliError::ReadReport(_) => exit::USAGE,
            CliError::Output(_)
            | CliError::Receiver(_)
            | CliError::Report(_)
            | CliError::Infrastructure(..)
            | CliError::SnapshotWrite(_) => exit::INFRASTRUCTURE,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_failures_are_usage_errors_and_name_no_cause() {
        let e = CliError::Program {
            path: "suites/a.toml".into(),
            line: 3,
            key: "agent.command".to_owned(),
            suite: "a".to_owned(),
            program: "./agent.sh".into(),
            problem: "not found",
        };
        assert_eq!(e.exit_code(), exit::USAGE);
        assert_eq!(
            e.to_string(),
            "suites/a.toml:3: `agent.command` of suite `a`: program `./agent.sh` not found"
        );
        // The message says it all: no `caused by` line repeats it.
        let e = CliError::ModelProvider {
            model: "m".to_owned(),
            suite: "s".to_owned(),
            error: ProviderError::MissingKey {
                var: "KEY".to_owned(),
            },
        };
        assert!(std::error::Error::source(&e).is_none());
        assert_eq!(CliError::SnapshotWrite(1).exit_code(), exit::INFRASTRUCTURE);
        assert_eq!(CliError::NoCaseMatches.exit_code(), exit::USAGE);
    }
}
