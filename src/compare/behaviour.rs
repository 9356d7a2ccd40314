//! What the agent did differently in a case (design A.4.5), read from the trials' metrics and
//! shapes: tool-call sequences and trace shapes with their frequencies, the means of LLM calls,
//! retries, error spans and tokens, and one line naming the biggest difference.

use std::collections::{BTreeMap, BTreeSet};

use super::document::{Behaviour, Variant, Variants};
use crate::report::schema::TrialResult;

/// The sequence of a trial without tool calls.
const NO_TOOL: &str = "(no tool call)";

/// What differs between a case's base and new trials.
pub(crate) fn behaviour(base: &[&TrialResult], new: &[&TrialResult]) -> Behaviour {
    let tools = Variants {
        base: variants(base.iter().map(|t| sequence(t))),
        new: variants(new.iter().map(|t| sequence(t))),
    };
    let has_shapes = base.iter().chain(new).any(|t| t.shape_hash.is_some());
    let shape = |t: &&TrialResult| t.shape_hash.clone().unwrap_or_else(|| "(none)".to_owned());
    let shapes = if has_shapes {
        Variants {
            base: variants(base.iter().map(shape)),
            new: variants(new.iter().map(shape)),
        }
    } else {
        Variants::default()
    };
    let means = |f: fn(&TrialResult) -> u64| (mean(base, f), mean(new, f));
    let mut b = Behaviour {
        summary: String::new(),
        tools,
        shapes,
        llm_calls: means(|t| t.metrics.llm_calls),
        retries: means(|t| t.metrics.retries),
        error_spans: means(|t| t.metrics.error_spans),
        tokens: means(|t| t.metrics.input_tokens + t.metrics.output_tokens),
    };
    b.summary = summary(&b, base, new);
    b
}

/// The tool names of a trial in order, joined with ` → `.
fn sequence(t: &TrialResult) -> String {
    if t.metrics.tool_calls.is_empty() {
        return NO_TOOL.to_owned();
    }
    let names: Vec<&str> = t
        .metrics
        .tool_calls
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    names.join(" → ")
}

/// Values with their counts, most frequent first, then by value.
fn variants(values: impl Iterator<Item = String>) -> Vec<Variant> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut out: Vec<Variant> = counts
        .into_iter()
        .map(|(value, count)| Variant { value, count })
        .collect();
    out.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    out
}

fn mean(trials: &[&TrialResult], f: fn(&TrialResult) -> u64) -> f64 {
    if trials.is_empty() {
        return 0.0;
    }
    trials.iter().map(|t| f(t) as f64).sum::<f64>() / trials.len() as f64
}

/// `get_weather×2, search` for `get_weather → get_weather → search`.
fn compact(sequence: &str) -> String {
    if sequence == NO_TOOL {
        return "no tool".to_owned();
    }
    let mut runs: Vec<(&str, usize)> = Vec::new();
    for name in sequence.split(" → ") {
        match runs.last_mut() {
            Some((last, n)) if *last == name => *n += 1,
            _ => runs.push((name, 1)),
        }
    }
    let parts: Vec<String> = runs.iter().map(|(name, n)| format!("{name}×{n}")).collect();
    parts.join(", ")
}

