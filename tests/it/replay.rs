//! Re-scoring recorded traces: `traceval run --replay` on a run's `--save-traces` output, and
//! `[agent] kind = "replay"` suites on real traces from four instrumentation libraries.

use serde_json::{Value, json};

use crate::support::{TestProject, read_json};
use crate::support::{copy_dir, root};

/// A report without what must differ between a run and its replay: the run's identity and
/// timing, its command line, where it was replayed from, the trace file names (derived from
/// the run id), and the trace ids of the judges, which grade again (with the same seed, so a
/// scripted judge gives the same verdicts) in traces of their own.
fn comparable(report: &Value) -> Value {
    let mut report = report.clone();
    let top = report.as_object_mut().unwrap();
    for key in [
        "run_id",
        "started_at",
        "duration_ms",
        "command",
        "replayed_from",
        // Where the live run saved its traces; the replay saves none.
        "traces_dir",
    ] {
        top.remove(key);
    }
    for trial in top["trials"].as_array_mut().unwrap() {
        without_trace_files(trial);
    }
    report
}

fn without_trace_files(trial: &mut Value) {
    let fields = trial.as_object_mut().unwrap();
    fields.remove("trace_file");
    fields.remove("judge_trace_file");
    for judge in fields
        .get_mut("judges")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        judge.as_object_mut().unwrap().remove("trace_id");
    }
}

/// Paths where `a` and `b` differ (at most 10), for a readable failure.
fn differences(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
        if out.len() >= 10 || a == b {
            return;
        }
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                    let (p, q) = (
                        x.get(key).unwrap_or(&Value::Null),
                        y.get(key).unwrap_or(&Value::Null),
                    );
                    walk(p, q, format!("{path}.{key}"), out);
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, format!("{path}[{i}]"), out);
                }
            }
            _ => out.push(format!(
                "{path}: {} ≠ {}",
                cut(&a.to_string()),
                cut(&b.to_string())
            )),
        }
    }
    fn cut(s: &str) -> String {
        s.chars().take(300).collect()
    }
    let mut out = Vec::new();
    walk(a, b, String::new(), &mut out);
    out
}

fn trials(report: &Value) -> &Vec<Value> {
    report["trials"].as_array().unwrap()
}

fn name(trial: &Value) -> String {
    format!(
        "{}::{} ({}) #{}",
        trial["suite"].as_str().unwrap(),
        trial["case"].as_str().unwrap(),
        trial["model"].as_str().unwrap(),
        trial["trial"]
    )
}

