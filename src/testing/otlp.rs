//! [`OtlpCapture`]: the spans of an agent in another process, through an OTLP receiver.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

use super::Trace;
use crate::capture::env::otlp_env;
use crate::capture::{Receiver, ReceiverConfig, SpanStore, TrialKey};

/// An OTLP receiver (HTTP and gRPC, on a free loopback port) for one agent run in a test: give
/// the agent [`OtlpCapture::env`], run it, then take its spans with [`OtlpCapture::trace`].
///
/// The receiver runs on a thread of its own, so the helper works the same from a plain `#[test]`
/// that blocks on the agent's process and from any tokio runtime. Each `OtlpCapture` has its
/// own receiver and store: tests running at once never see each other's spans.
///
/// An agent using the OpenTelemetry Python SDK, configured by the environment:
///
/// ```
/// use std::process::Command;
/// # let agent = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/agents/otel_agent.py");
///
/// let otlp = traceval::testing::OtlpCapture::start();
/// let output = Command::new("python3")
///     .args([agent, "http"])
///     .envs(otlp.env())
///     .output()
///     .unwrap();
/// assert!(output.status.success());
/// let trace = otlp.trace();
/// trace.assert_span(r#"tool[name="get_weather"]"#).count(1).after("llm");
/// assert_eq!(String::from_utf8_lossy(&output.stdout).trim(), "It is sunny in Paris.");
/// ```
#[derive(Debug)]
pub struct OtlpCapture {
    store: SpanStore,
    endpoint: String,
    key: TrialKey,
    timeout: Duration,
    runtime: Handle,
    stop: Option<oneshot::Sender<()>>,
}

impl OtlpCapture {
    /// Starts the receiver. The first spans are awaited for 10 s by default
    /// ([`OtlpCapture::with_timeout`]).
    ///
    /// # Panics
    ///
    /// When the receiver cannot bind a loopback port.
    ///
    /// ```
    /// let otlp = traceval::testing::OtlpCapture::start();
    /// assert!(otlp.endpoint().starts_with("http://127.0.0.1:"));
    /// ```
    #[track_caller]
    pub fn start() -> OtlpCapture {
        let store = SpanStore::new();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(SocketAddr, Handle), String>>();
        let (stop, stopped) = oneshot::channel::<()>();
        let receiver_store = store.clone();
        // The thread finishes on its own once stopped and requests in flight are answered.
        std::thread::Builder::new()
            .name("traceval-otlp".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = ready_tx.send(Err(format!("starting a tokio runtime: {e}")));
                        return;
                    }
                };
                runtime.block_on(async move {
                    match Receiver::start(ReceiverConfig::default(), receiver_store).await {
                        Ok(receiver) => {
                            let _ = ready_tx.send(Ok((receiver.local_addr(), Handle::current())));
                            // Until the capture is dropped; a dropped sender ends it too.
                            let _ = stopped.await;
                            receiver.shutdown().await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                        }
                    }
                });
            })
            .expect("spawning the receiver's thread");
        let (addr, runtime) = match ready_rx.recv() {
            Ok(Ok(ready)) => ready,
            Ok(Err(e)) => panic!("traceval: the OTLP receiver did not start: {e}"),
            Err(_) => panic!("traceval: the OTLP receiver's thread ended before starting"),
        };
        let key = TrialKey::new(&format!("test-{}", uuid::Uuid::new_v4().simple()));
        OtlpCapture {
            store,
            endpoint: format!("http://{addr}/trial/{key}"),
            key,
            timeout: Duration::from_secs(10),
            runtime,
            stop: Some(stop),
        }
    }

    /// How long [`OtlpCapture::trace`] waits for the first span.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let otlp = traceval::testing::OtlpCapture::start().with_timeout(Duration::from_secs(30));
    /// # drop(otlp);
    /// ```
    pub fn with_timeout(mut self, timeout: Duration) -> OtlpCapture {
        self.timeout = timeout;
        self
    }

    /// The base endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`
    /// (`http://127.0.0.1:PORT/trial/<key>`); SDKs append `/v1/traces`. A gRPC exporter
    /// uses `http://127.0.0.1:PORT` and reaches the same receiver.
    ///
    /// ```
    /// let otlp = traceval::testing::OtlpCapture::start();
    /// let endpoint = otlp.endpoint();
    /// assert!(endpoint.contains("/trial/"));
    /// ```
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The variables that point an agent's OpenTelemetry exporter at this receiver, as
    /// `traceval run` sets them for a command agent (`docs/reference/agent.md#environment`):
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (the inherited
    /// headers plus `x-traceval-trial`), `OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`,
    /// `OTEL_TRACES_EXPORTER=otlp` and `TRACELOOP_BASE_URL`. Pass them to
    /// `Command::envs`.
    ///
    /// ```
    /// let otlp = traceval::testing::OtlpCapture::start();
    /// let env = otlp.env();
    /// let endpoint = env.iter().find(|(k, _)| k == "OTEL_EXPORTER_OTLP_ENDPOINT").unwrap();
    /// assert_eq!(endpoint.1, otlp.endpoint());
    /// ```
    pub fn env(&self) -> Vec<(String, String)> {
        let inherited = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        otlp_env(&self.endpoint, &self.key, None, &inherited)
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect()
    }

    /// The spans received so far, as a [`Trace`]; call it after the agent exited. Waits for the
    /// first span up to the timeout: an agent that shuts its tracer provider down before
    /// exiting has delivered every span by then (the exporter waits for the receiver's answer).
    ///
    /// # Panics
    ///
    /// When no span arrives in time, with a hint.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let otlp = traceval::testing::OtlpCapture::start().with_timeout(Duration::from_millis(50));
    /// let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| otlp.trace()));
    /// assert!(waited.is_err(), "nothing was sent");
    /// ```
    #[track_caller]
    pub fn trace(&self) -> Trace {
        let (tx, rx) = mpsc::channel();
        let store = self.store.clone();
        let deadline = tokio::time::Instant::now() + self.timeout;
        // The wait runs on the receiver's runtime, so this works inside or outside a runtime.
        self.runtime.spawn(async move {
            let arrived = store.wait_for(|view| !view.is_empty(), deadline).await;
            let _ = tx.send(arrived.is_ok());
        });
        if rx.recv() != Ok(true) {
            panic!(
                "traceval: no spans arrived at {} within {:?}\n  hint: does the agent export \
                 with the variables of `OtlpCapture::env`, and shut its tracer provider down \
                 (which flushes) before it exits?",
                self.endpoint, self.timeout
            );
        }
        Trace::from_spans(self.store.spans())
    }
}

impl Drop for OtlpCapture {
    fn drop(&mut self) {
        // Not waiting for the thread: that could block a runtime's worker.
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
