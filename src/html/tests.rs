use std::sync::Arc;

use base64::Engine;

use super::*;
use crate::report::markdown::tests::{report, trial};
use crate::trace::{Span, SpanId, TraceId};

/// Two cases on two models: one passes everywhere, one fails on `sloppy` in one of two trials.
fn two_cases() -> Report {
    report(vec![
        trial("s", "ok", "careful", 0, true, "found paris"),
        trial("s", "ok", "careful", 1, true, "found paris"),
        trial("s", "ok", "sloppy", 0, true, "found paris"),
        trial("s", "ok", "sloppy", 1, true, "found paris"),
        trial("s", "bad", "careful", 0, true, "found oslo"),
        trial("s", "bad", "careful", 1, true, "found oslo"),
        trial(
            "s",
            "bad",
            "sloppy",
            0,
            false,
            "expected `oslo`, got `bergen`",
        ),
        trial("s", "bad", "sloppy", 1, true, "found oslo"),
    ])
}

/// The page without its style sheet and script, which have their own tests.
fn without_assets(page: &str) -> String {
    let cut = |page: &str, open: &str, close: &str| {
        let start = page.find(open).unwrap() + open.len();
        let end = start + page[start..].find(close).unwrap();
        format!("{}…{}", &page[..start], &page[end..])
    };
    cut(&cut(page, "<style>", "</style>"), "<script>", "</script>")
}

#[test]
fn a_two_case_page() {
    let page = render(&two_cases(), &Drawn::default(), &mut Budget::default());
    insta::assert_snapshot!(without_assets(&page));
}

#[test]
fn one_report_renders_to_the_same_bytes() {
    let report = two_cases();
    let a = render(&report, &Drawn::default(), &mut Budget::default());
    let b = render(&report, &Drawn::default(), &mut Budget::default());
    assert_eq!(a, b);
}

#[test]
fn the_policy_allows_exactly_the_page_script_by_its_hash() {
    let page = render(&two_cases(), &Drawn::default(), &mut Budget::default());
    assert_eq!(page.matches("<script").count(), 1);
    let start = page.find("<script>").unwrap() + "<script>".len();
    let script = &page[start..start + page[start..].find("</script>").unwrap()];
    let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());
    let policy = page
        .split("content=\"")
        .find(|p| p.starts_with("default-src"))
        .and_then(|p| p.split('"').next())
        .unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(
        policy.contains(&format!("script-src 'sha256-{hash}';")),
        "{policy}"
    );
    // Nothing is loaded from anywhere.
    for needle in ["http:", "https:", "//", "@import"] {
        for attr in ["src=\"", "href=\""] {
            assert!(!page.contains(&format!("{attr}{needle}")), "{attr}{needle}");
        }
    }
    assert!(!page.contains("url("));
}

#[test]
fn what_a_report_says_is_text_on_the_page() {
    let hostile = "</script><script>document.body.dataset.pwned=1</script>\"><img src=x onerror=\"x\">\u{202E}";
    let mut t = trial("s", hostile, hostile, 0, false, hostile);
    t.output = hostile.to_owned();
    t.stderr_tail = hostile.to_owned();
    let mut r = report(vec![t]);
    r.command = vec![hostile.to_owned()];
    let page = render(&r, &Drawn::default(), &mut Budget::default());
    assert_eq!(page.matches("<script").count(), 1);
    // Quotes in text are inert: no element was made, so no handler attribute exists.
    assert!(!page.contains("<img"));
    assert!(!page.contains('\u{202E}'));
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned=1"));
}

#[test]
fn long_values_are_clipped_and_the_page_says_so() {
    let mut t = trial("s", "c", "m", 0, false, "no");
    t.output = "x".repeat(200_000);
    let mut budget = Budget::default();
    let page = render(&report(vec![t]), &Drawn::default(), &mut budget);
    assert_eq!(budget.clipped_values, 1);
    assert!(page.contains(&format!("… {} bytes more", 200_000 - (64 << 10))));
    assert!(page.contains("1 values are longer than 65536 bytes"));
    assert!(page.len() < 100_000);
}

