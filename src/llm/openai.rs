//! The OpenAI chat-completions API as a [`ChatProvider`], for OpenAI and every compatible
//! server (vLLM, Ollama, llama.cpp server, LiteLLM, OpenRouter, Groq, `traceval serve-model`).
//!
//! One [`ChatProvider::chat`] call is one `POST {base_url}/chat/completions`, non-streaming;
//! retries are the caller's (see [`super::retry`]).
//!
//! Mapping, request side: system messages keep the `system` role; an assistant message's tool
//! calls become `tool_calls` of type `function` (its content is `null` when it has no text);
//! tool results are `tool` messages with their `tool_call_id`; tools are `function` tools;
//! `temperature` is sent when set. The model is the request's, or the configured one when
//! the request names none.
//!
//! Response side: the first choice's `content` (a string, or the text parts of an array; a
//! `refusal` when there is no content), its `tool_calls` (arguments given as a JSON object
//! by some servers are serialized; a missing id becomes `call_<index>`), `finish_reason`
//! (`stop`, `tool_calls`/`function_call`, `length`, `content_filter`; absent or unknown:
//! `tool_calls` when there are calls, else `stop`) and `usage` (`prompt_tokens`,
//! `completion_tokens`, `prompt_tokens_details.cached_tokens` as the cache reads; absent
//! counts are 0). No choices, or a body that is not a completion, is
//! [`ChatError::Malformed`].

use std::ffi::OsString;
use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::chat::{
    ChatError, ChatRequest, ChatResponse, FinishReason, Message, Role, TokenUsage, ToolCall,
};
use super::http::{ApiKey, Endpoint, ProviderError, RedactedHeaders, header, key_from, url_from};
use super::provider::{ChatFuture, ChatProvider};

/// The default `base_url`.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The variable the key is read from when no other is named.
pub(crate) const DEFAULT_API_KEY_ENV: &str = "OPENAI_API_KEY";

/// The variable the base URL is read from when the suite gives none, as the OpenAI SDKs do.
pub(crate) const BASE_URL_ENV: &str = "OPENAI_BASE_URL";

/// The default request timeout.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// How to reach an OpenAI-compatible server.
#[derive(Clone)]
pub(crate) struct OpenAiConfig {
    /// Up to and including the version, e.g. `https://api.openai.com/v1` (the default) or
    /// `http://localhost:11434/v1`; `/chat/completions` is appended.
    pub base_url: String,
    /// Sent as `Authorization: Bearer …` when present.
    pub api_key: Option<ApiKey>,
    /// Sent as `OpenAI-Organization` when present.
    pub organization: Option<String>,
    /// More headers, sent last (so they can override the others). Their values are treated
    /// as secrets: never printed.
    pub extra_headers: Vec<(String, String)>,
    /// The whole request, from connecting to the last byte of the answer (default 60 s).
    pub timeout: Duration,
    /// The model used when a request names none.
    pub model: String,
}

impl OpenAiConfig {
    /// Defaults for `model`: the OpenAI API, no key, a 60 s timeout.
    pub(crate) fn new(model: impl Into<String>) -> OpenAiConfig {
        OpenAiConfig {
            base_url: DEFAULT_BASE_URL.to_owned(),
            api_key: None,
            organization: None,
            extra_headers: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
            model: model.into(),
        }
    }

    /// Defaults for `model` with the key from the variable `api_key_env` (default
    /// `OPENAI_API_KEY`) and the base URL from, in order, `base_url` (a suite's `base-url`),
    /// the variable `OPENAI_BASE_URL` when set and not empty, and [`DEFAULT_BASE_URL`], as the
    /// OpenAI SDKs choose it. An unset or empty key variable is
    /// [`ProviderError::MissingKey`] naming it.
    pub(crate) fn from_env(
        api_key_env: Option<&str>,
        base_url: Option<&str>,
        model: impl Into<String>,
    ) -> Result<OpenAiConfig, ProviderError> {
        OpenAiConfig::from_env_with(api_key_env, base_url, model, |v| std::env::var_os(v))
    }

    /// [`OpenAiConfig::from_env`] reading variables through `lookup`.
    pub(crate) fn from_env_with(
        api_key_env: Option<&str>,
        base_url: Option<&str>,
        model: impl Into<String>,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<OpenAiConfig, ProviderError> {
        let key = key_from(api_key_env.unwrap_or(DEFAULT_API_KEY_ENV), &lookup)?;
        let mut config = OpenAiConfig::new(model);
        config.api_key = Some(key);
        if let Some(url) = base_url {
            config.base_url = url.to_owned();
        } else if let Some(url) = url_from(BASE_URL_ENV, &lookup) {
            config.base_url = url;
        }
        Ok(config)
    }
}

impl Default for OpenAiConfig {
    fn default() -> OpenAiConfig {
        OpenAiConfig::new("")
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("organization", &self.organization)
            .field("extra_headers", &RedactedHeaders(&self.extra_headers))
            .field("timeout", &self.timeout)
            .field("model", &self.model)
            .finish()
    }
}

/// An OpenAI-compatible chat-completions API.
pub(crate) struct OpenAiProvider {
    config: OpenAiConfig,
    endpoint: Endpoint,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider")
            .field("url", &super::http::display_url(self.endpoint.url()))
            .field("config", &self.config)
            .finish()
    }
}

