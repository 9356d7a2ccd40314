//! `RunEvent`: the vocabulary the runner emits and every reporter reads. The runner does not
//! know who listens; reporters (terminal, JSON lines, the report builder) do not know the runner.
//!
//! Everything here is plain data, serializable, so `--message-format json` is one event per
//! line and the report is a fold over the events.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::trace::{Span, SpanId};

/// One thing that happened during a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum RunEvent {
    /// The plan is fixed and the first trial is about to start.
    RunStarted(RunStarted),
    /// A trial's agent was started.
    TrialStarted(TrialId),
    /// A trial finished and was graded.
    TrialFinished(Box<TrialResult>),
    /// Every trial of one case × model finished.
    CaseFinished(CaseFinished),
    /// Something the user should know that is not a failure (e.g. unattributed spans).
    Warning(Warning),
    /// The trace-shape snapshot of a case × model did not match and was written for review,
    /// updated, or left unwritten (in CI).
    Snapshot(SnapshotEvent),
    /// The run is over (complete, interrupted or stopped by `--fail-fast`).
    RunFinished(RunFinished),
}

/// The run's identity and plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunStarted {
    /// UUIDv7 of the run.
    pub run_id: String,
    /// RFC 3339 start time (UTC, milliseconds).
    pub started_at: String,
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Suites in the plan.
    pub suites: usize,
    /// Distinct cases in the plan.
    pub cases: usize,
    /// Distinct models in the plan.
    pub models: usize,
    /// Case × model groups.
    pub groups: usize,
    /// Trials in the plan.
    pub trials: usize,
    /// Concurrent trials at most.
    pub jobs: usize,
    /// Suites left out because they say `ignore`.
    #[serde(default)]
    pub ignored_suites: usize,
}

/// Which trial: suite, case, model and trial index (0-based).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrialId {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// Trial index, 0-based.
    pub trial: u32,
}

/// How a trial's agent ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AgentExit {
    /// Exited with this code.
    Code {
        /// The exit code.
        code: i32,
    },
    /// Killed by a signal it did not expect (not ours).
    Signal {
        /// The signal number.
        signal: i32,
    },
    /// Ran past the timeout and was killed.
    TimedOut,
    /// The run was interrupted while it ran; it was killed.
    Cancelled,
    /// Could not be started at all.
    SpawnFailed {
        /// Why.
        message: String,
    },
}

impl AgentExit {
    /// A short human description (`exit code 3`, `killed by signal 9`, `timed out`...).
    pub fn describe(&self) -> String {
        match self {
            AgentExit::Code { code } => format!("exit code {code}"),
            AgentExit::Signal { signal } => match signal_name(*signal) {
                Some(name) => format!("killed by signal {signal} ({name})"),
                None => format!("killed by signal {signal}"),
            },
            AgentExit::TimedOut => "timed out".to_owned(),
            AgentExit::Cancelled => "cancelled".to_owned(),
            AgentExit::SpawnFailed { message } => format!("could not start: {message}"),
        }
    }
}

/// The name of a signal number (`SIGSEGV` for 11), where this platform numbers it so.
fn signal_name(signal: i32) -> Option<&'static str> {
    // Numbered alike on every Unix.
    let common = match signal {
        1 => Some("SIGHUP"),
        2 => Some("SIGINT"),
        3 => Some("SIGQUIT"),
        4 => Some("SIGILL"),
        5 => Some("SIGTRAP"),
        6 => Some("SIGABRT"),
        8 => Some("SIGFPE"),
        9 => Some("SIGKILL"),
        11 => Some("SIGSEGV"),
        13 => Some("SIGPIPE"),
        14 => Some("SIGALRM"),
        15 => Some("SIGTERM"),
        _ => None,
    };
    #[cfg(target_os = "linux")]
    let platform = match signal {
        7 => Some("SIGBUS"),
        10 => Some("SIGUSR1"),
        12 => Some("SIGUSR2"),
        24 => Some("SIGXCPU"),
        25 => Some("SIGXFSZ"),
        31 => Some("SIGSYS"),
        _ => None,
    };
    #[cfg(not(target_os = "linux"))]
    let platform = None;
    common.or(platform)
}

/// The verdict of one check on one trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The check's name: the suite key it comes from (`output-contains`, `tools`...).
    pub name: String,
    /// Whether it held.
    pub passed: bool,
    /// What was expected and what was seen, for a human.
    pub message: String,
    /// A score in [0, 1] where the check has one (tool F1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

/// One tool call as the report lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// Tool name.
    pub name: String,
    /// Arguments, when recorded (parsed JSON, or the raw text as a JSON string).
    pub args: Option<serde_json::Value>,
}

