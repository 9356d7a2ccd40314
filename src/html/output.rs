//! The HTML report of a run (`--html FILE`): it keeps the span trees the page draws as trials
//! finish, and renders the page from the completed report.

use std::path::{Path, PathBuf};

use super::{Budget, Collector, TraceSelection};
use crate::event::RunEvent;
use crate::report::output::Output;
use crate::report::{Report, WriteError, check_writable, write_atomic};

/// The HTML report file.
pub(crate) struct HtmlFile {
    path: PathBuf,
    collector: Option<Collector>,
}

impl HtmlFile {
    /// The page at `path`, drawing the span trees `selection` picks.
    pub(crate) fn new(path: PathBuf, selection: TraceSelection) -> HtmlFile {
        HtmlFile {
            path,
            collector: Some(Collector::new(selection)),
        }
    }

    /// The run's outputs for `--html PATH`: the page when a path is given.
    pub(crate) fn outputs(path: Option<&Path>, selection: TraceSelection) -> Vec<Box<dyn Output>> {
        path.map(|path| Box::new(HtmlFile::new(path.to_owned(), selection)) as Box<dyn Output>)
            .into_iter()
            .collect()
    }
}

impl Output for HtmlFile {
    fn prepare(&mut self) -> Result<(), WriteError> {
        check_writable(&self.path)
    }

    fn on_event(&mut self, event: &RunEvent) {
        let Some(collector) = &mut self.collector else {
            return;
        };
        match event {
            RunEvent::TrialFinished(t) => collector.trial(t),
            RunEvent::CaseFinished(c) => collector.case_finished(c),
            _ => {}
        }
    }

    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        let drawn = self
            .collector
            .take()
            .map(Collector::finish)
            .unwrap_or_default();
        let page = super::render(report, &drawn, &mut Budget::default());
        write_atomic(&self.path, page.as_bytes())
    }
}
