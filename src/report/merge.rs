//! `traceval merge`: the reports of one run's shards (`run --shard I/N`) joined into the report
//! the unsharded run would have written, run-level times aside.
//!
//! The inputs must be shards of one plan: the same report format, traceval, seed, suites (each
//! shard records the whole run's), prices, commit and plan hash, each shard once, every shard
//! present (unless partial merges are allowed) and no trial twice. The trials are then folded by
//! [`ReportBuilder`], the code `run` reports with: it sorts them into plan order and recomputes
//! every aggregate from them, so sums are float for float the unsharded run's. Nothing is taken
//! from the shards' own aggregates.
//!
//! Saved traces (`--save-traces`) sit in `<run-id>/traces/` beside each shard's report; their
//! file names hash the shard's run id, so the files of every shard go into one directory
//! beside the merged report without clashing ([`copy_traces`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use super::schema::{MergeInfo, MergeInput, StopReason, Warning};
use super::{Report, ReportBuilder, RunMeta};
use crate::event::{self, RunEvent};

/// One input: a report and the path it was read from.
#[derive(Debug)]
pub(crate) struct ShardReport {
    /// The file, as given.
    pub(crate) path: PathBuf,
    /// Its report.
    pub(crate) report: Report,
}

/// What the merged report gets that no shard has.
#[derive(Debug)]
pub(crate) struct MergeOptions {
    /// Merge even when shards are missing (`--allow-partial`).
    pub(crate) allow_partial: bool,
    /// The merged report's run id.
    pub(crate) run_id: String,
    /// The `traceval merge` command line.
    pub(crate) command: Vec<String>,
}

/// The merged report and the saved traces its trials name.
#[derive(Debug)]
pub(crate) struct Merged {
    /// The report of the whole run.
    pub(crate) report: Report,
    /// Per shard with saved traces, in shard order: where they are and which files.
    pub(crate) traces: Vec<TraceSource>,
}

/// One shard's saved traces.
#[derive(Debug)]
pub(crate) struct TraceSource {
    /// `<run-id>/traces/` beside the shard's report.
    pub(crate) dir: PathBuf,
    /// `I/N`, for messages.
    pub(crate) shard: String,
    /// The file names its trials name (plain names only).
    pub(crate) files: Vec<String>,
}

