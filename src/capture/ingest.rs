//! What the HTTP and gRPC faces of the receiver share: the trial header, the counters, and
//! storing a decoded request. Both `receiver` (HTTP, and the server that hosts gRPC) and `grpc`
//! import this; neither imports the other's internals.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
};

use super::convert::decode_request;
use super::store::{SpanStore, TrialKey};

/// The header (and gRPC metadata key) that names the trial.
pub const TRIAL_HEADER: &str = "x-traceval-trial";

/// Counters of what the receiver has seen.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReceiverStats {
    /// Export requests accepted (HTTP and gRPC).
    pub requests: AtomicU64,
    /// Spans stored.
    pub spans: AtomicU64,
    /// Spans rejected for invalid ids.
    pub rejected_spans: AtomicU64,
    /// Requests refused (4xx).
    pub bad_requests: AtomicU64,
}

/// What HTTP and gRPC share: where spans go and what is counted.
#[derive(Clone)]
pub(crate) struct Ingest {
    /// Where spans go.
    pub(crate) store: SpanStore,
    /// What is counted.
    pub(crate) stats: Arc<ReceiverStats>,
}

impl Ingest {
    /// Stores a decoded request's spans and builds the OTLP response.
    pub(crate) fn accept(
        &self,
        req: ExportTraceServiceRequest,
        trial: Option<&TrialKey>,
    ) -> ExportTraceServiceResponse {
        let decoded = decode_request(req);
        let stored = decoded.spans.len() as u64;
        self.store.insert(decoded.spans, trial);
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        self.stats.spans.fetch_add(stored, Ordering::Relaxed);
        let partial_success = (decoded.rejected > 0).then(|| {
            self.stats
                .rejected_spans
                .fetch_add(decoded.rejected as u64, Ordering::Relaxed);
            ExportTracePartialSuccess {
                rejected_spans: decoded.rejected as i64,
                error_message: decoded.first_error.unwrap_or_default(),
            }
        });
        ExportTraceServiceResponse { partial_success }
    }
}
