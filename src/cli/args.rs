//! The arguments of `run`, `list`, `compare` and `serve-model`, as clap parses them: they mirror argv;
//! [`super::settings`] resolves them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::snapshot::SnapshotMode;

/// What to run: shared by `run` and `list`.
#[derive(Debug, Args)]
pub(super) struct SelectArgs {
    /// Suite files or directories; a project's directory means its `suites/` (default:
    /// `suites/` under the project root).
    pub paths: Vec<PathBuf>,
    /// Only cases whose `suite::case` contains this text or matches this glob (repeatable).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Vec<String>,
    /// Trials per case per model (k), overriding the suites' `trials`.
    #[arg(short = 'k', long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub trials: Option<u32>,
    /// Models to run (repeatable), replacing each suite's `models`.
    #[arg(long = "model", value_name = "NAME")]
    pub models: Vec<String>,
    /// Run only shard I of N (1-based), split by a frozen hash of `suite::case`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// The project root holding `traceval.toml`, `suites/` and `reports/` (default: the
    /// nearest directory above the suites, or above the working directory without paths, that
    /// holds a `traceval.toml`, else one that holds `suites/`).
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// The `[profile.NAME]` of `traceval.toml` to use (default: `ci` when `CI` is set).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Also run the suites that say `ignore` (a suite file named on the command line always
    /// runs).
    #[arg(long)]
    pub include_ignored: bool,
}

/// `traceval run`.
#[derive(Debug, Args)]
pub(super) struct RunArgs {
    #[command(flatten)]
    pub(super) select: SelectArgs,
    /// Trials running at once (default: number of CPUs × 4; trials wait on I/O).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub(super) jobs: Option<u64>,
    /// Per-trial timeout, overriding cases and suites (e.g. `30s`, `1500ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(super) timeout: Option<Duration>,
    /// The run seed (default: random, recorded in the report).
    #[arg(long)]
    pub(super) seed: Option<u64>,
    /// Stop starting trials after the first failing one.
    #[arg(long)]
    pub(super) fail_fast: bool,
    /// Where to write the JSON report (default: `reports/<run-id>.json`).
    #[arg(long, value_name = "PATH")]
    pub(super) report: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "PATH")]
    pub(super) junit: Option<PathBuf>,
    /// Also write a self-contained HTML report here: the case × model matrix, each trial's
    /// checks and answer, span waterfalls and LLM transcripts (opens from disk, offline).
    #[arg(long, value_name = "PATH")]
    pub(super) html: Option<PathBuf>,
    /// Whose span trees the HTML report draws: `failing` (and one passing trial per case ×
    /// model), `flaky` (every trial of a case × model whose trials disagree), `all`, `none`.
    #[arg(
        long,
        value_name = "WHICH",
        default_value = "failing",
        requires = "html"
    )]
    pub(super) html_traces: crate::html::TraceSelection,
    /// Write each trial's spans as OTLP JSON under `reports/<run-id>/traces/`.
    #[arg(long)]
    pub(super) save_traces: bool,
    /// Most of each answer and stderr tail kept in the report, e.g. `65536`, `64KiB`, `1MiB`
    /// (default 16KiB; trials are graded on the whole answer).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(super) report_output_limit: Option<usize>,
    /// Re-grade a previous run's saved traces with the current suites, running no agent: the
    /// run's directory `reports/<run-id>/` or its report `reports/<run-id>.json` (the run must
    /// have used `--save-traces`).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["trials", "timeout", "seed"])]
    pub(super) replay: Option<PathBuf>,
    /// What a missing or different trace-shape snapshot does: `check` records a missing one
    /// and fails a different one, writing a `.snap.new` for review; `update` rewrites the
    /// `.snap`; `new` writes a
    /// `.snap.new` without failing. Nothing is written when `CI` is set or `INSTA_UPDATE=no`.
    /// Default: from `INSTA_UPDATE` (`always` is update, `new` is new), else `check`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(super) snapshots: Option<SnapshotsArg>,
    /// `human` status on stderr, or also `json`: one event per line on stdout.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub(super) message_format: MessageFormat,
    /// Colour the status verbs.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(super) color: Color,
    /// Under GitHub Actions (`GITHUB_ACTIONS=true`), do not append the run's Markdown summary
    /// to `$GITHUB_STEP_SUMMARY` (annotations are still printed).
    #[arg(long)]
    pub(super) no_github_summary: bool,
    /// After the run, compare its report with BASE.json (`traceval compare BASE.json NEW.json`);
    /// with a gate flag, a failed rule makes the exit code 1.
    #[arg(long, value_name = "BASE.json", conflicts_with = "replay")]
    pub(super) baseline: Option<PathBuf>,
    #[command(flatten)]
    pub(super) gate: GateArgs,
    #[command(flatten)]
    pub(super) forward: ForwardArgs,
}

/// `--snapshots`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum SnapshotsArg {
    Check,
    Update,
    New,
}

