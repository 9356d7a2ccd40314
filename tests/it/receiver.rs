//! The receiver against real exporters and against bad input.

use std::io::Write;

use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState,
    Tracer, TracerProvider,
};
use opentelemetry::{Array, Context, InstrumentationScope, KeyValue, Value};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span as PSpan};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use prost::Message;
use reqwest::StatusCode;
use traceval::capture::otel::StoreExporter;
use traceval::capture::{SpanStore, TrialKey};
use traceval::trace::{Span, TraceId};

use crate::support::{deadline, receiver};

#[derive(Debug, Clone, Copy)]
enum Transport {
    HttpProto,
    HttpJson,
    Grpc,
}

/// Emits a trace that uses every field: all attribute types, an event, a link, an error
/// status, span kinds, nesting. Returns its trace id and span count.
fn emit(provider: &SdkTracerProvider) -> (TraceId, usize) {
    let scope = InstrumentationScope::builder("agent-lib")
        .with_version("1.2.3")
        .with_schema_url("https://opentelemetry.io/schemas/1.26.0")
        .with_attributes([KeyValue::new("scope.attr", "s")])
        .build();
    let tracer = provider.tracer_with_scope(scope);
    let linked = SpanContext::new(
        opentelemetry::trace::TraceId::from_bytes([7; 16]),
        opentelemetry::trace::SpanId::from_bytes([7; 8]),
        TraceFlags::SAMPLED,
        true,
        TraceState::from_key_value([("vendor", "x")]).unwrap(),
    );
    let root = tracer
        .span_builder("invoke_agent bot")
        .with_kind(SpanKind::Server)
        .with_attributes([
            KeyValue::new("gen_ai.operation.name", "invoke_agent"),
            KeyValue::new("flag", true),
            KeyValue::new("big", 12_345_678_901_i64),
            KeyValue::new("ratio", 0.25),
            KeyValue::new(
                "names",
                Value::Array(Array::String(vec!["a".into(), "b".into()])),
            ),
            KeyValue::new("counts", Value::Array(Array::I64(vec![1, -2]))),
            KeyValue::new("unicode", "café ☕ \u{1F600}"),
        ])
        .with_links(vec![Link::new(
            linked,
            vec![KeyValue::new("link.attr", 1_i64)],
            0,
        )])
        .start_with_context(&tracer, &Context::new());
    let trace_id = TraceId(root.span_context().trace_id().to_bytes());
    let cx = Context::new().with_span(root);
    {
        let mut chat = tracer
            .span_builder("chat gpt-4o")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "chat"),
                KeyValue::new("gen_ai.usage.input_tokens", 100_i64),
                KeyValue::new("gen_ai.usage.output_tokens", 7_i64),
            ])
            .start_with_context(&tracer, &cx);
        chat.add_event(
            "exception",
            vec![KeyValue::new("exception.message", "rate limited")],
        );
        chat.set_status(Status::error("429 from upstream"));
        chat.end();
    }
    {
        let mut tool = tracer
            .span_builder("execute_tool get_weather")
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "execute_tool"),
                KeyValue::new("gen_ai.tool.name", "get_weather"),
                KeyValue::new("gen_ai.tool.call.arguments", r#"{"city":"Paris"}"#),
            ])
            .start_with_context(&tracer, &cx);
        tool.set_status(Status::Ok);
        tool.end();
    }
    cx.span().end();
    (trace_id, 3)
}

fn exporter(
    transport: Transport,
    endpoint: &str,
    trial: &TrialKey,
) -> opentelemetry_otlp::SpanExporter {
    match transport {
        Transport::HttpProto | Transport::HttpJson => opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(match transport {
                Transport::HttpJson => Protocol::HttpJson,
                _ => Protocol::HttpBinary,
            })
            .with_compression(opentelemetry_otlp::Compression::Gzip)
            // Used verbatim: the trial is named by the path.
            .with_endpoint(format!("{endpoint}/trial/{trial}/v1/traces"))
            .build()
            .unwrap(),
        Transport::Grpc => {
            let mut metadata = tonic::metadata::MetadataMap::new();
            metadata.insert("x-traceval-trial", trial.as_str().parse().unwrap());
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .with_compression(opentelemetry_otlp::Compression::Gzip)
                .with_endpoint(endpoint)
                .with_metadata(metadata)
                .build()
                .unwrap()
        }
    }
}

