//! What a recorded trace says about its trial besides its spans: the input the agent got and
//! the answer it gave, read from the outermost span that records them by convention
//! (OpenInference `input.value`/`output.value`, OpenLLMetry `traceloop.entity.*`, OTel GenAI
//! `gen_ai.*.messages`). `traceval run --save-traces` writes the OpenInference keys on the
//! saved `eval.trial` root, so a replay of the file finds them there first.

use std::sync::Arc;

use serde_json::Value as Json;

use crate::trace::genai::classify;
use crate::trace::{Kind, Span, SpanTree, Value};

/// The OpenInference key of a span's input, and of its MIME type.
pub const INPUT_VALUE: &str = "input.value";
/// The MIME type of [`INPUT_VALUE`]: `application/json` or `text/plain`.
pub const INPUT_MIME_TYPE: &str = "input.mime_type";
/// The OpenInference key of a span's output.
pub const OUTPUT_VALUE: &str = "output.value";
/// The MIME type of [`OUTPUT_VALUE`].
pub const OUTPUT_MIME_TYPE: &str = "output.mime_type";
/// The MIME type of a value written as JSON.
pub const JSON_MIME: &str = "application/json";
/// The MIME type of a value written as text.
pub const TEXT_MIME: &str = "text/plain";

/// One direction's keys, in the order they are tried.
struct Keys {
    openinference: (&'static str, &'static str),
    traceloop: &'static str,
    messages: &'static str,
}

const INPUT: Keys = Keys {
    openinference: (INPUT_VALUE, INPUT_MIME_TYPE),
    traceloop: "traceloop.entity.input",
    messages: "gen_ai.input.messages",
};

const OUTPUT: Keys = Keys {
    openinference: (OUTPUT_VALUE, OUTPUT_MIME_TYPE),
    traceloop: "traceloop.entity.output",
    messages: "gen_ai.output.messages",
};

/// The answer a trace recorded, as text (see `recorded`); of output messages, the text parts
/// of the last one.
pub fn recorded_answer(spans: &[Span]) -> Option<String> {
    let read = |text: &str, mime: Option<&str>| match read_value(text, mime) {
        Json::String(text) => text,
        // A JSON answer is graded as the text it was written as.
        _ => text.to_owned(),
    };
    recorded(spans, &OUTPUT, read, |span| {
        let text = span.attr(OUTPUT.messages).and_then(Value::as_str)?;
        message_text(text, None)
    })
}

/// The input a trace recorded (see `recorded`): a JSON value when the span says it is JSON
/// (or OpenLLMetry wrote it), else text; of input messages, the text parts of the last user
/// message.
pub fn recorded_input(spans: &[Span]) -> Option<Json> {
    recorded(spans, &INPUT, read_value, |span| {
        let text = span.attr(INPUT.messages).and_then(Value::as_str)?;
        message_text(text, Some("user")).map(Json::String)
    })
}

/// The value of the outermost span (in depth-first order from the roots, by start time) that
/// is a root or an agent span and records one of `keys`.
fn recorded<T>(
    spans: &[Span],
    keys: &Keys,
    read: impl Fn(&str, Option<&str>) -> T,
    messages: impl Fn(&Span) -> Option<T>,
) -> Option<T> {
    let tree = SpanTree::build(spans.iter().cloned().map(Arc::new));
    tree.walk()
        .filter(|node| node.parent().is_none() || classify(node.span()) == Kind::Agent)
        .find_map(|node| {
            let span = node.span();
            let (value, mime) = keys.openinference;
            if let Some(text) = span.attr(value).and_then(Value::as_str) {
                let mime = span.attr(mime).and_then(Value::as_str);
                return Some(read(text, mime));
            }
            if let Some(text) = span.attr(keys.traceloop).and_then(Value::as_str) {
                return Some(read(text, Some(JSON_MIME)));
            }
            messages(span)
        })
}

/// A recorded value: text when its MIME type says so, JSON when it says so (or, without a
/// type, when it parses as a JSON string, which is unquoted), else the text as it is.
fn read_value(text: &str, mime: Option<&str>) -> Json {
    match mime {
        Some(TEXT_MIME) => Json::String(text.to_owned()),
        Some(JSON_MIME) => {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
        }
        _ => match serde_json::from_str::<Json>(text) {
            Ok(Json::String(inner)) => Json::String(inner),
            _ => Json::String(text.to_owned()),
        },
    }
}

