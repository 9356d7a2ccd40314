use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde_json::{Value as Json, json};

use super::conventions::load_conventions;
use super::*;
use crate::suite::spec::{
    ArgMode, ArgsCase, BuiltinAgent, CommandAgent, Count, CountOp, ExpectedTool, Judge, Price,
    Provider, ToolDef, ToolResult, Trajectory, TrajectoryMode,
};
use crate::suite::testdir::TestDir;
use crate::trace::query::Selector;

const FULL_SUITE: &str = r#"name = "weather"
description = "answers weather questions"
tags = ["smoke", "tools"]
trials = 5
timeout = "60s"
models = ["sunny", "gpt-4o-mini", "claude"]
cases = "data/more.jsonl"

[agent]
kind = "command"
command = ["./agents/weather.py", "--fast"]
env = { LOG_LEVEL = "warn" }
cwd = "work"

[model.sunny]
provider = "scripted"
script = "scripts/sunny.toml"

[model.gpt-4o-mini]
provider = "openai"
base-url = "https://api.openai.com/v1"
api-key-env = "OPENAI_API_KEY"
organization = "org-42"
headers = { "X-Team" = "evals" }
timeout = "90s"

[model.claude]
provider = "anthropic"
model = "claude-sonnet-4"
max-tokens = 2048

[pricing."gpt-4o-mini"]
input = 0.15
output = 0.60
input-cache-read = 0.075
input-cache-write = 1

[[case]]
id = "paris"
input = "What's the weather in Paris?"
tags = ["europe"]
timeout = "1500ms"
[case.expect]
output-equals = "Sunny in Paris"
output-contains = ["Paris", "sunny"]
output-regex = "(?i)sunny"
output-json = { city = "Paris" }
max-latency = "2m"
max-llm-calls = 4
max-tool-calls = 2
max-cost = 0.01
no-error-spans = true
tools = [{ name = "get_weather", args = { city = "Paris" } }, { name = "log" }]
min-tool-f1 = 0.5
exit-code = 3

[[case]]
id = "structured"
input = { city = "Tokyo", when = 2024-05-01, days = [1, 2] }
[case.expect]
output-contains = "Tokyo"
max-cost = 0
"#;

const FULL_CASES: &str = r#"{"id": "oslo", "input": "Weather in Oslo?", "tags": ["nordic"], "timeout": "5s", "expect": {"output-contains": "Oslo", "tools": [{"name": "get_weather"}], "exit-code": 0, "max-cost": 2}}

{"id": "null-input", "input": null}
"#;

#[test]
fn a_full_suite_loads_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suites/weather.toml", FULL_SUITE);
    dir.write("suites/data/more.jsonl", FULL_CASES);
    dir.write("suites/scripts/sunny.toml", "");
    let suite = load_suite(&path).unwrap();
    let suite_dir = dir.path().join("suites");

    assert_eq!(suite.name, "weather");
    assert_eq!(suite.path, path);
    assert_eq!(suite.dir, suite_dir);
    assert_eq!(
        suite.description.as_deref(),
        Some("answers weather questions")
    );
    assert_eq!(suite.tags, ["smoke", "tools"]);
    assert_eq!(suite.trials, Some(5));
    assert_eq!(suite.timeout, Some(Duration::from_secs(60)));
    assert_eq!(suite.models, ["sunny", "gpt-4o-mini", "claude"]);
    let expected_agent = Agent::Command(CommandAgent {
        program: suite_dir.join("./agents/weather.py"),
        args: vec!["--fast".to_owned()],
        env: BTreeMap::from([("LOG_LEVEL".to_owned(), "warn".to_owned())]),
        cwd: suite_dir.join("work"),
        line: 11,
    });
    assert_eq!(suite.agent, expected_agent);

    let expected_models = BTreeMap::from([
        (
            "sunny".to_owned(),
            ModelDef {
                provider: Provider::Scripted {
                    script: suite_dir.join("scripts/sunny.toml"),
                },
                model: None,
            },
        ),
        (
            "gpt-4o-mini".to_owned(),
            ModelDef {
                provider: Provider::OpenAi {
                    base_url: Some("https://api.openai.com/v1".to_owned()),
                    api_key_env: Some("OPENAI_API_KEY".to_owned()),
                    organization: Some("org-42".to_owned()),
                    headers: BTreeMap::from([("X-Team".to_owned(), "evals".to_owned())]),
                    timeout: Some(Duration::from_secs(90)),
                },
                model: None,
            },
        ),
        (
            "claude".to_owned(),
            ModelDef {
                provider: Provider::Anthropic {
                    base_url: None,
                    api_key_env: None,
                    headers: BTreeMap::new(),
                    timeout: None,
                    max_tokens: Some(2048),
                },
                model: Some("claude-sonnet-4".to_owned()),
            },
        ),
    ]);
    assert_eq!(suite.model_defs, expected_models);
    let expected_price = Price {
        input: 0.15,
        output: 0.60,
        input_cache_read: Some(0.075),
        input_cache_write: Some(1.0),
    };
    assert_eq!(
        suite.pricing,
        BTreeMap::from([("gpt-4o-mini".to_owned(), expected_price)])
    );

    let ids: Vec<&str> = suite.cases.iter().map(|case| case.id.as_str()).collect();
    assert_eq!(ids, ["paris", "structured", "oslo", "null-input"]);
    let origins: Vec<(PathBuf, usize)> = suite
        .cases
        .iter()
        .map(|case| (case.origin.path.clone(), case.origin.line))
        .collect();
    let data = suite_dir.join("data/more.jsonl");
    assert_eq!(
        origins,
        [
            (path.clone(), 38),
            (path.clone(), 57),
            (data.clone(), 1),
            (data, 3)
        ]
    );

    let paris = &suite.cases[0];
    assert_eq!(paris.input, json!("What's the weather in Paris?"));
    assert_eq!(paris.tags, ["europe"]);
    assert_eq!(paris.timeout, Some(Duration::from_millis(1500)));
    let expect = &paris.expect;
    assert_eq!(expect.output_equals.as_deref(), Some("Sunny in Paris"));
    assert_eq!(expect.output_contains, ["Paris", "sunny"]);
    assert_eq!(
        expect.output_regex.as_ref().map(Regex::as_str),
        Some("(?i)sunny")
    );
    assert_eq!(expect.output_json, Some(json!({ "city": "Paris" })));
    assert_eq!(expect.max_latency, Some(Duration::from_secs(120)));
    assert_eq!(expect.max_llm_calls, Some(4));
    assert_eq!(expect.max_tool_calls, Some(2));
    assert_eq!(expect.max_cost, Some(0.01));
    assert!(expect.no_error_spans);
    let expected_tools = vec![
        ExpectedTool {
            name: "get_weather".to_owned(),
            args: Some(json!({ "city": "Paris" })),
        },
        ExpectedTool {
            name: "log".to_owned(),
            args: None,
        },
    ];
    assert_eq!(expect.tools, Some(expected_tools));
    assert_eq!(expect.min_tool_f1, Some(0.5));
    assert_eq!(expect.exit_code, Some(3));

    let structured = &suite.cases[1];
    // TOML dates become their text, as JSON has no date type.
    let input = json!({ "city": "Tokyo", "when": "2024-05-01", "days": [1, 2] });
    assert_eq!(structured.input, input);
    assert_eq!(structured.expect.output_contains, ["Tokyo"]);
    assert_eq!(structured.expect.tools, None);
    assert!(!structured.expect.no_error_spans);
    // An integer is a number of dollars; 0 is a limit too (no paid call at all).
    assert_eq!(structured.expect.max_cost, Some(0.0));

    let oslo = &suite.cases[2];
    assert_eq!(oslo.tags, ["nordic"]);
    assert_eq!(oslo.timeout, Some(Duration::from_secs(5)));
    assert_eq!(oslo.expect.output_contains, ["Oslo"]);
    assert_eq!(oslo.expect.exit_code, Some(0));
    assert_eq!(oslo.expect.max_cost, Some(2.0));
    assert_eq!(suite.cases[3].expect.max_cost, None);
    assert_eq!(suite.cases[3].input, json!(null));

    let hash = fnv1a64(&[FULL_SUITE.as_bytes(), FULL_CASES.as_bytes()].concat());
    assert_eq!(suite.content_hash, format!("{hash:016x}"));
    assert_eq!(suite.content_hash.len(), 16);
}

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

fn selector(text: &str) -> Selector {
    Selector::parse(text).unwrap()
}

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

