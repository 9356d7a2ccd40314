//! The top of the page: the run's header, the per-model summary with its intervals drawn, and
//! the case × model matrix.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::escape::{esc, id};
use crate::metrics::cost::format_usd;
use crate::report::Report;
use crate::report::markdown::{CaseOutcome, TrialsByCase, outcome};
use crate::report::schema::{CaseAggregate, ModelAggregate, TrialResult};

/// Trials drawn in a strip before it ends in `…`.
const STRIP_TRIALS: usize = 50;

/// The header: what ran, when, from which commit, how it ended and what to know.
pub(super) fn header(out: &mut String, report: &Report, notes: &[String]) {
    let status = outcome(report);
    let class = if status.starts_with("passed") {
        "s-pass"
    } else {
        "s-fail"
    };
    let _ = write!(
        out,
        "<header>\n<h1>traceval run <span class=\"mono\">{}</span></h1>\n\
         <p class=\"status {class}\">{}</p>\n<dl class=\"meta\">\n",
        esc(&report.run_id),
        esc(status)
    );
    let mut row = |name: &str, value: &str| {
        let _ = writeln!(out, "<dt>{}</dt><dd>{}</dd>", esc(name), esc(value));
    };
    row("started", &report.started_at);
    row("duration", &seconds(report.duration_ms));
    row("commit", report.git_commit.as_deref().unwrap_or("–"));
    row("traceval", &report.traceval_version);
    row("command", &report.command.join(" "));
    row("seed", &report.seed.to_string());
    for suite in &report.suites {
        row(
            "suite",
            &format!("{} ({}, {})", suite.name, suite.path, suite.content_hash),
        );
    }
    let pricing = match &report.pricing.date {
        Some(date) => format!("{} as of {date}", report.pricing.source),
        None => report.pricing.source.clone(),
    };
    row("prices", &pricing);
    if let Some(shard) = &report.shard {
        row("shard", &format!("{}/{}", shard.index, shard.count));
    }
    if let Some(merged) = &report.merged {
        row("merged", &format!("{} shards", merged.shards));
    }
    if let Some(replay) = &report.replayed_from {
        row(
            "replay of",
            &format!("run {} ({})", replay.run_id, replay.report),
        );
    }
    if let Some(forward) = &report.forward {
        row(
            "forwarded",
            &format!(
                "{} spans to {} ({} dropped, {} rejected){}",
                forward.spans_sent,
                forward.endpoint,
                forward.spans_dropped,
                forward.spans_rejected,
                forward
                    .first_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        );
    }
    out.push_str("</dl>\n");
    let mut warnings: Vec<String> = Vec::new();
    if report.not_run > 0 {
        warnings.push(format!("{} planned trials did not run", report.not_run));
    }
    if report.unattributed_spans > 0 {
        warnings.push(format!(
            "{} spans arrived that belong to no trial",
            report.unattributed_spans
        ));
    }
    let run_warnings: BTreeSet<&str> = report
        .warnings
        .iter()
        .filter(|w| w.trial.is_none())
        .map(|w| w.message.as_str())
        .collect();
    warnings.extend(run_warnings.into_iter().map(str::to_owned));
    warnings.extend(notes.iter().cloned());
    for warning in warnings {
        let _ = writeln!(out, "<p class=\"banner\">⚠ {}</p>", esc(&warning));
    }
    out.push_str("</header>\n");
}

/// The per-model table: pass rate with both 95% intervals drawn, pass@k and pass^k, tool F1,
/// latency, tokens and cost.
pub(super) fn models(out: &mut String, report: &Report) {
    out.push_str(
        "<h2>Models</h2>\n<table class=\"models\">\n<thead><tr><th>model</th>\
         <th class=\"num\">trials</th><th class=\"num\">passed</th>\
         <th class=\"num\">failed</th><th class=\"num\">errored</th>\
         <th class=\"num\">pass rate</th><th>95% intervals (trials · cases)</th>\
         <th class=\"num\">pass@k</th><th class=\"num\">pass^k</th>\
         <th class=\"num\">tool F1 micro · macro</th><th class=\"num\">latency p50 · p95 · p99</th>\
         <th class=\"num\">tokens in · out · cache</th><th class=\"num\">cost</th></tr></thead>\n<tbody>\n",
    );
    for m in &report.models {
        model_row(out, m);
    }
    out.push_str("</tbody>\n</table>\n");
}

fn model_row(out: &mut String, m: &ModelAggregate) {
    let f1 = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:.2}"));
    let latency = m.latency_ms.map_or_else(
        || "–".to_owned(),
        |l| {
            format!(
                "{} · {} · {}",
                seconds(l.p50),
                seconds(l.p95),
                seconds(l.p99)
            )
        },
    );
    let cost = match m.cost_usd {
        Some(c) => format_usd(c),
        None if m.unpriced_trials > 0 => format!("unpriced ({} trials)", m.unpriced_trials),
        None => "–".to_owned(),
    };
    let _ = write!(
        out,
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}%</td>\
         <td class=\"ci\">",
        esc(&m.model),
        m.trials,
        m.passed,
        m.failed,
        m.errored,
        m.pass_rate * 100.0
    );
    interval_plot(
        out,
        m.pass_rate,
        m.pass_rate_ci95,
        m.pass_rate_ci95_clustered,
    );
    let _ = writeln!(
        out,
        "</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{} · {}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{} · {} · {}</td><td class=\"num\">{}</td></tr>",
        at_largest_k(&m.pass_at_k),
        at_largest_k(&m.pass_hat_k),
        f1(m.tool_f1_micro),
        f1(m.tool_f1_macro),
        latency,
        m.input_tokens,
        m.output_tokens,
        m.cache_read_tokens,
        esc(&cost)
    );
}

