//! The OpenAI and Anthropic providers against local stub servers that replay responses shaped
//! like the real APIs' (tool calls, text, usage with cached tokens, error bodies, 429 with
//! `Retry-After`, malformed JSON, a server slower than the timeout, a refused connection), and
//! the OpenAI provider against the real scripted-model server. Also: what each stub received
//! (body and key header), and that the key appears in no error and no `Debug`.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value as Json, json};

use crate::llm::anthropic::{AnthropicConfig, AnthropicProvider};
use crate::llm::chat::{
    ChatError, ChatRequest, ChatResponse, FinishReason, Message, Role, TokenUsage, ToolCall,
    ToolSpec,
};
use crate::llm::http::{ApiKey, ProviderError};
use crate::llm::openai::{OpenAiConfig, OpenAiProvider};
use crate::llm::provider::ChatProvider;
use crate::llm::retry::RetryPolicy;
use crate::llm::scripted::Script;
use crate::llm::server::ModelServer;

/// A key that must never be printed.
const KEY: &str = "sk-test-KEY-0123456789abcdef";

/// A canned answer.
#[derive(Clone)]
struct Canned {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Canned {
    fn json(status: u16, body: Json) -> Canned {
        Canned {
            status,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_string(),
            delay: Duration::ZERO,
        }
    }

    fn header(mut self, name: &'static str, value: &str) -> Canned {
        self.headers.push((name, value.to_owned()));
        self
    }
}

/// A request the stub received.
#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Json,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Reply = Arc<dyn Fn(&Seen) -> Canned + Send + Sync>;

struct StubState {
    reply: Reply,
    seen: Mutex<Vec<Seen>>,
}

/// A stub server on 127.0.0.1, answering every request with `reply(request)`.
struct Stub {
    addr: SocketAddr,
    state: Arc<StubState>,
}

impl Stub {
    async fn start(reply: impl Fn(&Seen) -> Canned + Send + Sync + 'static) -> Stub {
        let state = Arc::new(StubState {
            reply: Arc::new(reply),
            seen: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Stub { addr, state }
    }

    /// Always the same answer.
    async fn replying(canned: Canned) -> Stub {
        Stub::start(move |_| canned.clone()).await
    }

    fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

async fn handle(
    State(state): State<Arc<StubState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let seen = Seen {
        method,
        path: uri.path().to_owned(),
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Json::Null),
    };
    let canned = (state.reply)(&seen);
    state.seen.lock().unwrap().push(seen);
    if !canned.delay.is_zero() {
        tokio::time::sleep(canned.delay).await;
    }
    let mut response = Response::builder().status(StatusCode::from_u16(canned.status).unwrap());
    for (name, value) in &canned.headers {
        response = response.header(*name, value);
    }
    response.body(Body::from(canned.body)).unwrap()
}

/// A port nothing listens on.
async fn refused_base_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/v1")
}

fn openai(base_url: &str) -> OpenAiProvider {
    let mut config = OpenAiConfig::new("gpt-4o");
    config.base_url = base_url.to_owned();
    config.api_key = Some(ApiKey::new(KEY));
    config.organization = Some("org-traceval".to_owned());
    config.extra_headers = vec![("x-extra".to_owned(), "extra-value".to_owned())];
    config.timeout = Duration::from_secs(5);
    OpenAiProvider::new(config).unwrap()
}

fn anthropic(base_url: &str) -> AnthropicProvider {
    let mut config = AnthropicConfig::new("claude-sonnet-4-5");
    config.base_url = base_url.to_owned();
    config.api_key = Some(ApiKey::new(KEY));
    config.timeout = Duration::from_secs(5);
    AnthropicProvider::new(config).unwrap()
}

/// A conversation with everything in it: system prompt, user, parallel tool calls, their
/// results, and a tool.
fn conversation() -> ChatRequest {
    ChatRequest {
        model: String::new(),
        messages: vec![
            Message::text(Role::System, "You are a weather assistant."),
            Message::text(Role::User, "Weather in Paris and Oslo?"),
            Message {
                role: Role::Assistant,
                content: None,
                tool_calls: vec![
                    ToolCall {
                        id: "call_a".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Paris"}"#.into(),
                    },
                    ToolCall {
                        id: "call_b".into(),
                        name: "get_weather".into(),
                        arguments: r#"{"city":"Oslo"}"#.into(),
                    },
                ],
                tool_call_id: None,
            },
            Message::tool_result("call_a", "18 C, sunny"),
            Message::tool_result("call_b", "-3 C, snow"),
        ],
        tools: vec![weather_tool()],
        temperature: Some(0.3),
    }
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: Some("Current weather in a city".into()),
        parameters: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    }
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        model: String::new(),
        messages: vec![Message::text(Role::User, text)],
        tools: vec![weather_tool()],
        temperature: None,
    }
}