const JUDGE_SUITE: &str = r#"cases = "judged.jsonl"
[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "two-judges"
input = "hi"
[[case.expect.judge]]
model = "strict"
rubric = "Cites a source."
[[case.expect.judge]]
name = "tone"
model = "lenient"
rubric = "Polite."
threshold = 0.8
samples = 3

[[case]]
id = "none"
input = "hi"
"#;

const JUDGE_CASES: &str = r#"{"id": "jsonl", "input": 1, "expect": {"judge": [{"model": "strict", "rubric": "Short.", "threshold": 1, "samples": 2}]}}
"#;

#[test]
fn judges_load_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suite.toml", JUDGE_SUITE);
    dir.write("judged.jsonl", JUDGE_CASES);
    let suite = load_suite(&path).unwrap();
    let judge = |name: &str, model: &str, rubric: &str, threshold, samples| Judge {
        name: name.to_owned(),
        model: model.to_owned(),
        rubric: rubric.to_owned(),
        threshold,
        samples,
        temperature: None,
    };
    let loaded: Vec<(&str, &[Judge])> = suite
        .cases
        .iter()
        .map(|case| (case.id.as_str(), case.expect.judges.as_slice()))
        .collect();
    let expected = [
        (
            "two-judges",
            vec![
                judge("judge", "strict", "Cites a source.", 0.5, 1),
                judge("tone", "lenient", "Polite.", 0.8, 3),
            ],
        ),
        ("none", vec![]),
        ("jsonl", vec![judge("judge", "strict", "Short.", 1.0, 2)]),
    ];
    let expected: Vec<(&str, &[Judge])> = expected
        .iter()
        .map(|(id, judges)| (*id, judges.as_slice()))
        .collect();
    assert_eq!(loaded, expected);
}

const SNAPSHOT_SUITE: &str = r#"snapshot-attrs = ["tool", "model", "http.route"]
snapshot-ignore = ['span[name~="^HTTP"]']
cases = "more.jsonl"

[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "suite-defaults"
input = "a"
expect.snapshot = true

[[case]]
id = "own-keys"
input = "b"
[case.expect]
snapshot = true
snapshot-attrs = []
snapshot-ignore = ["retrieval", 'span[name="db"] span']
collapse-repeats = true

[[case]]
id = "off"
input = "c"
expect.snapshot = false

[[case]]
id = "none"
input = "d"
"#;

#[test]
fn snapshot_keys_load_into_shape_options_case_over_suite() {
    use crate::trace::shape::{ShapeAttr, ShapeOptions};
    let dir = TestDir::new();
    let path = dir.write("suite.toml", SNAPSHOT_SUITE);
    dir.write(
        "more.jsonl",
        "{\"id\": \"jsonl\", \"input\": 1, \"expect\": {\"snapshot\": true, \"collapse-repeats\": true}}\n",
    );
    let suite = load_suite(&path).unwrap();
    let loaded: Vec<(&str, Option<&ShapeOptions>)> = suite
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.expect.snapshot.as_ref()))
        .collect();
    let suite_defaults = ShapeOptions {
        attrs: vec![
            ShapeAttr::Tool,
            ShapeAttr::Model,
            ShapeAttr::Attr("http.route".into()),
        ],
        ignore: vec![selector(r#"span[name~="^HTTP"]"#)],
        ..ShapeOptions::default()
    };
    let own = ShapeOptions {
        attrs: vec![],
        ignore: vec![selector("retrieval"), selector(r#"span[name="db"] span"#)],
        collapse_repeats: true,
        keep_retries: false,
    };
    let jsonl = ShapeOptions {
        collapse_repeats: true,
        ..suite_defaults.clone()
    };
    assert_eq!(
        loaded,
        [
            ("suite-defaults", Some(&suite_defaults)),
            ("own-keys", Some(&own)),
            ("off", None),
            ("none", None),
            ("jsonl", Some(&jsonl)),
        ]
    );
    // Without any key, a snapshot shows the default attributes.
    let minimal = dir.write("min.toml", &format!("{BASE}expect.snapshot = true\n"));
    let suite = load_suite(&minimal).unwrap();
    assert_eq!(
        suite.cases[0].expect.snapshot,
        Some(ShapeOptions::default())
    );
}

#[test]
fn defaults_fill_what_a_minimal_suite_leaves_out() {
    let dir = TestDir::new();
    let path = dir.write("smoke.toml", BASE);
    let suite = load_suite(&path).unwrap();
    assert_eq!(suite.name, "smoke");
    assert_eq!((suite.trials, suite.timeout), (None, None));
    assert!(suite.models.is_empty() && suite.model_defs.is_empty() && suite.pricing.is_empty());
    let Agent::Command(agent) = &suite.agent else {
        panic!("{:?}", suite.agent);
    };
    // A bare program name is left for PATH lookup.
    assert_eq!(agent.program, PathBuf::from("python3"));
    assert_eq!(agent.args, ["agent.py"]);
    assert_eq!(agent.cwd, dir.path());
    let hash = format!("{:016x}", fnv1a64(BASE.as_bytes()));
    assert_eq!(suite.content_hash, hash);
}

const BUILTIN_SUITE: &str = r#"name = "weather"
models = ["sunny"]
cases = "data/more.jsonl"

[agent]
kind = "builtin"
name = "weather-bot"
system-prompt = "You answer weather questions with get_weather."
max-turns = 6
temperature = 0.2

[model.sunny]
provider = "scripted"
script = "scripts/sunny.toml"

[[tool]]
name = "get_weather"
description = "Current weather in a city"
parameters = { type = "object", properties = { city = { type = "string" } }, required = ["city"] }
returns-by-args = [
  { args = { city = "Paris" }, returns = "18 C and sunny" },
  { args = { city = "Tokyo" }, returns = { temp = 22, sky = "cloudy", at = 2024-05-01T10:00:00Z } },
  { returns = "unknown city" },
]

[[tool]]
name = "search"
returns = ["doc1", "doc2", 1979-05-27]

[[tool]]
name = "lookup"
command = ["python3", "tools/lookup.py"]
timeout = "10s"

[[tool]]
name = "local-script"
command = ["./tools/local.sh", "--json"]

[[tool]]
name = "delete_account"
error = "permission denied"

[[tool]]
name = "Forecast-2"
[tool.parameters]
type = "object"
properties.days = { type = "integer" }
[[tool.returns-by-args]]
args = { days = 1, when = 07:30:00 }
returns = 1979-05-27
[[tool.returns-by-args]]
args = {}
returns = { rain = true }

[[case]]
id = "paris"
input = "What's the weather in Paris?"
[case.expect]
tools = [{ name = "get_weather", args = { city = "Paris" } }, { name = "search" }]
"#;

#[test]
fn a_builtin_suite_loads_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suites/weather.toml", BUILTIN_SUITE);
    dir.write("suites/scripts/sunny.toml", "");
    dir.write(
        "suites/data/more.jsonl",
        "{\"id\": \"oslo\", \"input\": \"Oslo?\", \"expect\": {\"tools\": [{\"name\": \"Forecast-2\"}]}}\n",
    );
    let suite = load_suite(&path).unwrap();
    let suite_dir = dir.path().join("suites");
    let tool = |name: &str, description: Option<&str>, parameters, result| ToolDef {
        name: name.to_owned(),
        description: description.map(str::to_owned),
        parameters,
        result,
    };
    let object = json!({ "type": "object" });
    let expected = Agent::Builtin(BuiltinAgent {
        name: "weather-bot".to_owned(),
        system_prompt: Some("You answer weather questions with get_weather.".to_owned()),
        max_turns: 6,
        temperature: Some(0.2),
        tools: vec![
            tool(
                "get_weather",
                Some("Current weather in a city"),
                json!({
                    "type": "object",
                    "properties": { "city": { "type": "string" } },
                    "required": ["city"],
                }),
                ToolResult::ReturnsByArgs(vec![
                    ArgsCase {
                        args: Some(json!({ "city": "Paris" })),
                        returns: json!("18 C and sunny"),
                    },
                    ArgsCase {
                        args: Some(json!({ "city": "Tokyo" })),
                        // TOML datetimes become their text, as JSON has no date type.
                        returns: json!({ "temp": 22, "sky": "cloudy", "at": "2024-05-01T10:00:00Z" }),
                    },
                    ArgsCase {
                        args: None,
                        returns: json!("unknown city"),
                    },
                ]),
            ),
            tool(
                "search",
                None,
                object.clone(),
                ToolResult::Returns(json!(["doc1", "doc2", "1979-05-27"])),
            ),
            tool(
                "lookup",
                None,
                object.clone(),
                ToolResult::Command {
                    // A bare program name is left for PATH lookup.
                    program: PathBuf::from("python3"),
                    args: vec!["tools/lookup.py".to_owned()],
                    cwd: suite_dir.clone(),
                    timeout: Duration::from_secs(10),
                    line: 32,
                },
            ),
            tool(
                "local-script",
                None,
                object.clone(),
                ToolResult::Command {
                    program: suite_dir.join("./tools/local.sh"),
                    args: vec!["--json".to_owned()],
                    cwd: suite_dir.clone(),
                    timeout: Duration::from_secs(30),
                    line: 37,
                },
            ),
            tool(
                "delete_account",
                None,
                object,
                ToolResult::Error("permission denied".to_owned()),
            ),
            tool(
                "Forecast-2",
                None,
                json!({ "type": "object", "properties": { "days": { "type": "integer" } } }),
                ToolResult::ReturnsByArgs(vec![
                    ArgsCase {
                        args: Some(json!({ "days": 1, "when": "07:30:00" })),
                        returns: json!("1979-05-27"),
                    },
                    // An empty `args` matches any call, like no `args`.
                    ArgsCase {
                        args: Some(json!({})),
                        returns: json!({ "rain": true }),
                    },
                ]),
            ),
        ],
    });
    assert_eq!(suite.agent, expected);
    assert_eq!(suite.name, "weather");
    assert_eq!(suite.models, ["sunny"]);
    assert_eq!(
        suite.model_defs["sunny"].provider,
        Provider::Scripted {
            script: suite_dir.join("scripts/sunny.toml")
        }
    );
    let ids: Vec<&str> = suite.cases.iter().map(|case| case.id.as_str()).collect();
    assert_eq!(ids, ["paris", "oslo"]);
    let expected_tools = vec![
        ExpectedTool {
            name: "get_weather".to_owned(),
            args: Some(json!({ "city": "Paris" })),
        },
        ExpectedTool {
            name: "search".to_owned(),
            args: None,
        },
    ];
    assert_eq!(suite.cases[0].expect.tools, Some(expected_tools));
    assert_eq!(suite.cases[0].origin.line, 55);
}

#[test]
fn a_builtin_agent_without_optional_keys_gets_the_defaults() {
    let dir = TestDir::new();
    let text = format!("{BUILTIN}\n[[tool]]\nname = \"echo\"\nreturns = \"ok\"\n");
    let path = dir.write("smoke.toml", &text);
    let suite = load_suite(&path).unwrap();
    let expected = Agent::Builtin(BuiltinAgent {
        // The suite's name, here the file stem.
        name: "smoke".to_owned(),
        system_prompt: None,
        max_turns: 10,
        temperature: None,
        tools: vec![ToolDef {
            name: "echo".to_owned(),
            description: None,
            parameters: json!({ "type": "object" }),
            result: ToolResult::Returns(json!("ok")),
        }],
    });
    assert_eq!(suite.agent, expected);
    // No tools at all is a builtin agent that can only answer.
    let path = dir.write("bare.toml", BUILTIN);
    let Agent::Builtin(agent) = load_suite(&path).unwrap().agent else {
        panic!("not a builtin agent");
    };
    assert!(agent.tools.is_empty());
    assert_eq!((agent.name.as_str(), agent.max_turns), ("bare", 10));
}

#[test]
fn conventions_load_into_compiled_rules_and_keys() {
    use crate::trace::{Concept, Kind, NameMatch};

    let dir = TestDir::new();
    let text = format!(
        r#"{BASE}
[[conventions.kind]]
kind = "tool"
name = "acme.tool.run"

[[conventions.kind]]
kind = "llm"
name-prefix = "acme.llm."
attr = {{ "acme.vendor" = "acme", "acme.version" = 2, "acme.live" = true }}

[[conventions.kind]]
kind = "other"
name-regex = '^acme\.(noise|debug)\.'

[[conventions.kind]]
kind = "agent"
attr = {{ "acme.kind" = "agent" }}

[conventions.fields]
tool-name = ["acme.tool", "acme.fn"]
model = "acme.model"
cost = ["acme.cost_usd"]
"#
    );
    let suite = load_suite(&dir.write("suite.toml", &text)).unwrap();
    let rules = suite.conventions.rules();
    let kinds: Vec<Kind> = rules.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [Kind::Tool, Kind::Llm, Kind::Other, Kind::Agent]);
    assert!(matches!(&rules[0].name, Some(NameMatch::Exact(n)) if n == "acme.tool.run"));
    assert!(matches!(&rules[1].name, Some(NameMatch::Prefix(p)) if p == "acme.llm."));
    // Attributes in key order, every value as text.
    let attrs: Vec<(&str, &str)> = rules[1]
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("acme.live", "true"),
            ("acme.vendor", "acme"),
            ("acme.version", "2")
        ]
    );
    assert!(
        matches!(&rules[2].name, Some(NameMatch::Regex(r)) if r.is_match("acme.debug.x") && !r.is_match("x.acme.debug.y"))
    );
    assert!(rules[3].name.is_none());
    assert_eq!(
        suite.conventions.keys(Concept::ToolName),
        ["acme.tool", "acme.fn"]
    );
    assert_eq!(suite.conventions.keys(Concept::Model), ["acme.model"]);
    assert_eq!(suite.conventions.keys(Concept::Cost), ["acme.cost_usd"]);
    assert!(suite.conventions.keys(Concept::Provider).is_empty());

    // No table, or an empty one: no custom conventions.
    let plain = load_suite(&dir.write("plain.toml", BASE)).unwrap();
    assert!(plain.conventions.is_empty());
    let empty = format!("{BASE}[conventions]\n");
    assert!(
        load_suite(&dir.write("empty.toml", &empty))
            .unwrap()
            .conventions
            .is_empty()
    );
}

