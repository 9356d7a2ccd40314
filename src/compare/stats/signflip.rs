//! The paired test of every metric: the sign-flip permutation test of Σdᵢ.
//!
//! Under "no difference" each case's paired difference dᵢ = newᵢ − baseᵢ is as likely to have
//! either sign, so the reference distribution of T = Σdᵢ is that of Σ±|dᵢ| over the 2^q sign
//! patterns of the q nonzero differences. Cases with dᵢ = 0 contribute nothing under any
//! pattern and are left out. The test needs no normality and holds for any k: with k = 1 on
//! both sides every dᵢ is ±1 and it *is* the exact McNemar test.
//!
//! - no nonzero difference: p = mid-p = 1;
//! - every |dᵢ| equal (k = 1, or every moving case moved by the same amount): T counts the
//!   positive signs, Bin(q, ½) — the exact sign test of [`exact::sign_test`] for any q;
//! - q ≤ [`EXACT_MAX_CASES`]: all 2^q patterns, exactly;
//! - else `draws` patterns drawn from the seed (SplitMix64, in chunks of [`CHUNK`] draws with a
//!   stream each, run in parallel; the counts are integers, so the result is the same on any
//!   number of threads), p = (b + 1)/(R + 1) with b the draws at least as extreme.
//!
//! "At least as extreme" is |T*| ≥ |T| − ε with ε = 1e-9·Σ|dᵢ|: the differences are fractions
//! such as 1/3 − 1/5, and two patterns equal in exact arithmetic must not be told apart by
//! rounding. The mid-p is twice the one-sided mid-p, P(|T*| > |T|) + ½·P(|T*| = |T|) when
//! T ≠ 0 and 1 when T = 0, which at k = 1 is the mid-p McNemar test.

use rayon::prelude::*;

use super::exact;
use super::rng::SplitMix64;

/// The largest number of nonzero differences whose 2^q sign patterns are all enumerated.
pub(crate) const EXACT_MAX_CASES: usize = 20;
/// Monte-Carlo draws when the patterns are too many to enumerate.
pub(crate) const DRAWS: u64 = 200_000;
/// Draws per random stream.
pub(crate) const CHUNK: u64 = 10_000;

/// How a p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    /// No case differs.
    NoDifference,
    /// Every nonzero difference has the same size: the exact binomial (sign) test.
    Binomial,
    /// Every sign pattern enumerated.
    Enumerated,
    /// This many seeded random patterns.
    MonteCarlo {
        /// The number of random patterns.
        draws: u64,
    },
}

/// The result of the sign-flip test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SignFlip {
    /// Two-sided p-value.
    pub(crate) p: f64,
    /// Two-sided mid-p-value (never above `p`).
    pub(crate) p_mid: f64,
    /// The number of nonzero differences, q.
    pub(crate) nonzero: usize,
    /// How `p` was computed.
    pub(crate) method: Method,
}

/// The sign-flip test of the paired differences `d` (finite; the order does not matter beyond
/// rounding), with `draws` random patterns from `seed` when q > [`EXACT_MAX_CASES`].
pub(crate) fn sign_flip(d: &[f64], seed: u64, draws: u64) -> SignFlip {
    assert!(
        d.iter().all(|x| x.is_finite()),
        "paired differences must be finite"
    );
    let moved: Vec<f64> = d.iter().copied().filter(|&x| x != 0.0).collect();
    let q = moved.len();
    let t: f64 = moved.iter().sum();
    let scale: f64 = moved.iter().map(|x| x.abs()).sum();
    let tol = 1e-9 * scale;
    // T = 0 is the least extreme value there is: p = 1 under any set of patterns.
    if q == 0 || t.abs() <= tol {
        let method = if q == 0 {
            Method::NoDifference
        } else {
            Method::Enumerated
        };
        return SignFlip {
            p: 1.0,
            p_mid: 1.0,
            nonzero: q,
            method,
        };
    }
    let first = moved[0].abs();
    if moved
        .iter()
        .all(|x| (x.abs() - first).abs() <= 1e-12 * first)
    {
        let up = moved.iter().filter(|&&x| x > 0.0).count() as u64;
        let (p, p_mid) = exact::sign_test(up, q as u64 - up);
        return SignFlip {
            p,
            p_mid,
            nonzero: q,
            method: Method::Binomial,
        };
    }
    let target = t.abs();
    if q <= EXACT_MAX_CASES {
        let (ge, eq) = enumerate(&moved, target, tol);
        let total = (1u64 << q) as f64;
        let p = ge as f64 / total;
        let p_mid = (ge as f64 - eq as f64 / 2.0) / total;
        return SignFlip {
            p: p.min(1.0),
            p_mid: p_mid.min(1.0),
            nonzero: q,
            method: Method::Enumerated,
        };
    }
    let draws = draws.max(1);
    let (ge, eq) = monte_carlo(&moved, target, tol, seed, draws);
    // The observed pattern is one of the draws at least as extreme, and one of the ties.
    let denom = draws as f64 + 1.0;
    let p = (ge as f64 + 1.0) / denom;
    let p_mid = (ge as f64 + 0.5 - eq as f64 / 2.0) / denom;
    SignFlip {
        p: p.min(1.0),
        p_mid: p_mid.min(1.0),
        nonzero: q,
        method: Method::MonteCarlo { draws },
    }
}

/// The signed sums of `values` under every sign pattern (bit j set: value j negated).
fn pattern_sums(values: &[f64]) -> Vec<f64> {
    let mut sums = vec![0.0];
    for &x in values {
        let plus = sums.iter().map(|s| s + x);
        let minus = sums.iter().map(|s| s - x);
        sums = plus.chain(minus).collect();
    }
    sums
}

/// `(at least as extreme, tied)` over all 2^q patterns: sums of the two halves' patterns are
/// formed once each, so each of the 2^q totals is a single addition (2^20 of them at most).
fn enumerate(values: &[f64], target: f64, tol: f64) -> (u64, u64) {
    let (low, high) = values.split_at(values.len() / 2);
    let (low, high) = (pattern_sums(low), pattern_sums(high));
    let (mut ge, mut eq) = (0u64, 0u64);
    for h in &high {
        for l in &low {
            let t = (h + l).abs();
            ge += u64::from(t >= target - tol);
            eq += u64::from((t - target).abs() <= tol);
        }
    }
    (ge, eq)
}

/// `(at least as extreme, tied)` over `draws` random patterns. The values are taken eight at a
/// time: a table per group holds its 256 signed sums, so one random byte picks a group's sum.
fn monte_carlo(values: &[f64], target: f64, tol: f64, seed: u64, draws: u64) -> (u64, u64) {
    let tables: Vec<Vec<f64>> = values
        .chunks(8)
        .map(|group| {
            let mut padded = [0.0; 8];
            padded[..group.len()].copy_from_slice(group);
            pattern_sums(&padded)
        })
        .collect();
    let chunks = draws.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut rng = SplitMix64::for_stream(seed, chunk);
            let n = CHUNK.min(draws - chunk * CHUNK);
            let (mut ge, mut eq) = (0u64, 0u64);
            for _ in 0..n {
                let mut t = 0.0;
                let mut bits = 0u64;
                for (i, table) in tables.iter().enumerate() {
                    if i % 8 == 0 {
                        bits = rng.next_u64();
                    }
                    t += table[(bits & 0xFF) as usize];
                    bits >>= 8;
                }
                let t = t.abs();
                ge += u64::from(t >= target - tol);
                eq += u64::from((t - target).abs() <= tol);
            }
            (ge, eq)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[cfg(test)]
mod tests;
