//! The owned span model: everything a span carries, with no OpenTelemetry or protobuf type in it.
//!
//! Strings that repeat across spans (attribute keys, model names, resource and scope data) are
//! reference-counted so a million spans fit in memory: converters intern them per batch.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// A 16-byte trace id, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id, written as 16 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A fresh random trace id (for spans traceval makes itself).
    pub(crate) fn random() -> TraceId {
        TraceId(*uuid::Uuid::new_v4().as_bytes())
    }
}

impl SpanId {
    /// A fresh random span id (for spans traceval makes itself).
    pub(crate) fn random() -> SpanId {
        let bytes = *uuid::Uuid::new_v4().as_bytes();
        SpanId(bytes[..8].try_into().expect("8 bytes"))
    }
}

/// Now, in nanoseconds since the Unix epoch, as spans time themselves (0 before 1970).
pub(crate) fn now_unix_nano() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Why a string is not a trace or span id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The id has the wrong number of bytes (or hex digits).
    #[error("expected {expected} bytes, got {actual}")]
    Length {
        /// Bytes the id must have.
        expected: usize,
        /// Bytes it had.
        actual: usize,
    },
    /// The hex string has a character outside `0-9a-fA-F`.
    #[error("invalid hex digit in `{0}`")]
    Hex(String),
    /// Every byte is zero, which OpenTelemetry defines as invalid.
    #[error("all-zero id is invalid")]
    Zero,
}

macro_rules! id_type {
    ($name:ident, $len:literal) => {
        impl $name {
            /// Builds an id from raw bytes, rejecting a wrong length or an all-zero id.
            pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
                let arr: [u8; $len] = bytes.try_into().map_err(|_| IdError::Length {
                    expected: $len,
                    actual: bytes.len(),
                })?;
                if arr == [0; $len] {
                    return Err(IdError::Zero);
                }
                Ok(Self(arr))
            }

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Lowercase hex in one write: ids are displayed by the hundred thousand.
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let mut hex = [0u8; 2 * $len];
                for (i, b) in self.0.iter().enumerate() {
                    hex[2 * i] = HEX[usize::from(b >> 4)];
                    hex[2 * i + 1] = HEX[usize::from(b & 0xf)];
                }
                f.write_str(std::str::from_utf8(&hex).expect("ASCII"))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(s: &str) -> Result<Self, IdError> {
                let bytes = decode_hex(s)?;
                Self::from_bytes(&bytes)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    };
}

id_type!(TraceId, 16);
id_type!(SpanId, 8);

fn decode_hex(s: &str) -> Result<Vec<u8>, IdError> {
    if !s.len().is_multiple_of(2) {
        return Err(IdError::Hex(s.to_owned()));
    }
    s.as_bytes()
        .chunks(2)
        .map(|pair| {
            let hi = (pair[0] as char).to_digit(16);
            let lo = (pair[1] as char).to_digit(16);
            match (hi, lo) {
                (Some(h), Some(l)) => Ok((h * 16 + l) as u8),
                _ => Err(IdError::Hex(s.to_owned())),
            }
        })
        .collect()
}

/// The OpenTelemetry span kind (client, server, ...), not to be confused with the GenAI kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanKind {
    /// Not set by the producer.
    #[default]
    Unspecified,
    /// An internal operation.
    Internal,
    /// Handles a remote request.
    Server,
    /// Makes a remote request.
    Client,
    /// Sends a message.
    Producer,
    /// Receives a message.
    Consumer,
}

/// The status code of a span.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCode {
    /// The default: the producer said nothing.
    #[default]
    Unset,
    /// Explicitly successful.
    Ok,
    /// The operation failed.
    Error,
}

impl SpanKind {
    /// The OTLP enum value (`SPAN_KIND_INTERNAL` = 1 ...).
    pub fn otlp(self) -> i32 {
        match self {
            SpanKind::Unspecified => 0,
            SpanKind::Internal => 1,
            SpanKind::Server => 2,
            SpanKind::Client => 3,
            SpanKind::Producer => 4,
            SpanKind::Consumer => 5,
        }
    }
}

impl StatusCode {
    /// The OTLP enum value (`STATUS_CODE_OK` = 1, `STATUS_CODE_ERROR` = 2).
    pub fn otlp(self) -> i32 {
        match self {
            StatusCode::Unset => 0,
            StatusCode::Ok => 1,
            StatusCode::Error => 2,
        }
    }
}

/// A span's status: code plus a description (set only with [`StatusCode::Error`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Status {
    /// Unset, ok or error.
    pub code: StatusCode,
    /// The error description, empty when none was given.
    pub message: String,
}

