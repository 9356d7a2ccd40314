//! Reports: the JSON report (the source of truth), JUnit and the terminal display. Each is a
//! pure function of [`crate::event::RunEvent`]s or of the [`Report`] folded from them.

pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod merge;
pub(crate) mod output;
pub(crate) mod read;
pub mod schema;
pub(crate) mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

pub use schema::{Report, ReportBuilder, RunMeta};

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

/// The temporary file [`write_atomic`] writes before renaming it to `path`: beside it, so the
/// rename stays on one file system.
fn tmp_path(path: &Path) -> PathBuf {
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(tmp_name)
}

/// Checks, before a run, that a report can be written to `path` later: creates the parent
/// directory, then creates and removes the very temporary file [`write_atomic`] will use. An
/// unwritable location (`/proc`, a read-only directory, a path under a file) is found before
/// any agent runs instead of after the last one.
pub(crate) fn check_writable(path: &Path) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    if path.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = tmp_path(path);
    std::fs::File::create(&tmp).map_err(err)?;
    std::fs::remove_file(&tmp).map_err(err)
}

/// Writes `bytes` to `path` atomically: into a temporary file beside it, synced, then renamed,
/// so an interrupted run never leaves a torn file. Creates the parent directory.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with `write` producing the content into a buffered writer on the
/// temporary file, so a large report is streamed rather than built in memory first.
pub(crate) fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let err = |source| WriteError {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = tmp_path(path);
    let result = (|| {
        let mut out = std::io::BufWriter::with_capacity(256 << 10, std::fs::File::create(&tmp)?);
        write(&mut out)?;
        let file = out
            .into_inner()
            .map_err(std::io::IntoInnerError::into_error)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

/// Writes the JSON report atomically, streamed to the file.
pub fn write_json(path: &Path, report: &Report) -> Result<(), WriteError> {
    write_atomic_with(path, |out| {
        serde_json::to_writer_pretty(&mut *out, report).map_err(std::io::Error::from)?;
        out.write_all(b"\n")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_writable_leaves_nothing_behind_and_names_the_path() {
        let dir = std::env::temp_dir().join(format!("tv-check-{}", std::process::id()));
        let path = dir.join("sub/report.json");
        check_writable(&path).unwrap();
        assert_eq!(std::fs::read_dir(dir.join("sub")).unwrap().count(), 0);
        // A directory where the file should go, and a path under a file.
        let e = check_writable(&dir).unwrap_err();
        assert_eq!(e.path, dir);
        std::fs::write(dir.join("file"), "x").unwrap();
        let e = check_writable(&dir.join("file/report.json")).unwrap_err();
        assert!(e.to_string().contains("file/report.json"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn write_json_streams_a_readable_report() {
        let dir = std::env::temp_dir().join(format!("tv-write-{}", std::process::id()));
        let path = dir.join("r.json");
        let report = ReportBuilder::new(RunMeta::default()).finish();
        write_json(&path, &report).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"));
        let back: Report = serde_json::from_str(&text).unwrap();
        assert_eq!(back.run_id, report.run_id);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
