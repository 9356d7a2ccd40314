//! A run report as GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY` (and later a PR
//! comment): a marker comment, a headline, a table per model, the failing and flaky cases
//! worst first, within a character budget. Every string a user controls (suite, case and model
//! names, check messages) goes through [`text`] or [`code`], so it renders as the text it is.

pub(crate) mod escape;

use std::collections::BTreeMap;
use std::fmt::Write;

use super::schema::{CaseAggregate, ModelAggregate, Report, StopReason, TrialResult};
use crate::metrics::cost::format_usd;

/// The most characters a summary takes: under GitHub's 65,536 for a PR comment (a step
/// summary may take 1 MiB), with room to spare for what a workflow adds.
pub(crate) const BUDGET: usize = 60_000;

/// Failing and flaky cases shown in the open table; the rest are folded in `<details>`.
const OPEN_ROWS: usize = 20;
/// Characters of a check message kept in a table cell.
const MESSAGE_CHARS: usize = 200;
/// Characters of a name (suite, case, model) kept.
const NAME_CHARS: usize = 200;
/// Trials shown in a case's strip; more end with `…`.
const STRIP_TRIALS: usize = 50;

/// `s` as Markdown text, also in a table cell ([`escape::text`]).
pub(crate) fn text(s: &str) -> String {
    escape::text(s)
}

/// `s` as a code span for a table cell ([`escape::code`]); `*(blank)*` for a string of spaces
/// only, which a code span would show as nothing.
pub(crate) fn code(s: &str) -> String {
    if s.trim().is_empty() {
        return "*(blank)*".to_owned();
    }
    escape::code(s, true)
}

/// The first `max` characters of `s`, with `…` when it was longer.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// How a case × model did over its trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum CaseOutcome {
    /// No trial passed.
    Fail,
    /// Some trials passed, some did not.
    Flaky,
    /// Every trial passed.
    Pass,
}

impl CaseOutcome {
    /// The outcome of `case`.
    pub(crate) fn of(case: &CaseAggregate) -> CaseOutcome {
        if case.passed >= case.n {
            CaseOutcome::Pass
        } else if case.passed == 0 {
            CaseOutcome::Fail
        } else {
            CaseOutcome::Flaky
        }
    }
}

/// The failing and flaky cases of `report`, worst first: lowest pass rate, then suite, case
/// and model.
pub(crate) fn failing_cases(report: &Report) -> Vec<&CaseAggregate> {
    let mut cases: Vec<&CaseAggregate> = report
        .cases
        .iter()
        .filter(|c| CaseOutcome::of(c) != CaseOutcome::Pass)
        .collect();
    cases.sort_by(|a, b| {
        a.pass_rate
            .total_cmp(&b.pass_rate)
            .then_with(|| (&a.suite, &a.case, &a.model).cmp(&(&b.suite, &b.case, &b.model)))
    });
    cases
}

/// The trials of each case × model, in trial order.
pub(crate) type TrialsByCase<'a> = BTreeMap<(&'a str, &'a str, &'a str), Vec<&'a TrialResult>>;

/// `report`'s trials by case × model, in trial order.
pub(crate) fn trials_by_case(report: &Report) -> TrialsByCase<'_> {
    let mut by_case = TrialsByCase::new();
    for t in &report.trials {
        by_case
            .entry((t.suite.as_str(), t.case.as_str(), t.model.as_str()))
            .or_default()
            .push(t);
    }
    for trials in by_case.values_mut() {
        trials.sort_by_key(|t| t.trial);
    }
    by_case
}

/// Why the first trial that did not pass did not, unescaped: its error, else its first failed
/// check as `name: message`.
pub(crate) fn first_failure(trials: &[&TrialResult]) -> Option<String> {
    let t = trials.iter().find(|t| !t.passed)?;
    if let Some(e) = &t.error {
        return Some(format!("error: {e}"));
    }
    let c = t.checks.iter().find(|c| !c.passed)?;
    Some(format!("{}: {}", c.name, c.message))
}

