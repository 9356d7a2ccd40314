//! `traceval html REPORT.json [-o PAGE.html]`: the HTML report of a finished run, from its JSON
//! report and, when the run used `--save-traces`, its saved traces (span waterfalls, LLM
//! transcripts, shape diffs); without them, the failing trials' recorded span trees as text.

use std::io::Write;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use clap::Args;

use super::CliError;
use crate::capture::file;
use crate::event::{self, CaseFinished, TrialTrace};
use crate::html::{Budget, Collector, Drawn, TraceSelection};
use crate::report::schema::TrialResult;
use crate::report::{Report, check_writable, read, write_atomic};
use crate::trace::Span;

/// After `traceval html --help`.
pub(super) const HELP: &str = "\
Examples:
  traceval html reports/0193….json                  # writes reports/0193….html
  traceval html evals.json -o page.html --traces reports/0193…/traces --html-traces all

The page opens from disk with no network: the case × model matrix, every trial's checks and
answer, and, for the trials whose spans were saved (`traceval run --save-traces`), their span
waterfalls, LLM transcripts and the trace-shape diff of each case. Saved traces are looked for
in `<run-id>/traces/` beside the report unless `--traces` says where.

Exit codes: 0 the page is written, 2 the file is not a report this traceval reads, 3 the report
cannot be read or the page written.

Reference: docs/reference/html.md.";

/// `traceval html`.
#[derive(Debug, Args)]
pub(super) struct HtmlArgs {
    /// The run's JSON report.
    #[arg(value_name = "REPORT")]
    report: PathBuf,
    /// Where to write the page (default: the report's path with `.html`).
    #[arg(short = 'o', long = "output", value_name = "PAGE")]
    output: Option<PathBuf>,
    /// The run's saved traces (default: `<run-id>/traces/` beside the report).
    #[arg(long, value_name = "DIR")]
    traces: Option<PathBuf>,
    /// Whose span trees the page draws: `failing` (and one passing trial per case × model),
    /// `flaky`, `all`, `none`.
    #[arg(long, value_name = "WHICH", default_value = "failing")]
    html_traces: TraceSelection,
}

/// Runs `traceval html`.
pub(super) fn run(args: &HtmlArgs) -> Result<i32, CliError> {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| args.report.with_extension("html"));
    check_writable(&output).map_err(|e| CliError::Report(Box::new(e)))?;
    let report = read::read(&args.report)?;
    let drawn = drawn(
        &report,
        &args.report,
        args.traces.as_deref(),
        args.html_traces,
    );
    let page = crate::html::render(&report, &drawn, &mut Budget::default());
    write_atomic(&output, page.as_bytes()).map_err(|e| CliError::Report(Box::new(e)))?;
    let mut stderr = std::io::stderr().lock();
    for note in &drawn.notes {
        let _ = writeln!(stderr, "warning: {note}");
    }
    let _ = writeln!(stderr, "       Wrote {}", output.display());
    Ok(super::exit::PASS)
}

/// The span trees of `report`'s saved traces, chosen by `selection`, and every case's shape
/// fold; notes for what could not be read.
fn drawn(report: &Report, path: &Path, traces: Option<&Path>, selection: TraceSelection) -> Drawn {
    let saved: Vec<&TrialResult> = report
        .trials
        .iter()
        .filter(|t| t.trace_file.is_some())
        .collect();
    if saved.is_empty() || selection == TraceSelection::None {
        return Drawn::default();
    }
    let dir = match traces {
        Some(dir) => dir.to_path_buf(),
        None => path.with_file_name(&report.run_id).join("traces"),
    };
    let mut notes = Vec::new();
    if !plain(&report.run_id) && traces.is_none() || !dir.is_dir() {
        notes.push(format!(
            "the saved traces are not in `{}`: pass `--traces DIR`; span trees are shown as text",
            dir.display()
        ));
        return Drawn {
            notes,
            ..Drawn::default()
        };
    }
    let mut collector = Collector::new(selection);
    let mut unreadable = 0;
    for t in saved {
        match load(&dir, t) {
            Some(trace) => {
                let mut trial = event::TrialResult::from(t.clone());
                trial.trace = Some(Arc::new(trace));
                collector.trial(&trial);
            }
            None => unreadable += 1,
        }
    }
    for c in &report.cases {
        collector.case_finished(&CaseFinished {
            suite: c.suite.clone(),
            case: c.case.clone(),
            model: c.model.clone(),
            n: c.n,
            passed: c.passed,
            duration_ms: 0.0,
            snapshot_matched: c.snapshot_matched,
        });
    }
    let mut drawn = collector.finish();
    if unreadable > 0 {
        notes.push(format!(
            "{unreadable} saved trace files are missing, unreadable or hold no trial root"
        ));
    }
    drawn.notes.extend(notes);
    drawn
}

/// A run id that names one directory (it is data from the file).
fn plain(id: &str) -> bool {
    !id.is_empty()
        && Path::new(id)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The trial's saved spans, when its file lies inside `dir` and holds its trial root.
fn load(dir: &Path, t: &TrialResult) -> Option<TrialTrace> {
    let name = Path::new(t.trace_file.as_deref()?);
    // A name from the report never leads outside the traces directory.
    if !name.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let spans: Vec<Arc<Span>> = file::read(&dir.join(name))
        .ok()?
        .spans
        .into_iter()
        .map(Arc::new)
        .collect();
    let root = spans
        .iter()
        .find(|s| file::is_trial_root(s) && s.trace_id.to_string() == t.trace_id)
        .or_else(|| spans.iter().find(|s| file::is_trial_root(s)))?
        .clone();
    let spans = spans
        .into_iter()
        .filter(|s| !Arc::ptr_eq(s, &root))
        .collect();
    Some(TrialTrace {
        root,
        spans,
        judge_spans: Vec::new(),
        offending: Vec::new(),
        last_llm: None,
        input: String::new(),
    })
}
