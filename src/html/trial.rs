//! The drill-down: per case, its trace-shape diff and, per model, every trial's checks,
//! answer, stderr, numbers, judge verdicts and span waterfall.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::escape::{esc, id};
use super::summary::{outcome_word, seconds, strip, trial_symbol};
use super::{Budget, Drawn, TrialKey, waterfall};
use crate::event::TrialTrace;
use crate::metrics::cost::format_usd;
use crate::report::Report;
use crate::report::markdown::{CaseOutcome, TrialsByCase};
use crate::report::schema::TrialResult;
use crate::trace::genai::GenAiView;
use crate::trace::tree::{NodeId, SpanTree};

/// The waterfall of every trial `drawn` draws, by trial, in at most `room` bytes. Room goes
/// first to the failing trials' rows, then to their span panels, then to the passing
/// examples' rows, then to their panels: a trial without rows is shown as its recorded span
/// tree, if it has one.
pub(super) fn waterfalls(
    report: &Report,
    drawn: &Drawn,
    mut room: usize,
    budget: &mut Budget,
) -> BTreeMap<TrialKey, String> {
    let passed: BTreeMap<TrialKey, bool> = report
        .trials
        .iter()
        .map(|t| {
            let key = (t.suite.clone(), t.case.clone(), t.model.clone(), t.trial);
            (key, t.passed)
        })
        .collect();
    let mut out = BTreeMap::new();
    for passing in [false, true] {
        // Each trial's tree and GenAI view, built once for both drawings.
        let group: Vec<(&TrialKey, &TrialTrace, SpanTree, NodeId)> = drawn
            .trials
            .iter()
            .filter(|(key, _)| passed.get(*key).copied().unwrap_or(false) == passing)
            .map(|(key, trace)| {
                let (tree, root) = SpanTree::build_trial(&trace.root, trace.spans.iter().cloned());
                (key, &**trace, tree, root)
            })
            .collect();
        let views: Vec<GenAiView<'_>> = group
            .iter()
            .map(|(_, trace, tree, _)| GenAiView::with_conventions(tree, &trace.conventions))
            .collect();
        let draw = |i: usize, budget: &mut Budget| {
            let (_, trace, _, root) = &group[i];
            let marked: Vec<_> = trace.offending.iter().map(|(_, span)| *span).collect();
            let mut html = String::new();
            waterfall::write(&mut html, &views[i], *root, &marked, budget);
            html
        };
        budget.panels = false;
        for (i, (key, ..)) in group.iter().enumerate() {
            let left_out = budget.spans_left_out;
            let rows = draw(i, budget);
            if rows.len() > room {
                budget.spans_left_out = left_out;
                budget.waterfalls_left_out += 1;
                continue;
            }
            room -= rows.len();
            out.insert((*key).clone(), rows);
        }
        budget.panels = true;
        for (i, (key, ..)) in group.iter().enumerate() {
            let Some(rows) = out.get(*key).map(String::len) else {
                continue;
            };
            // Drawn again: its spans left out are counted already.
            let (clipped, left_out) = (budget.clipped_values, budget.spans_left_out);
            let full = draw(i, budget);
            budget.spans_left_out = left_out;
            match full.len().checked_sub(rows) {
                Some(more) if more <= room => {
                    room -= more;
                    out.insert((*key).clone(), full);
                }
                _ => {
                    budget.clipped_values = clipped;
                    budget.panels_left_out += 1;
                }
            }
        }
    }
    out
}

/// Every case: its shape diff, then its trials by model.
pub(super) fn cases(
    out: &mut String,
    report: &Report,
    by_case: &TrialsByCase<'_>,
    drawn: &Drawn,
    waterfalls: &BTreeMap<TrialKey, String>,
    budget: &mut Budget,
) {
    out.push_str("<h2>Trials</h2>\n");
    let models = super::summary::model_names(report);
    let mut last: Option<(&str, &str)> = None;
    for c in &report.cases {
        let key = (c.suite.as_str(), c.case.as_str());
        if last != Some(key) {
            if last.is_some() {
                out.push_str("</section>\n");
            }
            last = Some(key);
            let _ = writeln!(
                out,
                "<section class=\"case-sec\"><h3>{}::{}</h3>",
                esc(key.0),
                esc(key.1)
            );
            if let Some(fold) = drawn.shapes.get(&(key.0.to_owned(), key.1.to_owned())) {
                out.push_str("<details class=\"shape\"><summary>trace shapes by model</summary>\n");
                // The models that ran this case, in the page's order.
                let models: Vec<String> = models
                    .iter()
                    .filter(|m| {
                        report.cases.iter().any(|o| {
                            o.suite == c.suite && o.case == c.case && o.model.as_str() == **m
                        })
                    })
                    .map(|m| (*m).to_owned())
                    .collect();
                fold.write(out, &models);
                out.push_str("</details>\n");
            }
        }
        let trials: &[&TrialResult] = by_case
            .get(&(key.0, key.1, c.model.as_str()))
            .map_or(&[], Vec::as_slice);
        let outcome = CaseOutcome::of(c);
        let _ = writeln!(
            out,
            "<details class=\"case\" id=\"{}\"><summary><span class=\"status s-{word}\">{word}</span> \
             {} — {}/{} <span class=\"strip\">{}</span></summary>",
            id("c", &[&c.suite, &c.case, &c.model]),
            esc(&c.model),
            c.passed,
            c.n,
            strip(trials),
            word = outcome_word(outcome),
        );
        for t in trials {
            trial(out, t, waterfalls, budget);
        }
        out.push_str("</details>\n");
    }
    if last.is_some() {
        out.push_str("</section>\n");
    }
}

