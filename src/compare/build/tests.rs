//! Alignment, labels, sorting and the notes, on reports built in memory.

use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::compare::read::check_keys;

/// A trial of `suite::case` on `model`: `●` passed, `○` failed, `✕` errored.
fn trial(suite: &str, case: &str, model: &str, i: usize, mark: char) -> serde_json::Value {
    json!({
        "suite": suite, "case": case, "model": model, "trial": i, "trace_id": "t",
        "agent_trace_ids": [], "passed": mark == '●',
        "error": if mark == '✕' { json!("timed out") } else { json!(null) },
        "duration_ms": 10.0 + i as f64, "exit": {"kind": "code", "code": 0}, "output": "",
        "stderr_tail": "", "checks": [],
        "metrics": {"llm_calls": 2, "tool_calls": [], "input_tokens": 100, "output_tokens": 10,
            "cache_read_tokens": 0, "cost_usd": 0.001, "unpriced": false, "retries": 0,
            "error_spans": 0, "span_count": 3, "tool_precision": null, "tool_recall": null,
            "tool_f1": null}
    })
}

/// A report of `cases`: (suite, case, model, strip).
fn report(path: &str, cases: &[(&str, &str, &str, &str)]) -> LoadedReport {
    let trials: Vec<_> = cases
        .iter()
        .flat_map(|(s, c, m, strip)| {
            strip
                .chars()
                .enumerate()
                .map(|(i, mark)| trial(s, c, m, i, mark))
        })
        .collect();
    let aggregates: Vec<_> = cases
        .iter()
        .map(|(s, c, m, strip)| {
            json!({"suite": s, "case": c, "model": m, "n": strip.chars().count(), "passed": 0,
                "pass_rate": 0.0, "pass_at_k": {}, "pass_hat_k": {}, "flaky": false,
                "definition_hash": format!("{s}{c}")})
        })
        .collect();
    let report = json!({
        "format_version": 1, "run_id": path, "started_at": "2026-01-01T00:00:00Z",
        "duration_ms": 1.0, "traceval_version": "0.1.0", "git_commit": null, "command": [],
        "seed": 1, "interrupted": false, "stopped": null, "not_run": 0,
        "unattributed_spans": 0,
        "suites": [{"name": "s", "path": "suites/s.toml", "content_hash": "h"}],
        "pricing": {"source": "x", "date": "2025-10", "overrides": []},
        "trials": trials, "cases": aggregates, "models": [], "warnings": []
    });
    LoadedReport {
        path: PathBuf::from(path),
        report: serde_json::from_value(report).unwrap(),
    }
}

fn labels(doc: &Document) -> Vec<(String, String)> {
    doc.comparisons[0]
        .cases
        .iter()
        .map(|r| (r.case.clone(), r.label.clone()))
        .collect()
}

fn options() -> CompareOptions {
    let mut o = CompareOptions::new(crate::compare::stats::metric::Options::default());
    o.stats.resamples = 200;
    o.latency_resamples = 50;
    o
}

#[test]
fn one_model_each_pairs_by_case_whatever_the_names_and_says_so() {
    let a = report(
        "a.json",
        &[("s", "x", "old", "●●●"), ("s", "y", "old", "●●●")],
    );
    let b = report(
        "b.json",
        &[("s", "x", "new", "○○○"), ("s", "y", "new", "●○●")],
    );
    let doc = compare(&[a, b], &options()).unwrap();
    assert_eq!(
        labels(&doc),
        [
            ("x".to_owned(), "broken".to_owned()),
            ("y".to_owned(), "destabilized".to_owned())
        ]
    );
    assert_eq!(doc.notes[0].kind, "models_aligned");
    let c = &doc.comparisons[0];
    assert_eq!(c.base.model.as_deref(), Some("old"));
    assert_eq!(c.cases[0].model, None);
    assert_eq!(c.cases[0].base.as_ref().unwrap().strip, "●●●");
    assert_eq!(c.flaky, (0, 1));
}