/// The pass rate as a point on a 0–100% axis with two whiskers: the Wilson interval over
/// trials (above) and the case-clustered interval (below), then both in numbers.
fn interval_plot(out: &mut String, rate: f64, trials: Option<[f64; 2]>, cases: Option<[f64; 2]>) {
    let x = |v: f64| 4.0 + v.clamp(0.0, 1.0) * 152.0;
    out.push_str(
        "<svg width=\"160\" height=\"22\" viewBox=\"0 0 160 22\" role=\"img\" \
         aria-label=\"pass rate and its intervals\"><line x1=\"4\" y1=\"11\" x2=\"156\" y2=\"11\" \
         stroke=\"#ddd\"/>",
    );
    for (ci, y, colour) in [(trials, 7.0, "#0969da"), (cases, 15.0, "#9a6700")] {
        if let Some([lo, hi]) = ci {
            let _ = write!(
                out,
                "<line x1=\"{:.1}\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\" stroke=\"{colour}\" \
                 stroke-width=\"2\"/><line x1=\"{:.1}\" y1=\"{}\" x2=\"{:.1}\" y2=\"{}\" \
                 stroke=\"{colour}\"/><line x1=\"{:.1}\" y1=\"{}\" x2=\"{:.1}\" y2=\"{}\" \
                 stroke=\"{colour}\"/>",
                x(lo),
                x(hi),
                x(lo),
                y - 3.0,
                x(lo),
                y + 3.0,
                x(hi),
                y - 3.0,
                x(hi),
                y + 3.0
            );
        }
    }
    let _ = write!(
        out,
        "<circle cx=\"{:.1}\" cy=\"11\" r=\"3\" fill=\"#1d1d1f\"/></svg> <span class=\"muted\">{} · {}</span>",
        x(rate),
        interval(trials),
        interval(cases)
    );
}