// --- recorded-shape bodies -------------------------------------------------------------------

fn openai_tool_call_body() -> Json {
    json!({
        "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
        "object": "chat.completion",
        "created": 1741570283,
        "model": "gpt-4o-2024-08-06",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [
                    {"id": "call_FthC9qRpsL5kBpwwyw6c7j4k", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}},
                    {"id": "call_RpEDoB8O0FTL9JoKTuCVFOyR", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Oslo\"}"}}
                ],
                "refusal": null,
                "annotations": []
            },
            "logprobs": null,
            "finish_reason": "tool_calls"
        }],
        "usage": {
            "prompt_tokens": 1117,
            "completion_tokens": 46,
            "total_tokens": 1163,
            "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        },
        "service_tier": "default",
        "system_fingerprint": "fp_fc9f1d7035"
    })
}

fn openai_text_body(finish_reason: &str) -> Json {
    json!({
        "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
        "object": "chat.completion",
        "created": 1741569952,
        "model": "gpt-4o-2024-08-06",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Paris: 18 C and sunny. Oslo: -3 C with snow.",
                        "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": {
            "prompt_tokens": 19, "completion_tokens": 10, "total_tokens": 29,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
        },
        "service_tier": "default"
    })
}

fn openai_error_body(message: &str, kind: &str, code: Option<&str>) -> Json {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

fn anthropic_tool_use_body() -> Json {
    json!({
        "id": "msg_01Aq9w938a90dw8q",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [
            {"type": "text", "text": "I'll check the weather in Paris."},
            {"type": "tool_use", "id": "toolu_01A09q90qw90lq917835lq9", "name": "get_weather",
             "input": {"city": "Paris"}}
        ],
        "stop_reason": "tool_use",
        "stop_sequence": null,
        "usage": {"input_tokens": 472, "cache_creation_input_tokens": 0,
                  "cache_read_input_tokens": 2048, "output_tokens": 89, "service_tier": "standard"}
    })
}

fn anthropic_text_body(stop_reason: &str) -> Json {
    json!({
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [{"type": "text", "text": "Paris: 18 C and sunny. Oslo: -3 C with snow."}],
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 30,
                  "cache_read_input_tokens": 0, "output_tokens": 15}
    })
}

fn anthropic_error_body(kind: &str, message: &str) -> Json {
    json!({"type": "error", "error": {"type": kind, "message": message},
           "request_id": "req_011CSHoEeqs5C35K2UUqR7Fy"})
}

async fn chat(p: &dyn ChatProvider, r: &ChatRequest) -> Result<ChatResponse, ChatError> {
    p.chat(r, "suite::case#0").await
}

// --- OpenAI ----------------------------------------------------------------------------------

