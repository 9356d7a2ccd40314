//! The `OTEL_*` environment that points an OpenTelemetry SDK at a receiver and attributes its
//! spans to one trial: shared by `traceval run`'s command driver and the test API's
//! `OtlpCapture`.

use super::ingest::TRIAL_HEADER;
use super::store::TrialKey;

/// The OTLP protocol an agent is told to use unless its suite's `env` says otherwise.
pub(crate) const DEFAULT_PROTOCOL: &str = "http/protobuf";

/// The OTLP part of the contract (`docs/reference/agent.md#environment`): where an agent's exporter
/// sends its spans and how they are attributed to the trial `key`, whose receiver endpoint is
/// `endpoint`. `resource` (already encoded `k=v` pairs) is appended to the inherited
/// `OTEL_RESOURCE_ATTRIBUTES`; `base` reads the inherited variables (blank counts as unset).
pub(crate) fn otlp_env(
    endpoint: &str,
    key: &TrialKey,
    resource: Option<&str>,
    base: &dyn Fn(&str) -> Option<String>,
) -> Vec<(&'static str, String)> {
    let header = format!("{TRIAL_HEADER}={key}");
    let headers = join_list(base("OTEL_EXPORTER_OTLP_HEADERS"), &header);
    // A per-signal header variable wins over the general one in every SDK, so merge into the
    // one that would win.
    let traces_headers = join_list(
        base("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or(base("OTEL_EXPORTER_OTLP_HEADERS")),
        &header,
    );
    let mut env = vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_owned()),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            format!("{endpoint}/v1/traces"),
        ),
        ("OTEL_EXPORTER_OTLP_HEADERS", headers),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", traces_headers),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", DEFAULT_PROTOCOL.to_owned()),
        ("OTEL_TRACES_EXPORTER", "otlp".to_owned()),
        ("TRACELOOP_BASE_URL", endpoint.to_owned()),
    ];
    if let Some(resource) = resource {
        env.push((
            "OTEL_RESOURCE_ATTRIBUTES",
            join_list(base("OTEL_RESOURCE_ATTRIBUTES"), resource),
        ));
    }
    env
}

/// `a,b` lists as the `OTEL_*` variables use them: appends `item` to a non-empty `existing`.
fn join_list(existing: Option<String>, item: &str) -> String {
    match existing {
        Some(e) => format!("{},{item}", e.trim_end_matches(',')),
        None => item.to_owned(),
    }
}
