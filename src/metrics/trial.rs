//! Per-trial numbers, read from the trial's span tree (`docs/reference/metrics.md`; the report's
//! `trials[].metrics`, `TrialMetrics` in `docs/reference/report.schema.json`).

use std::collections::BTreeMap;

use super::cost::{CallCost, Pricing, UNNAMED_MODEL, trial_cost};
use super::tool_score::ToolScore;
use crate::event::{ModelUsage, ToolCallRecord, TrialMetrics};
use crate::trace::GenAiView;

/// The metrics of one trial.
pub(crate) fn trial_metrics(
    view: &GenAiView<'_>,
    pricing: &Pricing,
    tools: Option<&ToolScore>,
) -> TrialMetrics {
    let usage = view.usage();
    let calls: Vec<CallCost<'_>> = view
        .llm_calls()
        .iter()
        .filter(|c| c.usage_counted)
        .map(CallCost::from)
        .collect();
    let cost = trial_cost(&calls, pricing);
    TrialMetrics {
        llm_calls: usage.llm_calls as u64,
        tool_calls: view
            .tool_calls()
            .iter()
            .map(|t| ToolCallRecord {
                name: t.name.clone(),
                args: t.arguments.clone().or_else(|| {
                    t.raw_arguments
                        .as_ref()
                        .map(|r| serde_json::Value::String(r.clone()))
                }),
            })
            .collect(),
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
        cache_read_tokens: usage.cache_read_tokens,
        cache_write_tokens: usage.cache_write_tokens,
        unpriced: cost.usd.is_none(),
        cost_usd: cost.usd,
        unpriced_models: cost.unpriced_models,
        retries: view.retries().len() as u64,
        error_spans: view.error_spans().len() as u64,
        span_count: view.tree().len() as u64,
        tool_precision: tools.map(|s| s.precision),
        tool_recall: tools.map(|s| s.recall),
        tool_f1: tools.map(|s| s.f1),
        tool_matched: tools.map(|s| s.matched as u64),
        tool_expected: tools.map(|s| s.expected as u64),
        llm_durations_ns: view
            .llm_calls()
            .iter()
            .filter(|c| c.counted)
            .map(|c| c.duration_ns)
            .collect(),
        tool_durations_ns: view.tool_calls().iter().map(|t| t.duration_ns).collect(),
        usage_by_model: usage_by_model(&calls),
    }
}

