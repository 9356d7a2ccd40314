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

pub mod cost;
pub mod interval;
pub mod passk;
pub mod percentile;
pub mod price_table;
pub mod tool_score;
pub mod trial;

pub use cost::{
    CallCost, Cost, Price, PriceMatch, PriceSource, Pricing, UNNAMED_MODEL, call_cost, format_usd,
    price_for, trial_cost,
};
pub use interval::{Z95, wilson};
pub use passk::{pass_at_k, pass_at_k_table, pass_hat_k, pass_hat_k_table};
pub use percentile::{Percentiles, nearest_rank};
pub use price_table::{PriceEntry, PriceTable};
