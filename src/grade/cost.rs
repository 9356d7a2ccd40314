//! `expect.max-cost`: a limit in USD on a trial's cost.
//!
//! The cost is the trial's metric ([`crate::metrics::cost`]): recorded costs, else the user's
//! `[pricing]`, else the built-in table. A trial whose cost is unknown fails the check, since a
//! limit cannot be shown to hold, and the message names the models to price.

use super::Graded;
use crate::metrics::cost::{Cost, UNNAMED_MODEL};
use crate::trace::GenAiView;
use crate::trace::render::clean;

/// Checks `cost` against `limit` (USD), marking the LLM calls that make a failure.
pub(super) fn check(limit: f64, cost: &Cost, view: &GenAiView<'_>, graded: &mut Graded) {
    // A call that reports neither usage nor a cost costs 0 in the metrics (a call that used no
    // tokens is free at any price), but for a limit it is unknown: a stream without usage, an
    // instrumentation that drops it. A limit it cannot be shown to hold fails.
    let silent: Vec<_> = view
        .llm_calls()
        .iter()
        .filter(|c| {
            c.usage_counted
                && c.cost_usd.is_none()
                && c.input_tokens.is_none()
                && c.output_tokens.is_none()
        })
        .map(|c| c.node)
        .collect();
    if cost.usd.is_some() && !silent.is_empty() {
        graded.push(
            "max-cost",
            false,
            format!(
                "cost unknown, so the limit ${limit} cannot be checked: {} LLM call(s) report no token \
                 usage and no cost (a streamed call without usage, or an instrumentation that \
                 drops it)",
                silent.len()
            ),
        );
        graded.marked.extend(silent);
        return;
    }
    let (passed, message) = match cost.usd {
        Some(usd) => (
            usd <= limit,
            format!(
                "cost {}, limit ${limit}",
                crate::metrics::cost::format_usd(usd)
            ),
        ),
        None => (false, unpriced_message(limit, &cost.unpriced_models)),
    };
    graded.push("max-cost", passed, message);
    if passed {
        return;
    }
    let marked = view
        .llm_calls()
        .iter()
        .filter(|c| c.usage_counted)
        .filter(|c| {
            let model = c
                .response_model
                .as_deref()
                .or(c.request_model.as_deref())
                .unwrap_or(UNNAMED_MODEL);
            cost.usd.is_some() || cost.unpriced_models.iter().any(|m| m == model)
        })
        .map(|c| c.node);
    graded.marked.extend(marked);
}

/// Why an unpriced trial fails, and how to price it.
fn unpriced_message(limit: f64, models: &[String]) -> String {
    let named: Vec<&String> = models.iter().filter(|m| *m != UNNAMED_MODEL).collect();
    let mut why = Vec::new();
    if !named.is_empty() {
        let list: Vec<String> = named
            .iter()
            .map(|m| format!("`{}`", clean(m, 80)))
            .collect();
        let tables: Vec<String> = named
            .iter()
            .map(|m| format!("[pricing.\"{}\"]", toml_escape(&clean(m, 80))))
            .collect();
        why.push(format!(
            "no price for {} {} (add {} with `input` and `output` in USD per 1M tokens to the \
             suite or traceval.toml)",
            if named.len() == 1 { "model" } else { "models" },
            list.join(", "),
            tables.join(", ")
        ));
    }
    if named.len() < models.len() {
        why.push(
            "an LLM call with token usage names no model (its span needs `gen_ai.request.model` \
             or `gen_ai.response.model`, or a cost attribute)"
                .to_owned(),
        );
    }
    format!(
        "cost unknown, so the limit ${limit} cannot be checked: {}",
        why.join("; ")
    )
}

