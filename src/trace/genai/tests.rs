use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::trace::span::{KeyValue, SpanId, StatusCode, TraceId};

struct B {
    spans: Vec<Span>,
}

impl B {
    fn new() -> B {
        B { spans: Vec::new() }
    }

    /// Adds a span with id `id`, parent `parent` (0 = root), start `start`.
    fn span(mut self, id: u8, parent: u8, start: u64, name: &str, attrs: &[(&str, Value)]) -> B {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = (parent != 0).then_some(SpanId([parent; 8]));
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = start + 100;
        s.attributes = attrs
            .iter()
            .map(|(k, v)| KeyValue::new(k, v.clone()))
            .collect();
        self.spans.push(s);
        self
    }

    fn error(mut self) -> B {
        self.spans.last_mut().unwrap().status.code = StatusCode::Error;
        self
    }

    fn tree(self) -> SpanTree {
        SpanTree::build(self.spans.into_iter().map(Arc::new))
    }
}

fn s(v: &str) -> Value {
    Value::from(v)
}

fn i(v: i64) -> Value {
    Value::Int(v)
}

fn kinds(tree: &SpanTree) -> Vec<(String, Kind)> {
    let view = GenAiView::new(tree);
    tree.walk()
        .map(|n| (n.span().name.clone(), view.kind(n.id())))
        .collect()
}

#[test]
fn otel_genai_current_names() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "invoke_agent weather",
            &[
                ("gen_ai.operation.name", s("invoke_agent")),
                ("gen_ai.agent.name", s("weather")),
            ],
        )
        .span(
            2,
            1,
            1,
            "chat gpt-4o",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.provider.name", s("openai")),
                ("gen_ai.request.model", s("gpt-4o")),
                ("gen_ai.response.model", s("gpt-4o-2024-08-06")),
                ("gen_ai.usage.input_tokens", i(100)),
                ("gen_ai.usage.output_tokens", i(20)),
                ("gen_ai.usage.cache_read.input_tokens", i(64)),
                (
                    "gen_ai.response.finish_reasons",
                    Value::Array(Arc::from([s("tool_calls")])),
                ),
            ],
        )
        .span(
            3,
            1,
            2,
            "execute_tool get_weather",
            &[
                ("gen_ai.operation.name", s("execute_tool")),
                ("gen_ai.tool.name", s("get_weather")),
                ("gen_ai.tool.call.id", s("call_1")),
                ("gen_ai.tool.call.arguments", s(r#"{"city":"Paris"}"#)),
                ("gen_ai.tool.call.result", s("sunny")),
            ],
        )
        .span(
            4,
            1,
            3,
            "embeddings text-embedding-3",
            &[("gen_ai.operation.name", s("embeddings"))],
        )
        .tree();
    let view = GenAiView::new(&tree);
    assert_eq!(
        kinds(&tree).iter().map(|(_, k)| *k).collect::<Vec<_>>(),
        [Kind::Agent, Kind::Llm, Kind::Tool, Kind::Embedding]
    );
    let llm = &view.llm_calls()[0];
    assert_eq!(llm.provider.as_deref(), Some("openai"));
    assert_eq!(llm.request_model.as_deref(), Some("gpt-4o"));
    assert_eq!(llm.response_model.as_deref(), Some("gpt-4o-2024-08-06"));
    assert_eq!(
        (llm.input_tokens, llm.output_tokens, llm.cache_read_tokens),
        (Some(100), Some(20), Some(64))
    );
    assert_eq!(llm.finish_reasons, ["tool_calls"]);
    let tool = &view.tool_calls()[0];
    assert_eq!(tool.name, "get_weather");
    assert_eq!(tool.call_id.as_deref(), Some("call_1"));
    assert_eq!(tool.arguments, Some(json!({"city": "Paris"})));
    assert_eq!(tool.result.as_deref(), Some("sunny"));
    assert_eq!(view.agents()[0].name, "weather");
}

#[test]
fn otel_genai_older_names() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "chat gpt-4",
            &[
                ("gen_ai.system", s("openai")),
                ("gen_ai.usage.prompt_tokens", i(11)),
                ("gen_ai.usage.completion_tokens", i(7)),
                ("gen_ai.response.finish_reason", s("stop")),
            ],
        )
        .tree();
    let view = GenAiView::new(&tree);
    let llm = &view.llm_calls()[0];
    assert_eq!(llm.provider.as_deref(), Some("openai"));
    assert_eq!((llm.input_tokens, llm.output_tokens), (Some(11), Some(7)));
    assert_eq!(llm.finish_reasons, ["stop"]);
}

