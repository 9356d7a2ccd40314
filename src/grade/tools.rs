//! Tool-call matching against `expect.tools`
//! (`docs/reference/metrics.md#tool-precision-recall-and-f1`).
//!
//! An expected call matches an actual call of the same name whose arguments compare under the
//! case's argument mode ([`args_match`]): by default they contain the expected ones
//! ([`json_contains`]); a trajectory's `args` and `tool-args` choose another mode. Expected and actual calls are multisets, and each call
//! is used at most once, so the number matched is a maximum bipartite matching between them.
//! A greedy pass is not enough: taking the first fit lets a loose expectation (any arguments)
//! use the one actual call that a stricter expectation needed, and reports a miss that the
//! trial did not make.

use serde_json::{Number, Value as Json};

use crate::suite::spec::{ArgMode, ExpectedTool};
use crate::trace::genai::ToolCall;

/// One tool call the agent made, as matching reads it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ActualTool<'a> {
    /// The tool's name.
    pub name: &'a str,
    /// The arguments, when recorded as JSON.
    pub args: Option<&'a Json>,
}

impl<'a> From<&'a ToolCall> for ActualTool<'a> {
    fn from(call: &'a ToolCall) -> ActualTool<'a> {
        ActualTool {
            name: &call.name,
            args: call.arguments.as_ref(),
        }
    }
}

pub(crate) use crate::metrics::tool_score::{ToolScore, tool_rates};

/// True when `actual` is a call that `expected` describes: the same name and arguments that
/// contain the expected ones.
///
/// Expected `args` of `None` match any arguments, recorded or not. Arguments that were not
/// recorded (or were not JSON) match only expectations that ask for nothing: `None` or an
/// empty object, as a call without arguments may record none at all.
#[cfg(test)]
pub(crate) fn tool_matches(expected: &ExpectedTool, actual: &ActualTool<'_>) -> bool {
    expected.name == actual.name
        && args_match(ArgMode::Contains, expected.args.as_ref(), actual.args)
}

/// True when an actual call's arguments (`None`: not recorded, or not JSON) compare with the
/// expected ones under `mode`:
/// - `ignore`: always;
/// - `contains`: the actual arguments contain the expected ones ([`json_contains`]);
/// - `within`: the expected arguments contain the actual ones (nothing beyond them);
/// - `exact`: both.
///
/// Expected arguments of `None` ask for nothing: any arguments match, except under `exact`,
/// where only none (or `{}`) do. Arguments not recorded read as `{}`, so they are within any
/// expected object and contain only an empty one.
pub(crate) fn args_match(mode: ArgMode, expected: Option<&Json>, actual: Option<&Json>) -> bool {
    let empty = Json::Object(Default::default());
    let got = actual.unwrap_or(&empty);
    match (mode, expected) {
        (ArgMode::Ignore, _) | (ArgMode::Contains | ArgMode::Within, None) => true,
        (ArgMode::Exact, None) => got == &empty,
        (ArgMode::Contains, Some(want)) => json_contains(got, want),
        (ArgMode::Within, Some(want)) => json_contains(want, got),
        (ArgMode::Exact, Some(want)) => json_contains(got, want) && json_contains(want, got),
    }
}

