//! The background sender: a thread of its own with a current-thread tokio runtime. Trials are
//! encoded on the caller's thread straight into the request being filled ([`Batch`]), at
//! most [`BATCH_SPANS`] spans or [`BATCH_BYTES`] bytes each; the sender is woken when one is
//! full, and otherwise takes what there is every [`LINGER`], so a finished trial reaches the
//! backend soon without a wake-up per trial. The spans waiting are bounded by `queue`: a trial
//! that does not fit waits for room only while the backend keeps up ([`Forwarder::admit`]);
//! otherwise it is dropped and counted. At the end the run waits at most the forward timeout:
//! what was not confirmed by then counts as dropped.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

use axum::body::Bytes;
use prost::Message;

use crate::event::{TrialResult, TrialTrace};
use crate::trace::Span;

use super::ForwardSummary;
use super::config::ForwardConfig;
use super::encode::{Batch, Outgoing};
use super::enrich::{self, RunContext};
use super::logs::{self, evaluation_logs};
use super::transport::{Exported, Signal, Transport};

/// Most spans in one request (a trial bigger than this goes alone).
const BATCH_SPANS: usize = 1024;
/// Most bytes in one request, under the 4 MiB a gRPC server takes by default (a trial bigger
/// than this goes alone).
const BATCH_BYTES: usize = 2 << 20;
/// How often the sender takes a request that is not full: fewer, bigger requests cost the run
/// less. The end of the run does not wait for it.
const LINGER: Duration = Duration::from_millis(20);
/// How long an export may be in flight before the run stops waiting for room in the queue.
const STALL: Duration = Duration::from_secs(1);

fn ms_since(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// Requests waiting for the sender: trials append to the last until it is full.
#[derive(Default)]
struct Pending {
    batches: VecDeque<Batch>,
    /// The run is over: the sender sends what is left and stops.
    closed: bool,
}

/// Counters shared with the sender.
#[derive(Default)]
struct Counters {
    submitted: AtomicU64,
    sent: AtomicU64,
    rejected: AtomicU64,
    requests_failed: AtomicU64,
    logs_sent: AtomicU64,
    logs_dropped: AtomicU64,
    /// The backend said it takes no logs: none are sent from then on.
    no_logs: AtomicBool,
    /// Spans waiting or being sent.
    queued: AtomicUsize,
    pending: Mutex<Pending>,
    /// Wakes the sender: a request is full, or the run is over.
    wake: Notify,
    first_error: Mutex<Option<String>>,
    /// Set when the run stops waiting: the rest is dropped unsent.
    abandoned: AtomicBool,
    /// The last export failed.
    failing: AtomicBool,
    /// Since when (ms after the start, plus 1) an export has been in flight; 0 when none is.
    in_flight_since: AtomicU64,
    /// Notified whenever a batch is done and the queue has room again.
    room: (Mutex<()>, std::sync::Condvar),
}

impl Counters {
    /// The backend answers: the last export succeeded and the one in flight, if any, is not
    /// older than [`STALL`].
    fn keeping_up(&self, started: Instant) -> bool {
        if self.failing.load(Ordering::Relaxed) || self.abandoned.load(Ordering::Relaxed) {
            return false;
        }
        let since = self.in_flight_since.load(Ordering::Relaxed);
        since == 0 || (ms_since(started) + 1).saturating_sub(since) <= STALL.as_millis() as u64
    }

    /// A batch of `n` spans left the queue.
    fn done(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::Relaxed);
        let _guard = self.room.0.lock().expect("not poisoned");
        self.room.1.notify_all();
    }

    fn error(&self, why: String) {
        let mut first = self.first_error.lock().expect("not poisoned");
        first.get_or_insert(why);
    }
}

/// Forwards a run's spans; see the module docs.
pub(crate) struct Forwarder {
    counters: Arc<Counters>,
    done: mpsc::Receiver<()>,
    config: ForwardConfig,
    context: RunContext,
    started: Instant,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// Starts the sender thread. Fails only when the client cannot be built (a header that is
    /// not valid in HTTP, an endpoint gRPC cannot parse).
    pub(crate) fn start(config: ForwardConfig, run: RunContext) -> Result<Forwarder, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the forwarder's runtime: {e}"))?;
        let transport = {
            let _guard = runtime.enter();
            Transport::new(&config)?
        };
        let (done_tx, done) = mpsc::channel();
        let counters = Arc::new(Counters::default());
        let shared = Arc::clone(&counters);
        let timeout = config.timeout;
        let logs = run.events.logs();
        let started = Instant::now();
        std::thread::Builder::new()
            .name("traceval-forward".into())
            .spawn(move || {
                runtime.block_on(send_all(transport, logs, &shared, timeout, started));
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("cannot start the forwarder's thread: {e}"))?;
        Ok(Forwarder {
            counters,
            done,
            config,
            context: run,
            started,
        })
    }

