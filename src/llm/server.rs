//! The scripted model's HTTP face: an OpenAI-compatible `/v1/chat/completions` (JSON and
//! server-sent events, tool calls, usage, injected failures with `Retry-After`) and
//! `/v1/models`, on 127.0.0.1.
//!
//! `traceval serve-model SCRIPT` serves one script at `/v1`. `traceval run` starts one server
//! for every scripted model of the run and registers each trial under
//! `/trial/<key>/v1`: the trial's identity then picks variants deterministically (seed, case,
//! trial), and attempts are counted per trial, so a retried request sees the script's
//! `fail = { times = n }` play out. The API key an agent sends is accepted and never looked at.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::chat::ChatError;
use super::openai_wire::{WireRequest, error_json, response_json, stream_chunks};
use super::scripted::{Attempts, CallContext, Script};

/// Largest request body accepted.
const MAX_BODY: usize = 32 << 20;

/// The script and identity one trial's requests are answered with.
#[derive(Debug, Clone)]
pub(crate) struct TrialModel {
    /// The script.
    pub script: Arc<Script>,
    /// Stable identity for variant choice, e.g. `suite::case#3`.
    pub identity: String,
}

struct ServerState {
    default: Option<Arc<Script>>,
    trials: Mutex<HashMap<String, TrialModel>>,
    attempts: Attempts,
    seed: u64,
}

/// A running scripted-model server.
pub(crate) struct ModelServer {
    addr: SocketAddr,
    state: Arc<ServerState>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for ModelServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelServer")
            .field("addr", &self.addr)
            .finish()
    }
}

impl ModelServer {
    /// Binds `addr` (port 0 picks one) and serves. `default` answers requests to `/v1`;
    /// trials registered with [`ModelServer::register`] answer under `/trial/<key>/v1`.
    pub(crate) async fn start(
        addr: SocketAddr,
        default: Option<Arc<Script>>,
        seed: u64,
    ) -> std::io::Result<ModelServer> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(ServerState {
            default,
            trials: Mutex::new(HashMap::new()),
            attempts: Attempts::default(),
            seed,
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_default))
            .route("/v1/models", get(models_default))
            .route("/trial/{key}/v1/chat/completions", post(chat_trial))
            .route("/trial/{key}/v1/models", get(models_trial))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(Arc::clone(&state));
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(ModelServer {
            addr,
            state,
            stop: Some(stop),
            task,
        })
    }

    /// `http://127.0.0.1:PORT/v1`, for `OPENAI_BASE_URL`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT/trial/<key>/v1`.
    pub(crate) fn trial_base_url(&self, key: &str) -> String {
        format!("http://{}/trial/{key}/v1", self.addr)
    }

    /// Answers requests under `/trial/<key>/v1` with `model`.
    pub(crate) fn register(&self, key: &str, model: TrialModel) {
        self.state
            .trials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_owned(), model);
    }

    /// Stops answering for `key` (its requests get 404 from now on).
    pub(crate) fn unregister(&self, key: &str) {
        self.state
            .trials
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Stops serving and waits for open connections to finish.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let _ = (&mut self.task).await;
    }
}

async fn chat_default(State(state): State<Arc<ServerState>>, body: Bytes) -> Response {
    match state.default.clone() {
        Some(script) => chat(&state, script, None, &body).await,
        None => error(
            StatusCode::NOT_FOUND,
            "this server answers only under /trial/<key>/v1",
            "invalid_request_error",
            None,
        ),
    }
}

async fn chat_trial(
    State(state): State<Arc<ServerState>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let trial = state
        .trials
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    match trial {
        Some(t) => chat(&state, t.script, Some(t.identity), &body).await,
        None => error(
            StatusCode::NOT_FOUND,
            "no trial with this key is running",
            "invalid_request_error",
            None,
        ),
    }
}

async fn chat(
    state: &ServerState,
    script: Arc<Script>,
    identity: Option<String>,
    body: &[u8],
) -> Response {
    let wire: WireRequest = match serde_json::from_slice(body) {
        Ok(w) => w,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("invalid request body: {e}"),
                "invalid_request_error",
                None,
            );
        }
    };
    let stream = wire.stream;
    let include_usage = wire
        .stream_options
        .as_ref()
        .is_some_and(|o| o.include_usage);
    let request = match wire.into_chat() {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &e.to_string(),
                "invalid_request_error",
                None,
            );
        }
    };
    let attempt_key = identity.clone().unwrap_or_default();
    let attempt = state.attempts.next(&attempt_key, &request);
    let reply = script.reply(
        &request,
        &CallContext {
            seed: state.seed,
            identity: identity.as_deref(),
            attempt,
        },
    );
    if !reply.latency.is_zero() {
        tokio::time::sleep(reply.latency).await;
    }
    let created = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match reply.outcome {
        Ok(response) if stream => {
            let mut body = String::new();
            for chunk in stream_chunks(&response, created, include_usage) {
                body.push_str("data: ");
                body.push_str(&chunk.to_string());
                body.push_str("\n\n");
            }
            body.push_str("data: [DONE]\n\n");
            Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "text/event-stream")
                .header(header::CACHE_CONTROL, "no-cache")
                .body(Body::from(body))
                .expect("a valid response")
        }
        Ok(response) => json(StatusCode::OK, &response_json(&response, created)),
        Err(ChatError::Http {
            status,
            retry_after,
            message,
        }) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let (kind, error_code) = match status {
                429 => ("requests", Some("rate_limit_exceeded")),
                500..=599 => ("server_error", None),
                _ => ("invalid_request_error", None),
            };
            let mut response = error(code, &message, kind, error_code);
            if let Some(after) = retry_after {
                let headers = response.headers_mut();
                // OpenAI SDKs read `retry-after-ms` first; others read whole seconds.
                if let Ok(v) = after.as_millis().to_string().parse() {
                    headers.insert("retry-after-ms", v);
                }
                let secs = after.as_secs_f64().ceil() as u64;
                if let Ok(v) = secs.to_string().parse() {
                    headers.insert(header::RETRY_AFTER, v);
                }
            }
            response
        }
        Err(other) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &other.to_string(),
            "server_error",
            None,
        ),
    }
}

async fn models_default(State(state): State<Arc<ServerState>>) -> Response {
    models(state.default.as_deref())
}

async fn models_trial(State(state): State<Arc<ServerState>>, Path(key): Path<String>) -> Response {
    let trial = state
        .trials
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&key)
        .cloned();
    models(trial.as_ref().map(|t| &*t.script))
}

fn models(script: Option<&Script>) -> Response {
    let data: Vec<serde_json::Value> = script
        .map(|s| {
            serde_json::json!({
                "id": s.model_name(),
                "object": "model",
                "created": 0,
                "owned_by": "traceval",
            })
        })
        .into_iter()
        .collect();
    json(
        StatusCode::OK,
        &serde_json::json!({"object": "list", "data": data}),
    )
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(value.to_string()))
        .expect("a valid response")
}

fn error(status: StatusCode, message: &str, kind: &str, code: Option<&str>) -> Response {
    json(status, &error_json(message, kind, code))
}
