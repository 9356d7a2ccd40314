//! The test API (`traceval::capture`, `Trace`, `OtlpCapture`) as a user's tests use it: real
//! `tracing` and OpenTelemetry instrumentation, captures running at once on threads and on one
//! runtime, assertions that pass and assertions that fail (with their panic messages and
//! locations), and the Python SDK agent through the OTLP helper.

use std::cell::{Cell, RefCell};
use std::panic::AssertUnwindSafe;
use std::process::Command;
use std::sync::{Arc, Barrier, Once};
use std::time::Duration;

use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{Span as _, TraceContextExt as _, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
use traceval::Trace;
use traceval::testing::OtlpCapture;
use traceval::trace::StatusCode;
use tracing::Instrument as _;

use crate::support::root;

/// Runs the expression expecting a panic: `(line of the call, what `catch` saw)`. The line is
/// the macro's, so keep each use on one line (short enough for rustfmt to leave it there).
macro_rules! fails {
    ($e:expr) => {
        (
            line!(),
            catch(|| {
                let _ = $e;
            }),
        )
    };
}

/// An agent run numbered `n`: a `tracing` agent span holding a `tracing` chat span and an
/// OpenTelemetry tool span from the global tracer, every name and value carrying `n`. `meet`
/// runs while every span is open, so all runs overlap when it is a barrier.
fn agent_sync(n: usize, meet: impl FnOnce()) {
    let agent = tracing::info_span!(
        "invoke_agent",
        otel.name = format!("invoke_agent agent-{n}"),
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = format!("agent-{n}"),
    );
    agent.in_scope(|| {
        tracing::info_span!(
            "chat",
            gen_ai.operation.name = "chat",
            gen_ai.usage.input_tokens = n as i64
        )
        .in_scope(|| {});
        let tracer = opentelemetry::global::tracer("test-agent");
        let mut tool = tracer.start(format!("execute_tool tool_{n}"));
        tool.set_attribute(KeyValue::new("gen_ai.tool.name", format!("tool_{n}")));
        tool.set_attribute(KeyValue::new(
            "gen_ai.tool.call.arguments",
            format!("{{\"n\":{n}}}"),
        ));
        meet();
        tool.end();
    });
}

/// [`agent_sync`] as async code, meeting at an async barrier.
async fn agent_async(n: usize, meet: Arc<tokio::sync::Barrier>) {
    let agent = tracing::info_span!(
        "invoke_agent",
        otel.name = format!("invoke_agent agent-{n}"),
        gen_ai.operation.name = "invoke_agent",
        gen_ai.agent.name = format!("agent-{n}"),
    );
    async move {
        async { tokio::task::yield_now().await }
            .instrument(tracing::info_span!(
                "chat",
                gen_ai.operation.name = "chat",
                gen_ai.usage.input_tokens = n as i64
            ))
            .await;
        let tracer = opentelemetry::global::tracer("test-agent");
        let mut tool = tracer.start(format!("execute_tool tool_{n}"));
        tool.set_attribute(KeyValue::new("gen_ai.tool.name", format!("tool_{n}")));
        tool.set_attribute(KeyValue::new(
            "gen_ai.tool.call.arguments",
            format!("{{\"n\":{n}}}"),
        ));
        meet.wait().await;
        tool.end();
    }
    .instrument(agent)
    .await
}

/// Exactly run `n`'s spans: its agent, its chat and its tool, nested, and nothing else.
fn assert_only_run(trace: &Trace, n: usize) {
    assert_eq!(trace.len(), 3, "run {n}:\n{trace}");
    assert_eq!(trace.tree().roots().len(), 1, "run {n}:\n{trace}");
    let names: Vec<&str> = trace.spans().map(|s| s.name.as_str()).collect();
    let tool = format!("execute_tool tool_{n}");
    assert_eq!(
        names,
        [&format!("invoke_agent agent-{n}"), "chat", &tool],
        "run {n}"
    );
    assert_eq!(trace.tool_names(), [format!("tool_{n}")]);
    assert_eq!(
        trace.tool_calls()[0].arguments,
        Some(serde_json::json!({ "n": n }))
    );
    assert_eq!(trace.llm_usage().input_tokens, n as u64);
    trace
        .assert_span(&format!("agent[name=\"agent-{n}\"] > tool"))
        .count(1)
        .after("llm");
    let trace_ids = trace.tree().trace_ids();
    assert_eq!(trace_ids.len(), 1);
}

#[test]
fn captures_on_parallel_threads_see_only_their_own_spans() {
    let runs = 16;
    let barrier = Arc::new(Barrier::new(runs));
    let threads: Vec<_> = (0..runs)
        .map(|n| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                traceval::capture_sync(|| {
                    agent_sync(n, || {
                        barrier.wait();
                    })
                })
            })
        })
        .collect();
    let traces: Vec<Trace> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let mut ids = Vec::new();
    for (n, trace) in traces.iter().enumerate() {
        assert_only_run(trace, n);
        ids.extend(trace.tree().trace_ids());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), runs, "one trace per capture");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captures_on_one_multi_thread_runtime_see_only_their_own_spans() {
    let runs = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(runs));
    let tasks: Vec<_> = (0..runs)
        .map(|n| tokio::spawn(traceval::capture(agent_async(n, barrier.clone()))))
        .collect();
    for (n, task) in tasks.into_iter().enumerate() {
        assert_only_run(&task.await.unwrap(), n);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn interleaved_captures_on_one_thread_see_only_their_own_spans() {
    // Every capture is polled on this one thread, in turns: the context travels with each
    // future, not with the thread.
    let runs = 16;
    let barrier = Arc::new(tokio::sync::Barrier::new(runs));
    let mut set = tokio::task::JoinSet::new();
    for n in 0..runs {
        let barrier = barrier.clone();
        set.spawn(async move { (n, traceval::capture(agent_async(n, barrier)).await) });
    }
    let mut seen = 0;
    while let Some(done) = set.join_next().await {
        let (n, trace) = done.unwrap();
        assert_only_run(&trace, n);
        seen += 1;
    }
    assert_eq!(seen, runs);
}

#[test]
fn tracing_and_opentelemetry_spans_nest_in_one_trace() {
    let provider = traceval::testing::tracer_provider();
    let trace = traceval::capture_sync(|| {
        let global = opentelemetry::global::tracer("global");
        global.in_span("invoke_agent planner", |_| {
            // A tracing span under an OpenTelemetry span...
            tracing::info_span!("step.plan").in_scope(|| {
                // ...and an OpenTelemetry span (from a handed-in tracer) under that.
                provider
                    .tracer("handed")
                    .in_span("execute_tool search", |cx| {
                        cx.span()
                            .set_attribute(KeyValue::new("gen_ai.tool.name", "search"))
                    });
            });
        });
    });
    let rendered = trace.render();
    let names: Vec<(u32, &str)> = trace
        .tree()
        .walk()
        .map(|n| (n.depth(), n.span().name.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            (0, "invoke_agent planner"),
            (1, "step.plan"),
            (2, "execute_tool search")
        ],
        "{rendered}"
    );
    let scopes: Vec<&str> = trace.spans().map(|s| s.scope.name.as_str()).collect();
    assert_eq!(scopes, ["global", "tracing", "handed"]);
    trace
        .assert_span("agent > step > tool[name=\"search\"]")
        .count(1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_work_is_captured_when_it_carries_the_context() {
    let trace = traceval::capture(async {
        // Carries the OpenTelemetry context: captured.
        tokio::spawn(
            async { tracing::info_span!("carried.context").in_scope(|| {}) }.with_current_context(),
        )
        .await
        .unwrap();
        // Inside a tracing span of the code, `in_current_span` carries it too.
        async {
            tokio::spawn(
                async { tracing::info_span!("carried.span").in_scope(|| {}) }.in_current_span(),
            )
            .await
            .unwrap();
        }
        .instrument(tracing::info_span!("outer"))
        .await;
        // A thread handed the context: captured.
        let cx = Context::current();
        std::thread::spawn(move || {
            let _attached = cx.attach();
            tracing::info_span!("carried.thread").in_scope(|| {});
        })
        .join()
        .unwrap();
        // Neither carries it: their spans are a trace of their own, not captured.
        tokio::spawn(async { tracing::info_span!("lost.task").in_scope(|| {}) })
            .await
            .unwrap();
        std::thread::spawn(|| tracing::info_span!("lost.thread").in_scope(|| {}))
            .join()
            .unwrap();
    })
    .await;
    let mut names: Vec<&str> = trace.spans().map(|s| s.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["carried.context", "carried.span", "carried.thread", "outer"],
        "{trace}"
    );
}

#[test]
fn a_capture_inside_a_tracing_span_or_a_capture_keeps_its_own_spans() {
    let mut inner = None;
    let outer = traceval::capture_sync(|| {
        tracing::info_span!("outer.step").in_scope(|| {
            inner = Some(traceval::capture_sync(|| {
                tracing::info_span!("inner.step").in_scope(|| {});
            }));
        });
    });
    let inner = inner.unwrap();
    assert_eq!(
        inner.spans().map(|s| &*s.name).collect::<Vec<_>>(),
        ["inner.step"]
    );
    assert_eq!(
        outer.spans().map(|s| &*s.name).collect::<Vec<_>>(),
        ["outer.step"]
    );

    // A capture started inside a tracing span of the test itself still gets its code's spans.
    let test_span = tracing::info_span!("test.harness");
    let trace = test_span
        .in_scope(|| traceval::capture_sync(|| tracing::info_span!("code.step").in_scope(|| {})));
    assert_eq!(
        trace.spans().map(|s| &*s.name).collect::<Vec<_>>(),
        ["code.step"]
    );
}

#[test]
fn a_tracer_taken_after_init_but_before_the_capture_is_captured() {
    traceval::testing::init();
    let tracer = opentelemetry::global::tracer("early");
    let trace = traceval::capture_sync(|| tracer.in_span("step.early", |_| {}));
    assert_eq!(
        trace.spans().map(|s| &*s.name).collect::<Vec<_>>(),
        ["step.early"]
    );
}

/// A trace with an agent, two LLM calls around a search tool, and a failed delete tool.
fn sample() -> Trace {
    traceval::capture_sync(|| {
        tracing::info_span!(
            "invoke_agent support",
            gen_ai.operation.name = "invoke_agent",
            gen_ai.agent.name = "support"
        )
        .in_scope(|| {
            tracing::info_span!(
                "chat gpt-4o",
                gen_ai.operation.name = "chat",
                gen_ai.request.model = "gpt-4o",
                gen_ai.usage.input_tokens = 100,
                gen_ai.usage.output_tokens = 10
            )
            .in_scope(|| {});
            tracing::info_span!(
                "execute_tool search",
                gen_ai.operation.name = "execute_tool",
                gen_ai.tool.name = "search",
                gen_ai.tool.call.arguments = r#"{"q":"refund"}"#
            )
            // At least a millisecond, for `max_duration`.
            .in_scope(|| std::thread::sleep(Duration::from_millis(1)));
            let tracer = opentelemetry::global::tracer("tools");
            let mut delete = tracer.start("execute_tool delete_account");
            delete.set_attribute(KeyValue::new("gen_ai.tool.name", "delete_account"));
            delete.set_status(opentelemetry::trace::Status::error("denied"));
            delete.end();
            tracing::info_span!(
                "chat gpt-4o",
                gen_ai.operation.name = "chat",
                gen_ai.request.model = "gpt-4o",
                gen_ai.usage.input_tokens = 150,
                gen_ai.usage.output_tokens = 30
            )
            .in_scope(|| {});
        });
    })
}

#[test]
fn passing_assertions_and_readings() {
    let trace = sample();
    assert_eq!(trace.tool_names(), ["search", "delete_account"]);
    let usage = trace.llm_usage();
    assert_eq!(
        (usage.llm_calls, usage.input_tokens, usage.output_tokens),
        (2, 250, 40)
    );
    assert_eq!(trace.llm_calls().len(), 2);
    trace
        .assert_span(r#"tool[name="search"]"#)
        .count(1)
        .after("llm:first")
        .before("llm:last")
        .status(StatusCode::Unset)
        .max_duration(Duration::from_secs(10))
        .attr("gen_ai.tool.call.arguments", r#"{"q":"refund"}"#);
    trace
        .assert_span("llm")
        .count_at_least(2)
        .count_at_most(2)
        .attr("gen_ai.request.model", "gpt-4o");
    // Numbers compare by value.
    trace
        .assert_span("llm:first")
        .attr("gen_ai.usage.input_tokens", 100.0);
    // `attr` holds for every matched span: the second call has 150 tokens.
    assert!(
        fails!(
            trace
                .assert_span("llm")
                .attr("gen_ai.usage.input_tokens", 100)
        )
        .1
        .is_err()
    );
    trace
        .assert_span(r#"tool[name="delete_account"]"#)
        .status(StatusCode::Error);
    trace.assert_no_span("retrieval");
    trace.assert_no_span(r#"tool[name="refund"]"#);
    assert_eq!(trace.select("agent > tool").len(), 2);
    assert!(trace.to_string().contains("execute_tool search  [tool]"));
}

/// What a failed assertion reported: its message and where it panicked.
#[derive(Debug)]
struct Failure {
    message: String,
    location: String,
}

/// Runs `f`, expecting a panic, and returns its message and location (from a panic hook that
/// records them for this thread only, so other tests' panics print as usual).
fn catch(f: impl FnOnce()) -> Result<(), Failure> {
    thread_local! {
        static CATCHING: Cell<bool> = const { Cell::new(false) };
        static LOCATION: RefCell<String> = const { RefCell::new(String::new()) };
    }
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.get() {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LOCATION.replace(at);
            } else {
                previous(info);
            }
        }));
    });
    CATCHING.set(true);
    let result = std::panic::catch_unwind(AssertUnwindSafe(f));
    CATCHING.set(false);
    result.map_err(|payload| Failure {
        message: payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
        location: LOCATION.take(),
    })
}

#[test]
fn failing_assertions_panic_at_the_callers_line_with_the_marked_tree() {
    let trace = sample();
    // (what ran and on which line, what the message starts with, which spans are marked)
    type Case<'a> = ((u32, Result<(), Failure>), &'a str, &'a [&'a str]);
    let tools: &[&str] = &["execute_tool search", "execute_tool delete_account"];
    let model = "gen_ai.request.model";
    let limit = Duration::from_micros(999);
    let cases: Vec<Case<'_>> = vec![
        (
            fails!(trace.assert_span("tool").count(1)),
            "`tool`: 2 span(s) match, expected 1",
            tools,
        ),
        (
            fails!(trace.assert_span("retrieval")),
            "`retrieval`: no span matches",
            &[],
        ),
        (
            fails!(trace.assert_no_span(r#"tool[name="delete_account"]"#)),
            "`tool[name=\"delete_account\"]`: 1 span(s) match, expected 0",
            &["execute_tool delete_account"],
        ),
        (
            fails!(trace.assert_span("llm").count(2).before("tool")),
            "`llm`: 1 of 2 span(s) do not start before `tool`",
            &[
                "chat gpt-4o",
                "execute_tool search",
                "execute_tool delete_account",
            ],
        ),
        (
            fails!(trace.assert_span("tool").status(StatusCode::Ok)),
            "`tool`: 2 of 2 span(s) are not `ok` (first is `unset`)",
            tools,
        ),
        (
            fails!(trace.assert_span("tool").max_duration(limit)),
            "`tool`: 1 of 2 span(s) longer than 999µs",
            &["execute_tool search"],
        ),
        (
            fails!(trace.assert_span("llm:last").attr(model, "x")),
            "`llm:last`: 1 of 1 span(s) lack gen_ai.request.model=\"x\"",
            &["chat gpt-4o"],
        ),
        (
            fails!(trace.assert_span("tool").after("retrieval")),
            "`tool`: nothing matches `retrieval`, which they must come after",
            &[],
        ),
    ];
    for ((line, result), message, marked) in cases {
        let failure = result.expect_err(message);
        assert_eq!(failure.location, format!("{}:{line}", file!()), "{message}");
        let message = format!("span assertion failed: {message}");
        assert!(
            failure.message.starts_with(&message),
            "{}\n--- expected to start with\n{message}",
            failure.message
        );
        let header = if marked.is_empty() {
            "spans:"
        } else {
            "spans (>> marks the spans the assertion is about):"
        };
        assert_eq!(failure.message.lines().nth(1), Some(header));
        // The tree follows, every span of the trace on a line, the offending ones marked.
        let tree: Vec<&str> = failure.message.lines().skip(2).collect();
        assert_eq!(tree.len(), trace.len(), "{}", failure.message);
        let mut flagged: Vec<&str> = tree
            .iter()
            .filter_map(|l| l.split_once(">> ").map(|(_, rest)| rest))
            .map(|rest| rest.split("  ").next().unwrap())
            .collect();
        let mut want = marked.to_vec();
        // The two chats share a name: compare the sets of names.
        flagged.sort();
        flagged.dedup();
        want.sort();
        assert_eq!(flagged, want, "{}", failure.message);
    }
}

#[test]
fn a_bad_selector_panics_with_its_column() {
    let trace = sample();
    let (line, failure) = fails!(trace.assert_span(r#"tool[name="search""#));
    let failure = failure.unwrap_err();
    assert_eq!(failure.location, format!("{}:{line}", file!()));
    assert_eq!(
        failure.message,
        "invalid selector: selector error at column 19: expected `]`\n\
         tool[name=\"search\"\n                  ^ expected `]`"
    );
    let (line, failure) = fails!(trace.assert_span("tool").before("llm["));
    let failure = failure.unwrap_err();
    assert_eq!(failure.location, format!("{}:{line}", file!()));
    assert!(
        failure
            .message
            .starts_with("invalid selector: selector error at column 5"),
        "{}",
        failure.message
    );
    assert!(fails!(trace.select("!")).1.is_err());
}

#[test]
fn an_assertion_on_an_empty_capture_says_nothing_was_captured() {
    let trace = traceval::capture_sync(|| {});
    assert!(trace.is_empty());
    trace.assert_no_span("span");
    let failure = fails!(trace.assert_span("span")).1.unwrap_err();
    assert!(
        failure
            .message
            .starts_with("span assertion failed: `span`: no span matches\nno spans were captured"),
        "{}",
        failure.message
    );
}

#[test]
fn a_capture_that_panics_leaves_the_next_one_clean() {
    let result = catch(|| {
        traceval::capture_sync(|| {
            tracing::info_span!("before.panic").in_scope(|| panic!("agent crashed"));
        });
    });
    assert_eq!(result.unwrap_err().message, "agent crashed");
    let trace = traceval::capture_sync(|| tracing::info_span!("after").in_scope(|| {}));
    assert_eq!(
        trace.spans().map(|s| &*s.name).collect::<Vec<_>>(),
        ["after"]
    );
}

fn python_agent(otlp: &OtlpCapture, exporter: &str) -> std::process::Output {
    Command::new("python3")
        .arg(root().join("tests/agents/otel_agent.py"))
        .arg(exporter)
        .envs(otlp.env())
        .env_remove("OTEL_SERVICE_NAME")
        .env_remove("OTEL_RESOURCE_ATTRIBUTES")
        .output()
        .expect("python3 runs")
}

fn assert_python_trace(trace: &Trace) {
    assert_eq!(trace.len(), 3, "{trace}");
    trace
        .assert_span(r#"agent[name="weather"] > tool[name="get_weather"]"#)
        .count(1)
        .after("llm")
        .attr("gen_ai.tool.call.arguments", r#"{"city": "Paris"}"#);
    assert_eq!(trace.llm_usage().input_tokens, 120);
    assert_eq!(
        trace.tool_calls()[0].arguments,
        Some(serde_json::json!({"city": "Paris"}))
    );
}

#[test]
fn otlp_capture_returns_a_python_agents_trace_in_a_plain_test() {
    let otlp = OtlpCapture::start();
    let output = python_agent(&otlp, "http");
    assert!(
        output.status.success(),
        "{}\nhint: pip install -r tests/requirements.txt",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_python_trace(&otlp.trace());
}

#[tokio::test(flavor = "current_thread")]
async fn otlp_capture_works_while_a_single_thread_runtime_blocks_on_the_agent() {
    // The test blocks its only runtime thread on the process: the receiver answers from its
    // own thread. Two captures at once keep their agents apart.
    let (a, b) = (OtlpCapture::start(), OtlpCapture::start());
    assert_ne!(a.endpoint(), b.endpoint());
    let output = python_agent(&a, "grpc");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_python_trace(&a.trace());
    let empty = b.with_timeout(Duration::from_millis(100));
    let failure = fails!(empty.trace()).1.unwrap_err();
    assert!(
        failure.message.contains("no spans arrived at"),
        "{}",
        failure.message
    );
}

#[test]
fn each_test_in_a_fresh_process_sets_capture_up_by_itself() {
    // What `cargo nextest` does: one process per test, so every test is the first to capture.
    let exe = std::env::current_exe().expect("the test binary");
    for test in [
        "test_api::captures_on_one_multi_thread_runtime_see_only_their_own_spans",
        "test_api::tracing_and_opentelemetry_spans_nest_in_one_trace",
        "test_api::a_tracer_taken_after_init_but_before_the_capture_is_captured",
        "weather_agent::tests::calls_the_weather_tool_once_between_two_model_calls",
    ] {
        let output = Command::new(&exe)
            .args(["--exact", test, "--test-threads", "1"])
            .output()
            .expect("the test binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("test result: ok. 1 passed;"),
            "{test}:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
