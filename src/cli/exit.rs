//! The exit codes of `docs/reference/exit-codes.md`, in one place, and the rule that picks a
//! run's code from its summary.

use crate::event::StopReason;
use crate::runner::RunSummary;

/// Every trial passed (or the command did what it was asked).
pub(crate) const PASS: i32 = 0;
/// A trial failed a check, or errored for the agent's sake.
pub(crate) const FAIL: i32 = 1;
/// The arguments, a suite, `traceval.toml` or a script are wrong.
pub(crate) const USAGE: i32 = 2;
/// The machine failed the run: a receiver, a report file, an outage.
pub(crate) const INFRASTRUCTURE: i32 = 3;
/// Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT, as shells report it).
pub(crate) const INTERRUPTED: i32 = 130;

/// A finished run's exit code: interrupted, else failed, else infrastructure (only outages, so
/// CI can tell them from a worse agent), else pass.
pub(crate) fn for_run(summary: &RunSummary) -> i32 {
    match summary.stopped {
        Some(StopReason::Interrupted) => INTERRUPTED,
        _ if summary.failed > 0 => FAIL,
        _ if summary.infrastructure > 0 => INFRASTRUCTURE,
        _ => PASS,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(failed: usize, infrastructure: usize, stopped: Option<StopReason>) -> RunSummary {
        RunSummary {
            finished: 10,
            failed,
            infrastructure,
            stopped,
            snapshot_errors: 0,
        }
    }

    #[test]
    fn interruption_then_failure_then_infrastructure_decide_the_code() {
        let fail_fast = Some(StopReason::FailFast);
        let cases = [
            (summary(0, 0, None), PASS),
            (summary(1, 0, None), FAIL),
            (summary(0, 1, None), INFRASTRUCTURE),
            // A worse agent wins over an outage.
            (summary(1, 1, None), FAIL),
            (summary(1, 1, Some(StopReason::Interrupted)), INTERRUPTED),
            (summary(0, 0, Some(StopReason::Interrupted)), INTERRUPTED),
            (summary(1, 0, fail_fast), FAIL),
        ];
        for (summary, code) in cases {
            assert_eq!(for_run(&summary), code, "{summary:?}");
        }
        assert_eq!(
            (PASS, FAIL, USAGE, INFRASTRUCTURE, INTERRUPTED),
            (0, 1, 2, 3, 130)
        );
    }
}
