//! Where forwarded spans go and how, resolved once from the flags, the environment and
//! `traceval.toml`'s `[forward]` (flag > environment > file > default), with no I/O: the
//! environment is a lookup function, so every precedence is testable.
//!
//! | setting | sources, strongest first |
//! | --- | --- |
//! | on/off | `--no-forward` > `--forward URL` > `OTEL_SDK_DISABLED=true` or `OTEL_TRACES_EXPORTER=none` (off) > `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` > `OTEL_EXPORTER_OTLP_ENDPOINT` > `[forward] endpoint` > the `langfuse` profile's `LANGFUSE_HOST` > off |
//! | protocol | `--forward-protocol` > `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL` > `OTEL_EXPORTER_OTLP_PROTOCOL` > `[forward] protocol` > `http/protobuf` |
//! | headers | `--forward-header` (repeatable) and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` / `OTEL_EXPORTER_OTLP_HEADERS` and `[forward] headers`, a name set by a stronger source wins, then the profile's |
//! | profile | `--forward-profile` > `[forward] profile` > `generic` |
//! | events | `--forward-events` > `[forward] events` > `span` |
//! | timeout | `--forward-timeout` > `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT` / `OTEL_EXPORTER_OTLP_TIMEOUT` (ms) > `[forward] timeout` > 10 s (15 s with the `mlflow` profile) |
//! | required | `--forward-required` or `[forward] required` |
//! | compression | `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION` / `OTEL_EXPORTER_OTLP_COMPRESSION` (`gzip`, `none`) > gzip, except to loopback |
//!
//! A header value is given by reference, `NAME=env:VAR`, so that no secret is written in argv
//! or a file; the environment's `OTEL_EXPORTER_OTLP_HEADERS` holds values, as the OTel
//! specification has it.

use std::time::Duration;

/// A header value: never shown in `Debug`, `Display`, logs or reports (the API key type).
pub(crate) use crate::llm::http::ApiKey as Secret;

/// The OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Protocol {
    /// OTLP/gRPC.
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies (Phoenix accepts only this one over HTTP).
    #[default]
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    /// OTLP/HTTP with JSON bodies.
    #[serde(rename = "http/json")]
    HttpJson,
}

impl Protocol {
    /// Parses the OTel spelling.
    pub fn parse(text: &str) -> Option<Protocol> {
        match text.trim() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            "http/json" => Some(Protocol::HttpJson),
            _ => None,
        }
    }

    /// The OTel spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
            Protocol::HttpJson => "http/json",
        }
    }
}

/// What a backend needs beyond plain OTLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Nothing beyond the `eval.*` and `test.*` attributes.
    #[default]
    Generic,
    /// Arize Phoenix: a project, OpenInference span kinds, trial input and output, a session
    /// per case × model.
    Phoenix,
    /// Langfuse: endpoint and Basic auth from `LANGFUSE_*`, the ingestion-version header,
    /// experiment attributes.
    Langfuse,
    /// MLflow: the experiment header, a longer first-request timeout.
    Mlflow,
}

impl Profile {
    /// Parses a profile name.
    pub fn parse(text: &str) -> Option<Profile> {
        match text.trim() {
            "generic" => Some(Profile::Generic),
            "phoenix" => Some(Profile::Phoenix),
            "langfuse" => Some(Profile::Langfuse),
            "mlflow" => Some(Profile::Mlflow),
            _ => None,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Generic => "generic",
            Profile::Phoenix => "phoenix",
            Profile::Langfuse => "langfuse",
            Profile::Mlflow => "mlflow",
        }
    }
}

/// How verdicts travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Events {
    /// Span events named `gen_ai.evaluation.result` (every trace backend keeps them).
    #[default]
    Span,
    /// Log records with `event_name = gen_ai.evaluation.result` (the convention's exact form),
    /// to the logs endpoint.
    Log,
    /// Both.
    Both,
    /// Not sent.
    None,
}

