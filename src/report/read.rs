//! Reading a report file back: the format version first (a newer report says so rather than
//! failing to parse), then the report. `merge` and `compare` read their inputs with it.

use std::path::{Path, PathBuf};

use super::Report;
use super::schema::FORMAT_VERSION;

/// Why a report file could not be read: unreadable (exit 3) or not a report this traceval
/// reads (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    /// The file cannot be read.
    #[error("cannot read `{}`", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a traceval report.
    #[error("`{}` is not a traceval report: {source}", path.display())]
    NotAReport {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The report has a format this traceval does not read.
    #[error(
        "`{}`: format_version is {version}; this traceval reads version {FORMAT_VERSION}",
        path.display()
    )]
    FormatVersion {
        /// The file.
        path: PathBuf,
        /// Its version.
        version: u32,
    },
}

impl ReadError {
    /// Whether the file could not be read at all (exit 3), rather than read as something else.
    pub(crate) fn is_io(&self) -> bool {
        matches!(self, ReadError::Io { .. })
    }
}

/// Reads the report at `path`.
pub(crate) fn read(path: &Path) -> Result<Report, ReadError> {
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: u32,
    }
    let bytes = std::fs::read(path).map_err(|source| ReadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let not_a_report = |source| ReadError::NotAReport {
        path: path.to_owned(),
        source,
    };
    let version: Version = serde_json::from_slice(&bytes).map_err(not_a_report)?;
    if version.format_version != FORMAT_VERSION {
        return Err(ReadError::FormatVersion {
            path: path.to_owned(),
            version: version.format_version,
        });
    }
    serde_json::from_slice(&bytes).map_err(not_a_report)
}
