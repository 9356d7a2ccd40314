//! One metric's comparison as `compare` reports it (`{base, new, delta, ratio, ci95, p, p_mid,
//! verdict, mde}`), put together from the parts: the per-side means, the paired difference, the
//! sign-flip test, an interval and the verdict rule.
//!
//! - pass rate: case-weighted per side, Δ with its t interval ([`compare_rates`]);
//! - pass@k, pass^k (per-case unbiased values): the same, from the values ([`compare_means`]
//!   with [`Interval::T`]);
//! - tool F1, LLM calls: per-case means, the interval by case bootstrap ([`Interval::Bootstrap`]);
//! - cost, latency, tokens: the geometric mean of per-case ratios ([`compare_ratios`]).

use super::bootstrap::RESAMPLES;
use super::bootstrap::{bootstrap_mean_difference, geometric_mean_ratio};
use super::paired::{
    CaseCounts, PairedDiff, SideMean, VarianceSplit, differences, mean, paired_difference,
    side_mean, side_rate, variance_split,
};
use super::signflip::{DRAWS, SignFlip, sign_flip};
use super::verdict::{Better, Evidence, Rule, Verdict, verdict};

/// The settings of a comparison (`compare`'s flags).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Options {
    /// Significance level; intervals are at 1 − α (`--alpha`, 0.05).
    pub(crate) alpha: f64,
    /// Smallest |Δ| of a rate or mean that counts (`--min-effect`, 0).
    pub(crate) min_effect: f64,
    /// MDE up to which "nothing found" is `no change` (`--resolution`, 0.05 = 5 pp).
    pub(crate) resolution: f64,
    /// `equivalent` margin for rates and means (`--equivalence-margin`, none).
    pub(crate) equivalence_margin: Option<f64>,
    /// The same three for ratios, relative (0.10 = 10%): min effect, resolution, margin.
    pub(crate) ratio_min_effect: f64,
    /// See `ratio_min_effect` (10%).
    pub(crate) ratio_resolution: f64,
    /// See `ratio_min_effect` (none).
    pub(crate) ratio_equivalence_margin: Option<f64>,
    /// The seed of every random choice (`--seed`).
    pub(crate) seed: u64,
    /// Bootstrap resamples.
    pub(crate) resamples: usize,
    /// Monte-Carlo draws of the sign-flip test beyond 20 moving cases.
    pub(crate) draws: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            alpha: 0.05,
            min_effect: 0.0,
            resolution: 0.05,
            equivalence_margin: None,
            ratio_min_effect: 0.0,
            ratio_resolution: 0.10,
            ratio_equivalence_margin: None,
            seed: 0,
            resamples: RESAMPLES,
            draws: DRAWS,
        }
    }
}

impl Options {
    /// The verdict rule for rates and means.
    pub(crate) fn rule(&self) -> Rule {
        Rule {
            alpha: self.alpha,
            min_effect: self.min_effect,
            resolution: self.resolution,
            equivalence_margin: self.equivalence_margin,
        }
    }

    /// The verdict rule for ratios, on the log scale.
    pub(crate) fn ratio_rule(&self) -> Rule {
        Rule {
            alpha: self.alpha,
            min_effect: self.ratio_min_effect.ln_1p(),
            resolution: self.ratio_resolution.ln_1p(),
            equivalence_margin: self.ratio_equivalence_margin.map(f64::ln_1p),
        }
    }
}

/// One metric compared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MetricStats {
    /// The base side's value (mean over cases; for ratios the mean over cases too).
    pub(crate) base: f64,
    /// The new side's value.
    pub(crate) new: f64,
    /// new − base in the metric's unit (a fraction for rates): the mean paired difference.
    pub(crate) delta: f64,
    /// The geometric-mean ratio new/base, for metrics compared as ratios.
    pub(crate) ratio: Option<f64>,
    /// The interval at 1 − α of `delta`, or of `ratio` when there is one.
    pub(crate) ci: Option<(f64, f64)>,
    /// The sign-flip test (of dᵢ, or of the log ratios).
    pub(crate) test: SignFlip,
    /// The MDE at 80% power: in the metric's unit, or for ratios as a relative change (0.1 =
    /// the comparison resolves ×1.1 and ×1/1.1).
    pub(crate) mde: Option<f64>,
    /// The paired difference the statistics rest on (of the log ratios, for ratios).
    pub(crate) diff: PairedDiff,
    /// Which way is better.
    pub(crate) better: Better,
    /// What the verdict rule read (effect, interval and MDE on the rule's scale).
    pub(crate) evidence: Evidence,
    /// The verdict with the test's own p.
    pub(crate) verdict: Verdict,
}

