//! LLM judges end to end: the real binary, a builtin or command agent, and a scripted judge
//! model (the real scripted provider, retry policy and OpenTelemetry SDK), or the OpenAI
//! provider against the scripted model's HTTP face. The judge script picks its behaviour from
//! keywords in the rubric, which the judge's prompt carries.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::support::{ModelServer, Run, TestProject, check};

/// The agent's model: searches, then answers right (`right` in the input) or wrong.
const AGENT_SCRIPT: &str = r#"
model = "agent-1"
[[rule]]
when.turn = 0
tool-calls = [{ name = "search", args = { query = "${user}" } }]
usage = { input = 100, output = 12 }
[[rule]]
when.user = 'right'
text = "Rust 1.0 was released on May 15, 2015."
usage = { input = 150, output = 12 }
[fallback]
text = "Rust 1.0 came out in 2014."
usage = { input = 150, output = 12 }
"#;

/// The judge's model. Rubric keywords select a misbehaviour; otherwise it grades the year.
const JUDGE_SCRIPT: &str = r#"
model = "judge-1"
[[rule]]
when.user = 'RUBRIC-GARBLED'
text = "Looks fine to me!"
usage = { input = 300, output = 5 }
[[rule]]
when.user = 'RUBRIC-DOWN'
text = "never seen"
fail = { status = 500, times = 99, retry-after = "1ms", message = "judge overloaded" }
[[rule]]
when.user = 'RUBRIC-SLOW'
text = '{"score": 1}'
latency = "20s"
[[rule]]
when.user = 'RUBRIC-COIN'
usage = { input = 300, output = 20 }
[[rule.variant]]
text = '{"score": 0.8, "explanation": "heads"}'
[[rule.variant]]
text = '{"score": 0.2, "explanation": "tails"}'
[[rule]]
when.user = '(?s)## Final answer\n[^\n]*2015'
text = '{"score": 0.9, "explanation": "States 2015, the right year."}'
usage = { input = 300, output = 20 }
[fallback]
text = 'My verdict: {"score": 0.1, "explanation": "Says 2014;\nthe right year is 2015."}'
usage = { input = 300, output = 20 }
"#;

/// A builtin-agent suite with the `agent` and `judge` models, priced; `cases` follows.
fn suite(cases: &str) -> String {
    format!(
        r#"models = ["agent"]
[agent]
kind = "builtin"
[[tool]]
name = "search"
returns = "Rust 1.0: May 15, 2015"
[model.agent]
provider = "scripted"
script = "scripts/agent.toml"
[model.judge]
provider = "scripted"
script = "scripts/judge.toml"
[pricing."agent-1"]
input = 3.0
output = 4.0
[pricing."judge-1"]
input = 1.0
output = 2.0
{cases}"#
    )
}

fn project(name: &str, cases: &str) -> TestProject {
    let p = TestProject::new(name);
    p.file("suites/scripts/agent.toml", AGENT_SCRIPT);
    p.file("suites/scripts/judge.toml", JUDGE_SCRIPT);
    p.file("suites/j.toml", &suite(cases));
    p
}

fn judge_record<'a>(trial: &'a Value, name: &str) -> &'a Value {
    trial["judges"]
        .as_array()
        .unwrap_or_else(|| panic!("no judges in {trial:#}"))
        .iter()
        .find(|j| j["name"] == name)
        .unwrap_or_else(|| panic!("no judge {name} in {trial:#}"))
}

const YEAR: &str = "rubric = \"Gives the right year, 2015.\"";

