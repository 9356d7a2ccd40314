//! The test API: capture the spans of the code under test from `cargo test` and assert on them.
//!
//! [`capture`] (async) and [`capture_sync`] run a block of code and return its spans as a
//! [`Trace`], whichever API created them: `tracing` spans (`#[tracing::instrument]`,
//! `info_span!`) and OpenTelemetry spans (`opentelemetry::global::tracer(..)`, or a tracer from
//! [`tracer_provider`]). [`Trace`] reads them as GenAI ([`Trace::tool_calls`],
//! [`Trace::llm_usage`]) and asserts on them with selectors ([`Trace::assert_span`],
//! [`Trace::assert_no_span`]); a failed assertion panics at the caller's line with the rendered
//! span tree, the spans it is about marked `>>`. [`OtlpCapture`] does the same for an agent in
//! another process, through an OTLP receiver.
//!
//! # How spans are captured, and isolated
//!
//! The first capture in a process installs, once:
//! - an OpenTelemetry tracer provider as the `opentelemetry::global` one (sampling every span);
//! - a global `tracing` subscriber whose OpenTelemetry layer feeds that provider, unless the
//!   program set its own subscriber first (add [`tracing_layer`] to it then, see below).
//!
//! Each capture starts a root span in a new trace and runs the code with that span as the
//! current OpenTelemetry context, so every span the code starts belongs to that trace; the
//! provider files spans by trace, and a capture gets exactly the spans of its own trace. Tests
//! running at once on `cargo test`'s threads, or as tasks of one tokio runtime, never see each
//! other's spans; under `cargo nextest` each test is a process of its own and sets up on its
//! first capture. The root itself is not part of the [`Trace`]: the spans the code started
//! directly are its roots. Spans of traces nobody captures are dropped as they end, so spans
//! outside captures cost no memory.
//!
//! What is captured: spans started inside the capture from the current context, on the thread
//! or task that runs it, and in work that carries the context along:
//! `tokio::spawn(fut.with_current_context())` (`opentelemetry::context::FutureExt`), or
//! `tokio::spawn(fut.in_current_span())` from inside a `tracing` span of the code under test; in
//! a `std::thread`, attach `opentelemetry::Context::current()` taken before spawning.
//! What is not: a plain `tokio::spawn` or `std::thread::spawn` (its spans start a trace of
//! their own), spans that end after the capture returned (a task still running), and spans
//! with an explicit parent from outside the capture. A capture inside a capture keeps the inner
//! code's spans to itself.
//!
//! Setup happens at the first capture, so a tracer the code under test takes from
//! `opentelemetry::global` *before* it (say, when the agent is constructed) is a no-op tracer
//! for good, in particular under `cargo nextest`, where each test is a fresh process: call
//! [`init`] first in such tests.
//!
//! # A program with its own subscriber or provider
//!
//! A test binary that installs its own global `tracing` subscriber must add [`tracing_layer`]
//! to it, before the first capture; one that sets its own global OpenTelemetry tracer provider
//! replaces traceval's, so spans from `opentelemetry::global` are no longer captured (take
//! tracers from [`tracer_provider`] instead).

mod assert;
mod otlp;
mod trace;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, OnceLock};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider as _};
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanProcessor};
use tracing_subscriber::layer::SubscriberExt as _;

pub use assert::SpanAssert;
pub use otlp::OtlpCapture;
pub use trace::Trace;

use crate::capture::otel::to_spans;
use crate::trace::SpanId;

/// Runs `fut` and returns the spans it created, `tracing` and OpenTelemetry alike, isolated
/// from every other capture running at the same time (see the [module docs](self) for what is
/// and is not captured).
///
/// The future's output is `()`: keep what it computes in a variable declared outside.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// #[tracing::instrument(fields(gen_ai.operation.name = "execute_tool", gen_ai.tool.name = "search"))]
/// async fn search(query: &str) -> usize {
///     query.len()
/// }
///
/// let mut hits = 0;
/// let trace = traceval::capture(async {
///     hits = search("weather in Paris").await;
/// })
/// .await;
/// assert_eq!(hits, 16);
/// trace.assert_span(r#"tool[name="search"]"#).count(1);
/// # }
/// ```
pub async fn capture<F: Future<Output = ()>>(fut: F) -> Trace {
    let (open, cx) = Open::start();
    fut.with_context(cx).await;
    open.finish()
}

