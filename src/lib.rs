//! traceval: a test runner for AI agents that treats OpenTelemetry traces as results.
//!
//! Spans from the code under test (in process, through the OpenTelemetry SDK or `tracing`) or
//! from agents in any language (through the embedded OTLP receiver) land in a
//! [`capture::SpanStore`]; [`trace::SpanTree`] turns them into a forest and
//! [`trace::GenAiView`] reads LLM calls, tool calls, agents, retries and errors from it, whatever
//! convention the instrumentation follows; [`trace::Conventions`] add a team's own span names
//! and attributes ([`trace::GenAiView::with_conventions`]).
//!
//! Receiving the spans of an agent that runs in another process:
//!
//! ```no_run
//! use traceval::capture::{Receiver, ReceiverConfig, SpanStore, TrialKey};
//! use traceval::trace::{GenAiView, SpanTree};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SpanStore::new();
//! let receiver = Receiver::start(ReceiverConfig::default(), store.clone()).await?;
//! let trial = TrialKey::from_parts("run-1", "weather", "paris", "gpt-4o-mini", 0);
//! // Start the agent with OTEL_EXPORTER_OTLP_ENDPOINT=receiver.trial_endpoint(&trial)...
//! let tree = SpanTree::build(store.trial(&trial));
//! let view = GenAiView::new(&tree);
//! println!("{} tool calls, {} input tokens", view.tool_calls().len(), view.usage().input_tokens);
//! # Ok(()) }
//! ```
//!
//! Capturing the spans of code in this process:
//!
//! ```
//! use opentelemetry::trace::{Span as _, Tracer};
//! use traceval::capture::{SpanStore, otel::InProcess};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let capture = InProcess::new(SpanStore::new());
//! let tracer = capture.tracer("my-agent");
//! let captured = capture
//!     .capture("trial", async {
//!         tracer.start("execute_tool search").end();
//!     })
//!     .await;
//! assert_eq!(captured.spans.len(), 2); // the root and the tool span
//! # }
//! ```

pub mod capture;
pub mod cli;
pub mod event;
pub mod grade;
mod hash;
pub mod metrics;
pub mod model;
pub mod report;
pub mod runner;
pub mod snapshot;
pub mod suite;
mod toml_doc;
pub mod trace;
