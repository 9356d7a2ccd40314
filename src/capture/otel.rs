//! In-process capture: spans created through the OpenTelemetry SDK or `tracing` go into a
//! [`SpanStore`].
//!
//! [`StoreExporter`] is an `opentelemetry_sdk` span exporter that writes into the store, usable
//! with any span processor. [`InProcess`] wires it up: a tracer provider that exports each span
//! as it ends, a `tracing` layer on the same provider, and [`InProcess::capture`], which runs a
//! future under a fresh root span and returns exactly that trace. Concurrent captures never mix:
//! each starts a new trace, and the store indexes by trace.
//!
//! SDK spans take the same road as received ones (SDK → OTLP protobuf message → owned span),
//! using opentelemetry-proto's own transform, so both kinds of capture agree field for field.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry::context::FutureExt;
use opentelemetry::trace::{Span as _, TraceContextExt, Tracer, TracerProvider};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, SpanData, SpanExporter};

use super::convert::decode_request;
use super::store::{SpanStore, TrialKey};
use crate::trace::{Scope, Span, TraceId};

/// An `opentelemetry_sdk` exporter that writes spans into a [`SpanStore`].
///
/// Spans it exports share their resource and scope: the simple processor exports one span at
/// a time, and each would otherwise carry a copy of its own, which a run keeps for every span
/// and forwarding would send once per span.
#[derive(Debug)]
pub struct StoreExporter {
    store: SpanStore,
    resource: ResourceAttributesWithSchema,
    shared: Mutex<Shared>,
}

/// The resources and scopes spans share, by content: traceval's own resource (the one trial
/// roots have, so a trial's spans have one resource) and those seen.
#[derive(Debug)]
struct Shared {
    resources: Vec<Arc<crate::trace::Resource>>,
    scopes: Vec<Arc<Scope>>,
}

impl Default for Shared {
    fn default() -> Shared {
        Shared {
            resources: vec![traceval_resource()],
            scopes: Vec::new(),
        }
    }
}

/// Distinct resources or scopes kept for sharing: a program has a handful; past this many,
/// spans of new ones keep their own.
const SHARED_MAX: usize = 64;

impl Shared {
    fn share(&mut self, span: &mut Span) {
        share(&mut self.resources, &mut span.resource);
        share(&mut self.scopes, &mut span.scope);
    }
}

/// Replaces `item` with the equal one of `kept`, or keeps it there.
fn share<T: PartialEq>(kept: &mut Vec<Arc<T>>, item: &mut Arc<T>) {
    if let Some(k) = kept.iter().find(|k| ***k == **item) {
        *item = Arc::clone(k);
    } else if kept.len() < SHARED_MAX {
        kept.push(Arc::clone(item));
    }
}

/// traceval's own resource (`service.name = traceval`), one for the whole process: of trial
/// roots, and of the spans of [`InProcess::new`].
pub(crate) fn traceval_resource() -> Arc<crate::trace::Resource> {
    static RESOURCE: std::sync::LazyLock<Arc<crate::trace::Resource>> =
        std::sync::LazyLock::new(|| {
            Arc::new(crate::trace::Resource {
                attributes: crate::trace::Attributes(vec![crate::trace::KeyValue::new(
                    "service.name",
                    "traceval",
                )]),
                schema_url: String::new(),
            })
        });
    Arc::clone(&RESOURCE)
}

/// traceval's own instrumentation scope (`traceval`, its version), one for the whole process:
/// of trial roots and the run's span.
pub(crate) fn traceval_scope() -> Arc<Scope> {
    static SCOPE: std::sync::LazyLock<Arc<Scope>> = std::sync::LazyLock::new(|| {
        Arc::new(Scope {
            name: "traceval".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            ..Scope::default()
        })
    });
    Arc::clone(&SCOPE)
}

impl StoreExporter {
    /// An exporter into `store`.
    pub fn new(store: SpanStore) -> StoreExporter {
        StoreExporter {
            store,
            resource: ResourceAttributesWithSchema::default(),
            shared: Mutex::default(),
        }
    }
}

impl SpanExporter for StoreExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut spans = to_spans(batch, &self.resource);
        {
            let mut shared = self.shared.lock().expect("not poisoned");
            spans.iter_mut().for_each(|s| shared.share(s));
        }
        self.store.insert(spans, None);
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = resource.into();
    }
}

/// SDK spans as owned spans, through the OTLP message, as received spans are read.
pub(crate) fn to_spans(batch: Vec<SpanData>, resource: &ResourceAttributesWithSchema) -> Vec<Span> {
    let request = ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(batch, resource),
    };
    // SDK spans always have valid ids, so nothing is rejected here.
    decode_request(request).spans
}

