//! The embedded OTLP receiver: HTTP (protobuf and JSON, gzip or not) and gRPC on one port.
//!
//! Routes: `POST /v1/traces`, `POST /trial/<trial-key>/v1/traces` (the path names the trial),
//! and gRPC `TraceService/Export`. The `x-traceval-trial` header or metadata names the trial
//! too; without either, the spans' `eval.*` resource attributes may. Nothing is dropped: a
//! request that names no trial is stored unattributed.
//!
//! Bad input never stops the receiver: a malformed body gets 400 (gRPC `INVALID_ARGUMENT`), a
//! body over the limit after decompression gets 413 (gzip bombs are cut off at the limit), so
//! does one whose decoded form would exceed the memory budget (gRPC `RESOURCE_EXHAUSTED`), an
//! unknown content type or encoding gets 415; each with a `google.rpc.Status` message. Spans with
//! invalid ids (wrong length, all zero) are rejected one by one and reported through OTLP partial
//! success. In OTLP/JSON an id that is not hex at all fails the whole request (400), because the
//! JSON mapping decodes ids while parsing.

use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http_body_util::BodyExt;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::budget;
use super::convert::request_from_json;
use super::grpc::TraceGrpc;
use super::ingest::Ingest;
pub use super::ingest::{ReceiverStats, TRIAL_HEADER};
use super::store::{SpanStore, TrialKey};

/// Default limit on a request body after decompression: 32 MiB.
pub const DEFAULT_MAX_BODY: usize = 32 << 20;

/// Default limit on the memory one request may take once decoded: 256 MiB.
pub const DEFAULT_MAX_DECODED: usize = 256 << 20;

/// Where and how the receiver listens.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// Address to bind; `127.0.0.1:0` (a free loopback port) by default.
    pub addr: SocketAddr,
    /// Largest accepted body, after decompression.
    pub max_body: usize,
    /// Largest memory one request may take once decoded, estimated before decoding (see
    /// `budget`): decoding amplifies tiny messages, so the body limit alone does not bound it.
    pub max_decoded: usize,
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_body: DEFAULT_MAX_BODY,
            max_decoded: DEFAULT_MAX_DECODED,
        }
    }
}

/// Why the receiver could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiverError {
    /// Binding the address failed (in use, not permitted...).
    #[error("cannot bind the OTLP receiver to {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A running receiver. Dropping it stops serving; [`Receiver::shutdown`] stops gracefully.
