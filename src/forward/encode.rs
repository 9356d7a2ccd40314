//! Forwarded spans straight to OTLP protobuf bytes. A forwarded span is the captured span,
//! shared and untouched, plus what forwarding adds ([`Outgoing`]); the encoder writes the two
//! together, so forwarding copies no span and builds no intermediate message. The bytes are
//! exactly what prost writes for the materialized span ([`Outgoing::to_span`]) grouped as
//! [`crate::capture::convert::encode_request_shared`] groups them (a test holds the two
//! equal), and the JSON and gRPC transports start from these bytes too.

use std::collections::HashMap;
use std::sync::Arc;

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::trace::{Event, KeyValue, Link, Resource, Scope, Span, SpanKind, StatusCode, Value};

/// A span as forwarded.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The span as captured.
    pub(crate) span: Arc<Span>,
    /// Attributes added after the span's own; an own attribute of the same key is left out.
    /// Keys are distinct.
    pub(crate) added: Arc<[KeyValue]>,
    /// `gen_ai.evaluation.result` events, after the span's own events.
    pub(crate) evaluations: Vec<Event>,
    /// Links after the span's own.
    pub(crate) links: Vec<Link>,
    /// The resource sent in place of the span's.
    pub(crate) resource: Arc<Resource>,
}

impl Outgoing {
    /// A span forwarded as it is (the run's own span).
    pub(crate) fn plain(span: Span) -> Outgoing {
        Outgoing {
            resource: Arc::clone(&span.resource),
            span: Arc::new(span),
            added: Arc::from(Vec::new()),
            evaluations: Vec::new(),
            links: Vec::new(),
        }
    }

    /// The span's own attributes that `added` does not replace, then `added`.
    pub(crate) fn attributes(&self) -> impl Iterator<Item = &KeyValue> {
        let added = &self.added;
        let own = self.span.attributes.iter();
        own.filter(move |kv| !added.iter().any(|a| a.key == kv.key))
            .chain(added.iter())
    }

    /// The span as a backend receives it.
    #[cfg(test)]
    pub(crate) fn to_span(&self, evaluations: bool) -> Span {
        let mut span = (*self.span).clone();
        span.attributes.0 = self.attributes().cloned().collect();
        if evaluations {
            span.events.extend(self.evaluations.iter().cloned());
        }
        span.links.extend(self.links.iter().cloned());
        span.resource = Arc::clone(&self.resource);
        span
    }

    fn events(&self, evaluations: bool) -> impl Iterator<Item = &Event> {
        let added = if evaluations {
            &self.evaluations[..]
        } else {
            &[]
        };
        self.span.events.iter().chain(added)
    }
}

/// An `ExportTraceServiceRequest` of `spans`, grouped by resource and scope (by pointer, in
/// order of first appearance), with their evaluation events when `evaluations`.
pub(crate) fn traces_request(spans: &[Outgoing], evaluations: bool) -> Vec<u8> {
    type Group<'a> = (&'a Arc<Resource>, Vec<(&'a Arc<Scope>, Vec<usize>)>);
    let lens: Vec<usize> = spans.iter().map(|s| span_len(s, evaluations)).collect();
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut resources: HashMap<*const Resource, usize> = HashMap::new();
    let mut scopes: HashMap<(usize, *const Scope), usize> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        let r = *resources
            .entry(Arc::as_ptr(&s.resource))
            .or_insert_with(|| {
                groups.push((&s.resource, Vec::new()));
                groups.len() - 1
            });
        let scope_groups = &mut groups[r].1;
        let g = *scopes
            .entry((r, Arc::as_ptr(&s.span.scope)))
            .or_insert_with(|| {
                scope_groups.push((&s.span.scope, Vec::new()));
                scope_groups.len() - 1
            });
        scope_groups[g].1.push(i);
    }
    let scope_spans_len = |scope: &Scope, members: &[usize]| {
        message(1, scope_len(scope))
            + members.iter().map(|&i| message(2, lens[i])).sum::<usize>()
            + string(3, &scope.schema_url)
    };
    let resource_spans_len = |(resource, scopes): &Group<'_>| {
        message(1, resource_len(resource))
            + scopes
                .iter()
                .map(|(scope, members)| message(2, scope_spans_len(scope, members)))
                .sum::<usize>()
            + string(3, &resource.schema_url)
    };
    let total: usize = groups
        .iter()
        .map(|g| message(1, resource_spans_len(g)))
        .sum();
    let mut buf = Vec::with_capacity(total);
    for group in &groups {
        put_message(&mut buf, 1, resource_spans_len(group));
        let (resource, scopes) = group;
        put_message(&mut buf, 1, resource_len(resource));
        put_attributes(&mut buf, 1, resource.attributes.iter());
        for (scope, members) in scopes {
            put_message(&mut buf, 2, scope_spans_len(scope, members));
            put_message(&mut buf, 1, scope_len(scope));
            put_string(&mut buf, 1, &scope.name);
            put_string(&mut buf, 2, &scope.version);
            put_attributes(&mut buf, 3, scope.attributes.iter());
            for &i in members {
                put_message(&mut buf, 2, lens[i]);
                put_span(&mut buf, &spans[i], evaluations);
            }
            put_string(&mut buf, 3, &scope.schema_url);
        }
        put_string(&mut buf, 3, &resource.schema_url);
    }
    debug_assert_eq!(buf.len(), total);
    buf
}