impl From<SnapshotsArg> for SnapshotMode {
    fn from(arg: SnapshotsArg) -> SnapshotMode {
        match arg {
            SnapshotsArg::Check => SnapshotMode::Check,
            SnapshotsArg::Update => SnapshotMode::Update,
            SnapshotsArg::New => SnapshotMode::New,
        }
    }
}

/// Machine output on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum MessageFormat {
    Human,
    Json,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Color {
    Auto,
    Always,
    Never,
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("must be longer than zero".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}

/// A size in bytes: a number, optionally followed by `B`, `KiB` or `MiB`.
fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let digits = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(digits);
    let number: usize = number
        .parse()
        .map_err(|_| format!("`{s}` is not a size: expected e.g. 65536, 64KiB or 1MiB"))?;
    let scale = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        other => return Err(format!("unknown unit `{other}`: use B, KiB or MiB")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// `traceval compare`.
#[derive(Debug, Args)]
pub(super) struct CompareArgs {
    /// BASE.json NEW.json [NEW2.json …] (runs; at most 8 candidates), or RUN.json (its models).
    #[arg(required = true, value_name = "REPORT")]
    pub(super) reports: Vec<PathBuf>,
    /// One report: the model the others are compared with (default: the report's first).
    #[arg(long, value_name = "NAME")]
    pub(super) baseline_model: Option<String>,
    /// One report: only these models.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(super) models: Option<Vec<String>>,
    /// Runs: pair the base's model OLD with the new run's NEW (repeatable).
    #[arg(long, value_name = "OLD=NEW", value_parser = parse_pair)]
    pub(super) map_model: Vec<(String, String)>,
    /// Significance level; intervals are at 1 − α.
    #[arg(long, value_name = "A", default_value_t = 0.05, value_parser = parse_alpha)]
    pub(super) alpha: f64,
    /// Smallest |Δ| of a rate or mean that counts as improved or regressed.
    #[arg(long, value_name = "X", default_value_t = 0.0, value_parser = parse_fraction)]
    pub(super) min_effect: f64,
    /// A comparison that finds nothing says `no change` when it resolves changes this small.
    #[arg(long, value_name = "X", default_value_t = 0.05, value_parser = parse_fraction)]
    pub(super) resolution: f64,
    /// `equivalent` when Δ's interval lies inside ±X.
    #[arg(long, value_name = "X", value_parser = parse_fraction)]
    pub(super) equivalence_margin: Option<f64>,
    /// Seed of the bootstrap and of Monte-Carlo sign flips: same inputs and seed, same JSON.
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
    /// Price every trial from its tokens with the newest report's price table.
    #[arg(long)]
    pub(super) reprice: bool,
    #[command(flatten)]
    pub(super) gate: GateArgs,
    /// What stdout gets: nothing (`human`: the display is on stderr), the JSON document or
    /// the Markdown.
    #[arg(long, value_enum, default_value_t = CompareFormat::Human)]
    pub(super) format: CompareFormat,
    /// Also write the JSON document to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) json: Option<PathBuf>,
    /// Also write the Markdown (a PR comment, `$GITHUB_STEP_SUMMARY`) to FILE.
    #[arg(long, value_name = "FILE")]
    pub(super) markdown: Option<PathBuf>,
    /// Also write the comparison as one self-contained HTML page to FILE, with the changed
    /// cases' trace shapes when the runs saved their traces.
    #[arg(long, value_name = "FILE")]
    pub(super) html: Option<PathBuf>,
    /// The Markdown's length limit in characters.
    #[arg(long, value_name = "N", default_value_t = crate::compare::render::markdown::BUDGET)]
    pub(super) markdown_budget: usize,
    /// Colour the display.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(super) color: Color,
}

/// The gate flags of `compare` and of `run --baseline`.
#[derive(Debug, Args)]
pub(super) struct GateArgs {
    /// The metrics `--fail-on-regression` reads (default `pass_rate`; all are reported).
    #[arg(long, value_name = "NAME", value_delimiter = ',', value_parser = parse_metric)]
    pub(super) metric: Vec<Vec<&'static str>>,
    /// Gate: fail when a `--metric` regressed.
    #[arg(long)]
    pub(super) fail_on_regression: bool,
    /// Gate: fail when a case went from pass to fail (`clean`) or to any failure (`any`).
    #[arg(long, value_enum, value_name = "WHICH", num_args = 0..=1, default_missing_value = "clean", require_equals = true)]
    pub(super) fail_on_broken: Option<BrokenArg>,
    /// Gate: fail when the pass rate fell by more than X (0.05 = 5 pp), significantly.
    #[arg(long, value_name = "X", value_parser = parse_fraction)]
    pub(super) max_drop: Option<f64>,
    /// Gate: fail unless Δ pass rate's interval stays above −X (non-inferiority).
    #[arg(long, value_name = "X", value_parser = parse_fraction)]
    pub(super) require_non_inferior: Option<f64>,
    /// Gate: fail when the cost rose by more than P (`10%` or 0.1), significantly.
    #[arg(long, value_name = "P", value_parser = parse_percent)]
    pub(super) max_cost_increase: Option<f64>,
    /// Gate: fail when the p95 latency rose by more than P (`20%`, `20%@p95`), significantly.
    #[arg(long, value_name = "P[@p95]", value_parser = parse_latency)]
    pub(super) max_latency_increase: Option<f64>,
    /// Gate: a removed case (or one whose new trials all errored) does not fail the gate.
    #[arg(long)]
    pub(super) allow_missing: bool,
    /// Compare even when case definitions changed; those cases are listed as `changed`.
    #[arg(long)]
    pub(super) allow_changed_suites: bool,
}

impl GateArgs {
    /// Whether any gate flag is given.
    pub(super) fn any(&self) -> bool {
        self.fail_on_regression
            || !self.metric.is_empty()
            || self.fail_on_broken.is_some()
            || self.max_drop.is_some()
            || self.require_non_inferior.is_some()
            || self.max_cost_increase.is_some()
            || self.max_latency_increase.is_some()
            || self.allow_missing
            || self.allow_changed_suites
    }
}

/// `--fail-on-broken`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum BrokenArg {
    Clean,
    Any,
}

/// `compare --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum CompareFormat {
    Human,
    Json,
    Markdown,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_owned(), b.to_owned())),
        _ => Err("expected OLD=NEW".to_owned()),
    }
}