#[test]
fn a_judge_passes_a_right_answer_and_fails_a_wrong_one_with_its_explanation() {
    let cases = format!(
        "[[case]]\nid = \"right\"\ninput = \"right: when was Rust 1.0 released?\"\n\
         [[case.expect.judge]]\nmodel = \"judge\"\n{YEAR}\n\
         [[case]]\nid = \"wrong\"\ninput = \"when was Rust 1.0 released?\"\n\
         [[case.expect.judge]]\nmodel = \"judge\"\n{YEAR}\n"
    );
    let p = project("judge-basic", &cases);
    let run = p.run(&["--seed", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    let right = run.trial("right", 0);
    assert_eq!(right["passed"], true, "{right:#}");
    let c = check(right, "judge");
    assert_eq!(c["passed"], true);
    assert_eq!(c["score"], 0.9);
    assert_eq!(
        c["message"],
        "score 0.90 (threshold 0.50) from `judge`: States 2015, the right year."
    );

    let wrong = run.trial("wrong", 0);
    assert_eq!(wrong["passed"], false);
    let c = check(wrong, "judge");
    assert_eq!(c["passed"], false);
    assert_eq!(c["score"], 0.1);
    // The explanation is the judge's, escaped: it can hold anything.
    let message = "score 0.10 (threshold 0.50) from `judge`: Says 2014;\\nthe right year is 2015.";
    assert_eq!(c["message"], message);
    assert!(
        run.stderr.contains(&format!("  ✗ judge: {message}\n")),
        "{}",
        run.stderr
    );
    // The judge's own record: one sample, one call, its own tokens and cost.
    let record = judge_record(wrong, "judge");
    assert_eq!(record["model"], "judge");
    assert_eq!(
        record["samples"],
        json!([{"passed": false, "score": 0.1, "explanation": "Says 2014;\\nthe right year is 2015.", "error": null}])
    );
    assert_eq!(record["llm_calls"], 1);
    assert_eq!(record["input_tokens"], 300);
    assert_eq!(record["output_tokens"], 20);
    let cost = record["cost_usd"].as_f64().unwrap();
    assert!(
        (cost - (300.0 * 1.0 + 20.0 * 2.0) / 1e6).abs() < 1e-12,
        "{cost}"
    );
    assert_ne!(record["trace_id"], wrong["trace_id"]);
    // The other checks ran as usual, the judge's last.
    let names: Vec<&str> = wrong["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["exit-code", "judge"]);
}

#[test]
fn the_threshold_decides_each_sample() {
    let cases = format!(
        "[[case]]\nid = \"right\"\ninput = \"right: when?\"\n\
         [[case.expect.judge]]\nname = \"at-threshold\"\nmodel = \"judge\"\n{YEAR}\nthreshold = 0.9\n\
         [[case.expect.judge]]\nname = \"above-threshold\"\nmodel = \"judge\"\n{YEAR}\nthreshold = 0.95\n\
         [[case.expect.judge]]\nname = \"default\"\nmodel = \"judge\"\n{YEAR}\n"
    );
    let p = project("judge-threshold", &cases);
    let run = p.run(&["--seed", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = run.trial("right", 0);
    assert_eq!(
        check(t, "at-threshold")["passed"],
        true,
        "a score equal to it passes"
    );
    let above = check(t, "above-threshold");
    assert_eq!(above["passed"], false);
    assert_eq!(
        above["message"],
        "score 0.90 (threshold 0.95) from `judge`: States 2015, the right year."
    );
    assert_eq!(check(t, "default")["passed"], true);
    assert_eq!(t["judges"].as_array().unwrap().len(), 3);
    assert!(
        run.stderr
            .contains("✗ above-threshold: score 0.90 (threshold 0.95)"),
        "{}",
        run.stderr
    );
}

/// Each trial's judge votes: (votes, samples, passed, score, message).
fn votes(run: &Run) -> Vec<(u64, usize, bool, f64, String)> {
    let mut out = Vec::new();
    for trial in run.report()["trials"].as_array().unwrap() {
        let c = check(trial, "judge");
        let samples = judge_record(trial, "judge")["samples"].as_array().unwrap();
        let votes = samples.iter().filter(|s| s["passed"] == true).count() as u64;
        let scores: Vec<f64> = samples
            .iter()
            .map(|s| s["score"].as_f64().unwrap())
            .collect();
        // A sample passes on its own score; the check's score is their mean.
        for s in samples {
            assert_eq!(s["passed"], s["score"].as_f64().unwrap() >= 0.5, "{s}");
        }
        let mean = scores.iter().sum::<f64>() / scores.len() as f64;
        assert!((c["score"].as_f64().unwrap() - mean).abs() < 1e-12, "{c}");
        out.push((
            votes,
            samples.len(),
            c["passed"].as_bool().unwrap(),
            mean,
            c["message"].as_str().unwrap().to_owned(),
        ));
    }
    out
}

#[test]
fn samples_vote_with_seeded_variants_and_the_majority_decides() {
    let cases = "[[case]]\nid = \"coin\"\ninput = \"right: when?\"\n\
                 [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"RUBRIC-COIN\"\nsamples = 3\n";
    let p = project("judge-vote", cases);
    let run = p.run(&["--seed", "7", "-k", "8", "--save-traces"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let first = votes(&run);
    assert_eq!(first.len(), 8);
    for (votes, n, passed, mean, message) in &first {
        assert_eq!(*n, 3);
        assert_eq!(*passed, *votes >= 2, "a majority of 3 is 2: {message}");
        let expected = format!(
            "{votes}/3 samples passed{}, mean score {mean:.2} (threshold 0.50) from `judge`: {}",
            if *passed { "" } else { " (2 needed)" },
            if *passed { "heads" } else { "tails" }
        );
        assert_eq!(message, &expected);
    }
    // Samples differ within a trial: some vote is split.
    assert!(
        first.iter().any(|(v, ..)| *v == 1 || *v == 2),
        "no split vote in {first:?}"
    );
    let passed: BTreeSet<bool> = first.iter().map(|v| v.2).collect();
    assert_eq!(
        passed.len(),
        2,
        "both verdicts occur over 8 trials: {first:?}"
    );
    // Seeded: the same seed gives the same votes.
    let again = p.run(&["--seed", "7", "-k", "8"]);
    assert_eq!(votes(&again), first);
    // Several samples run at the provider's temperature (one runs at 0: see the OpenAI
    // judge test), each a `chat` span of the judge's trace.
    let trial = run.trial("coin", 0);
    let trace = std::fs::read_to_string(
        saved_traces_dir(&p, &run).join(trial["judge_trace_file"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(trace.matches("\"chat judge\"").count(), 3);
    assert!(!trace.contains("gen_ai.request.temperature"), "{trace}");
}

#[test]
fn an_unparseable_verdict_fails_the_check_and_quotes_the_answer() {
    let cases = "[[case]]\nid = \"right\"\ninput = \"right: when?\"\n\
                 [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"RUBRIC-GARBLED\"\n";
    let p = project("judge-garbled", cases);
    let run = p.run(&["--seed", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = run.trial("right", 0);
    let c = check(t, "judge");
    assert_eq!(c["passed"], false);
    assert!(c.get("score").is_none(), "no verdict, no score: {c}");
    assert_eq!(
        c["message"],
        "judge `judge` gave no verdict: unparseable verdict: no JSON object in the answer \"Looks fine to me!\""
    );
    let sample = &judge_record(t, "judge")["samples"][0];
    assert_eq!(sample["passed"], false);
    assert!(sample["error"].as_str().unwrap().contains("unparseable"));
    // The judge was called and paid for all the same.
    assert_eq!(judge_record(t, "judge")["output_tokens"], 5);
}

#[test]
fn a_failing_or_slow_judge_model_fails_its_check_and_the_run_goes_on() {
    let cases = "[[case]]\nid = \"down\"\ninput = \"right: when?\"\n\
                 [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"RUBRIC-DOWN\"\n\
                 [[case]]\nid = \"slow\"\ninput = \"right: when?\"\ntimeout = \"500ms\"\n\
                 [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"RUBRIC-SLOW\"\n\
                 [[case]]\nid = \"unjudged\"\ninput = \"right: when?\"\n";
    let p = project("judge-down", cases);
    let run = p.run(&["--seed", "1", "--save-traces"]);
    // A failed trial, not a configuration or infrastructure error.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.report()["trials"].as_array().unwrap().len(), 3);
    assert_eq!(run.trial("unjudged", 0)["passed"], true);

    let down = run.trial("down", 0);
    assert_eq!(down["error"], Value::Null, "the agent ran fine");
    let c = check(down, "judge");
    assert_eq!(c["passed"], false);
    assert_eq!(
        c["message"],
        "judge `judge` gave no verdict: the model call failed after 4 attempt(s): HTTP 500: judge overloaded"
    );
    // The retries are in the judge's own saved trace, which is not the trial's.
    let judge_file = down["judge_trace_file"].as_str().unwrap();
    assert_ne!(Some(judge_file), down["trace_file"].as_str());
    let traces = saved_traces_dir(&p, &run);
    let judge_trace = std::fs::read_to_string(traces.join(judge_file)).unwrap();
    // Four attempts: the call and three retries, one `llm.retry_attempt` each.
    assert_eq!(judge_trace.matches("\"llm.retry_attempt\"").count(), 3);
    assert!(judge_trace.contains("\"eval.judge\""));
    let trial_trace =
        std::fs::read_to_string(traces.join(down["trace_file"].as_str().unwrap())).unwrap();
    assert!(!trial_trace.contains("eval.judge"));
    assert!(!trial_trace.contains("judge overloaded"));

    let slow = run.trial("slow", 0);
    let c = check(slow, "judge");
    assert_eq!(c["passed"], false);
    assert_eq!(
        c["message"],
        "judge `judge` gave no verdict: timed out after 500ms"
    );
}

/// `reports/<run-id>/traces` of a run with `--save-traces`.
fn saved_traces_dir(p: &TestProject, run: &Run) -> std::path::PathBuf {
    p.dir()
        .join("reports")
        .join(run.report()["run_id"].as_str().unwrap())
        .join("traces")
}

#[test]
fn judge_calls_never_count_in_the_agents_metrics() {
    let case = "[[case]]\nid = \"right\"\ninput = \"right: when?\"\n";
    let judged = format!(
        "{case}[[case.expect.judge]]\nmodel = \"judge\"\n{YEAR}\nsamples = 3\n\
         [[case.expect.judge]]\nname = \"second\"\nmodel = \"judge\"\n{YEAR}\n"
    );
    let with = project("judge-metrics-with", &judged).run(&["--seed", "3", "-k", "2"]);
    let without = project("judge-metrics-without", case).run(&["--seed", "3", "-k", "2"]);
    assert_eq!(with.code, 0, "{}", with.stderr);
    assert_eq!(without.code, 0, "{}", without.stderr);
    for trial in 0..2 {
        let (a, b) = (with.trial("right", trial), without.trial("right", trial));
        for key in [
            "llm_calls",
            "input_tokens",
            "output_tokens",
            "cost_usd",
            "span_count",
            "retries",
            "error_spans",
            "tool_calls",
        ] {
            assert_eq!(a["metrics"][key], b["metrics"][key], "{key}");
        }
        assert_eq!(
            a["metrics"]["llm_durations_ns"].as_array().unwrap().len(),
            b["metrics"]["llm_durations_ns"].as_array().unwrap().len()
        );
        // The agent's exact numbers: two calls, 100+150 in, 12+12 out.
        assert_eq!(a["metrics"]["llm_calls"], 2);
        assert_eq!(a["metrics"]["input_tokens"], 250);
        assert_eq!(a["metrics"]["output_tokens"], 24);
        // The judges did call: 3 + 1 calls of 300 tokens in, reported apart.
        let judges = a["judges"].as_array().unwrap();
        let calls: u64 = judges
            .iter()
            .map(|j| j["llm_calls"].as_u64().unwrap())
            .sum();
        let tokens: u64 = judges
            .iter()
            .map(|j| j["input_tokens"].as_u64().unwrap())
            .sum();
        assert_eq!((calls, tokens), (4, 1200));
        assert!(b.get("judges").is_none());
    }
    // Per-model aggregates too.
    for key in ["input_tokens", "output_tokens", "cost_usd", "llm_calls"] {
        assert_eq!(
            with.report()["models"][0][key],
            without.report()["models"][0][key],
            "{key}"
        );
    }
    // No judge span is left unattributed.
    assert!(!with.stderr.contains("match no trial"), "{}", with.stderr);
}

#[test]
fn a_command_agent_is_judged_inside_traceval() {
    let p = TestProject::new("judge-command");
    p.file("suites/scripts/judge.toml", JUDGE_SCRIPT);
    p.file(
        "suites/c.toml",
        &format!(
            r#"[agent]
kind = "command"
command = ["sh", "-c", "cat >/dev/null; echo 'Rust 1.0 shipped in 2015.'"]
[model.judge]
provider = "scripted"
script = "scripts/judge.toml"
[[case]]
id = "shell"
input = "When was Rust 1.0 released?"
[[case.expect.judge]]
model = "judge"
{YEAR}
"#
        ),
    );
    let run = p.run(&["--seed", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = run.trial("shell", 0);
    assert_eq!(check(t, "judge")["score"], 0.9);
    assert_eq!(t["metrics"]["llm_calls"], 0, "the agent made no LLM call");
    assert_eq!(judge_record(t, "judge")["llm_calls"], 1);
    // The judge's calls are not the agent's, so the agent still gets the no-spans warning.
    assert!(
        t["warnings"][0].as_str().unwrap().contains("sent no spans"),
        "{t:#}"
    );
}

#[test]
fn a_judge_with_an_undefined_model_or_missing_key_is_a_configuration_error() {
    let p = project(
        "judge-config",
        "[[case]]\nid = \"a\"\ninput = \"x\"\n[[case.expect.judge]]\nmodel = \"jugde\"\nrubric = \"r\"\n",
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("suites/j.toml:23:9: invalid `case[0].expect.judge[0].model`: model `jugde` is not defined"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("hint: did you mean `judge`?"),
        "{}",
        run.stderr
    );
    assert!(run.report.is_none());

    let p = TestProject::new("judge-key");
    p.file(
        "suites/k.toml",
        "[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[model.gpt]\nprovider = \"openai\"\n\
         api-key-env = \"TV_JUDGE_TEST_UNSET_KEY\"\n[[case]]\nid = \"a\"\ninput = \"x\"\n\
         [[case.expect.judge]]\nmodel = \"gpt\"\nrubric = \"r\"\n",
    );
    let output = p
        .command(&[])
        .env_remove("TV_JUDGE_TEST_UNSET_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("judge model `gpt` of suite `k`"),
        "{stderr}"
    );
    assert!(stderr.contains("TV_JUDGE_TEST_UNSET_KEY"), "{stderr}");
}

/// A judge on the OpenAI provider, against the scripted model's OpenAI-compatible server, with
/// an API key from the environment: the key appears in no report, trace, event or log line,
/// and the judge's prompt (captured, as message content capture is on) carries the rubric,
/// the task, the agent's tool calls and its answer.
#[test]
fn an_openai_judge_works_and_its_api_key_is_never_written() {
    const SECRET: &str = "sk-live-TRACEVAL-JUDGE-SECRET-0123456789";
    let p = TestProject::new("judge-openai");
    p.file("suites/scripts/agent.toml", AGENT_SCRIPT);
    // The judge's script, served by `traceval serve-model`; no suite names it.
    p.file("suites/scripts/judge.toml", JUDGE_SCRIPT);
    let server = ModelServer::start(&p.dir().join("suites/scripts/judge.toml"), 0);
    let text = suite(&format!(
        "[model.gpt-judge]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\nbase-url = \"{}\"\n\
         api-key-env = \"TV_JUDGE_SECRET_KEY\"\n\
         [[case]]\nid = \"right\"\ninput = \"right: when?\"\n\
         [[case.expect.judge]]\nmodel = \"gpt-judge\"\ntemperature = 0\n{YEAR}\n",
        server.base_url()
    ))
    .replace(
        "[model.judge]\nprovider = \"scripted\"\nscript = \"scripts/judge.toml\"\n",
        "",
    );
    p.file("suites/j.toml", &text);
    let mut cmd = p.command(&["--seed", "1", "--save-traces", "--message-format", "json"]);
    cmd.env("TV_JUDGE_SECRET_KEY", SECRET)
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true");
    let output = cmd.output().unwrap();
    drop(server);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report_text = std::fs::read_to_string(p.report_path()).unwrap();
    let report: Value = serde_json::from_str(&report_text).unwrap();
    crate::reference::check_report(&report);
    let t = &report["trials"][0];
    assert_eq!(check(t, "judge")["score"], 0.9, "{t:#}");

    let traces = p
        .dir()
        .join("reports")
        .join(report["run_id"].as_str().unwrap())
        .join("traces");
    let judge_trace =
        std::fs::read_to_string(traces.join(t["judge_trace_file"].as_str().unwrap())).unwrap();
    // The prompt as the judge got it (JSON-escaped inside the attribute).
    for fragment in [
        "## Rubric\\\\nGives the right year, 2015.",
        "## Task\\\\nright: when?",
        "## Tool calls (1)\\\\n1. search {\\\\\\\"query\\\\\\\":\\\\\\\"right: when?\\\\\\\"}",
        "## Final answer\\\\nRust 1.0 was released on May 15, 2015.",
        "gen_ai.request.temperature",
        "\"openai\"",
    ] {
        assert!(
            judge_trace.contains(fragment),
            "{fragment} not in {judge_trace}"
        );
    }
    let mut haystacks = vec![
        ("stderr", stderr.clone()),
        (
            "stdout",
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        ("report", report_text),
        ("judge trace", judge_trace),
    ];
    for entry in std::fs::read_dir(&traces).unwrap().flatten() {
        haystacks.push(("trace", std::fs::read_to_string(entry.path()).unwrap()));
    }
    for (what, text) in haystacks {
        assert!(!text.contains(SECRET), "the key is in the {what}");
        assert!(
            !text.contains("JUDGE-SECRET"),
            "part of the key is in the {what}"
        );
    }
}
