//! The parts of `[case.expect]` with a shape of their own: span assertions, trajectories and
//! expected tool calls.

use super::*;

const SPAN_SUITE: &str = r#"cases = "spans.jsonl"

[agent]
kind = "command"
command = ["./agent"]

[[case]]
id = "weather"
input = "Weather in Paris?"

[[case.expect.span]]
select = 'tool[name="get_weather"]'
count = 1
max-duration = "2s"
status = "ok"
attrs = { "gen_ai.request.model" = "gpt-4o-mini", retries = 0, cached = false, tags = ["a", "b"], at = 2024-05-01 }
before = 'llm:last'
after = 'tool[name="search"]'

[[case.expect.span]]
select = "llm"
count = ">= 1"

[[case.expect.span]]
select = """tool[name="delete"], tool[name~="^rm"]"""
count = "0"

[[case]]
id = "no-spans"
input = "hi"
[case.expect]
output-contains = "hi"
"#;

const SPAN_CASES: &str = r#"{"id": "jsonl", "input": 1, "expect": {"span": [{"select": "agent > tool", "count": "!= 0", "max-duration": "500ms", "status": "error", "attrs": {"n": 1.5}}, {"select": "llm:nth(2)", "count": 2, "after": "tool"}]}}
"#;

#[test]
fn span_assertions_load_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suite.toml", SPAN_SUITE);
    dir.write("spans.jsonl", SPAN_CASES);
    let suite = load_suite(&path).unwrap();
    let ids: Vec<&str> = suite.cases.iter().map(|case| case.id.as_str()).collect();
    assert_eq!(ids, ["weather", "no-spans", "jsonl"]);

    let spans = &suite.cases[0].expect.spans;
    assert_eq!(spans.len(), 3);
    let weather = &spans[0];
    assert_eq!(weather.select, selector(r#"tool[name="get_weather"]"#));
    assert_eq!(weather.select.to_string(), r#"tool[name="get_weather"]"#);
    assert_eq!(
        weather.count,
        Some(Count {
            op: CountOp::Eq,
            n: 1
        })
    );
    assert_eq!(weather.max_duration, Some(Duration::from_secs(2)));
    assert_eq!(weather.status.as_deref(), Some("ok"));
    let attrs = BTreeMap::from([
        ("gen_ai.request.model".to_owned(), json!("gpt-4o-mini")),
        ("retries".to_owned(), json!(0)),
        ("cached".to_owned(), json!(false)),
        ("tags".to_owned(), json!(["a", "b"])),
        // TOML dates become their text, as in a case's input.
        ("at".to_owned(), json!("2024-05-01")),
    ]);
    assert_eq!(weather.attrs, attrs);
    assert_eq!(weather.before, Some(selector("llm:last")));
    assert_eq!(weather.after, Some(selector(r#"tool[name="search"]"#)));

    let llm = &spans[1];
    assert_eq!(llm.select, selector("llm"));
    assert_eq!(
        llm.count,
        Some(Count {
            op: CountOp::Ge,
            n: 1
        })
    );
    assert_eq!(
        (&llm.max_duration, &llm.status, &llm.before, &llm.after),
        (&None, &None, &None, &None)
    );
    assert!(llm.attrs.is_empty());
    assert_eq!(
        spans[2].select,
        selector(r#"tool[name="delete"], tool[name~="^rm"]"#)
    );
    assert_eq!(
        spans[2].count,
        Some(Count {
            op: CountOp::Eq,
            n: 0
        })
    );

    assert!(suite.cases[1].expect.spans.is_empty());

    let spans = &suite.cases[2].expect.spans;
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].select, selector("agent > tool"));
    assert_eq!(
        spans[0].count,
        Some(Count {
            op: CountOp::Ne,
            n: 0
        })
    );
    assert_eq!(spans[0].max_duration, Some(Duration::from_millis(500)));
    assert_eq!(spans[0].status.as_deref(), Some("error"));
    assert_eq!(
        spans[0].attrs,
        BTreeMap::from([("n".to_owned(), json!(1.5))])
    );
    assert_eq!(spans[1].select, selector("llm:nth(2)"));
    assert_eq!(
        spans[1].count,
        Some(Count {
            op: CountOp::Eq,
            n: 2
        })
    );
    assert_eq!(spans[1].after, Some(selector("tool")));
}

const TRAJECTORY_SUITE: &str = r#"cases = "trajectories.jsonl"

[agent]
kind = "command"
command = ["./agent"]

[[case]]
id = "mode-only"
input = "Find doc-1"
[case.expect]
tools = [{ name = "search" }, { name = "read", args = { id = "doc-1" } }]
trajectory = "in-order"

[[case]]
id = "table"
input = "Find doc-1"
[case.expect]
tools = [{ name = "search" }, { name = "read", args = { id = "doc-1" } }, { name = "search" }]
trajectory = { mode = "any-order", args = "exact", tool-args = { search = "ignore", read = "subset" } }

[[case]]
id = "table-header"
input = "Find doc-1"
[case.expect]
tools = []
[case.expect.trajectory]
mode = "exact"

[[case]]
id = "none"
input = "hi"
[case.expect]
tools = [{ name = "search" }]
"#;

const TRAJECTORY_CASES: &str = r#"{"id": "jsonl-mode", "input": 1, "expect": {"tools": [{"name": "search"}], "trajectory": "superset"}}
{"id": "jsonl-table", "input": 2, "expect": {"tools": [{"name": "search"}, {"name": "read"}], "trajectory": {"mode": "subset", "tool-args": {"read": "within"}}}}
{"id": "jsonl-args", "input": 3, "expect": {"tools": [{"name": "search"}], "trajectory": {"mode": "in-order", "args": "ignore"}}}
"#;

#[test]
fn trajectories_load_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suite.toml", TRAJECTORY_SUITE);
    dir.write("trajectories.jsonl", TRAJECTORY_CASES);
    let suite = load_suite(&path).unwrap();
    let loaded: Vec<(&str, Option<&Trajectory>)> = suite
        .cases
        .iter()
        .map(|case| (case.id.as_str(), case.expect.trajectory.as_ref()))
        .collect();
    let trajectory = |mode, args, tool_args: &[(&str, ArgMode)]| Trajectory {
        mode,
        args,
        tool_args: tool_args
            .iter()
            .map(|&(tool, mode)| (tool.to_owned(), mode))
            .collect(),
    };
    let expected = [
        (
            "mode-only",
            Some(trajectory(TrajectoryMode::InOrder, ArgMode::Contains, &[])),
        ),
        (
            "table",
            Some(trajectory(
                TrajectoryMode::AnyOrder,
                ArgMode::Exact,
                &[("read", ArgMode::Contains), ("search", ArgMode::Ignore)],
            )),
        ),
        (
            "table-header",
            Some(trajectory(TrajectoryMode::Exact, ArgMode::Contains, &[])),
        ),
        ("none", None),
        (
            "jsonl-mode",
            Some(trajectory(TrajectoryMode::Superset, ArgMode::Contains, &[])),
        ),
        (
            "jsonl-table",
            Some(trajectory(
                TrajectoryMode::Subset,
                ArgMode::Contains,
                &[("read", ArgMode::Within)],
            )),
        ),
        (
            "jsonl-args",
            Some(trajectory(TrajectoryMode::InOrder, ArgMode::Ignore, &[])),
        ),
    ];
    let expected: Vec<(&str, Option<&Trajectory>)> = expected
        .iter()
        .map(|(id, trajectory)| (*id, trajectory.as_ref()))
        .collect();
    assert_eq!(loaded, expected);
    // The expected calls themselves are untouched.
    assert_eq!(suite.cases[1].expect.tools.as_ref().map(Vec::len), Some(3));
}

/// Suites that must not load: expect.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // A builtin agent's cases can only expect calls of its tools.
        bad(
            format!("{BUILTIN}expect.tools = [{{ name = \"get_wether\" }}]\n[[tool]]\nname = \"get_weather\"\nreturns = 1\n[[tool]]\nname = \"search\"\nreturns = 2\n"),
            "suite.toml:7:26: invalid `case[0].expect.tools[0].name`: `get_wether` is not a tool of the builtin agent: its tools are `get_weather` and `search`",
        )
        .hint("did you mean `get_weather`?"),
        bad(
            format!("{BUILTIN}expect.tools = [{{ name = \"search\" }}]\n"),
            "suite.toml:7:26: invalid `case[0].expect.tools[0].name`: `search` is not a tool of the builtin agent, which has no `[[tool]]` tables",
        ),
        bad(
            format!("cases = \"cases.jsonl\"\n{BUILTIN}[[tool]]\nname = \"search\"\nreturns = 1\n"),
            "cases.jsonl:1:55: invalid `expect.tools[0].name`: `serch` is not a tool of the builtin agent: its tools are `search`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"serch\"}]}}\n")
        .hint("did you mean `search`?"),
        // Span assertions: selectors, shown at the selector's column when the string allows.
        bad(
            span("select = 'tool[name=\"x\"'"),
            "suite.toml:9:24: invalid `case[0].expect.span[0].select`: selector error at column 14: expected `]`",
        ),
        bad(
            span("select = \"tool[name=\\\"x\\\"\""),
            "suite.toml:9:10: invalid `case[0].expect.span[0].select`: selector error at column 14: expected `]`",
        ),
        bad(
            span("select = \"\""),
            "suite.toml:9:11: invalid `case[0].expect.span[0].select`: selector error at column 1: …",
        ),
        bad(
            span("select = \"tool\"\nbefore = \"llm:lst\""),
            "suite.toml:10:14: invalid `case[0].expect.span[0].before`: selector error at column 4: unknown pseudo-class `:lst`; expected `:first`, `:last` or `:nth(n)`",
        ),
        bad(
            span("select = \"tool\"\n[[case.expect.span]]\nselect = \"tool\"\nafter = \"\"\"\nllm >\"\"\""),
            "suite.toml:12:9: invalid `case[0].expect.span[1].after`: selector error at column …",
        ),
        bad(span("count = 1"), "suite.toml:8:1: missing required key `case[0].expect.span[0].select`"),
        // Counts.
        bad(
            span("select = \"tool\"\ncount = -1"),
            "suite.toml:10:9: invalid `case[0].expect.span[0].count`: `-1` is not a count: write a number or a comparison such as \">= 1\"",
        ),
        bad(
            span("select = \"tool\"\ncount = 1.0"),
            "suite.toml:10:9: invalid `case[0].expect.span[0].count`: `1.0` is not a count: write a number or a comparison such as \">= 1\"",
        ),
        bad(
            span("select = \"tool\"\ncount = \"about 3\""),
            "suite.toml:10:9: invalid `case[0].expect.span[0].count`: `about 3` is not a count: write a number or a comparison such as \">= 1\"",
        ),
        bad(
            span("select = \"tool\"\ncount = \"=> 1\""),
            "suite.toml:10:9: invalid `case[0].expect.span[0].count`: `=> 1` is not a count: write a number or a comparison such as \">= 1\"",
        ),
        bad(
            span("select = \"tool\"\ncount = true"),
            "suite.toml:10:9: `case[0].expect.span[0].count` must be a count: an integer or a comparison such as \">= 1\", found boolean `true`",
        ),
        // Status, durations, attributes.
        bad(
            span("select = \"tool\"\nstatus = \"okay\""),
            "suite.toml:10:10: invalid `case[0].expect.span[0].status`: must be `ok`, `error` or `unset`, found `okay`",
        )
        .hint("did you mean `ok`?"),
        bad(
            span("select = \"tool\"\nstatus = \"ERROR\""),
            "suite.toml:10:10: invalid `case[0].expect.span[0].status`: must be `ok`, `error` or `unset`, found `ERROR`",
        )
        .hint("did you mean `error`?"),
        bad(
            span("select = \"tool\"\nstatus = \"failed\""),
            "suite.toml:10:10: invalid `case[0].expect.span[0].status`: must be `ok`, `error` or `unset`, found `failed`",
        ),
        bad(
            span("select = \"tool\"\nmax-duration = \"0ms\""),
            "suite.toml:10:16: invalid `case[0].expect.span[0].max-duration`: `0ms` is zero; a duration must be positive",
        ),
        bad(
            span("select = \"tool\"\nmax-duration = \"soon\""),
            "suite.toml:10:16: invalid `case[0].expect.span[0].max-duration`: `soon` is not a duration …",
        ),
        bad(
            span("select = \"tool\"\nattrs = { gen_ai.request.model = \"gpt-4o\" }"),
            "suite.toml:10:11: invalid `case[0].expect.span[0].attrs.gen_ai`: must be a string, number or boolean, or an array of them: span attributes hold no tables or nulls",
        )
        .hint("quote a dotted attribute name: `\"gen_ai.request.model\" = …`"),
        bad(
            span("select = \"tool\"\nattrs = { n = [1, [2]] }"),
            "suite.toml:10:15: invalid `case[0].expect.span[0].attrs.n`: must be a string, number or boolean, or an array of them: span attributes hold no tables or nulls",
        ),
        // Unknown keys, and one bracket pair for two.
        bad(
            span("selector = \"tool\""),
            "suite.toml:9:1: unknown key `case[0].expect.span[0].selector`",
        )
        .hint("did you mean `select`?"),
        bad(
            span("select = \"tool\"\nmax_duration = \"1s\""),
            "suite.toml:10:1: unknown key `case[0].expect.span[0].max_duration`",
        )
        .hint("did you mean `max-duration`?"),
        bad(
            span("select = \"tool\"\nattr = { a = 1 }"),
            "suite.toml:10:1: unknown key `case[0].expect.span[0].attr`",
        )
        .hint("did you mean `attrs`?"),
        bad(
            format!("{BASE}[case.expect.span]\nselect = \"tool\"\n"),
            "suite.toml:8:1: `case[0].expect.span` must be an array, found table",
        )
        .hint("write `[[case.expect.span]]`, with two brackets, before each span"),
        bad(
            format!("{BASE}expect.span = \"tool\"\n"),
            "suite.toml:8:15: `case[0].expect.span` must be an array, found string \"tool\"",
        ),
        // Span assertions in a cases file.
        bad(
            with_cases(""),
            "cases.jsonl:1:62: invalid `expect.span[0].select`: selector error at column 6: expected an attribute name, found `[`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"span\": [{\"select\": \"tool[[\"}]}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:73: invalid `expect.span[0].count`: `-2` is not a count: write a number or a comparison such as \">= 1\"",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"span\": [{\"select\": \"tool\", \"count\": -2}]}}\n"),
        bad(with_cases(""), "cases.jsonl:1:64: unknown key `expect.span[0].selector`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"span\": [{\"select\": \"tool\", \"selector\": 1}]}}\n")
            .hint("did you mean `select`?"),
        bad(with_cases(""), "cases.jsonl:1:44: `expect.span` must be an array, found table")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"span\": {\"select\": \"tool\"}}}\n"),
        // Trajectories: the modes, spelled as documented.
        bad(
            trajectory("trajectory = \"inorder\""),
            "suite.toml:10:14: invalid `case[0].expect.trajectory`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `inorder`",
        )
        .hint("did you mean `in-order`?"),
        bad(
            trajectory("trajectory = \"in_order\""),
            "suite.toml:10:14: invalid `case[0].expect.trajectory`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `in_order`",
        )
        .hint("did you mean `in-order`?"),
        bad(
            trajectory("trajectory = \"sequence\""),
            "suite.toml:10:14: invalid `case[0].expect.trajectory`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `sequence`",
        ),
        bad(
            trajectory("trajectory = { mode = \"exakt\" }"),
            "suite.toml:10:23: invalid `case[0].expect.trajectory.mode`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `exakt`",
        )
        .hint("did you mean `exact`?"),
        bad(
            trajectory("[case.expect.trajectory]\nmode = \"AnyOrder\""),
            "suite.toml:11:8: invalid `case[0].expect.trajectory.mode`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `AnyOrder`",
        )
        .hint("did you mean `any-order`?"),
        bad(
            trajectory("trajectory = { mode = \"exact\", args = \"exakt\" }"),
            "suite.toml:10:39: invalid `case[0].expect.trajectory.args`: must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `exakt`",
        )
        .hint("did you mean `exact`?"),
        bad(
            trajectory("trajectory = { mode = \"exact\", args = \"superset\" }"),
            "suite.toml:10:39: invalid `case[0].expect.trajectory.args`: must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `superset`",
        )
        .hint("agentevals' `superset` is traceval's `contains` (the call's arguments include the expected ones), its `subset` traceval's `within`"),
        bad(
            trajectory("trajectory = { mode = \"exact\", args = \"names\" }"),
            "suite.toml:10:39: invalid `case[0].expect.trajectory.args`: must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `names`",
        ),
        bad(
            trajectory("trajectory = { mode = \"exact\", tool-args = { search = \"ignored\" } }"),
            "suite.toml:10:55: invalid `case[0].expect.trajectory.tool-args.search`: must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `ignored`",
        )
        .hint("did you mean `ignore`?"),
        // Trajectories need the expected calls, and `tool-args` must name them.
        bad(
            format!("{BASE}[case.expect]\ntrajectory = \"in-order\"\n"),
            "suite.toml:9:14: invalid `case[0].expect.trajectory`: compares the tool calls with `tools`; add the expected calls",
        ),
        bad(
            format!("{BASE}[case.expect]\ntrajectory = {{ mode = \"exact\", args = \"ignore\" }}\n"),
            "suite.toml:9:14: invalid `case[0].expect.trajectory`: compares the tool calls with `tools`; add the expected calls",
        ),
        bad(
            trajectory("trajectory = { mode = \"exact\", tool-args = { serch = \"ignore\" } }"),
            "suite.toml:10:54: invalid `case[0].expect.trajectory.tool-args.serch`: `serch` is not an expected call: `tools` names `search` and `read`",
        )
        .hint("did you mean `search`?"),
        bad(
            trajectory("trajectory = { mode = \"exact\", tool-args = { write = \"exact\" } }"),
            "suite.toml:10:54: invalid `case[0].expect.trajectory.tool-args.write`: `write` is not an expected call: `tools` names `search` and `read`",
        ),
        bad(
            format!("{BASE}[case.expect]\ntools = []\ntrajectory = {{ mode = \"exact\", tool-args = {{ search = \"exact\" }} }}\n"),
            "suite.toml:10:55: invalid `case[0].expect.trajectory.tool-args.search`: `search` is not an expected call: `tools` is empty",
        ),
        // The table form: `mode` is required, other keys are errors.
        bad(
            trajectory("trajectory = { args = \"exact\" }"),
            "suite.toml:10:14: missing required key `case[0].expect.trajectory.mode`: how the calls must line up with `tools`: `exact`, `in-order`, `any-order`, `subset` or `superset`",
        ),
        bad(
            trajectory("trajectory = {}"),
            "suite.toml:10:14: missing required key `case[0].expect.trajectory.mode`: …",
        ),
        bad(
            trajectory("trajectory = { modes = \"exact\" }"),
            "suite.toml:10:16: unknown key `case[0].expect.trajectory.modes`",
        )
        .hint("did you mean `mode`?"),
        bad(
            trajectory("trajectory = { mode = \"exact\", arg = \"exact\" }"),
            "suite.toml:10:32: unknown key `case[0].expect.trajectory.arg`",
        )
        .hint("did you mean `args`?"),
        bad(
            trajectory("[case.expect.trajectory]\nmode = \"exact\"\ntool_args = { search = \"ignore\" }"),
            "suite.toml:12:1: unknown key `case[0].expect.trajectory.tool_args`",
        )
        .hint("did you mean `tool-args`?"),
        bad(
            trajectory("trajectory = { mode = \"exact\", order = \"strict\" }"),
            "suite.toml:10:32: unknown key `case[0].expect.trajectory.order`",
        )
        // Few keys are allowed there: they are listed.
        .hint("expected one of: `mode`, `args`, `tool-args`"),
        // Types.
        bad(
            trajectory("trajectory = true"),
            "suite.toml:10:14: `case[0].expect.trajectory` must be a trajectory mode such as \"in-order\" or a table with `mode`, found boolean `true`",
        ),
        bad(
            trajectory("trajectory = { mode = 1 }"),
            "suite.toml:10:23: `case[0].expect.trajectory.mode` must be a string, found integer `1`",
        ),
        bad(
            trajectory("trajectory = { mode = \"exact\", tool-args = [\"search\"] }"),
            "suite.toml:10:44: `case[0].expect.trajectory.tool-args` must be a table, found array",
        ),
        // Trajectories in a cases file.
        bad(
            with_cases(""),
            "cases.jsonl:1:81: invalid `expect.trajectory`: must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `inorder`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"search\"}], \"trajectory\": \"inorder\"}}\n")
        .hint("did you mean `in-order`?"),
        bad(
            with_cases(""),
            "cases.jsonl:1:107: invalid `expect.trajectory.args`: must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `exakt`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"search\"}], \"trajectory\": {\"mode\": \"exact\", \"args\": \"exakt\"}}}\n")
        .hint("did you mean `exact`?"),
        bad(
            with_cases(""),
            "cases.jsonl:1:50: invalid `expect.trajectory`: compares the tool calls with `tools`; add the expected calls",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"trajectory\": \"exact\"}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:122: invalid `expect.trajectory.tool-args.serch`: `serch` is not an expected call: `tools` names `search`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"search\"}], \"trajectory\": {\"mode\": \"exact\", \"tool-args\": {\"serch\": \"ignore\"}}}}\n")
        .hint("did you mean `search`?"),
        bad(with_cases(""), "cases.jsonl:1:82: unknown key `expect.trajectory.mod`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"search\"}], \"trajectory\": {\"mod\": \"exact\"}}}\n")
            .hint("did you mean `mode`?"),
        bad(
            with_cases(""),
            "cases.jsonl:1:81: missing required key `expect.trajectory.mode`: …",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"tools\": [{\"name\": \"search\"}], \"trajectory\": {\"args\": \"exact\"}}}\n"),
    ]
}
