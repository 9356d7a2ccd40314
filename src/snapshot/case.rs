//! One case × model's snapshot during a run: read before the first trial starts, compared with
//! each finished trial's shape ([`CaseSnapshot::compare`]), and written as its mode calls for
//! when the case × model is over ([`CaseSnapshot::record`], module `record`).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::event::CheckResult;
use crate::suite::{Case, Suite};
use crate::trace::shape::{Shape, ShapeOptions};
use crate::trace::{GenAiView, NodeId};

use super::{SnapshotFile, SnapshotMode, SnapshotSettings, Writes};

/// Lines of diff a check message holds at most.
const MAX_DIFF_LINES: usize = 80;

/// The snapshot of one case × model, and how the run treats it.
#[derive(Debug)]
pub(crate) struct CaseSnapshot {
    /// How the run treats snapshots.
    pub(super) settings: SnapshotSettings,
    /// How the case renders its shape.
    pub(crate) options: ShapeOptions,
    /// The `.snap` file.
    pub(super) path: PathBuf,
    /// The file as messages name it (relative to the project root).
    pub(super) display: String,
    /// The header a written file gets.
    pub(super) header: SnapshotFile,
    /// The stored shape: `None` when there is no file yet, `Err` when it cannot be read.
    pub(super) stored: Result<Option<String>, String>,
}

/// What one trial's comparison gave.
#[derive(Debug)]
pub(crate) struct Compared {
    /// The `snapshot` check.
    pub(crate) check: CheckResult,
    /// Whether the shape matched (false when the trial was not compared).
    pub(crate) matched: bool,
    /// The shape; `None` when the trial was not compared.
    pub(crate) shape: Option<String>,
}

/// One compared trial, as the end of its case × model sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TrialShape {
    /// The trial's index.
    pub(crate) trial: u32,
    /// Its shape.
    pub(crate) shape: String,
    /// Whether the shape matched the stored one.
    pub(crate) matched: bool,
    /// Whether the trial passed its other checks: only such a trial's shape may become the
    /// `.snap` without review.
    pub(crate) others_passed: bool,
}

/// An error when two case × model snapshots (`(suite, case, model)`) would share a file.
pub(crate) fn check_names<'a>(
    ids: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> Result<(), String> {
    let mut seen: HashMap<String, (&str, &str, &str)> = HashMap::new();
    for ids in ids {
        let (suite, case, model) = ids;
        let stem = super::file_stem(suite, case, model);
        // Case-insensitive file systems (macOS, Windows) would make these one file.
        if let Some(first) = seen.insert(stem.to_lowercase(), ids) {
            return Err(format!(
                "the snapshots of {}::{} ({}) and {suite}::{case} ({model}) would share the file \
                 `{stem}.snap` on a case-insensitive file system: rename one of the cases",
                first.0, first.1, first.2
            ));
        }
    }
    Ok(())
}