/// The `[conventions]` example of the module docs loads, so that it cannot rot.
#[test]
fn the_documented_conventions_example_loads() {
    use crate::trace::{Concept, Kind};

    let docs = include_str!("../mod.rs");
    let section = docs.split("# Custom conventions").nth(1).unwrap();
    let example: String = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("//! ```").next())
        .unwrap()
        .lines()
        .map(|line| line.strip_prefix("//!").unwrap().trim_start_matches(' '))
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = TestDir::new();
    let suite = load_suite(&dir.write("suite.toml", &format!("{BASE}{example}"))).unwrap();
    let rules = suite.conventions.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].kind, rules[0].attrs.len()), (Kind::Tool, 1));
    for concept in Concept::ALL {
        assert_eq!(suite.conventions.keys(concept).len(), 1, "{concept}");
    }
}

#[test]
fn every_concept_has_its_key_in_conventions_fields() {
    use crate::trace::Concept;

    let dir = TestDir::new();
    let mut text = format!("{BASE}[conventions.fields]\n");
    for concept in Concept::ALL {
        text.push_str(&format!("{concept} = [\"acme.{concept}\"]\n"));
    }
    let suite = load_suite(&dir.write("suite.toml", &text)).unwrap();
    for concept in Concept::ALL {
        assert_eq!(
            suite.conventions.keys(concept),
            [format!("acme.{concept}")],
            "{concept}"
        );
    }
}

#[test]
fn load_conventions_reads_the_table_of_any_file_and_only_it() {
    let dir = TestDir::new();
    // A suite's other keys are not checked (nor is `trials = 0` refused): only the table.
    let text =
        format!("trials = 0\n{BASE}[[conventions.kind]]\nkind = \"tool\"\nname = \"acme.fn\"\n");
    let conventions = load_conventions(&dir.write("suite.toml", &text)).unwrap();
    assert_eq!(conventions.rules().len(), 1);

    let error = load_conventions(&dir.write("none.toml", BASE)).unwrap_err();
    let shown = error
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(
        shown,
        "`none.toml` has no `[conventions]` table: add `[[conventions.kind]]` rules or `[conventions.fields]` keys"
    );
    let bad = "[conventions.fields]\ntool-nam = \"x\"\n";
    let error = load_conventions(&dir.write("bad.toml", bad)).unwrap_err();
    let shown = error
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(
        shown,
        "bad.toml:2:1: unknown key `conventions.fields.tool-nam`"
    );
    assert_eq!(error.hint(), Some("did you mean `tool-name`?"));
}

#[test]
fn a_bare_file_name_resolves_against_the_current_directory() {
    let cases = [
        ("suites/a.toml", "suites"),
        ("a.toml", "."),
        ("/a.toml", "/"),
    ];
    for (path, dir) in cases {
        assert_eq!(suite_dir(Path::new(path)), Path::new(dir), "{path}");
    }
}

/// A valid suite of one case; what tests append goes into that case's table.
const BASE: &str = r#"[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "a"
input = "hi"
"#;

/// A valid builtin suite of one case and no tools; what tests append goes into that case's
/// table, unless it starts a table of its own.
const BUILTIN: &str = r#"[agent]
kind = "builtin"

[[case]]
id = "a"
input = "hi"
"#;

/// [`BUILTIN`] with `keys` added to its `[agent]` table, from line 3 on.
#[test]
fn a_replay_suite_loads_each_cases_trace_relative_to_the_suite_file() {
    let dir = TestDir::new();
    let other = ONE_SPAN.replace("eee19b7ec3c1b174", "eee19b7ec3c1b175");
    dir.write("s/traces/a.json", ONE_SPAN);
    dir.write("s/traces/b.jsonl", &format!("{ONE_SPAN}\n{other}\n"));
    dir.write(
        "s/data/cases.jsonl",
        "{\"id\": \"b\", \"input\": 2, \"trace\": \"traces/b.jsonl\"}\n",
    );
    let text = "models = [\"recorded\"]\ncases = \"data/cases.jsonl\"\n[agent]\nkind = \"replay\"\n\
                [[case]]\nid = \"a\"\ninput = 1\ntrace = \"traces/a.json\"\noutput = \"Sunny\"\n";
    let path = dir.write("s/suite.toml", text);
    // Within a project too: the names in `models` only label the trials.
    let project = crate::suite::load_project(dir.path(), std::slice::from_ref(&path)).unwrap();
    let suite = &project.suites[0];
    assert_eq!(suite.models, ["recorded"]);
    assert_eq!(suite.trials, None);
    let Agent::Replay(agent) = &suite.agent else {
        panic!("{:?}", suite.agent);
    };
    let ids: Vec<&str> = agent.traces.keys().map(String::as_str).collect();
    assert_eq!(ids, ["a", "b"]);
    let (a, b) = (&agent.traces["a"], &agent.traces["b"]);
    assert_eq!(a.path, dir.path().join("s/traces/a.json"));
    assert_eq!(a.output.as_deref(), Some("Sunny"));
    assert_eq!(a.spans.len(), 1);
    assert_eq!(a.spans[0].name, "chat");
    // A cases file's traces resolve against the suite file too, like the `cases` path itself.
    assert_eq!(b.path, dir.path().join("s/traces/b.jsonl"));
    assert_eq!((b.output.as_deref(), b.spans.len()), (None, 2));
}