impl OpenAiProvider {
    /// A provider for `config`. Fails on a base URL that is not http(s), or a header (the
    /// key, the organization, an extra header) that cannot be sent.
    pub(crate) fn new(config: OpenAiConfig) -> Result<OpenAiProvider, ProviderError> {
        let mut headers = Vec::new();
        if let Some(key) = &config.api_key {
            headers.push(header(
                "authorization",
                &format!("Bearer {}", key.expose()),
                true,
            )?);
        }
        if let Some(org) = &config.organization {
            headers.push(header("openai-organization", org, false)?);
        }
        for (name, value) in &config.extra_headers {
            headers.push(header(name, value, true)?);
        }
        let endpoint = Endpoint::new(
            &config.base_url,
            "chat/completions",
            headers,
            config.timeout,
            config.api_key.clone(),
        )?;
        Ok(OpenAiProvider { config, endpoint })
    }

    /// [`OpenAiProvider::new`] with [`OpenAiConfig::from_env`].
    #[cfg(test)]
    pub(crate) fn from_env(
        api_key_env: Option<&str>,
        base_url: Option<&str>,
        model: impl Into<String>,
    ) -> Result<OpenAiProvider, ProviderError> {
        OpenAiProvider::new(OpenAiConfig::from_env(api_key_env, base_url, model)?)
    }

    /// The configuration.
    #[cfg(test)]
    pub(crate) fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    async fn call(&self, request: &ChatRequest) -> Result<ChatResponse, ChatError> {
        let model = model_of(request, &self.config.model);
        let body = request_json(request, model);
        self.endpoint
            .post(&body, |completion: Completion| completion.into_chat(model))
            .await
    }
}

impl ChatProvider for OpenAiProvider {
    fn model_name(&self) -> Option<&str> {
        Some(&self.config.model)
    }

    fn provider_name(&self) -> &str {
        "openai"
    }