/// Why reports cannot be merged: the input is unreadable (exit 3) or not a shard of the same
/// plan as the others (exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum MergeError {
    /// An input cannot be read, or is not a report this traceval reads.
    #[error(transparent)]
    Read(#[from] super::read::ReadError),
    /// An input is not a shard's report.
    #[error(
        "`{}` has no `shard`: it is not the report of a `traceval run --shard I/N`",
        .0.display()
    )]
    NotAShard(PathBuf),
    /// An input belongs to another run than the first.
    #[error("`{}`: {field} is {found}, but `{}` has {expected}: not shards of one run", path.display(), first.display())]
    Differs {
        /// The input that differs.
        path: PathBuf,
        /// The field, as the report names it.
        field: String,
        /// Its value there.
        found: String,
        /// The first input (the lowest shard).
        first: PathBuf,
        /// Its value there.
        expected: String,
    },
    /// One shard is given twice.
    #[error("shard {shard} is given twice: `{}` and `{}`", first.display(), second.display())]
    ShardTwice {
        /// `I/N`.
        shard: String,
        /// One input.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// The same trial is in two inputs.
    #[error("trial {trial} is in both `{}` and `{}`", first.display(), second.display())]
    TrialTwice {
        /// `suite::case model #i`.
        trial: String,
        /// One input.
        first: PathBuf,
        /// The other.
        second: PathBuf,
    },
    /// Shards are missing and a partial merge was not asked for.
    #[error("{}: merge every shard, or pass --allow-partial", missing_text(.missing, *.count))]
    Missing {
        /// The missing shard indices.
        missing: Vec<u32>,
        /// N.
        count: u32,
    },
    /// The merged traces cannot be written.
    #[error("cannot copy the saved trace `{}` to `{}`", from.display(), to.display())]
    CopyTrace {
        /// The shard's file.
        from: PathBuf,
        /// The merged run's file.
        to: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl MergeError {
    /// Whether the machine failed (exit 3) rather than the inputs (exit 2).
    pub(crate) fn is_io(&self) -> bool {
        match self {
            MergeError::Read(e) => e.is_io(),
            MergeError::CopyTrace { .. } => true,
            _ => false,
        }
    }
}

/// `shard 2/3 missing`, `shards 1/4, 3/4 missing`.
pub(crate) fn missing_text(missing: &[u32], count: u32) -> String {
    let list: Vec<String> = missing.iter().map(|i| format!("{i}/{count}")).collect();
    let s = if missing.len() == 1 { "" } else { "s" };
    format!("shard{s} {} missing", list.join(", "))
}

/// Reads one report, checking its format version first so that a newer report says so rather
/// than failing to parse.
pub(crate) fn read(path: &Path) -> Result<Report, MergeError> {
    Ok(super::read::read(path)?)
}

/// Merges shard reports into the whole run's report, or says why they are not shards of one
/// run. Call it off an async runtime's workers ([`ReportBuilder::finish`] uses rayon).
pub(crate) fn merge(
    mut inputs: Vec<ShardReport>,
    options: MergeOptions,
) -> Result<Merged, MergeError> {
    for input in &inputs {
        if input.report.shard.is_none() {
            return Err(MergeError::NotAShard(input.path.clone()));
        }
    }
    let index = |i: &ShardReport| i.report.shard.as_ref().map_or(0, |s| s.index);
    inputs.sort_by_key(index);
    let Some(first) = inputs.first() else {
        return Err(MergeError::Missing {
            missing: Vec::new(),
            count: 0,
        });
    };
    for input in &inputs[1..] {
        same_run(first, input)?;
    }
    for pair in inputs.windows(2) {
        if index(&pair[0]) == index(&pair[1]) {
            return Err(MergeError::ShardTwice {
                shard: shard_text(&pair[0]),
                first: pair[0].path.clone(),
                second: pair[1].path.clone(),
            });
        }
    }
    let count = first.report.shard.as_ref().map_or(0, |s| s.count);
    let present: BTreeSet<u32> = inputs.iter().map(index).collect();
    let missing: Vec<u32> = (1..=count).filter(|i| !present.contains(i)).collect();
    if !missing.is_empty() && !options.allow_partial {
        return Err(MergeError::Missing { missing, count });
    }
    check_trials_once(&inputs)?;
    Ok(fold(inputs, options, count, missing))
}

/// `I/N` of a shard report.
fn shard_text(input: &ShardReport) -> String {
    input
        .report
        .shard
        .as_ref()
        .map_or_else(String::new, |s| format!("{}/{}", s.index, s.count))
}

/// The run-level fields every shard of one run shares, compared with the first shard's.
fn same_run(first: &ShardReport, other: &ShardReport) -> Result<(), MergeError> {
    let (a, b) = (&first.report, &other.report);
    let differs = |field: &str, expected: String, found: String| MergeError::Differs {
        path: other.path.clone(),
        field: field.to_owned(),
        found,
        first: first.path.clone(),
        expected,
    };
    if a.traceval_version != b.traceval_version {
        return Err(differs(
            "traceval_version",
            a.traceval_version.clone(),
            b.traceval_version.clone(),
        ));
    }
    if a.seed != b.seed {
        return Err(differs("seed", a.seed.to_string(), b.seed.to_string()));
    }
    let (sa, sb) = (a.shard.as_ref(), b.shard.as_ref());
    let count = |s: Option<&super::schema::ShardInfo>| s.map_or(0, |s| s.count).to_string();
    if count(sa) != count(sb) {
        return Err(differs("the shard count", count(sa), count(sb)));
    }
    // Suites first, by name, so the message names the suite that changed.
    let hashes = |r: &Report| -> BTreeMap<String, String> {
        r.suites
            .iter()
            .map(|s| (s.name.clone(), s.content_hash.clone()))
            .collect()
    };
    let (ha, hb) = (hashes(a), hashes(b));
    for name in ha.keys().chain(hb.keys()) {
        let (x, y) = (ha.get(name), hb.get(name));
        if x != y {
            let show = |h: Option<&String>| h.map_or_else(|| "absent".to_owned(), Clone::clone);
            let field = format!("the content_hash of suite `{name}`");
            return Err(differs(&field, show(x), show(y)));
        }
    }
    if a.suites != b.suites {
        return Err(differs("suites", json(&a.suites), json(&b.suites)));
    }
    let plan =
        |s: Option<&super::schema::ShardInfo>| s.map_or_else(String::new, |s| s.plan.clone());
    if plan(sa) != plan(sb) {
        // Same suites, another selection: --filter, -k, --model or the profile differ.
        return Err(differs(
            "shard.plan (the cases, models and trials selected)",
            plan(sa),
            plan(sb),
        ));
    }
    if a.pricing != b.pricing {
        return Err(differs("pricing", json(&a.pricing), json(&b.pricing)));
    }
    if a.git_commit != b.git_commit {
        return Err(differs(
            "git_commit",
            json(&a.git_commit),
            json(&b.git_commit),
        ));
    }
    Ok(())
}

/// A value shown in a message, as compact JSON.
fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// No trial key (suite, case, model, trial) twice, in two inputs or in one.
fn check_trials_once(inputs: &[ShardReport]) -> Result<(), MergeError> {
    let mut seen: BTreeMap<(&str, &str, &str, u32), usize> = BTreeMap::new();
    for (i, input) in inputs.iter().enumerate() {
        for t in &input.report.trials {
            let key = (t.suite.as_str(), t.case.as_str(), t.model.as_str(), t.trial);
            if let Some(&j) = seen.get(&key) {
                return Err(MergeError::TrialTwice {
                    trial: format!("{}::{} {} #{}", t.suite, t.case, t.model, t.trial),
                    first: inputs[j].path.clone(),
                    second: input.path.clone(),
                });
            }
            seen.insert(key, i);
        }
    }
    Ok(())
}

/// Each case's definition hash as the shards recorded it, by suite and case id.
fn definitions(inputs: &[ShardReport]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut definitions: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    let cases = inputs.iter().flat_map(|i| &i.report.cases);
    for case in cases {
        if let Some(hash) = &case.definition_hash {
            let suite = definitions.entry(case.suite.clone()).or_default();
            suite.insert(case.case.clone(), hash.clone());
        }
    }
    definitions
}

/// The merged report, folded from every shard's trials by the builder `run` uses.
fn fold(inputs: Vec<ShardReport>, options: MergeOptions, count: u32, missing: Vec<u32>) -> Merged {
    let first = &inputs[0].report;
    let mut endpoints: Vec<_> = inputs
        .iter()
        .flat_map(|i| i.report.model_endpoints.iter().cloned())
        .collect();
    endpoints.sort();
    endpoints.dedup();
    let meta = RunMeta {
        command: options.command,
        git_commit: first.git_commit.clone(),
        suites: first.suites.clone(),
        pricing: first.pricing.clone(),
        replayed_from: None,
        model_endpoints: endpoints,
        shard: None,
        definitions: definitions(&inputs),
        // The shards' traces are copied beside the merged report, where readers look first.
        traces_dir: None,
    };
    let started_at = inputs
        .iter()
        .map(|i| i.report.started_at.clone())
        .min()
        .unwrap_or_default();
    let seed = first.seed;
    let traceval_version = first.traceval_version.clone();
    let mut builder = ReportBuilder::new(meta);
    builder.on_event(RunEvent::RunStarted(event::RunStarted {
        run_id: options.run_id,
        started_at,
        seed,
        suites: first.suites.len(),
        cases: 0,
        models: 0,
        groups: 0,
        trials: 0,
        jobs: 0,
        ignored_suites: 0,
    }));
    // The shards ran side by side: the merged run took as long as the longest.
    let duration_ms = inputs
        .iter()
        .map(|i| i.report.duration_ms)
        .fold(0.0, f64::max);
    let (mut not_run, mut unattributed_spans) = (0, 0);
    let (mut interrupted, mut stopped) = (false, None);
    let mut warnings: Vec<Warning> = Vec::new();
    let mut merge_inputs = Vec::new();
    let mut traces = Vec::new();
    for input in inputs {
        let ShardReport { path, report } = input;
        not_run += report.not_run;
        unattributed_spans += report.unattributed_spans;
        interrupted |= report.interrupted;
        stopped = stopped.or(report.stopped);
        for w in report.warnings {
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        let shard = report.shard.as_ref().map_or(0, |s| s.index);
        let files: Vec<String> = report
            .trials
            .iter()
            .flat_map(|t| [&t.trace_file, &t.judge_trace_file])
            .flatten()
            .cloned()
            .collect();
        if !files.is_empty() {
            traces.push(TraceSource {
                dir: path.with_file_name(&report.run_id).join("traces"),
                shard: format!("{shard}/{count}"),
                files,
            });
        }
        merge_inputs.push(MergeInput {
            report: path.display().to_string(),
            run_id: report.run_id,
            shard,
        });
        for trial in report.trials {
            builder.on_event(RunEvent::TrialFinished(Box::new(trial.into())));
        }
    }
    builder.on_event(RunEvent::RunFinished(event::RunFinished {
        duration_ms,
        stopped: None,
        not_run,
        unattributed_spans,
        unattributed: Vec::new(),
    }));
    let mut report = builder.finish();
    report.traceval_version = traceval_version;
    report.interrupted = interrupted;
    report.stopped = if interrupted {
        Some(StopReason::Interrupted)
    } else {
        stopped
    };
    report.warnings = warnings;
    report.merged = Some(MergeInfo {
        shards: count,
        inputs: merge_inputs,
        missing,
    });
    Merged { report, traces }
}

/// Copies (hard-links where it can) each shard's saved trace files into `to`, the merged run's
/// `traces/` directory, and returns a warning per shard whose files are not all there. A file
/// name that is not one plain name is data, never followed.
pub(crate) fn copy_traces(sources: &[TraceSource], to: &Path) -> Result<Vec<String>, MergeError> {
    let mut warnings = Vec::new();
    for source in sources {
        let mut absent = 0usize;
        for name in &source.files {
            let plain = matches!(
                Path::new(name).components().collect::<Vec<_>>()[..],
                [Component::Normal(_)]
            );
            let from = source.dir.join(name);
            if !plain || !from.is_file() {
                absent += 1;
                continue;
            }
            let dest = to.join(name);
            let copy_error = |source| MergeError::CopyTrace {
                from: from.clone(),
                to: dest.clone(),
                source,
            };
            std::fs::create_dir_all(to).map_err(copy_error)?;
            if std::fs::hard_link(&from, &dest).is_err() {
                std::fs::copy(&from, &dest).map_err(copy_error)?;
            }
        }
        if absent > 0 {
            warnings.push(format!(
                "shard {}: {absent} of {} saved trace files are not in `{}`; replaying the \
                 merged report errors on their trials",
                source.shard,
                source.files.len(),
                source.dir.display()
            ));
        }
    }
    Ok(warnings)
}

#[cfg(test)]
mod tests;
