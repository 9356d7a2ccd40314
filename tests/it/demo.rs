//! `traceval run` with no arguments, as the README's first command runs it: every bundled suite
//! (the demo suites with the builtin agent and scripted models, and the Python reference agent
//! against a scripted model traceval serves), offline. Output and report are pinned with a
//! fixed seed.

use serde_json::{Value, json};

use crate::support::{read_json, redact, root, scratch, traceval_command};

#[test]
fn traceval_run_with_no_arguments_runs_every_bundled_suite_offline() {
    let out = scratch("demo");
    let report_path = out.path().join("report.json");
    let output = traceval_command(root())
        .args(["run", "--seed", "42", "-j", "1", "--report"])
        .arg(&report_path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The sloppy model fails some trials on purpose: exit code 1.
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    insta::assert_snapshot!("demo_output", redact(&stderr, out.path(), "[out]"));

    let report: Value = read_json(&report_path);
    crate::reference::check_report(&report);
    let cases: Vec<Value> = report["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!({
                "case": format!("{}::{} ({})", c["suite"].as_str().unwrap(), c["case"].as_str().unwrap(), c["model"].as_str().unwrap()),
                "passed": format!("{}/{}", c["passed"], c["n"]),
                "pass_at_k": c["pass_at_k"],
                "pass_hat_k": c["pass_hat_k"],
            })
        })
        .collect();
    let round = |v: &Value| v.as_f64().map(|f| (f * 1e6).round() / 1e6);
    let models: Vec<Value> = report["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({
                "model": m["model"],
                "trials": m["trials"],
                "passed": m["passed"],
                "pass_rate_ci95": m["pass_rate_ci95"],
                "pass_at_k": m["pass_at_k"],
                "tool_f1_macro": round(&m["tool_f1_macro"]),
                "tool_f1_micro": round(&m["tool_f1_micro"]),
                "input_tokens": m["input_tokens"],
                "output_tokens": m["output_tokens"],
                "cost_usd": round(&m["cost_usd"]),
            })
        })
        .collect();
    insta::assert_json_snapshot!("demo_report", json!({ "cases": cases, "models": models }));
}
