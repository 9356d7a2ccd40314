//! Custom conventions end to end: a Python agent (the real OpenTelemetry SDK) whose spans follow
//! no mainstream convention, only its team's `acme.*` names and attributes, graded through
//! `[conventions]` in the suite and in `traceval.toml`; then read again by `traceval inspect
//! --conventions`.

use serde_json::Value;

use crate::support::{Run, TestProject, check, root, traceval_command};

/// The company's instrumentation library, for every suite: a catch-all rule that suites refine
/// (tried after theirs), and the attribute keys of model calls.
const PROJECT: &str = r#"
[[conventions.kind]]
kind = "step"
name-prefix = "acme."

[conventions.fields]
model = "acme.model"
provider = "acme.vendor"
input-tokens = "acme.tokens.in"
output-tokens = "acme.tokens.out"
cost = ["acme.cost_usd"]

[pricing."acme-large"]
input = 1.0
output = 5.0
"#;

/// The suite's own rules: which spans are the agent, its model calls and its tools.
const SUITE_CONVENTIONS: &str = r#"
[[conventions.kind]]
kind = "agent"
attr = { "acme.kind" = "agent" }

[[conventions.kind]]
kind = "llm"
name = "acme.llm.call"

[[conventions.kind]]
kind = "tool"
name-regex = '^acme\.fn/'

[conventions.fields]
agent-name = "acme.agent"
tool-name = "acme.fn"
tool-arguments = "acme.args"
tool-result = "acme.result"
"#;

const CASES: &str = r#"
[[case]]
id = "paris"
input = "Paris"
[case.expect]
output-contains = "sunny"
tools = [
  { name = "get_weather", args = { city = "Paris" } },
  { name = "get_forecast", args = { days = 2 } },
]
trajectory = "exact"
max-llm-calls = 2
max-cost = 0.01
[[case.expect.span]]
select = 'agent[name="weather-desk"] > tool[name="get_weather"]'
count = 1
[[case.expect.span]]
select = 'llm[model="acme-large"]'
count = 2
"#;

fn suite(conventions: &str) -> String {
    let agent = root().join("tests/agents/acme_agent.py");
    format!(
        "trials = 1\n[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n{conventions}{CASES}",
        agent.display()
    )
}

