//! One OTLP export with the OTLP retry policy: gRPC (tonic) or HTTP (reqwest) with protobuf or
//! JSON bodies, gzip, per-attempt timeouts, exponential backoff with jitter, `Retry-After`
//! honoured, and the response's partial success read. Retryable, as the OTLP specification
//! says: HTTP 429, 502, 503, 504 and connection failures; gRPC `UNAVAILABLE`,
//! `DEADLINE_EXCEEDED`, `CANCELLED`, `ABORTED`, `OUT_OF_RANGE`, `DATA_LOSS`. Everything else
//! (a 400, 401, 404, 415...) fails at once.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tonic::client::Grpc;
use tonic::codec::{Codec, CompressionEncoding, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Channel;

use super::config::{ForwardConfig, Protocol};

/// Retries after the first attempt.
const RETRIES: u32 = 3;
/// The first backoff; each next one doubles, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_millis(1600);
/// The longest `Retry-After` followed.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);
/// Most bytes of a refusal's body quoted in `first_error`.
const MAX_QUOTED: usize = 200;

/// How an export ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Exported {
    /// The backend took the request; it refused this many of its spans (partial success).
    Accepted {
        /// `partial_success.rejected_spans`.
        rejected: u64,
        /// `partial_success.error_message`, when it rejected some.
        message: Option<String>,
    },
    /// Not delivered, after every retry it was worth.
    Failed(String),
    /// The backend does not take this signal at all (HTTP 404, 405, 415 or 501, gRPC
    /// `UNIMPLEMENTED`): Phoenix and Jaeger take no logs.
    Unsupported(String),
}

/// What one export carries: an OTLP export request, protobuf-encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    /// An `ExportTraceServiceRequest`.
    Traces,
    /// An `ExportLogsServiceRequest`.
    Logs,
}

/// A client of one backend.
pub(crate) struct Transport {
    kind: Kind,
    timeout: Duration,
    /// gzip request bodies: not on loopback, where it costs CPU the run needs and saves
    /// nothing.
    compress: bool,
}

// One per run: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
enum Kind {
    Http {
        client: reqwest::Client,
        url: reqwest::Url,
        /// The logs endpoint: the traces URL with `/v1/logs` for `/v1/traces`.
        logs_url: Option<reqwest::Url>,
        json: bool,
    },
    Grpc {
        client: Grpc<Channel>,
        metadata: MetadataMap,
    },
}

