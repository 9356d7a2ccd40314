//! LLM judges, run as a step of grading: after the agent finished and its span tree was read,
//! each `[[case.expect.judge]]` asks its model (any provider, through [`ChatProvider`] with
//! the retry policy) for `samples` verdicts at once, and the vote becomes one check
//! ([`crate::grade::judge`] holds the prompt, the parsing and the vote).
//!
//! A judge's calls are traced like the builtin agent's (`chat {model}` spans through the real
//! OpenTelemetry SDK), under an `eval.judge` root span in a trace of its own, linked to the
//! trial's root span by a span link and carrying the trial's `eval.*` attributes. That trace is
//! filed in the store under a key of its own (the trial's key plus `~judges`), never the
//! trial's: the judge's calls are not in the trial's span tree, so they never count in the
//! agent's metrics, and a re-grade of the trial's saved trace never counts them either. The
//! judge's own usage and cost are reported per judge ([`JudgeRecord`]). Those spans are
//! traceval's own, in the OTel GenAI conventions, so they are read by the built-in conventions
//! alone: a suite's `[conventions]` describe its agent's spans, not the judge's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::{
    Link, Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceFlags, TraceState, Tracer,
};
use opentelemetry::{Context, KeyValue};

use super::driver::builtin::join_all;
use super::llm_call::ModelCaller;
use crate::capture::TrialKey;
use crate::capture::otel::InProcess;
use crate::event::{CheckResult, JudgeRecord, TrialId};
use crate::grade::judge::{
    JudgeEvidence, SYSTEM_PROMPT, SampleOutcome, decide, parse_verdict, user_message,
};
use crate::llm::chat::{ChatRequest, Message, Role};
use crate::llm::provider::ChatProvider;
use crate::metrics::cost::Pricing;
use crate::metrics::trial::trial_metrics;
use crate::suite::Judge;
use crate::trace::{GenAiView, Span, SpanId, SpanTree, TraceId};

/// What the judges of one trial need besides the case.
pub(super) struct Judging<'a> {
    /// Where the judges' spans go.
    pub(super) capture: &'a InProcess,
    /// Judge models by (suite, model name).
    pub(super) providers: &'a HashMap<(String, String), Arc<dyn ChatProvider>>,
    /// Prices for the judges' own cost.
    pub(super) pricing: &'a Pricing,
    /// The run's id.
    pub(super) run_id: &'a str,
    /// The trial judged.
    pub(super) id: &'a TrialId,
    /// The trial's store key; the judges' key derives from it.
    pub(super) key: &'a TrialKey,
    /// The trial root span, which each judge's root links to.
    pub(super) trial_root: (TraceId, SpanId),
    /// Each sample's deadline, retries included.
    pub(super) timeout: Duration,
    /// Record the prompts and verdicts on the `chat` spans.
    pub(super) capture_content: bool,
}

/// The judges' checks, records and spans.
#[derive(Debug, Default)]
pub(super) struct Judged {
    /// One check per judge, in the case's order.
    pub(super) checks: Vec<CheckResult>,
    /// One record per judge.
    pub(super) records: Vec<JudgeRecord>,
    /// Every span of every judge, taken out of the store.
    pub(super) spans: Vec<Arc<Span>>,
    /// When a judge's check failed and one of its samples had no verdict because the judge's
    /// model API failed (see `CallFailed::infrastructure` in `llm_call`): why, for the trial's `error`.
    pub(super) infrastructure: Option<String>,
}

