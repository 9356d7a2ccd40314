//! What forwarding adds to a trial's spans, as a pure function: the run's identity on every
//! span and resource, the verdict and headline numbers on the trial root, one
//! `gen_ai.evaluation.result` event per check (and one named `trial`) where the check looked,
//! links from the trial root to the agent's own traces, judges marked as judges, and the
//! profile's attributes. Nothing the agent sent is removed or changed, only added to (an
//! attribute of the same name is replaced).

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::{CheckResult, TrialResult, TrialTrace};
use crate::trace::{Attributes, Event, KeyValue, Link, Resource, Span, SpanId, Value};

use super::encode::Outgoing;

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
/// judges'. No span is copied: each is sent with what forwarding adds ([`Outgoing`]).
pub(crate) fn trial(run: &RunContext, result: &TrialResult, trace: &TrialTrace) -> Vec<Outgoing> {
    let root_trace = trace.root.trace_id;
    let common = common(run, result, &root_trace.to_string());
    let mut resources = Resources::new(run, &common.0);
    let shared: Arc<[KeyValue]> = Arc::from(common.0.as_slice());
    let evaluate = run.events != Events::None;
    let mut out = Vec::with_capacity(1 + trace.spans.len() + trace.judge_spans.len());

    let mut root = outgoing(&trace.root, Arc::clone(&shared), &mut resources);
    let mut added = common.clone();
    verdict_attributes(run, result, &trace.input, &mut added);
    root.added = Arc::from(added.0);
    // Links to the agent's own traces (an agent that did not read TRACEPARENT), so a backend
    // that renders links joins them.
    for span in &trace.spans {
        if span.parent_span_id.is_none() && span.trace_id != root_trace {
            root.links.push(Link {
                trace_id: span.trace_id,
                span_id: span.span_id,
                trace_state: String::new(),
                attributes: Attributes(vec![KeyValue::new("eval.link", "agent")]),
                dropped_attributes_count: 0,
                flags: 0,
            });
        }
    }
    if evaluate {
        let at = trace.root.end_time_unix_nano;
        for check in &result.checks {
            root.evaluations.push(evaluation(&check.name, check, at));
        }
        root.evaluations.push(trial_evaluation(result, at));
    }
    out.push(root);

    let judges: Vec<&CheckResult> = result
        .checks
        .iter()
        .filter(|c| result.judges.iter().any(|j| j.name == c.name))
        .collect();
    for span in &trace.spans {
        let mut s = outgoing(span, Arc::clone(&shared), &mut resources);
        if evaluate {
            let at = span.end_time_unix_nano;
            for &(check, id) in &trace.offending {
                if id == span.span_id
                    && let Some(check) = result.checks.get(check)
                {
                    s.evaluations.push(evaluation(&check.name, check, at));
                }
            }
            if Some(span.span_id) == trace.last_llm {
                for check in &judges {
                    s.evaluations.push(evaluation(&check.name, check, at));
                }
            }
        }
        out.push(s);
    }
    for span in &trace.judge_spans {
        let mut added = common.clone();
        set(&mut added, "eval.role", "judge");
        if run.profile == Profile::Phoenix && span.parent_span_id.is_none() {
            set(&mut added, "openinference.span.kind", "EVALUATOR");
        }
        out.push(outgoing(span, Arc::from(added.0), &mut resources));
    }
    out
}

fn outgoing(span: &Arc<Span>, added: Arc<[KeyValue]>, resources: &mut Resources<'_>) -> Outgoing {
    Outgoing {
        span: Arc::clone(span),
        added,
        evaluations: Vec::new(),
        links: Vec::new(),
        resource: resources.get(&span.resource),
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
    span.resource = Arc::new(Resources::new(run, &[]).traceval());
    span.scope = Arc::new(crate::trace::Scope {
        name: "traceval".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..crate::trace::Scope::default()
    });
    span
}

/// The attributes every span of the trial gets.
fn common(run: &RunContext, result: &TrialResult, root_trace: &str) -> Attributes {
    let mut common = vec![
        KeyValue::new("eval.run_id", &*run.run_id),
        KeyValue::new("eval.suite", result.suite.as_str()),
        KeyValue::new("eval.case", result.case.as_str()),
        KeyValue::new("eval.model", result.model.as_str()),
        KeyValue::new("eval.trial", i64::from(result.trial)),
        KeyValue::new("eval.trial.trace_id", root_trace),
        KeyValue::new("eval.schema", SCHEMA),
    ];
    if let Some(from) = &run.replayed_from {
        common.push(KeyValue::new("eval.replayed_from", from.as_str()));
    }
    match run.profile {
        Profile::Phoenix => common.push(KeyValue::new(
            "session.id",
            format!(
                "{}:{}::{}@{}",
                run.run_id, result.suite, result.case, result.model
            ),
        )),
        Profile::Langfuse => {
            common.push(KeyValue::new(
                "langfuse.experiment.id",
                format!("{}/{}", run.run_id, result.model),
            ));
            common.push(KeyValue::new(
                "langfuse.experiment.name",
                format!("traceval {} ({})", run.run_id, result.model),
            ));
            common.push(KeyValue::new("langfuse.environment", "traceval"));
            common.push(KeyValue::new(
                "langfuse.experiment.item.id",
                format!("{}::{}", result.suite, result.case),
            ));
            common.push(KeyValue::new(
                "langfuse.trace.metadata.eval_run_id",
                &*run.run_id,
            ));
        }
        Profile::Generic | Profile::Mlflow => {}
    }
    Attributes(common)
}

/// Each distinct resource of a trial, with the run's identity added, made once.
struct Resources<'a> {
    run: &'a RunContext,
    common: &'a [KeyValue],
    done: HashMap<*const Resource, Arc<Resource>>,
}

