//! Plain-number doors into the statistics for the oracle test (`tests/it/stats_oracle.rs`),
//! which checks them against SciPy; re-exported as `traceval::__stats`, hidden, not an API.
//! Each goes through the same function `compare` calls, at α = 0.05.

use super::{bootstrap, exact, multiplicity, paired, signflip};

const ALPHA: f64 = 0.05;

/// The `p` quantile of Student's t with `df` degrees of freedom (NaN outside the domain).
pub fn t_quantile(p: f64, df: u64) -> f64 {
    crate::metrics::interval::t_quantile(p, df).unwrap_or(f64::NAN)
}

/// Exact McNemar `(p, mid_p)` of `up` and `down` discordant cases, computed as the sign-flip
/// test of `up` differences of +1 and `down` of −1 (k = 1).
pub fn mcnemar(up: usize, down: usize) -> (f64, f64) {
    let mut d = vec![1.0; up];
    d.extend(std::iter::repeat_n(-1.0, down));
    sign_flip(&d, 0)
}

/// The sign-flip test of paired differences `d`: `(p, mid_p)`.
pub fn sign_flip(d: &[f64], seed: u64) -> (f64, f64) {
    let t = signflip::sign_flip(d, seed, signflip::DRAWS);
    (t.p, t.p_mid)
}

/// Fisher's exact two-sided p of `a_pass`/`a_n` against `b_pass`/`b_n`.
pub fn fisher_exact(a_pass: u64, a_n: u64, b_pass: u64, b_n: u64) -> f64 {
    exact::fisher_exact(a_pass, a_n, b_pass, b_n)
}

/// `[mean, se, ci_low, ci_high]` of per-case values (t interval, not clipped; NaN where
/// undefined).
pub fn clustered_mean(values: &[f64]) -> [f64; 4] {
    let Some(side) = paired::side_mean(values, ALPHA) else {
        return [f64::NAN; 4];
    };
    let (lo, hi) = side.ci.unwrap_or((f64::NAN, f64::NAN));
    [side.mean, side.se.unwrap_or(f64::NAN), lo, hi]
}

/// `[delta, se, ci_low, ci_high, rho, mde]` of the paired difference `new − base`.
pub fn paired_difference(base: &[f64], new: &[f64]) -> [f64; 6] {
    let d = paired::paired_difference(base, new, ALPHA);
    let (lo, hi) = d.ci.unwrap_or((f64::NAN, f64::NAN));
    let nan = f64::NAN;
    [
        d.delta,
        d.se.unwrap_or(nan),
        lo,
        hi,
        d.rho.unwrap_or(nan),
        d.mde.unwrap_or(nan),
    ]
}

/// The case bootstrap's 95% percentile interval of the mean of `new − base`.
pub fn bootstrap_mean_difference(
    base: &[f64],
    new: &[f64],
    seed: u64,
    resamples: usize,
) -> (f64, f64) {
    bootstrap::bootstrap_mean_difference(base, new, ALPHA, seed, resamples)
        .unwrap_or((f64::NAN, f64::NAN))
}

/// `[ratio, ci_low, ci_high]`: the geometric mean of per-case ratios `new/base`.
pub fn geometric_mean_ratio(base: &[f64], new: &[f64], seed: u64, resamples: usize) -> [f64; 3] {
    match bootstrap::geometric_mean_ratio(base, new, ALPHA, seed, resamples) {
        Some(r) => {
            let (lo, hi) = r.ci.unwrap_or((f64::NAN, f64::NAN));
            [r.ratio, lo, hi]
        }
        None => [f64::NAN; 3],
    }
}

/// Benjamini–Hochberg q-values, in the order given.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    multiplicity::benjamini_hochberg(p)
}

/// Holm-adjusted p-values, in the order given.
pub fn holm(p: &[f64]) -> Vec<f64> {
    multiplicity::holm(p)
}
