//! Trace-shape snapshots of suite cases: where they live, their file format, how a run decides
//! what to write, and the pending ones a run leaves for review.
//!
//! A case with `snapshot = true` has one snapshot per model: the [shape](crate::trace::shape)
//! of its trace, in `suites/snapshots/` under the project root, in a file named by
//! [`file_stem`] (`{suite}__{case}@{model}.snap`, or a sanitised name with a hash when the ids
//! are not plain). The file is in insta's `.snap` format ([`SnapshotFile`]). Every trial of the
//! case is compared with it; what a mismatch, or a missing snapshot, does depends on the
//! [`SnapshotMode`] and on whether files may be written at all ([`Writes`], see [`resolve`]):
//!
//! | mode | different snapshot | missing snapshot | files written |
//! | --- | --- | --- | --- |
//! | `check` (default) | the trial fails, with a diff | the trial passes | `<name>.snap.new` for review; a missing one is recorded as `<name>.snap` |
//! | `update` | the trial passes | the trial passes | `<name>.snap` |
//! | `new` | the trial passes | the trial passes | `<name>.snap.new`, for review |
//! | any, in CI (`CI` set) or with `INSTA_UPDATE=no` | the trial fails, with a diff | the trial fails | none |
//!
//! A case's first snapshot is recorded, as jest does outside CI: there is nothing to review it
//! against, the next run compares with it, and in CI a missing snapshot fails (commit it). A
//! changed shape is never accepted silently: it fails, and waits in `.snap.new` for review. The
//! file written for a case is the shape of its lowest-numbered trial that did not
//! match (trials whose agent did not finish are not compared); a warning says when trials of
//! one case gave different shapes. A case all of whose trials match removes a stale
//! `.snap.new`. [`pending`] lists what is left for review; `traceval snapshot accept`, `reject`
//! and `review` act on it.
//!
//! During a run, `CaseSnapshot` is one case × model's snapshot: read before the first trial,
//! compared with each trial's shape, and written when the case × model is over. The runner
//! only says which cases, trials and shapes.

mod case;
#[cfg(test)]
mod doc_examples;
pub(crate) mod file;
mod name;
mod pending;
mod record;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub(crate) use case::{CaseSnapshot, TrialShape, check_names};
pub(crate) use file::SnapshotFile;
pub(crate) use name::file_stem;
pub(crate) use pending::{Pending, pending};

/// The snapshot directory, relative to the project root.
pub(crate) const DIR: &str = "suites/snapshots";

/// What a run does with a missing or different snapshot (`--snapshots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotMode {
    /// Fail the trial and write a pending `.snap.new` for review.
    Check,
    /// Pass the trial and write the `.snap` at once.
    Update,
    /// Pass the trial and write a pending `.snap.new` for review.
    New,
}

impl SnapshotMode {
    /// The flag's spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SnapshotMode::Check => "check",
            SnapshotMode::Update => "update",
            SnapshotMode::New => "new",
        }
    }
}

/// Whether a run may write snapshot files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Writes {
    /// It may.
    Allowed,
    /// It may not, for this reason (e.g. `CI is set`).
    Never(String),
}

/// How a run treats snapshots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotSettings {
    /// The project root: snapshots live in its [`DIR`].
    pub root: PathBuf,
    /// What a missing or different snapshot does.
    pub mode: SnapshotMode,
    /// Whether files may be written.
    pub writes: Writes,
}

impl SnapshotSettings {
    /// The snapshot directory.
    pub(crate) fn dir(&self) -> PathBuf {
        self.root.join(DIR)
    }

    /// The `.snap` file of a case × model.
    pub(crate) fn path(&self, suite: &str, case: &str, model: &str) -> PathBuf {
        self.dir()
            .join(format!("{}.snap", file_stem(suite, case, model)))
    }
}

