//! pass@k and pass^k for one case (`docs/reference/metrics.md#passk-and-passk`).
//!
//! With `n` trials of which `c` passed, drawing `k` of them without replacement:
//! - pass@k = 1 − C(n−c, k) / C(n, k): the chance that at least one of the k passed;
//! - pass^k = C(c, k) / C(n, k): the chance that all k passed.
//!
//! Both ratios of binomials are computed as running products of factors in [0, 1]
//! (C(m, k) / C(n, k) = Π_{i<k} (m − i) / (n − i)), so nothing overflows and no factorial is
//! formed, whatever n is. Edges that are exact in theory are returned exactly: 0 when no trial
//! passed, 1 when fewer than k trials failed, and so on.

use std::collections::BTreeMap;

/// pass@k = 1 − C(n−c, k) / C(n, k).
///
/// `None` (the metric is absent) when `k == 0`, `k > n`, or `c > n`.
pub(crate) fn pass_at_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if !valid(n, c, k) {
        return None;
    }
    Some(1.0 - ratio(n - c, n, k))
}

/// pass^k = C(c, k) / C(n, k).
///
/// `None` (the metric is absent) when `k == 0`, `k > n`, or `c > n`.
pub(crate) fn pass_hat_k(n: u64, c: u64, k: u64) -> Option<f64> {
    if !valid(n, c, k) {
        return None;
    }
    Some(ratio(c, n, k))
}

/// pass@k for every k in `1..=n`, as the report's map from k to value.
///
/// Each value equals [`pass_at_k`]`(n, c, k)` bit for bit: the table extends the same running
/// product one factor per k, in the same order, so the whole table costs O(n), not O(n²).
/// Empty when `n == 0` or `c > n`.
pub(crate) fn pass_at_k_table(n: u64, c: u64) -> BTreeMap<u64, f64> {
    table(n, c, n.saturating_sub(c))
        .map(|(k, r)| (k, 1.0 - r))
        .collect()
}

/// pass^k for every k in `1..=n`, as the report's map from k to value.
///
/// Each value equals [`pass_hat_k`]`(n, c, k)` bit for bit (see [`pass_at_k_table`]).
/// Empty when `n == 0` or `c > n`.
pub(crate) fn pass_hat_k_table(n: u64, c: u64) -> BTreeMap<u64, f64> {
    table(n, c, c).collect()
}

fn valid(n: u64, c: u64, k: u64) -> bool {
    k >= 1 && k <= n && c <= n
}

/// C(m, k) / C(n, k) for `m <= n`, `1 <= k <= n`.
fn ratio(m: u64, n: u64, k: u64) -> f64 {
    if m < k {
        // C(m, k) = 0: exact, and it also skips a loop that could be long for a large k.
        return 0.0;
    }
    if m == n {
        return 1.0;
    }
    let mut r = 1.0;
    for i in 0..k {
        r *= factor(m, n, i);
        if r == 0.0 {
            // Underflow: every further factor keeps it 0, and k may be large.
            break;
        }
    }
    r
}

/// The i-th factor of the product, (m − i) / (n − i), for i < k <= m <= n.
fn factor(m: u64, n: u64, i: u64) -> f64 {
    // u64 → f64 rounds above 2^53; each factor stays within [0, 1] regardless.
    (m - i) as f64 / (n - i) as f64
}

