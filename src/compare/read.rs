//! Reading the reports to compare: the format version first (a newer report says so rather
//! than failing to parse), then the report, then its case keys, each once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::error::CompareError;
use crate::report::Report;
use crate::report::schema::FORMAT_VERSION;

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
    let bytes = std::fs::read(path).map_err(|source| CompareError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(path, &bytes)
}

/// [`read`] of bytes already read.
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<LoadedReport, CompareError> {
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let not_a_report = |source| CompareError::NotAReport {
        path: path.to_owned(),
        source,
    };
    let version: Version = serde_json::from_slice(bytes).map_err(not_a_report)?;
    if version.format_version != FORMAT_VERSION {
        return Err(CompareError::FormatVersion {
            path: path.to_owned(),
            version: version.format_version,
            known: FORMAT_VERSION,
        });
    }
    let report: Report = serde_json::from_slice(bytes).map_err(not_a_report)?;
    let loaded = LoadedReport {
        path: path.to_owned(),
        report,
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