impl Events {
    /// Parses `span`, `log`, `both` or `none`.
    pub fn parse(text: &str) -> Option<Events> {
        match text.trim() {
            "span" => Some(Events::Span),
            "log" => Some(Events::Log),
            "both" => Some(Events::Both),
            "none" => Some(Events::None),
            _ => None,
        }
    }

    /// Verdicts go as span events.
    pub fn spans(self) -> bool {
        matches!(self, Events::Span | Events::Both)
    }

    /// Verdicts go as log records.
    pub fn logs(self) -> bool {
        matches!(self, Events::Log | Events::Both)
    }
}

/// Everything forwarding needs, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForwardConfig {
    /// The URL posted to (HTTP: the full `/v1/traces` URL; gRPC: the server's base URL).
    pub(crate) endpoint: String,
    /// The transport.
    pub(crate) protocol: Protocol,
    /// The backend profile.
    pub(crate) profile: Profile,
    /// Request headers (lower-case names), values secret.
    pub(crate) headers: Vec<(String, Secret)>,
    /// How verdicts travel.
    pub(crate) events: Events,
    /// Per request, and the most the run waits after its last trial.
    pub(crate) timeout: Duration,
    /// Undelivered spans make the run exit 3.
    pub(crate) required: bool,
    /// Spans held waiting for the backend at most; more are dropped (counted).
    pub(crate) queue: usize,
    /// The `phoenix` profile's project name (`{run_id}` is replaced).
    pub(crate) project: String,
    /// The `mlflow` profile's experiment id.
    pub(crate) experiment: String,
    /// What set the endpoint (`--forward`, an environment variable, `traceval.toml`), for
    /// the first line of the run.
    pub(crate) source: String,
    /// The variables holding header values: agents do not inherit them.
    pub(crate) secret_vars: Vec<String>,
    /// `OTEL_EXPORTER_OTLP_COMPRESSION`: `Some(true)` for gzip, `Some(false)` for none; unset,
    /// gzip except to loopback.
    pub(crate) compression: Option<bool>,
}

impl ForwardConfig {
    /// The endpoint as the run shows it: no user info, query or fragment.
    pub(crate) fn shown_endpoint(&self) -> String {
        shown(&self.endpoint)
    }
}

/// The standard variable that turns forwarding off, as `NAME=value`: `OTEL_SDK_DISABLED=true`
/// or `OTEL_TRACES_EXPORTER=none` (any case); `--forward` still wins over it.
pub(crate) fn switched_off(set: &dyn Fn(&str) -> Option<String>) -> Option<&'static str> {
    [
        ("OTEL_SDK_DISABLED", "true", "OTEL_SDK_DISABLED=true"),
        ("OTEL_TRACES_EXPORTER", "none", "OTEL_TRACES_EXPORTER=none"),
    ]
    .into_iter()
    .find(|(name, off, _)| set(name).is_some_and(|v| v.trim().eq_ignore_ascii_case(off)))
    .map(|(_, _, shown)| shown)
}

/// The endpoint without user info, query or fragment (credentials travel there sometimes).
pub(crate) fn shown(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(url) => crate::llm::http::display_url(&url),
        Err(_) => "<invalid URL>".to_owned(),
    }
}

/// The `--forward*` flags, as given.
#[derive(Debug, Clone, Default)]
pub(crate) struct ForwardFlags {
    /// `--forward URL`.
    pub(crate) url: Option<String>,
    /// `--no-forward`.
    pub(crate) off: bool,
    /// `--forward-protocol`.
    pub(crate) protocol: Option<String>,
    /// `--forward-header NAME=env:VAR`, repeatable.
    pub(crate) headers: Vec<String>,
    /// `--forward-profile`.
    pub(crate) profile: Option<String>,
    /// `--forward-events`.
    pub(crate) events: Option<String>,
    /// `--forward-timeout`.
    pub(crate) timeout: Option<Duration>,
    /// `--forward-required`.
    pub(crate) required: bool,
}

