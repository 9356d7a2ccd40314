//! Anthropic's Messages API as a [`ChatProvider`]: one [`ChatProvider::chat`] call is one
//! `POST {base_url}/messages` (non-streaming) with `x-api-key` and
//! `anthropic-version: 2023-06-01`; retries are the caller's (see [`super::retry`]).
//!
//! Mapping, request side: system messages are joined (blank-line separated) into the
//! top-level `system` field, wherever they stand. A user message is a `text` block; an
//! assistant message is its `text` block (when non-empty) followed by one `tool_use` block per
//! call, whose `input` is the call's arguments parsed as a JSON object (arguments that are not
//! an object are sent as `{}`: the API accepts nothing else). A tool result is a `tool_result`
//! block in a user message; consecutive messages that land on the same role (a run of tool
//! results, or tool results and the user's next words) are merged into one message, as the API
//! wants roles to alternate. Empty text blocks are left out (the API refuses them). Tools
//! become `{name, description, input_schema}`; `max_tokens`, required by the API, comes from
//! the configuration (default 1024). The model is the request's, or the configured one when
//! the request names none.
//!
//! Response side: `text` blocks are concatenated into the content, `tool_use` blocks become
//! tool calls (the `input` object serialized as the arguments), other blocks (`thinking`...)
//! are skipped. Stop reasons: `end_turn`, `stop_sequence`, `pause_turn` → `stop`; `tool_use` →
//! `tool_calls`; `max_tokens`, `model_context_window_exceeded` → `length`; `refusal` →
//! `content_filter`; absent or unknown → `tool_calls` when there are calls, else `stop`.
//!
//! Usage: Anthropic's `input_tokens` counts only the uncached part of the prompt, whereas
//! [`TokenUsage::input_tokens`] counts the whole prompt, as OpenTelemetry's GenAI conventions
//! (and OpenAI's `prompt_tokens`) do. So `input_tokens` here is
//! `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`, and
//! `cache_read_tokens` is `cache_read_input_tokens`.

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use super::chat::{
    ChatError, ChatRequest, ChatResponse, FinishReason, Message, Role, TokenUsage, ToolCall,
};
use super::http::{ApiKey, Endpoint, ProviderError, RedactedHeaders, header, key_from, url_from};
use super::openai::{model_of, parameters};
use super::provider::{ChatFuture, ChatProvider};

/// The default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com/v1";

/// The variable the key is read from when no other is named.
pub(crate) const DEFAULT_API_KEY_ENV: &str = "ANTHROPIC_API_KEY";

/// The variable the base URL is read from when the suite gives none, as the Anthropic SDKs
/// do. Like theirs, its value has no version (`https://api.anthropic.com`): `/v1` is appended
/// unless it already ends with it.
pub(crate) const BASE_URL_ENV: &str = "ANTHROPIC_BASE_URL";

/// The `anthropic-version` header sent (an extra header can override it).
pub(crate) const API_VERSION: &str = "2023-06-01";

/// The default `max_tokens`.
pub(crate) const DEFAULT_MAX_TOKENS: u32 = 1024;

/// The default request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach the Messages API.
#[derive(Clone)]
pub(crate) struct AnthropicConfig {
    /// Up to and including the version, e.g. `https://api.anthropic.com/v1` (the default);
    /// `/messages` is appended.
    pub base_url: String,
    /// Sent as `x-api-key` when present.
    pub api_key: Option<ApiKey>,
    /// More headers (e.g. `anthropic-beta`), sent last (so they can override the others).
    /// Their values are treated as secrets: never printed.
    pub extra_headers: Vec<(String, String)>,
    /// The whole request, from connecting to the last byte of the answer (default 60 s).
    pub timeout: Duration,
    /// The model used when a request names none.
    pub model: String,
    /// `max_tokens` of every request (default 1024).
    pub max_tokens: u32,
}

impl AnthropicConfig {
    /// Defaults for `model`: the Anthropic API, no key, a 60 s timeout, 1024 max tokens.
    pub(crate) fn new(model: impl Into<String>) -> AnthropicConfig {
        AnthropicConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            extra_headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            model: model.into(),
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }

    /// Defaults for `model` with the key from the variable `api_key_env` (default
    /// `ANTHROPIC_API_KEY`) and the base URL from, in order, `base_url` (a suite's `base-url`,
    /// version included), the variable [`BASE_URL_ENV`] when set and not empty (version
    /// appended, see there), and [`DEFAULT_BASE_URL`]. An unset or empty key variable is
    /// [`ProviderError::MissingKey`] naming it.
    pub(crate) fn from_env(
        api_key_env: Option<&str>,
        base_url: Option<&str>,
        model: impl Into<String>,
    ) -> Result<AnthropicConfig, ProviderError> {
        AnthropicConfig::from_env_with(api_key_env, base_url, model, |v| std::env::var_os(v))
    }

