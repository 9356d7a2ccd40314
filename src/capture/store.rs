//! The span store: one shared, thread-safe home for every captured span.
//!
//! Spans are indexed by trace id and by trial. A trial owns whole traces: a trace is linked to
//! a trial when a span of it arrives with a trial key (request path, header, or the `eval.*`
//! resource attributes) or when the runner links it ([`SpanStore::link_trace`], e.g. the trace
//! of the trial's root span). Spans that arrive before their trace is linked are not lost: the
//! index is by trace, so linking later attributes them too.
//!
//! The store never empties itself (not on shutdown, not on drop of a producer); only
//! [`SpanStore::clear`] and [`SpanStore::take_trial`] (a finished trial's spans) take spans out.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;
use tokio::time::Instant;

use crate::trace::{Attributes, Span, TraceId};

/// Identifies one trial across every way its spans can arrive.
///
/// The key is an opaque string. [`TrialKey::from_parts`] derives it from the trial's identity
/// (`eval.run_id`, `eval.suite`, `eval.case`, `eval.model`, `eval.trial`) in a form that needs no
/// escaping in a URL path segment or an HTTP header and survives percent-decoding, so the same
/// key comes back from the request path, the `x-traceval-trial` header and the resource
/// attributes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrialKey(Arc<str>);

impl TrialKey {
    /// A key from its string form, as carried in a path or header.
    pub fn new(key: &str) -> TrialKey {
        TrialKey(key.into())
    }

    /// The key of a trial from its identity.
    pub fn from_parts(run_id: &str, suite: &str, case: &str, model: &str, trial: u32) -> TrialKey {
        let key = format!(
            "{}~{}~{}~{}~{trial}",
            encode(run_id),
            encode(suite),
            encode(case),
            encode(model)
        );
        TrialKey(key.into())
    }

    /// The key named by the `eval.*` resource attributes, when all five are present.
    pub fn from_resource(attributes: &Attributes) -> Option<TrialKey> {
        let get = |k| attributes.get(k).map(ToString::to_string);
        let trial = attributes.get("eval.trial")?.as_i64()?;
        Some(TrialKey::from_parts(
            &get("eval.run_id")?,
            &get("eval.suite")?,
            &get("eval.case")?,
            &get("eval.model")?,
            u32::try_from(trial).ok()?,
        ))
    }

    /// The string form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TrialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TrialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrialKey({})", self.0)
    }
}

/// Escapes every byte outside `[A-Za-z0-9.-]` as `_XX` (hex), so `~` separates parts
/// unambiguously and the key is the same in a URL path, in an HTTP header, and after an SDK
/// percent-decodes `OTEL_EXPORTER_OTLP_HEADERS` (the Python SDK does): it contains no `%`.
fn encode(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for b in part.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-') {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// The deadline passed before the condition held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out waiting for spans")]
pub struct WaitTimeout;

#[derive(Default)]
struct State {
    traces: HashMap<TraceId, Vec<Arc<Span>>>,
    trial_of_trace: HashMap<TraceId, TrialKey>,
    traces_of_trial: HashMap<TrialKey, Vec<TraceId>>,
    /// Spans that name a trial other than the one owning their trace id. Trace ids repeat
    /// across processes when an agent seeds its random generator (the Python SDK draws ids
    /// from `random`), so the trial a span's transport or resource names wins over the trace.
    claimed: HashMap<(TrialKey, TraceId), Vec<Arc<Span>>>,
    span_count: usize,
}

impl State {
    /// The spans of a trial: its own traces, and the spans it claimed in traces owned by
    /// another trial.
    fn trial_spans<'a>(&'a self, trial: &'a TrialKey) -> impl Iterator<Item = &'a Arc<Span>> + 'a {
        self.traces_of_trial
            .get(trial)
            .into_iter()
            .flatten()
            .flat_map(move |t| {
                let spans = if self.trial_of_trace.get(t) == Some(trial) {
                    self.traces.get(t)
                } else {
                    self.claimed.get(&(trial.clone(), *t))
                };
                spans.into_iter().flatten()
            })
    }

    fn link(&mut self, trace: TraceId, trial: &TrialKey) {
        if self.trial_of_trace.contains_key(&trace) {
            return;
        }
        self.trial_of_trace.insert(trace, trial.clone());
        self.traces_of_trial
            .entry(trial.clone())
            .or_default()
            .push(trace);
    }
}

