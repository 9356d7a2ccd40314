//! OTLP forwarding: every span a run captured, sent to the team's tracing backend with the run's
//! identity and each check's verdict attached (`docs/reference/forward.md`).
//!
//! [`config`] resolves where and how (flag > environment > `traceval.toml` > default);
//! [`enrich`] is the pure step from a graded trial to the spans sent; [`transport`] is one
//! OTLP export with the retry policy; [`Forwarder`] runs them off the run's threads with a
//! bounded queue and a bounded wait at the end.

pub(crate) mod config;
mod encode;
pub(crate) mod enrich;
mod logs;
pub(crate) mod transport;
mod worker;

pub(crate) use config::ForwardFile;
pub(crate) use enrich::RunContext;
pub(crate) use worker::Forwarder;

use serde::{Deserialize, Serialize};

/// What forwarding did, as the report records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForwardSummary {
    /// Where spans went (no user info, query or fragment).
    pub endpoint: String,
    /// The OTLP transport.
    pub protocol: config::Protocol,
    /// The backend profile.
    pub profile: config::Profile,
    /// How verdicts travelled.
    pub events: config::Events,
    /// Spans the backend accepted.
    pub spans_sent: u64,
    /// Spans never delivered: the queue was full, every retry failed, or the run stopped
    /// waiting for them.
    pub spans_dropped: u64,
    /// Spans the backend refused in a partial success.
    pub spans_rejected: u64,
    /// Requests that failed after their retries.
    pub requests_failed: u64,
    /// Verdicts sent as log records (`--forward-events log|both`).
    #[serde(default)]
    pub log_records_sent: u64,
    /// Log records not delivered (the backend takes no logs, or failed).
    #[serde(default)]
    pub log_records_dropped: u64,
    /// The first thing that went wrong, if anything did.
    pub first_error: Option<String>,
    /// From the first trial to the end of forwarding.
    pub duration_ms: f64,
    /// How long the run waited for forwarding after its last trial.
    pub wait_ms: f64,
    /// `--forward-required` (or `[forward] required`): a span not delivered makes the run's
    /// exit code 3.
    #[serde(default)]
    pub required: bool,
}

impl ForwardSummary {
    /// Every span was delivered.
    pub fn delivered_all(&self) -> bool {
        self.spans_dropped == 0 && self.spans_rejected == 0
    }

    /// Forwarding was required and a span was not delivered: the run is an outage (exit 3).
    pub fn failed_requirement(&self) -> bool {
        self.required && !self.delivered_all()
    }
}