#[test]
fn a_replay_case_without_input_takes_the_recorded_one_or_an_empty_one() {
    let dir = TestDir::new();
    let with_input = ONE_SPAN.replace(
        r#""name":"chat","#,
        r#""name":"chat","attributes":[{"key":"input.value","value":{"stringValue":"{\"city\":\"Oslo\"}"}},{"key":"input.mime_type","value":{"stringValue":"application/json"}}],"#,
    );
    dir.write("recorded.json", &with_input);
    dir.write("bare.json", ONE_SPAN);
    let text = "[agent]\nkind = \"replay\"\n[[case]]\nid = \"a\"\ntrace = \"recorded.json\"\n\
                [[case]]\nid = \"b\"\ntrace = \"bare.json\"\n\
                [[case]]\nid = \"c\"\ntrace = \"recorded.json\"\ninput = \"given\"\n";
    let suite = load_suite(&dir.write("suite.toml", text)).unwrap();
    let inputs: Vec<&Json> = suite.cases.iter().map(|c| &c.input).collect();
    assert_eq!(
        inputs,
        [&json!({"city": "Oslo"}), &json!(""), &json!("given")]
    );
}

fn builtin_agent(keys: &str) -> String {
    BUILTIN.replace(
        "kind = \"builtin\"\n",
        &format!("kind = \"builtin\"\n{keys}\n"),
    )
}

/// [`BUILTIN`] with one `[[tool]]` table from line 7 on, holding `keys` from line 8 on.
fn builtin_tool(keys: &str) -> String {
    format!("{BUILTIN}[[tool]]\n{keys}\n")
}

struct Bad {
    /// The suite file, `suite.toml`.
    suite: String,
    /// A cases file, `cases.jsonl`, when the suite names it.
    cases: Option<&'static str>,
    /// `trace.json`, the trace [`REPLAY`] names (default: [`ONE_SPAN`]).
    trace: Option<&'static str>,
    /// The error's display with the temp dir removed; a trailing `…` compares a prefix.
    error: &'static str,
    hint: Option<&'static str>,
    /// Text the error's cause must contain.
    cause: Option<&'static str>,
}

fn bad(suite: impl Into<String>, error: &'static str) -> Bad {
    Bad {
        suite: suite.into(),
        cases: None,
        trace: None,
        error,
        hint: None,
        cause: None,
    }
}

impl Bad {
    fn hint(mut self, hint: &'static str) -> Bad {
        self.hint = Some(hint);
        self
    }

    fn cases(mut self, cases: &'static str) -> Bad {
        self.cases = Some(cases);
        self
    }

    fn cause(mut self, cause: &'static str) -> Bad {
        self.cause = Some(cause);
        self
    }

    fn trace(mut self, trace: &'static str) -> Bad {
        self.trace = Some(trace);
        self
    }
}

/// A replay suite whose case replays `trace.json` (the value of `trace` at line 7, column 9).
const REPLAY: &str =
    "[agent]\nkind = \"replay\"\n\n[[case]]\nid = \"a\"\ninput = 1\ntrace = \"trace.json\"\n";

/// A trace of one span, as a file holds it.
const ONE_SPAN: &str = r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat","startTimeUnixNano":"1000","endTimeUnixNano":"2000"}]}]}]}"#;

/// [`BASE`] with one `[[case.expect.span]]` table from line 8 on, holding `keys` from line 9 on.
fn span(keys: &str) -> String {
    format!("{BASE}[[case.expect.span]]\n{keys}\n")
}

/// [`BASE`] with a `[case.expect]` table from line 8 on: `tools` naming `search` and `read` on
/// line 9, then `keys` from line 10 on.
fn trajectory(keys: &str) -> String {
    format!(
        "{BASE}[case.expect]\ntools = [{{ name = \"search\" }}, {{ name = \"read\", args = {{ id = \"doc-1\" }} }}]\n{keys}\n"
    )
}

/// [`BASE`] with one `[[case.expect.judge]]` table from line 8 on, holding `keys` from line 9
/// on.
fn judge(keys: &str) -> String {
    format!("{BASE}[[case.expect.judge]]\n{keys}\n")
}

/// [`BASE`] with one `[[conventions.kind]]` table on line 8, holding `keys` from line 9 on.
fn kind_rule(keys: &str) -> String {
    format!("{BASE}[[conventions.kind]]\n{keys}\n")
}

/// [`BASE`] with a `[conventions.fields]` table on line 8, holding `keys` from line 9 on.
fn fields(keys: &str) -> String {
    format!("{BASE}[conventions.fields]\n{keys}\n")
}

fn with_cases(rest: &str) -> String {
    format!("cases = \"cases.jsonl\"\n{BASE}{rest}")
}

