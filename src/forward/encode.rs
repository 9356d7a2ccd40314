//! Forwarded spans straight to OTLP protobuf bytes. A forwarded span is the captured span,
//! shared and untouched, plus what forwarding adds, already encoded ([`Added`]): the run's
//! identity once per trial, the verdict, evaluations and links once per span that has them.
//! The encoder writes the span's own fields (less the attributes an addition replaces) and
//! then the added bytes, so forwarding copies no span, builds no intermediate message and
//! allocates nothing per span. Protobuf lets the fields of a repeated field come in more than
//! one run, so a decoder reads the span's own attributes, events and links followed by the
//! added ones. The JSON and gRPC transports start from these bytes too.

use std::borrow::Cow;
use std::sync::Arc;

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use crate::trace::{
    Event, KeyValue, Link, Resource, Scope, Span, SpanId, StatusCode, TraceId, Value,
};

/// An attribute value forwarding adds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Attr<'a> {
    /// A string.
    Str(&'a str),
    /// An integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A boolean.
    Bool(bool),
}

/// Fields forwarding adds to a span (attributes, events, links) or a resource (attributes),
/// encoded as they are added, with the keys of the attributes: a span's or resource's own
/// attribute of one of those keys is not sent (it is replaced).
#[derive(Debug, Clone, Default)]
pub(crate) struct Added {
    keys: Vec<Cow<'static, str>>,
    /// Bit `len % 64` is set for the length of every key: most keys a span has are told
    /// apart from all of `keys` by this alone.
    lengths: u64,
    bytes: Vec<u8>,
    /// The attributes' field: 9 in a span, 1 in a resource.
    attribute_tag: u32,
}

/// The `Span` fields of events and links.
const EVENTS: u32 = 11;
const LINKS: u32 = 13;

impl Added {
    /// Additions to a span.
    pub(crate) fn span() -> Added {
        Added {
            attribute_tag: 9,
            ..Added::default()
        }
    }

    /// Additions to a span, with room for about `bytes` bytes and `keys` attributes.
    pub(crate) fn span_with_capacity(bytes: usize, keys: usize) -> Added {
        Added {
            keys: Vec::with_capacity(keys),
            lengths: 0,
            bytes: Vec::with_capacity(bytes),
            attribute_tag: 9,
        }
    }

    /// Additions to a resource.
    pub(crate) fn resource() -> Added {
        Added {
            attribute_tag: 1,
            ..Added::default()
        }
    }

    /// Additions to a resource, with room for about `bytes` bytes and `keys` attributes.
    pub(crate) fn resource_with_capacity(bytes: usize, keys: usize) -> Added {
        Added {
            attribute_tag: 1,
            ..Added::span_with_capacity(bytes, keys)
        }
    }

    /// Adds (or replaces) attribute `key`. A key already added is not added again.
    pub(crate) fn attribute(&mut self, key: impl Into<Cow<'static, str>>, value: Attr<'_>) {
        let key = key.into();
        if self.replaces(&key) {
            return;
        }
        put_message(&mut self.bytes, self.attribute_tag, attr_len(&key, value));
        put_attr(&mut self.bytes, &key, value);
        self.lengths |= 1 << (key.len() % 64);
        self.keys.push(key);
    }

    /// Adds (or replaces) attribute `kv`.
    pub(crate) fn key_value(&mut self, kv: &KeyValue) {
        if self.replaces(&kv.key) {
            return;
        }
        put_attributes(&mut self.bytes, self.attribute_tag, std::iter::once(kv));
        self.lengths |= 1 << (kv.key.len() % 64);
        self.keys.push(Cow::Owned(kv.key.to_string()));
    }

