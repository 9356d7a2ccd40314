//! Per-case classes and the transition labels (design A.4.4): flaky versus flipped.
//!
//! Per side a case is `pass` (every trial passed), `fail` (none), `flaky` (some) or `error`
//! (every trial errored; for transitions it is a failure). A → B:
//!
//! | A \ B | pass | flaky | fail |
//! | --- | --- | --- | --- |
//! | pass | unchanged | destabilized | broken |
//! | flaky | stabilized | flaky | degraded |
//! | fail | fixed | partly fixed | unchanged |
//!
//! plus `added`, `removed` and `changed` (measured with another definition).

use super::document::CaseSide;
use super::stats::paired::CaseCounts;
use crate::report::schema::TrialResult;

/// A case's class on one side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// Every trial passed.
    Pass,
    /// No trial passed.
    Fail,
    /// Some trials passed.
    Flaky,
    /// Every trial errored (the agent never finished).
    Error,
}

impl Class {
    /// The class of `passed` of `n` trials, `errored` of them errored (`n > 0`).
    pub(crate) fn of(passed: u32, n: u32, errored: u32) -> Class {
        if n > 0 && errored == n {
            Class::Error
        } else if passed == n {
            Class::Pass
        } else if passed == 0 {
            Class::Fail
        } else {
            Class::Flaky
        }
    }

    /// The word the document holds.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Class::Pass => "pass",
            Class::Fail => "fail",
            Class::Flaky => "flaky",
            Class::Error => "error",
        }
    }
}

/// What became of a case, worst first (the order of the document's rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Label {
    /// pass → fail.
    Broken,
    /// flaky → fail.
    Degraded,
    /// pass → flaky.
    Destabilized,
    /// On the base side only.
    Removed,
    /// Its definition differs between the sides.
    Changed,
    /// flaky → flaky.
    Flaky,
    /// fail → flaky.
    PartlyFixed,
    /// fail → pass.
    Fixed,
    /// flaky → pass.
    Stabilized,
    /// On the new side only.
    Added,
    /// pass → pass, fail → fail.
    Unchanged,
}

impl Label {
    /// Every label, worst first.
    pub(crate) const ALL: [Label; 11] = [
        Label::Broken,
        Label::Degraded,
        Label::Destabilized,
        Label::Removed,
        Label::Changed,
        Label::Flaky,
        Label::PartlyFixed,
        Label::Fixed,
        Label::Stabilized,
        Label::Added,
        Label::Unchanged,
    ];

    /// The word the document holds.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Label::Broken => "broken",
            Label::Degraded => "degraded",
            Label::Destabilized => "destabilized",
            Label::Removed => "removed",
            Label::Changed => "changed",
            Label::Flaky => "flaky",
            Label::PartlyFixed => "partly fixed",
            Label::Fixed => "fixed",
            Label::Stabilized => "stabilized",
            Label::Added => "added",
            Label::Unchanged => "unchanged",
        }
    }

    /// Whether the case's class moved (the family of the BH q-values and of behaviour diffs).
    pub(crate) fn moved(self) -> bool {
        matches!(
            self,
            Label::Broken
                | Label::Degraded
                | Label::Destabilized
                | Label::PartlyFixed
                | Label::Fixed
                | Label::Stabilized
        )
    }
}

/// The label of a case that went from class `a` to class `b` (an errored case is a failed
/// one).
pub(crate) fn transition(a: Class, b: Class) -> Label {
    use Class::{Error, Fail, Flaky, Pass};
    match (a, b) {
        (Pass, Pass) | (Fail | Error, Fail | Error) => Label::Unchanged,
        (Pass, Flaky) => Label::Destabilized,
        (Pass, Fail | Error) => Label::Broken,
        (Flaky, Pass) => Label::Stabilized,
        (Flaky, Flaky) => Label::Flaky,
        (Flaky, Fail | Error) => Label::Degraded,
        (Fail | Error, Pass) => Label::Fixed,
        (Fail | Error, Flaky) => Label::PartlyFixed,
    }
}

/// One side of a case, summarised from its trials (in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Trials that passed.
    pub(crate) passed: u32,
    /// Trials.
    pub(crate) n: u32,
    /// Its class.
    pub(crate) class: Class,
    /// `●` passed, `○` failed, `✕` errored, in trial order.
    pub(crate) strip: String,
}

impl Summary {
    /// The summary of a case's trials.
    pub(crate) fn of(trials: &[&TrialResult]) -> Summary {
        let mut strip = String::with_capacity(trials.len() * 3);
        let (mut passed, mut errored) = (0u32, 0u32);
        for t in trials {
            if t.error.is_some() {
                errored += 1;
                strip.push('✕');
            } else if t.passed {
                passed += 1;
                strip.push('●');
            } else {
                strip.push('○');
            }
        }
        let n = trials.len() as u32;
        Summary {
            passed,
            n,
            class: Class::of(passed, n, errored),
            strip,
        }
    }

    /// The counts the statistics read.
    pub(crate) fn counts(&self) -> CaseCounts {
        CaseCounts {
            n: u64::from(self.n),
            passed: u64::from(self.passed),
        }
    }

    /// The document's side of the case.
    pub(crate) fn side(&self) -> CaseSide {
        CaseSide {
            passed: self.passed,
            n: self.n,
            class: self.class.as_str().to_owned(),
            strip: self.strip.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_the_transition_table() {
        assert_eq!(Class::of(5, 5, 0), Class::Pass);
        assert_eq!(Class::of(0, 5, 0), Class::Fail);
        assert_eq!(Class::of(0, 5, 5), Class::Error);
        assert_eq!(Class::of(0, 5, 2), Class::Fail);
        assert_eq!(Class::of(3, 5, 2), Class::Flaky);
        use Class::*;
        let table = [
            (Pass, Pass, "unchanged"),
            (Pass, Flaky, "destabilized"),
            (Pass, Fail, "broken"),
            (Pass, Error, "broken"),
            (Flaky, Pass, "stabilized"),
            (Flaky, Flaky, "flaky"),
            (Flaky, Fail, "degraded"),
            (Fail, Pass, "fixed"),
            (Error, Flaky, "partly fixed"),
            (Fail, Fail, "unchanged"),
            (Error, Fail, "unchanged"),
        ];
        for (a, b, label) in table {
            assert_eq!(transition(a, b).as_str(), label, "{a:?} → {b:?}");
        }
    }

    #[test]
    fn labels_sort_worst_first_and_only_class_moves_are_moves() {
        let mut sorted = Label::ALL;
        sorted.sort();
        assert_eq!(sorted, Label::ALL);
        let words: Vec<&str> = Label::ALL.iter().map(|l| l.as_str()).collect();
        assert_eq!(
            words,
            [
                "broken",
                "degraded",
                "destabilized",
                "removed",
                "changed",
                "flaky",
                "partly fixed",
                "fixed",
                "stabilized",
                "added",
                "unchanged"
            ]
        );
        let moved: Vec<Label> = Label::ALL.into_iter().filter(|l| l.moved()).collect();
        assert_eq!(
            moved,
            [
                Label::Broken,
                Label::Degraded,
                Label::Destabilized,
                Label::PartlyFixed,
                Label::Fixed,
                Label::Stabilized
            ]
        );
    }
}
