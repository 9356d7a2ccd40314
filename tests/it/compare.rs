//! `traceval compare` on real reports: the demo suites run with `--seed 42` by the real binary,
//! then compared as they are, against themselves, model against model, and edited (trials
//! flipped, a case dropped, a definition changed, costs and times raised) to hold each gate
//! rule and each refusal to its exit code.

use serde_json::Value;

use crate::merge::demo_project;
use crate::support::{TestProject, code, read_json, stderr, stdout, traceval_command};

/// `traceval ARGS` in the project: exit code, stdout and stderr.
fn traceval(project: &TestProject, args: &[&str]) -> (i32, String, String) {
    let out = traceval_command(project.path())
        .args(args)
        .output()
        .unwrap();
    (code(&out), stdout(&out), stderr(&out))
}

/// The demo suites run once with `--seed 42` into `reports/NAME.json`.
fn demo_report(project: &TestProject, name: &str, extra: &[&str]) -> Value {
    let report = format!("reports/{name}.json");
    let mut args = vec!["run", "--seed", "42", "--report", &report];
    args.extend(extra);
    let (code, _, err) = traceval(project, &args);
    assert!(code == 0 || code == 1, "exit {code}\n{err}");
    read_json(&project.path().join(report))
}

fn write(project: &TestProject, name: &str, report: &Value) -> String {
    let rel = format!("reports/{name}.json");
    project.file(&rel, &serde_json::to_string_pretty(report).unwrap());
    rel
}

/// `compare ARGS --format json`: exit code, the document (null when none) and stderr.
fn compare(project: &TestProject, args: &[&str]) -> (i32, Value, String) {
    let mut argv = vec!["compare", "--format", "json", "--color", "never"];
    argv.extend(args);
    let (code, out, err) = traceval(project, &argv);
    let doc = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, doc, err)
}

fn trials_mut(report: &mut Value) -> &mut Vec<Value> {
    report["trials"].as_array_mut().unwrap()
}

fn metric<'a>(comparison: &'a Value, name: &str) -> &'a Value {
    comparison["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name}"))
}

fn rows(comparison: &Value) -> &Vec<Value> {
    comparison["cases"].as_array().unwrap()
}

/// Every gate flag at once.
const EVERY_GATE: [&str; 11] = [
    "--fail-on-regression",
    "--fail-on-broken=any",
    "--max-drop",
    "0.01",
    "--require-non-inferior",
    "0.01",
    "--max-cost-increase",
    "1%",
    "--max-latency-increase",
    "1%",
    "--metric=pass_rate,cost,latency,tokens,llm-calls,tool-f1,pass@k,pass^k",
];

/// Nothing moved: every delta 0, every p 1, every case the same on both sides.
fn assert_nothing_moved(doc: &Value) {
    for c in doc["comparisons"].as_array().unwrap() {
        for m in c["metrics"].as_array().unwrap() {
            if !m["delta"].is_null() {
                assert_eq!(m["delta"], 0.0, "{m}");
            }
            assert_eq!(m["p"], 1.0, "{m}");
            assert_ne!(m["verdict"], "regressed", "{m}");
            assert_ne!(m["verdict"], "improved", "{m}");
        }
        assert_eq!(metric(c, "pass_rate")["verdict"], "no change");
        for row in rows(c) {
            // Flaky cases too: their trials are the same, trial for trial.
            assert_eq!(row["label"], "unchanged", "{row}");
            assert_eq!(row["base"], row["new"], "{row}");
            assert_eq!(row["base"]["passed"], row["new"]["passed"]);
        }
    }
}

#[test]
fn a_report_against_itself_changes_nothing_and_passes_every_gate() {
    let project = demo_project("compare-self");
    demo_report(&project, "r", &[]);
    let mut args = vec!["reports/r.json", "reports/r.json"];
    args.extend(EVERY_GATE);
    let (code, doc, err) = compare(&project, &args);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["kind"], "traceval.compare");
    assert_eq!(doc["format_version"], 1);
    assert_nothing_moved(&doc);
    assert_eq!(doc["gate"]["rules"].as_array().unwrap().len(), 6);
    assert_eq!(doc["gate"]["failed"], Value::Array(vec![]));
    assert!(!err.contains("gate failed"), "{err}");
    // Same inputs and seed: the same bytes.
    let again = |seed: &str| {
        traceval(
            &project,
            &[
                "compare",
                "reports/r.json",
                "reports/r.json",
                "--format",
                "json",
                "--seed",
                seed,
            ],
        )
        .1
    };
    assert_eq!(again("3"), again("3"));
}