fn resource_len(resource: &Resource) -> usize {
    attributes_len(1, resource.attributes.iter())
}

fn scope_len(scope: &Scope) -> usize {
    string(1, &scope.name) + string(2, &scope.version) + attributes_len(3, scope.attributes.iter())
}

fn span_len(s: &Outgoing, evaluations: bool) -> usize {
    let span = &s.span;
    message(1, 16)
        + message(2, 8)
        + string(3, &span.trace_state)
        + span.parent_span_id.map_or(0, |_| message(4, 8))
        + if span.flags != 0 { key_len(16) + 4 } else { 0 }
        + string(5, &span.name)
        + varint(6, kind(span.kind) as u64)
        + fixed64(7, span.start_time_unix_nano)
        + fixed64(8, span.end_time_unix_nano)
        + attributes_len(9, s.attributes())
        + varint(10, u64::from(span.dropped_attributes_count))
        + s.events(evaluations)
            .map(|e| message(11, event_len(e)))
            .sum::<usize>()
        + varint(12, u64::from(span.dropped_events_count))
        + span
            .links
            .iter()
            .chain(&s.links)
            .map(|l| message(13, link_len(l)))
            .sum::<usize>()
        + varint(14, u64::from(span.dropped_links_count))
        + status_len(span).map_or(0, |n| message(15, n))
}

fn put_span(buf: &mut Vec<u8>, s: &Outgoing, evaluations: bool) {
    let span = &s.span;
    put_bytes(buf, 1, &span.trace_id.0);
    put_bytes(buf, 2, &span.span_id.0);
    put_string(buf, 3, &span.trace_state);
    if let Some(parent) = span.parent_span_id {
        put_bytes(buf, 4, &parent.0);
    }
    put_string(buf, 5, &span.name);
    put_varint(buf, 6, kind(span.kind) as u64);
    put_fixed64(buf, 7, span.start_time_unix_nano);
    put_fixed64(buf, 8, span.end_time_unix_nano);
    put_attributes(buf, 9, s.attributes());
    put_varint(buf, 10, u64::from(span.dropped_attributes_count));
    for event in s.events(evaluations) {
        put_message(buf, 11, event_len(event));
        put_fixed64(buf, 1, event.time_unix_nano);
        put_string(buf, 2, &event.name);
        put_attributes(buf, 3, event.attributes.iter());
        put_varint(buf, 4, u64::from(event.dropped_attributes_count));
    }
    put_varint(buf, 12, u64::from(span.dropped_events_count));
    for link in span.links.iter().chain(&s.links) {
        put_message(buf, 13, link_len(link));
        put_bytes(buf, 1, &link.trace_id.0);
        put_bytes(buf, 2, &link.span_id.0);
        put_string(buf, 3, &link.trace_state);
        put_attributes(buf, 4, link.attributes.iter());
        put_varint(buf, 5, u64::from(link.dropped_attributes_count));
        if link.flags != 0 {
            encode_key(6, WireType::ThirtyTwoBit, buf);
            buf.extend_from_slice(&link.flags.to_le_bytes());
        }
    }
    put_varint(buf, 14, u64::from(span.dropped_links_count));
    if let Some(n) = status_len(span) {
        put_message(buf, 15, n);
        put_string(buf, 2, &span.status.message);
        put_varint(buf, 3, status_code(span.status.code));
    }
    // Fields go in tag order, as prost writes them: `flags` (16) last.
    if span.flags != 0 {
        encode_key(16, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&span.flags.to_le_bytes());
    }
}

fn event_len(event: &Event) -> usize {
    fixed64(1, event.time_unix_nano)
        + string(2, &event.name)
        + attributes_len(3, event.attributes.iter())
        + varint(4, u64::from(event.dropped_attributes_count))
}