    /// [`AnthropicConfig::from_env`] reading variables through `lookup`.
    pub(crate) fn from_env_with(
        api_key_env: Option<&str>,
        base_url: Option<&str>,
        model: impl Into<String>,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<AnthropicConfig, ProviderError> {
        let key = key_from(api_key_env.unwrap_or(DEFAULT_API_KEY_ENV), &lookup)?;
        let mut config = AnthropicConfig::new(model);
        config.api_key = Some(key);
        if let Some(url) = base_url {
            config.base_url = url.to_owned();
        } else if let Some(url) = url_from(BASE_URL_ENV, &lookup) {
            let url = url.trim_end_matches('/');
            config.base_url = if url.ends_with("/v1") {
                url.to_owned()
            } else {
                format!("{url}/v1")
            };
        }
        Ok(config)
    }
}

impl Default for AnthropicConfig {
    fn default() -> AnthropicConfig {
        AnthropicConfig::new("")
    }
}

impl fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("extra_headers", &RedactedHeaders(&self.extra_headers))
            .field("timeout", &self.timeout)
            .field("model", &self.model)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

/// Anthropic's Messages API.
pub(crate) struct AnthropicProvider {
    config: AnthropicConfig,
    endpoint: Endpoint,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider")
            .field("url", &super::http::display_url(self.endpoint.url()))
            .field("config", &self.config)
            .finish()
    }
}

impl AnthropicProvider {
    /// A provider for `config`. Fails on a base URL that is not http(s), or a header (the
    /// key, an extra header) that cannot be sent.
    pub(crate) fn new(config: AnthropicConfig) -> Result<AnthropicProvider, ProviderError> {
        let mut headers = vec![header("anthropic-version", API_VERSION, false)?];
        if let Some(key) = &config.api_key {
            headers.push(header("x-api-key", key.expose(), true)?);
        }
        for (name, value) in &config.extra_headers {
            headers.push(header(name, value, true)?);
        }
        let endpoint = Endpoint::new(
            &config.base_url,
            "messages",
            headers,
            config.timeout,
            config.api_key.clone(),
        )?;
        Ok(AnthropicProvider { config, endpoint })
    }

    /// The configuration.
    #[cfg(test)]
    pub(crate) fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        let model = model_of(request, &self.config.model);
        let body = request_json(request, model, self.config.max_tokens);
        self.endpoint
            .post(&body, |message: MessageResponse| {
                Ok(message.into_chat(model))
            })
            .await
    }
}

impl ChatProvider for AnthropicProvider {
    fn model_name(&self) -> Option<&str> {
        Some(&self.config.model)
    }

    fn provider_name(&self) -> &str {
        "anthropic"
    }

    fn base_url(&self) -> Option<&str> {
        Some(self.endpoint.base_url())
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, _identity: &'a str) -> ChatFuture<'a> {
        Box::pin(self.call(request))
    }
}

/// The Messages API request body.
fn request_json(request: &ChatRequest, model: &str, max_tokens: u32) -> Json {
    let mut system: Vec<&str> = Vec::new();
    let mut messages: Vec<(&'static str, Vec<Json>)> = Vec::new();
    let text = |m: &Message| {
        m.content
            .as_deref()
            .filter(|t| !t.is_empty())
            .map(|t| json!({"type": "text", "text": t}))
    };
    for m in &request.messages {
        let (role, blocks): (&'static str, Vec<Json>) = match m.role {
            Role::System => {
                system.extend(m.content.as_deref().filter(|t| !t.is_empty()));
                continue;
            }
            Role::User => ("user", text(m).into_iter().collect()),
            Role::Assistant => (
                "assistant",
                text(m)
                    .into_iter()
                    .chain(m.tool_calls.iter().map(|c| {
                        json!({
                            "type": "tool_use",
                            "id": c.id,
                            "name": c.name,
                            "input": tool_input(&c.arguments),
                        })
                    }))
                    .collect(),
            ),
            Role::Tool => (
                "user",
                vec![json!({
                    "type": "tool_result",
                    "tool_use_id": m.tool_call_id.as_deref().unwrap_or(""),
                    "content": m.content.as_deref().unwrap_or(""),
                })],
            ),
        };
        if blocks.is_empty() {
            continue;
        }
        match messages.last_mut() {
            Some((last, content)) if *last == role => content.extend(blocks),
            _ => messages.push((role, blocks)),
        }
    }
    let messages: Vec<Json> = messages
        .into_iter()
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    let mut body = json!({"model": model, "max_tokens": max_tokens, "messages": messages});
    if !system.is_empty() {
        body["system"] = json!(system.join("\n\n"));
    }
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                let mut tool = json!({"name": t.name, "input_schema": parameters(&t.parameters)});
                if let Some(d) = &t.description {
                    tool["description"] = json!(d);
                }
                tool
            })
            .collect();
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// A `tool_use` block's `input`: the arguments when they are a JSON object, else `{}`.
fn tool_input(arguments: &str) -> Json {
    match serde_json::from_str::<Json>(arguments) {
        Ok(object @ Json::Object(_)) => object,
        _ => Json::Object(Map::new()),
    }
}

/// A Messages API response body, as far as we read it.
#[derive(Debug, Deserialize)]
struct MessageResponse {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    content: Vec<Block>,
    #[serde(default)]
    stop_reason: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Json,
    },
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
}

