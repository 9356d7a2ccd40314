//! OTLP protobuf messages ↔ the owned span model. The only place where OTLP trace types and
//! ours meet.
//!
//! Decoding interns attribute keys and short string values per request, so the many spans of a
//! batch share one allocation for `gen_ai.operation.name`, `chat`, the model name...

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue as PKeyValue, KeyValueList,
    any_value::Value as PValue,
};
use opentelemetry_proto::tonic::resource::v1::Resource as PResource;
use opentelemetry_proto::tonic::trace::v1::{
    ResourceSpans, ScopeSpans, Span as PSpan, Status as PStatus, span::Event as PEvent,
    span::Link as PLink,
};

use crate::trace::{
    Attributes, Event, KeyValue, Link, Resource, Scope, Span, SpanId, SpanKind, Status, StatusCode,
    TraceId, Value,
};

/// Strings longer than this are not interned: they are message content, rarely repeated.
const INTERN_MAX: usize = 64;

/// Per-request string interner. foldhash rather than SipHash: hashing every key and short value
/// is the hot path of ingest, and foldhash's per-process random seed keeps crafted collisions
/// from turning one request quadratic.
#[derive(Default)]
struct Interner(HashSet<Arc<str>, foldhash::fast::RandomState>);

impl Interner {
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(found) = self.0.get(s) {
            return found.clone();
        }
        let new: Arc<str> = s.into();
        self.0.insert(new.clone());
        new
    }

    fn value(&mut self, s: String) -> Arc<str> {
        if s.len() <= INTERN_MAX {
            self.get(&s)
        } else {
            s.into()
        }
    }
}

/// The spans of a request, plus what was rejected and why.
#[derive(Debug, Default)]
pub struct Decoded {
    /// Valid spans.
    pub spans: Vec<Span>,
    /// Spans that could not be kept (bad ids).
    pub rejected: usize,
    /// Why the first rejected span was rejected.
    pub first_error: Option<String>,
}

/// Why OTLP/JSON text is not a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JsonRequestError {
    /// Not JSON, or not the protobuf-JSON mapping of a request (serde knows the position).
    #[error(transparent)]
    Invalid(#[from] serde_json::Error),
    /// An object with keys but no `resourceSpans`: the mapping ignores unknown keys, so
    /// `resource_spans` (snake_case) would decode to an empty request and lose every span.
    #[error("no `resourceSpans` key (found {found}): OTLP JSON keys are lowerCamelCase")]
    NoResourceSpans {
        /// The keys the object had, comma-separated.
        found: String,
    },
}

/// Decodes an OTLP/JSON request, refusing an object whose keys are all unknown (see
/// [`JsonRequestError::NoResourceSpans`]).
///
/// The protobuf-JSON mapping omits empty repeated fields, so `{"arrayValue":{}}` is valid (the
/// Collector and Python's `MessageToDict` write it), but opentelemetry-proto's serde mapping
/// requires `values` there. When the typed decode fails, the omitted arrays are filled in and
/// the decode is tried once more; if that fails too, the first error (with its position) is
/// returned.
pub fn request_from_json(text: &str) -> Result<ExportTraceServiceRequest, JsonRequestError> {
    let request: ExportTraceServiceRequest = match serde_json::from_str(text) {
        Ok(request) => request,
        Err(first) => {
            let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) else {
                return Err(first.into());
            };
            fill_omitted_values(&mut value);
            serde_json::from_value(value).map_err(|_| first)?
        }
    };
    // Only an empty result can hide misspelled keys, so only then is the text looked at again.
    if request.resource_spans.is_empty()
        && let Ok(serde_json::Value::Object(map)) = serde_json::from_str(text)
        && !map.is_empty()
        && !map.contains_key("resourceSpans")
    {
        let found: Vec<&str> = map.keys().map(String::as_str).collect();
        return Err(JsonRequestError::NoResourceSpans {
            found: found.join(", "),
        });
    }
    Ok(request)
}

fn fill_omitted_values(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if matches!(key.as_str(), "arrayValue" | "kvlistValue")
                    && let serde_json::Value::Object(inner) = child
                {
                    inner
                        .entry("values")
                        .or_insert_with(|| serde_json::Value::Array(Vec::new()));
                }
                fill_omitted_values(child);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(fill_omitted_values),
        _ => {}
    }
}

