//! The JSON report (`docs/reference/report.md`): the source of truth every other output derives
//! from. Built by folding [`RunEvent`]s; aggregates are computed from the trials, never tallied on
//! the side, so a report can be recomputed from its own `trials`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::event::{RunEvent, StopReason, TrialResult, Warning};
use crate::metrics::interval::{Z95, clustered, wilson};
use crate::metrics::passk::{pass_at_k, pass_at_k_table, pass_hat_k, pass_hat_k_table};
use crate::metrics::percentile::Percentiles;
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
    /// The APIs traceval called itself (builtin agents' and judges' `openai` and `anthropic`
    /// models), with the base URL in effect; scripted models are not listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub model_endpoints: Vec<ModelEndpoint>,
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
    /// sd / √m over the m cases, clipped to [0, 1] (see [`clustered`]). Wider than
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

/// What a report needs that the events do not carry.
#[derive(Debug, Clone, Default)]
pub struct RunMeta {
    /// The command line.
    pub command: Vec<String>,
    /// The project's git commit.
    pub git_commit: Option<String>,
    /// The suites in the plan.
    pub suites: Vec<SuiteInfo>,
    /// The prices in effect.
    pub pricing: PricingInfo,
    /// The run a replay re-grades.
    pub replayed_from: Option<ReplaySource>,
    /// The model APIs called, sorted.
    pub model_endpoints: Vec<ModelEndpoint>,
}

/// Folds events into a [`Report`].
#[derive(Debug, Default)]
pub struct ReportBuilder {
    meta: RunMeta,
    run_id: String,
    started_at: String,
    seed: u64,
    trials: Vec<TrialResult>,
    warnings: Vec<Warning>,
    finished: Option<crate::event::RunFinished>,
}

impl ReportBuilder {
    /// A builder for a run described by `meta`.
    pub fn new(meta: RunMeta) -> ReportBuilder {
        ReportBuilder {
            meta,
            ..ReportBuilder::default()
        }
    }

    /// Takes one event in (by value: a long run's trials are moved, not copied).
    pub fn on_event(&mut self, event: RunEvent) {
        match event {
            RunEvent::RunStarted(s) => {
                self.run_id = s.run_id;
                self.started_at = s.started_at;
                self.seed = s.seed;
            }
            RunEvent::TrialFinished(t) => self.trials.push(*t),
            RunEvent::Warning(w) if w.trial.is_none() => self.warnings.push(w),
            RunEvent::RunFinished(f) => self.finished = Some(f),
            RunEvent::TrialStarted(_)
            | RunEvent::CaseFinished(_)
            | RunEvent::Warning(_)
            | RunEvent::Snapshot(_) => {}
        }
    }

    /// The report so far (a run that never finished is reported as interrupted).
    ///
    /// The sort and the aggregates run on rayon's pool, so call it off an async runtime's
    /// workers (e.g. in `spawn_blocking`) when a runtime is live.
    pub fn finish(self) -> Report {
        let mut trials = self.trials;
        trials.par_sort_by(|a, b| {
            (&a.suite, &a.case, &a.model, a.trial).cmp(&(&b.suite, &b.case, &b.model, b.trial))
        });
        let (cases, models) =
            rayon::join(|| case_aggregates(&trials), || model_aggregates(&trials));
        let finished = self.finished;
        let stopped = match &finished {
            Some(f) => f.stopped,
            None => Some(StopReason::Interrupted),
        };
        Report {
            format_version: FORMAT_VERSION,
            run_id: self.run_id,
            started_at: self.started_at,
            duration_ms: finished.as_ref().map_or(0.0, |f| f.duration_ms),
            traceval_version: env!("CARGO_PKG_VERSION").to_owned(),
            git_commit: self.meta.git_commit,
            command: self.meta.command,
            seed: self.seed,
            interrupted: stopped == Some(StopReason::Interrupted),
            stopped,
            not_run: finished.as_ref().map_or(0, |f| f.not_run),
            unattributed_spans: finished.as_ref().map_or(0, |f| f.unattributed_spans),
            suites: self.meta.suites,
            pricing: self.meta.pricing,
            cases,
            models,
            trials,
            warnings: self.warnings,
            replayed_from: self.meta.replayed_from,
            model_endpoints: self.meta.model_endpoints,
        }
    }
}

