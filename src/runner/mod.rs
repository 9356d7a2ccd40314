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
//!
//! The files: `dispatch` is the scheduler (jobs, `-j`, fail-fast, Ctrl-C, each case × model's
//! state, its snapshot written and its `CaseFinished` emitted when it ends); `trial` runs one
//! trial's effects (the root span, a scripted model's registration, the driver, the spans taken
//! from the store, the judges, `--save-traces`); `verdict` is the pure step from a finished
//! trial's spans and outcome to its `TrialResult`, testable without tokio; `snapshot` maps plan
//! groups to [`crate::snapshot`]'s case snapshots.

mod dispatch;
pub(crate) mod driver;
mod judge;
mod llm_call;
pub(crate) mod plan;
mod snapshot;
mod trial;
mod verdict;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::capture::SpanStore;
use crate::event::{RunEvent, StopReason};
use crate::llm::provider::ChatProvider;
use crate::llm::scripted::Script;
use crate::llm::server::ModelServer;
use crate::snapshot::SnapshotSettings;
use crate::suite::spec::Price;
use crate::trace::Conventions;
use driver::replay::RecordedRun;
pub(crate) use plan::{Group, Plan, PlanOptions};
pub(crate) use snapshot::check_snapshot_names;

/// Per-trial timeout when neither flag, profile, case nor suite sets one.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to run, resolved from flags, profile and defaults.
#[derive(Debug, Clone)]
pub(crate) struct RunOptions {
    /// The run's id (a UUIDv7).
    pub run_id: Arc<str>,
    /// Variables agents must not inherit (they hold the forward target's header values).
    pub hidden_env: Arc<[String]>,
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
pub(crate) const DEFAULT_REPORT_OUTPUT_LIMIT: usize = 16 << 10;

/// The `OPENAI_API_KEY` a command agent gets for a scripted model: any non-empty value works,
/// and SDKs refuse to start without one.
pub(crate) const SCRIPTED_API_KEY: &str = "traceval-scripted";

/// What the caller needs after the run besides the events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RunSummary {
    /// Trials finished.
    pub finished: usize,
    /// Trials that failed a check or errored for the agent's sake.
    pub failed: usize,
    /// Trials that errored for infrastructure ([`crate::event::ErrorKind::Infrastructure`]).
    pub infrastructure: usize,
    /// Why the run stopped early, if it did.
    pub stopped: Option<StopReason>,
    /// Snapshot files that could not be written.
    pub snapshot_errors: usize,
}

/// Runs the plan. `cancel` turning `true` stops the run: no new trials, running agents are
/// killed, and their trials are left out of the results (they did not finish).
pub(crate) async fn run(
    plan: &Plan,
    options: &RunOptions,
    store: &SpanStore,
    cancel: watch::Receiver<bool>,
    emit: &mut dyn FnMut(RunEvent),
) -> RunSummary {
    dispatch::run(plan, options, store, cancel, emit).await
}

/// Milliseconds as the report writes them (fractional).
pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
