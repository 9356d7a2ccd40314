//! Trace files: OTLP/JSON as the OpenTelemetry Collector's file exporter writes it.
//!
//! A file holds one `ExportTraceServiceRequest` object, pretty-printed or not, or several, one
//! per line (JSONL). Both follow the protobuf-JSON mapping of the OTLP spec: lowerCamelCase
//! keys, hex trace and span ids, 64-bit integers as strings (numbers are accepted too), enums
//! as integers. Writing produces one request per line.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;

use super::convert::{JsonRequestError, decode_request, encode_request, request_from_json};
use crate::trace::Span;

/// The name of the root span traceval opens for every trial; `--save-traces` writes it with
/// the trial's spans, so that a replay finds the trial's identity and latency on it.
pub const TRIAL_ROOT: &str = "eval.trial";

/// True for a trial root as traceval records one: a span named [`TRIAL_ROOT`] without a parent.
pub fn is_trial_root(span: &Span) -> bool {
    span.name == TRIAL_ROOT && span.parent_span_id.is_none()
}

/// What a trace file held.
#[derive(Debug, Default)]
pub struct TraceFile {
    /// Every valid span, in file order.
    pub spans: Vec<Span>,
    /// Requests read (lines, for JSONL).
    pub requests: usize,
    /// Spans dropped for invalid ids, and why the first was.
    pub rejected: usize,
    /// The first rejection's reason.
    pub first_rejection: Option<String>,
}

/// A trace file could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceFileError {
    /// The file could not be opened or read.
    #[error("cannot read trace file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The content is not OTLP/JSON.
    #[error("{}:{line}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// The file could not be written.
    #[error("cannot write trace file `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A parse problem before a path is attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.line, self.message)
    }
}

/// Reads a trace file.
pub fn read(path: &Path) -> Result<TraceFile, TraceFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text).map_err(|e| TraceFileError::Parse {
        path: path.to_owned(),
        line: e.line,
        column: e.column,
        message: e.message,
    })
}

/// Parses OTLP/JSON text: one request object, or one per line.
pub fn parse(text: &str) -> Result<TraceFile, ParseError> {
    let mut out = TraceFile::default();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    // Lines before the current record, counted incrementally.
    let (mut counted_to, mut lines_before) = (0usize, 0usize);
    while let Some(item) = stream.next() {
        let raw = item.map_err(|e| ParseError {
            line: e.line(),
            column: e.column(),
            message: describe(&e),
        })?;
        let start = stream.byte_offset() - raw.get().len();
        lines_before += text[counted_to..start].matches('\n').count();
        counted_to = start;
        let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
        let request = request_from_json(raw.get()).map_err(|e| match e {
            JsonRequestError::Invalid(e) => ParseError {
                line: lines_before + e.line(),
                column: if e.line() == 1 {
                    start - line_start + e.column()
                } else {
                    e.column()
                },
                message: describe(&e),
            },
            other @ JsonRequestError::NoResourceSpans { .. } => ParseError {
                line: lines_before + 1,
                column: start - line_start + 1,
                message: other.to_string(),
            },
        })?;
        out.requests += 1;
        let decoded = decode_request(request);
        out.spans.extend(decoded.spans);
        out.rejected += decoded.rejected;
        if out.first_rejection.is_none() {
            out.first_rejection = decoded.first_error;
        }
    }
    Ok(out)
}

fn describe(e: &serde_json::Error) -> String {
    let msg = e.to_string();
    // serde_json appends " at line L column C"; the caller prints the position itself.
    match msg.rfind(" at line ") {
        Some(i) => format!("invalid OTLP JSON: {}", &msg[..i]),
        None => format!("invalid OTLP JSON: {msg}"),
    }
}

/// Writes spans as OTLP/JSON, one request on one line.
pub fn write<'a>(
    path: &Path,
    spans: impl IntoIterator<Item = &'a Span>,
) -> Result<(), TraceFileError> {
    let err = |source| TraceFileError::Write {
        path: path.to_owned(),
        source,
    };
    // Write beside the target and rename, so a reader never sees half a file.
    let tmp = path.with_extension("tmp~");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(err)?);
    to_writer(&mut file, spans).map_err(err)?;
    file.into_inner()
        .map_err(|e| err(e.into_error()))?
        .sync_all()
        .map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Writes spans as one line of OTLP/JSON.
pub fn to_writer<'a>(
    mut w: impl Write,
    spans: impl IntoIterator<Item = &'a Span>,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut w, &encode_request(spans))?;
    w.write_all(b"\n")
}

