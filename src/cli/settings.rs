//! Settings: the arguments resolved once against the environment, the `[profile.*]` of
//! `traceval.toml` and the defaults. Every precedence is written here, and only here; where
//! more than one source applies, a flag wins over the environment, which wins over the
//! profile, which wins over the default:
//!
//! | setting | sources, strongest first |
//! | --- | --- |
//! | profile | `--profile` > `[profile.ci]` when `CI` is set > none |
//! | trials, models | `-k`, `--model` > profile > the suites' (a replay: the recorded run's) |
//! | jobs | `-j` > profile > CPUs × 4 |
//! | timeout | `--timeout` > profile > the cases' |
//! | fail-fast | `--fail-fast` or profile |
//! | report, JUnit | `--report` > `reports/<run-id>.json`; `--junit` > profile > none |
//! | seed | `--seed` > the replayed run's > random |
//! | snapshots | `CI`/`TF_BUILD`/`INSTA_UPDATE=no` forbid writes whatever the flag; else `--snapshots` > `INSTA_UPDATE` > `check` |
//! | colour | `--color always/never` > `NO_COLOR` and stderr a terminal |
//! | progress bar | stderr a terminal, not `CI`, not `--message-format json` |
//! | GitHub outputs | on when `GITHUB_ACTIONS=true`: annotations always, paths relative to `GITHUB_WORKSPACE` > the working directory |
//! | GitHub step summary | `--no-github-summary` > `GITHUB_STEP_SUMMARY` (set and not empty) > none |

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::CliError;
use super::args::{Color, MessageFormat, RunArgs, SelectArgs};
use crate::report::Report;
use crate::runner::{self, PlanOptions};
use crate::snapshot::{SnapshotMode, SnapshotSettings, Writes};
use crate::suite::spec::{Profile, ProjectConfig};

/// Variables read as text (`std::env::var`).
const VARS: [&str; 6] = [
    "CI",
    "TF_BUILD",
    "INSTA_UPDATE",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_WORKSPACE",
];

/// What the process's surroundings say, read once: the variables the settings depend on, the
/// terminal, the machine.
#[derive(Debug, Clone, Default)]
pub(crate) struct Env {
    vars: BTreeMap<&'static str, String>,
    /// `NO_COLOR` is set and not empty.
    no_color: bool,
    /// stderr is a terminal.
    stderr_tty: bool,
    /// CPUs available.
    cpus: usize,
}

impl Env {
    /// The environment of this process.
    pub(crate) fn from_process() -> Env {
        use std::io::IsTerminal;
        Env {
            vars: VARS
                .into_iter()
                .filter_map(|name| Some((name, std::env::var(name).ok()?)))
                .collect(),
            no_color: std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()),
            stderr_tty: std::io::stderr().is_terminal(),
            cpus: std::thread::available_parallelism().map_or(4, |n| n.get()),
        }
    }

    /// A variable's value, when set (and text).
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    /// The `CI` variable says we run in CI (as insta reads it: set and not empty, `false` or
    /// `0`).
    fn ci(&self) -> bool {
        self.var("CI")
            .is_some_and(|v| !v.is_empty() && v != "false" && v != "0")
    }
}

/// The profile in effect: `--profile NAME`, which must exist; else `[profile.ci]` when `CI` is
/// set and the project defines one; else none.
pub(super) fn profile(
    flag: Option<&str>,
    env: &Env,
    config: &ProjectConfig,
    root: &Path,
) -> Result<Profile, CliError> {
    match flag {
        Some(name) => config.profiles.get(name).cloned().ok_or_else(|| {
            let name = name.to_owned();
            match &config.path {
                Some(path) => CliError::UnknownProfile {
                    name,
                    config: path.clone(),
                },
                None => CliError::ProfileWithoutConfig {
                    name,
                    root: root.to_path_buf(),
                },
            }
        }),
        None if env.ci() => Ok(config.profiles.get("ci").cloned().unwrap_or_default()),
        None => Ok(Profile::default()),
    }
}

/// Trials and models of the plan: `-k` > profile > the suites', `--model` > profile > the
/// suites'. `replay`, the report of a run to replay, decides the trials and, unless `--model`
/// says otherwise, each suite's models.
pub(super) fn plan_options(
    select: &SelectArgs,
    profile: &Profile,
    replay: Option<&Report>,
) -> PlanOptions {
    match replay {
        None => PlanOptions {
            trials: select.trials.or(profile.trials),
            models: if select.models.is_empty() {
                profile.models.clone().unwrap_or_default()
            } else {
                select.models.clone()
            },
            ..PlanOptions::default()
        },
        Some(report) => {
            let mut suite_models = BTreeMap::<String, Vec<String>>::new();
            for t in &report.trials {
                let models = suite_models.entry(t.suite.clone()).or_default();
                if !models.contains(&t.model) {
                    models.push(t.model.clone());
                }
            }
            PlanOptions {
                trials: None,
                models: select.models.clone(),
                suite_models,
            }
        }
    }
}

