//! The agent: asks the model what to do, runs the tools it asks for, and answers. Every step is
//! a `tracing` span named and attributed as the OpenTelemetry GenAI conventions say, which is
//! all traceval needs to read LLM calls, tool calls and token usage from it.

use serde_json::{Value, json};
use tracing::Instrument as _;
use tracing::field::Empty;

/// Model turns before the agent gives up.
const MAX_TURNS: usize = 4;

/// What the agent has said and heard so far.
#[derive(Debug, Clone)]
pub(crate) enum Message {
    /// The user's question.
    User(String),
    /// A tool's result (or its error).
    Tool(Result<Value, String>),
}

/// What the model wants next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Reply {
    /// Call a tool with these arguments.
    ToolCall { name: String, arguments: Value },
    /// Answer the user.
    Answer(String),
}

/// A stand-in for a chat model: deterministic, offline. It asks for `tool` with the city named
/// in the question ("... in Paris?"), then turns the tool's result into an answer.
#[derive(Debug, Clone)]
pub(crate) struct StubModel {
    /// The tool it asks for (`get_weather` by default; anything else does not exist).
    pub tool: &'static str,
}

impl Default for StubModel {
    fn default() -> Self {
        StubModel {
            tool: "get_weather",
        }
    }
}

impl StubModel {
    /// The model's name, as `gen_ai.request.model` reports it.
    pub(crate) fn name(&self) -> &'static str {
        "stub-1"
    }

    /// The next reply, and the (input, output) tokens it cost: a word is a token here.
    pub(crate) async fn complete(&self, messages: &[Message]) -> (Reply, u64, u64) {
        let reply = match messages.last() {
            Some(Message::Tool(Ok(weather))) => Reply::Answer(format!(
                "It is {} in {}, {}°C.",
                weather["forecast"].as_str().unwrap_or("unknown"),
                weather["city"].as_str().unwrap_or("?"),
                weather["celsius"]
            )),
            Some(Message::Tool(Err(_))) => {
                Reply::Answer("Sorry, I could not get the weather.".to_owned())
            }
            Some(Message::User(question)) => match city_in(question) {
                Some(city) => Reply::ToolCall {
                    name: self.tool.to_owned(),
                    arguments: json!({ "city": city }),
                },
                None => Reply::Answer("Which city do you mean?".to_owned()),
            },
            None => Reply::Answer(String::new()),
        };
        let words = |text: &str| text.split_whitespace().count() as u64;
        let input = messages
            .iter()
            .map(|m| match m {
                Message::User(text) => words(text),
                Message::Tool(Ok(value)) => words(&value.to_string()),
                Message::Tool(Err(error)) => words(error),
            })
            .sum();
        let output = match &reply {
            Reply::Answer(text) => words(text),
            Reply::ToolCall { arguments, .. } => words(&arguments.to_string()) + 1,
        };
        (reply, input, output)
    }
}

/// The word after the last " in ", without punctuation.
fn city_in(question: &str) -> Option<String> {
    let (_, rest) = question.rsplit_once(" in ")?;
    let city: String = rest
        .chars()
        .take_while(|c| c.is_alphabetic() || *c == ' ' || *c == '-')
        .collect();
    let city = city.trim();
    (!city.is_empty()).then(|| city.to_owned())
}

/// Answers `question`: one `invoke_agent` span around the model's turns and the tools.
pub(crate) async fn run(question: &str, model: &StubModel) -> String {
    let span = tracing::info_span!(
        "invoke_agent",
        otel.name = "invoke_agent weather",
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = "weather",
    );
    async {
        let mut messages = vec![Message::User(question.to_owned())];
        for _ in 0..MAX_TURNS {
            match chat(model, &messages).await {
                Reply::Answer(text) => return text,
                Reply::ToolCall { name, arguments } => {
                    let result = execute_tool(&name, &arguments).await;
                    messages.push(Message::Tool(result));
                }
            }
        }
        "I could not find an answer.".to_owned()
    }
    .instrument(span)
    .await
}

/// One model call: a `chat {model}` client span with the model and the token usage.
async fn chat(model: &StubModel, messages: &[Message]) -> Reply {
    let span = tracing::info_span!(
        "chat",
        otel.name = format!("chat {}", model.name()),
        otel.kind = "client",
        gen_ai.operation.name = "chat",
        gen_ai.provider.name = "stub",
        gen_ai.request.model = model.name(),
        gen_ai.usage.input_tokens = Empty,
        gen_ai.usage.output_tokens = Empty,
        gen_ai.response.finish_reasons = Empty,
    );
    let (reply, input, output) = model.complete(messages).instrument(span.clone()).await;
    span.record("gen_ai.usage.input_tokens", input);
    span.record("gen_ai.usage.output_tokens", output);
    let finish = match reply {
        Reply::Answer(_) => "stop",
        Reply::ToolCall { .. } => "tool_calls",
    };
    span.record("gen_ai.response.finish_reasons", finish);
    reply
}

