//! A model the builtin agent can call: one attempt of one chat call. Retries, spans and
//! timeouts are the caller's, so every attempt can be its own span.

use std::future::Future;
use std::pin::Pin;

use super::chat::{ChatError, ChatRequest, ChatResponse};

/// A boxed future, so providers can be trait objects.
pub type ChatFuture<'a> = Pin<Box<dyn Future<Output = Result<ChatResponse, ChatError>> + Send + 'a>>;

/// One LLM API (or the scripted model).
pub trait ChatProvider: Send + Sync {
    /// `gen_ai.provider.name`: `openai`, `anthropic`, `traceval.scripted`...
    fn provider_name(&self) -> &str;

    /// One attempt of one call. `identity` is the trial's stable identity (the scripted model
    /// picks variants and counts attempts by it; API providers ignore it).
    fn chat<'a>(&'a self, request: &'a ChatRequest, identity: &'a str) -> ChatFuture<'a>;
}
