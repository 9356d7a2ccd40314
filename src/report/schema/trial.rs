//! The report's trials, checks, metrics, judges and warnings: the report's own types, so the
//! report format (`format_version`) changes only when one of these does, never because an
//! event did. They mirror the `$defs` of `docs/reference/report.schema.json`, name for name;
//! `schema/convert.rs` builds them from the runner's events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Which trial: suite, case, model and trial index (0-based). (`TrialId` in the schema.)
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
    /// Killed by a signal it did not expect (not traceval's).
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

/// Why a trial errored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorKind {
    /// Something the agent does not control failed (a model API traceval calls, or the agent's
    /// program could not be started): an outage, not a regression.
    Infrastructure,
    /// The agent did: it timed out, crashed or was killed, or its trial could not be replayed.
    Agent,
}

/// Why a run ended before its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StopReason {
    /// Ctrl-C or SIGTERM.
    Interrupted,
    /// `--fail-fast` after a failed trial.
    FailFast,
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

/// Numbers read from one trial's span tree (`docs/reference/metrics.md`).
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
    /// usage the totals count, so that a trial that called two models can be re-priced with
    /// another table. Left out when no call counted; absent in reports written before it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub usage_by_model: BTreeMap<String, ModelUsage>,
}

/// One model's tokens in one trial (`usage_by_model`); each sums to the trial's totals.
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
    /// Whose fault `error` is; absent when there is no error.
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
    /// `output` is only the start of the answer (at most `--report-output-limit` bytes).
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
    /// What the case's LLM judges did; their verdicts are among `checks`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub judges: Vec<JudgeRecord>,
    /// With `--save-traces` and judges: the judges' spans as OTLP JSON, relative to the traces
    /// directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judge_trace_file: Option<String>,
    /// With `expect.snapshot`: whether the trial's trace shape matched the stored snapshot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_matched: Option<bool>,
    /// FNV-1a 64 (16 hex digits) of the trial's trace shape with the default shape options,
    /// as a snapshot renders it: equal hashes, the same spans nested the same way. `None` when
    /// the trial has no span but its root (and in reports written before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape_hash: Option<String>,
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

/// One LLM judge of one trial: its samples and what its own calls cost (never in the trial's
/// `metrics`, which count the agent alone).
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

/// A warning of the run (a trial's own warnings are in its `warnings`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    /// The trial it is about, when there is one.
    pub trial: Option<TrialId>,
    /// What happened.
    pub message: String,
}
