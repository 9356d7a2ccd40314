//! An LLM span's conversation as a transcript, whatever convention recorded it.
//!
//! Conventions, tried in this order; the first that records messages on the span wins:
//! - OTel GenAI, current: `gen_ai.input.messages`, `gen_ai.output.messages` (JSON messages of
//!   typed parts), `gen_ai.system_instructions`, `gen_ai.tool.definitions`;
//! - OpenInference: `llm.input_messages.N.message.*`, `llm.output_messages.N.message.*`,
//!   `llm.tools.N.tool.json_schema`;
//! - OpenLLMetry / Traceloop, flattened: `gen_ai.prompt.N.*`, `gen_ai.completion.N.*`,
//!   `llm.request.functions.N.*`;
//! - OTel GenAI, older: `gen_ai.prompt` and `gen_ai.completion` as JSON, or span events
//!   (`gen_ai.system.message`, `gen_ai.user.message`, `gen_ai.assistant.message`,
//!   `gen_ai.tool.message`, `gen_ai.choice`);
//! - the Vercel AI SDK: `ai.prompt.messages` (or `ai.prompt`), `ai.response.text`,
//!   `ai.response.toolCalls`, `ai.prompt.tools`;
//! - pydantic-ai / logfire: `pydantic_ai.all_messages` (GenAI parts), `all_messages_events` and
//!   `events` (event-shaped messages).
//!
//! Nothing is dropped and nothing panics: a part of a type not known here is kept as JSON, and
//! a value that is not the JSON it should be is kept as text.

use serde_json::{Map, Value as Json};

use crate::trace::span::{Span, Value};
use flat::{openinference, openllmetry};

mod flat;

/// A conversation as one span recorded it: what the model was sent and what it answered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transcript {
    /// System instructions recorded apart from the messages (`gen_ai.system_instructions`,
    /// the Vercel AI SDK's `system`); system messages stay in [`Transcript::messages`].
    pub system: Vec<String>,
    /// The input messages in order, then the output messages.
    pub messages: Vec<Message>,
    /// Tool definitions offered to the model, as recorded (JSON, or a string when not JSON).
    pub tools: Vec<Json>,
    /// The convention read: `otel-genai`, `openinference`, `openllmetry`,
    /// `otel-genai-legacy`, `otel-genai-events`, `vercel-ai` or `pydantic-ai`.
    pub source: &'static str,
}

/// One message of a transcript.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The role as recorded (`system`, `user`, `assistant`, `tool`...), `unknown` when none
    /// was.
    pub role: String,
    /// Its parts, in order.
    pub parts: Vec<Part>,
    /// True for the model's answer (output messages, choices), false for its input.
    pub output: bool,
}

/// One part of a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text; empty when the instrumentation recorded the part but not its content.
    Text(String),
    /// The model's reasoning.
    Reasoning(String),
    /// A tool call the model asked for.
    ToolCall {
        /// The call id, when recorded.
        id: Option<String>,
        /// The tool's name.
        name: String,
        /// The arguments as text (JSON as the model wrote it, or compact JSON).
        arguments: String,
    },
    /// A tool's result sent back to the model.
    ToolResult {
        /// The id of the call it answers, when recorded.
        id: Option<String>,
        /// The result as text (compact JSON when it was not a string).
        content: String,
    },
    /// A blob, file or URI: its modality (`image`, `audio`...) or media type, shown as
    /// `[image attached]`.
    Attached(String),
    /// A part of a type not known here, kept as recorded.
    Unknown(Json),
}

impl Transcript {
    fn new(source: &'static str) -> Transcript {
        Transcript {
            source,
            ..Transcript::default()
        }
    }

    fn is_empty(&self) -> bool {
        self.system.is_empty() && self.messages.is_empty()
    }
}

const OTEL: &str = "otel-genai";
const OPENINFERENCE: &str = "openinference";
const OPENLLMETRY: &str = "openllmetry";
const OTEL_LEGACY: &str = "otel-genai-legacy";
const OTEL_EVENTS: &str = "otel-genai-events";
const VERCEL: &str = "vercel-ai";
const PYDANTIC_AI: &str = "pydantic-ai";

/// The conversation a span records, by the first convention of the module docs that records
/// messages or system instructions on it; `None` when none does.
pub fn transcript(span: &Span) -> Option<Transcript> {
    const READERS: [fn(&Span) -> Transcript; 7] = [
        otel_current,
        openinference,
        openllmetry,
        otel_legacy,
        otel_events,
        vercel,
        pydantic_ai,
    ];
    READERS
        .iter()
        .map(|read| read(span))
        .find(|t| !t.is_empty())
}

