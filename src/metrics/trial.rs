//! Per-trial numbers, read from the trial's span tree (DESIGN.md section 7, `metrics`).

use std::collections::BTreeMap;

use super::cost::{CallCost, trial_cost};
use crate::event::{ToolCallRecord, TrialMetrics};
use crate::grade::tools::ToolScore;
use crate::suite::model::Price;
use crate::trace::GenAiView;

/// The metrics of one trial.
pub fn trial_metrics(
    view: &GenAiView<'_>,
    pricing: &BTreeMap<String, Price>,
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
    }
}
