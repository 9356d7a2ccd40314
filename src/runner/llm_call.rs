//! One model call as traceval makes it, for the builtin agent and for LLM judges alike: the
//! provider's attempts with the retry policy, traced with the OTel GenAI conventions as a
//! `chat {model}` span (provider, request and response model, usage, finish reasons; message
//! content only when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is `true`) with one
//! `llm.retry_attempt` child per retry, as Sema defines it: each HTTP retry (429, 5xx, network)
//! nested under its LLM span, so a call retried once has one child, and a clean call none.

use opentelemetry::trace::{Span as _, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::trace::SdkTracer;

use crate::llm::chat::{ChatRequest, ChatResponse};
use crate::llm::provider::ChatProvider;
use crate::llm::retry::RetryPolicy;

/// A model call that failed for good, retries included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CallFailed {
    /// What happened, for the report.
    pub(crate) message: String,
    /// The API itself failed ([`crate::llm::chat::ChatError::outage`]) on an API traceval
    /// calls over the network: infrastructure, not the agent. A scripted model's injected
    /// failures are the test's own, never infrastructure.
    pub(crate) infrastructure: bool,
}

impl std::fmt::Display for CallFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Who calls a model, and how its calls are traced.
#[derive(Clone, Copy)]
pub(crate) struct ModelCaller<'a> {
    /// Spans go through this tracer.
    pub(crate) tracer: &'a SdkTracer,
    /// The model.
    pub(crate) provider: &'a dyn ChatProvider,
    /// The caller's stable identity: the scripted model picks variants and counts attempts by
    /// it, and the backoff jitter derives from it.
    pub(crate) identity: &'a str,
    /// Record the messages on the spans.
    pub(crate) capture_content: bool,
}

impl ModelCaller<'_> {
    /// One model call with retries, as a `chat` span under `cx` with one `llm.retry_attempt`
    /// per retry (the attempts after the first). The error says how many attempts failed.
    pub(crate) async fn chat(
        &self,
        cx: &Context,
        request: &ChatRequest,
    ) -> Result<ChatResponse, CallFailed> {
        let mut attrs = vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new(
                "gen_ai.provider.name",
                self.provider.provider_name().to_owned(),
            ),
            KeyValue::new("gen_ai.request.model", request.model.clone()),
        ];
        if let Some(t) = request.temperature {
            attrs.push(KeyValue::new("gen_ai.request.temperature", t));
        }
        if self.capture_content {
            let messages = serde_json::to_string(&request.messages).unwrap_or_default();
            attrs.push(KeyValue::new("gen_ai.input.messages", messages));
        }
        let span = self
            .tracer
            .span_builder(format!("chat {}", request.model))
            .with_kind(SpanKind::Client)
            .with_attributes(attrs)
            .start_with_context(self.tracer, cx);
        let chat_cx = cx.with_span(span);
        let span = chat_cx.span();
        // One span per retry, timed around that attempt; the first attempt is the call
        // itself, so a clean call stays one span. `llm.retry.reason` is the error retried.
        let mut attempt = 1;
        let mut retried: Option<String> = None;
        let outcome = loop {
            let start = std::time::SystemTime::now();
            let result = self.provider.chat(request, self.identity).await;
            if let Some(reason) = retried.take() {
                let mut retry_span = self
                    .tracer
                    .span_builder("llm.retry_attempt")
                    .with_kind(SpanKind::Internal)
                    .with_start_time(start)
                    .with_attributes([
                        KeyValue::new("llm.retry.attempt", i64::from(attempt - 1)),
                        KeyValue::new("llm.retry.reason", reason),
                    ])
                    .start_with_context(self.tracer, &chat_cx);
                if let Err(e) = &result {
                    retry_span.set_status(Status::error(e.to_string()));
                    retry_span.set_attribute(KeyValue::new("error.type", e.error_type()));
                }
                retry_span.end_with_timestamp(std::time::SystemTime::now());
            }
            let delay = match &result {
                Err(e) => RetryPolicy::default().delay(attempt, e, jitter(self.identity, attempt)),
                Ok(_) => None,
            };
            match (result, delay) {
                (Err(e), Some(delay)) => {
                    retried = Some(e.error_type());
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                (other, _) => break other,
            }
        };
        match outcome {
            Ok(response) => {
                span.set_attributes([
                    KeyValue::new("gen_ai.response.model", response.model.clone()),
                    KeyValue::new("gen_ai.response.id", response.id.clone()),
                    KeyValue::new(
                        "gen_ai.usage.input_tokens",
                        saturating_i64(response.usage.input_tokens),
                    ),
                    KeyValue::new(
                        "gen_ai.usage.output_tokens",
                        saturating_i64(response.usage.output_tokens),
                    ),
                    KeyValue::new(
                        "gen_ai.response.finish_reasons",
                        Value::Array(
                            vec![opentelemetry::StringValue::from(
                                response.finish_reason.as_str(),
                            )]
                            .into(),
                        ),
                    ),
                ]);
                if response.usage.cache_read_tokens > 0 {
                    span.set_attribute(KeyValue::new(
                        "gen_ai.usage.cache_read.input_tokens",
                        saturating_i64(response.usage.cache_read_tokens),
                    ));
                }
                if self.capture_content {
                    let out = serde_json::to_string(&[&response.message]).unwrap_or_default();
                    span.set_attribute(KeyValue::new("gen_ai.output.messages", out));
                }
                span.end();
                Ok(response)
            }
            Err(e) => {
                span.set_status(Status::error(e.to_string()));
                span.set_attribute(KeyValue::new("error.type", e.error_type()));
                span.end();
                let outage = e.outage().filter(|_| self.provider.base_url().is_some());
                let message = match (outage, self.provider.base_url()) {
                    (Some(cause), Some(url)) => format!(
                        "the model API at {url} failed ({cause}) after {attempt} attempt(s): {e}"
                    ),
                    _ => format!("the model call failed after {attempt} attempt(s): {e}"),
                };
                Err(CallFailed {
                    message,
                    infrastructure: outage.is_some(),
                })
            }
        }
    }
}

/// Backoff jitter in [0, 1), derived from the caller and the attempt: timing varies between
/// callers, results never depend on it, and a rerun waits the same.
fn jitter(identity: &str, attempt: u32) -> f64 {
    let h = crate::suite::fnv1a64(format!("{identity}#{attempt}").as_bytes());
    (h >> 11) as f64 / (1u64 << 53) as f64
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