impl MessageResponse {
    fn into_chat(self, requested_model: &str) -> ChatResponse {
        let mut text: Option<String> = None;
        let mut tool_calls = Vec::new();
        for block in self.content {
            match block {
                Block::Text { text: t } => text.get_or_insert_with(String::new).push_str(&t),
                Block::ToolUse { id, name, input } => tool_calls.push(ToolCall {
                    id,
                    name,
                    arguments: if input.is_null() {
                        "{}".to_owned()
                    } else {
                        input.to_string()
                    },
                }),
                Block::Other => {}
            }
        }
        let finish_reason = match self.stop_reason.as_deref() {
            Some("end_turn" | "stop_sequence" | "pause_turn") => FinishReason::Stop,
            Some("tool_use") => FinishReason::ToolCalls,
            Some("max_tokens" | "model_context_window_exceeded") => FinishReason::Length,
            Some("refusal") => FinishReason::ContentFilter,
            _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        };
        let usage = self.usage.map_or_else(TokenUsage::default, |u| {
            let cache_read = u.cache_read_input_tokens.unwrap_or(0);
            TokenUsage {
                input_tokens: u
                    .input_tokens
                    .unwrap_or(0)
                    .saturating_add(cache_read)
                    .saturating_add(u.cache_creation_input_tokens.unwrap_or(0)),
                output_tokens: u.output_tokens.unwrap_or(0),
                cache_read_tokens: cache_read,
            }
        });
        ChatResponse {
            id: self.id.unwrap_or_default(),
            model: self
                .model
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| requested_model.to_owned()),
            message: Message {
                role: Role::Assistant,
                content: text,
                tool_calls,
                tool_call_id: None,
            },
            finish_reason,
            usage,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::chat::ToolSpec;

    fn parse(body: Json) -> ChatResponse {
        serde_json::from_value::<MessageResponse>(body)
            .unwrap()
            .into_chat("asked")
    }

    fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
        ToolCall {
            id: id.into(),
            name: name.into(),
            arguments: arguments.into(),
        }
    }