#[tokio::test]
async fn openai_tool_calls_and_usage_with_cached_tokens_are_read() {
    let stub = Stub::replying(Canned::json(200, openai_tool_call_body())).await;
    let provider = openai(&stub.base_url());
    assert_eq!(provider.provider_name(), "openai");
    let r = chat(&provider, &ask("Weather in Paris and Oslo?"))
        .await
        .unwrap();
    assert_eq!(r.id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
    assert_eq!(r.model, "gpt-4o-2024-08-06");
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(r.message.role, Role::Assistant);
    assert_eq!(r.message.content, None);
    assert_eq!(
        r.message.tool_calls,
        vec![
            ToolCall {
                id: "call_FthC9qRpsL5kBpwwyw6c7j4k".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Paris"}"#.into(),
            },
            ToolCall {
                id: "call_RpEDoB8O0FTL9JoKTuCVFOyR".into(),
                name: "get_weather".into(),
                arguments: r#"{"city": "Oslo"}"#.into(),
            },
        ]
    );
    assert_eq!(
        r.usage,
        TokenUsage {
            input_tokens: 1117,
            output_tokens: 46,
            cache_read_tokens: 1024,
        }
    );
}

#[tokio::test]
async fn openai_text_answers_and_finish_reasons_are_read() {
    for (reason, want) in [
        ("stop", FinishReason::Stop),
        ("length", FinishReason::Length),
        ("content_filter", FinishReason::ContentFilter),
    ] {
        let stub = Stub::replying(Canned::json(200, openai_text_body(reason))).await;
        let r = chat(&openai(&stub.base_url()), &conversation())
            .await
            .unwrap();
        assert_eq!(
            r.message.content.as_deref(),
            Some("Paris: 18 C and sunny. Oslo: -3 C with snow.")
        );
        assert!(r.message.tool_calls.is_empty());
        assert_eq!(r.finish_reason, want);
        assert_eq!(
            r.usage,
            TokenUsage {
                input_tokens: 19,
                output_tokens: 10,
                cache_read_tokens: 0,
            }
        );
    }
}

#[tokio::test]
async fn openai_requests_carry_the_conversation_tools_and_headers() {
    let stub = Stub::replying(Canned::json(200, openai_text_body("stop"))).await;
    chat(&openai(&stub.base_url()), &conversation())
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/v1/chat/completions")
    );
    assert_eq!(s.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(s.header("openai-organization"), Some("org-traceval"));
    assert_eq!(s.header("x-extra"), Some("extra-value"));
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert!(s.header("user-agent").unwrap().starts_with("traceval/"));
    assert_eq!(
        s.body,
        json!({
            "model": "gpt-4o",
            "messages": [
                {"role": "system", "content": "You are a weather assistant."},
                {"role": "user", "content": "Weather in Paris and Oslo?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_a", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_b", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\":\"Oslo\"}"}},
                ]},
                {"role": "tool", "tool_call_id": "call_a", "content": "18 C, sunny"},
                {"role": "tool", "tool_call_id": "call_b", "content": "-3 C, snow"},
            ],
            "tools": [{"type": "function", "function": {
                "name": "get_weather",
                "description": "Current weather in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                               "required": ["city"]},
            }}],
            "temperature": 0.3,
        })
    );
    // The request's model wins over the configured one.
    let mut named = conversation();
    named.model = "gpt-4.1-mini".into();
    chat(&openai(&stub.base_url()), &named).await.unwrap();
    assert_eq!(stub.seen()[1].body["model"], "gpt-4.1-mini");
}

