//! In-process capture through the OpenTelemetry SDK and `tracing`.

use std::sync::OnceLock;

use opentelemetry::KeyValue;
use opentelemetry::trace::{Span as _, Tracer};
use traceval::capture::SpanStore;
use traceval::capture::otel::InProcess;
use traceval::trace::{GenAiView, Kind, SpanTree};
use tracing::Instrument;
use tracing::instrument::WithSubscriber;
use tracing_subscriber::layer::SubscriberExt;

/// One provider for the whole test binary. Its `tracing` subscriber is not the global one
/// (`traceval::testing` owns that in this binary): tasks carry it with `with_subscriber`.
fn capture() -> &'static InProcess {
    static CAPTURE: OnceLock<InProcess> = OnceLock::new();
    CAPTURE.get_or_init(|| InProcess::new(SpanStore::new()))
}

fn subscriber() -> tracing::Dispatch {
    tracing_subscriber::registry()
        .with(capture().tracing_layer())
        .into()
}

#[tracing::instrument(fields(otel.kind = "client", gen_ai.operation.name = "chat", gen_ai.usage.input_tokens = 10 * n))]
async fn call_model(n: i64) {
    tokio::task::yield_now().await;
}

async fn agent(n: i64) {
    call_model(n).await;
    // An SDK span from the current context, between two tracing spans.
    let tracer = capture().tracer("agent");
    let mut tool = tracer.start("execute_tool lookup");
    tool.set_attribute(KeyValue::new("gen_ai.tool.name", format!("lookup_{n}")));
    tool.set_attribute(KeyValue::new(
        "gen_ai.tool.call.arguments",
        format!("{{\"n\":{n}}}"),
    ));
    tokio::task::yield_now().await;
    tool.end();
    async { tokio::task::yield_now().await }
        .instrument(tracing::info_span!("step.finish", n))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_captures_never_mix_their_spans() {
    let capture = capture();
    let subscriber = subscriber();
    let tasks: Vec<_> = (0..16)
        .map(|n| {
            tokio::spawn(
                async move { capture.capture(&format!("trial {n}"), agent(n)).await }
                    .with_subscriber(subscriber.clone()),
            )
        })
        .collect();
    let mut trace_ids = Vec::new();
    for (n, task) in tasks.into_iter().enumerate() {
        let captured = task.await.unwrap();
        let n = n as i64;
        assert_eq!(captured.spans.len(), 4, "trial {n}: root, chat, tool, step");
        assert!(
            captured
                .spans
                .iter()
                .all(|s| s.trace_id == captured.trace_id)
        );
        let tree = SpanTree::build(captured.spans);
        assert_eq!(tree.roots().count(), 1);
        assert_eq!(
            tree.roots().next().unwrap().span().name,
            format!("trial {n}")
        );
        let view = GenAiView::new(&tree);
        // Only this trial's tool and usage, so nothing leaked in from a neighbour.
        assert_eq!(view.tool_calls().len(), 1);
        assert_eq!(view.tool_calls()[0].name, format!("lookup_{n}"));
        assert_eq!(
            view.tool_calls()[0].arguments,
            Some(serde_json::json!({"n": n}))
        );
        assert_eq!(view.usage().input_tokens, 10 * n as u64);
        let kinds: Vec<Kind> = tree.walk().map(|node| view.kind(node.id())).collect();
        assert_eq!(kinds, [Kind::Other, Kind::Llm, Kind::Tool, Kind::Step]);
        trace_ids.push(captured.trace_id);
    }
    trace_ids.sort();
    trace_ids.dedup();
    assert_eq!(trace_ids.len(), 16);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_spans_stay_in_the_store_after_shutdown() {
    let store = SpanStore::new();
    let local = InProcess::new(store.clone());
    let captured = local
        .capture("root", async {
            let mut s = local.tracer("t").start("child");
            s.end();
        })
        .await;
    assert_eq!(captured.spans.len(), 2);
    local.shutdown(std::time::Duration::from_secs(1));
    drop(local);
    assert_eq!(store.trace(captured.trace_id).len(), 2);
}
