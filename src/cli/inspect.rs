//! `traceval inspect PATH...`: trace files as span trees, or as one JSON summary per trace.
//!
//! A directory stands for every trace file under it (`*.json`, `*.jsonl`, hidden entries
//! skipped), in name order. A trial saved by `--save-traces` is one tree under its `eval.trial`
//! root, as `traceval run` shows it, however many traces the agent's spans formed. A traceval
//! report is not a trace file: the error says where its run's traces are.
//!
//! `--conventions FILE` reads spans with the `[conventions]` table of a suite or of
//! `traceval.toml` as well, as `traceval run` would for that suite; repeated, the first file's
//! rules and keys are tried first (give the suite before `traceval.toml`).

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::{CliError, exit};
use crate::capture::file;
use crate::suite::load_conventions;
use crate::trace::render::{RenderOptions, clean, format_duration, write_tree};
use crate::trace::{Conventions, GenAiView, Span, SpanTree, TraceId};

/// Arguments of `traceval inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// OTLP JSON trace files (one request object, or JSONL with one per line), or directories
    /// of them (e.g. `reports/<run-id>/traces`).
    #[arg(required = true, value_name = "PATH")]
    files: Vec<PathBuf>,
    /// Print one JSON object per trace on stdout instead of trees.
    #[arg(long)]
    json: bool,
    /// Read spans with the `[conventions]` table of this TOML file (a suite or traceval.toml)
    /// too; repeat it to layer them, the first file's tried first.
    #[arg(long, value_name = "FILE")]
    conventions: Vec<PathBuf>,
}

/// The `--json` summary of one trace. The key set is a contract: keep it.
#[derive(Debug, Serialize)]
pub(crate) struct TraceSummary {
    trace_id: String,
    span_count: usize,
    root_names: Vec<String>,
    orphan_count: usize,
    llm_calls: usize,
    tool_calls: Vec<ToolCallSummary>,
    input_tokens: u64,
    output_tokens: u64,
    error_spans: usize,
    retries: usize,
    duration_ms: f64,
}

#[derive(Debug, Serialize)]
struct ToolCallSummary {
    name: String,
    args: Option<serde_json::Value>,
}

impl TraceSummary {
    fn new(trace_id: TraceId, view: &GenAiView<'_>) -> TraceSummary {
        let tree = view.tree();
        let usage = view.usage();
        TraceSummary {
            trace_id: trace_id.to_string(),
            span_count: tree.len(),
            root_names: tree.roots().map(|r| r.span().name.clone()).collect(),
            orphan_count: tree.orphans().count(),
            llm_calls: usage.llm_calls,
            tool_calls: view
                .tool_calls()
                .iter()
                .map(|t| ToolCallSummary {
                    name: t.name.clone(),
                    args: t.arguments.clone(),
                })
                .collect(),
            input_tokens: usage.input_tokens,
            output_tokens: usage.output_tokens,
            error_spans: view.error_spans().len(),
            retries: view.retries().len(),
            duration_ms: duration_ns(tree) as f64 / 1e6,
        }
    }
}

/// The root span's duration when the trace has one root; otherwise the time from the first
/// start to the last end.
fn duration_ns(tree: &SpanTree) -> u64 {
    let roots: Vec<_> = tree.roots().collect();
    if let [root] = roots.as_slice() {
        return root.span().duration_ns();
    }
    let start = tree.nodes().map(|n| n.span().start_time_unix_nano).min();
    let end = tree.nodes().map(|n| n.span().end_time_unix_nano).max();
    match (start, end) {
        (Some(s), Some(e)) => e.saturating_sub(s),
        _ => 0,
    }
}

/// The trees to show of a file's spans: one under the trial root when the file holds exactly
/// one (a trial saved by `--save-traces`, whose agent's traces it adopts, as `run` shows it);
/// otherwise one per trace.
fn trees(spans: Vec<Span>) -> Vec<(TraceId, SpanTree)> {
    let mut roots = spans.iter().filter(|s| file::is_trial_root(s));
    if let (Some(_), None) = (roots.next(), roots.next()) {
        let spans: Vec<Arc<Span>> = spans.into_iter().map(Arc::new).collect();
        let root = spans.iter().find(|s| file::is_trial_root(s)).cloned();
        let root = root.expect("found above");
        let (tree, _) = SpanTree::build_trial(&root, spans);
        return vec![(root.trace_id, tree)];
    }
    by_trace(spans)
        .into_iter()
        .map(|(id, spans)| (id, SpanTree::build(spans)))
        .collect()
}

