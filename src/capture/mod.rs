//! Getting spans in: the shared store, the OTLP receiver, trace files, in-process capture.
//!
//! OpenTelemetry and protobuf types stop here; everything leaves as [`crate::trace::Span`].

pub(crate) mod budget;
pub mod convert;
pub(crate) mod env;
pub mod file;
pub(crate) mod grpc;
mod ingest;
pub mod otel;
pub mod receiver;
pub mod recorded;
pub mod store;

pub use receiver::{Receiver, ReceiverConfig, ReceiverError};
pub use store::{SpanStore, StoreView, TrialKey, WaitTimeout};
