use std::sync::Arc;

use prost::Message;

use super::*;
use crate::capture::convert::encode_request_shared;
use crate::trace::{Attributes, SpanKind, Status};

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

/// Spans with every field set somewhere, on two resources and two scopes.
fn captured() -> Vec<Span> {
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
    ok.resource = judge;
    let mut chat = Span::new(TraceId([2; 16]), SpanId([4; 8]), "chat");
    chat.kind = SpanKind::Consumer;
    chat.scope = scope;
    chat.resource = agent;
    vec![root, tool, ok, chat]
}

#[test]
fn a_span_with_nothing_added_is_what_prost_writes() {
    let spans = captured();
    let plain: Vec<Outgoing> = spans.iter().cloned().map(Outgoing::plain).collect();
    // Each plain span has a resource of its own: prost must group the same way.
    let mut by_prost = spans.clone();
    for (s, o) in by_prost.iter_mut().zip(&plain) {
        s.resource = Arc::new((*s.resource).clone());
        assert_eq!(o.added_len(), 0);
    }
    let prost = encode_request_shared(by_prost.iter()).encode_to_vec();
    let mut batch = Batch::default();
    batch.push(plain);
    assert_eq!(batch.spans, 4);
    assert!(batch.body == prost, "byte for byte");
}

#[test]
fn additions_are_decoded_after_the_spans_own_fields_and_replace_attributes_of_their_keys() {
    let spans = captured();
    let mut common = Added::span();
    common.attribute("eval.run_id", Attr::Str("run-1"));
    common.attribute("eval.trial", Attr::Int(3));
    common.attribute("eval.trial", Attr::Int(4));
    let common = Arc::new(common);
    let mut on_resource = Added::resource();
    on_resource.attribute("eval.run_id", Attr::Str("run-1"));
    on_resource.key_value(&KeyValue::new("service.name", "replaced"));
    let mut extra = Added::span();
    extra.attribute("eval.passed", Attr::Bool(false));
    extra.attribute("eval.cost", Attr::Double(0.25));
    extra.attribute("", Attr::Str(""));
    extra.event(
        "gen_ai.evaluation.result",
        9,
        &[("gen_ai.evaluation.score.value", Attr::Double(1.0))],
    );
    extra.link(
        TraceId([7; 16]),
        SpanId([7; 8]),
        &[("eval.link", Attr::Str("agent"))],
    );
    let agent = Arc::new(ForwardedResource::new(&spans[0].resource, &on_resource));
    let outgoing: Vec<Outgoing> = spans
        .iter()
        .map(|s| Outgoing {
            span: Arc::new(s.clone()),
            common: Arc::clone(&common),
            extra: (s.span_id == SpanId([2; 8])).then(|| Box::new(extra.clone())),
            resource: Arc::clone(&agent),
            evaluations: Vec::new(),
        })
        .collect();
    let mut decoded = decoded(&outgoing);
    assert_eq!(decoded.len(), 4);
    decoded.sort_by_key(|s| s.span_id.0);
    for (got, mut want) in decoded.into_iter().zip(spans) {
        // What a backend must see: the own attributes less the replaced, then the added.
        want.attributes
            .0
            .retain(|kv| !["eval.run_id", "eval.trial"].contains(&&*kv.key));
        want.attributes
            .0
            .push(KeyValue::new("eval.run_id", "run-1"));
        want.attributes.0.push(KeyValue::new("eval.trial", 3i64));
        if want.span_id == SpanId([2; 8]) {
            want.attributes.0.push(KeyValue::new("eval.passed", false));
            want.attributes.0.push(KeyValue::new("eval.cost", 0.25));
            want.attributes.0.push(KeyValue::new("", ""));
            want.events.push(Event {
                name: "gen_ai.evaluation.result".into(),
                time_unix_nano: 9,
                attributes: Attributes(vec![KeyValue::new("gen_ai.evaluation.score.value", 1.0)]),
                dropped_attributes_count: 0,
            });
            want.links.push(Link {
                trace_id: TraceId([7; 16]),
                span_id: SpanId([7; 8]),
                trace_state: String::new(),
                attributes: Attributes(vec![KeyValue::new("eval.link", "agent")]),
                dropped_attributes_count: 0,
                flags: 0,
            });
        }
        want.resource = Arc::new(Resource {
            attributes: Attributes(vec![
                KeyValue::new("eval.run_id", "run-1"),
                KeyValue::new("service.name", "replaced"),
            ]),
            schema_url: "https://opentelemetry.io/schemas/agent".into(),
        });
        assert_eq!(got, want);
    }
}