/// `path` relative to `root` when it is below it, with `/` separators: how files are named in
/// messages and in snapshot headers, whatever the working directory.
pub(crate) fn relative(path: &Path, root: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let rel = rel.strip_prefix(".").unwrap_or(rel);
    if rel.is_absolute() {
        return rel.display().to_string();
    }
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// The mode and the writes of a run, from the `--snapshots` flag and the environment
/// (`env` reads a variable). Precedence:
///
/// 1. Nothing is ever written when `CI` is set (to anything but empty, `0` or `false`, as
///    insta reads it; without `CI`, when `TF_BUILD` is set) or `INSTA_UPDATE=no`, whatever the flag: snapshots are reviewed and
///    committed locally, never made on a CI machine. The mode is then `check`.
/// 2. Otherwise the flag, when given.
/// 3. Otherwise `INSTA_UPDATE`, as insta reads it: `always` (and `force`) is `update`, `new` is
///    `new`, `auto` and `unseen` are `check`; another value is an error.
/// 4. Otherwise `check`.
///
/// ```text
/// use traceval::snapshot::{SnapshotMode, Writes, resolve};
///
/// let env = |vars: &'static [(&'static str, &'static str)]| {
///     move |name: &str| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
/// };
/// assert_eq!(resolve(None, env(&[])), Ok((SnapshotMode::Check, Writes::Allowed)));
/// assert_eq!(
///     resolve(Some(SnapshotMode::Update), env(&[("CI", "true")])),
///     Ok((SnapshotMode::Check, Writes::Never("CI is set".into())))
/// );
/// // Azure Pipelines sets `TF_BUILD`, not `CI`; an explicit `CI=false` wins over it.
/// assert_eq!(
///     resolve(Some(SnapshotMode::Update), env(&[("TF_BUILD", "True")])),
///     Ok((SnapshotMode::Check, Writes::Never("CI is set".into())))
/// );
/// assert_eq!(
///     resolve(None, env(&[("TF_BUILD", "True"), ("CI", "false")])),
///     Ok((SnapshotMode::Check, Writes::Allowed))
/// );
/// assert_eq!(
///     resolve(None, env(&[("INSTA_UPDATE", "always")])),
///     Ok((SnapshotMode::Update, Writes::Allowed))
/// );
/// ```
pub(crate) fn resolve(
    flag: Option<SnapshotMode>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(SnapshotMode, Writes), String> {
    // insta's rule: `CI` when it is set, else `TF_BUILD` (Azure Pipelines sets only that).
    let ci = match env("CI") {
        Some(v) => !v.is_empty() && v != "0" && v != "false",
        None => env("TF_BUILD").is_some(),
    };
    let insta = env("INSTA_UPDATE").filter(|v| !v.is_empty());
    if ci {
        return Ok((SnapshotMode::Check, Writes::Never("CI is set".to_owned())));
    }
    if insta.as_deref() == Some("no") {
        return Ok((
            SnapshotMode::Check,
            Writes::Never("INSTA_UPDATE=no".to_owned()),
        ));
    }
    if let Some(mode) = flag {
        return Ok((mode, Writes::Allowed));
    }
    let mode = match insta.as_deref() {
        None | Some("auto" | "unseen") => SnapshotMode::Check,
        Some("always" | "force") => SnapshotMode::Update,
        Some("new") => SnapshotMode::New,
        Some(other) => {
            return Err(format!(
                "INSTA_UPDATE=`{other}` is not a snapshot mode: use auto, always, new, unseen \
                 or no, or pass --snapshots=check|update|new"
            ));
        }
    };
    Ok((mode, Writes::Allowed))
}

/// A unified diff from `old` to `new` (context 3), headed `--- old_name` / `+++ new_name`, cut
/// after `max_lines` lines with a line saying how many more there were.
///
/// ```text
/// use traceval::snapshot::diff;
///
/// let d = diff("a\nb\n", "a\nc\n", "snapshot", "trial", 20);
/// assert_eq!(d, "--- snapshot\n+++ trial\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n");
/// ```
pub(crate) fn diff(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    max_lines: usize,
) -> String {
    let with_end = |t: &str| {
        if t.is_empty() || t.ends_with('\n') {
            t.to_owned()
        } else {
            format!("{t}\n")
        }
    };
    let (old, new) = (with_end(old), with_end(new));
    let text = similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(old_name, new_name)
        .to_string();
    let total = text.lines().count();
    if total <= max_lines {
        return text;
    }
    let mut cut = String::new();
    for line in text.lines().take(max_lines) {
        cut.push_str(line);
        cut.push('\n');
    }
    let _ = writeln!(cut, "… {} more diff lines", total - max_lines);
    cut
}