/// An attribute value, as OpenTelemetry's `AnyValue`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    Str(Arc<str>),
    /// A boolean.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// Raw bytes.
    Bytes(Arc<[u8]>),
    /// A homogeneous or mixed array.
    Array(Arc<[Value]>),
    /// A nested key-value list.
    Map(Arc<[KeyValue]>),
}

impl Value {
    /// The string, if this is a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an integer: an int, a double with no fraction, or a string of digits
    /// (some SDKs stringify token counts).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Double(d) if d.fract() == 0.0 && d.is_finite() => Some(*d as i64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// The value as a float: a double, an int or a numeric string.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Double(d) => Some(*d),
            Value::Int(i) => Some(*i as f64),
            Value::Str(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Converts to JSON; bytes become an array of numbers.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Str(s) => J::String(s.to_string()),
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Double(d) => serde_json::Number::from_f64(*d).map_or(J::Null, J::Number),
            Value::Bytes(b) => J::Array(b.iter().map(|x| J::from(*x)).collect()),
            Value::Array(a) => J::Array(a.iter().map(Value::to_json).collect()),
            Value::Map(m) => J::Object(
                m.iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_json()))
                    .collect(),
            ),
        }
    }
}

impl fmt::Display for Value {
    /// Strings print bare; everything else prints as JSON.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s.into())
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(d: f64) -> Self {
        Value::Double(d)
    }
}

/// One attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyValue {
    /// The attribute name, shared between spans.
    pub key: Arc<str>,
    /// Its value.
    pub value: Value,
}

impl KeyValue {
    /// Builds an attribute.
    pub fn new(key: &str, value: impl Into<Value>) -> Self {
        KeyValue {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// An ordered attribute list with lookup by key (the first occurrence wins, as in the SDKs).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Attributes(pub Vec<KeyValue>);

impl Attributes {
    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|kv| &*kv.key == key).map(|kv| &kv.value)
    }

    /// The string value of `key`, if present and a string.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Iterates in order.
    pub fn iter(&self) -> std::slice::Iter<'_, KeyValue> {
        self.0.iter()
    }

    /// Number of attributes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<KeyValue> for Attributes {
    fn from_iter<I: IntoIterator<Item = KeyValue>>(iter: I) -> Self {
        Attributes(iter.into_iter().collect())
    }
}

/// A timestamped event on a span (`exception` events carry errors).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Event name.
    pub name: String,
    /// When it happened, in ns since the Unix epoch.
    pub time_unix_nano: u64,
    /// Its attributes.
    pub attributes: Attributes,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
}

/// A link from a span to another span, possibly in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    /// The linked span's trace.
    pub trace_id: TraceId,
    /// The linked span.
    pub span_id: SpanId,
    /// W3C trace state of the link.
    pub trace_state: String,
    /// The link's attributes.
    pub attributes: Attributes,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
    /// W3C trace flags and remote bits.
    pub flags: u32,
}

/// The entity that produced spans: service name, SDK, `eval.*` identity...
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    /// Resource attributes.
    pub attributes: Attributes,
    /// Schema URL, empty when not given.
    pub schema_url: String,
}

/// The instrumentation library that created spans.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// Library name, e.g. `openinference.instrumentation.openai`.
    pub name: String,
    /// Library version, empty when not given.
    pub version: String,
    /// Scope attributes.
    pub attributes: Attributes,
    /// Schema URL, empty when not given.
    pub schema_url: String,
}

/// One finished span with everything OTLP can say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    /// The trace it belongs to.
    pub trace_id: TraceId,
    /// Its own id.
    pub span_id: SpanId,
    /// Its parent, `None` for a root.
    pub parent_span_id: Option<SpanId>,
    /// W3C trace state.
    pub trace_state: String,
    /// W3C trace flags and remote bits.
    pub flags: u32,
    /// The span name.
    pub name: String,
    /// Client, server, internal...
    pub kind: SpanKind,
    /// Start, in ns since the Unix epoch.
    pub start_time_unix_nano: u64,
    /// End, in ns since the Unix epoch.
    pub end_time_unix_nano: u64,
    /// Attributes.
    pub attributes: Attributes,
    /// Attributes the producer dropped.
    pub dropped_attributes_count: u32,
    /// Events, in the order recorded.
    pub events: Vec<Event>,
    /// Events the producer dropped.
    pub dropped_events_count: u32,
    /// Links to other spans.
    pub links: Vec<Link>,
    /// Links the producer dropped.
    pub dropped_links_count: u32,
    /// Status code and message.
    pub status: Status,
    /// The producing entity, shared by the spans of one batch.
    pub resource: Arc<Resource>,
    /// The instrumentation library, shared by the spans of one batch.
    pub scope: Arc<Scope>,
}

