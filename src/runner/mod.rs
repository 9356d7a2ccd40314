//! The runner: starts every trial of a [`Plan`] with bounded concurrency, grades each one
//! from its span tree and emits [`RunEvent`]s. It knows nothing about terminals or report
//! files; whoever calls [`run`] decides what the events become.
//!
//! A trial: a root span `eval.trial` is opened (fresh trace id, linked to the trial in the
//! store so an agent that reads `TRACEPARENT` lands in it), the driver runs the agent, the root
//! span is closed and stored, and the trial's spans (every trace attributed to it) become one
//! tree in which the root adopts the agent's own traces. Grading and metrics read that tree.
//!
//! A replayed trial ([`driver::replay`]) takes the same path after the driver: its recorded
//! spans stand in for the store's, and its recorded trial root, when it has one, for the new
//! root, so a replay of `--save-traces` output grades the very tree the live run graded.

pub mod driver;
mod judge;
mod llm_call;
pub mod plan;
mod snapshot;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::capture::otel::InProcess;
use crate::capture::{SpanStore, TrialKey};
use crate::event::{
    AgentExit, CaseFinished, CheckResult, ErrorKind, RunEvent, RunFinished, RunStarted, StopReason,
    TrialId, TrialResult, Warning,
};
use crate::grade::judge::JudgeEvidence;

use crate::grade::{Finished, score};
use crate::llm::provider::ChatProvider;
use crate::llm::scripted::Script;
use crate::llm::server::{ModelServer, TrialModel};
use crate::metrics::cost::Pricing;
use crate::snapshot::SnapshotSettings;
use crate::snapshot::{CaseSnapshot, TrialShape};
use crate::suite::spec::{Agent, Price};
use crate::suite::{Case, Suite};
use crate::trace::render::{RenderOptions, render};
use crate::trace::{
    Attributes, Conventions, GenAiView, KeyValue, Resource, Scope, Span, SpanId, SpanTree, TraceId,
};
use driver::builtin::BuiltinDriver;
use driver::command::CommandDriver;
use driver::replay::{RecordedRun, Recording, ReplayDriver};
use driver::{Driver, TrialContext};
pub use plan::{Group, Plan, PlanOptions, Skipped};
use snapshot::Snapshots;
pub use snapshot::check_snapshot_names;

/// Per-trial timeout when neither flag, profile, case nor suite sets one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
/// Lines of a failing trial's rendered tree kept in results.
const MAX_TREE_LINES: usize = 200;

/// How to run, resolved from flags, profile and defaults.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The run's id (a UUIDv7).
    pub run_id: Arc<str>,
    /// Trials in flight at most.
    pub jobs: usize,
    /// Overrides every case's and suite's timeout.
    pub timeout: Option<Duration>,
    /// Stop starting trials after the first failure.
    pub fail_fast: bool,
    /// The run seed.
    pub seed: u64,
    /// Where agents' `TRACEVAL_OUTPUT` files go (created by the caller).
    pub scratch: PathBuf,
    /// Write each trial's spans as OTLP JSON here (created by the caller).
    pub save_traces: Option<PathBuf>,
    /// `[pricing.*]` of `traceval.toml`; a suite's own entries win over these, and both win
    /// over the built-in price table.
    pub pricing: BTreeMap<String, Price>,
    /// `[conventions]` of `traceval.toml`; a suite's own are tried before these, and both
    /// before the built-in conventions.
    pub conventions: Conventions,
    /// The receiver's base endpoint, `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// Scripted models by (suite name, model name), served by `model_server`.
    pub scripts: HashMap<(String, String), Arc<Script>>,
    /// The server answering for scripted models, when the run has any.
    pub model_server: Option<Arc<ModelServer>>,
    /// Models the builtin agent calls, by (suite name, model name).
    pub providers: HashMap<(String, String), Arc<dyn ChatProvider>>,
    /// Models the suites' LLM judges call, by (suite name, model name).
    pub judge_providers: HashMap<(String, String), Arc<dyn ChatProvider>>,
    /// `--replay`: every trial replays this run's recorded trial instead of running its agent.
    pub replay: Option<Arc<RecordedRun>>,
    /// Warnings the run starts with (e.g. recorded trials a replay leaves out).
    pub notices: Vec<String>,
    /// Where trace-shape snapshots live and what a mismatch does.
    pub snapshots: SnapshotSettings,
    /// Most bytes of each answer and stderr tail kept in results (grading reads the whole
    /// answer).
    pub report_output_limit: usize,
}

