//! The validated suite model: what the runner, the graders and the reports read. Built only by
//! [`super::load_project`] and [`super::load_suite`] from TOML; every field here has been
//! checked.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::trace::query::Selector;
use crate::trace::shape::ShapeOptions;
use crate::trace::{Conventions, Span};
use serde_json::Value as Json;

/// Everything `traceval run` loads: the project configuration and the suites.
#[derive(Debug, Clone)]
pub(crate) struct Project {
    /// The directory holding `traceval.toml` (or the working directory without one).
    pub root: PathBuf,
    /// `traceval.toml`, or the defaults when there is none.
    pub config: ProjectConfig,
    /// The suites, in path order.
    pub suites: Vec<Suite>,
    /// Discovered suites with `ignore`, left out of the run (`--include-ignored` runs them).
    pub ignored: Vec<Suite>,
}

/// The optional `traceval.toml` at the project root.
#[derive(Debug, Clone, Default)]
pub(crate) struct ProjectConfig {
    /// Its path, when the file exists.
    pub path: Option<PathBuf>,
    /// Shared `[model.NAME]` definitions.
    pub models: BTreeMap<String, ModelDef>,
    /// Shared `[pricing."MODEL"]` entries.
    pub pricing: BTreeMap<String, Price>,
    /// `[profile.NAME]` run defaults (`profile.ci` is picked when `CI` is set).
    pub profiles: BTreeMap<String, Profile>,
    /// `[conventions]` for every suite, tried after a suite's own.
    pub conventions: Conventions,
    /// `[forward]`: where the run's spans go, below flags and the environment.
    pub forward: crate::forward::ForwardFile,
}

/// Run defaults a profile sets; flags win over them, they win over suite values.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Profile {
    /// Trials per case per model.
    pub trials: Option<u32>,
    /// Concurrent trials.
    pub jobs: Option<usize>,
    /// Per-trial timeout.
    pub timeout: Option<Duration>,
    /// Stop starting trials after the first failure.
    pub fail_fast: Option<bool>,
    /// Models to run (replaces each suite's `models`).
    pub models: Option<Vec<String>>,
    /// JUnit output path, as written relative to the project root and resolved against it.
    pub junit: Option<PathBuf>,
}

/// One suite file.
#[derive(Debug, Clone)]
pub struct Suite {
    /// `name`, or the file stem.
    pub name: String,
    /// The file, as found (relative to the working directory when discovered).
    pub path: PathBuf,
    /// The directory of the file: relative paths in the suite resolve against it.
    pub dir: PathBuf,
    /// `description`.
    pub description: Option<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// `ignore`: `Some` when the suite is left out of discovered runs, with the reason (empty
    /// for `ignore = true`). A suite named by its file path, or `--include-ignored`, runs it.
    pub ignore: Option<String>,
    /// `trials`: k, trials per case per model.
    pub trials: Option<u32>,
    /// `timeout` per trial.
    pub timeout: Option<Duration>,
    /// `models`: names run against; empty means one run with the model name `default`.
    pub models: Vec<String>,
    /// `[agent]`.
    pub agent: Agent,
    /// `[model.NAME]` tables of this suite.
    pub model_defs: BTreeMap<String, ModelDef>,
    /// `[pricing."MODEL"]` tables of this suite.
    pub pricing: BTreeMap<String, Price>,
    /// `[conventions]` of this suite alone; the run tries them before `traceval.toml`'s
    /// ([`ProjectConfig::conventions`]).
    pub conventions: Conventions,
    /// The cases, in file order (a `cases` data file's cases come after the inline ones).
    pub cases: Vec<Case>,
    /// Content hash of the suite file and its data file (FNV-1a 64 over the bytes, 16 hex
    /// digits). Recorded in reports so a run can be tied to the suite it ran.
    pub content_hash: String,
}

/// How one trial runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Agent {
    /// `kind = "command"`: a subprocess per trial (`docs/reference/agent.md`).
    Command(CommandAgent),
    /// `kind = "builtin"`: traceval's own tool loop against the trial's model.
    Builtin(BuiltinAgent),
    /// `kind = "replay"`: no agent runs; each case's recorded trace is graded.
    Replay(ReplayAgent),
}

