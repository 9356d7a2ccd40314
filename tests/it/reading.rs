//! How traceval reads a user's traces (issue 16, first contact): retries as Sema counts them,
//! the `tools` check under a trajectory mode and an argument mode, the Vercel AI SDK's agent
//! name and provider, the calls of one model turn as an unordered group, argument modes that
//! say their direction, and selectors that leave the trial root out.
//!
//! Every test runs the real binary on a temporary project whose agent is a Python program (the
//! real OpenTelemetry SDK, exporting OTLP to the embedded receiver) that emits the spans of a
//! JSON file per case, with explicit times, so overlaps and orders are what the test says.

use serde_json::{Value, json};

use crate::support::{Run, TestProject, check};

/// The agent: reads the case from stdin, emits the spans of `SPECS/<case>.json` (each with its
/// parent, times in ms from the start, attributes, links and error), prints `answer`.
const AGENT: &str = r#"
import json, os, sys, time
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, Status, StatusCode

case = json.loads(sys.stdin.read() or "{}")
with open(os.path.join(sys.argv[1], case["case"] + ".json")) as f:
    spec = json.load(f)
provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("reading")
t0 = time.time_ns()
made = {}
for s in spec["spans"]:
    parent = s.get("parent")
    ctx = trace.set_span_in_context(made[parent]) if parent else None
    links = [Link(made[l].get_span_context()) for l in s.get("links", [])]
    span = tracer.start_span(s["name"], context=ctx, attributes=s.get("attrs", {}), links=links,
                             start_time=t0 + int(s["start"] * 1e6))
    if s.get("error"):
        span.set_status(Status(StatusCode.ERROR, s["error"]))
    made[s["id"]] = span
for s in spec["spans"]:
    made[s["id"]].end(end_time=t0 + int(s["end"] * 1e6))
provider.shutdown()
print(spec.get("answer", "done"))
"#;

/// A project whose suite `suites/reading.toml` runs [`AGENT`] on `specs` (case id → spans),
/// with `body` (models, cases) after the agent table.
fn project(name: &str, specs: &[(&str, Value)], body: &str) -> TestProject {
    let p = TestProject::new(name);
    p.file("agent/spans.py", AGENT);
    for (case, spans) in specs {
        let spec = json!({ "spans": spans });
        p.file(&format!("agent/specs/{case}.json"), &spec.to_string());
    }
    let agent = p.path().join("agent");
    let suite = format!(
        "trials = 1\n[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\", \"{}\"]\n{body}",
        agent.join("spans.py").display(),
        agent.join("specs").display(),
    );
    p.file("suites/reading.toml", &suite);
    p
}

/// Runs `traceval run suites/reading.toml` from a directory inside the project that is not its
/// root, so nothing depends on the working directory.
fn run(p: &TestProject, args: &[&str]) -> Run {
    let elsewhere = p.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let suite = p.path().join("suites/reading.toml").display().to_string();
    p.run_from(&elsewhere, &[&[suite.as_str()], args].concat())
}

/// One span of a spec.
fn span(id: &str, parent: Option<&str>, name: &str, at: (f64, f64), attrs: Value) -> Value {
    json!({ "id": id, "parent": parent, "name": name, "start": at.0, "end": at.1, "attrs": attrs })
}

fn agent_span(end: f64) -> Value {
    span(
        "agent",
        None,
        "invoke_agent weather",
        (0.0, end),
        json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather"}),
    )
}

fn chat(id: &str, at: (f64, f64), extra: Value) -> Value {
    let mut attrs = json!({
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
    });
    attrs
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    span(id, Some("agent"), "chat gpt-4o", at, attrs)
}

fn tool(id: &str, name: &str, args: Value, at: (f64, f64), call_id: Option<&str>) -> Value {
    let mut attrs = json!({
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.arguments": args.to_string(),
    });
    if let Some(call_id) = call_id {
        attrs["gen_ai.tool.call.id"] = json!(call_id);
    }
    span(
        id,
        Some("agent"),
        &format!("execute_tool {name}"),
        at,
        attrs,
    )
}

// --- item 13: Sema's retries ----------------------------------------------------------------