#[test]
fn a_replay_of_saved_traces_gives_the_live_verdicts_and_metrics_exactly() {
    // Every bundled suite: the builtin agent on scripted models (demo) and the Python reference
    // agent, a subprocess exporting OTLP (python).
    let project = TestProject::new("replay");
    copy_dir(&root().join("suites"), &project.path().join("suites"));
    let live = project.run(&["--seed", "42", "--save-traces"]);
    assert_eq!(
        live.code, 1,
        "the sloppy model fails some trials\n{}",
        live.stderr
    );
    let live = live.report().clone();
    let run_id = live["run_id"].as_str().unwrap().to_owned();
    // Where a run without --report writes it, and a copy elsewhere.
    for copy in [format!("reports/{run_id}.json"), "out/live.json".to_owned()] {
        std::fs::copy(project.report_path(), project.path().join(copy)).unwrap();
    }
    let all = trials(&live);
    assert_eq!(all.len(), 64, "60 demo trials and 4 python ones");
    assert!(all.iter().all(|t| t["trace_file"].is_string()));
    // Something to get wrong: failures, tool calls, costs, tool spans and LLM spans.
    assert!(all.iter().any(|t| t["passed"] == false) && all.iter().any(|t| t["passed"] == true));
    assert!(
        all.iter()
            .any(|t| t["metrics"]["cost_usd"].as_f64().unwrap_or(0.0) > 0.0)
    );
    assert!(
        all.iter()
            .any(|t| t["metrics"]["tool_durations_ns"].is_array())
    );
    assert!(all.iter().any(|t| t["span_tree"].is_string()));
    // And an LLM judge (support::delete-my-account), which grades again in the replay.
    assert!(all.iter().any(|t| t["judges"].is_array()));

    // Replayed from the run directory, with the same suites: the same report.
    let replay = project.run(&["--replay", &format!("reports/{run_id}/")]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    assert!(
        replay.stderr.contains(&format!(
            "Replaying run {run_id} (reports/{run_id}.json): 64 recorded trials"
        )),
        "{}",
        replay.stderr
    );
    let replayed = replay.report();
    assert_ne!(replayed["run_id"], live["run_id"], "a replay is a new run");
    assert_eq!(replayed["replayed_from"]["run_id"], run_id.as_str());
    assert!(trials(replayed).iter().all(|t| t["trace_file"].is_null()));
    let diff = differences(&comparable(&live), &comparable(replayed));
    assert!(diff.is_empty(), "the replay differs:\n{}", diff.join("\n"));

    // The suite changes: a stricter expectation, a case removed, a case added. The replay
    // re-grades the recorded trials with the current suite.
    let weather = project.path().join("suites/demo/weather.toml");
    let text = std::fs::read_to_string(&weather).unwrap();
    let stricter = text.replace(
        "output-contains = [\"Paris\", \"18 C\"]",
        "output-contains = [\"Paris\", \"19 C\"]",
    );
    let (head, oslo_and_rest) = stricter.split_once("[[case]]\nid = \"oslo\"").unwrap();
    let rest = &oslo_and_rest[oslo_and_rest.find("[[case]]").unwrap()..];
    let changed = format!(
        "{head}{rest}\n[[case]]\nid = \"berlin\"\ninput = \"What's the weather in Berlin?\"\n"
    );
    assert_ne!(changed, text);
    std::fs::write(&weather, changed).unwrap();
    // Replayed from the report file this time, written outside `reports/`: its traces are
    // found where --save-traces put them.
    let replay = project.run(&["--replay", "out/live.json"]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    let replayed = replay.report();
    let now = trials(replayed);
    assert_eq!(now.len(), 64 - 10, "oslo's 2 × 5 trials are not replayed");
    for trial in now {
        let before = all
            .iter()
            .find(|t| name(t) == name(trial))
            .unwrap_or_else(|| panic!("{} was not in the live run", name(trial)));
        if trial["suite"] == "weather" && trial["case"] == "paris" {
            let check = trial["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["name"] == "output-contains")
                .unwrap();
            assert_eq!(check["passed"], false, "{}: {check}", name(trial));
            assert!(
                check["message"].as_str().unwrap().contains("19 C"),
                "{check}"
            );
            assert_eq!(trial["passed"], false, "{}", name(trial));
            assert_eq!(trial["metrics"], before["metrics"], "{}", name(trial));
        } else {
            let mut before = before.clone();
            let mut trial = trial.clone();
            without_trace_files(&mut before);
            without_trace_files(&mut trial);
            let diff = differences(&before, &trial);
            assert!(diff.is_empty(), "{}:\n{}", name(&trial), diff.join("\n"));
        }
    }
    let paris = replayed["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["suite"] == "weather" && c["case"] == "paris")
        .map(|c| (c["model"].as_str().unwrap(), c["passed"].as_u64().unwrap()))
        .collect::<Vec<_>>();
    assert_eq!(paris, [("careful", 0), ("sloppy", 0)]);
    let warnings: Vec<&str> = replayed["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    let expected = [
        "weather::oslo (careful): 5 recorded trial(s) not replayed: the case is no longer in the suite".to_owned(),
        "weather::oslo (sloppy): 5 recorded trial(s) not replayed: the case is no longer in the suite".to_owned(),
        format!("weather::berlin (careful): not run: run {run_id} has no trial of it"),
        format!("weather::berlin (sloppy): not run: run {run_id} has no trial of it"),
    ];
    for message in &expected {
        assert!(
            warnings.contains(&message.as_str()),
            "{message}\nnot in {warnings:#?}"
        );
        assert!(
            replay.stderr.contains(message.as_str()),
            "{}",
            replay.stderr
        );
    }
    assert_eq!(replayed["not_run"], 10, "berlin × 2 models × 5 trials");
    assert!(replay.stderr.contains(", 10 not run"), "{}", replay.stderr);
}

#[test]
fn a_trial_whose_trace_cannot_be_replayed_errors_alone() {
    let project = TestProject::new("replay-errors");
    copy_dir(
        &root().join("suites/demo"),
        &project.path().join("suites/demo"),
    );
    let weather = "suites/demo/weather.toml";

    // A run without --save-traces cannot be replayed.
    let plain = project.run(&[weather, "-k", "1", "--seed", "7"]);
    assert_eq!(plain.code, 1, "{}", plain.stderr);
    std::fs::copy(project.report_path(), project.path().join("out/plain.json")).unwrap();
    let again = project.run(&[weather, "--replay", "out/plain.json"]);
    assert_eq!(again.code, 2, "{}", again.stderr);
    assert!(
        again.stderr.contains("saved no traces") && again.stderr.contains("--save-traces"),
        "{}",
        again.stderr
    );

    let live = project.run(&[weather, "-k", "2", "--seed", "7", "--save-traces"]);
    assert_eq!(live.code, 1, "{}", live.stderr);
    let mut report = live.report().clone();
    let run_id = report["run_id"].as_str().unwrap().to_owned();
    let traces = project.path().join(format!("reports/{run_id}/traces"));

    // Flags that make no sense for a replay are usage errors.
    for flag in [["-k", "3"], ["--timeout", "5s"], ["--seed", "1"]] {
        let out = project.run(&[
            weather,
            "--replay",
            &format!("reports/{run_id}"),
            flag[0],
            flag[1],
        ]);
        assert_eq!(out.code, 2, "{flag:?}: {}", out.stderr);
        assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
    }
    let missing = project.run(&["--replay", "reports/no-such-run"]);
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("cannot read the report"),
        "{}",
        missing.stderr
    );
    // The run's report where `reports/<run-id>/` expects it; a plan without its trials.
    std::fs::copy(
        project.report_path(),
        project.path().join(format!("reports/{run_id}.json")),
    )
    .unwrap();
    let elsewhere = project.run(&[
        "suites/demo/support.toml",
        "--replay",
        &format!("reports/{run_id}"),
    ]);
    assert_eq!(elsewhere.code, 2, "{}", elsewhere.stderr);
    assert!(
        elsewhere.stderr.contains("no recorded trial of run"),
        "{}",
        elsewhere.stderr
    );

    // Three trials' traces go missing in three ways; the report's paths are data.
    let list = report["trials"].as_array_mut().unwrap();
    let escaping = name(&list[0]);
    list[0]["trace_file"] = json!("../../../out/report.json");
    let absolute = name(&list[1]);
    list[1]["trace_file"] = json!(traces.join(list[2]["trace_file"].as_str().unwrap()));
    let deleted = name(&list[3]);
    std::fs::remove_file(traces.join(list[3]["trace_file"].as_str().unwrap())).unwrap();
    let unsaved = name(&list[4]);
    list[4].as_object_mut().unwrap().remove("trace_file");
    std::fs::write(
        project.path().join("reports/doctored.json"),
        serde_json::to_vec(&report).unwrap(),
    )
    .unwrap();
    // `reports/doctored.json` finds its traces by its run id, `reports/<run-id>/traces`.
    let replay = project.run(&[weather, "--replay", "reports/doctored.json"]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    let replayed = replay.report();
    assert_eq!(trials(replayed).len(), 12);
    for trial in trials(replayed) {
        let n = name(trial);
        let error = trial["error"].as_str().unwrap_or("");
        let expected = if n == escaping || n == absolute {
            "is not a plain relative path inside the traces directory"
        } else if n == deleted {
            "cannot replay: cannot read trace file"
        } else if n == unsaved {
            &format!("cannot replay: run {run_id} saved no trace for this trial")
        } else {
            let before = trials(live.report()).iter().find(|t| name(t) == n).unwrap();
            assert_eq!(trial["passed"], before["passed"], "{n}");
            assert_eq!(trial["checks"], before["checks"], "{n}");
            assert_eq!(trial["metrics"], before["metrics"], "{n}");
            continue;
        };
        assert!(error.contains(expected), "{n}: {error}");
        assert_eq!(trial["passed"], false, "{n}");
    }

    // A judge does not judge a trial that could not be replayed.
    let support = "suites/demo/support.toml";
    let live = project.run(&[support, "-k", "1", "--seed", "7", "--save-traces"]);
    let report = live.report();
    let run_id = report["run_id"].as_str().unwrap();
    let judged = trials(report)
        .iter()
        .find(|t| t["judges"].is_array())
        .expect("a judged trial");
    std::fs::remove_file(
        project
            .path()
            .join(format!("reports/{run_id}/traces"))
            .join(judged["trace_file"].as_str().unwrap()),
    )
    .unwrap();
    std::fs::copy(
        project.report_path(),
        project.path().join(format!("reports/{run_id}.json")),
    )
    .unwrap();
    let replay = project.run(&[support, "--replay", &format!("reports/{run_id}")]);
    let trial = trials(replay.report())
        .iter()
        .find(|t| name(t) == name(judged))
        .unwrap();
    let judge = trial["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "judge")
        .unwrap_or_else(|| panic!("{trial:#}"));
    assert_eq!(judge["passed"], false, "{judge}");
    assert!(
        judge["message"]
            .as_str()
            .unwrap()
            .starts_with("not judged: cannot replay: cannot read trace file"),
        "{judge}"
    );
    assert!(trial["judges"].is_null(), "{trial:#}");
}

/// The frameworks whose fixtures carry ground truth, and their tasks.
const FRAMEWORKS: [&str; 3] = ["oai_v2", "openinference", "pydantic_ai"];
const TASKS: [&str; 7] = [
    "weather",
    "two_tools",
    "parallel_tools",
    "no_tool",
    "retry_429",
    "tool_error",
    "llm_error",
];

#[test]
fn a_replay_suite_grades_real_recorded_traces_against_their_ground_truth() {
    let project = TestProject::new("replay-kind");
    let mut suite = String::from(
        "name = \"recorded\"\n[agent]\nkind = \"replay\"\n\n\
         [pricing.\"gpt-4o-mini\"]\ninput = 0.15\noutput = 0.60\n",
    );
    for framework in FRAMEWORKS {
        for task in TASKS {
            let fixture = root().join(format!("tests/fixtures/{framework}/{task}"));
            let trace = std::fs::read_to_string(fixture.with_extension("otlp.jsonl")).unwrap();
            project.file(
                &format!("suites/traces/{framework}/{task}.otlp.jsonl"),
                &trace,
            );
            let truth = read_json(&fixture.with_extension("truth.json"));
            // The expectations come from the ground truth, never from the spans.
            let tools: Vec<String> = truth["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let name = c["name"].as_str().unwrap();
                    if truth["content_capture"] == true {
                        format!(
                            "{{ name = \"{name}\", args = {} }}",
                            toml_table(&c["arguments"])
                        )
                    } else {
                        format!("{{ name = \"{name}\" }}")
                    }
                })
                .collect();
            suite.push_str(&format!(
                "\n[[case]]\nid = \"{framework}/{task}\"\ninput = {}\ntrace = \"traces/{framework}/{task}.otlp.jsonl\"\n",
                Value::from(truth["prompt"].as_str().unwrap())
            ));
            let answer = truth["final_answer"].as_str();
            // OpenInference records the answer on its agent span; oai_v2 does not, so the
            // case gives it.
            if let (Some(answer), "oai_v2") = (answer, framework) {
                suite.push_str(&format!("output = {}\n", Value::from(answer)));
            }
            suite.push_str(&format!(
                "[case.expect]\ntools = [{}]\nmax-llm-calls = {}\n",
                tools.join(", "),
                truth["llm_spans_expected"]
            ));
            if let (Some(answer), "oai_v2" | "openinference") = (answer, framework) {
                suite.push_str(&format!("output-equals = {}\n", Value::from(answer)));
            }
        }
    }
    // A trace file that is gone is a configuration error at its key, before anything runs.
    let broken = suite.replace(
        "trace = \"traces/oai_v2/weather.otlp.jsonl\"",
        "trace = \"traces/oai_v2/wether.otlp.jsonl\"",
    );
    assert_ne!(broken, suite);
    project.file("suites/recorded.toml", &broken);
    let run = project.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "suites/recorded.toml:12:9: invalid `case[0].trace`: cannot read `traces/oai_v2/wether.otlp.jsonl`"
        ),
        "{}",
        run.stderr
    );
    project.file("suites/recorded.toml", &suite);
    // -k does not multiply a recorded trace.
    let run = project.run(&["-k", "3"]);
    assert_eq!(run.code, 0, "{}\n{suite}", run.stderr);
    let report = run.report();
    assert_eq!(trials(report).len(), FRAMEWORKS.len() * TASKS.len());
    for trial in trials(report) {
        let case = trial["case"].as_str().unwrap();
        let fixture = root().join(format!("tests/fixtures/{case}"));
        let truth = read_json(&fixture.with_extension("truth.json"));
        let expected = read_json(&fixture.with_extension("expected.json"));
        let m = &trial["metrics"];
        assert_eq!(trial["model"], "default");
        assert_eq!(m["llm_calls"], truth["llm_spans_expected"], "{case}");
        assert_eq!(m["input_tokens"], truth["input_tokens"], "{case}");
        assert_eq!(m["output_tokens"], truth["output_tokens"], "{case}");
        let names: Vec<&Value> = m["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["name"])
            .collect();
        let truth_names: Vec<&Value> = truth["tool_calls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["name"])
            .collect();
        assert_eq!(names, truth_names, "{case}");
        assert_eq!(m["tool_calls"], expected["tool_calls"], "{case}");
        assert_eq!(m["tool_f1"], 1.0, "{case}");
        // The fixtures have no trial root: a new one spans the recorded spans.
        assert_eq!(
            m["span_count"],
            expected["span_count"].as_u64().unwrap() + 1,
            "{case}"
        );
        let latency = trial["duration_ms"].as_f64().unwrap();
        let recorded = expected["duration_ms"].as_f64().unwrap();
        assert!(
            (latency - recorded).abs() < 1e-6,
            "{case}: {latency} vs {recorded}"
        );
        assert_eq!(
            trial["agent_trace_ids"].as_array().unwrap().len(),
            1,
            "{case}"
        );
        if truth["input_tokens"].as_u64() > Some(0) {
            let cost = m["cost_usd"].as_f64().unwrap();
            let reference = truth["cost_usd_reference"].as_f64().unwrap();
            assert!(
                (cost - reference).abs() < 1e-12,
                "{case}: {cost} vs {reference}"
            );
        }
        if case.starts_with("openinference/") {
            let answer = truth["final_answer"].as_str().unwrap_or("");
            assert_eq!(
                trial["output"], answer,
                "{case}: the answer on the agent span"
            );
        }
        assert_eq!(trial["passed"], true, "{case}: {trial:#}");
    }
}

/// A JSON object as an inline TOML table.
fn toml_table(value: &Value) -> String {
    let fields: Vec<String> = value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{} = {v}", Value::from(k.as_str())))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}
