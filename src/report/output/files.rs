//! The report files: the JSON report and JUnit XML, each checked writable before the run and
//! written atomically after it.

use std::path::PathBuf;

use super::Output;
use crate::report::{Report, WriteError, check_writable, junit, write_atomic, write_json};

/// The JSON report, the source of truth.
pub(super) struct ReportFile(pub(super) PathBuf);

impl Output for ReportFile {
    fn prepare(&mut self) -> Result<(), WriteError> {
        check_writable(&self.0)
    }

    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        write_json(&self.0, report)
    }
}

/// JUnit XML.
pub(super) struct JunitFile(pub(super) PathBuf);

impl Output for JunitFile {
    fn prepare(&mut self) -> Result<(), WriteError> {
        check_writable(&self.0)
    }

    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        write_atomic(&self.0, junit::to_junit(report).as_bytes())
    }
}
