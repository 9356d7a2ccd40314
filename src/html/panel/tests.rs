use std::sync::Arc;

use super::*;
use crate::trace::{KeyValue, Kind, Link, Resource, Scope, SpanId, SpanTree, TraceId};

const SCRIPT: &str = "</script><script>document.body.dataset.pwned=1</script>";
const IMG: &str = "\"><img src=x onerror=\"document.body.dataset.pwned=1\">";

fn render(spans: Vec<Span>, budget: &mut Budget) -> Vec<String> {
    let tree = SpanTree::build(spans.into_iter().map(Arc::new));
    let view = GenAiView::new(&tree);
    tree.nodes()
        .map(|n| {
            let mut out = String::new();
            write(&mut out, &view, n.id(), budget);
            out
        })
        .collect()
}

fn event(name: &str, attrs: Vec<KeyValue>) -> Event {
    Event {
        name: name.to_owned(),
        time_unix_nano: 5,
        attributes: attrs.into_iter().collect(),
        dropped_attributes_count: 0,
    }
}

/// Every tag in the output: data never holds a raw `<`, so each is one the panel wrote.
fn tags(html: &str) -> Vec<&str> {
    html.split('<')
        .skip(1)
        .map(|rest| rest.split('>').next().unwrap())
        .collect()
}

#[test]
fn markup_in_every_field_of_a_span_stays_text() {
    let hostile = format!("{SCRIPT}{IMG}");
    let h = hostile.as_str();
    let messages = serde_json::json!([
        {"role": h, "parts": [
            {"type": "text", "content": h},
            {"type": "tool_call", "id": h, "name": h, "arguments": h},
            {"type": "tool_call_response", "id": h, "response": h},
            {"type": "blob", "modality": h},
            {"type": h, "x": h},
        ]},
    ])
    .to_string();
    let mut llm = Span::new(TraceId([1; 16]), SpanId([1; 8]), h);
    llm.attributes = [
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.provider.name", h),
        KeyValue::new("gen_ai.request.model", h),
        KeyValue::new("gen_ai.response.finish_reasons", h),
        KeyValue::new("gen_ai.input.messages", messages.as_str()),
        KeyValue::new("gen_ai.system_instructions", h),
        KeyValue::new("gen_ai.tool.definitions", format!("[{:?}]", h)),
        KeyValue::new(h, h),
        KeyValue::new("json", format!("{{\"k\": {h:?}}}")),
    ]
    .into_iter()
    .collect();
    llm.status.code = StatusCode::Error;
    llm.status.message = hostile.clone();
    llm.trace_state = hostile.clone();
    llm.events = vec![
        event(h, vec![KeyValue::new(h, h)]),
        event(
            "exception",
            vec![
                KeyValue::new("exception.type", h),
                KeyValue::new("exception.message", h),
                KeyValue::new("exception.stacktrace", h),
            ],
        ),
        event(
            "gen_ai.evaluation.result",
            vec![
                KeyValue::new("gen_ai.evaluation.name", h),
                KeyValue::new("gen_ai.evaluation.score.label", h),
                KeyValue::new("gen_ai.evaluation.score.value", h),
                KeyValue::new("gen_ai.evaluation.explanation", h),
            ],
        ),
    ];
    llm.links.push(Link {
        trace_id: TraceId([2; 16]),
        span_id: SpanId([2; 8]),
        trace_state: hostile.clone(),
        attributes: [KeyValue::new(h, h)].into_iter().collect(),
        dropped_attributes_count: 0,
        flags: 0,
    });
    llm.resource = Arc::new(Resource {
        attributes: [KeyValue::new(h, h)].into_iter().collect(),
        schema_url: hostile.clone(),
    });
    llm.scope = Arc::new(Scope {
        name: hostile.clone(),
        version: hostile.clone(),
        attributes: [KeyValue::new(h, h)].into_iter().collect(),
        schema_url: String::new(),
    });
    let mut tool = Span::new(TraceId([1; 16]), SpanId([3; 8]), h);
    tool.parent_span_id = Some(SpanId([1; 8]));
    tool.attributes = [
        KeyValue::new("gen_ai.operation.name", "execute_tool"),
        KeyValue::new("gen_ai.tool.name", h),
        KeyValue::new("gen_ai.tool.call.id", h),
        KeyValue::new("gen_ai.tool.call.arguments", h),
        KeyValue::new("gen_ai.tool.call.result", h),
    ]
    .into_iter()
    .collect();

    let mut budget = Budget::default();
    let panels = render(vec![llm, tool], &mut budget);
    for html in &panels {
        let lower = html.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{html}");
        assert!(!lower.contains("<img"), "{html}");
        for tag in tags(html) {
            assert!(!tag.contains("pwned") && !tag.contains(" on"), "{tag}");
            // Classes are fixed words: no data in them.
            if let Some((_, class)) = tag.split_once("class=\"") {
                let class = class.split('"').next().unwrap();
                assert!(
                    class
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '-' || c == ' '),
                    "{tag}"
                );
            }
        }
    }
    // The hostile text is there, as text.
    let mut text = String::new();
    crate::html::escape::write_clipped(&mut text, h, usize::MAX);
    assert!(panels[0].contains(&text));
    assert!(panels[0].contains("class=\"msg role-other\""));
    assert!(panels[1].contains("<h4>tool call</h4>"));
    assert_eq!(budget.clipped_values, 0);
}

