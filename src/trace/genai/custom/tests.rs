use std::sync::Arc;

use regex::Regex;
use serde_json::json;

use super::*;
use crate::trace::genai::{GenAiView, Usage};
use crate::trace::span::{KeyValue, SpanId, TraceId};
use crate::trace::tree::SpanTree;

/// A span named `name` with `attrs`, id `id` under `parent` (0: a root), started at `id`.
fn span(id: u8, parent: u8, name: &str, attrs: &[(&str, Value)]) -> Span {
    let mut s = Span::new(TraceId([7; 16]), SpanId([id; 8]), name);
    s.parent_span_id = (parent != 0).then_some(SpanId([parent; 8]));
    s.start_time_unix_nano = u64::from(id) * 10;
    s.end_time_unix_nano = u64::from(id) * 10 + 5;
    s.attributes = attrs
        .iter()
        .map(|(k, v)| KeyValue::new(k, v.clone()))
        .collect();
    s
}

fn tree(spans: Vec<Span>) -> SpanTree {
    SpanTree::build(spans.into_iter().map(Arc::new))
}

fn rule(kind: Kind, name: Option<NameMatch>, attrs: &[(&str, &str)]) -> KindRule {
    KindRule {
        kind,
        name,
        attrs: attrs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn keys(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

fn s(v: &str) -> Value {
    Value::from(v)
}

#[test]
fn each_matcher_decides_alone_and_all_of_a_rule_must_hold() {
    let exact = rule(
        Kind::Tool,
        Some(NameMatch::Exact("acme.tool.run".into())),
        &[],
    );
    let prefix = rule(
        Kind::Tool,
        Some(NameMatch::Prefix("acme.tool.".into())),
        &[],
    );
    let regex = rule(
        Kind::Tool,
        Some(NameMatch::Regex(Regex::new(r"^acme\.(tool|fn)\.").unwrap())),
        &[],
    );
    let attr = rule(Kind::Tool, None, &[("acme.kind", "tool")]);
    let both = rule(
        Kind::Tool,
        Some(NameMatch::Prefix("acme.".into())),
        &[("acme.kind", "tool"), ("acme.version", "2")],
    );
    let typed = rule(Kind::Tool, None, &[("acme.n", "3"), ("acme.on", "true")]);
    // A rule, a span's name and attributes, and whether the rule matches.
    type Case<'a> = (&'a KindRule, &'a str, &'a [(&'a str, Value)], bool);
    let cases: &[Case<'_>] = &[
        (&exact, "acme.tool.run", &[], true),
        (&exact, "acme.tool.run2", &[], false),
        (&exact, "ACME.tool.run", &[], false),
        (&prefix, "acme.tool.search", &[], true),
        (&prefix, "acme.toolbox", &[], false),
        (&regex, "acme.fn.search", &[], true),
        (&regex, "x.acme.fn.search", &[], false),
        (&attr, "anything", &[("acme.kind", s("tool"))], true),
        (&attr, "anything", &[("acme.kind", s("Tool"))], false),
        (&attr, "anything", &[("acme.other", s("tool"))], false),
        (
            &both,
            "acme.x",
            &[("acme.kind", s("tool")), ("acme.version", Value::Int(2))],
            true,
        ),
        // One attribute missing, or the name not matching: no.
        (&both, "acme.x", &[("acme.kind", s("tool"))], false),
        (
            &both,
            "other.x",
            &[("acme.kind", s("tool")), ("acme.version", s("2"))],
            false,
        ),
        // Values compare as text: an int or a bool matches its JSON spelling.
        (
            &typed,
            "x",
            &[("acme.n", Value::Int(3)), ("acme.on", Value::Bool(true))],
            true,
        ),
        (
            &typed,
            "x",
            &[("acme.n", s("3")), ("acme.on", s("true"))],
            true,
        ),
        (
            &typed,
            "x",
            &[
                ("acme.n", Value::Double(3.5)),
                ("acme.on", Value::Bool(true)),
            ],
            false,
        ),
    ];
    for (rule, name, attrs, want) in cases {
        let span = span(1, 0, name, attrs);
        assert_eq!(rule.matches(&span), *want, "{rule:?} on {name} {attrs:?}");
        let conventions = Conventions::new(vec![(*rule).clone()], []);
        let kind = conventions.classify(&span);
        assert_eq!(kind == Kind::Tool, *want, "{name}: {kind}");
    }
}

#[test]
fn every_concept_is_read_from_its_custom_key() {
    let spans = vec![
        span(
            1,
            0,
            "acme.agent",
            &[
                ("acme.agent", s("planner")),
                ("agent.name", s("builtin-name")),
            ],
        ),
        span(
            2,
            1,
            "acme.llm",
            &[
                ("acme.vendor", s("acme-ai")),
                ("acme.model", s("acme-1")),
                ("acme.tokens.in", Value::Int(100)),
                ("acme.tokens.out", Value::Int(20)),
                ("acme.tokens.cached", Value::Int(60)),
                ("acme.tokens.cache_write", Value::Int(5)),
                ("acme.cost_usd", Value::Double(0.25)),
                ("acme.stop", s("length")),
            ],
        ),
        span(
            3,
            1,
            "acme.tool.run",
            &[
                ("acme.tool", s("lookup")),
                ("acme.call", s("c-1")),
                ("acme.args", s(r#"{"key":"k1"}"#)),
                ("acme.result", s("found")),
            ],
        ),
    ];
    let fields = [
        (Concept::Provider, "acme.vendor"),
        (Concept::Model, "acme.model"),
        (Concept::InputTokens, "acme.tokens.in"),
        (Concept::OutputTokens, "acme.tokens.out"),
        (Concept::CacheReadTokens, "acme.tokens.cached"),
        (Concept::CacheWriteTokens, "acme.tokens.cache_write"),
        (Concept::Cost, "acme.cost_usd"),
        (Concept::FinishReasons, "acme.stop"),
        (Concept::ToolName, "acme.tool"),
        (Concept::ToolCallId, "acme.call"),
        (Concept::ToolArguments, "acme.args"),
        (Concept::ToolResult, "acme.result"),
        (Concept::AgentName, "acme.agent"),
    ];
    assert_eq!(
        fields.map(|(c, _)| c),
        Concept::ALL,
        "every concept is tested"
    );
    let rules = vec![
        rule(
            Kind::Agent,
            Some(NameMatch::Exact("acme.agent".into())),
            &[],
        ),
        rule(Kind::Llm, Some(NameMatch::Exact("acme.llm".into())), &[]),
        rule(Kind::Tool, Some(NameMatch::Prefix("acme.tool".into())), &[]),
    ];
    let conventions = Conventions::new(rules, fields.map(|(c, k)| (c, keys(&[k]))));
    for (concept, key) in fields {
        assert_eq!(conventions.keys(concept), [key]);
    }
    let tree = tree(spans);
    let view = GenAiView::with_conventions(&tree, &conventions);

    let llm = &view.llm_calls()[0];
    assert_eq!(llm.provider.as_deref(), Some("acme-ai"));
    assert_eq!(llm.request_model.as_deref(), Some("acme-1"));
    assert_eq!(llm.response_model.as_deref(), Some("acme-1"));
    assert_eq!(
        (
            llm.input_tokens,
            llm.output_tokens,
            llm.cache_read_tokens,
            llm.cache_write_tokens
        ),
        (Some(100), Some(20), Some(60), Some(5))
    );
    assert_eq!(llm.cost_usd, Some(0.25));
    assert_eq!(llm.finish_reasons, ["length"]);
    let tool = &view.tool_calls()[0];
    assert_eq!(tool.name, "lookup");
    assert_eq!(tool.call_id.as_deref(), Some("c-1"));
    assert_eq!(tool.arguments, Some(json!({"key": "k1"})));
    assert_eq!(tool.result.as_deref(), Some("found"));
    // The custom key wins over a built-in one on the same span.
    assert_eq!(view.agents()[0].name, "planner");

    // Without the conventions the same spans are nothing the view counts.
    let plain = GenAiView::new(&tree);
    assert!(plain.llm_calls().is_empty() && plain.agents().is_empty());
    assert!(plain.tool_calls().is_empty());
}

#[test]
fn custom_rules_and_keys_come_before_the_builtin_ones() {
    let spans = vec![
        // A span the built-in table calls an LLM call; the team's rule says it is a step.
        span(
            1,
            0,
            "chat acme-router",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.usage.input_tokens", Value::Int(9)),
            ],
        ),
        span(
            2,
            0,
            "chat gpt",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.request.model", s("gpt-4o")),
                ("acme.model", s("acme-1")),
                ("gen_ai.usage.input_tokens", Value::Int(50)),
            ],
        ),
        // The custom key absent: the built-in key still counts.
        span(
            3,
            0,
            "chat gpt",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("gen_ai.request.model", s("gpt-4o")),
                ("gen_ai.usage.input_tokens", Value::Int(7)),
            ],
        ),
        // A custom int key holding text is skipped for the next key, as built-in keys are.
        span(
            4,
            0,
            "chat gpt",
            &[
                ("gen_ai.operation.name", s("chat")),
                ("acme.tokens.in", s("many")),
                ("gen_ai.usage.input_tokens", Value::Int(1)),
            ],
        ),
    ];
    let conventions = Conventions::new(
        vec![rule(
            Kind::Step,
            Some(NameMatch::Exact("chat acme-router".into())),
            &[],
        )],
        [
            (Concept::Model, keys(&["acme.model"])),
            (Concept::InputTokens, keys(&["acme.tokens.in"])),
        ],
    );
    let tree = tree(spans);
    let view = GenAiView::with_conventions(&tree, &conventions);
    let kinds: Vec<Kind> = tree.walk().map(|n| view.kind(n.id())).collect();
    assert_eq!(kinds, [Kind::Step, Kind::Llm, Kind::Llm, Kind::Llm]);
    let models: Vec<_> = view
        .llm_calls()
        .iter()
        .map(|c| c.request_model.as_deref())
        .collect();
    assert_eq!(models, [Some("acme-1"), Some("gpt-4o"), None]);
    assert_eq!(view.usage().input_tokens, 58);
    assert_eq!(GenAiView::new(&tree).usage().input_tokens, 67);
}

#[test]
fn before_puts_the_suite_first_and_keeps_the_project_after_it() {
    let suite = Conventions::new(
        vec![rule(
            Kind::Tool,
            Some(NameMatch::Prefix("acme.".into())),
            &[],
        )],
        [(Concept::ToolName, keys(&["suite.tool"]))],
    );
    let project = Conventions::new(
        vec![
            rule(Kind::Agent, Some(NameMatch::Prefix("acme.".into())), &[]),
            rule(Kind::Llm, Some(NameMatch::Prefix("corp.".into())), &[]),
        ],
        [
            (Concept::ToolName, keys(&["corp.tool"])),
            (Concept::Model, keys(&["corp.model"])),
        ],
    );
    let both = suite.before(&project);
    let kinds: Vec<Kind> = both.rules().iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [Kind::Tool, Kind::Agent, Kind::Llm]);
    assert_eq!(both.keys(Concept::ToolName), ["suite.tool", "corp.tool"]);
    assert_eq!(both.keys(Concept::Model), ["corp.model"]);
    assert_eq!(both.classify(&span(1, 0, "acme.x", &[])), Kind::Tool);
    assert_eq!(both.classify(&span(1, 0, "corp.x", &[])), Kind::Llm);
    assert_eq!(project.classify(&span(1, 0, "acme.x", &[])), Kind::Agent);

    // Layering with nothing is the other side, and nothing on both sides is empty.
    let none = Conventions::default();
    assert!(none.before(&none).is_empty());
    assert_eq!(none.before(&project).rules().len(), 2);
    assert_eq!(suite.before(&none).keys(Concept::ToolName), ["suite.tool"]);
    assert!(Conventions::new(Vec::new(), []).is_empty());
}

#[test]
fn selectors_see_custom_kinds_names_and_models() {
    let spans = vec![
        span(1, 0, "acme.agent", &[("acme.agent", s("planner"))]),
        span(2, 1, "acme.llm", &[("acme.model", s("acme-1"))]),
        span(3, 1, "acme.tool.run", &[("acme.tool", s("lookup"))]),
        // The same tool instrumented twice: one call, yet still a `tool` named `lookup`.
        span(4, 3, "acme.tool.run", &[("acme.tool", s("lookup"))]),
        span(5, 1, "acme.tool.run", &[("acme.tool", s("write"))]),
    ];
    let conventions = Conventions::new(
        vec![
            rule(
                Kind::Agent,
                Some(NameMatch::Exact("acme.agent".into())),
                &[],
            ),
            rule(Kind::Llm, Some(NameMatch::Exact("acme.llm".into())), &[]),
            rule(Kind::Tool, Some(NameMatch::Prefix("acme.tool".into())), &[]),
        ],
        [
            (Concept::ToolName, keys(&["acme.tool"])),
            (Concept::Model, keys(&["acme.model"])),
            (Concept::AgentName, keys(&["acme.agent"])),
        ],
    );
    let tree = tree(spans);
    let view = GenAiView::with_conventions(&tree, &conventions);
    let count = |selector: &str| {
        crate::trace::query::Selector::parse(selector)
            .unwrap()
            .select(&view)
            .len()
    };
    assert_eq!(count(r#"tool[name="lookup"]"#), 2);
    assert_eq!(count(r#"tool[name="write"]"#), 1);
    assert_eq!(count(r#"agent[name="planner"] > llm[model="acme-1"]"#), 1);
    assert_eq!(count(r#"tool[name="lookup"] > tool"#), 1);
    assert_eq!(view.tool_calls().len(), 2);

    let plain = GenAiView::new(&tree);
    let count = |selector: &str| {
        crate::trace::query::Selector::parse(selector)
            .unwrap()
            .select(&plain)
            .len()
    };
    assert_eq!(count(r#"tool[name="lookup"]"#), 0);
    assert_eq!(count(r#"span[model="acme-1"]"#), 0);
}

#[test]
fn usage_and_recorded_cost_come_from_custom_fields() {
    let spans = vec![
        span(1, 0, "acme.agent", &[("acme.tokens.in", Value::Int(999))]),
        span(
            2,
            1,
            "acme.llm",
            &[
                ("acme.tokens.in", Value::Int(100)),
                ("acme.tokens.out", Value::Int(10)),
                ("acme.cost_usd", Value::Double(0.5)),
            ],
        ),
        span(
            3,
            1,
            "acme.llm",
            &[
                ("acme.tokens.in", Value::Int(200)),
                ("acme.tokens.out", Value::Int(30)),
            ],
        ),
    ];
    let conventions = Conventions::new(
        vec![
            rule(
                Kind::Agent,
                Some(NameMatch::Exact("acme.agent".into())),
                &[],
            ),
            rule(Kind::Llm, None, &[]),
        ],
        [
            (Concept::InputTokens, keys(&["acme.tokens.in"])),
            (Concept::OutputTokens, keys(&["acme.tokens.out"])),
            (Concept::Cost, keys(&["acme.cost_usd"])),
        ],
    );
    let tree = tree(spans);
    let usage = GenAiView::with_conventions(&tree, &conventions).usage();
    assert_eq!(usage.llm_calls, 2);
    // The agent's total is not counted: tokens come from LLM spans only.
    assert_eq!((usage.input_tokens, usage.output_tokens), (300, 40));
    assert_eq!(usage.recorded_cost_usd, 0.5);
    assert_eq!(usage.calls_without_cost, 1);
    assert_eq!(GenAiView::new(&tree).usage(), Usage::default());
}