impl Transport {
    /// A client for `config`; inside a tokio runtime (gRPC connects lazily on it).
    pub(crate) fn new(config: &ForwardConfig) -> Result<Transport, String> {
        let compress = config.compression.unwrap_or_else(|| {
            !reqwest::Url::parse(&config.endpoint).is_ok_and(|u| is_loopback(&u))
        });
        let kind = match config.protocol {
            Protocol::Grpc => {
                let channel = Channel::from_shared(config.endpoint.clone())
                    .map_err(|e| format!("not a gRPC endpoint: {e}"))?
                    .connect_timeout(config.timeout)
                    .connect_lazy();
                let mut metadata = MetadataMap::new();
                for (name, value) in &config.headers {
                    let key = MetadataKey::from_bytes(name.as_bytes())
                        .map_err(|_| format!("`{name}` is not a gRPC metadata key"))?;
                    let value = MetadataValue::try_from(value.expose())
                        .map_err(|_| format!("the value of header `{name}` is not ASCII"))?;
                    metadata.insert(key, value);
                }
                let mut client = Grpc::new(channel).accept_compressed(CompressionEncoding::Gzip);
                if compress {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                Kind::Grpc { client, metadata }
            }
            Protocol::HttpProtobuf | Protocol::HttpJson => {
                // `rustls-no-provider`: a client needs a process-wide crypto provider.
                let _ = rustls::crypto::ring::default_provider().install_default();
                let mut headers = HeaderMap::new();
                for (name, value) in &config.headers {
                    let name = HeaderName::from_bytes(name.as_bytes())
                        .map_err(|_| format!("`{name}` is not an HTTP header name"))?;
                    let mut value = HeaderValue::from_str(value.expose())
                        .map_err(|_| format!("the value of header `{name}` is not valid"))?;
                    value.set_sensitive(true);
                    headers.insert(name, value);
                }
                let client = reqwest::Client::builder()
                    .default_headers(headers)
                    .user_agent(concat!("traceval/", env!("CARGO_PKG_VERSION")))
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
                let url = reqwest::Url::parse(&config.endpoint).map_err(|e| e.to_string())?;
                let logs_url = url.path().strip_suffix("/v1/traces").map(|base| {
                    let mut logs = url.clone();
                    logs.set_path(&format!("{base}/v1/logs"));
                    logs
                });
                Kind::Http {
                    client,
                    url,
                    logs_url,
                    json: config.protocol == Protocol::HttpJson,
                }
            }
        };
        Ok(Transport {
            kind,
            timeout: config.timeout,
            compress,
        })
    }

    /// Exports `protobuf`, an export request of `signal`, retrying what is worth retrying,
    /// giving up at `deadline`.
    pub(crate) async fn export(
        &mut self,
        signal: Signal,
        protobuf: Bytes,
        deadline: Instant,
    ) -> Exported {
        // Shared, not copied, by every attempt. tonic compresses gRPC messages itself.
        let body = match &self.kind {
            Kind::Http { json, .. } => {
                let body = if *json {
                    match to_json(signal, &protobuf) {
                        Ok(json) => Bytes::from(json),
                        Err(e) => {
                            return Exported::Failed(format!("cannot encode the request: {e}"));
                        }
                    }
                } else {
                    protobuf
                };
                if self.compress {
                    Bytes::from(gzip(&body))
                } else {
                    body
                }
            }
            Kind::Grpc { .. } => protobuf,
        };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Exported::Failed("the forward timeout passed".into());
            }
            let timeout = self.timeout.min(left);
            let answer =
                match tokio::time::timeout(timeout, self.attempt(signal, &body, timeout)).await {
                    Ok(answer) => answer,
                    Err(_) => Attempt::Retry(
                        format!("no answer within {}", humantime::format_duration(timeout)),
                        None,
                    ),
                };
            let (why, after) = match answer {
                Attempt::Done(exported) => return exported,
                Attempt::Retry(why, after) => (why, after),
            };
            attempt += 1;
            if attempt > RETRIES {
                return Exported::Failed(why);
            }
            let jitter = Duration::from_millis(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) % 100);
            let wait = after.map_or(backoff + jitter, |a| a.min(MAX_RETRY_AFTER));
            if Instant::now() + wait >= deadline {
                return Exported::Failed(why);
            }
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    async fn attempt(&mut self, signal: Signal, body: &Bytes, timeout: Duration) -> Attempt {
        match &mut self.kind {
            Kind::Http {
                client,
                url,
                logs_url,
                json,
            } => {
                let url = match signal {
                    Signal::Traces => url.clone(),
                    Signal::Logs => match logs_url {
                        Some(url) => url.clone(),
                        None => {
                            let why = "no logs endpoint: the traces URL does not end in /v1/traces";
                            return Attempt::Done(Exported::Unsupported(why.into()));
                        }
                    },
                };
                let content_type = if *json {
                    "application/json"
                } else {
                    "application/x-protobuf"
                };
                let path = url.path().to_owned();
                let mut post = client.post(url).header(CONTENT_TYPE, content_type);
                if self.compress {
                    post = post.header(CONTENT_ENCODING, "gzip");
                }
                let sent = post.timeout(timeout).body(body.clone()).send().await;
                let response = match sent {
                    Ok(response) => response,
                    Err(e) => return Attempt::Retry(network_error(&e), None),
                };
                let status = response.status();
                let after = crate::llm::http::retry_after(response.headers(), SystemTime::now());
                let bytes = response.bytes().await.unwrap_or_default();
                if status.is_success() {
                    return Attempt::Done(http_accepted(signal, *json, &bytes));
                }
                let mut why = format!(
                    "HTTP {}{}",
                    status.as_u16(),
                    quoted(&String::from_utf8_lossy(&bytes))
                );
                // The usual cause: a verbatim OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or a URL with
                // a path of its own that is not the receiver's.
                if matches!(status.as_u16(), 404 | 405)
                    && signal == Signal::Traces
                    && !path.ends_with("/v1/traces")
                {
                    why.push_str(&format!(
                        " (the URL's path is `{path}`; OTLP/HTTP receivers take traces at \
                         /v1/traces)"
                    ));
                }
                match status.as_u16() {
                    429 | 502 | 503 | 504 => Attempt::Retry(why, after),
                    404 | 405 | 415 | 501 => Attempt::Done(Exported::Unsupported(why)),
                    _ => Attempt::Done(Exported::Failed(why)),
                }
            }
            Kind::Grpc { client, metadata } => {
                let mut call = tonic::Request::new(body.clone());
                *call.metadata_mut() = metadata.clone();
                call.set_timeout(timeout);
                let answer = match client.ready().await {
                    Err(e) => Err(tonic::Status::unavailable(format!("not ready: {e}"))),
                    Ok(()) => match signal {
                        Signal::Traces => client
                            .unary(call, PathAndQuery::from_static(TRACES), Raw::default())
                            .await
                            .map(|a| traces_accepted(Some(a.into_inner()))),
                        Signal::Logs => client
                            .unary(call, PathAndQuery::from_static(LOGS), Raw::default())
                            .await
                            .map(|a| logs_accepted(Some(a.into_inner()))),
                    },
                };
                match answer {
                    Ok(exported) => Attempt::Done(exported),
                    Err(status) => {
                        use tonic::Code;
                        let mut why =
                            format!("gRPC {:?}{}", status.code(), quoted(status.message()));
                        // What an HTTP server (an OTLP/HTTP port) answers a gRPC client: a
                        // protocol error (HTTP/1 only), or an HTTP status without gRPC's.
                        let message = status.message();
                        if message.contains("h2 protocol error")
                            || message.contains("grpc-status header missing")
                        {
                            why.push_str(
                                " (an OTLP/HTTP port? gRPC receivers listen on their own, \
                                 usually 4317; or --forward-protocol http/protobuf)",
                            );
                        }
                        match status.code() {
                            Code::Unavailable
                            | Code::DeadlineExceeded
                            | Code::Cancelled
                            | Code::Aborted
                            | Code::OutOfRange
                            | Code::DataLoss => Attempt::Retry(why, None),
                            Code::Unimplemented => Attempt::Done(Exported::Unsupported(why)),
                            _ => Attempt::Done(Exported::Failed(why)),
                        }
                    }
                }
            }
        }
    }
}

