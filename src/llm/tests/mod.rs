//! Unit tests of the providers that talk to servers: the OpenAI and Anthropic providers against
//! stub servers, and the OpenAI provider against the scripted model's server, all in process.

mod providers;