impl Judging<'_> {
    /// Runs `judges` (all at once) on the trial.
    pub(super) async fn run(&self, judges: &[Judge], evidence: &JudgeEvidence<'_>) -> Judged {
        if judges.is_empty() {
            return Judged::default();
        }
        let key = TrialKey::new(&format!("{}~judges", self.key));
        let results = join_all(judges.iter().map(|j| self.judge(j, &key, evidence))).await;
        let mut infrastructure = None;
        let mut checks = Vec::with_capacity(results.len());
        let mut records = Vec::with_capacity(results.len());
        for (check, record, outage) in results {
            if !check.passed && infrastructure.is_none() {
                infrastructure = outage.map(|why| {
                    format!("judge `{}` (model `{}`): {why}", record.name, record.model)
                });
            }
            checks.push(check);
            records.push(record);
        }
        Judged {
            checks,
            records,
            spans: self.capture.store().take_trial(&key),
            infrastructure,
        }
    }

    async fn judge(
        &self,
        judge: &Judge,
        key: &TrialKey,
        evidence: &JudgeEvidence<'_>,
    ) -> (CheckResult, JudgeRecord, Option<String>) {
        let tracer = self.capture.tracer("traceval.judge");
        let id = self.id;
        let (trial_trace, trial_span) = self.trial_root;
        let link = Link::with_context(SpanContext::new(
            opentelemetry::trace::TraceId::from_bytes(trial_trace.0),
            opentelemetry::trace::SpanId::from_bytes(trial_span.0),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ));
        let root = tracer
            .span_builder("eval.judge")
            .with_kind(SpanKind::Internal)
            .with_attributes([
                KeyValue::new("eval.run_id", self.run_id.to_owned()),
                KeyValue::new("eval.suite", id.suite.clone()),
                KeyValue::new("eval.case", id.case.clone()),
                KeyValue::new("eval.trial", i64::from(id.trial)),
                KeyValue::new("eval.model", id.model.clone()),
                KeyValue::new("eval.trial.trace_id", trial_trace.to_string()),
                KeyValue::new("eval.judge.name", judge.name.clone()),
                KeyValue::new("eval.judge.model", judge.model.clone()),
                KeyValue::new("eval.judge.samples", i64::from(judge.samples)),
                KeyValue::new("eval.judge.threshold", judge.threshold),
            ])
            .with_links(vec![link])
            .start_with_context(&tracer, &Context::new());
        let trace_id = TraceId(root.span_context().trace_id().to_bytes());
        self.capture.store().link_trace(trace_id, key);
        let cx = Context::new().with_span(root);

        let outcomes: Vec<(SampleOutcome, Option<String>)> =
            match self.providers.get(&(id.suite.clone(), judge.model.clone())) {
                // The CLI builds a provider for every judge model before the run: a bug otherwise.
                None => vec![(
                    Err(format!("model `{}` has no provider", judge.model)),
                    None,
                )],
                Some(provider) => {
                    let request = ChatRequest {
                        model: provider.model_name().unwrap_or(&judge.model).to_owned(),
                        messages: vec![
                            Message::text(Role::System, SYSTEM_PROMPT),
                            Message::text(Role::User, user_message(&judge.rubric, evidence)),
                        ],
                        tools: Vec::new(),
                        // Only when asked: reasoning models reject any temperature but their
                        // default, and several samples at 0 would all say the same.
                        temperature: judge.temperature,
                    };
                    let samples = (0..judge.samples).map(|sample| {
                        self.sample(&**provider, &cx, &request, judge, sample, &tracer)
                    });
                    join_all(samples).await
                }
            };

        let (outcomes, outages): (Vec<SampleOutcome>, Vec<Option<String>>) =
            outcomes.into_iter().unzip();
        let outage = outages.into_iter().flatten().next();
        let (check, samples) = decide(judge, &outcomes);
        let span = cx.span();
        let votes = samples.iter().filter(|s| s.passed).count();
        span.set_attributes([
            KeyValue::new("eval.judge.votes", votes as i64),
            KeyValue::new("eval.passed", check.passed),
            KeyValue::new("gen_ai.evaluation.name", judge.name.clone()),
            KeyValue::new(
                "gen_ai.evaluation.score.label",
                if check.passed { "pass" } else { "fail" },
            ),
            KeyValue::new("gen_ai.evaluation.explanation", check.message.clone()),
        ]);
        if let Some(score) = check.score {
            span.set_attribute(KeyValue::new("gen_ai.evaluation.score.value", score));
        }
        if let Some(error) = samples.iter().find_map(|s| s.error.clone()) {
            span.set_status(Status::error(error));
            span.set_attribute(KeyValue::new("error.type", "judge_error"));
        }
        span.end();

        // The judge's own numbers, by the same counting rules as a trial's.
        let tree = SpanTree::build(self.capture.store().trace(trace_id));
        let metrics = trial_metrics(&GenAiView::new(&tree), self.pricing, None);
        let record = JudgeRecord {
            name: judge.name.clone(),
            model: judge.model.clone(),
            trace_id: Some(trace_id.to_string()),
            samples,
            llm_calls: metrics.llm_calls,
            input_tokens: metrics.input_tokens,
            output_tokens: metrics.output_tokens,
            cost_usd: metrics.cost_usd,
            unpriced: metrics.unpriced,
        };
        (check, record, outage)
    }

    /// One sample: a traced model call within the deadline, and its verdict; with why the
    /// model API failed, when it did.
    async fn sample(
        &self,
        provider: &dyn ChatProvider,
        cx: &Context,
        request: &ChatRequest,
        judge: &Judge,
        sample: u32,
        tracer: &opentelemetry_sdk::trace::SdkTracer,
    ) -> (SampleOutcome, Option<String>) {
        // Each sample its own identity: the scripted model picks its variant by it, and
        // counts its attempts apart from the other samples'.
        let identity = format!(
            "{}::{}#{}/judge/{}/{sample}",
            self.id.suite, self.id.case, self.id.trial, judge.name
        );
        let caller = ModelCaller {
            tracer,
            provider,
            identity: &identity,
            capture_content: self.capture_content,
        };
        match tokio::time::timeout(self.timeout, caller.chat(cx, request)).await {
            Err(_) => (
                Err(format!(
                    "timed out after {}",
                    humantime::format_duration(self.timeout)
                )),
                None,
            ),
            Ok(Err(e)) => {
                let outage = e.infrastructure.then(|| e.message.clone());
                (Err(e.message), outage)
            }
            Ok(Ok(response)) => (
                parse_verdict(response.message.content.as_deref().unwrap_or("")),
                None,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::SpanStore;
    use crate::event::ToolCallRecord;
    use crate::llm::provider::ScriptedProvider;
    use crate::llm::scripted::Script;
    use serde_json::json;

    #[tokio::test]
    async fn judges_trace_apart_from_the_trial_and_link_to_its_root() {
        let store = SpanStore::new();
        let capture = InProcess::new(store.clone());
        let script = Script::parse(
            "[[rule]]\nwhen.user = '(?s)## Tool calls \\(1\\)\\n1\\. search'\n\
             text = '{\"score\": 1, \"explanation\": \"searched\"}'\n\
             usage = { input = 40, output = 8 }\n",
            std::path::Path::new("judge.toml"),
        )
        .unwrap();
        let provider: Arc<dyn ChatProvider> = Arc::new(ScriptedProvider::new(Arc::new(script), 1));
        let providers = HashMap::from([(("s".to_owned(), "j".to_owned()), provider)]);
        let id = TrialId {
            suite: "s".into(),
            case: "c".into(),
            model: "m".into(),
            trial: 0,
        };
        let key = TrialKey::from_parts("r", "s", "c", "m", 0);
        let root = (TraceId([7; 16]), SpanId([9; 8]));
        let judging = Judging {
            capture: &capture,
            providers: &providers,
            pricing: &Pricing::user_only(std::collections::BTreeMap::new()),
            run_id: "r",
            id: &id,
            key: &key,
            trial_root: root,
            timeout: Duration::from_secs(5),
            capture_content: false,
        };
        let judges = [Judge {
            name: "judge".into(),
            model: "j".into(),
            rubric: "Searches first.".into(),
            threshold: 0.5,
            samples: 3,
            temperature: None,
        }];
        let calls = [ToolCallRecord {
            name: "search".into(),
            args: Some(json!({"q": "x"})),
        }];
        let input = json!("q");
        let evidence = JudgeEvidence {
            input: &input,
            output: "answer",
            tool_calls: &calls,
        };
        let judged = judging.run(&judges, &evidence).await;

        assert_eq!(judged.checks.len(), 1);
        assert!(judged.checks[0].passed, "{:?}", judged.checks[0]);
        assert_eq!(
            judged.checks[0].message,
            "3/3 samples passed, mean score 1.00 (threshold 0.50) from `j`: searched"
        );
        let record = &judged.records[0];
        assert_eq!((record.llm_calls, record.input_tokens), (3, 120));
        assert_eq!(record.cost_usd, None, "no price: unpriced, never $0");
        assert!(record.unpriced);
        // One root and three calls, taken out of the store; nothing filed under the trial.
        assert_eq!(judged.spans.len(), 4);
        assert!(store.is_empty());
        assert!(store.trial(&key).is_empty());
        assert_eq!(store.trial_traces(&key), Vec::<TraceId>::new());
        let root_span = judged
            .spans
            .iter()
            .find(|s| s.name == "eval.judge")
            .unwrap();
        assert_ne!(root_span.trace_id, root.0);
        assert_eq!(
            record.trace_id.as_deref(),
            Some(root_span.trace_id.to_string().as_str())
        );
        assert_eq!(root_span.links.len(), 1);
        assert_eq!(
            (root_span.links[0].trace_id, root_span.links[0].span_id),
            root
        );
        let attr = |k: &str| root_span.attributes.get(k).map(ToString::to_string);
        assert_eq!(attr("eval.judge.votes").as_deref(), Some("3"));
        assert_eq!(attr("eval.case").as_deref(), Some("c"));
        assert_eq!(
            attr("gen_ai.evaluation.score.label").as_deref(),
            Some("pass")
        );
        let chats = judged
            .spans
            .iter()
            .filter(|s| s.name == "chat j" && s.parent_span_id == Some(root_span.span_id))
            .count();
        assert_eq!(chats, 3);
    }
}