struct Inner {
    state: Mutex<State>,
    generation: watch::Sender<u64>,
    /// Export requests the receiver refused, by the trial they named: count, first reason.
    rejections: Mutex<HashMap<TrialKey, (u64, String)>>,
}

/// A cloneable handle to the shared store. See the module docs.
#[derive(Clone)]
pub struct SpanStore {
    inner: Arc<Inner>,
}

impl Default for SpanStore {
    fn default() -> Self {
        SpanStore::new()
    }
}

impl fmt::Debug for SpanStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpanStore")
            .field("spans", &self.len())
            .finish()
    }
}

impl SpanStore {
    /// An empty store.
    pub fn new() -> SpanStore {
        SpanStore {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                generation: watch::Sender::new(0),
                rejections: Mutex::default(),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps half-updated in a way that
        // matters more than losing every later span, so keep serving.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds spans. `trial` is the trial the transport named (request path or header); when it
    /// is `None`, each span's resource attributes may name one. Wakes every waiter.
    pub fn insert(&self, spans: impl IntoIterator<Item = Span>, trial: Option<&TrialKey>) {
        // Everything that allocates happens before the lock is taken, so concurrent
        // receivers contend only for the map updates.
        let mut resource_key: Option<(*const crate::trace::Resource, Option<TrialKey>)> = None;
        let prepared: Vec<(Option<TrialKey>, Arc<Span>)> = spans
            .into_iter()
            .map(|span| {
                let key = match trial {
                    Some(k) => Some(k.clone()),
                    None => {
                        // Spans of one batch share their resource: derive its key once.
                        let ptr = Arc::as_ptr(&span.resource);
                        match &resource_key {
                            Some((p, k)) if *p == ptr => k.clone(),
                            _ => {
                                let k = TrialKey::from_resource(&span.resource.attributes);
                                resource_key = Some((ptr, k.clone()));
                                k
                            }
                        }
                    }
                };
                (key, Arc::new(span))
            })
            .collect();
        let mut state = self.state();
        for (key, span) in prepared {
            state.span_count += 1;
            if let Some(k) = key {
                match state.trial_of_trace.get(&span.trace_id) {
                    Some(owner) if *owner != k => {
                        let slot = state.claimed.entry((k.clone(), span.trace_id)).or_default();
                        let first = slot.is_empty();
                        slot.push(span.clone());
                        if first {
                            state
                                .traces_of_trial
                                .entry(k)
                                .or_default()
                                .push(span.trace_id);
                        }
                        continue;
                    }
                    _ => state.link(span.trace_id, &k),
                }
            }
            state.traces.entry(span.trace_id).or_default().push(span);
        }
        drop(state);
        self.inner.generation.send_modify(|g| *g += 1);
    }

    /// Links a trace to a trial: every span of that trace, stored or still to come, belongs to
    /// the trial. The first link of a trace wins.
    pub fn link_trace(&self, trace: TraceId, trial: &TrialKey) {
        self.state().link(trace, trial);
        self.inner.generation.send_modify(|g| *g += 1);
    }

    /// The spans of one trace, in arrival order.
    pub fn trace(&self, trace: TraceId) -> Vec<Arc<Span>> {
        self.state().traces.get(&trace).cloned().unwrap_or_default()
    }

    /// The spans of every trace linked to a trial.
    pub fn trial(&self, trial: &TrialKey) -> Vec<Arc<Span>> {
        self.state().trial_spans(trial).cloned().collect()
    }

    /// Takes a trial's spans out of the store (a finished trial's, so a long run does not hold
    /// every span until it ends). Its traces stay linked to it: a span arriving later is still
    /// attributed to it, never to another trial or to nobody.
    pub fn take_trial(&self, trial: &TrialKey) -> Vec<Arc<Span>> {
        let mut state = self.state();
        let Some(traces) = state.traces_of_trial.get(trial).cloned() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for t in traces {
            let taken = if state.trial_of_trace.get(&t) == Some(trial) {
                state.traces.remove(&t)
            } else {
                state.claimed.remove(&(trial.clone(), t))
            };
            out.extend(taken.into_iter().flatten());
        }
        state.span_count -= out.len();
        out
    }

    /// Records that an export request naming `trial` was refused, and why.
    pub fn note_rejection(&self, trial: &TrialKey, reason: &str) {
        let mut rejections = self
            .inner
            .rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let entry = rejections
            .entry(trial.clone())
            .or_insert_with(|| (0, reason.to_owned()));
        entry.0 += 1;
    }

    /// Takes the refused requests of a trial: how many, and the first one's reason.
    pub fn take_rejections(&self, trial: &TrialKey) -> Option<(u64, String)> {
        self.inner
            .rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(trial)
    }

    /// The trace ids linked to a trial, in link order.
    pub fn trial_traces(&self, trial: &TrialKey) -> Vec<TraceId> {
        self.state()
            .traces_of_trial
            .get(trial)
            .cloned()
            .unwrap_or_default()
    }

    /// The trial a trace belongs to, if any.
    pub fn trial_of(&self, trace: TraceId) -> Option<TrialKey> {
        self.state().trial_of_trace.get(&trace).cloned()
    }

    /// Traces that no trial claims, sorted.
    pub fn unattributed_traces(&self) -> Vec<TraceId> {
        let state = self.state();
        let mut ids: Vec<TraceId> = state
            .traces
            .keys()
            .filter(|t| !state.trial_of_trace.contains_key(t))
            .copied()
            .collect();
        ids.sort();
        ids
    }

    /// Every trace id, sorted.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        let mut ids: Vec<TraceId> = self.state().traces.keys().copied().collect();
        ids.sort();
        ids
    }

    /// Every span, grouped by trace.
    pub fn spans(&self) -> Vec<Arc<Span>> {
        self.state().traces.values().flatten().cloned().collect()
    }

    /// Number of spans held.
    pub fn len(&self) -> usize {
        self.state().span_count
    }

    /// True when no span is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Removes every span and link. The only way spans leave the store.
    pub fn clear(&self) {
        *self.state() = State::default();
        self.inner.generation.send_modify(|g| *g += 1);
    }

    /// Waits until `condition` holds over the store, woken by each insert (no polling), or
    /// until `deadline`. The condition runs under the store's lock: read through the
    /// [`StoreView`] it gets, never through a `SpanStore` handle (that would deadlock).
    pub async fn wait_for<F>(&self, mut condition: F, deadline: Instant) -> Result<(), WaitTimeout>
    where
        F: FnMut(&StoreView<'_>) -> bool,
    {
        let mut changes = self.inner.generation.subscribe();
        loop {
            // Mark the current generation seen before looking, so an insert that lands
            // between the look and the wait still wakes us.
            changes.borrow_and_update();
            if condition(&StoreView {
                state: &self.state(),
            }) {
                return Ok(());
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives in `self`, so it cannot close while we wait; time is up.
                Ok(Err(_)) | Err(_) => return Err(WaitTimeout),
            }
        }
    }
}

/// A read-only look at the store, for [`SpanStore::wait_for`] conditions.
pub struct StoreView<'s> {
    state: &'s State,
}

impl StoreView<'_> {
    /// Spans held in all.
    pub fn len(&self) -> usize {
        self.state.span_count
    }

