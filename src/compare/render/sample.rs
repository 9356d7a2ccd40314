//! Hand-built comparison documents for the renderers' tests.

use crate::compare::document::{
    Advice, Behaviour, CaseRow, CaseSide, Comparison, Document, FORMAT_VERSION, Gate, Input, KIND,
    LabelCount, Metric, Note, Side, Variant, Variants,
};

/// One side of a case from its strip (`●` passed).
pub(crate) fn side(strip: &str) -> CaseSide {
    let n = strip.chars().count() as u32;
    let passed = strip.chars().filter(|c| *c == '●').count() as u32;
    let errored = strip.chars().filter(|c| *c == '✕').count() as u32;
    let class = if errored == n {
        "error"
    } else if passed == n {
        "pass"
    } else if passed == 0 {
        "fail"
    } else {
        "flaky"
    };
    CaseSide {
        passed,
        n,
        class: class.into(),
        strip: strip.into(),
    }
}

/// A case row; `base`/`new` strips, empty for an absent side.
pub(crate) fn case(suite: &str, id: &str, label: &str, base: &str, new: &str) -> CaseRow {
    let moved = !matches!(label, "unchanged" | "flaky");
    CaseRow {
        suite: suite.into(),
        case: id.into(),
        model: None,
        base: (!base.is_empty()).then(|| side(base)),
        new: (!new.is_empty()).then(|| side(new)),
        label: label.into(),
        fisher_p: (moved && !base.is_empty() && !new.is_empty()).then_some(0.00794),
        q: (moved && !base.is_empty() && !new.is_empty()).then_some(0.0159),
        significant: matches!(label, "broken" | "fixed"),
        behaviour: moved.then(|| Behaviour {
            summary: format!("tools: get_weather×2 → get_weather×1 ({label})"),
            tools: Variants {
                base: vec![Variant {
                    value: "get_weather → get_weather".into(),
                    count: 5,
                }],
                new: vec![Variant {
                    value: "get_weather".into(),
                    count: 5,
                }],
            },
            shapes: Variants::default(),
            llm_calls: (3.0, 2.0),
            retries: (0.0, 0.0),
            error_spans: (0.0, 1.0),
            tokens: (1200.0, 900.0),
        }),
    }
}

/// A metric with the fields the renderers read.
pub(crate) fn metric(name: &str, base: f64, new: f64, verdict: &str) -> Metric {
    let ratio = matches!(
        name,
        "cost_usd" | "latency_ms_p95" | "input_tokens" | "output_tokens"
    );
    let delta = new - base;
    Metric {
        name: name.into(),
        base: Some(base),
        new: Some(new),
        delta: Some(delta),
        ratio: ratio.then(|| new / base),
        ci95: Some(if ratio {
            (new / base * 0.9, new / base * 1.1)
        } else {
            (delta - 0.05, delta + 0.05)
        }),
        p: if verdict == "no change" { 1.0 } else { 0.0312 },
        p_mid: 0.02,
        p_adjusted: None,
        verdict: verdict.into(),
        mde: Some(if ratio { 0.12 } else { 0.074 }),
        cases: 40,
        note: None,
    }
}

/// The label counts of some rows, in [`super::format::LABELS`] order.
pub(crate) fn labels(cases: &[CaseRow]) -> Vec<LabelCount> {
    super::format::LABELS
        .iter()
        .filter_map(|l| {
            let count = cases.iter().filter(|c| c.label == *l).count();
            (count > 0).then(|| LabelCount {
                label: (*l).into(),
                count,
            })
        })
        .collect()
}

/// A comparison of input 0 against `new` with these cases.
pub(crate) fn comparison(new: usize, run_id: &str, cases: Vec<CaseRow>) -> Comparison {
    Comparison {
        base: Side {
            run_id: "01base".into(),
            input: 0,
            model: Some("careful".into()),
        },
        new: Side {
            run_id: run_id.into(),
            input: new,
            model: Some("careful".into()),
        },
        matched: cases
            .iter()
            .filter(|c| c.base.is_some() && c.new.is_some())
            .count(),
        k_base: (5, 5),
        k_new: (5, 5),
        metrics: Vec::new(),
        labels: labels(&cases),
        flaky: (3, 4),
        advice: Some(Advice {
            double_trials: 0.11,
            double_cases: 0.29,
        }),
        cases,
    }
}

/// An input.
pub(crate) fn input(path: &str, run_id: &str, day: u32, commit: &str) -> Input {
    Input {
        path: path.into(),
        run_id: run_id.into(),
        started_at: format!("2026-11-{day:02}T10:00:00Z"),
        git_commit: Some(commit.into()),
        pricing_date: Some("2026-11-15".into()),
        models: vec!["careful".into()],
    }
}

/// A document of these inputs and comparisons, no notes, no gate.
pub(crate) fn document(inputs: Vec<Input>, comparisons: Vec<Comparison>) -> Document {
    Document {
        kind: KIND.into(),
        format_version: FORMAT_VERSION,
        traceval_version: "0.1.0".into(),
        seed: 42,
        alpha: 0.05,
        inputs,
        comparisons,
        notes: Vec::new(),
        gate: Gate::default(),
    }
}

