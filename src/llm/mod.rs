//! LLMs for the builtin agent and for agents under test: the chat types every provider speaks,
//! the scripted model (a deterministic fake LLM driven by a TOML script), and its
//! OpenAI-compatible HTTP face (`traceval serve-model`).

pub mod anthropic;
pub(crate) mod build;
pub mod chat;
pub mod http;
pub mod openai;
pub mod openai_wire;
pub mod provider;
pub mod retry;
pub mod scripted;
pub mod server;

#[cfg(test)]
mod tests;
