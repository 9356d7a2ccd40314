//! Trajectories (`expect.trajectory`, `docs/reference/metrics.md#trajectory`): how the trial's
//! tool calls, in start order, line up with `expect.tools`.
//!
//! Verdicts: `exact` (same calls, same order, nothing else), `in-order` (the expected calls
//! are a subsequence of the actual ones), `any-order` (the same multiset), `subset` (every
//! actual call is an expected one), `superset` (every expected call happened). Scores, reported
//! next to the verdict: F1 of the longest common subsequence for `in-order` and `exact`,
//! multiset F1 (maximum matching) for `any-order`, 1 or 0 for `subset` and `superset`.
//! Two calls match when their names are equal and their arguments compare under the
//! argument mode ([`args_match`]: `contains`, the default, `within`, `exact` or `ignore`),
//! which a per-tool override can change.
//!
//! Order is the order of model turns: the calls of one turn (those one LLM response asked for,
//! run at once; see [`GenAiView::tool_call_turns`](crate::trace::GenAiView::tool_call_turns))
//! are unordered among themselves, as agentevals' strict match treats them, so which of two
//! parallel calls started first never decides `exact` or `in-order`.

use std::ops::Range;

use super::output::describe_call;
use super::tools::args_match;
use super::{Evidence, Graded};
use crate::event::CheckResult;
use crate::suite::{ArgMode, Expect, ExpectedTool, Trajectory, TrajectoryMode};
use serde_json::Value as Json;

/// One actual call: its name, its parsed arguments and its model turn.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Call<'a> {
    /// Tool name.
    pub name: &'a str,
    /// Arguments, when recorded and JSON.
    pub args: Option<&'a Json>,
    /// The model turn the call belongs to: calls of one turn are unordered among themselves.
    /// Non-decreasing along the actual calls.
    pub turn: usize,
}

/// A trajectory's verdict and score.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrajectoryScore {
    /// Whether the mode holds.
    pub passed: bool,
    /// The score in [0, 1] (see the module docs).
    pub score: f64,
    /// A human explanation.
    pub message: String,
}

/// Adds the `trajectory` check when the case has a trajectory (and so `tools`, which it needs);
/// a failure marks every tool call.
pub(super) fn check(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let (Some(t), Some(expected)) = (&expect.trajectory, &expect.tools) else {
        return;
    };
    let view = evidence.trial.view;
    let calls: Vec<Call<'_>> = view
        .tool_calls()
        .iter()
        .zip(view.tool_call_turns())
        .map(|(c, turn)| Call {
            name: &c.name,
            args: c.arguments.as_ref(),
            turn,
        })
        .collect();
    let verdict = judge(t, expected, &calls);
    if !verdict.passed {
        graded
            .marked
            .extend(view.tool_calls().iter().map(|c| c.node));
    }
    graded.checks.push(CheckResult {
        name: "trajectory".to_owned(),
        passed: verdict.passed,
        message: verdict.message,
        score: Some(verdict.score),
    });
}

