use proptest::prelude::*;

use super::*;

/// ±1 differences: `up` cases better, `down` worse (k = 1 on both sides).
fn flips(up: usize, down: usize) -> Vec<f64> {
    let mut d = vec![1.0; up];
    d.extend(std::iter::repeat_n(-1.0, down));
    d
}

/// The exact two-sided binomial test in integers, independent of `exact.rs`:
/// (2·Σ_{x ≤ s} C(q, x), 2·Σ_{x ≤ s} C(q, x) − C(q, s)) / 2^q, capped at 1.
fn binomial_in_integers(up: u64, down: u64) -> (f64, f64) {
    if up == down {
        return (1.0, 1.0);
    }
    let q = up + down;
    let s = up.min(down);
    let choose = |x: u64| (0..x).fold(1u128, |c, i| c * u128::from(q - i) / u128::from(i + 1));
    let tail: u128 = (0..=s).map(choose).sum();
    let total = (1u128 << q) as f64;
    let p = (2 * tail) as f64 / total;
    let mid = (2 * tail - choose(s)) as f64 / total;
    (p.min(1.0), mid.min(1.0))
}

#[test]
fn k_one_is_exact_mcnemar_with_the_reference_values() {
    let t = sign_flip(&flips(9, 2), 1, DRAWS);
    assert_eq!(t.method, Method::Binomial);
    assert!((t.p - 67.0 / 1024.0).abs() < 1e-15, "{t:?}");
    assert!((t.p_mid - 79.0 / 2048.0).abs() < 1e-15, "{t:?}");
    // The enumeration, which does not know the magnitudes are equal, agrees.
    let (ge, eq) = enumerate(&flips(9, 2), 7.0, 1e-9 * 11.0);
    assert_eq!((ge, eq), (134, 110));
}

#[test]
fn no_difference_gives_one() {
    let t = sign_flip(&[0.0, 0.0, 0.0], 1, DRAWS);
    assert_eq!((t.p, t.p_mid, t.nonzero), (1.0, 1.0, 0));
    assert_eq!(t.method, Method::NoDifference);
    // Differences that cancel exactly: T = 0 is the least extreme value there is.
    let t = sign_flip(&[0.4, -0.2, -0.2, 0.6, -0.6], 1, DRAWS);
    assert_eq!((t.p, t.p_mid), (1.0, 1.0));
}

#[test]
fn mixed_sizes_are_enumerated_by_hand() {
    // d = (1/3, 1/2, −1/5): T = 0.6333; the 8 patterns give |T*| = 1.0333 ×2, 0.6333 ×2,
    // 0.3667 ×2, 0.0333 ×2: p = 4/8, mid-p = 4/8 − ½·2/8.
    let t = sign_flip(&[1.0 / 3.0, 0.5, -0.2], 9, DRAWS);
    assert_eq!(t.method, Method::Enumerated);
    assert_eq!((t.p, t.p_mid), (0.5, 0.375));
    // Zeros change nothing, nor does the order.
    let u = sign_flip(&[0.0, -0.2, 0.0, 0.5, 1.0 / 3.0], 9, DRAWS);
    assert_eq!((u.p, u.p_mid, u.nonzero), (0.5, 0.375, 3));
}

#[test]
fn ties_survive_rounding() {
    // 0.1 + 0.2 != 0.3 in floating point; the patterns (+0.1 +0.2 −0.3) and its mirror are
    // exactly 0 and (+0.1, +0.2, +0.3) ties with the observed 0.6 only within rounding.
    let t = sign_flip(&[0.1, 0.2, 0.3], 0, DRAWS);
    // |T*| over 8 patterns: 0.6 ×2, 0.4 ×2, 0.2 ×2, 0 ×2 → p = 2/8, mid-p = 1/8.
    assert_eq!((t.p, t.p_mid), (0.25, 0.125));
}

#[test]
fn many_cases_use_seeded_draws_that_repeat() {
    // 30 moving cases of k = 5 and k = 3 mixed: not all the same size, q > 20.
    let d: Vec<f64> = (0..30)
        .map(|i| match i % 4 {
            0 => -0.4,
            1 => 1.0 / 3.0 - 1.0,
            2 => 0.6,
            _ => 0.2,
        })
        .collect();
    let a = sign_flip(&d, 42, DRAWS);
    assert_eq!(a.method, Method::MonteCarlo { draws: DRAWS });
    assert_eq!(a, sign_flip(&d, 42, DRAWS), "same seed, same p");
    let b = sign_flip(&d, 43, DRAWS);
    assert_ne!(a.p, b.p, "another seed draws other patterns");
    // Both estimate the same p: their Monte-Carlo error is √(p(1−p)/R) < 0.0012.
    assert!((a.p - b.p).abs() < 0.006, "{a:?} {b:?}");
    assert!(a.p_mid < a.p);
}

