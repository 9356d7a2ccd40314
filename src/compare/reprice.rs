//! `--reprice`: every trial's cost recomputed from its tokens by model
//! (`trials[].metrics.usage_by_model`) with one price table, the newest report's: the built-in
//! table under that report's `[pricing]` overrides (those of `traceval.toml`, and the
//! trial's suite's over them). A cost recorded on a span is not in `usage_by_model`, so a repriced trial
//! is priced from its tokens alone; a trial without `usage_by_model` that used tokens keeps
//! its cost, and a note says how many did.

use std::collections::BTreeMap;

use crate::metrics::Price;
use crate::metrics::cost::{CallCost, Pricing, trial_cost};
use crate::report::Report;
use crate::report::schema::TrialResult;

/// The newest report's price table, per suite.
#[derive(Debug, Clone)]
pub(crate) struct Repricer {
    /// Suite name → its pricing.
    by_suite: BTreeMap<String, Pricing>,
    /// For a suite the report does not name: `traceval.toml`'s entries.
    project: Pricing,
}

impl Repricer {
    /// The table of `report`: the built-in one under its overrides.
    pub(crate) fn new(report: &Report) -> Repricer {
        let entry = |o: &crate::report::schema::PriceOverride| {
            (
                o.model.clone(),
                Price {
                    input: o.input,
                    output: o.output,
                    input_cache_read: o.input_cache_read,
                    input_cache_write: o.input_cache_write,
                },
            )
        };
        let project: BTreeMap<String, Price> = report
            .pricing
            .overrides
            .iter()
            .filter(|o| !report.suites.iter().any(|s| s.path == o.defined_in))
            .map(entry)
            .collect();
        let by_suite = report
            .suites
            .iter()
            .map(|s| {
                let mut table = project.clone();
                table.extend(
                    report
                        .pricing
                        .overrides
                        .iter()
                        .filter(|o| o.defined_in == s.path)
                        .map(entry),
                );
                (s.name.clone(), Pricing::new(table))
            })
            .collect();
        Repricer {
            by_suite,
            project: Pricing::new(project),
        }
    }

    /// The trial's cost at this table; `Err(cost as recorded)` when it cannot be repriced (no
    /// `usage_by_model` but tokens used).
    pub(crate) fn cost(&self, trial: &TrialResult) -> Result<Option<f64>, Option<f64>> {
        let m = &trial.metrics;
        if m.usage_by_model.is_empty() {
            let used =
                m.input_tokens + m.output_tokens + m.cache_read_tokens + m.cache_write_tokens;
            return if used == 0 {
                Ok(Some(0.0))
            } else {
                Err(m.cost_usd)
            };
        }
        let pricing = self.by_suite.get(&trial.suite).unwrap_or(&self.project);
        let calls: Vec<CallCost<'_>> = m
            .usage_by_model
            .iter()
            .map(|(model, u)| CallCost {
                model: Some(model),
                request_model: None,
                input_tokens: Some(u.input),
                output_tokens: Some(u.output),
                cache_read_tokens: Some(u.cache_read),
                cache_write_tokens: Some(u.cache_write),
                recorded_usd: None,
            })
            .collect();
        Ok(trial_cost(&calls, pricing).usd)
    }
}