/// `[agent] kind = "replay"`: each case names a recorded trace (`trace = "path"`), read and
/// checked when the suite loads. A replayed trial's answer is the case's `output`, else the
/// answer recorded on the trace (see [`RecordedTrace::output`]); its exit and stderr tail are
/// those a `--save-traces` root recorded, else exit code 0; a case without `input` takes the
/// input recorded on the trace (`input.value`, `traceloop.entity.input`,
/// `gen_ai.input.messages`), else `""`; its latency is the recorded `eval.trial` root's duration, or the extent of the trace's spans.
/// No model is called: `models` only names the trials (each case is replayed once per name,
/// or once under `default`), and `trials` and `timeout` do not apply.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplayAgent {
    /// The recorded trace of each case, by case id; every case has one.
    pub traces: BTreeMap<String, RecordedTrace>,
}

/// A case's `trace` (and `output`), loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedTrace {
    /// The file, resolved against the suite directory.
    pub path: PathBuf,
    /// Its spans (at least one), in file order; at most one is a recorded trial root
    /// (`eval.trial` without a parent).
    pub spans: std::sync::Arc<[Span]>,
    /// `output`: the answer to grade, overriding any recorded on the trace.
    pub output: Option<String>,
}

/// `[agent] kind = "builtin"` plus the suite's `[[tool]]` tables. The command kind's keys
/// (`command`, `env`, `cwd`) are refused with it, as are `[[tool]]` tables without it.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltinAgent {
    /// `name`: the agent's name in its `invoke_agent` span (default: the suite name); not
    /// blank.
    pub name: String,
    /// `system-prompt`; not blank when given.
    pub system_prompt: Option<String>,
    /// `max-turns`: model calls at most (default 10); at least 1.
    pub max_turns: u32,
    /// `temperature`: finite, from 0 to 2; `None` leaves the provider's default.
    pub temperature: Option<f64>,
    /// `[[tool]]` tables, in file order; names unique. May be empty (an agent that only
    /// answers).
    pub tools: Vec<ToolDef>,
}

/// One `[[tool]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolDef {
    /// `name`: 1 to 64 ASCII letters, digits, `_` or `-`, as LLM APIs accept.
    pub name: String,
    /// `description`; not blank when given.
    pub description: Option<String>,
    /// `parameters`: a JSON schema (default `{"type": "object"}`). Always a JSON object, whose
    /// `type`, when present, is `"object"`; otherwise passed on as written.
    pub parameters: Json,
    /// What a call returns: exactly one of `returns`, `returns-by-args`, `command`, `error`.
    pub result: ToolResult,
}

/// How a builtin agent's tool answers.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolResult {
    /// `returns = …`: always this (a string is returned as is, other JSON as JSON text). Any
    /// TOML value; TOML datetimes become strings, here and in `returns-by-args`.
    Returns(Json),
    /// `returns-by-args = [{ args = {…}, returns = … }, …]`: the first entry whose `args` the
    /// call's arguments contain (JSON subset) answers; an entry without `args` matches any call.
    /// No match is a tool error. Never empty, and no entry follows one that matches any call
    /// (it could never answer).
    ReturnsByArgs(Vec<ArgsCase>),
    /// `command = [...]`: JSON arguments on stdin, the result from stdout; a non-zero exit or
    /// the timeout is a tool error.
    Command {
        /// Program (resolved like an agent's `command`: a name containing `/` against the suite
        /// directory, any other name on `PATH`).
        program: PathBuf,
        /// Arguments.
        args: Vec<String>,
        /// Working directory (the suite directory).
        cwd: PathBuf,
        /// `timeout` (default 30s).
        timeout: Duration,
        /// The line of `command` in the suite file, for messages.
        line: usize,
    },
    /// `error = "message"`: the tool always fails with this message (not blank).
    Error(String),
}

/// One entry of `returns-by-args`.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgsCase {
    /// `args`: the subset to match, always a JSON object; `None` (and an empty object) matches
    /// any arguments.
    pub args: Option<Json>,
    /// `returns`.
    pub returns: Json,
}