pub struct Receiver {
    addr: SocketAddr,
    stats: Arc<ReceiverStats>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Receiver {
    /// Binds and starts serving into `store`.
    pub async fn start(
        config: ReceiverConfig,
        store: SpanStore,
    ) -> Result<Receiver, ReceiverError> {
        let listener =
            TcpListener::bind(config.addr)
                .await
                .map_err(|source| ReceiverError::Bind {
                    addr: config.addr,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| ReceiverError::Bind {
                addr: config.addr,
                source,
            })?;
        let stats = Arc::new(ReceiverStats::default());
        let ingest = Ingest {
            store,
            stats: stats.clone(),
        };
        let http = Http {
            ingest: ingest.clone(),
            max_body: config.max_body,
            max_decoded: config.max_decoded,
        };
        let grpc = tonic::service::Routes::new(TraceGrpc {
            ingest,
            max_message: config.max_body,
            max_decoded: config.max_decoded,
        })
        .into_axum_router();
        let app = Router::new()
            .route("/v1/traces", post(export))
            .route("/trial/{key}/v1/traces", post(export))
            .with_state(http)
            .merge(grpc);
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            // Serving errors are per connection and already answered; nothing to report.
            let _ = server.await;
        });
        Ok(Receiver {
            addr,
            stats,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// The bound address (with the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. `http://127.0.0.1:4318`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The base endpoint of one trial: `http://127.0.0.1:PORT/trial/<key>`; SDKs append
    /// `/v1/traces`.
    pub fn trial_endpoint(&self, trial: &TrialKey) -> String {
        format!("http://{}/trial/{trial}", self.addr)
    }

    /// What has been received so far.
    pub fn stats(&self) -> &ReceiverStats {
        &self.stats
    }

    /// Stops accepting connections and waits (up to 5 s) for requests in flight.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

#[derive(Clone)]
struct Http {
    ingest: Ingest,
    max_body: usize,
    max_decoded: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

/// `google.rpc.Status`, which OTLP/HTTP error responses carry.
#[derive(Clone, PartialEq, prost::Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

/// gRPC codes used in `google.rpc.Status` bodies.
const INVALID_ARGUMENT: i32 = 3;
const RESOURCE_EXHAUSTED: i32 = 8;
const UNIMPLEMENTED: i32 = 12;

struct Refusal {
    status: StatusCode,
    code: i32,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, code: i32, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }

    fn respond(self, encoding: Encoding) -> Response {
        let body = RpcStatus {
            code: self.code,
            message: self.message,
        };
        match encoding {
            Encoding::Protobuf => (
                self.status,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                body.encode_to_vec(),
            )
                .into_response(),
            Encoding::Json => (
                self.status,
                [(header::CONTENT_TYPE, "application/json")],
                serde_json::json!({"code": body.code, "message": body.message}).to_string(),
            )
                .into_response(),
        }
    }
}

async fn export(State(http): State<Http>, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let encoding = match mime.as_str() {
        "application/x-protobuf" | "application/protobuf" => Encoding::Protobuf,
        "application/json" => Encoding::Json,
        _ => {
            let refusal = Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                UNIMPLEMENTED,
                format!(
                    "unsupported content type `{content_type}`: send application/x-protobuf or application/json"
                ),
            );
            return http.refuse(refusal, &uri, &headers, Encoding::Json);
        }
    };
    match handle(&http, &uri, &headers, body, encoding).await {
        Ok(response) => response,
        Err(refusal) => http.refuse(refusal, &uri, &headers, encoding),
    }
}

impl Http {
    /// Counts a refused request, for the trial it names too (the trial gets a warning: an
    /// agent never sees our answer), and answers it.
    fn refuse(&self, refusal: Refusal, uri: &Uri, headers: &HeaderMap, enc: Encoding) -> Response {
        self.ingest
            .stats
            .bad_requests
            .fetch_add(1, Ordering::Relaxed);
        if let Some(trial) = trial_from(uri, headers) {
            let reason = format!("{}: {}", refusal.status, refusal.message);
            self.ingest.store.note_rejection(&trial, &reason);
        }
        refusal.respond(enc)
    }
}

async fn handle(
    http: &Http,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    encoding: Encoding,
) -> Result<Response, Refusal> {
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("") | Some("identity") => false,
        Some("gzip") => true,
        Some(other) => {
            return Err(Refusal::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                UNIMPLEMENTED,
                format!("unsupported content encoding `{other}`: send gzip or nothing"),
            ));
        }
    };
    let size_hint = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .unwrap_or(0);
    let raw = read_limited(body, size_hint, http.max_body).await?;
    let bytes = if gzip {
        gunzip_limited(&raw, http.max_body)?
    } else {
        raw
    };
    let cost = match encoding {
        Encoding::Protobuf => budget::protobuf_cost(&bytes).unwrap_or(0),
        Encoding::Json => budget::json_cost(&bytes),
    };
    if cost > http.max_decoded {
        return Err(too_costly(cost, http.max_decoded));
    }
    let request = match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(bytes.as_slice()).map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("malformed OTLP protobuf: {e}"),
            )
        })?,
        Encoding::Json => decode_json(&bytes)?,
    };
    let trial = trial_from(uri, headers);
    let response = http.ingest.accept(request, trial.as_ref());
    Ok(match encoding {
        Encoding::Protobuf => (
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&response).unwrap_or_else(|_| "{}".to_owned()),
        )
            .into_response(),
    })
}