impl CaseSnapshot {
    /// Reads the stored snapshot of `case` × `model`; `None` when the case has no
    /// `snapshot = true`.
    pub(crate) fn read(
        settings: &SnapshotSettings,
        suite: &Suite,
        case: &Case,
        model: &str,
    ) -> Option<CaseSnapshot> {
        let options = case.expect.snapshot.as_ref()?;
        let path = settings.path(&suite.name, &case.id, model);
        let display = super::relative(&path, &settings.root);
        let stored = match super::file::read_text(&path) {
            Ok(text) => Ok(Some(super::file::body(&text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("cannot read `{display}`: {e}")),
        };
        let header = SnapshotFile {
            source: super::relative(&suite.path, &settings.root),
            suite: suite.name.clone(),
            case: case.id.clone(),
            model: model.to_owned(),
            body: String::new(),
        };
        Some(CaseSnapshot {
            settings: settings.clone(),
            options: options.clone(),
            path,
            display,
            header,
            stored,
        })
    }

    /// Compares a finished trial's shape (the trial root's subtrees, and any other roots of
    /// its tree) with the stored one; `error` is why the agent did not finish, if so.
    pub(crate) fn compare(
        &self,
        view: &GenAiView<'_>,
        root: NodeId,
        error: Option<&str>,
    ) -> Compared {
        if let Some(why) = error {
            let check = CheckResult {
                name: "snapshot".to_owned(),
                passed: false,
                message: format!("not compared: {why}"),
                score: None,
            };
            return Compared {
                check,
                matched: false,
                shape: None,
            };
        }
        let tree = view.tree();
        let tops = tree
            .node(root)
            .children()
            .map(|n| n.id())
            .chain(tree.roots().map(|n| n.id()).filter(|&id| id != root));
        let shape = super::file::normalize(Shape::of_nodes(view, tops, &self.options).as_str());
        self.check_shape(shape)
    }

    /// The snapshot of `s::c (m)` under `settings`, stored as `stored` (`None`: no file yet),
    /// with the default shape options: for tests of the code that compares with it.
    #[cfg(test)]
    pub(crate) fn stored(settings: SnapshotSettings, stored: Option<&str>) -> CaseSnapshot {
        let path = settings.path("s", "c", "m");
        CaseSnapshot {
            display: super::relative(&path, &settings.root),
            settings,
            options: ShapeOptions::default(),
            path,
            header: SnapshotFile {
                source: "suites/s.toml".into(),
                suite: "s".into(),
                case: "c".into(),
                model: "m".into(),
                body: String::new(),
            },
            stored: Ok(stored.map(str::to_owned)),
        }
    }

    /// The `snapshot` check of one shape against the stored one.
    fn check_shape(&self, shape: String) -> Compared {
        let file = &self.display;
        let pending = format!("{file}.new");
        let stored = match &self.stored {
            Ok(stored) => stored,
            Err(why) => {
                return Compared {
                    check: check(false, why.clone(), Some(0.0)),
                    matched: false,
                    shape: Some(shape),
                };
            }
        };
        if stored.is_none() && shape.trim().is_empty() {
            // An agent whose spans never arrived must not record an empty snapshot that every
            // later run of the same broken setup would match.
            return Compared {
                check: check(
                    false,
                    format!(
                        "no snapshot yet, and the trial has no spans to record in `{file}` (did \
                         the agent export its spans?)"
                    ),
                    Some(0.0),
                ),
                matched: false,
                shape: None,
            };
        }
        if stored.as_deref() == Some(shape.as_str()) {
            return Compared {
                check: check(true, format!("the trace shape matches `{file}`"), Some(1.0)),
                matched: true,
                shape: Some(shape),
            };
        }
        let what = match stored {
            None => format!("no snapshot yet: `{file}` does not exist"),
            Some(_) => format!("the trace shape differs from `{file}`"),
        };
        let (passed, then) = match (&self.settings.writes, self.settings.mode) {
            (Writes::Never(why), _) => (
                false,
                format!(
                    "; nothing is written ({why}): run the case locally, review the shape and \
                     commit the snapshot"
                ),
            ),
            (Writes::Allowed, SnapshotMode::Check) if stored.is_none() => (
                true,
                format!(
                    "; the shape is recorded in `{file}` from the first trial that passes its \
                     other checks (commit it: later runs, and CI, compare with it)"
                ),
            ),
            (Writes::Allowed, SnapshotMode::Check) => (
                false,
                format!(
                    "; the new shape is written to `{pending}` for review (`traceval snapshot \
                     review`, or `accept`)"
                ),
            ),
            (Writes::Allowed, SnapshotMode::New) => (
                true,
                format!("; the new shape is written to `{pending}` for review"),
            ),
            (Writes::Allowed, SnapshotMode::Update) => {
                (true, format!("; the new shape is written to `{file}`"))
            }
        };
        let diff = super::diff(
            stored.as_deref().unwrap_or(""),
            &shape,
            "snapshot",
            "this trial",
            MAX_DIFF_LINES,
        );
        Compared {
            check: check(passed, format!("{what}{then}\n{diff}"), Some(0.0)),
            matched: false,
            shape: Some(shape),
        }
    }
}

fn check(passed: bool, message: String, score: Option<f64>) -> CheckResult {
    CheckResult {
        name: "snapshot".to_owned(),
        passed,
        message: message.trim_end().to_owned(),
        score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(stored: Result<Option<&str>, &str>) -> CaseSnapshot {
        CaseSnapshot {
            settings: settings(SnapshotMode::Check, Writes::Allowed),
            options: ShapeOptions::default(),
            path: PathBuf::from("p/suites/snapshots/s__c@m.snap"),
            display: "suites/snapshots/s__c@m.snap".into(),
            header: SnapshotFile {
                source: "suites/s.toml".into(),
                suite: "s".into(),
                case: "c".into(),
                model: "m".into(),
                body: String::new(),
            },
            stored: stored.map(|s| s.map(str::to_owned)).map_err(str::to_owned),
        }
    }

    /// The `snapshot` check of `shape` against `group`'s stored one, under `settings`.
    fn judge(settings: &SnapshotSettings, group: CaseSnapshot, shape: String) -> Compared {
        CaseSnapshot {
            settings: settings.clone(),
            ..group
        }
        .check_shape(shape)
    }

    fn settings(mode: SnapshotMode, writes: Writes) -> SnapshotSettings {
        SnapshotSettings {
            root: PathBuf::from("p"),
            mode,
            writes,
        }
    }

    #[test]
    fn each_mode_says_what_it_does_with_a_mismatch() {
        let ci = || Writes::Never("CI is set".into());
        let cases = [
            (
                SnapshotMode::Check,
                Writes::Allowed,
                false,
                "for review (`traceval snapshot review`",
            ),
            (
                SnapshotMode::New,
                Writes::Allowed,
                true,
                "written to `suites/snapshots/s__c@m.snap.new` for review",
            ),
            (
                SnapshotMode::Update,
                Writes::Allowed,
                true,
                "written to `suites/snapshots/s__c@m.snap`",
            ),
            (
                SnapshotMode::Update,
                ci(),
                false,
                "nothing is written (CI is set)",
            ),
        ];
        for (mode, writes, passes, says) in cases {
            let s = settings(mode, writes);
            let changed = judge(
                &s,
                group(Ok(Some("a [agent]\n  b [tool]"))),
                "a [agent]".into(),
            );
            assert_eq!(changed.check.passed, passes, "{mode:?}");
            assert!(!changed.matched);
            assert_eq!(changed.check.score, Some(0.0));
            let message = &changed.check.message;
            assert!(
                message.starts_with("the trace shape differs from `suites/snapshots/s__c@m.snap`"),
                "{message}"
            );
            assert!(message.contains(says), "{mode:?}: {message}");
            assert!(
                message.ends_with("@@ -1,2 +1 @@\n a [agent]\n-  b [tool]"),
                "{message}"
            );
            let missing = judge(&s, group(Ok(None)), "a [agent]".into());
            // A first snapshot is recorded in `check` mode (when files may be written).
            let first = mode == SnapshotMode::Check && s.writes == Writes::Allowed;
            assert_eq!(missing.check.passed, passes || first, "{mode:?}");
            assert!(missing.check.message.starts_with("no snapshot yet"));
            if first {
                assert!(
                    missing
                        .check
                        .message
                        .contains("recorded in `suites/snapshots/s__c@m.snap` from the first trial that passes its other checks"),
                    "{}",
                    missing.check.message
                );
            }
        }
        let empty = judge(
            &settings(SnapshotMode::Update, Writes::Allowed),
            group(Ok(None)),
            String::new(),
        );
        assert!(!empty.check.passed && empty.shape.is_none());
        assert!(empty.check.message.contains("no spans to record"));
        let same = judge(
            &settings(SnapshotMode::Check, Writes::Allowed),
            group(Ok(Some("a [agent]"))),
            "a [agent]".into(),
        );
        assert_eq!((same.check.passed, same.matched), (true, true));
        let unreadable = judge(
            &settings(SnapshotMode::Update, Writes::Allowed),
            group(Err("cannot read `x`: denied")),
            "a".into(),
        );
        assert!(!unreadable.check.passed);
        assert_eq!(unreadable.check.message, "cannot read `x`: denied");
    }
}