/// One attempt's end.
enum Attempt {
    Done(Exported),
    /// Worth another attempt, after the backend's `Retry-After` when it gave one.
    Retry(String, Option<Duration>),
}

/// A 2xx answer's body, read as the payload's response (an empty or unreadable body is a
/// full success, as the specification allows).
fn http_accepted(signal: Signal, json: bool, bytes: &[u8]) -> Exported {
    match signal {
        Signal::Traces => traces_accepted(if json {
            serde_json::from_slice(bytes).ok()
        } else {
            ExportTraceServiceResponse::decode(bytes).ok()
        }),
        Signal::Logs => logs_accepted(if json {
            serde_json::from_slice(bytes).ok()
        } else {
            ExportLogsServiceResponse::decode(bytes).ok()
        }),
    }
}

/// The OTLP/JSON form of a protobuf export request.
fn to_json(signal: Signal, protobuf: &[u8]) -> Result<Vec<u8>, String> {
    let json = match signal {
        Signal::Traces => ExportTraceServiceRequest::decode(protobuf)
            .map_err(|e| e.to_string())
            .map(|r| serde_json::to_vec(&r)),
        Signal::Logs => ExportLogsServiceRequest::decode(protobuf)
            .map_err(|e| e.to_string())
            .map(|r| serde_json::to_vec(&r)),
    };
    json?.map_err(|e| e.to_string())
}

