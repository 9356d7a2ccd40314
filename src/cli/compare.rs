//! `traceval compare`: two or more runs, or the models of one run, compared case by case
//! ([`crate::compare`]); with a gate flag, a CI gate. The display goes to stderr, the failed
//! gate rules last; `--format json|markdown` puts the document or the Markdown on stdout;
//! `--json`, `--markdown` and `--html` write them to files.

use std::io::Write;
use std::path::Path;

use super::args::{BrokenArg, Color, CompareArgs, CompareFormat, GateArgs};
use super::{CliError, exit};
use crate::compare::document::Document;
use crate::compare::render::{markdown::markdown, terminal::terminal};
use crate::compare::stats::metric::Options as StatsOptions;
use crate::compare::{self, Broken, CompareOptions, GateOptions, LoadedReport};
use crate::report::{WriteError, check_writable, write_atomic};

/// The comparison's options from the flags.
fn options(args: &CompareArgs) -> (CompareOptions, GateOptions) {
    let stats = StatsOptions {
        alpha: args.alpha,
        min_effect: args.min_effect,
        resolution: args.resolution,
        equivalence_margin: args.equivalence_margin,
        seed: args.seed,
        ..StatsOptions::default()
    };
    let compare = CompareOptions {
        baseline_model: args.baseline_model.clone(),
        models: args.models.clone(),
        map_model: args.map_model.clone(),
        allow_changed_suites: args.gate.allow_changed_suites,
        reprice: args.reprice,
        ..CompareOptions::new(stats)
    };
    (compare, gate_options(&args.gate))
}

/// The gate's options from its flags.
pub(super) fn gate_options(args: &GateArgs) -> GateOptions {
    let mut metrics: Vec<String> = Vec::new();
    for name in args.metric.iter().flatten() {
        if !metrics.iter().any(|m| m == name) {
            metrics.push((*name).to_owned());
        }
    }
    GateOptions {
        fail_on_regression: args.fail_on_regression,
        metrics,
        fail_on_broken: args.fail_on_broken.map(|b| match b {
            BrokenArg::Clean => Broken::Clean,
            BrokenArg::Any => Broken::Any,
        }),
        max_drop: args.max_drop,
        require_non_inferior: args.require_non_inferior,
        max_cost_increase: args.max_cost_increase,
        max_latency_increase: args.max_latency_increase,
        allow_missing: args.allow_missing,
    }
}

/// Runs `traceval compare`: 0 compared (and the gate held, or there is none), 1 a gate rule
/// failed, 2 the inputs cannot be compared, 3 a report cannot be read or an output written.
pub(super) fn run(args: &CompareArgs) -> Result<i32, CliError> {
    let report_err = |e: WriteError| CliError::Report(Box::new(e));
    // Checked before reading anything, as `merge` does.
    for path in [&args.json, &args.markdown, &args.html]
        .into_iter()
        .flatten()
    {
        check_writable(path).map_err(report_err)?;
    }
    let reports = args
        .reports
        .iter()
        .map(|p| compare::read(p))
        .collect::<Result<Vec<LoadedReport>, _>>()?;
    let (compare_options, gate_options) = options(args);
    let mut doc = compare::compare(&reports, &compare_options)?;
    doc.gate = compare::gate(&doc, &gate_options);
    let json = || {
        let mut text = serde_json::to_string_pretty(&doc).expect("the document serialises");
        text.push('\n');
        text
    };
    if let Some(path) = &args.json {
        write_atomic(path, json().as_bytes()).map_err(report_err)?;
    }
    if let Some(path) = &args.markdown {
        let text = markdown(&doc, args.markdown_budget);
        // The step summary is shared by a job's steps: added to, never replaced.
        if std::env::var_os("GITHUB_STEP_SUMMARY").is_some_and(|s| Path::new(&s) == path) {
            append(path, &text).map_err(CliError::Output)?;
        } else {
            write_atomic(path, text.as_bytes()).map_err(report_err)?;
        }
    }
    if let Some(path) = &args.html {
        write_atomic(path, html(&doc, &reports).as_bytes()).map_err(report_err)?;
    }
    display(&doc, color(args.color));
    let stdout_text = match args.format {
        CompareFormat::Human => None,
        CompareFormat::Json => Some(json()),
        CompareFormat::Markdown => Some(markdown(&doc, args.markdown_budget)),
    };
    if let Some(text) = stdout_text {
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(CliError::Output)?;
    }
    Ok(if doc.gate.failed.is_empty() {
        exit::PASS
    } else {
        exit::FAIL
    })
}

/// The comparison's page, with the changed cases' shapes from the runs' saved traces.
fn html(doc: &Document, reports: &[LoadedReport]) -> String {
    let inputs: Vec<crate::html::saved::Input<'_>> = reports
        .iter()
        .map(|r| crate::html::saved::Input {
            path: &r.path,
            report: &r.report,
        })
        .collect();
    let (shapes, notes) = crate::html::saved::compare_shapes(doc, &inputs);
    for note in &notes {
        eprintln!("warning: {note}");
    }
    crate::html::compare::render(doc, &shapes, &notes)
}

/// Whether the display is coloured: `--color`, else a terminal without `NO_COLOR`.
pub(super) fn color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            use std::io::IsTerminal;
            std::io::stderr().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// The display on stderr; the renderer puts the failed gate rules last, where a CI log ends.
pub(super) fn display(doc: &Document, color: bool) {
    let mut stderr = std::io::stderr().lock();
    let display = terminal(doc, color);
    let _ = stderr.write_all(display.as_bytes());
    if !display.is_empty() && !display.ends_with('\n') {
        let _ = writeln!(stderr);
    }
}

/// `traceval run --baseline BASE.json`: the run's report (`new`) compared with the baseline
/// read before the run, gated by `gate`; the comparison's Markdown is appended to the GitHub
/// step summary when there is one. Whether a gate rule failed.
pub(super) fn against_baseline(
    base: LoadedReport,
    new: &Path,
    gate: &GateArgs,
    color: bool,
    step_summary: Option<&Path>,
) -> Result<bool, CliError> {
    let new = compare::read(new)?;
    let options = CompareOptions {
        allow_changed_suites: gate.allow_changed_suites,
        ..CompareOptions::new(StatsOptions::default())
    };
    let mut doc = compare::compare(&[base, new], &options)?;
    doc.gate = compare::gate(&doc, &gate_options(gate));
    display(&doc, color);
    if let Some(path) = step_summary {
        let text = markdown(&doc, crate::compare::render::markdown::BUDGET);
        if let Err(e) = append(path, &text) {
            let _ = writeln!(
                std::io::stderr(),
                "warning: cannot append the comparison to `{}`: {e}",
                path.display()
            );
        }
    }
    Ok(!doc.gate.failed.is_empty())
}

/// Appends `text` to the file at `path` (a GitHub step summary is shared by a job's steps).
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    Ok(())
}
