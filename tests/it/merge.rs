//! `traceval merge`: the demo suites run in three shards with one seed, merged, are the
//! unsharded run's report (timings aside), replay from the merged report, and inputs that are
//! not the shards of one run are refused with exit 2 naming the file and the field.

use std::path::Path;

use serde_json::Value;

use crate::reference::check_report;
use crate::support::{TestProject, code, read_json, root, stderr, traceval_command};

/// A project holding a copy of `suites/demo`.
pub(crate) fn demo_project(name: &str) -> TestProject {
    let project = TestProject::new(name);
    let from = root().join("suites/demo");
    let to = project.path().join("suites/demo");
    for dir in ["", "scripts"] {
        std::fs::create_dir_all(to.join(dir)).unwrap();
        for entry in std::fs::read_dir(from.join(dir)).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_file() {
                std::fs::copy(entry.path(), to.join(dir).join(entry.file_name())).unwrap();
            }
        }
    }
    project
}

/// `traceval ARGS` in the project, finished: its exit code and stderr.
fn traceval(project: &TestProject, args: &[&str]) -> (i32, String) {
    let out = traceval_command(project.path())
        .args(args)
        .output()
        .unwrap();
    (code(&out), stderr(&out))
}

/// `traceval run ARGS --report reports/NAME.json`: its report, checked against the schema.
fn run(project: &TestProject, name: &str, args: &[&str]) -> Value {
    let report = format!("reports/{name}.json");
    let mut argv = vec!["run", "--report", &report];
    argv.extend(args);
    let (code, err) = traceval(project, &argv);
    assert!(code == 0 || code == 1, "{argv:?}: exit {code}\n{err}");
    let report = read_json(&project.path().join(report));
    check_report(&report);
    report
}

/// A report without what a merge or a replay cannot share with the unsharded run: the run's
/// identity, command and times, each trial's trace ids, trace file names (they hash the run
/// id), timings and rendered span tree (which shows durations), the judges' trace ids and the
/// latency percentiles. Every verdict, check, count, token and cost stays.
fn comparable(report: &Value) -> Value {
    let mut report = report.clone();
    let top = report.as_object_mut().unwrap();
    for key in [
        "run_id",
        "started_at",
        "duration_ms",
        "command",
        "shard",
        "merged",
        "replayed_from",
    ] {
        top.remove(key);
    }
    for trial in top["trials"].as_array_mut().unwrap() {
        let t = trial.as_object_mut().unwrap();
        for key in [
            "trace_id",
            "agent_trace_ids",
            "duration_ms",
            "trace_file",
            "judge_trace_file",
            "span_tree",
        ] {
            t.remove(key);
        }
        let metrics = t["metrics"].as_object_mut().unwrap();
        metrics.remove("llm_durations_ns");
        metrics.remove("tool_durations_ns");
        for judge in t
            .get_mut("judges")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            judge.as_object_mut().unwrap().remove("trace_id");
        }
    }
    for model in top["models"].as_array_mut().unwrap() {
        let m = model.as_object_mut().unwrap();
        for key in ["latency_ms", "llm_latency_ms", "tool_latency_ms"] {
            m.remove(key);
        }
    }
    report
}

/// The first differences between two JSON values, as paths.
fn differences(a: &Value, b: &Value, path: &str, out: &mut Vec<String>) {
    if out.len() >= 10 || a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for key in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let null = Value::Null;
                let (p, q) = (x.get(key).unwrap_or(&null), y.get(key).unwrap_or(&null));
                differences(p, q, &format!("{path}.{key}"), out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ => out.push(format!("{path}: {a} ≠ {b}")),
    }
}

fn assert_same(a: &Value, b: &Value, what: &str) {
    let mut diff = Vec::new();
    differences(a, b, "", &mut diff);
    assert!(diff.is_empty(), "{what}:\n{}", diff.join("\n"));
}

fn trials(report: &Value) -> &Vec<Value> {
    report["trials"].as_array().unwrap()
}

