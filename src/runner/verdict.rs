//! The pure step of a trial: from its finished spans and its agent's outcome to its
//! [`TrialResult`]. The span tree and GenAI view are read by [`score`] (the checks of
//! [`crate::grade`], the metrics, why the trial has no result of its own) and, once the
//! effects are done (judges, the store's refused requests, saved traces), by [`conclude`]
//! (judges' checks, the snapshot comparison, warnings, the failure tree, the answer and stderr
//! cut to the report's limit). No I/O, no clock, no tokio: module `trial` does the effects.

use std::sync::Arc;

use crate::event::{
    AgentExit, CheckResult, ErrorKind, TrialId, TrialMetrics, TrialResult, TrialTrace,
};
use crate::grade::{Finished, Graded};
use crate::hash::fnv1a64;
use crate::metrics::cost::Pricing;
use crate::snapshot::CaseSnapshot;
use crate::suite::spec::Expect;
use crate::trace::render::{RenderOptions, render};
use crate::trace::shape::{Shape, ShapeOptions};
use crate::trace::{GenAiView, NodeId, Span, SpanId, TraceId};

use super::driver::AgentOutcome;
use super::judge::Judged;
use super::ms;

/// Lines of a failing trial's rendered tree kept in results.
const MAX_TREE_LINES: usize = 200;

/// A graded trial, with its trace shape when it was compared with a snapshot and whether it
/// passed its other checks.
pub(super) type Ran = (TrialResult, Option<(String, bool)>);

/// A finished trial's spans, read.
pub(super) struct Evidence<'a> {
    /// Suite, case, model and trial index.
    pub(super) id: &'a TrialId,
    /// The case's checks.
    pub(super) expect: &'a Expect,
    /// The trial root span `eval.trial`.
    pub(super) root: &'a Span,
    /// The trial's other spans (every trace attributed to it).
    pub(super) spans: &'a [Arc<Span>],
    /// The trial's tree (root and spans), read as GenAI.
    pub(super) view: &'a GenAiView<'a>,
    /// The trial root's node in the tree.
    pub(super) root_node: NodeId,
    /// The spans are a replay's recording: nothing was sent this time.
    pub(super) replayed: bool,
}

/// A trial's checks before its judges: what its spans and its agent's outcome decide.
#[derive(Debug)]
pub(super) struct Scored {
    /// Every check but the judges and the snapshot.
    pub(super) graded: Graded,
    /// The trial's metrics.
    pub(super) metrics: TrialMetrics,
    /// Why the trial has no result of its own (see [`trial_error`]): such a trial is neither
    /// judged nor compared with its snapshot.
    pub(super) error: Option<String>,
    /// Whose fault `error` is.
    pub(super) error_kind: Option<ErrorKind>,
}

/// What the trial's effects gave after [`score`].
#[derive(Debug, Default)]
pub(super) struct After<'a> {
    /// The judges' checks and records (their spans are the effects' to save).
    pub(super) judged: Judged,
    /// The case × model's snapshot, when the case has one.
    pub(super) snapshot: Option<&'a CaseSnapshot>,
    /// Export requests the receiver refused: how many, and the first one's reason.
    pub(super) rejections: Option<(u64, String)>,
    /// `--save-traces`: the files written and what went wrong.
    pub(super) saved: Saved,
    /// Most bytes of the answer and of the stderr tail kept in the result.
    pub(super) report_output_limit: usize,
}

/// `--save-traces` for one trial: the files' names for the report, and warnings.
#[derive(Debug, Default)]
pub(super) struct Saved {
    /// The trial's trace file.
    pub(super) trace_file: Option<String>,
    /// The judges' trace file.
    pub(super) judge_trace_file: Option<String>,
    /// What was cut from the saved root, and files that could not be written.
    pub(super) warnings: Vec<String>,
}

/// Grades a finished trial's spans and outcome against its checks. `replay_error` is why it
/// could not be replayed, `infrastructure_error` why its model API failed.
pub(super) fn score(
    trial: &Evidence<'_>,
    outcome: &AgentOutcome,
    replay_error: Option<String>,
    infrastructure_error: Option<String>,
    pricing: &Pricing,
) -> Scored {
    let (graded, metrics) = crate::grade::score(
        trial.expect,
        &Finished {
            output: &outcome.output,
            exit: &outcome.exit,
            view: trial.view,
            root: trial.root_node,
            latency: outcome.duration,
        },
        pricing,
    );
    let (error, error_kind) = trial_error(replay_error, infrastructure_error, &outcome.exit);
    Scored {
        graded,
        metrics,
        error,
        error_kind,
    }
}

/// The judges' checks of a trial that is not judged: each fails, never passes.
pub(super) fn not_judged(expect: &Expect, why: &str) -> Judged {
    Judged {
        checks: expect
            .judges
            .iter()
            .map(|j| CheckResult {
                name: j.name.clone(),
                passed: false,
                message: format!("not judged: {why}"),
                score: None,
            })
            .collect(),
        ..Judged::default()
    }
}

