//! Exact tests on counts: the two-sided binomial (sign) test with its mid-p, and Fisher's exact
//! test for one case's 2×2 table.
//!
//! Probabilities are formed in log space from [`ln_factorial`], so nothing overflows or
//! underflows before the final `exp`, whatever the counts (a binomial over 10,000 trials or a
//! table of 10,000 × 10,000 trials).

/// ln(n!): summed exactly below 32, else Stirling's series to n⁻⁷ (error below 1e-16 there).
pub(crate) fn ln_factorial(n: u64) -> f64 {
    if n < 32 {
        return (2..=n).map(|i| (i as f64).ln()).sum();
    }
    let x = n as f64;
    let (x2, x3) = (x * x, x * x * x);
    x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
        - 1.0 / (360.0 * x3)
        + 1.0 / (1260.0 * x3 * x2)
        - 1.0 / (1680.0 * x3 * x3 * x)
}

/// ln C(n, k) for k ≤ n.
pub(crate) fn ln_choose(n: u64, k: u64) -> f64 {
    ln_factorial(n) - ln_factorial(k) - ln_factorial(n - k)
}

/// The exact two-sided sign test of `up` against `down` discordant pairs (exact McNemar):
/// `(p, mid_p)` with B ~ Bin(up + down, ½) and s = min(up, down),
/// p = min(1, 2·P(B ≤ s)) and mid-p = min(1, 2·(P(B ≤ s) − ½·P(B = s))) (Lancaster's mid-p:
/// twice the one-sided mid-p, as in Fagerland, Lydersen and Laake 2013). Both are 1 when
/// `up == down`, including when there is no discordant pair at all.
pub(crate) fn sign_test(up: u64, down: u64) -> (f64, f64) {
    if up == down {
        return (1.0, 1.0);
    }
    let q = up + down;
    let s = up.min(down);
    let ln_half_q = -(q as f64) * std::f64::consts::LN_2;
    let pmf = |x: u64| (ln_choose(q, x) + ln_half_q).exp();
    // The terms grow with x up to s < q/2: summing upwards adds the smallest first.
    let tail: f64 = (0..=s).map(pmf).sum();
    let at = pmf(s);
    ((2.0 * tail).min(1.0), (2.0 * tail - at).min(1.0))
}

/// Fisher's exact test, two-sided, of `a_pass` of `a_n` trials against `b_pass` of `b_n`: the
/// total hypergeometric probability (margins fixed) of the tables no more likely than the one
/// observed, up to a relative 1e-7 so that tables equally likely in exact arithmetic count
/// alike (SciPy's `fisher_exact` uses the same rule). 1 when a margin is empty.
pub(crate) fn fisher_exact(a_pass: u64, a_n: u64, b_pass: u64, b_n: u64) -> f64 {
    assert!(
        a_pass <= a_n && b_pass <= b_n,
        "passes exceed trials: {a_pass}/{a_n}, {b_pass}/{b_n}"
    );
    let n = a_n + b_n;
    let passes = a_pass + b_pass;
    if a_n == 0 || b_n == 0 || passes == 0 || passes == n {
        return 1.0;
    }
    // x = passes on side A; x ranges over max(0, passes − b_n) ..= min(passes, a_n).
    let ln_total = ln_choose(n, passes);
    let ln_p = |x: u64| ln_choose(a_n, x) + ln_choose(b_n, passes - x) - ln_total;
    let observed = ln_p(a_pass);
    let threshold = observed + (1e-7f64).ln_1p();
    let lo = passes.saturating_sub(b_n);
    let hi = passes.min(a_n);
    let (mut p, mut left_out) = (0.0, false);
    for x in lo..=hi {
        let l = ln_p(x);
        if l <= threshold {
            p += l.exp();
        } else {
            left_out = true;
        }
    }
    // Every table counted: exactly 1, not a sum of roundings.
    if left_out { p.min(1.0) } else { 1.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcnemar_matches_the_reference_values() {
        // b = 9, c = 2: P(B ≤ 2) = (1 + 11 + 55)/2048, p = 67/1024; mid-p = (134 − 55)/2048.
        let (p, mid) = sign_test(9, 2);
        assert!((p - 67.0 / 1024.0).abs() < 1e-15, "{p}");
        assert!((mid - 79.0 / 2048.0).abs() < 1e-15, "{mid}");
        assert_eq!(sign_test(2, 9), (p, mid));
        assert!((p - 0.06543).abs() < 5e-6 && (mid - 0.03857).abs() < 5e-6);
        assert_eq!(sign_test(0, 0), (1.0, 1.0));
        assert_eq!(sign_test(4, 4), (1.0, 1.0));
        // 1 vs 0: P(B ≤ 0) = ½, p = 1, mid-p = 1 − ½ = ½.
        assert_eq!(sign_test(1, 0), (1.0, 0.5));
        // 10 vs 0: p = 2/1024.
        assert!((sign_test(10, 0).0 - 2.0 / 1024.0).abs() < 1e-16);
    }

    #[test]
    fn large_counts_neither_overflow_nor_lose_the_tail() {
        // 5,600 vs 4,400 of 10,000: z ≈ 12, p ≈ 1e-33, well inside f64.
        let (p, mid) = sign_test(5_600, 4_400);
        assert!(p > 0.0 && p < 1e-30 && mid < p, "{p} {mid}");
        // Near the middle the two-sided p is close to 1 and not above it.
        let (p, _) = sign_test(5_001, 4_999);
        assert!(p > 0.95 && p <= 1.0, "{p}");
    }

    #[test]
    fn ln_factorial_is_continuous_across_the_switch_to_stirling() {
        let exact = |n: u64| (2..=n).map(|i| (i as f64).ln()).sum::<f64>();
        for n in [32, 33, 50, 100, 1_000] {
            let (a, b) = (ln_factorial(n), exact(n));
            assert!((a - b).abs() < 1e-12 * b, "{n}: {a} {b}");
        }
        assert_eq!(ln_factorial(0), 0.0);
        assert_eq!(ln_factorial(1), 0.0);
    }

    #[test]
    fn fisher_matches_the_reference_values() {
        // 5/5 vs 0/5: only the observed table and its mirror, each 1/C(10, 5) = 1/252.
        let p = fisher_exact(5, 5, 0, 5);
        assert!((p - 2.0 / 252.0).abs() < 1e-15, "{p}");
        assert!((p - 0.00794).abs() < 5e-6);
        // 5/5 vs 2/5: tables with x = 5 (21/252) and x = 2 (21/252) → 42/252 = 1/6.
        let p = fisher_exact(5, 5, 2, 5);
        assert!((p - 1.0 / 6.0).abs() < 1e-14, "{p}");
        assert_eq!(fisher_exact(3, 5, 3, 5), 1.0);
        assert_eq!(fisher_exact(0, 5, 0, 5), 1.0);
        assert_eq!(fisher_exact(0, 0, 3, 5), 1.0);
        // Large tables stay finite.
        let p = fisher_exact(9_000, 10_000, 8_800, 10_000);
        assert!(p > 0.0 && p < 1e-4, "{p}");
    }
}
