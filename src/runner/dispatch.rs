//! Dispatching trials: the scheduler. It starts a plan's trials ([`Job`]s) at most `-j` at a
//! time, stops on `--fail-fast` or Ctrl-C, keeps each case × model's state, writes its
//! snapshot and emits its `CaseFinished` when its last trial ends. Running one trial is module
//! `trial`'s.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::capture::SpanStore;
use crate::capture::otel::InProcess;
use crate::event::{
    CaseFinished, RunEvent, RunFinished, RunStarted, StopReason, TrialId, TrialResult, Warning,
};
use crate::metrics::cost::Pricing;
use crate::snapshot::TrialShape;
use crate::suite::Suite;
use crate::suite::spec::Agent;
use crate::trace::{Conventions, Span};

use super::driver::builtin::BuiltinDriver;
use super::driver::command::CommandDriver;
use super::driver::replay::{RecordedRun, ReplayDriver};
use super::driver::{self, Driver};
use super::snapshot::Snapshots;
use super::trial::{Job, Shared, run_trial};
use super::verdict::Ran;
use super::{DEFAULT_TIMEOUT, Group, Plan, RunOptions, RunSummary, ms};

/// [`super::run`]: starts the plan's trials, at most `-j` at a time, and emits their events.
pub(super) async fn run(
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
    let per_suite = PerSuite::new(plan, options, capture.as_ref());
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
            let job = per_suite.job(plan, options, &snapshots, g, group, trial);
            let id = job.id.clone();
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
        state.add(&result, shape);
        summary.finished += 1;
        if !result.passed {
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
    let unattributed: Vec<Arc<Span>> = store
        .unattributed_traces()
        .iter()
        .flat_map(|t| store.trace(*t))
        .collect();
    let unattributed_spans = unattributed.len();
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
        unattributed,
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

impl GroupState {
    /// Counts a finished trial, and keeps its shape when it was compared with the snapshot.
    fn add(&mut self, result: &TrialResult, shape: Option<(String, bool)>) {
        if let Some(matched) = result.snapshot_matched {
            self.snapshot_matched += u32::from(matched);
            if let Some((shape, others_passed)) = shape {
                self.shapes.push(TrialShape {
                    trial: result.trial,
                    shape,
                    matched,
                    others_passed,
                });
            }
        }
        self.finished += 1;
        if result.passed {
            self.passed += 1;
        }
    }
}

/// What every trial of a suite shares, by suite index, built once per run.
struct PerSuite {
    drivers: Vec<Arc<dyn Driver>>,
    pricing: Vec<Arc<Pricing>>,
    conventions: Vec<Conventions>,
}

impl PerSuite {
    fn new(plan: &Plan, options: &RunOptions, capture: Option<&Arc<InProcess>>) -> PerSuite {
        let drivers = plan
            .suites
            .iter()
            .map(|s| driver_for(s, capture, options.replay.as_ref()))
            .collect();
        // A suite's own entries over traceval.toml's, both over the built-in table.
        let pricing = plan
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
        let conventions = plan
            .suites
            .iter()
            .map(|s| s.conventions.before(&options.conventions))
            .collect();
        PerSuite {
            drivers,
            pricing,
            conventions,
        }
    }

    /// The job of trial `trial` of group `g`.
    fn job(
        &self,
        plan: &Plan,
        options: &RunOptions,
        snapshots: &Snapshots,
        g: usize,
        group: &Group,
        trial: u32,
    ) -> Job {
        let suite = plan.suite(group);
        let case = plan.case(group);
        Job {
            id: TrialId {
                suite: suite.name.clone(),
                case: case.id.clone(),
                model: group.model.to_string(),
                trial,
            },
            suite: Arc::clone(suite),
            case: group.case,
            driver: Arc::clone(&self.drivers[group.suite]),
            pricing: Arc::clone(&self.pricing[group.suite]),
            conventions: self.conventions[group.suite].clone(),
            timeout: options
                .timeout
                .or(case.timeout)
                .or(suite.timeout)
                .unwrap_or(DEFAULT_TIMEOUT),
            snapshot: snapshots.group(g),
        }
    }
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