#[tokio::test]
async fn openai_429_carries_retry_after_in_seconds_or_milliseconds() {
    let message = "Rate limit reached for gpt-4o in organization org-traceval on tokens per min \
                   (TPM): Limit 30000, Used 29760, Requested 1117. Please try again in 1.754s.";
    let body = openai_error_body(message, "tokens", Some("rate_limit_exceeded"));
    let cases = [
        (
            Canned::json(429, body.clone()).header("retry-after", "7"),
            Some(Duration::from_secs(7)),
        ),
        (
            Canned::json(429, body.clone())
                .header("retry-after-ms", "1754")
                .header("retry-after", "2"),
            Some(Duration::from_millis(1754)),
        ),
        (Canned::json(429, body.clone()), None),
    ];
    for (canned, want) in cases {
        let stub = Stub::replying(canned).await;
        let err = chat(&openai(&stub.base_url()), &ask("hi"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ChatError::Http {
                status: 429,
                retry_after: want,
                message: format!("rate_limit_exceeded: {message}"),
            }
        );
        assert!(err.retryable());
        // The policy waits what the server said.
        assert_eq!(
            RetryPolicy::default().delay(1, &err, 0.5).unwrap(),
            want.unwrap_or(Duration::from_millis(250))
        );
    }
}

#[tokio::test]
async fn openai_500_is_a_retryable_http_error_with_the_body_message() {
    let stub = Stub::replying(Canned::json(
        500,
        openai_error_body(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
        ),
    ))
    .await;
    let err = chat(&openai(&stub.base_url()), &ask("hi"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        ChatError::Http {
            status: 500,
            retry_after: None,
            message: "server_error: The server had an error while processing your request. \
                      Sorry about that!"
                .into(),
        }
    );
    assert!(err.retryable());
    assert_eq!(err.error_type(), "500");
}

#[tokio::test]
async fn long_and_non_json_error_bodies_are_bounded() {
    let stub = Stub::replying(Canned {
        status: 502,
        headers: vec![("content-type", "text/html".to_owned())],
        body: format!("<html>{}</html>", "x".repeat(5000)),
        delay: Duration::ZERO,
    })
    .await;
    let ChatError::Http {
        status, message, ..
    } = chat(&openai(&stub.base_url()), &ask("hi"))
        .await
        .unwrap_err()
    else {
        panic!("not an HTTP error");
    };
    assert_eq!(status, 502);
    assert!(message.starts_with("<html>xxx"), "{message}");
    assert_eq!(message.chars().count(), 501);
}

#[tokio::test]
async fn openai_malformed_bodies_are_malformed() {
    for (body, what) in [
        (
            "{\"id\": \"chatcmpl-1\", \"choices\": [",
            "EOF while parsing",
        ),
        (
            "<html>gateway</html>",
            "the body starts with: <html>gateway</html>",
        ),
        ("{\"id\": \"chatcmpl-1\", \"choices\": []}", "no choices"),
        (
            "{\"choices\": [{\"message\": {\"tool_calls\": [{\"function\": {}}]}}]}",
            "name",
        ),
    ] {
        let stub = Stub::replying(Canned {
            status: 200,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_owned(),
            delay: Duration::ZERO,
        })
        .await;
        let err = chat(&openai(&stub.base_url()), &ask("hi"))
            .await
            .unwrap_err();
        let ChatError::Malformed(message) = &err else {
            panic!("{body}: {err:?}");
        };
        assert!(message.contains(what), "{body}: {message}");
        assert!(!err.retryable());
        assert_eq!(err.error_type(), "malformed_response");
    }
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_is_a_timeout() {
    let mut slow = Canned::json(200, openai_text_body("stop"));
    slow.delay = Duration::from_secs(10);
    let stub = Stub::replying(slow).await;
    let mut config = OpenAiConfig::new("gpt-4o");
    config.base_url = stub.base_url();
    config.timeout = Duration::from_millis(300);
    let provider = OpenAiProvider::new(config).unwrap();
    let start = Instant::now();
    let err = chat(&provider, &ask("hi")).await.unwrap_err();
    assert_eq!(err, ChatError::Timeout(Duration::from_millis(300)));
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(err.retryable());
}

#[tokio::test]
async fn a_refused_connection_is_a_network_error() {
    let base = refused_base_url().await;
    for provider in [
        Box::new(openai(&base)) as Box<dyn ChatProvider>,
        Box::new(anthropic(&base)),
    ] {
        let err = chat(&*provider, &ask("hi")).await.unwrap_err();
        let ChatError::Network(message) = &err else {
            panic!("{err:?}");
        };
        assert!(message.starts_with(&format!("POST {base}/")), "{message}");
        assert!(
            message.to_lowercase().contains("connection refused"),
            "{message}"
        );
        assert!(err.retryable());
    }
}

#[tokio::test]
async fn the_openai_provider_round_trips_tool_calls_with_the_scripted_server() {
    let script = Arc::new(
        Script::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/agents/sunny.toml"))
            .unwrap(),
    );
    let server = ModelServer::start("127.0.0.1:0".parse().unwrap(), Some(script), 7)
        .await
        .unwrap();
    let provider = openai(&server.base_url());

    let mut request = ask("What's the weather in Paris?");
    request.model = "sunny".into();
    let first = chat(&provider, &request).await.unwrap();
    assert_eq!(first.model, "sunny-1");
    assert_eq!(first.finish_reason, FinishReason::ToolCalls);
    assert_eq!(first.message.tool_calls.len(), 1);
    let call = first.message.tool_calls[0].clone();
    assert_eq!(call.name, "get_weather");
    assert_eq!(
        serde_json::from_str::<Json>(&call.arguments).unwrap(),
        json!({"city": "Paris"})
    );
    assert_eq!(
        (first.usage.input_tokens, first.usage.output_tokens),
        (120, 18)
    );

    // The assistant message goes back as sent, with the tool result: the server parses both.
    request.messages.push(first.message.clone());
    request
        .messages
        .push(Message::tool_result(&call.id, "18 C and sunny"));
    let second = chat(&provider, &request).await.unwrap();
    assert_eq!(second.finish_reason, FinishReason::Stop);
    assert_eq!(
        second.message.content.as_deref(),
        Some("It is 18 C and sunny in Paris.")
    );
    assert_eq!(
        (second.usage.input_tokens, second.usage.output_tokens),
        (165, 12)
    );

    // A scripted 429 with `retry-after = "20ms"`, retried by the policy as the agent will.
    let flaky = ask("flaky");
    let policy = RetryPolicy::default();
    let mut attempt = 1;
    let answer = loop {
        match chat(&provider, &flaky).await {
            Ok(r) => break r,
            Err(e) => {
                assert!(
                    matches!(
                        e,
                        ChatError::Http {
                            status: 429,
                            retry_after: Some(d),
                            ..
                        } if d == Duration::from_millis(20)
                    ),
                    "{e:?}"
                );
                let wait = policy.delay(attempt, &e, 0.5).expect("retryable");
                assert_eq!(wait, Duration::from_millis(20));
                tokio::time::sleep(wait).await;
                attempt += 1;
            }
        }
    };
    assert_eq!(attempt, 2);
    assert_eq!(
        answer.message.content.as_deref(),
        Some("worked on the second try")
    );
    server.shutdown().await;
}

// --- Anthropic -------------------------------------------------------------------------------

#[tokio::test]
async fn anthropic_tool_use_and_usage_including_cache_reads_are_read() {
    let stub = Stub::replying(Canned::json(200, anthropic_tool_use_body())).await;
    let provider = anthropic(&stub.base_url());
    assert_eq!(provider.provider_name(), "anthropic");
    let r = chat(&provider, &ask("Weather in Paris?")).await.unwrap();
    assert_eq!(r.id, "msg_01Aq9w938a90dw8q");
    assert_eq!(r.model, "claude-sonnet-4-5-20250929");
    assert_eq!(r.finish_reason, FinishReason::ToolCalls);
    assert_eq!(
        r.message.content.as_deref(),
        Some("I'll check the weather in Paris.")
    );
    assert_eq!(
        r.message.tool_calls,
        vec![ToolCall {
            id: "toolu_01A09q90qw90lq917835lq9".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        }]
    );
    // input_tokens includes the cache reads (472 uncached + 2048 read).
    assert_eq!(
        r.usage,
        TokenUsage {
            input_tokens: 2520,
            output_tokens: 89,
            cache_read_tokens: 2048,
        }
    );
}

#[tokio::test]
async fn anthropic_text_answers_and_stop_reasons_are_read() {
    for (reason, want) in [
        ("end_turn", FinishReason::Stop),
        ("stop_sequence", FinishReason::Stop),
        ("max_tokens", FinishReason::Length),
    ] {
        let stub = Stub::replying(Canned::json(200, anthropic_text_body(reason))).await;
        let r = chat(&anthropic(&stub.base_url()), &conversation())
            .await
            .unwrap();
        assert_eq!(
            r.message.content.as_deref(),
            Some("Paris: 18 C and sunny. Oslo: -3 C with snow.")
        );
        assert_eq!(r.finish_reason, want, "{reason}");
        // Cache writes count as input too (12 uncached + 30 written).
        assert_eq!(
            r.usage,
            TokenUsage {
                input_tokens: 42,
                output_tokens: 15,
                cache_read_tokens: 0,
            }
        );
    }
}

#[tokio::test]
async fn anthropic_requests_lift_the_system_prompt_and_merge_tool_results() {
    let stub = Stub::replying(Canned::json(200, anthropic_text_body("end_turn"))).await;
    chat(&anthropic(&stub.base_url()), &conversation())
        .await
        .unwrap();
    let seen = stub.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(
        (s.method.as_str(), s.path.as_str()),
        ("POST", "/v1/messages")
    );
    assert_eq!(s.header("x-api-key"), Some(KEY));
    assert_eq!(s.header("anthropic-version"), Some("2023-06-01"));
    assert_eq!(s.header("authorization"), None);
    assert_eq!(s.header("content-type"), Some("application/json"));
    assert_eq!(
        s.body,
        json!({
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "system": "You are a weather assistant.",
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "Weather in Paris and Oslo?"}]},
                {"role": "assistant", "content": [
                    {"type": "tool_use", "id": "call_a", "name": "get_weather", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "call_b", "name": "get_weather", "input": {"city": "Oslo"}},
                ]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "call_a", "content": "18 C, sunny"},
                    {"type": "tool_result", "tool_use_id": "call_b", "content": "-3 C, snow"},
                ]},
            ],
            "tools": [{
                "name": "get_weather",
                "description": "Current weather in a city",
                "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                                 "required": ["city"]},
            }],
            "temperature": 0.3,
        })
    );
}

