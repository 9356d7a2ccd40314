//! Span assertions (`[[case.expect.span]]`, `docs/reference/selectors.md`): a selector picks spans
//! from the trial's tree, and every check given must hold for them. Failed checks mark the spans
//! they are about, so the failure output shows them in the tree.
//!
//! A selector that matches nothing fails every check except a `count` that allows zero: a
//! `status = "ok"` on a tool that never ran must not pass by saying nothing.

use std::collections::HashSet;

use super::tools::json_contains;
use super::{Evidence, Graded};
use crate::event::CheckResult;
use crate::suite::{Expect, SpanAssertion};
use crate::trace::render::{clean, format_duration};
use crate::trace::{GenAiView, NodeId, StatusCode};

/// Adds one `span` check per assertion of `[[case.expect.span]]`, in file order.
pub(super) fn check(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    check_assertions(&expect.spans, evidence.trial.view, graded);
}

/// One `span` check per assertion, on the view alone.
fn check_assertions(assertions: &[SpanAssertion], view: &GenAiView<'_>, graded: &mut Graded) {
    for assertion in assertions {
        let (passed, message, marked) = evaluate(assertion, view);
        graded.checks.push(CheckResult {
            name: "span".to_owned(),
            passed,
            message,
            score: None,
        });
        if !passed {
            let index = graded.checks.len() - 1;
            let mut marked: Vec<_> = marked.into_iter().collect();
            marked.sort();
            graded.offending.extend(marked.iter().map(|&n| (index, n)));
            graded.marked.extend(marked);
        }
    }
}

/// The verdict, the message, and the spans to mark when it failed.
pub(crate) fn evaluate(a: &SpanAssertion, view: &GenAiView<'_>) -> (bool, String, HashSet<NodeId>) {
    let tree = view.tree();
    let matched = a.select.select(view);
    let selector = clean(&a.select.to_string(), 120);
    let mut failures: Vec<String> = Vec::new();
    let mut marked: HashSet<NodeId> = HashSet::new();
    let n = matched.len() as u64;

    let count_allows_zero = a.count.is_some_and(|c| c.holds(0));
    match a.count {
        Some(count) if !count.holds(n) => {
            failures.push(format!("{n} span(s) match, expected {count}"));
            // "Must not happen" (or too many): the spans that did happen are the problem.
            marked.extend(matched.iter().copied());
        }
        _ => {}
    }
    let has_checks = a.max_duration.is_some()
        || a.status.is_some()
        || !a.attrs.is_empty()
        || a.before.is_some()
        || a.after.is_some();
    if n == 0 && !count_allows_zero && (has_checks || a.count.is_none()) {
        failures.push("no span matches".to_owned());
    }

    if let Some(limit) = a.max_duration {
        let limit_ns = limit.as_nanos() as u64;
        let slow: Vec<NodeId> = matched
            .iter()
            .copied()
            .filter(|&id| tree.node(id).span().duration_ns() > limit_ns)
            .collect();
        if let Some(longest) = slow
            .iter()
            .map(|&id| tree.node(id).span().duration_ns())
            .max()
        {
            failures.push(format!(
                "{} of {n} span(s) longer than {} (longest {})",
                slow.len(),
                format_duration(limit_ns),
                format_duration(longest)
            ));
            marked.extend(slow);
        }
    }
    if let Some(want) = &a.status {
        let wrong: Vec<NodeId> = matched
            .iter()
            .copied()
            .filter(|&id| status_of(view, id) != want.as_str())
            .collect();
        if let Some(&first) = wrong.first() {
            failures.push(format!(
                "{} of {n} span(s) are not `{want}` (first is `{}`)",
                wrong.len(),
                status_of(view, first)
            ));
            marked.extend(wrong);
        }
    }
    for (key, want) in &a.attrs {
        let lacking: Vec<NodeId> = matched
            .iter()
            .copied()
            .filter(|&id| {
                tree.node(id)
                    .span()
                    .attr(key)
                    .is_none_or(|v| !json_equal(&v.to_json(), want))
            })
            .collect();
        if !lacking.is_empty() {
            failures.push(format!(
                "{} of {n} span(s) lack {}={}",
                lacking.len(),
                clean(key, 80),
                clean(&want.to_string(), 80)
            ));
            marked.extend(lacking);
        }
    }
    for (other, before) in [(&a.before, true), (&a.after, false)] {
        let Some(other) = other else { continue };
        let word = if before { "before" } else { "after" };
        let others = other.select(view);
        let starts = |ids: &[NodeId]| -> Vec<u64> {
            ids.iter()
                .map(|&id| tree.node(id).span().start_time_unix_nano)
                .collect()
        };
        let other_starts = starts(&others);
        let (Some(&first), Some(&last)) = (other_starts.iter().min(), other_starts.iter().max())
        else {
            failures.push(format!(
                "nothing matches `{}`, which they must come {word}",
                clean(&other.to_string(), 120)
            ));
            continue;
        };
        let out_of_order: Vec<NodeId> = matched
            .iter()
            .copied()
            .filter(|&id| {
                let start = tree.node(id).span().start_time_unix_nano;
                if before {
                    start >= first
                } else {
                    start <= last
                }
            })
            .collect();
        if !out_of_order.is_empty() {
            failures.push(format!(
                "{} of {n} span(s) do not start {word} `{}`",
                out_of_order.len(),
                clean(&other.to_string(), 120)
            ));
            marked.extend(out_of_order);
            marked.extend(others);
        }
    }

    let passed = failures.is_empty();
    let message = if passed {
        format!("`{selector}`: {n} span(s) match, every check holds")
    } else {
        format!("`{selector}`: {}", failures.join("; "))
    };
    (passed, message, marked)
}

