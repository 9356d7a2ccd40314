//! Processes an agent leaves behind, including those that left its process group.
//!
//! Killing the agent's process group misses a child that called `setsid` (a daemon, a browser a
//! test framework starts in its own group). On Linux, `traceval run` makes itself a child
//! subreaper ([`become_subreaper`]), so such orphans are re-parented to traceval instead of to
//! init: every process an agent started stays a descendant of traceval. After each trial,
//! [`sweep`] kills every descendant whose environment carries the trial's identity (the
//! `TRACEVAL_*` variables the command driver sets, which children inherit) and reaps the
//! adopted ones once they are dead.
//!
//! Reaping must never take the exit status of a child tokio is waiting for: [`spawn`] registers
//! each child under a lock before tokio's wait can begin, until it was waited for, and only
//! unregistered zombie children are reaped, one pid at a time (never `waitpid(-1)`).
//!
//! Elsewhere (macOS, the BSDs) there is no subreaper: only the agent's process group is killed,
//! and a process that left it survives the trial.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::process::{Child, Command};

/// Children tokio waits for: never reaped here.
static SPAWNED: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

fn spawned() -> MutexGuard<'static, BTreeSet<i32>> {
    SPAWNED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Makes traceval the reaper of its descendants' orphans (Linux); false where that is not
/// possible, and then [`sweep`] finds only the descendants still attached to their parents.
pub(crate) fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        rustix::process::set_child_subreaper(Some(rustix::process::getpid())).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// Spawns `command`, registered as a child tokio waits for until the returned guard is dropped
/// (drop it once the child was waited for).
pub(crate) fn spawn(command: &mut Command) -> std::io::Result<(Child, Spawned)> {
    let mut registry = spawned();
    let child = command.spawn()?;
    let pid = child.id().map_or(0, |id| id as i32);
    registry.insert(pid);
    Ok((child, Spawned(pid)))
}

/// A registered child; unregisters it when dropped.
#[derive(Debug)]
pub(crate) struct Spawned(i32);

impl Drop for Spawned {
    fn drop(&mut self) {
        spawned().remove(&self.0);
    }
}

/// Environment entries (`KEY=value`) a process must all carry to be swept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity(Vec<Vec<u8>>);

impl Identity {
    /// One trial of one run, by the variables the command driver gives its agent.
    pub(crate) fn trial(run_id: &str, id: &crate::event::TrialId) -> Identity {
        Identity(
            [
                ("TRACEVAL_RUN_ID", run_id),
                ("TRACEVAL_SUITE", &id.suite),
                ("TRACEVAL_CASE", &id.case),
                ("TRACEVAL_MODEL", &id.model),
                ("TRACEVAL_TRIAL", &id.trial.to_string()),
            ]
            .iter()
            .map(|(k, v)| format!("{k}={v}").into_bytes())
            .collect(),
        )
    }

    /// Every trial of one run.
    pub(crate) fn run(run_id: &str) -> Identity {
        Identity(vec![format!("TRACEVAL_RUN_ID={run_id}").into_bytes()])
    }

    /// Whether a `/proc/PID/environ` (NUL-separated entries) carries every entry.
    pub(crate) fn matches(&self, environ: &[u8]) -> bool {
        let entries: HashSet<&[u8]> = environ.split(|b| *b == 0).collect();
        !self.0.is_empty() && self.0.iter().all(|e| entries.contains(e.as_slice()))
    }
}