fn bad_suites() -> Vec<Bad> {
    vec![
        // Keys that do not exist, with the near key as a hint.
        bad(format!("trails = 3\n{BASE}"), "suite.toml:1:1: unknown key `trails`")
            .hint("did you mean `trials`?"),
        bad(
            format!("{BASE}[case.expect]\nspanz = 1\n"),
            "suite.toml:9:1: unknown key `case[0].expect.spanz`",
        )
        .hint("did you mean `span`?"),
        bad(
            format!("{BASE}[case.expect]\noutput_contains = \"x\"\n"),
            "suite.toml:9:1: unknown key `case[0].expect.output_contains`",
        )
        .hint("did you mean `output-contains`?"),
        bad(
            format!("{BASE}expect.tools = [{{ nam = \"x\" }}]\n"),
            "suite.toml:8:19: unknown key `case[0].expect.tools[0].nam`",
        )
        .hint("did you mean `name`?"),
        bad(
            format!("{BASE}[case.expect]\nfoo = 1\n"),
            "suite.toml:9:1: unknown key `case[0].expect.foo`",
        ),
        // Wrong types and out-of-range values.
        bad(
            format!("ignore = \"  \"\n{BASE}"),
            "suite.toml:1:10: invalid `ignore`: must be `true` or say why the suite is ignored",
        ),
        bad(
            format!("ignore = 1\n{BASE}"),
            "suite.toml:1:10: `ignore` must be `true`, `false` or the reason as a string, found integer `1`",
        ),
        bad(
            format!("trials = \"five\"\n{BASE}"),
            "suite.toml:1:10: `trials` must be a non-negative integer, found string \"five\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax-llm-calls = -1\n"),
            "suite.toml:9:17: `case[0].expect.max-llm-calls` must be a non-negative integer, found integer `-1`",
        ),
        bad(
            format!("{BASE}tags = \"x\"\n"),
            "suite.toml:8:8: `case[0].tags` must be an array, found string \"x\"",
        ),
        bad(
            "[agent]\nkind = \"command\"\ncommand = \"python3\"\n",
            "suite.toml:3:11: `agent.command` must be an array, found string \"python3\"",
        ),
        bad(format!("trials = 0\n{BASE}"), "suite.toml:1:10: invalid `trials`: must be at least 1"),
        bad(
            format!("trials = 99999999999\n{BASE}"),
            "suite.toml:1:10: `trials` must be a non-negative integer up to 4294967295, found integer `99999999999`",
        ),
        bad(
            format!("{BASE}[case.expect]\nexit-code = true\n"),
            "suite.toml:9:13: `case[0].expect.exit-code` must be an integer, found boolean `true`",
        ),
        bad(
            format!("{BASE}[case.expect]\nmin-tool-f1 = 1.5\ntools = []\n"),
            "suite.toml:9:15: invalid `case[0].expect.min-tool-f1`: must be between 0 and 1, found 1.5",
        ),
        bad(
            format!("{BASE}[case.expect]\nmin-tool-f1 = 0.5\n"),
            "suite.toml:9:15: invalid `case[0].expect.min-tool-f1`: has no effect without `tools`, the expected tool calls",
        ),
        bad(
            format!("{BASE}[case.expect]\ntools = [{{ name = \"x\", args = 1 }}]\n"),
            "suite.toml:9:31: invalid `case[0].expect.tools[0].args`: must be a table of the arguments the call must contain",
        ),
        bad(
            format!("{BASE}[case.expect]\noutput-json = [1]\n"),
            "suite.toml:9:15: invalid `case[0].expect.output-json`: must be a table (an object in a cases file) of the fields the answer holds",
        ),
        bad(
            "[agent]\nkind = \"command\"\ncommand = []\n[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:3:11: invalid `agent.command`: must start with the program to run, e.g. [\"python3\", \"agent.py\"]",
        ),
        bad(
            format!("{BASE}id = \" \"\n").replace("id = \"a\"\n", ""),
            "suite.toml:7:6: invalid `case[0].id`: must not be empty",
        ),
        bad(
            format!("{BASE}[case]\nid = \"b\"\ninput = 1\n").replace("[[case]]\nid = \"a\"\ninput = \"hi\"\n", ""),
            "suite.toml:5:1: `case` must be an array, found table",
        )
        .hint("write `[[case]]`, with two brackets, before each case"),
        bad(
            format!("{BASE}[case.expect]\noutput-contains = 3\n"),
            "suite.toml:9:19: `case[0].expect.output-contains` must be a string or an array of strings, found integer `3`",
        ),
        // Missing required keys.
        bad(
            format!("{BASE}\n[[case]]\ninput = \"x\"\n"),
            "suite.toml:9:1: missing required key `case[1].id`",
        ),
        bad(format!("{BASE}[[case]]\nid = \"b\"\n"), "suite.toml:8:1: missing required key `case[1].input`: what the agent gets: a string, or any value (sent as JSON)"),
        bad(
            "[agent]\nkind = \"command\"\n\n[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:1:1: missing required key `agent.command`: the program a command agent runs for each trial, e.g. [\"python3\", \"agent.py\"]",
        ),
        bad("[[case]]\nid = \"a\"\ninput = 1\n", "suite.toml:1:1: missing required key `agent`"),
        bad(
            format!("{BASE}[case.expect]\ntools = [{{ args = {{}} }}]\n"),
            "suite.toml:9:10: missing required key `case[0].expect.tools[0].name`",
        ),
        bad(
            BASE.replace("[[case]]\nid = \"a\"\ninput = \"hi\"\n", ""),
            "suite.toml:1:1: invalid `case`: a suite needs at least one case: add a `[[case]]` table or a `cases` file",
        ),
        // Duplicate case ids, inline and between the suite and its cases file.
        bad(
            format!("{BASE}[[case]]\nid = \"a\"\ninput = \"x\"\n"),
            "suite.toml:9:6: duplicate case id `a`, first defined at suite.toml:5",
        ),
        bad(with_cases(""), "cases.jsonl:3:8: duplicate case id `a`, first defined at suite.toml:6")
            .cases("{\"id\": \"b\", \"input\": 1}\n\n{\"id\": \"a\", \"input\": 2}\n"),
        bad(with_cases(""), "cases.jsonl:2:8: duplicate case id `b`, first defined at cases.jsonl:1")
            .cases("{\"id\": \"b\", \"input\": 1}\r\n{\"id\": \"b\", \"input\": 2}\r\n"),
        // Durations.
        bad(
            format!("timeout = \"5 parsecs\"\n{BASE}"),
            "suite.toml:1:11: invalid `timeout`: `5 parsecs` is not a duration (unknown time unit \"parsecs\"…",
        ),
        bad(
            format!("{BASE}timeout = \"0s\"\n"),
            "suite.toml:8:11: invalid `case[0].timeout`: `0s` is zero; a duration must be positive",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax-latency = \"soon\"\n"),
            "suite.toml:9:15: invalid `case[0].expect.max-latency`: `soon` is not a duration (…",
        ),
        // Regexes.
        bad(
            format!("{BASE}[case.expect]\noutput-regex = \"(unclosed\"\n"),
            "suite.toml:9:16: `case[0].expect.output-regex` is not a valid regex",
        )
        .cause("unclosed group"),
        // Cases files.
        bad(
            format!("cases = \"nope.jsonl\"\n{BASE}"),
            "suite.toml:1:9: cannot read cases file `nope.jsonl`",
        )
        .cause("No such file"),
        bad(with_cases(""), "cases.jsonl:3:22: expected value")
            .cases("{\"id\": \"b\", \"input\": 1}\n\n{\"id\": \"c\", \"input\": }\n"),
        bad(with_cases(""), "cases.jsonl:1:36: unknown key `expect.spanz`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"spanz\": 1}}\n")
            .hint("did you mean `span`?"),
        bad(
            with_cases(""),
            "cases.jsonl:1:53: `expect.max-llm-calls` must be a non-negative integer, found string \"x\"",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"max-llm-calls\": \"x\"}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:53: `expect.max-llm-calls` must be a non-negative integer, found integer `-4`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"max-llm-calls\": -4}}\n"),
        bad(with_cases(""), "cases.jsonl:1:13: `id` is given twice")
            .cases("{\"id\": \"b\", \"id\": \"c\", \"input\": 1}\n"),
        bad(with_cases(""), "cases.jsonl:2:1: missing required key `input`: what the agent gets: a string, or any value (sent as JSON)")
            .cases("\n{\"id\": \"b\"}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:52: `expect.output-regex` is not a valid regex",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"output-regex\": \"[\"}}\n")
        .cause("unclosed character class"),
        bad(with_cases(""), "cases.jsonl:1:3: a case must be a JSON object, e.g. {\"id\": \"paris\", \"input\": \"…\"}")
            .cases("  [\"b\", 1]\n"),
        // Trace-shape snapshots.
        bad(
            format!("{BASE}[case.expect]\nsnapshot = \"yes\"\n"),
            "suite.toml:9:12: `case[0].expect.snapshot` must be a boolean, found string \"yes\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshots = true\n"),
            "suite.toml:9:1: unknown key `case[0].expect.snapshots`",
        )
        .hint("did you mean `snapshot`?"),
        bad(
            format!("{BASE}[case.expect]\ncollapse-repeats = true\n"),
            "suite.toml:9:20: invalid `case[0].expect.collapse-repeats`: has no effect without `snapshot = true`",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = false\nsnapshot-attrs = [\"tool\"]\n"),
            "suite.toml:10:18: invalid `case[0].expect.snapshot-attrs`: has no effect without `snapshot = true`",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = [\"tool\", \" \"]\n"),
            "suite.toml:10:27: invalid `case[0].expect.snapshot-attrs[1]`: an attribute name must not be empty: write a field (operation, tool, model, provider, agent, error) or an attribute key",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = [\"tool\", \"tool\"]\n"),
            "suite.toml:10:27: invalid `case[0].expect.snapshot-attrs[1]`: `tool` is named twice",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = \"tool\"\n"),
            "suite.toml:10:18: `case[0].expect.snapshot-attrs` must be an array, found string \"tool\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-ignore = ['tool[name=]']\n"),
            "suite.toml:10:31: invalid `case[0].expect.snapshot-ignore[0]`: selector error at column 11: expected a value (a quoted string, a number, `true` or `false`), found `]`",
        ),
        bad(
            format!("snapshot-ignore = ['span', 'tol']\n{BASE}expect.snapshot = true\n"),
            "suite.toml:1:29: invalid `snapshot-ignore[1]`: selector error at column 1: unknown kind `tol`; expected one of llm, tool, agent, retrieval, embedding, retry, step, other, span",
        ),
        bad(
            format!("collapse-repeats = 1\n{BASE}"),
            "suite.toml:1:20: `collapse-repeats` must be a boolean, found integer `1`",
        ),
        bad(
            format!("snapshot-attrs = [\"model\"]\n{BASE}[case.expect]\nsnapshot = false\n"),
            "suite.toml:1:18: invalid `snapshot-attrs`: has no effect: no case of the suite has `snapshot = true` in its `[case.expect]`",
        ),
        bad(
            with_cases(""),
            "cases.jsonl:1:55: invalid `expect.snapshot-ignore`: has no effect without `snapshot = true`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"snapshot-ignore\": []}}\n"),
        // Cost limits.
        bad(
            format!("{BASE}[case.expect]\nmax-cost = -0.01\n"),
            "suite.toml:9:12: invalid `case[0].expect.max-cost`: must be a cost in USD per trial, 0 or more, found -0.01",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax-cost = nan\n"),
            "suite.toml:9:12: invalid `case[0].expect.max-cost`: must be a cost in USD per trial, 0 or more, found NaN",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax-cost = inf\n"),
            "suite.toml:9:12: invalid `case[0].expect.max-cost`: must be a cost in USD per trial, 0 or more, found inf",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax-cost = \"$0.01\"\n"),
            "suite.toml:9:12: `case[0].expect.max-cost` must be a number, found string \"$0.01\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nmax_cost = 0.01\n"),
            "suite.toml:9:1: unknown key `case[0].expect.max_cost`",
        )
        .hint("did you mean `max-cost`?"),
        bad(
            with_cases(""),
            "cases.jsonl:1:48: invalid `expect.max-cost`: must be a cost in USD per trial, 0 or more, found -1",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"max-cost\": -1}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:48: `expect.max-cost` must be a number, found string \"0.01\"",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"max-cost\": \"0.01\"}}\n"),
        // Replay suites: `trace` and `output` per case, checked as the suite loads.
        bad(
            REPLAY.replace("trace = \"trace.json\"\n", ""),
            "suite.toml:4:1: missing required key `case[0].trace`: the recorded trace this case grades (OTLP JSON or JSONL, relative to the suite file), e.g. trace = \"traces/paris.otlp.jsonl\"",
        ),
        bad(
            REPLAY.replace("trace.json", "gone.json"),
            "suite.toml:7:9: invalid `case[0].trace`: cannot read `gone.json`: …",
        ),
        bad(
            REPLAY.replace("\"trace.json\"", "\" \""),
            "suite.toml:7:9: invalid `case[0].trace`: must not be empty",
        ),
        bad(
            REPLAY,
            "suite.toml:7:9: invalid `case[0].trace`: `trace.json` is not an OTLP JSON trace: 2:20: invalid OTLP JSON: expected value",
        )
        .trace("{\"resourceSpans\": []}\n{\"resourceSpans\": [}\n"),
        bad(
            REPLAY,
            "suite.toml:7:9: invalid `case[0].trace`: `trace.json` is not an OTLP JSON trace: 1:1: …",
        )
        .trace("{\"resource_spans\": []}"),
        bad(
            REPLAY,
            "suite.toml:7:9: invalid `case[0].trace`: `trace.json` holds no spans: there is nothing to grade",
        )
        .trace("{\"resourceSpans\": []}\n"),
        bad(
            REPLAY,
            "suite.toml:7:9: invalid `case[0].trace`: `trace.json` has 1 span(s) with invalid ids (…",
        )
        .trace(r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00000000000000000000000000000000","spanId":"eee19b7ec3c1b174","name":"chat"}]}]}]}"#),
        bad(
            REPLAY,
            "suite.toml:7:9: invalid `case[0].trace`: `trace.json` holds 2 trial roots (`eval.trial` spans without a parent): a case replays the trace of one trial",
        )
        .trace(concat!(
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"eval.trial"}]}]}]}"#,
            "\n",
            r#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"6b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"eval.trial"}]}]}]}"#,
        )),
        bad(
            format!("cases = \"cases.jsonl\"\n{REPLAY}"),
            "cases.jsonl:2:34: invalid `trace`: cannot read `nope.json`: …",
        )
        .cases("\n{\"id\": \"b\", \"input\": 1, \"trace\": \"nope.json\"}\n"),
        bad(
            format!("cases = \"cases.jsonl\"\n{REPLAY}"),
            "cases.jsonl:1:1: missing required key `trace`: …",
        )
        .cases("{\"id\": \"b\", \"input\": 1}\n"),
        bad(
            format!("{BASE}trace = \"trace.json\"\n"),
            "suite.toml:8:9: invalid `case[0].trace`: applies only to `[agent] kind = \"replay\"`, which grades a recorded trace instead of running an agent",
        ),
        bad(
            format!("{BASE}output = \"Sunny\"\n"),
            "suite.toml:8:10: invalid `case[0].output`: applies only to `[agent] kind = \"replay\"`, which grades a recorded trace instead of running an agent",
        ),
        bad(
            format!("trials = 3\n{REPLAY}"),
            "suite.toml:1:10: invalid `trials`: does not apply to agent kind `replay`: no agent runs, and a recorded trace is replayed once per model",
        ),
        bad(
            format!("timeout = \"5s\"\n{REPLAY}"),
            "suite.toml:1:11: invalid `timeout`: does not apply to agent kind `replay`: no agent runs, and a recorded trace is replayed once per model",
        ),
        bad(
            REPLAY.replace("kind = \"replay\"\n", "kind = \"replay\"\ncommand = [\"x\"]\n"),
            "suite.toml:3:11: invalid `agent.command`: does not apply to agent kind `replay`, which runs no agent: each case names its recorded `trace`",
        ),
        bad(
            format!("{REPLAY}[[tool]]\nname = \"t\"\nreturns = 1\n"),
            "suite.toml:8:1: invalid `tool`: `tool` tables need `[agent] kind = \"builtin\"`; a replay grades the tool calls its traces recorded",
        ),
        bad(
            BASE.replace("\"command\"", "\"comand\""),
            "suite.toml:2:8: `agent.kind` must be one of `command`, `builtin`, `replay`, found `comand`",
        )
        .hint("did you mean `command`?"),
        bad(
            BASE.replace("\"command\"", "\"built-in\""),
            "suite.toml:2:8: `agent.kind` must be one of `command`, `builtin`, `replay`, found `built-in`",
        )
        .hint("did you mean `builtin`?"),
        // Models and prices.
        bad(
            format!("[model.m]\nprovider = \"opanai\"\n{BASE}"),
            "suite.toml:2:12: `model.m.provider` must be one of `scripted`, `openai`, `anthropic`, found `opanai`",
        )
        .hint("did you mean `openai`?"),
        bad(
            format!("[model.m]\nprovider = \"scripted\"\nscript = \"s.toml\"\nbase-url = \"http://x\"\n{BASE}"),
            "suite.toml:4:12: invalid `model.m.base-url`: does not apply to provider `scripted`",
        ),
        bad(
            format!("[model.m]\nprovider = \"anthropic\"\norganization = \"o\"\n{BASE}"),
            "suite.toml:3:16: invalid `model.m.organization`: does not apply to provider `anthropic`",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nmax-tokens = 5\n{BASE}"),
            "suite.toml:3:14: invalid `model.m.max-tokens`: does not apply to provider `openai`",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nheaders = {{ \"a b\" = \"x\" }}\n{BASE}"),
            "suite.toml:3:11: invalid `model.m.headers`: `a b` is not a valid HTTP header name",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\ntimeout = \"soon\"\n{BASE}"),
            "suite.toml:3:11: invalid `model.m.timeout`: `soon` is not a duration (expected number at 0); write e.g. \"30s\", \"1500ms\" or \"2m\"",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nscript = \"s.toml\"\n{BASE}"),
            "suite.toml:3:10: invalid `model.m.script`: does not apply to provider `openai`",
        ),
        bad(
            format!("[model.m]\nprovider = \"scripted\"\n{BASE}"),
            "suite.toml:1:1: missing required key `model.m.script`: a scripted model answers from a script file",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nbase-url = \"api.openai.com\"\n{BASE}"),
            "suite.toml:3:12: invalid `model.m.base-url`: `api.openai.com` is not an http:// or https:// URL",
        ),
        bad(
            format!("[pricing.\"gpt-4.1\"]\ninput = -1\noutput = 1\n{BASE}"),
            "suite.toml:2:9: invalid `pricing.\"gpt-4.1\".input`: must be a price in USD per 1M tokens, 0 or more, found -1",
        ),
        bad(
            format!("[pricing.m]\ninput = 1\noutput = nan\n{BASE}"),
            "suite.toml:3:10: invalid `pricing.m.output`: must be a price in USD per 1M tokens, 0 or more, found NaN",
        ),
        bad(
            format!("[pricing.m]\ninput = 1\n{BASE}"),
            "suite.toml:1:1: missing required key `pricing.m.output`",
        ),
        bad(
            format!("models = [\"a\", \"a\"]\n{BASE}"),
            "suite.toml:1:16: invalid `models[1]`: `a` is listed twice",
        ),
        // An empty list would silently run as `default`, with no model served.
        bad(
            format!("models = []\n{BASE}"),
            "suite.toml:1:10: invalid `models`: must name at least one model (leave it out to run the agent once per trial as `default`, with no model served)",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nenv = { \"A=B\" = \"x\" }\n"),
            "suite.toml:2:17: invalid `agent.env.\"A=B\"`: an environment variable name must be non-empty, without `=`",
        ),
        // The builtin agent: near-miss keys.
        bad(builtin_agent("system_prompt = \"x\""), "suite.toml:3:1: unknown key `agent.system_prompt`")
            .hint("did you mean `system-prompt`?"),
        bad(builtin_agent("max-turn = 3"), "suite.toml:3:1: unknown key `agent.max-turn`")
            .hint("did you mean `max-turns`?"),
        bad(builtin_agent("temprature = 1"), "suite.toml:3:1: unknown key `agent.temprature`")
            .hint("did you mean `temperature`?"),
        bad(
            builtin_tool("name = \"x\"\nreturns_by_args = []"),
            "suite.toml:9:1: unknown key `tool[0].returns_by_args`",
        )
        .hint("did you mean `returns-by-args`?"),
        bad(
            builtin_tool("name = \"x\"\nreturn = 1"),
            "suite.toml:9:1: unknown key `tool[0].return`",
        )
        .hint("did you mean `returns`?"),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ arg = {}, returns = 1 }]"),
            "suite.toml:9:22: unknown key `tool[0].returns-by-args[0].arg`",
        )
        .hint("did you mean `args`?"),
        bad(
            format!("{BUILTIN}[[tools]]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:7:3: unknown key `tools`",
        )
        .hint("did you mean `tool`?"),
        bad(
            format!("{BUILTIN}[tool]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:7:1: `tool` must be an array, found table",
        )
        .hint("write `[[tool]]`, with two brackets, before each tool"),
        // Keys of one agent kind under the other, and tools without a builtin agent.
        bad(
            builtin_agent("command = [\"python3\", \"agent.py\"]"),
            "suite.toml:3:11: invalid `agent.command`: does not apply to agent kind `builtin`, which runs traceval's own tool loop (`command`, `env` and `cwd` are for `kind = \"command\"`)",
        ),
        bad(
            builtin_agent("env = { A = \"1\" }"),
            "suite.toml:3:7: invalid `agent.env`: does not apply to agent kind `builtin`…",
        ),
        bad(
            builtin_agent("cwd = \"work\""),
            "suite.toml:3:7: invalid `agent.cwd`: does not apply to agent kind `builtin`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nsystem-prompt = \"be brief\"\n"),
            "suite.toml:2:17: invalid `agent.system-prompt`: does not apply to agent kind `command` (`name`, `system-prompt`, `max-turns` and `temperature` are for `kind = \"builtin\"`)",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nname = \"bot\"\n"),
            "suite.toml:2:8: invalid `agent.name`: does not apply to agent kind `command`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nmax-turns = 3\n"),
            "suite.toml:2:13: invalid `agent.max-turns`: does not apply to agent kind `command`…",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\ntemperature = 0\n"),
            "suite.toml:2:15: invalid `agent.temperature`: does not apply to agent kind `command`…",
        ),
        bad(
            format!("{BASE}\n[[tool]]\nname = \"x\"\nreturns = 1\n"),
            "suite.toml:9:1: invalid `tool`: `tool` tables need `[agent] kind = \"builtin\"`; a command agent brings its own tools",
        ),
        // Builtin agent values.
        bad(builtin_agent("max-turns = 0"), "suite.toml:3:13: invalid `agent.max-turns`: must be at least 1"),
        bad(
            builtin_agent("max-turns = -1"),
            "suite.toml:3:13: `agent.max-turns` must be a non-negative integer up to 4294967295, found integer `-1`",
        ),
        bad(
            builtin_agent("temperature = 2.5"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found 2.5",
        ),
        bad(
            builtin_agent("temperature = -0.1"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found -0.1",
        ),
        bad(
            builtin_agent("temperature = nan"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found NaN",
        ),
        bad(
            builtin_agent("temperature = inf"),
            "suite.toml:3:15: invalid `agent.temperature`: must be a number from 0 to 2, found inf",
        ),
        bad(
            builtin_agent("temperature = \"warm\""),
            "suite.toml:3:15: `agent.temperature` must be a number, found string \"warm\"",
        ),
        bad(builtin_agent("name = \" \""), "suite.toml:3:8: invalid `agent.name`: must not be empty"),
        bad(
            builtin_agent("system-prompt = \"\""),
            "suite.toml:3:17: invalid `agent.system-prompt`: must not be empty",
        ),
        // Tool names.
        bad(builtin_tool("returns = 1"), "suite.toml:7:1: missing required key `tool[0].name`"),
        bad(
            builtin_tool("name = \"get weather\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `get weather` contains ' '; LLM APIs accept only letters, digits, `_` and `-` in a tool name",
        ),
        bad(
            builtin_tool("name = \"naïve\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `naïve` contains 'ï'; LLM APIs accept only letters, digits, `_` and `-` in a tool name",
        ),
        bad(
            builtin_tool("name = \"a.b\"\nreturns = 1"),
            "suite.toml:8:8: invalid `tool[0].name`: `a.b` contains '.'…",
        ),
        bad(
            builtin_tool(&format!("name = \"{}\"\nreturns = 1", "t".repeat(65))),
            "suite.toml:8:8: invalid `tool[0].name`: `ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt` is 65 characters long; LLM APIs accept at most 64 in a tool name",
        ),
        bad(builtin_tool("name = \"\"\nreturns = 1"), "suite.toml:8:8: invalid `tool[0].name`: must not be empty"),
        bad(
            format!("{BUILTIN}[[tool]]\nname = \"x\"\nreturns = 1\n[[tool]]\nname = \"y\"\nreturns = 2\n[[tool]]\nname = \"x\"\nerror = \"no\"\n"),
            "suite.toml:14:8: invalid `tool[2].name`: tool `x` is defined twice, first at line 8; tool names must be unique",
        ),
        // Tool results: exactly one.
        bad(
            builtin_tool("name = \"x\"\ndescription = \"does x\""),
            "suite.toml:7:1: invalid `tool[0]`: tool `x` has no result: give one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            format!("tool = [{{ name = \"x\" }}]\n{BUILTIN}"),
            "suite.toml:1:9: invalid `tool[0]`: tool `x` has no result: give one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nerror = \"no\""),
            "suite.toml:10:9: invalid `tool[0].error`: tool `x` has `returns` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool("name = \"x\"\nerror = \"no\"\ncommand = [\"a\"]\nreturns-by-args = [{ returns = 1 }]"),
            "suite.toml:10:11: invalid `tool[0].command`: tool `x` has `returns-by-args`, `command` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        bad(
            builtin_tool("name = \"x\"\nerror = \"no\"\nreturns = 1"),
            "suite.toml:10:11: invalid `tool[0].returns`: tool `x` has `returns` and `error`: give exactly one of `returns`, `returns-by-args`, `command` or `error`",
        ),
        // returns-by-args.
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = []"),
            "suite.toml:9:19: invalid `tool[0].returns-by-args`: must have at least one entry, e.g. [{ args = { city = \"Paris\" }, returns = \"sunny\" }]",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ returns = 1 }, { args = { a = 1 } }]"),
            "suite.toml:9:37: missing required key `tool[0].returns-by-args[1].returns`",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ args = \"Paris\", returns = 1 }]"),
            "suite.toml:9:29: invalid `tool[0].returns-by-args[0].args`: must be a table of the arguments a call must contain (leave it out to match any call)",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [{ args = 2024-05-01, returns = 1 }]"),
            "suite.toml:9:29: invalid `tool[0].returns-by-args[0].args`: must be a table…",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns-by-args = [\n  { returns = 0 },\n  { args = { a = 1 }, returns = 1 },\n]"),
            "suite.toml:11:3: invalid `tool[0].returns-by-args[1]`: is never used: `tool[0].returns-by-args[0]` before it matches every call, having no `args` or empty ones; put that entry last",
        ),
        bad(
            builtin_tool("name = \"x\"\n[[tool.returns-by-args]]\nargs = {}\nreturns = 0\n[[tool.returns-by-args]]\nreturns = 1"),
            "suite.toml:12:1: invalid `tool[0].returns-by-args[1]`: is never used: `tool[0].returns-by-args[0]` before it matches every call, having no `args` or empty ones…",
        ),
        // command and timeout.
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\ntimeout = \"5s\""),
            "suite.toml:10:11: invalid `tool[0].timeout`: applies only to a tool with `command`: it bounds the command's run",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = [\"tool.sh\"]\ntimeout = \"0s\""),
            "suite.toml:10:11: invalid `tool[0].timeout`: `0s` is zero; a duration must be positive",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = [\"tool.sh\"]\ntimeout = 5"),
            "suite.toml:10:11: `tool[0].timeout` must be a string, found integer `5`",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = []"),
            "suite.toml:9:11: invalid `tool[0].command`: must start with the program to run, e.g. [\"python3\", \"tools/lookup.py\"]",
        ),
        bad(
            builtin_tool("name = \"x\"\ncommand = \"tool.sh\""),
            "suite.toml:9:11: `tool[0].command` must be an array, found string \"tool.sh\"",
        ),
        // parameters, description, error.
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nparameters = \"city\""),
            "suite.toml:10:14: invalid `tool[0].parameters`: must be a table: the JSON schema of the arguments, e.g. { type = \"object\", properties = { city = { type = \"string\" } } }",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\nparameters = { type = \"string\" }"),
            "suite.toml:10:23: invalid `tool[0].parameters.type`: must be \"object\", found \"string\": LLM APIs pass a tool's arguments as an object",
        ),
        bad(
            builtin_tool("name = \"x\"\nerror = \"\""),
            "suite.toml:9:9: invalid `tool[0].error`: must not be empty",
        ),
        bad(
            builtin_tool("name = \"x\"\nreturns = 1\ndescription = \" \""),
            "suite.toml:10:15: invalid `tool[0].description`: must not be empty",
        ),
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
        // A case cannot have an agent of its own.
        bad(
            format!("{BASE}agent.command = [\"python3\", \"x.py\"]\n"),
            "suite.toml:8:1: unknown key `case[0].agent`",
        )
        .hint(
            "the agent is set once per suite, in its `[agent]` table; put cases that need \
             another agent in a suite of their own",
        ),
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
        // Judges.
        bad(
            judge("model = \"m\"\nrubric = \"Cites a source.\"\nthreshhold = 0.5"),
            "suite.toml:11:1: unknown key `case[0].expect.judge[0].threshhold`",
        )
        .hint("did you mean `threshold`?"),
        bad(
            judge("model = \"m\""),
            "suite.toml:8:1: missing required key `case[0].expect.judge[0].rubric`",
        ),
        bad(
            judge("rubric = \"x\""),
            "suite.toml:8:1: missing required key `case[0].expect.judge[0].model`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"  \""),
            "suite.toml:10:10: invalid `case[0].expect.judge[0].rubric`: must not be empty",
        ),
        bad(
            judge("model = \"\"\nrubric = \"x\""),
            "suite.toml:9:9: invalid `case[0].expect.judge[0].model`: a model name must not be empty",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = 1.5"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found 1.5",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = -0.1"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found -0.1",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = nan"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found NaN",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 0"),
            "suite.toml:11:11: invalid `case[0].expect.judge[0].samples`: must be at least 1",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\ntemperature = 3.5"),
            "suite.toml:11:15: invalid `case[0].expect.judge[0].temperature`: must be from 0 to 2, found 3.5",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 26"),
            "suite.toml:11:11: invalid `case[0].expect.judge[0].samples`: must be at most 25 (each sample is one model call per trial), found 26",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = -3"),
            "suite.toml:11:11: `case[0].expect.judge[0].samples` must be a non-negative integer up to 4294967295, found integer `-3`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 1.5"),
            "suite.toml:11:11: `case[0].expect.judge[0].samples` must be a non-negative integer, found floating point `1.5`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nname = \"\""),
            "suite.toml:11:8: invalid `case[0].expect.judge[0].name`: must not be empty",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\n[[case.expect.judge]]\nmodel = \"m\"\nrubric = \"y\""),
            "suite.toml:11:1: invalid `case[0].expect.judge[1]`: two judges of this case are named `judge` (the first at line 8); give each judge its own `name`, which names its check in the report",
        ),
        bad(
            judge("name = \"tone\"\nmodel = \"m\"\nrubric = \"x\"\n[[case.expect.judge]]\nname = \"tone\"\nmodel = \"m\"\nrubric = \"y\""),
            "suite.toml:13:8: invalid `case[0].expect.judge[1].name`: two judges of this case are named `tone` (the first at line 8); give each judge its own `name`, which names its check in the report",
        ),
        bad(
            format!("{BASE}[case.expect.judge]\nmodel = \"m\"\nrubric = \"x\"\n"),
            "suite.toml:8:1: `case[0].expect.judge` must be an array, found table",
        )
        .hint("write `[[case.expect.judge]]`, with two brackets, before each judge"),
        bad(
            format!("{BASE}[case.expect]\njudge = \"m\"\n"),
            "suite.toml:9:9: `case[0].expect.judge` must be an array, found string \"m\"",
        ),
        // Judges in a cases file.
        bad(with_cases(""), "cases.jsonl:1:87: invalid `expect.judge[0].samples`: must be at least 1")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubric\": \"x\", \"samples\": 0}]}}\n"),
        bad(with_cases(""), "cases.jsonl:1:61: unknown key `expect.judge[0].rubrik`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubrik\": \"x\"}]}}\n")
            .hint("did you mean `rubric`?"),
        bad(with_cases(""), "cases.jsonl:1:46: missing required key `expect.judge[0].rubric`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\"}]}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:89: invalid `expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found 2",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubric\": \"x\", \"threshold\": 2}]}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:45: `expect.judge` must be an array, found table",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": {\"model\": \"m\", \"rubric\": \"x\"}}}\n"),
        // Conventions: kind rules.
        bad(
            kind_rule("kind = \"tol\"\nname = \"x\""),
            "suite.toml:9:8: `conventions.kind[0].kind` must be one of `llm`, `tool`, `agent`, `retrieval`, `embedding`, `retry`, `step`, `other`, found `tol`",
        )
        .hint("did you mean `tool`?"),
        bad(
            kind_rule("name = \"x\""),
            "suite.toml:8:1: missing required key `conventions.kind[0].kind`",
        ),
        bad(
            kind_rule("kind = \"tool\""),
            "suite.toml:8:1: invalid `conventions.kind[0]`: a rule needs something to match: `name`, `name-prefix` or `name-regex` for the span name, or `attr`, e.g. attr = { \"acme.kind\" = \"tool\" }",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname-prefix = \"acme.\"\nname = \"acme.x\""),
            "suite.toml:11:8: invalid `conventions.kind[0].name`: a rule matches the span name one way: give one of `name`, `name-prefix` or `name-regex` (add `attr` to require attributes too)",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname-regex = \"acme.(tool\""),
            "suite.toml:10:14: `conventions.kind[0].name-regex` is not a valid regex",
        )
        .cause("unclosed group"),
        bad(
            kind_rule("kind = \"tool\"\nname-prefix = \"\""),
            "suite.toml:10:15: invalid `conventions.kind[0].name-prefix`: must not be empty: it would match every span",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = {}"),
            "suite.toml:10:8: invalid `conventions.kind[0].attr`: must name at least one attribute, e.g. { \"acme.kind\" = \"tool\" }",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = { \"\" = \"x\" }"),
            "suite.toml:10:15: invalid `conventions.kind[0].attr.\"\"`: an attribute key must not be empty",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = { \"acme.n\" = 1.5 }"),
            "suite.toml:10:21: `conventions.kind[0].attr.\"acme.n\"` must be a string, an integer or a boolean, found floating point `1.5`",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname_prefix = \"acme.\""),
            "suite.toml:10:1: unknown key `conventions.kind[0].name_prefix`",
        )
        .hint("did you mean `name-prefix`?"),
        bad(
            format!("{BASE}[conventions.kind]\nkind = \"tool\"\nname = \"x\"\n"),
            "suite.toml:8:1: `conventions.kind` must be an array, found table",
        )
        .hint("write `[[conventions.kind]]`, with two brackets, before each kind"),
        bad(
            format!("{BASE}[conventions]\nrule = []\n"),
            "suite.toml:9:1: unknown key `conventions.rule`",
        )
        .hint("expected one of: `kind`, `fields`"),
        // Conventions: fields.
        bad(
            fields("tool_name = [\"acme.tool\"]"),
            "suite.toml:9:1: unknown key `conventions.fields.tool_name`",
        )
        .hint("did you mean `tool-name`?"),
        bad(
            fields("tokens-in = [\"acme.tokens\"]"),
            "suite.toml:9:1: unknown key `conventions.fields.tokens-in`",
        ),
        bad(
            fields("tool-name = []"),
            "suite.toml:9:13: invalid `conventions.fields.tool-name`: must list at least one attribute key, e.g. [\"acme.tool\"]",
        ),
        bad(
            fields("input-tokens = [\"acme.in\", \" \"]"),
            "suite.toml:9:28: invalid `conventions.fields.input-tokens[1]`: an attribute key must not be empty",
        ),
        bad(
            fields("cost = 3"),
            "suite.toml:9:8: `conventions.fields.cost` must be a string or an array of strings, found integer `3`",
        ),
        // Not TOML at all.
        bad(format!("trials = \n{BASE}"), "suite.toml:1:10: string values must be quoted, expected literal string"),
    ]
}