fn parse_metric(s: &str) -> Result<Vec<&'static str>, String> {
    crate::compare::options::metric_names(s).ok_or_else(|| {
        format!(
            "unknown metric: use one of {}",
            crate::compare::options::METRICS.join(", ")
        )
    })
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err("expected a fraction between 0 and 1 (0.05 = 5 pp)".to_owned()),
    }
}

fn parse_alpha(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(x) if x > 0.0 && x < 1.0 => Ok(x),
        _ => Err("expected a level between 0 and 1, e.g. 0.05".to_owned()),
    }
}

/// `10%` (a percentage) or `0.1` (a fraction).
fn parse_percent(s: &str) -> Result<f64, String> {
    let value = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
        None => s.parse::<f64>(),
    };
    match value {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err("expected a percentage such as 10% (or a fraction such as 0.1)".to_owned()),
    }
}

fn parse_latency(s: &str) -> Result<f64, String> {
    match s.split_once('@') {
        None => parse_percent(s),
        Some((p, "p95")) => parse_percent(p),
        Some(_) => Err("only the p95 latency is compared: use P or P@p95".to_owned()),
    }
}

/// `traceval serve-model`.
#[derive(Debug, Args)]
pub(super) struct ServeModelArgs {
    /// The script (TOML) of the scripted model.
    pub(super) script: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub(super) port: u16,
    /// Seed for weighted variants.
    #[arg(long, default_value_t = 0)]
    pub(super) seed: u64,
}

/// The `--forward*` flags of `traceval run`.
#[derive(Debug, Args)]
pub(super) struct ForwardArgs {
    /// Forward every span of the run over OTLP to this endpoint (a server URL gets
    /// `/v1/traces` over HTTP). Default: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, `[forward] endpoint`, else off.
    #[arg(long, value_name = "URL")]
    pub(super) forward: Option<String>,
    /// Forward nothing, whatever the environment or `traceval.toml` say.
    #[arg(long, conflicts_with = "forward")]
    pub(super) no_forward: bool,
    /// `grpc`, `http/protobuf` (default) or `http/json`.
    #[arg(long, value_name = "PROTOCOL")]
    pub(super) forward_protocol: Option<String>,
    /// A request header, its value read from a variable: `NAME=env:VAR` (repeatable).
    #[arg(long, value_name = "NAME=env:VAR")]
    pub(super) forward_header: Vec<String>,
    /// `generic` (default), `phoenix`, `langfuse` or `mlflow`.
    #[arg(long, value_name = "NAME")]
    pub(super) forward_profile: Option<String>,
    /// How verdicts travel: `span` events (default), `log` records, `both` or `none`.
    #[arg(long, value_name = "MODE")]
    pub(super) forward_events: Option<String>,
    /// Per request, and the most the run waits for the backend after its last trial (default
    /// 10s).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub(super) forward_timeout: Option<Duration>,
    /// Exit 3 when a span was not delivered.
    #[arg(long)]
    pub(super) forward_required: bool,
}

#[cfg(test)]
mod tests {
    use super::{parse_latency, parse_percent, parse_size};

    #[test]
    fn percentages_and_fractions() {
        assert_eq!(parse_percent("10%"), Ok(0.1));
        assert_eq!(parse_percent("0.25"), Ok(0.25));
        assert!(parse_percent("-5%").is_err());
        assert_eq!(parse_latency("20%@p95"), Ok(0.2));
        assert!(parse_latency("20%@p50").is_err());
    }

    #[test]
    fn sizes_are_bytes_kib_or_mib() {
        assert_eq!(parse_size("65536"), Ok(65536));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1MiB"), Ok(1 << 20));
        assert_eq!(parse_size("10B"), Ok(10));
        assert!(parse_size("64KB").is_err());
        assert!(parse_size("KiB").is_err());
    }
}
