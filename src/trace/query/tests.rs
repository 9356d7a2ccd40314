use std::sync::Arc;

use proptest::prelude::*;

use super::*;
use crate::trace::genai::GenAiView;
use crate::trace::span::{KeyValue, Span, SpanId, StatusCode, TraceId, Value};
use crate::trace::tree::SpanTree;

/// Adds a span with id `id` under `parent` (0 = root), starting at `id`.
fn span(id: u8, parent: u8, name: &str, attrs: &[(&str, Value)]) -> Span {
    let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
    s.parent_span_id = (parent != 0).then_some(SpanId([parent; 8]));
    s.start_time_unix_nano = u64::from(id) * 10;
    s.end_time_unix_nano = u64::from(id) * 10 + 5;
    s.attributes = attrs
        .iter()
        .map(|(k, v)| KeyValue::new(k, v.clone()))
        .collect();
    s
}

fn op(name: &str) -> (&'static str, Value) {
    ("gen_ai.operation.name", Value::from(name))
}

/// ```text
/// 1 agent planner
///   2 llm chat gpt-4o
///   3 tool search   (attempt=1, score=0.75, limit="5", cached=true, status ok)
///   4 tool read     (status error)
///   5 agent researcher
///     6 step plan
///       7 tool search (attempt=2, tool name from the span name)
///     8 other http GET (attribute `name` = "raw")
/// ```
fn tree() -> SpanTree {
    let mut ok = span(
        3,
        1,
        "execute_tool search",
        &[
            op("execute_tool"),
            ("gen_ai.tool.name", "search".into()),
            ("attempt", Value::Int(1)),
            ("score", Value::Double(0.75)),
            ("limit", "5".into()),
            ("cached", Value::Bool(true)),
        ],
    );
    ok.status.code = StatusCode::Ok;
    let mut failed = span(
        4,
        1,
        "execute_tool read",
        &[op("execute_tool"), ("gen_ai.tool.name", "read".into())],
    );
    failed.status.code = StatusCode::Error;
    let spans = [
        span(
            1,
            0,
            "invoke_agent planner",
            &[op("invoke_agent"), ("gen_ai.agent.name", "planner".into())],
        ),
        span(
            2,
            1,
            "chat gpt-4o",
            &[
                op("chat"),
                ("gen_ai.request.model", "gpt-4o".into()),
                ("gen_ai.response.model", "gpt-4o-2024-08-06".into()),
                ("gen_ai.usage.input_tokens", Value::Int(120)),
            ],
        ),
        ok,
        failed,
        span(
            5,
            1,
            "invoke_agent researcher",
            &[
                op("invoke_agent"),
                ("gen_ai.agent.name", "researcher".into()),
            ],
        ),
        span(6, 5, "plan", &[("openinference.span.kind", "CHAIN".into())]),
        span(
            7,
            6,
            "execute_tool search",
            &[op("execute_tool"), ("attempt", Value::Int(2))],
        ),
        span(8, 5, "http GET", &[("name", "raw".into())]),
    ];
    SpanTree::build(spans.into_iter().map(Arc::new))
}

/// The ids (the byte of the span id) a selector selects.
fn ids(view: &GenAiView<'_>, selector: &str) -> Vec<u8> {
    let parsed = Selector::parse(selector).unwrap_or_else(|e| panic!("{}", e.render(selector)));
    parsed
        .select(view)
        .into_iter()
        .map(|id| view.tree().node(id).span().span_id.0[0])
        .collect()
}

