//! `traceval merge R1.json R2.json … -o OUT.json`: the reports of one run's shards joined into
//! the report the unsharded run would have written ([`crate::report::merge`]), with the saved
//! traces of every shard gathered beside it, so `run --replay OUT.json` re-grades them all.
//!
//! The merged report gets a run id of its own: it is a new file, with its own trace directory
//! (`<run-id>/traces/` beside it), and reusing a shard's id would make two reports claim one
//! directory. Its `merged.inputs` name each shard's report and run id, which is how its trials
//! are found in a backend that received the shards' traces.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;

use super::{CliError, exit};
use crate::report::merge::{self, MergeOptions, ShardReport, missing_text};
use crate::report::{check_writable, write_json};

/// After `traceval merge --help`.
pub(super) const HELP: &str = "\
Examples:
  traceval merge shards/1.json shards/2.json shards/3.json -o reports/evals.json
  traceval merge shards/*.json -o reports/evals.json --allow-partial

Each shard report comes from `traceval run --shard I/N --seed S` with one seed for all: the
same suites, selection, seed and traceval. Every aggregate is recomputed from the merged
trials, so the report is the one the unsharded run would have written.

Exit codes: 0 the report is written, 2 the inputs are not the shards of one run (a shard
missing or given twice, another seed, suite or version), 3 an input cannot be read or the
output written.

Reference: docs/reference/merge.md.";

/// `traceval merge`.
#[derive(Debug, Args)]
pub(super) struct MergeArgs {
    /// The shard reports (`traceval run --shard I/N --seed S`), one per shard, in any order.
    #[arg(required = true, value_name = "REPORT")]
    reports: Vec<PathBuf>,
    /// Where to write the merged report; the shards' saved traces go to `<run-id>/traces/`
    /// beside it.
    #[arg(short = 'o', long = "output", value_name = "OUT.json")]
    output: PathBuf,
    /// Merge even when shards are missing: the report lists them in `merged.missing`.
    #[arg(long)]
    allow_partial: bool,
}

/// Runs `traceval merge`: 0 when the report is written (whatever its trials' verdicts: the
/// shards' jobs report those), 2 when the inputs are not the shards of one run, 3 when an input
/// cannot be read or the output written.
pub(super) fn run(args: &MergeArgs) -> Result<i32, CliError> {
    // Checked before reading anything: a run's worth of reports is not read for nothing.
    check_writable(&args.output).map_err(|e| CliError::Report(Box::new(e)))?;
    let inputs = args
        .reports
        .iter()
        .map(|path| {
            Ok(ShardReport {
                path: path.clone(),
                report: merge::read(path)?,
            })
        })
        .collect::<Result<Vec<_>, merge::MergeError>>()?;
    let run_id = uuid::Uuid::now_v7().to_string();
    let options = MergeOptions {
        allow_partial: args.allow_partial,
        run_id: run_id.clone(),
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
    };
    let given = inputs.len();
    let merged = merge::merge(inputs, options)?;
    let report = &merged.report;
    let info = report.merged.as_ref();
    let (shards, missing) = info.map_or((0, &[][..]), |m| (m.shards, &m.missing[..]));
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "{:>12} {given} of {shards} shard reports (seed {}): {} trials, {} case × model results",
        "Merging",
        report.seed,
        report.trials.len(),
        report.cases.len()
    );
    if !missing.is_empty() {
        let _ = writeln!(
            stderr,
            "{:>12} {} (--allow-partial): {} cases are not in the merged report",
            "Partial",
            missing_text(missing, shards),
            if missing.len() == 1 { "its" } else { "their" }
        );
    }
    // Traces first, the report last: a report never names traces that are not there yet.
    if !merged.traces.is_empty() {
        let dir = args.output.with_file_name(&run_id).join("traces");
        for warning in merge::copy_traces(&merged.traces, &dir)? {
            let _ = writeln!(stderr, "warning: {warning}");
        }
        let files: usize = merged.traces.iter().map(|t| t.files.len()).sum();
        let _ = writeln!(
            stderr,
            "{:>12} {files} files in {}",
            "Traces",
            dir.display()
        );
    }
    write_json(&args.output, report).map_err(|e| CliError::Report(Box::new(e)))?;
    let _ = writeln!(
        stderr,
        "{:>12} {} (run {run_id})",
        "Report",
        args.output.display()
    );
    Ok(exit::PASS)
}