/// Runs `f` and returns the spans it created; [`capture`] for synchronous code.
///
/// ```
/// use opentelemetry::trace::{Span as _, Tracer as _};
///
/// let trace = traceval::capture_sync(|| {
///     let tracer = opentelemetry::global::tracer("my-agent");
///     let mut chat = tracer.start("chat gpt-4o-mini");
///     chat.set_attribute(opentelemetry::KeyValue::new("gen_ai.operation.name", "chat"));
///     chat.set_attribute(opentelemetry::KeyValue::new("gen_ai.usage.input_tokens", 42));
///     chat.end();
/// });
/// assert_eq!(trace.llm_usage().input_tokens, 42);
/// ```
pub fn capture_sync<F: FnOnce()>(f: F) -> Trace {
    let (open, cx) = Open::start();
    {
        let _attached = cx.attach();
        f();
    }
    open.finish()
}

/// Sets up capture now rather than at the first capture: registers traceval's tracer provider
/// as the `opentelemetry` global one and installs the `tracing` subscriber (see the
/// [module docs](self)). Needed only when the code under test takes its tracer from
/// `opentelemetry::global` *before* the first capture (e.g. when an agent is built): a tracer
/// taken before any provider is registered is a no-op tracer for good. Calling it again does
/// nothing. Calling it first thing in each test also narrows a known `tracing` race
/// (tokio-rs/tracing#3401): a `tracing` callsite first hit on one thread while another thread
/// installs the global subscriber can stay disabled.
///
/// ```
/// use opentelemetry::trace::Tracer as _;
///
/// traceval::testing::init();
/// let tracer = opentelemetry::global::tracer("built-before-the-capture");
/// let trace = traceval::capture_sync(|| tracer.in_span("step.plan", |_| {}));
/// assert_eq!(trace.len(), 1);
/// ```
pub fn init() {
    global();
    install_subscriber();
}

/// traceval's tracer provider (set up on first use, and registered as the `opentelemetry`
/// global one then): take tracers from it for code that is handed a tracer rather than using
/// the global one, or when the test binary sets a global provider of its own.
///
/// ```
/// use opentelemetry::trace::{Tracer as _, TracerProvider as _};
///
/// let tracer = traceval::testing::tracer_provider().tracer("my-agent");
/// let trace = traceval::capture_sync(|| {
///     tracer.in_span("execute_tool lookup", |_| {});
/// });
/// assert_eq!(trace.len(), 1);
/// ```
pub fn tracer_provider() -> SdkTracerProvider {
    global().provider.clone()
}

/// A `tracing` layer that turns `tracing` spans into spans of [`tracer_provider`], for a test
/// binary that installs its own global subscriber. Add it before the first capture; traceval
/// then leaves the global subscriber alone.
///
/// ```
/// use tracing_subscriber::layer::SubscriberExt as _;
/// use tracing_subscriber::util::SubscriberInitExt as _;
///
/// tracing_subscriber::registry()
///     .with(traceval::testing::tracing_layer())
///     // .with(tracing_subscriber::fmt::layer()) and whatever else the tests want
///     .init();
///
/// let trace = traceval::capture_sync(|| {
///     tracing::info_span!("invoke_agent weather", gen_ai.operation.name = "invoke_agent")
///         .in_scope(|| {});
/// });
/// trace.assert_span("agent").count(1);
/// ```
pub fn tracing_layer<S>() -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    LAYER_GIVEN.store(true, Ordering::SeqCst);
    layer(&global().provider)
}

/// Set once [`tracing_layer`] handed a layer out: the program wires `tracing` itself.
static LAYER_GIVEN: AtomicBool = AtomicBool::new(false);

fn layer<S>(provider: &SdkTracerProvider) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    // Context activation (the default) makes a new `tracing` span's parent the current
    // OpenTelemetry context, which is what puts it in the capture's trace even inside an
    // outer `tracing` span.
    tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("tracing"))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
}

/// The process-wide provider and where its spans go.
struct Global {
    provider: SdkTracerProvider,
    tracer: SdkTracer,
    router: Arc<Router>,
}

fn global() -> &'static Global {
    static GLOBAL: OnceLock<Global> = OnceLock::new();
    GLOBAL.get_or_init(|| {
        // Built without the environment detectors: the test process's own
        // `OTEL_RESOURCE_ATTRIBUTES` does not describe the code under test.
        let resource = Resource::builder_empty()
            .with_service_name("traceval-test")
            .build();
        let router = Arc::new(Router {
            open: Mutex::default(),
            resource: (&resource).into(),
        });
        // Sampling is fixed, not read from `OTEL_TRACES_SAMPLER`: a test sees every span.
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_sampler(Sampler::AlwaysOn)
            .with_span_processor(RouterProcessor(router.clone()))
            .build();
        opentelemetry::global::set_tracer_provider(provider.clone());
        Global {
            tracer: provider.tracer("traceval"),
            provider,
            router,
        }
    })
}