/// The gRPC methods of the OTLP collector services.
const TRACES: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
const LOGS: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// A gRPC codec that sends an already encoded request as it is and decodes the answer `A`.
struct Raw<A>(std::marker::PhantomData<A>);

impl<A> Default for Raw<A> {
    fn default() -> Self {
        Raw(std::marker::PhantomData)
    }
}

impl<A: Message + Default + Send + 'static> Codec for Raw<A> {
    type Encode = Bytes;
    type Decode = A;
    type Encoder = Raw<Bytes>;
    type Decoder = Raw<A>;

    fn encoder(&mut self) -> Raw<Bytes> {
        Raw::default()
    }

    fn decoder(&mut self) -> Raw<A> {
        Raw::default()
    }
}

impl Encoder for Raw<Bytes> {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        prost::bytes::BufMut::put_slice(dst, &item);
        Ok(())
    }
}

impl<A: Message + Default> Decoder for Raw<A> {
    type Item = A;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<A>, tonic::Status> {
        A::decode(src)
            .map(Some)
            .map_err(|e| tonic::Status::internal(e.to_string()))
    }
}

fn traces_accepted(answer: Option<ExportTraceServiceResponse>) -> Exported {
    let partial = answer.and_then(|a| a.partial_success);
    partial_success(partial.map(|p| (p.rejected_spans, p.error_message)))
}

fn logs_accepted(answer: Option<ExportLogsServiceResponse>) -> Exported {
    let partial = answer.and_then(|a| a.partial_success);
    partial_success(partial.map(|p| (p.rejected_log_records, p.error_message)))
}

fn partial_success(partial: Option<(i64, String)>) -> Exported {
    match partial {
        Some((rejected, message)) if rejected > 0 => Exported::Accepted {
            rejected: rejected as u64,
            message: (!message.is_empty())
                .then(|| crate::llm::http::truncate(message.trim(), MAX_QUOTED)),
        },
        _ => Exported::Accepted {
            rejected: 0,
            message: None,
        },
    }
}

/// `localhost` or a loopback address.
fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn gzip(body: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(body).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// `: <text>` cut to [`MAX_QUOTED`] bytes, or nothing for an empty text.
fn quoted(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    format!(": {}", crate::llm::http::truncate(text, MAX_QUOTED))
}

/// A connection failure in words, without the URL (it may hold credentials).
fn network_error(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    // The innermost cause says what happened ("Connection refused").
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(last) = last {
        text.push_str(": ");
        text.push_str(&last);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_localhost_and_loopback_addresses_only() {
        let is = |u: &str| is_loopback(&reqwest::Url::parse(u).unwrap());
        assert!(is("http://127.0.0.1:4318/v1/traces"));
        assert!(is("http://127.8.9.1:4318"));
        assert!(is("http://[::1]:4317"));
        assert!(is("http://LOCALHOST:6006"));
        assert!(!is("http://collector:4318"));
        assert!(!is("https://10.0.0.1:4318"));
    }

    #[test]
    fn a_partial_success_is_counted_only_when_something_was_rejected() {
        assert_eq!(
            partial_success(Some((3, " too many ".into()))),
            Exported::Accepted {
                rejected: 3,
                message: Some("too many".into())
            }
        );
        let clean = Exported::Accepted {
            rejected: 0,
            message: None,
        };
        assert_eq!(partial_success(Some((0, "warning only".into()))), clean);
        assert_eq!(partial_success(None), clean);
    }
}
