//! The convention table: how each mainstream instrumentation spells GenAI concepts.
//!
//! This is data, kept in one place (`docs/reference/metrics.md#counting`). Classification tries
//! [`KIND_RULES`] in order and the first match wins; fields are read from the first key of each
//! list that is present on the span. Sources:
//! - OTel GenAI semantic conventions, current (`gen_ai.provider.name`, `gen_ai.usage.input_tokens`)
//!   and older (`gen_ai.system`, `gen_ai.usage.prompt_tokens`) names;
//! - OpenInference (`openinference.span.kind`, `llm.token_count.*`, `input.value`);
//! - OpenLLMetry / Traceloop (`traceloop.span.kind`, `llm.request.type`, `traceloop.entity.*`);
//! - pydantic-ai / logfire (`tool_arguments`, `tool_response`, `operation.cost`);
//! - the Vercel AI SDK (`ai.*` span names and attributes);
//! - span names seen in SDK docs (`call_llm`, `tool.execute`, `llm.retry_attempt`...).

use super::Kind;

/// How a rule matches a span.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Match {
    /// The attribute equals the value, compared case-insensitively.
    Attr(&'static str, &'static str),
    /// The span name equals the string.
    Name(&'static str),
    /// The span name starts with the string.
    NamePrefix(&'static str),
}

/// Classification rules, tried in order; the first that matches decides the kind.
///
/// Retry attempts come first: they may carry `gen_ai.operation.name = chat`, yet counting them
/// as LLM calls would count each call once per attempt. Attribute rules come before name rules,
/// since names are free text.
pub(crate) const KIND_RULES: &[(Match, Kind)] = &[
    (Match::Name("llm.retry_attempt"), Kind::Retry),
    // OTel GenAI: gen_ai.operation.name
    (Match::Attr("gen_ai.operation.name", "chat"), Kind::Llm),
    (
        Match::Attr("gen_ai.operation.name", "text_completion"),
        Kind::Llm,
    ),
    (
        Match::Attr("gen_ai.operation.name", "generate_content"),
        Kind::Llm,
    ),
    (
        Match::Attr("gen_ai.operation.name", "embeddings"),
        Kind::Embedding,
    ),
    (
        Match::Attr("gen_ai.operation.name", "execute_tool"),
        Kind::Tool,
    ),
    (
        Match::Attr("gen_ai.operation.name", "invoke_agent"),
        Kind::Agent,
    ),
    (
        Match::Attr("gen_ai.operation.name", "create_agent"),
        Kind::Agent,
    ),
    // OpenInference
    (Match::Attr("openinference.span.kind", "LLM"), Kind::Llm),
    (Match::Attr("openinference.span.kind", "TOOL"), Kind::Tool),
    (Match::Attr("openinference.span.kind", "AGENT"), Kind::Agent),
    (Match::Attr("openinference.span.kind", "CHAIN"), Kind::Step),
    (
        Match::Attr("openinference.span.kind", "RETRIEVER"),
        Kind::Retrieval,
    ),
    (
        Match::Attr("openinference.span.kind", "RERANKER"),
        Kind::Retrieval,
    ),
    (
        Match::Attr("openinference.span.kind", "EMBEDDING"),
        Kind::Embedding,
    ),
    (
        Match::Attr("openinference.span.kind", "GUARDRAIL"),
        Kind::Step,
    ),
    (
        Match::Attr("openinference.span.kind", "EVALUATOR"),
        Kind::Step,
    ),
    // OpenLLMetry / Traceloop
    (Match::Attr("traceloop.span.kind", "tool"), Kind::Tool),
    (Match::Attr("traceloop.span.kind", "agent"), Kind::Agent),
    (Match::Attr("traceloop.span.kind", "workflow"), Kind::Step),
    (Match::Attr("traceloop.span.kind", "task"), Kind::Step),
    (Match::Attr("llm.request.type", "chat"), Kind::Llm),
    (Match::Attr("llm.request.type", "completion"), Kind::Llm),
    (
        Match::Attr("llm.request.type", "embedding"),
        Kind::Embedding,
    ),
    (Match::Attr("llm.request.type", "rerank"), Kind::Retrieval),
    // Span names from the GenAI conventions and SDK docs
    (Match::NamePrefix("chat "), Kind::Llm),
    (Match::NamePrefix("text_completion "), Kind::Llm),
    (Match::NamePrefix("generate_content "), Kind::Llm),
    (Match::NamePrefix("embeddings "), Kind::Embedding),
    (Match::NamePrefix("execute_tool "), Kind::Tool),
    (Match::NamePrefix("invoke_agent"), Kind::Agent),
    (Match::NamePrefix("create_agent"), Kind::Agent),
    (Match::NamePrefix("call_llm"), Kind::Llm),
    (Match::NamePrefix("llm.chat"), Kind::Llm),
    (Match::Name("llm.completion"), Kind::Llm),
    (Match::Name("gen_ai.chat"), Kind::Llm),
    (Match::NamePrefix("tool.execute"), Kind::Tool),
    (Match::NamePrefix("tool."), Kind::Tool),
    (Match::Name("agent.run"), Kind::Agent),
    (Match::Name("ai.agent.run"), Kind::Agent),
    (Match::NamePrefix("step."), Kind::Step),
    // Vercel AI SDK: the doGenerate/doStream spans are the provider calls, the outer
    // generateText/streamText spans wrap the whole tool loop.
    (Match::NamePrefix("ai.toolCall"), Kind::Tool),
    (Match::Name("ai.generateText.doGenerate"), Kind::Llm),
    (Match::Name("ai.streamText.doStream"), Kind::Llm),
    (Match::Name("ai.generateObject.doGenerate"), Kind::Llm),
    (Match::Name("ai.streamObject.doStream"), Kind::Llm),
    (Match::Name("ai.embed.doEmbed"), Kind::Embedding),
    (Match::Name("ai.embedMany.doEmbed"), Kind::Embedding),
    (Match::Name("ai.generateText"), Kind::Agent),
    (Match::Name("ai.streamText"), Kind::Agent),
];

/// Span-name prefixes that precede a tool or agent name (`execute_tool get_weather`).
pub(crate) const NAME_PREFIXES: &[&str] = &[
    "execute_tool ",
    "tool.execute ",
    "tool.",
    "invoke_agent ",
    "create_agent ",
];

/// The LLM provider (`openai`, `anthropic`, ...).
pub(crate) const PROVIDER: &[&str] = &[
    "gen_ai.provider.name",
    "gen_ai.system",
    "llm.provider",
    "llm.system",
    "ai.model.provider",
];
/// The model the caller asked for.
pub(crate) const REQUEST_MODEL: &[&str] = &[
    "gen_ai.request.model",
    "ai.model.id",
    // OpenInference has one model attribute, set from the response when there is one.
    "llm.model_name",
];
/// The model that answered.
pub(crate) const RESPONSE_MODEL: &[&str] = &[
    "gen_ai.response.model",
    "ai.response.model",
    "llm.model_name",
];
/// Input (prompt) tokens.
pub(crate) const INPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
    "llm.usage.prompt_tokens",
    "ai.usage.inputTokens",
    "ai.usage.promptTokens",
];
/// Output (completion) tokens.
pub(crate) const OUTPUT_TOKENS: &[&str] = &[
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
    "llm.usage.completion_tokens",
    "ai.usage.outputTokens",
    "ai.usage.completionTokens",
];
/// Input tokens read from the provider's prompt cache (a part of the input tokens).
pub(crate) const CACHE_READ_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
    "llm.token_count.prompt_details.cache_read",
    "ai.usage.cachedInputTokens",
];
/// Input tokens written to the provider's prompt cache.
pub(crate) const CACHE_WRITE_TOKENS: &[&str] = &[
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
    "llm.token_count.prompt_details.cache_write",
];
/// A cost in USD recorded on the span; it wins over the price table.
pub(crate) const COST_USD: &[&str] = &[
    "gen_ai.usage.cost",
    "gen_ai.usage.cost_usd",
    "llm.cost.total",
    "operation.cost",
];
/// Finish reasons: an array or a single string.
pub(crate) const FINISH_REASONS: &[&str] = &[
    "gen_ai.response.finish_reasons",
    "gen_ai.response.finish_reason",
    "llm.finish_reason",
    "ai.response.finishReason",
];
/// The tool's name.
pub(crate) const TOOL_NAME: &[&str] = &[
    "gen_ai.tool.name",
    "tool.name",
    "ai.toolCall.name",
    "traceloop.entity.name",
];
/// The id the model gave the call, which links a tool span to the LLM output.
pub(crate) const TOOL_CALL_ID: &[&str] = &[
    "gen_ai.tool.call.id",
    "tool_call.id",
    "tool.id",
    "ai.toolCall.id",
];
/// The call's arguments. OpenInference's `tool.parameters` is the tool's JSON schema, not the
/// call's arguments, so it is deliberately absent.
pub(crate) const TOOL_ARGUMENTS: &[&str] = &[
    "gen_ai.tool.call.arguments",
    "tool.arguments",
    "tool_arguments",
    "ai.toolCall.args",
    "traceloop.entity.input",
    "input.value",
];
/// The call's result.
pub(crate) const TOOL_RESULT: &[&str] = &[
    "gen_ai.tool.call.result",
    "tool.output",
    "tool_response",
    "ai.toolCall.result",
    "traceloop.entity.output",
    "output.value",
];
/// The agent's name. The Vercel AI SDK names a `generateText`/`streamText` call by its
/// telemetry `functionId` (which it also writes as `resource.name`).
pub(crate) const AGENT_NAME: &[&str] = &[
    "gen_ai.agent.name",
    "agent.name",
    "traceloop.entity.name",
    "ai.telemetry.functionId",
];

/// Attributes of an LLM span that hold its output's tool calls as JSON (each call's `id` or
/// `toolCallId` is read, see `turn`).
pub(crate) const OUTPUT_TOOL_CALLS: &[&str] = &["gen_ai.output.messages", "ai.response.toolCalls"];
/// Flattened output tool-call ids: keys with this prefix and suffix and `.tool_calls.` between
/// (OpenInference `llm.output_messages.0.message.tool_calls.0.tool_call.id`, Traceloop
/// `gen_ai.completion.0.tool_calls.0.id`).
pub(crate) const OUTPUT_TOOL_CALL_ID_KEYS: &[(&str, &str)] = &[
    ("llm.output_messages.", ".tool_call.id"),
    ("gen_ai.completion.", ".id"),
];

/// The span-name prefix of the Vercel AI SDK, whose providers are `{provider}.{api}`
/// (`openai.chat`, `openai.responses`, `anthropic.messages`), in `gen_ai.system` too.
pub(crate) const VERCEL_SPAN_PREFIX: &str = "ai.";