/// One trial.
fn trial(
    out: &mut String,
    t: &TrialResult,
    waterfalls: &BTreeMap<TrialKey, String>,
    budget: &mut Budget,
) {
    let class = if t.passed {
        "pass"
    } else if t.errored() {
        "error"
    } else {
        "fail"
    };
    let _ = write!(
        out,
        "<details class=\"trial t-{class}\" id=\"{}\"><summary><span class=\"status s-{class}\">{} {class}</span> \
         trial {} · {}",
        id("t", &[&t.suite, &t.case, &t.model, &t.trial.to_string()]),
        trial_symbol(t),
        t.trial,
        esc(&seconds(t.duration_ms)),
    );
    if let Some(why) = first_failure(t) {
        out.push_str(" · ");
        let (head, _) = super::escape::clip(&why, 160);
        let _ = write!(out, "{}", esc(head));
    }
    out.push_str("</summary>\n");
    if let Some(error) = &t.error {
        out.push_str("<p class=\"s-error\">error: ");
        budget.text(out, error);
        out.push_str("</p>\n");
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">agent: {}</p>",
        esc(&crate::event::AgentExit::from(t.exit.clone()).describe())
    );
    out.push_str("<ul class=\"checks\">\n");
    for check in &t.checks {
        let (mark, class) = if check.passed {
            ("✓", "s-pass")
        } else {
            ("✗", "s-fail")
        };
        let _ = write!(
            out,
            "<li><span class=\"{class}\">{mark}</span> <b>{}</b>: ",
            esc(&check.name)
        );
        budget.text(out, &check.message);
        out.push_str("</li>\n");
    }
    out.push_str("</ul>\n<h4>answer</h4>\n<pre class=\"answer\">");
    budget.text(out, &t.output);
    out.push_str("</pre>\n");
    if t.output_truncated {
        out.push_str("<p class=\"more\">the report keeps only the start of this answer</p>\n");
    }
    if !t.stderr_tail.is_empty() {
        out.push_str("<details><summary>stderr</summary><pre class=\"stderr\">");
        budget.text(out, &t.stderr_tail);
        out.push_str("</pre></details>\n");
    }
    metrics(out, t);
    judges(out, t, budget);
    for warning in &t.warnings {
        out.push_str("<p class=\"banner\">⚠ ");
        budget.text(out, warning);
        out.push_str("</p>\n");
    }
    if let Some(file) = &t.trace_file {
        let _ = writeln!(
            out,
            "<p class=\"muted\">saved trace: <code>{}</code></p>",
            esc(file)
        );
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">trace id <code>{}</code></p>",
        esc(&t.trace_id)
    );
    match waterfalls.get(&(t.suite.clone(), t.case.clone(), t.model.clone(), t.trial)) {
        Some(waterfall) => out.push_str(waterfall),
        None => {
            if let Some(tree) = &t.span_tree {
                out.push_str("<h4>span tree</h4>\n<pre class=\"tree\">");
                budget.text(out, tree);
                out.push_str("</pre>\n");
            }
        }
    }
    out.push_str("</details>\n");
}

/// The trial's numbers in one line, and its tool calls.
fn metrics(out: &mut String, t: &TrialResult) {
    let m = &t.metrics;
    let cost = match m.cost_usd {
        Some(c) => format_usd(c),
        None if m.unpriced => "unpriced".to_owned(),
        None => "–".to_owned(),
    };
    let _ = writeln!(
        out,
        "<p class=\"metrics\">{} LLM calls · {} tool calls · tokens {} in, {} out, {} cached · \
         cost {} · {} retries · {} error spans · {} spans</p>",
        m.llm_calls,
        m.tool_calls.len(),
        m.input_tokens,
        m.output_tokens,
        m.cache_read_tokens,
        esc(&cost),
        m.retries,
        m.error_spans,
        m.span_count
    );
    if !m.tool_calls.is_empty() {
        let names: Vec<&str> = m.tool_calls.iter().map(|c| c.name.as_str()).collect();
        let _ = writeln!(
            out,
            "<p class=\"tools\">tools: <span class=\"mono\">{}</span></p>",
            esc(&names.join(" → "))
        );
    }
}

/// The judges' samples, each with its score and explanation, and what they cost.
fn judges(out: &mut String, t: &TrialResult, budget: &mut Budget) {
    for judge in &t.judges {
        let cost = judge
            .cost_usd
            .map_or_else(|| "unpriced".to_owned(), format_usd);
        let _ = writeln!(
            out,
            "<div class=\"judge\"><b>judge {}</b> <span class=\"muted\">({}, {} calls, {})</span><ul class=\"checks\">",
            esc(&judge.name),
            esc(&judge.model),
            judge.llm_calls,
            esc(&cost)
        );
        for sample in &judge.samples {
            let mark = if sample.passed {
                "<span class=\"s-pass\">✓</span>"
            } else {
                "<span class=\"s-fail\">✗</span>"
            };
            let score = sample
                .score
                .map_or_else(|| "no score".to_owned(), |s| format!("{s:.2}"));
            let _ = write!(out, "<li>{mark} {}: ", esc(&score));
            if let Some(e) = &sample.explanation {
                budget.text(out, e);
            }
            if let Some(e) = &sample.error {
                out.push_str(" <span class=\"s-error\">");
                budget.text(out, e);
                out.push_str("</span>");
            }
            out.push_str("</li>\n");
        }
        out.push_str("</ul></div>\n");
    }
}

/// Why a trial did not pass, in one line: its error, else its first failed check.
fn first_failure(t: &TrialResult) -> Option<String> {
    if t.passed {
        return None;
    }
    if let Some(e) = &t.error {
        return Some(format!("error: {e}"));
    }
    let c = t.checks.iter().find(|c| !c.passed)?;
    Some(format!("{}: {}", c.name, c.message))
}
