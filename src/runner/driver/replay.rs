//! The replay driver: no agent runs. It hands the runner a recorded trial, whose spans are
//! then graded exactly like a live trial's (the same tree, view, graders and metrics).
//!
//! Two sources: an `[agent] kind = "replay"` suite, whose cases name trace files (loaded with
//! the suite), and a previous run replayed with `traceval run --replay`, whose report gives each
//! trial's answer, exit, diagnostics and warnings and whose `--save-traces` files give its spans.
//!
//! A recorded trial root (`eval.trial`, as `--save-traces` writes it) becomes the trial's root
//! again, with its ids and times, so the latency, the trace id and the tree are the live run's.
//! A trace without one gets a fresh root over the extent of its spans.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::{AgentOutcome, BoxFuture, Driver, TrialContext};
use crate::capture::file::{is_trial_root, read};
use crate::event::{AgentExit, TrialId, TrialResult};
use crate::suite::model::{RecordedTrace, ReplayAgent};
use crate::trace::genai::classify;
use crate::trace::{Kind, Span, SpanTree, Value};

/// The spans of a replayed trial, which the runner grades instead of the store's.
#[derive(Debug, Clone, PartialEq)]
pub struct Recording {
    /// The recorded trial root, which becomes the trial's root; `None` when the trace has none
    /// (the runner then opens one from `start_ns` for the outcome's duration).
    pub root: Option<Arc<Span>>,
    /// Every other span.
    pub spans: Vec<Arc<Span>>,
    /// Where a root opened by the runner starts: the earliest span's start.
    pub start_ns: u64,
    /// Why the trial could not be replayed (its trace is missing or unreadable): the trial
    /// errors with this message.
    pub error: Option<String>,
}

impl Recording {
    /// Splits recorded spans into the trial root, if there is one, and the rest; with the
    /// latency: the root's duration, else the extent of the spans.
    fn new(spans: impl IntoIterator<Item = Span>) -> (Recording, Duration) {
        let mut root = None;
        let mut rest = Vec::new();
        for span in spans {
            if root.is_none() && is_trial_root(&span) {
                root = Some(Arc::new(span));
            } else {
                rest.push(Arc::new(span));
            }
        }
        let (start, end) = match &root {
            Some(root) => (root.start_time_unix_nano, root.end_time_unix_nano),
            None => (
                rest.iter()
                    .map(|s| s.start_time_unix_nano)
                    .min()
                    .unwrap_or(0),
                rest.iter().map(|s| s.end_time_unix_nano).max().unwrap_or(0),
            ),
        };
        let recording = Recording {
            root,
            spans: rest,
            start_ns: start,
            error: None,
        };
        (recording, Duration::from_nanos(end.saturating_sub(start)))
    }

    fn failed(error: String) -> Recording {
        Recording {
            root: None,
            spans: Vec::new(),
            start_ns: 0,
            error: Some(error),
        }
    }
}

/// A previous run to replay: its trials and the directory its traces were saved in.
#[derive(Debug)]
pub struct RecordedRun {
    /// The run's id.
    pub run_id: String,
    /// Its `--save-traces` directory (`reports/<run-id>/traces`).
    pub traces_dir: PathBuf,
    trials: HashMap<TrialId, TrialResult>,
}

impl RecordedRun {
    /// A run's trials, as its report lists them; `trace_file`s are read from `traces_dir`.
    pub fn new(
        run_id: String,
        traces_dir: PathBuf,
        trials: impl IntoIterator<Item = TrialResult>,
    ) -> RecordedRun {
        RecordedRun {
            run_id,
            traces_dir,
            trials: trials.into_iter().map(|t| (t.id(), t)).collect(),
        }
    }

    /// The recorded trials' ids, in no particular order.
    pub fn trial_ids(&self) -> impl Iterator<Item = &TrialId> + '_ {
        self.trials.keys()
    }

    /// The recorded trial `id`.
    pub fn trial(&self, id: &TrialId) -> Option<&TrialResult> {
        self.trials.get(id)
    }
}

/// Where a replay's trials come from.
enum Source {
    Suite(ReplayAgent),
    Run(Arc<RecordedRun>),
}

/// Replays recorded trials (see the module documentation).
pub struct ReplayDriver {
    source: Arc<Source>,
}

impl ReplayDriver {
    /// Replays the traces an `[agent] kind = "replay"` suite names.
    pub fn for_suite(agent: ReplayAgent) -> ReplayDriver {
        ReplayDriver {
            source: Arc::new(Source::Suite(agent)),
        }
    }

    /// Replays the trials of a previous run.
    pub fn for_run(run: Arc<RecordedRun>) -> ReplayDriver {
        ReplayDriver {
            source: Arc::new(Source::Run(run)),
        }
    }
}