#[test]
fn draws_agree_with_the_enumeration() {
    // 22 cases: small enough to enumerate (4M patterns) for the check, over the exact limit.
    let d: Vec<f64> = (0..22)
        .map(|i| {
            [0.2, -0.4, 0.6, 1.0 / 3.0, -2.0 / 15.0][i % 5] * if i % 3 == 0 { 1.0 } else { 0.5 }
        })
        .collect();
    let target = d.iter().sum::<f64>().abs();
    let scale: f64 = d.iter().map(|x| x.abs()).sum();
    let (ge, _) = enumerate(&d, target, 1e-9 * scale);
    let exact = ge as f64 / f64::from(1u32 << 22);
    let t = sign_flip(&d, 5, DRAWS);
    assert!(matches!(t.method, Method::MonteCarlo { .. }));
    // Five Monte-Carlo standard errors, √(p(1−p)/200,000) ≤ 0.00112.
    assert!((t.p - exact).abs() < 0.0056, "exact {exact}, drawn {}", t.p);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// With k = 1 the sign-flip test is the exact binomial test: on the exact path (all
    /// patterns enumerated, magnitudes not assumed equal) and on the sign-test path.
    #[test]
    fn k_one_equals_the_exact_binomial_test(up in 0usize..=12, down in 0usize..=8) {
        let d = flips(up, down);
        let (p, mid) = binomial_in_integers(up as u64, down as u64);
        let t = sign_flip(&d, 3, DRAWS);
        prop_assert!((t.p - p).abs() < 1e-12 && (t.p_mid - mid).abs() < 1e-12, "{t:?} {p} {mid}");
        if up != down {
            let target = (up as f64 - down as f64).abs();
            let (ge, eq) = enumerate(&d, target, 1e-9 * (up + down) as f64);
            let total = f64::from(1u32 << (up + down));
            prop_assert!((ge as f64 / total - p).abs() < 1e-12);
            prop_assert!(((ge as f64 - eq as f64 / 2.0) / total - mid).abs() < 1e-12);
        }
    }

    /// Larger k = 1 tables take the sign-test path at any size, and still agree.
    #[test]
    fn k_one_is_exact_beyond_the_enumeration_limit(up in 0usize..=60, down in 0usize..=60) {
        let (p, mid) = binomial_in_integers(up as u64, down as u64);
        let t = sign_flip(&flips(up, down), 3, DRAWS);
        prop_assert!((t.p - p).abs() < 1e-11 * p.max(1e-300) + 1e-15, "{t:?} {p}");
        prop_assert!((t.p_mid - mid).abs() < 1e-11 * mid.max(1e-300) + 1e-15, "{t:?} {mid}");
    }
}

/// The Monte-Carlo draws as specified, one after another, one term at a time: chunk c of
/// [`CHUNK`] draws reads `SplitMix64::for_stream(seed, c)`; a draw takes a byte per group of
/// eight non-repeated differences (⌈groups/8⌉ words, low byte first) and then, per magnitude
/// shared by [`REPEATED`] or more differences, one bit per difference (⌈n/64⌉ words, low bit
/// first), a set bit flipping it.
fn one_draw_at_a_time(values: &[f64], target: f64, tol: f64, seed: u64, draws: u64) -> (u64, u64) {
    let shared = |x: f64| values.iter().filter(|y| y.abs() == x.abs()).count() >= REPEATED;
    let rest: Vec<f64> = values.iter().copied().filter(|&x| !shared(x)).collect();
    let mut magnitudes: Vec<f64> = Vec::new();
    for x in values.iter().map(|x| x.abs()).filter(|&x| shared(x)) {
        if !magnitudes.contains(&x) {
            magnitudes.push(x);
        }
    }
    let (mut ge, mut eq) = (0u64, 0u64);
    for chunk in 0..draws.div_ceil(CHUNK) {
        let mut rng = SplitMix64::for_stream(seed, chunk);
        for _ in 0..CHUNK.min(draws - chunk * CHUNK) {
            let mut t = 0.0;
            for group in rest.chunks(8).collect::<Vec<_>>().chunks(8) {
                let bits = rng.next_u64();
                for (g, values) in group.iter().enumerate() {
                    let byte = (bits >> (8 * g)) & 0xFF;
                    // The table entry for this byte: bit j set negates value j.
                    let mut s = 0.0;
                    for (j, x) in values.iter().enumerate() {
                        s += if byte >> j & 1 == 1 { -x } else { *x };
                    }
                    t += s;
                }
            }
            for &a in &magnitudes {
                let n = values.iter().filter(|y| y.abs() == a).count();
                let mut set = 0u32;
                for j in 0..n.div_ceil(64) {
                    let bits = rng.next_u64();
                    for b in 0..(n - 64 * j).min(64) {
                        set += (bits >> b & 1) as u32;
                    }
                }
                t += a * (n as f64 - 2.0 * f64::from(set));
            }
            let t: f64 = t.abs();
            ge += u64::from(t >= target - tol);
            eq += u64::from((t - target).abs() <= tol);
        }
    }
    (ge, eq)
}

