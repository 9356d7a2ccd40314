//! Case-level paired bootstrap for continuous metrics (tokens, LLM calls, tool F1, cost,
//! latency): resample the m cases with replacement, keep each case's two sides together, and
//! take percentiles of the statistic over the resamples.
//!
//! The resampling is specified exactly so that anyone can reproduce an interval from the seed:
//! a [`SplitMix64`] stream seeded with `seed`; for each of the R resamples, m draws of
//! `below(m)` pick the cases, and the statistic is the mean of the picked values, summed in
//! draw order. The interval is the (α/2, 1 − α/2) percentiles of the R statistics, linearly
//! interpolated between order statistics (Hyndman and Fan's type 7, numpy's default).

use super::paired::{differences, mean};
use rayon::prelude::*;

use super::rng::SplitMix64;

/// Bootstrap resamples of the cases.
pub(crate) const RESAMPLES: usize = 10_000;

/// The percentile interval at level 1 − α of the mean of `values` over case resamples; `None`
/// for no value or no resample.
pub(crate) fn bootstrap_mean(
    values: &[f64],
    alpha: f64,
    seed: u64,
    resamples: usize,
) -> Option<(f64, f64)> {
    let m = values.len();
    if m == 0 || resamples == 0 {
        return None;
    }
    // Resample r reads the stream from position r·m: resamples run in parallel, LANES at a
    // time per thread so that their sums are separate dependency chains, each summed in draw
    // order exactly as one stream read from the start would be.
    const LANES: usize = 4;
    let mut means = vec![0.0; resamples];
    means
        .par_chunks_mut(LANES)
        .enumerate()
        .for_each(|(chunk, out)| {
            let first = (chunk * LANES) as u64;
            let mut rngs: [SplitMix64; LANES] = std::array::from_fn(|lane| {
                SplitMix64::at(seed, (first + lane as u64).wrapping_mul(m as u64))
            });
            let mut sums = [0.0f64; LANES];
            for _ in 0..m {
                for (sum, rng) in sums.iter_mut().zip(&mut rngs) {
                    *sum += values[rng.below(m)];
                }
            }
            for (mean, sum) in out.iter_mut().zip(sums) {
                *mean = sum / m as f64;
            }
        });
    means.sort_by(f64::total_cmp);
    Some((
        percentile(&means, alpha / 2.0),
        percentile(&means, 1.0 - alpha / 2.0),
    ))
}

/// The interval of the mean paired difference new − base ([`bootstrap_mean`] of dᵢ).
pub(crate) fn bootstrap_mean_difference(
    base: &[f64],
    new: &[f64],
    alpha: f64,
    seed: u64,
    resamples: usize,
) -> Option<(f64, f64)> {
    assert_eq!(base.len(), new.len(), "paired values of different cases");
    bootstrap_mean(&differences(base, new), alpha, seed, resamples)
}

/// The geometric mean of per-case ratios new/base, robust to one huge case.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Ratio {
    /// exp(mean of ln(newᵢ/baseᵢ)).
    pub(crate) ratio: f64,
    /// exp of the bootstrap interval of the mean log ratio; `None` without a usable case.
    pub(crate) ci: Option<(f64, f64)>,
    /// ln(newᵢ/baseᵢ) of the cases used, in case order: what the paired test is run on.
    pub(crate) log_ratios: Vec<f64>,
    /// Cases left out because a side is 0 (an unpriced trial's cost, a case with no tokens),
    /// where no ratio exists.
    pub(crate) skipped: usize,
}

/// The geometric-mean ratio of `new` to `base` (per-case values ≥ 0, same cases in the same
/// order) with its bootstrap interval; `None` when no case has both sides above 0.
pub(crate) fn geometric_mean_ratio(
    base: &[f64],
    new: &[f64],
    alpha: f64,
    seed: u64,
    resamples: usize,
) -> Option<Ratio> {
    assert_eq!(base.len(), new.len(), "paired values of different cases");
    let log_ratios: Vec<f64> = base
        .iter()
        .zip(new)
        .filter(|&(&a, &b)| a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite())
        .map(|(a, b)| (b / a).ln())
        .collect();
    if log_ratios.is_empty() {
        return None;
    }
    let ci =
        bootstrap_mean(&log_ratios, alpha, seed, resamples).map(|(lo, hi)| (lo.exp(), hi.exp()));
    Some(Ratio {
        ratio: mean(&log_ratios).exp(),
        ci,
        skipped: base.len() - log_ratios.len(),
        log_ratios,
    })
}