impl Driver for ReplayDriver {
    fn run(&self, trial: TrialContext) -> BoxFuture<AgentOutcome> {
        let source = Arc::clone(&self.source);
        Box::pin(async move {
            match &*source {
                Source::Suite(agent) => match agent.traces.get(&trial.id.case) {
                    Some(trace) => replay_trace(trace),
                    // The loader gives every case of a replay suite a trace.
                    None => panic!("case `{}` of a replay suite has no trace", trial.id.case),
                },
                Source::Run(run) => replay_trial(run, &trial.id).await,
            }
        })
    }
}

/// A case's recorded trace: exit 0, the case's `output` or the answer the trace recorded.
fn replay_trace(trace: &RecordedTrace) -> AgentOutcome {
    let output = trace
        .output
        .clone()
        .or_else(|| recorded_answer(&trace.spans))
        .unwrap_or_default();
    let (recording, duration) = Recording::new(trace.spans.iter().cloned());
    AgentOutcome {
        exit: AgentExit::Code { code: 0 },
        duration,
        output,
        stderr_tail: String::new(),
        warnings: Vec::new(),
        recording: Some(recording),
        infrastructure_error: None,
    }
}

/// A trial of a previous run: its saved trace, and its answer, exit, diagnostics and warnings
/// as the report recorded them.
async fn replay_trial(run: &RecordedRun, id: &TrialId) -> AgentOutcome {
    let Some(recorded) = run.trial(id) else {
        // The plan holds only recorded trials.
        panic!("trial {id:?} is not in the replayed run");
    };
    let outcome = |recording, duration| AgentOutcome {
        exit: recorded.exit.clone(),
        duration,
        output: recorded.output.clone(),
        stderr_tail: recorded.stderr_tail.clone(),
        warnings: recorded.warnings.clone(),
        recording: Some(recording),
        // A recorded outage stays one: re-grading its spans would call it a failure.
        infrastructure_error: recorded
            .error
            .clone()
            .filter(|_| recorded.error_kind == Some(crate::event::ErrorKind::Infrastructure)),
    };
    // Without a trace the recorded latency is all there is; the trial errors anyway.
    let recorded_latency =
        Duration::try_from_secs_f64(recorded.duration_ms / 1000.0).unwrap_or(Duration::ZERO);
    let Some(name) = &recorded.trace_file else {
        let why = format!(
            "cannot replay: run {} saved no trace for this trial",
            run.run_id
        );
        return outcome(Recording::failed(why), recorded_latency);
    };
    let path = match trace_path(&run.traces_dir, name) {
        Ok(path) => path,
        Err(why) => return outcome(Recording::failed(why), recorded_latency),
    };
    let read = tokio::task::spawn_blocking(move || read(&path)).await;
    match read.expect("reading a trace file does not panic") {
        Ok(file) if file.rejected == 0 => {
            let (recording, duration) = Recording::new(file.spans);
            outcome(recording, duration)
        }
        Ok(file) => {
            let why = format!(
                "cannot replay: the saved trace `{name}` has {} span(s) with invalid ids",
                file.rejected
            );
            outcome(Recording::failed(why), recorded_latency)
        }
        Err(e) => {
            let mut why = format!("cannot replay: {e}");
            if let Some(cause) = std::error::Error::source(&e) {
                why.push_str(&format!(": {cause}"));
            }
            outcome(Recording::failed(why), recorded_latency)
        }
    }
}

/// A report's `trace_file` inside `dir`. The name is data from a file: only plain relative
/// components are accepted, so that it cannot reach outside the traces directory.
fn trace_path(dir: &Path, name: &str) -> Result<PathBuf, String> {
    let relative = Path::new(name);
    let plain = !name.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if !plain {
        return Err(format!(
            "cannot replay: the report names the trace file `{name}`, which is not a plain \
             relative path inside the traces directory"
        ));
    }
    Ok(dir.join(relative))
}

/// Attributes that hold an agent's answer, by convention (OpenInference, OpenLLMetry, OTel
/// GenAI output messages).
const ANSWER_KEYS: [&str; 3] = [
    "output.value",
    "traceloop.entity.output",
    "gen_ai.output.messages",
];

/// The answer a trace recorded: on the outermost span that is a root or an agent span and
/// has one of [`ANSWER_KEYS`] (a JSON string is unquoted; of output messages, the text of the
/// last one).
fn recorded_answer(spans: &[Span]) -> Option<String> {
    let tree = SpanTree::build(spans.iter().cloned().map(Arc::new));
    tree.walk()
        .filter(|node| node.parent().is_none() || classify(node.span()) == Kind::Agent)
        .find_map(|node| {
            let span = node.span();
            ANSWER_KEYS.iter().find_map(|key| {
                let text = span.attr(key).and_then(Value::as_str)?;
                if *key == "gen_ai.output.messages" {
                    return message_text(text);
                }
                Some(match serde_json::from_str::<Json>(text) {
                    Ok(Json::String(inner)) => inner,
                    _ => text.to_owned(),
                })
            })
        })
}

