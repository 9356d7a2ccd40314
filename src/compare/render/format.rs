//! Numbers and words both renderers print the same way: metric labels, values, intervals, p,
//! verdicts, case labels. Pure functions of the document's fields; escaping is the caller's.

use crate::compare::document::{Comparison, Input, Metric};
use crate::metrics::cost::format_usd;

/// How a metric's values read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// A fraction shown in percent, differences in percentage points.
    Rate,
    /// A score in [0, 1] (tool F1).
    Score,
    /// US dollars.
    Usd,
    /// Milliseconds.
    Ms,
    /// A count per trial (tokens, LLM calls).
    Count,
}

/// The unit of a metric, from its name.
pub(crate) fn unit(name: &str) -> Unit {
    match name {
        "pass_rate" | "pass_at_k" | "pass_hat_k" => Unit::Rate,
        "tool_f1" => Unit::Score,
        "cost_usd" => Unit::Usd,
        n if n.starts_with("latency_ms") => Unit::Ms,
        _ => Unit::Count,
    }
}

/// The label a person reads for a metric: `pass rate`, `pass@5`, `cost / trial`, ….
pub(crate) fn metric_label(name: &str, c: &Comparison) -> String {
    // pass@k names the k when both sides ran one k; the document has no per-metric k.
    let k = (c.k_base.0 == c.k_base.1 && c.k_base == c.k_new).then_some(c.k_base.0);
    let k = k.map_or("k".to_string(), |k| k.to_string());
    match name {
        "pass_rate" => "pass rate".into(),
        "pass_at_k" => format!("pass@{k}"),
        "pass_hat_k" => format!("pass^{k}"),
        "tool_f1" => "tool F1".into(),
        "llm_calls" => "LLM calls".into(),
        "cost_usd" => "cost / trial".into(),
        "input_tokens" => "input tokens".into(),
        "output_tokens" => "output tokens".into(),
        n => match n.strip_prefix("latency_ms_") {
            Some(q) => format!("latency {q}"),
            None => n.replace('_', " "),
        },
    }
}

/// A signed number with a real minus sign: `+4.5`, `−4.5`.
fn signed(v: f64, decimals: usize) -> String {
    let s = format!("{:.decimals$}", v.abs());
    // `−0.0` reads as a change; a value that rounds to zero gets a plus.
    if v < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("−{s}")
    } else {
        format!("+{s}")
    }
}

/// A count with as many decimals as it needs to show a change: `1234`, `12.5`, `1.25`.
fn count(v: f64) -> String {
    let a = v.abs();
    let decimals = if a >= 100.0 {
        0
    } else if a >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.decimals$}")
}

/// One side's value: `92.5%`, `0.98`, `$0.0012`, `25 ms`, `1234`; `—` when absent.
pub(crate) fn value(v: Option<f64>, unit: Unit) -> String {
    let Some(v) = v.filter(|v| v.is_finite()) else {
        return "—".into();
    };
    match unit {
        Unit::Rate => format!("{:.1}%", v * 100.0),
        Unit::Score => format!("{v:.2}"),
        Unit::Usd => format_usd(v),
        Unit::Ms => format!("{v:.0} ms"),
        Unit::Count => count(v),
    }
}

/// A difference in the metric's unit, signed: `−4.5 pp`, `+0.01`, `+$0.0002`, `+3 ms`.
fn delta_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Rate => format!("{} pp", signed(v * 100.0, 1)),
        Unit::Score => signed(v, 2),
        Unit::Usd => {
            let s = format_usd(v.abs());
            if v < 0.0 {
                format!("−{s}")
            } else {
                format!("+{s}")
            }
        }
        Unit::Ms => format!("{} ms", signed(v, 0)),
        Unit::Count => {
            let s = count(v.abs());
            if v < 0.0 {
                format!("−{s}")
            } else {
                format!("+{s}")
            }
        }
    }
}