#[test]
fn openinference_kinds_and_fields() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "agent",
            &[
                ("openinference.span.kind", s("AGENT")),
                ("agent.name", s("helper")),
            ],
        )
        .span(
            2,
            1,
            1,
            "ChatCompletion",
            &[
                ("openinference.span.kind", s("LLM")),
                ("llm.system", s("openai")),
                ("llm.model_name", s("gpt-4o-mini")),
                ("llm.token_count.prompt", i(50)),
                ("llm.token_count.completion", i(5)),
                ("llm.cost.total", Value::Double(0.002)),
            ],
        )
        .span(
            3,
            1,
            2,
            "get_weather",
            &[
                ("openinference.span.kind", s("TOOL")),
                ("tool.name", s("get_weather")),
                ("tool.parameters", s(r#"{"type":"object"}"#)),
                ("input.value", s(r#"{"city":"Oslo"}"#)),
                ("output.value", s("cold")),
            ],
        )
        .span(
            4,
            1,
            3,
            "retrieve",
            &[("openinference.span.kind", s("RETRIEVER"))],
        )
        .span(5, 1, 4, "chain", &[("openinference.span.kind", s("CHAIN"))])
        .span(
            6,
            1,
            5,
            "embed",
            &[("openinference.span.kind", s("EMBEDDING"))],
        )
        .tree();
    let view = GenAiView::new(&tree);
    assert_eq!(
        kinds(&tree).iter().map(|(_, k)| *k).collect::<Vec<_>>(),
        [
            Kind::Agent,
            Kind::Llm,
            Kind::Tool,
            Kind::Retrieval,
            Kind::Step,
            Kind::Embedding
        ]
    );
    let llm = &view.llm_calls()[0];
    assert_eq!(llm.provider.as_deref(), Some("openai"));
    assert_eq!(llm.cost_usd, Some(0.002));
    // tool.parameters is the schema, never the arguments.
    assert_eq!(
        view.tool_calls()[0].arguments,
        Some(json!({"city": "Oslo"}))
    );
    assert_eq!(view.tool_calls()[0].result.as_deref(), Some("cold"));
    assert_eq!(view.agents()[0].name, "helper");
}

#[test]
fn vercel_ai_sdk_agent_name_and_bare_provider() {
    let id = [
        ("ai.telemetry.functionId", s("weather-agent")),
        ("resource.name", s("weather-agent")),
    ];
    let with = |more: &[(&'static str, Value)]| {
        let mut attrs = id.to_vec();
        attrs.extend_from_slice(more);
        attrs
    };
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "ai.generateText",
            &with(&[("ai.model.provider", s("openai.chat"))]),
        )
        .span(
            2,
            1,
            1,
            "ai.generateText.doGenerate",
            &with(&[("gen_ai.system", s("openai.chat"))]),
        )
        .span(
            3,
            1,
            2,
            "ai.streamText.doStream",
            &with(&[("ai.model.provider", s("openai.responses"))]),
        )
        .span(
            4,
            1,
            3,
            "ai.generateText.doGenerate",
            &with(&[("gen_ai.system", s("amazon-bedrock"))]),
        )
        // Outside the Vercel AI SDK a dot belongs to the provider's name.
        .span(
            5,
            0,
            4,
            "chat m",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.provider.name", s("aws.bedrock")),
            ],
        )
        .tree();
    let view = GenAiView::new(&tree);
    assert_eq!(view.agents()[0].name, "weather-agent");
    let providers: Vec<Option<&str>> = view
        .llm_calls()
        .iter()
        .map(|c| c.provider.as_deref())
        .collect();
    assert_eq!(
        providers,
        [
            Some("openai"),
            Some("openai"),
            Some("amazon-bedrock"),
            Some("aws.bedrock")
        ]
    );
    let root = tree.roots().next().unwrap();
    assert_eq!(view.provider_of(root.span()).as_deref(), Some("openai"));
}

#[test]
fn openllmetry_traceloop_kinds_and_kwargs() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "weather.workflow",
            &[("traceloop.span.kind", s("workflow"))],
        )
        .span(
            2,
            1,
            1,
            "openai.chat",
            &[
                ("llm.request.type", s("chat")),
                ("gen_ai.system", s("openai")),
                ("gen_ai.request.model", s("gpt-4o-mini")),
                ("gen_ai.usage.prompt_tokens", i(30)),
                ("gen_ai.usage.completion_tokens", i(3)),
            ],
        )
        .span(
            3,
            1,
            2,
            "get_weather.tool",
            &[
                ("traceloop.span.kind", s("tool")),
                ("traceloop.entity.name", s("get_weather")),
                (
                    "traceloop.entity.input",
                    s(r#"{"args": [], "kwargs": {"city": "Rome"}}"#),
                ),
                ("traceloop.entity.output", s(r#""warm""#)),
            ],
        )
        .span(
            4,
            1,
            3,
            "plan.agent",
            &[
                ("traceloop.span.kind", s("agent")),
                ("traceloop.entity.name", s("planner")),
            ],
        )
        .tree();
    let view = GenAiView::new(&tree);
    assert_eq!(
        kinds(&tree).iter().map(|(_, k)| *k).collect::<Vec<_>>(),
        [Kind::Step, Kind::Llm, Kind::Tool, Kind::Agent]
    );
    assert_eq!(view.usage().input_tokens, 30);
    assert_eq!(view.tool_calls()[0].name, "get_weather");
    assert_eq!(
        view.tool_calls()[0].arguments,
        Some(json!({"city": "Rome"}))
    );
    assert_eq!(view.tool_calls()[0].result.as_deref(), Some("warm"));
    assert_eq!(view.agents()[0].name, "planner");
}

#[test]
fn positional_arguments_are_kept_whole() {
    assert_eq!(
        parse_arguments(r#"{"args": ["Rome"], "kwargs": {}}"#),
        Some(json!({"args": ["Rome"], "kwargs": {}}))
    );
    assert_eq!(parse_arguments("not json"), None);
}

#[test]
fn span_names_from_sdk_docs() {
    let cases = [
        ("chat gpt-4o", Kind::Llm),
        ("call_llm gemini", Kind::Llm),
        ("llm.chat claude", Kind::Llm),
        ("llm.completion", Kind::Llm),
        ("gen_ai.chat", Kind::Llm),
        ("execute_tool search", Kind::Tool),
        ("tool.execute search", Kind::Tool),
        ("tool.search", Kind::Tool),
        ("invoke_agent planner", Kind::Agent),
        ("agent.run", Kind::Agent),
        ("ai.agent.run", Kind::Agent),
        ("step.plan", Kind::Step),
        ("llm.retry_attempt", Kind::Retry),
        ("ai.generateText.doGenerate", Kind::Llm),
        ("ai.toolCall", Kind::Tool),
        ("GET /v1/things", Kind::Other),
        ("chatter", Kind::Other),
    ];
    for (name, want) in cases {
        let span = Span::new(TraceId([1; 16]), SpanId([1; 8]), name);
        assert_eq!(classify(&span), want, "{name}");
    }
    let tool = B::new().span(1, 0, 0, "tool.execute search", &[]).tree();
    assert_eq!(GenAiView::new(&tool).tool_calls()[0].name, "search");
}

#[test]
fn retry_attempt_with_chat_operation_is_a_retry_not_a_call() {
    let span = {
        let mut s = Span::new(TraceId([1; 16]), SpanId([1; 8]), "llm.retry_attempt");
        s.attributes = [KeyValue::new("gen_ai.operation.name", "chat")]
            .into_iter()
            .collect();
        s
    };
    assert_eq!(classify(&span), Kind::Retry);
}

#[test]
fn aggregated_usage_on_wrappers_is_not_counted_twice() {
    // A LangChain-style LLM span wrapping the client library's LLM span, both reporting usage,
    // under an agent span that repeats the total.
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "invoke_agent a",
            &[
                ("gen_ai.operation.name", s("invoke_agent")),
                ("gen_ai.usage.input_tokens", i(999)),
            ],
        )
        .span(
            2,
            1,
            1,
            "ChatOpenAI",
            &[
                ("openinference.span.kind", s("LLM")),
                ("llm.token_count.prompt", i(10)),
            ],
        )
        .span(
            3,
            2,
            2,
            "ChatCompletion",
            &[
                ("openinference.span.kind", s("LLM")),
                ("llm.token_count.prompt", i(10)),
            ],
        )
        .span(
            4,
            1,
            3,
            "chat m",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.usage.input_tokens", i(5)),
            ],
        )
        .tree();
    let usage = GenAiView::new(&tree).usage();
    assert_eq!(usage.llm_calls, 2);
    assert_eq!(usage.input_tokens, 15);
}

#[test]
fn wrapper_usage_counts_when_the_inner_span_has_none() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "outer",
            &[
                ("openinference.span.kind", s("LLM")),
                ("llm.token_count.prompt", i(10)),
            ],
        )
        .span(2, 1, 1, "inner", &[("openinference.span.kind", s("LLM"))])
        .tree();
    let usage = GenAiView::new(&tree).usage();
    assert_eq!((usage.llm_calls, usage.input_tokens), (1, 10));
}

