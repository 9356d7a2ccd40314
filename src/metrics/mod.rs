//! Numbers from trials: pass@k and pass^k, intervals, percentiles, cost.

pub mod trial;
