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
//!   number of threads), p = (b + 1)/(R + 1) with b the draws at least as extreme. A draw of
//!   differences that share a magnitude counts random bits instead of adding terms
//!   ([`Patterns`]), which is what makes 200,000 draws over 10,000 rates fast. When
//!   Hoeffding's inequality already puts p below 1/(R + 1), nothing is drawn and p is the
//!   bound 2·exp(−(|T| − ε)²/(2Σdᵢ²)) ([`Method::Bound`]): a valid, conservative p.
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
    /// Hoeffding's inequality alone: p is its bound, below what any number of draws could show.
    Bound,
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
    // Each term ±|dᵢ| lies in an interval of width 2|dᵢ|, so Hoeffding's inequality bounds
    // P(|T*| ≥ t) by 2·exp(−t²/(2·Σdᵢ²)) for every q. Below 1/(R + 1), the smallest p the
    // draws can report, drawing would only confirm it: the bound is the (conservative) p.
    let reach = (target - tol).max(0.0);
    let bound = 2.0 * (-reach * reach / (2.0 * moved.iter().map(|x| x * x).sum::<f64>())).exp();
    if bound < 1.0 / (draws as f64 + 1.0) {
        return SignFlip {
            p: bound,
            p_mid: bound,
            nonzero: q,
            method: Method::Bound,
        };
    }
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

/// Draws computed side by side: the sums of independent draws are separate dependency chains,
/// so the processor overlaps their additions and table loads instead of waiting on each.
const LANES: usize = 8;

/// A magnitude shared by at least this many differences is drawn by counting bits.
const REPEATED: usize = 64;

/// How one random pattern is drawn and summed. A flip of dᵢ is a flip of |dᵢ| (the sign of
/// each term is what is drawn), so differences of one magnitude a (bit for bit: rates take few
/// values, 0.2, 0.4, …) form a group of n whose signed sum is a·(n − 2·c), c the set bits among
/// n random bits: a popcount per 64 cases. The other differences go eight at a time into a
/// table of their 256 signed sums, and one random byte picks a group's sum.
struct Patterns {
    /// The signed sums of each group of eight (the last padded with zeros), in input order.
    tables: Vec<[f64; 256]>,
    /// Each repeated magnitude and how many differences have it, in order of first appearance.
    repeated: Vec<(f64, usize)>,
    /// Random words per draw: ⌈tables/8⌉, then ⌈n/64⌉ per repeated magnitude.
    words: usize,
}

impl Patterns {
    fn new(values: &[f64]) -> Patterns {
        let mut counts: Vec<(u64, usize)> = Vec::new();
        let mut index = std::collections::HashMap::new();
        for x in values {
            let bits = x.abs().to_bits();
            let i = *index.entry(bits).or_insert_with(|| {
                counts.push((bits, 0));
                counts.len() - 1
            });
            counts[i].1 += 1;
        }
        let repeated: Vec<(f64, usize)> = counts
            .iter()
            .filter(|&&(_, n)| n >= REPEATED)
            .map(|&(bits, n)| (f64::from_bits(bits), n))
            .collect();
        let rest: Vec<f64> = values
            .iter()
            .copied()
            .filter(|x| {
                !repeated
                    .iter()
                    .any(|&(a, _)| a.to_bits() == x.abs().to_bits())
            })
            .collect();
        let tables: Vec<[f64; 256]> = rest
            .chunks(8)
            .map(|group| {
                let mut padded = [0.0; 8];
                padded[..group.len()].copy_from_slice(group);
                let mut table = [0.0; 256];
                table.copy_from_slice(&pattern_sums(&padded));
                table
            })
            .collect();
        let words =
            tables.len().div_ceil(8) + repeated.iter().map(|&(_, n)| n.div_ceil(64)).sum::<usize>();
        Patterns {
            tables,
            repeated,
            words,
        }
    }

    /// The signed sums of `sums.len()` draws whose words are `bits`, a draw after another:
    /// the table groups' sums in order, then each repeated magnitude's.
    fn sum<const N: usize>(&self, bits: &[u64], sums: &mut [f64; N]) {
        let words = self.words;
        for (i, table) in self.tables.iter().enumerate() {
            let (word, shift) = (i / 8, 8 * (i % 8));
            for (lane, sum) in sums.iter_mut().enumerate() {
                *sum += table[((bits[lane * words + word] >> shift) & 0xFF) as usize];
            }
        }
        let mut word = self.tables.len().div_ceil(8);
        for &(a, n) in &self.repeated {
            let used = n.div_ceil(64);
            for (lane, sum) in sums.iter_mut().enumerate() {
                let own = &bits[lane * words + word..][..used];
                let mut set = 0;
                for (j, w) in own.iter().enumerate() {
                    let live = (n - 64 * j).min(64);
                    let mask = if live == 64 {
                        u64::MAX
                    } else {
                        (1 << live) - 1
                    };
                    set += (w & mask).count_ones() as usize;
                }
                *sum += a * (n as f64 - 2.0 * set as f64);
            }
            word += used;
        }
    }
}

/// `(at least as extreme, tied)` over `draws` random patterns ([`Patterns`]): draw j of chunk c
/// takes the next `words` words of `SplitMix64::for_stream(seed, c)`. [`LANES`] draws are
/// summed together, each exactly as if alone (the test module's `one_draw_at_a_time` is the
/// definition, and must agree).
fn monte_carlo(values: &[f64], target: f64, tol: f64, seed: u64, draws: u64) -> (u64, u64) {
    let patterns = Patterns::new(values);
    let words = patterns.words;
    let chunks = draws.div_ceil(CHUNK);
    (0..chunks)
        .into_par_iter()
        .map(|chunk| {
            let mut rng = SplitMix64::for_stream(seed, chunk);
            let n = CHUNK.min(draws - chunk * CHUNK) as usize;
            let (mut ge, mut eq) = (0u64, 0u64);
            let mut bits = vec![0u64; LANES * words];
            let mut done = 0;
            while done < n {
                let lanes = LANES.min(n - done);
                for word in &mut bits[..lanes * words] {
                    *word = rng.next_u64();
                }
                let mut sums = [0.0f64; LANES];
                patterns.sum(&bits, &mut sums);
                for sum in &sums[..lanes] {
                    let t = sum.abs();
                    ge += u64::from(t >= target - tol);
                    eq += u64::from((t - target).abs() <= tol);
                }
                done += lanes;
            }
            (ge, eq)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

#[cfg(test)]
mod tests;