impl Span {
    /// Builds a span with the given identity and name and everything else empty; a starting
    /// point for tests and for code that fills fields one by one.
    pub fn new(trace_id: TraceId, span_id: SpanId, name: impl Into<String>) -> Self {
        Span {
            trace_id,
            span_id,
            parent_span_id: None,
            trace_state: String::new(),
            flags: 0,
            name: name.into(),
            kind: SpanKind::Internal,
            start_time_unix_nano: 0,
            end_time_unix_nano: 0,
            attributes: Attributes::default(),
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status::default(),
            resource: Arc::default(),
            scope: Arc::default(),
        }
    }

    /// The span's duration in ns (zero if the end precedes the start).
    pub fn duration_ns(&self) -> u64 {
        self.end_time_unix_nano
            .saturating_sub(self.start_time_unix_nano)
    }

    /// The value of a span attribute.
    pub fn attr(&self, key: &str) -> Option<&Value> {
        self.attributes.get(key)
    }

    /// The string value of a span attribute.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.str(key)
    }

    /// True when the span failed: status ERROR, an `error.type` attribute (the GenAI and HTTP
    /// conventions set it exactly when the operation ended in error), or an `exception` event
    /// (`docs/reference/metrics.md#error-spans`), unless the status is explicitly OK.
    pub fn is_error(&self) -> bool {
        match self.status.code {
            StatusCode::Error => true,
            StatusCode::Ok => false,
            StatusCode::Unset => {
                self.attributes.get("error.type").is_some()
                    || self.events.iter().any(|e| e.name == "exception")
            }
        }
    }

    /// A short description of the error: the status message, else the first `exception`
    /// event's message or type, else `error.type`.
    pub fn error_message(&self) -> Option<String> {
        if !self.is_error() {
            return None;
        }
        if !self.status.message.is_empty() {
            return Some(self.status.message.clone());
        }
        let from_event = self
            .events
            .iter()
            .find(|e| e.name == "exception")
            .and_then(|e| {
                e.attributes
                    .str("exception.message")
                    .or_else(|| e.attributes.str("exception.type"))
            });
        from_event
            .or_else(|| self.attr_str("error.type"))
            .map(str::to_owned)
            .or_else(|| Some("error".to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_hex() {
        let t: TraceId = "5B8EFFF798038103D269B633813FC60C".parse().unwrap();
        assert_eq!(t.to_string(), "5b8efff798038103d269b633813fc60c");
        let s: SpanId = "eee19b7ec3c1b174".parse().unwrap();
        assert_eq!(s.to_string(), "eee19b7ec3c1b174");
    }

    #[test]
    fn bad_ids_are_rejected() {
        assert_eq!(
            "abcd".parse::<SpanId>(),
            Err(IdError::Length {
                expected: 8,
                actual: 2
            })
        );
        assert!(matches!(
            "zz".repeat(8).parse::<SpanId>(),
            Err(IdError::Hex(_))
        ));
        assert_eq!("0".repeat(16).parse::<SpanId>(), Err(IdError::Zero));
        assert!(matches!("abc".parse::<SpanId>(), Err(IdError::Hex(_))));
    }

    #[test]
    fn numeric_accessors_accept_the_shapes_sdks_write() {
        assert_eq!(Value::Int(7).as_i64(), Some(7));
        assert_eq!(Value::Double(7.0).as_i64(), Some(7));
        assert_eq!(Value::Double(7.5).as_i64(), None);
        assert_eq!(Value::from("42").as_i64(), Some(42));
        assert_eq!(Value::from("x").as_i64(), None);
        assert_eq!(Value::Int(3).as_f64(), Some(3.0));
    }

    #[test]
    fn error_message_prefers_status_then_exception_event() {
        let id = TraceId([1; 16]);
        let mut s = Span::new(id, SpanId([1; 8]), "x");
        assert_eq!(s.error_message(), None);
        s.status.code = StatusCode::Error;
        s.events.push(Event {
            name: "exception".into(),
            time_unix_nano: 0,
            attributes: [KeyValue::new("exception.message", "boom")]
                .into_iter()
                .collect(),
            dropped_attributes_count: 0,
        });
        assert_eq!(s.error_message().as_deref(), Some("boom"));
        s.status.message = "status says".into();
        assert_eq!(s.error_message().as_deref(), Some("status says"));
    }
}
