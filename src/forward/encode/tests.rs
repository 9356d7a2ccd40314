use std::sync::Arc;

use prost::Message;

use super::*;
use crate::capture::convert::{decode_request, encode_request_shared};
use crate::trace::{Attributes, SpanId, Status, TraceId};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;

fn resource(service: &str) -> Arc<Resource> {
    Arc::new(Resource {
        attributes: Attributes(vec![KeyValue::new("service.name", service)]),
        schema_url: format!("https://opentelemetry.io/schemas/{service}"),
    })
}

/// Every kind of value, the edge cases of proto3 defaults included.
fn values() -> Vec<KeyValue> {
    vec![
        KeyValue::new("s", "text"),
        KeyValue::new("empty", ""),
        KeyValue::new("", "no key"),
        KeyValue::new("yes", true),
        KeyValue::new("no", false),
        KeyValue::new("zero", 0i64),
        KeyValue::new("negative", -7i64),
        KeyValue::new("big", i64::MAX),
        KeyValue::new("d0", 0.0),
        KeyValue::new("d", -1.5),
        KeyValue::new("bytes", Value::Bytes(Arc::from(&[0u8, 255, 7][..]))),
        KeyValue::new("no bytes", Value::Bytes(Arc::from(&[][..]))),
        KeyValue::new(
            "array",
            Value::Array(Arc::from(vec![
                Value::Int(1),
                Value::Str("".into()),
                Value::Array(Arc::from(Vec::new())),
            ])),
        ),
        KeyValue::new(
            "map",
            Value::Map(Arc::from(vec![
                KeyValue::new("inner", 2.5),
                KeyValue::new("deeper", Value::Map(Arc::from(Vec::new()))),
            ])),
        ),
        KeyValue::new("long", "x".repeat(300)),
    ]
}

fn spans() -> Vec<Outgoing> {
    let (agent, judge) = (resource("agent"), resource("judge"));
    let scope = Arc::new(Scope {
        name: "openinference".into(),
        version: "1.2".into(),
        attributes: Attributes(vec![KeyValue::new("scope.attr", 1i64)]),
        schema_url: "scope-schema".into(),
    });
    let mut root = Span::new(TraceId([1; 16]), SpanId([1; 8]), "eval.trial");
    root.start_time_unix_nano = 1;
    root.end_time_unix_nano = u64::MAX;
    root.attributes = Attributes(values());
    root.resource = Arc::clone(&agent);
    let mut tool = Span::new(TraceId([1; 16]), SpanId([2; 8]), "execute_tool search");
    tool.parent_span_id = Some(SpanId([1; 8]));
    tool.kind = SpanKind::Client;
    tool.flags = 0x301;
    tool.trace_state = "vendor=1".into();
    tool.dropped_attributes_count = 3;
    tool.dropped_events_count = 300;
    tool.dropped_links_count = 1;
    tool.status = Status {
        code: StatusCode::Error,
        message: "boom".into(),
    };
    tool.attributes = Attributes(vec![
        KeyValue::new("eval.run_id", "stale"),
        KeyValue::new("gen_ai.tool.name", "search"),
    ]);
    tool.events.push(Event {
        name: "exception".into(),
        time_unix_nano: 5,
        attributes: Attributes(vec![KeyValue::new("exception.message", "boom")]),
        dropped_attributes_count: 2,
    });
    tool.links.push(Link {
        trace_id: TraceId([9; 16]),
        span_id: SpanId([9; 8]),
        trace_state: "a=b".into(),
        attributes: Attributes(values()),
        dropped_attributes_count: 4,
        flags: 0x100,
    });
    tool.scope = Arc::clone(&scope);
    tool.resource = Arc::clone(&agent);
    let mut ok = Span::new(TraceId([2; 16]), SpanId([3; 8]), "");
    ok.status.code = StatusCode::Ok;
    ok.resource = Arc::clone(&judge);
    let mut unnamed = Span::new(TraceId([2; 16]), SpanId([4; 8]), "chat");
    unnamed.kind = SpanKind::Consumer;
    unnamed.scope = scope;
    unnamed.resource = Arc::clone(&agent);

    let added: Arc<[KeyValue]> = Arc::from(vec![
        KeyValue::new("eval.run_id", "run-1"),
        KeyValue::new("eval.trial", 3i64),
    ]);
    let mut enriched = resource("agent");
    Arc::make_mut(&mut enriched)
        .attributes
        .0
        .push(KeyValue::new("eval.run_id", "run-1"));
    let evaluation = Event {
        name: "gen_ai.evaluation.result".into(),
        time_unix_nano: 9,
        attributes: Attributes(vec![KeyValue::new("gen_ai.evaluation.score.value", 1.0)]),
        dropped_attributes_count: 0,
    };
    let out = |span: Span, resource: &Arc<Resource>| Outgoing {
        span: Arc::new(span),
        added: Arc::clone(&added),
        evaluations: vec![evaluation.clone(); 2],
        links: vec![Link {
            trace_id: TraceId([7; 16]),
            span_id: SpanId([7; 8]),
            trace_state: String::new(),
            attributes: Attributes(vec![KeyValue::new("eval.link", "agent")]),
            dropped_attributes_count: 0,
            flags: 0,
        }],
        resource: Arc::clone(resource),
    };
    vec![
        out(root, &enriched),
        out(tool, &enriched),
        Outgoing::plain(ok),
        out(unnamed, &enriched),
    ]
}

