//! What forwarding adds to a trial's spans, as a pure function: the run's identity on every
//! span and resource, the verdict and headline numbers on the trial root, one
//! `gen_ai.evaluation.result` event per check (and one named `trial`) where the check looked,
//! links from the trial root to the agent's own traces, judges marked as judges, and the
//! profile's attributes. Nothing the agent sent is removed or changed, only added to (an
//! attribute of the same name is replaced).

use std::sync::Arc;

use crate::event::{CheckResult, TrialResult, TrialTrace};
use crate::trace::{Attributes, Event, KeyValue, Link, Resource, Span, SpanId, Value};

use super::encode::{Added, Attr, ForwardedResource, Outgoing};

use super::config::{Events, Profile};

/// `eval.schema`: the version of this contract of attributes.
pub(crate) const SCHEMA: i64 = 1;
/// Longest `gen_ai.evaluation.explanation`, in bytes.
const MAX_EXPLANATION: usize = 4096;
/// The event name of the GenAI evaluation convention.
pub(crate) const EVALUATION_EVENT: &str = "gen_ai.evaluation.result";

/// What every forwarded span of a run shares.
#[derive(Debug, Clone)]
pub(crate) struct RunContext {
    /// The run id.
    pub(crate) run_id: Arc<str>,
    /// The backend profile.
    pub(crate) profile: Profile,
    /// How verdicts travel.
    pub(crate) events: Events,
    /// The `phoenix` profile's project, `{run_id}` replaced.
    pub(crate) project: String,
    /// CI context for resources (`cicd.pipeline.run.id`, `vcs.ref.head.revision`...).
    pub(crate) ci: Vec<KeyValue>,
    /// `--replay`: the run whose recorded spans these are.
    pub(crate) replayed_from: Option<String>,
}

/// The trial's spans as forwarded: the root first, then the agent's and traceval's, then the
/// judges'. No span is copied: each is sent with what forwarding adds, already encoded
/// ([`Outgoing`]).
pub(crate) fn trial(run: &RunContext, result: &TrialResult, trace: &TrialTrace) -> Vec<Outgoing> {
    let root_trace = trace.root.trace_id;
    let trace_hex = root_trace.to_string();
    let mut on_spans = Added::span_with_capacity(256, 8);
    common(run, result, &trace_hex, &mut on_spans);
    let common = Arc::new(on_spans);
    let mut resources = Resources::new(run, result, &trace_hex);
    let evaluate = run.events != Events::None;
    let mut out = Vec::with_capacity(1 + trace.spans.len() + trace.judge_spans.len());

    let mut root = outgoing(&trace.root, &common, &mut resources);
    let mut extra = Added::span_with_capacity(1024, 16 + run.ci.len());
    verdict_attributes(run, result, &trace.input, &mut extra);
    // The CI context on the root too: Phoenix keeps no resource attributes.
    for kv in &run.ci {
        extra.key_value(kv);
    }
    // Links to the agent's own traces (an agent that did not read TRACEPARENT), so a backend
    // that renders links joins them.
    for span in &trace.spans {
        if span.parent_span_id.is_none() && span.trace_id != root_trace {
            extra.link(
                span.trace_id,
                span.span_id,
                &[("eval.link", Attr::Str("agent"))],
            );
        }
    }
    if evaluate {
        let at = trace.root.end_time_unix_nano;
        for check in &result.checks {
            Evaluation::of(check).add(run, at, &mut extra, &mut root.evaluations);
        }
        let explanation = trial_explanation(result);
        let kind = result.error_kind.map(|kind| {
            serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| "_OTHER".to_owned())
        });
        let trial = Evaluation {
            name: "trial",
            value: if result.passed { 1.0 } else { 0.0 },
            passed: result.passed,
            explanation: &explanation,
            error_type: kind.as_deref(),
        };
        trial.add(run, at, &mut extra, &mut root.evaluations);
    }
    root.extra = Some(Box::new(extra));
    out.push(root);

    let judges: Vec<&CheckResult> = result
        .checks
        .iter()
        .filter(|c| result.judges.iter().any(|j| j.name == c.name))
        .collect();
    for span in &trace.spans {
        let mut s = outgoing(span, &common, &mut resources);
        if evaluate {
            let at = span.end_time_unix_nano;
            let mut extra = Added::span();
            for &(check, id) in &trace.offending {
                if id == span.span_id
                    && let Some(check) = result.checks.get(check)
                {
                    Evaluation::of(check).add(run, at, &mut extra, &mut s.evaluations);
                }
            }
            if Some(span.span_id) == trace.last_llm {
                for check in &judges {
                    Evaluation::of(check).add(run, at, &mut extra, &mut s.evaluations);
                }
            }
            if !extra.is_empty() {
                s.extra = Some(Box::new(extra));
            }
        }
        out.push(s);
    }
    for span in &trace.judge_spans {
        let mut s = outgoing(span, &common, &mut resources);
        let mut extra = Added::span();
        extra.attribute("eval.role", Attr::Str("judge"));
        if run.profile == Profile::Phoenix && span.parent_span_id.is_none() {
            extra.attribute("openinference.span.kind", Attr::Str("EVALUATOR"));
        }
        s.extra = Some(Box::new(extra));
        out.push(s);
    }
    out
}

