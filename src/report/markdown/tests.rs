use serde_json::json;

use super::*;
use crate::report::schema::{case_aggregates, model_aggregates};
use crate::report::{ReportBuilder, RunMeta};

/// A trial of `suite::case` on `model`; a failing one fails `output-contains` with `message`,
/// an errored one has `error`.
pub(crate) fn trial(
    suite: &str,
    case: &str,
    model: &str,
    trial: u32,
    passed: bool,
    message: &str,
) -> TrialResult {
    serde_json::from_value(json!({
        "suite": suite, "case": case, "model": model, "trial": trial,
        "trace_id": "t", "agent_trace_ids": [], "passed": passed, "error": null,
        "duration_ms": 10.0, "exit": {"kind": "code", "code": 0},
        "output": "", "stderr_tail": "",
        "checks": [
            {"name": "exit-code", "passed": true, "message": "exit code 0"},
            {"name": "output-contains", "passed": passed, "message": message},
        ],
        "metrics": {
            "llm_calls": 1, "tool_calls": [], "input_tokens": 10, "output_tokens": 2,
            "cache_read_tokens": 0, "cost_usd": 0.001, "unpriced": false, "retries": 0,
            "error_spans": 0, "span_count": 2, "tool_precision": null, "tool_recall": null,
            "tool_f1": null
        }
    }))
    .unwrap()
}

/// The report of `trials`, aggregated as `run` aggregates it.
pub(crate) fn report(mut trials: Vec<TrialResult>) -> Report {
    trials.sort_by_key(TrialResult::id);
    let mut report = ReportBuilder::new(RunMeta::default()).finish();
    report.run_id = "0190-run".to_owned();
    // Folded without a `RunFinished`, the report says the run was interrupted.
    report.stopped = None;
    report.interrupted = false;
    report.cases = case_aggregates(&trials);
    report.models = model_aggregates(&trials);
    report.trials = trials;
    report
}

#[test]
fn text_escapes_what_markdown_or_html_would_read() {
    let cases = [
        ("plain words 1.5", "plain words 1.5"),
        ("a|b", "a\\|b"),
        ("`x` *y* _z_", "\\`x\\` \\*y\\* \\_z\\_"),
        ("[link](http://e)", "\\[link\\](http://e)"),
        ("<script>&amp;", "&lt;script&gt;&amp;amp;"),
        ("two\nlines\r\nthree", "two lines  three"),
        (
            "back\\slash ~~s~~ $x$",
            "back\\\\slash \\~\\~s\\~\\~ \\$x\\$",
        ),
        ("bell\u{7} rtl\u{202E}", "bell\u{FFFD} rtl\u{FFFD}"),
    ];
    for (input, expected) in cases {
        assert_eq!(text(input), expected, "{input:?}");
    }
}

#[test]
fn code_spans_take_a_longer_fence_than_any_backtick_run_inside() {
    let cases = [
        ("paris", "`paris`"),
        ("a`b", "``a`b``"),
        ("a``b`", "``` a``b` ```"),
        ("`start", "`` `start ``"),
        ("pipe|d", "`pipe\\|d`"),
        ("<script>", "`<script>`"),
        ("new\nline", "`new line`"),
        ("  ", "*(blank)*"),
    ];
    for (input, expected) in cases {
        assert_eq!(code(input), expected, "{input:?}");
    }
}

#[test]
fn truncate_counts_characters_and_marks_the_cut() {
    assert_eq!(truncate("ééé", 2), "éé…");
    assert_eq!(truncate("ééé", 3), "ééé");
}

#[test]
fn a_summary_has_the_marker_the_headline_the_models_and_the_failing_cases_worst_first() {
    let mut trials = Vec::new();
    for t in 0..3 {
        trials.push(trial("s", "ok", "m", t, true, "fine"));
        trials.push(trial("s", "flaky", "m", t, t != 1, "missing `Paris`"));
        trials.push(trial("s", "broken", "m", t, false, "missing\n`Oslo` | <b>"));
    }
    let mut errored = trial("s", "flaky", "m", 2, false, "");
    errored.error = Some("timed out after 1s".to_owned());
    trials[7] = errored;
    let md = run_summary(&report(trials), BUDGET);
    let lines: Vec<&str> = md.lines().collect();
    assert_eq!(lines[0], "<!-- traceval-run run_id=0190-run -->");
    assert_eq!(lines[1], "## traceval run: failed (exit 1)");
    assert!(
        md.contains("**1 passed, 1 flaky, 1 failed** cases × models; 9 trials: 4 passed, 4 failed, 1 errored"),
        "{md}"
    );
    assert!(md.contains("| `m` | 9 | 44.4% | ["), "{md}");
    let broken = md.find("`s::broken`").unwrap();
    let flaky = md.find("`s::flaky`").unwrap();
    assert!(broken < flaky, "worst first:\n{md}");
    assert!(!md.contains("`s::ok`"), "{md}");
    assert!(
        md.contains(
            "| `s::broken` | `m` | FAIL 0/3 | ○○○ | output-contains: missing \\`Oslo\\` \\| &lt;b&gt; |"
        ),
        "{md}"
    );
    assert!(
        md.contains(
            "| `s::flaky` | `m` | FLAKY 1/3 | ●○✕ | output-contains: missing \\`Paris\\` |"
        ),
        "{md}"
    );
    assert!(
        !md.contains("<details>") && !md.contains("more cases"),
        "{md}"
    );
}

