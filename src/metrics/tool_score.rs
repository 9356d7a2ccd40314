//! How a trial's actual tool calls compare with the expected ones, as numbers: the matching
//! itself is `grade::tools`; the score is a metric, read by `metrics::trial` and the report
//! (`docs/reference/metrics.md#tool-precision-recall-and-f1`).

/// How the actual tool calls of one trial compare with the expected ones.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct ToolScore {
    /// Pairs in a maximum matching.
    pub matched: usize,
    /// Expected calls.
    pub expected: usize,
    /// Actual calls.
    pub actual: usize,
    /// `matched / actual` (see [`tool_rates`] for the edge cases).
    pub precision: f64,
    /// `matched / expected`.
    pub recall: f64,
    /// The harmonic mean of precision and recall, `2 · matched / (expected + actual)`.
    pub f1: f64,
    /// Indices into the expected calls of those left unmatched, ascending.
    pub missing: Vec<usize>,
    /// Indices into the actual calls of those left unmatched, ascending.
    pub unexpected: Vec<usize>,
}

/// Precision, recall and F1 from counts; never NaN.
///
/// - precision = `matched / actual`, and 1 when there are no actual calls (nothing was called
///   that should not have been);
/// - recall = `matched / expected`, and 1 when nothing was expected (nothing was missed);
/// - F1 = `2 · matched / (expected + actual)`, which equals the harmonic mean of the two
///   whenever that is defined, is 0 when nothing matched, and is 1 when both are empty.
///
/// So with nothing expected, any call gives precision 0, recall 1, F1 0; with calls expected
/// and none made, precision 1, recall 0, F1 0; both empty is 1, 1, 1. Summing the counts of
/// several trials first gives the micro average over them.
///
/// # Panics
///
/// When `matched` exceeds `expected` or `actual` (a bug in the caller).
pub(crate) fn tool_rates(matched: usize, expected: usize, actual: usize) -> (f64, f64, f64) {
    assert!(
        matched <= expected && matched <= actual,
        "{matched} matched out of {expected} expected and {actual} actual"
    );
    let ratio = |num: usize, den: usize| {
        if den == 0 {
            1.0
        } else {
            num as f64 / den as f64
        }
    };
    let precision = ratio(matched, actual);
    let recall = ratio(matched, expected);
    let f1 = ratio(2 * matched, expected + actual);
    (precision, recall, f1)
}
