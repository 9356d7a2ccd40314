//! Trajectories (`expect.trajectory`, DESIGN.md section 6): how the trial's tool calls, in
//! tree order, line up with `expect.tools`.
//!
//! Verdicts: `exact` (same calls, same order, nothing else), `in-order` (the expected calls
//! are a subsequence of the actual ones), `any-order` (the same multiset), `subset` (every
//! actual call is an expected one), `superset` (every expected call happened). Scores, reported
//! next to the verdict: F1 of the longest common subsequence for `in-order` and `exact`,
//! multiset F1 (maximum matching) for `any-order`, 1 or 0 for `subset` and `superset`.
//! Two calls match when their names are equal and their arguments compare under the
//! argument mode (`exact`, `subset` — the actual contains the expected —, or `ignore`), which a
//! per-tool override can change.

use serde_json::Value as Json;

use super::output::describe_call;
use super::tools::json_contains;
use crate::suite::{ArgMode, ExpectedTool, Trajectory, TrajectoryMode};

/// One actual call: its name and its parsed arguments.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// Tool name.
    pub name: &'a str,
    /// Arguments, when recorded and JSON.
    pub args: Option<&'a Json>,
}

/// A trajectory's verdict and score.
#[derive(Debug, Clone, PartialEq)]
pub struct TrajectoryScore {
    /// Whether the mode holds.
    pub passed: bool,
    /// The score in [0, 1] (see the module docs).
    pub score: f64,
    /// A human explanation.
    pub message: String,
}

/// Judges `actual` against `expected` under `t`.
pub fn judge(t: &Trajectory, expected: &[ExpectedTool], actual: &[Call<'_>]) -> TrajectoryScore {
    let matches = |e: &ExpectedTool, a: &Call<'_>| {
        if e.name != a.name {
            return false;
        }
        let mode = t.tool_args.get(&e.name).copied().unwrap_or(t.args);
        match (mode, &e.args) {
            (ArgMode::Ignore, _) | (ArgMode::Subset, None) => true,
            (ArgMode::Exact, None) => a
                .args
                .is_none_or(|v| v == &Json::Object(Default::default())),
            (ArgMode::Subset, Some(want)) => a.args.is_some_and(|got| json_contains(got, want)),
            (ArgMode::Exact, Some(want)) => a
                .args
                .is_some_and(|got| json_contains(got, want) && json_contains(want, got)),
        }
    };
    let (ne, na) = (expected.len(), actual.len());
    let f1 = |m: usize| {
        if ne == 0 && na == 0 {
            1.0
        } else {
            2.0 * m as f64 / (ne + na) as f64
        }
    };
    let names = |calls: &mut dyn Iterator<Item = &str>| calls.collect::<Vec<_>>().join(" → ");
    let seen = names(&mut actual.iter().map(|c| c.name));
    let want = names(&mut expected.iter().map(|e| e.name.as_str()));
    // One maximum matching serves the multiset modes and explains every failure.
    let owner = max_matching(expected, actual, &matches);
    let m = owner.iter().filter(|o| o.is_some()).count();
    let (passed, score) = match t.mode {
        TrajectoryMode::Exact => {
            let lcs = lcs(expected, actual, &matches);
            let exact = ne == na && expected.iter().zip(actual).all(|(e, a)| matches(e, a));
            (exact, f1(lcs))
        }
        TrajectoryMode::InOrder => {
            let lcs = lcs(expected, actual, &matches);
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

/// What a failed trajectory lacks, from a maximum matching (`owner[j]` is the expected call
/// actual call `j` stands for): expected calls nothing matched (with the argument mode, as
/// names alone often look identical), calls the mode does not allow, or, when every call is
/// accounted for, the order.
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
        .map(|(e, _)| {
            let mode = t.tool_args.get(&e.name).copied().unwrap_or(t.args);
            let call = describe_call(&e.name, e.args.as_ref());
            match mode {
                ArgMode::Subset => call,
                other => format!("{call} (arguments: {})", other.as_str()),
            }
        })
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

/// Length of the longest common subsequence under `matches`.
fn lcs<F>(expected: &[ExpectedTool], actual: &[Call<'_>], matches: &F) -> usize
where
    F: Fn(&ExpectedTool, &Call<'_>) -> bool,
{
    let mut row = vec![0usize; actual.len() + 1];
    for e in expected {
        let mut diagonal = 0;
        for (j, a) in actual.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if matches(e, a) {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[actual.len()]
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

    fn t(mode: TrajectoryMode) -> Trajectory {
        Trajectory {
            mode,
            args: ArgMode::Subset,
            tool_args: BTreeMap::new(),
        }
    }

    #[test]
    fn modes_and_scores_match_hand_computed_values() {
        use TrajectoryMode::*;
        let (q, d1, d2) = (json!({"q": "x"}), json!({"id": 1}), json!({"id": 2}));
        let expected = [e("search", None), e("read", Some(json!({"id": 1})))];
        let call = |name, args| Call { name, args };
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
            let got = judge(&t(mode), &expected, actual);
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
        }];
        let mut traj = t(TrajectoryMode::Exact);
        assert!(judge(&traj, &expected, &actual).passed, "subset by default");
        traj.args = ArgMode::Exact;
        let r = judge(&traj, &expected, &actual);
        assert_eq!(
            (r.passed, r.message.as_str()),
            (
                false,
                "exact trajectory does not hold (score 0.00): expected [read], got [read]; \
                 no call matches read({\"id\":1}) (arguments: exact); \
                 not expected: read({\"id\":1,\"page\":2})"
            )
        );
        traj.tool_args.insert("read".into(), ArgMode::Ignore);
        assert!(judge(&traj, &expected, &actual).passed);
        let other = json!({"id": 9});
        let wrong = [Call {
            name: "read",
            args: Some(&other),
        }];
        traj.tool_args.clear();
        traj.args = ArgMode::Subset;
        let r = judge(&traj, &expected, &wrong);
        assert_eq!(
            (r.passed, r.message.as_str()),
            (
                false,
                "exact trajectory does not hold (score 0.00): expected [read], got [read]; \
                 no call matches read({\"id\":1}); not expected: read({\"id\":9})"
            )
        );
    }

    #[test]
    fn a_failure_says_what_is_missing_unexpected_or_out_of_order() {
        let names = |ns: &[&'static str]| -> Vec<Call<'static>> {
            ns.iter().map(|&name| Call { name, args: None }).collect()
        };
        let want = |ns: &[&str]| -> Vec<ExpectedTool> { ns.iter().map(|n| e(n, None)).collect() };
        let why = |mode, expected: &[&str], actual: &[&'static str]| {
            let r = judge(&t(mode), &want(expected), &names(actual));
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