/// Spans that matched no trial (no trial path, header, `eval.*` resource or known trace id),
/// forwarded at the end of the run rather than lost: with the run id and `eval.unattributed =
/// true` on each span and its resource, and nothing of a trial.
pub(crate) fn unattributed(run: &RunContext, spans: &[Arc<Span>]) -> Vec<Outgoing> {
    let mark = |added: &mut Added| {
        added.attribute("eval.run_id", Attr::Str(&run.run_id));
        added.attribute("eval.unattributed", Attr::Bool(true));
        added.attribute("eval.schema", Attr::Int(SCHEMA));
        if let Some(from) = &run.replayed_from {
            added.attribute("eval.replayed_from", Attr::Str(from));
        }
        if run.profile == Profile::Langfuse {
            let id = Attr::Str(&run.run_id);
            added.attribute("langfuse.trace.metadata.eval_run_id", id);
        }
    };
    let mut on_spans = Added::span();
    mark(&mut on_spans);
    let common = Arc::new(on_spans);
    let mut on_resources = Added::resource();
    mark(&mut on_resources);
    let mut resources = Resources::of_run(run, on_resources);
    spans
        .iter()
        .map(|span| outgoing(span, &common, &mut resources))
        .collect()
}

fn outgoing(span: &Arc<Span>, common: &Arc<Added>, resources: &mut Resources) -> Outgoing {
    Outgoing {
        span: Arc::clone(span),
        common: Arc::clone(common),
        extra: None,
        resource: resources.get(&span.resource),
        evaluations: Vec::new(),
    }
}

/// The run's own span, in a trace of its own: the run's status (`aborted` when it was
/// interrupted or stopped early) and per-model pass rates, linked to (at most 128 of) the
/// trial roots.
pub(crate) fn run_span(
    run: &RunContext,
    (start_ns, end_ns): (u64, u64),
    (passed, aborted): (bool, bool),
    pass_rates: &[(String, f64)],
    trial_roots: &[(crate::trace::TraceId, SpanId)],
) -> Span {
    let (trace_id, span_id) = (crate::trace::TraceId::random(), SpanId::random());
    let mut span = Span::new(trace_id, span_id, "eval.run");
    span.start_time_unix_nano = start_ns;
    span.end_time_unix_nano = end_ns;
    let mut attributes = vec![
        KeyValue::new("eval.run_id", &*run.run_id),
        KeyValue::new("eval.schema", SCHEMA),
        KeyValue::new(
            "test.suite.run.status",
            match (aborted, passed) {
                (true, _) => "aborted",
                (false, true) => "success",
                (false, false) => "failure",
            },
        ),
        KeyValue::new("eval.passed", passed),
    ];
    for (model, rate) in pass_rates {
        attributes.push(KeyValue::new(&format!("eval.pass_rate.{model}"), *rate));
    }
    if let Some(from) = &run.replayed_from {
        attributes.push(KeyValue::new("eval.replayed_from", from.as_str()));
    }
    attributes.extend(run.ci.iter().cloned());
    if run.profile == Profile::Phoenix {
        attributes.push(KeyValue::new("openinference.span.kind", "CHAIN"));
    }
    span.attributes = Attributes(attributes);
    span.links = trial_roots
        .iter()
        .take(128)
        .map(|&(trace_id, span_id)| Link {
            trace_id,
            span_id,
            trace_state: String::new(),
            attributes: Attributes(vec![KeyValue::new("eval.link", "trial")]),
            dropped_attributes_count: 0,
            flags: 0,
        })
        .collect();
    span.resource = Arc::new(run_resource(run));
    span.scope = crate::capture::otel::traceval_scope();
    span
}