fn link_len(link: &Link) -> usize {
    message(1, 16)
        + message(2, 8)
        + string(3, &link.trace_state)
        + attributes_len(4, link.attributes.iter())
        + varint(5, u64::from(link.dropped_attributes_count))
        + if link.flags != 0 { key_len(6) + 4 } else { 0 }
}

/// The status message's length, when the span has a status to send (not unset and empty).
fn status_len(span: &Span) -> Option<usize> {
    let status = &span.status;
    (status.code != StatusCode::Unset || !status.message.is_empty())
        .then(|| string(2, &status.message) + varint(3, status_code(status.code)))
}

fn kind(kind: SpanKind) -> u8 {
    match kind {
        SpanKind::Unspecified => 0,
        SpanKind::Internal => 1,
        SpanKind::Server => 2,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    }
}

fn status_code(code: StatusCode) -> u64 {
    match code {
        StatusCode::Unset => 0,
        StatusCode::Ok => 1,
        StatusCode::Error => 2,
    }
}

fn attributes_len<'a>(tag: u32, attributes: impl Iterator<Item = &'a KeyValue>) -> usize {
    attributes.map(|kv| message(tag, key_value_len(kv))).sum()
}

fn put_attributes<'a>(buf: &mut Vec<u8>, tag: u32, attributes: impl Iterator<Item = &'a KeyValue>) {
    for kv in attributes {
        put_message(buf, tag, key_value_len(kv));
        put_string(buf, 1, &kv.key);
        put_message(buf, 2, any_value_len(&kv.value));
        put_any_value(buf, &kv.value);
    }
}

fn key_value_len(kv: &KeyValue) -> usize {
    string(1, &kv.key) + message(2, any_value_len(&kv.value))
}

/// An `AnyValue`: its one field is written even when it holds the default (a oneof).
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::Str(s) => message(1, s.len()),
        Value::Bool(_) => key_len(2) + 1,
        Value::Int(i) => key_len(3) + encoded_len_varint(*i as u64),
        Value::Double(_) => key_len(4) + 8,
        Value::Array(values) => message(5, array_len(values)),
        Value::Map(kvs) => message(6, attributes_len(1, kvs.iter())),
        Value::Bytes(b) => message(7, b.len()),
    }
}

fn array_len(values: &[Value]) -> usize {
    values.iter().map(|v| message(1, any_value_len(v))).sum()
}

fn put_any_value(buf: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => put_bytes(buf, 1, s.as_bytes()),
        Value::Bool(b) => {
            encode_key(2, WireType::Varint, buf);
            buf.push(u8::from(*b));
        }
        Value::Int(i) => {
            encode_key(3, WireType::Varint, buf);
            encode_varint(*i as u64, buf);
        }
        Value::Double(d) => {
            encode_key(4, WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&d.to_le_bytes());
        }
        Value::Array(values) => {
            put_message(buf, 5, array_len(values));
            for v in values.iter() {
                put_message(buf, 1, any_value_len(v));
                put_any_value(buf, v);
            }
        }
        Value::Map(kvs) => {
            put_message(buf, 6, attributes_len(1, kvs.iter()));
            put_attributes(buf, 1, kvs.iter());
        }
        Value::Bytes(b) => put_bytes(buf, 7, b),
    }
}

/// A length-delimited field of `len` bytes: always written (a message, or a oneof member).
fn message(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// A proto3 string or bytes field: absent when empty.
fn string(tag: u32, s: &str) -> usize {
    if s.is_empty() {
        0
    } else {
        message(tag, s.len())
    }
}

/// A proto3 varint field: absent when 0.
fn varint(tag: u32, v: u64) -> usize {
    if v == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(v)
    }
}

/// A proto3 fixed64 field: absent when 0.
fn fixed64(tag: u32, v: u64) -> usize {
    if v == 0 { 0 } else { key_len(tag) + 8 }
}

fn put_message(buf: &mut Vec<u8>, tag: u32, len: usize) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

fn put_bytes(buf: &mut Vec<u8>, tag: u32, bytes: &[u8]) {
    put_message(buf, tag, bytes.len());
    buf.extend_from_slice(bytes);
}

fn put_string(buf: &mut Vec<u8>, tag: u32, s: &str) {
    if !s.is_empty() {
        put_bytes(buf, tag, s.as_bytes());
    }
}

fn put_varint(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(v, buf);
    }
}

fn put_fixed64(buf: &mut Vec<u8>, tag: u32, v: u64) {
    if v != 0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests;