/// Per case × model aggregates of sorted trials.
pub fn case_aggregates(trials: &[TrialResult]) -> Vec<CaseAggregate> {
    let groups: Vec<&[TrialResult]> = trials
        .chunk_by(|a, b| (&a.suite, &a.case, &a.model) == (&b.suite, &b.case, &b.model))
        .collect();
    groups
        .into_par_iter()
        .map(|group| {
            let n = group.len() as u64;
            let c = group.iter().filter(|t| t.passed).count() as u64;
            let keyed = |table: BTreeMap<u64, f64>| {
                table
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect::<BTreeMap<_, _>>()
            };
            CaseAggregate {
                suite: group[0].suite.clone(),
                case: group[0].case.clone(),
                model: group[0].model.clone(),
                n: n as u32,
                passed: c as u32,
                pass_rate: c as f64 / n as f64,
                pass_at_k: keyed(pass_at_k_table(n, c)),
                pass_hat_k: keyed(pass_hat_k_table(n, c)),
                flaky: c > 0 && c < n,
                snapshot_matched: group.iter().any(|t| t.snapshot_matched.is_some()).then(|| {
                    group
                        .iter()
                        .filter(|t| t.snapshot_matched == Some(true))
                        .count() as u32
                }),
            }
        })
        .collect()
}

/// Per model aggregates.
pub fn model_aggregates(trials: &[TrialResult]) -> Vec<ModelAggregate> {
    let mut by_model: BTreeMap<&str, Vec<&TrialResult>> = BTreeMap::new();
    for t in trials {
        by_model.entry(&t.model).or_default().push(t);
    }
    by_model
        .into_par_iter()
        .map(|(model, ts)| model_aggregate(model, &ts))
        .collect()
}

