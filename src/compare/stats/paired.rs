//! Case-level statistics of one side and of the paired difference (Miller 2024, "Adding Error
//! Bars to Evals", recommendations 2–5; the case is the cluster, its k trials the resamples).

use crate::metrics::interval::t_quantile;

/// One case's trials on one side: `passed` of `n` (errored trials count as failed; trials that
/// did not run are not in `n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CaseCounts {
    /// Trials that ran.
    pub(crate) n: u64,
    /// Trials that passed.
    pub(crate) passed: u64,
}

impl CaseCounts {
    /// The case's pass rate, `passed / n` (`n > 0`).
    pub(crate) fn rate(self) -> f64 {
        self.passed as f64 / self.n as f64
    }

    /// The unbiased estimate of the variance of [`rate`](Self::rate) over repeated runs of the
    /// case: p̂(1 − p̂)/(n − 1). `None` for a single trial, which cannot show its own spread.
    fn rate_variance(self) -> Option<f64> {
        (self.n >= 2).then(|| {
            let p = self.rate();
            p * (1.0 - p) / (self.n - 1) as f64
        })
    }
}

/// The mean of per-case values on one side, with its case-clustered standard error.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SideMean {
    /// The number of cases, m.
    pub(crate) cases: usize,
    /// The mean over cases (for rates: case-weighted, each case counts once whatever its k).
    pub(crate) mean: f64,
    /// sd/√m over cases (sd with m − 1); `None` below two cases.
    pub(crate) se: Option<f64>,
    /// mean ± t(1 − α/2, m − 1)·se, for rates clipped to [0, 1]; `None` below two cases.
    pub(crate) ci: Option<(f64, f64)>,
}

/// The case-weighted pass rate of one side from its per-case rates: with equal k it is
/// `passed / trials`, its standard error Inspect's clustered one with cluster = case, its
/// interval the t interval of `metrics::interval::clustered` (equal to it at α = 0.05).
/// `None` when there is no case.
pub(crate) fn side_rate(rates: &[f64], alpha: f64) -> Option<SideMean> {
    let mut side = side_mean(rates, alpha)?;
    side.ci = side
        .ci
        .map(|(lo, hi)| (lo.clamp(0.0, 1.0), hi.clamp(0.0, 1.0)));
    Some(side)
}

/// [`side_rate`] for values that are not rates (no clipping).
pub(crate) fn side_mean(values: &[f64], alpha: f64) -> Option<SideMean> {
    let m = values.len();
    if m == 0 {
        return None;
    }
    let mean = mean(values);
    let se = (m >= 2).then(|| (variance(values, mean) / m as f64).sqrt());
    let ci = se.and_then(|se| {
        let t = t_quantile(1.0 - alpha / 2.0, m as u64 - 1)?;
        Some((mean - t * se, mean + t * se))
    });
    Some(SideMean {
        cases: m,
        mean,
        se,
        ci,
    })
}

/// The paired difference of per-case values, new − base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PairedDiff {
    /// Matched cases, m.
    pub(crate) cases: usize,
    /// Δ = mean of dᵢ = newᵢ − baseᵢ.
    pub(crate) delta: f64,
    /// SE_Δ = sd(d)/√m; `None` below two cases.
    pub(crate) se: Option<f64>,
    /// Δ ± t(1 − α/2, m − 1)·SE_Δ; `None` below two cases.
    pub(crate) ci: Option<(f64, f64)>,
    /// Pearson's correlation of the two sides' per-case values (Miller's recommendation 4);
    /// `None` when either side does not vary.
    pub(crate) rho: Option<f64>,
    /// Cases with dᵢ > 0.
    pub(crate) up: usize,
    /// Cases with dᵢ < 0.
    pub(crate) down: usize,
    /// Cases with dᵢ = 0.
    pub(crate) equal: usize,
    /// The smallest |Δ| this comparison detects with 80% power at level α, from the observed
    /// paired spread: (t(1 − α/2, m − 1) + t(0.80, m − 1))·SE_Δ; `None` below two cases.
    pub(crate) mde: Option<f64>,
}