/// Judges `actual` against `expected` under `t`.
pub(crate) fn judge(
    t: &Trajectory,
    expected: &[ExpectedTool],
    actual: &[Call<'_>],
) -> TrajectoryScore {
    let matches = |e: &ExpectedTool, a: &Call<'_>| {
        e.name == a.name && args_match(t.arg_mode(&e.name), e.args.as_ref(), a.args)
    };
    let (ne, na) = (expected.len(), actual.len());
    let f1 = |m: usize| {
        if ne == 0 && na == 0 {
            1.0
        } else {
            2.0 * m as f64 / (ne + na) as f64
        }
    };
    let turns = turns(actual);
    let seen = turns
        .iter()
        .map(|turn| {
            actual[turn.clone()]
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(" ‖ ")
        })
        .collect::<Vec<_>>()
        .join(" → ");
    let want = expected
        .iter()
        .map(|e| e.name.as_str())
        .collect::<Vec<_>>()
        .join(" → ");
    // One maximum matching serves the multiset modes and explains every failure.
    let owner = max_matching(expected, actual, &matches);
    let m = owner.iter().filter(|o| o.is_some()).count();
    let (passed, score) = match t.mode {
        TrajectoryMode::Exact => {
            let lcs = lcs(expected, actual, &turns, &matches);
            (ne == na && lcs == ne, f1(lcs))
        }
        TrajectoryMode::InOrder => {
            let lcs = lcs(expected, actual, &turns, &matches);
            (lcs == ne, f1(lcs))
        }
        TrajectoryMode::AnyOrder => (m == ne && m == na, f1(m)),
        TrajectoryMode::Subset => {
            let ok = m == na;
            (ok, if ok { 1.0 } else { 0.0 })
        }
        TrajectoryMode::Superset => {
            let ok = m == ne;
            (ok, if ok { 1.0 } else { 0.0 })
        }
    };
    let mut message = format!(
        "{} trajectory {} (score {score:.2}): expected [{want}], got [{seen}]",
        t.mode.as_str(),
        if passed { "holds" } else { "does not hold" },
    );
    if !passed {
        message.push_str(&why_not(t, expected, actual, &owner));
    }
    TrajectoryScore {
        passed,
        score,
        message: crate::trace::render::clean(&message, 600),
    }
}

/// An expected call as a message shows it, with the direction its arguments compare in:
/// `read({"id":1}) with at least these arguments`. A call that names no arguments shows none,
/// unless `exact` requires it to have none.
pub(crate) fn describe_expected(name: &str, args: Option<&Json>, mode: ArgMode) -> String {
    let call = describe_call(name, args);
    match (args, mode) {
        (Some(_), mode) => format!("{call} {}", mode.phrase()),
        (None, ArgMode::Exact) => format!("{call} with no arguments"),
        (None, _) => call,
    }
}

