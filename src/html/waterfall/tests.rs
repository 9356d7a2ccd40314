use std::sync::Arc;

use super::*;
use crate::html::Budget;
use crate::trace::{KeyValue, Span, SpanTree, StatusCode, TraceId, Value};

/// A time far from zero, so spans can start before the trial.
const BASE: u64 = 1_000_000_000_000;
const MS: i64 = 1_000_000;

/// A span of trace `trace` with id `id`, under `parent`, from `start` to `end` ms after BASE.
fn span(trace: u8, id: u8, parent: Option<u8>, start: i64, end: i64, name: &str) -> Span {
    let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), name);
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    s.start_time_unix_nano = (BASE as i64 + start * MS) as u64;
    s.end_time_unix_nano = (BASE as i64 + end * MS) as u64;
    s
}

fn with_attrs(mut s: Span, attrs: &[(&str, Value)]) -> Span {
    s.attributes = attrs
        .iter()
        .map(|(k, v)| KeyValue::new(k, v.clone()))
        .collect();
    s
}

/// The waterfall of the trial rooted at `root`, with `others` as its spans.
fn render(root: Span, others: Vec<Span>, marked: &[SpanId], budget: &mut Budget) -> String {
    let root = Arc::new(root);
    let (tree, root_id) = SpanTree::build_trial(&root, others.into_iter().map(Arc::new));
    let view = GenAiView::new(&tree);
    let mut out = String::new();
    write(&mut out, &view, root_id, marked, budget);
    out
}

fn trial_root(end: i64) -> Span {
    span(1, 1, None, 0, end, "eval.trial")
}

/// The `<details>` row of the span named `name`.
fn row<'a>(html: &'a str, name: &str) -> &'a str {
    let label = format!("<span class=\"name\">{name}</span>");
    let at = html
        .find(&label)
        .unwrap_or_else(|| panic!("no row {name} in {html}"));
    let start = html[..at].rfind("<details").expect("a row starts");
    let end = at + html[at..].find("</details>").expect("a row ends");
    &html[start..end]
}

#[test]
fn bars_sit_on_the_trials_axis() {
    let ms = 1_000_000;
    let cases = [
        // (start, end, left, width, clamped)
        (25, 75, 25.0, 50.0, false),
        (0, 100, 0.0, 100.0, false),
        (90, 90, 90.0, 0.0, false),
        (50, 40, 50.0, 0.0, false),
        (0, 150, 0.0, 100.0, true),
        (120, 130, 100.0, 0.0, true),
    ];
    for (start, end, left, width, clamped) in cases {
        let got = bar(BASE + start * ms, BASE + end * ms, BASE, BASE + 100 * ms);
        let want = Bar {
            left_pct: left,
            width_pct: width,
            clamped,
        };
        assert_eq!(got, want, "{start}..{end}");
    }
    let before = bar(BASE - 5 * ms, BASE + 10 * ms, BASE, BASE + 100 * ms);
    assert_eq!((before.left_pct, before.width_pct), (0.0, 10.0));
    assert!(before.clamped);
    let empty_axis = bar(BASE, BASE, BASE, BASE);
    assert_eq!((empty_axis.left_pct, empty_axis.width_pct), (0.0, 0.0));
}

#[test]
fn percentages_have_fixed_precision() {
    let cases = [
        (25.0, "25"),
        (12.5, "12.5"),
        (100.0 / 3.0, "33.333"),
        (0.00001, "0"),
        (99.9996, "100"),
        (-0.0, "0"),
    ];
    for (pct, want) in cases {
        let mut out = String::new();
        write_pct(&mut out, pct);
        assert_eq!(out, want, "{pct}");
    }
}

#[test]
fn ruler_steps_are_round() {
    let cases = [
        (100_000_000, 20_000_000),
        (3_000_000, 500_000),
        (12_000_000_000, 2_000_000_000),
        (0, 1_000),
        (500, 1_000),
        (u64::MAX, 5_000_000_000_000_000_000),
    ];
    for (axis, step) in cases {
        assert_eq!(tick_step(axis), step, "{axis}");
    }
    let mut out = String::new();
    write_ruler(&mut out, BASE, BASE + 100_000_000);
    assert!(out.contains("<span class=\"tick\" style=\"left:0%\">0µs</span>"));
    assert!(out.contains("<span class=\"tick\" style=\"left:40%\">40.0ms</span>"));
    assert!(out.contains("<span class=\"tick\" style=\"left:100%\">100.0ms</span>"));
    assert_eq!(out.matches("class=\"tick\"").count(), 6);
}