impl MetricStats {
    /// The verdict with another p in place of the test's (Holm-adjusted across the gate's
    /// family of pairs); `rule` is [`Options::rule`] or, for ratios, [`Options::ratio_rule`].
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "compare::measure re-judges from the kept evidence, which covers the pooled latency too"
        )
    )]
    pub(crate) fn verdict_with_p(&self, p: f64, rule: &Rule) -> Verdict {
        verdict(&Evidence { p, ..self.evidence }, self.better, rule)
    }
}

/// The pass rate compared: per-side clustered means and the paired statistics.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RateComparison {
    /// The base side's case-weighted pass rate.
    pub(crate) base: SideMean,
    /// The new side's.
    pub(crate) new: SideMean,
    /// Δ, its t interval, the test, the MDE, the verdict.
    pub(crate) stats: MetricStats,
    /// Trials or cases: where the spread of Δ comes from; `None` when k = 1 or m < 2.
    pub(crate) split: Option<VarianceSplit>,
}

/// Compares pass counts of the same cases (same order; every `n > 0`); `None` for no case.
pub(crate) fn compare_rates(
    base: &[CaseCounts],
    new: &[CaseCounts],
    options: &Options,
) -> Option<RateComparison> {
    assert_eq!(base.len(), new.len(), "paired counts of different cases");
    let rates = |side: &[CaseCounts]| side.iter().map(|c| c.rate()).collect::<Vec<_>>();
    let (a, b) = (rates(base), rates(new));
    let stats = compare_means(&a, &b, Better::Higher, Interval::T, options)?;
    Some(RateComparison {
        base: side_rate(&a, options.alpha)?,
        new: side_rate(&b, options.alpha)?,
        stats,
        split: variance_split(base, new),
    })
}

/// The interval of a mean difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    /// Δ ± t·SE_Δ (rates, pass@k, pass^k).
    T,
    /// The case bootstrap's percentile interval (continuous metrics).
    Bootstrap,
}

/// Compares per-case values of the same cases (same order) by their mean difference; `None`
/// for no case.
pub(crate) fn compare_means(
    base: &[f64],
    new: &[f64],
    better: Better,
    interval: Interval,
    options: &Options,
) -> Option<MetricStats> {
    let (a, b) = (
        side_mean(base, options.alpha)?,
        side_mean(new, options.alpha)?,
    );
    let diff = paired_difference(base, new, options.alpha);
    let test = sign_flip(&differences(base, new), options.seed, options.draws);
    let ci = match interval {
        Interval::T => diff.ci,
        Interval::Bootstrap => {
            bootstrap_mean_difference(base, new, options.alpha, options.seed, options.resamples)
        }
    };
    let evidence = Evidence {
        effect: diff.delta,
        ci,
        p: test.p,
        mde: diff.mde,
    };
    Some(MetricStats {
        base: a.mean,
        new: b.mean,
        delta: diff.delta,
        ratio: None,
        ci,
        test,
        mde: diff.mde,
        diff,
        better,
        evidence,
        verdict: verdict(&evidence, better, &options.rule()),
    })
}

/// Compares per-case values (≥ 0) of the same cases as the geometric mean of their ratios
/// new/base, cases with a 0 on either side left out; `None` when no case is left.
pub(crate) fn compare_ratios(
    base: &[f64],
    new: &[f64],
    better: Better,
    options: &Options,
) -> Option<MetricStats> {
    let ratio = geometric_mean_ratio(base, new, options.alpha, options.seed, options.resamples)?;
    let logs = &ratio.log_ratios;
    let zeros = vec![0.0; logs.len()];
    let diff = paired_difference(&zeros, logs, options.alpha);
    let test = sign_flip(logs, options.seed, options.draws);
    let evidence = Evidence {
        effect: diff.delta,
        ci: ratio.ci.map(|(lo, hi)| (lo.ln(), hi.ln())),
        p: test.p,
        mde: diff.mde,
    };
    Some(MetricStats {
        base: mean(base),
        new: mean(new),
        delta: mean(new) - mean(base),
        ratio: Some(ratio.ratio),
        ci: ratio.ci,
        test,
        mde: diff.mde.map(f64::exp_m1),
        diff,
        better,
        evidence,
        verdict: verdict(&evidence, better, &options.ratio_rule()),
    })
}
