//! Reading the reports to compare ([`crate::report::read`]), then checking their case keys,
//! each once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::error::CompareError;
use crate::report::Report;

/// A report read for comparison, with the path it was read from.
#[derive(Debug, Clone)]
pub(crate) struct LoadedReport {
    /// The file, as given.
    pub(crate) path: PathBuf,
    /// Its report.
    pub(crate) report: Report,
}

/// Reads and checks one report: exit 3 when it cannot be read, 2 when it is not a traceval
/// report of a known format or lists a case key twice.
pub(crate) fn read(path: &Path) -> Result<LoadedReport, CompareError> {
    let loaded = LoadedReport {
        path: path.to_owned(),
        report: crate::report::read::read(path)?,
    };
    check_keys(&loaded)?;
    Ok(loaded)
}

/// Every `cases[]` key (suite, case, model) once.
pub(crate) fn check_keys(loaded: &LoadedReport) -> Result<(), CompareError> {
    let mut seen = BTreeSet::new();
    for c in &loaded.report.cases {
        if !seen.insert((&c.suite, &c.case, &c.model)) {
            return Err(CompareError::DuplicateCase {
                path: loaded.path.clone(),
                suite: c.suite.clone(),
                case: c.case.clone(),
                model: c.model.clone(),
            });
        }
    }
    Ok(())
}

/// The models of a report: `models[]` in its order, then any model only its trials name.
pub(crate) fn models(report: &Report) -> Vec<String> {
    let mut out: Vec<String> = report.models.iter().map(|m| m.model.clone()).collect();
    for t in &report.trials {
        if !out.contains(&t.model) {
            out.push(t.model.clone());
        }
    }
    out
}