#[tokio::test]
async fn anthropic_rate_limits_and_overload_are_retryable_http_errors() {
    let limited = anthropic_error_body(
        "rate_limit_error",
        "This request would exceed the rate limit for your organization of 50 requests per minute.",
    );
    let cases = [
        (
            Canned::json(429, limited).header("retry-after", "12"),
            429,
            Some(Duration::from_secs(12)),
            "rate_limit_error: This request would exceed the rate limit for your organization \
             of 50 requests per minute.",
        ),
        (
            Canned::json(529, anthropic_error_body("overloaded_error", "Overloaded")),
            529,
            None,
            "overloaded_error: Overloaded",
        ),
        (
            Canned::json(
                500,
                anthropic_error_body("api_error", "Internal server error"),
            ),
            500,
            None,
            "api_error: Internal server error",
        ),
    ];
    for (canned, status, retry_after, message) in cases {
        let stub = Stub::replying(canned).await;
        let err = chat(&anthropic(&stub.base_url()), &ask("hi"))
            .await
            .unwrap_err();
        assert_eq!(
            err,
            ChatError::Http {
                status,
                retry_after,
                message: message.into(),
            }
        );
        assert!(err.retryable(), "{err}");
    }
    let stub = Stub::replying(Canned::json(
        400,
        anthropic_error_body("invalid_request_error", "max_tokens: Field required"),
    ))
    .await;
    let err = chat(&anthropic(&stub.base_url()), &ask("hi"))
        .await
        .unwrap_err();
    assert!(!err.retryable(), "{err}");
}

