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
