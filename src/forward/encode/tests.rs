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

mod prop {
    use super::*;
    use proptest::prelude::*;

    /// Keys from a small alphabet, so own and added keys collide often.
    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just("eval.run_id".to_owned()),
            Just("eval.case".to_owned()),
            Just("gen_ai.tool.name".to_owned()),
            "[a-z.]{1,12}",
            "[a-z]{64,70}",
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            any::<String>().prop_map(|s| Value::Str(s.into())),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            any::<f64>()
                .prop_filter("NaN is not equal to itself", |d| !d.is_nan())
                .prop_map(Value::Double),
            proptest::collection::vec(any::<u8>(), 0..4).prop_map(|b| Value::Bytes(b.into())),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(|v| Value::Array(v.into())),
                proptest::collection::vec((key(), inner), 0..4).prop_map(|kvs| {
                    Value::Map(
                        kvs.into_iter()
                            .map(|(k, v)| KeyValue::new(&k, v))
                            .collect::<Vec<_>>()
                            .into(),
                    )
                }),
            ]
        })
    }

    fn attr() -> impl Strategy<Value = (String, Value)> {
        (key(), value())
    }

    /// An added value: what `Attr` can carry.
    fn added() -> impl Strategy<Value = (String, Value)> {
        let v = prop_oneof![
            ".{0,40}".prop_map(|s: String| Value::Str(s.into())),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (-1e9f64..1e9).prop_map(Value::Double),
        ];
        (key(), v)
    }

    fn as_attr(v: &Value) -> Attr<'_> {
        match v {
            Value::Str(s) => Attr::Str(s),
            Value::Bool(b) => Attr::Bool(*b),
            Value::Int(i) => Attr::Int(*i),
            Value::Double(d) => Attr::Double(*d),
            _ => unreachable!("only scalars are added"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever a span holds and whatever is added, a decoder sees the span's own
        /// attributes less the replaced, then the added ones (the first of a repeated key),
        /// and everything else of the span unchanged.
        #[test]
        fn a_decoder_sees_the_own_attributes_less_the_replaced_then_the_added(
            own in proptest::collection::vec(attr(), 0..8),
            common in proptest::collection::vec(added(), 0..5),
            extra in proptest::collection::vec(added(), 0..3),
            name in ".{0,20}",
            kind in 0..6i32,
            times in (any::<u64>(), any::<u64>()),
        ) {
            let mut span = Span::new(TraceId([3; 16]), SpanId([4; 8]), name);
            span.kind = [
                SpanKind::Unspecified, SpanKind::Internal, SpanKind::Server,
                SpanKind::Client, SpanKind::Producer, SpanKind::Consumer,
            ][kind as usize];
            (span.start_time_unix_nano, span.end_time_unix_nano) = times;
            span.attributes = Attributes(own.iter().map(|(k, v)| KeyValue::new(k, v.clone())).collect());
            let mut on_span = Added::span();
            for (k, v) in &common {
                on_span.attribute(k.clone(), as_attr(v));
            }
            // A span's own additions never repeat the trial's keys (`Outgoing::extra`).
            let extra: Vec<(String, Value)> = extra
                .into_iter()
                .filter(|(k, _)| !common.iter().any(|(c, _)| c == k))
                .collect();
            let mut more = Added::span();
            for (k, v) in &extra {
                more.attribute(k.clone(), as_attr(v));
            }
            let outgoing = Outgoing {
                resource: Arc::new(ForwardedResource::new(&span.resource, &Added::resource())),
                span: Arc::new(span.clone()),
                common: Arc::new(on_span),
                extra: Some(Box::new(more)),
                evaluations: Vec::new(),
            };
            let got = decoded(&[outgoing]);
            prop_assert_eq!(got.len(), 1);
            let first = |list: &[(String, Value)]| {
                let mut seen: Vec<KeyValue> = Vec::new();
                for (k, v) in list {
                    if !seen.iter().any(|kv| &*kv.key == k.as_str()) {
                        seen.push(KeyValue::new(k, v.clone()));
                    }
                }
                seen
            };
            let (common, extra) = (first(&common), first(&extra));
            let replaced = |key: &str| common.iter().chain(&extra).any(|kv| &*kv.key == key);
            let mut want: Vec<KeyValue> = span
                .attributes
                .iter()
                .filter(|kv| !replaced(&kv.key))
                .cloned()
                .collect();
            want.extend(common);
            want.extend(extra);
            prop_assert_eq!(&got[0].attributes.0, &want);
            prop_assert_eq!(&got[0].name, &span.name);
            prop_assert_eq!(got[0].kind, span.kind);
            prop_assert_eq!(got[0].start_time_unix_nano, span.start_time_unix_nano);
            prop_assert_eq!(got[0].end_time_unix_nano, span.end_time_unix_nano);
        }
    }
}
