//! The builtin agent: traceval's own tool loop, for suites that declare a system prompt and
//! tools instead of shipping agent code. It calls the trial's model, runs the tools the model
//! asks for (several at once when it asks for several), feeds the results back, and stops on a
//! final answer or after `max-turns` model calls.
//!
//! It is instrumented like a well-behaved agent, with the OTel GenAI semantic conventions,
//! through the real `opentelemetry_sdk` into the span store: `invoke_agent {name}` (a child of
//! the trial root) → `chat {model}` (provider, request and response model, usage, finish
//! reasons; message content only when `OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT` is
//! `true`) → `llm.retry_attempt` per retry, and `execute_tool {name}` with the tool name, call
//! id, arguments and result. The graders read these spans like any agent's.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::SdkTracer;
use serde_json::Value as Json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{AgentOutcome, BoxFuture, Driver, TrialContext, cancelled};
use crate::capture::otel::InProcess;
use crate::event::AgentExit;
use crate::grade::tools::json_contains;
use crate::llm::chat::{ChatRequest, ChatResponse, Message, Role, ToolCall, ToolSpec};
use crate::llm::provider::ChatProvider;
use crate::runner::llm_call::{CallFailed, ModelCaller};
use crate::suite::{BuiltinAgent, ToolDef, ToolResult};

/// Largest tool output kept (a command tool's stdout).
const MAX_TOOL_OUTPUT: usize = 256 << 10;

/// Runs a `[agent] kind = "builtin"` suite's trials.
pub(crate) struct BuiltinDriver {
    agent: Arc<BuiltinAgent>,
    capture: Arc<InProcess>,
    capture_content: bool,
}

impl BuiltinDriver {
    /// A driver for `agent` whose spans go through `capture`.
    pub(crate) fn new(agent: BuiltinAgent, capture: Arc<InProcess>) -> BuiltinDriver {
        let capture_content = std::env::var("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        BuiltinDriver {
            agent: Arc::new(agent),
            capture,
            capture_content,
        }
    }
}

impl Driver for BuiltinDriver {
    fn run(&self, trial: TrialContext) -> BoxFuture<AgentOutcome> {
        let agent = Arc::clone(&self.agent);
        let tracer = self.capture.tracer("traceval.builtin");
        let capture_content = self.capture_content;
        Box::pin(async move {
            let started = std::time::Instant::now();
            let Some(provider) = trial.provider.clone() else {
                return AgentOutcome {
                    exit: AgentExit::SpawnFailed {
                        message: format!(
                            "model `{}` has no definition the builtin agent can call",
                            trial.id.model
                        ),
                    },
                    duration: started.elapsed(),
                    output: String::new(),
                    stderr_tail: String::new(),
                    warnings: Vec::new(),
                    recording: None,
                    infrastructure_error: None,
                };
            };
            let run = Loop {
                agent: &agent,
                tracer: &tracer,
                provider: &*provider,
                trial: &trial,
                capture_content,
            };
            let mut cancel = trial.cancel.clone();
            let mut infrastructure_error = None;
            let (exit, output, stderr_tail) = tokio::select! {
                result = run.run() => match result {
                    Ok(answer) => (AgentExit::Code { code: 0 }, answer, String::new()),
                    Err(why) => {
                        infrastructure_error = why.infrastructure.then(|| why.message.clone());
                        (AgentExit::Code { code: 1 }, String::new(), why.message)
                    }
                },
                () = tokio::time::sleep(trial.timeout) => (AgentExit::TimedOut, String::new(), String::new()),
                () = cancelled(&mut cancel) => (AgentExit::Cancelled, String::new(), String::new()),
            };
            AgentOutcome {
                exit,
                duration: started.elapsed(),
                output,
                stderr_tail,
                warnings: Vec::new(),
                recording: None,
                infrastructure_error,
            }
        })
    }
}

