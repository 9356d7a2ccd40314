//! Integration tests: one binary. They run the real `traceval` binary, real OpenTelemetry
//! exporters (Rust and Python) against the real receiver, on 127.0.0.1 with port 0.

mod assertions;
mod conventions;
mod demo;
mod errors;
mod in_process;
mod inspect;
mod judge;
mod layers;
mod model;
mod pricing;
mod processes;
mod project_paths;
mod providers;
mod python;
mod reading;
mod receiver;
mod recorded;
mod reference;
mod replay;
mod report_format;
mod run;
mod snapshots;
mod test_api;
/// The example agent and its tests (`cargo run --example weather_agent`).
#[path = "../../examples/weather_agent/agent.rs"]
mod weather_agent;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use traceval::capture::{Receiver, ReceiverConfig, SpanStore};

/// The repository root.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `traceval` binary with `args` from the repository root.
pub fn traceval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_traceval"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("traceval runs")
}

/// Every `*.otlp.jsonl` under `tests/fixtures`, sorted.
pub fn fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".otlp.jsonl") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("tests/fixtures"), &mut out);
    out.sort();
    out
}

/// Installs the ring TLS provider, as `traceval` does at startup: reqwest (and so the OTLP HTTP
/// exporter) panics when building a client without one.
pub fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A store and a receiver serving into it (and TLS set up for the clients that talk to it).
pub async fn receiver() -> (SpanStore, Receiver) {
    tls();
    let store = SpanStore::new();
    let receiver = Receiver::start(ReceiverConfig::default(), store.clone())
        .await
        .expect("receiver starts");
    (store, receiver)
}

/// A generous deadline: waits end on arrival, this only bounds a broken run.
pub fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(20)
}

/// Replaces what changes between runs (durations, ids, a temporary directory) with fixed
/// tokens, for snapshots.
pub fn redact(text: &str, dir: &Path, dir_token: &str) -> String {
    let text = text.replace(&dir.display().to_string(), dir_token);
    let rules = [
        (r"\[\s*\d+\.\d{3}s\]", "[ duration ]"),
        (r"\b\d+(\.\d+)?(ns|µs|ms|s)\b", "[t]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[run-id]",
        ),
        (r"\b[0-9a-f]{32}\b", "[trace-id]"),
    ];
    rules.iter().fold(text, |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}
