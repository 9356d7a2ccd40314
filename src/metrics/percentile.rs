//! Nearest-rank percentiles (`docs/reference/metrics.md#percentiles`): the p-th percentile of N
//! values is the `ceil(p/100 · N)`-th smallest. Always one of the observed values, never an
//! interpolation, so a latency in a report is one that a trial actually had.

/// The p-th percentile of `sorted` (ascending) by nearest rank.
///
/// `None` when `sorted` is empty or `p` is not in (0, 100] (NaN included).
///
/// The rank is computed in integers when p is a whole number of thousandths (50, 90, 99.9,
/// 99.99...), which is every percentile anyone asks for: in floating point, `0.9 · 10` or
/// `0.07 · 100` can land just above an integer and `ceil` would then pick the next value.
/// Other p fall back to floating point, where a product within a rounding error of an integer
/// is taken as that integer for the same reason.
#[cfg(test)]
pub(crate) fn nearest_rank(sorted: &[u64], p: f64) -> Option<u64> {
    let rank = rank(sorted.len(), p)?;
    sorted.get(rank - 1).copied()
}

/// The 1-based nearest rank, within 1..=n.
fn rank(n: usize, p: f64) -> Option<usize> {
    if n == 0 || !(p > 0.0 && p <= 100.0) {
        return None;
    }
    let milli = p * 1000.0;
    let rank = if (milli - milli.round()).abs() < 1e-9 {
        // p = m / 1000, so p/100 · n = m · n / 100_000, exactly.
        let m = milli.round() as u128;
        (m * n as u128).div_ceil(100_000)
    } else {
        let x = p / 100.0 * n as f64;
        let nearest = x.round();
        let rounded = if (x - nearest).abs() <= 4.0 * f64::EPSILON * x.max(1.0) {
            nearest
        } else {
            x.ceil()
        };
        rounded as u128
    };
    // p > 0 makes the rank at least 1 in exact arithmetic; the clamp guards the float path.
    Some(rank.clamp(1, n as u128) as usize)
}

/// The percentiles reports show, by nearest rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Percentiles {
    /// The median.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 95th percentile.
    pub p95: u64,
    /// The 99th percentile.
    pub p99: u64,
}

