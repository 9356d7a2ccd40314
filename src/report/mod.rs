//! Reports: the JSON report (the source of truth), JUnit and the terminal display. Each is a
//! pure function of [`crate::event::RunEvent`]s or of the [`Report`] folded from them.

pub mod junit;
pub mod model;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use model::{Report, ReportBuilder, RunMeta};

/// A report file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write `{}`", path.display())]
pub struct WriteError {
    /// The file.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, synced, then renamed,
/// so an interrupted run never leaves a torn file. Creates the parent directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes the JSON report atomically.
pub fn write_json(path: &Path, report: &Report) -> Result<(), WriteError> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("a report always serializes");
    bytes.push(b'\n');
    write_atomic(path, &bytes)
}
