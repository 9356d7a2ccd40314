//! Unit tests of `llm` that sit apart from its files: the OpenAI and Anthropic providers
//! against stub servers and the OpenAI provider against the scripted model's server, all in
//! process; and the module docs' examples, which doctests cannot reach in a private module.

mod doc_examples;
mod providers;
