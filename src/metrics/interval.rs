//! Confidence intervals for a pass rate.
//!
//! The Wilson score interval rather than the normal ("Wald") one: it stays inside [0, 1] and
//! does not collapse to a zero-width interval at 0/n or n/n, which are common pass counts for a
//! handful of trials.

/// The two-sided 95% standard normal quantile, Φ⁻¹(0.975).
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval `(lower, upper)` for `successes` out of `n` at quantile `z`
/// (use [`Z95`] for 95%).
///
/// With p̂ = s/n: centre (p̂ + z²/2n) / (1 + z²/n), half-width
/// z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²). Both ends are clamped to [0, 1]; the lower end is
/// exactly 0 when `successes == 0` and the upper end exactly 1 when `successes == n` (the
/// formula gives that in exact arithmetic, but not always in floating point).
///
/// `None` when `n == 0`, `successes > n`, or `z` is negative or not finite.
pub fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
    if n == 0 || successes > n || !z.is_finite() || z < 0.0 {
        return None;
    }
    let nf = n as f64;
    let p = successes as f64 / nf;
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let half = z / denom * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    let lower = if successes == 0 {
        0.0
    } else {
        (centre - half).clamp(0.0, 1.0)
    };
    let upper = if successes == n {
        1.0
    } else {
        (centre + half).clamp(0.0, 1.0)
    };
    Some((lower, upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn wilson_matches_independent_values() {
        // Reference values computed independently (Python, same formula, z = 1.959963984540054);
        // to four places they are the published 95% Wilson intervals (e.g. 0/10 → [0, 0.2775],
        // 5/10 → [0.2366, 0.7634]).
        let cases: &[(u64, u64, f64, f64)] = &[
            // 0/10: z²/n = 0.384146, upper = (z²/n) / (1 + z²/n) = 0.384146 / 1.384146.
            (0, 10, 0.0, 0.277_532_799_862_889_2),
            // 10/10 mirrors 0/10: lower = 1 − 0.277533.
            (10, 10, 0.722_467_200_137_110_7, 1.0),
            // 5/10: centre 0.5, half = z / 1.384146 · √(0.025 + 0.0096037) = 0.263407.
            (5, 10, 0.236_593_090_512_564, 0.763_406_909_487_436_1),
            (1, 1, 0.206_549_314_377_237_45, 1.0),
            (7, 20, 0.181_191_824_101_082_06, 0.567_145_723_314_763_8),
        ];
        for &(s, n, lo, hi) in cases {
            let (l, u) = wilson(s, n, Z95).unwrap();
            assert!(close(l, lo) && close(u, hi), "{s}/{n}: ({l}, {u})");
        }
    }

    #[test]
    fn ends_are_exact_at_zero_and_all() {
        for n in [1, 2, 3, 10, 1000, 1_000_000] {
            assert_eq!(wilson(0, n, Z95).unwrap().0, 0.0);
            assert_eq!(wilson(n, n, Z95).unwrap().1, 1.0);
        }
    }

    #[test]
    fn z_zero_is_the_point_estimate() {
        assert_eq!(wilson(3, 4, 0.0), Some((0.75, 0.75)));
    }

    #[test]
    fn absent_without_trials_or_with_bad_input() {
        assert_eq!(wilson(0, 0, Z95), None);
        assert_eq!(wilson(5, 4, Z95), None);
        assert_eq!(wilson(1, 4, f64::NAN), None);
        assert_eq!(wilson(1, 4, -1.0), None);
        assert_eq!(wilson(1, 4, f64::INFINITY), None);
    }

    #[test]
    fn interval_contains_the_rate_and_stays_in_the_unit_interval() {
        for n in 1..=60u64 {
            for s in 0..=n {
                let (l, u) = wilson(s, n, Z95).unwrap();
                let p = s as f64 / n as f64;
                assert!(
                    0.0 <= l && l <= p && p <= u && u <= 1.0,
                    "{s}/{n}: ({l}, {u})"
                );
            }
        }
    }
}
