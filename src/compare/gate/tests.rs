//! The gate rules on constructed documents: each rule fails on one and holds on another.

use super::*;
use crate::compare::document::{CaseSide, Input, Side};

fn metric(
    name: &str,
    delta: f64,
    ratio: Option<f64>,
    ci: (f64, f64),
    p: f64,
    verdict: &str,
) -> Metric {
    Metric {
        name: name.to_owned(),
        base: Some(1.0),
        new: Some(1.0 + delta),
        delta: Some(delta),
        ratio,
        ci95: Some(ci),
        p,
        p_mid: p,
        p_adjusted: None,
        verdict: verdict.to_owned(),
        mde: Some(0.01),
        cases: 40,
        note: None,
    }
}

fn side(class: &str) -> CaseSide {
    CaseSide {
        passed: 0,
        n: 5,
        class: class.to_owned(),
        strip: String::new(),
    }
}

fn row(case: &str, label: &str, base: Option<&str>, new: Option<&str>) -> CaseRow {
    CaseRow {
        suite: "s".to_owned(),
        case: case.to_owned(),
        model: None,
        base: base.map(side),
        new: new.map(side),
        label: label.to_owned(),
        fisher_p: None,
        q: None,
        significant: false,
        behaviour: None,
    }
}

fn doc(metrics: Vec<Metric>, cases: Vec<CaseRow>) -> Document {
    let side = |model: &str| Side {
        run_id: "r".to_owned(),
        input: 0,
        model: Some(model.to_owned()),
    };
    Document {
        kind: "traceval.compare".to_owned(),
        format_version: 1,
        traceval_version: "0".to_owned(),
        seed: 0,
        alpha: 0.05,
        inputs: vec![Input {
            path: "r.json".to_owned(),
            run_id: "r".to_owned(),
            started_at: String::new(),
            git_commit: None,
            pricing_date: None,
            models: vec![],
        }],
        comparisons: vec![Comparison {
            base: side("a"),
            new: side("b"),
            matched: 40,
            k_base: (5, 5),
            k_new: (5, 5),
            metrics,
            cases,
            labels: vec![],
            flaky: (0, 0),
            advice: None,
        }],
        notes: vec![],
        gate: Gate::default(),
    }
}

fn failed(doc: &Document, options: &GateOptions) -> Vec<String> {
    gate(doc, options).failed
}

#[test]
fn no_rule_no_gate() {
    let d = doc(
        vec![metric(
            "pass_rate",
            -0.5,
            None,
            (-0.6, -0.4),
            0.001,
            "regressed",
        )],
        vec![row("x", "removed", Some("pass"), None)],
    );
    assert_eq!(gate(&d, &GateOptions::default()), Gate::default());
}

#[test]
fn each_rule_fails_on_one_document_and_holds_on_another() {
    let drop = metric("pass_rate", -0.10, None, (-0.15, -0.05), 0.001, "regressed");
    let flat = metric("pass_rate", -0.01, None, (-0.03, 0.01), 0.4, "no change");
    let dear = metric("cost_usd", 0.2, Some(1.2), (1.1, 1.3), 0.001, "regressed");
    let cheap = metric("cost_usd", 0.0, Some(1.05), (0.9, 1.2), 0.4, "no change");
    let slow = metric(
        "latency_ms_p95",
        5.0,
        Some(1.3),
        (1.2, 1.4),
        0.001,
        "regressed",
    );
    let bad = doc(
        vec![drop, dear, slow],
        vec![
            row("broken", "broken", Some("pass"), Some("fail")),
            row("destab", "destabilized", Some("pass"), Some("flaky")),
        ],
    );
    let good = doc(
        vec![flat, cheap],
        vec![row("same", "unchanged", Some("pass"), Some("pass"))],
    );
    let rules = [
        GateOptions {
            fail_on_regression: true,
            ..GateOptions::default()
        },
        GateOptions {
            fail_on_regression: true,
            metrics: vec!["cost_usd".to_owned()],
            ..GateOptions::default()
        },
        GateOptions {
            fail_on_broken: Some(Broken::Clean),
            ..GateOptions::default()
        },
        GateOptions {
            fail_on_broken: Some(Broken::Any),
            ..GateOptions::default()
        },
        GateOptions {
            max_drop: Some(0.05),
            ..GateOptions::default()
        },
        GateOptions {
            require_non_inferior: Some(0.05),
            ..GateOptions::default()
        },
        GateOptions {
            max_cost_increase: Some(0.1),
            ..GateOptions::default()
        },
        GateOptions {
            max_latency_increase: Some(0.2),
            ..GateOptions::default()
        },
    ];
    for options in rules {
        let f = failed(&bad, &options);
        assert_eq!(f.len(), 1, "{options:?}: {f:?}");
        assert!(failed(&good, &options).is_empty(), "{options:?}");
        assert_eq!(gate(&good, &options).rules.len(), 1);
    }
    let any = failed(
        &bad,
        &GateOptions {
            fail_on_broken: Some(Broken::Any),
            ..GateOptions::default()
        },
    );
    assert!(
        any[0].contains("2 cases went from pass to a failure in a → b (s::broken, s::destab)"),
        "{any:?}"
    );
    // A drop within the limit, or not significant, holds.
    let small = doc(
        vec![metric(
            "pass_rate",
            -0.10,
            None,
            (-0.2, 0.0),
            0.2,
            "inconclusive",
        )],
        vec![],
    );
    let max_drop = GateOptions {
        max_drop: Some(0.05),
        ..GateOptions::default()
    };
    assert!(failed(&small, &max_drop).is_empty());
}

#[test]
fn a_missing_case_fails_the_gate_unless_allowed() {
    let d = doc(
        vec![metric("pass_rate", 0.0, None, (0.0, 0.0), 1.0, "no change")],
        vec![
            row("gone", "removed", Some("pass"), None),
            row("dead", "broken", Some("pass"), Some("error")),
            row("new", "added", None, Some("pass")),
        ],
    );
    let gate_on = GateOptions {
        max_drop: Some(0.05),
        ..GateOptions::default()
    };
    let f = failed(&d, &gate_on);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].starts_with("missing: 2 cases"), "{f:?}");
    assert!(f[0].contains("s::gone, s::dead"), "{f:?}");
    let allowed = GateOptions {
        allow_missing: true,
        ..gate_on
    };
    assert!(failed(&d, &allowed).is_empty());
}