#[test]
fn geometry_of_the_acceptance_trace() {
    let html = render(
        trial_root(100),
        vec![
            span(1, 2, Some(1), 25, 75, "child"),
            span(1, 3, Some(1), 90, 90, "instant"),
            span(1, 4, Some(1), -5, 10, "before"),
        ],
        &[],
        &mut Budget::default(),
    );
    assert!(row(&html, "child").contains("style=\"left:25%;width:50%\""));
    assert!(row(&html, "instant").contains("<span class=\"bar\" style=\"left:90%;width:0%\">"));
    assert!(CSS.contains(".wf .bar{") && CSS.contains("min-width:1px"));
    let before = row(&html, "before");
    assert!(before.contains("style=\"left:0%;width:10%\""));
    assert!(before.starts_with("<details class=\"span k-other clamped early\""));
    assert!(before.contains(">⚠ clamped</span>"));
    assert!(!row(&html, "child").contains("⚠"));
    assert!(row(&html, "eval.trial").contains("left:0%;width:100%"));
}

#[test]
fn a_child_before_its_parent_inside_the_trial_is_flagged() {
    let html = render(
        trial_root(100),
        vec![
            span(1, 2, Some(1), 25, 75, "parent"),
            span(1, 3, Some(2), 20, 30, "skewed"),
        ],
        &[],
        &mut Budget::default(),
    );
    let skewed = row(&html, "skewed");
    assert!(skewed.contains("class=\"span k-other early\""));
    assert!(skewed.contains(">⚠ starts early</span>"));
    assert!(skewed.contains("left:20%;width:10%"));
}

#[test]
fn a_root_without_duration_uses_the_spans_extent() {
    let html = render(
        trial_root(0),
        vec![span(1, 2, Some(1), 10, 50, "child")],
        &[],
        &mut Budget::default(),
    );
    assert!(row(&html, "child").contains("left:20%;width:80%"));
}

#[test]
fn rows_follow_tree_order_and_are_indented_by_depth() {
    let html = render(
        trial_root(100),
        vec![
            span(1, 2, Some(1), 10, 50, "a"),
            span(1, 3, Some(1), 20, 60, "b"),
            span(1, 4, Some(2), 30, 40, "a1"),
        ],
        &[],
        &mut Budget::default(),
    );
    let at = |name: &str| html.find(&format!(">{name}</span>")).unwrap();
    assert!(at("eval.trial") < at("a") && at("a") < at("a1") && at("a1") < at("b"));
    assert!(row(&html, "a1").contains("style=\"--d:2\""));
    assert!(row(&html, "b").contains("style=\"--d:1\""));
    assert_eq!(html.matches("<details class=\"span").count(), 4);
}

#[test]
fn hostile_names_are_text() {
    let hostile = "</summary><script>alert(1)</script>\"><img src=x onerror=alert(1)>\u{202E}";
    let html = render(
        trial_root(100),
        vec![span(1, 2, Some(1), 10, 20, hostile)],
        &[],
        &mut Budget::default(),
    );
    assert!(!html.contains("<script") && !html.contains("<img") && !html.contains('\u{202E}'));
    assert!(html.contains(
        "&lt;/summary&gt;&lt;script&gt;alert(1)&lt;/script&gt;\"&gt;&lt;img src=x \
         onerror=alert(1)&gt;\\u{202E}"
    ));
}

#[test]
fn marked_spans_carry_the_terminal_marker() {
    let html = render(
        trial_root(100),
        vec![
            span(1, 2, Some(1), 10, 20, "offending"),
            span(1, 3, Some(1), 30, 40, "fine"),
        ],
        &[SpanId([2; 8])],
        &mut Budget::default(),
    );
    let offending = row(&html, "offending");
    assert!(offending.contains("class=\"span k-other marked\""));
    assert!(offending.contains("<span class=\"lbl\"><span class=\"mark\">&gt;&gt;</span> "));
    assert!(!row(&html, "fine").contains("&gt;&gt;"));
}

