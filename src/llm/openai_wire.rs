//! The OpenAI chat-completions wire format, as far as agents and SDKs use it: requests in,
//! responses and streamed chunks out (for the scripted model's server), converted to and from
//! [`super::chat`] types. Unknown fields are ignored: SDKs send many we do not need.

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::chat::{ChatRequest, ChatResponse, Message, Role, ToolCall, ToolSpec};

/// A request body.
#[derive(Debug, Deserialize)]
pub(crate) struct WireRequest {
    /// Model name.
    #[serde(default)]
    pub model: String,
    /// The conversation.
    pub messages: Vec<WireMessage>,
    /// Tools.
    #[serde(default)]
    pub tools: Vec<WireTool>,
    /// Sampling temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// Server-sent events instead of one JSON body.
    #[serde(default)]
    pub stream: bool,
    /// `{"include_usage": true}` adds a usage chunk at the end of a stream.
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
}

/// `stream_options`.
#[derive(Debug, Deserialize)]
pub(crate) struct StreamOptions {
    /// Send a final chunk with usage.
    #[serde(default)]
    pub include_usage: bool,
}

/// A message.
#[derive(Debug, Deserialize)]
pub(crate) struct WireMessage {
    /// `system`, `developer`, `user`, `assistant` or `tool`.
    pub role: String,
    /// A string, an array of content parts, or null.
    #[serde(default)]
    pub content: Json,
    /// Assistant tool calls.
    #[serde(default)]
    pub tool_calls: Vec<WireToolCall>,
    /// The call a tool message answers.
    #[serde(default)]
    pub tool_call_id: Option<String>,
}

/// A tool call in a message.
#[derive(Debug, Deserialize)]
pub(crate) struct WireToolCall {
    /// Call id.
    #[serde(default)]
    pub id: String,
    /// The function.
    pub function: WireFunction,
}

/// A function call.
#[derive(Debug, Deserialize)]
pub(crate) struct WireFunction {
    /// Name.
    pub name: String,
    /// Arguments as JSON text.
    #[serde(default)]
    pub arguments: String,
}

/// A tool offered.
#[derive(Debug, Deserialize)]
pub(crate) struct WireTool {
    /// The function.
    pub function: WireToolFunction,
}

/// A function offered.
#[derive(Debug, Deserialize)]
pub(crate) struct WireToolFunction {
    /// Name.
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// JSON schema.
    #[serde(default)]
    pub parameters: Json,
}

/// Why a request body is not a chat request we can serve.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct WireError(pub String);

impl WireRequest {
    /// Converts to the shared chat types.
    pub(crate) fn into_chat(self) -> Result<ChatRequest, WireError> {
        let messages = self
            .messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let role = match m.role.as_str() {
                    "system" | "developer" => Role::System,
                    "user" => Role::User,
                    "assistant" => Role::Assistant,
                    "tool" => Role::Tool,
                    other => {
                        return Err(WireError(format!(
                            "messages[{i}].role: unknown role `{other}`"
                        )));
                    }
                };
                Ok(Message {
                    role,
                    content: content_text(&m.content),
                    tool_calls: m
                        .tool_calls
                        .into_iter()
                        .map(|c| ToolCall {
                            id: c.id,
                            name: c.function.name,
                            arguments: c.function.arguments,
                        })
                        .collect(),
                    tool_call_id: m.tool_call_id,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ChatRequest {
            model: self.model,
            messages,
            tools: self
                .tools
                .into_iter()
                .map(|t| ToolSpec {
                    name: t.function.name,
                    description: t.function.description,
                    parameters: t.function.parameters,
                })
                .collect(),
            temperature: self.temperature,
        })
    }
}

/// The text of a `content` field: a string, or the `text` of every text part joined.
fn content_text(content: &Json) -> Option<String> {
    match content {
        Json::String(s) => Some(s.clone()),
        Json::Array(parts) => Some(
            parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Json::as_str))
                .collect::<Vec<_>>()
                .join(""),
        ),
        _ => None,
    }
}

/// Tool calls in the OpenAI wire shape (`{id, type: "function", function: {name, arguments}}`),
/// as both the scripted server's responses and the openai provider's requests carry them.
pub(crate) fn tool_calls_json(calls: &[ToolCall]) -> Json {
    calls
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            })
        })
        .collect()
}

fn usage_json(r: &ChatResponse) -> Json {
    json!({
        "prompt_tokens": r.usage.input_tokens,
        "completion_tokens": r.usage.output_tokens,
        "total_tokens": r.usage.input_tokens + r.usage.output_tokens,
        "prompt_tokens_details": {"cached_tokens": r.usage.cache_read_tokens},
    })
}

