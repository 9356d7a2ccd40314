use std::collections::BTreeMap;
use std::time::Duration;

use super::*;

fn resolve_with(
    flags: &ForwardFlags,
    file: &ForwardFile,
    env: &[(&str, &str)],
) -> Result<Option<ForwardConfig>, String> {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    resolve(flags, file, &|k| env.get(k).cloned())
}

fn flags(url: &str) -> ForwardFlags {
    ForwardFlags {
        url: Some(url.to_owned()),
        ..ForwardFlags::default()
    }
}

#[test]
fn off_unless_something_names_an_endpoint() {
    let none = resolve_with(&ForwardFlags::default(), &ForwardFile::default(), &[]);
    assert_eq!(none, Ok(None));
}

#[test]
fn the_per_signal_variable_is_verbatim_and_the_generic_one_gets_the_path() {
    let c = resolve_with(
        &ForwardFlags::default(),
        &ForwardFile::default(),
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://c:4318/custom"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.endpoint, "http://c:4318/custom");
    assert_eq!(c.source, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    let c = resolve_with(
        &ForwardFlags::default(),
        &ForwardFile::default(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318/")],
    )
    .unwrap()
    .unwrap();
    assert_eq!(c.endpoint, "http://other:4318/v1/traces");
    // gRPC takes the server's URL as it is.
    let c = resolve_with(
        &ForwardFlags::default(),
        &ForwardFile::default(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        (c.endpoint.as_str(), c.protocol),
        ("http://other:4317", Protocol::Grpc)
    );
}

#[test]
fn the_flag_beats_the_environment_and_the_standard_switches_turn_the_environment_off() {
    let env = [
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://env:4318/v1/traces",
        ),
        ("OTEL_TRACES_EXPORTER", "none"),
    ];
    assert_eq!(
        resolve_with(&ForwardFlags::default(), &ForwardFile::default(), &env),
        Ok(None)
    );
    let off = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318"),
        ("OTEL_SDK_DISABLED", "TRUE"),
    ];
    assert_eq!(
        resolve_with(&ForwardFlags::default(), &ForwardFile::default(), &off),
        Ok(None)
    );
    let c = resolve_with(&flags("http://flag:6006"), &ForwardFile::default(), &env)
        .unwrap()
        .unwrap();
    assert_eq!(c.endpoint, "http://flag:6006/v1/traces");
    assert_eq!(c.source, "--forward");
    let no = ForwardFlags {
        off: true,
        ..flags("http://flag:6006")
    };
    assert_eq!(resolve_with(&no, &ForwardFile::default(), &env), Ok(None));
    let file = ForwardFile {
        endpoint: Some("http://file:4318/v1/traces".into()),
        ..ForwardFile::default()
    };
    let c = resolve_with(&ForwardFlags::default(), &file, &[])
        .unwrap()
        .unwrap();
    assert_eq!(
        (c.endpoint.as_str(), c.source.as_str()),
        ("http://file:4318/v1/traces", "traceval.toml")
    );
}

#[test]
fn header_values_come_by_reference_and_never_show() {
    let with = ForwardFlags {
        headers: vec!["Authorization=env:TOKEN".into()],
        ..flags("http://x:1")
    };
    let c = resolve_with(&with, &ForwardFile::default(), &[("TOKEN", "s3cr3t-abc")])
        .unwrap()
        .unwrap();
    assert_eq!(c.headers.len(), 1);
    assert_eq!(c.headers[0].0, "authorization");
    assert_eq!(c.headers[0].1.expose(), "s3cr3t-abc");
    assert!(!format!("{c:?}").contains("s3cr3t"));

    let literal = ForwardFlags {
        headers: vec!["Authorization=Bearer s3cr3t".into()],
        ..flags("http://x:1")
    };
    let e = resolve_with(&literal, &ForwardFile::default(), &[]).unwrap_err();
    assert!(e.contains("env:VAR") && !e.contains("s3cr3t"), "{e}");
    let unset = ForwardFlags {
        headers: vec!["a=env:NOPE".into()],
        ..flags("http://x:1")
    };
    let e = resolve_with(&unset, &ForwardFile::default(), &[]).unwrap_err();
    assert!(e.contains("`NOPE` is not set"), "{e}");
}

#[test]
fn environment_headers_are_percent_decoded_and_a_flag_wins_on_the_same_name() {
    let with = ForwardFlags {
        headers: vec!["api-key=env:K".into()],
        ..flags("http://x:1")
    };
    let c = resolve_with(
        &with,
        &ForwardFile::default(),
        &[
            ("K", "from-flag"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=env,x-team=a%20b"),
        ],
    )
    .unwrap()
    .unwrap();
    let got: Vec<(&str, &str)> = c
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.expose()))
        .collect();
    assert_eq!(got, [("api-key", "from-flag"), ("x-team", "a b")]);
}

#[test]
fn profiles_add_what_their_backend_needs() {
    let langfuse = ForwardFlags {
        profile: Some("langfuse".into()),
        ..ForwardFlags::default()
    };
    let c = resolve_with(
        &langfuse,
        &ForwardFile::default(),
        &[
            ("LANGFUSE_HOST", "https://cloud.langfuse.com/"),
            ("LANGFUSE_PUBLIC_KEY", "pk-lf-1"),
            ("LANGFUSE_SECRET_KEY", "sk-lf-2"),
        ],
    )
    .unwrap()
    .unwrap();
    assert_eq!(
        c.endpoint,
        "https://cloud.langfuse.com/api/public/otel/v1/traces"
    );
    assert_eq!(
        c.headers[0].1.expose(),
        format!("Basic {}", base64("pk-lf-1:sk-lf-2"))
    );
    assert_eq!(base64("pk-lf-1:sk-lf-2"), "cGstbGYtMTpzay1sZi0y");
    assert_eq!(c.headers[1].0, "x-langfuse-ingestion-version");

    let mlflow = ForwardFlags {
        profile: Some("mlflow".into()),
        timeout: Some(Duration::from_secs(2)),
        ..flags("http://127.0.0.1:5000")
    };
    let c = resolve_with(&mlflow, &ForwardFile::default(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(c.headers[0].0, "x-mlflow-experiment-id");
    assert_eq!(
        c.timeout,
        Duration::from_secs(2),
        "the timeout the user set"
    );
    let default = ForwardFlags {
        timeout: None,
        ..mlflow.clone()
    };
    let c = resolve_with(&default, &ForwardFile::default(), &[])
        .unwrap()
        .unwrap();
    assert_eq!(c.timeout, Duration::from_secs(15), "the profile's default");

    let phoenix_json = ForwardFlags {
        profile: Some("phoenix".into()),
        protocol: Some("http/json".into()),
        ..flags("http://127.0.0.1:6006")
    };
    assert!(resolve_with(&phoenix_json, &ForwardFile::default(), &[]).is_err());
    let mlflow_grpc = ForwardFlags {
        profile: Some("mlflow".into()),
        protocol: Some("grpc".into()),
        ..flags("http://127.0.0.1:5000")
    };
    let refused = resolve_with(&mlflow_grpc, &ForwardFile::default(), &[]).unwrap_err();
    assert_eq!(
        refused,
        "the mlflow profile needs http/protobuf or http/json, not grpc (from \
         --forward-protocol): MLflow takes no OTLP over gRPC"
    );
    // From the environment: the message names the variable.
    let mlflow_env = ForwardFlags {
        protocol: None,
        ..mlflow_grpc
    };
    let refused = resolve_with(
        &mlflow_env,
        &ForwardFile::default(),
        &[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")],
    )
    .unwrap_err();
    assert!(
        refused.contains("(from OTEL_EXPORTER_OTLP_PROTOCOL)"),
        "{refused}"
    );
}

#[test]
fn bad_values_name_their_source() {
    let e = resolve_with(
        &ForwardFlags::default(),
        &ForwardFile::default(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:1"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon"),
        ],
    )
    .unwrap_err();
    assert!(e.starts_with("OTEL_EXPORTER_OTLP_PROTOCOL"), "{e}");
    let e = resolve_with(&flags("ftp://user:pw@x/"), &ForwardFile::default(), &[]).unwrap_err();
    assert!(e.starts_with("--forward") && !e.contains("pw"), "{e}");
}

#[test]
fn shown_endpoints_lose_their_credentials() {
    assert_eq!(
        shown("https://user:pw@collector.example:4318/v1/traces?token=abc"),
        "https://collector.example:4318/v1/traces"
    );
}

#[test]
fn a_url_without_its_scheme_is_shown_as_typed_with_the_fix() {
    let refused = |url: &str| resolve_with(&flags(url), &ForwardFile::default(), &[]).unwrap_err();
    let e = refused("127.0.0.1:16006");
    assert!(
        e.starts_with("--forward: `127.0.0.1:16006` is not a URL")
            && e.ends_with(" (`http://127.0.0.1:16006`?)"),
        "{e}"
    );
    // `localhost:4318` parses, with the scheme `localhost`.
    let e = refused("localhost:4318");
    assert_eq!(
        e,
        "--forward: `localhost:4318` is not an http:// or https:// URL (`http://localhost:4318`?)"
    );
    assert_eq!(
        refused("ftp://host:1"),
        "--forward: `ftp://host:1` is not an http:// or https:// URL"
    );
    // What may hold a password is not echoed.
    let e = refused("me:secret@host:1");
    assert_eq!(
        e,
        "--forward: a `me:` URL is not an http:// or https:// URL"
    );
}