    /// Variables agents must not inherit: they hold the backend's header values.
    pub(crate) fn hidden_env(&self) -> Vec<String> {
        self.config.secret_vars.clone()
    }

    /// What every forwarded span of the run shares.
    pub(crate) fn context(&self) -> &RunContext {
        &self.context
    }

    /// Queues a finished trial (see [`Forwarder::admit`]); one that finds no room is dropped
    /// before anything is encoded. What forwarding adds to its spans is encoded here, on the
    /// caller's thread, from the result it already has: the sender gets bytes, not a copy of
    /// the result.
    pub(crate) fn trial(&self, result: &TrialResult, trace: &TrialTrace) {
        let n = 1 + trace.spans.len() + trace.judge_spans.len();
        if self.admit(n) {
            let spans = enrich::trial(&self.context, result, trace);
            debug_assert_eq!(spans.len(), n);
            self.queue(spans);
        }
    }

    /// Queues spans made at the end of the run.
    pub(crate) fn spans(&self, spans: Vec<Span>) {
        self.outgoing(spans.into_iter().map(Outgoing::plain).collect());
    }

    /// Queues spans with what forwarding adds to them (e.g. [`enrich::unattributed`]'s).
    pub(crate) fn outgoing(&self, spans: Vec<Outgoing>) {
        if self.admit(spans.len()) {
            self.queue(spans);
        }
    }

    /// Counts `n` spans as submitted and makes room for them, waiting while the backend keeps
    /// up; false when they are dropped (counted as dropped in the summary: submitted but
    /// neither sent nor rejected).
    fn admit(&self, n: usize) -> bool {
        let c = &self.counters;
        c.submitted.fetch_add(n as u64, Ordering::Relaxed);
        // A trial bigger than the whole queue still goes when nothing else waits.
        let fits = || {
            let queued = c.queued.load(Ordering::Relaxed);
            queued == 0 || queued + n <= self.config.queue
        };
        if !fits() && !self.wait_for_room(&fits) {
            c.error(format!(
                "the forward queue ({} spans) was full: the backend is slower than the run",
                self.config.queue
            ));
            return false;
        }
        c.queued.fetch_add(n, Ordering::Relaxed);
        true
    }

    /// Appends admitted spans to the request being filled; wakes the sender when it is full.
    fn queue(&self, spans: Vec<Outgoing>) {
        let n = spans.len();
        let c = &self.counters;
        let full = {
            let mut pending = c.pending.lock().expect("not poisoned");
            if pending.closed {
                c.queued.fetch_sub(n, Ordering::Relaxed);
                return;
            }
            let batches = &mut pending.batches;
            if batches.back().is_none_or(full) {
                // Room for a full request up front: growing it would copy it each time. The
                // pages are only touched as spans are written.
                batches.push_back(Batch::with_capacity(BATCH_BYTES + BATCH_BYTES / 4));
            }
            let batch = batches.back_mut().expect("just made");
            batch.push(spans);
            full(batch)
        };
        if full {
            c.wake.notify_one();
        }
    }

    /// Backpressure while the backend keeps up: waits for room as long as the last export
    /// succeeded and none has been in flight for more than [`STALL`]. A failing or hung
    /// backend gets no wait at all once it is seen as such, so it delays the run by at most
    /// [`STALL`] in all; a healthy one that is merely slower than the run slows the run down
    /// rather than lose spans.
    fn wait_for_room(&self, fits: &dyn Fn() -> bool) -> bool {
        let c = &self.counters;
        let mut guard = c.room.0.lock().expect("not poisoned");
        loop {
            if fits() {
                return true;
            }
            if !c.keeping_up(self.started) {
                return false;
            }
            guard = c
                .room
                .1
                .wait_timeout(guard, Duration::from_millis(5))
                .expect("not poisoned")
                .0;
        }
    }

    /// Waits for the queue to drain, at most the forward timeout, and sums up. Spans not
    /// confirmed by then count as dropped.
    pub(crate) fn finish(self) -> ForwardSummary {
        let waited = Instant::now();
        self.counters.pending.lock().expect("not poisoned").closed = true;
        self.counters.wake.notify_one();
        let in_time = self.done.recv_timeout(self.config.timeout).is_ok();
        let c = &self.counters;
        c.abandoned.store(true, Ordering::Relaxed);
        if !in_time {
            c.error(format!(
                "gave up waiting after {}",
                humantime::format_duration(self.config.timeout)
            ));
        }
        let submitted = c.submitted.load(Ordering::Relaxed);
        let sent = c.sent.load(Ordering::Relaxed);
        let rejected = c.rejected.load(Ordering::Relaxed);
        ForwardSummary {
            endpoint: self.config.shown_endpoint(),
            protocol: self.config.protocol,
            profile: self.config.profile,
            events: self.config.events,
            spans_sent: sent,
            spans_dropped: submitted.saturating_sub(sent + rejected),
            spans_rejected: rejected,
            requests_failed: c.requests_failed.load(Ordering::Relaxed),
            log_records_sent: c.logs_sent.load(Ordering::Relaxed),
            log_records_dropped: c.logs_dropped.load(Ordering::Relaxed),
            first_error: c.first_error.lock().expect("not poisoned").clone(),
            duration_ms: self.started.elapsed().as_secs_f64() * 1e3,
            wait_ms: waited.elapsed().as_secs_f64() * 1e3,
            required: self.config.required,
        }
    }
}

