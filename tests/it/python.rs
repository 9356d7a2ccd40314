//! The official Python OpenTelemetry exporters (HTTP and gRPC) against the receiver, configured
//! only through the environment, as a command agent is. `.ci/run` installs them from
//! `tests/requirements.txt`.

use std::process::Command;

use traceval::capture::TrialKey;
use traceval::trace::{GenAiView, SpanTree};

use crate::support::{receiver, root};

async fn python_agent_delivers_its_spans(protocol: &str, exporter_arg: &str) {
    let (store, receiver) = receiver().await;
    // A case id with a space, comma, `=` and `%` must survive percent-encoding.
    let case = "paris, 20% = warm";
    let trial = TrialKey::from_parts("run-7", "weather", case, "sunny", 3);
    let resource = format!(
        "service.name=otel-agent,eval.run_id=run-7,eval.suite=weather,eval.case={},eval.model=sunny,eval.trial=3",
        "paris%2C%2020%25%20%3D%20warm"
    );
    let script = root().join("tests/agents/otel_agent.py");
    let mut cmd = Command::new("python3");
    cmd.arg(&script)
        .arg(exporter_arg)
        .env(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            receiver.trial_endpoint(&trial),
        )
        .env(
            "OTEL_EXPORTER_OTLP_HEADERS",
            format!("x-traceval-trial={trial}"),
        )
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
        .env("OTEL_RESOURCE_ATTRIBUTES", resource)
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_SERVICE_NAME");
    let output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "agent failed ({protocol}): {}\nhint: pip install -r tests/requirements.txt",
        String::from_utf8_lossy(&output.stderr)
    );

    // The exporter's shutdown waited for our response: spans are stored at exit, no wait.
    let spans = store.trial(&trial);
    assert_eq!(spans.len(), 3, "{protocol}");
    assert_eq!(spans[0].resource.attributes.str("eval.case"), Some(case));
    let tree = SpanTree::build(spans);
    let view = GenAiView::new(&tree);
    assert_eq!(view.usage().llm_calls, 1);
    assert_eq!(view.usage().input_tokens, 120);
    assert_eq!(view.tool_calls()[0].name, "get_weather");
    assert_eq!(
        view.tool_calls()[0].arguments,
        Some(serde_json::json!({"city": "Paris"}))
    );
    assert_eq!(view.llm_calls()[0].finish_reasons, ["tool_calls"]);
    receiver.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_http_protobuf_exporter() {
    python_agent_delivers_its_spans("http/protobuf", "http").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_grpc_exporter() {
    python_agent_delivers_its_spans("grpc", "grpc").await;
}