/// The tokens of `calls` by model: the answering one, else the one asked for, else
/// [`UNNAMED_MODEL`]. Over the same calls as the totals, so each column sums to its total; a call
/// that reports no tokens (a wrapper, a call whose usage went unrecorded) is left out, as it
/// costs nothing at any price.
fn usage_by_model(calls: &[CallCost<'_>]) -> BTreeMap<String, ModelUsage> {
    let mut by_model: BTreeMap<&str, ModelUsage> = BTreeMap::new();
    for call in calls {
        let tokens = [
            call.input_tokens,
            call.output_tokens,
            call.cache_read_tokens,
            call.cache_write_tokens,
        ];
        if tokens.iter().all(|t| t.unwrap_or(0) == 0) {
            continue;
        }
        let usage = by_model
            .entry(call.model.unwrap_or(UNNAMED_MODEL))
            .or_default();
        let add = |sum: &mut u64, tokens: Option<u64>| {
            *sum = sum.saturating_add(tokens.unwrap_or(0));
        };
        add(&mut usage.input, call.input_tokens);
        add(&mut usage.output, call.output_tokens);
        add(&mut usage.cache_read, call.cache_read_tokens);
        add(&mut usage.cache_write, call.cache_write_tokens);
    }
    by_model
        .into_iter()
        .map(|(model, usage)| (model.to_owned(), usage))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::trace::SpanTree;

    /// Real traces of four instrumentation libraries (gpt-4o-mini, answered as
    /// gpt-4o-mini-2024-07-18), priced by the built-in table alone, cost what their ground truth
    /// says: the stub's token log at the reference price.
    #[test]
    fn real_traces_are_priced_by_the_builtin_table() {
        let files = crate::capture::file::fixture_files();
        let pricing = Pricing::new(BTreeMap::new());
        for file in files {
            let truth_path = file.to_string_lossy().replace(".otlp.jsonl", ".truth.json");
            let truth: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&truth_path).unwrap()).unwrap();
            let spans = crate::capture::file::read(&file).unwrap().spans;
            let tree = SpanTree::build(spans.into_iter().map(Arc::new));
            let view = GenAiView::new(&tree);
            let metrics = trial_metrics(&view, &pricing, None);
            let want = truth["cost_usd_reference"].as_f64().unwrap();
            let got = metrics.cost_usd.unwrap_or_else(|| {
                panic!("{}: unpriced {:?}", file.display(), metrics.unpriced_models)
            });
            // Tokens by model add up to the totals, under the model that answered.
            let by_model = metrics.usage_by_model.values();
            let sum = by_model.fold([0; 4], |s, u| {
                [
                    s[0] + u.input,
                    s[1] + u.output,
                    s[2] + u.cache_read,
                    s[3] + u.cache_write,
                ]
            });
            let totals = [
                metrics.input_tokens,
                metrics.output_tokens,
                metrics.cache_read_tokens,
                metrics.cache_write_tokens,
            ];
            assert_eq!(sum, totals, "{}", file.display());
            let models: Vec<&String> = metrics.usage_by_model.keys().collect();
            let named = |m: &&String| m.starts_with("gpt-4o-mini");
            assert!(models.iter().all(named), "{models:?}");
            assert_eq!(models.is_empty(), totals == [0; 4], "{}", file.display());
            assert!(
                (got - want).abs() < 1e-12,
                "{}: {got} != {want}",
                file.display()
            );
        }
    }

    /// In-house spans read through custom conventions: the model and tokens priced by the
    /// price table, a recorded cost taken as is, tool calls named by the custom key.
    #[test]
    fn custom_conventions_feed_tokens_cost_and_tool_calls() {
        use crate::metrics::Price;
        use crate::trace::{
            Concept, Conventions, KeyValue, Kind, KindRule, NameMatch, Span, SpanId, TraceId, Value,
        };

        let span = |id: u8, name: &str, attrs: &[(&str, Value)]| {
            let mut s = Span::new(TraceId([3; 16]), SpanId([id; 8]), name);
            s.start_time_unix_nano = u64::from(id);
            s.end_time_unix_nano = u64::from(id) + 1;
            s.attributes = attrs
                .iter()
                .map(|(k, v)| KeyValue::new(k, v.clone()))
                .collect();
            Arc::new(s)
        };
        let tree = SpanTree::build([
            span(
                1,
                "acme.llm",
                &[
                    ("acme.model", Value::from("acme-1")),
                    ("acme.tokens.in", Value::Int(1_000_000)),
                    ("acme.tokens.out", Value::Int(500_000)),
                ],
            ),
            span(
                2,
                "acme.llm",
                &[
                    ("acme.model", Value::from("acme-1")),
                    ("acme.tokens.in", Value::Int(10)),
                    ("acme.cost_usd", Value::Double(0.25)),
                ],
            ),
            span(3, "acme.fn", &[("acme.tool", Value::from("lookup"))]),
        ]);
        let rule = |kind, name: &str| KindRule {
            kind,
            name: Some(NameMatch::Exact(name.to_owned())),
            attrs: Vec::new(),
        };
        let keys = |k: &str| vec![k.to_owned()];
        let conventions = Conventions::new(
            vec![rule(Kind::Llm, "acme.llm"), rule(Kind::Tool, "acme.fn")],
            [
                (Concept::Model, keys("acme.model")),
                (Concept::InputTokens, keys("acme.tokens.in")),
                (Concept::OutputTokens, keys("acme.tokens.out")),
                (Concept::Cost, keys("acme.cost_usd")),
                (Concept::ToolName, keys("acme.tool")),
            ],
        );
        let price = Price {
            input: 2.0,
            output: 8.0,
            ..Price::default()
        };
        let pricing = Pricing::new(BTreeMap::from([("acme-1".to_owned(), price)]));
        let view = GenAiView::with_conventions(&tree, &conventions);
        let metrics = trial_metrics(&view, &pricing, None);
        assert_eq!(metrics.llm_calls, 2);
        assert_eq!(
            (metrics.input_tokens, metrics.output_tokens),
            (1_000_010, 500_000)
        );
        // 1M in at $2 and 0.5M out at $8, plus the recorded $0.25.
        let cost = metrics.cost_usd.unwrap();
        assert!((cost - 6.25).abs() < 1e-9, "{cost}");
        assert_eq!(metrics.tool_calls.len(), 1);
        assert_eq!(metrics.tool_calls[0].name, "lookup");
        let acme = ModelUsage {
            input: 1_000_010,
            output: 500_000,
            ..ModelUsage::default()
        };
        assert_eq!(
            metrics.usage_by_model,
            BTreeMap::from([("acme-1".to_owned(), acme)])
        );

        let plain = trial_metrics(&GenAiView::new(&tree), &pricing, None);
        assert_eq!((plain.llm_calls, plain.input_tokens), (0, 0));
        assert!(plain.tool_calls.is_empty());
    }
}