    /// True when no span is held.
    pub fn is_empty(&self) -> bool {
        self.state.span_count == 0
    }

    /// Spans held for a trace.
    pub fn trace(&self, trace: TraceId) -> &[Arc<Span>] {
        self.state.traces.get(&trace).map_or(&[], Vec::as_slice)
    }

    /// Spans held for a trial.
    pub fn trial_len(&self, trial: &TrialKey) -> usize {
        self.state.trial_spans(trial).count()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::trace::{KeyValue, Resource, SpanId};

    fn span(trace: u8, id: u8, resource: &Arc<Resource>) -> Span {
        let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), format!("s{id}"));
        s.resource = resource.clone();
        s
    }

    fn eval_resource(case: &str) -> Arc<Resource> {
        Arc::new(Resource {
            attributes: [
                KeyValue::new("eval.run_id", "run1"),
                KeyValue::new("eval.suite", "weather"),
                KeyValue::new("eval.case", case),
                KeyValue::new("eval.model", "sunny"),
                KeyValue::new("eval.trial", 2i64),
            ]
            .into_iter()
            .collect(),
            schema_url: String::new(),
        })
    }

    #[test]
    fn trial_keys_are_path_safe_and_unambiguous() {
        let k = TrialKey::from_parts("r_1", "s~x", "a b,c=d%", "m/1", 3);
        assert_eq!(k.as_str(), "r_5F1~s_7Ex~a_20b_2Cc_3Dd_25~m_2F1~3");
        assert_ne!(
            TrialKey::from_parts("a~b", "c", "d", "e", 0),
            TrialKey::from_parts("a", "b~c", "d", "e", 0)
        );
    }

    #[test]
    fn resource_attributes_attribute_spans_to_their_trial() {
        let store = SpanStore::new();
        let r = eval_resource("paris street");
        store.insert([span(1, 1, &r), span(1, 2, &r)], None);
        store.insert([span(2, 3, &Arc::default())], None);
        let key = TrialKey::from_parts("run1", "weather", "paris street", "sunny", 2);
        assert_eq!(store.trial(&key).len(), 2);
        assert_eq!(store.unattributed_traces(), [TraceId([2; 16])]);
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn linking_a_trace_claims_spans_that_arrived_before() {
        let store = SpanStore::new();
        store.insert([span(7, 1, &Arc::default())], None);
        let key = TrialKey::new("t1");
        store.link_trace(TraceId([7; 16]), &key);
        store.insert([span(7, 2, &Arc::default())], None);
        assert_eq!(store.trial(&key).len(), 2);
        assert_eq!(store.trial_of(TraceId([7; 16])), Some(key));
    }

    #[test]
    fn transport_key_wins_over_resource_attributes() {
        let store = SpanStore::new();
        let key = TrialKey::new("from-path");
        store.insert([span(1, 1, &eval_resource("x"))], Some(&key));
        assert_eq!(store.trial(&key).len(), 1);
    }

    #[test]
    fn a_trace_id_reused_by_another_trial_stays_with_the_trial_that_sent_it() {
        let store = SpanStore::new();
        let (a, b) = (TrialKey::new("a"), TrialKey::new("b"));
        let r = Arc::default();
        store.insert([span(1, 1, &r), span(1, 2, &r)], Some(&a));
        store.insert([span(1, 3, &r)], Some(&b));
        store.insert([span(1, 4, &r)], None);
        let ids =
            |k: &TrialKey| -> Vec<u8> { store.trial(k).iter().map(|s| s.span_id.0[0]).collect() };
        assert_eq!(ids(&a), [1, 2, 4]);
        assert_eq!(ids(&b), [3]);
        assert_eq!(store.len(), 4);
        assert_eq!(store.take_trial(&b).len(), 1);
        assert_eq!(ids(&a), [1, 2, 4]);
        assert_eq!(store.take_trial(&a).len(), 3);
        assert_eq!(store.len(), 0);
        // Still linked: a late span goes to its trial, not to the unattributed.
        store.insert([span(1, 5, &r)], None);
        assert_eq!(ids(&a), [5]);
        assert!(store.unattributed_traces().is_empty());
    }

    #[test]
    fn clear_is_the_only_way_out() {
        let store = SpanStore::new();
        let clone = store.clone();
        store.insert([span(1, 1, &Arc::default())], None);
        drop(store);
        assert_eq!(clone.len(), 1);
        clone.clear();
        assert!(clone.is_empty());
        assert!(clone.trace(TraceId([1; 16])).is_empty());
    }

    #[tokio::test]
    async fn wait_for_wakes_on_arrival_and_times_out() {
        let store = SpanStore::new();
        let writer = store.clone();
        let handle = tokio::spawn(async move {
            for i in 1..=3 {
                tokio::task::yield_now().await;
                writer.insert([span(1, i, &Arc::default())], None);
            }
        });
        let far = Instant::now() + Duration::from_secs(30);
        store
            .wait_for(|v| v.trace(TraceId([1; 16])).len() == 3, far)
            .await
            .unwrap();
        handle.await.unwrap();
        let soon = Instant::now() + Duration::from_millis(20);
        assert_eq!(
            store.wait_for(|v| v.len() > 3, soon).await,
            Err(WaitTimeout)
        );
    }
}