/// The text parts of the last message of OTel GenAI output messages
/// (`[{"role": "assistant", "parts": [{"type": "text", "content": "…"}]}]`).
fn message_text(messages: &str) -> Option<String> {
    let messages: Json = serde_json::from_str(messages).ok()?;
    let parts = messages.as_array()?.last()?.get("parts")?.as_array()?;
    let text: Vec<&str> = parts
        .iter()
        .filter(|p| p.get("type").and_then(Json::as_str) == Some("text"))
        .filter_map(|p| p.get("content").and_then(Json::as_str))
        .collect();
    (!text.is_empty()).then(|| text.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Attributes, KeyValue, SpanId, TraceId};

    fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Span {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = end;
        s
    }

    fn with(mut s: Span, key: &str, value: &str) -> Span {
        s.attributes = Attributes(vec![KeyValue::new(key, value)]);
        s
    }

    #[test]
    fn a_recorded_trial_root_is_the_root_and_gives_the_latency() {
        let spans = [
            span(2, Some(1), "invoke_agent", 1_100, 1_900),
            span(1, None, "eval.trial", 1_000, 2_000_000_123),
        ];
        let (recording, latency) = Recording::new(spans);
        assert_eq!(recording.root.as_ref().unwrap().name, "eval.trial");
        assert_eq!(recording.spans.len(), 1);
        assert_eq!(latency, Duration::from_nanos(2_000_000_123 - 1_000));
        // An `eval.trial` with a parent is an agent's span like any other.
        let (recording, latency) = Recording::new([
            span(1, Some(9), "eval.trial", 500, 700),
            span(2, None, "agent", 400, 900),
        ]);
        assert!(recording.root.is_none());
        assert_eq!(recording.spans.len(), 2);
        assert_eq!(
            (recording.start_ns, latency),
            (400, Duration::from_nanos(500))
        );
    }

    #[test]
    fn trace_files_named_by_a_report_stay_in_the_traces_directory() {
        let dir = Path::new("/runs/r/traces");
        assert_eq!(
            trace_path(dir, "00ab.otlp.jsonl").unwrap(),
            dir.join("00ab.otlp.jsonl")
        );
        assert_eq!(trace_path(dir, "a/b.jsonl").unwrap(), dir.join("a/b.jsonl"));
        for bad in [
            "../r2/traces/x.jsonl",
            "a/../../x",
            "/etc/passwd",
            "./x",
            "",
        ] {
            let e = trace_path(dir, bad).unwrap_err();
            assert!(e.contains("not a plain relative path"), "{bad}: {e}");
        }
    }

    #[test]
    fn the_recorded_answer_is_read_from_the_outermost_agent_or_root_span() {
        let cases: [(Vec<Span>, Option<&str>); 5] = [
            // OpenInference on the agent span; a chat span's output is not the answer.
            (
                vec![
                    with(
                        span(1, None, "agent", 0, 9),
                        "output.value",
                        "18 C in Paris",
                    ),
                    with(
                        span(2, Some(1), "ChatCompletion", 1, 2),
                        "output.value",
                        "{}",
                    ),
                ],
                Some("18 C in Paris"),
            ),
            // OpenLLMetry writes the answer as a JSON string.
            (
                vec![with(
                    span(1, None, "workflow", 0, 9),
                    "traceloop.entity.output",
                    "\"It is sunny\"",
                )],
                Some("It is sunny"),
            ),
            // OTel GenAI output messages on an agent span: the last message's text parts.
            (
                vec![
                    span(1, None, "root", 0, 9),
                    with(
                        span(2, Some(1), "invoke_agent weather", 1, 8),
                        "gen_ai.output.messages",
                        r#"[{"role":"assistant","parts":[{"type":"text","content":"first"}]},{"role":"assistant","parts":[{"type":"text","content":"It is "},{"type":"tool_call","name":"t"},{"type":"text","content":"18 C"}]}]"#,
                    ),
                ],
                Some("It is 18 C"),
            ),
            // Not an agent span (no GenAI kind), not a root: not the answer.
            (
                vec![
                    span(1, None, "root", 0, 9),
                    with(span(2, Some(1), "step", 1, 2), "output.value", "partial"),
                ],
                None,
            ),
            (vec![span(1, None, "root", 0, 9)], None),
        ];
        for (i, (spans, answer)) in cases.into_iter().enumerate() {
            assert_eq!(recorded_answer(&spans).as_deref(), answer, "case {i}");
        }
    }
}
