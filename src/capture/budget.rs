//! What decoding a request would cost in memory, known before decoding it.
//!
//! The body limit counts wire bytes, but decoding amplifies them: an empty protobuf `Span` is 2
//! bytes on the wire and a few hundred in memory, so a 32 MiB body (31 KB gzipped) of empty
//! spans would take gigabytes. The receiver therefore estimates the decoded size first (an
//! allocation-free walk of the wire format for protobuf, a count of objects for JSON) and
//! refuses a request over its budget.

use std::mem::size_of;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span};

/// The OTLP trace messages, for walking the wire format with their field numbers.
#[derive(Debug, Clone, Copy)]
enum Msg {
    ResourceSpans,
    Resource,
    ScopeSpans,
    Scope,
    Span,
    Event,
    Link,
    Status,
    KeyValue,
    AnyValue,
    ArrayValue,
    KvList,
    Request,
}

impl Msg {
    /// The message type of a length-delimited field, `None` for strings and bytes.
    fn child(self, field: u64) -> Option<Msg> {
        use Msg::*;
        Some(match (self, field) {
            (Request, 1) => ResourceSpans,
            (ResourceSpans, 1) => Resource,
            (ResourceSpans, 2) => ScopeSpans,
            (Resource, 1) => KeyValue,
            (ScopeSpans, 1) => Scope,
            (ScopeSpans, 2) => Span,
            (Scope, 3) => KeyValue,
            (Span, 9) => KeyValue,
            (Span, 11) => Event,
            (Span, 13) => Link,
            (Span, 15) => Status,
            (Event, 3) => KeyValue,
            (Link, 4) => KeyValue,
            (KeyValue, 2) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KvList,
            (ArrayValue, 1) => AnyValue,
            (KvList, 1) => KeyValue,
            _ => return None,
        })
    }

    /// Bytes one decoded message of this type occupies, before its strings.
    fn size(self) -> usize {
        match self {
            Msg::Request => size_of::<ExportTraceServiceRequest>(),
            Msg::ResourceSpans => size_of::<ResourceSpans>(),
            Msg::Resource => size_of::<Resource>(),
            Msg::ScopeSpans => size_of::<ScopeSpans>(),
            Msg::Scope => size_of::<InstrumentationScope>(),
            Msg::Span => size_of::<Span>(),
            Msg::Event => size_of::<span::Event>(),
            Msg::Link => size_of::<span::Link>(),
            Msg::Status => size_of::<Status>(),
            Msg::KeyValue => size_of::<KeyValue>(),
            Msg::AnyValue => size_of::<AnyValue>(),
            Msg::ArrayValue => size_of::<ArrayValue>(),
            Msg::KvList => size_of::<KeyValueList>(),
        }
    }
}

fn varint(buf: &[u8], pos: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *buf.get(*pos)?;
        *pos += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// The bytes decoding this protobuf request would allocate, or `None` when the wire format is
/// broken (the decoder then reports the error).
pub(crate) fn protobuf_cost(buf: &[u8]) -> Option<usize> {
    let mut total = Msg::Request.size();
    let mut stack: Vec<(Msg, usize)> = vec![(Msg::Request, buf.len())];
    let mut pos = 0;
    while let Some(&(msg, end)) = stack.last() {
        if pos >= end {
            stack.pop();
            continue;
        }
        let key = varint(buf, &mut pos)?;
        match key & 7 {
            0 => {
                varint(buf, &mut pos)?;
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let len = usize::try_from(varint(buf, &mut pos)?).ok()?;
                let stop = pos.checked_add(len).filter(|&s| s <= end)?;
                match msg.child(key >> 3) {
                    Some(child) => {
                        total = total.saturating_add(child.size());
                        stack.push((child, stop));
                    }
                    None => {
                        total = total.saturating_add(len);
                        pos = stop;
                    }
                }
            }
            _ => return None,
        }
        if pos > end {
            return None;
        }
    }
    Some(total)
}

/// Bytes charged per JSON object: between a key-value pair and a span, so a realistic body
/// (about two objects per 60 bytes) stays far below the budget, while `{},{},...` does not.
const JSON_OBJECT_COST: usize = 128;

/// A conservative estimate of what decoding this OTLP/JSON body would allocate.
pub(crate) fn json_cost(text: &[u8]) -> usize {
    let objects = text.iter().filter(|&&b| b == b'{').count();
    objects
        .saturating_mul(JSON_OBJECT_COST)
        .saturating_add(text.len())
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    /// A length-delimited field.
    pub(crate) fn field(number: u64, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        prost::encoding::encode_varint((number << 3) | 2, &mut out);
        prost::encoding::encode_varint(body.len() as u64, &mut out);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn empty_spans_cost_their_struct_size() {
        let n = 10_000;
        let spans = field(2, &[]).repeat(n);
        let body = field(1, &field(2, &spans));
        let cost = protobuf_cost(&body).unwrap();
        assert!(cost >= n * size_of::<Span>(), "{cost}");
        assert!(
            body.len() * 100 < cost,
            "the amplification is what is measured"
        );
    }

    #[test]
    fn realistic_requests_cost_a_small_multiple_of_their_size() {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: "chat gpt-4o".into(),
            attributes: (0..10)
                .map(|i| KeyValue {
                    key: format!("gen_ai.attribute.{i}"),
                    value: Some(AnyValue {
                        value: Some(
                            opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                                "some value".into(),
                            ),
                        ),
                    }),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let req = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span; 100],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        let bytes = req.encode_to_vec();
        let cost = protobuf_cost(&bytes).unwrap();
        assert!(cost < bytes.len() * 8, "{cost} for {} bytes", bytes.len());
        assert!(cost > bytes.len(), "{cost} for {} bytes", bytes.len());
    }

    #[test]
    fn broken_wire_format_is_left_to_the_decoder() {
        assert_eq!(protobuf_cost(&[0x0a, 0x05, 0x01]), None);
        assert_eq!(protobuf_cost(&[0xff; 11]), None);
        assert_eq!(protobuf_cost(&[0x0b]), None);
        assert!(protobuf_cost(&[]).is_some());
    }

    #[test]
    fn json_objects_are_charged() {
        assert!(json_cost(b"{},{},{}") >= 3 * JSON_OBJECT_COST);
    }
}