#[test]
fn several_models_pair_by_name_or_by_map() {
    let a = report("a.json", &[("s", "x", "m1", "●●"), ("s", "x", "m2", "●●")]);
    let b = report("b.json", &[("s", "x", "m1", "●●"), ("s", "x", "m3", "○○")]);
    let doc = compare(&[a.clone(), b.clone()], &options()).unwrap();
    let rows: Vec<(Option<String>, String)> = doc.comparisons[0]
        .cases
        .iter()
        .map(|r| (r.model.clone(), r.label.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (Some("m2".to_owned()), "removed".to_owned()),
            (Some("m3".to_owned()), "added".to_owned()),
            (Some("m1".to_owned()), "unchanged".to_owned()),
        ]
    );
    let mut mapped = options();
    mapped.map_model = vec![("m2".to_owned(), "m3".to_owned())];
    let doc = compare(&[a, b], &mapped).unwrap();
    let labels: Vec<&str> = doc.comparisons[0]
        .cases
        .iter()
        .map(|r| r.label.as_str())
        .collect();
    assert_eq!(labels, ["broken", "unchanged"]);
}

#[test]
fn rows_are_worst_first_and_only_moved_cases_get_q_and_behaviour() {
    let a = report(
        "a.json",
        &[
            ("s", "a-fixed", "m", "○○○○○"),
            ("s", "b-same", "m", "●●●●●"),
            ("s", "c-broken", "m", "●●●●●"),
            ("s", "d-flaky", "m", "●○●○●"),
            ("s", "e-errored", "m", "●●●●●"),
        ],
    );
    let b = report(
        "b.json",
        &[
            ("s", "a-fixed", "m", "●●●●●"),
            ("s", "b-same", "m", "●●●●●"),
            ("s", "c-broken", "m", "○○○○○"),
            ("s", "d-flaky", "m", "○●●○○"),
            ("s", "e-errored", "m", "✕✕✕✕✕"),
        ],
    );
    let doc = compare(&[a, b], &options()).unwrap();
    let c = &doc.comparisons[0];
    let order: Vec<(&str, &str)> = c
        .cases
        .iter()
        .map(|r| (r.case.as_str(), r.label.as_str()))
        .collect();
    assert_eq!(
        order,
        [
            ("c-broken", "broken"),
            ("e-errored", "broken"),
            ("d-flaky", "flaky"),
            ("a-fixed", "fixed"),
            ("b-same", "unchanged")
        ]
    );
    assert_eq!(c.cases[1].new.as_ref().unwrap().class, "error");
    // Fisher 5/5 vs 0/5 = 2/252; BH over the three moved cases: 3·p/3.
    let broken = &c.cases[0];
    assert!((broken.fisher_p.unwrap() - 2.0 / 252.0).abs() < 1e-9);
    assert!((broken.q.unwrap() - 2.0 / 252.0).abs() < 1e-9);
    assert!(broken.significant && broken.behaviour.is_some());
    let flaky = &c.cases[2];
    assert!(flaky.q.is_none() && flaky.behaviour.is_none() && !flaky.significant);
    assert_eq!(
        c.labels
            .iter()
            .map(|l| (l.label.as_str(), l.count))
            .collect::<Vec<_>>(),
        [("broken", 2), ("flaky", 1), ("fixed", 1), ("unchanged", 1)]
    );
    assert_eq!(c.metrics.len(), 9);
    assert_eq!(c.metrics[0].name, "pass_rate");
}

#[test]
fn duplicate_keys_too_many_candidates_and_no_shared_case_are_refused() {
    let mut a = report("a.json", &[("s", "x", "m", "●")]);
    let first = a.report.cases[0].clone();
    a.report.cases.push(first);
    assert!(matches!(
        check_keys(&a),
        Err(CompareError::DuplicateCase { .. })
    ));
    let one = report("a.json", &[("s", "x", "m", "●")]);
    let many = vec![one.clone(); 10];
    assert!(matches!(
        compare(&many, &options()),
        Err(CompareError::TooManyCandidates(9))
    ));
    let other = report("b.json", &[("s", "y", "m", "●")]);
    let e = compare(&[one.clone(), other], &options()).unwrap_err();
    assert!(e.to_string().contains("share no case"), "{e}");
    assert!(!e.is_io());
    let e = compare(&[one], &options()).unwrap_err();
    assert!(matches!(e, CompareError::OneModel { .. }), "{e}");
}
