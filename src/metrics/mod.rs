//! Numbers from trials: pass@k and pass^k, intervals, percentiles, cost.
//!
//! Everything here is a pure function of plain inputs (counts, durations, token counts), so the
//! definitions of `docs/reference/metrics.md` can be checked against hand-computed values and a
//! merged report can recompute them from trials exactly.
//!
//! - [`pass_at_k`], [`pass_hat_k`] and their tables for one case;
//! - [`wilson`] intervals for a pass rate;
//! - [`nearest_rank`] percentiles and the [`Percentiles`] reports show;
//! - [`trial_cost`] from LLM calls and [`Pricing`] (the suite's `[pricing.*]`, then the
//!   built-in [`PriceTable`]), with *unpriced* trials kept apart.

pub(crate) mod cost;
pub(crate) mod interval;
pub(crate) mod passk;
pub(crate) mod percentile;
pub(crate) mod price_table;
pub(crate) mod tool_score;
pub(crate) mod trial;

pub(crate) use cost::Price;