#[test]
fn labels_show_kind_model_tokens_tool_and_errors() {
    let llm = with_attrs(
        span(1, 2, Some(1), 10, 20, "chat gpt-4o"),
        &[
            ("gen_ai.operation.name", Value::from("chat")),
            ("gen_ai.request.model", Value::from("gpt-4o")),
            ("gen_ai.usage.input_tokens", Value::Int(120)),
            ("gen_ai.usage.output_tokens", Value::Int(35)),
        ],
    );
    let long = "x".repeat(200);
    let mut tool = with_attrs(
        span(1, 3, Some(1), 30, 40, "execute_tool search"),
        &[
            ("gen_ai.operation.name", Value::from("execute_tool")),
            (
                "gen_ai.tool.call.arguments",
                Value::from(format!(r#"{{"q":"<b>","long":"{long}"}}"#)),
            ),
        ],
    );
    tool.status.code = StatusCode::Error;
    tool.status.message = "boom \"quoted\"".into();
    let html = render(
        trial_root(100),
        vec![llm, tool],
        &[],
        &mut Budget::default(),
    );
    let llm = row(&html, "chat gpt-4o");
    assert!(llm.starts_with("<details class=\"span k-llm\""));
    assert!(llm.contains("<span class=\"sym\" title=\"llm\">◆</span>"));
    assert!(llm.contains("<span class=\"dur\">10.0ms</span>"));
    assert!(llm.contains("<span class=\"meta\">gpt-4o · 120→35 tok</span>"));
    let tool = row(&html, "execute_tool search");
    assert!(tool.starts_with("<details class=\"span k-tool err\""));
    assert!(tool.contains("<span class=\"sym\" title=\"tool\">⚙</span>"));
    let args = format!(
        "<span class=\"meta\">search <span class=\"args\">{}…</span></span>",
        esc(&format!(r#"{{"long":"{}"#, &long[..71]))
    );
    assert!(tool.contains(&args), "{tool}");
    assert!(tool.contains(
        "<span class=\"badge err-label\" title=\"boom &quot;quoted&quot;\">error</span>"
    ));
}

#[test]
fn linked_traces_are_badged_where_they_join() {
    let html = render(
        trial_root(100),
        vec![
            span(1, 2, Some(1), 5, 95, "traceval"),
            span(7, 3, None, 10, 90, "agent root"),
            span(7, 4, Some(3), 20, 30, "agent child"),
        ],
        &[],
        &mut Budget::default(),
    );
    let badge = "<span class=\"badge linked\" title=\"trace 07070707070707070707070707070707\">\
                 linked trace</span>";
    assert!(row(&html, "agent root").contains(badge), "{html}");
    assert!(!row(&html, "agent child").contains("linked trace"));
    assert!(!row(&html, "traceval").contains("linked trace"));
}

#[test]
fn spans_beyond_the_budget_are_counted_not_drawn() {
    let children = (2..=6)
        .map(|i| span(1, i, Some(1), i as i64, i as i64 + 1, "child"))
        .collect();
    let mut budget = Budget {
        max_spans: 2,
        ..Budget::default()
    };
    budget.spans_left_out = 1;
    let html = render(trial_root(100), children, &[], &mut budget);
    assert_eq!(html.matches("<details").count(), 2);
    assert_eq!(budget.spans_left_out, 5);
    assert!(
        html.contains(
            "<p class=\"left-out\">4 more spans not drawn: at most 2 per trial</p></div>"
        )
    );
}

#[test]
fn the_same_trace_renders_the_same_bytes() {
    let spans = || {
        vec![
            span(1, 2, Some(1), 10, 50, "a"),
            span(7, 3, None, 20, 33, "b"),
        ]
    };
    let one = render(trial_root(100), spans(), &[], &mut Budget::default());
    let two = render(trial_root(100), spans(), &[], &mut Budget::default());
    assert_eq!(one, two);
    assert!(row(&one, "b").contains("left:20%;width:13%"));
}