/// The trial's result, from its score and what the effects gave after it.
pub(super) fn conclude(
    trial: &Evidence<'_>,
    scored: Scored,
    outcome: AgentOutcome,
    after: After<'_>,
) -> Ran {
    let Scored {
        mut graded,
        metrics,
        error,
        mut error_kind,
    } = scored;
    let After {
        judged,
        snapshot,
        rejections,
        saved,
        report_output_limit,
    } = after;
    // An outage of a judge's model leaves the trial ungraded rather than failed, unless a
    // check the agent is answerable for failed already.
    let checks_held = graded.passed();
    graded.checks.extend(judged.checks);
    // Only a trial that did the right thing otherwise may give a case its snapshot.
    let others_passed = graded.passed() && error.is_none();
    let compared = snapshot.map(|s| s.compare(trial.view, trial.root_node, error.as_deref()));
    let (snapshot_matched, shape) = match compared {
        Some(compared) => {
            graded.checks.push(compared.check);
            let shape = compared.shape.map(|shape| (shape, others_passed));
            (Some(compared.matched), shape)
        }
        None => (None, None),
    };
    let error = match (error, judged.infrastructure) {
        (None, Some(why)) if checks_held && snapshot_matched != Some(false) => {
            error_kind = Some(ErrorKind::Infrastructure);
            Some(why)
        }
        (error, _) => error,
    };
    let passed = graded.passed() && error.is_none();

    let trace_id = trial.root.trace_id;
    let tree = trial.view.tree();
    let agent_traces: Vec<TraceId> = tree
        .trace_ids()
        .into_iter()
        .filter(|t| *t != trace_id)
        .collect();
    let mut warnings = outcome.warnings;
    // A replay's warnings are the recorded ones: nothing was sent this time.
    if !trial.replayed {
        if tree.len() == 1 {
            warnings.extend(no_spans(&outcome.exit, &outcome.stderr_tail));
        }
        warnings.extend(transport_warnings(rejections, trial.spans, trial.root));
    }
    warnings.extend(saved.warnings);
    let trace = trace_of(trial, &graded);
    let span_tree = (!passed).then(|| {
        let text = render(
            trial.view,
            &RenderOptions {
                marked: graded.marked,
                max_value_len: 0,
            },
        );
        cap_lines(text, MAX_TREE_LINES)
    });

    if outcome.output.len() > report_output_limit {
        warnings.push(format!(
            "the report keeps the first {} bytes of the {}-byte answer (all of it was graded; \
             --save-traces keeps all of it)",
            report_output_limit,
            outcome.output.len()
        ));
    }
    let result = TrialResult {
        suite: trial.id.suite.clone(),
        case: trial.id.case.clone(),
        model: trial.id.model.clone(),
        trial: trial.id.trial,
        trace_id: trace_id.to_string(),
        agent_trace_ids: agent_traces.iter().map(ToString::to_string).collect(),
        passed,
        error,
        error_kind,
        duration_ms: ms(outcome.duration),
        exit: outcome.exit,
        output_truncated: outcome.output.len() > report_output_limit,
        stderr_truncated: outcome.stderr_tail.len() > report_output_limit,
        output: keep_head(outcome.output, report_output_limit),
        stderr_tail: keep_tail(outcome.stderr_tail, report_output_limit),
        checks: graded.checks,
        metrics,
        warnings,
        span_tree,
        trace_file: saved.trace_file,
        judges: judged.records,
        judge_trace_file: saved.judge_trace_file,
        snapshot_matched,
        shape_hash: shape_hash(trial.view, trial.root_node),
        trace: Some(Arc::new(trace)),
    };
    (result, shape)
}

/// The trial's spans for the outputs that read traces; the judges' spans are the effects' to
/// add. The Arcs are shared, not copied.
fn trace_of(trial: &Evidence<'_>, graded: &Graded) -> TrialTrace {
    let tree = trial.view.tree();
    let span_id = |node: NodeId| tree.node(node).span().span_id;
    let last_llm = trial
        .view
        .llm_calls()
        .iter()
        .max_by_key(|call| tree.node(call.node).span().end_time_unix_nano)
        .map(|call| span_id(call.node));
    TrialTrace {
        root: Arc::new(trial.root.clone()),
        spans: trial.spans.to_vec(),
        judge_spans: Vec::new(),
        offending: graded
            .offending
            .iter()
            .map(|&(check, node)| (check, span_id(node)))
            .collect(),
        last_llm,
        input: String::new(),
        conventions: trial.view.conventions().clone(),
    }
}

/// FNV-1a 64 (16 hex digits) of the trial's trace shape with the default options: the trial
/// root's subtrees and any other root, as `CaseSnapshot::compare` takes them, and the text as a
/// snapshot file stores it (trailing whitespace trimmed). `None` when no span but the root is
/// shown.
pub(super) fn shape_hash(view: &GenAiView<'_>, root: NodeId) -> Option<String> {
    let tree = view.tree();
    let others = tree.roots().map(|n| n.id()).filter(|&id| id != root);
    let tops = tree.node(root).children().map(|n| n.id()).chain(others);
    let shape = Shape::of_nodes(view, tops, &ShapeOptions::default());
    let text = shape.as_str().trim_end();
    (!text.is_empty()).then(|| format!("{:016x}", fnv1a64(text.as_bytes())))
}