/// Scores the actual tool calls of a trial against the expected ones by maximum matching,
/// arguments compared by containment ([`tool_matches`]).
///
/// When several maximum matchings exist, the one chosen (and so which indices are reported
/// missing or unexpected) is deterministic: expected calls are placed in order, each taking
/// the earliest actual call it can get without lowering the count.
pub(crate) fn score_tools(expected: &[ExpectedTool], actual: &[ActualTool<'_>]) -> ToolScore {
    score_tools_by(expected, actual, |_| ArgMode::Contains)
}

/// [`score_tools`] with each expected call's arguments compared under `mode(call)`, the case's
/// argument mode for it.
pub(crate) fn score_tools_by(
    expected: &[ExpectedTool],
    actual: &[ActualTool<'_>],
    mode: impl Fn(&ExpectedTool) -> ArgMode,
) -> ToolScore {
    let fits: Vec<Vec<usize>> = expected
        .iter()
        .map(|e| {
            let mode = mode(e);
            (0..actual.len())
                .filter(|&j| {
                    e.name == actual[j].name && args_match(mode, e.args.as_ref(), actual[j].args)
                })
                .collect()
        })
        .collect();
    let owner = max_matching(&fits, actual.len());

    let mut matched_expected = vec![false; expected.len()];
    let mut unexpected = Vec::new();
    for (j, o) in owner.iter().enumerate() {
        match *o {
            Some(i) => matched_expected[i] = true,
            None => unexpected.push(j),
        }
    }
    let missing: Vec<usize> = (0..expected.len())
        .filter(|&i| !matched_expected[i])
        .collect();
    let matched = expected.len() - missing.len();
    let (precision, recall, f1) = tool_rates(matched, expected.len(), actual.len());
    ToolScore {
        matched,
        expected: expected.len(),
        actual: actual.len(),
        precision,
        recall,
        f1,
        missing,
        unexpected,
    }
}

/// Kuhn's augmenting-path algorithm. `fits[i]` lists the right vertices left vertex `i` may
/// take, ascending. Returns, per right vertex, the left vertex it is matched with.
/// O(left · edges), which is nothing next to the size of the trace the calls came from.
pub(crate) fn max_matching(fits: &[Vec<usize>], right: usize) -> Vec<Option<usize>> {
    let mut owner = vec![None; right];
    let mut seen = vec![false; right];
    for i in 0..fits.len() {
        seen.fill(false);
        augment(i, fits, &mut owner, &mut seen);
    }
    owner
}

/// Finds an augmenting path from left vertex `i`. Each level of recursion moves to the owner
/// of a right vertex not seen yet, so the depth is bounded by the number of matched pairs,
/// at most the number of expected calls (a list written in a suite file).
pub(crate) fn augment(
    i: usize,
    fits: &[Vec<usize>],
    owner: &mut [Option<usize>],
    seen: &mut [bool],
) -> bool {
    for &j in &fits[i] {
        if seen[j] {
            continue;
        }
        seen[j] = true;
        if owner[j].is_none_or(|k| augment(k, fits, owner, seen)) {
            owner[j] = Some(i);
            return true;
        }
    }
    false
}

/// True when `actual` contains `expected`:
/// - objects: every key of `expected` is in `actual` with a value that contains the expected
///   one (extra keys in `actual` are fine);
/// - arrays: the same length, and each element contains the expected one at the same index
///   (order matters in arguments, and a shorter list is a different call);
/// - numbers: equal by value, so `1` and `1.0` are equal, compared exactly (no rounding of
///   large integers through `f64`);
/// - strings, booleans and null: equal.
///
/// Values of different types never contain each other (`"1"` is not `1`).
pub(crate) fn json_contains(actual: &Json, expected: &Json) -> bool {
    match (actual, expected) {
        (Json::Object(got), Json::Object(want)) => want
            .iter()
            .all(|(k, w)| got.get(k).is_some_and(|g| json_contains(g, w))),
        (Json::Array(got), Json::Array(want)) => {
            got.len() == want.len() && got.iter().zip(want).all(|(g, w)| json_contains(g, w))
        }
        (Json::Number(got), Json::Number(want)) => numbers_equal(got, want),
        (Json::String(got), Json::String(want)) => got == want,
        (Json::Bool(got), Json::Bool(want)) => got == want,
        (Json::Null, Json::Null) => true,
        _ => false,
    }
}

fn numbers_equal(a: &Number, b: &Number) -> bool {
    match (integer(a), integer(b)) {
        (Some(x), Some(y)) => x == y,
        (Some(i), None) => b.as_f64().is_some_and(|f| float_is(f, i)),
        (None, Some(i)) => a.as_f64().is_some_and(|f| float_is(f, i)),
        (None, None) => a.as_f64() == b.as_f64(),
    }
}

fn integer(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

/// True when the float `f` is exactly the integer `i`. Every integral f64 of magnitude below
/// 2^127 converts to i128 exactly, and JSON integers fit in 64 bits, so this never rounds.
fn float_is(f: f64, i: i128) -> bool {
    f.is_finite() && f.fract() == 0.0 && f.abs() < 2f64.powi(127) && f as i128 == i
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn exp(name: &str, args: Option<Json>) -> ExpectedTool {
        ExpectedTool {
            name: name.to_owned(),
            args,
        }
    }

    fn act<'a>(name: &'a str, args: Option<&'a Json>) -> ActualTool<'a> {
        ActualTool { name, args }
    }

    #[test]
    fn json_containment() {
        // (actual, expected, contains)
        let cases = [
            (
                json!({"city": "Paris", "unit": "c"}),
                json!({"city": "Paris"}),
                true,
            ),
            (
                json!({"city": "Paris"}),
                json!({"city": "Paris", "unit": "c"}),
                false,
            ),
            (json!({"city": "Paris"}), json!({"city": "paris"}), false),
            (json!({"a": {"b": 1, "c": 2}}), json!({"a": {"b": 1}}), true),
            (
                json!({"a": {"b": 1}}),
                json!({"a": {"b": 1, "c": 2}}),
                false,
            ),
            (json!({"a": 1}), json!({}), true),
            (json!([1, 2]), json!([1, 2]), true),
            (json!([2, 1]), json!([1, 2]), false), // order matters
            (json!([1, 2, 3]), json!([1, 2]), false), // so does length
            (json!([1]), json!([1, 2]), false),
            (json!([{"a": 1, "b": 2}]), json!([{"a": 1}]), true), // containment per element
            (json!(1), json!(1.0), true),
            (json!(1.0), json!(1), true),
            (json!(-0.0), json!(0), true),
            (json!(1.5), json!(1.5), true),
            (json!(1.5), json!(1), false),
            (json!(u64::MAX), json!(u64::MAX), true),
            // 2^64 as a float is not u64::MAX, though `u64::MAX as f64` rounds to it.
            (json!(u64::MAX), json!(18_446_744_073_709_551_616.0), false),
            (json!(i64::MIN), json!(i64::MIN as f64), true), // −2^63 is exact in f64
            (
                json!(9_007_199_254_740_993u64),
                json!(9_007_199_254_740_992.0),
                false,
            ),
            (json!("1"), json!(1), false),
            (json!(true), json!(true), true),
            (json!(false), json!(true), false),
            (json!(null), json!(null), true),
            (json!(null), json!({}), false),
            (json!({}), json!(null), false),
            (json!({"a": null}), json!({"a": null}), true),
            (json!({}), json!({"a": null}), false), // a missing key is not a null one
        ];
        for (i, (actual, expected, want)) in cases.iter().enumerate() {
            assert_eq!(
                json_contains(actual, expected),
                *want,
                "case {i}: {actual} ⊇ {expected}"
            );
        }
    }

    #[test]
    fn single_call_matching() {
        let paris = json!({"city": "Paris", "unit": "c"});
        let not_json = None;
        // (expected, actual, matches)
        let cases = [
            (
                exp("w", Some(json!({"city": "Paris"}))),
                act("w", Some(&paris)),
                true,
            ),
            (
                exp("w", Some(json!({"city": "Rome"}))),
                act("w", Some(&paris)),
                false,
            ),
            (
                exp("x", Some(json!({"city": "Paris"}))),
                act("w", Some(&paris)),
                false,
            ),
            (exp("w", None), act("w", Some(&paris)), true),
            (exp("w", None), act("w", not_json), true),
            (exp("w", Some(json!({}))), act("w", not_json), true),
            (
                exp("w", Some(json!({"city": "Paris"}))),
                act("w", not_json),
                false,
            ),
            (exp("W", None), act("w", None), false), // names are exact
        ];
        for (i, (e, a, want)) in cases.iter().enumerate() {
            assert_eq!(tool_matches(e, a), *want, "case {i}");
        }
    }

    #[test]
    fn argument_modes_name_their_direction() {
        let (small, big) = (json!({"id": 1}), json!({"id": 1, "page": 2}));
        let empty = json!({});
        use ArgMode::*;
        // (mode, expected, actual, matches)
        let cases = [
            (Contains, Some(&small), Some(&big), true),
            (Contains, Some(&big), Some(&small), false),
            (Within, Some(&big), Some(&small), true),
            (Within, Some(&small), Some(&big), false),
            (Exact, Some(&small), Some(&small), true),
            (Exact, Some(&small), Some(&big), false),
            (Exact, Some(&big), Some(&small), false),
            (Ignore, Some(&small), Some(&empty), true),
            // Nothing expected: anything, except under `exact`.
            (Contains, None, Some(&big), true),
            (Within, None, Some(&big), true),
            (Exact, None, Some(&big), false),
            (Exact, None, None, true),
            (Exact, None, Some(&empty), true),
            // Not recorded reads as `{}`.
            (Within, Some(&small), None, true),
            (Contains, Some(&small), None, false),
            (Contains, Some(&empty), None, true),
        ];
        for (i, (mode, expected, actual, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                args_match(mode, expected, actual),
                want,
                "case {i}: {mode:?}"
            );
        }
        let expected = [exp("read", Some(big.clone()))];
        let actual = [act("read", Some(&small))];
        assert_eq!(score_tools(&expected, &actual).matched, 0);
        assert_eq!(score_tools_by(&expected, &actual, |_| Within).matched, 1);
    }

    #[test]
    fn a_generic_expectation_does_not_steal_the_call_a_specific_one_needs() {
        // The greedy trap: in order, "search with any args" would take the first call, the
        // one "search for rust" needs, and leave "search for rust" unmatched (1 of 2). The
        // maximum matching pairs the generic one with the second call instead (2 of 2).
        let rust = json!({"q": "rust"});
        let go = json!({"q": "go"});
        let expected = [
            exp("search", None),
            exp("search", Some(json!({"q": "rust"}))),
        ];
        let actual = [act("search", Some(&rust)), act("search", Some(&go))];
        let score = score_tools(&expected, &actual);
        assert_eq!(score.matched, 2);
        assert_eq!((score.precision, score.recall, score.f1), (1.0, 1.0, 1.0));
        assert!(score.missing.is_empty() && score.unexpected.is_empty());
    }

    #[test]
    fn scores() {
        let paris = json!({"city": "Paris"});
        let rome = json!({"city": "Rome"});
        let p = || exp("w", Some(json!({"city": "Paris"})));
        let any = || exp("w", None);
        // (expected, actual, matched, precision, recall, f1, missing, unexpected)
        type Case<'a> = (
            Vec<ExpectedTool>,
            Vec<ActualTool<'a>>,
            usize,
            (f64, f64, f64),
            Vec<usize>,
            Vec<usize>,
        );
        let cases: Vec<Case<'_>> = vec![
            // Both empty: nothing expected, nothing done, perfect.
            (vec![], vec![], 0, (1.0, 1.0, 1.0), vec![], vec![]),
            // Nothing expected, one call: P = 0/1, R = 1 (nothing to miss), F1 = 0/(0+1).
            (
                vec![],
                vec![act("w", Some(&paris))],
                0,
                (0.0, 1.0, 0.0),
                vec![],
                vec![0],
            ),
            // One expected, no call: P = 1 (nothing wrong done), R = 0/1, F1 = 0.
            (vec![p()], vec![], 0, (1.0, 0.0, 0.0), vec![0], vec![]),
            // Exact hit.
            (
                vec![p()],
                vec![act("w", Some(&paris))],
                1,
                (1.0, 1.0, 1.0),
                vec![],
                vec![],
            ),
            // Wrong args: P = 0/1, R = 0/1, F1 = 0 (not NaN).
            (
                vec![p()],
                vec![act("w", Some(&rome))],
                0,
                (0.0, 0.0, 0.0),
                vec![0],
                vec![0],
            ),
            // One extra call: P = 1/2, R = 1/1, F1 = 2·1/(1+2) = 2/3.
            (
                vec![p()],
                vec![act("w", Some(&rome)), act("w", Some(&paris))],
                1,
                (0.5, 1.0, 2.0 / 3.0),
                vec![],
                vec![0],
            ),
            // Multiset: expected twice, done once: P = 1/1, R = 1/2, F1 = 2/3.
            (
                vec![p(), p()],
                vec![act("w", Some(&paris))],
                1,
                (1.0, 0.5, 2.0 / 3.0),
                vec![1],
                vec![],
            ),
            // 3 expected, 4 actual, 2 matched: P = 2/4, R = 2/3, F1 = 4/7.
            (
                vec![p(), exp("s", None), exp("t", None)],
                vec![
                    act("s", None),
                    act("w", Some(&rome)),
                    act("w", Some(&paris)),
                    act("u", None),
                ],
                2,
                (0.5, 2.0 / 3.0, 4.0 / 7.0),
                vec![2],
                vec![1, 3],
            ),
            // Generic first and specific last, actual in the "wrong" order: still 2.
            (
                vec![any(), p()],
                vec![act("w", Some(&paris)), act("w", Some(&rome))],
                2,
                (1.0, 1.0, 1.0),
                vec![],
                vec![],
            ),
        ];
        for (i, (expected, actual, matched, (p, r, f), missing, unexpected)) in
            cases.into_iter().enumerate()
        {
            let s = score_tools(&expected, &actual);
            assert_eq!(s.matched, matched, "case {i}");
            assert_eq!(
                (s.expected, s.actual),
                (expected.len(), actual.len()),
                "case {i}"
            );
            let close = |a: f64, b: f64| (a - b).abs() < 1e-15;
            assert!(
                close(s.precision, p) && close(s.recall, r) && close(s.f1, f),
                "case {i}: {s:?}"
            );
            assert_eq!((s.missing, s.unexpected), (missing, unexpected), "case {i}");
        }
    }

    #[test]
    fn actual_tool_from_tool_call() {
        let call = ToolCall {
            node: crate::trace::NodeId(0),
            name: "get_weather".to_owned(),
            call_id: None,
            arguments: Some(json!({"city": "Paris"})),
            raw_arguments: None,
            result: None,
            error: None,
            duration_ns: 0,
        };
        let a = ActualTool::from(&call);
        assert_eq!(a.name, "get_weather");
        assert_eq!(a.args, Some(&json!({"city": "Paris"})));
    }

    /// The largest number of pairs over every assignment: each expected call either stays
    /// unmatched or takes any free actual call it matches.
    fn brute_force(
        expected: &[ExpectedTool],
        actual: &[ActualTool<'_>],
        used: &mut [bool],
    ) -> usize {
        let Some((first, rest)) = expected.split_first() else {
            return 0;
        };
        let mut best = brute_force(rest, actual, used);
        for j in 0..actual.len() {
            if !used[j] && tool_matches(first, &actual[j]) {
                used[j] = true;
                best = best.max(1 + brute_force(rest, actual, used));
                used[j] = false;
            }
        }
        best
    }

    fn name() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b"]).prop_map(str::to_owned)
    }

    /// Arguments over a small domain, so that calls collide often; some partial, some full.
    fn args() -> impl Strategy<Value = Json> {
        prop_oneof![
            (0..2u8).prop_map(|x| json!({"x": x})),
            (0..2u8, 0..2u8).prop_map(|(x, y)| json!({"x": x, "y": y})),
            Just(json!({})),
            (0..2u8).prop_map(|y| json!({"y": y})),
        ]
    }

    /// Arguments with one fixed set of keys, where containment is equality both ways.
    fn full_args() -> impl Strategy<Value = Json> {
        (0..3u8).prop_map(|x| json!({"x": x}))
    }

    proptest! {
        #[test]
        fn matched_count_is_the_brute_force_maximum(
            expected in prop::collection::vec((name(), prop::option::of(args())), 0..6),
            actual in prop::collection::vec((name(), prop::option::of(args())), 0..6),
        ) {
            let expected: Vec<ExpectedTool> =
                expected.into_iter().map(|(n, a)| exp(&n, a)).collect();
            let actual: Vec<ActualTool<'_>> =
                actual.iter().map(|(n, a)| act(n, a.as_ref())).collect();
            let s = score_tools(&expected, &actual);
            let best = brute_force(&expected, &actual, &mut vec![false; actual.len()]);
            prop_assert_eq!(s.matched, best);
            prop_assert_eq!(s.missing.len(), expected.len() - best);
            prop_assert_eq!(s.unexpected.len(), actual.len() - best);
            for x in [s.precision, s.recall, s.f1] {
                prop_assert!((0.0..=1.0).contains(&x));
            }
        }

        #[test]
        fn f1_is_symmetric_when_arguments_are_full(
            a in prop::collection::vec((name(), full_args()), 0..7),
            b in prop::collection::vec((name(), full_args()), 0..7),
        ) {
            let forward = score_tools(
                &a.iter().map(|(n, x)| exp(n, Some(x.clone()))).collect::<Vec<_>>(),
                &b.iter().map(|(n, x)| act(n, Some(x))).collect::<Vec<_>>(),
            );
            let backward = score_tools(
                &b.iter().map(|(n, x)| exp(n, Some(x.clone()))).collect::<Vec<_>>(),
                &a.iter().map(|(n, x)| act(n, Some(x))).collect::<Vec<_>>(),
            );
            prop_assert_eq!(forward.matched, backward.matched);
            prop_assert_eq!(forward.f1.to_bits(), backward.f1.to_bits());
            prop_assert_eq!(forward.precision.to_bits(), backward.recall.to_bits());
            prop_assert_eq!(forward.recall.to_bits(), backward.precision.to_bits());
        }
    }
}
