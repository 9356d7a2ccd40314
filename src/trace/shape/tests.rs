use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::trace::{KeyValue, Span, SpanId, SpanTree, StatusCode, TraceId};

/// A span builder for tests: ids from `id`, parent from `parent`, times in ns.
fn span(id: u64, parent: Option<u64>, name: &str, start: u64, end: u64) -> Span {
    let mut s = Span::new(TraceId([7; 16]), SpanId((id + 1).to_be_bytes()), name);
    s.parent_span_id = parent.map(|p| SpanId((p + 1).to_be_bytes()));
    s.start_time_unix_nano = start;
    s.end_time_unix_nano = end;
    s
}

fn with(mut s: Span, attrs: &[(&str, &str)]) -> Span {
    s.attributes = attrs.iter().map(|(k, v)| KeyValue::new(k, *v)).collect();
    s
}

fn failed(mut s: Span, error_type: &str) -> Span {
    s.status.code = StatusCode::Error;
    s.status.message = "429 Too Many Requests (request id 8f3a2b)".into();
    s.attributes.0.push(KeyValue::new("error.type", error_type));
    s
}

fn shape_with(spans: Vec<Span>, options: &ShapeOptions) -> String {
    let tree = SpanTree::build(spans.into_iter().map(Arc::new));
    Shape::of(&GenAiView::new(&tree), options).into_string()
}

fn shape(spans: Vec<Span>) -> String {
    shape_with(spans, &ShapeOptions::default())
}

fn tool(id: u64, parent: u64, name: &str, start: u64, end: u64) -> Span {
    with(
        span(
            id,
            Some(parent),
            &format!("execute_tool {name}"),
            start,
            end,
        ),
        &[
            ("gen_ai.operation.name", "execute_tool"),
            ("gen_ai.tool.name", name),
            ("gen_ai.tool.call.id", &format!("call_{id}")),
        ],
    )
}

fn chat(id: u64, parent: u64, start: u64, end: u64) -> Span {
    with(
        span(id, Some(parent), "chat gpt-4o", start, end),
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.provider.name", "openai"),
            ("gen_ai.request.model", "gpt-4o"),
            ("gen_ai.response.model", "gpt-4o-2024-08-06"),
            ("gen_ai.usage.input_tokens", "120"),
        ],
    )
}

fn agent(end: u64) -> Span {
    with(
        span(0, None, "invoke_agent planner", 0, end),
        &[("gen_ai.operation.name", "invoke_agent")],
    )
}

#[test]
fn lines_show_kind_and_the_allowed_attributes_only() {
    let text = shape(vec![
        agent(100),
        chat(1, 0, 1, 10),
        tool(2, 0, "search", 11, 20),
        chat(3, 0, 21, 30),
    ]);
    assert_eq!(
        text,
        "invoke_agent planner [agent] operation=invoke_agent\n\
         \x20 chat gpt-4o [llm] operation=chat model=gpt-4o provider=openai\n\
         \x20 execute_tool search [tool] operation=execute_tool tool=search\n\
         \x20 chat gpt-4o [llm] operation=chat model=gpt-4o provider=openai\n"
    );
}