/// [`RunOptions::report_output_limit`] unless `--report-output-limit` says otherwise.
pub const DEFAULT_REPORT_OUTPUT_LIMIT: usize = 16 << 10;

/// The `OPENAI_API_KEY` a command agent gets for a scripted model: any non-empty value works,
/// and SDKs refuse to start without one.
pub const SCRIPTED_API_KEY: &str = "traceval-scripted";

/// What the caller needs after the run besides the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Trials finished.
    pub finished: usize,
    /// Trials that failed a check or errored for the agent's sake.
    pub failed: usize,
    /// Trials that errored for infrastructure ([`ErrorKind::Infrastructure`]).
    pub infrastructure: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<StopReason>,
    /// Snapshot files that could not be written.
    pub snapshot_errors: usize,
}

/// Everything one trial task needs, owned.
struct Job {
    id: TrialId,
    suite: Arc<Suite>,
    case: usize,
    driver: Arc<dyn Driver>,
    pricing: Arc<Pricing>,
    /// The suite's conventions, then the project's (shared, not copied, per trial).
    conventions: Conventions,
    timeout: Duration,
    /// The case's trace-shape snapshot, when it has `snapshot = true`.
    snapshot: Option<Arc<CaseSnapshot>>,
}

/// Runs the plan. `cancel` turning `true` stops the run: no new trials, running agents are
/// killed, and their trials are left out of the results (they did not finish).
pub async fn run(
    plan: &Plan,
    options: &RunOptions,
    store: &SpanStore,
    mut cancel: watch::Receiver<bool>,
    emit: &mut dyn FnMut(RunEvent),
) -> RunSummary {
    let started = Instant::now();
    emit(RunEvent::RunStarted(RunStarted {
        run_id: options.run_id.to_string(),
        started_at: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        seed: options.seed,
        suites: plan.suites.len(),
        cases: plan.case_count(),
        models: plan.model_names().len(),
        groups: plan.groups.len(),
        trials: plan.trial_count(),
        jobs: options.jobs,
        ignored_suites: plan.ignored.len(),
    }));
    for message in &options.notices {
        emit(RunEvent::Warning(Warning {
            trial: None,
            message: message.clone(),
        }));
    }
    for skipped in &plan.skipped {
        emit(RunEvent::Warning(Warning {
            trial: None,
            message: format!(
                "{}::{} ({}): not run: {}",
                skipped.suite, skipped.case, skipped.model, skipped.reason
            ),
        }));
    }

    // One in-process OpenTelemetry pipeline into the store, for builtin agents' (unless they
    // are replayed) and judges' spans.
    let capture = plan
        .suites
        .iter()
        .any(|s| {
            (options.replay.is_none() && matches!(s.agent, Agent::Builtin(_)))
                || s.cases.iter().any(|c| !c.expect.judges.is_empty())
        })
        .then(|| Arc::new(InProcess::new(store.clone())));
    let drivers: Vec<Arc<dyn Driver>> = plan
        .suites
        .iter()
        .map(|s| driver_for(s, capture.as_ref(), options.replay.as_ref()))
        .collect();
    // A suite's own entries over traceval.toml's, both over the built-in table.
    let pricing: Vec<Arc<Pricing>> = plan
        .suites
        .iter()
        .map(|s| {
            let mut p = options.pricing.clone();
            p.extend(s.pricing.iter().map(|(k, v)| (k.clone(), *v)));
            Arc::new(Pricing::new(p))
        })
        .collect();
    // Likewise for conventions. The judges' traces are traceval's own spans, read by the
    // built-in conventions alone (module `judge`).
    let conventions: Vec<Conventions> = plan
        .suites
        .iter()
        .map(|s| s.conventions.before(&options.conventions))
        .collect();
    let mut pending = plan
        .groups
        .iter()
        .enumerate()
        .flat_map(|(g, group)| group.trial_indices().map(move |trial| (g, group, trial)));
    let mut groups: Vec<GroupState> = plan
        .groups
        .iter()
        .map(|g| GroupState {
            remaining: g.trials,
            ..GroupState::default()
        })
        .collect();

    let snapshots = Snapshots::load(plan, &options.snapshots);
    let shared = Arc::new(Shared {
        options: options.clone(),
        store: store.clone(),
        cancel: cancel.clone(),
        capture: capture.clone(),
        capture_content: std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true")),
    });
    let mut running: JoinSet<(usize, Instant, Option<Ran>)> = JoinSet::new();
    let mut summary = RunSummary {
        finished: 0,
        failed: 0,
        infrastructure: 0,
        stopped: None,
        snapshot_errors: 0,
    };
    let mut not_run = 0usize;
    loop {
        while summary.stopped.is_none() && running.len() < options.jobs.max(1) {
            let Some((g, group, trial)) = pending.next() else {
                break;
            };
            let suite = plan.suite(group);
            let case = plan.case(group);
            let id = TrialId {
                suite: suite.name.clone(),
                case: case.id.clone(),
                model: group.model.to_string(),
                trial,
            };
            let job = Job {
                id: id.clone(),
                suite: Arc::clone(suite),
                case: group.case,
                driver: Arc::clone(&drivers[group.suite]),
                pricing: Arc::clone(&pricing[group.suite]),
                conventions: conventions[group.suite].clone(),
                timeout: options
                    .timeout
                    .or(case.timeout)
                    .or(suite.timeout)
                    .unwrap_or(DEFAULT_TIMEOUT),
                snapshot: snapshots.group(g),
            };
            groups[g].started.get_or_insert_with(Instant::now);
            emit(RunEvent::TrialStarted(id));
            let shared = Arc::clone(&shared);
            running.spawn(async move {
                let result = run_trial(&shared, job).await;
                (g, Instant::now(), result)
            });
        }
        if running.is_empty() {
            break;
        }
        let interrupted = summary.stopped == Some(StopReason::Interrupted);
        let joined = tokio::select! {
            joined = running.join_next() => joined,
            // An interruption wins over a fail-fast stop: the run ends now, exit 130.
            () = driver::cancelled(&mut cancel), if !interrupted => {
                summary.stopped = Some(StopReason::Interrupted);
                continue;
            }
        };
        let Some(joined) = joined else { break };
        let (g, ended, result) = match joined {
            Ok(v) => v,
            // A trial task panicked: a bug in traceval, not a trial result.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        };
        let state = &mut groups[g];
        state.remaining -= 1;
        state.ended = Some(ended);
        let Some((result, shape)) = result else {
            not_run += 1;
            continue;
        };
        if let Some(matched) = result.snapshot_matched {
            state.snapshot_matched += u32::from(matched);
            if let Some((shape, others_passed)) = shape {
                state.shapes.push(TrialShape {
                    trial: result.trial,
                    shape,
                    matched,
                    others_passed,
                });
            }
        }
        state.finished += 1;
        summary.finished += 1;
        if result.passed {
            state.passed += 1;
        } else {
            if result.infrastructure_error() {
                summary.infrastructure += 1;
            } else {
                summary.failed += 1;
            }
            if options.fail_fast && summary.stopped.is_none() {
                summary.stopped = Some(StopReason::FailFast);
            }
        }
        emit(RunEvent::TrialFinished(Box::new(result)));
        if state.remaining == 0 {
            // The snapshot first: the case's line says when one was recorded.
            finish_snapshot(&snapshots, g, state, &mut summary, emit);
            emit(case_finished(plan, g, state, &snapshots));
            state.reported = true;
        }
    }
    not_run += pending.map(|_| 1).sum::<usize>();
    not_run += plan
        .skipped
        .iter()
        .map(|s| s.trials as usize)
        .sum::<usize>();
    // Groups cut short by an early stop still get their line, over the trials that finished.
    for (g, state) in groups.iter_mut().enumerate() {
        if !state.reported && state.finished > 0 {
            finish_snapshot(&snapshots, g, state, &mut summary, emit);
            emit(case_finished(plan, g, state, &snapshots));
            state.reported = true;
        }
    }
    let unattributed_spans = store
        .unattributed_traces()
        .iter()
        .map(|t| store.trace(*t).len())
        .sum();
    if unattributed_spans > 0 {
        emit(RunEvent::Warning(Warning {
            trial: None,
            message: format!(
                "{unattributed_spans} span(s) arrived that match no trial (no trial path, header, \
                 eval.* resource attributes or known trace id)"
            ),
        }));
    }
    emit(RunEvent::RunFinished(RunFinished {
        duration_ms: ms(started.elapsed()),
        stopped: summary.stopped,
        not_run,
        unattributed_spans,
    }));
    if let Some(capture) = capture {
        capture.shutdown(Duration::from_secs(1));
    }
    summary
}

#[derive(Debug, Default)]
struct GroupState {
    remaining: u32,
    finished: u32,
    passed: u32,
    started: Option<Instant>,
    ended: Option<Instant>,
    reported: bool,
    /// Trials whose trace shape matched the snapshot.
    snapshot_matched: u32,
    /// Compared trials.
    shapes: Vec<TrialShape>,
}

/// Writes what a finished group's snapshot calls for, and emits what was done.
fn finish_snapshot(
    snapshots: &Snapshots,
    g: usize,
    state: &mut GroupState,
    summary: &mut RunSummary,
    emit: &mut dyn FnMut(RunEvent),
) {
    let (events, failed) = snapshots.finish(g, &std::mem::take(&mut state.shapes));
    summary.snapshot_errors += usize::from(failed);
    for event in events {
        emit(event);
    }
}

fn case_finished(plan: &Plan, g: usize, state: &GroupState, snapshots: &Snapshots) -> RunEvent {
    let group = &plan.groups[g];
    let duration = match (state.started, state.ended) {
        (Some(s), Some(e)) => e.saturating_duration_since(s),
        _ => Duration::ZERO,
    };
    RunEvent::CaseFinished(CaseFinished {
        suite: plan.suite(group).name.clone(),
        case: plan.case(group).id.clone(),
        model: group.model.to_string(),
        n: state.finished,
        passed: state.passed,
        duration_ms: ms(duration),
        snapshot_matched: snapshots
            .group(g)
            .is_some()
            .then_some(state.snapshot_matched),
    })
}

fn driver_for(
    suite: &Suite,
    capture: Option<&Arc<InProcess>>,
    replay: Option<&Arc<RecordedRun>>,
) -> Arc<dyn Driver> {
    if let Some(run) = replay {
        return Arc::new(ReplayDriver::for_run(Arc::clone(run)));
    }
    match &suite.agent {
        Agent::Command(agent) => Arc::new(CommandDriver::new(agent.clone())),
        Agent::Builtin(agent) => Arc::new(BuiltinDriver::new(
            agent.clone(),
            Arc::clone(capture.expect("a capture exists when a suite is builtin")),
        )),
        Agent::Replay(agent) => Arc::new(ReplayDriver::for_suite(agent.clone())),
    }
}

struct Shared {
    options: RunOptions,
    store: SpanStore,
    cancel: watch::Receiver<bool>,
    /// The in-process pipeline, when a suite has a builtin agent or judges.
    capture: Option<Arc<InProcess>>,
    /// `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true`.
    capture_content: bool,
}

/// A graded trial, with its trace shape when it was compared with a snapshot and whether it
/// passed its other checks.
type Ran = (TrialResult, Option<(String, bool)>);

/// Runs, then grades, one trial. `None` when the run was interrupted while it ran.
async fn run_trial(shared: &Shared, job: Job) -> Option<Ran> {
    let options = &shared.options;
    let case: &Case = &job.suite.cases[job.case];
    let id = &job.id;
    let key = TrialKey::from_parts(&options.run_id, &id.suite, &id.case, &id.model, id.trial);
    let trace_id = TraceId(*uuid::Uuid::new_v4().as_bytes());
    let span_id = SpanId(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    );
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
        provider: options
            .providers
            .get(&(id.suite.clone(), id.model.clone()))
            .cloned(),
    };
    let start_ns = now_ns();
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
    let trace_id = root.trace_id;
    let (tree, root_node) = SpanTree::build_trial(&root, spans.iter().cloned());
    let view = GenAiView::with_conventions(&tree, &job.conventions);

    let (mut graded, metrics) = score(
        &case.expect,
        &Finished {
            output: &outcome.output,
            exit: &outcome.exit,
            view: &view,
            root: root_node,
            latency,
        },
        &job.pricing,
    );
    // LLM judges are the last step of grading; their calls are not the agent's (module
    // `judge`).
    let not_judged = |why: String| judge::Judged {
        checks: case
            .expect
            .judges
            .iter()
            .map(|j| CheckResult {
                name: j.name.clone(),
                passed: false,
                message: format!("not judged: {why}"),
                score: None,
            })
            .collect(),
        ..judge::Judged::default()
    };
    // Why the trial has no result of its own: it could not be replayed, or the agent did not
    // finish. Such a trial is neither judged nor compared with its snapshot.
    let (error, mut error_kind) = trial_error(
        replay_error,
        outcome.infrastructure_error.take(),
        &outcome.exit,
    );
    let judged = match (&error, &shared.capture) {
        _ if case.expect.judges.is_empty() => judge::Judged::default(),
        // Nothing to judge; the check fails, never passes.
        (Some(why), _) => not_judged(why.clone()),
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
                tool_calls: &metrics.tool_calls,
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
    // An outage of a judge's model leaves the trial ungraded rather than failed, unless a
    // check the agent is answerable for failed already.
    let checks_held = graded.passed();
    graded.checks.extend(judged.checks);
    // Only a trial that did the right thing otherwise may give a case its snapshot.
    let others_passed = graded.passed() && error.is_none();
    let compared = job
        .snapshot
        .as_ref()
        .map(|group| group.compare(&view, root_node, error.as_deref()));
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

    let mut warnings = outcome.warnings.clone();
    let agent_traces: Vec<TraceId> = tree
        .trace_ids()
        .into_iter()
        .filter(|t| *t != trace_id)
        .collect();
    let agent_spans = tree.len() - 1;
    // A replay's warnings are the recorded ones: nothing was sent this time.
    if agent_spans == 0 && !replayed {
        let why = match outcome.exit {
            AgentExit::Code { code: 0 } => Some(
                "the agent sent no spans: it probably exited without shutting its tracer \
                 provider down (call shutdown() or force_flush() before exit), or its SDK was \
                 configured in code and ignores OTEL_EXPORTER_OTLP_ENDPOINT"
                    .to_owned(),
            ),
            // It failed before tracing anything: what it said is the lead, not the SDK.
            AgentExit::Code { code } => Some(format!(
                "the agent sent no spans: it exited with code {code}{}",
                stderr_ending(&outcome.stderr_tail)
            )),
            AgentExit::Signal { .. } | AgentExit::TimedOut => {
                Some("the agent sent no spans before it was stopped".to_owned())
            }
            AgentExit::Cancelled | AgentExit::SpawnFailed { .. } => None,
        };
        warnings.extend(why);
    }
    if !replayed {
        warnings.extend(transport_warnings(
            shared.store.take_rejections(&key),
            &spans,
            &root,
        ));
    }
    // `--save-traces`: the root is saved with the input, answer, exit and stderr tail, so
    // that the file alone replays as `--replay` does.
    let saved_root = options.save_traces.as_ref().map(|_| {
        let (saved, cut) = driver::replay::saved_root(&root, &case.input, &outcome);
        warnings.extend(cut);
        saved
    });
    // `--save-traces`: the file's name for the report, or a warning.
    let mut save = |suffix: &str, what: &str, spans: &mut dyn Iterator<Item = &Span>| {
        let dir = options.save_traces.as_ref()?;
        let name = format!("{}{suffix}", file_stem(&key));
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
            .chain(std::iter::once(saved_root.as_ref().unwrap_or(&*root))),
    );
    let judge_trace_file = if judged.spans.is_empty() {
        None
    } else {
        save(
            ".judge.otlp.jsonl",
            "the judges' trace",
            &mut judged.spans.iter().map(|s| &**s),
        )
    };
    let span_tree = (!passed).then(|| {
        let text = render(
            &view,
            &RenderOptions {
                marked: graded.marked.clone(),
                max_value_len: 0,
            },
        );
        cap_lines(text, MAX_TREE_LINES)
    });

    if outcome.output.len() > options.report_output_limit {
        warnings.push(format!(
            "the report keeps the first {} bytes of the {}-byte answer (all of it was graded; \
             --save-traces keeps all of it)",
            options.report_output_limit,
            outcome.output.len()
        ));
    }
    let result = TrialResult {
        suite: id.suite.clone(),
        case: id.case.clone(),
        model: id.model.clone(),
        trial: id.trial,
        trace_id: trace_id.to_string(),
        agent_trace_ids: agent_traces.iter().map(ToString::to_string).collect(),
        passed,
        error,
        error_kind,
        duration_ms: ms(latency),
        exit: outcome.exit.clone(),
        output_truncated: outcome.output.len() > options.report_output_limit,
        stderr_truncated: outcome.stderr_tail.len() > options.report_output_limit,
        output: keep_head(outcome.output, options.report_output_limit),
        stderr_tail: keep_tail(outcome.stderr_tail, options.report_output_limit),
        checks: graded.checks,
        metrics,
        warnings,
        span_tree,
        trace_file,
        judges: judged.records,
        judge_trace_file,
        snapshot_matched,
    };
    Some((result, shape))
}

/// The first `max` bytes of `text` (fewer, to end on a character), in an allocation of their
/// own: the agent's megabyte must not stay behind in the report.
fn keep_head(text: String, max: usize) -> String {
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
fn keep_tail(text: String, max: usize) -> String {
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
fn transport_warnings(
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
fn trial_error(
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
    span.resource = Arc::new(Resource {
        attributes: Attributes(vec![KeyValue::new("service.name", "traceval")]),
        schema_url: String::new(),
    });
    span.scope = Arc::new(Scope {
        name: "traceval".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..Scope::default()
    });
    span
}

fn cap_lines(text: String, max: usize) -> String {
    let total = text.lines().count();
    if total <= max {
        return text;
    }
    let mut kept: String = text.lines().take(max).flat_map(|l| [l, "\n"]).collect();
    kept.push_str(&format!("… {} more lines\n", total - max));
    kept
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Milliseconds as the report writes them (fractional).
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(trace: u8, id: u8, parent: Option<u8>) -> Arc<Span> {
        let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), "s");
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        Arc::new(s)
    }

    #[test]
    fn lost_parents_and_refused_requests_become_warnings() {
        let root = span(1, 1, None);
        // A child of the root, a child of a span that arrived, two whose parents did not (one
        // naming a span of another trace).
        let spans = [
            span(1, 2, Some(1)),
            span(1, 3, Some(2)),
            span(1, 4, Some(9)),
            span(2, 5, Some(2)),
        ];
        assert_eq!(
            transport_warnings(None, &spans, &root),
            ["2 spans' parents never arrived: the agent may have exited before flushing"]
        );
        assert_eq!(
            transport_warnings(
                Some((3, "413 Payload Too Large: big".into())),
                &spans[..2],
                &root
            ),
            [
                "the receiver refused 3 OTLP export requests of the agent; the first: 413 Payload Too Large: big"
            ]
        );
    }

    #[test]
    fn results_keep_the_head_of_the_answer_and_the_tail_of_stderr_on_characters() {
        assert_eq!(keep_head("héllo".into(), 2), "h");
        assert_eq!(keep_head("héllo".into(), 3), "hé");
        assert_eq!(keep_head("hi".into(), 2), "hi");
        assert_eq!(keep_tail("hellé".into(), 2), "é");
        assert_eq!(keep_tail("hellé".into(), 1), "");
        assert_eq!(keep_tail("hellé".into(), 3), "lé");
    }

    #[test]
    fn the_stderr_ending_is_its_last_non_blank_line() {
        assert_eq!(
            stderr_ending("Traceback\n  File\nRuntimeError: boom\n\n"),
            "; its stderr ends: RuntimeError: boom"
        );
        assert_eq!(stderr_ending(" \n"), "; it wrote nothing to stderr");
    }
}
