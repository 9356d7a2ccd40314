//! Pending snapshots: the `.snap.new` files a run left for review, and what `traceval snapshot
//! accept`, `reject` and `review` do with them.

use std::path::{Path, PathBuf};

use super::file::{SnapshotFile, body, read_text};
use crate::suite::Filter;

/// The suffix of a pending snapshot's file.
pub(crate) const PENDING_SUFFIX: &str = ".snap.new";

/// A `.snap.new` file waiting for review.
#[derive(Debug, Clone)]
pub(crate) struct Pending {
    /// The `.snap.new` file.
    pub path: PathBuf,
    /// The `.snap` file accepting it writes.
    pub target: PathBuf,
    /// Its header and shape; `None` when the file cannot be read as a snapshot.
    pub file: Option<SnapshotFile>,
}

impl Pending {
    /// `suite::case (model)`, or the file name when the header cannot be read.
    pub(crate) fn title(&self) -> String {
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
    pub(crate) fn matches(&self, filter: &Filter) -> bool {
        match &self.file {
            Some(file) => filter.matches(&file.suite, &file.case),
            None => filter.is_empty(),
        }
    }

    /// The shape of the stored `.snap`, when there is one.
    pub(crate) fn old_body(&self) -> Option<String> {
        read_text(&self.target).ok().map(|text| body(&text))
    }

    /// The pending shape.
    pub(crate) fn new_body(&self) -> String {
        match &self.file {
            Some(file) => file.body.clone(),
            None => read_text(&self.path)
                .map(|text| body(&text))
                .unwrap_or_default(),
        }
    }

    /// Makes it the stored snapshot: the `.snap.new` is renamed over the `.snap`.
    pub(crate) fn accept(&self) -> std::io::Result<()> {
        std::fs::rename(&self.path, &self.target)
    }

    /// Drops it: the `.snap.new` is removed, the `.snap` left as it is.
    pub(crate) fn reject(&self) -> std::io::Result<()> {
        std::fs::remove_file(&self.path)
    }
}

/// The pending snapshots in `dir`, by file name; none when the directory does not exist.
/// Only regular files directly in `dir` count (not links). A header whose ids do not name the
/// file is not believed: `accept weather::paris` must act on the file of that case.
pub(crate) fn pending(dir: &Path) -> std::io::Result<Vec<Pending>> {
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
        if stem.is_empty() || !entry.file_type()?.is_file() {
            continue;
        }
        let path = entry.path();
        let file = SnapshotFile::read(&path)
            .ok()
            .flatten()
            .filter(|f| super::file_stem(&f.suite, &f.case, &f.model) == stem);
        found.push(Pending {
            target: dir.join(format!("{stem}.snap")),
            file,
            path,
        });
    }
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_headers_that_name_another_case_are_not_believed() {
        let dir = std::env::temp_dir().join(format!("tv-pending-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let header = |suite: &str, case: &str| SnapshotFile {
            source: "suites/w.toml".into(),
            suite: suite.into(),
            case: case.into(),
            model: "m".into(),
            body: "a [agent]".into(),
        };
        // Its own file: believed. A file claiming to be `w::paris`: listed by its file only.
        std::fs::write(
            dir.join("w__oslo@m.snap.new"),
            header("w", "oslo").to_text(),
        )
        .unwrap();
        std::fs::write(
            dir.join("evil__x@m.snap.new"),
            header("w", "paris").to_text(),
        )
        .unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.join("w__link@m.snap.new")).unwrap();
        let found = pending(&dir).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|p| {
                (
                    p.path.file_name().unwrap().to_str().unwrap(),
                    p.file.is_some(),
                )
            })
            .collect();
        assert_eq!(
            names,
            [("evil__x@m.snap.new", false), ("w__oslo@m.snap.new", true)]
        );
        let paris = Filter::new(&["w::paris".to_owned()]).unwrap();
        assert!(found.iter().all(|p| !p.matches(&paris)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
