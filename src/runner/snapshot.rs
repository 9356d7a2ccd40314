//! Trace-shape snapshots during a run ([`crate::snapshot`]): each trial's shape compared with
//! the stored one, and when a case × model group ends, the file its mode calls for.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use crate::event::{CheckResult, RunEvent, SnapshotAction, SnapshotEvent, Warning};
use crate::snapshot::{self, SnapshotFile, SnapshotMode, SnapshotSettings, Writes};
use crate::trace::shape::{Shape, ShapeOptions};
use crate::trace::{GenAiView, NodeId};

use super::Plan;

/// Lines of diff a check message holds at most.
const MAX_DIFF_LINES: usize = 80;

/// The snapshot of one case × model.
#[derive(Debug)]
pub(super) struct GroupSnapshot {
    /// How the case renders its shape.
    pub(super) options: ShapeOptions,
    /// The `.snap` file.
    path: PathBuf,
    /// The file as messages name it (relative to the project root).
    display: String,
    /// The header a written file gets.
    header: SnapshotFile,
    /// The stored shape: `None` when there is no file yet, `Err` when it cannot be read.
    stored: Result<Option<String>, String>,
}

/// What one trial's comparison gave.
#[derive(Debug)]
pub(super) struct Compared {
    /// The `snapshot` check.
    pub(super) check: CheckResult,
    /// Whether the shape matched (false when the trial was not compared).
    pub(super) matched: bool,
    /// The shape; `None` when the trial was not compared.
    pub(super) shape: Option<String>,
}

/// One compared trial, as the end of its group sees it.
#[derive(Debug)]
pub(super) struct TrialShape {
    /// The trial's index.
    pub(super) trial: u32,
    /// Its shape.
    pub(super) shape: String,
    /// Whether the shape matched the stored one.
    pub(super) matched: bool,
    /// Whether the trial passed its other checks: only such a trial's shape may become the
    /// `.snap` without review.
    pub(super) others_passed: bool,
}

/// Every snapshot group of a run, read before the first trial starts.
#[derive(Debug, Default)]
pub(super) struct Snapshots {
    settings: Option<SnapshotSettings>,
    groups: HashMap<usize, Arc<GroupSnapshot>>,
}

/// Two case × model groups whose snapshots would share a file.
pub fn check_snapshot_names(plan: &Plan) -> Result<(), String> {
    let mut seen: HashMap<String, (String, String, String)> = HashMap::new();
    for group in &plan.groups {
        let suite = plan.suite(group);
        let case = plan.case(group);
        if case.expect.snapshot.is_none() {
            continue;
        }
        let stem = snapshot::file_stem(&suite.name, &case.id, &group.model);
        // Case-insensitive file systems (macOS, Windows) would make these one file.
        let ids = (suite.name.clone(), case.id.clone(), group.model.to_string());
        if let Some(first) = seen.insert(stem.to_lowercase(), ids.clone()) {
            return Err(format!(
                "the snapshots of {}::{} ({}) and {}::{} ({}) would share the file `{stem}.snap` \
                 on a case-insensitive file system: rename one of the cases",
                first.0, first.1, first.2, ids.0, ids.1, ids.2
            ));
        }
    }
    Ok(())
}

