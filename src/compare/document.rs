//! The comparison document: what `traceval compare --format json` prints and `--json FILE`
//! writes (`"kind": "traceval.compare"`, `format_version` 1). The terminal display and the
//! Markdown are rendered from it alone, so every output says the same thing
//! (`docs/reference/compare.md`).

use serde::{Deserialize, Serialize};

/// The document's `kind`.
pub(crate) const KIND: &str = "traceval.compare";

/// The document's format; additive changes keep it.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// A whole comparison: one or more base/new pairs and the gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Document {
    /// Always [`KIND`].
    pub(crate) kind: String,
    /// Always [`FORMAT_VERSION`].
    pub(crate) format_version: u32,
    /// The traceval that compared.
    pub(crate) traceval_version: String,
    /// The seed of every random choice (bootstrap, Monte-Carlo sign flips).
    pub(crate) seed: u64,
    /// The significance level; intervals are at 1 − α (named `ci95` at the default 0.05).
    pub(crate) alpha: f64,
    /// The reports read, in the order given (the base first).
    pub(crate) inputs: Vec<Input>,
    /// One per base/new pair: base against each candidate run, or the baseline model against
    /// each other model of one run.
    pub(crate) comparisons: Vec<Comparison>,
    /// What the reader must know before trusting the numbers: aligned model names, a changed
    /// price table, cases left out as changed, an older report without some field, ….
    pub(crate) notes: Vec<Note>,
    /// The gate's rules and the ones that failed.
    pub(crate) gate: Gate,
}

/// One report read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Input {
    /// The path as given on the command line.
    pub(crate) path: String,
    /// The report's `run_id`.
    pub(crate) run_id: String,
    /// The report's `started_at` (RFC 3339).
    pub(crate) started_at: String,
    /// The report's `git_commit`.
    pub(crate) git_commit: Option<String>,
    /// The price table's date (`pricing.date`).
    pub(crate) pricing_date: Option<String>,
    /// The models of the report, in its order.
    pub(crate) models: Vec<String>,
}

/// One side of a pair: a run, and a model of it when the pair is of models or the run has one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Side {
    /// The run's id.
    pub(crate) run_id: String,
    /// The index into [`Document::inputs`].
    pub(crate) input: usize,
    /// The model compared, when one model of the run is (model mode, or a one-model run);
    /// `None` when every model of the run is, each paired with its namesake.
    pub(crate) model: Option<String>,
}

/// One base/new pair compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Comparison {
    /// The base side.
    pub(crate) base: Side,
    /// The new side.
    pub(crate) new: Side,
    /// Case keys on both sides that entered the statistics.
    pub(crate) matched: usize,
    /// Trials per case on each side: the smallest and largest k (equal when constant).
    pub(crate) k_base: (u32, u32),
    /// See `k_base`.
    pub(crate) k_new: (u32, u32),
    /// Each metric compared, the pass rate first.
    pub(crate) metrics: Vec<Metric>,
    /// Every case key on either side, worst first: broken, degraded, destabilized, removed,
    /// changed, flaky, partly fixed, fixed, stabilized, added, unchanged; within a label by
    /// suite, case, model.
    pub(crate) cases: Vec<CaseRow>,
    /// How many cases carry each label, in the order above; labels with no case left out.
    pub(crate) labels: Vec<LabelCount>,
    /// Flaky cases on each side.
    pub(crate) flaky: (usize, usize),
    /// "Buy trials or cases?": how much doubling k, or the cases, narrows the pass-rate
    /// interval; `None` when k = 1 or fewer than two cases.
    pub(crate) advice: Option<Advice>,
}

/// One metric compared (`docs/reference/compare.md`, "Metrics").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Metric {
    /// `pass_rate`, `pass_at_k`, `pass_hat_k`, `tool_f1`, `llm_calls`, `cost_usd`,
    /// `latency_ms_p95`, `input_tokens`, `output_tokens`.
    pub(crate) name: String,
    /// The base side's value: the mean over cases (the pooled percentile for latency).
    pub(crate) base: Option<f64>,
    /// The new side's value.
    pub(crate) new: Option<f64>,
    /// new − base, in the metric's own unit (a fraction for rates).
    pub(crate) delta: Option<f64>,
    /// new / base (the geometric mean of per-case ratios) for metrics compared as ratios.
    pub(crate) ratio: Option<f64>,
    /// The interval at 1 − α of `ratio` when there is one, else of `delta`.
    pub(crate) ci95: Option<(f64, f64)>,
    /// The paired sign-flip test's two-sided p (1 when no case differs).
    pub(crate) p: f64,
    /// Its mid-p.
    pub(crate) p_mid: f64,
    /// `p` after Holm's correction across the comparisons of the document, when there are
    /// several; the verdict reads this one.
    pub(crate) p_adjusted: Option<f64>,
    /// `improved`, `regressed`, `equivalent`, `no change` or `inconclusive`.
    pub(crate) verdict: String,
    /// The smallest change this comparison would detect at 80% power, in the unit of `delta`
    /// (relative for ratios: 0.1 = ×1.1).
    pub(crate) mde: Option<f64>,
    /// Cases that entered this metric (a ratio leaves out cases with a 0 on either side).
    pub(crate) cases: usize,
    /// Why the metric reads as it does, when it needs saying (unpriced trials, a changed
    /// price table, repriced).
    pub(crate) note: Option<String>,
}