impl<'a> Resources<'a> {
    fn new(run: &'a RunContext, common: &'a [KeyValue]) -> Resources<'a> {
        Resources {
            run,
            common,
            done: HashMap::new(),
        }
    }

    fn get(&mut self, resource: &Arc<Resource>) -> Arc<Resource> {
        let (run, common) = (self.run, self.common);
        Arc::clone(self.done.entry(Arc::as_ptr(resource)).or_insert_with(|| {
            let mut r = (**resource).clone();
            for kv in common.iter().chain(&run.ci) {
                set(&mut r.attributes, &kv.key, kv.value.clone());
            }
            if run.profile == Profile::Phoenix {
                set(
                    &mut r.attributes,
                    "openinference.project.name",
                    run.project.as_str(),
                );
            }
            Arc::new(r)
        }))
    }

    /// traceval's own resource for spans it makes at the end (the run span).
    fn traceval(&mut self) -> Resource {
        let mut r = Resource {
            attributes: Attributes(vec![KeyValue::new("service.name", "traceval")]),
            schema_url: String::new(),
        };
        set(&mut r.attributes, "eval.run_id", &*self.run.run_id);
        for kv in &self.run.ci {
            set(&mut r.attributes, &kv.key, kv.value.clone());
        }
        if self.run.profile == Profile::Phoenix {
            set(
                &mut r.attributes,
                "openinference.project.name",
                self.run.project.as_str(),
            );
        }
        r
    }
}

/// The trial root's verdict and headline numbers (`test.*` of the core conventions, `eval.*`).
fn verdict_attributes(run: &RunContext, result: &TrialResult, input: &str, a: &mut Attributes) {
    set(a, "test.suite.name", result.suite.as_str());
    set(
        a,
        "test.case.name",
        format!("{}::{}", result.suite, result.case),
    );
    set(
        a,
        "test.case.result.status",
        if result.passed { "pass" } else { "fail" },
    );
    set(a, "eval.passed", result.passed);
    if let Some(error) = &result.error {
        set(a, "eval.error", truncate(error));
    }
    let failed = result.checks.iter().filter(|c| !c.passed).count();
    set(a, "eval.checks.failed", failed as i64);
    let m = &result.metrics;
    if let Some(f1) = m.tool_f1 {
        set(a, "eval.tool_f1", f1);
    }
    // Unpriced is absent, never 0.
    if let Some(cost) = m.cost_usd.filter(|_| !m.unpriced) {
        set(a, "eval.cost_usd", cost);
    }
    set(a, "eval.llm_calls", m.llm_calls as i64);
    set(a, "eval.input_tokens", m.input_tokens as i64);
    set(a, "eval.output_tokens", m.output_tokens as i64);
    set(a, "eval.duration_ms", result.duration_ms);
    match run.profile {
        Profile::Phoenix => {
            set(a, "openinference.span.kind", "CHAIN");
            set(a, "input.value", truncate(input));
            set(a, "output.value", truncate(&result.output));
        }
        Profile::Langfuse => {
            set(a, "langfuse.observation.input", truncate(input));
            set(a, "langfuse.observation.output", truncate(&result.output));
        }
        Profile::Generic | Profile::Mlflow => {}
    }
}

/// One `gen_ai.evaluation.result` event of a check.
fn evaluation(name: &str, check: &CheckResult, at: u64) -> Event {
    let value = check.score.unwrap_or(if check.passed { 1.0 } else { 0.0 });
    Event {
        name: EVALUATION_EVENT.to_owned(),
        time_unix_nano: at,
        attributes: Attributes(vec![
            KeyValue::new("gen_ai.evaluation.name", name),
            KeyValue::new("gen_ai.evaluation.score.value", value),
            KeyValue::new(
                "gen_ai.evaluation.score.label",
                if check.passed { "pass" } else { "fail" },
            ),
            KeyValue::new("gen_ai.evaluation.explanation", truncate(&check.message)),
        ]),
        dropped_attributes_count: 0,
    }
}

/// The event of the trial's overall verdict; an errored trial carries `error.type`.
fn trial_evaluation(result: &TrialResult, at: u64) -> Event {
    let failed: Vec<&str> = result
        .checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.name.as_str())
        .collect();
    let explanation = match (&result.error, failed.is_empty()) {
        (Some(error), _) => format!("error: {error}"),
        (None, true) => "every check held".to_owned(),
        (None, false) => format!("failed: {}", failed.join(", ")),
    };
    let check = CheckResult {
        name: "trial".to_owned(),
        passed: result.passed,
        message: explanation,
        score: None,
    };
    let mut event = evaluation("trial", &check, at);
    if let Some(kind) = result.error_kind {
        let kind = serde_json::to_value(kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "_OTHER".to_owned());
        event.attributes.0.push(KeyValue::new("error.type", kind));
    }
    event
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
fn truncate(text: &str) -> String {
    if text.len() <= MAX_EXPLANATION {
        return text.to_owned();
    }
    let mut end = MAX_EXPLANATION;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests;