#[tokio::test]
async fn anthropic_malformed_bodies_and_slow_servers() {
    for body in ["{\"id\": \"msg_1\", \"content\": [", "{\"id\": \"msg_1\"}"] {
        let stub = Stub::replying(Canned {
            status: 200,
            headers: vec![("content-type", "application/json".to_owned())],
            body: body.to_owned(),
            delay: Duration::ZERO,
        })
        .await;
        let err = chat(&anthropic(&stub.base_url()), &ask("hi"))
            .await
            .unwrap_err();
        assert!(matches!(err, ChatError::Malformed(_)), "{body}: {err:?}");
    }
    let mut slow = Canned::json(200, anthropic_text_body("end_turn"));
    slow.delay = Duration::from_secs(10);
    let stub = Stub::replying(slow).await;
    let mut config = AnthropicConfig::new("claude-sonnet-4-5");
    config.base_url = stub.base_url();
    config.timeout = Duration::from_millis(300);
    let err = chat(&AnthropicProvider::new(config).unwrap(), &ask("hi"))
        .await
        .unwrap_err();
    assert_eq!(err, ChatError::Timeout(Duration::from_millis(300)));
}

// --- keys ------------------------------------------------------------------------------------

/// A stub that quotes the key it received in whatever it answers, as servers' "invalid key"
/// messages do, on every error path.
async fn every_error(provider: impl Fn(&str) -> Box<dyn ChatProvider>) -> Vec<ChatError> {
    fn received(s: &Seen) -> String {
        s.header("x-api-key")
            .or_else(|| s.header("authorization"))
            .unwrap_or_default()
            .to_owned()
    }
    let invalid = Stub::start(|s| {
        Canned::json(
            401,
            openai_error_body(
                &format!("Incorrect API key provided: {}.", received(s)),
                "invalid_request_error",
                Some("invalid_api_key"),
            ),
        )
    })
    .await;
    let limited = Stub::start(|s| {
        Canned::json(429, anthropic_error_body("rate_limit_error", &received(s)))
            .header("retry-after", "1")
    })
    .await;
    let garbage = Stub::start(|s| Canned {
        status: 200,
        headers: Vec::new(),
        body: format!("<html>you sent {}</html>", received(s)),
        delay: Duration::ZERO,
    })
    .await;
    let no_choices = Stub::start(|s| {
        Canned::json(
            200,
            json!({"error": {"message": received(s)}, "content": received(s)}),
        )
    })
    .await;
    let text = Stub::start(|s| Canned {
        status: 503,
        headers: Vec::new(),
        body: received(s),
        delay: Duration::ZERO,
    })
    .await;
    let slow = Stub::start(|_| {
        let mut c = Canned::json(200, json!({}));
        c.delay = Duration::from_secs(10);
        c
    })
    .await;
    let mut errors = Vec::new();
    for stub in [&invalid, &limited, &garbage, &no_choices, &text, &slow] {
        let p = provider(&stub.base_url());
        errors.push(chat(&*p, &ask("hi")).await.unwrap_err());
        let sent = stub.seen()[0].clone();
        assert!(
            received(&sent).contains(KEY),
            "the stub did not receive the key"
        );
    }
    let p = provider(&refused_base_url().await);
    errors.push(chat(&*p, &ask("hi")).await.unwrap_err());
    errors
}