/// The same spans go to the receiver (over OTLP) and, in process, to a reference store; what
/// arrives must equal the reference field for field.
async fn round_trip(transport: Transport) {
    let (store, receiver) = receiver().await;
    let reference = SpanStore::new();
    let trial = TrialKey::from_parts("run-1", "weather", "paris, france", "sunny", 0);
    let resource = Resource::builder_empty()
        .with_service_name("agent")
        .with_attribute(KeyValue::new("eval.run_id", "run-1"))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_simple_exporter(StoreExporter::new(reference.clone()))
        .with_batch_exporter(exporter(transport, &receiver.endpoint(), &trial))
        .build();
    let (trace_id, count) = emit(&provider);
    tokio::task::spawn_blocking(move || provider.shutdown().unwrap())
        .await
        .unwrap();
    store
        .wait_for(|v| v.trace(trace_id).len() == count, deadline())
        .await
        .unwrap_or_else(|_| panic!("{transport:?}: spans did not arrive"));

    let sorted = |mut spans: Vec<std::sync::Arc<Span>>| {
        spans.sort_by_key(|s| s.span_id);
        spans
            .into_iter()
            .map(|s| (*s).clone())
            .collect::<Vec<Span>>()
    };
    let got = sorted(store.trace(trace_id));
    let want = sorted(reference.trace(trace_id));
    assert_eq!(want.len(), count);
    assert_eq!(got, want, "{transport:?}: a field changed on the way");
    // Spot checks that the reference itself is rich, so equality means something.
    let root = got.iter().find(|s| s.parent_span_id.is_none()).unwrap();
    assert_eq!(root.links.len(), 1);
    assert_eq!(root.links[0].trace_state, "vendor=x");
    assert_eq!(root.scope.version, "1.2.3");
    assert_eq!(root.resource.attributes.str("eval.run_id"), Some("run-1"));
    assert_eq!(
        root.attr("unicode").and_then(|v| v.as_str()),
        Some("café ☕ \u{1F600}")
    );
    let chat = got.iter().find(|s| s.name == "chat gpt-4o").unwrap();
    assert_eq!(chat.status.message, "429 from upstream");
    assert_eq!(chat.events[0].name, "exception");
    // Attributed to the trial by the path (HTTP) or metadata (gRPC).
    assert_eq!(store.trial(&trial).len(), count, "{transport:?}");
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_otlp_http_protobuf_round_trip() {
    round_trip(Transport::HttpProto).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_otlp_http_json_round_trip() {
    round_trip(Transport::HttpJson).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_otlp_grpc_round_trip() {
    round_trip(Transport::Grpc).await;
}

fn request_with_ids(ids: &[(&[u8], &[u8])]) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: ids
                    .iter()
                    .map(|(t, s)| PSpan {
                        trace_id: t.to_vec(),
                        span_id: s.to_vec(),
                        name: "s".into(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A request of `n` empty spans, written at the wire level: 2 bytes per span.
fn empty_spans(n: usize) -> Vec<u8> {
    let field = |number: u64, body: &[u8]| {
        let mut out = Vec::new();
        prost::encoding::encode_varint((number << 3) | 2, &mut out);
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    };
    field(1, &field(2, &field(2, &[]).repeat(n)))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// `google.rpc.Status` as the receiver writes it.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_http_input_gets_4xx_and_the_receiver_keeps_serving() {
    let (store, receiver) = receiver().await;
    let url = format!("{}/v1/traces", receiver.endpoint());
    let client = reqwest::Client::new();
    let post = |ct: &'static str, encoding: Option<&'static str>, body: Vec<u8>| {
        let mut req = client.post(&url).header("content-type", ct).body(body);
        if let Some(e) = encoding {
            req = req.header("content-encoding", e);
        }
        req.send()
    };
    let valid = request_with_ids(&[(&[1; 16], &[1; 8])]).encode_to_vec();

    // Garbage protobuf: 400 with a google.rpc.Status body.
    let res = post(
        "application/x-protobuf",
        None,
        b"\xff\xff\xff\xffnot protobuf".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let status = RpcStatus::decode(res.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 3);
    assert!(
        status.message.contains("malformed OTLP protobuf"),
        "{}",
        status.message
    );

    // Invalid JSON: 400 with a JSON status.
    let res = post("application/json", None, b"{\"resourceSpans\": [".to_vec())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("malformed OTLP JSON"),
        "{body}"
    );

    // snake_case keys would silently decode to nothing: refused instead.
    let res = post(
        "application/json",
        None,
        br#"{"resource_spans": []}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Wrong content type and unknown encoding: 415.
    let res = post("text/plain", None, valid.clone()).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = post("application/x-protobuf", Some("br"), valid.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);

    // Truncated gzip: 400.
    let zipped = gzip(&valid);
    let res = post(
        "application/x-protobuf",
        Some("gzip"),
        zipped[..zipped.len() / 2].to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Gzip bomb: 64 MiB of zeros in ~64 KiB, cut off at the 32 MiB limit: 413.
    let bomb = gzip(&vec![0u8; 64 << 20]);
    assert!(bomb.len() < 1 << 20);
    let res = post("application/x-protobuf", Some("gzip"), bomb)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A 100 MB body: 413.
    let res = post("application/x-protobuf", None, vec![0u8; 100_000_000])
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Decoding amplification: 4M empty spans are 8 MB on the wire, a few KB gzipped, and would
    // take over a gigabyte decoded. Refused before decoding.
    let res = post(
        "application/x-protobuf",
        Some("gzip"),
        gzip(&empty_spans(4_000_000)),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let status = RpcStatus::decode(res.bytes().await.unwrap()).unwrap();
    assert!(status.message.contains("decoded"), "{}", status.message);
    let empty_objects = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}{{}}]}}]}}]}}"#,
        "{},".repeat(4_000_000)
    );
    let res = post("application/json", None, empty_objects.into_bytes())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // Nothing so far was stored, and a valid request still works.
    assert_eq!(store.len(), 0);
    let res = post("application/x-protobuf", Some("gzip"), gzip(&valid))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/x-protobuf");
    let ok = ExportTraceServiceResponse::decode(res.bytes().await.unwrap()).unwrap();
    assert_eq!(ok.partial_success, None);
    assert_eq!(store.len(), 1);
    assert_eq!(
        receiver
            .stats()
            .bad_requests
            .load(std::sync::atomic::Ordering::Relaxed),
        10
    );
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_spans_are_rejected_through_partial_success() {
    let (store, receiver) = receiver().await;
    let url = format!("{}/v1/traces", receiver.endpoint());
    let req = request_with_ids(&[
        (&[1; 16], &[1; 8]),
        (&[0; 16], &[2; 8]),
        (&[1; 16], &[3; 3]),
    ]);
    let client = reqwest::Client::new();

    let res = client
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .body(req.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body = ExportTraceServiceResponse::decode(res.bytes().await.unwrap()).unwrap();
    let partial = body.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 2);
    assert!(
        partial.error_message.contains("invalid trace id"),
        "{}",
        partial.error_message
    );

    let res = client
        .post(&url)
        .header("content-type", "application/json")
        .body(serde_json::to_vec(&req).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    let rejected = &body["partialSuccess"]["rejectedSpans"];
    assert!(rejected == "2" || rejected == 2, "{body}");
    assert_eq!(store.len(), 2, "the valid span of each request is kept");
    receiver.shutdown().await;
}

/// Sends raw bytes as the gRPC request message.
#[derive(Clone, Copy)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = ExportTraceServiceResponse;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> RawCodec {
        RawCodec
    }
    fn decoder(&mut self) -> RawCodec {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = ExportTraceServiceResponse;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Self::Item>, tonic::Status> {
        Ok(Some(ExportTraceServiceResponse::decode(src).unwrap()))
    }
}