/// The biggest difference, in this order: a tool only the new trials call, a tool only the
/// base trials called, the most frequent tool sequence, error spans, LLM calls, the trace
/// shape, retries, tokens.
fn summary(b: &Behaviour, base: &[&TrialResult], new: &[&TrialResult]) -> String {
    let names = |trials: &[&TrialResult]| -> BTreeSet<String> {
        trials
            .iter()
            .flat_map(|t| t.metrics.tool_calls.iter().map(|c| c.name.clone()))
            .collect()
    };
    let (before, after) = (names(base), names(new));
    let calling = |trials: &[&TrialResult], name: &str| {
        trials
            .iter()
            .filter(|t| t.metrics.tool_calls.iter().any(|c| c.name == name))
            .count()
    };
    if let Some(tool) = after.difference(&before).next() {
        return format!("new tool in {}/{}: {tool}", calling(new, tool), new.len());
    }
    if let Some(tool) = before.difference(&after).next() {
        return format!(
            "tool no longer called: {tool} (was in {}/{})",
            calling(base, tool),
            base.len()
        );
    }
    if let (Some(x), Some(y)) = (b.tools.base.first(), b.tools.new.first())
        && x.value != y.value
    {
        return format!(
            "tools: {} → {} ({}/{})",
            compact(&x.value),
            compact(&y.value),
            y.count,
            new.len()
        );
    }
    let moved = |(x, y): (f64, f64), min: f64| (y - x).abs() >= min.max(0.2 * x.abs());
    if moved(b.error_spans, 0.5) {
        return format!(
            "error spans {:.1} → {:.1}",
            b.error_spans.0, b.error_spans.1
        );
    }
    if moved(b.llm_calls, 0.5) {
        return format!("llm calls {:.1} → {:.1}", b.llm_calls.0, b.llm_calls.1);
    }
    let seen: BTreeSet<&str> = b.shapes.base.iter().map(|v| v.value.as_str()).collect();
    let unseen: u32 = b
        .shapes
        .new
        .iter()
        .filter(|v| !seen.contains(v.value.as_str()))
        .map(|v| v.count)
        .sum();
    if unseen > 0 {
        return format!("trace shape changed in {unseen}/{}", new.len());
    }
    if moved(b.retries, 0.5) {
        return format!("retries {:.1} → {:.1}", b.retries.0, b.retries.1);
    }
    if moved(b.tokens, 1.0) {
        return format!("tokens {:.0} → {:.0}", b.tokens.0, b.tokens.1);
    }
    "same tools, calls and trace shape".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::schema::ToolCallRecord;

    fn trial(tools: &[&str], llm_calls: u64, shape: &str) -> TrialResult {
        let mut t: TrialResult = serde_json::from_value(serde_json::json!({
            "suite": "s", "case": "c", "model": "m", "trial": 0, "trace_id": "t",
            "agent_trace_ids": [], "passed": true, "error": null, "duration_ms": 1.0,
            "exit": {"kind": "code", "code": 0}, "output": "", "stderr_tail": "", "checks": [],
            "metrics": {"llm_calls": 0, "tool_calls": [], "input_tokens": 0, "output_tokens": 0,
                "cache_read_tokens": 0, "cost_usd": 0.0, "unpriced": false, "retries": 0,
                "error_spans": 0, "span_count": 1, "tool_precision": null,
                "tool_recall": null, "tool_f1": null}
        }))
        .unwrap();
        t.metrics.llm_calls = llm_calls;
        t.metrics.tool_calls = tools
            .iter()
            .map(|n| ToolCallRecord {
                name: (*n).to_owned(),
                args: None,
            })
            .collect();
        t.shape_hash = Some(shape.to_owned());
        t
    }

    fn summary_of(base: &[TrialResult], new: &[TrialResult]) -> String {
        let b: Vec<&TrialResult> = base.iter().collect();
        let n: Vec<&TrialResult> = new.iter().collect();
        behaviour(&b, &n).summary
    }

    #[test]
    fn the_summary_names_the_biggest_difference() {
        let two = || trial(&["get_weather", "get_weather"], 3, "a");
        let one = || trial(&["get_weather"], 3, "a");
        assert_eq!(
            summary_of(&[two(), two()], &[one(), one()]),
            "tools: get_weather×2 → get_weather×1 (2/2)"
        );
        let deleting = trial(&["get_weather", "delete_account"], 3, "a");
        assert_eq!(
            summary_of(&[two(), two()], &[two(), deleting]),
            "new tool in 1/2: delete_account"
        );
        let chatty = trial(&["get_weather", "get_weather"], 6, "a");
        assert_eq!(
            summary_of(&[two(), two()], &[chatty.clone(), chatty]),
            "llm calls 3.0 → 6.0"
        );
        let reshaped = trial(&["get_weather", "get_weather"], 3, "b");
        assert_eq!(
            summary_of(&[two(), two()], &[two(), reshaped]),
            "trace shape changed in 1/2"
        );
        assert_eq!(
            summary_of(&[two()], &[two()]),
            "same tools, calls and trace shape"
        );
        let b = behaviour(&[&two(), &one(), &two()], &[&one()]);
        assert_eq!(
            b.tools.base,
            [
                Variant {
                    value: "get_weather → get_weather".to_owned(),
                    count: 2
                },
                Variant {
                    value: "get_weather".to_owned(),
                    count: 1
                }
            ]
        );
    }
}
