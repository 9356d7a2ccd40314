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
use crate::toml_doc::{LocatedError, LocatedKind};
use crate::trace::query::Selector;

mod agent;
mod case;
mod conventions;
mod expect;
mod judge;
mod models;
mod replay;
mod snapshot;

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

fn selector(text: &str) -> Selector {
    Selector::parse(text).unwrap()
}

fn with_cases(rest: &str) -> String {
    format!("cases = \"cases.jsonl\"\n{BASE}{rest}")
}

/// Every suite that must not load, with its error: the general ones here, then each part's.
fn bad_suites() -> Vec<Bad> {
    let mut all = vec![
        // Keys that do not exist, with the near key as a hint.
        bad(
            format!("trails = 3\n{BASE}"),
            "suite.toml:1:1: unknown key `trails`",
        )
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
        bad(
            format!("trials = 0\n{BASE}"),
            "suite.toml:1:10: invalid `trials`: must be at least 1",
        ),
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
            format!("{BASE}[case]\nid = \"b\"\ninput = 1\n")
                .replace("[[case]]\nid = \"a\"\ninput = \"hi\"\n", ""),
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
        bad(
            format!("{BASE}[[case]]\nid = \"b\"\n"),
            "suite.toml:8:1: missing required key `case[1].input`: what the agent gets: a string, or any value (sent as JSON)",
        ),
        bad(
            "[agent]\nkind = \"command\"\n\n[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:1:1: missing required key `agent.command`: the program a command agent runs for each trial, e.g. [\"python3\", \"agent.py\"]",
        ),
        bad(
            "[[case]]\nid = \"a\"\ninput = 1\n",
            "suite.toml:1:1: missing required key `agent`",
        ),
        bad(
            format!("{BASE}[case.expect]\ntools = [{{ args = {{}} }}]\n"),
            "suite.toml:9:10: missing required key `case[0].expect.tools[0].name`",
        ),
        bad(
            BASE.replace("[[case]]\nid = \"a\"\ninput = \"hi\"\n", ""),
            "suite.toml:1:1: invalid `case`: a suite needs at least one case: add a `[[case]]` table or a `cases` file",
        ),
        // Not TOML at all.
        bad(
            format!("trials = \n{BASE}"),
            "suite.toml:1:10: string values must be quoted, expected literal string",
        ),
    ];
    for part in [
        case::bad_suites(),
        expect::bad_suites(),
        judge::bad_suites(),
        snapshot::bad_suites(),
        agent::bad_suites(),
        conventions::bad_suites(),
        replay::bad_suites(),
        models::bad_suites(),
    ] {
        all.extend(part);
    }
    all
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
    let SuiteLoadError::Located(LocatedError {
        path: file,
        line,
        column,
        key,
        kind: LocatedKind::UnknownKey { hint },
    }) = error
    else {
        panic!("{error:?}");
    };
    assert_eq!((file, line, column), (path, 9, 1));
    assert_eq!(key.as_deref(), Some("case[0].expect.spanz"));
    assert_eq!(hint.as_deref(), Some("did you mean `span`?"));
}

#[test]
fn a_file_that_is_not_utf8_is_an_error_at_the_bad_byte() {
    let dir = TestDir::new();
    let path = dir.path().join("suite.toml");
    std::fs::write(&path, b"name = \"ok\"\ndescription = \"caf\xe9\"\n").unwrap();
    let error = load_suite(&path).unwrap_err();
    let SuiteLoadError::Located(LocatedError {
        line,
        column,
        kind: LocatedKind::Parse { .. },
        ..
    }) = error
    else {
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