/// `traceval.toml`'s `[forward]`, validated for types by the suite loader.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ForwardFile {
    /// `endpoint`.
    pub(crate) endpoint: Option<String>,
    /// `protocol`.
    pub(crate) protocol: Option<String>,
    /// `profile`.
    pub(crate) profile: Option<String>,
    /// `headers`: name → `env:VAR`.
    pub(crate) headers: Vec<(String, String)>,
    /// `events`.
    pub(crate) events: Option<String>,
    /// `timeout`.
    pub(crate) timeout: Option<Duration>,
    /// `required`.
    pub(crate) required: Option<bool>,
    /// `queue`.
    pub(crate) queue: Option<usize>,
    /// `project` (the `phoenix` profile's).
    pub(crate) project: Option<String>,
    /// `experiment-id` (the `mlflow` profile's).
    pub(crate) experiment: Option<String>,
}

/// Spans held for the backend by default.
pub(crate) const DEFAULT_QUEUE: usize = 8192;
/// The default per-request timeout and end-of-run wait.
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The `mlflow` profile's default timeout: its first request after a start took 8–10 s.
const MLFLOW_TIMEOUT: Duration = Duration::from_secs(15);

/// Resolves forwarding: `Ok(None)` when it is off. `var` reads the environment; the error is a
/// sentence naming the flag, variable or key at fault.
pub(crate) fn resolve(
    flags: &ForwardFlags,
    file: &ForwardFile,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<ForwardConfig>, String> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    let profile = match flags.profile.as_deref().or(file.profile.as_deref()) {
        None => Profile::Generic,
        Some(text) => Profile::parse(text).ok_or_else(|| {
            format!("unknown forward profile `{text}` (generic, phoenix, langfuse or mlflow)")
        })?,
    };
    let protocol_text = flags
        .protocol
        .clone()
        .map(|p| (p, "--forward-protocol"))
        .or_else(|| {
            set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
                .map(|p| (p, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
        })
        .or_else(|| set("OTEL_EXPORTER_OTLP_PROTOCOL").map(|p| (p, "OTEL_EXPORTER_OTLP_PROTOCOL")))
        .or_else(|| file.protocol.clone().map(|p| (p, "[forward] protocol")));
    let (protocol, protocol_from) = match protocol_text {
        None => (Protocol::HttpProtobuf, "the default"),
        Some((text, from)) => (
            Protocol::parse(&text).ok_or_else(|| {
                format!("{from}: unknown OTLP protocol `{text}` (grpc, http/protobuf or http/json)")
            })?,
            from,
        ),
    };
    if flags.off {
        return Ok(None);
    }
    let disabled = switched_off(&set).is_some();
    let http = protocol != Protocol::Grpc;
    // The generic variable and `--forward`/the file's URL without a path name the server; the
    // per-signal variable is used verbatim, as the OTel specification says.
    let with_path = |base: &str| {
        let server_only = |u: reqwest::Url| {
            matches!(u.scheme(), "http" | "https") && (u.path() == "/" || u.path().is_empty())
        };
        if http && reqwest::Url::parse(base).is_ok_and(server_only) {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        } else {
            base.to_owned()
        }
    };
    let generic = |base: String| {
        if http {
            format!("{}/v1/traces", base.trim_end_matches('/'))
        } else {
            base
        }
    };
    let langfuse = || {
        set("LANGFUSE_HOST")
            .or_else(|| set("LANGFUSE_BASE_URL"))
            .map(|host| format!("{}/api/public/otel/v1/traces", host.trim_end_matches('/')))
    };
    let endpoint = match &flags.url {
        Some(url) => Some((with_path(url), "--forward".to_owned())),
        None if disabled => None,
        None => set("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .map(|u| (u, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT".to_owned()))
            .or_else(|| {
                set("OTEL_EXPORTER_OTLP_ENDPOINT")
                    .map(|u| (generic(u), "OTEL_EXPORTER_OTLP_ENDPOINT".to_owned()))
            })
            .or_else(|| {
                file.endpoint
                    .as_deref()
                    .map(|u| (with_path(u), "traceval.toml".to_owned()))
            })
            .or_else(|| {
                (profile == Profile::Langfuse)
                    .then(langfuse)
                    .flatten()
                    .map(|u| (u, "LANGFUSE_HOST".to_owned()))
            }),
    };
    let Some((endpoint, source)) = endpoint else {
        return Ok(None);
    };
    // What was typed is shown unless it may hold credentials (`user:pass@`), which cannot be
    // stripped from what is not an http(s) URL; without `://`, the likely fix is shown.
    let typed = || (!endpoint.contains('@')).then(|| format!(" `{endpoint}`"));
    let hint = || match typed() {
        Some(_) if !endpoint.contains("://") => format!(" (`http://{endpoint}`?)"),
        _ => String::new(),
    };
    let url = reqwest::Url::parse(&endpoint).map_err(|e| {
        let typed = typed().unwrap_or_default();
        format!("{source}:{typed} is not a URL: {e}{}", hint())
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        let typed = typed().unwrap_or_else(|| format!(" a `{}:` URL", url.scheme()));
        return Err(format!(
            "{source}:{typed} is not an http:// or https:// URL{}",
            hint()
        ));
    }
    if protocol == Protocol::Grpc && url.scheme() == "https" {
        return Err(format!(
            "{source}: gRPC over TLS is not supported yet; use http/protobuf for `{}`",
            shown(&endpoint)
        ));
    }
    if protocol == Protocol::HttpJson && profile == Profile::Phoenix {
        return Err(format!(
            "the phoenix profile needs grpc or http/protobuf, not http/json (from \
             {protocol_from}): Phoenix answers 415 to JSON"
        ));
    }
    if protocol == Protocol::Grpc && profile == Profile::Mlflow {
        return Err(format!(
            "the mlflow profile needs http/protobuf or http/json, not grpc (from \
             {protocol_from}): MLflow takes no OTLP over gRPC"
        ));
    }

    let (headers, secret_vars) = headers(flags, file, profile, &set)?;
    let events = match flags.events.as_deref().or(file.events.as_deref()) {
        None => Events::Span,
        Some(text) => Events::parse(text)
            .ok_or_else(|| format!("unknown forward events `{text}` (span, log, both or none)"))?,
    };
    let env_timeout = set("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT")
        .or_else(|| set("OTEL_EXPORTER_OTLP_TIMEOUT"))
        .map(|ms| {
            ms.trim()
                .parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("OTEL_EXPORTER_OTLP_TIMEOUT: `{ms}` is not milliseconds"))
        })
        .transpose()?;
    // A profile's default, never over a timeout the user set.
    let timeout = (flags.timeout.or(env_timeout).or(file.timeout)).unwrap_or(match profile {
        Profile::Mlflow => MLFLOW_TIMEOUT,
        _ => DEFAULT_TIMEOUT,
    });
    let compression = match set("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION")
        .or_else(|| set("OTEL_EXPORTER_OTLP_COMPRESSION"))
        .as_deref()
        .map(str::trim)
    {
        None => None,
        Some("gzip") => Some(true),
        Some("none") => Some(false),
        Some(other) => {
            return Err(format!(
                "OTEL_EXPORTER_OTLP_COMPRESSION: `{other}` is not gzip or none"
            ));
        }
    };
    Ok(Some(ForwardConfig {
        endpoint,
        protocol,
        profile,
        headers,
        events,
        timeout,
        required: flags.required || file.required.unwrap_or(false),
        queue: file.queue.unwrap_or(DEFAULT_QUEUE).max(1),
        project: file
            .project
            .clone()
            .unwrap_or_else(|| "traceval".to_owned()),
        experiment: file.experiment.clone().unwrap_or_else(|| "0".to_owned()),
        source,
        secret_vars,
        compression,
    }))
}

/// Request headers, and the variables their values came from.
type Headers = (Vec<(String, Secret)>, Vec<String>);

/// The request headers: flags, then the environment's, then the file's, then the profile's;
/// a name already set is not set again.
fn headers(
    flags: &ForwardFlags,
    file: &ForwardFile,
    profile: Profile,
    set: &dyn Fn(&str) -> Option<String>,
) -> Result<Headers, String> {
    let mut out: Vec<(String, Secret)> = Vec::new();
    let mut vars: Vec<String> = Vec::new();
    let mut add = |name: &str, value: Secret| {
        let name = name.trim().to_ascii_lowercase();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, value));
        }
    };
    for flag in &flags.headers {
        let (name, value, var) = by_reference(flag, "--forward-header", set)?;
        add(&name, value);
        vars.push(var);
    }
    let env =
        set("OTEL_EXPORTER_OTLP_TRACES_HEADERS").or_else(|| set("OTEL_EXPORTER_OTLP_HEADERS"));
    for item in env.iter().flat_map(|list| list.split(',')) {
        let Some((name, value)) = item.split_once('=') else {
            continue;
        };
        if name.trim().is_empty() {
            continue;
        }
        add(name, Secret::new(percent_decode(value.trim())));
    }
    for (name, reference) in &file.headers {
        let (name, value, var) =
            by_reference(&format!("{name}={reference}"), "[forward] headers", set)?;
        add(&name, value);
        vars.push(var);
    }
    match profile {
        Profile::Langfuse => {
            let (Some(public), Some(secret)) =
                (set("LANGFUSE_PUBLIC_KEY"), set("LANGFUSE_SECRET_KEY"))
            else {
                return Err(
                    "the langfuse profile needs LANGFUSE_PUBLIC_KEY and LANGFUSE_SECRET_KEY".into(),
                );
            };
            add(
                "authorization",
                Secret::new(format!("Basic {}", base64(&format!("{public}:{secret}")))),
            );
            add("x-langfuse-ingestion-version", Secret::new("4"));
            vars.extend(["LANGFUSE_SECRET_KEY".to_owned()]);
        }
        Profile::Mlflow => add(
            "x-mlflow-experiment-id",
            Secret::new(file.experiment.clone().unwrap_or_else(|| "0".to_owned())),
        ),
        Profile::Phoenix | Profile::Generic => {}
    }
    Ok((out, vars))
}