/// A non-streamed response body.
pub(crate) fn response_json(r: &ChatResponse, created: u64) -> Json {
    let mut message = json!({"role": "assistant", "content": r.message.content});
    if !r.message.tool_calls.is_empty() {
        message["tool_calls"] = tool_calls_json(&r.message.tool_calls);
    }
    json!({
        "id": r.id,
        "object": "chat.completion",
        "created": created,
        "model": r.model,
        "choices": [{
            "index": 0,
            "message": message,
            "finish_reason": r.finish_reason.as_str(),
            "logprobs": null,
        }],
        "usage": usage_json(r),
    })
}

/// The chunks of a streamed response, in order, without the final `[DONE]`.
pub(crate) fn stream_chunks(r: &ChatResponse, created: u64, include_usage: bool) -> Vec<Json> {
    let chunk = |delta: Json, finish: Option<&str>| {
        json!({
            "id": r.id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": r.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": null}],
        })
    };
    let mut chunks = vec![chunk(json!({"role": "assistant", "content": ""}), None)];
    if let Some(text) = &r.message.content {
        // A few pieces, as a real stream arrives: clients must concatenate.
        for piece in split_pieces(text, 3) {
            chunks.push(chunk(json!({"content": piece}), None));
        }
    }
    for (index, call) in r.message.tool_calls.iter().enumerate() {
        chunks.push(chunk(
            json!({"tool_calls": [{
                "index": index,
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": ""},
            }]}),
            None,
        ));
        for piece in split_pieces(&call.arguments, 2) {
            chunks.push(chunk(
                json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}),
                None,
            ));
        }
    }
    chunks.push(chunk(json!({}), Some(r.finish_reason.as_str())));
    if include_usage {
        chunks.push(json!({
            "id": r.id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": r.model,
            "choices": [],
            "usage": usage_json(r),
        }));
    }
    chunks
}

/// Splits text into at most `n` pieces on character boundaries.
fn split_pieces(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return Vec::new();
    }
    let size = chars.len().div_ceil(n.max(1));
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// An error body as OpenAI sends it.
pub(crate) fn error_json(message: &str, kind: &str, code: Option<&str>) -> Json {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::chat::{FinishReason, TokenUsage};

    #[test]
    fn requests_with_content_parts_tool_calls_and_unknown_fields_convert() {
        let body = json!({
            "model": "m", "n": 1, "parallel_tool_calls": true,
            "messages": [
                {"role": "developer", "content": "be brief"},
                {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "r"}
            ],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
        });
        let req: WireRequest = serde_json::from_value(body).unwrap();
        let chat = req.into_chat().unwrap();
        assert_eq!(chat.messages[0].role, Role::System);
        assert_eq!(chat.last_user(), Some("ab"));
        assert_eq!(chat.turn(), 1);
        assert_eq!(chat.last_tool_result(), Some("r"));
        assert_eq!(chat.tools[0].name, "f");
    }

    #[test]
    fn unknown_roles_are_rejected_with_their_index() {
        let req: WireRequest =
            serde_json::from_value(json!({"messages": [{"role": "robot", "content": "x"}]}))
                .unwrap();
        assert_eq!(
            req.into_chat().unwrap_err().to_string(),
            "messages[0].role: unknown role `robot`"
        );
    }

    #[test]
    fn streamed_chunks_reassemble_into_the_response() {
        let r = ChatResponse {
            id: "x".into(),
            model: "m".into(),
            message: Message {
                role: Role::Assistant,
                content: Some("héllo wörld".into()),
                tool_calls: vec![ToolCall {
                    id: "c".into(),
                    name: "f".into(),
                    arguments: r#"{"a":1}"#.into(),
                }],
                tool_call_id: None,
            },
            finish_reason: FinishReason::ToolCalls,
            usage: TokenUsage {
                input_tokens: 3,
                output_tokens: 2,
                cache_read_tokens: 0,
            },
        };
        let chunks = stream_chunks(&r, 0, true);
        let text: String = chunks
            .iter()
            .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
            .collect();
        let args: String = chunks
            .iter()
            .filter_map(|c| {
                c["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"].as_str()
            })
            .collect();
        assert_eq!(
            (text.as_str(), args.as_str()),
            ("héllo wörld", r#"{"a":1}"#)
        );
        assert_eq!(
            chunks[chunks.len() - 2]["choices"][0]["finish_reason"],
            "tool_calls"
        );
        assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 5);
    }
}