/// Two comparisons, every label, every verdict, notes, a metric note and a failed gate.
pub(crate) fn representative() -> Document {
    let first = vec![
        case("weather", "two-cities", "broken", "●●●●●", "○○○○○"),
        case("weather", "rain", "degraded", "●○●●○", "○○○○○"),
        case(
            "support",
            "delete-account",
            "destabilized",
            "●●●●●",
            "●○●●○",
        ),
        case("support", "refund", "removed", "●●●●●", ""),
        case("support", "escalate", "changed", "●●●●●", "●●●●●"),
        case("weather", "snow", "fixed", "○○○○○", "●●●●●"),
        case("weather", "fog", "partly fixed", "○○○○○", "●○○●○"),
        case("weather", "wind", "stabilized", "●○●●○", "●●●●●"),
        case("weather", "hail", "added", "", "●●●●●"),
        case("weather", "tokyo", "flaky", "●○●●○", "●●○○○"),
        case("weather", "paris", "unchanged", "●●●●●", "●●●●●"),
        case("weather", "london", "unchanged", "✕✕✕✕✕", "✕✕✕✕✕"),
    ];
    let mut a = comparison(1, "01new", first);
    a.metrics = vec![
        metric("pass_rate", 0.925, 0.88, "inconclusive"),
        metric("pass_at_k", 0.95, 0.95, "no change"),
        metric("pass_hat_k", 0.80, 0.70, "regressed"),
        metric("tool_f1", 0.98, 0.97, "equivalent"),
        metric("llm_calls", 3.2, 2.9, "improved"),
        metric("cost_usd", 0.0012, 0.0014, "regressed"),
        metric("latency_ms_p95", 25.0, 26.0, "no change"),
        metric("input_tokens", 1200.0, 1100.0, "improved"),
        metric("output_tokens", 310.0, 300.0, "inconclusive"),
    ];
    a.metrics[5].note = Some("2 trials unpriced".into());
    a.metrics[0].p_adjusted = Some(0.0624);
    let second = vec![
        case("weather", "two-cities", "fixed", "○○○○○", "●●●●●"),
        case("weather", "paris", "unchanged", "●●●●●", "●●●●●"),
    ];
    let mut b = comparison(2, "01other", second);
    b.k_new = (3, 5);
    b.advice = None;
    b.metrics = vec![
        metric("pass_rate", 0.5, 1.0, "improved"),
        metric("cost_usd", 0.0012, 0.0011, "no change"),
    ];
    let mut doc = document(
        vec![
            input("reports/base.json", "01base", 20, "3f2c1a0aaaaaaa"),
            input("reports/new.json", "01new", 21, "9b7e004bbbbbbb"),
            input("reports/other.json", "01other", 22, "cccccccccc"),
        ],
        vec![a, b],
    );
    doc.notes = vec![Note {
        kind: "models_aligned".into(),
        message: "each side has one model: cases paired on (suite, case)".into(),
    }];
    doc.gate = Gate {
        rules: vec![
            "--fail-on-regression".into(),
            "--max-cost-increase 10%".into(),
        ],
        failed: vec![
            "--fail-on-regression: pass^5 regressed (01new)".into(),
            "--max-cost-increase 10%: cost ×1.17 (01new)".into(),
        ],
    };
    doc
}

/// One comparison of `n` cases: a few of every moving label, the rest unchanged.
pub(crate) fn large(n: usize) -> Document {
    let moving = [
        "broken",
        "degraded",
        "destabilized",
        "removed",
        "fixed",
        "added",
    ];
    let cases = (0..n)
        .map(|i| {
            let label = if i % 10 == 0 {
                moving[(i / 10) % moving.len()]
            } else {
                "unchanged"
            };
            let (base, new) = match label {
                "removed" => ("●●●●●", ""),
                "added" => ("", "●●●●●"),
                "fixed" => ("○○○○○", "●●●●●"),
                "broken" => ("●●●●●", "○○○○○"),
                _ => ("●●●●●", "●○●●○"),
            };
            case("suite", &format!("case-{i:05}"), label, base, new)
        })
        .collect();
    let mut c = comparison(1, "01new", cases);
    c.metrics = vec![metric("pass_rate", 0.9, 0.85, "regressed")];
    document(
        vec![
            input("base.json", "01base", 20, "aaaaaaa"),
            input("new.json", "01new", 21, "bbbbbbb"),
        ],
        vec![c],
    )
}

/// Model mode: two models of one run, `careful` the baseline.
pub(crate) fn models() -> Document {
    let mut c = comparison(
        0,
        "01base",
        vec![
            case("demo", "greet", "destabilized", "●●●", "●○●"),
            case("demo", "math", "unchanged", "●●●", "●●●"),
        ],
    );
    c.new.model = Some("sloppy".into());
    c.k_base = (3, 3);
    c.k_new = (3, 3);
    c.metrics = vec![metric("pass_rate", 1.0, 0.83, "inconclusive")];
    document(
        vec![input("report.json", "01base", 20, "abcdef0123")],
        vec![c],
    )
}
