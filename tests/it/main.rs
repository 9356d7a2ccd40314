//! Integration tests: one binary. They run the real `traceval` binary, real OpenTelemetry
//! exporters (Rust and Python) against the real receiver, on 127.0.0.1 with port 0. The
//! harness they share (temporary projects, the binary run hermetically, redaction) is `support`.

mod action;
mod assertions;
mod compare;
mod compare_power;
mod conventions;
mod demo;
mod errors;
mod forward;
mod github;
mod html;
mod in_process;
mod init;
mod inspect;
mod judge;
mod layers;
mod merge;
mod mlflow;
mod model;
mod phoenix;
mod pricing;
mod processes;
mod project_paths;
mod python;
mod reading;
mod receiver;
mod recorded;
mod reference;
mod replay;
mod report_format;
mod run;
mod snapshots;
mod stats_oracle;
mod support;
mod test_api;
/// The example agent and its tests (`cargo run --example weather_agent`).
#[path = "../../examples/weather_agent/agent.rs"]
mod weather_agent;
