//! The JSON report (`docs/reference/report.md`): the source of truth every other output derives
//! from. Built by folding [`RunEvent`](crate::event::RunEvent)s ([`ReportBuilder`]); aggregates
//! are computed from the trials, never tallied on the side, so a report can be recomputed from
//! its own `trials`.
//!
//! The report has its own types, named as the `$defs` of `docs/reference/report.schema.json`:
//! the run-level ones here, the trials' in `schema/trial.rs`. They are converted from the
//! events when folding (`schema/convert.rs`), so the format changes only when a type here does,
//! and `tests/it/report_format.rs` fails when one does.

mod convert;
mod fold;
mod trial;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use fold::{ReportBuilder, RunMeta, case_aggregates, model_aggregates};
pub use trial::{
    AgentExit, CheckResult, ErrorKind, JudgeRecord, JudgeSample, ModelUsage, StopReason,
    ToolCallRecord, TrialId, TrialMetrics, TrialResult, Warning,
};

pub use crate::forward::ForwardSummary;
pub use crate::forward::config::{
    Events as ForwardEvents, Profile as ForwardProfile, Protocol as ForwardProtocol,
};
use crate::metrics::price_table::PriceTable;
use crate::suite::spec::Price;

/// The report format's version; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// One run's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The run's UUIDv7.
    pub run_id: String,
    /// RFC 3339 start time.
    pub started_at: String,
    /// Wall time of the run.
    pub duration_ms: f64,
    /// The traceval that ran it.
    pub traceval_version: String,
    /// `git rev-parse HEAD` of the project, when it is a git checkout.
    pub git_commit: Option<String>,
    /// The command line.
    pub command: Vec<String>,
    /// The run seed.
    pub seed: u64,
    /// True when Ctrl-C or SIGTERM stopped the run: the report covers what finished.
    pub interrupted: bool,
    /// Why the run stopped early (`interrupted`, `fail_fast`), if it did.
    pub stopped: Option<StopReason>,
    /// Planned trials that never ran (or were cut off by the interruption).
    pub not_run: usize,
    /// Spans that matched no trial.
    pub unattributed_spans: usize,
    /// The suites run.
    pub suites: Vec<SuiteInfo>,
    /// Where prices came from.
    pub pricing: PricingInfo,
    /// Every finished trial, sorted by suite, case, model and trial.
    pub trials: Vec<TrialResult>,
    /// Per case × model.
    pub cases: Vec<CaseAggregate>,
    /// Per model.
    pub models: Vec<ModelAggregate>,
    /// Warnings not tied to a trial result.
    pub warnings: Vec<Warning>,
    /// For `run --replay`: the run whose recorded trials this run re-graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<ReplaySource>,
    /// With `--save-traces`: the directory the trials' trace files (`trials[].trace_file`)
    /// were written to, absolute, as the run saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traces_dir: Option<String>,
    /// The APIs traceval called itself (builtin agents' and judges' `openai` and `anthropic`
    /// models), with the base URL in effect; scripted models are not listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_endpoints: Vec<ModelEndpoint>,
    /// For `run --shard I/N`: which shard of which plan this report holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// For `traceval merge`: the shard reports this report joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged: Option<MergeInfo>,
    /// With `--forward` (or an OTLP endpoint in the environment): where the run's spans went
    /// and how many arrived.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward: Option<ForwardSummary>,
}

/// `run --shard I/N`: the part of a run a report holds. A shard's `suites` and `pricing`
/// describe the whole run, so every shard of it records the same; its `trials`, `cases` and
/// `models` hold its share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    /// I, 1-based.
    pub index: u32,
    /// N.
    pub count: u32,
    /// FNV-1a 64 (16 hex digits) of the whole plan: each case × model of the unsharded run,
    /// in plan order, with its suite's name and content hash, its case id, its model and its
    /// trial count. Shards of one run record the same.
    pub plan: String,
    /// Trials in the whole plan.
    pub plan_trials: u64,
}

