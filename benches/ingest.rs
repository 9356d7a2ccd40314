//! Ingest benchmark: `cargo bench --bench ingest` (env `TRACEVAL_BENCH_SPANS`, default 1,000,000).
//!
//! Every number is printed next to a baseline measured in the same run on the same bytes:
//! 1. end-to-end ingest (a concurrent HTTP/1.1 client on loopback → receiver → store) against
//!    prost decoding of the same request bodies on one thread;
//! 2. span tree + GenAI classification per 100k spans against decoding those spans;
//! 3. memory held by the store for all spans (live heap bytes, counted by the allocator below,
//!    and the process RSS growth).
//!
//! The spans imitate agent traces as instrumentations emit them without message content: per
//! trace one `invoke_agent` span, three `chat` spans (12 attributes, unique response ids) and two
//! `execute_tool` spans (JSON arguments and results, unique call ids); 510 spans per request,
//! as a Python `BatchSpanProcessor` sends them.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, any_value::Value,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
use prost::Message;
use traceval::capture::convert::decode_request;
use traceval::capture::{Receiver, ReceiverConfig, SpanStore};
use traceval::trace::{GenAiView, SpanTree};

/// Counts live heap bytes, so "memory held" is measured, not estimated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[expect(
    unsafe_code,
    reason = "a global allocator is unsafe by definition; it only forwards to System"
)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const SPANS_PER_TRACE: usize = 6;
const TRACES_PER_REQUEST: usize = 85;
const CLIENT_CONCURRENCY: usize = 8;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

fn s(v: impl Into<String>) -> Value {
    Value::StringValue(v.into())
}

fn trace(n: u64) -> Vec<Span> {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&(n + 1).to_be_bytes());
    let id = |k: u64| ((n << 4) + k + 1).to_be_bytes().to_vec();
    let t0 = 1_700_000_000_000_000_000 + n * 1_000_000_000;
    let span = |k: u64, parent: Option<u64>, name: String, attributes: Vec<KeyValue>| Span {
        trace_id: trace_id.to_vec(),
        span_id: id(k),
        parent_span_id: parent.map(id).unwrap_or_default(),
        name,
        kind: if parent.is_some() { 3 } else { 1 },
        start_time_unix_nano: t0 + k * 10_000_000,
        end_time_unix_nano: t0 + k * 10_000_000 + 8_000_000,
        attributes,
        ..Default::default()
    };
    let mut spans = vec![span(
        0,
        None,
        "invoke_agent weather".into(),
        vec![
            kv("gen_ai.operation.name", s("invoke_agent")),
            kv("gen_ai.agent.name", s("weather")),
            kv("gen_ai.provider.name", s("openai")),
            kv("gen_ai.request.model", s("gpt-4o-mini")),
        ],
    )];
    for k in 1..=3 {
        spans.push(span(
            k,
            Some(0),
            "chat gpt-4o-mini".into(),
            vec![
                kv("gen_ai.operation.name", s("chat")),
                kv("gen_ai.provider.name", s("openai")),
                kv("gen_ai.request.model", s("gpt-4o-mini")),
                kv("gen_ai.response.model", s("gpt-4o-mini-2024-07-18")),
                kv("gen_ai.response.id", s(format!("chatcmpl-{n}-{k}"))),
                kv("server.address", s("api.openai.com")),
                kv("server.port", Value::IntValue(443)),
                kv("gen_ai.request.temperature", Value::DoubleValue(0.0)),
                kv(
                    "gen_ai.response.finish_reasons",
                    Value::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(s("tool_calls")),
                        }],
                    }),
                ),
                kv("gen_ai.usage.input_tokens", Value::IntValue(120 + k as i64)),
                kv("gen_ai.usage.output_tokens", Value::IntValue(18)),
                kv("openai.response.service_tier", s("default")),
            ],
        ));
    }
    for k in 4..=5 {
        spans.push(span(
            k,
            Some(0),
            "execute_tool get_weather".into(),
            vec![
                kv("gen_ai.operation.name", s("execute_tool")),
                kv("gen_ai.tool.name", s("get_weather")),
                kv("gen_ai.tool.call.id", s(format!("call_{n}_{k}"))),
                kv("gen_ai.tool.type", s("function")),
                kv(
                    "gen_ai.tool.call.arguments",
                    s(format!("{{\"city\":\"City {n}\"}}")),
                ),
                kv(
                    "gen_ai.tool.call.result",
                    s(format!("City {n}: 18 C, sunny")),
                ),
            ],
        ));
    }
    spans
}