/// `[agent] kind = "command"`.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandAgent {
    /// `command`: program and arguments, at least one element. A program path containing `/`
    /// is resolved against the suite directory, to an absolute path; a bare name is looked up
    /// on `PATH`.
    pub program: PathBuf,
    /// The arguments after the program.
    pub args: Vec<String>,
    /// `env`: extra environment for the agent.
    pub env: BTreeMap<String, String>,
    /// `cwd`, resolved against the suite directory (default: the suite directory).
    pub cwd: PathBuf,
    /// The line of `command` in the suite file, for messages.
    pub line: usize,
}

/// `[model.NAME]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDef {
    /// `provider`.
    pub provider: Provider,
    /// `model`: the name sent to the API (default: the table name).
    pub model: Option<String>,
}

/// Where a model's answers come from.
#[derive(Debug, Clone, PartialEq)]
pub enum Provider {
    /// `provider = "scripted"`, `script = "path"` (resolved against the defining file's dir).
    Scripted {
        /// The script file.
        script: PathBuf,
    },
    /// `provider = "openai"`: any OpenAI-compatible chat-completions server.
    OpenAi {
        /// `base-url`.
        base_url: Option<String>,
        /// `api-key-env`: the environment variable holding the key (never the key itself).
        api_key_env: Option<String>,
        /// `organization` (the `OpenAI-Organization` header).
        organization: Option<String>,
        /// `headers`: extra request headers (values are never printed).
        headers: BTreeMap<String, String>,
        /// `timeout`: per request (default 60s).
        timeout: Option<Duration>,
    },
    /// `provider = "anthropic"`.
    Anthropic {
        /// `base-url`.
        base_url: Option<String>,
        /// `api-key-env`.
        api_key_env: Option<String>,
        /// `headers`: extra request headers.
        headers: BTreeMap<String, String>,
        /// `timeout`: per request (default 60s).
        timeout: Option<Duration>,
        /// `max-tokens` (default 1024; the Messages API requires one).
        max_tokens: Option<u32>,
    },
}

pub(crate) use crate::metrics::Price;

/// One `[[case]]`.
#[derive(Debug, Clone)]
pub struct Case {
    /// `id`: unique in the suite, non-empty.
    pub id: String,
    /// `input`: a string or any JSON value, given to the agent as is (in a replay suite, when
    /// left out, the input the trace recorded).
    pub input: Json,
    /// `tags`.
    pub tags: Vec<String>,
    /// `timeout`: overrides the suite's.
    pub timeout: Option<Duration>,
    /// `[case.expect]`.
    pub expect: Expect,
    /// Where the case was defined: file and 1-based line.
    pub origin: Origin,
    /// FNV-1a 64 (16 hex digits) of the case's canonical definition and the suite keys that
    /// change how it runs or is graded (`suite/load/definition.rs`); the report's
    /// `cases[].definition_hash`.
    pub definition_hash: String,
}

/// A place in a suite or data file, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
}

/// `[case.expect]`: the checks of the first grading set. Absent keys check nothing, except
/// the exit code, which must be 0 unless `exit-code` says otherwise.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// `output-equals`: the answer, trimmed of surrounding whitespace, equals this.
    pub output_equals: Option<String>,
    /// `output-contains`: every string occurs in the answer.
    pub output_contains: Vec<String>,
    /// `output-regex`: the answer matches.
    pub output_regex: Option<Regex>,
    /// `output-json`: the answer parses as JSON and contains these fields (JSON subset).
    pub output_json: Option<Json>,
    /// `max-latency`: the trial root span's duration.
    pub max_latency: Option<Duration>,
    /// `max-llm-calls`.
    pub max_llm_calls: Option<u64>,
    /// `max-tool-calls`.
    pub max_tool_calls: Option<u64>,
    /// `max-cost`: USD per trial, 0 or more; an unpriced trial fails it.
    pub max_cost: Option<f64>,
    /// `no-error-spans = true`.
    pub no_error_spans: bool,
    /// `tools`: expected tool calls; `None` when absent (metric absent, not zero).
    pub tools: Option<Vec<ExpectedTool>>,
    /// `min-tool-f1`: the tool check passes when F1 reaches this (default 1.0).
    pub min_tool_f1: Option<f64>,
    /// `exit-code`: the agent's expected exit code (default 0).
    pub exit_code: Option<i32>,
    /// `[[case.expect.span]]`: span assertions, in file order.
    pub spans: Vec<SpanAssertion>,
    /// `trajectory`: how the actual tool calls must line up with `tools` (which it needs).
    pub trajectory: Option<Trajectory>,
    /// `[[case.expect.judge]]`: LLM judges, in file order; names unique.
    pub judges: Vec<Judge>,
    /// `snapshot = true`: the trial's trace shape must match the stored snapshot, rendered
    /// with these options (the case's `snapshot-attrs`, `snapshot-ignore` and
    /// `collapse-repeats`, else the suite's, else the defaults).
    pub snapshot: Option<ShapeOptions>,
}