#[test]
fn each_sema_retry_attempt_span_is_one_retry() {
    let retry =
        |id: &str, parent: &str, at| span(id, Some(parent), "llm.retry_attempt", at, json!({}));
    let specs = [
        (
            "one-retry",
            json!([
                agent_span(20.0),
                chat("c", (1.0, 10.0), json!({})),
                retry("r1", "c", (5.0, 9.0))
            ]),
        ),
        (
            "two-retries",
            json!([
                agent_span(20.0),
                chat("c", (1.0, 10.0), json!({})),
                retry("r1", "c", (3.0, 5.0)),
                retry("r2", "c", (6.0, 9.0)),
            ]),
        ),
        (
            "no-retry",
            json!([agent_span(20.0), chat("c", (1.0, 10.0), json!({}))]),
        ),
    ];
    let cases = "[[case]]\nid = \"one-retry\"\ninput = \"x\"\n\
                 [[case]]\nid = \"two-retries\"\ninput = \"x\"\n\
                 [[case]]\nid = \"no-retry\"\ninput = \"x\"\n";
    let p = project("sema-retries", &specs, cases);
    let run = run(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (case, retries) in [("one-retry", 1), ("two-retries", 2), ("no-retry", 0)] {
        let m = &run.trial(case, 0)["metrics"];
        assert_eq!(m["retries"], retries, "{case}: {m:#}");
        assert_eq!(m["llm_calls"], 1, "{case}: an attempt is not a call");
    }
}

#[test]
fn the_builtin_agent_emits_one_retry_attempt_span_per_retry() {
    let p = TestProject::new("builtin-retries");
    p.file(
        "suites/scripts/flaky.toml",
        "model = \"flaky-1\"\n\
         [[rule]]\nwhen.turn = 0\ntext = \"sunny\"\n\
         fail = { status = 429, times = 1, retry-after = \"1ms\" }\n\
         usage = { input = 10, output = 2 }\n",
    );
    p.file(
        "suites/weather.toml",
        "trials = 1\nmodels = [\"flaky\"]\n\
         [agent]\nkind = \"builtin\"\nname = \"weather\"\n\
         [model.flaky]\nprovider = \"scripted\"\nscript = \"scripts/flaky.toml\"\n\
         [[case]]\nid = \"once\"\ninput = \"weather?\"\n\
         [case.expect]\nsnapshot = true\n\
         [[case.expect.span]]\nselect = \"llm > retry\"\ncount = 1\n\
         [[case.expect.span]]\nselect = \"retry\"\ncount = 1\n",
    );
    let run = p.run(&["suites/weather.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = run.trial("once", 0);
    assert_eq!(t["passed"], true, "{t:#}");
    assert_eq!(t["metrics"]["retries"], 1, "{t:#}");
    assert_eq!(t["metrics"]["llm_calls"], 1, "{t:#}");
    // The snapshot folds the retry away: one chat line, no retry line.
    let snap = std::fs::read_to_string(p.path().join("suites/snapshots/weather__once@flaky.snap"))
        .unwrap();
    assert!(snap.contains("[llm]"), "{snap}");
    assert!(!snap.contains("retry"), "{snap}");
}

// --- item 14: a trajectory mode decides the tools check -------------------------------------

#[test]
fn a_trajectory_mode_decides_the_tools_check_and_its_argument_mode_applies() {
    let calls = json!([
        agent_span(40.0),
        chat("c1", (1.0, 5.0), json!({})),
        tool("t1", "search", json!({"q": "rust"}), (6.0, 7.0), None),
        tool("t2", "read_file", json!({"path": "a.md"}), (8.0, 9.0), None),
        chat("c2", (10.0, 15.0), json!({})),
    ]);
    let ids = [
        "superset",
        "in-order",
        "subset-mode",
        "explicit-f1",
        "ignore",
        "override",
        "no-trajectory",
    ];
    let specs: Vec<(&str, Value)> = ids.iter().map(|id| (*id, calls.clone())).collect();
    let cases = r#"
[[case]]
id = "superset"
input = "x"
[case.expect]
tools = [{ name = "search", args = { q = "rust" } }]
trajectory = "superset"

[[case]]
id = "in-order"
input = "x"
[case.expect]
tools = [{ name = "search" }]
trajectory = "in-order"

[[case]]
id = "subset-mode"
input = "x"
[case.expect]
tools = [{ name = "search" }, { name = "read_file" }, { name = "answer" }]
trajectory = "subset"

[[case]]
id = "explicit-f1"
input = "x"
[case.expect]
tools = [{ name = "search" }]
trajectory = "superset"
min-tool-f1 = 1.0

[[case]]
id = "ignore"
input = "x"
[case.expect]
tools = [{ name = "search", args = { q = "go" } }, { name = "read_file", args = { path = "b.md" } }]
trajectory = { mode = "exact", args = "ignore" }

[[case]]
id = "override"
input = "x"
[case.expect]
tools = [{ name = "search", args = { q = "go" } }, { name = "read_file", args = { path = "a.md" } }]
trajectory = { mode = "exact", args = "exact", tool-args = { search = "ignore" } }

[[case]]
id = "no-trajectory"
input = "x"
[case.expect]
tools = [{ name = "search" }]
"#;
    let p = project("trajectory-tools", &specs, cases);
    let run = run(&p, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for case in ["superset", "in-order", "subset-mode", "ignore", "override"] {
        let t = run.trial(case, 0);
        assert_eq!(t["passed"], true, "{case}: {t:#}");
        assert_eq!(check(t, "trajectory")["passed"], true, "{case}");
    }
    // The score is still reported, and says who decided.
    let superset = check(run.trial("superset", 0), "tools");
    assert_eq!(superset["score"], 2.0 / 3.0);
    let message = superset["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "tool F1 0.67 (precision 0.50, recall 1.00); the superset trajectory decides"
        ),
        "{message}"
    );
    assert_eq!(run.trial("superset", 0)["metrics"]["tool_f1"], 2.0 / 3.0);
    // Arguments ignored by the case are ignored by the tools check too.
    assert_eq!(check(run.trial("ignore", 0), "tools")["score"], 1.0);
    assert_eq!(check(run.trial("override", 0), "tools")["score"], 1.0);
    // An explicit min-tool-f1 still applies, and without a trajectory F1 decides as before.
    for case in ["explicit-f1", "no-trajectory"] {
        let c = check(run.trial(case, 0), "tools");
        assert_eq!(c["passed"], false, "{case}: {c:#}");
        assert_eq!(
            c["message"],
            "tool F1 0.67 (precision 0.50, recall 1.00), needs 1.00; unexpected read_file({\"path\":\"a.md\"})"
        );
    }
}

// --- item 17: the Vercel AI SDK -------------------------------------------------------------

#[test]
fn a_vercel_ai_sdk_agent_is_named_by_its_function_id_and_its_provider_is_read_bare() {
    let vercel = |id: &str, parent: Option<&str>, name: &str, at, extra: Value| {
        let mut attrs = json!({
            "operation.name": format!("{name} weather-agent"),
            "ai.operationId": name,
            "ai.telemetry.functionId": "weather-agent",
            "resource.name": "weather-agent",
            "ai.model.id": "gpt-4o-mini",
        });
        attrs
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        span(id, parent, name, at, attrs)
    };
    let spans = json!([
        vercel(
            "gen",
            None,
            "ai.generateText",
            (0.0, 30.0),
            json!({"ai.model.provider": "openai.chat"})
        ),
        vercel(
            "d1",
            Some("gen"),
            "ai.generateText.doGenerate",
            (1.0, 10.0),
            json!({
                "ai.model.provider": "openai.chat",
                "gen_ai.system": "openai.chat",
                "gen_ai.request.model": "gpt-4o-mini",
                "ai.usage.promptTokens": 20,
                "ai.usage.completionTokens": 5,
            }),
        ),
        vercel(
            "tc",
            Some("gen"),
            "ai.toolCall",
            (11.0, 12.0),
            json!({
                "ai.toolCall.name": "get_weather",
                "ai.toolCall.id": "call_1",
                "ai.toolCall.args": "{\"city\":\"SF\"}",
            }),
        ),
        vercel(
            "d2",
            Some("gen"),
            "ai.generateText.doGenerate",
            (13.0, 29.0),
            json!({
                "ai.model.provider": "openai.responses",
                "gen_ai.system": "openai.responses",
                "gen_ai.request.model": "gpt-4o-mini",
            }),
        ),
    ]);
    let cases = r#"
[[case]]
id = "vercel"
input = "weather in SF?"
[case.expect]
snapshot = true
snapshot-attrs = ["tool", "provider"]
tools = [{ name = "get_weather", args = { city = "SF" } }]
[[case.expect.span]]
select = 'agent[name="weather-agent"] > tool[name="get_weather"]'
count = 1
[[case.expect.span]]
select = 'agent[name="weather-agent"] > llm'
count = 2
"#;
    let p = project("vercel", &[("vercel", spans)], cases);
    let run = p.run(&["suites/reading.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let snap = std::fs::read_to_string(
        p.path()
            .join("suites/snapshots/reading__vercel@default.snap"),
    )
    .unwrap();
    let body: Vec<&str> = snap.splitn(3, "---\n").nth(2).unwrap().lines().collect();
    assert_eq!(
        body,
        [
            "ai.generateText [agent] provider=openai",
            "  ai.generateText.doGenerate [llm] provider=openai",
            "  ai.toolCall [tool] tool=get_weather",
            "  ai.generateText.doGenerate [llm] provider=openai",
        ],
        "{snap}"
    );
}

// --- item 28: the calls of one model turn are unordered -------------------------------------

#[test]
fn calls_of_one_model_turn_are_unordered_for_exact_and_in_order() {
    let weather =
        |id, city: &str, at, call_id| tool(id, "get_weather", json!({"city": city}), at, call_id);
    let asks = |ids: &[&str]| {
        let parts: Vec<Value> = ids
            .iter()
            .map(|id| json!({"type": "tool_call", "id": id, "name": "get_weather"}))
            .collect();
        json!({"gen_ai.output.messages": json!([{"role": "assistant", "parts": parts}]).to_string()})
    };
    let mut linked_london = weather("l", "London", (11.0, 12.0), None);
    linked_london["links"] = json!(["c1"]);
    let mut linked_sf = weather("s", "SF", (13.0, 14.0), None);
    linked_sf["links"] = json!(["c1"]);
    let specs = [
        // London starts first, but both run at once: scheduling noise.
        (
            "overlapping",
            json!([
                agent_span(40.0),
                chat("c1", (1.0, 10.0), json!({})),
                weather("l", "London", (11.0, 20.0), None),
                weather("s", "SF", (12.0, 19.0), None),
                chat("c2", (21.0, 30.0), json!({})),
            ]),
        ),
        // One after the other, but both asked for by the first response (by call id).
        (
            "same-response",
            json!([
                agent_span(40.0),
                chat("c1", (1.0, 10.0), asks(&["call_sf", "call_ldn"])),
                weather("l", "London", (11.0, 12.0), Some("call_ldn")),
                weather("s", "SF", (13.0, 14.0), Some("call_sf")),
                chat("c2", (21.0, 30.0), json!({})),
            ]),
        ),
        // One after the other, each linked to the response that asked for it.
        (
            "linked",
            json!([
                agent_span(40.0),
                chat("c1", (1.0, 10.0), json!({})),
                linked_london,
                linked_sf,
                chat("c2", (21.0, 30.0), json!({})),
            ]),
        ),
        // Two responses, one call each: the order is the agent's, and it is wrong.
        (
            "fails-two-turns",
            json!([
                agent_span(40.0),
                chat("c1", (1.0, 5.0), asks(&["call_ldn"])),
                weather("l", "London", (6.0, 7.0), Some("call_ldn")),
                chat("c2", (8.0, 12.0), asks(&["call_sf"])),
                weather("s", "SF", (13.0, 14.0), Some("call_sf")),
                chat("c3", (21.0, 30.0), json!({})),
            ]),
        ),
        // Sequential calls with nothing saying which response asked: two turns.
        (
            "fails-sequential",
            json!([
                agent_span(40.0),
                chat("c1", (1.0, 10.0), json!({})),
                weather("l", "London", (11.0, 12.0), None),
                weather("s", "SF", (13.0, 14.0), None),
                chat("c2", (21.0, 30.0), json!({})),
            ]),
        ),
    ];
    let mut cases = String::new();
    for (id, _) in &specs {
        for mode in ["exact", "in-order"] {
            cases.push_str(&format!(
                "[[case]]\nid = \"{id}-{mode}\"\ninput = \"x\"\n[case.expect]\n\
                 tools = [{{ name = \"get_weather\", args = {{ city = \"SF\" }} }}, \
                 {{ name = \"get_weather\", args = {{ city = \"London\" }} }}]\n\
                 trajectory = \"{mode}\"\n"
            ));
        }
    }
    let specs: Vec<(String, Value)> = specs
        .iter()
        .flat_map(|(id, s)| ["exact", "in-order"].map(|m| (format!("{id}-{m}"), s.clone())))
        .collect();
    let specs: Vec<(&str, Value)> = specs
        .iter()
        .map(|(id, s)| (id.as_str(), s.clone()))
        .collect();
    let p = project("parallel", &specs, &cases);
    let run = run(&p, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for (id, _) in &specs {
        let t = run.trial(id, 0);
        let c = check(t, "trajectory");
        assert_eq!(c["passed"], !id.starts_with("fails-"), "{id}: {c:#}");
    }
    let c = check(run.trial("overlapping-exact", 0), "trajectory");
    assert_eq!(
        c["message"],
        "exact trajectory holds (score 1.00): expected [get_weather → get_weather], \
         got [get_weather ‖ get_weather]"
    );
    let c = check(run.trial("fails-two-turns-exact", 0), "trajectory");
    assert_eq!(
        c["message"],
        "exact trajectory does not hold (score 0.50): expected [get_weather → get_weather], \
         got [get_weather → get_weather]; the calls are there, the order differs"
    );
}

// --- item 29: argument modes say their direction --------------------------------------------

#[test]
fn argument_modes_name_their_direction_and_within_is_the_other_one() {
    let read = json!([
        agent_span(20.0),
        chat("c1", (1.0, 5.0), json!({})),
        tool("t", "read", json!({"id": 1, "page": 2}), (6.0, 7.0), None),
    ]);
    let ids = [
        "within",
        "fails-within",
        "contains",
        "fails-contains",
        "legacy-subset",
        "fails-exact",
    ];
    let specs: Vec<(&str, Value)> = ids.iter().map(|id| (*id, read.clone())).collect();
    let case = |id: &str, mode: &str, args: &str| {
        format!(
            "[[case]]\nid = \"{id}\"\ninput = \"x\"\n[case.expect]\n\
             tools = [{{ name = \"read\", args = {args} }}]\n\
             trajectory = {{ mode = \"exact\", args = \"{mode}\" }}\n"
        )
    };
    let cases = [
        case("within", "within", "{ id = 1, page = 2, lines = 10 }"),
        case("fails-within", "within", "{ id = 1 }"),
        case("contains", "contains", "{ id = 1 }"),
        case(
            "fails-contains",
            "contains",
            "{ id = 1, page = 2, lines = 10 }",
        ),
        case("legacy-subset", "subset", "{ id = 1 }"),
        case("fails-exact", "exact", "{ id = 1 }"),
    ]
    .concat();
    let p = project("arg-modes", &specs, &cases);
    let run = run(&p, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for id in ids {
        let t = run.trial(id, 0);
        assert_eq!(t["passed"], !id.starts_with("fails-"), "{id}: {t:#}");
    }
    let why = |id: &str| {
        let c = check(run.trial(id, 0), "trajectory");
        let m = c["message"].as_str().unwrap().to_owned();
        m.split("; ").skip(1).collect::<Vec<_>>().join("; ")
    };
    assert_eq!(
        why("fails-within"),
        "no call matches read({\"id\":1}) with at most these arguments; \
         not expected: read({\"id\":1,\"page\":2})"
    );
    assert_eq!(
        why("fails-contains"),
        "no call matches read({\"id\":1,\"lines\":10,\"page\":2}) with at least these arguments; \
         not expected: read({\"id\":1,\"page\":2})"
    );
    assert_eq!(
        why("fails-exact"),
        "no call matches read({\"id\":1}) with exactly these arguments; \
         not expected: read({\"id\":1,\"page\":2})"
    );
    // The tools check reads the same mode and says it too.
    let c = check(run.trial("fails-within", 0), "tools");
    assert_eq!(
        c["message"],
        "tool F1 0.00 (precision 0.00, recall 0.00); the exact trajectory decides; \
         missing read({\"id\":1}) with at most these arguments; unexpected read({\"id\":1,\"page\":2})"
    );

    // A mode that names no direction gets a hint with the mapping.
    p.file(
        "suites/reading.toml",
        &std::fs::read_to_string(p.path().join("suites/reading.toml"))
            .unwrap()
            .replace("args = \"within\"", "args = \"superset\""),
    );
    let bad = run_plain(&p);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr.contains(
            "must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of `contains`), found `superset`"
        ),
        "{}",
        bad.stderr
    );
    assert!(
        bad.stderr
            .contains("hint: agentevals' `superset` is traceval's `contains`"),
        "{}",
        bad.stderr
    );
}

fn run_plain(p: &TestProject) -> Run {
    run(p, &[])
}

// --- item 30: selectors leave the trial root out --------------------------------------------

#[test]
fn a_selector_of_negative_predicates_leaves_the_trial_root_out() {
    let plain = |id: &str, parent: Option<&str>, at| span(id, parent, id, at, json!({}));
    let spans = json!([
        plain("root", None, (0.0, 10.0)),
        plain("child1", Some("root"), (1.0, 2.0)),
        plain("child2", Some("root"), (3.0, 4.0)),
    ]);
    let cases = r#"
[[case]]
id = "negative"
input = "x"
[[case.expect.span]]
select = 'span[name!="child1"]'
count = 2
[[case.expect.span]]
select = "span"
count = 3
[[case.expect.span]]
select = 'other[name!="root"][status!="error"]'
count = 2
[[case.expect.span]]
select = 'span[name="eval.trial"]'
count = 1
[[case.expect.span]]
select = 'span[name~="^eval\\."] > span[name!="child1"]'
count = 1
"#;
    let p = project("negative", &[("negative", spans)], cases);
    let run = run(&p, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.trial("negative", 0)["passed"], true);
}
