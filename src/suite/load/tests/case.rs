//! Cases and expectations: a full suite, defaults, paths, and the bad cases, ids, durations,
//! regexes, cases files and cost limits.

use super::*;

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

/// Suites that must not load: case.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
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
        // A case cannot have an agent of its own.
        bad(
            format!("{BASE}agent.command = [\"python3\", \"x.py\"]\n"),
            "suite.toml:8:1: unknown key `case[0].agent`",
        )
        .hint(
            "the agent is set once per suite, in its `[agent]` table; put cases that need \
             another agent in a suite of their own",
        ),
    ]
}

/// The definition hashes of the cases of `text` (with `data` as its `cases.jsonl`).
fn definition_hashes(text: &str, data: &str) -> Vec<String> {
    let dir = TestDir::new();
    dir.write("cases.jsonl", data);
    let path = dir.write("s.toml", text);
    let suite = load_suite(&path).unwrap();
    suite.cases.into_iter().map(|c| c.definition_hash).collect()
}

const DEFINED: &str = r#"timeout = "30s"
cases = "cases.jsonl"

[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "a"
input = { city = "Paris", days = 2 }
expect = { output-contains = ["sunny"], max-llm-calls = 3 }

[[case]]
id = "b"
input = "hi"
"#;

#[test]
fn a_case_definition_hash_ignores_layout_and_follows_the_case() {
    let data = "{\"id\": \"c\", \"input\": \"x\", \"expect\": {\"output-equals\": \"y\"}}\n";
    let base = definition_hashes(DEFINED, data);
    assert_eq!(base.len(), 3);
    assert!(base.iter().all(|h| h.len() == 16), "{base:?}");
    assert!(base[0] != base[1] && base[1] != base[2]);

    // Whitespace, comments, key order, quoting, inline tables written as tables, tags, the
    // agent and the models: the same definitions.
    let relaid = r#"# the weather suite
cases = "cases.jsonl"
models = ["m"]
timeout = '30s'
trials = 7

[agent]
command = ["python3", "other.py"]
kind = "command"

[[case]]
tags = ["slow"]
id = "a"   # first
input = { days = 2, city = "Paris" }

  [case.expect]
  max-llm-calls = 3
  output-contains = [ "sunny" ]

[[case]]
input = "hi"
id = "b"
"#;
    let data_relaid =
        "\n{ \"expect\": {\"output-equals\": \"y\"}, \"input\": \"x\", \"id\": \"c\" }\n";
    assert_eq!(definition_hashes(relaid, data_relaid), base);

    // Editing one case's input or expectation changes its hash and no other's.
    let input = DEFINED.replace("days = 2", "days = 3");
    let hashes = definition_hashes(&input, data);
    assert!(hashes[0] != base[0] && hashes[1..] == base[1..]);
    let expectation = DEFINED.replace("max-llm-calls = 3", "max-llm-calls = 4");
    let hashes = definition_hashes(&expectation, data);
    assert!(hashes[0] != base[0] && hashes[1..] == base[1..]);
    let data_edit = definition_hashes(DEFINED, &data.replace("\"y\"", "\"z\""));
    assert!(data_edit[2] != base[2] && data_edit[..2] == base[..2]);

    // A suite-level key that changes how every case runs changes every hash.
    let timeout = definition_hashes(&DEFINED.replace("30s", "31s"), data);
    assert!(timeout.iter().zip(&base).all(|(a, b)| a != b));
}
