//! A small weather agent, instrumented with `tracing` after the OpenTelemetry GenAI semantic
//! conventions (`invoke_agent`, `chat`, `execute_tool` spans with `gen_ai.*` attributes), run
//! against a stub model: no network, no key.
//!
//! ```text
//! cargo run --example weather_agent -- "What's the weather in Paris?"
//! ```
//!
//! prints the agent's answer and the span tree traceval captured from it. The agent's tests,
//! written with traceval's test API, are at the bottom of `agent.rs`; `cargo test` runs them
//! (the integration tests include that file).

mod agent;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What's the weather in Paris?".to_owned());
    let mut answer = String::new();
    let trace = traceval::capture(async {
        answer = agent::run(&question, &agent::StubModel::default()).await;
    })
    .await;
    println!("{answer}\n\n{trace}");
}