/// The paired difference of `base` and `new`, the per-case values of the same m cases in the
/// same order. Panics when their lengths differ (a caller's bug) or a value is not finite.
pub(crate) fn paired_difference(base: &[f64], new: &[f64], alpha: f64) -> PairedDiff {
    assert_eq!(base.len(), new.len(), "paired values of different cases");
    assert!(
        base.iter().chain(new).all(|x| x.is_finite()),
        "paired values must be finite"
    );
    let d: Vec<f64> = differences(base, new);
    let m = d.len();
    let delta = if m == 0 { 0.0 } else { mean(&d) };
    let se = (m >= 2).then(|| (variance(&d, delta) / m as f64).sqrt());
    let df = m.saturating_sub(1) as u64;
    let ci = se.and_then(|se| {
        let t = t_quantile(1.0 - alpha / 2.0, df)?;
        Some((delta - t * se, delta + t * se))
    });
    let mde =
        se.and_then(|se| Some((t_quantile(1.0 - alpha / 2.0, df)? + t_quantile(0.8, df)?) * se));
    PairedDiff {
        cases: m,
        delta,
        se,
        ci,
        rho: correlation(base, new),
        up: d.iter().filter(|&&x| x > 0.0).count(),
        down: d.iter().filter(|&&x| x < 0.0).count(),
        equal: d.iter().filter(|&&x| x == 0.0).count(),
        mde,
    }
}

/// dᵢ = newᵢ − baseᵢ.
pub(crate) fn differences(base: &[f64], new: &[f64]) -> Vec<f64> {
    base.iter().zip(new).map(|(a, b)| b - a).collect()
}

/// Where the variance of a case's paired difference comes from (Miller's recommendation 3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct VarianceSplit {
    /// The part due to each case's finite trials, mean of p̂(1 − p̂)/(n − 1) over both sides:
    /// halved by doubling k.
    pub(crate) within: f64,
    /// The part due to which cases the suite has, max(0, Var(dᵢ) − within): only more cases
    /// average it down.
    pub(crate) between: f64,
}

/// How much narrower the interval of Δ gets, as a fraction (0.29 = 29% narrower).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Advice {
    /// With every case's k doubled: 1 − √((between + within/2)/(between + within)).
    pub(crate) double_trials: f64,
    /// With twice the cases: 1 − 1/√2 (the t quantile's own change left out).
    pub(crate) double_cases: f64,
}

/// The variance split of the paired pass-rate difference of `base` and `new` (per case, same
/// order). The within part averages over cases with at least two trials on both sides (one
/// trial cannot show its spread); `None` when there is none or fewer than two cases.
pub(crate) fn variance_split(base: &[CaseCounts], new: &[CaseCounts]) -> Option<VarianceSplit> {
    assert_eq!(base.len(), new.len(), "paired counts of different cases");
    if base.len() < 2 {
        return None;
    }
    let within: Vec<f64> = base
        .iter()
        .zip(new)
        .filter_map(|(a, b)| Some(a.rate_variance()? + b.rate_variance()?))
        .collect();
    if within.is_empty() {
        return None;
    }
    let within = mean(&within);
    let rates = |side: &[CaseCounts]| side.iter().map(|c| c.rate()).collect::<Vec<_>>();
    let d = differences(&rates(base), &rates(new));
    let total = variance(&d, mean(&d));
    Some(VarianceSplit {
        within,
        between: (total - within).max(0.0),
    })
}

impl VarianceSplit {
    /// Whether to buy trials or cases; `None` when nothing varies.
    pub(crate) fn advice(&self) -> Option<Advice> {
        let total = self.between + self.within;
        (total > 0.0).then(|| Advice {
            double_trials: 1.0 - ((self.between + self.within / 2.0) / total).sqrt(),
            double_cases: 1.0 - std::f64::consts::FRAC_1_SQRT_2,
        })
    }
}

/// The mean of `values` (not empty).
pub(crate) fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// The sample variance (m − 1 in the denominator) of `values` around their `mean`.
fn variance(values: &[f64], mean: f64) -> f64 {
    values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (values.len() - 1) as f64
}

/// Pearson's correlation; `None` for fewer than two pairs or a side that does not vary.
fn correlation(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() < 2 {
        return None;
    }
    let (ma, mb) = (mean(a), mean(b));
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt()).clamp(-1.0, 1.0))
}

#[cfg(test)]
mod tests;