fn model_aggregate(model: &str, trials: &[&TrialResult]) -> ModelAggregate {
    let n = trials.len() as u64;
    let passed = trials.iter().filter(|t| t.passed).count() as u64;
    let errored = trials.iter().filter(|t| t.errored()).count() as u64;

    // pass@k per case, then the mean over cases for every k all cases reach.
    let mut cases: BTreeMap<(&str, &str), (u64, u64)> = BTreeMap::new();
    for t in trials {
        let e = cases.entry((&t.suite, &t.case)).or_default();
        e.0 += 1;
        e.1 += u64::from(t.passed);
    }
    let min_n = cases.values().map(|(n, _)| *n).min().unwrap_or(0);
    let case_rates: Vec<f64> = cases.values().map(|&(n, c)| c as f64 / n as f64).collect();
    let mean_over_cases = |f: fn(u64, u64, u64) -> Option<f64>| {
        (1..=min_n)
            .filter_map(|k| {
                let values: Option<Vec<f64>> = cases.values().map(|&(n, c)| f(n, c, k)).collect();
                values.map(|v| (k.to_string(), v.iter().sum::<f64>() / v.len() as f64))
            })
            .collect::<BTreeMap<_, _>>()
    };

    let f1s: Vec<f64> = trials.iter().filter_map(|t| t.metrics.tool_f1).collect();
    let (mut matched, mut expected, mut actual) = (0u64, 0u64, 0u64);
    for t in trials {
        if let (Some(m), Some(e)) = (t.metrics.tool_matched, t.metrics.tool_expected) {
            matched = matched.saturating_add(m);
            expected = expected.saturating_add(e);
            actual = actual.saturating_add(t.metrics.tool_calls.len() as u64);
        }
    }
    let tool_f1_micro = (!f1s.is_empty()).then(|| {
        if expected == 0 && actual == 0 {
            1.0
        } else if matched == 0 {
            0.0
        } else {
            2.0 * matched as f64 / (expected + actual) as f64
        }
    });
    let unpriced = trials.iter().filter(|t| t.metrics.unpriced).count() as u64;
    let cost_usd = (unpriced == 0).then(|| {
        trials
            .iter()
            .filter_map(|t| t.metrics.cost_usd)
            .sum::<f64>()
    });
    let unpriced_models: std::collections::BTreeSet<&String> = trials
        .iter()
        .flat_map(|t| &t.metrics.unpriced_models)
        .collect();
    let latency = |values: Vec<u64>| Percentiles::of(values).map(to_ms);

    ModelAggregate {
        model: model.to_owned(),
        trials: n,
        passed,
        failed: n - passed - errored,
        errored,
        pass_rate: if n == 0 {
            0.0
        } else {
            passed as f64 / n as f64
        },
        pass_rate_ci95: wilson(passed, n, Z95).map(|(lo, hi)| [lo, hi]),
        pass_rate_ci95_clustered: clustered(&case_rates).map(|(lo, hi)| [lo, hi]),
        pass_at_k: mean_over_cases(pass_at_k),
        pass_hat_k: mean_over_cases(pass_hat_k),
        tool_f1_macro: (!f1s.is_empty()).then(|| f1s.iter().sum::<f64>() / f1s.len() as f64),
        tool_f1_micro,
        latency_ms: latency(
            trials
                .iter()
                .map(|t| (t.duration_ms * 1e6) as u64)
                .collect(),
        ),
        llm_latency_ms: latency(
            trials
                .iter()
                .flat_map(|t| t.metrics.llm_durations_ns.iter().copied())
                .collect(),
        ),
        tool_latency_ms: latency(
            trials
                .iter()
                .flat_map(|t| t.metrics.tool_durations_ns.iter().copied())
                .collect(),
        ),
        // Saturating: token counts come from spans, and a span can say anything.
        input_tokens: saturating_sum(trials.iter().map(|t| t.metrics.input_tokens)),
        output_tokens: saturating_sum(trials.iter().map(|t| t.metrics.output_tokens)),
        cache_read_tokens: saturating_sum(trials.iter().map(|t| t.metrics.cache_read_tokens)),
        cache_write_tokens: saturating_sum(trials.iter().map(|t| t.metrics.cache_write_tokens)),
        cost_usd,
        unpriced_trials: unpriced,
        unpriced_models: unpriced_models.into_iter().cloned().collect(),
    }
}

fn saturating_sum(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0, u64::saturating_add)
}

