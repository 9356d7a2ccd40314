//! The terminal display (stderr): cargo-style status lines as case × model groups finish, a
//! failures section with each failing trial's checks and span tree, and the `test result:`
//! line with the headline metrics per model.
//!
//! Everything a suite or an agent wrote (names, answers, stderr) goes through
//! [`clean`] before it reaches the terminal.

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Report;
use super::schema::{LatencyMs, ModelAggregate, StopReason, TrialResult};
use crate::event::{RunEvent, SnapshotAction, SnapshotEvent};
use crate::metrics::cost::format_usd;
use crate::trace::render::clean;

/// Longest line of a check's message shown (a diff line, an explanation).
const MAX_MESSAGE_LINE: usize = 2_000;

/// Failing trials shown in full; the rest are listed by name.
const MAX_DETAILED_FAILURES: usize = 20;

/// How the display looks.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TerminalOptions {
    /// ANSI colours on the status verbs.
    pub color: bool,
    /// An indicatif progress bar (only on a TTY and never in CI; the caller decides).
    pub progress: bool,
}

/// Prints a run as it happens.
pub(crate) struct Terminal<W: Write> {
    out: W,
    options: TerminalOptions,
    bar: Option<ProgressBar>,
    /// Trial warnings by message, with how many trials had each: printed once, at the end.
    trial_warnings: BTreeMap<String, usize>,
    /// Snapshots written for review, updated or left unwritten: listed at the end.
    snapshots: Vec<SnapshotEvent>,
    /// Where `--save-traces` writes: a failing trial then names its trace file.
    traces_dir: Option<std::path::PathBuf>,
}

impl<W: Write> Terminal<W> {
    /// A display writing to `out`.
    pub(crate) fn new(out: W, options: TerminalOptions) -> Terminal<W> {
        Terminal {
            out,
            options,
            bar: None,
            trial_warnings: BTreeMap::new(),
            snapshots: Vec::new(),
            traces_dir: None,
        }
    }

    /// Names each failing trial's trace file, in `dir` (the run's `--save-traces` directory).
    pub(crate) fn show_trace_files(&mut self, dir: std::path::PathBuf) {
        self.traces_dir = Some(dir);
    }

    /// The writer, back.
    pub(crate) fn into_inner(self) -> W {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.out
    }

    fn line(&mut self, text: &str) {
        let out = &mut self.out;
        match &self.bar {
            // A hidden bar swallows `println`; suspend it and write ourselves.
            Some(bar) => bar.suspend(|| {
                let _ = writeln!(out, "{text}");
            }),
            None => {
                let _ = writeln!(out, "{text}");
            }
        }
    }

    fn verb(&self, verb: &str, color: &str) -> String {
        if self.options.color {
            format!("\x1b[1;{color}m{verb:>12}\x1b[0m")
        } else {
            format!("{verb:>12}")
        }
    }