fn assert_no_key(errors: &[ChatError]) {
    let kinds: Vec<String> = errors.iter().map(ChatError::error_type).collect();
    for kind in [
        "401",
        "429",
        "malformed_response",
        "503",
        "timeout",
        "network",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
    for e in errors {
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }
    // Where a server quoted the key, the message says so without it.
    assert!(
        errors
            .iter()
            .filter(|e| !matches!(e, ChatError::Timeout(_) | ChatError::Network(_)))
            .all(|e| e.to_string().contains("[redacted]")),
        "{errors:?}"
    );
}

#[tokio::test]
async fn the_openai_key_is_in_no_error_and_no_debug() {
    let errors = every_error(|url| {
        let mut config = OpenAiConfig::new("gpt-4o");
        config.base_url = url.to_owned();
        config.api_key = Some(ApiKey::new(KEY));
        config.timeout = Duration::from_millis(300);
        Box::new(OpenAiProvider::new(config).unwrap())
    })
    .await;
    assert_no_key(&errors);
    let provider = openai("http://127.0.0.1:9/v1");
    let shown = format!("{provider:?} {:?}", provider.config());
    assert!(!shown.contains(KEY), "{shown}");
    assert!(!shown.contains("extra-value"), "{shown}");
}

#[tokio::test]
async fn the_anthropic_key_is_in_no_error_and_no_debug() {
    let errors = every_error(|url| {
        let mut config = AnthropicConfig::new("claude-sonnet-4-5");
        config.base_url = url.to_owned();
        config.api_key = Some(ApiKey::new(KEY));
        config.timeout = Duration::from_millis(300);
        Box::new(AnthropicProvider::new(config).unwrap())
    })
    .await;
    assert_no_key(&errors);
    let provider = anthropic("http://127.0.0.1:9/v1");
    let shown = format!("{provider:?} {:?}", provider.config());
    assert!(!shown.contains(KEY), "{shown}");
}

#[test]
fn keys_come_from_the_named_variable_and_a_missing_one_is_named() {
    let lookup = |var: &str| (var == "MY_OPENAI_KEY").then(|| OsString::from(KEY));
    let config =
        OpenAiConfig::from_env_with(Some("MY_OPENAI_KEY"), None, "gpt-4o", lookup).unwrap();
    assert_eq!(config.api_key.as_ref().map(ApiKey::expose), Some(KEY));
    assert_eq!(config.base_url, "https://api.openai.com/v1");
    assert_eq!(config.timeout, Duration::from_secs(60));

    let err = OpenAiConfig::from_env_with(None, None, "gpt-4o", lookup).unwrap_err();
    assert_eq!(
        err,
        ProviderError::MissingKey {
            var: "OPENAI_API_KEY".into()
        }
    );
    let seen = Mutex::new(Vec::new());
    let err = AnthropicConfig::from_env_with(None, Some("http://proxy/v1"), "c", |v| {
        seen.lock().unwrap().push(v.to_owned());
        None
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the API key variable `ANTHROPIC_API_KEY` is not set (or is empty)"
    );
    assert_eq!(*seen.lock().unwrap(), ["ANTHROPIC_API_KEY"]);
    let config = AnthropicConfig::from_env_with(Some("K"), Some("http://proxy/v1"), "c", |_| {
        Some(OsString::from(KEY))
    })
    .unwrap();
    assert_eq!(
        (config.base_url.as_str(), config.max_tokens),
        ("http://proxy/v1", 1024)
    );

    // The real environment: a variable nobody sets.
    let err =
        OpenAiProvider::from_env(Some("TRACEVAL_TEST_SURELY_UNSET_KEY"), None, "m").unwrap_err();
    assert!(
        err.to_string().contains("`TRACEVAL_TEST_SURELY_UNSET_KEY`"),
        "{err}"
    );
}

#[test]
fn bad_base_urls_and_headers_are_configuration_errors_that_print_no_value() {
    let mut config = OpenAiConfig::new("m");
    config.base_url = "file:///etc".into();
    assert!(matches!(
        OpenAiProvider::new(config),
        Err(ProviderError::BaseUrl { .. })
    ));
    let mut config = AnthropicConfig::new("m");
    config.api_key = Some(ApiKey::new(format!("{KEY}\n")));
    let err = AnthropicProvider::new(config).unwrap_err();
    assert_eq!(
        err.to_string(),
        "header `x-api-key` cannot be sent: invalid value"
    );
}
