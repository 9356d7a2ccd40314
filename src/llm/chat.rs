//! The chat vocabulary shared by providers, the scripted model and the builtin agent: a request
//! (messages and tools), a response (one assistant message, finish reason, usage) and the
//! errors a call can end in. Wire formats (OpenAI, Anthropic) convert to and from these.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    /// Instructions.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// A tool's result.
    Tool,
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ToolCall {
    /// The call id the tool result must quote.
    pub id: String,
    /// The tool.
    pub name: String,
    /// The arguments as the model wrote them: JSON text, not necessarily valid.
    pub arguments: String,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Message {
    /// Who wrote it.
    pub role: Role,
    /// Its text (absent on an assistant message that only calls tools).
    pub content: Option<String>,
    /// Tool calls (assistant messages only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The call this message answers (tool messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message with text only.
    pub(crate) fn text(role: Role, content: impl Into<String>) -> Message {
        Message {
            role,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }

    /// A tool result.
    pub(crate) fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: Role::Tool,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
}

/// A tool the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ToolSpec {
    /// Its name.
    pub name: String,
    /// What it does.
    pub description: Option<String>,
    /// JSON schema of its arguments.
    pub parameters: Json,
}

/// One chat-completion request.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct ChatRequest {
    /// The model asked for.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools offered.
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature.
    pub temperature: Option<f64>,
}

impl ChatRequest {
    /// The turn: how many assistant messages the conversation already has (0 on the first call).
    pub(crate) fn turn(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.role == Role::Assistant)
            .count()
    }

    /// The text of the last user message.
    pub(crate) fn last_user(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .and_then(|m| m.content.as_deref())
    }

    /// The text of the last tool result, when the last message is one (or a run of them ends
    /// the conversation).
    pub(crate) fn last_tool_result(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .take_while(|m| m.role == Role::Tool)
            .next()
            .and_then(|m| m.content.as_deref())
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FinishReason {
    /// A final answer.
    Stop,
    /// It asked for tools.
    ToolCalls,
    /// It hit the token limit.
    Length,
    /// It was filtered.
    ContentFilter,
}

impl FinishReason {
    /// The OpenAI spelling (`stop`, `tool_calls`...).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
        }
    }
}

/// Token counts of one call. `input_tokens` includes cached tokens, as in OTel GenAI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct TokenUsage {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens served from the cache.
    pub cache_read_tokens: u64,
}

/// A successful call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChatResponse {
    /// Response id.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// The assistant message.
    pub message: Message,
    /// Why it stopped.
    pub finish_reason: FinishReason,
    /// Tokens.
    pub usage: TokenUsage,
}

/// A failed call, typed so retries and error spans can tell kinds apart.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub(crate) enum ChatError {
    /// The server answered with an error status.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// `Retry-After`, when given.
        retry_after: Option<Duration>,
        /// The error message from the body.
        message: String,
    },
    /// No answer within the request timeout.
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    /// The connection failed.
    #[error("network error: {0}")]
    Network(String),
    /// The answer could not be understood.
    #[error("malformed response: {0}")]
    Malformed(String),
}

impl ChatError {
    /// The `error.type` attribute value for this error.
    pub(crate) fn error_type(&self) -> String {
        match self {
            ChatError::Http { status, .. } => status.to_string(),
            ChatError::Timeout(_) => "timeout".to_owned(),
            ChatError::Network(_) => "network".to_owned(),
            ChatError::Malformed(_) => "malformed_response".to_owned(),
        }
    }

    /// Why the API itself is failing, when it is and not the request: `unreachable` (a
    /// connection, DNS or TLS failure), `timed out`, `authentication refused` (401, 403),
    /// `rate-limited` (429) or `server error` (408, 5xx). `None` for an error the request
    /// causes (400, 404, 422...) or an answer that cannot be read.
    pub(crate) fn outage(&self) -> Option<&'static str> {
        match self {
            ChatError::Http { status, .. } => match status {
                401 | 403 => Some("authentication refused"),
                429 => Some("rate-limited"),
                408 | 500..=599 => Some("server error"),
                _ => None,
            },
            ChatError::Timeout(_) => Some("timed out"),
            ChatError::Network(_) => Some("unreachable"),
            ChatError::Malformed(_) => None,
        }
    }

    /// True for errors worth retrying: 408, 409, 429, 5xx, timeouts and network failures.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            ChatError::Http { status, .. } => matches!(status, 408 | 409 | 429 | 500..=599),
            ChatError::Timeout(_) | ChatError::Network(_) => true,
            ChatError::Malformed(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_the_apis_failures_not_the_requests() {
        let http = |status| ChatError::Http {
            status,
            retry_after: None,
            message: String::new(),
        };
        let cases = [
            (http(401), Some("authentication refused")),
            (http(403), Some("authentication refused")),
            (http(429), Some("rate-limited")),
            (http(500), Some("server error")),
            (http(503), Some("server error")),
            (http(529), Some("server error")),
            (http(400), None),
            (http(404), None),
            (http(422), None),
            (ChatError::Network("refused".into()), Some("unreachable")),
            (
                ChatError::Timeout(Duration::from_secs(1)),
                Some("timed out"),
            ),
            (ChatError::Malformed("x".into()), None),
        ];
        for (error, want) in cases {
            assert_eq!(error.outage(), want, "{error:?}");
        }
    }
}