fn to_ms(p: Percentiles) -> LatencyMs {
    let ms = |ns: u64| ns as f64 / 1e6;
    LatencyMs {
        p50: ms(p.p50),
        p90: ms(p.p90),
        p95: ms(p.p95),
        p99: ms(p.p99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AgentExit, TrialMetrics};

    fn trial(case: &str, model: &str, n: u32, passed: bool, ms: f64) -> TrialResult {
        TrialResult {
            suite: "s".into(),
            case: case.into(),
            model: model.into(),
            trial: n,
            trace_id: "t".into(),
            agent_trace_ids: vec![],
            passed,
            error: None,
            error_kind: None,
            duration_ms: ms,
            exit: AgentExit::Code { code: 0 },
            output: String::new(),
            stderr_tail: String::new(),
            output_truncated: false,
            stderr_truncated: false,
            checks: vec![],
            metrics: TrialMetrics::default(),
            warnings: vec![],
            span_tree: None,
            trace_file: None,
            judges: Vec::new(),
            judge_trace_file: None,
            snapshot_matched: None,
        }
    }

    #[test]
    fn case_and_model_aggregates_match_hand_computed_values() {
        // Case a: 2 of 4 passed; case b: 4 of 4.
        let mut trials: Vec<TrialResult> = (0..4)
            .map(|i| trial("a", "m", i, i < 2, 100.0 * f64::from(i + 1)))
            .chain((0..4).map(|i| trial("b", "m", i, true, 50.0)))
            .collect();
        trials[0].metrics.tool_f1 = Some(0.5);
        trials[0].metrics.tool_matched = Some(1);
        trials[0].metrics.tool_expected = Some(2);
        trials[0].metrics.tool_calls = vec![
            crate::event::ToolCallRecord {
                name: "x".into(),
                args: None,
            };
            2
        ];
        trials[1].metrics.tool_f1 = Some(1.0);
        trials[1].metrics.tool_matched = Some(1);
        trials[1].metrics.tool_expected = Some(1);
        trials[1].metrics.tool_calls = trials[0].metrics.tool_calls[..1].to_vec();
        trials[2].metrics.unpriced = true;
        trials[0].metrics.cache_write_tokens = 7;
        trials[5].metrics.cache_write_tokens = u64::MAX;
        trials[2].metrics.unpriced_models = vec!["llama-3".into()];

        let cases = case_aggregates(&trials);
        assert_eq!(cases.len(), 2);
        // pass@2 for n=4, c=2: 1 - C(2,2)/C(4,2) = 1 - 1/6.
        assert!((cases[0].pass_at_k["2"] - 5.0 / 6.0).abs() < 1e-12);
        // pass^2: C(2,2)/C(4,2) = 1/6.
        assert!((cases[0].pass_hat_k["2"] - 1.0 / 6.0).abs() < 1e-12);
        assert!(cases[0].flaky && !cases[1].flaky);
        assert_eq!(cases[1].pass_at_k["4"], 1.0);

        let m = &model_aggregates(&trials)[0];
        assert_eq!((m.trials, m.passed, m.failed, m.errored), (8, 6, 2, 0));
        assert_eq!(m.pass_rate, 0.75);
        // mean over cases of pass@1: (0.5 + 1) / 2.
        assert_eq!(m.pass_at_k["1"], 0.75);
        assert!((m.pass_at_k["2"] - (5.0 / 6.0 + 1.0) / 2.0).abs() < 1e-12);
        // macro: mean(0.5, 1.0); micro: 2·2 / (3 expected + 3 actual).
        assert_eq!(m.tool_f1_macro, Some(0.75));
        assert!((m.tool_f1_micro.unwrap() - 4.0 / 6.0).abs() < 1e-12);
        // one unpriced trial: no total posing as complete.
        assert_eq!((m.cost_usd, m.unpriced_trials), (None, 1));
        // Token sums saturate: a span can claim anything.
        assert_eq!(m.cache_write_tokens, u64::MAX);
        assert_eq!(m.unpriced_models, ["llama-3"]);
        // nearest rank over 100, 200, 300, 400, 50×4: sorted 50,50,50,50,100,200,300,400.
        let lat = m.latency_ms.unwrap();
        assert_eq!((lat.p50, lat.p90, lat.p99), (50.0, 400.0, 400.0));
        let [lo, hi] = m.pass_rate_ci95.unwrap();
        assert!(lo < 0.75 && hi > 0.75 && lo > 0.0 && hi < 1.0);
        // Clustered by case: rates 0.5 and 1.0, mean 0.75, sd √0.125, t(0.975, 1) = 12.706:
        // far wider than Wilson's over 8 trials, and clipped.
        assert_eq!(m.pass_rate_ci95_clustered, Some([0.0, 1.0]));
    }

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

    #[test]
    fn an_unfinished_run_reports_itself_interrupted() {
        let mut b = ReportBuilder::new(RunMeta::default());
        b.on_event(RunEvent::TrialFinished(Box::new(trial(
            "a", "m", 0, true, 1.0,
        ))));
        let r = b.finish();
        assert!(r.interrupted);
        assert_eq!(r.trials.len(), 1);
        assert_eq!(r.format_version, FORMAT_VERSION);
    }
}