fn request(first_trace: u64) -> ExportTraceServiceRequest {
    let spans = (first_trace..first_trace + TRACES_PER_REQUEST as u64)
        .flat_map(trace)
        .collect();
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", s("weather-agent")),
                    kv("telemetry.sdk.language", s("python")),
                    kv("telemetry.sdk.name", s("opentelemetry")),
                    kv("telemetry.sdk.version", s("1.45.2")),
                    kv("eval.run_id", s("01JBENCH")),
                    kv("eval.suite", s("weather")),
                ],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "opentelemetry.instrumentation.openai_v2".into(),
                    version: "2.4b0".into(),
                    ..Default::default()
                }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let target: usize = std::env::var("TRACEVAL_BENCH_SPANS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_request = SPANS_PER_TRACE * TRACES_PER_REQUEST;
    let requests = target.div_ceil(per_request);
    let total_spans = requests * per_request;
    // `Bytes`, so the client hands each body to the connection without copying it.
    let bodies: Arc<Vec<prost::bytes::Bytes>> = Arc::new(
        (0..requests)
            .map(|r| {
                request((r * TRACES_PER_REQUEST) as u64)
                    .encode_to_vec()
                    .into()
            })
            .collect(),
    );
    let body_bytes: usize = bodies.iter().map(|b| b.len()).sum();
    println!(
        "corpus: {total_spans} spans in {requests} requests of {per_request} spans, {:.1} MiB protobuf",
        body_bytes as f64 / (1 << 20) as f64
    );

    // Baseline 1: prost decode of the same bytes, one thread, nothing kept.
    let started = Instant::now();
    let mut decoded = 0;
    for body in bodies.iter() {
        let req = ExportTraceServiceRequest::decode(body.as_ref()).unwrap();
        decoded += req.resource_spans[0].scope_spans[0].spans.len();
        drop(req);
    }
    let decode_time = started.elapsed();
    assert_eq!(decoded, total_spans);

    // End to end: concurrent client → receiver (2 workers) → store.
    let rss_before = rss_bytes();
    let live_before = LIVE.load(Ordering::Relaxed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let store = SpanStore::new();
    let (ingest_time, receiver) = runtime.block_on(async {
        let receiver = Receiver::start(ReceiverConfig::default(), store.clone())
            .await
            .unwrap();
        let url = format!("{}/v1/traces", receiver.endpoint());
        let client = reqwest::Client::new();
        let next = Arc::new(AtomicUsize::new(0));
        let started = Instant::now();
        let workers: Vec<_> = (0..CLIENT_CONCURRENCY)
            .map(|_| {
                let (client, url, next, bodies) =
                    (client.clone(), url.clone(), next.clone(), bodies.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(body) = bodies.get(i) else { break };
                        let res = client
                            .post(&url)
                            .header("content-type", "application/x-protobuf")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap();
                        assert!(res.status().is_success());
                        res.bytes().await.unwrap();
                    }
                })
            })
            .collect();
        for w in workers {
            w.await.unwrap();
        }
        (started.elapsed(), receiver)
    });
    assert_eq!(store.len(), total_spans);
    runtime.block_on(receiver.shutdown());
    drop(runtime);
    // Measured while the bodies (allocated before `live_before`) are still alive.
    let live_held = LIVE.load(Ordering::Relaxed).saturating_sub(live_before);
    let rss_held = rss_bytes().saturating_sub(rss_before);
    drop(bodies);

    // Tree + classification, per trace as a run does it, over the first 100k spans.
    let sample: Vec<_> = store
        .trace_ids()
        .into_iter()
        .take(100_000 / SPANS_PER_TRACE)
        .map(|t| store.trace(t))
        .collect();
    let sample_spans: usize = sample.iter().map(Vec::len).sum();
    let started = Instant::now();
    let mut tool_calls = 0;
    for spans in &sample {
        let tree = SpanTree::build(spans.iter().cloned());
        let view = GenAiView::new(&tree);
        tool_calls += view.tool_calls().len();
        std::hint::black_box(view.usage());
    }
    let tree_time = started.elapsed();
    assert_eq!(tool_calls, sample.len() * 2);
    // Baseline 2: decoding (prost + conversion to owned spans) of the same number of spans.
    let sample_requests = sample_spans.div_ceil(per_request);
    let sample_bodies: Vec<Vec<u8>> = (0..sample_requests)
        .map(|r| request((r * TRACES_PER_REQUEST) as u64).encode_to_vec())
        .collect();
    let started = Instant::now();
    for body in &sample_bodies {
        let req = ExportTraceServiceRequest::decode(body.as_slice()).unwrap();
        std::hint::black_box(decode_request(req));
    }
    let sample_decode_time = started.elapsed();

    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    println!();
    println!("| measure | value | baseline (same run) | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| ingest, HTTP protobuf, {CLIENT_CONCURRENCY} client connections → store | {:.0} spans/s | prost decode only, 1 thread: {:.0} spans/s | {:.2} |",
        per_sec(total_spans, ingest_time),
        per_sec(total_spans, decode_time),
        per_sec(total_spans, ingest_time) / per_sec(total_spans, decode_time)
    );
    println!(
        "| tree + GenAI classification per 100k spans ({} traces) | {:.1} ms | decode + convert per 100k spans: {:.1} ms | {:.2} |",
        sample.len(),
        tree_time.as_secs_f64() * 1e3 * 100_000.0 / sample_spans as f64,
        sample_decode_time.as_secs_f64() * 1e3 * 100_000.0 / (sample_requests * per_request) as f64,
        (tree_time.as_secs_f64() / sample_spans as f64)
            / (sample_decode_time.as_secs_f64() / (sample_requests * per_request) as f64)
    );
    println!(
        "| memory held for {total_spans} spans | {:.0} MiB live heap ({:.0} B/span); RSS growth {:.0} MiB | protobuf bodies: {:.0} MiB | {:.2} |",
        mib(live_held),
        live_held as f64 / total_spans as f64,
        mib(rss_held),
        mib(body_bytes),
        live_held as f64 / body_bytes as f64
    );
}
