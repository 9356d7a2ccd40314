//! Writing a case × model's snapshot when it is over: the `.snap`, the pending `.snap.new`, or
//! nothing, as the mode and the CI rule call for, and the events that say what was done.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::event::{RunEvent, SnapshotAction, SnapshotEvent, Warning};

use super::case::{CaseSnapshot, TrialShape};
use super::{SnapshotFile, SnapshotMode, Writes};

impl CaseSnapshot {
    /// Writes what the mode calls for once the case × model is over; `trials` are its compared
    /// trials. The shape written is that of the lowest-numbered mismatching trial that passed
    /// its other checks; a `.snap` written without review (a first snapshot, `update`) comes
    /// from no other trial, and without one nothing is written and a warning says why. Returns
    /// the events to emit and whether a write failed.
    pub(crate) fn record(&self, trials: &[TrialShape]) -> (Vec<RunEvent>, bool) {
        let (group, settings) = (self, &self.settings);
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
                    file: super::relative(&group.path, &settings.root),
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
            body: super::file::normalize(&chosen.shape),
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
            file: super::relative(&target, &settings.root),
            action,
        }));
        (events, failed)
    }
}

/// The pending file of a `.snap`.
fn pending_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_owned();
    name.push(".new");
    path.with_file_name(name)
}

/// Writes through a temporary file in the same directory, so a reader never sees half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
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
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::snapshot::SnapshotSettings;

    /// A project root of its own under the temp dir, removed on drop.
    struct Root(PathBuf);

    impl Root {
        fn new() -> Root {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let dir = std::env::temp_dir().join(format!("tv-record-{}-{n}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Root(dir)
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn shape(trial: u32, shape: &str, matched: bool, others_passed: bool) -> TrialShape {
        TrialShape {
            trial,
            shape: shape.into(),
            matched,
            others_passed,
        }
    }

    /// Records `trials` for a case stored as `stored` (`None`: no file yet, else it is
    /// written first); returns the actions, the warnings, whether a write failed, and the
    /// `.snap` and `.snap.new` bodies left.
    fn record(
        mode: SnapshotMode,
        writes: Writes,
        stored: Option<&str>,
        trials: &[TrialShape],
    ) -> (
        Vec<SnapshotAction>,
        Vec<String>,
        bool,
        Option<String>,
        Option<String>,
    ) {
        let root = Root::new();
        let settings = SnapshotSettings {
            root: root.0.clone(),
            mode,
            writes,
        };
        let snapshot = CaseSnapshot::stored(settings, stored);
        if let Some(body) = stored {
            let file = SnapshotFile {
                body: body.into(),
                ..snapshot.header.clone()
            };
            write_atomic(&snapshot.path, file.to_text().as_bytes()).unwrap();
        }
        let (events, failed) = snapshot.record(trials);
        let mut actions = Vec::new();
        let mut warnings = Vec::new();
        for event in events {
            match event {
                RunEvent::Snapshot(s) => actions.push(s.action),
                RunEvent::Warning(w) => warnings.push(w.message),
                other => panic!("unexpected {other:?}"),
            }
        }
        let body = |path: &Path| {
            crate::snapshot::file::read_text(path)
                .ok()
                .map(|text| crate::snapshot::file::body(&text))
        };
        let snap = body(&snapshot.path);
        let pending = body(&pending_path(&snapshot.path));
        (actions, warnings, failed, snap, pending)
    }

    #[test]
    fn a_first_snapshot_is_recorded_from_the_lowest_passing_trial() {
        let trials = [
            shape(2, "b", false, true),
            shape(0, "a", false, false),
            shape(1, "c", false, true),
        ];
        let (actions, warnings, failed, snap, pending) =
            record(SnapshotMode::Check, Writes::Allowed, None, &trials);
        assert_eq!(actions, [SnapshotAction::Recorded]);
        assert!(!failed);
        assert_eq!((snap.as_deref(), pending), (Some("c"), None));
        // The trials disagree: a warning says whose shape the file got.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("3 different trace shapes") && warnings[0].ends_with("trial 1's"),
            "{}",
            warnings[0]
        );
    }

    #[test]
    fn a_changed_shape_waits_for_review_and_update_writes_it() {
        let trials = [shape(0, "new", false, true)];
        let (actions, warnings, _, snap, pending) =
            record(SnapshotMode::Check, Writes::Allowed, Some("old"), &trials);
        assert_eq!(actions, [SnapshotAction::Pending]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            (snap.as_deref(), pending.as_deref()),
            (Some("old"), Some("new"))
        );
        let (actions, _, _, snap, pending) =
            record(SnapshotMode::Update, Writes::Allowed, Some("old"), &trials);
        assert_eq!(actions, [SnapshotAction::Updated]);
        assert_eq!((snap.as_deref(), pending), (Some("new"), None));
        let (actions, _, _, snap, pending) =
            record(SnapshotMode::New, Writes::Allowed, None, &trials);
        assert_eq!(actions, [SnapshotAction::Pending]);
        assert_eq!((snap, pending.as_deref()), (None, Some("new")));
    }

    #[test]
    fn nothing_is_written_in_ci_or_without_a_passing_trial_to_record() {
        let trials = [shape(0, "new", false, true)];
        let ci = Writes::Never("CI is set".into());
        let (actions, _, _, snap, pending) = record(SnapshotMode::Check, ci, None, &trials);
        assert_eq!(actions, [SnapshotAction::Unwritten]);
        assert_eq!((snap, pending), (None, None));
        let failing = [shape(0, "new", false, false)];
        let (actions, warnings, _, snap, pending) =
            record(SnapshotMode::Update, Writes::Allowed, Some("old"), &failing);
        assert_eq!(actions, [SnapshotAction::NotRecorded]);
        assert!(warnings[0].contains("no snapshot updated"), "{warnings:?}");
        assert_eq!((snap.as_deref(), pending), (Some("old"), None));
    }

    #[test]
    fn a_case_whose_trials_all_match_removes_its_stale_review_file() {
        let root = Root::new();
        let settings = SnapshotSettings {
            root: root.0.clone(),
            mode: SnapshotMode::Check,
            writes: Writes::Allowed,
        };
        let snapshot = CaseSnapshot::stored(settings, Some("a"));
        let pending = pending_path(&snapshot.path);
        write_atomic(&pending, b"stale").unwrap();
        let (events, failed) = snapshot.record(&[shape(0, "a", true, true)]);
        assert!(events.is_empty() && !failed, "{events:?}");
        assert!(!pending.exists());
        // No compared trial: nothing to go by, the file stays.
        write_atomic(&pending, b"stale").unwrap();
        let (events, _) = snapshot.record(&[]);
        assert!(events.is_empty());
        assert!(pending.exists());
    }
}
