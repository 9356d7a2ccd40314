//! What a comparison is asked to do: which sides, which statistics settings, which gate.

use super::stats::metric::Options as StatsOptions;

/// The metrics every comparison reports, in the order of `Comparison::metrics`.
pub(crate) const METRICS: [&str; 9] = [
    "pass_rate",
    "pass_at_k",
    "pass_hat_k",
    "tool_f1",
    "llm_calls",
    "cost_usd",
    "latency_ms_p95",
    "input_tokens",
    "output_tokens",
];

/// The metric names `name` stands for: a document name (`pass_rate`) or the design's spelling
/// (`pass-rate`, `pass@k`, `pass^k`, `tool-f1`, `llm-calls`, `cost`, `latency`, `tokens`);
/// `None` when it names none.
pub(crate) fn metric_names(name: &str) -> Option<Vec<&'static str>> {
    let one = |n: &'static str| Some(vec![n]);
    match name {
        "pass-rate" => one("pass_rate"),
        "pass@k" => one("pass_at_k"),
        "pass^k" => one("pass_hat_k"),
        "tool-f1" => one("tool_f1"),
        "llm-calls" => one("llm_calls"),
        "cost" => one("cost_usd"),
        "latency" | "latency-p95" => one("latency_ms_p95"),
        "tokens" => Some(vec!["input_tokens", "output_tokens"]),
        _ => METRICS.iter().find(|m| **m == name).map(|m| vec![*m]),
    }
}

/// How to pick and pair the sides, and the statistics' settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct CompareOptions {
    /// α, minimum effect, resolution, equivalence margin, seed.
    pub(crate) stats: StatsOptions,
    /// Model mode: the baseline model (`--baseline-model`; default the report's first).
    pub(crate) baseline_model: Option<String>,
    /// Model mode: only these models (`--models a,b`).
    pub(crate) models: Option<Vec<String>>,
    /// Run mode: base model `old` is paired with new model `new` (`--map-model old=new`).
    pub(crate) map_model: Vec<(String, String)>,
    /// Compare even when case definitions changed, listing those cases as `changed`.
    pub(crate) allow_changed_suites: bool,
    /// Recompute every trial's cost with the newest report's price table (`--reprice`).
    pub(crate) reprice: bool,
    /// Case resamples of the pooled latency percentile (a pooled percentile costs R × trials).
    pub(crate) latency_resamples: usize,
}

impl CompareOptions {
    /// The defaults of the command line.
    pub(crate) fn new(stats: StatsOptions) -> CompareOptions {
        CompareOptions {
            stats,
            latency_resamples: LATENCY_RESAMPLES,
            ..CompareOptions::default()
        }
    }
}

/// Case resamples for the pooled latency percentile, scaled down for very large runs so one
/// comparison stays about 2·10⁷ trial values of work.
pub(crate) const LATENCY_RESAMPLES: usize = 2_000;

/// Which transitions `--fail-on-broken` fails on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Broken {
    /// pass → fail (`broken`).
    Clean,
    /// pass → anything but pass (`broken` or `destabilized`).
    Any,
}

/// The gate's rules; none set means no gate (exit 0 whatever the comparison finds).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct GateOptions {
    /// `--fail-on-regression`: a metric of `metrics` regressed.
    pub(crate) fail_on_regression: bool,
    /// `--metric`: the metrics `--fail-on-regression` reads (default `pass_rate`).
    pub(crate) metrics: Vec<String>,
    /// `--fail-on-broken[=clean|any]`.
    pub(crate) fail_on_broken: Option<Broken>,
    /// `--max-drop X`: the pass rate fell by more than X, significantly.
    pub(crate) max_drop: Option<f64>,
    /// `--require-non-inferior X`: the interval's lower end of Δ pass rate is below −X.
    pub(crate) require_non_inferior: Option<f64>,
    /// `--max-cost-increase P`: the cost ratio is above 1 + P, significantly.
    pub(crate) max_cost_increase: Option<f64>,
    /// `--max-latency-increase P`: the p95 latency ratio is above 1 + P, significantly.
    pub(crate) max_latency_increase: Option<f64>,
    /// `--allow-missing`: a removed case (or one whose new trials all errored) passes.
    pub(crate) allow_missing: bool,
}

impl GateOptions {
    /// Whether any rule is set: the comparison is a gate.
    pub(crate) fn active(&self) -> bool {
        self.fail_on_regression
            || self.fail_on_broken.is_some()
            || self.max_drop.is_some()
            || self.require_non_inferior.is_some()
            || self.max_cost_increase.is_some()
            || self.max_latency_increase.is_some()
    }

    /// The metrics `--fail-on-regression` reads.
    pub(crate) fn regression_metrics(&self) -> Vec<String> {
        if self.metrics.is_empty() {
            vec!["pass_rate".to_owned()]
        } else {
            self.metrics.clone()
        }
    }
}
