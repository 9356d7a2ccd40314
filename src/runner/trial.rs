//! Running one trial: its effects. The trial root span is opened (fresh trace id, linked to
//! the trial in the store), a scripted model is registered, the driver runs the agent, the
//! trial's spans are taken from the store (or a replay's recording), the LLM judges run, and
//! `--save-traces` files are written. Grading is module `verdict`'s, pure.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::capture::otel::InProcess;
use crate::capture::{SpanStore, TrialKey};
use crate::event::{AgentExit, TrialId};
use crate::grade::judge::JudgeEvidence;
use crate::llm::server::TrialModel;
use crate::metrics::cost::Pricing;
use crate::snapshot::CaseSnapshot;
use crate::suite::{Case, Suite};
use crate::trace::{Attributes, Conventions, GenAiView, KeyValue, Span, SpanId, SpanTree, TraceId};

use super::driver::replay::Recording;
use super::driver::{self, AgentOutcome, Driver, TrialContext};
use super::verdict::{self, After, Evidence, Ran, Saved};
use super::{RunOptions, SCRIPTED_API_KEY, judge};

/// Everything one trial task needs, owned.
pub(super) struct Job {
    pub(super) id: TrialId,
    pub(super) suite: Arc<Suite>,
    pub(super) case: usize,
    pub(super) driver: Arc<dyn Driver>,
    pub(super) pricing: Arc<Pricing>,
    /// The suite's conventions, then the project's (shared, not copied, per trial).
    pub(super) conventions: Conventions,
    pub(super) timeout: Duration,
    /// The case's trace-shape snapshot, when it has `snapshot = true`.
    pub(super) snapshot: Option<Arc<CaseSnapshot>>,
}