/// `t` as the runner reports it, with a trial root span.
fn with_trace(t: &crate::report::schema::TrialResult) -> crate::event::TrialResult {
    let mut e = crate::event::TrialResult::from(t.clone());
    let mut root = Span::new(
        TraceId([t.trial as u8 + 1; 16]),
        SpanId([1; 8]),
        "eval.trial",
    );
    root.end_time_unix_nano = 1_000;
    e.trace = Some(Arc::new(TrialTrace {
        root: Arc::new(root),
        spans: Vec::new(),
        judge_spans: Vec::new(),
        offending: Vec::new(),
        last_llm: None,
        input: String::new(),
        conventions: Default::default(),
    }));
    e
}

fn drawn_by(selection: TraceSelection, report: &Report) -> Vec<(String, String, u32)> {
    let mut collector = Collector::new(selection);
    for t in &report.trials {
        collector.trial(&with_trace(t));
    }
    collector.report_finished(report);
    let drawn = collector.finish();
    assert_eq!(drawn.shapes.len(), 2, "every trial's shape is folded");
    drawn
        .trials
        .keys()
        .map(|(_, case, model, trial)| (case.clone(), model.clone(), *trial))
        .collect()
}

#[test]
fn the_selection_decides_whose_spans_are_drawn() {
    let report = two_cases();
    let t = |case: &str, model: &str, trial| (case.to_owned(), model.to_owned(), trial);
    // Failing trials, and the first passing trial of each case × model.
    assert_eq!(
        drawn_by(TraceSelection::Failing, &report),
        vec![
            t("bad", "careful", 0),
            t("bad", "sloppy", 0),
            t("bad", "sloppy", 1),
            t("ok", "careful", 0),
            t("ok", "sloppy", 0),
        ]
    );
    // Every trial of a case × model whose trials disagree.
    assert_eq!(
        drawn_by(TraceSelection::Flaky, &report),
        vec![t("bad", "sloppy", 0), t("bad", "sloppy", 1)]
    );
    assert_eq!(drawn_by(TraceSelection::All, &report).len(), 8);
    assert!(drawn_by(TraceSelection::None, &report).is_empty());
}

/// A span of trial trace 1 from `start` to `end` ms after the root's start.
fn child(id: u8, parent: u8, start: u64, end: u64, name: &str, attrs: &[(&str, &str)]) -> Span {
    let mut span = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
    span.parent_span_id = Some(SpanId([parent; 8]));
    span.start_time_unix_nano = start * 1_000_000;
    span.end_time_unix_nano = end * 1_000_000;
    span.attributes = attrs
        .iter()
        .map(|(k, v)| crate::trace::span::KeyValue::new(k, *v))
        .collect();
    span
}

