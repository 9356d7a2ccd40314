//! The terminal display as an output: cargo-style status lines on stderr as trials finish,
//! the summary at the end.

use std::io::Stderr;
use std::path::PathBuf;

use super::Output;
use crate::event::RunEvent;
use crate::report::terminal::{Terminal, TerminalOptions};
use crate::report::{Report, WriteError};

/// The display; `None` once finished.
pub(super) struct Display(Option<Terminal<Stderr>>);

impl Display {
    /// A display on stderr, naming failing trials' trace files in `traces_dir`.
    pub(super) fn stderr(options: TerminalOptions, traces_dir: Option<PathBuf>) -> Display {
        let mut terminal = Terminal::new(std::io::stderr(), options);
        if let Some(dir) = traces_dir {
            terminal.show_trace_files(dir);
        }
        Display(Some(terminal))
    }
}

impl Output for Display {
    fn on_event(&mut self, event: &RunEvent) {
        if let Some(terminal) = &mut self.0 {
            terminal.on_event(event);
        }
    }

    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        if let Some(mut terminal) = self.0.take() {
            terminal.summary(report);
            // Clears the progress bar before anything else is written to stderr.
            let _stderr = terminal.into_inner();
        }
        Ok(())
    }
}