/// The case × model matrix: one row per case, one column per model, each cell the passed
/// count, the k-trial strip, the outcome in words, the median latency and the mean cost,
/// linked to the cell's trials below. Rows carry `data-status`, `data-flaky` and
/// `data-disagree` for the filters.
pub(super) fn matrix(out: &mut String, report: &Report, by_case: &TrialsByCase<'_>) {
    let models: Vec<&str> = model_names(report);
    let mut cases: BTreeMap<(&str, &str), BTreeMap<&str, &CaseAggregate>> = BTreeMap::new();
    for c in &report.cases {
        cases
            .entry((c.suite.as_str(), c.case.as_str()))
            .or_default()
            .insert(c.model.as_str(), c);
    }
    out.push_str(
        "<h2>Cases</h2>\n<div class=\"filters\" role=\"group\" aria-label=\"filter cases\">\
         <button data-filter=\"all\" aria-pressed=\"true\">all</button>\
         <button data-filter=\"failing\" aria-pressed=\"false\">failing</button>\
         <button data-filter=\"flaky\" aria-pressed=\"false\">flaky</button>\
         <button data-filter=\"disagree\" aria-pressed=\"false\">models disagree</button>\
         <button id=\"collapse-all\" hidden>collapse all</button></div>\n\
         <table class=\"matrix\">\n<thead><tr><th data-sort>case</th>",
    );
    for model in &models {
        let _ = write!(out, "<th data-sort>{}</th>", esc(model));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for ((suite, case), cells) in &cases {
        let outcomes: BTreeSet<CaseOutcome> = cells.values().map(|c| CaseOutcome::of(c)).collect();
        let worst = outcomes.iter().copied().next().unwrap_or(CaseOutcome::Pass);
        let rates: BTreeSet<u64> = cells
            .values()
            .map(|c| (c.pass_rate * 1e6).round() as u64)
            .collect();
        let _ = write!(
            out,
            "<tr data-status=\"{}\" data-flaky=\"{}\" data-disagree=\"{}\"><td>{}::{}</td>",
            outcome_word(worst),
            u8::from(outcomes.contains(&CaseOutcome::Flaky)),
            u8::from(rates.len() > 1),
            esc(suite),
            esc(case)
        );
        for model in &models {
            match cells.get(model) {
                Some(c) => cell(out, c, by_case.get(&(*suite, *case, *model))),
                None => out.push_str("<td class=\"muted\">not run</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
}

fn cell(out: &mut String, c: &CaseAggregate, trials: Option<&Vec<&TrialResult>>) {
    let trials: &[&TrialResult] = trials.map_or(&[], Vec::as_slice);
    let outcome = CaseOutcome::of(c);
    let mut durations: Vec<f64> = trials.iter().map(|t| t.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let p50 = durations
        .get(durations.len().saturating_sub(1) / 2)
        .map_or_else(|| "–".to_owned(), |d| seconds(*d));
    let costs: Option<Vec<f64>> = trials.iter().map(|t| t.metrics.cost_usd).collect();
    let cost = match costs {
        Some(costs) if !costs.is_empty() => {
            format_usd(costs.iter().sum::<f64>() / costs.len() as f64)
        }
        _ => "unpriced".to_owned(),
    };
    let _ = write!(
        out,
        "<td class=\"s-{word}\" data-key=\"{:.6}\"><a href=\"#{}\"><span class=\"status\">{}/{}</span> \
         <span class=\"strip\">{}</span> <span class=\"status\">{word}</span><br>\
         <span class=\"muted\">p50 {} · {}</span></a></td>",
        c.pass_rate,
        id("c", &[&c.suite, &c.case, &c.model]),
        c.passed,
        c.n,
        strip(trials),
        esc(&p50),
        esc(&cost),
        word = outcome_word(outcome),
    );
}

/// The models of a report, in the order the report lists them.
pub(super) fn model_names(report: &Report) -> Vec<&str> {
    let mut names: Vec<&str> = report.models.iter().map(|m| m.model.as_str()).collect();
    for c in &report.cases {
        if !names.contains(&c.model.as_str()) {
            names.push(&c.model);
        }
    }
    names
}

/// The k-trial strip: `●` passed, `○` failed, `✕` errored.
pub(super) fn strip(trials: &[&TrialResult]) -> String {
    let mut out: String = trials
        .iter()
        .take(STRIP_TRIALS)
        .map(|t| trial_symbol(t))
        .collect();
    if trials.len() > STRIP_TRIALS {
        out.push('…');
    }
    out
}

/// `●` passed, `✕` errored, `○` failed.
pub(super) fn trial_symbol(t: &TrialResult) -> char {
    match (t.passed, t.errored()) {
        (true, _) => '●',
        (false, true) => '✕',
        (false, false) => '○',
    }
}

/// A case outcome as the word the page shows and filters on.
pub(super) fn outcome_word(outcome: CaseOutcome) -> &'static str {
    match outcome {
        CaseOutcome::Pass => "pass",
        CaseOutcome::Flaky => "flaky",
        CaseOutcome::Fail => "fail",
    }
}

/// Milliseconds as `812ms` or `1.25s`.
pub(super) fn seconds(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

fn interval(ci: Option<[f64; 2]>) -> String {
    ci.map_or_else(
        || "–".to_owned(),
        |[lo, hi]| format!("[{:.1}%, {:.1}%]", lo * 100.0, hi * 100.0),
    )
}

fn at_largest_k(by_k: &BTreeMap<String, f64>) -> String {
    by_k.iter()
        .max_by_key(|(k, _)| k.parse::<u64>().unwrap_or(0))
        .map_or_else(|| "–".to_owned(), |(k, v)| format!("{v:.2} (k={k})"))
}