#[test]
fn side_by_side_draws_are_the_specified_draws() {
    // Sizes around the lane and word boundaries, and draw counts that end mid-lane and
    // mid-chunk; values of many sizes so that no two patterns are likely to tie by accident.
    // Rates (few magnitudes, some shared by 64 or more, in runs longer than a word) mixed
    // with continuous values.
    for (q, draws) in [(21, 1), (64, 7), (65, 9), (200, 10_013), (1_001, 20_005)] {
        let d: Vec<f64> = (0..q)
            .map(|i| match i % 5 {
                0 | 1 => [0.2, -0.4, 0.6][i % 3],
                2 if i > q / 2 => -0.2,
                _ => ((i * 7919 % 1000) as f64 / 997.0 - 0.5) * if i % 3 == 0 { 3.0 } else { 1.0 },
            })
            .collect();
        assert_eq!(Patterns::new(&d).repeated.len(), usize::from(q > 1_000) * 3);
        let scale: f64 = d.iter().map(|x| x.abs()).sum();
        // Targets across the distribution: far out, near the middle, and at the observed sum.
        for target in [0.05 * scale, 0.01 * scale, d.iter().sum::<f64>().abs()] {
            let tol = 1e-9 * scale;
            assert_eq!(
                monte_carlo(&d, target, tol, 11, draws),
                one_draw_at_a_time(&d, target, tol, 11, draws),
                "q = {q}, {draws} draws, target {target}"
            );
        }
    }
}

#[test]
fn clear_shifts_are_bounded_without_drawing() {
    // 3,000 cases, two thirds up by 0.2 and a third down by 0.4 or 0.6: T = 200 − 100 = 100,
    // Σd² = 2000·0.04 + 500·0.16 + 500·0.36 = 340, bound 2·exp(−100²/680) ≈ 8e-7 < 1/200,001.
    let d: Vec<f64> = (0..3_000)
        .map(|i| match i % 6 {
            0 => -0.4,
            1 => -0.6,
            _ => 0.2,
        })
        .collect();
    let t = sign_flip(&d, 1, DRAWS);
    assert_eq!(t.method, Method::Bound);
    let target = d.iter().sum::<f64>().abs();
    let scale: f64 = d.iter().map(|x| x.abs()).sum();
    let reach = target - 1e-9 * scale;
    let bound = 2.0 * (-reach * reach / (2.0 * d.iter().map(|x| x * x).sum::<f64>())).exp();
    assert_eq!((t.p, t.p_mid), (bound, bound));
    assert!(bound < 1.0 / (DRAWS as f64 + 1.0), "{bound}");
    // The draws agree: none of them is as extreme.
    assert_eq!(monte_carlo(&d, target, 1e-9 * scale, 1, DRAWS).0, 0);
    // A smaller shift is drawn: a third of the cases down by 0.4, T = 2000·0.2 − 1000·0.4 + 6.
    let mut d = vec![0.2; 2_000];
    d.extend(vec![-0.4; 1_000]);
    d.extend(vec![0.6; 10]);
    let t = sign_flip(&d, 1, DRAWS);
    assert_eq!(t.method, Method::MonteCarlo { draws: DRAWS });
    assert!(t.p > 0.1 && t.p < 0.9, "{t:?}");
}
