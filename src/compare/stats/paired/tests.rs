use super::*;
use crate::metrics::interval::clustered;

fn counts(pairs: &[(u64, u64)]) -> Vec<CaseCounts> {
    pairs
        .iter()
        .map(|&(passed, n)| CaseCounts { n, passed })
        .collect()
}

/// Inspect's `_clustered_stderr` (`inspect_ai/scorer/_metrics/std.py`, Miller's Appendix A with
/// a finite-cluster correction), reimplemented on trial-level 0/1 scores:
/// √(Σ_c (Σ_{j∈c} (s_j − s̄))² · C/(C − 1)) / N.
fn inspect_clustered_stderr(cases: &[CaseCounts]) -> f64 {
    let scores: Vec<(usize, f64)> = cases
        .iter()
        .enumerate()
        .flat_map(|(c, k)| (0..k.n).map(move |j| (c, if j < k.passed { 1.0 } else { 0.0 })))
        .collect();
    let n = scores.len() as f64;
    let mean = scores.iter().map(|s| s.1).sum::<f64>() / n;
    let clusters = cases.len() as f64;
    let variance: f64 = (0..cases.len())
        .map(|c| {
            let sum: f64 = scores.iter().filter(|s| s.0 == c).map(|s| s.1 - mean).sum();
            sum * sum
        })
        .sum();
    (variance * clusters / (clusters - 1.0)).sqrt() / n
}

#[test]
fn the_side_rate_is_case_weighted_with_inspects_clustered_error() {
    // Three cases of k = 5: 5/5, 2/5, 0/5.
    let cases = counts(&[(5, 5), (2, 5), (0, 5)]);
    let rates: Vec<f64> = cases.iter().map(|c| c.rate()).collect();
    let side = side_rate(&rates, 0.05).unwrap();
    assert!((side.mean - 7.0 / 15.0).abs() < 1e-15);
    let se = side.se.unwrap();
    assert!(
        (se - inspect_clustered_stderr(&cases)).abs() < 1e-15,
        "{se}"
    );
    // By hand: rates 1, 0.4, 0; sd² = (0.2844 + 0.0044 + 0.2178)/2 = 0.25333; se = √(0.25333/3).
    assert!((se - (0.76 / 9.0f64).sqrt()).abs() < 1e-15);
    assert_eq!(side.ci, clustered(&rates), "the run headline's interval");
    // Unequal k: the mean weighs cases equally, not trials (1/1 and 0/9 → ½, not 1/10).
    let side = side_rate(&[1.0, 0.0], 0.05).unwrap();
    assert_eq!(side.mean, 0.5);
    assert_eq!(side_rate(&[0.5], 0.05).unwrap().se, None);
    assert_eq!(side_rate(&[], 0.05), None);
}

#[test]
fn the_paired_difference_follows_its_definition() {
    let base = [1.0, 1.0, 0.6, 0.2, 0.0];
    let new = [1.0, 0.4, 0.6, 0.6, 0.0];
    let diff = paired_difference(&base, &new, 0.05);
    // d = (0, −0.6, 0, 0.4, 0): Δ = −0.04, sd² = (0.0016·3 + 0.3136 + 0.1936)/4.
    assert!((diff.delta + 0.04).abs() < 1e-15);
    let se = (((0.0016 * 3.0 + 0.3136 + 0.1936) / 4.0) / 5.0f64).sqrt();
    assert!((diff.se.unwrap() - se).abs() < 1e-15);
    let t = t_quantile(0.975, 4).unwrap();
    let (lo, hi) = diff.ci.unwrap();
    assert!((lo - (-0.04 - t * se)).abs() < 1e-15 && (hi - (-0.04 + t * se)).abs() < 1e-15);
    assert_eq!((diff.up, diff.down, diff.equal), (1, 1, 3));
    let mde = (t + t_quantile(0.8, 4).unwrap()) * se;
    assert!((diff.mde.unwrap() - mde).abs() < 1e-15);
    let rho = diff.rho.unwrap();
    assert!(rho > 0.5 && rho < 1.0, "{rho}");
}

#[test]
fn identical_sides_differ_by_nothing() {
    let values = [0.2, 0.8, 1.0, 0.0];
    let diff = paired_difference(&values, &values, 0.05);
    assert_eq!(
        (diff.delta, diff.se, diff.ci),
        (0.0, Some(0.0), Some((0.0, 0.0)))
    );
    assert_eq!(diff.mde, Some(0.0));
    assert_eq!(diff.rho, Some(1.0));
    assert_eq!(diff.equal, 4);
    // One case: a difference but no spread to judge it by.
    let one = paired_difference(&[0.0], &[1.0], 0.05);
    assert_eq!((one.delta, one.se, one.mde), (1.0, None, None));
    // A side that does not vary has no correlation.
    assert_eq!(paired_difference(&[1.0, 1.0], &[0.0, 1.0], 0.05).rho, None);
}

#[test]
fn the_variance_split_tells_trials_from_cases() {
    // Flaky cases that stay flaky: nearly all the spread is within cases, so doubling k helps
    // almost as much as doubling the cases.
    let base = counts(&[(2, 4), (3, 4), (1, 4), (2, 4)]);
    let new = counts(&[(3, 4), (2, 4), (2, 4), (1, 4)]);
    let split = variance_split(&base, &new).unwrap();
    // within = mean of p(1−p)/3 summed over both sides.
    let v = |p: f64| p * (1.0 - p) / 3.0;
    let within = (v(0.5) + v(0.75) + v(0.75) + v(0.5) + v(0.25) + v(0.5) + v(0.5) + v(0.25)) / 4.0;
    assert!((split.within - within).abs() < 1e-15);
    // Var(d) of (¼, −¼, ¼, −¼) = 1/12, less than within: no between part is left.
    assert_eq!(split.between, 0.0);
    let advice = split.advice().unwrap();
    assert!((advice.double_trials - (1.0 - 0.5f64.sqrt())).abs() < 1e-15);
    assert!((advice.double_cases - 0.292_893_218_813_452_5).abs() < 1e-15);

    // Stable cases that flip all the way: every bit of spread is between cases; more trials
    // cannot narrow it.
    let base = counts(&[(5, 5), (0, 5), (5, 5)]);
    let new = counts(&[(0, 5), (5, 5), (5, 5)]);
    let split = variance_split(&base, &new).unwrap();
    assert_eq!(split.within, 0.0);
    assert!(split.between > 0.9);
    assert_eq!(split.advice().unwrap().double_trials, 0.0);
    // k = 1 cannot show within-case spread.
    assert_eq!(
        variance_split(&counts(&[(1, 1), (0, 1)]), &counts(&[(0, 1), (0, 1)])),
        None
    );
    // Nothing varies: no advice.
    let same = counts(&[(5, 5), (5, 5)]);
    assert_eq!(variance_split(&same, &same).unwrap().advice(), None);
}
