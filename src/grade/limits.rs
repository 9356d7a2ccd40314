//! The small limit checks, one function each: `exit-code`, `max-latency`, `max-llm-calls`,
//! `max-tool-calls`, `max-cost` and `no-error-spans`. Each has the shape of every check
//! ([`super::Check`]) and records at most one result, marking the spans a failure is about.
//!
//! `max-cost` reads the trial's cost metric ([`crate::metrics::cost`]): recorded costs, else the
//! user's `[pricing]`, else the built-in table. A trial whose cost is unknown fails it, since a
//! limit cannot be shown to hold, and the message names the models to price.

use super::{Evidence, Graded};
use crate::event::AgentExit;
use crate::metrics::cost::{Cost, UNNAMED_MODEL};
use crate::suite::Expect;
use crate::trace::render::{clean, format_duration};
use crate::trace::{GenAiView, NodeId};

/// `exit-code`: the agent exited with the expected code (0 when the case names none). Always
/// recorded, first.
pub(super) fn exit_code(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let want = expect.exit_code.unwrap_or(0);
    let (ok, message) = match evidence.trial.exit {
        AgentExit::Code { code } if *code == want => (true, format!("exit code {code}")),
        AgentExit::Code { code } => (false, format!("exit code {code}, expected {want}")),
        other => (false, format!("the agent {}", other.describe())),
    };
    graded.push("exit-code", ok, message);
}

/// `max-latency`: the trial root span's duration; a failure marks the root.
pub(super) fn max_latency(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let Some(limit) = expect.max_latency else {
        return;
    };
    let latency = evidence.trial.latency;
    let ok = latency <= limit;
    graded.push(
        "max-latency",
        ok,
        format!(
            "took {}, limit {}",
            format_duration(latency.as_nanos() as u64),
            format_duration(limit.as_nanos() as u64)
        ),
    );
    if !ok {
        graded.marked.insert(evidence.trial.root);
    }
}

/// `max-llm-calls`: the counted LLM calls (a wrapper around another LLM span is not a second
/// call); a failure marks them.
pub(super) fn max_llm_calls(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let Some(limit) = expect.max_llm_calls else {
        return;
    };
    let calls: Vec<NodeId> = evidence
        .trial
        .view
        .llm_calls()
        .iter()
        .filter(|c| c.counted)
        .map(|c| c.node)
        .collect();
    let ok = calls.len() as u64 <= limit;
    graded.push(
        "max-llm-calls",
        ok,
        format!("{} LLM calls, limit {limit}", calls.len()),
    );
    if !ok {
        graded.marked.extend(calls);
    }
}

/// `max-tool-calls`: the tool calls; a failure marks them.
pub(super) fn max_tool_calls(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let Some(limit) = expect.max_tool_calls else {
        return;
    };
    let calls = evidence.trial.view.tool_calls();
    let ok = calls.len() as u64 <= limit;
    graded.push(
        "max-tool-calls",
        ok,
        format!("{} tool calls, limit {limit}", calls.len()),
    );
    if !ok {
        graded.marked.extend(calls.iter().map(|c| c.node));
    }
}

/// `max-cost`: a limit in USD on the trial's cost; a failure marks the LLM calls that make it.
pub(super) fn max_cost(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    if let Some(limit) = expect.max_cost {
        cost_within(limit, evidence.cost, evidence.trial.view, graded);
    }
}

/// `no-error-spans = true`: no span failed; the message names the first, and every error span
/// is marked (passing or not, there are none when it passes).
pub(super) fn no_error_spans(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    if !expect.no_error_spans {
        return;
    }
    let view = evidence.trial.view;
    let errors = view.error_spans();
    let ok = errors.is_empty();
    let message = match errors.first() {
        None => "no error spans".to_owned(),
        Some(&first) => {
            let span = view.tree().node(first).span();
            let why = span.error_message().unwrap_or_else(|| "error".to_owned());
            format!(
                "{} error span(s), first `{}`: {}",
                errors.len(),
                clean(&span.name, 80),
                clean(&why, 200)
            )
        }
    };
    graded.push("no-error-spans", ok, message);
    graded.marked.extend(errors.iter().copied());
}