/// A JSON attribute: a string parsed (`Err` with the text when it is not JSON), any other
/// value converted.
fn json_attr(span: &Span, key: &str) -> Option<Result<Json, String>> {
    Some(match span.attr(key)? {
        Value::Str(text) => serde_json::from_str(text).map_err(|_| text.to_string()),
        other => Ok(other.to_json()),
    })
}

/// A JSON value as text: a string as is, anything else compact.
fn text_of(json: &Json) -> String {
    match json {
        Json::String(s) => s.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

/// A string field of an object.
fn str_field(obj: &Map<String, Json>, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| obj.get(*k).and_then(Json::as_str))
        .map(str::to_owned)
}

/// Messages from a JSON attribute holding an array of messages; text that is not JSON
/// becomes one message of that text.
fn messages_attr(span: &Span, key: &str, output: bool, into: &mut Vec<Message>) {
    match json_attr(span, key) {
        None => {}
        Some(Ok(json)) => messages_json(json, output, into),
        Some(Err(text)) => into.push(Message {
            role: "unknown".to_owned(),
            parts: vec![Part::Text(text)],
            output,
        }),
    }
}

/// Messages from JSON: an array of messages, one message object, or anything else kept as
/// one message of an unknown part.
fn messages_json(json: Json, output: bool, into: &mut Vec<Message>) {
    match json {
        Json::Array(items) => {
            for item in items {
                messages_json(item, output, into);
            }
        }
        Json::Object(obj) => into.push(message(&obj, output)),
        Json::String(text) => into.push(Message {
            role: "unknown".to_owned(),
            parts: vec![Part::Text(text)],
            output,
        }),
        other => into.push(Message {
            role: "unknown".to_owned(),
            parts: vec![Part::Unknown(other)],
            output,
        }),
    }
}

/// One message object, in any of the shapes the conventions write: GenAI `parts`, OpenAI
/// `content` (a string or content parts) with `tool_calls` and `tool_call_id`, Vercel content
/// parts, an event-shaped `gen_ai.choice` with its `message`.
fn message(obj: &Map<String, Json>, output: bool) -> Message {
    if let Some(Json::Object(inner)) = obj.get("message") {
        let mut m = message(inner, output);
        if m.role == "unknown" {
            m.role = "assistant".to_owned();
        }
        return m;
    }
    let role = str_field(obj, &["role"]).unwrap_or_else(|| "unknown".to_owned());
    let mut parts = Vec::new();
    if let Some(list) = obj.get("parts") {
        parts_json(list, &mut parts);
    }
    let tool_result_id = str_field(obj, &["tool_call_id", "id"]);
    match obj.get("content") {
        None | Some(Json::Null) => {}
        Some(Json::String(text)) if role == "tool" || obj.contains_key("tool_call_id") => {
            parts.push(Part::ToolResult {
                id: tool_result_id,
                content: text.clone(),
            });
        }
        Some(Json::String(text)) => content_parts(text, &mut parts),
        Some(list) => parts_json(list, &mut parts),
    }
    if let Some(Json::Array(calls)) = obj.get("tool_calls") {
        parts.extend(calls.iter().map(part));
    }
    if let Some(Json::Object(call)) = obj.get("function_call") {
        parts.push(tool_call(call));
    }
    Message {
        role,
        parts,
        output,
    }
}

/// Content text, which may itself be a JSON array of content parts (Traceloop writes
/// multimodal content that way).
fn content_parts(text: &str, into: &mut Vec<Part>) {
    if text.starts_with('[')
        && let Ok(Json::Array(items)) = serde_json::from_str::<Json>(text)
        && !items.is_empty()
        && items.iter().all(|i| i.get("type").is_some())
    {
        into.extend(items.iter().map(part));
        return;
    }
    into.push(Part::Text(text.to_owned()));
}

fn parts_json(json: &Json, into: &mut Vec<Part>) {
    match json {
        Json::Array(items) => into.extend(items.iter().map(part)),
        other => into.push(part(other)),
    }
}

/// One part, in the GenAI, OpenAI, Anthropic or Vercel shape.
fn part(json: &Json) -> Part {
    let obj = match json {
        Json::Object(obj) => obj,
        Json::String(text) => return Part::Text(text.clone()),
        other => return Part::Unknown(other.clone()),
    };
    let kind = obj.get("type").and_then(Json::as_str).unwrap_or("");
    match kind {
        "text" | "input_text" | "output_text" => match obj.get("content").or(obj.get("text")) {
            Some(content) => Part::Text(text_of(content)),
            // Content capture off: the part is recorded, its text is not.
            None => Part::Text(String::new()),
        },
        "reasoning" | "thinking" => {
            Part::Reasoning(str_field(obj, &["content", "text", "thinking"]).unwrap_or_default())
        }
        "tool_call" | "tool-call" | "function" | "tool_use" | "function_call" => tool_call(obj),
        "tool_call_response" | "tool-result" | "tool_result" | "function_call_output" => {
            let content = ["response", "result", "output", "content"]
                .iter()
                .find_map(|k| obj.get(*k))
                .map(text_of)
                .unwrap_or_default();
            Part::ToolResult {
                id: str_field(obj, &["id", "toolCallId", "tool_use_id", "call_id"]),
                content,
            }
        }
        "blob" | "file" | "uri" | "image" | "image_url" | "input_image" | "input_audio"
        | "audio" => Part::Attached(
            str_field(obj, &["modality", "mime_type", "mediaType", "mimeType"])
                .unwrap_or_else(|| kind.to_owned()),
        ),
        "" if obj.contains_key("function") => tool_call(obj),
        _ => Part::Unknown(json.clone()),
    }
}

/// A tool call in the GenAI (`name`, `arguments`), OpenAI (`function.name`,
/// `function.arguments`), Anthropic (`input`) or Vercel (`toolName`, `args`) shape.
fn tool_call(obj: &Map<String, Json>) -> Part {
    let function = obj.get("function").and_then(Json::as_object).unwrap_or(obj);
    let name = str_field(function, &["name", "toolName"])
        .or_else(|| str_field(obj, &["name", "toolName"]))
        .unwrap_or_default();
    let arguments = ["arguments", "args", "input"]
        .iter()
        .find_map(|k| function.get(*k).or(obj.get(*k)))
        .map(text_of)
        .unwrap_or_default();
    Part::ToolCall {
        id: str_field(obj, &["id", "toolCallId", "call_id"]),
        name,
        arguments,
    }
}

/// Tool definitions from a JSON attribute: each item of an array, or the one value.
fn tools_attr(span: &Span, key: &str, into: &mut Vec<Json>) {
    match json_attr(span, key) {
        None => {}
        Some(Ok(Json::Array(items))) => {
            for item in items {
                // The Vercel AI SDK records each definition as a JSON string.
                match item {
                    Json::String(text) => {
                        into.push(serde_json::from_str(&text).unwrap_or(text.into()))
                    }
                    other => into.push(other),
                }
            }
        }
        Some(Ok(one)) => into.push(one),
        Some(Err(text)) => into.push(Json::String(text)),
    }
}

/// System instructions from a JSON attribute: the text of each part, or the text as is.
fn system_attr(span: &Span, key: &str, into: &mut Vec<String>) {
    match json_attr(span, key) {
        None => {}
        Some(Ok(Json::Array(items))) => into.extend(items.iter().map(|item| match part(item) {
            Part::Text(text) => text,
            _ => item.to_string(),
        })),
        Some(Ok(one)) => into.push(text_of(&one)),
        Some(Err(text)) => into.push(text),
    }
}

fn otel_current(span: &Span) -> Transcript {
    let mut t = Transcript::new(OTEL);
    system_attr(span, "gen_ai.system_instructions", &mut t.system);
    messages_attr(span, "gen_ai.input.messages", false, &mut t.messages);
    messages_attr(span, "gen_ai.output.messages", true, &mut t.messages);
    tools_attr(span, "gen_ai.tool.definitions", &mut t.tools);
    t
}

fn otel_legacy(span: &Span) -> Transcript {
    let mut t = Transcript::new(OTEL_LEGACY);
    messages_attr(span, "gen_ai.prompt", false, &mut t.messages);
    messages_attr(span, "gen_ai.completion", true, &mut t.messages);
    tools_attr(span, "gen_ai.tool.definitions", &mut t.tools);
    t
}

/// An event's attributes as a JSON object; a string that holds a JSON object or array (a
/// `message` or `tool_calls` written as text) is parsed.
fn event_object(attributes: &crate::trace::span::Attributes) -> Map<String, Json> {
    attributes
        .iter()
        .map(|kv| {
            let value = match &kv.value {
                Value::Str(s) if s.starts_with(['{', '[']) && &*kv.key != "content" => {
                    serde_json::from_str(s).unwrap_or_else(|_| Json::String(s.to_string()))
                }
                other => other.to_json(),
            };
            (kv.key.to_string(), value)
        })
        .collect()
}

/// A message from an event-shaped record: the role from the record or from the event name
/// (`gen_ai.user.message` → `user`), `gen_ai.choice` an output.
fn event_message(name: &str, mut obj: Map<String, Json>) -> Option<Message> {
    let output = name == "gen_ai.choice";
    let role = name
        .strip_prefix("gen_ai.")
        .and_then(|rest| rest.strip_suffix(".message"))
        .map(str::to_owned);
    if role.is_none() && !output {
        return None;
    }
    if let Some(role) = role
        && !obj.contains_key("role")
    {
        obj.insert("role".to_owned(), Json::String(role));
    }
    Some(message(&obj, output))
}

fn otel_events(span: &Span) -> Transcript {
    let mut t = Transcript::new(OTEL_EVENTS);
    for event in &span.events {
        if let Some(m) = event_message(&event.name, event_object(&event.attributes)) {
            t.messages.push(m);
        }
    }
    t
}

fn vercel(span: &Span) -> Transcript {
    let mut t = Transcript::new(VERCEL);
    if span.attr("ai.prompt.messages").is_some() {
        messages_attr(span, "ai.prompt.messages", false, &mut t.messages);
    } else {
        // The outer `ai.generateText` span: `{"system": …, "prompt": …}` or `{"messages": …}`.
        match json_attr(span, "ai.prompt") {
            Some(Ok(Json::Object(prompt))) => {
                if let Some(system) = prompt.get("system").filter(|s| !s.is_null()) {
                    t.system.push(text_of(system));
                }
                if let Some(Json::String(text)) = prompt.get("prompt") {
                    t.messages.push(Message {
                        role: "user".to_owned(),
                        parts: vec![Part::Text(text.clone())],
                        output: false,
                    });
                } else if let Some(messages) = prompt.get("messages") {
                    messages_json(messages.clone(), false, &mut t.messages);
                }
            }
            Some(Ok(other)) => messages_json(other, false, &mut t.messages),
            Some(Err(text)) => t.messages.push(Message {
                role: "user".to_owned(),
                parts: vec![Part::Text(text)],
                output: false,
            }),
            None => {}
        }
    }
    let mut answer = Vec::new();
    if let Some(text) = span.attr_str("ai.response.reasoning") {
        answer.push(Part::Reasoning(text.to_owned()));
    }
    if let Some(text) = span.attr_str("ai.response.text") {
        answer.push(Part::Text(text.to_owned()));
    }
    if let Some(object) = span.attr_str("ai.response.object") {
        answer.push(Part::Text(object.to_owned()));
    }
    match json_attr(span, "ai.response.toolCalls") {
        Some(Ok(Json::Array(calls))) => answer.extend(calls.iter().map(|c| match c {
            Json::Object(obj) => tool_call(obj),
            other => Part::Unknown(other.clone()),
        })),
        Some(Ok(other)) => answer.push(Part::Unknown(other)),
        Some(Err(text)) => answer.push(Part::Text(text)),
        None => {}
    }
    if !answer.is_empty() {
        t.messages.push(Message {
            role: "assistant".to_owned(),
            parts: answer,
            output: true,
        });
    }
    tools_attr(span, "ai.prompt.tools", &mut t.tools);
    t
}

fn pydantic_ai(span: &Span) -> Transcript {
    let mut t = Transcript::new(PYDANTIC_AI);
    messages_attr(span, "pydantic_ai.all_messages", false, &mut t.messages);
    // Older logfire: a JSON array of event-shaped records, each with its `event.name`.
    for key in ["all_messages_events", "events"] {
        let Some(Ok(Json::Array(records))) = json_attr(span, key) else {
            continue;
        };
        for record in records {
            let Json::Object(obj) = record else { continue };
            let name = str_field(&obj, &["event.name"]).unwrap_or_default();
            let name = if name.is_empty() && obj.contains_key("role") {
                "gen_ai.unknown.message".to_owned()
            } else {
                name
            };
            if let Some(m) = event_message(&name, obj) {
                t.messages.push(m);
            }
        }
    }
    for m in &mut t.messages {
        // `all_messages` is the whole conversation; the model's last answer is its output.
        m.output = false;
    }
    if let Some(last) = t.messages.last_mut()
        && last.role == "assistant"
    {
        last.output = true;
    }
    tools_attr(span, "gen_ai.tool.definitions", &mut t.tools);
    t
}

#[cfg(test)]
mod tests;