impl Percentiles {
    /// The percentiles of `values`, in any order; `None` when empty.
    ///
    /// Linear time, not a sort: each percentile is a selection (`select_nth_unstable`) in the
    /// part above the previous one, so the LLM latencies of a million-span run cost four
    /// partitions. The values are the same as [`nearest_rank`] on the sorted values.
    pub(crate) fn of(mut values: Vec<u64>) -> Option<Percentiles> {
        let n = values.len();
        let mut out = [0u64; 4];
        let mut from = 0;
        for (slot, p) in out.iter_mut().zip([50.0, 90.0, 95.0, 99.0]) {
            // Ranks are non-decreasing in p, so the k-th smallest lies in `values[from..]`.
            let k = rank(n, p)? - 1;
            let (_, nth, _) = values[from..].select_nth_unstable(k - from);
            *slot = *nth;
            from = k;
        }
        let [p50, p90, p95, p99] = out;
        Some(Percentiles { p50, p90, p95, p99 })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_agrees_with_nearest_rank_on_the_sorted_values() {
        // Duplicates, reversed runs and every size up to 300, against the definition.
        for n in 1..300u64 {
            let values: Vec<u64> = (0..n).map(|i| (i * 7919 + n) % (n / 2 + 1)).collect();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            let want = Percentiles {
                p50: nearest_rank(&sorted, 50.0).unwrap(),
                p90: nearest_rank(&sorted, 90.0).unwrap(),
                p95: nearest_rank(&sorted, 95.0).unwrap(),
                p99: nearest_rank(&sorted, 99.0).unwrap(),
            };
            assert_eq!(Percentiles::of(values), Some(want), "n = {n}");
        }
        assert_eq!(Percentiles::of(vec![]), None);
    }

    #[test]
    fn single_value_is_every_percentile() {
        for p in [0.001, 1.0, 50.0, 99.0, 100.0] {
            assert_eq!(nearest_rank(&[7], p), Some(7), "p{p}");
        }
        assert_eq!(
            Percentiles::of(vec![7]),
            Some(Percentiles {
                p50: 7,
                p90: 7,
                p95: 7,
                p99: 7
            })
        );
    }

    #[test]
    fn ten_values() {
        let v: Vec<u64> = (1..=10).map(|i| i * 10).collect(); // 10, 20, ..., 100
        // (p, ceil(p/100 · 10), value)
        let cases = [
            (1.0, 1, 10),    // ceil(0.1) = 1
            (10.0, 1, 10),   // ceil(1.0) = 1
            (10.1, 2, 20),   // ceil(1.01) = 2
            (50.0, 5, 50),   // ceil(5.0) = 5
            (50.5, 6, 60),   // ceil(5.05) = 6
            (90.0, 9, 90),   // ceil(9.0) = 9, not 10
            (95.0, 10, 100), // ceil(9.5) = 10
            (99.0, 10, 100),
            (100.0, 10, 100),
        ];
        for (p, rank, value) in cases {
            assert_eq!(
                nearest_rank(&v, p),
                Some(value),
                "p{p} should be rank {rank}"
            );
        }
        assert_eq!(
            Percentiles::of(v.iter().rev().copied().collect()),
            Some(Percentiles {
                p50: 50,
                p90: 90,
                p95: 100,
                p99: 100
            })
        );
    }

    #[test]
    fn hundred_values() {
        let v: Vec<u64> = (1..=100).collect(); // the k-th smallest is k
        // With N = 100 the rank is p itself, rounded up.
        let cases = [
            (1.0, 1),
            (7.0, 7), // 0.07 · 100 = 7.000000000000001 in floating point
            (29.0, 29),
            (50.0, 50),
            (57.0, 57), // 0.57 · 100 = 56.99999999999999
            (90.0, 90),
            (95.0, 95),
            (99.0, 99),
            (99.5, 100),
            (99.9, 100),
            (100.0, 100),
            (0.5, 1),
        ];
        for (p, value) in cases {
            assert_eq!(nearest_rank(&v, p), Some(value), "p{p}");
        }
        assert_eq!(
            Percentiles::of(v),
            Some(Percentiles {
                p50: 50,
                p90: 90,
                p95: 95,
                p99: 99
            })
        );
    }

    #[test]
    fn every_whole_percentile_of_n_values_matches_integer_arithmetic() {
        for n in 1..=300usize {
            let v: Vec<u64> = (1..=n as u64).collect();
            for p in 1..=100usize {
                let expected = (p * n).div_ceil(100) as u64;
                assert_eq!(nearest_rank(&v, p as f64), Some(expected), "p{p} of {n}");
            }
        }
    }

    #[test]
    fn float_path_for_unusual_p() {
        let v: Vec<u64> = (1..=10).collect();
        // p = 33.3333: not whole thousandths; 3.33333 → rank 4.
        assert_eq!(nearest_rank(&v, 33.3333), Some(4));
        // p = 100/3: 10/3 → rank 4.
        assert_eq!(nearest_rank(&v, 100.0 / 3.0), Some(4));
        // Just above a whole percentile: 3.00000000001 → rank 4. The tolerances only absorb
        // representation errors (a few ulps), far below such a difference.
        assert_eq!(nearest_rank(&v, 30.000_000_000_1), Some(4));
        assert_eq!(nearest_rank(&v, 1e-9), Some(1));
    }

    #[test]
    fn absent_for_empty_or_out_of_range_p() {
        assert_eq!(nearest_rank(&[], 50.0), None);
        assert_eq!(Percentiles::of(Vec::new()), None);
        for p in [0.0, -1.0, 100.000_1, f64::NAN, f64::INFINITY] {
            assert_eq!(nearest_rank(&[1, 2, 3], p), None, "p{p}");
        }
    }
}