#[test]
fn evaluation_covers_every_kind_operator_combinator_and_pseudo_class() {
    let tree = tree();
    let view = GenAiView::new(&tree);
    let cases: &[(&str, &[u8])] = &[
        // kinds
        ("span", &[1, 2, 3, 4, 5, 6, 7, 8]),
        ("agent", &[1, 5]),
        ("llm", &[2]),
        ("tool", &[3, 4, 7]),
        ("step", &[6]),
        ("other", &[8]),
        ("retry", &[]),
        ("retrieval, embedding", &[]),
        // name: span name, tool name or agent name
        ("tool[name=\"search\"]", &[3, 7]),
        ("[name=\"execute_tool search\"]", &[3, 7]),
        ("agent[name=\"researcher\"]", &[5]),
        ("llm[name=\"search\"]", &[]),
        ("tool[name!=\"search\"]", &[4]),
        ("tool[name~=\"^(search|read)$\"]", &[3, 4, 7]),
        ("[name~=\"GET\"]", &[8]),
        ("[\"name\"=\"raw\"]", &[8]),
        ("[\"name\"]", &[8]),
        // attributes: equality, presence, absence, regex
        ("[gen_ai.usage.input_tokens]", &[2]),
        ("[attempt=2]", &[7]),
        ("[attempt=\"2\"]", &[7]),
        ("[attempt!=2]", &[1, 2, 3, 4, 5, 6, 8]),
        ("[cached=true]", &[3]),
        ("[cached=false]", &[]),
        ("[cached=\"true\"]", &[3]),
        ("[gen_ai.request.model~=\"^gpt-4\"]", &[2]),
        // numbers: ints, doubles and numeric strings; anything else never matches
        ("[attempt<2]", &[3]),
        ("[attempt<=2]", &[3, 7]),
        ("[attempt>1]", &[7]),
        ("[attempt>=1]", &[3, 7]),
        ("[score>0.5]", &[3]),
        ("[score<0.5]", &[]),
        ("[limit>=5]", &[3]),
        ("[limit=5]", &[3]),
        ("[name>0]", &[]),
        ("[cached>0]", &[]),
        ("[attempt>-1.5e0]", &[3, 7]),
        // several predicates are AND, in one bracket or many
        ("tool[name=\"search\"][attempt=2]", &[7]),
        ("tool[name=\"search\" attempt=2]", &[7]),
        ("tool[name=\"search\" attempt]", &[3, 7]),
        // shorthands
        ("llm[model=\"gpt-4o\"]", &[2]),
        ("[model=\"gpt-4o-2024-08-06\"]", &[2]),
        ("[model]", &[2]),
        ("[status=\"error\"]", &[4]),
        ("[status=\"ok\"]", &[3]),
        ("tool[status!=\"error\"]", &[3, 7]),
        ("agent[status=\"unset\"]", &[1, 5]),
        // combinators
        ("agent tool", &[3, 4, 7]),
        ("agent > tool", &[3, 4]),
        ("agent agent tool", &[7]),
        ("agent > agent > tool", &[]),
        ("agent > step > tool", &[7]),
        ("agent>step>tool", &[7]),
        ("span > span > span > span", &[7]),
        ("agent [attempt]", &[3, 7]),
        ("tool span", &[]),
        // pseudo-classes over the list selected so far, in tree order
        ("tool:first", &[3]),
        ("tool:last", &[7]),
        ("tool:nth(2)", &[4]),
        ("tool:nth(9)", &[]),
        ("agent > tool:last", &[4]),
        ("agent:last tool", &[7]),
        ("agent:first > span:last", &[5]),
        ("tool[name=\"search\"]:nth(2)", &[7]),
        ("tool:last:first", &[7]),
        ("agent:nth(2) > :first", &[6]),
        // comma: union in tree order without duplicates
        ("llm, tool[name=\"read\"]", &[2, 4]),
        ("tool, llm", &[2, 3, 4, 7]),
        ("tool, tool[name=\"search\"], tool:first", &[3, 4, 7]),
        ("tool:first, tool:last", &[3, 7]),
    ];
    let mut failures = Vec::new();
    for (selector, expected) in cases {
        let got = ids(&view, selector);
        if got != *expected {
            failures.push(format!("{selector}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn parse_errors_point_at_the_column() {
    let cases: &[(&str, usize, &str)] = &[
        ("", 1, "expected a kind"),
        ("   ", 4, "expected a kind"),
        ("tol", 1, "unknown kind `tol`"),
        ("tool[name=\"search\"", 19, "expected `]`"),
        ("tool[name=\"search\"}", 19, "expected `]`"),
        ("tool[", 6, "expected an attribute name"),
        ("tool[]", 6, "expected an attribute name"),
        ("tool[name=", 11, "expected a value"),
        ("tool[name=search]", 11, "write \"search\" for text"),
        ("tool[name=\"abc", 11, "unterminated string"),
        ("tool[name=\"a\\qb\"]", 13, "unknown escape `\\q`"),
        ("tool[name=\"\\u{110000}\"]", 12, "invalid escape"),
        ("tool[name~=\"(\"]", 12, "invalid regex"),
        ("tool[name~=abc]", 12, "expected a quoted regex"),
        ("tool[attempt<\"x\"]", 14, "expected a number after `<`"),
        ("tool[attempt>=]", 15, "expected a number after `>=`"),
        ("tool[attempt<1.]", 14, "invalid number `1.`"),
        ("tool[x<1e999]", 8, "out of range"),
        ("tool[name?\"x\"]", 10, "expected an operator"),
        ("tool[name!\"x\"]", 10, "expected an operator"),
        ("tool[a=1b]", 9, "expected `]`"),
        ("[status=\"broken\"]", 9, "`status` is"),
        ("[status=1]", 9, "`status` is"),
        ("[status>1]", 8, "`status` cannot be compared"),
        ("tool:foo", 5, "unknown pseudo-class `:foo`"),
        ("tool:nth(0)", 10, "`:nth` counts from 1"),
        ("tool:nth()", 10, "expected a position"),
        ("tool:nth(2", 11, "expected `)`"),
        ("tool:nth 2", 9, "expected `(`"),
        ("tool:nth(99999999999)", 10, "too large"),
        (
            "tool:first[name=\"x\"]",
            11,
            "must come before pseudo-classes",
        ),
        ("tool,", 6, "expected a selector after `,`"),
        ("tool, ,llm", 7, "expected a selector after `,`"),
        ("agent >", 8, "expected a selector after `>`"),
        ("agent > > tool", 9, "expected a selector after `>`"),
        ("> tool", 1, "expected a kind"),
        ("tool]", 5, "unexpected `]`"),
        ("tool llm)", 9, "unexpected `)`"),
        ("tool[\"name]", 6, "unterminated string"),
        ("é[x]", 1, "expected a kind"),
        ("[é=1]", 2, "expected an attribute name"),
        ("[x=\"é\"]]", 8, "unexpected `]`"),
    ];
    let mut failures = Vec::new();
    for &(selector, column, message) in cases {
        match Selector::parse(selector) {
            Ok(s) => failures.push(format!("{selector:?}: parsed as {s}")),
            Err(e) if e.column != column || !e.message.contains(message) => failures.push(format!(
                "{selector:?}: expected column {column} `{message}`, got {e}"
            )),
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn errors_display_their_column_and_render_a_caret() {
    let source = "tool[name=\"search\"";
    let e = Selector::parse(source).unwrap_err();
    assert_eq!(e.to_string(), "selector error at column 19: expected `]`");
    assert_eq!(
        e.render(source),
        "tool[name=\"search\"\n                  ^ expected `]`"
    );
    let e = Selector::parse("tool:nth(0)").unwrap_err();
    assert_eq!(
        e.render("tool:nth(0)"),
        "tool:nth(0)\n         ^ `:nth` counts from 1"
    );
}

#[test]
fn display_is_canonical() {
    let cases = [
        ("tool", "tool"),
        ("[x]", "span[x]"),
        (":first", "span:first"),
        (
            "  tool [ name = \"a\"  attempt>=2 ]:nth( 2 ) >llm ,agent  ",
            "tool span[name=\"a\"][attempt>=2]:nth(2) > llm, agent",
        ),
        (
            "[\"name\"=\"x\"][\"a b\"][\"tool\"][c.d-e_f!=true]",
            "span[\"name\"=\"x\"][\"a b\"][tool][c.d-e_f!=true]",
        ),
        ("[x=1.50][y<-0][z>1e3]", "span[x=1.5][y<-0][z>1000]"),
        (
            "[x=\"a\\\"b\\\\c\\n\\u{7}\\u{e9}\"][r~=\"\\\\d+\"]",
            "span[x=\"a\\\"b\\\\c\\n\\u{7}é\"][r~=\"\\\\d+\"]",
        ),
    ];
    for (input, canonical) in cases {
        let parsed = Selector::parse(input).unwrap_or_else(|e| panic!("{}", e.render(input)));
        assert_eq!(parsed.to_string(), canonical, "{input}");
        assert_eq!(Selector::parse(canonical).unwrap(), parsed, "{canonical}");
    }
}

#[test]
fn a_regex_escape_reaches_the_regex() {
    let tree = tree();
    let view = GenAiView::new(&tree);
    assert_eq!(ids(&view, r#"[name~="gpt-\\d"]"#), [2]);
}

#[test]
fn a_parsed_selector_selects_from_the_view() {
    let tree = tree();
    let view = GenAiView::new(&tree);
    let found = Selector::parse("tool[name=\"search\"]")
        .unwrap()
        .select(&view);
    let names: Vec<&str> = found
        .iter()
        .map(|&id| tree.node(id).span().name.as_str())
        .collect();
    assert_eq!(names, ["execute_tool search", "execute_tool search"]);
    assert_eq!(Selector::parse("tool[").unwrap_err().column, 6);
    assert_eq!("llm".parse::<Selector>().unwrap().select(&view).len(), 1);
}

#[test]
fn the_trial_root_is_selected_only_by_a_compound_that_names_it() {
    let spans = [
        span(1, 0, "eval.trial", &[("eval.case", "c".into())]),
        span(2, 1, "child1", &[]),
        span(3, 1, "child2", &[]),
        // Not the trial root: not a root.
        span(4, 3, "eval.trial", &[]),
    ];
    let tree = SpanTree::build(spans.into_iter().map(Arc::new));
    let view = GenAiView::new(&tree);
    let cases: [(&str, &[u8]); 10] = [
        (r#"span[name!="child1"]"#, &[3, 4]),
        ("span", &[2, 3, 4]),
        ("other", &[2, 3, 4]),
        ("span[eval.case]", &[]),
        ("span:first", &[2]),
        (r#"span[name="eval.trial"]"#, &[1, 4]),
        (r#"span[name~="^eval"]"#, &[1, 4]),
        (r#"span[name~="^eval"]:first > span"#, &[2, 3]),
        (r#"span[name="eval.trial"][eval.case]"#, &[1]),
        (r#"span[name="child1"], span[name!="x"]"#, &[2, 3, 4]),
    ];
    for (selector, want) in cases {
        assert_eq!(ids(&view, selector), want, "{selector}");
    }
}

#[test]
fn an_empty_tree_selects_nothing() {
    let tree = SpanTree::build(Vec::<Arc<Span>>::new());
    let view = GenAiView::new(&tree);
    assert!(
        Selector::parse("span, tool:first, agent > llm")
            .unwrap()
            .select(&view)
            .is_empty()
    );
}

/// 100,000 spans, both as one chain and as a wide tree. Selection is one pass per compound,
/// so this stays fast even in debug builds; a quadratic ancestor walk would not finish.
#[test]
fn selection_is_linear_on_deep_and_wide_trees() {
    let n: u32 = 100_000;
    let make = |parent_of: &dyn Fn(u32) -> Option<u32>| {
        let spans = (0..n).map(|i| {
            let (name, op) = if i % 2 == 0 {
                ("invoke_agent a", "invoke_agent")
            } else {
                ("execute_tool t", "execute_tool")
            };
            let mut s = Span::new(
                TraceId([1; 16]),
                SpanId(u64::from(i + 1).to_be_bytes()),
                name,
            );
            s.parent_span_id = parent_of(i).map(|p| SpanId(u64::from(p + 1).to_be_bytes()));
            s.start_time_unix_nano = u64::from(i);
            s.attributes = [KeyValue::new("gen_ai.operation.name", op)]
                .into_iter()
                .collect();
            Arc::new(s)
        });
        SpanTree::build(spans)
    };
    let deep = make(&|i| i.checked_sub(1));
    let view = GenAiView::new(&deep);
    let selector =
        Selector::parse("agent agent tool[name=\"t\"], span > tool:last, tool agent").unwrap();
    let found = selector.select(&view);
    // Tools from depth 3 on have two agents above them; agents from depth 2 on a tool.
    assert_eq!(found.len(), (n as usize - 1) - 1);

    let wide = make(&|i| i.checked_sub(1).map(|p| p / 10));
    let view = GenAiView::new(&wide);
    let found = Selector::parse("agent > tool, agent tool agent:first")
        .unwrap()
        .select(&view);
    assert!(!found.is_empty());
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_.]{0,8}",
        any::<String>(),
        Just("\"\\\n\t\r\u{7}é\u{10ffff}".to_owned()),
    ]
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-1000i64..1000).prop_map(|i| i as f64),
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Name),
        Just(Field::Model),
        Just(Field::Attr("name".to_owned())),
        Just(Field::Attr("gen_ai.tool.name".to_owned())),
        "[a-z_][a-z0-9_.-]{0,10}".prop_map(Field::Attr),
        string().prop_map(Field::Attr),
    ]
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        string().prop_map(Literal::Str),
        number().prop_map(Literal::Num),
        any::<bool>().prop_map(Literal::Bool),
    ]
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        string().prop_map(|s| regex::escape(&s)),
        Just(r"^(search|read)\d+$".to_owned()),
        Just(r#"a"b\\c"#.to_owned()),
    ]
    .prop_map(|p| Pattern(regex::Regex::new(&p).expect("escaped patterns compile")))
}

fn test() -> impl Strategy<Value = Test> {
    prop_oneof![
        Just(Test::Exists),
        literal().prop_map(Test::Eq),
        literal().prop_map(Test::Ne),
        pattern().prop_map(Test::Matches),
        number().prop_map(Test::Lt),
        number().prop_map(Test::Le),
        number().prop_map(Test::Gt),
        number().prop_map(Test::Ge),
    ]
}

fn predicate() -> impl Strategy<Value = Predicate> {
    let status = prop_oneof![Just("error"), Just("ok"), Just("unset")];
    prop_oneof![
        4 => (field(), test()).prop_map(|(field, test)| Predicate { field, test }),
        1 => (status, any::<bool>(), any::<bool>()).prop_map(|(s, eq, exists)| Predicate {
            field: Field::Status,
            test: match (exists, eq) {
                (true, _) => Test::Exists,
                (false, true) => Test::Eq(Literal::Str(s.to_owned())),
                (false, false) => Test::Ne(Literal::Str(s.to_owned())),
            },
        }),
    ]
}

fn compound() -> impl Strategy<Value = Compound> {
    let kind = prop::sample::select(KIND_NAMES.iter().map(|&(_, k)| k).collect::<Vec<_>>());
    let pseudo = prop_oneof![
        Just(Pseudo::First),
        Just(Pseudo::Last),
        (1u32..=u32::MAX).prop_map(Pseudo::Nth),
    ];
    (
        kind,
        prop::collection::vec(predicate(), 0..3),
        prop::collection::vec(pseudo, 0..3),
    )
        .prop_map(|(kind, predicates, pseudos)| Compound {
            kind,
            predicates,
            pseudos,
        })
}

fn selector() -> impl Strategy<Value = Selector> {
    let combinator = prop_oneof![Just(Combinator::Descendant), Just(Combinator::Child)];
    let complex = (
        compound(),
        prop::collection::vec((combinator, compound()), 0..3),
    )
        .prop_map(|(head, tail)| Complex { head, tail });
    prop::collection::vec(complex, 1..4).prop_map(|alternatives| Selector { alternatives })
}

proptest! {
    #[test]
    fn printed_selectors_parse_back_to_themselves(selector in selector()) {
        let text = selector.to_string();
        let parsed = Selector::parse(&text).map_err(|e| TestCaseError::fail(e.render(&text)))?;
        prop_assert_eq!(&parsed, &selector, "{}", text);
        prop_assert_eq!(parsed.to_string(), text);
    }

    #[test]
    fn the_parser_never_panics_and_errors_point_inside_or_just_past_the_input(input in "[a-z \\[\\]=!~<>:(),.\"0-9-]{0,30}") {
        if let Err(e) = Selector::parse(&input) {
            prop_assert!(e.column >= 1 && e.column <= input.chars().count() + 1, "{}", e);
        }
    }
}