/// The spans of one [`InProcess::capture`] call.
#[derive(Debug)]
pub struct Captured<T> {
    /// What the future returned.
    pub output: T,
    /// The trace of the capture's root span.
    pub trace_id: TraceId,
    /// Every span of that trace that had ended when the future finished, root included.
    pub spans: Vec<Arc<Span>>,
}

/// A tracer provider whose spans land in a [`SpanStore`] the moment they end.
#[derive(Debug, Clone)]
pub struct InProcess {
    provider: SdkTracerProvider,
    store: SpanStore,
}

impl InProcess {
    /// A provider exporting into `store`, with `service.name = traceval` as its resource.
    ///
    /// The resource is built without the environment detectors on purpose: the process's own
    /// `OTEL_RESOURCE_ATTRIBUTES` describes traceval, not the code under test.
    pub fn new(store: SpanStore) -> InProcess {
        let resource = Resource::builder_empty()
            .with_service_name("traceval")
            .build();
        InProcess::with_resource(store, resource)
    }

    /// A provider exporting into `store` with the given resource (e.g. carrying `eval.*`
    /// attributes, which attribute every span to a trial).
    pub fn with_resource(store: SpanStore, resource: Resource) -> InProcess {
        // The simple processor exports inside `Span::end`; our exporter only takes a lock,
        // so spans are in the store as soon as they end, with no flush to wait for.
        let provider = SdkTracerProvider::builder()
            .with_resource(resource)
            .with_simple_exporter(StoreExporter::new(store.clone()))
            .build();
        InProcess { provider, store }
    }

    /// The store spans go to.
    pub fn store(&self) -> &SpanStore {
        &self.store
    }

    /// The underlying provider, e.g. to register as the global one.
    pub fn provider(&self) -> &SdkTracerProvider {
        &self.provider
    }

    /// A tracer whose instrumentation scope is `scope`.
    pub fn tracer(&self, scope: &'static str) -> SdkTracer {
        self.provider.tracer(scope)
    }

    /// A `tracing` layer that turns `tracing` spans into spans of this provider. Install it
    /// on the global subscriber: a per-thread default does not follow tokio tasks.
    pub fn tracing_layer<S>(&self) -> tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer("tracing"))
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
    }

    /// Runs `fut` under a new root span named `name` in a new trace and returns its output
    /// with the spans of that trace. OpenTelemetry spans started from the current context
    /// and `tracing` spans (through [`InProcess::tracing_layer`]) inside `fut` are children of
    /// the root. Work moved to `tokio::spawn` keeps the context only when wrapped with
    /// `opentelemetry::context::FutureExt::with_current_context`.
    pub async fn capture<F: Future>(&self, name: &str, fut: F) -> Captured<F::Output> {
        self.capture_for(None, name, fut).await
    }

    /// Like [`InProcess::capture`], and links the trace to a trial in the store.
    pub async fn capture_for<F: Future>(
        &self,
        trial: Option<&TrialKey>,
        name: &str,
        fut: F,
    ) -> Captured<F::Output> {
        let tracer = self.tracer("traceval");
        let root = tracer
            .span_builder(name.to_owned())
            .start_with_context(&tracer, &Context::new());
        let trace_id = TraceId(root.span_context().trace_id().to_bytes());
        if let Some(key) = trial {
            self.store.link_trace(trace_id, key);
        }
        let cx = Context::new().with_span(root);
        let output = fut.with_context(cx.clone()).await;
        cx.span().end();
        Captured {
            output,
            trace_id,
            spans: self.store.trace(trace_id),
        }
    }

    /// Flushes and shuts the provider down; the store keeps every span.
    pub fn shutdown(&self, timeout: Duration) {
        // An exporter into memory cannot fail; an error here means "already shut down".
        let _ = self.provider.shutdown_with_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn spans_of_one_provider_share_their_resource_and_scope() {
        let capture = InProcess::new(SpanStore::new());
        let captured = capture
            .capture("root", async {
                let tracer = capture.tracer("agent");
                tracer.start("one").end();
                tracer.start("two").end();
                capture.tracer("other").start("three").end();
            })
            .await;
        let by_name = |n: &str| {
            Arc::clone(
                captured
                    .spans
                    .iter()
                    .find(|s| s.name == n)
                    .expect("captured"),
            )
        };
        let (one, two, three) = (by_name("one"), by_name("two"), by_name("three"));
        assert_eq!(captured.spans.len(), 4);
        assert!(Arc::ptr_eq(&one.resource, &two.resource));
        assert!(Arc::ptr_eq(&one.resource, &three.resource));
        assert!(
            Arc::ptr_eq(&one.resource, &traceval_resource()),
            "trial roots' resource"
        );
        assert!(Arc::ptr_eq(&one.scope, &two.scope));
        assert!(!Arc::ptr_eq(&one.scope, &three.scope));
        assert_eq!(three.scope.name, "other");
    }
}
