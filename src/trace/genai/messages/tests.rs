use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::trace::span::{Attributes, Event, KeyValue, SpanId, TraceId};
use crate::trace::tree::SpanTree;
use crate::trace::{GenAiView, Kind};

fn span(attrs: &[(&str, Value)]) -> Span {
    let mut s = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat m");
    s.attributes = attrs
        .iter()
        .map(|(k, v)| KeyValue::new(k, v.clone()))
        .collect();
    s
}

fn s(text: &str) -> Value {
    Value::from(text)
}

fn text(t: &str) -> Part {
    Part::Text(t.to_owned())
}

fn call(id: Option<&str>, name: &str, arguments: &str) -> Part {
    Part::ToolCall {
        id: id.map(str::to_owned),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

fn result(id: Option<&str>, content: &str) -> Part {
    Part::ToolResult {
        id: id.map(str::to_owned),
        content: content.to_owned(),
    }
}

fn msg(role: &str, parts: Vec<Part>, output: bool) -> Message {
    Message {
        role: role.to_owned(),
        parts,
        output,
    }
}

#[test]
fn genai_parts_of_every_type_are_read() {
    let input = json!([
        {"role": "user", "parts": [
            {"type": "text", "content": "hi"},
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "AAAA"},
            {"type": "uri", "modality": "video", "uri": "https://x"},
            {"type": "file", "mime_type": "application/pdf", "file_id": "f"},
            {"type": "hologram", "x": 1},
        ]},
        {"role": "assistant", "parts": [
            {"type": "reasoning", "content": "think"},
            {"type": "tool_call", "id": "c1", "name": "get", "arguments": {"a": 1}},
        ]},
        {"role": "tool", "parts": [
            {"type": "tool_call_response", "id": "c1", "response": {"ok": true}},
        ]},
    ]);
    let output = r#"[{"role":"assistant","parts":[{"type":"text","content":"done"}],"finish_reason":"stop"}]"#;
    let t = transcript(&span(&[
        (
            "gen_ai.system_instructions",
            s(r#"[{"type":"text","content":"be brief"}]"#),
        ),
        ("gen_ai.input.messages", s(&input.to_string())),
        ("gen_ai.output.messages", s(output)),
        (
            "gen_ai.tool.definitions",
            s(r#"[{"type":"function","name":"get"}]"#),
        ),
    ]))
    .unwrap();
    assert_eq!(t.source, "otel-genai");
    assert_eq!(t.system, ["be brief"]);
    assert_eq!(t.tools, [json!({"type": "function", "name": "get"})]);
    assert_eq!(
        t.messages,
        [
            msg(
                "user",
                vec![
                    text("hi"),
                    Part::Attached("image".into()),
                    Part::Attached("video".into()),
                    Part::Attached("application/pdf".into()),
                    Part::Unknown(json!({"type": "hologram", "x": 1})),
                ],
                false
            ),
            msg(
                "assistant",
                vec![
                    Part::Reasoning("think".into()),
                    call(Some("c1"), "get", r#"{"a":1}"#)
                ],
                false
            ),
            msg("tool", vec![result(Some("c1"), r#"{"ok":true}"#)], false),
            msg("assistant", vec![text("done")], true),
        ]
    );
}

#[test]
fn malformed_values_are_kept_as_text_or_json() {
    let t = transcript(&span(&[
        ("gen_ai.input.messages", s("not [json")),
        ("gen_ai.output.messages", s("42")),
        ("gen_ai.system_instructions", s("plain")),
    ]))
    .unwrap();
    assert_eq!(t.system, ["plain"]);
    assert_eq!(
        t.messages,
        [
            msg("unknown", vec![text("not [json")], false),
            msg("unknown", vec![Part::Unknown(json!(42))], true),
        ]
    );
    // Parts and messages of the wrong JSON type do not panic either.
    let t = transcript(&span(&[(
        "gen_ai.input.messages",
        s(r#"[{"parts": 5}, {"role": 1, "parts": [null, "x", {"type": 3}]}, {}]"#),
    )]))
    .unwrap();
    assert_eq!(t.messages.len(), 3);
    assert!(t.messages.iter().all(|m| m.role == "unknown"));
}

#[test]
fn a_span_without_messages_has_no_transcript() {
    assert_eq!(transcript(&span(&[("gen_ai.request.model", s("m"))])), None);
    assert_eq!(
        transcript(&span(&[("llm.input_messages.x.role", s("m"))])),
        None
    );
}

#[test]
fn openinference_flattened_messages() {
    let t = transcript(&span(&[
        ("llm.input_messages.0.message.role", s("system")),
        ("llm.input_messages.0.message.content", s("sys")),
        ("llm.input_messages.1.message.role", s("user")),
        (
            "llm.input_messages.1.message.contents.0.message_content.type",
            s("text"),
        ),
        (
            "llm.input_messages.1.message.contents.0.message_content.text",
            s("look"),
        ),
        (
            "llm.input_messages.1.message.contents.1.message_content.type",
            s("image"),
        ),
        ("llm.input_messages.10.message.role", s("tool")),
        ("llm.input_messages.10.message.tool_call_id", s("c")),
        ("llm.input_messages.10.message.content", s("sunny")),
        ("llm.input_messages.2.message.role", s("assistant")),
        (
            "llm.input_messages.2.message.tool_calls.0.tool_call.id",
            s("c"),
        ),
        (
            "llm.input_messages.2.message.tool_calls.0.tool_call.function.name",
            s("w"),
        ),
        (
            "llm.input_messages.2.message.tool_calls.0.tool_call.function.arguments",
            s("{}"),
        ),
        ("llm.output_messages.0.message.role", s("assistant")),
        ("llm.output_messages.0.message.content", s("ok")),
        ("llm.tools.0.tool.json_schema", s(r#"{"name":"w"}"#)),
    ]))
    .unwrap();
    assert_eq!(t.source, "openinference");
    assert_eq!(t.tools, [json!({"name": "w"})]);
    assert_eq!(
        t.messages,
        [
            msg("system", vec![text("sys")], false),
            msg(
                "user",
                vec![text("look"), Part::Attached("image".into())],
                false
            ),
            msg("assistant", vec![call(Some("c"), "w", "{}")], false),
            // Indices are numbers: 10 comes after 2.
            msg("tool", vec![result(Some("c"), "sunny")], false),
            msg("assistant", vec![text("ok")], true),
        ]
    );
}

#[test]
fn openllmetry_flattened_messages_and_functions() {
    let t = transcript(&span(&[
        ("gen_ai.prompt.0.role", s("user")),
        (
            "gen_ai.prompt.0.content",
            s(r#"[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"x"}}]"#),
        ),
        ("gen_ai.completion.0.role", s("assistant")),
        ("gen_ai.completion.0.finish_reason", s("tool_calls")),
        ("gen_ai.completion.0.tool_calls.0.id", s("c")),
        ("gen_ai.completion.0.tool_calls.0.name", s("w")),
        (
            "gen_ai.completion.0.tool_calls.0.arguments",
            s(r#"{"x":1}"#),
        ),
        ("gen_ai.completion.0.weird", Value::Int(3)),
        ("llm.request.functions.0.name", s("w")),
        (
            "llm.request.functions.0.parameters",
            s(r#"{"type":"object"}"#),
        ),
    ]))
    .unwrap();
    assert_eq!(t.source, "openllmetry");
    assert_eq!(
        t.tools,
        [json!({"name": "w", "parameters": {"type": "object"}})]
    );
    assert_eq!(
        t.messages,
        [
            msg(
                "user",
                vec![text("a"), Part::Attached("image_url".into())],
                false
            ),
            msg(
                "assistant",
                vec![
                    call(Some("c"), "w", r#"{"x":1}"#),
                    Part::Unknown(json!({"weird": 3}))
                ],
                true
            ),
        ]
    );
}

#[test]
fn older_genai_json_and_events() {
    let t = transcript(&span(&[
        ("gen_ai.prompt", s(r#"[{"role":"user","content":"q"}]"#)),
        ("gen_ai.completion", s(r#"[{"role":"assistant","content":"a","tool_calls":[{"id":"c","type":"function","function":{"name":"w","arguments":"{}"}}]}]"#)),
    ]))
    .unwrap();
    assert_eq!(t.source, "otel-genai-legacy");
    assert_eq!(
        t.messages,
        [
            msg("user", vec![text("q")], false),
            msg(
                "assistant",
                vec![text("a"), call(Some("c"), "w", "{}")],
                true
            ),
        ]
    );

    let event = |name: &str, attrs: Vec<KeyValue>| Event {
        name: name.to_owned(),
        time_unix_nano: 0,
        attributes: Attributes(attrs),
        dropped_attributes_count: 0,
    };
    let mut sp = span(&[]);
    sp.events = vec![
        event(
            "gen_ai.system.message",
            vec![KeyValue::new("content", "sys")],
        ),
        event(
            "gen_ai.user.message",
            vec![KeyValue::new("content", "[not json")],
        ),
        event(
            "gen_ai.tool.message",
            vec![KeyValue::new("content", "r"), KeyValue::new("id", "c")],
        ),
        event("exception", vec![KeyValue::new("exception.message", "x")]),
        event(
            "gen_ai.choice",
            vec![
                KeyValue::new("index", 0),
                KeyValue::new(
                    "message",
                    r#"{"content":"a","tool_calls":[{"id":"c","function":{"name":"w","arguments":{"q":1}}}]}"#,
                ),
            ],
        ),
    ];
    let t = transcript(&sp).unwrap();
    assert_eq!(t.source, "otel-genai-events");
    assert_eq!(
        t.messages,
        [
            msg("system", vec![text("sys")], false),
            msg("user", vec![text("[not json")], false),
            msg("tool", vec![result(Some("c"), "r")], false),
            msg(
                "assistant",
                vec![text("a"), call(Some("c"), "w", r#"{"q":1}"#)],
                true
            ),
        ]
    );
}

#[test]
fn vercel_ai_sdk_prompt_and_response() {
    let prompt = json!([
        {"role": "system", "content": "sys"},
        {"role": "user", "content": [{"type": "text", "text": "q"}, {"type": "file", "mediaType": "image/png"}]},
        {"role": "assistant", "content": [{"type": "tool-call", "toolCallId": "c", "toolName": "w", "input": {"x": 1}}]},
        {"role": "tool", "content": [{"type": "tool-result", "toolCallId": "c", "toolName": "w", "output": {"type": "text", "value": "r"}}]},
    ]);
    let t = transcript(&span(&[
        ("ai.prompt.messages", s(&prompt.to_string())),
        ("ai.response.text", s("done")),
        (
            "ai.response.toolCalls",
            s(r#"[{"toolCallType":"function","toolCallId":"d","toolName":"v","args":"{}"}]"#),
        ),
        (
            "ai.prompt.tools",
            Value::Array(Arc::from([s(r#"{"name":"w"}"#), s("not json")])),
        ),
    ]))
    .unwrap();
    assert_eq!(t.source, "vercel-ai");
    assert_eq!(t.tools, [json!({"name": "w"}), json!("not json")]);
    assert_eq!(
        t.messages,
        [
            msg("system", vec![text("sys")], false),
            msg(
                "user",
                vec![text("q"), Part::Attached("image/png".into())],
                false
            ),
            msg("assistant", vec![call(Some("c"), "w", r#"{"x":1}"#)], false),
            msg(
                "tool",
                vec![result(Some("c"), r#"{"type":"text","value":"r"}"#)],
                false
            ),
            msg(
                "assistant",
                vec![text("done"), call(Some("d"), "v", "{}")],
                true
            ),
        ]
    );
    let outer = transcript(&span(&[("ai.prompt", s(r#"{"system":"s","prompt":"p"}"#))])).unwrap();
    assert_eq!(outer.system, ["s"]);
    assert_eq!(outer.messages, [msg("user", vec![text("p")], false)]);
}

#[test]
fn pydantic_ai_messages_and_logfire_events() {
    let t = transcript(&span(&[(
        "pydantic_ai.all_messages",
        s(r#"[{"role":"user","parts":[{"type":"text"}]},{"role":"assistant","parts":[{"type":"tool_call","id":"c","name":"w"}]}]"#),
    )]))
    .unwrap();
    assert_eq!(t.source, "pydantic-ai");
    assert_eq!(
        t.messages,
        [
            msg("user", vec![text("")], false),
            msg("assistant", vec![call(Some("c"), "w", "")], true),
        ]
    );
    let events = json!([
        {"event.name": "gen_ai.user.message", "content": "q", "role": "user"},
        {"event.name": "gen_ai.choice", "index": 0, "message": {"role": "assistant", "content": "a"}},
        {"no": "event"},
    ]);
    let t = transcript(&span(&[("all_messages_events", s(&events.to_string()))])).unwrap();
    assert_eq!(
        t.messages,
        [
            msg("user", vec![text("q")], false),
            msg("assistant", vec![text("a")], true),
        ]
    );
}

/// Every LLM span of the real traces (`tests/fixtures`; `shared/fixtures/otlp` holds the same
/// files) yields a transcript whose roles are set, and the tool calls its outputs list are the
/// calls the model made, by the stub's own log.
#[test]
fn every_llm_span_of_the_real_traces_has_a_transcript() {
    let files = crate::capture::file::fixture_files();
    let mut without = Vec::new();
    for file in files {
        let name = file.display();
        let truth_path = file.to_string_lossy().replace(".otlp.jsonl", ".truth.json");
        let truth: Json =
            serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
        let content = truth["content_capture"].as_bool().unwrap();
        let spans = crate::capture::file::read(&file).unwrap().spans;
        let tree = SpanTree::build(spans.into_iter().map(Arc::new));
        let view = GenAiView::new(&tree);
        let mut asked: Vec<(String, String, String)> = Vec::new();
        let mut llm_spans = 0;
        for node in tree.nodes().filter(|n| view.kind(n.id()) == Kind::Llm) {
            llm_spans += 1;
            let Some(t) = transcript(node.span()) else {
                // pydantic-ai records the messages when the response arrives: a failed call
                // has none.
                assert!(node.span().is_error(), "{name}: no transcript");
                without.push(
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap()
                        .to_owned(),
                );
                continue;
            };
            assert!(!t.messages.is_empty(), "{name}");
            for m in &t.messages {
                assert!(!m.role.is_empty() && m.role != "unknown", "{name}: {m:?}");
                for part in &m.parts {
                    match part {
                        Part::ToolCall {
                            name: tool,
                            id,
                            arguments,
                        } => {
                            assert!(!tool.is_empty(), "{name}: {part:?}");
                            let id = id.clone().unwrap_or_default();
                            if m.output && !asked.iter().any(|a| a.0 == id) {
                                asked.push((id, tool.clone(), arguments.clone()));
                            }
                        }
                        Part::Unknown(json) => panic!("{name}: unknown part {json}"),
                        _ => {}
                    }
                }
            }
        }
        assert!(llm_spans > 0, "{name}");
        let want = truth["tool_calls"].as_array().unwrap();
        assert_eq!(asked.len(), want.len(), "{name}: {asked:?}");
        for ((id, tool, arguments), want) in asked.iter().zip(want) {
            assert_eq!(id, &want["id"], "{name}");
            assert_eq!(tool, &want["name"], "{name}");
            if content {
                let parsed: Json = serde_json::from_str(arguments).unwrap();
                assert_eq!(parsed, want["arguments"], "{name}");
            }
        }
    }
    assert_eq!(
        without,
        [Path::new("tests/fixtures/pydantic_ai/llm_error.otlp.jsonl")]
    );
}