fn tool_names(metrics: &Value) -> Vec<&str> {
    metrics["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect()
}

/// `traceval inspect --json` of a file, with `flags`; the summaries of all its traces.
fn inspect(project: &TestProject, flags: &[&str], file: &str) -> Vec<Value> {
    let output = traceval_command(project.dir())
        .arg("inspect")
        .arg("--json")
        .args(flags)
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn sum(summaries: &[Value], key: &str) -> u64 {
    summaries.iter().map(|s| s[key].as_u64().unwrap()).sum()
}

fn saved_trace(run: &Run) -> String {
    let run_id = run.report()["run_id"].as_str().unwrap();
    let file = run.report()["trials"][0]["trace_file"].as_str().unwrap();
    format!("reports/{run_id}/traces/{file}")
}

#[test]
fn in_house_spans_are_graded_through_suite_and_project_conventions() {
    let p = TestProject::new("conventions");
    p.file("traceval.toml", PROJECT)
        .file("suites/weather.toml", &suite(SUITE_CONVENTIONS));
    let run = p.run(&[
        "--save-traces",
        "--html",
        "page.html",
        "--html-traces",
        "all",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The page reads the spans as grading did: kinds and names from the conventions.
    let page = std::fs::read_to_string(p.dir().join("page.html")).unwrap();
    for row in [
        "<details class=\"span k-agent\"",
        "<span class=\"name\">acme.llm.call</span>",
        "<span class=\"meta\">acme-large",
        "<span class=\"name\">acme.fn/get_forecast</span>",
    ] {
        assert!(page.contains(row), "{row}");
    }
    assert_eq!(page.matches("<details class=\"span k-llm\"").count(), 2);
    assert_eq!(page.matches("<details class=\"span k-tool\"").count(), 2);
    assert!(
        page.contains("⚙</span> tool get_forecast</span>"),
        "the shape diff names a tool by the convention's key"
    );

    let trial = run.trial("paris", 0);
    assert_eq!(trial["passed"], true, "{trial:#}");
    for name in ["tools", "trajectory", "max-llm-calls", "max-cost"] {
        assert_eq!(check(trial, name)["passed"], true, "{name}: {trial:#}");
    }
    let spans: Vec<&Value> = trial["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"].as_str().unwrap().starts_with("span"))
        .collect();
    assert_eq!(spans.len(), 2, "{trial:#}");
    assert!(spans.iter().all(|c| c["passed"] == true), "{spans:#?}");

    let m = &trial["metrics"];
    assert_eq!(tool_names(m), ["get_weather", "get_forecast"]);
    assert_eq!(
        m["tool_calls"][1]["args"],
        serde_json::json!({"city": "Paris", "days": 2})
    );
    // The project's keys, after the suite's rules made the spans LLM calls.
    assert_eq!(m["llm_calls"], 2);
    assert_eq!(
        (m["input_tokens"].as_u64(), m["output_tokens"].as_u64()),
        (Some(2700), Some(65))
    );
    // The first call priced by [pricing."acme-large"] (1200 × $1 + 40 × $5 per 1M tokens),
    // the second's recorded $0.002 taken as is.
    let cost = m["cost_usd"].as_f64().unwrap();
    assert!((cost - 0.0034).abs() < 1e-12, "{cost}");
    assert_eq!(m["unpriced"], false);

    // `inspect` reads the saved trace the same way when given the same conventions: the
    // suite's first, then the project's.
    let file = saved_trace(&run);
    let both = inspect(
        &p,
        &[
            "--conventions",
            "suites/weather.toml",
            "--conventions",
            "traceval.toml",
        ],
        &file,
    );
    assert_eq!(sum(&both, "llm_calls"), 2);
    assert_eq!(sum(&both, "input_tokens"), 2700);
    let names: Vec<&str> = both
        .iter()
        .flat_map(|s| s["tool_calls"].as_array().unwrap())
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["get_weather", "get_forecast"]);
    // The project's alone: its catch-all makes every acme span a step.
    let project_only = inspect(&p, &["--conventions", "traceval.toml"], &file);
    assert_eq!(sum(&project_only, "llm_calls"), 0);
    // The suite's alone: calls, but no tokens without the project's keys.
    let suite_only = inspect(&p, &["--conventions", "suites/weather.toml"], &file);
    assert_eq!(
        (
            sum(&suite_only, "llm_calls"),
            sum(&suite_only, "input_tokens")
        ),
        (2, 0)
    );
    let plain = inspect(&p, &[], &file);
    assert_eq!(sum(&plain, "llm_calls"), 0);
    assert!(
        plain
            .iter()
            .all(|s| s["tool_calls"] == serde_json::json!([]))
    );

    // A replay of the saved trace reads it through the same conventions: same verdict and
    // metrics, with no agent run.
    let live = p.dir().join("out/live.json");
    std::fs::copy(p.report_path(), &live).unwrap();
    let replay = p.run(&["--replay", live.to_str().unwrap()]);
    assert_eq!(replay.code, 0, "{}", replay.stderr);
    let again = replay.trial("paris", 0);
    assert_eq!(again["passed"], true, "{again:#}");
    assert_eq!(again["metrics"], trial["metrics"]);
    assert_eq!(again["checks"], trial["checks"]);
}

#[test]
fn without_conventions_the_same_spans_hold_no_tool_calls() {
    let p = TestProject::new("no-conventions");
    p.file("suites/weather.toml", &suite(""));
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let trial = run.trial("paris", 0);
    assert_eq!(trial["passed"], false);
    let m = &trial["metrics"];
    assert_eq!(m["span_count"].as_u64().map(|n| n > 5), Some(true), "{m}");
    assert_eq!(tool_names(m), Vec::<&str>::new());
    assert_eq!(
        (m["llm_calls"].as_u64(), m["input_tokens"].as_u64()),
        (Some(0), Some(0))
    );
    // The trajectory mode decides for the calls; the tools check still reports F1 0.
    assert_eq!(check(trial, "trajectory")["passed"], false, "{trial:#}");
    assert_eq!(check(trial, "tools")["score"], 0.0, "{trial:#}");
}

#[test]
fn inspect_reports_a_bad_conventions_file_at_its_key() {
    let p = TestProject::new("bad-conventions");
    p.file(
        "conventions.toml",
        "[[conventions.kind]]\nkind = \"tool\"\nname-regex = \"acme.(\"\n",
    )
    .file("plain.toml", "trials = 1\n");
    let fixture = root().join("tests/fixtures/oai_v2/weather.otlp.jsonl");
    let fixture = fixture.to_str().unwrap();
    let run = |file: &str| p.traceval(&["inspect", "--conventions", file, fixture]);
    let out = run("conventions.toml");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(
            "error: failed to load conventions\n  caused by: conventions.toml:3:14: `conventions.kind[0].name-regex` is not a valid regex\n"
        ),
        "{stderr}"
    );
    let out = run("plain.toml");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("`plain.toml` has no `[conventions]` table"),
        "{stderr}"
    );
}