/// One tool call: an `execute_tool {name}` span with the arguments and the result, or the
/// error (status error and `error.type`).
async fn execute_tool(name: &str, arguments: &Value) -> Result<Value, String> {
    let span = tracing::info_span!(
        "execute_tool",
        otel.name = format!("execute_tool {name}"),
        gen_ai.operation.name = "execute_tool",
        gen_ai.tool.name = name,
        gen_ai.tool.call.arguments = arguments.to_string(),
        gen_ai.tool.call.result = Empty,
        error.type = Empty,
        otel.status_code = Empty,
        otel.status_description = Empty,
    );
    let result = async {
        match name {
            "get_weather" => get_weather(arguments["city"].as_str().unwrap_or_default()).await,
            other => Err(format!("no tool named `{other}`")),
        }
    }
    .instrument(span.clone())
    .await;
    match &result {
        Ok(value) => {
            span.record("gen_ai.tool.call.result", value.to_string());
        }
        Err(error) => {
            span.record("error.type", "tool_error");
            span.record("otel.status_code", "error");
            span.record("otel.status_description", error.as_str());
        }
    }
    result
}

/// The tool: a fixed forecast.
async fn get_weather(city: &str) -> Result<Value, String> {
    tokio::task::yield_now().await;
    Ok(json!({ "city": city, "forecast": "sunny", "celsius": 21 }))
}

/// The agent's tests, with traceval's test API. `cargo test` runs them: `tests/it` includes this
/// file (the example binary leaves them out).
#[cfg(test)]
mod tests {
    use super::*;
    use traceval::trace::StatusCode;

    /// Runs the agent on `question` under a capture: its answer and its trace.
    async fn ask(question: &str, model: StubModel) -> (String, traceval::Trace) {
        let mut answer = String::new();
        let trace = traceval::capture(async {
            answer = run(question, &model).await;
        })
        .await;
        (answer, trace)
    }

    #[tokio::test]
    async fn calls_the_weather_tool_once_between_two_model_calls() {
        let (answer, trace) = ask("What's the weather in Paris?", StubModel::default()).await;
        assert_eq!(answer, "It is sunny in Paris, 21°C.");
        trace
            .assert_span(r#"agent[name="weather"] > tool[name="get_weather"]"#)
            .count(1)
            .after("llm:first")
            .before("llm:last")
            .attr("gen_ai.tool.call.arguments", r#"{"city":"Paris"}"#)
            .status(StatusCode::Unset);
        trace
            .assert_span("agent > llm")
            .count(2)
            .attr("gen_ai.request.model", "stub-1");
        assert_eq!(trace.tool_names(), ["get_weather"]);
        let finish: Vec<_> = trace
            .llm_calls()
            .iter()
            .map(|c| c.finish_reasons.join(","))
            .collect();
        assert_eq!(finish, ["tool_calls", "stop"]);
        // A word is a token: the question's 5, then those and the tool's one-word JSON.
        assert_eq!(trace.llm_usage().input_tokens, 5 + (5 + 1));
    }

    /// The shape of a run, pinned: a new span, a renamed tool or a changed model shows up as a
    /// snapshot diff to review (`cargo insta review`), not as a silent change.
    #[tokio::test]
    async fn the_shape_of_a_weather_question_is_pinned() {
        let (_, trace) = ask("What's the weather in Oslo?", StubModel::default()).await;
        traceval::assert_trace_snapshot!("weather_question_shape", trace);
    }

    #[tokio::test]
    async fn answers_without_tools_when_no_city_is_named() {
        let (answer, trace) = ask("What's the weather?", StubModel::default()).await;
        assert_eq!(answer, "Which city do you mean?");
        trace.assert_no_span("tool");
        trace.assert_span("llm").count(1);
    }

    #[tokio::test]
    async fn a_missing_tool_is_an_error_span_and_the_agent_apologises() {
        let model = StubModel {
            tool: "get_forecast",
        };
        let (answer, trace) = ask("Weather in Oslo?", model).await;
        assert_eq!(answer, "Sorry, I could not get the weather.");
        trace
            .assert_span(r#"tool[name="get_forecast"]"#)
            .count(1)
            .status(StatusCode::Error);
        assert_eq!(
            trace.tool_calls()[0].error.as_deref(),
            Some("no tool named `get_forecast`")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn questions_asked_at_once_get_their_own_traces() {
        let cities = ["Paris", "Oslo", "Lima", "Kyoto"];
        let runs = cities.map(|city| {
            tokio::spawn(
                async move { ask(&format!("Weather in {city}?"), StubModel::default()).await },
            )
        });
        for (city, run) in cities.into_iter().zip(runs) {
            let (answer, trace) = run.await.unwrap();
            assert!(answer.contains(city), "{answer}");
            trace.assert_span("tool").count(1).attr(
                "gen_ai.tool.call.arguments",
                json!({ "city": city }).to_string(),
            );
        }
    }
}
