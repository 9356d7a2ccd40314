use std::error::Error as _;
use std::path::Path;
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::suite::testdir::TestDir;

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

[model.claude]
provider = "anthropic"
model = "claude-sonnet-4"

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
no-error-spans = true
tools = [{ name = "get_weather", args = { city = "Paris" } }, { name = "log" }]
min-tool-f1 = 0.5
exit-code = 3

[[case]]
id = "structured"
input = { city = "Tokyo", when = 2024-05-01, days = [1, 2] }
[case.expect]
output-contains = "Tokyo"
"#;

const FULL_CASES: &str = r#"{"id": "oslo", "input": "Weather in Oslo?", "tags": ["nordic"], "timeout": "5s", "expect": {"output-contains": "Oslo", "tools": [{"name": "get_weather"}], "exit-code": 0}}

{"id": "null-input", "input": null}
"#;

#[test]
fn a_full_suite_loads_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suites/weather.toml", FULL_SUITE);
    dir.write("suites/data/more.jsonl", FULL_CASES);
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
            (path.clone(), 34),
            (path.clone(), 52),
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

    let oslo = &suite.cases[2];
    assert_eq!(oslo.tags, ["nordic"]);
    assert_eq!(oslo.timeout, Some(Duration::from_secs(5)));
    assert_eq!(oslo.expect.output_contains, ["Oslo"]);
    assert_eq!(oslo.expect.exit_code, Some(0));
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
        panic!("a command agent")
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

/// A valid suite of one case; what tests append goes into that case's table.
const BASE: &str = r#"[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "a"
input = "hi"
"#;

struct Bad {
    /// The suite file, `suite.toml`.
    suite: String,
    /// A cases file, `cases.jsonl`, when the suite names it.
    cases: Option<&'static str>,
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
        bad(format!("{BASE}[[case]]\nid = \"b\"\n"), "suite.toml:8:1: missing required key `case[1].input`"),
        bad(
            "[agent]\nkind = \"command\"\n\n[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:1:1: missing required key `agent.command`",
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
        bad(with_cases(""), "cases.jsonl:2:1: missing required key `input`")
            .cases("\n{\"id\": \"b\"}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:52: `expect.output-regex` is not a valid regex",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"output-regex\": \"[\"}}\n")
        .cause("unclosed character class"),
        bad(with_cases(""), "cases.jsonl:1:3: a case must be a JSON object, e.g. {\"id\": \"paris\", \"input\": \"…\"}")
            .cases("  [\"b\", 1]\n"),
        // Keys and agent kinds of the design that this version does not implement.
        bad(
            format!("{BASE}[case.expect]\ntrajectory = \"in-order\"\n"),
            "suite.toml:9:14: `case[0].expect.trajectory` is not supported yet by this version of traceval",
        ),
        bad(
            format!("{BASE}[[case.expect.span]]\nselect = \"tool\"\ncount = 1\n"),
            "suite.toml:8:1: `case[0].expect.span` is not supported yet by this version of traceval",
        ),
        bad(
            with_cases(""),
            "cases.jsonl:1:48: `expect.max-cost` is not supported yet by this version of traceval",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"max-cost\": 0.01}}\n"),
        bad(
            "[agent]\nkind = \"builtin\"\nsystem-prompt = \"be brief\"\n\n[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:2:8: agent kind `builtin` is not supported yet by this version of traceval",
        ),
        bad(
            "[agent]\nkind = \"replay\"\n\n[[case]]\nid = \"a\"\ninput = 1\ntrace = \"a.json\"\n",
            "suite.toml:2:8: agent kind `replay` is not supported yet by this version of traceval",
        ),
        bad(
            format!("{BASE}\n[[tool]]\nname = \"x\"\n"),
            "suite.toml:9:1: `tool` is not supported yet by this version of traceval",
        ),
        bad(
            BASE.replace("\"command\"", "\"comand\""),
            "suite.toml:2:8: `agent.kind` must be one of `command`, found `comand`",
        )
        .hint("did you mean `command`?"),
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
        bad(
            BASE.replace("[agent]\n", "[agent]\nenv = { \"A=B\" = \"x\" }\n"),
            "suite.toml:2:17: invalid `agent.env.\"A=B\"`: an environment variable name must be non-empty, without `=`",
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