/// One trial's tool loop.
struct Loop<'a> {
    agent: &'a BuiltinAgent,
    tracer: &'a SdkTracer,
    provider: &'a dyn ChatProvider,
    trial: &'a TrialContext,
    capture_content: bool,
}

impl Loop<'_> {
    /// The final answer, or why there is none (the builtin agent's "stderr").
    async fn run(&self) -> Result<String, CallFailed> {
        let parent = trial_parent(&self.trial.traceparent);
        let span = self
            .tracer
            .span_builder(format!("invoke_agent {}", self.agent.name))
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "invoke_agent"),
                KeyValue::new("gen_ai.agent.name", self.agent.name.clone()),
                KeyValue::new(
                    "gen_ai.provider.name",
                    self.provider.provider_name().to_owned(),
                ),
            ])
            .start_with_context(self.tracer, &parent);
        let cx = parent.with_span(span);
        let result = self.turns(&cx).await;
        if let Err(why) = &result {
            cx.span().set_status(Status::error(why.message.clone()));
            cx.span()
                .set_attribute(KeyValue::new("error.type", "agent_error"));
        }
        cx.span().end();
        result
    }

    async fn turns(&self, cx: &Context) -> Result<String, CallFailed> {
        let mut request = ChatRequest {
            model: self
                .provider
                .model_name()
                .unwrap_or(&self.trial.id.model)
                .to_owned(),
            messages: Vec::new(),
            tools: self
                .agent
                .tools
                .iter()
                .map(|t| ToolSpec {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    parameters: t.parameters.clone(),
                })
                .collect(),
            temperature: self.agent.temperature,
        };
        if let Some(system) = &self.agent.system_prompt {
            request
                .messages
                .push(Message::text(Role::System, system.clone()));
        }
        let input = match &*self.trial.input {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        };
        request.messages.push(Message::text(Role::User, input));

        for _ in 0..self.agent.max_turns {
            let response = self.chat(cx, &request).await?;
            let calls = response.message.tool_calls.clone();
            let text = response.message.content.clone();
            request.messages.push(response.message);
            if calls.is_empty() {
                return Ok(text.unwrap_or_default());
            }
            let results = self.run_tools(cx, &calls).await;
            for (call, result) in calls.iter().zip(results) {
                request
                    .messages
                    .push(Message::tool_result(call.id.clone(), result));
            }
        }
        Err(CallFailed {
            message: format!(
                "the builtin agent stopped after max-turns = {} model calls without a final \
                 answer",
                self.agent.max_turns
            ),
            infrastructure: false,
        })
    }

    /// One model call with retries, as a `chat` span with one `llm.retry_attempt` per retry.
    async fn chat(&self, cx: &Context, request: &ChatRequest) -> Result<ChatResponse, CallFailed> {
        let identity = format!(
            "{}::{}#{}",
            self.trial.id.suite, self.trial.id.case, self.trial.id.trial
        );
        let caller = ModelCaller {
            tracer: self.tracer,
            provider: self.provider,
            identity: &identity,
            capture_content: self.capture_content,
        };
        caller.chat(cx, request).await
    }

    /// Runs every requested tool at once; results in the order of the calls. Every call's
    /// span starts before any tool runs, so the spans of calls made together overlap even
    /// when their tools answer at once, as the calls did: a reader (a trace-shape snapshot)
    /// can tell them from calls made one after the other.
    async fn run_tools(&self, cx: &Context, calls: &[ToolCall]) -> Vec<String> {
        let spans: Vec<_> = calls.iter().map(|call| self.tool_span(cx, call)).collect();
        let runs = calls
            .iter()
            .zip(spans)
            .map(|(call, span)| self.run_tool(call, span));
        join_all(runs).await
    }

    fn tool_span(&self, cx: &Context, call: &ToolCall) -> opentelemetry_sdk::trace::Span {
        self.tracer
            .span_builder(format!("execute_tool {}", call.name))
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "execute_tool"),
                KeyValue::new("gen_ai.tool.name", call.name.clone()),
                KeyValue::new("gen_ai.tool.call.id", call.id.clone()),
                KeyValue::new("gen_ai.tool.call.arguments", call.arguments.clone()),
            ])
            .start_with_context(self.tracer, cx)
    }

    async fn run_tool(&self, call: &ToolCall, mut span: opentelemetry_sdk::trace::Span) -> String {
        let tool = self.agent.tools.iter().find(|t| t.name == call.name);
        let result = match tool {
            None => Err(format!("unknown tool `{}`", call.name)),
            Some(tool) => match serde_json::from_str::<Json>(&call.arguments) {
                Err(e) => Err(format!("the arguments are not valid JSON: {e}")),
                Ok(args) => execute(tool, &args).await,
            },
        };
        let text = match result {
            Ok(text) => text,
            Err(why) => {
                span.set_status(Status::error(why.clone()));
                span.set_attribute(KeyValue::new("error.type", "tool_error"));
                format!("error: {why}")
            }
        };
        span.set_attribute(KeyValue::new("gen_ai.tool.call.result", text.clone()));
        span.end();
        text
    }
}