/// A request is as big as it gets.
fn full(batch: &Batch) -> bool {
    batch.spans >= BATCH_SPANS || batch.body.len() >= BATCH_BYTES
}

/// The sender's loop: take a request, export, count; until the run is over and nothing waits.
/// With `logs`, each request's verdicts go as log records too (`--forward-events log|both`).
async fn send_all(
    mut transport: Transport,
    logs: bool,
    c: &Counters,
    timeout: Duration,
    started: Instant,
) {
    // Whether to send a request that is not full: the linger time passed.
    let mut lingered = false;
    loop {
        let (batch, closed) = {
            let mut pending = c.pending.lock().expect("not poisoned");
            let batches = &mut pending.batches;
            let ready = batches.len() > 1 || batches.front().is_some_and(full);
            let take = ready || lingered || pending.closed;
            (
                take.then(|| pending.batches.pop_front()).flatten(),
                pending.closed,
            )
        };
        let Some(batch) = batch else {
            if closed {
                return;
            }
            // A full request, the end of the run, or the time to send what there is.
            lingered = tokio::time::timeout(LINGER, c.wake.notified())
                .await
                .is_err();
            continue;
        };
        let n = batch.spans;
        if c.abandoned.load(Ordering::Relaxed) {
            c.done(n);
            continue;
        }
        let logs = if logs {
            evaluation_logs(&batch.evaluations)
                .map(|r| (logs::count(&r), Bytes::from(r.encode_to_vec())))
        } else {
            None
        };
        let request = Bytes::from(batch.body);
        // Each request gets the whole timeout, retries included; the run's own end-of-run
        // wait is bounded apart from this.
        let deadline = Instant::now() + timeout * 2;
        c.in_flight_since
            .store(ms_since(started) + 1, Ordering::Relaxed);
        let exported = transport.export(Signal::Traces, request, deadline).await;
        c.in_flight_since.store(0, Ordering::Relaxed);
        c.failing.store(
            !matches!(exported, Exported::Accepted { .. }),
            Ordering::Relaxed,
        );
        match exported {
            Exported::Accepted { rejected, message } => {
                c.sent
                    .fetch_add(n as u64 - rejected.min(n as u64), Ordering::Relaxed);
                c.rejected
                    .fetch_add(rejected.min(n as u64), Ordering::Relaxed);
                if rejected > 0 {
                    c.error(format!(
                        "the backend rejected {rejected} spans{}",
                        message.map(|m| format!(": {m}")).unwrap_or_default()
                    ));
                }
            }
            Exported::Failed(why) | Exported::Unsupported(why) => {
                c.requests_failed.fetch_add(1, Ordering::Relaxed);
                c.error(why);
            }
        }
        if let Some((n, logs)) = logs {
            send_logs(&mut transport, n, logs, deadline, c).await;
        }
        c.done(n);
    }
}

/// The verdicts as log records; a backend that takes no logs is told once, then spared.
async fn send_logs(
    transport: &mut Transport,
    n: u64,
    logs: Bytes,
    deadline: Instant,
    c: &Counters,
) {
    if c.no_logs.load(Ordering::Relaxed) {
        c.logs_dropped.fetch_add(n, Ordering::Relaxed);
        return;
    }
    match transport.export(Signal::Logs, logs, deadline).await {
        Exported::Accepted { rejected, .. } => {
            c.logs_sent
                .fetch_add(n - rejected.min(n), Ordering::Relaxed);
            c.logs_dropped.fetch_add(rejected.min(n), Ordering::Relaxed);
        }
        Exported::Unsupported(why) => {
            c.no_logs.store(true, Ordering::Relaxed);
            c.logs_dropped.fetch_add(n, Ordering::Relaxed);
            c.error(format!(
                "the backend takes no log records ({why}); none are sent for the rest of the run"
            ));
        }
        Exported::Failed(why) => {
            c.logs_dropped.fetch_add(n, Ordering::Relaxed);
            c.error(format!("log records: {why}"));
        }
    }
}
