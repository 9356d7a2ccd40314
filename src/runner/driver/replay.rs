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
//!
//! `--save-traces` writes, on the saved copy of the root only, what a replay of the file alone
//! needs to grade it as `--replay` does ([`saved_root`]): the input, the answer, the exit and
//! the stderr tail. A replay takes them off again, so the graded root is the live one.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::command::MAX_OUTPUT;
use super::{AgentOutcome, BoxFuture, Driver, TrialContext};
use crate::capture::file::{is_trial_root, read};
use crate::capture::recorded::{
    INPUT_MIME_TYPE, INPUT_VALUE, JSON_MIME, OUTPUT_MIME_TYPE, OUTPUT_VALUE, TEXT_MIME,
    recorded_answer,
};
use crate::event::{AgentExit, TrialId, TrialResult};
use crate::suite::spec::{RecordedTrace, ReplayAgent};
use crate::trace::{KeyValue, Span, Value};

/// How the agent ended, on a saved trial root: the report's `exit` as JSON
/// (`{"kind":"code","code":0}`).
pub(crate) const EXIT: &str = "eval.exit";
/// The tail of the agent's stderr, on a saved trial root.
pub(crate) const STDERR_TAIL: &str = "eval.stderr_tail";
/// The most bytes of the input or the answer a saved root holds: an answer is already cut
/// there by the command driver.
pub(crate) const MAX_RECORDED: usize = MAX_OUTPUT;

/// The copy of a trial root that `--save-traces` writes: the root with the trial's input
/// (`input.value`, with `input.mime_type` `text/plain` for a string, else `application/json`),
/// answer (`output.value`, `text/plain`), [`EXIT`] and [`STDERR_TAIL`]. An input or answer over
/// [`MAX_RECORDED`] bytes is cut there, and a warning returned.
pub(crate) fn saved_root(
    root: &Span,
    input: &Json,
    outcome: &AgentOutcome,
) -> (Span, Option<String>) {
    let mut saved = root.clone();
    saved
        .attributes
        .0
        .retain(|kv| !RECORD_KEYS.contains(&&*kv.key));
    let (input, input_mime) = match input {
        Json::String(text) => (text.clone(), TEXT_MIME),
        other => (other.to_string(), JSON_MIME),
    };
    let mut cut = Vec::new();
    let mut bounded = |what: &'static str, text: &str| {
        let (kept, whole) = head(text, MAX_RECORDED);
        if !whole {
            cut.push(what);
        }
        kept.to_owned()
    };
    let input = bounded("input", &input);
    let output = bounded("answer", &outcome.output);
    let exit = serde_json::to_string(&outcome.exit).expect("an exit serializes");
    saved.attributes.0.extend([
        KeyValue::new(INPUT_VALUE, input),
        KeyValue::new(INPUT_MIME_TYPE, input_mime),
        KeyValue::new(OUTPUT_VALUE, output),
        KeyValue::new(OUTPUT_MIME_TYPE, TEXT_MIME),
        KeyValue::new(EXIT, exit),
        KeyValue::new(STDERR_TAIL, outcome.stderr_tail.as_str()),
    ]);
    let warning = (!cut.is_empty()).then(|| {
        format!(
            "the saved trace holds the first {MAX_RECORDED} bytes of the {}: a replay of the \
             file grades that",
            cut.join(" and the ")
        )
    });
    (saved, warning)
}

/// The attributes [`saved_root`] adds, which a replay takes off the root again.
const RECORD_KEYS: [&str; 6] = [
    INPUT_VALUE,
    INPUT_MIME_TYPE,
    OUTPUT_VALUE,
    OUTPUT_MIME_TYPE,
    EXIT,
    STDERR_TAIL,
];

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary, and
/// whether that is all of it.
fn head(text: &str, max: usize) -> (&str, bool) {
    if text.len() <= max {
        return (text, true);
    }
    let end = (0..=max)
        .rev()
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(0);
    (&text[..end], false)
}

/// What a saved trial root recorded about its trial (see [`saved_root`]).
#[derive(Debug, Clone, PartialEq, Default)]
struct Recorded {
    output: Option<String>,
    exit: Option<AgentExit>,
    stderr_tail: Option<String>,
}

impl Recorded {
    /// Takes the record off a trial root, leaving the root as it was live.
    fn take(root: &mut Span) -> Recorded {
        let text = |key| root.attr(key).and_then(Value::as_str).map(str::to_owned);
        let ours = root.attr(EXIT).is_some();
        let recorded = Recorded {
            // Only a root traceval saved holds the answer as plain text; any other is read by
            // convention with the rest of the trace.
            output: ours.then(|| text(OUTPUT_VALUE)).flatten(),
            exit: text(EXIT).and_then(|json| serde_json::from_str(&json).ok()),
            stderr_tail: text(STDERR_TAIL),
        };
        if ours {
            root.attributes
                .0
                .retain(|kv| !RECORD_KEYS.contains(&&*kv.key));
        }
        recorded
    }
}