/// The k-trial strip: `●` passed, `○` failed, `✕` errored.
fn strip(trials: &[&TrialResult]) -> String {
    let mut out: String = trials
        .iter()
        .take(STRIP_TRIALS)
        .map(|t| match (t.passed, t.errored()) {
            (true, _) => '●',
            (false, true) => '✕',
            (false, false) => '○',
        })
        .collect();
    if trials.len() > STRIP_TRIALS {
        out.push('…');
    }
    out
}

/// The run's outcome in words, with the exit code `traceval run` gives it (a snapshot that
/// could not be written aside): as the terminal's `test result:` line decides.
pub(crate) fn outcome(report: &Report) -> &'static str {
    let not_passed = report.trials.iter().filter(|t| !t.passed).count();
    let outages = report
        .trials
        .iter()
        .filter(|t| t.infrastructure_error())
        .count();
    match report.stopped {
        Some(StopReason::Interrupted) => "interrupted (exit 130)",
        _ if report
            .forward
            .as_ref()
            .is_some_and(|f| f.failed_requirement()) =>
        {
            "errored: forwarding was required and spans did not arrive (exit 3)"
        }
        _ if not_passed == 0 => "passed (exit 0)",
        _ if not_passed == outages => "errored: only outages failed trials (exit 3)",
        _ => "failed (exit 1)",
    }
}

/// A rate as a percentage.
fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// An interval as `[lo, hi]` in percent, or `–`.
fn interval(ci: Option<[f64; 2]>) -> String {
    ci.map_or_else(
        || "–".to_owned(),
        |[lo, hi]| format!("[{}, {}]", percent(lo), percent(hi)),
    )
}

/// The value at the largest k of a `pass_at_k`-style map, as `k: value`.
fn at_largest_k(by_k: &BTreeMap<String, f64>) -> String {
    by_k.iter()
        .max_by_key(|(k, _)| k.parse::<u64>().unwrap_or(0))
        .map_or_else(|| "–".to_owned(), |(k, v)| format!("{v:.2} (k={k})"))
}

/// One model's row.
fn model_row(m: &ModelAggregate) -> String {
    let cost = match m.cost_usd {
        Some(c) => format_usd(c),
        None => format!("unpriced in {} of {} trials", m.unpriced_trials, m.trials),
    };
    let p95 = m
        .latency_ms
        .as_ref()
        .map_or_else(|| "–".to_owned(), |l| format!("{:.0} ms", l.p95));
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        code(&truncate(&m.model, NAME_CHARS)),
        m.trials,
        percent(m.pass_rate),
        interval(m.pass_rate_ci95),
        interval(m.pass_rate_ci95_clustered),
        at_largest_k(&m.pass_at_k),
        at_largest_k(&m.pass_hat_k),
        cost,
        p95,
    )
}

/// The header of a table of cases.
const CASE_HEADER: &str = "| case | model | outcome | trials | first failure |\n\
                           | --- | --- | --- | --- | --- |\n";

/// One failing or flaky case's row.
fn case_row(c: &CaseAggregate, trials: &[&TrialResult]) -> String {
    let name = format!("{}::{}", c.suite, c.case);
    let outcome = match CaseOutcome::of(c) {
        CaseOutcome::Fail => "FAIL",
        CaseOutcome::Flaky => "FLAKY",
        CaseOutcome::Pass => "PASS",
    };
    let failure = first_failure(trials).unwrap_or_default();
    format!(
        "| {} | {} | {outcome} {}/{} | {} | {} |\n",
        code(&truncate(&name, NAME_CHARS)),
        code(&truncate(&c.model, NAME_CHARS)),
        c.passed,
        c.n,
        strip(trials),
        text(&truncate(&failure, MESSAGE_CHARS)),
    )
}