#[test]
fn configured_attributes_replace_the_default_list() {
    let options = ShapeOptions {
        attrs: ["agent", "gen_ai.tool.call.id", "model", "missing"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
        ..ShapeOptions::default()
    };
    let text = shape_with(
        vec![agent(100), chat(1, 0, 1, 10), tool(2, 0, "search", 11, 20)],
        &options,
    );
    assert_eq!(
        text,
        "invoke_agent planner [agent] agent=planner\n\
         \x20 chat gpt-4o [llm] model=gpt-4o\n\
         \x20 execute_tool search [tool] gen_ai.tool.call.id=call_2\n"
    );
}

#[test]
fn concurrent_siblings_are_ordered_by_content_and_sequential_ones_by_time() {
    // search starts first in one run, fetch in the other; they overlap both times.
    let run = |search_start: u64, fetch_start: u64| {
        shape(vec![
            agent(100),
            chat(1, 0, 1, 10),
            tool(2, 0, "search", search_start, search_start + 20),
            tool(3, 0, "fetch", fetch_start, fetch_start + 20),
            chat(4, 0, 60, 70),
        ])
    };
    let a = run(11, 12);
    assert_eq!(a, run(12, 11));
    assert!(
        a.find("fetch").unwrap() < a.find("search").unwrap(),
        "alphabetical within a concurrent group:\n{a}"
    );
    // One after the other: start order, whatever the names.
    let sequential = |first: &str, second: &str| {
        shape(vec![
            agent(100),
            tool(1, 0, first, 1, 10),
            tool(2, 0, second, 10, 20),
        ])
    };
    let s = sequential("search", "fetch");
    assert!(s.find("search").unwrap() < s.find("fetch").unwrap(), "{s}");
    let s = sequential("fetch", "search");
    assert!(s.find("fetch").unwrap() < s.find("search").unwrap(), "{s}");
}

#[test]
fn identical_concurrent_siblings_with_different_children_order_by_subtree() {
    // Two parallel sub-agents of the same name; which starts first must not matter.
    let run = |a: u64, b: u64| {
        let mut spans = vec![agent(100)];
        spans.push(span(1, Some(0), "invoke_agent worker", a, a + 30));
        spans.push(tool(2, 1, "search", a + 1, a + 2));
        spans.push(span(3, Some(0), "invoke_agent worker", b, b + 30));
        spans.push(tool(4, 3, "fetch", b + 1, b + 2));
        shape(spans)
    };
    assert_eq!(run(10, 11), run(11, 10));
}

#[test]
fn repeats_collapse_into_one_line_with_a_count() {
    let spans = || {
        vec![
            agent(100),
            chat(1, 0, 1, 10),
            tool(2, 0, "get_weather", 11, 20),
            tool(3, 0, "get_weather", 12, 21),
            tool(4, 0, "get_weather", 13, 22),
            chat(5, 0, 30, 40),
            tool(6, 0, "get_weather", 41, 50),
        ]
    };
    let options = ShapeOptions {
        attrs: vec![ShapeAttr::Tool],
        collapse_repeats: true,
        ..ShapeOptions::default()
    };
    assert_eq!(
        shape_with(spans(), &options),
        "invoke_agent planner [agent]\n\
         \x20 chat gpt-4o [llm]\n\
         \x20 execute_tool get_weather [tool] tool=get_weather ×3\n\
         \x20 chat gpt-4o [llm]\n\
         \x20 execute_tool get_weather [tool] tool=get_weather\n"
    );
    // Without the option every call has its line.
    let plain = shape_with(
        spans(),
        &ShapeOptions {
            collapse_repeats: false,
            ..options
        },
    );
    assert_eq!(plain.matches("get_weather [tool]").count(), 4, "{plain}");
}

#[test]
fn repeats_with_different_subtrees_do_not_collapse() {
    let options = ShapeOptions {
        attrs: Vec::new(),
        collapse_repeats: true,
        ..ShapeOptions::default()
    };
    let text = shape_with(
        vec![
            agent(100),
            span(1, Some(0), "step.a", 1, 10),
            span(2, Some(1), "step.x", 2, 3),
            span(3, Some(0), "step.a", 11, 20),
            span(4, Some(3), "step.y", 12, 13),
        ],
        &options,
    );
    assert_eq!(
        text,
        "invoke_agent planner [agent]\n  step.a [step]\n    step.x [step]\n  step.a [step]\n    step.y [step]\n"
    );
}

#[test]
fn ignored_spans_are_left_out_and_their_children_lifted() {
    let spans = || {
        vec![
            agent(100),
            span(1, Some(0), "HTTP POST", 1, 20),
            chat(2, 1, 2, 19),
            tool(3, 0, "search", 21, 30),
            span(4, Some(0), "HTTP GET", 31, 40),
            span(5, Some(4), "dns lookup", 32, 33),
        ]
    };
    let options = |selectors: &[&str]| ShapeOptions {
        attrs: vec![],
        ignore: selectors
            .iter()
            .map(|s| Selector::parse(s).unwrap())
            .collect(),
        ..ShapeOptions::default()
    };
    assert_eq!(
        shape_with(spans(), &options(&[r#"span[name~="^HTTP"]"#])),
        "invoke_agent planner [agent]\n\
         \x20 chat gpt-4o [llm]\n\
         \x20 execute_tool search [tool]\n\
         \x20 dns lookup [other]\n"
    );
    // A subtree goes when its descendants are selected too.
    assert_eq!(
        shape_with(
            spans(),
            &options(&[r#"span[name="HTTP GET"], span[name="HTTP GET"] span"#])
        ),
        "invoke_agent planner [agent]\n\
         \x20 HTTP POST [other]\n\
         \x20   chat gpt-4o [llm]\n\
         \x20 execute_tool search [tool]\n"
    );
    // An ignored root lifts its children to the top level.
    assert_eq!(
        shape_with(spans(), &options(&["agent"])).lines().next(),
        Some("HTTP POST [other]")
    );
}

#[test]
fn retries_are_folded_unless_kept() {
    let spans = || {
        vec![
            agent(100),
            // Attempts nested in the call.
            chat(1, 0, 1, 20),
            failed(span(2, Some(1), "llm.retry_attempt", 1, 5), "429"),
            span(3, Some(1), "llm.retry_attempt", 6, 19),
            // Each attempt its own span: the failed one, then the retry.
            failed(chat(4, 0, 21, 25), "rate_limit"),
            chat(5, 0, 26, 30),
        ]
    };
    let attrs = vec![ShapeAttr::Error];
    let folded = shape_with(
        spans(),
        &ShapeOptions {
            attrs: attrs.clone(),
            ..ShapeOptions::default()
        },
    );
    assert_eq!(
        folded,
        "invoke_agent planner [agent]\n  chat gpt-4o [llm]\n  chat gpt-4o [llm]\n"
    );
    // The same agent on a day without rate limits has the same shape.
    let calm = shape_with(
        vec![agent(100), chat(1, 0, 1, 20), chat(5, 0, 26, 30)],
        &ShapeOptions {
            attrs: attrs.clone(),
            ..ShapeOptions::default()
        },
    );
    assert_eq!(folded, calm);
    let kept = shape_with(
        spans(),
        &ShapeOptions {
            attrs,
            keep_retries: true,
            ..ShapeOptions::default()
        },
    );
    assert_eq!(
        kept,
        "invoke_agent planner [agent]\n\
         \x20 chat gpt-4o [llm]\n\
         \x20   llm.retry_attempt [retry] error=429\n\
         \x20   llm.retry_attempt [retry]\n\
         \x20 chat gpt-4o [llm] error=rate_limit\n\
         \x20 chat gpt-4o [llm]\n"
    );
    // A call that failed for good stays, with its error type.
    let last = shape_with(
        vec![agent(100), failed(chat(1, 0, 1, 5), "timeout")],
        &ShapeOptions {
            attrs: vec![ShapeAttr::Error],
            ..ShapeOptions::default()
        },
    );
    assert_eq!(
        last,
        "invoke_agent planner [agent]\n  chat gpt-4o [llm] error=timeout\n"
    );
}

#[test]
fn names_and_values_are_normalised_quoted_and_escaped() {
    let mut weird = span(2, Some(0), "GET /users/123\u{1b}[2J", 11, 20);
    weird.attributes = [
        KeyValue::new("http.route", "/users/{id}"),
        KeyValue::new("request.id", "3f2a9c1e-7b4d-4e8a-9c1f-2a3b4c5d6e7f"),
        KeyValue::new("note", "two words"),
        KeyValue::new("empty", ""),
        KeyValue::new("quote", "a\"b"),
        KeyValue::new("bidi", "x\u{202e}y"),
    ]
    .into_iter()
    .collect();
    let options = ShapeOptions {
        attrs: ["http.route", "request.id", "note", "empty", "quote", "bidi"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect(),
        ..ShapeOptions::default()
    };
    let text = shape_with(vec![agent(100), weird], &options);
    assert_eq!(
        text.lines().nth(1).unwrap(),
        r#"  GET /users/<n>\u{1b}[2J [other] http.route=/users/{id} request.id=<uuid> note="two words" empty="" quote="a\"b" bidi=x\u{202e}y"#
    );
    assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
}

#[test]
fn orphans_are_marked_and_empty_trees_have_no_lines() {
    let lost = span(5, Some(42), "execute_tool search", 300, 400);
    let text = shape_with(
        vec![agent(100), lost],
        &ShapeOptions {
            attrs: vec![],
            ..ShapeOptions::default()
        },
    );
    assert_eq!(
        text,
        "invoke_agent planner [agent]\nexecute_tool search [tool] (orphan)\n"
    );
    let empty = SpanTree::build(Vec::<Arc<Span>>::new());
    let shape = Shape::of(&GenAiView::new(&empty), &ShapeOptions::default());
    assert!(shape.is_empty());
    assert_eq!(shape.as_str(), "");
}

#[test]
fn very_deep_traces_render_without_recursion_and_with_capped_indentation() {
    let n = 50_000u64;
    let spans: Vec<Span> = (0..n)
        .map(|i| span(i, i.checked_sub(1), "step.s", i, 2 * n - i))
        .collect();
    let text = shape(spans);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), n as usize);
    assert!(
        lines
            .last()
            .unwrap()
            .contains(&format!("[depth {}]", n - 1))
    );
    let widest = lines.iter().map(|l| l.chars().count()).max().unwrap();
    assert!(widest < 200, "indentation is capped, widest line {widest}");
}

/// One step of a generated agent: a span alone, or a group of spans that run at once.
#[derive(Debug, Clone)]
enum Step {
    One(u8, bool),
    Parallel(Vec<(u8, bool)>),
}

const NAMES: [&str; 4] = [
    "execute_tool search",
    "execute_tool fetch",
    "chat gpt-4o",
    "step.plan",
];

fn step() -> impl Strategy<Value = Step> {
    let member = (0..NAMES.len() as u8, any::<bool>());
    prop_oneof![
        member.clone().prop_map(|(n, c)| Step::One(n, c)),
        prop::collection::vec(member, 2..5).prop_map(Step::Parallel),
    ]
}

/// The spans of `steps` under one agent root: step i occupies [i·1000, i·1000 + 900]; the
/// members of a parallel step start within its first 100 ns and end after 500, so they all
/// overlap whatever the jitter; a member with a child has one `step.child` inside it.
/// Span ids come from `ids`, times move by `jitter`, and the list is rotated by `rotate`.
fn build(steps: &[Step], jitter: &[u64], ids: u64, rotate: usize) -> Vec<Span> {
    let mut spans = vec![span(ids, None, "invoke_agent planner", 0, 1_000_000)];
    let mut next = ids + 1;
    let mut j = jitter.iter().cycle();
    for (i, step) in steps.iter().enumerate() {
        let base = i as u64 * 1000;
        let members = match step {
            Step::One(n, c) => vec![(*n, *c)],
            Step::Parallel(m) => m.clone(),
        };
        for (name, child) in members {
            let start = base + j.next().unwrap() % 100;
            let end = base + 500 + j.next().unwrap() % 300;
            let id = next;
            next += 1;
            spans.push(span(id, Some(ids), NAMES[name as usize], start, end));
            if child {
                let at = start + 1 + j.next().unwrap() % 50;
                spans.push(span(next, Some(id), "step.child", at, at + 10));
                next += 1;
            }
        }
    }
    let len = spans.len();
    spans.rotate_left(rotate % len);
    spans
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn shapes_do_not_depend_on_arrival_order_ids_or_jitter_among_concurrent_siblings(
        steps in prop::collection::vec(step(), 1..8),
        jitter_a in prop::collection::vec(0u64..1000, 1..64),
        jitter_b in prop::collection::vec(0u64..1000, 1..64),
        rotate in 0usize..64,
        reverse in any::<bool>(),
        collapse in any::<bool>(),
    ) {
        let options = ShapeOptions { collapse_repeats: collapse, ..ShapeOptions::default() };
        let a = shape_with(build(&steps, &jitter_a, 0, 0), &options);
        let mut other = build(&steps, &jitter_b, 10_000, rotate);
        if reverse {
            other.reverse();
        }
        let b = shape_with(other, &options);
        prop_assert_eq!(&a, &b);
        // Every step's spans are there (or collapsed into a counted line).
        let spans: usize = steps.iter().map(|s| match s {
            Step::One(_, c) => 1 + usize::from(*c),
            Step::Parallel(m) => m.iter().map(|(_, c)| 1 + usize::from(*c)).sum(),
        }).sum();
        if !collapse {
            prop_assert_eq!(a.lines().count(), spans + 1);
        }
    }
}

#[test]
fn a_failed_call_that_overlapped_another_is_not_a_retry_whichever_started_first() {
    // Two concurrent calls, `1` always failing: both orders of their starts give one shape,
    // with both calls in it.
    let attrs = ShapeOptions {
        attrs: vec![ShapeAttr::Error],
        ..ShapeOptions::default()
    };
    let failing_first = shape_with(
        vec![
            agent(100),
            failed(chat(1, 0, 1, 20), "boom"),
            chat(2, 0, 2, 21),
        ],
        &attrs,
    );
    let failing_second = shape_with(
        vec![
            agent(100),
            chat(2, 0, 1, 21),
            failed(chat(1, 0, 2, 20), "boom"),
        ],
        &attrs,
    );
    assert_eq!(failing_first, failing_second);
    assert_eq!(
        failing_first.matches("chat gpt-4o [llm]").count(),
        2,
        "{failing_first}"
    );
}
