//! The metrics of one comparison, from the matched cases' trials (`docs/reference/compare.md`,
//! "Metrics"): each is put together by [`super::stats`], and every one is always reported (a
//! metric no case can give is listed with a note).
//!
//! | name | per case | compared by |
//! | --- | --- | --- |
//! | `pass_rate` | passed / n | [`compare_rates`]: Δ, t interval, sign-flip p |
//! | `pass_at_k`, `pass_hat_k` | unbiased pass@k, pass^k at k = the smallest n of any case on either side | [`compare_means`], t interval |
//! | `tool_f1` | mean tool F1 of the trials that have one | [`compare_means`], case bootstrap |
//! | `llm_calls` | mean LLM calls | [`compare_means`], case bootstrap |
//! | `cost_usd` | mean cost of the priced trials | [`compare_ratios`]: geometric mean of per-case ratios |
//! | `latency_ms_p95` | the trials' durations, pooled | [`pooled_percentile`], case bootstrap |
//! | `input_tokens`, `output_tokens` | mean tokens | [`compare_ratios`] |

use rayon::prelude::*;

use super::document::{Advice, Metric};
use super::options::{CompareOptions, METRICS};
use super::stats::metric::{Interval, MetricStats, compare_means, compare_rates, compare_ratios};
use super::stats::multiplicity::holm;
use super::stats::paired::CaseCounts;
use super::stats::pooled::{Pooled, pooled_percentile};
use super::stats::verdict::{Better, Evidence, Rule, verdict};
use crate::metrics::passk::{pass_at_k, pass_hat_k};
use crate::report::schema::TrialResult;

/// One matched case: both sides' trials and pass counts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Matched<'a> {
    /// The base side's trials.
    pub(crate) base: &'a [&'a TrialResult],
    /// The new side's.
    pub(crate) new: &'a [&'a TrialResult],
    /// The base side's counts.
    pub(crate) base_counts: CaseCounts,
    /// The new side's.
    pub(crate) new_counts: CaseCounts,
}

/// A metric and what its verdict was read from, so that Holm's correction can re-judge it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Measured {
    /// The document's metric.
    pub(crate) metric: Metric,
    /// The evidence, direction and rule of its verdict; `None` for a metric with no case.
    pub(crate) judged: Option<(Evidence, Better, Rule)>,
}

/// Cost per trial: the report's, or repriced.
pub(crate) type CostOf<'a> = &'a (dyn Fn(&TrialResult) -> Option<f64> + Sync);

