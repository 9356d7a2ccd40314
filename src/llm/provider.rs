//! A model the builtin agent can call: one attempt of one chat call. Retries, spans and
//! timeouts are the caller's, so every attempt can be its own span.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::chat::{ChatError, ChatRequest, ChatResponse};
use super::scripted::{Attempts, CallContext, Script};

/// A boxed future, so providers can be trait objects.
pub(crate) type ChatFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ChatResponse, ChatError>> + Send + 'a>>;

/// One LLM API (or the scripted model).
pub(crate) trait ChatProvider: Send + Sync + std::fmt::Debug {
    /// `gen_ai.provider.name`: `openai`, `anthropic`, `traceval.scripted`...
    fn provider_name(&self) -> &str;

    /// The model this provider is configured to call, when it has one: the builtin agent asks
    /// for it by this name (a `[model.NAME]` table's `model` key), else by the table name.
    fn model_name(&self) -> Option<&str> {
        None
    }

    /// The API's base URL, for the report: without user info, query or fragment, so it can
    /// name no secret. `None` for a model traceval answers itself.
    fn base_url(&self) -> Option<&str> {
        None
    }

    /// One attempt of one call. `identity` is the trial's stable identity (the scripted model
    /// picks variants and counts attempts by it; API providers ignore it).
    fn chat<'a>(&'a self, request: &'a ChatRequest, identity: &'a str) -> ChatFuture<'a>;
}

/// The scripted model in process: a [`Script`] answering directly, no HTTP. Its latency is
/// slept asynchronously (it holds no thread) so spans show it.
#[derive(Debug)]
pub(crate) struct ScriptedProvider {
    script: Arc<Script>,
    seed: u64,
    attempts: Attempts,
}

impl ScriptedProvider {
    /// A provider answering from `script` with variants seeded by `seed`.
    pub(crate) fn new(script: Arc<Script>, seed: u64) -> ScriptedProvider {
        ScriptedProvider {
            script,
            seed,
            attempts: Attempts::default(),
        }
    }
}

impl ChatProvider for ScriptedProvider {
    fn provider_name(&self) -> &str {
        "traceval.scripted"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, identity: &'a str) -> ChatFuture<'a> {
        Box::pin(async move {
            let attempt = self.attempts.next(identity, request);
            let reply = self.script.reply(
                request,
                &CallContext {
                    seed: self.seed,
                    identity: Some(identity),
                    attempt,
                },
            );
            if !reply.latency.is_zero() {
                tokio::time::sleep(reply.latency).await;
            }
            reply.outcome
        })
    }
}
