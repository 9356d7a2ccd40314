//! The statistics together: power and calibration on simulated suites, identity, ratios.

use super::metric::{Interval, Options, compare_means, compare_rates, compare_ratios};
use super::paired::CaseCounts;
use super::rng::SplitMix64;
use super::signflip::{DRAWS, Method};
use super::verdict::{Better, Verdict};

/// A uniform number in [0, 1) from 53 random bits.
fn uniform(rng: &mut SplitMix64) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// `cases` cases of `k` trials on two sides: each case's base pass probability is uniform in
/// [0.3, 1], the new one is `shift` lower; trials pass independently.
fn simulate(seed: u64, cases: usize, k: u64, shift: f64) -> (Vec<CaseCounts>, Vec<CaseCounts>) {
    let mut rng = SplitMix64::new(seed);
    let trials = |p: f64, rng: &mut SplitMix64| CaseCounts {
        n: k,
        passed: (0..k).filter(|_| uniform(rng) < p).count() as u64,
    };
    (0..cases)
        .map(|_| {
            let p = 0.3 + 0.7 * uniform(&mut rng);
            (trials(p, &mut rng), trials(p - shift, &mut rng))
        })
        .unzip()
}

#[test]
fn a_drop_of_fifteen_points_is_found_in_sixty_cases_of_five_trials() {
    let mut found = 0;
    for seed in 0..10 {
        let (base, new) = simulate(seed, 60, 5, 0.15);
        let options = Options {
            seed,
            ..Options::default()
        };
        let rates = compare_rates(&base, &new, &options).unwrap();
        assert!(matches!(rates.stats.test.method, Method::MonteCarlo { .. }));
        if rates.stats.verdict == Verdict::Regressed && rates.stats.test.p < 0.01 {
            found += 1;
        }
    }
    assert!(found >= 9, "regressed with p < 0.01 in {found} of 10 seeds");
}

#[test]
fn no_difference_is_rarely_called_a_regression() {
    let regressed = (100..120)
        .filter(|&seed| {
            let (base, new) = simulate(seed, 60, 5, 0.0);
            let options = Options {
                seed,
                ..Options::default()
            };
            compare_rates(&base, &new, &options).unwrap().stats.verdict == Verdict::Regressed
        })
        .count();
    assert!(regressed <= 1, "regressed in {regressed} of 20 seeds");
}

#[test]
fn a_report_against_itself_changes_nothing() {
    let (base, _) = simulate(3, 40, 5, 0.0);
    let rates = compare_rates(&base, &base, &Options::default()).unwrap();
    let stats = &rates.stats;
    assert_eq!(
        (stats.delta, stats.test.p, stats.test.p_mid),
        (0.0, 1.0, 1.0)
    );
    assert_eq!(stats.test.method, Method::NoDifference);
    assert_eq!(stats.ci, Some((0.0, 0.0)));
    assert_eq!(stats.verdict, Verdict::NoChange);
    assert_eq!(rates.base, rates.new);
    let costs: Vec<f64> = (0..40).map(|i| 0.001 * f64::from(i % 5 + 1)).collect();
    let cost = compare_ratios(&costs, &costs, Better::Lower, &Options::default()).unwrap();
    assert_eq!(
        (cost.ratio, cost.ci, cost.test.p),
        (Some(1.0), Some((1.0, 1.0)), 1.0)
    );
    assert_eq!(cost.verdict, Verdict::NoChange);
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let (base, new) = simulate(11, 200, 3, 0.05);
    let options = Options {
        seed: 9,
        ..Options::default()
    };
    let a = compare_rates(&base, &new, &options).unwrap();
    assert_eq!(a, compare_rates(&base, &new, &options).unwrap());
    let other = compare_rates(
        &base,
        &new,
        &Options {
            seed: 10,
            ..options
        },
    )
    .unwrap();
    assert_ne!(
        a.stats.test.p, other.stats.test.p,
        "another seed, other draws"
    );
}

#[test]
fn a_cost_rise_is_a_regression_and_the_advice_is_consistent() {
    // Every case 15–19% dearer: ×1.17 with a tight interval, regressed since lower is better.
    let base: Vec<f64> = (0..40).map(|i| 0.001 * f64::from(i % 7 + 1)).collect();
    let new: Vec<f64> = base
        .iter()
        .enumerate()
        .map(|(i, c)| c * (1.15 + 0.01 * (i % 5) as f64))
        .collect();
    let cost = compare_ratios(&base, &new, Better::Lower, &Options::default()).unwrap();
    let ratio = cost.ratio.unwrap();
    let (lo, hi) = cost.ci.unwrap();
    assert!(
        lo > 1.15 && lo < ratio && ratio < hi && hi < 1.19,
        "{lo} {ratio} {hi}"
    );
    // Every case moved up: no drawn pattern could be as extreme, and Hoeffding's bound already
    // says so — p is the bound, below the 1/(R + 1) that R draws could show.
    assert_eq!(cost.test.method, Method::Bound);
    assert!(cost.test.p > 0.0 && cost.test.p < 1.0 / (DRAWS as f64 + 1.0));
    assert_eq!(cost.verdict, Verdict::Regressed);
    let calls = compare_means(
        &base,
        &new,
        Better::Lower,
        Interval::Bootstrap,
        &Options::default(),
    )
    .unwrap();
    assert_eq!(calls.verdict, Verdict::Regressed);

    // A flaky suite: the pass-rate interval of Δ and the advice line.
    let (base, new) = simulate(5, 30, 5, 0.0);
    let rates = compare_rates(&base, &new, &Options::default()).unwrap();
    let advice = rates.split.unwrap().advice().unwrap();
    assert!(advice.double_trials > 0.0 && advice.double_trials <= advice.double_cases);
    assert_ne!(rates.stats.verdict, Verdict::Regressed);
    // Holm's correction can only weaken a verdict.
    let rule = Options::default().rule();
    assert_eq!(rates.stats.verdict_with_p(1.0, &rule), rates.stats.verdict);
}