/// `traceval merge`: the shard reports a report joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// N, the number of shards the run was split into.
    pub shards: u32,
    /// The reports merged, by shard index.
    pub inputs: Vec<MergeInput>,
    /// Shards not merged (`--allow-partial`), 1-based; empty when the run is whole.
    #[serde(default)]
    pub missing: Vec<u32>,
}

/// One shard report a merged report joins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergeInput {
    /// The report file, as given to `traceval merge`.
    pub report: String,
    /// Its run id.
    pub run_id: String,
    /// Its shard index I, 1-based.
    pub shard: u32,
}

/// A model API traceval called, as configured for one suite.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ModelEndpoint {
    /// The suite.
    pub suite: String,
    /// The model's name in the suite (`[model.NAME]`).
    pub model: String,
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The base URL in effect: the suite's `base-url`, else `OPENAI_BASE_URL` /
    /// `ANTHROPIC_BASE_URL`, else the provider's default. Without user info or query, so it
    /// names no secret.
    pub base_url: String,
}

/// The run a replay re-graded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplaySource {
    /// Its run id.
    pub run_id: String,
    /// Its report, as given on the command line.
    pub report: String,
}

/// A suite as run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuiteInfo {
    /// Its name.
    pub name: String,
    /// Its file.
    pub path: String,
    /// FNV-1a 64 of its content (and data file).
    pub content_hash: String,
}

/// Where prices came from. A cost recorded on a span wins over every price; then the entries
/// in `overrides`; then the built-in table that `source` and `date` describe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricingInfo {
    /// Where the built-in price table's numbers come from (the vendors' pricing pages).
    pub source: String,
    /// When the built-in table's prices were taken (`YYYY-MM`).
    pub date: Option<String>,
    /// The `[pricing."MODEL"]` entries of `traceval.toml` and of the suites run, which win over
    /// the built-in table (a suite's own entries only for that suite's trials).
    #[serde(default)]
    pub overrides: Vec<PriceOverride>,
}

impl PricingInfo {
    /// The built-in table under `overrides`.
    pub fn new(overrides: Vec<PriceOverride>) -> PricingInfo {
        let table = PriceTable::builtin();
        PricingInfo {
            source: table.source(),
            date: Some(table.date().to_owned()),
            overrides,
        }
    }
}

impl Default for PricingInfo {
    /// The built-in table alone.
    fn default() -> PricingInfo {
        PricingInfo::new(Vec::new())
    }
}

/// One `[pricing."MODEL"]` entry in effect in a run, USD per 1M tokens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceOverride {
    /// The entry's name (it also prices the names it is a prefix of, followed by `-`).
    pub model: String,
    /// The file that defines it: `traceval.toml` or a suite.
    pub defined_in: String,
    /// `input`.
    pub input: f64,
    /// `output`.
    pub output: f64,
    /// `input-cache-read`.
    pub input_cache_read: Option<f64>,
    /// `input-cache-write`.
    pub input_cache_write: Option<f64>,
}

impl PriceOverride {
    /// The entry `model` = `price` of the file `defined_in`.
    pub fn new(model: &str, defined_in: String, price: &Price) -> PriceOverride {
        PriceOverride {
            model: model.to_owned(),
            defined_in,
            input: price.input,
            output: price.output,
            input_cache_read: price.input_cache_read,
            input_cache_write: price.input_cache_write,
        }
    }
}

/// One case × model over its trials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseAggregate {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// Trials.
    pub n: u32,
    /// Trials passed.
    pub passed: u32,
    /// passed / n.
    pub pass_rate: f64,
    /// pass@k for every k ≤ n (keys are k).
    pub pass_at_k: BTreeMap<String, f64>,
    /// pass^k for every k ≤ n.
    pub pass_hat_k: BTreeMap<String, f64>,
    /// Some but not all trials passed.
    pub flaky: bool,
    /// With `expect.snapshot`: trials whose trace shape matched the snapshot, of the `n`
    /// (trials whose agent did not finish are not compared, so do not match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_matched: Option<u32>,
    /// FNV-1a 64 (16 hex digits) of the case's canonical definition (its input, expectations
    /// and overrides, and the suite keys that change how it runs or is graded), so two runs
    /// can tell which cases changed. `None` in reports written before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition_hash: Option<String>,
}

