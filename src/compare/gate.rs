//! The gate (design A.4.7): rules read from the comparison document alone, each failed rule one
//! line. Without a rule there is no gate and `compare` exits 0 whatever it finds.
//!
//! | rule | fails when, for any comparison |
//! | --- | --- |
//! | `--fail-on-regression` | a metric of `--metric` (default `pass_rate`) has the verdict `regressed` (Holm-adjusted across comparisons) |
//! | `--fail-on-broken[=clean]` | a case is `broken` (pass → fail) |
//! | `--fail-on-broken=any` | a case is `broken` or `destabilized` (pass → anything else) |
//! | `--max-drop X` | Δ pass rate < −X and p < α |
//! | `--require-non-inferior X` | the interval's lower end of Δ pass rate < −X, or there is no interval |
//! | `--max-cost-increase P` | the cost ratio > 1 + P and p < α |
//! | `--max-latency-increase P` | the p95 latency ratio > 1 + P and p < α |
//! | any rule, without `--allow-missing` | a case is `removed`, or all its new trials errored |

use super::document::{CaseRow, Comparison, Document, Gate, Metric};
use super::options::{Broken, GateOptions};

/// The gate of `doc` under `options`: its rules as given and the ones that failed.
pub(crate) fn gate(doc: &Document, options: &GateOptions) -> Gate {
    let mut gate = Gate::default();
    if !options.active() {
        return gate;
    }
    let alpha = doc.alpha;
    let significant = |m: &Metric| m.p_adjusted.unwrap_or(m.p) < alpha;
    if options.fail_on_regression {
        let metrics = options.regression_metrics();
        gate.rules
            .push(format!("--fail-on-regression ({})", metrics.join(", ")));
        for c in &doc.comparisons {
            for m in c.metrics.iter().filter(|m| metrics.contains(&m.name)) {
                if m.verdict == "regressed" {
                    gate.failed.push(format!(
                        "--fail-on-regression: {} regressed in {} ({}, p = {})",
                        m.name,
                        pair(doc, c),
                        change(m),
                        p_text(m)
                    ));
                }
            }
        }
    }
    if let Some(broken) = options.fail_on_broken {
        let (flag, what, labels): (_, _, &[&str]) = match broken {
            Broken::Clean => ("--fail-on-broken", "from pass to fail", &["broken"]),
            Broken::Any => (
                "--fail-on-broken=any",
                "from pass to a failure",
                &["broken", "destabilized"],
            ),
        };
        gate.rules.push(flag.to_owned());
        for c in &doc.comparisons {
            let rows: Vec<&CaseRow> = c
                .cases
                .iter()
                .filter(|r| labels.contains(&r.label.as_str()))
                .collect();
            if !rows.is_empty() {
                gate.failed.push(format!(
                    "{flag}: {} went {what} in {} ({})",
                    cases_text(rows.len()),
                    pair(doc, c),
                    keys(&rows)
                ));
            }
        }
    }
    if let Some(x) = options.max_drop {
        gate.rules.push(format!("--max-drop {x}"));
        for c in &doc.comparisons {
            if let Some(m) = rate(c)
                && m.delta.is_some_and(|d| d < -x)
                && significant(m)
            {
                gate.failed.push(format!(
                    "--max-drop {x}: the pass rate fell by {:.1} pp in {} (p = {})",
                    -m.delta.unwrap_or(0.0) * 100.0,
                    pair(doc, c),
                    p_text(m)
                ));
            }
        }
    }
    if let Some(x) = options.require_non_inferior {
        gate.rules.push(format!("--require-non-inferior {x}"));
        for c in &doc.comparisons {
            let Some(m) = rate(c) else { continue };
            match m.ci95 {
                Some((lo, _)) if lo >= -x => {}
                Some((lo, _)) => gate.failed.push(format!(
                    "--require-non-inferior {x}: the interval of Δ pass rate reaches {:+.1} pp in {}, below −{:.1} pp",
                    lo * 100.0,
                    pair(doc, c),
                    x * 100.0
                )),
                None => gate.failed.push(format!(
                    "--require-non-inferior {x}: no interval of Δ pass rate in {} (fewer than two cases)",
                    pair(doc, c)
                )),
            }
        }
    }
    for (flag, limit, name, what) in [
        (
            "--max-cost-increase",
            options.max_cost_increase,
            "cost_usd",
            "cost",
        ),
        (
            "--max-latency-increase",
            options.max_latency_increase,
            "latency_ms_p95",
            "p95 latency",
        ),
    ] {
        let Some(p) = limit else { continue };
        let rule = format!("{flag} {}", percent(p));
        gate.rules.push(rule.clone());
        for c in &doc.comparisons {
            if let Some(m) = c.metrics.iter().find(|m| m.name == name)
                && let Some(ratio) = m.ratio
                && ratio > 1.0 + p
                && significant(m)
            {
                gate.failed.push(format!(
                    "{rule}: the {what} rose by {} in {} (p = {})",
                    percent(ratio - 1.0),
                    pair(doc, c),
                    p_text(m)
                ));
            }
        }
    }
    if !options.allow_missing {
        for c in &doc.comparisons {
            let rows: Vec<&CaseRow> = c
                .cases
                .iter()
                .filter(|r| {
                    r.label == "removed"
                        || r.new.as_ref().is_some_and(|n| n.class == "error")
                            && r.base.as_ref().is_some_and(|b| b.class != "error")
                })
                .collect();
            if !rows.is_empty() {
                gate.failed.push(format!(
                    "missing: {} of the base not in {} or all their trials errored ({}); a missing case is not a passing one: pass --allow-missing to accept",
                    cases_text(rows.len()),
                    pair(doc, c),
                    keys(&rows)
                ));
            }
        }
    }
    gate
}

fn rate(c: &Comparison) -> Option<&Metric> {
    c.metrics.iter().find(|m| m.name == "pass_rate")
}

/// `model careful → sloppy` or `base.json → new.json`.
pub(crate) fn pair(doc: &Document, c: &Comparison) -> String {
    let path = |i: usize| doc.inputs.get(i).map_or("?", |input| input.path.as_str());
    match (&c.base.model, &c.new.model) {
        (Some(a), Some(b)) if c.base.input == c.new.input => format!("{a} → {b}"),
        _ => format!("{} → {}", path(c.base.input), path(c.new.input)),
    }
}

fn change(m: &Metric) -> String {
    match (m.ratio, m.delta) {
        (Some(r), _) => format!("×{r:.2}"),
        (None, Some(d)) if m.name.starts_with("pass") => format!("Δ {:+.1} pp", d * 100.0),
        (None, Some(d)) => format!("Δ {d:+.3}"),
        _ => "no value".to_owned(),
    }
}

fn p_text(m: &Metric) -> String {
    format!("{:.3}", m.p_adjusted.unwrap_or(m.p))
}

fn percent(x: f64) -> String {
    let s = format!("{:.1}", x * 100.0);
    format!("{}%", s.trim_end_matches(".0"))
}

fn cases_text(n: usize) -> String {
    if n == 1 {
        "1 case".to_owned()
    } else {
        format!("{n} cases")
    }
}

/// The first five case keys, then how many more.
fn keys(rows: &[&CaseRow]) -> String {
    let mut names: Vec<String> = rows
        .iter()
        .take(5)
        .map(|r| match &r.model {
            Some(m) => format!("{}::{} ({m})", r.suite, r.case),
            None => format!("{}::{}", r.suite, r.case),
        })
        .collect();
    if rows.len() > 5 {
        names.push(format!("{} more", rows.len() - 5));
    }
    names.join(", ")
}

#[cfg(test)]
mod tests;
