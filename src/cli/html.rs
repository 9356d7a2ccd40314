//! `traceval html REPORT.json [-o PAGE.html]`: the HTML report of a finished run, from its JSON
//! report and, when the run used `--save-traces`, its saved traces (span waterfalls, LLM
//! transcripts, shape diffs); without them, the failing trials' recorded span trees as text.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::CliError;
use crate::html::{Budget, TraceSelection};
use crate::report::{check_writable, read, write_atomic};

/// After `traceval html --help`.
pub(super) const HELP: &str = "\
Examples:
  traceval html reports/0193….json                  # writes reports/0193….html
  traceval html evals.json -o page.html --traces reports/0193…/traces --html-traces all

The page opens from disk with no network: the case × model matrix, every trial's checks and
answer, and, for the trials whose spans were saved (`traceval run --save-traces`), their span
waterfalls, LLM transcripts and the trace-shape diff of each case. Saved traces are looked for
in `<run-id>/traces/` beside the report, then in `reports/<run-id>/traces/` of the working
directory, unless `--traces` says where.

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
    /// The run's saved traces (default: `<run-id>/traces/` beside the report, else
    /// `reports/<run-id>/traces/`).
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
    let drawn = crate::html::saved::drawn(
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