/// What a failed trajectory lacks, from a maximum matching (`owner[j]` is the expected call
/// actual call `j` stands for): expected calls nothing matched (with the direction their
/// arguments compare in, as names alone often look identical), calls the mode does not allow,
/// or, when every call is accounted for, the order.
fn why_not(
    t: &Trajectory,
    expected: &[ExpectedTool],
    actual: &[Call<'_>],
    owner: &[Option<usize>],
) -> String {
    let mut taken = vec![false; expected.len()];
    for i in owner.iter().flatten() {
        taken[*i] = true;
    }
    let missing: Vec<String> = expected
        .iter()
        .zip(&taken)
        .filter(|(_, taken)| !**taken)
        .map(|(e, _)| describe_expected(&e.name, e.args.as_ref(), t.arg_mode(&e.name)))
        .collect();
    let unexpected: Vec<String> = actual
        .iter()
        .zip(owner)
        .filter(|(_, owner)| owner.is_none())
        .map(|(a, _)| describe_call(a.name, a.args))
        .collect();
    let (show_missing, show_unexpected) = match t.mode {
        TrajectoryMode::Exact | TrajectoryMode::AnyOrder => (true, true),
        TrajectoryMode::InOrder | TrajectoryMode::Superset => (true, false),
        TrajectoryMode::Subset => (false, true),
    };
    let list = |calls: &[String]| {
        const SHOWN: usize = 3;
        let mut text = calls[..calls.len().min(SHOWN)].join(", ");
        if calls.len() > SHOWN {
            text.push_str(&format!(" and {} more", calls.len() - SHOWN));
        }
        text
    };
    let mut parts = Vec::new();
    if show_missing && !missing.is_empty() {
        parts.push(format!("no call matches {}", list(&missing)));
    }
    if show_unexpected && !unexpected.is_empty() {
        parts.push(format!("not expected: {}", list(&unexpected)));
    }
    if parts.is_empty() {
        // Every expected call has a partner: the order is what differs.
        parts.push("the calls are there, the order differs".to_owned());
    }
    format!("; {}", parts.join("; "))
}

/// The calls of each turn, as ranges of `actual` (whose turns never decrease).
fn turns(actual: &[Call<'_>]) -> Vec<Range<usize>> {
    let mut turns: Vec<Range<usize>> = Vec::new();
    for (j, call) in actual.iter().enumerate() {
        match turns.last_mut() {
            Some(last) if actual[last.start].turn == call.turn => last.end = j + 1,
            _ => turns.push(j..j + 1),
        }
    }
    turns
}

/// The longest common subsequence under `matches`, where the calls of one turn may be taken
/// in any order: the most expected calls matched, each to its own actual call, such that
/// along the expected list the turns of their partners never go back.
///
/// Turn by turn, `best[k]` is the most matched among the first `k` expected calls using the
/// turns so far; a turn of one call is the classic LCS step, and a turn of several calls takes
/// a run `expected[i..k]` of the list and adds the maximum matching between the run and the
/// turn's calls (grown one expected call at a time, by augmenting paths).
fn lcs<F>(
    expected: &[ExpectedTool],
    actual: &[Call<'_>],
    turns: &[Range<usize>],
    matches: &F,
) -> usize
where
    F: Fn(&ExpectedTool, &Call<'_>) -> bool,
{
    let ne = expected.len();
    let mut best = vec![0usize; ne + 1];
    let mut next = vec![0usize; ne + 1];
    for turn in turns {
        let calls = &actual[turn.clone()];
        if let [call] = calls {
            next[0] = 0;
            for k in 1..=ne {
                let hit = usize::from(matches(&expected[k - 1], call));
                next[k] = next[k - 1].max(best[k]).max(best[k - 1] + hit);
            }
        } else {
            let fits: Vec<Vec<usize>> = expected
                .iter()
                .map(|e| {
                    (0..calls.len())
                        .filter(|&j| matches(e, &calls[j]))
                        .collect()
                })
                .collect();
            next.copy_from_slice(&best);
            let mut owner = vec![None; calls.len()];
            let mut seen = vec![false; calls.len()];
            for (i, &before) in best.iter().enumerate().take(ne) {
                owner.fill(None);
                let mut matched = 0;
                for k in i..ne {
                    seen.fill(false);
                    if super::tools::augment(k, &fits, &mut owner, &mut seen) {
                        matched += 1;
                    }
                    next[k + 1] = next[k + 1].max(before + matched);
                }
            }
            for k in 1..=ne {
                next[k] = next[k].max(next[k - 1]);
            }
        }
        std::mem::swap(&mut best, &mut next);
    }
    best[ne]
}

/// A maximum matching between expected and actual calls: per actual call, its expected one.
fn max_matching<F>(
    expected: &[ExpectedTool],
    actual: &[Call<'_>],
    matches: &F,
) -> Vec<Option<usize>>
where
    F: Fn(&ExpectedTool, &Call<'_>) -> bool,
{
    let fits: Vec<Vec<usize>> = expected
        .iter()
        .map(|e| {
            (0..actual.len())
                .filter(|&j| matches(e, &actual[j]))
                .collect()
        })
        .collect();
    super::tools::max_matching(&fits, actual.len())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    fn e(name: &str, args: Option<Json>) -> ExpectedTool {
        ExpectedTool {
            name: name.into(),
            args,
        }
    }

    /// Judges calls made one per turn, in the order given.
    fn sequential(
        t: &Trajectory,
        expected: &[ExpectedTool],
        actual: &[Call<'_>],
    ) -> TrajectoryScore {
        let actual: Vec<Call<'_>> = actual
            .iter()
            .enumerate()
            .map(|(turn, c)| Call { turn, ..*c })
            .collect();
        judge(t, expected, &actual)
    }

    fn t(mode: TrajectoryMode) -> Trajectory {
        Trajectory {
            mode,
            args: ArgMode::Contains,
            tool_args: BTreeMap::new(),
        }
    }

    #[test]
    fn modes_and_scores_match_hand_computed_values() {
        use TrajectoryMode::*;
        let (q, d1, d2) = (json!({"q": "x"}), json!({"id": 1}), json!({"id": 2}));
        let expected = [e("search", None), e("read", Some(json!({"id": 1})))];
        let call = |name, args| Call {
            name,
            args,
            turn: 0,
        };
        let in_order = [call("search", Some(&q)), call("read", Some(&d1))];
        let extra = [
            call("search", Some(&q)),
            call("read", Some(&d2)),
            call("read", Some(&d1)),
        ];
        let reversed = [call("read", Some(&d1)), call("search", Some(&q))];
        let missing = [call("search", Some(&q))];
        // (mode, actual, passed, score); F1 = 2·m / (|E| + |A|).
        let cases: [(TrajectoryMode, &[Call<'_>], bool, f64); 15] = [
            (Exact, &in_order, true, 1.0),
            (Exact, &extra, false, 0.8), // LCS 2: 4/5
            (InOrder, &extra, true, 0.8),
            (InOrder, &reversed, false, 0.5), // LCS 1: 2/4
            (AnyOrder, &reversed, true, 1.0),
            (AnyOrder, &extra, false, 0.8),
            (AnyOrder, &missing, false, 2.0 / 3.0),
            (Subset, &missing, true, 1.0),
            (Subset, &extra, false, 0.0), // read(2) is unexpected
            (Superset, &extra, true, 1.0),
            (Superset, &missing, false, 0.0),
            (Exact, &[], false, 0.0),
            (InOrder, &reversed[..1], false, 2.0 / 3.0),
            (Superset, &reversed, true, 1.0),
            (Subset, &[], true, 1.0),
        ];
        for (mode, actual, passed, score) in cases {
            let got = sequential(&t(mode), &expected, actual);
            assert_eq!(got.passed, passed, "{mode:?} {}", got.message);
            assert!(
                (got.score - score).abs() < 1e-12,
                "{mode:?}: {} vs {score}",
                got.score
            );
        }
    }

    #[test]
    fn argument_modes_and_per_tool_overrides() {
        let expected = [e("read", Some(json!({"id": 1})))];
        let got = json!({"id": 1, "page": 2});
        let actual = [Call {
            name: "read",
            args: Some(&got),
            turn: 0,
        }];
        let mut traj = t(TrajectoryMode::Exact);
        assert!(
            sequential(&traj, &expected, &actual).passed,
            "subset by default"
        );
        traj.args = ArgMode::Exact;
        let r = sequential(&traj, &expected, &actual);
        assert_eq!(
            (r.passed, r.message.as_str()),
            (
                false,
                "exact trajectory does not hold (score 0.00): expected [read], got [read]; \
                 no call matches read({\"id\":1}) with exactly these arguments; \
                 not expected: read({\"id\":1,\"page\":2})"
            )
        );
        traj.tool_args.insert("read".into(), ArgMode::Ignore);
        assert!(sequential(&traj, &expected, &actual).passed);
        let other = json!({"id": 9});
        let wrong = [Call {
            name: "read",
            args: Some(&other),
            turn: 0,
        }];
        traj.tool_args.clear();
        traj.args = ArgMode::Contains;
        let r = sequential(&traj, &expected, &wrong);
        assert_eq!(
            (r.passed, r.message.as_str()),
            (
                false,
                "exact trajectory does not hold (score 0.00): expected [read], got [read]; \
                 no call matches read({\"id\":1}) with at least these arguments; \
                 not expected: read({\"id\":9})"
            )
        );
    }

    #[test]
    fn calls_of_one_turn_are_unordered_among_themselves() {
        use TrajectoryMode::*;
        let want = |ns: &[&str]| -> Vec<ExpectedTool> { ns.iter().map(|n| e(n, None)).collect() };
        let calls = |spec: &[(&'static str, usize)]| -> Vec<Call<'static>> {
            spec.iter()
                .map(|&(name, turn)| Call {
                    name,
                    args: None,
                    turn,
                })
                .collect()
        };
        // (mode, expected, actual with turns, passes, score)
        type Case<'a> = (
            TrajectoryMode,
            &'a [&'a str],
            &'a [(&'a str, usize)],
            bool,
            f64,
        );
        let cases: [Case<'_>; 9] = [
            (
                Exact,
                &["a", "b", "c"],
                &[("a", 0), ("c", 1), ("b", 1)],
                true,
                1.0,
            ),
            (
                Exact,
                &["a", "b", "c"],
                &[("a", 0), ("c", 1), ("b", 2)],
                false,
                2.0 * 2.0 / 6.0,
            ),
            (
                Exact,
                &["b", "a", "c"],
                &[("a", 0), ("c", 1), ("b", 1)],
                false,
                2.0 * 2.0 / 6.0,
            ),
            (
                InOrder,
                &["c", "b"],
                &[("a", 0), ("b", 1), ("x", 1), ("c", 1)],
                true,
                2.0 * 2.0 / 6.0,
            ),
            (
                InOrder,
                &["c", "a"],
                &[("a", 0), ("b", 1), ("c", 1)],
                false,
                2.0 / 5.0,
            ),
            // A run of the expected list may straddle turns: b|c in one turn, then d.
            (
                InOrder,
                &["a", "c", "b", "d"],
                &[("a", 0), ("b", 1), ("c", 1), ("d", 2)],
                true,
                1.0,
            ),
            // One turn's calls can match only one run of the list, in list order of turns.
            (
                InOrder,
                &["b", "a", "b"],
                &[("a", 0), ("b", 0), ("x", 1)],
                false,
                2.0 * 2.0 / 6.0,
            ),
            (Exact, &["a", "a"], &[("a", 0), ("a", 0)], true, 1.0),
            (Exact, &[], &[], true, 1.0),
        ];
        for (mode, expected, actual, passed, score) in cases {
            let r = judge(&t(mode), &want(expected), &calls(actual));
            assert_eq!(
                r.passed, passed,
                "{mode:?} {expected:?} {actual:?}: {}",
                r.message
            );
            assert!(
                (r.score - score).abs() < 1e-12,
                "{mode:?} {expected:?}: {} vs {score}",
                r.score
            );
        }
        let r = judge(
            &t(Exact),
            &want(&["a", "b", "c"]),
            &calls(&[("a", 0), ("c", 1), ("b", 1)]),
        );
        assert_eq!(
            r.message,
            "exact trajectory holds (score 1.00): expected [a → b → c], got [a → c ‖ b]"
        );
    }

    #[test]
    fn a_failure_says_what_is_missing_unexpected_or_out_of_order() {
        let names = |ns: &[&'static str]| -> Vec<Call<'static>> {
            ns.iter()
                .map(|&name| Call {
                    name,
                    args: None,
                    turn: 0,
                })
                .collect()
        };
        let want = |ns: &[&str]| -> Vec<ExpectedTool> { ns.iter().map(|n| e(n, None)).collect() };
        let why = |mode, expected: &[&str], actual: &[&'static str]| {
            let r = sequential(&t(mode), &want(expected), &names(actual));
            assert!(!r.passed);
            r.message.split("; ").skip(1).collect::<Vec<_>>().join("; ")
        };
        use TrajectoryMode::*;
        assert_eq!(
            why(Exact, &["a", "b"], &["b", "a"]),
            "the calls are there, the order differs"
        );
        assert_eq!(
            why(InOrder, &["a", "b"], &["b", "x", "a"]),
            "the calls are there, the order differs"
        );
        assert_eq!(why(InOrder, &["a", "c"], &["a", "x"]), "no call matches c");
        assert_eq!(
            why(AnyOrder, &["a", "a"], &["a", "b"]),
            "no call matches a; not expected: b"
        );
        assert_eq!(
            why(Subset, &["a"], &["a", "b", "c", "d", "e"]),
            "not expected: b, c, d and 1 more"
        );
        assert_eq!(why(Superset, &["a", "z"], &["a", "b"]), "no call matches z");
    }
}