/// Converts a request into owned spans, rejecting spans whose ids are invalid.
pub fn decode_request(req: ExportTraceServiceRequest) -> Decoded {
    let mut out = Decoded::default();
    let mut interner = Interner::default();
    for rs in req.resource_spans {
        let resource = Arc::new(Resource {
            attributes: rs
                .resource
                .map(|r| attributes(r.attributes, &mut interner))
                .unwrap_or_default(),
            schema_url: rs.schema_url,
        });
        for ss in rs.scope_spans {
            let scope = Arc::new(match ss.scope {
                Some(s) => Scope {
                    name: s.name,
                    version: s.version,
                    attributes: attributes(s.attributes, &mut interner),
                    schema_url: ss.schema_url,
                },
                None => Scope {
                    schema_url: ss.schema_url,
                    ..Scope::default()
                },
            });
            out.spans.reserve(ss.spans.len());
            for span in ss.spans {
                match decode_span(span, &resource, &scope, &mut interner) {
                    Ok(s) => out.spans.push(s),
                    Err(why) => {
                        out.rejected += 1;
                        out.first_error.get_or_insert(why);
                    }
                }
            }
        }
    }
    out
}

fn decode_span(
    s: PSpan,
    resource: &Arc<Resource>,
    scope: &Arc<Scope>,
    interner: &mut Interner,
) -> Result<Span, String> {
    let trace_id = TraceId::from_bytes(&s.trace_id)
        .map_err(|e| format!("span `{}`: invalid trace id: {e}", s.name))?;
    let span_id = SpanId::from_bytes(&s.span_id)
        .map_err(|e| format!("span `{}`: invalid span id: {e}", s.name))?;
    // Empty or all-zero means "no parent"; anything else must be a valid id.
    let parent_span_id = if s.parent_span_id.is_empty() || s.parent_span_id.iter().all(|&b| b == 0)
    {
        None
    } else {
        Some(
            SpanId::from_bytes(&s.parent_span_id)
                .map_err(|e| format!("span `{}`: invalid parent span id: {e}", s.name))?,
        )
    };
    let status = s.status.unwrap_or_default();
    Ok(Span {
        trace_id,
        span_id,
        parent_span_id,
        trace_state: s.trace_state,
        flags: s.flags,
        name: s.name,
        kind: span_kind(s.kind),
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: attributes(s.attributes, interner),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .into_iter()
            .map(|e| Event {
                name: e.name,
                time_unix_nano: e.time_unix_nano,
                attributes: attributes(e.attributes, interner),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .into_iter()
            .filter_map(|l| {
                Some(Link {
                    trace_id: TraceId::from_bytes(&l.trace_id).ok()?,
                    span_id: SpanId::from_bytes(&l.span_id).ok()?,
                    trace_state: l.trace_state,
                    attributes: attributes(l.attributes, interner),
                    dropped_attributes_count: l.dropped_attributes_count,
                    flags: l.flags,
                })
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: Status {
            code: match status.code {
                1 => StatusCode::Ok,
                2 => StatusCode::Error,
                _ => StatusCode::Unset,
            },
            message: status.message,
        },
        resource: resource.clone(),
        scope: scope.clone(),
    })
}

fn span_kind(k: i32) -> SpanKind {
    match k {
        1 => SpanKind::Internal,
        2 => SpanKind::Server,
        3 => SpanKind::Client,
        4 => SpanKind::Producer,
        5 => SpanKind::Consumer,
        _ => SpanKind::Unspecified,
    }
}

fn attributes(kvs: Vec<PKeyValue>, interner: &mut Interner) -> Attributes {
    let mut out = Vec::with_capacity(kvs.len());
    for kv in kvs {
        if let Some(value) = kv.value.and_then(|v| value(v, interner)) {
            out.push(KeyValue {
                key: interner.get(&kv.key),
                value,
            });
        }
    }
    Attributes(out)
}

/// An empty `AnyValue` (no variant set) has no counterpart and is skipped.
fn value(v: AnyValue, interner: &mut Interner) -> Option<Value> {
    Some(match v.value? {
        PValue::StringValue(s) => Value::Str(interner.value(s)),
        PValue::BoolValue(b) => Value::Bool(b),
        PValue::IntValue(i) => Value::Int(i),
        PValue::DoubleValue(d) => Value::Double(d),
        PValue::BytesValue(b) => Value::Bytes(b.into()),
        PValue::ArrayValue(a) => Value::Array(
            a.values
                .into_iter()
                .filter_map(|v| value(v, interner))
                .collect(),
        ),
        PValue::KvlistValue(l) => Value::Map(attributes(l.values, interner).0.into()),
        // Dictionary references belong to the profiles signal; traces never carry them.
        PValue::StringValueStrindex(_) => return None,
    })
}

/// Groups spans back into an OTLP request: one `ResourceSpans` per distinct resource and one
/// `ScopeSpans` per distinct scope, in order of first appearance.
pub fn encode_request<'a>(spans: impl IntoIterator<Item = &'a Span>) -> ExportTraceServiceRequest {
    encode_grouped(spans, true)
}

/// [`encode_request`] for spans whose equal resources and scopes are the same `Arc`s: grouped
/// by pointer alone, never compared by content. Forwarding's own encoder
/// (`forward::encode`) is tested to write exactly these bytes.
#[cfg(test)]
pub(crate) fn encode_request_shared<'a>(
    spans: impl IntoIterator<Item = &'a Span>,
) -> ExportTraceServiceRequest {
    encode_grouped(spans, false)
}

fn encode_grouped<'a>(
    spans: impl IntoIterator<Item = &'a Span>,
    by_content: bool,
) -> ExportTraceServiceRequest {
    type ScopeGroup = (Arc<Scope>, Vec<PSpan>);
    let mut groups: Vec<(Arc<Resource>, Vec<ScopeGroup>)> = Vec::new();
    // Spans of one resource or scope usually share its `Arc`: found by pointer first, by
    // content only for a pointer not seen before.
    let mut resources: HashMap<*const Resource, usize> = HashMap::new();
    let mut scopes: HashMap<(usize, *const Scope), usize> = HashMap::new();
    for span in spans {
        let r = *resources
            .entry(Arc::as_ptr(&span.resource))
            .or_insert_with(|| group_index(&mut groups, &span.resource, by_content));
        let scope_groups = &mut groups[r].1;
        let s = *scopes
            .entry((r, Arc::as_ptr(&span.scope)))
            .or_insert_with(|| group_index(scope_groups, &span.scope, by_content));
        scope_groups[s].1.push(encode_span(span));
    }
    ExportTraceServiceRequest {
        resource_spans: groups
            .into_iter()
            .map(|(resource, scopes)| ResourceSpans {
                resource: Some(PResource {
                    attributes: encode_attributes(&resource.attributes),
                    ..Default::default()
                }),
                scope_spans: scopes
                    .into_iter()
                    .map(|(scope, spans)| ScopeSpans {
                        scope: Some(InstrumentationScope {
                            name: scope.name.clone(),
                            version: scope.version.clone(),
                            attributes: encode_attributes(&scope.attributes),
                            ..Default::default()
                        }),
                        spans,
                        schema_url: scope.schema_url.clone(),
                    })
                    .collect(),
                schema_url: resource.schema_url.clone(),
            })
            .collect(),
    }
}

/// The index of the group whose key equals `key` (the same `Arc`, or with `by_content` equal
/// content), appended if new.
fn group_index<K: PartialEq, V: Default>(
    groups: &mut Vec<(Arc<K>, V)>,
    key: &Arc<K>,
    by_content: bool,
) -> usize {
    match groups
        .iter()
        .position(|(k, _)| Arc::ptr_eq(k, key) || (by_content && **k == **key))
    {
        Some(i) => i,
        None => {
            groups.push((key.clone(), V::default()));
            groups.len() - 1
        }
    }
}

fn encode_span(s: &Span) -> PSpan {
    PSpan {
        trace_id: s.trace_id.0.to_vec(),
        span_id: s.span_id.0.to_vec(),
        trace_state: s.trace_state.clone(),
        parent_span_id: s.parent_span_id.map(|p| p.0.to_vec()).unwrap_or_default(),
        flags: s.flags,
        name: s.name.clone(),
        kind: s.kind.otlp(),
        start_time_unix_nano: s.start_time_unix_nano,
        end_time_unix_nano: s.end_time_unix_nano,
        attributes: encode_attributes(&s.attributes),
        dropped_attributes_count: s.dropped_attributes_count,
        events: s
            .events
            .iter()
            .map(|e| PEvent {
                time_unix_nano: e.time_unix_nano,
                name: e.name.clone(),
                attributes: encode_attributes(&e.attributes),
                dropped_attributes_count: e.dropped_attributes_count,
            })
            .collect(),
        dropped_events_count: s.dropped_events_count,
        links: s
            .links
            .iter()
            .map(|l| PLink {
                trace_id: l.trace_id.0.to_vec(),
                span_id: l.span_id.0.to_vec(),
                trace_state: l.trace_state.clone(),
                attributes: encode_attributes(&l.attributes),
                dropped_attributes_count: l.dropped_attributes_count,
                flags: l.flags,
            })
            .collect(),
        dropped_links_count: s.dropped_links_count,
        status: (s.status.code != StatusCode::Unset || !s.status.message.is_empty()).then(|| {
            PStatus {
                message: s.status.message.clone(),
                code: s.status.code.otlp(),
            }
        }),
    }
}

pub(crate) fn encode_attributes(attrs: &Attributes) -> Vec<PKeyValue> {
    attrs
        .iter()
        .map(|kv| PKeyValue {
            key: kv.key.to_string(),
            value: Some(encode_value(&kv.value)),
            ..Default::default()
        })
        .collect()
}

fn encode_value(v: &Value) -> AnyValue {
    let value = match v {
        Value::Str(s) => PValue::StringValue(s.to_string()),
        Value::Bool(b) => PValue::BoolValue(*b),
        Value::Int(i) => PValue::IntValue(*i),
        Value::Double(d) => PValue::DoubleValue(*d),
        Value::Bytes(b) => PValue::BytesValue(b.to_vec()),
        Value::Array(a) => PValue::ArrayValue(ArrayValue {
            values: a.iter().map(encode_value).collect(),
        }),
        Value::Map(m) => PValue::KvlistValue(KeyValueList {
            values: m
                .iter()
                .map(|kv| PKeyValue {
                    key: kv.key.to_string(),
                    value: Some(encode_value(&kv.value)),
                    ..Default::default()
                })
                .collect(),
        }),
    };
    AnyValue { value: Some(value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, v: PValue) -> PKeyValue {
        PKeyValue {
            key: key.into(),
            value: Some(AnyValue { value: Some(v) }),
            ..Default::default()
        }
    }

    fn request(spans: Vec<PSpan>) -> ExportTraceServiceRequest {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(PResource {
                    attributes: vec![kv("service.name", PValue::StringValue("agent".into()))],
                    ..Default::default()
                }),
                scope_spans: vec![ScopeSpans {
                    scope: Some(InstrumentationScope {
                        name: "lib".into(),
                        version: "1.0".into(),
                        ..Default::default()
                    }),
                    spans,
                    schema_url: "https://opentelemetry.io/schemas/1.26.0".into(),
                }],
                schema_url: String::new(),
            }],
        }
    }

    fn pspan(trace: Vec<u8>, span: Vec<u8>) -> PSpan {
        PSpan {
            trace_id: trace,
            span_id: span,
            name: "s".into(),
            kind: 3,
            start_time_unix_nano: 10,
            end_time_unix_nano: 20,
            attributes: vec![
                kv("n", PValue::IntValue(-5)),
                kv(
                    "list",
                    PValue::ArrayValue(ArrayValue {
                        values: vec![AnyValue {
                            value: Some(PValue::DoubleValue(1.5)),
                        }],
                    }),
                ),
                kv(
                    "map",
                    PValue::KvlistValue(KeyValueList {
                        values: vec![kv("inner", PValue::BoolValue(true))],
                    }),
                ),
                kv("raw", PValue::BytesValue(vec![0, 255])),
                PKeyValue {
                    key: "empty".into(),
                    value: Some(AnyValue { value: None }),
                    ..Default::default()
                },
            ],
            status: Some(PStatus {
                message: "bad".into(),
                code: 2,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn invalid_ids_are_rejected_and_counted() {
        let decoded = decode_request(request(vec![
            pspan(vec![1; 16], vec![1; 8]),
            pspan(vec![0; 16], vec![2; 8]),
            pspan(vec![1; 16], vec![3; 7]),
        ]));
        assert_eq!(decoded.spans.len(), 1);
        assert_eq!(decoded.rejected, 2);
        assert!(decoded.first_error.unwrap().contains("invalid trace id"));
    }

    #[test]
    fn every_field_survives_a_round_trip() {
        let mut p = pspan(vec![1; 16], vec![2; 8]);
        p.parent_span_id = vec![3; 8];
        p.trace_state = "k=v".into();
        p.flags = 0x301;
        p.events.push(PEvent {
            time_unix_nano: 15,
            name: "exception".into(),
            attributes: vec![kv("exception.message", PValue::StringValue("x".into()))],
            dropped_attributes_count: 1,
        });
        p.links.push(PLink {
            trace_id: vec![9; 16],
            span_id: vec![9; 8],
            trace_state: "a=b".into(),
            attributes: vec![],
            dropped_attributes_count: 0,
            flags: 1,
        });
        p.dropped_attributes_count = 4;
        p.dropped_events_count = 5;
        p.dropped_links_count = 6;
        let first = decode_request(request(vec![p])).spans;
        let again = decode_request(encode_request(&first)).spans;
        assert_eq!(first, again);
        let s = &first[0];
        assert_eq!(s.parent_span_id, Some(SpanId([3; 8])));
        assert_eq!(s.attr("n"), Some(&Value::Int(-5)));
        assert!(s.attr("empty").is_none());
        assert_eq!(s.status.code, StatusCode::Error);
        assert_eq!(s.kind, SpanKind::Client);
        assert_eq!(s.scope.name, "lib");
        assert_eq!(
            s.scope.schema_url,
            "https://opentelemetry.io/schemas/1.26.0"
        );
        assert_eq!(s.resource.attributes.str("service.name"), Some("agent"));
        assert_eq!(s.links[0].trace_id, TraceId([9; 16]));
        // Each field set on the input, checked against the input, not only after a round trip.
        assert_eq!(s.trace_state, "k=v");
        assert_eq!(s.flags, 0x301);
        assert_eq!(
            (
                s.dropped_attributes_count,
                s.dropped_events_count,
                s.dropped_links_count
            ),
            (4, 5, 6)
        );
        assert_eq!((s.start_time_unix_nano, s.end_time_unix_nano), (10, 20));
        assert_eq!(s.status.message, "bad");
        assert_eq!(s.events[0].name, "exception");
        assert_eq!(s.events[0].time_unix_nano, 15);
        assert_eq!(s.events[0].dropped_attributes_count, 1);
        assert_eq!(s.events[0].attributes.str("exception.message"), Some("x"));
        assert_eq!(s.links[0].span_id, SpanId([9; 8]));
        assert_eq!(
            (s.links[0].trace_state.as_str(), s.links[0].flags),
            ("a=b", 1)
        );
        assert_eq!(
            s.attr("list"),
            Some(&Value::Array(Arc::from([Value::Double(1.5)])))
        );
        assert_eq!(s.attr("raw"), Some(&Value::Bytes(Arc::from([0u8, 255]))));
        assert_eq!(
            s.attr("map"),
            Some(&Value::Map(Arc::from([KeyValue::new("inner", true)])))
        );
        assert_eq!(s.scope.version, "1.0");
    }

    #[test]
    fn empty_arrays_may_omit_their_values() {
        let text = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01010101010101010101010101010101","spanId":"0202020202020202","name":"s","attributes":[{"key":"a","value":{"arrayValue":{}}},{"key":"m","value":{"kvlistValue":{}}}]}]}]}]}"#;
        let spans = decode_request(request_from_json(text).unwrap()).spans;
        assert_eq!(spans[0].attr("a"), Some(&Value::Array(Arc::from([]))));
        assert_eq!(spans[0].attr("m"), Some(&Value::Map(Arc::from([]))));
        let broken = text.replace("0202020202020202", "xyz");
        assert!(
            request_from_json(&broken)
                .unwrap_err()
                .to_string()
                .contains("line 1")
        );
        assert!(matches!(
            request_from_json(r#"{"resource_spans":[]}"#),
            Err(JsonRequestError::NoResourceSpans { .. })
        ));
        assert!(request_from_json(r#"{"resourceSpans":[]}"#).is_ok());
        assert!(request_from_json("{}").is_ok());
    }

    #[test]
    fn keys_are_shared_between_spans_of_a_batch() {
        let spans = decode_request(request(vec![
            pspan(vec![1; 16], vec![1; 8]),
            pspan(vec![1; 16], vec![2; 8]),
        ]))
        .spans;
        assert!(Arc::ptr_eq(
            &spans[0].attributes.0[0].key,
            &spans[1].attributes.0[0].key
        ));
        assert!(Arc::ptr_eq(&spans[0].resource, &spans[1].resource));
    }
}