/// The attributes every span and resource of the trial gets, added to `common`.
fn common(run: &RunContext, result: &TrialResult, root_trace: &str, common: &mut Added) {
    common.attribute("eval.run_id", Attr::Str(&run.run_id));
    common.attribute("eval.suite", Attr::Str(&result.suite));
    common.attribute("eval.case", Attr::Str(&result.case));
    common.attribute("eval.model", Attr::Str(&result.model));
    common.attribute("eval.trial", Attr::Int(i64::from(result.trial)));
    common.attribute("eval.trial.trace_id", Attr::Str(root_trace));
    common.attribute("eval.schema", Attr::Int(SCHEMA));
    if let Some(from) = &run.replayed_from {
        common.attribute("eval.replayed_from", Attr::Str(from));
    }
    match run.profile {
        Profile::Phoenix => {
            let session = format!(
                "{}:{}::{}@{}",
                run.run_id, result.suite, result.case, result.model
            );
            common.attribute("session.id", Attr::Str(&session));
        }
        Profile::Langfuse => {
            let id = format!("{}/{}", run.run_id, result.model);
            common.attribute("langfuse.experiment.id", Attr::Str(&id));
            let name = format!("traceval {} ({})", run.run_id, result.model);
            common.attribute("langfuse.experiment.name", Attr::Str(&name));
            common.attribute("langfuse.environment", Attr::Str("traceval"));
            let item = format!("{}::{}", result.suite, result.case);
            common.attribute("langfuse.experiment.item.id", Attr::Str(&item));
            common.attribute(
                "langfuse.trace.metadata.eval_run_id",
                Attr::Str(&run.run_id),
            );
        }
        Profile::Generic | Profile::Mlflow => {}
    }
}

/// Each distinct resource of a trial, with the run's identity added, encoded once.
struct Resources {
    added: Added,
    /// By content, each with one of the captured resources it stands for. A trial has one or
    /// two distinct resources, but an agent exporting span by span (the OTel SDKs' simple
    /// processor) sends each span in a request of its own, decoded into a resource of its own:
    /// found by pointer first, by content for a pointer not seen, never encoded twice.
    done: Vec<(Arc<Resource>, Arc<ForwardedResource>)>,
}

impl Resources {
    fn new(run: &RunContext, result: &TrialResult, root_trace: &str) -> Resources {
        let mut added = Added::resource_with_capacity(256 + 64 * run.ci.len(), 8 + run.ci.len());
        common(run, result, root_trace, &mut added);
        Resources::of_run(run, added)
    }

    /// Resources with `added` and what every resource of the run gets: the CI context, the
    /// Phoenix project.
    fn of_run(run: &RunContext, mut added: Added) -> Resources {
        for kv in &run.ci {
            added.key_value(kv);
        }
        if run.profile == Profile::Phoenix {
            added.attribute("openinference.project.name", Attr::Str(&run.project));
        }
        Resources {
            added,
            done: Vec::new(),
        }
    }

    fn get(&mut self, resource: &Arc<Resource>) -> Arc<ForwardedResource> {
        let found = (self.done.iter())
            .find(|(r, _)| Arc::ptr_eq(r, resource))
            .or_else(|| self.done.iter().find(|(r, _)| **r == **resource));
        if let Some((_, done)) = found {
            return Arc::clone(done);
        }
        let done = Arc::new(ForwardedResource::new(resource, &self.added));
        self.done.push((Arc::clone(resource), Arc::clone(&done)));
        done
    }
}

/// traceval's own resource for spans it makes at the end (the run span).
fn run_resource(run: &RunContext) -> Resource {
    let mut r = Resource {
        attributes: Attributes(vec![KeyValue::new("service.name", "traceval")]),
        schema_url: String::new(),
    };
    set(&mut r.attributes, "eval.run_id", &*run.run_id);
    for kv in &run.ci {
        set(&mut r.attributes, &kv.key, kv.value.clone());
    }
    if run.profile == Profile::Phoenix {
        set(
            &mut r.attributes,
            "openinference.project.name",
            run.project.as_str(),
        );
    }
    r
}

