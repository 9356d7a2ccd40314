//! Folding a run's events into a [`Report`]: the run-level fields from `run_started` and
//! `run_finished`, the trials converted into the report's types, then the aggregates.

use std::collections::BTreeMap;

use rayon::prelude::*;

use super::{
    CaseAggregate, FORMAT_VERSION, LatencyMs, ModelAggregate, ModelEndpoint, PricingInfo,
    ReplaySource, Report, ShardInfo, StopReason, SuiteInfo, TrialResult, Warning,
};
use crate::event::{self, RunEvent};
use crate::metrics::interval::{Z95, clustered, wilson};
use crate::metrics::passk::{pass_at_k, pass_at_k_table, pass_hat_k, pass_hat_k_table};
use crate::metrics::percentile::Percentiles;

/// What a report needs that the events do not carry.
#[derive(Debug, Clone, Default)]
#[doc(hidden)]
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
    /// Each case's definition hash (`cases[].definition_hash`), by suite and case id.
    pub definitions: BTreeMap<String, BTreeMap<String, String>>,
    /// `--shard I/N`: the shard and its plan.
    pub shard: Option<ShardInfo>,
    /// `--save-traces`: where the trace files go.
    pub traces_dir: Option<String>,
}

/// Folds events into a [`Report`].
#[derive(Debug, Default)]
#[doc(hidden)]
pub struct ReportBuilder {
    meta: RunMeta,
    run_id: String,
    started_at: String,
    seed: u64,
    trials: Vec<TrialResult>,
    warnings: Vec<Warning>,
    finished: Option<event::RunFinished>,
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
            RunEvent::TrialFinished(t) => self.trials.push(TrialResult::from(*t)),
            RunEvent::Warning(w) if w.trial.is_none() => self.warnings.push(w.into()),
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
        let (mut cases, models) =
            rayon::join(|| case_aggregates(&trials), || model_aggregates(&trials));
        let definitions = &self.meta.definitions;
        for case in &mut cases {
            let hash = definitions.get(&case.suite).and_then(|d| d.get(&case.case));
            case.definition_hash = hash.cloned();
        }
        let finished = self.finished;
        let stopped = match &finished {
            Some(f) => f.stopped.map(StopReason::from),
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
            traces_dir: self.meta.traces_dir,
            model_endpoints: self.meta.model_endpoints,
            shard: self.meta.shard,
            merged: None,
            // The forwarding output adds it once it has waited for the backend.
            forward: None,
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
                definition_hash: None,
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
    use crate::event::RunEvent;
    use crate::report::schema::{AgentExit, ToolCallRecord, TrialMetrics};

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
            shape_hash: None,
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
            ToolCallRecord {
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
    fn cases_take_their_definition_hash_from_the_run_meta() {
        let meta = RunMeta {
            definitions: BTreeMap::from([(
                "s".to_owned(),
                BTreeMap::from([("a".to_owned(), "00000000000000aa".to_owned())]),
            )]),
            ..RunMeta::default()
        };
        let mut b = ReportBuilder::new(meta);
        for t in [trial("a", "m", 0, true, 1.0), trial("b", "m", 0, true, 1.0)] {
            b.on_event(RunEvent::TrialFinished(Box::new(t.into())));
        }
        let r = b.finish();
        let hashes: Vec<_> = r
            .cases
            .iter()
            .map(|c| c.definition_hash.as_deref())
            .collect();
        // A case the meta does not know (a report re-folded without its suites) has none.
        assert_eq!(hashes, [Some("00000000000000aa"), None]);
    }

    #[test]
    fn an_unfinished_run_reports_itself_interrupted() {
        let mut b = ReportBuilder::new(RunMeta::default());
        b.on_event(RunEvent::TrialFinished(Box::new(
            trial("a", "m", 0, true, 1.0).into(),
        )));
        let r = b.finish();
        assert!(r.interrupted);
        assert_eq!(r.trials.len(), 1);
        assert_eq!(r.format_version, FORMAT_VERSION);
    }
}
