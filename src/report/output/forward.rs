//! OTLP forwarding as an output: each finished trial's spans go to the sender as the trial
//! ends; at the end the spans that matched no trial and the run's own span follow, the run
//! waits for the backend (at most the forward timeout), and the report records what arrived.

use std::io::Write;
use std::sync::Arc;

use crate::event::RunEvent;
use crate::forward::{Forwarder, enrich};
use crate::report::Report;
use crate::trace::span::now_unix_nano;
use crate::trace::{Span, SpanId, TraceId};

use super::Output;

/// Forwards the run's spans; see the module docs.
pub(super) struct Forward {
    forwarder: Option<Forwarder>,
    started_ns: u64,
    /// The trial roots, for the run span's links.
    roots: Vec<(TraceId, SpanId)>,
    /// The spans that matched no trial, forwarded at the end.
    unattributed: Vec<Arc<Span>>,
    /// The closing line, printed after the run's results.
    line: Option<String>,
}

impl Forward {
    pub(super) fn new(forwarder: Forwarder) -> Forward {
        Forward {
            forwarder: Some(forwarder),
            started_ns: now_unix_nano(),
            roots: Vec::new(),
            unattributed: Vec::new(),
            line: None,
        }
    }
}

impl Output for Forward {
    fn on_event(&mut self, event: &RunEvent) {
        let Some(forwarder) = &self.forwarder else {
            return;
        };
        let result = match event {
            RunEvent::TrialFinished(result) => result,
            RunEvent::RunFinished(finished) => {
                self.unattributed.clone_from(&finished.unattributed);
                return;
            }
            _ => return,
        };
        if let Some(trace) = &result.trace {
            if self.roots.len() < 128 {
                self.roots.push((trace.root.trace_id, trace.root.span_id));
            }
            forwarder.trial(result, trace);
        }
    }

    fn complete(&mut self, report: &mut Report) {
        let Some(forwarder) = self.forwarder.take() else {
            return;
        };
        let passed = report.trials.iter().all(|t| t.passed);
        let aborted = report.interrupted || report.stopped.is_some();
        let rates: Vec<(String, f64)> = report
            .models
            .iter()
            .map(|m| (m.model.clone(), m.pass_rate))
            .collect();
        let run = forwarder.context().clone();
        let unattributed = std::mem::take(&mut self.unattributed);
        if !unattributed.is_empty() {
            forwarder.outgoing(enrich::unattributed(&run, &unattributed));
        }
        let span = enrich::run_span(
            &run,
            (self.started_ns, now_unix_nano()),
            (passed, aborted),
            &rates,
            &self.roots,
        );
        forwarder.spans(vec![span]);
        let summary = forwarder.finish();
        let mut line = format!(
            "{:>12} {} spans to {} ({} dropped, {} rejected) in {:.1}s",
            "Forwarded",
            summary.spans_sent,
            summary.endpoint,
            summary.spans_dropped,
            summary.spans_rejected,
            summary.duration_ms / 1e3,
        );
        if let Some(error) = &summary.first_error {
            line.push_str(&format!("; first error: {error}"));
        }
        self.line = Some(line);
        report.forward = Some(summary);
    }

    fn finish(&mut self, _report: &Report) -> Result<(), crate::report::WriteError> {
        if let Some(line) = self.line.take() {
            let _ = writeln!(std::io::stderr(), "{line}");
        }
        Ok(())
    }
}