/// The line that ends a summary that left cases out.
/// Where the run's spans went and how many arrived, with the first error when any.
fn forward_line(forward: &crate::forward::ForwardSummary) -> String {
    let mut line = format!(
        "Forwarded {} spans to {} ({} dropped, {} rejected)",
        forward.spans_sent,
        code(&forward.endpoint),
        forward.spans_dropped,
        forward.spans_rejected
    );
    if let Some(error) = &forward.first_error {
        let _ = write!(line, "; first error: {}", text(&truncate(error, 300)));
    }
    line.push_str(".\n\n");
    line
}

fn more_line(more: usize) -> String {
    format!("\n… {more} more cases in the JSON report\n")
}

/// The Markdown summary of `report`, at most `budget` characters (the marker, headline and
/// model table always fit a budget of a few thousand): the failing and flaky cases are added
/// worst first while they fit, the folded ones being the first left out, and a summary that
/// left some out ends with `… N more cases in the JSON report`.
pub(crate) fn run_summary(report: &Report, budget: usize) -> String {
    let mut out = String::new();
    let run_id: String = report
        .run_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    let _ = writeln!(out, "<!-- traceval-run run_id={run_id} -->");
    let total = report.trials.len();
    let passed = report.trials.iter().filter(|t| t.passed).count();
    let errored = report.trials.iter().filter(|t| t.errored()).count();
    let failed = total - passed - errored;
    let mut counts = [0usize; 3];
    for c in &report.cases {
        counts[CaseOutcome::of(c) as usize] += 1;
    }
    let [fail, flaky, pass] = counts;
    let _ = writeln!(out, "## traceval run: {}\n", outcome(report));
    let _ = write!(
        out,
        "**{pass} passed, {flaky} flaky, {fail} failed** cases × models; {total} trials: \
         {passed} passed, {failed} failed, {errored} errored"
    );
    if report.not_run > 0 {
        let _ = write!(out, ", {} not run", report.not_run);
    }
    let _ = writeln!(
        out,
        ". Seed {}, {:.1} s, run `{run_id}`.\n",
        report.seed,
        report.duration_ms / 1000.0
    );
    if let Some(forward) = &report.forward {
        out.push_str(&forward_line(forward));
    }
    if !report.models.is_empty() {
        out.push_str(
            "| model | trials | pass rate | 95% CI (Wilson) | 95% CI (by case) | pass@k | pass^k \
             | cost | latency p95 |\n| --- | ---: | ---: | --- | --- | ---: | ---: | ---: | ---: |\n",
        );
        for m in &report.models {
            out.push_str(&model_row(m));
        }
        out.push('\n');
    }
    let cases = failing_cases(report);
    if cases.is_empty() {
        return out;
    }
    let by_case = trials_by_case(report);
    let rows = cases.iter().map(|c| {
        let key = (c.suite.as_str(), c.case.as_str(), c.model.as_str());
        case_row(c, by_case.get(&key).map_or(&[][..], Vec::as_slice))
    });
    let mut used = out.chars().count();
    let folded_open = "<details><summary>more failing and flaky cases</summary>\n\n";
    let folded_close = "\n</details>\n";
    // Room kept for closing the folded table and the "more" line.
    let reserve = folded_close.len() + more_line(cases.len()).chars().count();
    let mut shown = 0;
    for (i, row) in rows.enumerate() {
        let mut piece = String::new();
        if i == 0 {
            let _ = writeln!(out, "### Failing and flaky cases, worst first\n");
            used = out.chars().count();
            piece.push_str(CASE_HEADER);
        } else if i == OPEN_ROWS {
            piece.push('\n');
            piece.push_str(folded_open);
            piece.push_str(CASE_HEADER);
        }
        piece.push_str(&row);
        let len = piece.chars().count();
        if used + len + reserve > budget {
            break;
        }
        out.push_str(&piece);
        used += len;
        shown += 1;
    }
    if shown > OPEN_ROWS {
        out.push_str(folded_close);
    }
    if shown < cases.len() {
        out.push_str(&more_line(cases.len() - shown));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
