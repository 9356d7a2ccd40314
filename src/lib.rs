//! traceval: a test runner for AI agents that treats OpenTelemetry traces as results.
//!
//! Spans from the code under test (in process, through the OpenTelemetry SDK or `tracing`) or
//! from agents in any language (through the embedded OTLP receiver) land in a
//! [`capture::SpanStore`]; [`trace::SpanTree`] turns them into a forest and
//! [`trace::GenAiView`] reads LLM calls, tool calls, agents, retries and errors from it, whatever
//! convention the instrumentation follows; [`trace::Conventions`] add a team's own span names
//! and attributes ([`trace::GenAiView::with_conventions`]).
//!
//! # Testing your agent
//!
//! [`capture()`](fn@capture) runs async code and returns the spans it created, from `tracing`
//! or the `opentelemetry` API, as a [`Trace`]; [`capture_sync`] does the same for synchronous
//! code. Captures running at once (tests on `cargo test`'s threads, tasks of one runtime) never
//! see each other's spans, and `cargo nextest`'s process per test works as is. A [`Trace`]
//! reads its spans as GenAI ([`Trace::tool_calls`], [`Trace::llm_usage`]) and asserts on them
//! with the selectors of a suite's span assertions; a failed assertion panics at your line with
//! the span tree, the offending spans marked `>>`:
//!
//! ```
//! #[tracing::instrument(fields(gen_ai.operation.name = "execute_tool", gen_ai.tool.name = "search"))]
//! async fn search(query: &str) -> Vec<String> {
//!     vec![format!("result for {query}")]
//! }
//!
//! #[tracing::instrument(name = "chat", fields(gen_ai.operation.name = "chat", gen_ai.usage.input_tokens = 12))]
//! async fn ask_model(prompt: &str) -> String {
//!     format!("search: {prompt}")
//! }
//!
//! async fn agent(question: &str) -> String {
//!     let plan = ask_model(question).await;
//!     search(&plan).await.join("\n")
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let mut answer = String::new();
//! let trace = traceval::capture(async {
//!     answer = agent("weather in Paris").await;
//! })
//! .await;
//! assert!(answer.contains("Paris"));
//! trace.assert_span(r#"tool[name="search"]"#).count(1).after("llm");
//! trace.assert_no_span(r#"tool[name="delete"]"#);
//! assert_eq!(trace.llm_usage().input_tokens, 12);
//! # }
//! ```
//!
//! An agent in another process, in any language: [`testing::OtlpCapture`] starts an OTLP
//! receiver, hands out the `OTEL_*` variables for the agent, and returns its [`Trace`]. What is
//! captured and what is not (spawned tasks, threads), and how a test binary with its own
//! `tracing` subscriber plugs in: [`testing`]. A complete agent with its tests is in
//! `examples/weather_agent/`.
//!
//! # The building blocks
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
mod cli;
mod compare;
mod event;
mod forward;
mod grade;
mod hash;
mod html;
mod llm;
mod metrics;
pub mod report;
mod runner;
mod snapshot;
mod suite;
pub mod testing;
mod toml_doc;
pub mod trace;

pub use testing::{Trace, capture, capture_sync};

/// The `traceval` command line: parses `std::env::args`, runs, and returns the exit code (the
/// `traceval` binary is this function).
#[doc(hidden)]
pub fn main() -> i32 {
    cli::main()
}

/// What `benches/` measure beyond the public API (grading a run in process); not an API.
#[doc(hidden)]
pub mod __bench {
    pub use crate::event::{AgentExit, RunEvent, TrialResult};
    pub use crate::grade::{Finished, score};
    pub use crate::metrics::cost::Pricing;
    pub use crate::report::{ReportBuilder, RunMeta};
    pub use crate::suite::{Case, load_suite};

    /// `traceval compare BASE NEW --format json` on two reports already read (`--seed`
    /// `seed`, no gate): the document's JSON.
    pub fn compare_json(
        base: crate::report::Report,
        new: crate::report::Report,
        seed: u64,
    ) -> String {
        use crate::compare::{CompareOptions, GateOptions, LoadedReport, compare, gate};
        let mut options = CompareOptions::new(crate::compare::stats::metric::Options::default());
        options.stats.seed = seed;
        let reports = [
            LoadedReport {
                path: "base.json".into(),
                report: base,
            },
            LoadedReport {
                path: "new.json".into(),
                report: new,
            },
        ];
        match compare(&reports, &options) {
            Ok(mut doc) => {
                doc.gate = gate(&doc, &GateOptions::default());
                serde_json::to_string_pretty(&doc).expect("the document serialises")
            }
            Err(e) => format!("error: {e}"),
        }
    }
}

/// The HTML report's cost, for `benches/html.rs`; not an API.
#[doc(hidden)]
pub mod __bench_html {
    use std::sync::Arc;

    use crate::event::TrialTrace;
    use crate::html::{Budget, Collector, TraceSelection};
    use crate::report::Report;
    use crate::trace::Span;

    /// What `run --html FILE --html-traces failing` adds to a run of `report`: each trial's
    /// spans (`traces[i]` for `report.trials[i]`: its root and the rest) folded and kept or
    /// let go as the trials finish, then the page rendered.
    pub fn page(report: &Report, traces: &[(Arc<Span>, Vec<Arc<Span>>)]) -> String {
        let mut collector = Collector::new(TraceSelection::Failing);
        for (t, (root, spans)) in report.trials.iter().zip(traces) {
            let mut trial = crate::event::TrialResult::from(t.clone());
            trial.trace = Some(Arc::new(TrialTrace {
                root: Arc::clone(root),
                spans: spans.clone(),
                judge_spans: Vec::new(),
                offending: Vec::new(),
                last_llm: None,
                input: String::new(),
                conventions: Default::default(),
            }));
            collector.trial(&trial);
        }
        collector.report_finished(report);
        crate::html::render(report, &collector.finish(), &mut Budget::default())
    }
}

/// The statistics of `traceval compare` with plain numbers in and out, for the test that checks
/// them against SciPy (`tests/it/stats_oracle.rs`); not an API.
#[doc(hidden)]
pub mod __stats {
    pub use crate::compare::stats::oracle::*;
}