/// Checks `cost` against `limit` (USD), marking the LLM calls that make a failure.
fn cost_within(limit: f64, cost: &Cost, view: &GenAiView<'_>, graded: &mut Graded) {
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

    use std::time::Duration;

    use crate::grade::tests::{chat, grade_tree, span, tool, trial};

    /// The one result of the check `name` when a trial of `children` (root 1 ms long) is
    /// graded against `expect`, and the names of the spans it marked, sorted.
    fn only(
        expect: &Expect,
        name: &str,
        exit: AgentExit,
        latency: Duration,
        children: Vec<Arc<Span>>,
    ) -> (bool, String, Vec<String>) {
        let tree = trial(children);
        let graded = grade_tree(expect, &tree, &exit, latency, &priced(0.0));
        let mut results = graded.checks.iter().filter(|c| c.name == name);
        let c = results.next().unwrap_or_else(|| panic!("no {name} check"));
        assert!(results.next().is_none(), "one {name} check");
        let mut marked: Vec<String> = graded
            .marked
            .iter()
            .map(|&id| tree.node(id).span().name.clone())
            .collect();
        marked.sort();
        (c.passed, c.message.clone(), marked)
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_exit_code_must_be_the_expected_one() {
        // (expected, exit, passed, message)
        let cases = [
            (None, AgentExit::Code { code: 0 }, true, "exit code 0"),
            (Some(3), AgentExit::Code { code: 3 }, true, "exit code 3"),
            (
                None,
                AgentExit::Code { code: 1 },
                false,
                "exit code 1, expected 0",
            ),
            (
                Some(3),
                AgentExit::Code { code: 0 },
                false,
                "exit code 0, expected 3",
            ),
            (None, AgentExit::TimedOut, false, "the agent timed out"),
            (
                None,
                AgentExit::Signal { signal: 9 },
                false,
                "the agent killed by signal 9 (SIGKILL)",
            ),
        ];
        for (want, exit, passed, message) in cases {
            let expect = Expect {
                exit_code: want,
                ..Expect::default()
            };
            let got = only(&expect, "exit-code", exit, ms(1), vec![]);
            assert_eq!(got, (passed, message.to_owned(), vec![]), "{message}");
        }
    }

    #[test]
    fn a_trial_over_its_latency_limit_fails_and_marks_the_root() {
        let expect = Expect {
            max_latency: Some(ms(2)),
            ..Expect::default()
        };
        let got = only(
            &expect,
            "max-latency",
            AgentExit::Code { code: 0 },
            ms(2),
            vec![],
        );
        assert_eq!(got, (true, "took 2.0ms, limit 2.0ms".into(), vec![]));
        let got = only(
            &expect,
            "max-latency",
            AgentExit::Code { code: 0 },
            ms(3),
            vec![],
        );
        assert_eq!(
            got,
            (
                false,
                "took 3.0ms, limit 2.0ms".into(),
                vec!["agent".into()]
            )
        );
    }

    #[test]
    fn call_limits_count_calls_and_mark_them_when_over() {
        let llm = Expect {
            max_llm_calls: Some(1),
            ..Expect::default()
        };
        let tools = Expect {
            max_tool_calls: Some(1),
            ..Expect::default()
        };
        let exit = || AgentExit::Code { code: 0 };
        // A chat span wrapping another is one call, not two.
        let mut inner = (*chat(3, 150)).clone();
        inner.parent_span_id = Some(SpanId([2; 8]));
        let wrapped = vec![chat(2, 100), Arc::new(inner), tool(4, 300, "a", None)];
        let got = only(&llm, "max-llm-calls", exit(), ms(1), wrapped.clone());
        assert_eq!(got, (true, "1 LLM calls, limit 1".into(), vec![]));
        let got = only(&tools, "max-tool-calls", exit(), ms(1), wrapped);
        assert_eq!(got, (true, "1 tool calls, limit 1".into(), vec![]));

        let two = vec![
            chat(2, 100),
            chat(3, 200),
            tool(4, 300, "a", None),
            tool(5, 400, "b", None),
        ];
        let got = only(&llm, "max-llm-calls", exit(), ms(1), two.clone());
        let chats = vec!["chat gpt-4o".to_owned(), "chat gpt-4o".to_owned()];
        assert_eq!(got, (false, "2 LLM calls, limit 1".into(), chats));
        let got = only(&tools, "max-tool-calls", exit(), ms(1), two);
        let marked = vec!["execute_tool a".to_owned(), "execute_tool b".to_owned()];
        assert_eq!(got, (false, "2 tool calls, limit 1".into(), marked));
    }

    #[test]
    fn error_spans_fail_the_check_and_the_first_is_named() {
        let expect = Expect {
            no_error_spans: true,
            ..Expect::default()
        };
        let exit = || AgentExit::Code { code: 0 };
        let got = only(&expect, "no-error-spans", exit(), ms(1), vec![chat(2, 0)]);
        assert_eq!(got, (true, "no error spans".into(), vec![]));

        // An `error.type` attribute makes an error span too; the message cleans the reason.
        let typed = span(
            3,
            Some(1),
            (100, 10),
            "fetch",
            &[("error.type", "timeout\nretry")],
        );
        let failed = tool(4, 200, "search", Some("denied\x1b[31m"));
        let got = only(
            &expect,
            "no-error-spans",
            exit(),
            ms(1),
            vec![typed, failed],
        );
        assert_eq!(
            got,
            (
                false,
                "2 error span(s), first `fetch`: timeout\\nretry".into(),
                vec!["execute_tool search".into(), "fetch".into()]
            )
        );
    }

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
        cost_within(limit, &cost, &view, &mut graded);
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
        cost_within(0.01, &priced(0.0), &view, &mut graded);
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