/// The `q` quantile of `sorted` (ascending, not empty) by linear interpolation between order
/// statistics: h = (n − 1)·q, x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋ + 1] − x[⌊h⌋]).
pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let Some(&next) = sorted.get(lo + 1) else {
        return sorted[lo];
    };
    sorted[lo] + (h - lo as f64) * (next - sorted[lo])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_like_numpy() {
        let x = [1.0, 2.0, 4.0, 8.0];
        // numpy.percentile([1, 2, 4, 8], [0, 25, 50, 97.5, 100]) = 1, 1.75, 3, 7.7, 8.
        assert_eq!(percentile(&x, 0.0), 1.0);
        assert_eq!(percentile(&x, 0.25), 1.75);
        assert_eq!(percentile(&x, 0.5), 3.0);
        assert!((percentile(&x, 0.975) - 7.7).abs() < 1e-12);
        assert_eq!(percentile(&x, 1.0), 8.0);
        assert_eq!(percentile(&[5.0], 0.3), 5.0);
    }

    #[test]
    fn the_bootstrap_repeats_for_a_seed_and_covers_the_mean() {
        let base: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i % 7) * 10.0).collect();
        let new: Vec<f64> = (0..40)
            .map(|i| base[i] + 5.0 + (i as f64).sqrt() / 3.0)
            .collect();
        let mean = (0..40).map(|i| 5.0 + (i as f64).sqrt() / 3.0).sum::<f64>() / 40.0;
        let a = bootstrap_mean_difference(&base, &new, 0.05, 7, RESAMPLES).unwrap();
        assert_eq!(
            a,
            bootstrap_mean_difference(&base, &new, 0.05, 7, RESAMPLES).unwrap()
        );
        let b = bootstrap_mean_difference(&base, &new, 0.05, 8, RESAMPLES).unwrap();
        assert_ne!(a, b);
        // dᵢ = 5 + √i/3 in [5, 7.09): the interval holds their mean and stays within them.
        assert!(
            a.0 > 5.0 && a.0 < mean && a.1 > mean && a.1 < 7.09,
            "{a:?} {mean}"
        );
        // No difference, no width.
        assert_eq!(
            bootstrap_mean_difference(&base, &base, 0.05, 7, 100),
            Some((0.0, 0.0))
        );
        assert_eq!(bootstrap_mean(&[], 0.05, 7, 100), None);
    }

    #[test]
    fn parallel_resamples_are_the_specified_stream() {
        // The definition: one stream from the seed, m draws per resample, summed in draw order.
        let values: Vec<f64> = (0..37).map(|i| f64::from(i * 7919 % 101) / 7.0).collect();
        for resamples in [1, 5, 4_003] {
            let mut rng = SplitMix64::new(9);
            let mut means: Vec<f64> = (0..resamples)
                .map(|_| {
                    let mut sum = 0.0;
                    for _ in 0..values.len() {
                        sum += values[rng.below(values.len())];
                    }
                    sum / values.len() as f64
                })
                .collect();
            means.sort_by(f64::total_cmp);
            let expected = (percentile(&means, 0.05), percentile(&means, 0.95));
            assert_eq!(bootstrap_mean(&values, 0.1, 9, resamples), Some(expected));
        }
    }

    #[test]
    fn ratios_are_geometric_means_of_usable_cases() {
        // Per-case ratios 2, 0.5 and 4: geometric mean (2 · 0.5 · 4)^(1/3) = 4^(1/3).
        let r = geometric_mean_ratio(&[1.0, 2.0, 1.0, 0.0], &[2.0, 1.0, 4.0, 3.0], 0.05, 1, 1_000)
            .unwrap();
        assert!(
            (r.ratio - 4f64.powf(1.0 / 3.0)).abs() < 1e-12,
            "{}",
            r.ratio
        );
        assert_eq!(r.skipped, 1);
        assert_eq!(r.log_ratios.len(), 3);
        let (lo, hi) = r.ci.unwrap();
        assert!(lo >= 0.5 - 1e-12 && hi <= 4.0 + 1e-12 && lo < r.ratio && r.ratio < hi);
        // One huge case moves a geometric mean far less than an arithmetic one.
        let base = [1.0; 10];
        let mut new = [1.1; 10];
        new[0] = 1000.0;
        let r = geometric_mean_ratio(&base, &new, 0.05, 1, 100).unwrap();
        assert!(r.ratio < 2.2, "{}", r.ratio);
        assert_eq!(geometric_mean_ratio(&[0.0], &[1.0], 0.05, 1, 100), None);
    }
}