/// What every trial task shares.
pub(super) struct Shared {
    pub(super) options: RunOptions,
    pub(super) store: SpanStore,
    pub(super) cancel: watch::Receiver<bool>,
    /// The in-process pipeline, when a suite has a builtin agent or judges.
    pub(super) capture: Option<Arc<InProcess>>,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true`.
    pub(super) capture_content: bool,
}

/// Runs, then grades, one trial. `None` when the run was interrupted while it ran.
pub(super) async fn run_trial(shared: &Shared, job: Job) -> Option<Ran> {
    let options = &shared.options;
    let case: &Case = &job.suite.cases[job.case];
    let id = &job.id;
    let key = TrialKey::from_parts(&options.run_id, &id.suite, &id.case, &id.model, id.trial);
    let trace_id = TraceId::random();
    let span_id = SpanId::random();
    shared.store.link_trace(trace_id, &key);

    // A scripted model answers this trial under its own path, so its identity picks variants
    // and its retries are counted apart from other trials'.
    let mut extra_env = Vec::new();
    let script = options.scripts.get(&(id.suite.clone(), id.model.clone()));
    if let (Some(script), Some(server)) = (script, &options.model_server) {
        server.register(
            key.as_str(),
            TrialModel {
                script: Arc::clone(script),
                identity: format!("{}::{}#{}", id.suite, id.case, id.trial),
            },
        );
        extra_env.push((
            "OPENAI_BASE_URL".to_owned(),
            server.trial_base_url(key.as_str()),
        ));
        extra_env.push(("OPENAI_API_KEY".to_owned(), SCRIPTED_API_KEY.to_owned()));
    }

    let context = TrialContext {
        id: id.clone(),
        run_id: Arc::clone(&options.run_id),
        key: key.clone(),
        input: Arc::new(case.input.clone()),
        timeout: job.timeout,
        traceparent: format!("00-{trace_id}-{span_id}-01"),
        endpoint: format!("{}/trial/{key}", options.endpoint),
        output_path: options.scratch.join(format!("{}.out", file_stem(&key))),
        cancel: shared.cancel.clone(),
        extra_env,
        hidden_env: Arc::clone(&options.hidden_env),
        provider: options
            .providers
            .get(&(id.suite.clone(), id.model.clone()))
            .cloned(),
    };
    let start_ns = crate::trace::span::now_unix_nano();
    let mut outcome = job.driver.run(context).await;
    let latency = outcome.duration;
    let recording = outcome.recording.take();
    if let Some(server) = &options.model_server {
        server.unregister(key.as_str());
    }
    if outcome.exit == AgentExit::Cancelled {
        return None;
    }

    let new_root = |start_ns: u64| {
        Arc::new(root_span(
            trace_id,
            span_id,
            id,
            &options.run_id,
            start_ns,
            start_ns + latency.as_nanos() as u64,
        ))
    };
    // Taken out, not copied: a long run must not hold every span until it ends.
    let caught = shared.store.take_trial(&key);
    let replayed = recording.is_some();
    let (root, spans, replay_error) = match recording {
        Some(Recording {
            root,
            spans,
            start_ns,
            error,
        }) => (root.unwrap_or_else(|| new_root(start_ns)), spans, error),
        None => (new_root(start_ns), caught, None),
    };
    let (tree, root_node) = SpanTree::build_trial(&root, spans.iter().cloned());
    let view = GenAiView::with_conventions(&tree, &job.conventions);

    let evidence = Evidence {
        id,
        expect: &case.expect,
        root: &root,
        spans: &spans,
        view: &view,
        root_node,
        replayed,
    };
    let infrastructure_error = outcome.infrastructure_error.take();
    let scored = verdict::score(
        &evidence,
        &outcome,
        replay_error,
        infrastructure_error,
        &job.pricing,
    );
    // LLM judges are the last step of grading; their calls are not the agent's (module
    // `judge`). A trial without a result of its own is not judged.
    let mut judged = match (&scored.error, &shared.capture) {
        _ if case.expect.judges.is_empty() => judge::Judged::default(),
        // Nothing to judge; the check fails, never passes.
        (Some(why), _) => verdict::not_judged(&case.expect, why),
        (None, Some(capture)) => {
            let judging = judge::Judging {
                capture,
                providers: &options.judge_providers,
                pricing: &job.pricing,
                run_id: &options.run_id,
                id,
                key: &key,
                trial_root: (root.trace_id, root.span_id),
                timeout: job.timeout,
                capture_content: shared.capture_content,
            };
            let evidence = JudgeEvidence {
                input: &case.input,
                output: &outcome.output,
                tool_calls: &scored.metrics.tool_calls,
            };
            let mut cancel = shared.cancel.clone();
            tokio::select! {
                judged = judging.run(&case.expect.judges, &evidence) => judged,
                () = driver::cancelled(&mut cancel) => return None,
            }
        }
        // `run` creates the capture whenever a planned case has judges.
        (None, None) => unreachable!("judges without an in-process capture"),
    };
    let judge_spans = std::mem::take(&mut judged.spans);
    let rejections = if replayed {
        None
    } else {
        shared.store.take_rejections(&key)
    };
    let saved = save_traces(options, &key, case, &root, &spans, &judge_spans, &outcome);
    let after = After {
        judged,
        snapshot: job.snapshot.as_deref(),
        rejections,
        saved,
        report_output_limit: options.report_output_limit,
    };
    let mut ran = verdict::conclude(&evidence, scored, outcome, after);
    if let Some(trace) = ran.0.trace.as_mut().and_then(Arc::get_mut) {
        trace.judge_spans = judge_spans;
        trace.input = match &case.input {
            serde_json::Value::String(text) => text.clone(),
            other => other.to_string(),
        };
    }
    Some(ran)
}

/// `--save-traces`: the trial's spans, its root saved with the input, answer, exit and stderr
/// tail (so that the file alone replays as `--replay` does), and the judges' spans in a file of
/// their own. Nothing when the run does not save traces.
fn save_traces(
    options: &RunOptions,
    key: &TrialKey,
    case: &Case,
    root: &Span,
    spans: &[Arc<Span>],
    judge_spans: &[Arc<Span>],
    outcome: &AgentOutcome,
) -> Saved {
    let Some(dir) = &options.save_traces else {
        return Saved::default();
    };
    let mut warnings = Vec::new();
    let (saved_root, cut) = driver::replay::saved_root(root, &case.input, outcome);
    warnings.extend(cut);
    // The file's name for the report, or a warning.
    let mut save = |suffix: &str, what: &str, spans: &mut dyn Iterator<Item = &Span>| {
        let name = format!("{}{suffix}", file_stem(key));
        match crate::capture::file::write(&dir.join(&name), spans) {
            Ok(()) => Some(name),
            Err(e) => {
                warnings.push(format!("could not save {what}: {e}"));
                None
            }
        }
    };
    let trace_file = save(
        ".otlp.jsonl",
        "the trace",
        &mut spans
            .iter()
            .map(|s| &**s)
            .chain(std::iter::once(&saved_root)),
    );
    let judge_trace_file = if judge_spans.is_empty() {
        None
    } else {
        save(
            ".judge.otlp.jsonl",
            "the judges' trace",
            &mut judge_spans.iter().map(|s| &**s),
        )
    };
    Saved {
        trace_file,
        judge_trace_file,
        warnings,
    }
}

/// A short file name for a trial: case ids can be long or non-ASCII, and a file name holds at
/// most 255 bytes. The report maps trials to their files.
fn file_stem(key: &TrialKey) -> String {
    format!("{:016x}", crate::suite::fnv1a64(key.as_str().as_bytes()))
}

fn root_span(
    trace_id: TraceId,
    span_id: SpanId,
    id: &TrialId,
    run_id: &str,
    start_ns: u64,
    end_ns: u64,
) -> Span {
    let mut span = Span::new(trace_id, span_id, crate::capture::file::TRIAL_ROOT);
    span.start_time_unix_nano = start_ns;
    span.end_time_unix_nano = end_ns;
    span.attributes = Attributes(vec![
        KeyValue::new("eval.run_id", run_id),
        KeyValue::new("eval.suite", id.suite.as_str()),
        KeyValue::new("eval.case", id.case.as_str()),
        KeyValue::new("eval.trial", i64::from(id.trial)),
        KeyValue::new("eval.model", id.model.as_str()),
    ]);
    span.resource = crate::capture::otel::traceval_resource();
    span.scope = crate::capture::otel::traceval_scope();
    span
}