#[test]
fn three_shards_merged_are_the_unsharded_run_and_replay_from_the_merged_report() {
    let project = demo_project("merge-demo");
    let whole = run(&project, "whole", &["--seed", "42"]);
    let mut shards = Vec::new();
    for i in 1..=3 {
        let spec = format!("{i}/3");
        let shard = run(
            &project,
            &format!("shard-{i}"),
            &["--seed", "42", "--shard", &spec, "--save-traces"],
        );
        assert_eq!(shard["shard"]["index"], i);
        // Every shard records the whole run's suites and plan.
        assert_eq!(shard["suites"], whole["suites"]);
        assert_eq!(shard["pricing"], whole["pricing"]);
        assert_eq!(shard["shard"]["plan_trials"], trials(&whole).len());
        shards.push(shard);
    }
    assert_eq!(shards[0]["shard"]["plan"], shards[2]["shard"]["plan"]);
    // Each shard holds a part, or the test proves less than it says.
    assert!(
        shards.iter().all(|s| !trials(s).is_empty()),
        "an empty shard"
    );
    let sum: usize = shards.iter().map(|s| trials(s).len()).sum();
    assert_eq!(sum, trials(&whole).len());
    // Something to get wrong: failures, flaky cases, costs and a judge.
    let all = trials(&whole);
    assert!(all.iter().any(|t| t["passed"] == false) && all.iter().any(|t| t["passed"] == true));
    assert!(
        whole["cases"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["flaky"] == true)
    );
    assert!(all.iter().any(|t| t["judges"].is_array()));

    // In any order.
    let (code, err) = traceval(
        &project,
        &[
            "merge",
            "reports/shard-3.json",
            "reports/shard-1.json",
            "reports/shard-2.json",
            "-o",
            "out/merged.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Merging 3 of 3 shard reports (seed 42): 60 trials"),
        "{err}"
    );
    let merged = read_json(&project.path().join("out/merged.json"));
    check_report(&merged);
    assert_same(
        &comparable(&whole),
        &comparable(&merged),
        "merged ≠ unsharded",
    );
    // Provenance: a run id of its own, each input by shard.
    let run_id = merged["run_id"].as_str().unwrap();
    assert!(shards.iter().all(|s| s["run_id"] != run_id));
    let inputs = merged["merged"]["inputs"].as_array().unwrap();
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(input["shard"], i + 1);
        assert_eq!(input["run_id"], shards[i]["run_id"]);
        assert_eq!(input["report"], format!("reports/shard-{}.json", i + 1));
    }
    assert_eq!(merged["merged"]["missing"], Value::Array(vec![]));
    assert!(merged.get("shard").is_none());

    // The shards' saved traces are gathered beside the merged report: a replay re-grades
    // every trial to the same verdicts.
    let traces = project.path().join(format!("out/{run_id}/traces"));
    for trial in trials(&merged) {
        let file = trial["trace_file"].as_str().unwrap();
        assert!(traces.join(file).is_file(), "{file}");
    }
    let replayed = run(&project, "replayed", &["--replay", "out/merged.json"]);
    assert_eq!(replayed["replayed_from"]["run_id"], run_id);
    assert_eq!(trials(&replayed).len(), trials(&merged).len());
    let verdicts = |r: &Value| -> Vec<(String, bool)> {
        trials(r)
            .iter()
            .map(|t| {
                (
                    format!(
                        "{}::{} {} #{}",
                        t["suite"], t["case"], t["model"], t["trial"]
                    ),
                    t["passed"].as_bool().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&replayed), verdicts(&merged));
    assert_same(
        &comparable(&merged)["cases"],
        &comparable(&replayed)["cases"],
        "replay",
    );
}

#[test]
fn inputs_that_are_not_the_shards_of_one_run_are_refused() {
    let project = demo_project("merge-refuse");
    let shard = |name: &str, spec: &str, seed: &str| {
        run(
            &project,
            name,
            &["--filter", "weather::*", "--seed", seed, "--shard", spec],
        );
        format!("reports/{name}.json")
    };
    let (one, two, three) = (
        shard("1", "1/3", "7"),
        shard("2", "2/3", "7"),
        shard("3", "3/3", "7"),
    );
    let other_seed = shard("2-seed-8", "2/3", "8");
    let merge = |inputs: &[&str], extra: &[&str]| {
        let mut argv = vec!["merge"];
        argv.extend(inputs);
        argv.extend(["-o", "out/merged.json"]);
        argv.extend(extra);
        traceval(&project, &argv)
    };

    let (code, err) = merge(&[&one, &three], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("error: shard 2/3 missing"), "{err}");
    assert!(!project.path().join("out/merged.json").exists());
    let (code, err) = merge(&[&one, &three], &["--allow-partial"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("shard 2/3 missing (--allow-partial)"), "{err}");
    let partial = read_json(&project.path().join("out/merged.json"));
    check_report(&partial);
    assert_eq!(partial["merged"]["missing"], serde_json::json!([2]));

    let (code, err) = merge(&[&one, &two, &two, &three], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shard 2/3 is given twice"), "{err}");

    let (code, err) = merge(&[&one, &other_seed, &three], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("reports/2-seed-8.json`: seed is 8, but `reports/1.json` has 7"),
        "{err}"
    );

    // The unsharded run's report is not a shard.
    run(
        &project,
        "whole",
        &["--filter", "weather::*", "--seed", "7"],
    );
    let (code, err) = merge(&["reports/whole.json", &two], &[]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reports/whole.json` has no `shard`"), "{err}");

    // An input that cannot be read is the machine's failure (3), and so is an output that
    // cannot be written, found before any input is read.
    let (code, err) = merge(&[&one, "reports/nowhere.json"], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot read `reports/nowhere.json`"), "{err}");
    std::fs::create_dir_all(project.path().join("out/dir.json")).unwrap();
    let (code, err) = traceval(
        &project,
        &["merge", "reports/nowhere.json", "-o", "out/dir.json"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("out/dir.json"), "{err}");
    assert!(!Path::new(&project.path().join("out/dir.json")).is_file());
}