/// How `traceval run` runs and reports, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct RunSettings {
    /// The run seed.
    pub(super) seed: u64,
    /// Trials in flight at most.
    pub(super) jobs: usize,
    /// Overrides every case's timeout.
    pub(super) timeout: Option<Duration>,
    /// Stop starting trials after the first failure.
    pub(super) fail_fast: bool,
    /// The JSON report.
    pub(super) report: PathBuf,
    /// The JUnit file, if any.
    pub(super) junit: Option<PathBuf>,
    /// Where each trial's spans are saved, if anywhere.
    pub(super) traces_dir: Option<PathBuf>,
    /// Bytes of each answer kept in the report.
    pub(super) report_output_limit: usize,
    /// Events as JSON lines on stdout.
    pub(super) json: bool,
    /// Colour on stderr.
    pub(super) color: bool,
    /// A progress bar on stderr.
    pub(super) progress: bool,
    /// Under GitHub Actions, its outputs.
    pub(super) github: Option<Github>,
}

/// The GitHub Actions outputs of a run, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Github {
    /// The step summary file, unless `--no-github-summary`.
    pub(super) summary: Option<PathBuf>,
    /// Annotation paths are relative to this directory.
    pub(super) workspace: PathBuf,
}

/// Values drawn for the run before settings are resolved.
#[derive(Debug, Clone)]
pub(super) struct Drawn<'a> {
    /// The run id.
    pub(super) run_id: &'a str,
    /// The seed a replayed run was run with.
    pub(super) replay_seed: Option<u64>,
    /// A fresh random seed.
    pub(super) random_seed: u64,
}

impl RunSettings {
    /// Resolves `args` for the project at `root` under `profile`.
    pub(super) fn resolve(
        args: &RunArgs,
        profile: &Profile,
        env: &Env,
        root: &Path,
        drawn: &Drawn<'_>,
    ) -> RunSettings {
        let json = args.message_format == MessageFormat::Json;
        RunSettings {
            // A replay draws nothing at random; it keeps the seed its trials were run with.
            seed: args.seed.or(drawn.replay_seed).unwrap_or(drawn.random_seed),
            // Trials wait on I/O: CPUs × 4.
            jobs: args
                .jobs
                .map(|j| j as usize)
                .or(profile.jobs)
                .unwrap_or(env.cpus * 4),
            timeout: args.timeout.or(profile.timeout),
            fail_fast: args.fail_fast || profile.fail_fast.unwrap_or(false),
            report: args
                .report
                .clone()
                .unwrap_or_else(|| root.join("reports").join(format!("{}.json", drawn.run_id))),
            junit: args
                .junit
                .clone()
                .or_else(|| profile.junit.as_ref().map(|p| root.join(p))),
            traces_dir: args
                .save_traces
                .then(|| root.join("reports").join(drawn.run_id).join("traces")),
            report_output_limit: args
                .report_output_limit
                .unwrap_or(runner::DEFAULT_REPORT_OUTPUT_LIMIT),
            json,
            color: match args.color {
                Color::Always => true,
                Color::Never => false,
                Color::Auto => env.stderr_tty && !env.no_color,
            },
            progress: env.stderr_tty && !env.ci() && !json,
            github: github(args, env),
        }
    }
}

/// The GitHub outputs: only when `GITHUB_ACTIONS=true` (as GitHub sets it); the summary unless
/// `--no-github-summary` or without `GITHUB_STEP_SUMMARY`; paths relative to
/// `GITHUB_WORKSPACE`, else the working directory.
fn github(args: &RunArgs, env: &Env) -> Option<Github> {
    let set = |name| env.var(name).filter(|v| !v.is_empty());
    (env.var("GITHUB_ACTIONS").as_deref() == Some("true")).then(|| Github {
        summary: set("GITHUB_STEP_SUMMARY")
            .filter(|_| !args.no_github_summary)
            .map(PathBuf::from),
        workspace: set("GITHUB_WORKSPACE").map_or_else(|| PathBuf::from("."), PathBuf::from),
    })
}

/// The snapshot mode and writes (`--snapshots` > `CI`/`TF_BUILD`/`INSTA_UPDATE` > `check`, as
/// [`crate::snapshot::resolve`] rules), an invalid `INSTA_UPDATE` being an error only when a
/// planned case takes snapshots (`used`); with a notice when `--snapshots` asked for writes
/// that the environment forbids.
pub(super) fn snapshots(
    args: &RunArgs,
    env: &Env,
    used: bool,
    root: &Path,
) -> Result<(SnapshotSettings, Option<String>), CliError> {
    let flag = args.snapshots.map(SnapshotMode::from);
    let (mode, writes) = match crate::snapshot::resolve(flag, |name| env.var(name)) {
        Ok(resolved) => resolved,
        Err(message) if used => return Err(CliError::SnapshotMode(message)),
        Err(_) => (SnapshotMode::Check, Writes::Allowed),
    };
    let notice = match (&writes, flag) {
        (Writes::Never(why), Some(asked @ (SnapshotMode::Update | SnapshotMode::New))) if used => {
            Some(format!(
                "--snapshots={}: no snapshot file is written because {why}; mismatches fail \
                 as in `check`",
                asked.as_str()
            ))
        }
        _ => None,
    };
    let settings = SnapshotSettings {
        root: root.to_path_buf(),
        mode,
        writes,
    };
    Ok((settings, notice))
}

#[cfg(test)]
mod tests;