/// The bounds of an interval of a difference, without the unit: `[−9.8, +0.8]`.
fn delta_bounds(lo: f64, hi: f64, unit: Unit) -> String {
    let f = |v: f64| match unit {
        Unit::Rate => signed(v * 100.0, 1),
        Unit::Score => signed(v, 2),
        Unit::Ms => signed(v, 0),
        Unit::Usd | Unit::Count => {
            let s = match unit {
                Unit::Usd => format_usd(v.abs()),
                _ => count(v.abs()),
            };
            if v < 0.0 {
                format!("−{s}")
            } else {
                format!("+{s}")
            }
        }
    };
    format!("[{}, {}]", f(lo), f(hi))
}

/// The Δ cell: `×1.17 [1.05, 1.31]` for a ratio, `−4.5 pp [−9.8, +0.8]` for a difference.
pub(crate) fn delta(m: &Metric) -> String {
    let unit = unit(&m.name);
    let ci = m.ci95.filter(|(lo, hi)| lo.is_finite() && hi.is_finite());
    if let Some(r) = m.ratio.filter(|r| r.is_finite()) {
        return match ci {
            Some((lo, hi)) => format!("×{r:.2} [{lo:.2}, {hi:.2}]"),
            None => format!("×{r:.2}"),
        };
    }
    match (m.delta.filter(|d| d.is_finite()), ci) {
        (Some(d), Some((lo, hi))) => {
            format!("{} {}", delta_value(d, unit), delta_bounds(lo, hi, unit))
        }
        (Some(d), None) => delta_value(d, unit),
        (None, _) => "—".into(),
    }
}

/// A p-value to 3 significant digits, `<0.001` below.
pub(crate) fn p_value(p: f64) -> String {
    if p.is_nan() {
        return "—".into();
    }
    if p < 0.001 {
        return "<0.001".into();
    }
    let decimals = (2 - p.log10().floor() as i32).clamp(2, 5) as usize;
    format!("{p:.decimals$}")
}

/// The p cell: the test's p, and Holm's adjustment when the verdict read that instead.
pub(crate) fn p_cell(m: &Metric) -> String {
    match m.p_adjusted {
        Some(adj) if adj != m.p => format!("{} (Holm {})", p_value(m.p), p_value(adj)),
        _ => p_value(m.p),
    }
}

/// What the verdict adds in brackets: the relative change of a significant ratio (`+17%`), the
/// resolution of an inconclusive one (`resolves ±7.4 pp`).
pub(crate) fn verdict_detail(m: &Metric) -> Option<String> {
    match m.verdict.as_str() {
        "regressed" | "improved" => {
            let r = m.ratio.filter(|r| r.is_finite())?;
            Some(format!("{}%", signed((r - 1.0) * 100.0, 0)))
        }
        "inconclusive" => Some(format!("resolves {}", resolution(m)?)),
        _ => None,
    }
}

/// The smallest detectable change: `±7.4 pp`, `±10%`, `±0.03`.
pub(crate) fn resolution(m: &Metric) -> Option<String> {
    let mde = m.mde.filter(|v| v.is_finite())?.abs();
    if m.ratio.is_some() {
        return Some(format!("±{:.0}%", mde * 100.0));
    }
    Some(match unit(&m.name) {
        Unit::Rate => format!("±{:.1} pp", mde * 100.0),
        Unit::Score => format!("±{mde:.2}"),
        Unit::Usd => format!("±{}", format_usd(mde)),
        Unit::Ms => format!("±{mde:.0} ms"),
        Unit::Count => format!("±{}", count(mde)),
    })
}

/// The interval's level from α: `95%` at 0.05, `90%` at 0.1, `97.5%` at 0.025.
pub(crate) fn level(alpha: f64) -> String {
    let pct = (1.0 - alpha) * 100.0;
    let s = format!("{pct:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// A fraction as a whole percentage: `0.11` → `11%`.
pub(crate) fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

/// A range of k: `5`, or `3–5`.
pub(crate) fn k_range((lo, hi): (u32, u32)) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}–{hi}")
    }
}

