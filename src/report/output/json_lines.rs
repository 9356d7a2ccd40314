//! `--message-format json`: every event as one line of JSON on stdout.

use std::io::Write;

use super::Output;
use crate::event::RunEvent;

/// Events as JSON lines on a writer.
pub(super) struct JsonLines<W: Write>(pub(super) W);

impl<W: Write> JsonLines<W> {
    /// Lines on `out`.
    pub(super) fn new(out: W) -> JsonLines<W> {
        JsonLines(out)
    }
}

impl<W: Write> Output for JsonLines<W> {
    fn on_event(&mut self, event: &RunEvent) {
        // A closed stdout must not stop the run; the report still gets written.
        let _ = serde_json::to_writer(&mut self.0, event);
        let _ = self.0.write_all(b"\n");
    }
}