/// Why an agent that ran sent no spans, as far as its exit tells.
fn no_spans(exit: &AgentExit, stderr_tail: &str) -> Option<String> {
    match exit {
        AgentExit::Code { code: 0 } => Some(
            "the agent sent no spans: it probably exited without shutting its tracer \
             provider down (call shutdown() or force_flush() before exit), or its SDK was \
             configured in code and ignores OTEL_EXPORTER_OTLP_ENDPOINT"
                .to_owned(),
        ),
        // It failed before tracing anything: what it said is the lead, not the SDK.
        AgentExit::Code { code } => Some(format!(
            "the agent sent no spans: it exited with code {code}{}",
            stderr_ending(stderr_tail)
        )),
        AgentExit::Signal { .. } | AgentExit::TimedOut => {
            Some("the agent sent no spans before it was stopped".to_owned())
        }
        AgentExit::Cancelled | AgentExit::SpawnFailed { .. } => None,
    }
}

/// The first `max` bytes of `text` (fewer, to end on a character), in an allocation of their
/// own: the agent's megabyte must not stay behind in the report.
pub(super) fn keep_head(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    text[..end].to_owned()
}

/// The last `max` bytes of `text` (fewer, to start on a character), in an allocation of their
/// own.
pub(super) fn keep_tail(text: String, max: usize) -> String {
    if text.len() <= max {
        return text;
    }
    let start = (text.len() - max..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

/// `; its stderr ends: LAST LINE` when the agent wrote to stderr, else nothing.
fn stderr_ending(tail: &str) -> String {
    let last = tail.lines().rev().map(str::trim).find(|l| !l.is_empty());
    match last {
        Some(line) => format!(
            "; its stderr ends: {}",
            crate::trace::render::clean(line, 300)
        ),
        None => "; it wrote nothing to stderr".to_owned(),
    }
}

/// Warnings about what did not reach the trial's tree: export requests the receiver refused
/// (the agent's SDK logs at most a line nobody reads), and spans whose parent never arrived.
pub(super) fn transport_warnings(
    rejections: Option<(u64, String)>,
    spans: &[Arc<Span>],
    root: &Span,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some((n, first)) = rejections {
        let s = if n == 1 { "" } else { "s" };
        warnings.push(format!(
            "the receiver refused {n} OTLP export request{s} of the agent; the first: {}",
            crate::trace::render::clean(&first, 300)
        ));
    }
    let ids: std::collections::HashSet<(TraceId, SpanId)> = spans
        .iter()
        .map(|s| (s.trace_id, s.span_id))
        .chain(std::iter::once((root.trace_id, root.span_id)))
        .collect();
    let orphans = spans
        .iter()
        .filter(|s| {
            s.parent_span_id
                .is_some_and(|p| !ids.contains(&(s.trace_id, p)))
        })
        .count();
    if orphans > 0 {
        let spans = if orphans == 1 {
            "span's parent"
        } else {
            "spans' parents"
        };
        warnings.push(format!(
            "{orphans} {spans} never arrived: the agent may have exited before flushing"
        ));
    }
    warnings
}

/// Why a trial has no result of its own, and whose fault that is: it could not be replayed
/// (the agent's), its model API failed (infrastructure), its program could not be started
/// (infrastructure), or it did not finish (the agent's).
pub(super) fn trial_error(
    replay_error: Option<String>,
    infrastructure_error: Option<String>,
    exit: &AgentExit,
) -> (Option<String>, Option<ErrorKind>) {
    if let Some(why) = replay_error {
        return (Some(why), Some(ErrorKind::Agent));
    }
    if let Some(why) = infrastructure_error {
        return (Some(why), Some(ErrorKind::Infrastructure));
    }
    match exit {
        AgentExit::Code { .. } => (None, None),
        AgentExit::SpawnFailed { .. } => (
            Some(format!("the agent {}", exit.describe())),
            Some(ErrorKind::Infrastructure),
        ),
        signal @ AgentExit::Signal { .. } => (
            Some(format!("the agent was {}", signal.describe())),
            Some(ErrorKind::Agent),
        ),
        other => (
            Some(format!("the agent {}", other.describe())),
            Some(ErrorKind::Agent),
        ),
    }
}

/// `text` cut after `max` lines, with a line saying how many more there were.
pub(super) fn cap_lines(text: String, max: usize) -> String {
    let total = text.lines().count();
    if total <= max {
        return text;
    }
    let mut kept: String = text.lines().take(max).flat_map(|l| [l, "\n"]).collect();
    kept.push_str(&format!("… {} more lines\n", total - max));
    kept
}

#[cfg(test)]
mod tests;