/// Numbers read from one trial's span tree (`docs/reference/metrics.md`; `TrialMetrics` in
/// `docs/reference/report.schema.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrialMetrics {
    /// Counted LLM calls.
    pub llm_calls: u64,
    /// Tool calls in tree order.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Input tokens over counted calls.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read input tokens.
    pub cache_read_tokens: u64,
    /// Cache-write (cache creation) input tokens.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Cost in USD; `None` when unpriced (never summed as 0).
    pub cost_usd: Option<f64>,
    /// True when some call had usage but no price and no recorded cost.
    pub unpriced: bool,
    /// Models that had no price.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced_models: Vec<String>,
    /// Retried LLM calls.
    pub retries: u64,
    /// Spans with an error status, exception or `error.type`.
    pub error_spans: u64,
    /// Spans in the trial's tree, the trial root included.
    pub span_count: u64,
    /// Tool precision against `expect.tools` (absent without it).
    pub tool_precision: Option<f64>,
    /// Tool recall.
    pub tool_recall: Option<f64>,
    /// Tool F1.
    pub tool_f1: Option<f64>,
    /// Matched expected tool calls (for micro F1 over a model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_matched: Option<u64>,
    /// Expected tool calls (for micro F1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_expected: Option<u64>,
    /// LLM span durations in ns (for percentiles by span kind).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub llm_durations_ns: Vec<u64>,
    /// Tool span durations in ns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_durations_ns: Vec<u64>,
    /// Tokens by the model that answered (else the model asked for), over the calls whose
    /// usage counts: what re-pricing a trial with another table needs.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage_by_model: BTreeMap<String, ModelUsage>,
}

/// One model's tokens in one trial.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// Input tokens, cached ones included.
    pub input: u64,
    /// Output tokens.
    pub output: u64,
    /// Input tokens read from the prompt cache.
    pub cache_read: u64,
    /// Input tokens written to the prompt cache.
    pub cache_write: u64,
}

/// One graded trial.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialResult {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// Trial index, 0-based.
    pub trial: u32,
    /// The trial root span's trace id.
    pub trace_id: String,
    /// Other traces attributed to the trial (the agent's own, when it did not read
    /// `TRACEPARENT`).
    pub agent_trace_ids: Vec<String>,
    /// Every check held and the agent ran to completion.
    pub passed: bool,
    /// Why the trial could not be judged normally (timeout, crash, spawn failure, its model
    /// API down), else `None`.
    pub error: Option<String>,
    /// Whose fault `error` is: `infrastructure` or `agent`; absent when there is no error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_kind: Option<ErrorKind>,
    /// The trial root span's duration.
    pub duration_ms: f64,
    /// How the agent ended.
    pub exit: AgentExit,
    /// The answer (from `TRACEVAL_OUTPUT` or stdout), bounded.
    pub output: String,
    /// The end of stderr, bounded.
    pub stderr_tail: String,
    /// `output` is only the start of the answer: the report keeps at most
    /// `--report-output-limit` bytes of it (the trial was graded on all of it, and
    /// `--save-traces` keeps all of it on the saved trial root).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub output_truncated: bool,
    /// `stderr_tail` is only the end of what the report could keep.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stderr_truncated: bool,
    /// Every check, in a fixed order.
    pub checks: Vec<CheckResult>,
    /// Numbers from the span tree.
    pub metrics: TrialMetrics,
    /// Things worth knowing (no spans received, output truncated...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The rendered span tree with offending spans marked; failing trials only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_tree: Option<String>,
    /// With `--save-traces`: the trial's OTLP JSON file, relative to the traces directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_file: Option<String>,
    /// What the case's LLM judges did, one per `[[case.expect.judge]]`; their verdicts are
    /// among `checks`. Their calls are in their own traces, never in `metrics`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<JudgeRecord>,
    /// With `--save-traces` and judges: the judges' spans as OTLP JSON, relative to the traces
    /// directory (apart from `trace_file`, so a re-grade of that file never counts them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_trace_file: Option<String>,
    /// With `expect.snapshot`: whether the trial's trace shape matched the stored snapshot
    /// (false when the agent did not finish and the shape was not compared; absent without
    /// `expect.snapshot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_matched: Option<bool>,
    /// FNV-1a 64 of the trial's trace shape with the default options; `None` without spans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_hash: Option<String>,
    /// The trial's spans, for the outputs that read traces (OTLP forwarding); never
    /// serialized, and dropped when the report folds the trial in, so a long run does not hold
    /// every span until it ends.
    #[serde(skip)]
    pub trace: Option<Arc<TrialTrace>>,
}

/// A finished trial's spans, as graded.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialTrace {
    /// The trial root `eval.trial` (as graded; a replay's recorded root).
    pub root: Arc<Span>,
    /// Every other span attributed to the trial: traceval's own and the agent's.
    pub spans: Vec<Arc<Span>>,
    /// The LLM judges' spans (their own traces, linked to the trial root).
    pub judge_spans: Vec<Arc<Span>>,
    /// The spans each failed check points at, by the check's index in
    /// [`TrialResult::checks`].
    pub offending: Vec<(usize, SpanId)>,
    /// The agent's last LLM call, which a judge's verdict is also about.
    pub last_llm: Option<SpanId>,
    /// The case's input as the agent got it (a string as is, else JSON).
    pub input: String,
    /// The conventions the trial was graded by (the suite's, then the project's), so that
    /// what reads its spans later sees the kinds and fields grading saw.
    pub conventions: crate::trace::Conventions,
}

