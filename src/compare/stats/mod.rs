//! The statistics of `compare` (design: `compare.md` §A.4.3), pure functions of per-case
//! numbers. The case is the unit of analysis: its k trials are resamples of it (Miller 2024,
//! "Adding Error Bars to Evals"), so every interval and test works on per-case values and
//! treats cases, not trials, as the independent draws.
//!
//! - [`paired`]: a side's case-weighted mean with its clustered standard error and t interval;
//!   the paired difference Δ with SE, interval, correlation, the cases up/down/equal and the
//!   minimum detectable effect; the variance split into within-case (trials) and between-case
//!   parts, and the "more trials or more cases?" advice;
//! - [`signflip`]: the one paired test for every metric and every k (exact McNemar at k = 1),
//!   with its mid-p; [`exact`]: the sign test and Fisher's exact test in log space;
//! - [`bootstrap`]: case-level paired bootstrap intervals and geometric-mean ratios;
//!   [`pooled`]: a pooled trial percentile (latency p95) by case bootstrap;
//! - [`multiplicity`]: Benjamini–Hochberg q-values (per-case labels) and Holm (the gate);
//! - [`verdict`]: `improved`, `regressed`, `equivalent`, `no change`, `inconclusive`;
//! - [`metric`]: one metric's comparison put together from those.
//!
//! Every random choice comes from [`rng::SplitMix64`] seeded by the caller: the same inputs
//! and seed give the same numbers, bit for bit, on any number of threads.

pub(crate) mod bootstrap;
pub(crate) mod exact;
pub(crate) mod metric;
pub(crate) mod multiplicity;
pub(crate) mod oracle;
pub(crate) mod paired;
pub(crate) mod pooled;
pub(crate) mod rng;
pub(crate) mod signflip;
pub(crate) mod verdict;

#[cfg(test)]
mod tests;