/// The text parts of the last message (of `role`, if given) of OTel GenAI messages
/// (`[{"role": "assistant", "parts": [{"type": "text", "content": "…"}]}]`).
fn message_text(messages: &str, role: Option<&str>) -> Option<String> {
    let messages: Json = serde_json::from_str(messages).ok()?;
    let last = messages
        .as_array()?
        .iter()
        .rev()
        .find(|m| role.is_none_or(|role| m.get("role").and_then(Json::as_str) == Some(role)))?;
    let parts = last.get("parts")?.as_array()?;
    let text: Vec<&str> = parts
        .iter()
        .filter(|p| p.get("type").and_then(Json::as_str) == Some("text"))
        .filter_map(|p| p.get("content").and_then(Json::as_str))
        .collect();
    (!text.is_empty()).then(|| text.concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Attributes, KeyValue, SpanId, TraceId};

    fn span(id: u8, parent: Option<u8>, name: &str, start: u64, end: u64) -> Span {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = end;
        s
    }

    fn with(mut s: Span, attrs: &[(&str, &str)]) -> Span {
        s.attributes = Attributes(attrs.iter().map(|(k, v)| KeyValue::new(k, *v)).collect());
        s
    }

    #[test]
    fn the_recorded_answer_is_read_from_the_outermost_agent_or_root_span() {
        let cases: [(Vec<Span>, Option<&str>); 7] = [
            // OpenInference on the agent span; a chat span's output is not the answer.
            (
                vec![
                    with(
                        span(1, None, "agent", 0, 9),
                        &[("output.value", "18 C in Paris")],
                    ),
                    with(
                        span(2, Some(1), "ChatCompletion", 1, 2),
                        &[("output.value", "{}")],
                    ),
                ],
                Some("18 C in Paris"),
            ),
            // OpenLLMetry writes the answer as a JSON string.
            (
                vec![with(
                    span(1, None, "workflow", 0, 9),
                    &[("traceloop.entity.output", "\"It is sunny\"")],
                )],
                Some("It is sunny"),
            ),
            // OTel GenAI output messages on an agent span: the last message's text parts.
            (
                vec![
                    span(1, None, "root", 0, 9),
                    with(
                        span(2, Some(1), "invoke_agent weather", 1, 8),
                        &[(
                            "gen_ai.output.messages",
                            r#"[{"role":"assistant","parts":[{"type":"text","content":"first"}]},{"role":"assistant","parts":[{"type":"text","content":"It is "},{"type":"tool_call","name":"t"},{"type":"text","content":"18 C"}]}]"#,
                        )],
                    ),
                ],
                Some("It is 18 C"),
            ),
            // Not an agent span (no GenAI kind), not a root: not the answer.
            (
                vec![
                    span(1, None, "root", 0, 9),
                    with(
                        span(2, Some(1), "step", 1, 2),
                        &[("output.value", "partial")],
                    ),
                ],
                None,
            ),
            (vec![span(1, None, "root", 0, 9)], None),
            // Text that looks like JSON stays as it is when the span says it is text.
            (
                vec![with(
                    span(1, None, "eval.trial", 0, 9),
                    &[
                        ("output.value", "\"quoted\""),
                        ("output.mime_type", "text/plain"),
                    ],
                )],
                Some("\"quoted\""),
            ),
            // A JSON answer that is not a string is the text it was written as.
            (
                vec![with(
                    span(1, None, "agent", 0, 9),
                    &[
                        ("output.value", r#"{"a": 1}"#),
                        ("output.mime_type", "application/json"),
                    ],
                )],
                Some(r#"{"a": 1}"#),
            ),
        ];
        for (i, (spans, answer)) in cases.into_iter().enumerate() {
            assert_eq!(recorded_answer(&spans).as_deref(), answer, "case {i}");
        }
    }

    #[test]
    fn the_recorded_input_keeps_its_type() {
        let json = [
            ("input.value", r#"{"city":"Paris","n":2}"#),
            ("input.mime_type", "application/json"),
        ];
        let cases: [(Vec<Span>, Option<Json>); 5] = [
            (
                vec![with(span(1, None, "eval.trial", 0, 9), &json)],
                Some(serde_json::json!({"city": "Paris", "n": 2})),
            ),
            (
                vec![with(
                    span(1, None, "eval.trial", 0, 9),
                    &[("input.value", "12"), ("input.mime_type", "text/plain")],
                )],
                Some(Json::String("12".into())),
            ),
            (
                vec![with(
                    span(1, None, "workflow", 0, 9),
                    &[(
                        "traceloop.entity.input",
                        r#"{"args":[],"kwargs":{"q":"x"}}"#,
                    )],
                )],
                Some(serde_json::json!({"args": [], "kwargs": {"q": "x"}})),
            ),
            // Of input messages, the last user message's text.
            (
                vec![with(
                    span(1, None, "invoke_agent a", 0, 9),
                    &[(
                        "gen_ai.input.messages",
                        r#"[{"role":"system","parts":[{"type":"text","content":"be brief"}]},{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]},{"role":"assistant","parts":[{"type":"text","content":"ok"}]}]"#,
                    )],
                )],
                Some(Json::String("Weather in Paris?".into())),
            ),
            (vec![span(1, None, "root", 0, 9)], None),
        ];
        for (i, (spans, input)) in cases.into_iter().enumerate() {
            assert_eq!(recorded_input(&spans), input, "case {i}");
        }
    }
}
