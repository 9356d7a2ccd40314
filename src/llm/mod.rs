//! LLMs for the builtin agent and for agents under test: the chat types every provider speaks,
//! the scripted model (a deterministic fake LLM driven by a TOML script), and its
//! OpenAI-compatible HTTP face (`traceval serve-model`).

pub(crate) mod anthropic;
pub(crate) mod build;
pub(crate) mod chat;
pub(crate) mod http;
pub(crate) mod openai;
pub(crate) mod openai_wire;
pub(crate) mod provider;
pub(crate) mod retry;
pub(crate) mod scripted;
pub(crate) mod server;

#[cfg(test)]
mod tests;