#[test]
fn careful_against_sloppy_in_one_report() {
    let project = demo_project("compare-models");
    let report = demo_report(&project, "r", &[]);
    let (code, doc, err) = compare(&project, &["reports/r.json"]);
    assert_eq!(code, 0, "{err}");
    let c = &doc["comparisons"][0];
    assert_eq!(c["base"]["model"], "careful");
    assert_eq!(c["new"]["model"], "sloppy");
    let rate = metric(c, "pass_rate");
    assert!(
        rate["verdict"] == "regressed" || rate["verdict"] == "inconclusive",
        "{rate}"
    );
    assert!(rate["mde"].as_f64().unwrap() > 0.0, "{rate}");
    let flaky: Vec<&Value> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["model"] == "sloppy" && c["flaky"] == true)
        .collect();
    assert!(!flaky.is_empty());
    for case in flaky {
        let row = rows(c)
            .iter()
            .find(|r| r["suite"] == case["suite"] && r["case"] == case["case"])
            .unwrap();
        assert!(
            row["label"] == "flaky" || row["label"] == "destabilized",
            "{row}"
        );
        assert!(row["behaviour"]["summary"].is_string(), "{row}");
    }
    // Worst first; labels counted.
    let order = [
        "broken",
        "degraded",
        "destabilized",
        "removed",
        "changed",
        "flaky",
        "partly fixed",
        "fixed",
        "stabilized",
        "added",
        "unchanged",
    ];
    let ranks: Vec<usize> = rows(c)
        .iter()
        .map(|r| order.iter().position(|l| *l == r["label"]).unwrap())
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    let counted: u64 = c["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted as usize, rows(c).len());
    // The other spellings of the command: a named baseline, a model list.
    let (code, doc, err) = compare(&project, &["reports/r.json", "--baseline-model", "sloppy"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(doc["comparisons"][0]["new"]["model"], "careful");
    let (code, _, err) = compare(&project, &["reports/r.json", "--baseline-model", "nobody"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--baseline-model `nobody`"), "{err}");
    let (code, _, err) = compare(&project, &["reports/r.json", "--models", "careful"]);
    assert_eq!(code, 2, "{err}");
}

/// The report with every trial of `model` (all models for `None`) in `suite::case` (every case
/// for `None`) edited by `edit`.
fn edit(
    report: &Value,
    case: Option<&str>,
    model: Option<&str>,
    edit: impl Fn(&mut Value),
) -> Value {
    let mut r = report.clone();
    for t in trials_mut(&mut r) {
        let key = format!(
            "{}::{}",
            t["suite"].as_str().unwrap(),
            t["case"].as_str().unwrap()
        );
        if case.is_none_or(|c| c == key) && model.is_none_or(|m| t["model"] == m) {
            edit(t);
        }
    }
    r
}

fn fail(t: &mut Value) {
    t["passed"] = Value::Bool(false);
}

#[test]
fn the_gate_matrix() {
    let project = demo_project("compare-gate");
    let base = demo_report(&project, "base", &[]);
    let b = "reports/base.json";
    let same = write(&project, "same", &base);
    let all_fail = write(&project, "all-fail", &edit(&base, None, None, fail));
    let broken = write(
        &project,
        "broken",
        &edit(&base, Some("weather::oslo"), Some("careful"), fail),
    );
    let dearer = write(
        &project,
        "dearer",
        &edit(&base, None, None, |t| {
            if let Some(c) = t["metrics"]["cost_usd"].as_f64() {
                t["metrics"]["cost_usd"] = (c * 2.0).into();
            }
        }),
    );
    let slower = write(
        &project,
        "slower",
        &edit(&base, None, None, |t| {
            t["duration_ms"] = (t["duration_ms"].as_f64().unwrap() * 2.0).into();
        }),
    );
    let matrix: [(&[&str], &str); 7] = [
        (&["--fail-on-regression"], &all_fail),
        (&["--fail-on-broken"], &broken),
        (&["--fail-on-broken=any"], &broken),
        (&["--max-drop", "0.05"], &all_fail),
        (&["--require-non-inferior", "0.05"], &all_fail),
        (&["--max-cost-increase", "10%"], &dearer),
        (&["--max-latency-increase", "20%@p95"], &slower),
    ];
    for (flags, bad) in matrix {
        let mut args = vec![b, bad];
        args.extend(flags);
        let (code, doc, err) = compare(&project, &args);
        assert_eq!(code, 1, "{flags:?} on {bad}: {err}");
        let failed = doc["gate"]["failed"].as_array().unwrap();
        assert_eq!(failed.len(), 1, "{failed:?}");
        let last = err.trim_end().lines().last().unwrap();
        assert!(last.starts_with("gate failed: "), "{err}");
        // The same pair without a gate flag is a report, not a gate: exit 0.
        let (code, _, err) = compare(&project, &[b, bad]);
        assert_eq!(code, 0, "{err}");
        let mut args = vec![b, same.as_str()];
        args.extend(flags);
        let (code, _, err) = compare(&project, &args);
        assert_eq!(code, 0, "{flags:?}: {err}");
    }
    let (_, doc, _) = compare(&project, &[b, &broken]);
    let row = rows(&doc["comparisons"][0])
        .iter()
        .find(|r| r["case"] == "oslo" && r["model"] == "careful")
        .unwrap();
    assert_eq!(row["label"], "broken");
    assert_eq!(row["base"]["strip"], "●●●●●");
    assert_eq!(row["new"]["strip"], "○○○○○");

    // A removed case fails in gate mode, unless --allow-missing.
    let mut dropped = base.clone();
    trials_mut(&mut dropped).retain(|t| t["case"] != "paris");
    dropped["cases"]
        .as_array_mut()
        .unwrap()
        .retain(|c| c["case"] != "paris");
    let dropped = write(&project, "dropped", &dropped);
    let (code, doc, err) = compare(&project, &[b, &dropped, "--max-drop", "0.5"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("gate failed: missing: 2 cases"), "{err}");
    assert!(
        rows(&doc["comparisons"][0])
            .iter()
            .any(|r| r["label"] == "removed")
    );
    let (code, _, err) = compare(
        &project,
        &[b, &dropped, "--max-drop", "0.5", "--allow-missing"],
    );
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = compare(&project, &[b, &dropped]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn incomparable_inputs_are_refused() {
    let project = demo_project("compare-refuse");
    let base = demo_report(&project, "base", &[]);
    let b = "reports/base.json";
    // One case's definition changed with its suite: exit 2 naming suite and case.
    let mut changed = base.clone();
    for s in changed["suites"].as_array_mut().unwrap() {
        if s["name"] == "weather" {
            s["content_hash"] = "ffffffffffffffff".into();
        }
    }
    for c in changed["cases"].as_array_mut().unwrap() {
        if c["case"] == "paris" {
            c["definition_hash"] = "9a00000000000000".into();
        }
    }
    let changed_path = write(&project, "changed", &changed);
    let (code, _, err) = compare(&project, &[b, &changed_path]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("incomparable: case `weather::paris` (careful) changed (definition "),
        "{err}"
    );
    assert!(err.contains("--allow-changed-suites"), "{err}");
    let (code, doc, err) = compare(&project, &[b, &changed_path, "--allow-changed-suites"]);
    assert_eq!(code, 0, "{err}");
    let c = &doc["comparisons"][0];
    let labels: Vec<&Value> = rows(c)
        .iter()
        .filter(|r| r["case"] == "paris")
        .map(|r| &r["label"])
        .collect();
    assert_eq!(labels, ["changed", "changed"]);
    assert!(
        rows(c)
            .iter()
            .filter(|r| r["case"] != "paris")
            .all(|r| r["label"] != "changed")
    );
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "changed_cases")
    );
    // Without case hashes (an older report) the whole suite changed.
    let mut older = changed.clone();
    for c in older["cases"].as_array_mut().unwrap() {
        c.as_object_mut().unwrap().remove("definition_hash");
    }
    let older = write(&project, "older", &older);
    let (code, doc, err) = compare(&project, &[b, &older, "--allow-changed-suites"]);
    assert_eq!(code, 0, "{err}");
    let weather = rows(&doc["comparisons"][0])
        .iter()
        .filter(|r| r["suite"] == "weather");
    assert!(weather.clone().count() > 2);
    assert!(weather.into_iter().all(|r| r["label"] == "changed"));
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "older_report")
    );

    let mut future = base.clone();
    future["format_version"] = 99.into();
    let future = write(&project, "future", &future);
    let (code, _, err) = compare(&project, &[b, &future]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("reports/future.json`: format_version is 99"),
        "{err}"
    );
    let mut twice = base.clone();
    let first = twice["cases"][0].clone();
    twice["cases"].as_array_mut().unwrap().push(first);
    let twice = write(&project, "twice", &twice);
    let (code, _, err) = compare(&project, &[&twice, b]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("twice"), "{err}");
    let mut elsewhere = base.clone();
    for t in trials_mut(&mut elsewhere) {
        t["suite"] = "other".into();
    }
    let elsewhere = write(&project, "elsewhere", &elsewhere);
    let (code, _, err) = compare(&project, &[b, &elsewhere]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("share no case"), "{err}");
    project.file("reports/text.json", "not json");
    let (code, _, err) = compare(&project, &[b, "reports/text.json"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is not a traceval report"), "{err}");
    let (code, _, err) = compare(&project, &[b, "reports/nowhere.json"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("cannot read `reports/nowhere.json`"), "{err}");
    std::fs::create_dir_all(project.path().join("out/dir.json")).unwrap();
    let (code, _, err) = compare(&project, &[b, b, "--json", "out/dir.json"]);
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = compare(&project, &[b, b, "--markdown", "out/dir.json"]);
    assert_eq!(code, 3, "{err}");
    // --json FILE holds what --format json prints.
    let (code, printed, err) = compare(&project, &[b, b, "--json", "out/c.json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_json(&project.path().join("out/c.json")), printed);
}

#[test]
fn merged_shards_compare_unchanged_with_the_unsharded_run() {
    let project = demo_project("compare-merge");
    demo_report(&project, "whole", &[]);
    demo_report(&project, "s1", &["--shard", "1/2"]);
    demo_report(&project, "s2", &["--shard", "2/2"]);
    let (code, _, err) = traceval(
        &project,
        &[
            "merge",
            "reports/s1.json",
            "reports/s2.json",
            "-o",
            "reports/merged.json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    // Timings are each run's own: the latency rule is left out.
    let mut args = vec!["reports/whole.json", "reports/merged.json"];
    args.extend(&EVERY_GATE[..8]);
    args.push("--metric=pass_rate,cost,tokens,llm-calls,tool-f1,pass@k,pass^k");
    let (code, doc, err) = compare(&project, &args);
    assert_eq!(code, 0, "{err}");
    for c in doc["comparisons"].as_array().unwrap() {
        for m in c["metrics"].as_array().unwrap() {
            if m["name"] != "latency_ms_p95" {
                assert_eq!(m["p"], 1.0, "{m}");
                if !m["delta"].is_null() {
                    assert_eq!(m["delta"], 0.0, "{m}");
                }
            }
        }
        assert!(rows(c).iter().all(|r| r["label"] == "unchanged"));
    }
}

#[test]
fn many_moving_cases_give_the_same_bytes_every_time() {
    let project = demo_project("compare-many");
    let base = demo_report(&project, "base", &[]);
    // Five copies of every case: 60 keys, over 20 of which move by different amounts.
    let mut big = base.clone();
    let trials: Vec<Value> = base["trials"].as_array().unwrap().clone();
    let cases: Vec<Value> = base["cases"].as_array().unwrap().clone();
    trials_mut(&mut big).clear();
    big["cases"].as_array_mut().unwrap().clear();
    for i in 0..5 {
        for t in &trials {
            let mut t = t.clone();
            t["case"] = format!("{}-{i}", t["case"].as_str().unwrap()).into();
            trials_mut(&mut big).push(t);
        }
        for c in &cases {
            let mut c = c.clone();
            c["case"] = format!("{}-{i}", c["case"].as_str().unwrap()).into();
            big["cases"].as_array_mut().unwrap().push(c);
        }
    }
    let mut moved = big.clone();
    for (j, t) in trials_mut(&mut moved).iter_mut().enumerate() {
        if j % 3 == 0 || j % 7 == 0 {
            t["passed"] = (t["passed"] == false).into();
        }
    }
    let a = write(&project, "big", &big);
    let b = write(&project, "moved", &moved);
    let run = || {
        traceval(
            &project,
            &["compare", &a, &b, "--format", "json", "--seed", "9"],
        )
    };
    let (code, first, err) = run();
    assert_eq!(code, 0, "{err}");
    assert_eq!(first, run().1);
    let doc: Value = serde_json::from_str(&first).unwrap();
    let c = &doc["comparisons"][0];
    let moving = rows(c)
        .iter()
        .filter(|r| r["base"]["passed"] != r["new"]["passed"])
        .count();
    assert!(moving > 20, "{moving}");
    // The Markdown too.
    let md = || {
        traceval(
            &project,
            &["compare", &a, &b, "--format", "markdown", "--seed", "9"],
        )
        .1
    };
    assert_eq!(md(), md());
}

#[test]
fn a_changed_price_table_is_noted_and_reprice_prices_both_sides_alike() {
    let project = demo_project("compare-reprice");
    let base = demo_report(&project, "base", &[]);
    let b = "reports/base.json";
    let mut newer = base.clone();
    newer["pricing"]["date"] = "2099-01".into();
    let newer = write(&project, "newer", &newer);
    let (code, doc, err) = compare(&project, &[b, &newer]);
    assert_eq!(code, 0, "{err}");
    let old_date = base["pricing"]["date"].as_str().unwrap();
    let note = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "price_table_changed")
        .unwrap();
    let message = note["message"].as_str().unwrap();
    assert!(
        message.contains(old_date) && message.contains("2099-01"),
        "{message}"
    );
    let cost = metric(&doc["comparisons"][0], "cost_usd");
    assert!(cost["note"].as_str().unwrap().contains("2099-01"), "{cost}");
    let (code, doc, err) = compare(&project, &[b, &newer, "--reprice"]);
    assert_eq!(code, 0, "{err}");
    let note = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["kind"] == "repriced")
        .unwrap();
    let message = note["message"].as_str().unwrap();
    assert!(
        message.contains(old_date) && message.contains("2099-01"),
        "{message}"
    );
    let cost = metric(&doc["comparisons"][0], "cost_usd");
    assert_eq!(cost["ratio"], 1.0, "{cost}");
    assert!(cost["base"].as_f64().unwrap() > 0.0, "{cost}");
}

/// `run --baseline`: run from a subdirectory with relative paths, compared with a baseline
/// report at the end. The run's exit code stands; a failed gate rule turns a pass into 1; under
/// GitHub Actions the comparison's Markdown follows the run's summary in the step summary.
#[test]
fn run_with_a_baseline_compares_and_gates_at_the_end() {
    let project = demo_project("run-baseline");
    let run = |cwd: &std::path::Path, args: &[&str], github: Option<&std::path::Path>| {
        let mut command = traceval_command(cwd);
        command.args(args);
        if let Some(summary) = github {
            command
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_STEP_SUMMARY", summary)
                .env("GITHUB_WORKSPACE", project.path());
        }
        let out = command.output().unwrap();
        (code(&out), stderr(&out))
    };
    let root = project.path();
    let base = ["run", "suites/demo", "--model", "sloppy", "--seed", "42"];
    let (code, err) = run(
        root,
        &[&base[..], &["--report", "reports/base.json"]].concat(),
        None,
    );
    assert_eq!(code, 1, "sloppy fails some cases\n{err}");

    // From a subdirectory, every path relative to it.
    let sub = root.join("suites");
    let careful = ["run", "demo", "--model", "careful", "--seed", "42"];
    let baseline = ["--baseline", "../reports/base.json"];
    let (code, err) = run(
        &sub,
        &[
            &careful[..],
            &baseline,
            &["--report", "../reports/new.json"],
        ]
        .concat(),
        None,
    );
    assert_eq!(code, 0, "careful passes and no gate flag is given\n{err}");
    assert!(err.contains("Comparing ../reports/base.json"), "{err}");
    assert!(
        err.contains("FIXED"),
        "sloppy's failures are fixed by careful\n{err}"
    );

    // Careful costs more than sloppy: the cost gate fails a passing run.
    let summary = root.join("step-summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let gate = [
        "--max-cost-increase",
        "10%",
        "--report",
        "../reports/gated.json",
    ];
    let (code, err) = run(
        &sub,
        &[&careful[..], &baseline, &gate].concat(),
        Some(&summary),
    );
    assert_eq!(code, 1, "{err}");
    let last = err
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    assert!(
        last.trim_start()
            .starts_with("gate failed: --max-cost-increase"),
        "{err}"
    );
    assert!(
        !err.contains("price table changed"),
        "same prices, other models\n{err}"
    );
    let text = std::fs::read_to_string(&summary).unwrap();
    let run_marker = text.find("<!-- traceval-run").expect("the run's summary");
    let compare_marker = text.find("<!-- traceval-compare").expect("the comparison");
    assert!(
        text.starts_with("earlier step\n") && run_marker < compare_marker,
        "{text}"
    );

    // Gate flags need a baseline; an unreadable baseline stops the run before any trial.
    let (code, err) = run(root, &["run", "suites/demo", "--fail-on-broken"], None);
    assert_eq!(code, 2, "{err}");
    let missing = [
        "--baseline",
        "reports/none.json",
        "--report",
        "reports/x.json",
    ];
    let (code, err) = run(root, &[&base[..], &missing].concat(), None);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("reports/none.json"), "{err}");
    assert!(!root.join("reports/x.json").exists(), "no trial ran");
}