/// The trial root's verdict and headline numbers (`test.*` of the core conventions, `eval.*`).
fn verdict_attributes(run: &RunContext, result: &TrialResult, input: &str, a: &mut Added) {
    a.attribute("test.suite.name", Attr::Str(&result.suite));
    let name = format!("{}::{}", result.suite, result.case);
    a.attribute("test.case.name", Attr::Str(&name));
    let status = if result.passed { "pass" } else { "fail" };
    a.attribute("test.case.result.status", Attr::Str(status));
    a.attribute("eval.passed", Attr::Bool(result.passed));
    if let Some(error) = &result.error {
        a.attribute("eval.error", Attr::Str(&truncate(error)));
    }
    let failed = result.checks.iter().filter(|c| !c.passed).count();
    a.attribute("eval.checks.failed", Attr::Int(failed as i64));
    let m = &result.metrics;
    if let Some(f1) = m.tool_f1 {
        a.attribute("eval.tool_f1", Attr::Double(f1));
    }
    // Unpriced is absent, never 0.
    if let Some(cost) = m.cost_usd.filter(|_| !m.unpriced) {
        a.attribute("eval.cost_usd", Attr::Double(cost));
    }
    a.attribute("eval.llm_calls", Attr::Int(m.llm_calls as i64));
    a.attribute("eval.input_tokens", Attr::Int(m.input_tokens as i64));
    a.attribute("eval.output_tokens", Attr::Int(m.output_tokens as i64));
    a.attribute("eval.duration_ms", Attr::Double(result.duration_ms));
    match run.profile {
        Profile::Phoenix => {
            a.attribute("openinference.span.kind", Attr::Str("CHAIN"));
            a.attribute("input.value", Attr::Str(&truncate(input)));
            a.attribute("output.value", Attr::Str(&truncate(&result.output)));
        }
        Profile::Langfuse => {
            a.attribute("langfuse.observation.input", Attr::Str(&truncate(input)));
            let output = truncate(&result.output);
            a.attribute("langfuse.observation.output", Attr::Str(&output));
        }
        Profile::Generic | Profile::Mlflow => {}
    }
}

/// One `gen_ai.evaluation.result`: a check's verdict, or the trial's.
struct Evaluation<'a> {
    name: &'a str,
    value: f64,
    passed: bool,
    explanation: &'a str,
    /// An errored trial's `error.type`.
    error_type: Option<&'a str>,
}

impl<'a> Evaluation<'a> {
    fn of(check: &'a CheckResult) -> Evaluation<'a> {
        Evaluation {
            name: &check.name,
            value: check.score.unwrap_or(if check.passed { 1.0 } else { 0.0 }),
            passed: check.passed,
            explanation: &check.message,
            error_type: None,
        }
    }

    /// Adds the event to the span's additions when verdicts travel as span events, and to
    /// `logs` when they travel as log records.
    fn add(&self, run: &RunContext, at: u64, added: &mut Added, logs: &mut Vec<Event>) {
        let explanation = truncate(self.explanation);
        let label = if self.passed { "pass" } else { "fail" };
        let all = [
            ("gen_ai.evaluation.name", Attr::Str(self.name)),
            ("gen_ai.evaluation.score.value", Attr::Double(self.value)),
            ("gen_ai.evaluation.score.label", Attr::Str(label)),
            ("gen_ai.evaluation.explanation", Attr::Str(&explanation)),
            ("error.type", Attr::Str(self.error_type.unwrap_or_default())),
        ];
        let attributes = &all[..if self.error_type.is_some() { 5 } else { 4 }];
        if run.events.spans() {
            added.event(EVALUATION_EVENT, at, attributes);
        }
        if run.events.logs() {
            let attributes = attributes.iter().map(|&(key, value)| {
                let value = match value {
                    Attr::Str(s) => Value::from(s),
                    Attr::Int(i) => Value::Int(i),
                    Attr::Double(d) => Value::Double(d),
                    Attr::Bool(b) => Value::Bool(b),
                };
                KeyValue::new(key, value)
            });
            logs.push(Event {
                name: EVALUATION_EVENT.to_owned(),
                time_unix_nano: at,
                attributes: Attributes(attributes.collect()),
                dropped_attributes_count: 0,
            });
        }
    }
}

/// The trial's verdict in words.
fn trial_explanation(result: &TrialResult) -> String {
    let failed: Vec<&str> = result
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    match (&result.error, failed.is_empty()) {
        (Some(error), _) => format!("error: {error}"),
        (None, true) => "every check held".to_owned(),
        (None, false) => format!("failed: {}", failed.join(", ")),
    }
}

/// Sets `key`, replacing a value already there.
fn set(attributes: &mut Attributes, key: &str, value: impl Into<Value>) {
    let value = value.into();
    match attributes.0.iter_mut().find(|kv| &*kv.key == key) {
        Some(kv) => kv.value = value,
        None => attributes.0.push(KeyValue::new(key, value)),
    }
}

/// At most [`MAX_EXPLANATION`] bytes, cut on a character boundary, with "…" when cut.
fn truncate(text: &str) -> std::borrow::Cow<'_, str> {
    if text.len() <= MAX_EXPLANATION {
        return text.into();
    }
    let mut end = MAX_EXPLANATION;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

#[cfg(test)]
mod tests;