/// (k, C(m, k) / C(n, k)) for k in 1..=n, with `m` trials on the numerator's side.
fn table(n: u64, c: u64, m: u64) -> impl Iterator<Item = (u64, f64)> {
    let n = if c > n { 0 } else { n };
    let mut r = 1.0;
    (1..=n).map(move |k| {
        // The same cases, in the same order, as `ratio`, so the table and the single value agree.
        let value = if m < k {
            0.0
        } else if m == n {
            1.0
        } else {
            r *= factor(m, n, k - 1);
            r
        };
        (k, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn small_cases_match_hand_computed_values() {
        // (n, c, k, pass@k, pass^k)
        let cases: &[(u64, u64, u64, f64, f64)] = &[
            // n = 10, c = 3, k = 2: C(7,2)/C(10,2) = 21/45, so pass@2 = 24/45 = 8/15;
            // C(3,2)/C(10,2) = 3/45 = 1/15.
            (10, 3, 2, 8.0 / 15.0, 1.0 / 15.0),
            // n = 5, c = 2, k = 2: C(3,2)/C(5,2) = 3/10 → 0.7; C(2,2)/C(5,2) = 1/10.
            (5, 2, 2, 0.7, 0.1),
            // k = 1 is the pass rate for both: c/n = 3/4.
            (4, 3, 1, 0.75, 0.75),
            // n = 1000, c = 1, k = 1: 1/1000 both ways.
            (1000, 1, 1, 0.001, 0.001),
        ];
        for &(n, c, k, at, hat) in cases {
            let got_at = pass_at_k(n, c, k).unwrap();
            let got_hat = pass_hat_k(n, c, k).unwrap();
            assert!((got_at - at).abs() < 1e-15, "pass@{k}({n},{c}) = {got_at}");
            assert!(
                (got_hat - hat).abs() < 1e-15,
                "pass^{k}({n},{c}) = {got_hat}"
            );
        }
    }

    #[test]
    fn edges_are_exact() {
        // (n, c, k, pass@k, pass^k), compared with ==; `None` where the value is not an edge.
        type Case = (u64, u64, u64, Option<f64>, Option<f64>);
        let cases: &[Case] = &[
            (10, 0, 3, Some(0.0), Some(0.0)),  // nothing passed
            (10, 10, 3, Some(1.0), Some(1.0)), // everything passed
            (10, 10, 10, Some(1.0), Some(1.0)),
            (10, 0, 10, Some(0.0), Some(0.0)),
            (10, 9, 10, Some(1.0), Some(0.0)), // k = n, one failure: some passed, not all
            (10, 8, 3, Some(1.0), None),       // n − c = 2 < k = 3: a pass is certain
            (10, 2, 3, None, Some(0.0)),       // c = 2 < k = 3: all-pass is impossible
            (1, 1, 1, Some(1.0), Some(1.0)),
            (1, 0, 1, Some(0.0), Some(0.0)),
        ];
        for &(n, c, k, at, hat) in cases {
            if let Some(at) = at {
                assert_eq!(pass_at_k(n, c, k), Some(at), "pass@{k}({n},{c})");
            }
            if let Some(hat) = hat {
                assert_eq!(pass_hat_k(n, c, k), Some(hat), "pass^{k}({n},{c})");
            }
        }
        // The non-edge sides of the two cases above: C(8,3)/C(10,3) = 56/120 = 7/15.
        assert!((pass_hat_k(10, 8, 3).unwrap() - 7.0 / 15.0).abs() < 1e-15);
        assert!((pass_at_k(10, 2, 3).unwrap() - 8.0 / 15.0).abs() < 1e-15);
    }

    #[test]
    fn absent_when_k_is_zero_or_above_n_or_c_above_n() {
        for (n, c, k) in [(10, 3, 0), (10, 3, 11), (0, 0, 1), (0, 0, 0), (5, 6, 1)] {
            assert_eq!(pass_at_k(n, c, k), None, "pass@{k}({n},{c})");
            assert_eq!(pass_hat_k(n, c, k), None, "pass^{k}({n},{c})");
        }
    }

    #[test]
    fn tables_hold_every_k_and_agree_with_single_values() {
        assert!(pass_at_k_table(0, 0).is_empty());
        assert!(pass_at_k_table(3, 4).is_empty());
        assert!(pass_hat_k_table(3, 4).is_empty());
        for (n, c) in [(1, 0), (1, 1), (7, 3), (10, 0), (10, 10), (200, 37)] {
            let at = pass_at_k_table(n, c);
            let hat = pass_hat_k_table(n, c);
            assert_eq!(
                at.keys().copied().collect::<Vec<_>>(),
                (1..=n).collect::<Vec<_>>()
            );
            assert_eq!(hat.len() as u64, n);
            for k in 1..=n {
                // Bitwise equality: the report's map and a direct call must never disagree.
                assert_eq!(at[&k].to_bits(), pass_at_k(n, c, k).unwrap().to_bits());
                assert_eq!(hat[&k].to_bits(), pass_hat_k(n, c, k).unwrap().to_bits());
            }
        }
    }

    /// ln C(n, k) as a plain sum of logarithms: an independent reference that shares no code
    /// (and no evaluation order) with the running product.
    fn ln_choose(n: u64, k: u64) -> f64 {
        if k > n {
            return f64::NEG_INFINITY; // C(n, k) = 0
        }
        (1..=k)
            .map(|i| ((n - k + i) as f64).ln() - (i as f64).ln())
            .sum()
    }

    #[test]
    fn large_n_agrees_with_a_log_reference() {
        // Reference values from exact rational arithmetic (Python `fractions` over `math.comb`):
        // n = 1000, c = 100, k = 10: 1 − C(900,10)/C(1000,10) = 0.653072285207994
        assert!((pass_at_k(1000, 100, 10).unwrap() - 0.653_072_285_207_994).abs() < 1e-12);
        // and C(100,10)/C(1000,10) = 6.571632945319454e-11
        assert!((pass_hat_k(1000, 100, 10).unwrap() - 6.571_632_945_319_454e-11).abs() < 1e-20);
        // n = 1000, c = 990, k = 500: C(990,500)/C(1000,500) = 0.0009331878021844999
        assert!((pass_hat_k(1000, 990, 500).unwrap() - 9.331_878_021_844_999e-4).abs() < 1e-15);

        for (n, c, k) in [
            (1000, 100, 10),
            (1000, 10, 100),
            (1000, 500, 20),
            (1000, 900, 50),
            (1000, 990, 500),
            (1000, 300, 3),
        ] {
            let at_ref = 1.0 - (ln_choose(n - c, k) - ln_choose(n, k)).exp();
            let hat_ref = (ln_choose(c, k) - ln_choose(n, k)).exp();
            let at = pass_at_k(n, c, k).unwrap();
            let hat = pass_hat_k(n, c, k).unwrap();
            assert!(
                (at - at_ref).abs() < 1e-9,
                "pass@{k}({n},{c}) = {at} vs {at_ref}"
            );
            assert!(
                (hat - hat_ref).abs() < 1e-9,
                "pass^{k}({n},{c}) = {hat} vs {hat_ref}"
            );
        }
    }

    #[test]
    fn huge_n_neither_overflows_nor_leaves_the_unit_interval() {
        let n = u64::MAX;
        for (c, k) in [(n / 2, 5), (n - 3, 4), (3, 4), (0, 1), (n, 1)] {
            let at = pass_at_k(n, c, k).unwrap();
            let hat = pass_hat_k(n, c, k).unwrap();
            assert!((0.0..=1.0).contains(&at) && (0.0..=1.0).contains(&hat));
        }
        // Fewer than k failures: exactly 1, without iterating a loop of length k.
        assert_eq!(pass_at_k(n, n - 3, n), Some(1.0));
    }

    proptest! {
        #[test]
        fn pass_at_k_is_a_probability_monotone_in_k(n in 1u64..300, c_frac in 0.0f64..=1.0) {
            let c = ((n as f64) * c_frac).round() as u64;
            let table = pass_at_k_table(n, c);
            let mut previous = 0.0;
            for (&k, &at) in &table {
                prop_assert!((0.0..=1.0).contains(&at), "pass@{}={}", k, at);
                // Exactly, not within a tolerance: each factor is at most 1, and a rounded product
                // with a factor <= 1 never exceeds the representable value it started from.
                prop_assert!(at >= previous, "pass@{} fell to {} from {}", k, at, previous);
                previous = at;
                let hat = pass_hat_k(n, c, k).unwrap();
                prop_assert!((0.0..=1.0).contains(&hat));
                prop_assert!(hat <= at + 1e-15, "pass^{}={} > pass@{}={}", k, hat, k, at);
            }
        }

        #[test]
        fn pass_at_k_has_the_binomial_symmetry(
            (n, c, k) in (1u64..400).prop_flat_map(|n| (Just(n), 1..=n, 1..=n)),
        ) {
            // C(n−c,k)/C(n,k) = C(n−k,c)/C(n,c): swapping c and k leaves pass@k unchanged, which
            // checks the product against a different product of the same value.
            let a = pass_at_k(n, c, k).unwrap();
            let b = pass_at_k(n, k, c).unwrap();
            prop_assert!((a - b).abs() < 1e-12, "{} vs {}", a, b);
        }
    }
}