/// Every metric of one comparison, in [`super::options::METRICS`] order, and the
/// "trials or cases?" advice. The metrics are independent (each seeded alike), so they are
/// computed side by side: the result does not depend on the threads.
pub(crate) fn measure(
    cases: &[Matched<'_>],
    cost: CostOf<'_>,
    options: &CompareOptions,
) -> (Vec<Measured>, Option<Advice>) {
    let base: Vec<CaseCounts> = cases.iter().map(|c| c.base_counts).collect();
    let new: Vec<CaseCounts> = cases.iter().map(|c| c.new_counts).collect();
    let counts = (&base[..], &new[..]);
    let mut advice = None;
    let mut out = Vec::with_capacity(METRICS.len());
    let results: Vec<(Measured, Option<Advice>)> = METRICS
        .par_iter()
        .map(|name| one(name, cases, counts, cost, options))
        .collect();
    for (m, a) in results {
        advice = advice.or(a);
        out.push(m);
    }
    (out, advice)
}

/// The metric `name` (one of [`METRICS`]).
fn one(
    name: &str,
    cases: &[Matched<'_>],
    (base, new): (&[CaseCounts], &[CaseCounts]),
    cost: CostOf<'_>,
    options: &CompareOptions,
) -> (Measured, Option<Advice>) {
    let o = &options.stats;
    let per_case = |f: &dyn Fn(&TrialResult) -> Option<f64>| -> (Vec<f64>, Vec<f64>) {
        let mean = |trials: &[&TrialResult]| {
            let v: Vec<f64> = trials.iter().filter_map(|t| f(t)).collect();
            (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
        };
        cases
            .iter()
            .filter_map(|c| Some((mean(c.base)?, mean(c.new)?)))
            .unzip()
    };
    let k = cases
        .iter()
        .map(|c| c.base_counts.n.min(c.new_counts.n))
        .min()
        .unwrap_or(0);
    let uniform_k = cases
        .iter()
        .all(|c| c.base_counts.n == k && c.new_counts.n == k);
    let passk = |f: fn(u64, u64, u64) -> Option<f64>| {
        let values = |side: &[CaseCounts]| -> Option<Vec<f64>> {
            side.iter().map(|c| f(c.n, c.passed, k)).collect()
        };
        let stats = (k > 0)
            .then(|| Some((values(base)?, values(new)?)))
            .flatten()
            .and_then(|(a, b)| compare_means(&a, &b, Better::Higher, Interval::T, o));
        match stats {
            // The label says `pass@5` when every case has k trials a side; else which k.
            Some(s) => from_stats(name, &s, o.rule(), (!uniform_k).then(|| format!("k = {k}"))),
            None => absent(name, "no case has a trial on both sides"),
        }
    };
    let means = |f: &dyn Fn(&TrialResult) -> Option<f64>, better, why| {
        let (a, b) = per_case(f);
        match compare_means(&a, &b, better, Interval::Bootstrap, o) {
            Some(s) => from_stats(name, &s, o.rule(), None),
            None => absent(name, why),
        }
    };
    let tokens = |f: fn(&TrialResult) -> u64| {
        let (a, b) = per_case(&|t| Some(f(t) as f64));
        ratio(name, &a, &b, o, None, "no case used tokens on both sides")
    };
    let measured = match name {
        "pass_rate" => {
            return match compare_rates(base, new, o) {
                Some(rates) => (
                    from_stats(name, &rates.stats, o.rule(), None),
                    rates.split.and_then(|s| s.advice()).map(|a| Advice {
                        double_trials: a.double_trials,
                        double_cases: a.double_cases,
                    }),
                ),
                None => (absent(name, "no case to compare"), None),
            };
        }
        "pass_at_k" => passk(pass_at_k),
        "pass_hat_k" => passk(pass_hat_k),
        "tool_f1" => means(
            &|t| t.metrics.tool_f1,
            Better::Higher,
            "no case has expected tools (`expect.tools`)",
        ),
        "llm_calls" => means(
            &|t| Some(t.metrics.llm_calls as f64),
            Better::Lower,
            "no case to compare",
        ),
        "cost_usd" => {
            let (a, b) = per_case(&|t| cost(t));
            let unpriced = cases
                .iter()
                .flat_map(|c| c.base.iter().chain(c.new))
                .filter(|t| cost(t).is_none())
                .count();
            let note = (unpriced > 0).then(|| format!("{unpriced} unpriced trials left out"));
            ratio(name, &a, &b, o, note, "no case is priced on both sides")
        }
        "latency_ms_p95" => latency(cases, options),
        "input_tokens" => tokens(|t| t.metrics.input_tokens),
        "output_tokens" => tokens(|t| t.metrics.output_tokens),
        other => unreachable!("no metric `{other}`"),
    };
    (measured, None)
}

/// A metric compared as the geometric mean of per-case ratios.
fn ratio(
    name: &str,
    base: &[f64],
    new: &[f64],
    o: &super::stats::metric::Options,
    note: Option<String>,
    why_absent: &str,
) -> Measured {
    match compare_ratios(base, new, Better::Lower, o) {
        Some(s) => {
            let mut m = from_stats(name, &s, o.ratio_rule(), note);
            m.metric.cases = s.diff.cases;
            m
        }
        None => {
            let mut m = absent(name, why_absent);
            if let Some(n) = note {
                m.metric.note = Some(format!("{why_absent}; {n}"));
            }
            m
        }
    }
}

/// The pooled p95 of the trials' durations, by case bootstrap. Its MDE is read off the
/// interval: the half-width of the log interval scaled from a 1 − α/2 quantile to 80% power,
/// (z(1 − α/2) + z(0.8))/z(1 − α/2), as a relative change.
fn latency(cases: &[Matched<'_>], options: &CompareOptions) -> Measured {
    const NAME: &str = "latency_ms_p95";
    let micros = |trials: &[&TrialResult]| -> Vec<u64> {
        trials
            .iter()
            .map(|t| (t.duration_ms.max(0.0) * 1000.0).round() as u64)
            .collect()
    };
    let base: Vec<Vec<u64>> = cases.iter().map(|c| micros(c.base)).collect();
    let new: Vec<Vec<u64>> = cases.iter().map(|c| micros(c.new)).collect();
    let trials: usize = base.iter().chain(&new).map(Vec::len).sum();
    // Each resample pools every trial: keep the work near 2·10⁷ values on a large run.
    let resamples = options
        .latency_resamples
        .min((20_000_000 / trials.max(1)).max(200));
    let o = &options.stats;
    let Some(c) = pooled_percentile(&base, &new, Pooled::P95, o.alpha, o.seed, resamples) else {
        return absent(NAME, "no trial on one side");
    };
    let (b, n) = (c.base as f64 / 1000.0, c.new as f64 / 1000.0);
    if c.base == 0 || c.new == 0 || !c.ci.0.is_finite() || !c.ci.1.is_finite() || c.ci.0 <= 0.0 {
        return absent(NAME, "a side's p95 is 0 ms: no ratio");
    }
    let z = |p: f64| crate::metrics::interval::t_quantile(p, 1_000_000).unwrap_or(1.96);
    let (lo, hi) = (c.ci.0.ln(), c.ci.1.ln());
    let mde = (hi - lo) / 2.0 * (z(1.0 - o.alpha / 2.0) + z(0.8)) / z(1.0 - o.alpha / 2.0);
    let evidence = Evidence {
        effect: c.ratio.ln(),
        ci: Some((lo, hi)),
        p: c.p,
        mde: Some(mde),
    };
    let rule = o.ratio_rule();
    let v = verdict(&evidence, Better::Lower, &rule);
    Measured {
        metric: Metric {
            name: NAME.to_owned(),
            base: Some(b),
            new: Some(n),
            delta: Some(n - b),
            ratio: Some(c.ratio),
            ci95: Some(c.ci),
            p: c.p,
            p_mid: c.p,
            p_adjusted: None,
            verdict: v.as_str().to_owned(),
            mde: Some(mde.exp_m1()),
            cases: cases.len(),
            note: Some(format!("pooled over trials; {resamples} case resamples")),
        },
        judged: Some((evidence, Better::Lower, rule)),
    }
}

fn from_stats(name: &str, s: &MetricStats, rule: Rule, note: Option<String>) -> Measured {
    Measured {
        metric: Metric {
            name: name.to_owned(),
            base: Some(s.base),
            new: Some(s.new),
            delta: Some(s.delta),
            ratio: s.ratio,
            ci95: s.ci,
            p: s.test.p,
            p_mid: s.test.p_mid,
            p_adjusted: None,
            verdict: s.verdict.as_str().to_owned(),
            mde: s.mde,
            cases: s.diff.cases,
            note,
        },
        judged: Some((s.evidence, s.better, rule)),
    }
}

fn absent(name: &str, why: &str) -> Measured {
    Measured {
        metric: Metric {
            name: name.to_owned(),
            base: None,
            new: None,
            delta: None,
            ratio: None,
            ci95: None,
            p: 1.0,
            p_mid: 1.0,
            p_adjusted: None,
            verdict: "inconclusive".to_owned(),
            mde: None,
            cases: 0,
            note: Some(why.to_owned()),
        },
        judged: None,
    }
}

/// Holm's correction across the comparisons, metric by metric (the family of the gate): each
/// metric's `p_adjusted` is set and its verdict re-judged with it. Nothing changes with one
/// comparison.
pub(crate) fn adjust(comparisons: &mut [Vec<Measured>]) {
    if comparisons.len() < 2 {
        return;
    }
    let metrics = comparisons[0].len();
    for i in 0..metrics {
        let judged: Vec<usize> = (0..comparisons.len())
            .filter(|&c| comparisons[c].get(i).is_some_and(|m| m.judged.is_some()))
            .collect();
        let p: Vec<f64> = judged.iter().map(|&c| comparisons[c][i].metric.p).collect();
        for (&c, adjusted) in judged.iter().zip(holm(&p)) {
            let m = &mut comparisons[c][i];
            if let Some((evidence, better, rule)) = m.judged {
                let v = verdict(
                    &Evidence {
                        p: adjusted,
                        ..evidence
                    },
                    better,
                    &rule,
                );
                m.metric.p_adjusted = Some(adjusted);
                m.metric.verdict = v.as_str().to_owned();
            }
        }
    }
}