/// Installs the global `tracing` subscriber, once, unless the program took the layer.
fn install_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if LAYER_GIVEN.load(Ordering::SeqCst) {
            return;
        }
        // `set_global_default`, not `try_init`: with tracing-subscriber's `tracing-log` feature
        // (on whenever the user's crate enables its defaults) `try_init` also takes over the
        // `log` crate, failing when a logger is set (after installing the subscriber, so the
        // warning below would lie) and making a later `env_logger::init()` panic.
        let installed = tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(layer(&global().provider)),
        );
        if installed.is_err() {
            eprintln!(
                "warning: traceval: a global `tracing` subscriber is already set, so `tracing` \
                 spans are not captured\n  hint: add `traceval::testing::tracing_layer()` to it"
            );
        }
    });
}

/// Spans of the open captures, by trace. A span of any other trace is dropped as it ends.
#[derive(Debug)]
struct Router {
    open: Mutex<HashMap<opentelemetry::trace::TraceId, Vec<SpanData>>>,
    resource: ResourceAttributesWithSchema,
}

impl Router {
    fn open(&self) -> MutexGuard<'_, HashMap<opentelemetry::trace::TraceId, Vec<SpanData>>> {
        // A panic while holding the lock cannot leave the map half-changed.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[derive(Debug)]
struct RouterProcessor(Arc<Router>);

impl SpanProcessor for RouterProcessor {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if let Some(spans) = self.0.open().get_mut(&span.span_context.trace_id()) {
            spans.push(span);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// One capture in progress: its trace is open in the router until it finishes or is dropped
/// (a panic or a cancelled future inside the capture leaves nothing behind).
struct Open {
    trace: opentelemetry::trace::TraceId,
    root: SpanId,
}

impl Open {
    fn start() -> (Open, Context) {
        let global = global();
        install_subscriber();
        let root = global
            .tracer
            .span_builder("traceval.capture")
            .start_with_context(&global.tracer, &Context::new());
        let span_context = root.span_context().clone();
        let trace = span_context.trace_id();
        global.router.open().insert(trace, Vec::new());
        let open = Open {
            trace,
            root: SpanId(span_context.span_id().to_bytes()),
        };
        (open, Context::new().with_span(root))
    }

    /// The spans of the trace, without the root; the root's children become roots.
    fn finish(self) -> Trace {
        let router = &global().router;
        let spans = router.open().remove(&self.trace).unwrap_or_default();
        let spans = to_spans(spans, &router.resource)
            .into_iter()
            .filter(|s| s.span_id != self.root)
            .map(|mut s| {
                if s.parent_span_id == Some(self.root) {
                    s.parent_span_id = None;
                }
                Arc::new(s)
            });
        Trace::from_spans(spans)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        // After `finish` this finds nothing; after a panic it closes the trace.
        global().router.open().remove(&self.trace);
    }
}

#[cfg(feature = "insta")]
#[doc(hidden)]
pub use insta as __insta;

/// Asserts that a [`Trace`]'s shape ([`Trace::shape`]) matches its stored snapshot, through
/// [`insta::assert_snapshot!`]: the snapshot lives in the test's `snapshots/` folder, a change
/// fails the test with a diff, and `cargo insta review` (or `INSTA_UPDATE`) accepts it, as with
/// any insta snapshot. Takes the same forms as `assert_snapshot!`: the trace alone, a name and
/// the trace, or the trace and an inline snapshot `@"…"`.
///
/// ```
/// let trace = traceval::capture_sync(|| {
///     tracing::info_span!("invoke_agent weather", gen_ai.operation.name = "invoke_agent")
///         .in_scope(|| {
///             tracing::info_span!("execute_tool get_weather", gen_ai.tool.name = "get_weather")
///                 .in_scope(|| {});
///         });
/// });
/// traceval::assert_trace_snapshot!(trace, @r"
/// invoke_agent weather [agent] operation=invoke_agent
///   execute_tool get_weather [tool] tool=get_weather
/// ");
/// ```
#[cfg(feature = "insta")]
#[macro_export]
macro_rules! assert_trace_snapshot {
    ($trace:expr, @$snapshot:literal $(,)?) => {{
        let trace_shape = $crate::testing::Trace::shape(&$trace);
        $crate::testing::__insta::assert_snapshot!(trace_shape, @$snapshot)
    }};
    ($name:expr, $trace:expr $(,)?) => {{
        let trace_shape = $crate::testing::Trace::shape(&$trace);
        $crate::testing::__insta::assert_snapshot!($name, trace_shape)
    }};
    ($trace:expr $(,)?) => {{
        let trace_shape = $crate::testing::Trace::shape(&$trace);
        $crate::testing::__insta::assert_snapshot!(trace_shape)
    }};
}