/// Percentiles in milliseconds (nearest rank).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

/// One model over every trial run against it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelAggregate {
    /// Model name.
    pub model: String,
    /// Trials.
    pub trials: u64,
    /// Trials passed.
    pub passed: u64,
    /// Trials that failed a check.
    pub failed: u64,
    /// Trials that could not run to completion.
    pub errored: u64,
    /// passed / trials.
    pub pass_rate: f64,
    /// Wilson 95% interval of the pass rate, over trials as if independent.
    pub pass_rate_ci95: Option<[f64; 2]>,
    /// Case-clustered 95% interval: the mean of the per-case pass rates ± t(0.975, m − 1) ·
    /// sd / √m over the m cases, clipped to [0, 1] (see `metrics::interval::clustered`). Wider than
    /// `pass_rate_ci95` when cases differ, as a case's trials are not independent. `None` with
    /// fewer than two cases.
    #[serde(default)]
    pub pass_rate_ci95_clustered: Option<[f64; 2]>,
    /// Mean over cases of pass@k, for every k that every case has.
    pub pass_at_k: BTreeMap<String, f64>,
    /// Mean over cases of pass^k.
    pub pass_hat_k: BTreeMap<String, f64>,
    /// Mean of per-trial tool F1 over trials that have it.
    pub tool_f1_macro: Option<f64>,
    /// F1 of the summed matched / expected / actual counts.
    pub tool_f1_micro: Option<f64>,
    /// Trial latency.
    pub latency_ms: Option<LatencyMs>,
    /// LLM span latency.
    pub llm_latency_ms: Option<LatencyMs>,
    /// Tool span latency.
    pub tool_latency_ms: Option<LatencyMs>,
    /// Input tokens.
    pub input_tokens: u64,
    /// Output tokens.
    pub output_tokens: u64,
    /// Cache-read tokens.
    pub cache_read_tokens: u64,
    /// Cache-write input tokens.
    #[serde(default)]
    pub cache_write_tokens: u64,
    /// Total cost; `None` when any trial is unpriced (never a partial sum posing as a total).
    pub cost_usd: Option<f64>,
    /// Trials without a price.
    pub unpriced_trials: u64,
    /// The models that had no price, over every trial, sorted.
    #[serde(default)]
    pub unpriced_models: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_records_the_price_table_and_the_overrides() {
        let price = Price {
            input: 2.5,
            output: 10.0,
            input_cache_read: None,
            input_cache_write: None,
        };
        let meta = RunMeta {
            pricing: PricingInfo::new(vec![PriceOverride::new(
                "careful-1",
                "suites/demo/weather.toml".into(),
                &price,
            )]),
            ..RunMeta::default()
        };
        let r = ReportBuilder::new(meta).finish();
        let json = serde_json::to_value(&r).unwrap();
        let table = PriceTable::builtin();
        assert_eq!(json["pricing"]["date"], table.date());
        assert!(
            json["pricing"]["source"]
                .as_str()
                .unwrap()
                .contains("https://openai.com/api/pricing")
        );
        assert_eq!(
            json["pricing"]["overrides"],
            serde_json::json!([{
                "model": "careful-1",
                "defined_in": "suites/demo/weather.toml",
                "input": 2.5,
                "output": 10.0,
                "input_cache_read": null,
                "input_cache_write": null,
            }])
        );
        // A report written before `overrides` existed still reads.
        let old: PricingInfo = serde_json::from_value(serde_json::json!({
            "source": "suites and traceval.toml",
            "date": null,
        }))
        .unwrap();
        assert!(old.overrides.is_empty());
        // Without a meta, the built-in table is still what the report names.
        assert_eq!(
            RunMeta::default().pricing.date.as_deref(),
            Some(table.date())
        );
    }
}