    #[test]
    fn requests_lift_system_merge_tool_results_and_use_blocks() {
        let request = ChatRequest {
            model: "claude-x".into(),
            messages: vec![
                Message::text(Role::System, "be brief"),
                Message::text(Role::User, "weather in Paris and Oslo?"),
                Message {
                    role: Role::Assistant,
                    content: Some("Checking.".into()),
                    tool_calls: vec![
                        call("toolu_1", "get_weather", r#"{"city":"Paris"}"#),
                        call("toolu_2", "get_weather", r#"{"city":"Oslo""#),
                    ],
                    tool_call_id: None,
                },
                Message::tool_result("toolu_1", "sunny"),
                Message::tool_result("toolu_2", "snow"),
                Message::text(Role::User, "thanks"),
                Message::text(Role::System, "answer in French"),
                Message {
                    role: Role::Assistant,
                    content: Some(String::new()),
                    tool_calls: Vec::new(),
                    tool_call_id: None,
                },
            ],
            tools: vec![ToolSpec {
                name: "get_weather".into(),
                description: Some("Weather".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            }],
            temperature: Some(0.0),
        };
        let body = request_json(&request, model_of(&request, "default"), 512);
        assert_eq!(
            body,
            json!({
                "model": "claude-x",
                "max_tokens": 512,
                "system": "be brief\n\nanswer in French",
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "weather in Paris and Oslo?"}]},
                    {"role": "assistant", "content": [
                        {"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
                        {"type": "tool_result", "tool_use_id": "toolu_2", "content": "snow"},
                        {"type": "text", "text": "thanks"},
                    ]},
                ],
                "tools": [{"name": "get_weather", "description": "Weather",
                           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
                "temperature": 0.0,
            })
        );
        let bare = ChatRequest::default();
        assert_eq!(
            request_json(&bare, model_of(&bare, "default"), DEFAULT_MAX_TOKENS),
            json!({"model": "default", "max_tokens": 1024, "messages": []})
        );
    }

    #[test]
    fn stop_reasons_map_and_default_from_the_calls() {
        let cases = [
            (json!("end_turn"), false, FinishReason::Stop),
            (json!("stop_sequence"), false, FinishReason::Stop),
            (json!("pause_turn"), false, FinishReason::Stop),
            (json!("tool_use"), true, FinishReason::ToolCalls),
            (json!("max_tokens"), false, FinishReason::Length),
            (
                json!("model_context_window_exceeded"),
                false,
                FinishReason::Length,
            ),
            (json!("refusal"), false, FinishReason::ContentFilter),
            (json!(null), true, FinishReason::ToolCalls),
            (json!("something_new"), false, FinishReason::Stop),
        ];
        for (reason, calls, want) in cases {
            let mut content = vec![json!({"type": "text", "text": "x"})];
            if calls {
                content.push(json!({"type": "tool_use", "id": "t", "name": "f", "input": {}}));
            }
            let r = parse(json!({"content": content, "stop_reason": reason}));
            assert_eq!(r.finish_reason, want, "{reason}");
        }
    }

    #[test]
    fn text_blocks_join_other_blocks_are_skipped_and_usage_includes_the_cache() {
        let r = parse(json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-y",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "It is "},
                {"type": "text", "text": "sunny."},
            ],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 10, "cache_creation_input_tokens": 5,
                      "cache_read_input_tokens": 100, "output_tokens": 7},
        }));
        assert_eq!(r.message.content.as_deref(), Some("It is sunny."));
        assert_eq!(
            r.usage,
            TokenUsage {
                input_tokens: 115,
                output_tokens: 7,
                cache_read_tokens: 100
            }
        );
        assert_eq!((r.id.as_str(), r.model.as_str()), ("msg_1", "claude-y"));
        let bare = parse(json!({"content": []}));
        assert_eq!(bare.message.content, None);
        assert_eq!(bare.usage, TokenUsage::default());
        assert_eq!(bare.model, "asked");
    }

    #[test]
    fn a_body_without_content_is_not_a_message() {
        assert!(serde_json::from_value::<MessageResponse>(json!({"id": "x"})).is_err());
    }

    #[test]
    fn debug_shows_no_key() {
        let mut config = AnthropicConfig::new("m");
        config.api_key = Some(ApiKey::new("sk-ant-secret-0123456789"));
        let provider = AnthropicProvider::new(config).unwrap();
        let shown = format!("{provider:?}");
        assert!(!shown.contains("sk-ant"), "{shown}");
        assert!(
            shown.contains("https://api.anthropic.com/v1/messages"),
            "{shown}"
        );
    }

    #[test]
    fn the_base_url_is_the_suites_else_anthropic_base_url_with_v1_else_the_default() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |v: &str| {
                vars.iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, val)| OsString::from(val))
            }
        };
        const KEY: (&str, &str) = ("ANTHROPIC_API_KEY", "sk-ant-0123456789");
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Option<&str>, Vars, &str)] = &[
            (None, &[KEY], DEFAULT_BASE_URL),
            // The SDKs' variable has no version: it is appended, once.
            (
                None,
                &[KEY, ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")],
                "http://127.0.0.1:9/v1",
            ),
            (
                None,
                &[KEY, ("ANTHROPIC_BASE_URL", "http://127.0.0.1:9/")],
                "http://127.0.0.1:9/v1",
            ),
            (
                None,
                &[KEY, ("ANTHROPIC_BASE_URL", "http://h/proxy/v1/")],
                "http://h/proxy/v1",
            ),
            (None, &[KEY, ("ANTHROPIC_BASE_URL", " ")], DEFAULT_BASE_URL),
            (
                Some("http://suite/v1"),
                &[KEY, ("ANTHROPIC_BASE_URL", "http://env")],
                "http://suite/v1",
            ),
        ];
        for (suite, vars, want) in cases {
            let config = AnthropicConfig::from_env_with(None, *suite, "m", env(vars)).unwrap();
            assert_eq!(config.base_url, *want, "{suite:?} {vars:?}");
        }
        let provider = AnthropicProvider::new(AnthropicConfig::new("m")).unwrap();
        assert_eq!(provider.base_url(), Some(DEFAULT_BASE_URL));
    }
}