/// Kills every descendant of traceval carrying `identity` (repeatedly, so children forked
/// meanwhile go too), waits until they are dead, reaps the adopted ones and returns how many
/// were killed. Zero where `/proc` cannot tell (not Linux).
pub(crate) async fn sweep(identity: &Identity) -> usize {
    #[cfg(target_os = "linux")]
    {
        let killed = linux::kill_matching(identity);
        if !killed.is_empty() {
            // SIGKILL lands at once, but the process is gone only when the kernel has run it.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
            while killed.iter().any(|pid| linux::alive(*pid))
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
        linux::reap_adopted();
        killed.len()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (identity, Duration::ZERO);
        0
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::HashSet;

    use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, kill_process, waitid};

    use super::{Identity, spawned};

    /// Children of `pid`, from every thread's `children` list (each thread has its own).
    fn children(pid: i32) -> Vec<i32> {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for task in tasks.flatten() {
            if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
                out.extend(
                    list.split_whitespace()
                        .filter_map(|p| p.parse::<i32>().ok()),
                );
            }
        }
        out
    }

    /// The state letter of `/proc/PID/stat` (`R`, `S`, `Z`...), `None` when it is gone.
    fn state(pid: i32) -> Option<u8> {
        let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) S ...`, and comm may hold anything, parentheses included.
        let end = stat.iter().rposition(|b| *b == b')')?;
        stat.get(end + 2).copied()
    }

    /// Running, sleeping or stopped: not dead and not a zombie.
    pub(super) fn alive(pid: i32) -> bool {
        !matches!(state(pid), None | Some(b'Z' | b'X'))
    }

    /// One pass or more over traceval's descendants, outside the subtrees of the children tokio
    /// waits for (other trials' agents), killing those that match.
    pub(super) fn kill_matching(identity: &Identity) -> Vec<i32> {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let mut killed: Vec<i32> = Vec::new();
        // Rounds, because a process may fork between the listing and the kill.
        for _ in 0..16 {
            let running = spawned().clone();
            let mut found = Vec::new();
            let mut seen = HashSet::new();
            let mut stack: Vec<i32> = children(me)
                .into_iter()
                .filter(|p| !running.contains(p))
                .collect();
            while let Some(pid) = stack.pop() {
                if !seen.insert(pid) {
                    continue;
                }
                stack.extend(children(pid));
                if killed.contains(&pid) || !alive(pid) {
                    continue;
                }
                let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                    continue;
                };
                if identity.matches(&environ) {
                    found.push(pid);
                }
            }
            if found.is_empty() {
                break;
            }
            for pid in found {
                if let Some(p) = Pid::from_raw(pid)
                    && kill_process(p, Signal::KILL).is_ok()
                {
                    killed.push(pid);
                }
            }
        }
        killed
    }

    /// Reaps traceval's zombie children that nobody waits for: orphans adopted as subreaper.
    /// Children tokio waits for are registered, under the lock held here, from before their pid
    /// exists until after they were waited for, so their exit status is never taken.
    pub(super) fn reap_adopted() {
        let me = rustix::process::getpid().as_raw_nonzero().get();
        let registry = spawned();
        // Reaping a zombie may hand us its zombie children: until nothing changes.
        for _ in 0..16 {
            let mut reaped = false;
            for pid in children(me) {
                if registry.contains(&pid) || state(pid) != Some(b'Z') {
                    continue;
                }
                if let Some(p) = Pid::from_raw(pid)
                    && let Ok(Some(_)) = waitid(
                        WaitId::Pid(p),
                        WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
                    )
                {
                    reaped = true;
                }
            }
            if !reaped {
                break;
            }
        }
        drop(registry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::TrialId;

    #[test]
    fn a_process_matches_only_with_every_entry_of_its_trial() {
        let id = TrialId {
            suite: "s".into(),
            case: "a=b c".into(),
            model: "m".into(),
            trial: 2,
        };
        let trial = Identity::trial("r1", &id);
        let environ = b"PATH=/bin\0TRACEVAL_RUN_ID=r1\0TRACEVAL_SUITE=s\0TRACEVAL_CASE=a=b c\0\
                        TRACEVAL_MODEL=m\0TRACEVAL_TRIAL=2\0";
        assert!(trial.matches(environ));
        assert!(Identity::run("r1").matches(environ));
        assert!(
            !Identity::run("r").matches(environ),
            "a prefix is not a match"
        );
        let other = TrialId { trial: 3, ..id };
        assert!(!Identity::trial("r1", &other).matches(environ));
        // A zombie's environment reads empty.
        assert!(!trial.matches(b""));
        assert!(!Identity(Vec::new()).matches(environ));
    }
}