    fn base_url(&self) -> Option<&str> {
        Some(self.endpoint.base_url())
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, _identity: &'a str) -> ChatFuture<'a> {
        Box::pin(self.call(request))
    }
}

/// The request's model, else the configured one.
pub(crate) fn model_of<'a>(request: &'a ChatRequest, configured: &'a str) -> &'a str {
    if request.model.is_empty() {
        configured
    } else {
        &request.model
    }
}

/// The chat-completions request body.
fn request_json(request: &ChatRequest, model: &str) -> Json {
    let messages: Vec<Json> = request.messages.iter().map(message_json).collect();
    let mut body = json!({"model": model, "messages": messages});
    if !request.tools.is_empty() {
        body["tools"] = request
            .tools
            .iter()
            .map(|t| {
                let mut function = json!({"name": t.name, "parameters": parameters(&t.parameters)});
                if let Some(d) = &t.description {
                    function["description"] = json!(d);
                }
                json!({"type": "function", "function": function})
            })
            .collect();
    }
    if let Some(t) = request.temperature {
        body["temperature"] = json!(t);
    }
    body
}

/// A tool's schema; servers reject a missing one, so `null` becomes an empty object schema.
pub(crate) fn parameters(schema: &Json) -> Json {
    if schema.is_null() {
        json!({"type": "object", "properties": {}})
    } else {
        schema.clone()
    }
}

fn message_json(m: &Message) -> Json {
    match m.role {
        Role::System => json!({"role": "system", "content": m.content.as_deref().unwrap_or("")}),
        Role::User => json!({"role": "user", "content": m.content.as_deref().unwrap_or("")}),
        Role::Assistant => {
            let mut out = json!({"role": "assistant", "content": m.content});
            if !m.tool_calls.is_empty() {
                out["tool_calls"] = super::openai_wire::tool_calls_json(&m.tool_calls);
            }
            out
        }
        Role::Tool => json!({
            "role": "tool",
            "tool_call_id": m.tool_call_id.as_deref().unwrap_or(""),
            "content": m.content.as_deref().unwrap_or(""),
        }),
    }
}

/// A chat-completion response body, as far as we read it.
#[derive(Debug, Deserialize)]
struct Completion {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Json>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<ChoiceMessage>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChoiceMessage {
    #[serde(default)]
    content: Json,
    #[serde(default)]
    refusal: Option<String>,
    #[serde(default)]
    tool_calls: Option<Vec<ChoiceToolCall>>,
}

#[derive(Debug, Deserialize)]
struct ChoiceToolCall {
    #[serde(default)]
    id: Option<String>,
    function: ChoiceFunction,
}

#[derive(Debug, Deserialize)]
struct ChoiceFunction {
    name: String,
    #[serde(default)]
    arguments: Json,
}

#[derive(Debug, Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(Debug, Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl Completion {
    fn into_chat(self, requested_model: &str) -> Result<ChatResponse, ChatError> {
        let Some(choice) = self.choices.and_then(|c| c.into_iter().next()) else {
            let why = self
                .error
                .map(|e| {
                    format!(
                        "; it holds an error: {}",
                        super::http::error_message(
                            json!({"error": e}).to_string().as_bytes(),
                            None,
                        )
                    )
                })
                .unwrap_or_default();
            return Err(ChatError::Malformed(format!(
                "the completion has no choices{why}"
            )));
        };
        let Some(message) = choice.message else {
            return Err(ChatError::Malformed(
                "the first choice has no message".to_owned(),
            ));
        };
        let tool_calls: Vec<ToolCall> = message
            .tool_calls
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, c)| ToolCall {
                id: c
                    .id
                    .filter(|id| !id.is_empty())
                    .unwrap_or_else(|| format!("call_{i}")),
                name: c.function.name,
                arguments: match c.function.arguments {
                    Json::String(s) => s,
                    Json::Null => "{}".to_owned(),
                    other => other.to_string(),
                },
            })
            .collect();
        let content = match message.content {
            Json::String(s) => Some(s),
            Json::Array(parts) => Some(
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Json::as_str))
                    .collect(),
            ),
            _ => None,
        }
        .or(message.refusal);
        let finish_reason = match choice.finish_reason.as_deref() {
            Some("stop") => FinishReason::Stop,
            Some("tool_calls" | "function_call") => FinishReason::ToolCalls,
            Some("length") => FinishReason::Length,
            Some("content_filter") => FinishReason::ContentFilter,
            _ if !tool_calls.is_empty() => FinishReason::ToolCalls,
            _ => FinishReason::Stop,
        };
        let usage = self.usage.map_or_else(TokenUsage::default, |u| TokenUsage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
            cache_read_tokens: u
                .prompt_tokens_details
                .and_then(|d| d.cached_tokens)
                .unwrap_or(0),
        });
        Ok(ChatResponse {
            id: self.id.unwrap_or_default(),
            model: self
                .model
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| requested_model.to_owned()),
            message: Message {
                role: Role::Assistant,
                content,
                tool_calls,
                tool_call_id: None,
            },
            finish_reason,
            usage,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::chat::ToolSpec;

    fn parse(body: Json) -> Result<ChatResponse, ChatError> {
        serde_json::from_value::<Completion>(body)
            .map_err(|e| ChatError::Malformed(e.to_string()))?
            .into_chat("asked")
    }

    #[test]
    fn requests_carry_roles_tool_calls_results_tools_and_temperature() {
        let request = ChatRequest {
            model: String::new(),
            messages: vec![
                Message::text(Role::System, "be brief"),
                Message::text(Role::User, "weather in Paris?"),
                Message {
                    role: Role::Assistant,
                    content: None,
                    tool_calls: vec![ToolCall {
                        id: "call_1".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    }],
                    tool_call_id: None,
                },
                Message::tool_result("call_1", "sunny"),
            ],
            tools: vec![
                ToolSpec {
                    name: "get_weather".into(),
                    description: Some("Weather".into()),
                    parameters: json!({"type": "object"}),
                },
                ToolSpec {
                    name: "noop".into(),
                    description: None,
                    parameters: Json::Null,
                },
            ],
            temperature: Some(0.2),
        };
        let body = request_json(&request, model_of(&request, "gpt-x"));
        assert_eq!(
            body,
            json!({
                "model": "gpt-x",
                "messages": [
                    {"role": "system", "content": "be brief"},
                    {"role": "user", "content": "weather in Paris?"},
                    {"role": "assistant", "content": null, "tool_calls": [{
                        "id": "call_1", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                    }]},
                    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                ],
                "tools": [
                    {"type": "function", "function": {
                        "name": "get_weather", "description": "Weather",
                        "parameters": {"type": "object"}}},
                    {"type": "function", "function": {
                        "name": "noop", "parameters": {"type": "object", "properties": {}}}},
                ],
                "temperature": 0.2,
            })
        );
        let bare = ChatRequest {
            model: "m".into(),
            ..ChatRequest::default()
        };
        assert_eq!(
            request_json(&bare, model_of(&bare, "ignored")),
            json!({"model": "m", "messages": []})
        );
    }

    #[test]
    fn finish_reasons_map_and_default_from_the_calls() {
        let cases = [
            (json!("stop"), false, FinishReason::Stop),
            (json!("tool_calls"), true, FinishReason::ToolCalls),
            (json!("function_call"), true, FinishReason::ToolCalls),
            (json!("length"), false, FinishReason::Length),
            (json!("content_filter"), false, FinishReason::ContentFilter),
            (json!(null), true, FinishReason::ToolCalls),
            (json!("eos"), false, FinishReason::Stop),
        ];
        for (reason, calls, want) in cases {
            let tool_calls = if calls {
                json!([{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}])
            } else {
                json!(null)
            };
            let r = parse(
                json!({"choices": [{"message": {"content": "x", "tool_calls": tool_calls},
                                               "finish_reason": reason}]}),
            )
            .unwrap();
            assert_eq!(r.finish_reason, want, "{reason}");
        }
    }

    #[test]
    fn lenient_servers_shapes_are_read() {
        // Object arguments (Ollama), no ids, content parts, no usage, no id or model.
        let r = parse(json!({"choices": [{"message": {
            "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
            "tool_calls": [{"function": {"name": "f", "arguments": {"x": 1}}},
                           {"id": "", "function": {"name": "g"}}]}}]}))
        .unwrap();
        assert_eq!(r.message.content.as_deref(), Some("ab"));
        assert_eq!(
            r.message.tool_calls,
            vec![
                ToolCall {
                    id: "call_0".into(),
                    name: "f".into(),
                    arguments: r#"{"x":1}"#.into()
                },
                ToolCall {
                    id: "call_1".into(),
                    name: "g".into(),
                    arguments: "{}".into()
                },
            ]
        );
        assert_eq!((r.id.as_str(), r.model.as_str()), ("", "asked"));
        assert_eq!(r.usage, TokenUsage::default());
        let refused = parse(
            json!({"choices": [{"message": {"content": null, "refusal": "no"},
                                                 "finish_reason": "stop"}]}),
        )
        .unwrap();
        assert_eq!(refused.message.content.as_deref(), Some("no"));
    }

    #[test]
    fn missing_choices_are_malformed_and_quote_an_error_field() {
        let err = parse(json!({"error": {"message": "quota", "code": "insufficient_quota"}}))
            .unwrap_err();
        assert_eq!(
            err,
            ChatError::Malformed(
                "the completion has no choices; it holds an error: insufficient_quota: quota"
                    .into()
            )
        );
        assert_eq!(
            parse(json!({"choices": []})).unwrap_err(),
            ChatError::Malformed("the completion has no choices".into())
        );
        assert!(matches!(
            parse(json!({"choices": [{"finish_reason": "stop"}]})),
            Err(ChatError::Malformed(_))
        ));
    }

    #[test]
    fn debug_shows_no_key_and_no_extra_header_value() {
        let mut config = OpenAiConfig::new("m");
        config.api_key = Some(ApiKey::new("sk-secret-0123456789"));
        config.extra_headers = vec![("x-proxy-auth".into(), "hunter2-secret".into())];
        let provider = OpenAiProvider::new(config).unwrap();
        let shown = format!("{provider:?} {:?}", provider.config());
        assert!(!shown.contains("sk-secret"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("x-proxy-auth"), "{shown}");
    }

    #[test]
    fn the_base_url_is_the_suites_else_openai_base_url_else_the_default() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |v: &str| {
                vars.iter()
                    .find(|(k, _)| *k == v)
                    .map(|(_, val)| OsString::from(val))
            }
        };
        const KEY: (&str, &str) = ("OPENAI_API_KEY", "sk-test-0123456789");
        type Vars = &'static [(&'static str, &'static str)];
        let cases: &[(Option<&str>, Vars, &str)] = &[
            (None, &[KEY], DEFAULT_BASE_URL),
            (
                None,
                &[KEY, ("OPENAI_BASE_URL", " http://127.0.0.1:9/v1 ")],
                "http://127.0.0.1:9/v1",
            ),
            // Empty counts as unset, as in the SDKs.
            (None, &[KEY, ("OPENAI_BASE_URL", "")], DEFAULT_BASE_URL),
            (
                Some("http://suite/v1"),
                &[KEY, ("OPENAI_BASE_URL", "http://env/v1")],
                "http://suite/v1",
            ),
        ];
        for (suite, vars, want) in cases {
            let config = OpenAiConfig::from_env_with(None, *suite, "m", env(vars)).unwrap();
            assert_eq!(config.base_url, *want, "{suite:?} {vars:?}");
        }
        // The reported base URL names no credential.
        let mut config = OpenAiConfig::new("m");
        config.base_url = "https://user:pw@proxy.example/v1/?key=sk-1".into();
        let provider = OpenAiProvider::new(config).unwrap();
        assert_eq!(provider.base_url(), Some("https://proxy.example/v1"));
    }
}