async fn grpc_export(
    endpoint: &str,
    body: Vec<u8>,
) -> Result<ExportTraceServiceResponse, tonic::Status> {
    let channel = tonic::transport::Channel::from_shared(endpoint.to_owned())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    );
    grpc.unary(tonic::Request::new(body), path, RawCodec)
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_grpc_input_gets_an_error_status_and_the_receiver_keeps_serving() {
    let (store, receiver) = receiver().await;
    let endpoint = receiver.endpoint();

    let err = grpc_export(&endpoint, b"\xff\xff\xff\xffgarbage".to_vec())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");

    let err = grpc_export(&endpoint, vec![0x0a; 40 << 20])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.code(),
            tonic::Code::OutOfRange | tonic::Code::ResourceExhausted
        ),
        "{err}"
    );

    let err = grpc_export(&endpoint, empty_spans(4_000_000))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::ResourceExhausted, "{err}");

    let mixed = request_with_ids(&[(&[1; 16], &[1; 8]), (&[1; 16], &[])]);
    let ok = grpc_export(&endpoint, mixed.encode_to_vec()).await.unwrap();
    assert_eq!(ok.partial_success.unwrap().rejected_spans, 1);
    assert_eq!(store.len(), 1);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unattributed_requests_are_kept() {
    let (store, receiver) = receiver().await;
    let res = reqwest::Client::new()
        .post(format!("{}/v1/traces", receiver.endpoint()))
        .header("content-type", "application/x-protobuf")
        .body(request_with_ids(&[(&[5; 16], &[1; 8])]).encode_to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(store.unattributed_traces(), [TraceId([5; 16])]);
    receiver.shutdown().await;
}