impl Snapshots {
    /// Reads the stored snapshot of every group of `plan` whose case has `snapshot = true`.
    pub(super) fn load(plan: &Plan, settings: &SnapshotSettings) -> Snapshots {
        let mut groups = HashMap::new();
        for (g, group) in plan.groups.iter().enumerate() {
            let suite = plan.suite(group);
            let case = plan.case(group);
            let Some(options) = &case.expect.snapshot else {
                continue;
            };
            let path = settings.path(&suite.name, &case.id, &group.model);
            let display = snapshot::relative(&path, &settings.root);
            let stored = match snapshot::file::read_text(&path) {
                Ok(text) => Ok(Some(snapshot::file::body(&text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(format!("cannot read `{display}`: {e}")),
            };
            let header = SnapshotFile {
                source: snapshot::relative(&suite.path, &settings.root),
                suite: suite.name.clone(),
                case: case.id.clone(),
                model: group.model.to_string(),
                body: String::new(),
            };
            groups.insert(
                g,
                Arc::new(GroupSnapshot {
                    options: options.clone(),
                    path,
                    display,
                    header,
                    stored,
                }),
            );
        }
        Snapshots {
            settings: Some(settings.clone()),
            groups,
        }
    }

    /// The snapshot of group `g`, when its case has one.
    pub(super) fn group(&self, g: usize) -> Option<Arc<GroupSnapshot>> {
        self.groups.get(&g).cloned()
    }

    /// Writes what the mode calls for once group `g` is over; `trials` are its compared
    /// trials. The shape written is that of the lowest-numbered mismatching trial that passed
    /// its other checks; a `.snap` written without review (a first snapshot, `update`) comes
    /// from no other trial, and without one nothing is written and a warning says why. Returns
    /// the events to emit and whether a write failed.
    pub(super) fn finish(&self, g: usize, trials: &[TrialShape]) -> (Vec<RunEvent>, bool) {
        let (Some(group), Some(settings)) = (self.groups.get(&g), &self.settings) else {
            return (Vec::new(), false);
        };
        let mut events = Vec::new();
        let pending = pending_path(&group.path);
        let allowed = settings.writes == Writes::Allowed;
        let mut failed = false;
        let warn = |events: &mut Vec<RunEvent>, message: String| {
            events.push(RunEvent::Warning(Warning {
                trial: None,
                message,
            }));
        };
        let mut sorted: Vec<&TrialShape> = trials.iter().filter(|t| !t.matched).collect();
        sorted.sort_by_key(|t| t.trial);
        let Some(&first_mismatch) = sorted.first() else {
            // Every compared trial matched: a pending file is stale.
            if allowed && !trials.is_empty() {
                match std::fs::remove_file(&pending) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => warn(
                        &mut events,
                        format!("cannot remove the stale `{}`: {e}", pending.display()),
                    ),
                }
            }
            return (events, false);
        };
        let first = matches!(group.stored, Ok(None));
        let unreviewed = settings.writes == Writes::Allowed
            && (settings.mode == SnapshotMode::Update
                || first && settings.mode == SnapshotMode::Check);
        let passing = sorted.iter().find(|t| t.others_passed).copied();
        let chosen = match (passing, unreviewed) {
            (Some(trial), _) => trial,
            // A review file may show a failing trial's shape: someone decides on it.
            (None, false) => first_mismatch,
            (None, true) => {
                warn(
                    &mut events,
                    format!(
                        "{}: no snapshot {}: none of its {} trials passed its other checks, and \
                         a snapshot records what a trial that did the right thing does; fix the \
                         case, then run it again",
                        group.header.title(),
                        if first { "recorded" } else { "updated" },
                        trials.len()
                    ),
                );
                events.push(RunEvent::Snapshot(SnapshotEvent {
                    suite: group.header.suite.clone(),
                    case: group.header.case.clone(),
                    model: group.header.model.clone(),
                    file: snapshot::relative(&group.path, &settings.root),
                    action: SnapshotAction::NotRecorded,
                }));
                return (events, false);
            }
        };
        let shapes: BTreeSet<&str> = trials.iter().map(|t| t.shape.as_str()).collect();
        if shapes.len() > 1 {
            warn(
                &mut events,
                format!(
                    "{}: its {} compared trials gave {} different trace shapes, so no snapshot \
                     can match them all (`collapse-repeats` or `snapshot-ignore` may make the \
                     shape stable); the snapshot file gets trial {}'s",
                    group.header.title(),
                    trials.len(),
                    shapes.len(),
                    chosen.trial
                ),
            );
        }
        let file = SnapshotFile {
            body: snapshot::file::normalize(&chosen.shape),
            ..group.header.clone()
        };
        let (target, action) = match (&settings.writes, settings.mode) {
            // Nothing is written: the message names the snapshot, not a review file that is not
            // there.
            (Writes::Never(_), _) => (group.path.clone(), SnapshotAction::Unwritten),
            (Writes::Allowed, SnapshotMode::Update) => {
                (group.path.clone(), SnapshotAction::Updated)
            }
            // A first snapshot is recorded, as jest does outside CI: there is nothing to
            // review it against, and the next run compares with it.
            (Writes::Allowed, SnapshotMode::Check) if first => {
                (group.path.clone(), SnapshotAction::Recorded)
            }
            (Writes::Allowed, SnapshotMode::Check | SnapshotMode::New) => {
                (pending.clone(), SnapshotAction::Pending)
            }
        };
        if action != SnapshotAction::Unwritten {
            let written = write_atomic(&target, file.to_text().as_bytes());
            let written = written.and_then(|()| {
                if matches!(action, SnapshotAction::Updated | SnapshotAction::Recorded) {
                    match std::fs::remove_file(&pending) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                        _ => Ok(()),
                    }
                } else {
                    Ok(())
                }
            });
            if let Err(e) = written {
                failed = true;
                warn(
                    &mut events,
                    format!("cannot write the snapshot `{}`: {e}", target.display()),
                );
                return (events, failed);
            }
        }
        events.push(RunEvent::Snapshot(SnapshotEvent {
            suite: group.header.suite.clone(),
            case: group.header.case.clone(),
            model: group.header.model.clone(),
            file: snapshot::relative(&target, &settings.root),
            action,
        }));
        (events, failed)
    }

    /// Compares a finished trial's shape (the trial root's subtrees, and any other roots of
    /// its tree) with the group's snapshot; `error` is why the agent did not finish, if so.
    pub(super) fn compare(
        &self,
        group: &GroupSnapshot,
        view: &GenAiView<'_>,
        root: NodeId,
        error: Option<&str>,
    ) -> Option<Compared> {
        let settings = self.settings.as_ref()?;
        if let Some(why) = error {
            let check = CheckResult {
                name: "snapshot".to_owned(),
                passed: false,
                message: format!("not compared: {why}"),
                score: None,
            };
            return Some(Compared {
                check,
                matched: false,
                shape: None,
            });
        }
        let tree = view.tree();
        let tops = tree
            .node(root)
            .children()
            .map(|n| n.id())
            .chain(tree.roots().map(|n| n.id()).filter(|&id| id != root));
        let shape = snapshot::file::normalize(Shape::of_nodes(view, tops, &group.options).as_str());
        Some(judge(settings, group, shape))
    }
}

/// The `snapshot` check of one shape against the group's stored one.
fn judge(settings: &SnapshotSettings, group: &GroupSnapshot, shape: String) -> Compared {
    let file = &group.display;
    let pending = format!("{file}.new");
    let stored = match &group.stored {
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
    let (passed, then) = match (&settings.writes, settings.mode) {
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
    let diff = snapshot::diff(
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

fn check(passed: bool, message: String, score: Option<f64>) -> CheckResult {
    CheckResult {
        name: "snapshot".to_owned(),
        passed,
        message: message.trim_end().to_owned(),
        score,
    }
}

/// The pending file of a `.snap`.
fn pending_path(path: &std::path::Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".new");
    path.with_file_name(name)
}

/// Writes through a temporary file in the same directory, so a reader never sees half a file.
fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // A short name: the target's may already be as long as a file name can be.
    let name = path.file_name().unwrap_or_default().as_encoded_bytes();
    let tmp = path.with_file_name(format!(
        ".traceval-{}-{:016x}.tmp",
        std::process::id(),
        crate::hash::fnv1a64(name)
    ));
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(stored: Result<Option<&str>, &str>) -> GroupSnapshot {
        GroupSnapshot {
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
                &group(Ok(Some("a [agent]\n  b [tool]"))),
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
            let missing = judge(&s, &group(Ok(None)), "a [agent]".into());
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
            &group(Ok(None)),
            String::new(),
        );
        assert!(!empty.check.passed && empty.shape.is_none());
        assert!(empty.check.message.contains("no spans to record"));
        let same = judge(
            &settings(SnapshotMode::Check, Writes::Allowed),
            &group(Ok(Some("a [agent]"))),
            "a [agent]".into(),
        );
        assert_eq!((same.check.passed, same.matched), (true, true));
        let unreadable = judge(
            &settings(SnapshotMode::Update, Writes::Allowed),
            &group(Err("cannot read `x`: denied")),
            "a".into(),
        );
        assert!(!unreadable.check.passed);
        assert_eq!(unreadable.check.message, "cannot read `x`: denied");
    }
}
