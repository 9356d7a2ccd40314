//! `traceval run --replay RUN`: the recorded run to re-grade, read and checked before anything
//! runs. RUN is the run's directory (`reports/<run-id>/`, holding `traces/`) or its report
//! (`reports/<run-id>.json`), whose traces are in `<run-id>/traces/` beside it, or, for a report
//! written elsewhere with `--report`, where `--save-traces` put them: `reports/<run-id>/traces/`
//! under the project root.
//!
//! A report that cannot be read, or a run that saved no trace at all, is a usage error (exit 2):
//! there is nothing to replay. A single trial whose trace is missing or unreadable errors on its
//! own, like a trial whose agent crashed, and the others are still re-graded.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::CliError;
use crate::report::Report;
use crate::report::schema::{FORMAT_VERSION, ReplaySource};
use crate::runner::Plan;
use crate::runner::driver::replay::RecordedRun;
use crate::suite::Project;

/// A run's report, read for a replay.
pub(super) struct Recorded {
    /// The report.
    pub(super) report: Report,
    path: PathBuf,
    traces_dir: PathBuf,
}

/// A replay, ready to run.
pub(super) struct Replay {
    /// The recorded trials.
    pub(super) run: Arc<RecordedRun>,
    /// Where the report came from, for the new report.
    pub(super) source: ReplaySource,
    /// The recorded run's seed.
    pub(super) seed: u64,
    /// Warnings about recorded trials the plan leaves out.
    pub(super) notices: Vec<String>,
}

/// Why a run cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReplayError {
    /// A directory without a name (`/`).
    #[error("--replay `{}`: not a run directory", .0.display())]
    NotARunDirectory(PathBuf),
    /// The report cannot be read.
    #[error("--replay: cannot read the report `{}`: {error}", path.display())]
    ReadReport {
        /// The report file.
        path: PathBuf,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not a traceval report.
    #[error("--replay: `{}` is not a traceval report: {error}", path.display())]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// Why.
        error: serde_json::Error,
    },
    /// The report has a format version this traceval does not read.
    #[error(
        "--replay: `{}` has report format version {version}; this traceval reads version \
         {FORMAT_VERSION}",
        path.display()
    )]
    FormatVersion {
        /// The report file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
    /// The run id cannot name a directory.
    #[error("--replay: `{}` has an invalid run id", .0.display())]
    InvalidRunId(PathBuf),
    /// The run was made without `--save-traces`.
    #[error(
        "--replay: run {run_id} saved no traces (`{}` lists none): only a run made with \
         --save-traces can be replayed",
        path.display()
    )]
    NoTraces {
        /// The recorded run.
        run_id: String,
        /// Its report.
        path: PathBuf,
    },
    /// The saved traces are in none of the places they could be.
    #[error("--replay: the saved traces of run {run_id} are not in {}", looked(.candidates))]
    TracesMissing {
        /// The recorded run.
        run_id: String,
        /// Where they were looked for.
        candidates: Vec<PathBuf>,
    },
    /// The selection leaves out every recorded trial.
    #[error(
        "--replay: no recorded trial of run {0} is in the plan: its suites, cases and models are \
         not the ones selected"
    )]
    NotInPlan(String),
}

fn looked(candidates: &[PathBuf]) -> String {
    let looked: Vec<String> = candidates
        .iter()
        .map(|dir| format!("`{}`", dir.display()))
        .collect();
    looked.join(" or ")
}

/// Reads the report of the run at `given` (a run directory or a report file) of the project at
/// `root`.
pub(super) fn load(given: &Path, root: &Path) -> Result<Recorded, CliError> {
    load_report(given, root).map_err(CliError::Replay)
}

fn load_report(given: &Path, root: &Path) -> Result<Recorded, ReplayError> {
    let (path, dir) = if given.is_dir() {
        let name = given
            .file_name()
            .ok_or_else(|| ReplayError::NotARunDirectory(given.to_path_buf()))?;
        let mut report = name.to_owned();
        report.push(".json");
        (given.with_file_name(report), Some(given.to_path_buf()))
    } else {
        (given.to_path_buf(), None)
    };
    let bytes = std::fs::read(&path).map_err(|error| ReplayError::ReadReport {
        path: path.clone(),
        error,
    })?;
    let report: Report =
        serde_json::from_slice(&bytes).map_err(|error| ReplayError::NotAReport {
            path: path.clone(),
            error,
        })?;
    if report.format_version != FORMAT_VERSION {
        return Err(ReplayError::FormatVersion {
            path,
            version: report.format_version,
        });
    }
    // The run id is data from the file: it names a directory only when it is one plain name.
    let plain_id = !report.run_id.is_empty()
        && Path::new(&report.run_id)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
        && !report.run_id.contains('/');
    let candidates = match dir {
        Some(dir) => vec![dir.join("traces")],
        None if plain_id => vec![
            path.with_file_name(&report.run_id).join("traces"),
            root.join("reports").join(&report.run_id).join("traces"),
        ],
        None => return Err(ReplayError::InvalidRunId(path)),
    };
    if report.trials.iter().all(|t| t.trace_file.is_none()) {
        return Err(ReplayError::NoTraces {
            run_id: report.run_id,
            path,
        });
    }
    let Some(traces_dir) = candidates.iter().find(|dir| dir.is_dir()).cloned() else {
        return Err(ReplayError::TracesMissing {
            run_id: report.run_id,
            candidates,
        });
    };
    Ok(Recorded {
        report,
        path,
        traces_dir,
    })
}

impl Recorded {
    /// Narrows `plan` to the recorded trials; the report's trials move into the replay.
    pub(super) fn into_plan(self, project: &Project, plan: &mut Plan) -> Replay {
        let label = format!("run {}", self.report.run_id);
        let ids: Vec<_> = self.report.trials.iter().map(|t| t.id().into()).collect();
        let notices = plan.keep_recorded(project, &ids, &label);
        Replay {
            source: ReplaySource {
                run_id: self.report.run_id.clone(),
                report: self.path.display().to_string(),
            },
            seed: self.report.seed,
            run: Arc::new(RecordedRun::new(
                self.report.run_id,
                self.traces_dir,
                self.report.trials.into_iter().map(Into::into),
            )),
            notices,
        }
    }
}