/// What a tool returns for `args`.
async fn execute(tool: &ToolDef, args: &Json) -> Result<String, String> {
    let text = |v: &Json| match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    };
    match &tool.result {
        ToolResult::Returns(v) => Ok(text(v)),
        ToolResult::Error(message) => Err(message.clone()),
        ToolResult::ReturnsByArgs(cases) => cases
            .iter()
            .find(|c| c.args.as_ref().is_none_or(|want| json_contains(args, want)))
            .map(|c| text(&c.returns))
            .ok_or_else(|| format!("no returns-by-args entry matches the arguments {args}")),
        ToolResult::Command {
            program,
            args: argv,
            cwd,
            timeout,
            ..
        } => run_command_tool(program, argv, cwd, *timeout, args).await,
    }
}

async fn run_command_tool(
    program: &std::path::Path,
    argv: &[String],
    cwd: &std::path::Path,
    limit: Duration,
    args: &Json,
) -> Result<String, String> {
    let (mut child, _registered) = super::orphans::spawn(
        tokio::process::Command::new(program)
            .args(argv)
            .current_dir(cwd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true),
    )
    .map_err(|e| format!("cannot start `{}`: {e}", program.display()))?;
    // Its own process group, so a timeout stops whatever the tool started too.
    let group = child
        .id()
        .and_then(|id| rustix::process::Pid::from_raw(id as i32));
    let mut stdin = child.stdin.take();
    let input = args.to_string();
    let work = async {
        if let Some(stdin) = stdin.as_mut() {
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        drop(stdin.take());
        let mut out = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            let _ = stdout
                .take(MAX_TOOL_OUTPUT as u64)
                .read_to_end(&mut out)
                .await;
        }
        let mut err = Vec::new();
        if let Some(stderr) = child.stderr.take() {
            let _ = stderr.take(4096).read_to_end(&mut err).await;
        }
        let status = child.wait().await;
        (out, err, status)
    };
    let result = tokio::time::timeout(limit, work).await;
    if let Some(pid) = group {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    match result {
        Err(_) => Err(format!("timed out after {limit:?}")),
        Ok((out, err, Ok(status))) if status.success() => {
            let _ = err;
            Ok(String::from_utf8_lossy(&out).trim_end().to_owned())
        }
        Ok((_, err, status)) => Err(format!(
            "`{}` failed ({}): {}",
            program.display(),
            status.map_or_else(|e| e.to_string(), |s| s.to_string()),
            String::from_utf8_lossy(&err).trim()
        )),
    }
}

/// The OpenTelemetry context of the trial root span, from its `traceparent`.
fn trial_parent(traceparent: &str) -> Context {
    let parts: Vec<&str> = traceparent.split('-').collect();
    let ids = match parts.as_slice() {
        [_, trace, span, _] => opentelemetry::trace::TraceId::from_hex(trace)
            .ok()
            .zip(opentelemetry::trace::SpanId::from_hex(span).ok()),
        _ => None,
    };
    match ids {
        Some((trace, span)) => Context::new().with_remote_span_context(SpanContext::new(
            trace,
            span,
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        )),
        None => Context::new(),
    }
}

/// Awaits futures concurrently on this task, results in order.
pub(crate) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut futures: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut results: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(results.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    results
        .into_iter()
        .map(|r| r.expect("every future completed"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{SpanStore, TrialKey};
    use crate::event::TrialId;
    use crate::llm::provider::ScriptedProvider;
    use crate::llm::scripted::Script;
    use crate::suite::spec::ArgsCase;
    use crate::trace::{GenAiView, SpanTree};
    use serde_json::json;

    const SCRIPT: &str = r#"
model = "sunny-1"
[[rule]]
when.user = 'weather in (?P<a>[A-Z][a-z]+) and (?P<b>[A-Z][a-z]+)'
when.turn = 0
tool-calls = [{ name = "get_weather", args = { city = "${a}" } }, { name = "get_weather", args = { city = "${b}" } }]
usage = { input = 100, output = 20 }
fail = { status = 429, times = 1, retry-after = "1ms" }
[[rule]]
when.turn = 1
tool-calls = [{ name = "delete_everything", args = {} }]
usage = { input = 150, output = 10 }
[[rule]]
when.tool-result = 'denied'
text = "Done: ${tool_result}"
usage = { input = 200, output = 5 }
"#;

    fn agent() -> BuiltinAgent {
        BuiltinAgent {
            name: "weather-bot".into(),
            system_prompt: Some("Use tools.".into()),
            max_turns: 5,
            temperature: Some(0.0),
            tools: vec![
                ToolDef {
                    name: "get_weather".into(),
                    description: None,
                    parameters: json!({"type": "object"}),
                    result: ToolResult::ReturnsByArgs(vec![
                        ArgsCase {
                            args: Some(json!({"city": "Paris"})),
                            returns: json!("sunny"),
                        },
                        ArgsCase {
                            args: None,
                            returns: json!({"sky": "cloudy"}),
                        },
                    ]),
                },
                ToolDef {
                    name: "delete_everything".into(),
                    description: None,
                    parameters: json!({"type": "object"}),
                    result: ToolResult::Error("permission denied".into()),
                },
            ],
        }
    }

    /// A trial context, and the sender that keeps it from being cancelled.
    fn trial(
        provider: Arc<dyn ChatProvider>,
        input: &str,
    ) -> (TrialContext, tokio::sync::watch::Sender<bool>) {
        let key = TrialKey::from_parts("r", "s", "c", "sunny", 0);
        let (tx, cancel) = tokio::sync::watch::channel(false);
        let ctx = TrialContext {
            id: TrialId {
                suite: "s".into(),
                case: "c".into(),
                model: "sunny".into(),
                trial: 0,
            },
            run_id: "r".into(),
            key: key.clone(),
            input: Arc::new(json!(input)),
            timeout: Duration::from_secs(10),
            traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".into(),
            endpoint: String::new(),
            output_path: std::env::temp_dir().join("unused"),
            cancel,
            extra_env: Vec::new(),
            hidden_env: Arc::from([]),
            provider: Some(provider),
        };
        (ctx, tx)
    }

    #[tokio::test]
    async fn the_tool_loop_emits_genai_spans_under_the_trial_root() {
        let store = SpanStore::new();
        let capture = Arc::new(InProcess::new(store.clone()));
        let script = Script::parse(SCRIPT, std::path::Path::new("s.toml")).unwrap();
        let provider = Arc::new(ScriptedProvider::new(Arc::new(script), 1));
        let driver = BuiltinDriver::new(agent(), Arc::clone(&capture));
        let (ctx, _keep) = trial(provider, "weather in Paris and Tokyo");
        let outcome = driver.run(ctx).await;
        assert_eq!(outcome.exit, AgentExit::Code { code: 0 }, "{outcome:?}");
        assert_eq!(outcome.output, "Done: error: permission denied");

        let trace = "0af7651916cd43dd8448eb211c80319c"
            .parse::<crate::trace::TraceId>()
            .unwrap();
        let spans = store.trace(trace);
        let tree = SpanTree::build(spans);
        let view = GenAiView::new(&tree);
        // All under the (absent here) trial root span b7ad…: one orphan root, the agent.
        // One retry span, for the retry after the 429.
        let attempts = tree
            .nodes()
            .filter(|n| n.span().name == "llm.retry_attempt")
            .count();
        assert_eq!(attempts, 1);
        let roots: Vec<_> = tree.roots().map(|r| r.span().name.clone()).collect();
        assert_eq!(roots, ["invoke_agent weather-bot"]);
        assert_eq!(view.usage().llm_calls, 3);
        assert_eq!(view.usage().input_tokens, 450);
        assert_eq!(view.retries().len(), 1, "the 429 was retried once");
        let tools: Vec<(String, Option<Json>)> = view
            .tool_calls()
            .iter()
            .map(|t| (t.name.clone(), t.arguments.clone()))
            .collect();
        assert_eq!(
            tools,
            [
                ("get_weather".to_owned(), Some(json!({"city": "Paris"}))),
                ("get_weather".to_owned(), Some(json!({"city": "Tokyo"}))),
                ("delete_everything".to_owned(), Some(json!({}))),
            ]
        );
        let results: Vec<_> = view
            .tool_calls()
            .iter()
            .map(|t| t.result.clone().unwrap_or_default())
            .collect();
        assert_eq!(results[..2], ["sunny", r#"{"sky":"cloudy"}"#]);
        assert_eq!(
            view.error_spans().len(),
            1,
            "the denied tool; the 429 was retried and the retry succeeded"
        );
        assert_eq!(
            view.llm_calls()[0].response_model.as_deref(),
            Some("sunny-1")
        );
    }

    #[tokio::test]
    async fn command_tools_get_their_arguments_on_stdin_and_are_timed_out() {
        let tool = |script: &str, timeout_ms: u64| ToolDef {
            name: "t".into(),
            description: None,
            parameters: json!({"type": "object"}),
            result: ToolResult::Command {
                program: "sh".into(),
                args: vec!["-c".into(), script.into()],
                cwd: std::env::temp_dir(),
                timeout: Duration::from_millis(timeout_ms),
                line: 1,
            },
        };
        let args = json!({"city": "Paris"});
        assert_eq!(
            execute(&tool("read x; echo \"got $x\"", 5000), &args).await,
            Ok(r#"got {"city":"Paris"}"#.to_owned())
        );
        let failed = execute(&tool("echo oops >&2; exit 3", 5000), &args).await;
        assert!(
            failed.as_ref().is_err_and(|e| e.contains("oops")),
            "{failed:?}"
        );
        let slow = execute(&tool("sleep 5 & sleep 5", 50), &args).await;
        assert!(
            slow.as_ref().is_err_and(|e| e.starts_with("timed out")),
            "{slow:?}"
        );
    }

    #[tokio::test]
    async fn running_out_of_turns_fails_with_a_reason() {
        let store = SpanStore::new();
        let capture = Arc::new(InProcess::new(store.clone()));
        let script = Script::parse(
            "[[rule]]\ntool-calls = [{ name = \"get_weather\", args = { city = \"Paris\" } }]\n",
            std::path::Path::new("loop.toml"),
        )
        .unwrap();
        let provider = Arc::new(ScriptedProvider::new(Arc::new(script), 1));
        let driver = BuiltinDriver::new(agent(), capture);
        let (ctx, _keep) = trial(provider, "anything");
        let outcome = driver.run(ctx).await;
        assert_eq!(outcome.exit, AgentExit::Code { code: 1 });
        assert!(outcome.stderr_tail.contains("max-turns = 5"), "{outcome:?}");
    }
}