/// `text` inside a TOML basic string.
fn toml_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::trace::{Attributes, KeyValue, Span, SpanId, SpanTree, TraceId};

    /// A trial with one chat span per model; `None` is a call that names no model.
    fn tree(models: &[Option<&str>]) -> SpanTree {
        let spans = models.iter().enumerate().map(|(i, model)| {
            let mut s = Span::new(TraceId([1; 16]), SpanId([i as u8 + 1; 8]), "chat");
            s.start_time_unix_nano = i as u64 * 1000;
            s.end_time_unix_nano = i as u64 * 1000 + 500;
            let mut attrs = vec![
                KeyValue::new("gen_ai.operation.name", "chat"),
                KeyValue::new("gen_ai.usage.input_tokens", 100i64),
                KeyValue::new("gen_ai.usage.output_tokens", 10i64),
            ];
            if let Some(m) = model {
                attrs.push(KeyValue::new("gen_ai.request.model", *m));
            }
            s.attributes = Attributes(attrs);
            Arc::new(s)
        });
        SpanTree::build(spans)
    }

    fn run(limit: f64, cost: Cost, models: &[Option<&str>]) -> (Graded, usize) {
        let tree = tree(models);
        let view = GenAiView::new(&tree);
        let mut graded = Graded::default();
        check(limit, &cost, &view, &mut graded);
        let calls = view.llm_calls().len();
        (graded, calls)
    }

    fn priced(usd: f64) -> Cost {
        Cost {
            usd: Some(usd),
            unpriced_models: vec![],
        }
    }

    fn unpriced(models: &[&str]) -> Cost {
        Cost {
            usd: None,
            unpriced_models: models.iter().map(|m| m.to_string()).collect(),
        }
    }

    #[test]
    fn a_cost_within_the_limit_passes_and_one_above_fails() {
        // (limit, cost, passed, message)
        let cases = [
            (0.01, 0.004_2, true, "cost $0.00420, limit $0.01"),
            (0.01, 0.01, true, "cost $0.0100, limit $0.01"),
            (0.01, 0.0123, false, "cost $0.0123, limit $0.01"),
            (0.0, 0.0, true, "cost $0.0000, limit $0"),
            (0.0, 0.000_001, false, "cost $0.00000100, limit $0"),
        ];
        for (limit, usd, passed, message) in cases {
            let (graded, calls) = run(limit, priced(usd), &[Some("gpt-4o")]);
            let c = &graded.checks[0];
            assert_eq!((c.name.as_str(), c.passed), ("max-cost", passed), "{usd}");
            assert_eq!(c.message, message);
            // A failure marks the calls that cost.
            assert_eq!(graded.marked.len(), if passed { 0 } else { calls });
        }
    }

    #[test]
    fn a_call_without_usage_makes_the_limit_unknown_not_free() {
        let mut silent = Span::new(TraceId([1; 16]), SpanId([9; 8]), "chat");
        silent.end_time_unix_nano = 10;
        silent.attributes = Attributes(vec![
            KeyValue::new("gen_ai.operation.name", "chat"),
            KeyValue::new("gen_ai.request.model", "gpt-4o"),
        ]);
        let tree = SpanTree::build([Arc::new(silent)]);
        let view = GenAiView::new(&tree);
        let mut graded = Graded::default();
        check(0.01, &priced(0.0), &view, &mut graded);
        let c = &graded.checks[0];
        assert!(!c.passed);
        assert!(
            c.message.starts_with(
                "cost unknown, so the limit $0.01 cannot be checked: 1 LLM call(s) report no token usage"
            ),
            "{}",
            c.message
        );
        assert_eq!(graded.marked.len(), 1);
    }

    #[test]
    fn an_unpriced_trial_fails_and_says_which_models_to_price() {
        let (graded, _) = run(
            0.01,
            unpriced(&["llama-3.1-70b"]),
            &[Some("gpt-4o"), Some("llama-3.1-70b")],
        );
        let c = &graded.checks[0];
        assert!(!c.passed);
        assert_eq!(
            c.message,
            "cost unknown, so the limit $0.01 cannot be checked: no price for model \
             `llama-3.1-70b` (add [pricing.\"llama-3.1-70b\"] with `input` and `output` in USD \
             per 1M tokens to the suite or traceval.toml)"
        );
        // Only the unpriced call is marked, not the priced one.
        assert_eq!(graded.marked.len(), 1);

        let (graded, _) = run(1.0, unpriced(&[UNNAMED_MODEL, "a", "b\"c"]), &[None]);
        let m = &graded.checks[0].message;
        assert!(
            m.contains(
                "no price for models `a`, `b\"c` (add [pricing.\"a\"], [pricing.\"b\\\"c\"]"
            ),
            "{m}"
        );
        assert!(
            m.contains("; an LLM call with token usage names no model"),
            "{m}"
        );
        assert_eq!(graded.marked.len(), 1, "the unnamed call is marked");

        let (graded, _) = run(1.0, unpriced(&[UNNAMED_MODEL]), &[None]);
        let m = &graded.checks[0].message;
        assert!(
            m.starts_with("cost unknown, so the limit $1 cannot be checked: an LLM call"),
            "{m}"
        );
        assert!(!m.contains("[pricing"), "{m}");
    }
}