#[test]
fn retries_after_failed_siblings_and_extra_attempts() {
    let chat = [("gen_ai.operation.name", s("chat"))];
    let tree = B::new()
        .span(1, 0, 0, "agent", &[])
        .span(2, 1, 1, "chat m", &chat)
        .error()
        .span(3, 1, 2, "chat m", &chat)
        .error()
        .span(4, 1, 3, "chat m", &chat)
        .span(5, 1, 4, "chat m", &chat)
        .span(6, 1, 5, "chat n", &chat)
        .span(7, 6, 6, "llm.retry_attempt", &[])
        .span(8, 6, 7, "llm.retry_attempt", &[])
        .span(9, 6, 8, "llm.retry_attempt", &[])
        .tree();
    let view = GenAiView::new(&tree);
    // Spans 3 and 4 follow failures; each of 7, 8 and 9 is one retry (Sema's
    // `llm.retry_attempt`: one span per HTTP retry, nested under its call).
    assert_eq!(view.retries().len(), 5);
    assert_eq!(view.error_spans().len(), 2);
    assert_eq!(view.llm_calls().iter().filter(|c| c.is_retry).count(), 2);
}

#[test]
fn a_tool_instrumented_twice_is_one_call() {
    let tree = B::new()
        .span(
            1,
            0,
            0,
            "get_weather.tool",
            &[
                ("traceloop.span.kind", s("tool")),
                ("traceloop.entity.name", s("get_weather")),
            ],
        )
        .span(
            2,
            1,
            1,
            "execute_tool get_weather",
            &[("gen_ai.operation.name", s("execute_tool"))],
        )
        .span(
            3,
            1,
            2,
            "execute_tool other",
            &[("gen_ai.operation.name", s("execute_tool"))],
        )
        .tree();
    let names: Vec<_> = GenAiView::new(&tree)
        .tool_calls()
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert_eq!(names, ["get_weather", "other"]);
}

#[test]
fn absurd_usage_saturates_and_bad_costs_are_ignored() {
    let chat = |cost: &str| {
        vec![
            ("gen_ai.operation.name", s("chat")),
            ("gen_ai.usage.input_tokens", s("9223372036854775807")),
            ("gen_ai.usage.cost", s(cost)),
        ]
    };
    let tree = B::new()
        .span(1, 0, 0, "a", &chat("NaN"))
        .span(2, 0, 1, "b", &chat("-1"))
        .span(3, 0, 2, "c", &chat("0.5"))
        .tree();
    let usage = GenAiView::new(&tree).usage();
    assert_eq!(usage.input_tokens, u64::MAX);
    assert_eq!(usage.recorded_cost_usd, 0.5);
    assert_eq!(usage.calls_without_cost, 2);
}

#[test]
fn tool_errors_come_from_status_or_error_type() {
    let tree = B::new()
        .span(1, 0, 0, "execute_tool a", &[("error.type", s("Timeout"))])
        .span(2, 0, 1, "execute_tool b", &[])
        .tree();
    let view = GenAiView::new(&tree);
    assert_eq!(view.tool_calls()[0].error.as_deref(), Some("Timeout"));
    assert_eq!(view.tool_calls()[1].error, None);
}