/// Every `.otlp.jsonl` file under the project's `tests/fixtures/`: real traces of several
/// instrumentation libraries, for tests that read all of them.
#[cfg(test)]
pub(crate) fn fixture_files() -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".otlp.jsonl") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 42, "found {} fixtures", files.len());
    files
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Attributes, KeyValue, SpanId, TraceId};

    const ONE: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a"}}]},"scopeSpans":[{"scope":{"name":"s"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"","name":"root","kind":1,"startTimeUnixNano":1000,"endTimeUnixNano":"2000","attributes":[{"key":"n","value":{"intValue":"12345678901"}},{"key":"m","value":{"intValue":7}}],"status":{}}]}]}]}"#;

    #[test]
    fn reads_a_single_object_and_jsonl_alike() {
        let single = parse(ONE).unwrap();
        assert_eq!(single.spans.len(), 1);
        let s = &single.spans[0];
        assert_eq!(s.trace_id.to_string(), "5b8efff798038103d269b633813fc60c");
        assert_eq!(s.parent_span_id, None);
        assert_eq!((s.start_time_unix_nano, s.end_time_unix_nano), (1000, 2000));
        assert_eq!(s.attr("n").and_then(|v| v.as_i64()), Some(12_345_678_901));
        assert_eq!(s.attr("m").and_then(|v| v.as_i64()), Some(7));
        let pretty: serde_json::Value = serde_json::from_str(ONE).unwrap();
        let pretty = serde_json::to_string_pretty(&pretty).unwrap();
        assert_eq!(parse(&pretty).unwrap().spans.len(), 1);
        let jsonl = format!("{ONE}\n\n{ONE}\n");
        let both = parse(&jsonl).unwrap();
        assert_eq!((both.requests, both.spans.len()), (2, 2));
    }

    #[test]
    fn errors_name_the_line() {
        let text = format!("{ONE}\n{{\"resourceSpans\": [}}\n");
        let e = parse(&text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.starts_with("invalid OTLP JSON"), "{}", e.message);
        let bad_id = ONE.replace("EEE19B7EC3C1B174", "not-hex-at-all!!");
        let e = parse(&format!("{ONE}\n\n  {bad_id}")).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(
            e.column > 100,
            "column {} is within the third line",
            e.column
        );
    }

    #[test]
    fn snake_case_keys_are_an_error_not_an_empty_trace() {
        let e = parse(&format!("{ONE}\n{{\"resource_spans\": []}}")).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("resource_spans"), "{}", e.message);
        assert_eq!(parse("{}").unwrap().spans.len(), 0);
        assert_eq!(parse(r#"{"resourceSpans":[]}"#).unwrap().requests, 1);
        assert_eq!(parse("").unwrap().requests, 0);
    }

    #[test]
    fn writes_the_collector_format() {
        let spans = parse(ONE).unwrap().spans;
        let mut out = Vec::new();
        to_writer(&mut out, &spans).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n') && text.matches('\n').count() == 1);
        assert!(
            text.contains(r#""traceId":"5b8efff798038103d269b633813fc60c""#),
            "{text}"
        );
        assert!(text.contains(r#""intValue":"12345678901""#), "{text}");
        assert!(text.contains(r#""startTimeUnixNano":"1000""#), "{text}");
        assert_eq!(parse(&text).unwrap().spans, spans);
    }

    #[test]
    fn doubles_survive_a_round_trip_bit_for_bit() {
        // A replay must grade a recorded cost or score exactly as the live run did; serde_json's
        // default float parser is off by one ULP for about one double in ten.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let spans: Vec<Span> = (0..2000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let f = (x >> 11) as f64 / (1u64 << 53) as f64 * 10f64.powi(i % 12 - 6);
                let mut s = Span::new(TraceId([1; 16]), SpanId([2; 8]), "s");
                s.attributes = Attributes(vec![KeyValue::new("gen_ai.usage.cost", f)]);
                s
            })
            .collect();
        let mut out = Vec::new();
        to_writer(&mut out, &spans).unwrap();
        let back = parse(std::str::from_utf8(&out).unwrap()).unwrap().spans;
        let changed: Vec<_> = spans
            .iter()
            .zip(&back)
            .filter(|(a, b)| a.attributes != b.attributes)
            .map(|(a, b)| (a.attr("gen_ai.usage.cost"), b.attr("gen_ai.usage.cost")))
            .collect();
        assert!(
            changed.is_empty(),
            "{} changed, e.g. {:?}",
            changed.len(),
            changed.first()
        );
    }
}