#[test]
fn bad_suites_are_errors_that_point_at_the_key() {
    // Every mismatch is collected, so that one run shows them all.
    let mut failures = Vec::new();
    for bad in bad_suites() {
        let dir = TestDir::new();
        let path = dir.write("suite.toml", &bad.suite);
        if let Some(cases) = bad.cases {
            dir.write("cases.jsonl", cases);
        }
        dir.write("trace.json", bad.trace.unwrap_or(ONE_SPAN));
        let error = match load_suite(&path) {
            Ok(_) => {
                failures.push(format!("loaded without error:\n{}", bad.suite));
                continue;
            }
            Err(error) => error,
        };
        let shown = error
            .to_string()
            .replace(&format!("{}/", dir.path().display()), "");
        let matches = match bad.error.strip_suffix('…') {
            Some(prefix) => shown.starts_with(prefix),
            None => shown == bad.error,
        };
        let cause = error.source().map(ToString::to_string).unwrap_or_default();
        let cause_matches = bad.cause.is_none_or(|expected| cause.contains(expected));
        if !matches || error.hint() != bad.hint || !cause_matches {
            failures.push(format!(
                "expected {:?} (hint {:?}, cause {:?})\n     got {shown:?} (hint {:?}, cause {cause:?})",
                bad.error,
                bad.hint,
                bad.cause,
                error.hint()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn errors_carry_the_key_as_a_field() {
    let dir = TestDir::new();
    let path = dir.write("suite.toml", &format!("{BASE}[case.expect]\nspanz = 1\n"));
    let error = load_suite(&path).unwrap_err();
    let SuiteLoadError::UnknownKey {
        path: file,
        line,
        column,
        key,
        hint,
    } = error
    else {
        panic!("{error:?}");
    };
    assert_eq!((file, line, column), (path, 9, 1));
    assert_eq!(key, "case[0].expect.spanz");
    assert_eq!(hint.as_deref(), Some("did you mean `span`?"));
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_at_the_bad_byte() {
    let dir = TestDir::new();
    let path = dir.path().join("suite.toml");
    std::fs::write(&path, b"name = \"ok\"\ndescription = \"caf\xe9\"\n").unwrap();
    let error = load_suite(&path).unwrap_err();
    let SuiteLoadError::Parse { line, column, .. } = error else {
        panic!("{error:?}");
    };
    assert_eq!((line, column), (2, 19));
}

#[test]
fn a_missing_suite_file_is_a_read_error() {
    let dir = TestDir::new();
    let error = load_suite(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(error, SuiteLoadError::Read { .. }), "{error:?}");
    assert!(error.to_string().ends_with("nope.toml`"), "{error}");
}