/// Why a trial errored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Something the agent does not control failed: a model API that traceval calls (the
    /// builtin agent's, a judge's) was unreachable (connection refused, DNS, TLS), refused the
    /// key (401, 403), stayed rate-limited (429) or failing (5xx) after every retry, or timed
    /// out; or the agent's program could not be started. An outage, not a regression: such
    /// trials make the run exit 3, not 1, unless another trial failed.
    Infrastructure,
    /// The agent did: it timed out, crashed or was killed, or its trial could not be replayed.
    Agent,
}

/// One LLM judge of one trial: its samples and what its own calls cost. None of it is in the
/// trial's `metrics`, which count the agent alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeRecord {
    /// The check it decided (`judge`, or its `name`).
    pub name: String,
    /// The judge's model, as the suite names it.
    pub model: String,
    /// Its own trace (root span `eval.judge`, linked to the trial root), when it ran.
    pub trace_id: Option<String>,
    /// One entry per sample, in order.
    pub samples: Vec<JudgeSample>,
    /// LLM calls the judge made (retries are inside a call).
    pub llm_calls: u64,
    /// Input tokens of those calls.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Their cost in USD; `None` when unpriced (never summed as 0).
    pub cost_usd: Option<f64>,
    /// True when a call had usage but no price.
    pub unpriced: bool,
}

/// One verdict of a judge: a score and why, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgeSample {
    /// The score reached the threshold.
    pub passed: bool,
    /// The score in [0, 1], when the judge gave a readable verdict.
    pub score: Option<f64>,
    /// The judge's explanation (bounded).
    pub explanation: Option<String>,
    /// Why there is no verdict: the call failed or timed out, or the answer was unreadable.
    pub error: Option<String>,
}

impl TrialResult {
    /// The trial's identity.
    pub fn id(&self) -> TrialId {
        TrialId {
            suite: self.suite.clone(),
            case: self.case.clone(),
            model: self.model.clone(),
            trial: self.trial,
        }
    }

    /// True when the trial errored (could not run to completion) rather than failed a check.
    pub fn errored(&self) -> bool {
        self.error.is_some()
    }

    /// True when the trial errored for [`ErrorKind::Infrastructure`].
    pub fn infrastructure_error(&self) -> bool {
        self.error.is_some() && self.error_kind == Some(ErrorKind::Infrastructure)
    }
}

/// Every trial of one case × model is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseFinished {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// Trials run.
    pub n: u32,
    /// Trials passed.
    pub passed: u32,
    /// Wall time from the group's first trial start to its last trial end.
    pub duration_ms: f64,
    /// With `expect.snapshot`: trials whose trace shape matched the snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_matched: Option<u32>,
}

/// What a run did with the trace-shape snapshot of one case × model whose shape did not match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEvent {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// The file written (or that would have been), relative to the project root.
    pub file: String,
    /// What happened to it.
    pub action: SnapshotAction,
}

/// What happened to a snapshot that did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotAction {
    /// The new shape was written to a `.snap.new` file for review.
    Pending,
    /// The `.snap` file was rewritten with the new shape (`--snapshots=update`).
    Updated,
    /// A first snapshot: the case had none, so its shape was recorded as the `.snap` file.
    Recorded,
    /// Nothing was written (CI, or `INSTA_UPDATE=no`).
    Unwritten,
    /// No `.snap` was recorded (or updated): no trial passed its other checks, and only such
    /// a trial's shape may become the snapshot without review.
    NotRecorded,
}

/// A warning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// The trial it is about, when there is one.
    pub trial: Option<TrialId>,
    /// What happened.
    pub message: String,
}

/// Why a run ended before its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// `--fail-fast` after a failed trial.
    FailFast,
}

/// The end of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFinished {
    /// Wall time of the run.
    pub duration_ms: f64,
    /// Why it ended early, if it did.
    pub stopped: Option<StopReason>,
    /// Planned trials that never started.
    pub not_run: usize,
    /// Spans received that matched no trial.
    pub unattributed_spans: usize,
    /// Those spans, for the outputs that forward them (not serialized).
    #[serde(skip)]
    pub unattributed: Vec<Arc<Span>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_is_named() {
        assert_eq!(
            AgentExit::Signal { signal: 11 }.describe(),
            "killed by signal 11 (SIGSEGV)"
        );
        assert_eq!(
            AgentExit::Signal { signal: 64 }.describe(),
            "killed by signal 64"
        );
    }
}