/// The spans of a replayed trial, which the runner grades instead of the store's.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recording {
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
    /// latency (the root's duration, else the extent of the spans) and what the trial root
    /// recorded about its trial, taken off it.
    fn with_record(spans: impl IntoIterator<Item = Span>) -> ((Recording, Duration), Recorded) {
        let mut root = None;
        let mut recorded = Recorded::default();
        let mut rest = Vec::new();
        for mut span in spans {
            if root.is_none() && is_trial_root(&span) {
                recorded = Recorded::take(&mut span);
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
        let latency = Duration::from_nanos(end.saturating_sub(start));
        ((recording, latency), recorded)
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
pub(crate) struct RecordedRun {
    /// The run's id.
    pub run_id: String,
    /// Its `--save-traces` directory (`reports/<run-id>/traces`).
    pub traces_dir: PathBuf,
    trials: HashMap<TrialId, TrialResult>,
}

impl RecordedRun {
    /// A run's trials, as its report lists them; `trace_file`s are read from `traces_dir`.
    pub(crate) fn new(
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

    /// The recorded trial `id`.
    pub(crate) fn trial(&self, id: &TrialId) -> Option<&TrialResult> {
        self.trials.get(id)
    }
}

/// Where a replay's trials come from.
enum Source {
    Suite(ReplayAgent),
    Run(Arc<RecordedRun>),
}

/// Replays recorded trials (see the module documentation).
pub(crate) struct ReplayDriver {
    source: Arc<Source>,
}

impl ReplayDriver {
    /// Replays the traces an `[agent] kind = "replay"` suite names.
    pub(crate) fn for_suite(agent: ReplayAgent) -> ReplayDriver {
        ReplayDriver {
            source: Arc::new(Source::Suite(agent)),
        }
    }

    /// Replays the trials of a previous run.
    pub(crate) fn for_run(run: Arc<RecordedRun>) -> ReplayDriver {
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

/// A case's recorded trace: the case's `output`, else the answer the trace recorded; the exit
/// and stderr tail a saved trial root recorded, else exit 0.
fn replay_trace(trace: &RecordedTrace) -> AgentOutcome {
    let ((recording, duration), recorded) = Recording::with_record(trace.spans.iter().cloned());
    let output = trace
        .output
        .clone()
        .or(recorded.output)
        .or_else(|| recorded_answer(&trace.spans))
        .unwrap_or_default();
    AgentOutcome {
        exit: recorded.exit.unwrap_or(AgentExit::Code { code: 0 }),
        duration,
        output,
        stderr_tail: recorded.stderr_tail.unwrap_or_default(),
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
            let ((recording, duration), saved) = Recording::with_record(file.spans);
            let mut outcome = outcome(recording, duration);
            // The report keeps only the head of a long answer; the saved root has all of it
            // (up to the capture limit), which is what the live run graded.
            if recorded.output_truncated
                && let Some(output) = saved.output
            {
                outcome.output = output;
            }
            outcome
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{SpanId, TraceId};

    fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Span {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = end;
        s
    }

    #[test]
    fn a_recorded_trial_root_is_the_root_and_gives_the_latency() {
        let spans = [
            span(2, Some(1), "invoke_agent", 1_100, 1_900),
            span(1, None, "eval.trial", 1_000, 2_000_000_123),
        ];
        let ((recording, latency), _) = Recording::with_record(spans);
        assert_eq!(recording.root.as_ref().unwrap().name, "eval.trial");
        assert_eq!(recording.spans.len(), 1);
        assert_eq!(latency, Duration::from_nanos(2_000_000_123 - 1_000));
        // An `eval.trial` with a parent is an agent's span like any other.
        let ((recording, latency), _) = Recording::with_record([
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
    fn a_saved_root_records_the_trial_and_a_replay_takes_the_record_off() {
        let root = span(1, None, "eval.trial", 1_000, 2_000);
        let outcome = AgentOutcome {
            exit: AgentExit::Code { code: 3 },
            duration: Duration::ZERO,
            output: "\"quoted\" é".to_owned(),
            stderr_tail: "boom".to_owned(),
            warnings: Vec::new(),
            recording: None,
            infrastructure_error: None,
        };
        let input = serde_json::json!({"city": "Paris"});
        let (saved, cut) = saved_root(&root, &input, &outcome);
        assert_eq!(cut, None);
        assert_eq!(saved.attr_str("input.value"), Some(r#"{"city":"Paris"}"#));
        assert_eq!(saved.attr_str("input.mime_type"), Some("application/json"));
        assert_eq!(
            saved.attr_str("eval.exit"),
            Some(r#"{"kind":"code","code":3}"#)
        );
        let ((recording, _), recorded) = Recording::with_record([saved]);
        assert_eq!(
            recording.root.as_deref(),
            Some(&root),
            "the live root again"
        );
        assert_eq!(
            recorded,
            Recorded {
                output: Some(outcome.output.clone()),
                exit: Some(outcome.exit.clone()),
                stderr_tail: Some("boom".to_owned()),
            }
        );
        // Over the bound, cut on a character boundary, with a warning.
        let long = AgentOutcome {
            output: "é".repeat(MAX_RECORDED),
            ..outcome
        };
        let (saved, cut) = saved_root(&root, &Json::String("q".into()), &long);
        let kept = saved.attr_str("output.value").unwrap();
        assert_eq!(kept.len(), MAX_RECORDED);
        assert!(cut.unwrap().contains("of the answer"));
        assert_eq!(head("aé", 2), ("a", false));
    }
}
