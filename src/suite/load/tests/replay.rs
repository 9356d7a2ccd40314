//! Replay suites: each case's recorded `trace` and `output`.

use super::*;

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

/// Suites that must not load: replay.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
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
    ]
}
