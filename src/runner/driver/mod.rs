//! Drivers run one trial's agent. The runner gives a driver a [`TrialContext`] and gets an
//! [`AgentOutcome`] back; the spans travel separately, through the store.
//!
//! Three drivers: a command agent's subprocess, the builtin tool loop, and replay, which runs
//! nothing and hands the runner recorded spans instead ([`AgentOutcome::recording`]).

pub(crate) mod builtin;
pub(crate) mod command;
pub(crate) mod orphans;
pub(crate) mod replay;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::capture::TrialKey;
use crate::event::{AgentExit, TrialId};
use crate::llm::provider::ChatProvider;

/// A boxed future, so drivers can be trait objects.
pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// Runs one trial of an agent.
pub(crate) trait Driver: Send + Sync + 'static {
    /// Runs the agent for one trial. Never fails: a crash, a timeout or a spawn failure is an
    /// outcome, not an error, so it fails the trial and never the run.
    fn run(&self, trial: TrialContext) -> BoxFuture<AgentOutcome>;
}

/// What a driver knows about the trial it runs.
#[derive(Clone)]
pub(crate) struct TrialContext {
    /// Suite, case, model and trial index.
    pub id: TrialId,
    /// The run's id.
    pub run_id: Arc<str>,
    /// The key spans are filed under in the store.
    pub key: TrialKey,
    /// The case's input.
    pub input: Arc<serde_json::Value>,
    /// The agent is killed after this.
    pub timeout: Duration,
    /// W3C `traceparent` of the trial root span.
    pub traceparent: String,
    /// The receiver's base endpoint for this trial (`http://127.0.0.1:PORT/trial/<key>`).
    pub endpoint: String,
    /// Where the agent may write its answer (`TRACEVAL_OUTPUT`).
    pub output_path: PathBuf,
    /// Becomes `true` when the run is interrupted: stop the agent now.
    pub cancel: watch::Receiver<bool>,
    /// Variables for this trial on top of the contract's, e.g. `OPENAI_BASE_URL` of a
    /// scripted model.
    pub extra_env: Vec<(String, String)>,
    /// Variables of traceval's environment the agent must not inherit (those holding the
    /// forward target's header values).
    pub hidden_env: Arc<[String]>,
    /// The trial's model, when traceval calls it itself (the builtin agent).
    pub provider: Option<Arc<dyn ChatProvider>>,
}

/// How the agent's run went, as seen from outside.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AgentOutcome {
    /// How it ended.
    pub exit: AgentExit,
    /// From start to exit (or to the kill), not counting the time spent draining its pipes.
    pub duration: Duration,
    /// Its answer, bounded.
    pub output: String,
    /// The tail of its diagnostics, bounded.
    pub stderr_tail: String,
    /// Things worth a warning in the report (answer cut, stray processes...).
    pub warnings: Vec<String>,
    /// A replay's recorded spans, graded instead of the spans the store caught; `None` for an
    /// agent that ran.
    pub recording: Option<replay::Recording>,
    /// Why the agent could not do its work because something outside it failed (its model
    /// API unreachable, refusing the key, rate-limited or failing after every retry): the
    /// trial errors for infrastructure instead of failing. Only the builtin agent, whose
    /// model calls are traceval's, knows this; `None` otherwise.
    pub infrastructure_error: Option<String>,
}

/// Resolves when `cancel` turns `true` (or its sender is gone, which means the run is over).
pub(crate) async fn cancelled(cancel: &mut watch::Receiver<bool>) {
    let _ = cancel.wait_for(|c| *c).await;
}
