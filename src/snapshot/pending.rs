//! Pending snapshots: the `.snap.new` files a run left for review, and what `traceval snapshot
//! accept`, `reject` and `review` do with them.

use std::path::{Path, PathBuf};

use super::file::{SnapshotFile, body};
use crate::suite::Filter;

/// The suffix of a pending snapshot's file.
pub const PENDING_SUFFIX: &str = ".snap.new";

/// A `.snap.new` file waiting for review.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The `.snap.new` file.
    pub path: PathBuf,
    /// The `.snap` file accepting it writes.
    pub target: PathBuf,
    /// Its header and shape; `None` when the file cannot be read as a snapshot.
    pub file: Option<SnapshotFile>,
}

impl Pending {
    /// `suite::case (model)`, or the file name when the header cannot be read.
    pub fn title(&self) -> String {
        match &self.file {
            Some(file) => file.title(),
            None => self
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Whether `filter` (the patterns of `--filter`, over `suite::case`) selects it; one whose
    /// header cannot be read is selected by the empty filter only.
    pub fn matches(&self, filter: &Filter) -> bool {
        match &self.file {
            Some(file) => filter.matches(&file.suite, &file.case),
            None => filter.is_empty(),
        }
    }

    /// The shape of the stored `.snap`, when there is one.
    pub fn old_body(&self) -> Option<String> {
        std::fs::read_to_string(&self.target)
            .ok()
            .map(|text| body(&text))
    }

    /// The pending shape.
    pub fn new_body(&self) -> String {
        match &self.file {
            Some(file) => file.body.clone(),
            None => std::fs::read_to_string(&self.path)
                .map(|text| body(&text))
                .unwrap_or_default(),
        }
    }

    /// Makes it the stored snapshot: the `.snap.new` is renamed over the `.snap`.
    pub fn accept(&self) -> std::io::Result<()> {
        std::fs::rename(&self.path, &self.target)
    }

    /// Drops it: the `.snap.new` is removed, the `.snap` left as it is.
    pub fn reject(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// The pending snapshots in `dir`, by file name; none when the directory does not exist.
/// Only regular files and links directly in `dir` count.
pub fn pending(dir: &Path) -> std::io::Result<Vec<Pending>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(PENDING_SUFFIX)) else {
            continue;
        };
        if stem.is_empty() || entry.file_type()?.is_dir() {
            continue;
        }
        let path = entry.path();
        found.push(Pending {
            target: dir.join(format!("{stem}.snap")),
            file: SnapshotFile::read(&path).ok().flatten(),
            path,
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}