/// `ok`, `error` or `unset`, as `status` in a span assertion means it.
fn status_of(view: &GenAiView<'_>, id: NodeId) -> &'static str {
    let span = view.tree().node(id).span();
    if span.is_error() {
        "error"
    } else if span.status.code == StatusCode::Ok {
        "ok"
    } else {
        "unset"
    }
}

/// Equal as JSON, numbers by value (`1` = `1.0`).
fn json_equal(actual: &serde_json::Value, want: &serde_json::Value) -> bool {
    json_contains(actual, want) && json_contains(want, actual)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::suite::Count;
    use crate::trace::query::Selector;
    use crate::trace::{Attributes, KeyValue, Span, SpanId, SpanTree, Status, TraceId};

    fn span(
        id: u8,
        parent: Option<u8>,
        start: u64,
        len: u64,
        name: &str,
        attrs: &[(&str, &str)],
    ) -> Arc<Span> {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        // Microseconds, so durations print as they would for real spans.
        s.start_time_unix_nano = start * 1000;
        s.end_time_unix_nano = (start + len) * 1000;
        s.attributes = Attributes(attrs.iter().map(|(k, v)| KeyValue::new(k, *v)).collect());
        Arc::new(s)
    }

    fn tree() -> SpanTree {
        let mut failed = (*span(
            4,
            Some(1),
            300,
            50,
            "execute_tool delete",
            &[
                ("gen_ai.operation.name", "execute_tool"),
                ("gen_ai.tool.name", "delete"),
            ],
        ))
        .clone();
        failed.status = Status {
            code: StatusCode::Error,
            message: "denied".into(),
        };
        SpanTree::build([
            span(
                1,
                None,
                0,
                1_000,
                "invoke_agent a",
                &[("gen_ai.operation.name", "invoke_agent")],
            ),
            span(
                2,
                Some(1),
                10,
                100,
                "chat m",
                &[
                    ("gen_ai.operation.name", "chat"),
                    ("gen_ai.request.model", "m"),
                ],
            ),
            span(
                3,
                Some(1),
                200,
                20,
                "execute_tool search",
                &[
                    ("gen_ai.operation.name", "execute_tool"),
                    ("gen_ai.tool.name", "search"),
                ],
            ),
            Arc::new(failed),
            span(
                5,
                Some(1),
                400,
                100,
                "chat m",
                &[
                    ("gen_ai.operation.name", "chat"),
                    ("gen_ai.request.model", "m"),
                ],
            ),
        ])
    }

    fn assertion(select: &str) -> SpanAssertion {
        SpanAssertion {
            select: Selector::parse(select).unwrap(),
            count: None,
            max_duration: None,
            status: None,
            attrs: BTreeMap::new(),
            before: None,
            after: None,
        }
    }

    #[test]
    fn each_span_check_passes_and_fails_with_a_message() {
        let t = tree();
        let view = GenAiView::new(&t);
        let sel = |s: &str| Some(Selector::parse(s).unwrap());
        let cases: Vec<(SpanAssertion, bool, &str)> = vec![
            (
                assertion("tool"),
                true,
                "`tool`: 2 span(s) match, every check holds",
            ),
            (
                assertion("retrieval"),
                false,
                "`retrieval`: no span matches",
            ),
            (
                SpanAssertion {
                    count: Some("0".parse::<Count>().unwrap()),
                    ..assertion("tool[name=\"delete\"]")
                },
                false,
                "`tool[name=\"delete\"]`: 1 span(s) match, expected 0",
            ),
            (
                SpanAssertion {
                    count: Some(">= 2".parse().unwrap()),
                    ..assertion("llm")
                },
                true,
                "`llm`: 2 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    count: Some("0".parse().unwrap()),
                    ..assertion("retrieval")
                },
                true,
                "`retrieval`: 0 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    max_duration: Some(Duration::from_micros(60)),
                    ..assertion("tool")
                },
                true,
                "`tool`: 2 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    max_duration: Some(Duration::from_micros(60)),
                    ..assertion("llm")
                },
                false,
                "`llm`: 2 of 2 span(s) longer than 60µs (longest 100µs)",
            ),
            (
                SpanAssertion {
                    status: Some("unset".into()),
                    ..assertion("tool")
                },
                false,
                "`tool`: 1 of 2 span(s) are not `unset` (first is `error`)",
            ),
            (
                SpanAssertion {
                    attrs: BTreeMap::from([(
                        "gen_ai.request.model".to_owned(),
                        serde_json::json!("m"),
                    )]),
                    ..assertion("llm")
                },
                true,
                "`llm`: 2 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    attrs: BTreeMap::from([(
                        "gen_ai.request.model".to_owned(),
                        serde_json::json!("x"),
                    )]),
                    ..assertion("llm:last")
                },
                false,
                "`llm:last`: 1 of 1 span(s) lack gen_ai.request.model=\"x\"",
            ),
            (
                SpanAssertion {
                    before: sel("llm:last"),
                    ..assertion("tool")
                },
                true,
                "`tool`: 2 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    before: sel("tool"),
                    ..assertion("llm")
                },
                false,
                "`llm`: 1 of 2 span(s) do not start before `tool`",
            ),
            (
                SpanAssertion {
                    after: sel("llm:first"),
                    ..assertion("tool")
                },
                true,
                "`tool`: 2 span(s) match, every check holds",
            ),
            (
                SpanAssertion {
                    after: sel("retrieval"),
                    ..assertion("tool")
                },
                false,
                "`tool`: nothing matches `retrieval`, which they must come after",
            ),
        ];
        for (a, passed, message) in cases {
            let (p, m, _) = evaluate(&a, &view);
            assert_eq!((p, m.as_str()), (passed, message));
        }
    }

    #[test]
    fn a_failed_must_not_happen_marks_the_spans_that_happened() {
        let t = tree();
        let view = GenAiView::new(&t);
        let mut graded = Graded::default();
        let a = SpanAssertion {
            count: Some("0".parse().unwrap()),
            ..assertion("tool[name=\"delete\"]")
        };
        check_assertions(&[a], &view, &mut graded);
        assert!(!graded.passed());
        let marked: Vec<&str> = graded
            .marked
            .iter()
            .map(|&id| t.node(id).span().name.as_str())
            .collect();
        assert_eq!(marked, ["execute_tool delete"]);
    }
}