#[test]
fn a_huge_value_is_clipped_and_counted() {
    let mut span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat m");
    span.attributes = [
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("big", "x".repeat(1 << 20)),
        KeyValue {
            key: "raw".into(),
            value: Value::Bytes(Arc::from(&[0x00, 0xAB, 0xFF][..])),
        },
    ]
    .into_iter()
    .collect();
    let mut budget = Budget::default();
    let html = render(vec![span], &mut budget).remove(0);
    assert_eq!(budget.clipped_values, 1);
    let more = (1 << 20) - budget.max_attr;
    assert!(html.contains(&format!("… {more} bytes more")), "clipped");
    assert!(html.len() < 2 * budget.max_attr, "{}", html.len());
    assert!(html.contains("<code class=\"bytes\">00abff</code>"));
}

#[test]
fn the_transcript_reads_as_a_chat() {
    let messages = r#"[
        {"role":"user","parts":[{"type":"text","content":"weather?"},{"type":"blob","modality":"image"}]},
        {"role":"assistant","parts":[{"type":"tool_call","id":"c","name":"get_weather","arguments":{"city":"Paris"}}]},
        {"role":"tool","parts":[{"type":"tool_call_response","id":"c","response":"sunny"}]}
    ]"#;
    let mut span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat m");
    span.attributes = [
        KeyValue::new("gen_ai.operation.name", "chat"),
        KeyValue::new("gen_ai.input.messages", messages),
        KeyValue::new(
            "gen_ai.output.messages",
            r#"[{"role":"assistant","parts":[{"type":"text","content":"Sunny."}]}]"#,
        ),
        KeyValue::new("gen_ai.usage.input_tokens", 12),
        KeyValue::new("gen_ai.system_instructions", "be brief"),
    ]
    .into_iter()
    .collect();
    let html = render(vec![span], &mut Budget::default()).remove(0);
    for want in [
        "<div class=\"panel kind-llm\">",
        "<dt>input tokens</dt><dd>12</dd>",
        "<details class=\"system\"><summary>system instructions (1)</summary>",
        "<div class=\"msg role-user\"><div class=\"role\">user</div>",
        "weather?",
        "[image attached]",
        "→ get_weather({\"city\":\"Paris\"})",
        "<div class=\"msg role-tool\"><div class=\"role\">tool</div>",
        "← sunny",
        "<div class=\"msg role-assistant output\">",
        "<table class=\"attrs\">",
    ] {
        assert!(html.contains(want), "{want} not in {html}");
    }
}

/// Every LLM span of the real traces (`tests/fixtures`; `shared/fixtures/otlp` holds the same
/// files): every attribute key is in the table, and the conversation is drawn as messages with
/// the tool calls named.
#[test]
fn real_llm_spans_show_every_attribute_and_their_messages() {
    let files = crate::capture::file::fixture_files();
    let mut llm_spans = 0;
    for file in files {
        let spans = crate::capture::file::read(&file).unwrap().spans;
        let tree = SpanTree::build(spans.into_iter().map(Arc::new));
        let view = GenAiView::new(&tree);
        let mut budget = Budget::default();
        for node in tree.nodes() {
            let mut html = String::new();
            write(&mut html, &view, node.id(), &mut budget);
            let span = node.span();
            for kv in span.attributes.iter() {
                let key = format!("<tr><th>{}</th>", esc(&kv.key));
                assert!(html.contains(&key), "{}: {key}", file.display());
            }
            if view.kind(node.id()) != Kind::Llm {
                continue;
            }
            llm_spans += 1;
            let Some(t) = transcript(span) else {
                // Asserted in the transcript tests: only a failed pydantic-ai call.
                continue;
            };
            assert!(html.contains("class=\"msg role-"), "{}", file.display());
            for part in t.messages.iter().flat_map(|m| &m.parts) {
                if let Part::ToolCall { name, .. } = part {
                    let call = format!("→ {}(", esc(name));
                    assert!(html.contains(&call), "{}: {call}", file.display());
                }
            }
        }
        assert_eq!(budget.clipped_values, 0, "{}", file.display());
    }
    assert!(llm_spans > 80, "{llm_spans}");
}