/// The failing trial of [`two_cases`] with an agent that chats, calls a tool that fails, and
/// answers: what its waterfall, span panels and shape fold look like.
#[test]
fn a_drawn_trial() {
    let report = two_cases();
    let mut collector = Collector::new(TraceSelection::Flaky);
    for t in &report.trials {
        let mut e = with_trace(t);
        if t.case == "bad" && t.model == "sloppy" && t.trial == 0 {
            let mut root = Span::new(TraceId([1; 16]), SpanId([1; 8]), "eval.trial");
            root.end_time_unix_nano = 100_000_000;
            let mut tool = child(
                4,
                2,
                40,
                60,
                "execute_tool lookup",
                &[
                    ("gen_ai.operation.name", "execute_tool"),
                    ("gen_ai.tool.name", "lookup"),
                    ("gen_ai.tool.call.arguments", "{\"city\":\"Oslo\"}"),
                ],
            );
            tool.status.code = crate::trace::span::StatusCode::Error;
            tool.status.message = "timeout".into();
            let trace = TrialTrace {
                root: Arc::new(root),
                spans: vec![
                    Arc::new(child(
                        2,
                        1,
                        0,
                        100,
                        "invoke_agent city",
                        &[("gen_ai.operation.name", "invoke_agent")],
                    )),
                    Arc::new(child(
                        3,
                        2,
                        25,
                        40,
                        "chat sloppy",
                        &[
                            ("gen_ai.operation.name", "chat"),
                            ("gen_ai.request.model", "sloppy"),
                            (
                                "gen_ai.input.messages",
                                r#"[{"role":"user","parts":[{"type":"text","content":"Capital of Norway?"}]}]"#,
                            ),
                            (
                                "gen_ai.output.messages",
                                r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"lookup","arguments":{"city":"Oslo"}}],"finish_reason":"tool_calls"}]"#,
                            ),
                        ],
                    )),
                    Arc::new(tool),
                ],
                judge_spans: Vec::new(),
                offending: vec![(0, SpanId([4; 8]))],
                last_llm: Some(SpanId([3; 8])),
                input: "Capital of Norway?".into(),
                conventions: Default::default(),
            };
            e.trace = Some(Arc::new(trace));
        }
        collector.trial(&e);
    }
    collector.report_finished(&report);
    let page = render(&report, &collector.finish(), &mut Budget::default());
    let start = page.find("<section class=\"case-sec\"><h3>s::bad").unwrap();
    let end = start + page[start..].find("</section>\n").unwrap();
    let section = &page[start..end];
    // The tool's bar is where its times say, on the root's axis.
    assert!(section.contains("left:40%;width:20%"), "{section}");
    insta::assert_snapshot!(section);
}

#[test]
fn when_the_page_is_full_failing_trials_keep_their_waterfalls() {
    let report = two_cases();
    // Each root carries 2 KB in an attribute: its panel is most of its waterfall.
    let big = |t: &crate::report::schema::TrialResult| {
        let mut e = with_trace(t);
        let trace = e.trace.as_mut().unwrap();
        let mut root = (*trace.root).clone();
        root.attributes = [crate::trace::span::KeyValue::new("big", "x".repeat(2048))]
            .into_iter()
            .collect();
        Arc::make_mut(trace).root = Arc::new(root);
        e
    };
    let mut collector = Collector::new(TraceSelection::Failing);
    for t in &report.trials {
        collector.trial(&big(t));
    }
    let drawn = collector.finish();
    assert_eq!(
        drawn.trials.len(),
        5,
        "the failing trial and four passing examples"
    );
    // The same page with the shapes but no waterfalls.
    let mut shapes_only = Collector::new(TraceSelection::None);
    for t in &report.trials {
        shapes_only.trial(&big(t));
    }
    let bare = render(&report, &shapes_only.finish(), &mut Budget::default()).len();
    let all = render(&report, &drawn, &mut Budget::default()).len();
    // One byte short of every waterfall in full: all five get their rows, and the last
    // panels drawn, a passing example's, do not fit. Failing trials come first.
    let mut budget = Budget {
        max_page: all - 1 + NOTE_ROOM,
        ..Budget::default()
    };
    let page = render(&report, &drawn, &mut budget);
    assert!(
        page.len() <= budget.max_page,
        "{} > {}",
        page.len(),
        budget.max_page
    );
    assert_eq!((budget.panels_left_out, budget.waterfalls_left_out), (1, 0));
    assert_eq!(page.matches("<div class=\"wf\">").count(), 5);
    assert_eq!(page.matches("<div class=\"panel").count(), 4);
    let failing = page.find("○ fail</span> trial 0").unwrap();
    let next_trial = failing + page[failing..].find("<details class=\"trial").unwrap();
    assert!(
        page[failing..next_trial].contains("<div class=\"panel"),
        "the failing trial keeps its panels"
    );
    assert!(
        page.contains(
            "the waterfalls of 1 trials are drawn without span details and 0 are not drawn"
        )
    );
    // No room at all: no waterfall, and the page says so.
    let mut budget = Budget {
        max_page: bare,
        ..Budget::default()
    };
    let page = render(&report, &drawn, &mut budget);
    assert_eq!((budget.panels_left_out, budget.waterfalls_left_out), (0, 5));
    assert!(!page.contains("<div class=\"wf\">"));
}
