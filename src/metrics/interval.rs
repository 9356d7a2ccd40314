//! Confidence intervals for a pass rate.
//!
//! The Wilson score interval rather than the normal ("Wald") one: it stays inside [0, 1] and
//! does not collapse to a zero-width interval at 0/n or n/n, which are common pass counts for a
//! handful of trials.
//!
//! Wilson treats every trial as independent. The k trials of one case are not (a flaky case
//! passes some and fails others; an easy one passes all), so over a suite the honest unit is
//! the case: [`clustered`] is the t interval of the mean of per-case pass rates (Miller 2024,
//! "Adding Error Bars to Evals", recommendation 2), usually wider.

/// The two-sided 95% standard normal quantile, Φ⁻¹(0.975).
pub(crate) const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval `(lower, upper)` for `successes` out of `n` at quantile `z`
/// (use [`Z95`] for 95%).
///
/// With p̂ = s/n: centre (p̂ + z²/2n) / (1 + z²/n), half-width
/// z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²). Both ends are clamped to [0, 1]; the lower end is
/// exactly 0 when `successes == 0` and the upper end exactly 1 when `successes == n` (the
/// formula gives that in exact arithmetic, but not always in floating point).
///
/// `None` when `n == 0`, `successes > n`, or `z` is negative or not finite.
pub(crate) fn wilson(successes: u64, n: u64, z: f64) -> Option<(f64, f64)> {
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

/// The case-clustered interval of a pass rate at 95%: with `rates` the pass rate of each of m
/// cases, their mean ± t(0.975, m − 1) · sd / √m (sd the sample standard deviation, m − 1 in
/// the denominator), clipped to [0, 1].
///
/// `None` for fewer than two cases (no spread to measure) or a rate that is not finite. Cases
/// that all have the same rate give a zero-width interval: nothing in the data varies.
pub(crate) fn clustered(rates: &[f64]) -> Option<(f64, f64)> {
    let m = rates.len();
    if m < 2 || rates.iter().any(|r| !r.is_finite()) {
        return None;
    }
    let mf = m as f64;
    let mean = rates.iter().sum::<f64>() / mf;
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (mf - 1.0);
    let half = t_quantile(0.975, m as u64 - 1)? * (var / mf).sqrt();
    Some(((mean - half).clamp(0.0, 1.0), (mean + half).clamp(0.0, 1.0)))
}

/// Above this many degrees of freedom the quantile comes from the Cornish-Fisher expansion
/// around the normal quantile, whose error there is far below 1e-9.
const SERIES_MAX_DF: u64 = 1000;

/// The `p` quantile of Student's t distribution with `df` degrees of freedom, for `p` in
/// (0, 1); `None` for `df == 0` or `p` outside (0, 1).
///
/// Up to 1000 degrees of freedom it inverts the exact CDF by bisection; for integer `df`,
/// A(t) = P(|T| < t) is a finite trigonometric series (Abramowitz & Stegun 26.7.3, 26.7.4).
/// Beyond, t ≈ z + g₁(z)/ν + g₂(z)/ν² + g₃(z)/ν³ (A&S 26.7.5) with z the normal quantile.
pub(crate) fn t_quantile(p: f64, df: u64) -> Option<f64> {
    if df == 0 || !(p > 0.0 && p < 1.0) {
        return None;
    }
    if p < 0.5 {
        return t_quantile(1.0 - p, df).map(|t| -t);
    }
    if p == 0.5 {
        return Some(0.0);
    }
    let target = 2.0 * p - 1.0;
    if df > SERIES_MAX_DF {
        let z = normal_quantile(p);
        let n = df as f64;
        let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
        let g1 = (z3 + z) / 4.0;
        let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
        let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
        return Some(z + g1 / n + g2 / (n * n) + g3 / (n * n * n));
    }
    // A(t) rises from 0 to 1; bracket the target, then halve.
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    while two_sided_cdf(hi, df) < target {
        hi *= 2.0;
        if !hi.is_finite() {
            return None;
        }
    }
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if two_sided_cdf(mid, df) < target {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// P(|T| < t) for t ≥ 0 and `df` ≥ 1 degrees of freedom (A&S 26.7.3 and 26.7.4).
fn two_sided_cdf(t: f64, df: u64) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    // The series' terms: each the previous times cos²θ · (j − 1)/j over j = 3, 5, ... (odd ν)
    // or j = 2, 4, ... (even ν), up to ν − 2.
    let series = |first: u64| {
        let (mut term, mut sum) = (1.0, 1.0);
        let mut j = first;
        while j + 2 <= df {
            term *= c2 * (j - 1) as f64 / j as f64;
            sum += term;
            j += 2;
        }
        sum
    };
    if df % 2 == 1 {
        let tail = if df == 1 { 0.0 } else { s * c * series(3) };
        2.0 / std::f64::consts::PI * (theta + tail)
    } else {
        s * series(2)
    }
}

/// The standard normal quantile (Acklam's rational approximation: relative error below
/// 1.2e-9 over (0, 1)).
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.024_25 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.024_25 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
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

    #[test]
    fn t_quantiles_match_the_tables() {
        // Published two-sided 95% critical values (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2).
        let cases: &[(u64, f64)] = &[
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (4, 2.776),
            (5, 2.571),
            (9, 2.262),
            (10, 2.228),
            (20, 2.086),
            (29, 2.045),
            (30, 2.042),
            (60, 2.000),
            (100, 1.984),
            (1000, 1.962),
        ];
        for &(df, want) in cases {
            let t = t_quantile(0.975, df).unwrap();
            assert!((t - want).abs() < 5e-4, "df {df}: {t}");
        }
        // More places where they are known exactly: df 1 is Cauchy, tan(0.475π); df 2 is
        // 2p−1 = t/√(2 + t²), so t = √2 · 0.95/√(1 − 0.95²).
        let cauchy = (0.475 * std::f64::consts::PI).tan();
        assert!((t_quantile(0.975, 1).unwrap() - cauchy).abs() < 1e-9);
        let two = 2f64.sqrt() * 0.95 / (1.0 - 0.95f64 * 0.95).sqrt();
        assert!((t_quantile(0.975, 2).unwrap() - two).abs() < 1e-9);
        // Both sides of the series/expansion switch agree, and large df tends to z.
        let (a, b) = (
            t_quantile(0.975, 1000).unwrap(),
            t_quantile(0.975, 1001).unwrap(),
        );
        assert!(a > b && a - b < 1e-5, "{a} {b}");
        let big = t_quantile(0.975, 10_000_000).unwrap();
        assert!((big - Z95).abs() < 1e-6, "{big}");
        assert!((normal_quantile(0.975) - Z95).abs() < 1e-8);
        // Symmetry and the edges.
        assert_eq!(t_quantile(0.5, 7), Some(0.0));
        assert!((t_quantile(0.025, 9).unwrap() + t_quantile(0.975, 9).unwrap()).abs() < 1e-12);
        assert_eq!(t_quantile(0.975, 0), None);
        assert_eq!(t_quantile(1.0, 5), None);
        assert_eq!(t_quantile(f64::NAN, 5), None);
    }

    #[test]
    fn clustered_intervals_follow_the_formula_and_stay_in_the_unit_interval() {
        // Rates 0.2, 0.6, 1.0: mean 0.6, sd 0.4, half = t(0.975, 2) · 0.4/√3.
        let (lo, hi) = clustered(&[0.2, 0.6, 1.0]).unwrap();
        let half = t_quantile(0.975, 2).unwrap() * 0.4 / 3f64.sqrt();
        assert!(close(lo, 0.0f64.max(0.6 - half)) && close(hi, 1.0f64.min(0.6 + half)));
        assert_eq!((lo, hi), (0.0, 1.0), "clipped: half-width {half}");
        // Ten cases, half at 1.0 and half at 0.6: mean 0.8, sd √(10 · 0.04 / 9).
        let rates: Vec<f64> = (0..10).map(|i| if i < 5 { 1.0 } else { 0.6 }).collect();
        let (lo, hi) = clustered(&rates).unwrap();
        let half = 2.262_157_162_740_992_5 * (0.4f64 / 9.0).sqrt() / 10f64.sqrt();
        assert!((lo - (0.8 - half)).abs() < 1e-9 && (hi - (0.8 + half)).abs() < 1e-9);
        // No spread, no width; one case, no interval.
        assert_eq!(clustered(&[1.0, 1.0, 1.0]), Some((1.0, 1.0)));
        assert_eq!(clustered(&[0.5]), None);
        assert_eq!(clustered(&[]), None);
        assert_eq!(clustered(&[0.5, f64::NAN]), None);
    }
}