#[test]
fn a_passing_run_has_no_case_table() {
    let md = run_summary(&report(vec![trial("s", "c", "m", 0, true, "")]), BUDGET);
    assert!(md.contains("## traceval run: passed (exit 0)"), "{md}");
    assert!(!md.contains("### "), "{md}");
}

#[test]
fn cases_past_the_first_twenty_are_folded() {
    let trials = (0..25)
        .map(|i| trial("s", &format!("c{i:02}"), "m", 0, false, "no"))
        .collect();
    let md = run_summary(&report(trials), BUDGET);
    let (open, folded) = md.split_once("<details>").unwrap();
    assert_eq!(open.matches("| `s::c").count(), 20);
    assert_eq!(folded.matches("| `s::c").count(), 5);
    assert!(md.trim_end().ends_with("</details>"), "{md}");
}

#[test]
fn ten_thousand_failing_cases_stay_within_the_budget_and_say_how_many_are_left_out() {
    let long = "x".repeat(500);
    let trials = (0..10_000)
        .map(|i| trial("suite", &format!("case-{i:05}"), "model", 0, false, &long))
        .collect();
    let md = run_summary(&report(trials), BUDGET);
    let chars = md.chars().count();
    assert!(chars < BUDGET, "{chars} characters");
    let shown = md.matches("| `suite::case-").count();
    assert!(shown > OPEN_ROWS, "some folded rows fit: {shown}");
    let last = md.lines().last().unwrap();
    assert_eq!(
        last,
        format!("… {} more cases in the JSON report", 10_000 - shown)
    );
    // The folded table is closed before the line.
    assert!(md.contains("</details>\n\n… "), "{}", &md[md.len() - 300..]);
}

#[test]
fn a_tight_budget_drops_folded_rows_first_then_open_ones() {
    let trials: Vec<TrialResult> = (0..30)
        .map(|i| trial("s", &format!("c{i:02}"), "m", 0, false, "no"))
        .collect();
    let full = run_summary(&report(trials.clone()), BUDGET);
    let budget = full.find("<details>").unwrap();
    let md = run_summary(&report(trials), budget);
    assert!(md.chars().count() <= budget);
    assert!(!md.contains("<details>"), "{md}");
    assert!(md.ends_with("more cases in the JSON report\n"), "{md}");
}

/// Hostile names and messages: markup, HTML, pipes, backticks, entities, line breaks.
const HOSTILE: [&str; 8] = [
    "` | <script>alert(1)</script>",
    "``double`` and `single`",
    "`starts",
    "*bold* _em_ [link](http://x) ![img](y) ~~s~~ $x$",
    "back\\slash \\| and \\`",
    "&amp; &lt; <b>",
    "line\nbreak\r\ttab",
    "esc\u{1b}[31mred\u{202E}",
];

/// What a string reads as once rendered: line breaks as spaces, invisible characters as `�`.
fn readable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() || c == '\u{202E}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[test]
fn hostile_names_and_messages_read_back_as_text_through_a_markdown_parser() {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

    let trials = HOSTILE
        .iter()
        .enumerate()
        .map(|(i, s)| trial("s", &format!("{i}{s}"), s, 0, false, s))
        .collect();
    let md = run_summary(&report(trials), BUDGET);
    // The rows of the case table, cell by cell, as GitHub would show them.
    let mut rows: Vec<Vec<String>> = Vec::new();
    let (mut tables, mut cell) = (0, None::<String>);
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => tables += 1,
            Event::Start(Tag::TableRow) if tables == 2 => rows.push(Vec::new()),
            Event::Start(Tag::TableCell) => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) => {
                let text = cell.take().unwrap();
                if let Some(row) = rows.last_mut().filter(|_| tables == 2) {
                    row.push(text);
                }
            }
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => {
                assert!(
                    h.starts_with("<!-- traceval-run"),
                    "raw HTML {h:?} in\n{md}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(rows.len(), HOSTILE.len(), "{md}");
    for (i, s) in HOSTILE.iter().enumerate() {
        let row = rows
            .iter()
            .find(|r| r[0] == readable(&format!("s::{i}{s}")))
            .unwrap_or_else(|| panic!("no row for {s:?} in {rows:#?}\n{md}"));
        assert_eq!(row[1].trim(), readable(s).trim(), "{md}");
        assert_eq!(
            row[4],
            format!("output-contains: {}", readable(s).trim()),
            "{md}"
        );
    }
}