/// `threshold` of a judge when it is left out: a sample passes with a score of 0.5 or more.
pub(crate) const DEFAULT_JUDGE_THRESHOLD: f64 = 0.5;

/// One `[[case.expect.judge]]`: a model grades the trial's answer against a rubric, `samples`
/// times, and the check passes when more than half of the samples pass (a tie fails). Each
/// sample has the trial's timeout to answer, retries included; one without a verdict is a
/// failed vote.
#[derive(Debug, Clone, PartialEq)]
pub struct Judge {
    /// `name`: the check's name in the report (default `judge`); unique within the case.
    pub name: String,
    /// `model`: a `[model.NAME]` of the suite or of traceval.toml, of any provider.
    pub model: String,
    /// `rubric`: what the answer must do to pass, in words; not blank.
    pub rubric: String,
    /// `threshold`: the score, from 0 to 1, a sample must reach to pass (default
    /// [`DEFAULT_JUDGE_THRESHOLD`]).
    pub threshold: f64,
    /// `samples`: how many verdicts to ask for (default 1); at least 1.
    pub samples: u32,
    /// `temperature` sent with each sample; `None` (the default) sends none, so the provider's
    /// default applies (reasoning models such as o3 or gpt-5 accept no other).
    pub temperature: Option<f64>,
}

/// `trajectory = "in-order"` or `trajectory = { mode = "in-order", args = "contains",
/// tool-args = { search = "ignore" } }`: the order-aware comparison of the trial's tool calls
/// with `expect.tools` (`docs/reference/metrics.md#trajectory`).
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    /// `mode`.
    pub mode: TrajectoryMode,
    /// `args`: how arguments are compared (default `contains`).
    pub args: ArgMode,
    /// `tool-args`: per-tool overrides of `args`.
    pub tool_args: BTreeMap<String, ArgMode>,
}

impl Trajectory {
    /// How the arguments of an expected call of `tool` are compared: its `tool-args`
    /// override, else `args`.
    pub fn arg_mode(&self, tool: &str) -> ArgMode {
        self.tool_args.get(tool).copied().unwrap_or(self.args)
    }
}

/// How the sequence of actual tool calls must relate to the expected one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrajectoryMode {
    /// `exact`: the same calls in the same order, nothing else.
    Exact,
    /// `in-order`: the expected calls appear in this order, other calls may come between.
    InOrder,
    /// `any-order`: the same calls (as a multiset), in any order.
    AnyOrder,
    /// `subset`: every actual call is an expected one (nothing unexpected; some may be missing).
    Subset,
    /// `superset`: every expected call happened (extra calls allowed).
    Superset,
}

impl TrajectoryMode {
    /// The suite spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TrajectoryMode::Exact => "exact",
            TrajectoryMode::InOrder => "in-order",
            TrajectoryMode::AnyOrder => "any-order",
            TrajectoryMode::Subset => "subset",
            TrajectoryMode::Superset => "superset",
        }
    }
}

/// How an expected call's arguments are compared with an actual call's. The names say which
/// side holds the other: the actual call's arguments *contain* the expected ones, or stay
/// *within* them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgMode {
    /// `exact`: equal JSON (numbers by value).
    Exact,
    /// `contains` (the default; also spelled `subset`, its old name): the actual arguments
    /// contain the expected ones, extra keys allowed (agentevals' `superset`).
    Contains,
    /// `within`: the actual arguments stay within the expected ones, keys left out allowed
    /// (agentevals' `subset`).
    Within,
    /// `ignore`: names only.
    Ignore,
}