/// One case key and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CaseRow {
    /// The suite's name.
    pub(crate) suite: String,
    /// The case's id.
    pub(crate) case: String,
    /// The model, when the key has one (runs compared model by model); `None` in model mode
    /// and when each side has one model.
    pub(crate) model: Option<String>,
    /// The base side; `None` when the case was added.
    pub(crate) base: Option<CaseSide>,
    /// The new side; `None` when the case was removed.
    pub(crate) new: Option<CaseSide>,
    /// `broken`, `fixed`, `destabilized`, `stabilized`, `degraded`, `partly fixed`, `flaky`,
    /// `unchanged`, `added`, `removed`, `changed`.
    pub(crate) label: String,
    /// Fisher's exact test of the case's two pass counts (nominal).
    pub(crate) fisher_p: Option<f64>,
    /// Benjamini–Hochberg q over the cases whose class changed (descriptive; the gate never
    /// reads it).
    pub(crate) q: Option<f64>,
    /// A broken or fixed case with q < α.
    pub(crate) significant: bool,
    /// What the agent did differently, for cases whose class changed.
    pub(crate) behaviour: Option<Behaviour>,
}

/// One side of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct CaseSide {
    /// Trials that passed.
    pub(crate) passed: u32,
    /// Trials that ran.
    pub(crate) n: u32,
    /// `pass` (all passed), `fail` (none), `flaky` (some), `error` (every trial errored).
    pub(crate) class: String,
    /// The trials in order: `●` passed, `○` failed, `✕` errored.
    pub(crate) strip: String,
}

/// What the agent did differently in a case, read from the trials' metrics and shapes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Behaviour {
    /// One line for a table cell: the biggest difference found, e.g. `tools: get_weather×2 →
    /// get_weather×1 (5/5)` or `new tool in 2/5: delete_account`.
    pub(crate) summary: String,
    /// The tool-call sequences and how many trials made each, most frequent first.
    pub(crate) tools: Variants,
    /// The trace shapes (`trials[].shape_hash`) and how many trials had each; empty when the
    /// reports have no shape hashes.
    pub(crate) shapes: Variants,
    /// Means per trial, base → new.
    pub(crate) llm_calls: (f64, f64),
    /// See `llm_calls`.
    pub(crate) retries: (f64, f64),
    /// See `llm_calls`.
    pub(crate) error_spans: (f64, f64),
    /// See `llm_calls`: input + output tokens.
    pub(crate) tokens: (f64, f64),
}

/// Variants on each side.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Variants {
    /// The base side's.
    pub(crate) base: Vec<Variant>,
    /// The new side's.
    pub(crate) new: Vec<Variant>,
}

/// One variant of a sequence or shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Variant {
    /// The sequence (`get_weather → get_weather`), or a shape hash.
    pub(crate) value: String,
    /// Trials that had it.
    pub(crate) count: u32,
}

/// How many cases carry a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LabelCount {
    /// The label.
    pub(crate) label: String,
    /// The number of cases.
    pub(crate) count: usize,
}

/// Where more data narrows the pass-rate interval most.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Advice {
    /// The fraction by which doubling k narrows the interval (0.11 = 11%).
    pub(crate) double_trials: f64,
    /// The fraction by which doubling the cases narrows it.
    pub(crate) double_cases: f64,
}

/// A note on the comparison.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Note {
    /// A stable key: `models_aligned`, `price_table_changed`, `repriced`, `changed_cases`,
    /// `older_report`, `different_versions`, `different_seeds`, `unpriced`.
    pub(crate) kind: String,
    /// One sentence for a person.
    pub(crate) message: String,
}

/// The gate: the rules given and the ones that failed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct Gate {
    /// Each rule as given, e.g. `--fail-on-regression`, `--max-cost-increase 10%`.
    pub(crate) rules: Vec<String>,
    /// Each failed rule with why, one line each, e.g. `--fail-on-broken: 1 case went from
    /// pass to fail (weather::two-cities, careful)`.
    pub(crate) failed: Vec<String>,
}