fn decode_json(bytes: &[u8]) -> Result<ExportTraceServiceRequest, Refusal> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            INVALID_ARGUMENT,
            format!("OTLP JSON is not UTF-8: {e}"),
        )
    })?;
    request_from_json(text).map_err(|e| {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            INVALID_ARGUMENT,
            format!("malformed OTLP JSON: {e}"),
        )
    })
}

/// The trial named by the path (`/trial/<key>/v1/traces`; keys need no escaping) or else by
/// the header.
fn trial_from(uri: &Uri, headers: &HeaderMap) -> Option<TrialKey> {
    let from_path = uri
        .path()
        .strip_prefix("/trial/")
        .and_then(|rest| rest.strip_suffix("/v1/traces"))
        .filter(|k| !k.is_empty());
    let from_header = || {
        headers
            .get(TRIAL_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|k| !k.is_empty())
    };
    from_path.or_else(from_header).map(TrialKey::new)
}

/// Bodies larger than this past the limit are not read to the end: the connection is closed.
const DRAIN_MAX: usize = 256 << 20;

/// Reads the body up to `max` bytes. A larger body is refused with 413; it is read and
/// discarded up to [`DRAIN_MAX`] so that an HTTP/1 client sees the answer instead of a reset.
async fn read_limited(body: Body, size_hint: usize, max: usize) -> Result<Vec<u8>, Refusal> {
    let mut body = body;
    // The declared length is only a hint (it may lie), so it is capped by the limit.
    let mut out = Vec::with_capacity(size_hint.min(max));
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("reading the body: {e}"),
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        seen += chunk.len();
        if seen <= max {
            out.extend_from_slice(&chunk);
        } else {
            out = Vec::new();
            if seen > DRAIN_MAX {
                break;
            }
        }
    }
    if seen > max {
        return Err(too_large(max));
    }
    Ok(out)
}

fn too_large(max: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        RESOURCE_EXHAUSTED,
        format!("request body exceeds {max} bytes"),
    )
}

fn too_costly(cost: usize, max: usize) -> Refusal {
    Refusal::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        RESOURCE_EXHAUSTED,
        format!("request would take about {cost} bytes decoded, over the limit of {max}"),
    )
}

/// Decompresses at most `max` bytes; more is a 413, a broken stream a 400.
fn gunzip_limited(raw: &[u8], max: usize) -> Result<Vec<u8>, Refusal> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw)
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| {
            Refusal::new(
                StatusCode::BAD_REQUEST,
                INVALID_ARGUMENT,
                format!("invalid gzip body: {e}"),
            )
        })?;
    if out.len() > max {
        return Err(too_large(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trial_comes_from_the_raw_path_before_the_header() {
        let mut headers = HeaderMap::new();
        headers.insert(TRIAL_HEADER, "from-header".parse().unwrap());
        let uri: Uri = "/trial/r~s~a_20b~m~1/v1/traces".parse().unwrap();
        assert_eq!(
            trial_from(&uri, &headers).unwrap().as_str(),
            "r~s~a_20b~m~1"
        );
        let plain: Uri = "/v1/traces".parse().unwrap();
        assert_eq!(
            trial_from(&plain, &headers).unwrap().as_str(),
            "from-header"
        );
        assert!(trial_from(&plain, &HeaderMap::new()).is_none());
    }

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![0u8; 4 << 20]).unwrap();
        let bomb = enc.finish().unwrap();
        assert!(bomb.len() < 16 << 10);
        let refusal = gunzip_limited(&bomb, 1 << 20).err().unwrap();
        assert_eq!(refusal.status, StatusCode::PAYLOAD_TOO_LARGE);
        let truncated = gunzip_limited(&bomb[..bomb.len() / 2], 8 << 20)
            .err()
            .unwrap();
        assert_eq!(truncated.status, StatusCode::BAD_REQUEST);
    }
}
