//! Every output of a run behind one seam: [`Output`] sees each event as it happens and the
//! folded [`Report`] at the end. [`Outputs::registered`] is the one list of outputs; adding
//! one (Markdown, OTLP forwarding) is a file implementing [`Output`] and a line there; a
//! module above this one (the HTML report) hands its outputs to [`Outputs::registered`].
//! [`Reporters`] folds the events into the report and hands both to the outputs.

mod files;
mod forward;
mod github;
mod json_lines;
mod terminal;

use std::path::PathBuf;

use crate::event::RunEvent;

use super::terminal::TerminalOptions;
use super::{Report, ReportBuilder, RunMeta, WriteError};
pub(crate) use github::{CaseOrigins, GithubSettings};

/// One output of a run.
pub(crate) trait Output {
    /// Before the first trial: an output that writes a file checks that it can, so an
    /// unwritable location is found before any agent runs.
    fn prepare(&mut self) -> Result<(), WriteError> {
        Ok(())
    }

    /// An event, as it happens.
    fn on_event(&mut self, _event: &RunEvent) {}

    /// The run is over and its report folded: before any output finishes, each may add what
    /// only it knows to the report (forwarding: how many spans arrived).
    fn complete(&mut self, _report: &mut Report) {}

    /// The run is over and its report completed; outputs finish in the order of the list.
    fn finish(&mut self, _report: &Report) -> Result<(), WriteError> {
        Ok(())
    }
}

/// What the outputs of a run are, resolved from the settings.
#[derive(Debug, Clone)]
pub(crate) struct OutputSettings {
    /// How the terminal display looks.
    pub(crate) terminal: TerminalOptions,
    /// Where `--save-traces` writes: the display names a failing trial's trace file.
    pub(crate) traces_dir: Option<PathBuf>,
    /// `--message-format json`: every event as a JSON line on stdout.
    pub(crate) json_lines: bool,
    /// The JSON report.
    pub(crate) report: PathBuf,
    /// The JUnit file, if any.
    pub(crate) junit: Option<PathBuf>,
    /// Under GitHub Actions: the step summary and annotations.
    pub(crate) github: Option<GithubSettings>,
}

/// A run's outputs, in the order they see events and finish.
pub(crate) struct Outputs(Vec<Box<dyn Output>>);

impl Outputs {
    /// Every output `settings` ask for. The terminal comes first, so the results are shown
    /// even when a file cannot be written; the report file is written before JUnit, and the
    /// GitHub outputs, which never fail a run, come last.
    /// `forward` is the started OTLP forwarder, when the run forwards; `files` are outputs
    /// that modules above this one make (the HTML report), finished after JUnit.
    pub(crate) fn registered(
        settings: &OutputSettings,
        forward: Option<crate::forward::Forwarder>,
        files: Vec<Box<dyn Output>>,
    ) -> Outputs {
        let mut list: Vec<Box<dyn Output>> = vec![Box::new(terminal::Display::stderr(
            settings.terminal,
            settings.traces_dir.clone(),
        ))];
        if settings.json_lines {
            list.push(Box::new(json_lines::JsonLines::new(std::io::stdout())));
        }
        list.push(Box::new(files::ReportFile(settings.report.clone())));
        if let Some(path) = &settings.junit {
            list.push(Box::new(files::JunitFile(path.clone())));
        }
        // Outputs of higher layers (the HTML report), after the report file.
        list.extend(files);
        if let Some(github) = &settings.github {
            if let Some(path) = &github.summary {
                list.push(Box::new(github::StepSummary(path.clone())));
            }
            let out: Box<dyn std::io::Write> = if github.annotations_on_stderr {
                Box::new(std::io::stderr())
            } else {
                Box::new(std::io::stdout())
            };
            list.push(Box::new(github::Annotations {
                out,
                workspace: github.workspace.clone(),
                cases: github.cases.clone(),
            }));
        }
        // Last to see events, first to complete: the report it completes is the one written.
        if let Some(forwarder) = forward {
            list.push(Box::new(forward::Forward::new(forwarder)));
        }
        Outputs(list)
    }

    /// Outputs from a list (tests register their own).
    #[cfg(test)]
    fn from_list(list: Vec<Box<dyn Output>>) -> Outputs {
        Outputs(list)
    }

    /// Prepares every output, in order, stopping at the first that cannot write.
    pub(crate) fn prepare(&mut self) -> Result<(), WriteError> {
        self.0.iter_mut().try_for_each(|o| o.prepare())
    }
}

/// Why [`Reporters::finish`] failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum FinishError {
    /// Aggregating the report panicked or was cancelled.
    #[error("aggregating the report failed")]
    Aggregate(#[source] tokio::task::JoinError),
    /// An output could not write its file.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// The report being folded from a run's events, and the outputs that see them.
pub(crate) struct Reporters {
    builder: ReportBuilder,
    outputs: Outputs,
}

impl Reporters {
    /// Reporters for a run described by `meta`.
    pub(crate) fn new(meta: RunMeta, outputs: Outputs) -> Reporters {
        Reporters {
            builder: ReportBuilder::new(meta),
            outputs,
        }
    }

    /// An event: every output sees it, in order, then the report folds it in.
    pub(crate) fn on_event(&mut self, event: RunEvent) {
        for output in &mut self.outputs.0 {
            output.on_event(&event);
        }
        self.builder.on_event(event);
    }

    /// Folds the report (aggregation runs on rayon's pool, off the async workers), then
    /// finishes the outputs in order, stopping at the first that cannot write.
    pub(crate) async fn finish(self) -> Result<Report, FinishError> {
        let Reporters {
            builder,
            mut outputs,
        } = self;
        let mut report = tokio::task::spawn_blocking(move || builder.finish())
            .await
            .map_err(FinishError::Aggregate)?;
        // Completing may wait on a backend (at most the forward timeout), blocking this
        // worker: the run's trials, receiver and model server are done by now.
        for output in &mut outputs.0 {
            output.complete(&mut report);
        }
        for output in &mut outputs.0 {
            output.finish(&report)?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests;