/// Splits spans by trace, traces ordered by their earliest start.
fn by_trace(spans: Vec<Span>) -> Vec<(TraceId, Vec<Arc<Span>>)> {
    let mut groups: HashMap<TraceId, Vec<Arc<Span>>> = HashMap::new();
    for s in spans {
        groups.entry(s.trace_id).or_default().push(Arc::new(s));
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by_key(|(id, spans)| {
        let start = spans.iter().map(|s| s.start_time_unix_nano).min();
        (start, *id)
    });
    groups
}

pub(crate) fn run(args: &InspectArgs) -> Result<i32, CliError> {
    let mut conventions = Conventions::default();
    for path in &args.conventions {
        let more = load_conventions(path).map_err(CliError::Conventions)?;
        conventions = conventions.before(&more);
    }
    // Read every file before printing anything, so a bad file never leaves half an output.
    let mut files = Vec::with_capacity(args.files.len());
    for given in &args.files {
        let in_dir = given.is_dir();
        let paths = if in_dir {
            trace_files(given)?
        } else {
            vec![given.clone()]
        };
        for path in paths {
            match file::read(&path) {
                Ok(read) => files.push((path, read)),
                Err(e) => match report_note(&path) {
                    // A directory may hold reports beside traces (`reports/`): skip them.
                    Some(_) if in_dir => {
                        let _ = writeln!(
                            std::io::stderr(),
                            "note: skipped `{}`: a traceval report, not a trace file",
                            path.display()
                        );
                    }
                    Some(note) => return Err(CliError::NotATraceFile(note)),
                    None => return Err(e.into()),
                },
            }
        }
    }
    let mut stdout = std::io::stdout().lock();
    let mut stderr = std::io::stderr().lock();
    for (path, trace_file) in files {
        if trace_file.rejected > 0 {
            let _ = writeln!(
                stderr,
                "warning: {}: skipped {} span(s) with invalid ids ({})",
                path.display(),
                trace_file.rejected,
                clean(trace_file.first_rejection.as_deref().unwrap_or(""), 200)
            );
        }
        if trace_file.spans.is_empty() {
            let _ = writeln!(stderr, "warning: {}: no spans", path.display());
        }
        for (trace_id, tree) in trees(trace_file.spans) {
            let view = GenAiView::with_conventions(&tree, &conventions);
            if args.json {
                let summary = TraceSummary::new(trace_id, &view);
                serde_json::to_writer(&mut stdout, &summary)
                    .map_err(|e| CliError::Output(e.into()))?;
                writeln!(stdout).map_err(CliError::Output)?;
            } else {
                let usage = view.usage();
                writeln!(
                    stdout,
                    "trace {trace_id}  {}  {} spans, {} LLM calls, {} tool calls, tokens {}/{}{}",
                    path.display(),
                    tree.len(),
                    usage.llm_calls,
                    view.tool_calls().len(),
                    usage.input_tokens,
                    usage.output_tokens,
                    match duration_ns(&tree) {
                        0 => String::new(),
                        ns => format!(", {}", format_duration(ns)),
                    }
                )
                .map_err(CliError::Output)?;
                write_tree(&mut stdout, &view, &RenderOptions::default())
                    .map_err(CliError::Output)?;
                writeln!(stdout).map_err(CliError::Output)?;
            }
        }
    }
    stdout.flush().map_err(CliError::Output)?;
    Ok(exit::PASS)
}

/// The trace files under `dir`, by path: `*.json` and `*.jsonl`, hidden entries skipped.
fn trace_files(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let cannot = |error| CliError::ReadDir {
            dir: dir.clone(),
            error,
        };
        for entry in std::fs::read_dir(&dir).map_err(cannot)? {
            let entry = entry.map_err(cannot)?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            // Symbolic links are not followed: a directory link could loop.
            let kind = entry.file_type().map_err(cannot)?;
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() && (name.ends_with(".json") || name.ends_with(".jsonl")) {
                found.push(path);
            }
        }
    }
    if found.is_empty() {
        return Err(CliError::NoTraceFiles(dir.to_path_buf()));
    }
    found.sort();
    Ok(found)
}

/// When `path` is a traceval report rather than a trace file: what it is and where the
/// traces of its run are.
fn report_note(path: &Path) -> Option<String> {
    let bytes = std::fs::read(path).ok()?;
    let report: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let (Some(_), Some(run_id), Some(trials)) = (
        report.get("format_version"),
        report.get("run_id").and_then(|v| v.as_str()),
        report.get("trials").and_then(|v| v.as_array()),
    ) else {
        return None;
    };
    let what = format!(
        "`{}` is a traceval report (run {}), not a trace file",
        path.display(),
        clean(run_id, 80)
    );
    let saved = trials
        .iter()
        .any(|t| t.get("trace_file").is_some_and(|f| f.is_string()));
    if !saved {
        return Some(format!(
            "{what}; its run saved no traces (run with --save-traces to keep them)"
        ));
    }
    // The run id is data: it names a directory only when it is one plain name.
    let plain =
        !run_id.is_empty() && !run_id.contains(['/', '\\']) && run_id != ".." && run_id != ".";
    let beside = path.with_file_name(run_id).join("traces");
    Some(if plain && beside.is_dir() {
        format!(
            "{what}; its traces are in `{}`: `traceval inspect {}`",
            beside.display(),
            beside.display()
        )
    } else {
        format!(
            "{what}; its traces were saved in `reports/{}/traces/` of the project that ran it",
            clean(run_id, 80)
        )
    })
}
