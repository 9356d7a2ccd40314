//! `traceval inspect FILE...`: trace files as span trees, or as one JSON summary per trace.
//!
//! `--conventions FILE` reads spans with the `[conventions]` table of a suite or of
//! `traceval.toml` as well, as `traceval run` would for that suite; repeated, the first file's
//! rules and keys are tried first (give the suite before `traceval.toml`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use serde::Serialize;

use super::CliError;
use crate::capture::file;
use crate::suite::load_conventions;
use crate::trace::render::{RenderOptions, clean, format_duration, write_tree};
use crate::trace::{Conventions, GenAiView, Span, SpanTree, TraceId};

/// Arguments of `traceval inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// OTLP JSON trace files (one request object, or JSONL with one per line).
    #[arg(required = true, value_name = "FILE")]
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
    for path in &args.files {
        files.push((path, file::read(path)?));
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
        for (trace_id, spans) in by_trace(trace_file.spans) {
            let tree = SpanTree::build(spans);
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
    Ok(0)
}
