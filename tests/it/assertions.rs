//! The reference suites `suites/assertions/{spans,trajectories}.toml`: every span-assertion
//! form and every trajectory mode against the scripted model, each once holding and, in the
//! `fails-*` cases, once deliberately failing. The failure output is pinned, so a change in
//! how a failed check explains itself is a reviewed change.

use serde_json::Value;

use crate::support::{read_json, redact, root, scratch, traceval, traceval_command};

fn run_reference(suite: &str) {
    let out = scratch(&format!("assertions-{suite}"));
    let report_path = out.path().join("report.json");
    let output = traceval_command(root())
        .args(["run", "--seed", "7", "-j", "1", "--report"])
        .arg(&report_path)
        .arg(format!("suites/assertions/{suite}.toml"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");

    // Exactly the `fails-*` cases fail, each on its one check; every other case passes.
    let report: Value = read_json(&report_path);
    crate::reference::check_report(&report);
    let trials = report["trials"].as_array().unwrap();
    assert!(trials.len() >= 16, "{}", trials.len());
    for t in trials {
        let case = t["case"].as_str().unwrap();
        let failed: Vec<&str> = t["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        if case.starts_with("fails-") {
            let name = if suite == "spans" {
                "span"
            } else {
                "trajectory"
            };
            assert_eq!(failed, [name], "{case}: {t:#}");
        } else {
            assert!(failed.is_empty(), "{case} failed {failed:?}: {t:#}");
        }
    }
    insta::assert_snapshot!(suite, redact(&stderr, out.path(), "[out]"));
}

#[test]
fn every_span_assertion_form_holds_and_fails_as_documented() {
    run_reference("spans");
}

#[test]
fn every_trajectory_mode_holds_and_fails_as_documented() {
    run_reference("trajectories");
}

#[test]
fn the_reference_suites_are_ignored_by_a_plain_run_and_listed_as_such() {
    let output = traceval(&["list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(!stdout.contains("spans::"), "{stdout}");
    assert!(
        stdout.contains(
            "ignored suite spans (suites/assertions/spans.toml): deliberately failing cases"
        ),
        "{stdout}"
    );
    let all = traceval(&["list", "--include-ignored"]);
    let all = String::from_utf8_lossy(&all.stdout);
    assert!(all.contains("spans::fails-no-match (planner) ×1"), "{all}");
    assert!(!all.contains("ignored suite"), "{all}");
}
