//! The flattened conventions: OpenInference (`llm.input_messages.N.message.*`) and
//! OpenLLMetry / Traceloop (`gen_ai.prompt.N.*`), one attribute per field.

use std::collections::BTreeMap;

use serde_json::{Map, Value as Json};

use super::{Message, OPENINFERENCE, OPENLLMETRY, Part, Transcript, content_parts};
use crate::trace::span::{Span, Value};

/// A message being assembled from flattened attributes (`….N.role`, `….N.content`...).
#[derive(Default)]
struct Flat {
    role: Option<String>,
    content: Option<String>,
    tool_call_id: Option<String>,
    /// OpenInference `contents.M.message_content.*`: type, text, image url.
    contents: BTreeMap<usize, BTreeMap<String, String>>,
    /// `tool_calls.K.*`: id, name, arguments.
    tool_calls: BTreeMap<usize, BTreeMap<String, String>>,
    /// Fields not known here, kept as one unknown part.
    other: Map<String, Json>,
}

/// Messages from flattened attributes `{prefix}N.{field}`, in index order. `message.` before
/// the field (OpenInference) and `tool_call.` / `function.` within a tool call are optional.
fn flat_messages(span: &Span, prefix: &str, output: bool, into: &mut Vec<Message>) {
    let mut flat: BTreeMap<usize, Flat> = BTreeMap::new();
    for kv in span.attributes.iter() {
        let Some(rest) = kv.key.strip_prefix(prefix) else {
            continue;
        };
        let Some((index, field)) = rest.split_once('.') else {
            continue;
        };
        let Ok(index) = index.parse::<usize>() else {
            continue;
        };
        let field = field.strip_prefix("message.").unwrap_or(field);
        let m = flat.entry(index).or_default();
        let value = || kv.value.to_string();
        match field {
            "role" => m.role = Some(value()),
            "content" => m.content = Some(value()),
            "tool_call_id" => m.tool_call_id = Some(value()),
            // Shown with the call's metadata, not as a part.
            "finish_reason" => {}
            _ => {
                if let Some((k, sub)) = indexed(field, "tool_calls.") {
                    let sub = sub.strip_prefix("tool_call.").unwrap_or(sub);
                    let sub = sub.strip_prefix("function.").unwrap_or(sub);
                    m.tool_calls
                        .entry(k)
                        .or_default()
                        .insert(sub.to_owned(), value());
                } else if let Some((k, sub)) = indexed(field, "contents.") {
                    let sub = sub.strip_prefix("message_content.").unwrap_or(sub);
                    m.contents
                        .entry(k)
                        .or_default()
                        .insert(sub.to_owned(), value());
                } else if let Some(sub) = field.strip_prefix("function_call.") {
                    m.tool_calls
                        .entry(usize::MAX)
                        .or_default()
                        .insert(sub.to_owned(), value());
                } else {
                    m.other.insert(field.to_owned(), kv.value.to_json());
                }
            }
        }
    }
    for (_, m) in flat {
        let role = m.role.unwrap_or_else(|| "unknown".to_owned());
        let mut parts = Vec::new();
        if let Some(content) = m.content {
            if role == "tool" || m.tool_call_id.is_some() {
                parts.push(Part::ToolResult {
                    id: m.tool_call_id,
                    content,
                });
            } else {
                content_parts(&content, &mut parts);
            }
        }
        for (_, c) in m.contents {
            let kind = c.get("type").map_or("text", String::as_str);
            parts.push(match (kind, c.get("text")) {
                ("text", Some(text)) => Part::Text(text.clone()),
                ("text", None) => Part::Text(String::new()),
                _ => Part::Attached(kind.to_owned()),
            });
        }
        for (_, mut call) in m.tool_calls {
            parts.push(Part::ToolCall {
                id: call.remove("id"),
                name: call.remove("name").unwrap_or_default(),
                arguments: call.remove("arguments").unwrap_or_default(),
            });
        }
        if !m.other.is_empty() {
            parts.push(Part::Unknown(Json::Object(m.other)));
        }
        into.push(Message {
            role,
            parts,
            output,
        });
    }
}

/// `tool_calls.3.rest` with `marker = "tool_calls."` → `(3, "rest")`.
fn indexed<'a>(field: &'a str, marker: &str) -> Option<(usize, &'a str)> {
    let (index, rest) = field.strip_prefix(marker)?.split_once('.')?;
    Some((index.parse().ok()?, rest))
}

pub(super) fn openinference(span: &Span) -> Transcript {
    let mut t = Transcript::new(OPENINFERENCE);
    flat_messages(span, "llm.input_messages.", false, &mut t.messages);
    flat_messages(span, "llm.output_messages.", true, &mut t.messages);
    let mut tools: BTreeMap<usize, Json> = BTreeMap::new();
    for kv in span.attributes.iter() {
        if let Some((n, "tool.json_schema")) =
            kv.key.strip_prefix("llm.tools.").and_then(indexed_root)
        {
            let text = kv.value.to_string();
            tools.insert(n, serde_json::from_str(&text).unwrap_or(Json::String(text)));
        }
    }
    t.tools = tools.into_values().collect();
    t
}

/// `3.rest` → `(3, "rest")`.
fn indexed_root(key: &str) -> Option<(usize, &str)> {
    let (index, rest) = key.split_once('.')?;
    Some((index.parse().ok()?, rest))
}

pub(super) fn openllmetry(span: &Span) -> Transcript {
    let mut t = Transcript::new(OPENLLMETRY);
    flat_messages(span, "gen_ai.prompt.", false, &mut t.messages);
    flat_messages(span, "gen_ai.completion.", true, &mut t.messages);
    let mut tools: BTreeMap<usize, Map<String, Json>> = BTreeMap::new();
    for kv in span.attributes.iter() {
        let Some((n, field)) = kv
            .key
            .strip_prefix("llm.request.functions.")
            .and_then(indexed_root)
        else {
            continue;
        };
        let value = match &kv.value {
            Value::Str(s) if field == "parameters" => {
                serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_string()))
            }
            other => other.to_json(),
        };
        tools.entry(n).or_default().insert(field.to_owned(), value);
    }
    t.tools = tools.into_values().map(Json::Object).collect();
    t
}