    /// Prints what an event calls for.
    pub(crate) fn on_event(&mut self, event: &RunEvent) {
        match event {
            RunEvent::RunStarted(s) => {
                let plural =
                    |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
                let ignored = if s.ignored_suites > 0 {
                    format!(" ({} ignored)", s.ignored_suites)
                } else {
                    String::new()
                };
                let text = format!(
                    "{} {}{ignored}: {} × {}, {} ({} at a time)",
                    self.verb("Running", "32"),
                    plural(s.suites, "suite"),
                    plural(s.cases, "case"),
                    plural(s.models, "model"),
                    plural(s.trials, "trial"),
                    s.jobs
                );
                self.line(&text);
                if self.options.progress {
                    let bar = ProgressBar::with_draw_target(
                        Some(s.trials as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    bar.set_style(
                        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} trials")
                            .expect("a valid template")
                            .progress_chars("=> "),
                    );
                    self.bar = Some(bar);
                }
            }
            RunEvent::TrialFinished(t) => {
                for w in &t.warnings {
                    *self.trial_warnings.entry(w.clone()).or_default() += 1;
                }
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            RunEvent::CaseFinished(c) => {
                let (verb, color) = if c.passed == c.n {
                    ("PASS", "32")
                } else if c.passed == 0 {
                    ("FAIL", "31")
                } else {
                    ("FLAKY", "33")
                };
                let mut text = format!(
                    "{} [{:>8.3}s] {}::{} ({}) {}/{}",
                    self.verb(verb, color),
                    c.duration_ms / 1000.0,
                    clean(&c.suite, 80),
                    clean(&c.case, 120),
                    clean(&c.model, 80),
                    c.passed,
                    c.n
                );
                // The group's snapshot events come before its line.
                let action = self.snapshots.iter().find_map(|s| {
                    ((&s.suite, &s.case, &s.model) == (&c.suite, &c.case, &c.model))
                        .then_some(s.action)
                });
                if action == Some(SnapshotAction::Recorded) {
                    text.push_str(" (snapshot recorded)");
                } else if action == Some(SnapshotAction::NotRecorded) {
                    text.push_str(" (no snapshot recorded)");
                } else if let Some(matched) = c.snapshot_matched {
                    text.push_str(&format!(" (snapshot matched {matched}/{})", c.n));
                }
                self.line(&text);
            }
            RunEvent::Warning(w) => {
                let about = w.trial.as_ref().map_or(String::new(), |t| {
                    format!(
                        "{}::{} ({}) trial {}: ",
                        clean(&t.suite, 80),
                        clean(&t.case, 120),
                        clean(&t.model, 80),
                        t.trial
                    )
                });
                let text = format!(
                    "{} {about}{}",
                    self.verb("Warning", "33"),
                    clean(&w.message, 500)
                );
                self.line(&text);
            }
            RunEvent::Snapshot(s) => self.snapshots.push(s.clone()),
            RunEvent::TrialStarted(_) | RunEvent::RunFinished(_) => {}
        }
    }

    /// Lists the snapshots written or left unwritten, with what to do next.
    fn snapshot_summary(&mut self) {
        let snapshots = std::mem::take(&mut self.snapshots);
        if snapshots.is_empty() {
            return;
        }
        self.line("");
        for s in snapshots.iter().take(MAX_DETAILED_FAILURES) {
            let what = match s.action {
                SnapshotAction::Pending => "pending review",
                SnapshotAction::Updated => "updated",
                SnapshotAction::Recorded => "recorded (new)",
                SnapshotAction::Unwritten => "differs, not written",
                SnapshotAction::NotRecorded => "not recorded (no trial passed its other checks)",
            };
            let text = format!(
                "{} {what}: {}::{} ({}) {}",
                self.verb("Snapshot", "36"),
                clean(&s.suite, 80),
                clean(&s.case, 120),
                clean(&s.model, 80),
                clean(&s.file, 300)
            );
            self.line(&text);
        }
        if snapshots.len() > MAX_DETAILED_FAILURES {
            let more = snapshots.len() - MAX_DETAILED_FAILURES;
            self.line(&format!("{:>12} … and {more} more", ""));
        }
        let count = |action| snapshots.iter().filter(|s| s.action == action).count();
        let pending = count(SnapshotAction::Pending);
        if pending > 0 {
            let text = format!(
                "{:>12} {pending} snapshot{} to review: `traceval snapshot review`, or `traceval \
                 snapshot accept` / `reject`",
                "",
                if pending == 1 { "" } else { "s" }
            );
            self.line(&text);
        }
        if count(SnapshotAction::Unwritten) > 0 {
            let text = format!(
                "{:>12} snapshots are never written in CI or with INSTA_UPDATE=no: run the cases \
                 locally, review and commit the snapshots",
                ""
            );
            self.line(&text);
        }
    }

    /// Prints the failures section, the summary and the headline metrics.
    pub(crate) fn summary(&mut self, report: &Report) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let failing: Vec<&TrialResult> = report.trials.iter().filter(|t| !t.passed).collect();
        if !failing.is_empty() {
            self.line("\nfailures:");
            for t in failing.iter().take(MAX_DETAILED_FAILURES) {
                self.failure(t);
            }
            if failing.len() > MAX_DETAILED_FAILURES {
                let more = failing.len() - MAX_DETAILED_FAILURES;
                self.line(&format!(
                    "\n… and {more} more failing trials; every one is in the report"
                ));
            }
            self.line("\nfailures:");
            for t in &failing {
                let text = format!("    {}", trial_name(t));
                self.line(&text);
            }
        }

        self.snapshot_summary();
        let warnings = std::mem::take(&mut self.trial_warnings);
        if !warnings.is_empty() {
            self.line("");
        }
        for (message, n) in warnings {
            let text = format!(
                "{} {}{}",
                self.verb("Warning", "33"),
                clean(&message, 500),
                if n == 1 {
                    String::new()
                } else {
                    format!(" ({n} trials)")
                }
            );
            self.line(&text);
        }
        let total = report.trials.len();
        let passed = report.trials.iter().filter(|t| t.passed).count();
        let errored = report.trials.iter().filter(|t| t.errored()).count();
        let failed = total - passed - errored;
        let secs = report.duration_ms / 1000.0;
        let mut text = format!(
            "{} [{secs:>8.3}s] {total} trials: {passed} passed, {failed} failed, {errored} errored",
            self.verb("Summary", "32")
        );
        if report.not_run > 0 {
            text.push_str(&format!(", {} not run", report.not_run));
        }
        match report.stopped {
            Some(StopReason::Interrupted) => text.push_str(" (interrupted)"),
            Some(StopReason::FailFast) => text.push_str(" (stopped by --fail-fast)"),
            None => {}
        }
        self.line(&format!("\n{text}"));
        let infrastructure = report
            .trials
            .iter()
            .filter(|t| t.infrastructure_error())
            .count();
        let verdict = if failed + errored == 0 && report.stopped.is_none() {
            "ok"
        } else if failed + errored == infrastructure
            && report.stopped != Some(StopReason::Interrupted)
        {
            // Exit code 3: the trials could not run, none did worse.
            "ERROR"
        } else {
            "FAILED"
        };
        let errored = if infrastructure > 0 {
            format!("{errored} errored ({infrastructure} infrastructure)")
        } else {
            format!("{errored} errored")
        };
        self.line(&format!(
            "test result: {verdict}. {passed} passed; {failed} failed; {errored}; finished in {secs:.2}s"
        ));
        for m in &report.models {
            let text = headline(m);
            self.line(&text);
        }
    }

    fn failure(&mut self, t: &TrialResult) {
        self.line(&format!("\n---- {} ----", trial_name(t)));
        if let Some(e) = &t.error {
            let kind = if t.infrastructure_error() {
                " (infrastructure)"
            } else {
                ""
            };
            self.line(&format!("error{kind}: {}", clean(e, 500)));
        }
        for c in t.checks.iter().filter(|c| !c.passed) {
            // A message of several lines (a snapshot's diff) is indented under its check. Each
            // line is escaped here too: a diff quotes a file from disk, which can say anything.
            let mut lines = c.message.lines();
            let first = lines.next().unwrap_or_default();
            self.line(&format!(
                "  ✗ {}: {}",
                clean(&c.name, 80),
                clean(first, MAX_MESSAGE_LINE)
            ));
            for l in lines {
                self.line(&format!("      {}", clean(l, MAX_MESSAGE_LINE)));
            }
        }
        for w in &t.warnings {
            self.line(&format!("  warning: {}", clean(w, 500)));
        }
        if let Some(tree) = &t.span_tree {
            self.line("span tree:");
            for l in tree.lines() {
                self.line(&format!("  {l}"));
            }
        }
        if let (Some(dir), Some(name)) = (&self.traces_dir, &t.trace_file) {
            let path = dir.join(name);
            let path = path.strip_prefix(".").unwrap_or(&path);
            self.line(&format!(
                "trace: {}",
                clean(&path.display().to_string(), 500)
            ));
        }
        let stderr = t.stderr_tail.trim_end();
        if !stderr.is_empty() {
            self.line("stderr (tail):");
            let lines: Vec<&str> = stderr.lines().collect();
            for l in &lines[lines.len().saturating_sub(20)..] {
                self.line(&format!("  {}", clean(l, 300)));
            }
        }
    }
}

fn trial_name(t: &TrialResult) -> String {
    format!(
        "{}::{} ({}) trial {}",
        clean(&t.suite, 80),
        clean(&t.case, 120),
        clean(&t.model, 80),
        t.trial
    )
}

/// One line of headline metrics for a model.
pub(crate) fn headline(m: &ModelAggregate) -> String {
    let mut parts = vec![format!("pass rate {:.1}%", m.pass_rate * 100.0)];
    if let Some([lo, hi]) = m.pass_rate_ci95 {
        parts[0].push_str(&format!(" [{:.1}%, {:.1}%]", lo * 100.0, hi * 100.0));
    }
    // A zero-width clustered interval (every case at the same rate) says nothing the rate
    // does not; the report still has it.
    if let Some([lo, hi]) = m.pass_rate_ci95_clustered.filter(|[lo, hi]| hi > lo) {
        parts[0].push_str(&format!(
            " (by case [{:.1}%, {:.1}%])",
            lo * 100.0,
            hi * 100.0
        ));
    }
    if let Some(p1) = m.pass_at_k.get("1") {
        parts.push(format!("pass@1 {p1:.2}"));
    }
    if let Some((k, v)) = m
        .pass_at_k
        .iter()
        .max_by_key(|(k, _)| k.parse::<u64>().unwrap_or(0))
        && k != "1"
    {
        parts.push(format!("pass@{k} {v:.2}"));
    }
    if let Some(f1) = m.tool_f1_macro {
        parts.push(format!("tool F1 {f1:.2}"));
    }
    if let Some(LatencyMs { p50, p99, .. }) = m.latency_ms {
        parts.push(format!("latency p50 {} p99 {}", seconds(p50), seconds(p99)));
    }
    parts.push(format!(
        "tokens {} in / {} out",
        m.input_tokens, m.output_tokens
    ));
    parts.push(match m.cost_usd {
        Some(c) => format!("cost {}", format_usd(c)),
        None => unpriced(m),
    });
    format!("  {}: {}", clean(&m.model, 80), parts.join(" · "))
}

/// Names of unpriced models shown in a headline; the report has them all.
const MAX_UNPRICED_NAMES: usize = 3;

/// The cost part of a headline when some trial is unpriced: no sum, which would pose as the
/// total, and the models to add a `[pricing."MODEL"]` entry for.
fn unpriced(m: &ModelAggregate) -> String {
    let mut text = format!(
        "cost unpriced in {} of {} trials",
        m.unpriced_trials, m.trials
    );
    if !m.unpriced_models.is_empty() {
        let mut names: Vec<String> = m
            .unpriced_models
            .iter()
            .take(MAX_UNPRICED_NAMES)
            .map(|n| clean(n, 80))
            .collect();
        if m.unpriced_models.len() > MAX_UNPRICED_NAMES {
            names.push("…".to_owned());
        }
        text.push_str(&format!(" (no price for {})", names.join(", ")));
    }
    text
}

fn seconds(ms: f64) -> String {
    let d = Duration::from_secs_f64((ms / 1000.0).max(0.0));
    if d < Duration::from_secs(1) {
        format!("{:.0}ms", ms)
    } else {
        format!("{:.2}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn model(cost_usd: Option<f64>, unpriced_trials: u64, unpriced: &[&str]) -> ModelAggregate {
        ModelAggregate {
            model: "m".into(),
            trials: 5,
            passed: 5,
            failed: 0,
            errored: 0,
            pass_rate: 1.0,
            pass_rate_ci95: None,
            pass_rate_ci95_clustered: None,
            pass_at_k: BTreeMap::new(),
            pass_hat_k: BTreeMap::new(),
            tool_f1_macro: None,
            tool_f1_micro: None,
            latency_ms: None,
            llm_latency_ms: None,
            tool_latency_ms: None,
            input_tokens: 10,
            output_tokens: 2,
            cache_read_tokens: 0,
            cache_write_tokens: 0,
            cost_usd,
            unpriced_trials,
            unpriced_models: unpriced.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn headlines_show_the_clustered_interval_beside_wilsons_when_it_has_a_width() {
        let mut m = model(Some(0.01), 0, &[]);
        m.pass_rate = 0.8;
        m.pass_rate_ci95 = Some([0.627, 0.905]);
        m.pass_rate_ci95_clustered = Some([0.4984, 1.0]);
        let line = headline(&m);
        assert!(
            line.contains("pass rate 80.0% [62.7%, 90.5%] (by case [49.8%, 100.0%]) · "),
            "{line}"
        );
        m.pass_rate_ci95_clustered = Some([1.0, 1.0]);
        assert!(!headline(&m).contains("by case"));
        m.pass_rate_ci95_clustered = None;
        assert!(!headline(&m).contains("by case"));
    }

    #[test]
    fn headlines_show_cost_or_say_why_there_is_none() {
        let cases = [
            (model(Some(0.0379), 0, &[]), "cost $0.0379"),
            // Small but priced: never rounded to what reads as $0.
            (model(Some(0.000_060_8), 0, &[]), "cost $0.0000608"),
            (
                model(None, 3, &["llama-3"]),
                "cost unpriced in 3 of 5 trials (no price for llama-3)",
            ),
            (
                model(None, 5, &["a", "b", "c", "d\u{1b}[31m"]),
                "cost unpriced in 5 of 5 trials (no price for a, b, c, …)",
            ),
            // A report from before `unpriced_models` existed.
            (model(None, 1, &[]), "cost unpriced in 1 of 5 trials"),
        ];
        for (m, want) in cases {
            let line = headline(&m);
            assert!(line.ends_with(&format!("· {want}")), "{line}");
            assert!(
                !line.contains("$0.0000 ") && !line.contains("$0 "),
                "{line}"
            );
        }
        // Names come from spans: escaped like every other span text.
        let line = headline(&model(None, 1, &["x\u{1b}[2J"]));
        assert!(!line.contains('\u{1b}'), "{line}");
    }
}
