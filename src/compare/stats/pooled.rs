//! Pooled percentiles (a run's trial latency p95, as `run` reports it) compared by case
//! bootstrap: resample the cases, pool the picked cases' trial values on each side, and take
//! each side's percentile by the same nearest-rank selection `run` uses
//! (`metrics::percentile::Percentiles`). A percentile of pooled trials is not a mean of per-case
//! values, so neither the paired difference nor the sign-flip test applies; the interval and a
//! bootstrap p come from the resamples.
//!
//! Cost: each resample copies and partitions every trial value, R × N work (N trials), so the
//! caller picks R; the mean bootstrap's 10,000 is more than a large run needs here.

use crate::metrics::percentile::Percentiles;

use super::bootstrap::percentile;
use super::rng::SplitMix64;

/// Which pooled percentile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(
    not(test),
    expect(
        dead_code,
        reason = "compare reports p95 only; `--max-latency-increase P@p50|p99` will read the others"
    )
)]
pub(crate) enum Pooled {
    /// The median.
    P50,
    /// The 90th percentile.
    P90,
    /// The 95th percentile.
    P95,
    /// The 99th percentile.
    P99,
}

impl Pooled {
    fn of(self, values: Vec<u64>) -> Option<u64> {
        let p = Percentiles::of(values)?;
        Some(match self {
            Pooled::P50 => p.p50,
            Pooled::P90 => p.p90,
            Pooled::P95 => p.p95,
            Pooled::P99 => p.p99,
        })
    }
}

/// A pooled percentile compared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PooledComparison {
    /// The base side's percentile over all its trials.
    pub(crate) base: u64,
    /// The new side's.
    pub(crate) new: u64,
    /// new / base (1 when both are 0, infinite when only the base is).
    pub(crate) ratio: f64,
    /// The percentile interval at 1 − α of the ratio over case resamples.
    pub(crate) ci: (f64, f64),
    /// The bootstrap's two-sided p: 2·min of the shares of resampled ratios at or below 1 and
    /// at or above 1, each counted as (b + 1)/(R + 1), capped at 1.
    pub(crate) p: f64,
}

/// Compares the `which` percentile of the trial values of the same cases (per case, in the
/// same order, on both sides); `None` when a side has no value or `resamples` is 0.
pub(crate) fn pooled_percentile(
    base: &[Vec<u64>],
    new: &[Vec<u64>],
    which: Pooled,
    alpha: f64,
    seed: u64,
    resamples: usize,
) -> Option<PooledComparison> {
    assert_eq!(base.len(), new.len(), "paired cases of different lengths");
    if resamples == 0 {
        return None;
    }
    let pool = |side: &[Vec<u64>], picks: &mut dyn Iterator<Item = usize>| {
        let mut values = Vec::new();
        for i in picks {
            values.extend_from_slice(&side[i]);
        }
        values
    };
    let m = base.len();
    let b = which.of(pool(base, &mut (0..m)))?;
    let n = which.of(pool(new, &mut (0..m)))?;
    let mut rng = SplitMix64::new(seed);
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let picks: Vec<usize> = (0..m).map(|_| rng.below(m)).collect();
        let rb = which.of(pool(base, &mut picks.iter().copied()));
        let rn = which.of(pool(new, &mut picks.iter().copied()));
        // A resample of cases without trials on a side says nothing about the ratio.
        if let (Some(rb), Some(rn)) = (rb, rn) {
            ratios.push(ratio(rb, rn));
        }
    }
    if ratios.is_empty() {
        return None;
    }
    ratios.sort_by(f64::total_cmp);
    let share = |count: usize| (count as f64 + 1.0) / (ratios.len() as f64 + 1.0);
    let below = share(ratios.iter().filter(|&&r| r <= 1.0).count());
    let above = share(ratios.iter().filter(|&&r| r >= 1.0).count());
    Some(PooledComparison {
        base: b,
        new: n,
        ratio: ratio(b, n),
        ci: (
            percentile(&ratios, alpha / 2.0),
            percentile(&ratios, 1.0 - alpha / 2.0),
        ),
        p: (2.0 * below.min(above)).min(1.0),
    })
}

fn ratio(base: u64, new: u64) -> f64 {
    match (base, new) {
        (0, 0) => 1.0,
        (0, _) => f64::INFINITY,
        _ => new as f64 / base as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cases(m: u64, k: u64, scale: f64) -> Vec<Vec<u64>> {
        (0..m)
            .map(|i| {
                (0..k)
                    .map(|j| ((100 + 37 * i + 11 * j) as f64 * scale) as u64)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_pooled_percentile_is_runs_and_a_shift_is_seen() {
        let base = cases(40, 5, 1.0);
        let slower = cases(40, 5, 1.3);
        let c = pooled_percentile(&base, &slower, Pooled::P95, 0.05, 1, 500).unwrap();
        // Pooled nearest rank: the 190th of 200 values.
        let mut all: Vec<u64> = base.concat();
        all.sort_unstable();
        assert_eq!(c.base, all[189]);
        assert!((c.ratio - c.new as f64 / c.base as f64).abs() < 1e-15);
        assert!(c.ratio > 1.25 && c.ci.0 > 1.2 && c.ci.1 < 1.4, "{c:?}");
        assert!(c.p < 0.01, "{c:?}");
        assert_eq!(
            c,
            pooled_percentile(&base, &slower, Pooled::P95, 0.05, 1, 500).unwrap()
        );
        // Against itself: every resample's ratio is 1.
        for which in [Pooled::P50, Pooled::P90, Pooled::P95, Pooled::P99] {
            let same = pooled_percentile(&base, &base, which, 0.05, 1, 200).unwrap();
            assert_eq!(
                (same.ratio, same.ci, same.p),
                (1.0, (1.0, 1.0), 1.0),
                "{which:?}"
            );
        }
        assert_eq!(
            pooled_percentile(&[vec![]], &[vec![]], Pooled::P99, 0.05, 1, 10),
            None
        );
    }
}