fn through_prost(spans: &[Outgoing], evaluations: bool) -> Vec<u8> {
    let materialized: Vec<Span> = spans.iter().map(|s| s.to_span(evaluations)).collect();
    encode_request_shared(materialized.iter()).encode_to_vec()
}

#[test]
fn the_bytes_are_what_prost_writes_for_the_materialized_spans() {
    let spans = spans();
    for evaluations in [true, false] {
        let direct = traces_request(&spans, evaluations);
        assert!(
            direct == through_prost(&spans, evaluations),
            "{evaluations}"
        );
    }
    assert!(traces_request(&[], true).is_empty());
}

#[test]
fn added_attributes_replace_the_spans_own_and_nothing_else_is_lost() {
    let spans = spans();
    let request = ExportTraceServiceRequest::decode(&traces_request(&spans, true)[..]).unwrap();
    let decoded = decode_request(request).spans;
    assert_eq!(decoded.len(), 4);
    let tool = decoded
        .iter()
        .find(|s| s.span_id == SpanId([2; 8]))
        .unwrap();
    let run_ids: Vec<_> = tool
        .attributes
        .iter()
        .filter(|kv| &*kv.key == "eval.run_id")
        .collect();
    assert_eq!(run_ids.len(), 1);
    assert_eq!(run_ids[0].value.as_str(), Some("run-1"));
    assert_eq!(tool.attributes.str("gen_ai.tool.name"), Some("search"));
    assert_eq!(tool.events.len(), 3, "its own event and two evaluations");
    assert_eq!(tool.links.len(), 2);
    assert_eq!(tool.flags, 0x301);
    assert_eq!(tool.status.message, "boom");
    let root = decoded
        .iter()
        .find(|s| s.span_id == SpanId([1; 8]))
        .unwrap();
    assert_eq!(
        root.attributes.len(),
        values().len() + 2,
        "run id and trial added"
    );
    assert_eq!(
        root.resource.attributes.str("eval.run_id"),
        Some("run-1"),
        "the resource sent is the enriched one"
    );
    let without = ExportTraceServiceRequest::decode(&traces_request(&spans, false)[..]).unwrap();
    let tool = decode_request(without)
        .spans
        .into_iter()
        .find(|s| s.span_id == SpanId([2; 8]))
        .unwrap();
    assert_eq!(tool.events.len(), 1, "evaluations left out");
}