impl ArgMode {
    /// The suite spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ArgMode::Exact => "exact",
            ArgMode::Contains => "contains",
            ArgMode::Within => "within",
            ArgMode::Ignore => "ignore",
        }
    }

    /// How an expected call reads under this mode, after the call: `read({"id":1}) with at
    /// least these arguments`.
    pub fn phrase(self) -> &'static str {
        match self {
            ArgMode::Exact => "with exactly these arguments",
            ArgMode::Contains => "with at least these arguments",
            ArgMode::Within => "with at most these arguments",
            ArgMode::Ignore => "with any arguments",
        }
    }
}

/// One `[[case.expect.span]]` (`docs/reference/suite.md#caseexpectspan`, selectors in
/// `docs/reference/selectors.md`): the spans `select` matches must satisfy every check given.
/// Without any check it asserts that at least one span matches.
#[derive(Debug, Clone)]
pub struct SpanAssertion {
    /// `select`, parsed.
    pub select: Selector,
    /// `count`: `3`, `"0"` (must not happen), or a comparison such as `">= 1"`.
    pub count: Option<Count>,
    /// `max-duration`: every matched span is at most this long.
    pub max_duration: Option<Duration>,
    /// `status`: every matched span has this status (`ok`, `error` or `unset`).
    pub status: Option<String>,
    /// `attrs`: every matched span has these attributes with these values (JSON equality;
    /// numbers compare by value).
    pub attrs: BTreeMap<String, Json>,
    /// `before`: every matched span starts before every span this selector matches (and
    /// that selector matches at least one span).
    pub before: Option<Selector>,
    /// `after`: every matched span starts after every span this selector matches (and that
    /// selector matches at least one span).
    pub after: Option<Selector>,
}

/// A `count` of a span assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The comparison.
    pub op: CountOp,
    /// The number compared with.
    pub n: u64,
}

/// How a [`Count`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountOp {
    /// `3` or `"== 3"`.
    Eq,
    /// `"!= 3"`.
    Ne,
    /// `"< 3"`.
    Lt,
    /// `"<= 3"`.
    Le,
    /// `"> 3"`.
    Gt,
    /// `">= 3"`.
    Ge,
}

impl Count {
    /// True when `actual` satisfies the count.
    pub fn holds(self, actual: u64) -> bool {
        match self.op {
            CountOp::Eq => actual == self.n,
            CountOp::Ne => actual != self.n,
            CountOp::Lt => actual < self.n,
            CountOp::Le => actual <= self.n,
            CountOp::Gt => actual > self.n,
            CountOp::Ge => actual >= self.n,
        }
    }
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = match self.op {
            CountOp::Eq => "",
            CountOp::Ne => "!= ",
            CountOp::Lt => "< ",
            CountOp::Le => "<= ",
            CountOp::Gt => "> ",
            CountOp::Ge => ">= ",
        };
        write!(f, "{op}{}", self.n)
    }
}

impl std::str::FromStr for Count {
    type Err = String;

    /// `3`, `== 3`, `!= 3`, `< 3`, `<= 3`, `> 3`, `>= 3` (spaces optional).
    fn from_str(s: &str) -> Result<Count, String> {
        let s = s.trim();
        let (op, rest) = [
            ("==", CountOp::Eq),
            ("!=", CountOp::Ne),
            ("<=", CountOp::Le),
            (">=", CountOp::Ge),
            ("<", CountOp::Lt),
            (">", CountOp::Gt),
        ]
        .iter()
        .find_map(|(p, op)| s.strip_prefix(p).map(|rest| (*op, rest)))
        .unwrap_or((CountOp::Eq, s));
        rest.trim()
            .parse::<u64>()
            .map(|n| Count { op, n })
            .map_err(|_| {
                format!("`{s}` is not a count: write a number or a comparison such as \">= 1\"")
            })
    }
}

/// One entry of `expect.tools`.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTool {
    /// `name`.
    pub name: String,
    /// `args`: a JSON object the actual arguments must contain; `None` matches any arguments.
    pub args: Option<Json>,
}