/// The date of an RFC 3339 timestamp (its first 10 characters when they look like one).
pub(crate) fn date(started_at: &str) -> &str {
    match started_at.get(..10) {
        Some(d) if d.as_bytes()[4] == b'-' && d.as_bytes()[7] == b'-' => d,
        _ => started_at,
    }
}

/// A commit shortened to 7 characters.
pub(crate) fn short_commit(commit: &str) -> &str {
    commit
        .char_indices()
        .nth(7)
        .map_or(commit, |(i, _)| &commit[..i])
}

/// A side as a person names it: its report's path, and its model when one is compared, each
/// part escaped by `escape` for the output at hand.
pub(crate) fn side_name(
    doc: &crate::compare::document::Document,
    side: &crate::compare::document::Side,
    escape: impl Fn(&str) -> String,
) -> String {
    let path = doc
        .inputs
        .get(side.input)
        .map_or(side.run_id.as_str(), |i| i.path.as_str());
    match &side.model {
        Some(m) => format!("{} ({})", escape(path), escape(m)),
        None => escape(path),
    }
}

/// `(base, 2026-11-20, 3f2c1a0)` without the brackets: the role, the date, the commit.
pub(crate) fn run_facts(role: &str, input: &Input) -> String {
    let mut s = format!("{role}, {}", date(&input.started_at));
    if let Some(c) = &input.git_commit {
        s.push_str(", ");
        s.push_str(short_commit(c));
    }
    s
}

/// `pricing 2026-11-15 both`, `pricing 2026-11-15 → 2026-12-01`, `no pricing`.
pub(crate) fn pricing(base: &Input, new: &Input) -> String {
    match (&base.pricing_date, &new.pricing_date) {
        (Some(a), Some(b)) if a == b => format!("pricing {a} both"),
        (None, None) => "no pricing".into(),
        (a, b) => format!(
            "pricing {} → {}",
            a.as_deref().unwrap_or("none"),
            b.as_deref().unwrap_or("none")
        ),
    }
}

/// The case labels in the order a reader wants them: the worst first.
pub(crate) const LABELS: [&str; 11] = [
    "broken",
    "degraded",
    "destabilized",
    "removed",
    "changed",
    "fixed",
    "partly fixed",
    "stabilized",
    "added",
    "flaky",
    "unchanged",
];

/// A label's place in [`LABELS`]; unknown labels sort after the known changes.
pub(crate) fn label_rank(label: &str) -> usize {
    LABELS.iter().position(|l| *l == label).unwrap_or(9)
}

/// Whether a label is good, bad or worth a look, for colours and emoji.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tone {
    /// Worse.
    Bad,
    /// Better.
    Good,
    /// Worth a look.
    Warn,
    /// Neither.
    Plain,
}

/// The tone of a case label.
pub(crate) fn label_tone(label: &str) -> Tone {
    match label {
        "broken" | "degraded" => Tone::Bad,
        "fixed" | "partly fixed" | "stabilized" => Tone::Good,
        "destabilized" | "flaky" | "removed" | "changed" => Tone::Warn,
        _ => Tone::Plain,
    }
}

/// The tone of a verdict.
pub(crate) fn verdict_tone(verdict: &str) -> Tone {
    match verdict {
        "regressed" => Tone::Bad,
        "improved" => Tone::Good,
        "inconclusive" => Tone::Warn,
        _ => Tone::Plain,
    }
}

/// `1 broken, 1 destabilized, 38 unchanged`.
pub(crate) fn label_counts(c: &Comparison) -> String {
    let parts: Vec<String> = c
        .labels
        .iter()
        .map(|l| format!("{} {}", l.count, l.label))
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// The advice line's words, without a prefix.
pub(crate) fn advice(c: &Comparison) -> Option<String> {
    let a = c.advice.as_ref()?;
    Some(format!(
        "doubling k narrows the pass-rate CI by {}, doubling the cases by {}",
        percent(a.double_trials),
        percent(a.double_cases)
    ))
}
