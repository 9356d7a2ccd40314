//! An example agent in Rust, written by `traceval init --lang rust`: it asks the model (any
//! OpenAI-compatible API: `OPENAI_BASE_URL`, `OPENAI_API_KEY`), runs the tool the model asks
//! for, and answers. Each step is an OpenTelemetry span named and attributed by the GenAI
//! semantic conventions, exported by the OpenTelemetry SDK's OTLP exporter, which reads the
//! endpoint, headers and resource from the environment traceval sets; the spans join the
//! trial's trace through `TRACEPARENT` (traceval's docs/reference/agent.md).

use std::collections::HashMap;
use std::io::Read;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{Span, Status, TraceContextExt, Tracer, TracerProvider};
use opentelemetry::KeyValue;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::{Value, json};

const MAX_TURNS: usize = 4;

fn get_weather(city: &str) -> Result<String, String> {
    match city {
        "Paris" => Ok("It is 18 C and sunny in Paris.".into()),
        "Tokyo" => Ok("It is 22 C and cloudy in Tokyo.".into()),
        "Berlin" => Ok("It is 12 C and rainy in Berlin.".into()),
        _ => Err(format!("unknown city {city}")),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut stdin = String::new();
    std::io::stdin().read_to_string(&mut stdin)?;
    let case: Value = serde_json::from_str(&stdin).unwrap_or(Value::Null);
    let question = case["input"].as_str().unwrap_or_default().to_owned();
    let model = std::env::var("TRACEVAL_MODEL").unwrap_or_else(|_| "gpt-4o-mini".into());
    let api = std::env::var("OPENAI_BASE_URL").unwrap_or_else(|_| "https://api.openai.com/v1".into());
    let key = std::env::var("OPENAI_API_KEY").unwrap_or_default();

    // OTEL_EXPORTER_OTLP_* and OTEL_RESOURCE_ATTRIBUTES are read by the SDK.
    let exporter = opentelemetry_otlp::SpanExporter::builder().with_http().build()?;
    let provider = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name("example-rust-agent").build())
        .with_batch_exporter(exporter)
        .build();
    let tracer = provider.tracer("example_agent");
    // The trial's root span, from the W3C trace context traceval gives.
    let carrier: HashMap<String, String> = std::env::var("TRACEPARENT")
        .map(|tp| HashMap::from([("traceparent".to_owned(), tp)]))
        .unwrap_or_default();
    let parent = TraceContextPropagator::new().extract(&carrier);

    let tools = json!([{
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                           "required": ["city"]},
        },
    }]);
    let mut messages = vec![
        json!({"role": "system", "content": "Answer weather questions with get_weather."}),
        json!({"role": "user", "content": question}),
    ];
    let http = reqwest::blocking::Client::new();
    let agent = tracer
        .span_builder("invoke_agent weather")
        .with_attributes([
            KeyValue::new("gen_ai.operation.name", "invoke_agent"),
            KeyValue::new("gen_ai.agent.name", "weather"),
        ])
        .start_with_context(&tracer, &parent);
    let cx = parent.with_span(agent);
    let mut answer = String::new();
    for _ in 0..MAX_TURNS {
        let mut chat = tracer
            .span_builder(format!("chat {model}"))
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "chat"),
                KeyValue::new("gen_ai.provider.name", "openai"),
                KeyValue::new("gen_ai.request.model", model.clone()),
            ])
            .start_with_context(&tracer, &cx);
        let response: Value = http
            .post(format!("{api}/chat/completions"))
            .bearer_auth(&key)
            .json(&json!({"model": model, "messages": messages, "tools": tools}))
            .send()?
            .error_for_status()?
            .json()?;
        let usage = &response["usage"];
        chat.set_attributes([
            KeyValue::new("gen_ai.response.model", response["model"].as_str().unwrap_or_default().to_owned()),
            KeyValue::new("gen_ai.usage.input_tokens", usage["prompt_tokens"].as_i64().unwrap_or(0)),
            KeyValue::new("gen_ai.usage.output_tokens", usage["completion_tokens"].as_i64().unwrap_or(0)),
        ]);
        chat.end();
        let message = response["choices"][0]["message"].clone();
        let calls = message["tool_calls"].as_array().cloned().unwrap_or_default();
        if calls.is_empty() {
            answer = message["content"].as_str().unwrap_or_default().to_owned();
            break;
        }
        messages.push(message);
        for call in calls {
            let id = call["id"].as_str().unwrap_or_default().to_owned();
            let name = call["function"]["name"].as_str().unwrap_or_default().to_owned();
            let arguments = call["function"]["arguments"].as_str().unwrap_or("{}").to_owned();
            let mut tool = tracer
                .span_builder(format!("execute_tool {name}"))
                .with_attributes([
                    KeyValue::new("gen_ai.operation.name", "execute_tool"),
                    KeyValue::new("gen_ai.tool.name", name.clone()),
                    KeyValue::new("gen_ai.tool.call.id", id.clone()),
                    KeyValue::new("gen_ai.tool.call.arguments", arguments.clone()),
                ])
                .start_with_context(&tracer, &cx);
            let args: Value = serde_json::from_str(&arguments).unwrap_or(Value::Null);
            let result = match (name.as_str(), args["city"].as_str()) {
                ("get_weather", Some(city)) => get_weather(city),
                _ => Err(format!("no tool {name} for {arguments}")),
            };
            // The model sees an error as the tool's result, as agents do.
            let content = result.clone().unwrap_or_else(|e| format!("error: {e}"));
            if let Err(e) = result {
                tool.set_status(Status::error(e));
            }
            tool.set_attribute(KeyValue::new("gen_ai.tool.call.result", content.clone()));
            tool.end();
            messages.push(json!({"role": "tool", "tool_call_id": id, "content": content}));
        }
    }
    cx.span().end();
    // Flushes: the spans are with traceval before the agent exits.
    provider.shutdown()?;
    println!("{answer}");
    Ok(())
}