    /// Adds an event (to a span).
    pub(crate) fn event(
        &mut self,
        name: &str,
        time_unix_nano: u64,
        attributes: &[(&str, Attr<'_>)],
    ) {
        let len = fixed64(1, time_unix_nano) + string(2, name) + attrs_len(3, attributes);
        put_message(&mut self.bytes, EVENTS, len);
        put_fixed64(&mut self.bytes, 1, time_unix_nano);
        put_string(&mut self.bytes, 2, name);
        put_attrs(&mut self.bytes, 3, attributes);
    }

    /// Adds a link (to a span).
    pub(crate) fn link(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        attributes: &[(&str, Attr<'_>)],
    ) {
        let len = message(1, 16) + message(2, 8) + attrs_len(4, attributes);
        put_message(&mut self.bytes, LINKS, len);
        put_bytes(&mut self.bytes, 1, &trace_id.0);
        put_bytes(&mut self.bytes, 2, &span_id.0);
        put_attrs(&mut self.bytes, 4, attributes);
    }

    /// Nothing was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// An attribute of `key` was added: one the span or resource has is not sent.
    fn replaces(&self, key: &str) -> bool {
        self.lengths & (1 << (key.len() % 64)) != 0
            && self.keys.iter().any(|k| k.len() == key.len() && k == key)
    }
}

/// A resource as forwarded, encoded once per trial: its own attributes that no addition
/// replaces, then the additions.
#[derive(Debug)]
pub(crate) struct ForwardedResource {
    /// The `Resource` message.
    bytes: Vec<u8>,
    schema_url: String,
}

impl ForwardedResource {
    /// `resource` with `added`.
    pub(crate) fn new(resource: &Resource, added: &Added) -> ForwardedResource {
        let own = resource
            .attributes
            .iter()
            .filter(|kv| !added.replaces(&kv.key));
        let mut bytes = Vec::with_capacity(attributes_len(1, own.clone()) + added.bytes.len());
        put_attributes(&mut bytes, 1, own);
        bytes.extend_from_slice(&added.bytes);
        ForwardedResource {
            bytes,
            schema_url: resource.schema_url.clone(),
        }
    }

    /// The resource as a message (for log records).
    pub(crate) fn to_proto(&self) -> opentelemetry_proto::tonic::resource::v1::Resource {
        prost::Message::decode(&self.bytes[..]).expect("encoded by this module")
    }

    /// The resource's schema URL.
    pub(crate) fn schema_url(&self) -> &str {
        &self.schema_url
    }
}

/// A span as forwarded.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    /// The span as captured.
    pub(crate) span: Arc<Span>,
    /// What every span of the trial gets (the run's identity).
    pub(crate) common: Arc<Added>,
    /// What this span alone gets (the root's verdict and links, evaluations), if anything.
    /// None of its attribute keys is one of `common`'s.
    pub(crate) extra: Option<Box<Added>>,
    /// The resource sent in place of the span's.
    pub(crate) resource: Arc<ForwardedResource>,
    /// The evaluations of this span as events, for log records (`--forward-events log|both`);
    /// empty otherwise.
    pub(crate) evaluations: Vec<Event>,
}

impl Outgoing {
    /// A span forwarded as it is (the run's own span).
    pub(crate) fn plain(span: Span) -> Outgoing {
        Outgoing {
            resource: Arc::new(ForwardedResource::new(&span.resource, &Added::resource())),
            span: Arc::new(span),
            common: Arc::new(Added::span()),
            extra: None,
            evaluations: Vec::new(),
        }
    }

    /// The span's own attributes that no addition replaces.
    fn own_attributes(&self) -> impl Iterator<Item = &KeyValue> + Clone {
        self.span.attributes.iter().filter(|kv| {
            !self.common.replaces(&kv.key)
                && !self.extra.as_ref().is_some_and(|e| e.replaces(&kv.key))
        })
    }

    fn added_len(&self) -> usize {
        self.common.bytes.len() + self.extra.as_ref().map_or(0, |e| e.bytes.len())
    }
}

/// An `ExportTraceServiceRequest` being filled: trials append their spans as they finish,
/// on the runner's thread, where the spans are in cache and where they are freed; the sender
/// takes the body as it is. Every trial's resource carries the trial's identity, so trials
/// share no `ResourceSpans` and appending one is all there is to joining them.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    /// `ResourceSpans` fields, one after the other.
    pub(crate) body: Vec<u8>,
    /// Spans in `body`.
    pub(crate) spans: usize,
    /// The evaluations of the spans, for log records (`--forward-events log|both`).
    pub(crate) evaluations: Vec<Evaluated>,
}

/// An evaluation event and the span it is about.
#[derive(Debug)]
pub(crate) struct Evaluated {
    /// The evaluated span's resource as forwarded.
    pub(crate) resource: Arc<ForwardedResource>,
    /// The evaluated span's trace.
    pub(crate) trace_id: TraceId,
    /// The evaluated span.
    pub(crate) span_id: SpanId,
    /// The evaluated span's trace flags.
    pub(crate) flags: u32,
    /// The `gen_ai.evaluation.result` event.
    pub(crate) event: Event,
}

impl Batch {
    /// An empty request with room for `bytes` bytes.
    pub(crate) fn with_capacity(bytes: usize) -> Batch {
        Batch {
            body: Vec::with_capacity(bytes),
            ..Batch::default()
        }
    }

    /// Appends `spans`: one `ResourceSpans` per resource, one `ScopeSpans` per scope in it
    /// (by pointer, in order of first appearance).
    pub(crate) fn push(&mut self, spans: Vec<Outgoing>) {
        type Group<'a> = (
            &'a Arc<ForwardedResource>,
            Vec<(&'a Arc<Scope>, Vec<usize>)>,
        );
        // A trial has one or two resources and scopes: a linear search beats hashing.
        let mut groups: Vec<Group<'_>> = Vec::new();
        for (i, s) in spans.iter().enumerate() {
            let r = match groups.iter().position(|g| Arc::ptr_eq(g.0, &s.resource)) {
                Some(r) => r,
                None => {
                    groups.push((&s.resource, Vec::new()));
                    groups.len() - 1
                }
            };
            let scopes = &mut groups[r].1;
            match scopes.iter_mut().find(|g| Arc::ptr_eq(g.0, &s.span.scope)) {
                Some(g) => g.1.push(i),
                None => scopes.push((&s.span.scope, vec![i])),
            }
        }
        let lens: Vec<usize> = spans.iter().map(span_len).collect();
        let scope_spans_len = |scope: &Scope, members: &[usize]| {
            message(1, scope_len(scope))
                + members.iter().map(|&i| message(2, lens[i])).sum::<usize>()
                + string(3, &scope.schema_url)
        };
        let resource_spans_len = |(resource, scopes): &Group<'_>| {
            message(1, resource.bytes.len())
                + scopes
                    .iter()
                    .map(|(scope, members)| message(2, scope_spans_len(scope, members)))
                    .sum::<usize>()
                + string(3, &resource.schema_url)
        };
        let buf = &mut self.body;
        let start = buf.len();
        let total: usize = groups
            .iter()
            .map(|g| message(1, resource_spans_len(g)))
            .sum();
        buf.reserve(total);
        for group in &groups {
            put_message(buf, 1, resource_spans_len(group));
            let (resource, scopes) = group;
            put_bytes(buf, 1, &resource.bytes);
            for (scope, members) in scopes {
                put_message(buf, 2, scope_spans_len(scope, members));
                put_message(buf, 1, scope_len(scope));
                put_string(buf, 1, &scope.name);
                put_string(buf, 2, &scope.version);
                put_attributes(buf, 3, scope.attributes.iter());
                for &i in members {
                    put_message(buf, 2, lens[i]);
                    put_span(buf, &spans[i]);
                }
                put_string(buf, 3, &scope.schema_url);
            }
            put_string(buf, 3, &resource.schema_url);
        }
        debug_assert_eq!(buf.len() - start, total);
        drop(groups);
        self.spans += spans.len();
        for mut s in spans {
            for event in std::mem::take(&mut s.evaluations) {
                self.evaluations.push(Evaluated {
                    resource: Arc::clone(&s.resource),
                    trace_id: s.span.trace_id,
                    span_id: s.span.span_id,
                    flags: s.span.flags,
                    event,
                });
            }
        }
    }
}

/// `attributes` as repeated `KeyValue` field `tag`: its length.
fn attrs_len(tag: u32, attributes: &[(&str, Attr<'_>)]) -> usize {
    attributes
        .iter()
        .map(|&(k, v)| message(tag, attr_len(k, v)))
        .sum()
}

fn put_attrs(buf: &mut Vec<u8>, tag: u32, attributes: &[(&str, Attr<'_>)]) {
    for &(key, value) in attributes {
        put_message(buf, tag, attr_len(key, value));
        put_attr(buf, key, value);
    }
}

/// Attribute `key` = `value` as a `KeyValue` message's length.
fn attr_len(key: &str, value: Attr<'_>) -> usize {
    let value = match value {
        Attr::Str(s) => message(1, s.len()),
        Attr::Bool(_) => key_len(2) + 1,
        Attr::Int(i) => key_len(3) + encoded_len_varint(i as u64),
        Attr::Double(_) => key_len(4) + 8,
    };
    string(1, key) + message(2, value)
}

fn put_attr(buf: &mut Vec<u8>, key: &str, value: Attr<'_>) {
    put_string(buf, 1, key);
    match value {
        Attr::Str(s) => {
            put_message(buf, 2, message(1, s.len()));
            put_bytes(buf, 1, s.as_bytes());
        }
        Attr::Bool(b) => put_any_value_field(buf, &Value::Bool(b)),
        Attr::Int(i) => put_any_value_field(buf, &Value::Int(i)),
        Attr::Double(d) => put_any_value_field(buf, &Value::Double(d)),
    }
}

/// The `value` field (2) of a `KeyValue`.
fn put_any_value_field(buf: &mut Vec<u8>, value: &Value) {
    put_message(buf, 2, any_value_len(value));
    put_any_value(buf, value);
}

fn scope_len(scope: &Scope) -> usize {
    string(1, &scope.name) + string(2, &scope.version) + attributes_len(3, scope.attributes.iter())
}

fn span_len(s: &Outgoing) -> usize {
    let span = &s.span;
    message(1, 16)
        + message(2, 8)
        + string(3, &span.trace_state)
        + span.parent_span_id.map_or(0, |_| message(4, 8))
        + string(5, &span.name)
        + varint(6, span.kind.otlp() as u64)
        + fixed64(7, span.start_time_unix_nano)
        + fixed64(8, span.end_time_unix_nano)
        + attributes_len(9, s.own_attributes())
        + varint(10, u64::from(span.dropped_attributes_count))
        + span
            .events
            .iter()
            .map(|e| message(EVENTS, event_len(e)))
            .sum::<usize>()
        + varint(12, u64::from(span.dropped_events_count))
        + span
            .links
            .iter()
            .map(|l| message(LINKS, link_len(l)))
            .sum::<usize>()
        + varint(14, u64::from(span.dropped_links_count))
        + status_len(span).map_or(0, |n| message(15, n))
        + if span.flags != 0 { key_len(16) + 4 } else { 0 }
        + s.added_len()
}

/// The span's own fields in tag order, as prost writes them, then what forwarding added.
fn put_span(buf: &mut Vec<u8>, s: &Outgoing) {
    let span = &s.span;
    put_bytes(buf, 1, &span.trace_id.0);
    put_bytes(buf, 2, &span.span_id.0);
    put_string(buf, 3, &span.trace_state);
    if let Some(parent) = span.parent_span_id {
        put_bytes(buf, 4, &parent.0);
    }
    put_string(buf, 5, &span.name);
    put_varint(buf, 6, span.kind.otlp() as u64);
    put_fixed64(buf, 7, span.start_time_unix_nano);
    put_fixed64(buf, 8, span.end_time_unix_nano);
    put_attributes(buf, 9, s.own_attributes());
    put_varint(buf, 10, u64::from(span.dropped_attributes_count));
    for event in &span.events {
        put_message(buf, EVENTS, event_len(event));
        put_fixed64(buf, 1, event.time_unix_nano);
        put_string(buf, 2, &event.name);
        put_attributes(buf, 3, event.attributes.iter());
        put_varint(buf, 4, u64::from(event.dropped_attributes_count));
    }
    put_varint(buf, 12, u64::from(span.dropped_events_count));
    for link in &span.links {
        put_message(buf, LINKS, link_len(link));
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
        put_varint(buf, 3, span.status.code.otlp() as u64);
    }
    if span.flags != 0 {
        encode_key(16, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&span.flags.to_le_bytes());
    }
    buf.extend_from_slice(&s.common.bytes);
    if let Some(extra) = &s.extra {
        buf.extend_from_slice(&extra.bytes);
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
        .then(|| string(2, &status.message) + varint(3, status.code.otlp() as u64))
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

/// The spans a backend decodes from [`traces_request`].
#[cfg(test)]
pub(crate) fn decoded(spans: &[Outgoing]) -> Vec<Span> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    let mut batch = Batch::default();
    batch.push(spans.to_vec());
    let bytes = batch.body;
    let request = <ExportTraceServiceRequest as prost::Message>::decode(&bytes[..]).expect("valid");
    crate::capture::convert::decode_request(request).spans
}

#[cfg(test)]
mod tests;