/// `NAME=env:VAR` → the name and the variable's value. A literal value is refused: it would
/// sit in argv (visible to every user of the machine) or in a committed file.
fn by_reference(
    text: &str,
    from: &str,
    set: &dyn Fn(&str) -> Option<String>,
) -> Result<(String, Secret, String), String> {
    let Some((name, reference)) = text.split_once('=') else {
        return Err(format!("{from}: `{}` is not NAME=env:VAR", name_only(text)));
    };
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b))
    {
        return Err(format!(
            "{from}: `{}` is not a header name",
            name_only(name)
        ));
    }
    let Some(var) = reference.trim().strip_prefix("env:") else {
        return Err(format!(
            "{from} {name}: give the value as env:VAR (a variable holding it), never the value \
             itself"
        ));
    };
    let value = set(var)
        .ok_or_else(|| format!("{from} {name}: the environment variable `{var}` is not set"))?;
    Ok((name.to_owned(), Secret::new(value), var.to_owned()))
}

/// At most the first 40 characters of what may be a secret given in the wrong place.
fn name_only(text: &str) -> String {
    text.chars().take_while(|&c| c != '=').take(40).collect()
}

/// `%XX` decoding, as the OTel SDKs apply to `OTEL_EXPORTER_OTLP_HEADERS` values.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Standard base64 with padding (for HTTP Basic auth).
fn base64(text: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| n << 8 | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
