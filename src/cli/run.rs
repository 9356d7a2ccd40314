//! `traceval run` and `traceval list`: arguments, resolved once into settings (flag > profile >
//! suite > default), then the plan, the runner and the reporters.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use super::CliError;
use super::replay;
use crate::capture::{Receiver, ReceiverConfig, SpanStore};
use crate::event::{RunEvent, StopReason};
use crate::llm::anthropic::{AnthropicConfig, AnthropicProvider};
use crate::llm::openai::{OpenAiConfig, OpenAiProvider};
use crate::llm::provider::{ChatProvider, ScriptedProvider};
use crate::llm::scripted::Script;
use crate::llm::server::ModelServer;
use crate::report::schema::{ModelEndpoint, PriceOverride, PricingInfo, SuiteInfo};
use crate::report::terminal::{Terminal, TerminalOptions};
use crate::report::{
    Report, ReportBuilder, RunMeta, check_writable, junit, write_atomic, write_json,
};
use crate::runner::{self, Plan, PlanOptions, RunOptions};
use crate::snapshot::{SnapshotMode, SnapshotSettings, Writes};
use crate::suite::spec::{Profile, Provider};
use crate::suite::{Agent, Filter, Project, Shard, load_project};

/// What to run: shared by `run` and `list`.
#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Suite files or directories (default: `suites/` under the project root).
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
pub struct RunArgs {
    #[command(flatten)]
    select: SelectArgs,
    /// Trials running at once (default: number of CPUs × 4; trials wait on I/O).
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    jobs: Option<u64>,
    /// Per-trial timeout, overriding cases and suites (e.g. `30s`, `1500ms`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    timeout: Option<Duration>,
    /// The run seed (default: random, recorded in the report).
    #[arg(long)]
    seed: Option<u64>,
    /// Stop starting trials after the first failing one.
    #[arg(long)]
    fail_fast: bool,
    /// Where to write the JSON report (default: `reports/<run-id>.json`).
    #[arg(long, value_name = "PATH")]
    report: Option<PathBuf>,
    /// Also write JUnit XML here.
    #[arg(long, value_name = "PATH")]
    junit: Option<PathBuf>,
    /// Write each trial's spans as OTLP JSON under `reports/<run-id>/traces/`.
    #[arg(long)]
    save_traces: bool,
    /// Most of each answer and stderr tail kept in the report, e.g. `65536`, `64KiB`, `1MiB`
    /// (default 16KiB; trials are graded on the whole answer).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    report_output_limit: Option<usize>,
    /// Re-grade a previous run's saved traces with the current suites, running no agent: the
    /// run's directory `reports/<run-id>/` or its report `reports/<run-id>.json` (the run must
    /// have used `--save-traces`).
    #[arg(long, value_name = "RUN", conflicts_with_all = ["trials", "timeout", "seed"])]
    replay: Option<PathBuf>,
    /// What a missing or different trace-shape snapshot does: `check` records a missing one
    /// and fails a different one, writing a `.snap.new` for review; `update` rewrites the
    /// `.snap`; `new` writes a
    /// `.snap.new` without failing. Nothing is written when `CI` is set or `INSTA_UPDATE=no`.
    /// Default: from `INSTA_UPDATE` (`always` is update, `new` is new), else `check`.
    #[arg(long, value_enum, value_name = "MODE")]
    snapshots: Option<SnapshotsArg>,
    /// `human` status on stderr, or also `json`: one event per line on stdout.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    message_format: MessageFormat,
    /// Colour the status verbs.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

/// `--snapshots`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SnapshotsArg {
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
enum MessageFormat {
    Human,
    Json,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Color {
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

/// True when the `CI` variable says we run in CI (as insta reads it: set and not `false`/`0`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The project, its profile and the plan, from the selection arguments; `replay`, the report of
/// a run to replay, gives each suite the models that run ran, and no agent will need its
/// program or its models.
fn plan(
    select: &SelectArgs,
    root: &Path,
    replay: Option<&Report>,
) -> Result<(Project, Profile, Plan), CliError> {
    let mut project = load_project(root, &select.paths)?;
    if select.include_ignored {
        project.suites.append(&mut project.ignored);
        project.suites.sort_by(|a, b| a.path.cmp(&b.path));
    }
    let profile = match &select.profile {
        Some(name) => project.config.profiles.get(name).cloned().ok_or_else(|| {
            CliError::Usage(match &project.config.path {
                Some(path) => format!("no `[profile.{name}]` in {}", path.display()),
                None => format!(
                    "--profile {name}: the project has no traceval.toml to define \
                         `[profile.{name}]` in (looked in `{}`)",
                    project.root.display()
                ),
            })
        })?,
        None if in_ci() => project
            .config
            .profiles
            .get("ci")
            .cloned()
            .unwrap_or_default(),
        None => Profile::default(),
    };
    // `--model` names, like a suite's `models`, must be defined where the suites can see them,
    // and named once (two identical groups would share trial keys).
    for (i, name) in select.models.iter().enumerate() {
        if select.models[..i].contains(name) {
            return Err(CliError::Usage(format!("--model `{name}` is given twice")));
        }
    }
    let filter = Filter::new(&select.filter).map_err(|e| CliError::Usage(e.to_string()))?;
    let shard = select
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let options = match replay {
        None => PlanOptions {
            trials: select.trials.or(profile.trials),
            models: if select.models.is_empty() {
                profile.models.clone().unwrap_or_default()
            } else {
                select.models.clone()
            },
            ..PlanOptions::default()
        },
        // The recorded run decides the trials, and, unless --model says otherwise, the models.
        Some(report) => {
            let mut suite_models = std::collections::BTreeMap::<String, Vec<String>>::new();
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
    };
    // Snapshot file names are checked over every case, not only the selected ones: a filtered
    // run must not write a file that another case's snapshot shares on a case-insensitive
    // file system.
    let snapshots = project
        .suites
        .iter()
        .any(|s| s.cases.iter().any(|c| c.expect.snapshot.is_some()));
    if snapshots {
        runner::check_snapshot_names(&Plan::build(&project, &options, |_, _| true))
            .map_err(CliError::Usage)?;
    }
    let plan = Plan::build(&project, &options, |suite, case| {
        filter.matches(&suite.name, &case.id)
            && shard
                .as_ref()
                .is_none_or(|s| s.contains(&suite.name, &case.id))
    });
    // An empty shard is legitimate (more CI jobs than cases); an empty filter is a typo, for
    // `list` as for `run`.
    if plan.groups.is_empty() && select.shard.is_none() {
        return Err(CliError::Usage("no case matches the filter".to_owned()));
    }
    // Checked on the selected suites only: one that --filter leaves out may lack the model.
    for name in select.models.iter().filter(|_| replay.is_none()) {
        if project.config.models.contains_key(name) {
            continue;
        }
        // A replay suite calls no model: any name labels its trials.
        if let Some(suite) = plan
            .suites
            .iter()
            .find(|s| !s.model_defs.contains_key(name) && !matches!(s.agent, Agent::Replay(_)))
        {
            return Err(CliError::Usage(format!(
                "--model `{name}` is not defined in traceval.toml or in suite `{}` ({})",
                suite.name,
                suite.path.display()
            )));
        }
    }
    if replay.is_none() {
        for suite in &plan.suites {
            check_program(suite)?;
        }
    }
    Ok((project, profile, plan))
}

/// A command agent's program, and a builtin agent's command tools, must exist before any trial
/// starts: a typo is a configuration error (exit 2), not N errored trials. The path checked is
/// the one spawned (the loader made it absolute), and the error names the suite file, the line
/// and the key.
fn check_program(suite: &crate::suite::Suite) -> Result<(), CliError> {
    let programs: Vec<(&Path, usize, String)> = match &suite.agent {
        crate::suite::Agent::Command(agent) => {
            vec![(&agent.program, agent.line, "agent.command".to_owned())]
        }
        crate::suite::Agent::Builtin(agent) => agent
            .tools
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.result {
                crate::suite::ToolResult::Command { program, line, .. } => {
                    Some((program.as_path(), *line, format!("tool[{i}].command")))
                }
                _ => None,
            })
            .collect(),
        crate::suite::Agent::Replay(_) => Vec::new(),
    };
    for (program, line, key) in programs {
        let problem = if program.components().count() > 1 || program.is_absolute() {
            use std::os::unix::fs::PermissionsExt;
            match std::fs::metadata(program) {
                Ok(m) if m.is_file() && m.permissions().mode() & 0o111 == 0 => {
                    Some("is not executable (`chmod +x` it, or run it through its interpreter)")
                }
                Ok(m) if m.is_file() => None,
                _ => Some("not found"),
            }
        } else {
            let on_path = std::env::var_os("PATH").is_some_and(|path| {
                std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
            });
            (!on_path).then_some("not found on PATH")
        };
        if let Some(problem) = problem {
            return Err(CliError::Usage(format!(
                "{}:{line}: `{key}` of suite `{}`: program `{}` {problem}",
                suite.path.display(),
                suite.name,
                program.display()
            )));
        }
    }
    Ok(())
}

/// `traceval list`: the plan, one line per case × model, on stdout.
pub fn list(select: &SelectArgs) -> Result<i32, CliError> {
    let root = super::project_root(select.project.as_deref(), &select.paths)?;
    show_project(&root);
    let (project, _, plan) = plan(select, &root, None)?;
    let mut out = std::io::stdout().lock();
    for g in &plan.groups {
        writeln!(
            out,
            "{}::{} ({}) ×{}",
            crate::trace::render::clean(&plan.suite(g).name, 80),
            crate::trace::render::clean(&plan.case(g).id, 120),
            crate::trace::render::clean(&g.model, 80),
            g.trials
        )
        .map_err(CliError::Output)?;
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        out,
        "{} × {}: {}",
        plural(plan.case_count(), "case"),
        plural(plan.model_names().len(), "model"),
        plural(plan.trial_count(), "trial")
    )
    .map_err(CliError::Output)?;
    for suite in &project.ignored {
        let reason = match suite.ignore.as_deref() {
            Some("") | None => String::new(),
            Some(reason) => format!(": {}", crate::trace::render::clean(reason, 200)),
        };
        writeln!(
            out,
            "ignored suite {} ({}){reason}",
            crate::trace::render::clean(&suite.name, 80),
            suite.path.display()
        )
        .map_err(CliError::Output)?;
    }
    Ok(0)
}

/// `traceval run`: returns 0 when every trial passed, 1 when one failed, 130 when interrupted.
pub fn run(args: &RunArgs) -> Result<i32, CliError> {
    let root = super::project_root(args.select.project.as_deref(), &args.select.paths)?;
    show_project(&root);
    let replay = args
        .replay
        .as_deref()
        .map(|run| replay::load(run, &root))
        .transpose()?;
    let (project, profile, mut plan) =
        plan(&args.select, &root, replay.as_ref().map(|r| &r.report))?;
    let replay = replay.map(|r| r.into_plan(&project, &mut plan));
    if let Some(replay) = &replay
        && plan.groups.is_empty()
        && args.select.shard.is_none()
    {
        return Err(CliError::Usage(format!(
            "--replay: no recorded trial of run {} is in the plan: its suites, cases and \
             models are not the ones selected",
            replay.source.run_id
        )));
    }
    let snapshots = snapshot_settings(args, &project, &plan)?;
    raise_open_file_limit();
    // Orphans of the agents (a daemon, a browser in its own session) come back to us to be
    // killed after their trial (Linux; elsewhere only an agent's process group is).
    runner::driver::orphans::become_subreaper();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Infrastructure("cannot start the async runtime".into(), e))?;
    runtime.block_on(run_async(args, project, profile, plan, replay, snapshots))
}

/// Says on stderr which project runs when it is not the working directory's.
fn show_project(root: &Path) {
    if root != Path::new(".") {
        let _ = writeln!(std::io::stderr(), "{:>12} {}", "Project", root.display());
    }
}

/// The snapshot mode and writes (see [`crate::snapshot::resolve`]), checked only when a
/// planned case has `snapshot = true`; with a notice when `--snapshots` asked for writes that
/// the environment forbids.
fn snapshot_settings(
    args: &RunArgs,
    project: &Project,
    plan: &Plan,
) -> Result<(SnapshotSettings, Option<String>), CliError> {
    let used = plan
        .groups
        .iter()
        .any(|g| plan.case(g).expect.snapshot.is_some());
    let flag = args.snapshots.map(SnapshotMode::from);
    let resolved = crate::snapshot::resolve(flag, |name| std::env::var(name).ok());
    let (mode, writes) = match resolved {
        Ok(resolved) => resolved,
        Err(message) if used => return Err(CliError::Usage(message)),
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
        root: project.root.clone(),
        mode,
        writes,
    };
    Ok((settings, notice))
}

async fn run_async(
    args: &RunArgs,
    project: Project,
    profile: Profile,
    plan: Plan,
    replay: Option<replay::Replay>,
    (snapshots, snapshot_notice): (SnapshotSettings, Option<String>),
) -> Result<i32, CliError> {
    let run_id: Arc<str> = uuid::Uuid::now_v7().to_string().into();
    // A replay draws nothing at random; it keeps the seed its trials were run with.
    let seed = args
        .seed
        .or(replay.as_ref().map(|r| r.seed))
        .unwrap_or_else(|| uuid::Uuid::new_v4().as_u64_pair().0);
    let root = project.root.clone();
    let report_path = args
        .report
        .clone()
        .unwrap_or_else(|| root.join("reports").join(format!("{run_id}.json")));
    let junit_path = args
        .junit
        .clone()
        .or_else(|| profile.junit.as_ref().map(|p| root.join(p)));
    let traces_dir = args
        .save_traces
        .then(|| root.join("reports").join(&*run_id).join("traces"));
    if let Some(dir) = &traces_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::Infrastructure(format!("cannot create `{}`", dir.display()), e)
        })?;
    }
    // Report locations are checked before any trial runs, not after the whole run: the very
    // temporary file the atomic write will use is created and removed.
    for path in std::iter::once(&report_path).chain(&junit_path) {
        check_writable(path).map_err(|e| CliError::Report(Box::new(e)))?;
    }
    let scratch = std::env::temp_dir().join(format!("traceval-{run_id}"));
    {
        use std::os::unix::fs::DirBuilderExt;
        // Private: agents' answers pass through it.
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&scratch)
            .map_err(|e| {
                CliError::Infrastructure(format!("cannot create `{}`", scratch.display()), e)
            })?;
    }
    // Removed however the run ends from here on: a model that cannot be set up (exit 2), a
    // receiver that cannot start (exit 3), an interrupted or finished run.
    let scratch_dir = ScratchDir(scratch.clone());

    // A replay runs no agent, so calls none of their models; its judges still judge.
    let (scripts, providers) = if replay.is_some() {
        Models::default()
    } else {
        load_models(&project, &plan, seed)?
    };
    let judge_providers = load_judges(&project, &plan, seed)?;
    let model_server = if scripts.is_empty() {
        None
    } else {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        Some(Arc::new(
            ModelServer::start(addr, None, seed).await.map_err(|e| {
                CliError::Infrastructure("cannot start the scripted-model server".into(), e)
            })?,
        ))
    };
    let store = SpanStore::new();
    // Only command agents send spans over OTLP.
    let receiver = if replay.is_none()
        && plan
            .suites
            .iter()
            .any(|s| matches!(s.agent, Agent::Command(_)))
    {
        Some(
            Receiver::start(ReceiverConfig::default(), store.clone())
                .await
                .map_err(|e| CliError::Receiver(Box::new(e)))?,
        )
    } else {
        None
    };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_interrupt().await;
        let _ = cancel_tx.send(true);
    });

    let jobs = args
        .jobs
        .map(|j| j as usize)
        .or(profile.jobs)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(4, |n| n.get()) * 4);
    let model_endpoints = model_endpoints(&providers, &judge_providers);
    let options = RunOptions {
        run_id: Arc::clone(&run_id),
        jobs,
        timeout: args.timeout.or(profile.timeout),
        fail_fast: args.fail_fast || profile.fail_fast.unwrap_or(false),
        seed,
        scratch: scratch.clone(),
        save_traces: traces_dir.clone(),
        pricing: project.config.pricing.clone(),
        conventions: project.config.conventions.clone(),
        endpoint: receiver
            .as_ref()
            .map(Receiver::endpoint)
            .unwrap_or_default(),
        scripts,
        model_server: model_server.clone(),
        providers,
        judge_providers,
        notices: replay
            .as_ref()
            .map(|r| r.notices.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(snapshot_notice)
            .collect(),
        replay: replay.as_ref().map(|r| Arc::clone(&r.run)),
        snapshots,
        report_output_limit: args
            .report_output_limit
            .unwrap_or(runner::DEFAULT_REPORT_OUTPUT_LIMIT),
    };
    let meta = RunMeta {
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        git_commit: git_commit(&root),
        suites: plan
            .suites
            .iter()
            .map(|s| SuiteInfo {
                name: s.name.clone(),
                path: s.path.display().to_string(),
                content_hash: s.content_hash.clone(),
            })
            .collect(),
        pricing: pricing_info(&project, &plan),
        replayed_from: replay.as_ref().map(|r| r.source.clone()),
        model_endpoints,
    };

    let stderr_tty = std::io::stderr().is_terminal();
    let json = args.message_format == MessageFormat::Json;
    let color = match args.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => stderr_tty && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let mut terminal = Terminal::new(
        std::io::stderr(),
        TerminalOptions {
            color,
            progress: stderr_tty && !in_ci() && !json,
        },
    );
    if let Some(dir) = &traces_dir {
        terminal.show_trace_files(dir.clone());
    }
    if let Some(replay) = &replay {
        let _ = writeln!(
            std::io::stderr(),
            "{:>12} run {} ({}): {} recorded trials re-graded with the current suites",
            "Replaying",
            replay.source.run_id,
            display_path(Path::new(&replay.source.report)),
            plan.trial_count()
        );
    }
    let mut builder = ReportBuilder::new(meta);
    let mut stdout = std::io::stdout();
    let mut emit = |event: RunEvent| {
        terminal.on_event(&event);
        if json {
            // A closed stdout must not stop the run; the report still gets written.
            let _ = serde_json::to_writer(&mut stdout, &event);
            let _ = stdout.write_all(b"\n");
        }
        builder.on_event(event);
    };
    let summary = runner::run(&plan, &options, &store, cancel_rx, &mut emit).await;
    signals.abort();
    // Each trial swept its own; this catches what a trial cut short could not.
    runner::driver::orphans::sweep(&runner::driver::orphans::Identity::run(&run_id)).await;
    if let Some(receiver) = receiver {
        receiver.shutdown().await;
    }
    drop(options);
    if let Some(server) = model_server.and_then(Arc::into_inner) {
        server.shutdown().await;
    }
    drop(scratch_dir);

    // Aggregation runs on rayon's pool: off the async workers.
    let report = tokio::task::spawn_blocking(move || builder.finish())
        .await
        .map_err(|e| CliError::Infrastructure("aggregating the report failed".into(), e.into()))?;
    // The results are shown even when a file cannot be written.
    terminal.summary(&report);
    let mut err = terminal.into_inner();
    write_json(&report_path, &report).map_err(|e| CliError::Report(Box::new(e)))?;
    if let Some(path) = &junit_path {
        write_atomic(path, junit::to_junit(&report).as_bytes())
            .map_err(|e| CliError::Report(Box::new(e)))?;
    }
    let _ = writeln!(err, "{:>12} {}", "Report", display_path(&report_path));
    if summary.snapshot_errors > 0 {
        return Err(CliError::SnapshotWrite(summary.snapshot_errors));
    }
    Ok(match summary.stopped {
        Some(StopReason::Interrupted) => 130,
        _ if summary.failed > 0 => 1,
        // Only outages: CI can tell them from a worse agent.
        _ if summary.infrastructure > 0 => 3,
        _ => 0,
    })
}

/// A run's private scratch directory under the temporary directory, removed on drop.
struct ScratchDir(PathBuf);

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The prices in effect: the built-in table under every `[pricing.*]` entry of
/// `traceval.toml` and of the suites in the plan.
fn pricing_info(project: &Project, plan: &Plan) -> PricingInfo {
    let config = project
        .config
        .path
        .as_ref()
        .map(|p| p.display().to_string());
    let shared = project.config.pricing.iter().map(|(model, price)| {
        let file = config.clone().unwrap_or_else(|| "traceval.toml".to_owned());
        PriceOverride::new(model, file, price)
    });
    let suites = plan.suites.iter().flat_map(|s| {
        let file = s.path.display().to_string();
        s.pricing
            .iter()
            .map(move |(model, price)| PriceOverride::new(model, file.clone(), price))
    });
    PricingInfo::new(shared.chain(suites).collect())
}

/// Scripted models served to command agents, by (suite, model), and the models builtin agents
/// call, by (suite, model); each script file loaded once.
type Models = (
    HashMap<(String, String), Arc<Script>>,
    HashMap<(String, String), Arc<dyn ChatProvider>>,
);

fn load_models(project: &Project, plan: &Plan, seed: u64) -> Result<Models, CliError> {
    let mut by_path: HashMap<PathBuf, Arc<Script>> = HashMap::new();
    let mut scripts = HashMap::new();
    let mut providers: HashMap<(String, String), Arc<dyn ChatProvider>> = HashMap::new();
    for g in &plan.groups {
        let suite = plan.suite(g);
        let key = (suite.name.clone(), g.model.to_string());
        if scripts.contains_key(&key) || providers.contains_key(&key) {
            continue;
        }
        let def = suite
            .model_defs
            .get(&*g.model)
            .or_else(|| project.config.models.get(&*g.model));
        // A replay calls no model.
        if matches!(suite.agent, Agent::Replay(_)) {
            continue;
        }
        let builtin = matches!(suite.agent, crate::suite::Agent::Builtin(_));
        match def.map(|d| &d.provider) {
            Some(Provider::Scripted { script }) => {
                let loaded = match by_path.get(script) {
                    Some(s) => Arc::clone(s),
                    None => {
                        let s = Arc::new(Script::load(script)?);
                        by_path.insert(script.clone(), Arc::clone(&s));
                        s
                    }
                };
                if builtin {
                    providers.insert(key, Arc::new(ScriptedProvider::new(loaded, seed)));
                } else {
                    scripts.insert(key, loaded);
                }
            }
            Some(provider @ (Provider::OpenAi { .. } | Provider::Anthropic { .. })) if builtin => {
                let model = def
                    .and_then(|d| d.model.clone())
                    .unwrap_or_else(|| g.model.to_string());
                let built = api_provider(provider, model);
                let built = built.map_err(|e| {
                    CliError::Usage(format!(
                        "model `{}` of suite `{}`: {e}",
                        g.model, suite.name
                    ))
                })?;
                providers.insert(key, built);
            }
            None if builtin => {
                return Err(CliError::Usage(format!(
                    "suite `{}` ({}) uses the builtin agent, which needs a model: add \
                     `models = [...]` with [model.NAME] definitions, or pass --model",
                    suite.name,
                    suite.path.display()
                )));
            }
            _ => {}
        }
    }
    Ok((scripts, providers))
}

/// The provider of an OpenAI or Anthropic model definition, asking for `model`.
fn api_provider(
    provider: &Provider,
    model: String,
) -> Result<Arc<dyn ChatProvider>, crate::llm::http::ProviderError> {
    match provider {
        Provider::OpenAi {
            base_url,
            api_key_env,
            organization,
            headers,
            timeout,
        } => OpenAiConfig::from_env(api_key_env.as_deref(), base_url.as_deref(), model)
            .and_then(|mut config| {
                config.organization.clone_from(organization);
                config.extra_headers = headers.clone().into_iter().collect();
                if let Some(t) = timeout {
                    config.timeout = *t;
                }
                OpenAiProvider::new(config)
            })
            .map(|p| Arc::new(p) as Arc<dyn ChatProvider>),
        Provider::Anthropic {
            base_url,
            api_key_env,
            headers,
            timeout,
            max_tokens,
        } => AnthropicConfig::from_env(api_key_env.as_deref(), base_url.as_deref(), model)
            .and_then(|mut config| {
                config.extra_headers = headers.clone().into_iter().collect();
                if let Some(t) = timeout {
                    config.timeout = *t;
                }
                if let Some(m) = max_tokens {
                    config.max_tokens = *m;
                }
                AnthropicProvider::new(config)
            })
            .map(|p| Arc::new(p) as Arc<dyn ChatProvider>),
        Provider::Scripted { .. } => unreachable!("scripted models are served in process"),
    }
}

/// The APIs among the agents' and judges' models, with their base URLs, sorted and distinct.
fn model_endpoints(
    providers: &HashMap<(String, String), Arc<dyn ChatProvider>>,
    judges: &JudgeProviders,
) -> Vec<ModelEndpoint> {
    let all = providers.iter().chain(judges);
    let endpoints: std::collections::BTreeSet<ModelEndpoint> = all
        .filter_map(|((suite, model), p)| {
            Some(ModelEndpoint {
                suite: suite.clone(),
                model: model.clone(),
                provider: p.provider_name().to_owned(),
                base_url: p.base_url()?.to_owned(),
            })
        })
        .collect();
    endpoints.into_iter().collect()
}

/// Judge models by (suite, model).
type JudgeProviders = HashMap<(String, String), Arc<dyn ChatProvider>>;

/// The models the suites' LLM judges call, by (suite, model), for the cases the plan runs. A
/// judge gets its own provider even when the agent runs the same model, so the two never
/// share attempt counts.
fn load_judges(project: &Project, plan: &Plan, seed: u64) -> Result<JudgeProviders, CliError> {
    let mut by_path: HashMap<PathBuf, Arc<Script>> = HashMap::new();
    let mut judges: JudgeProviders = HashMap::new();
    for g in &plan.groups {
        let suite = plan.suite(g);
        for judge in &plan.case(g).expect.judges {
            let key = (suite.name.clone(), judge.model.clone());
            if judges.contains_key(&key) {
                continue;
            }
            // The loader checked that the name is defined in one of the two.
            let Some(def) = suite
                .model_defs
                .get(&judge.model)
                .or_else(|| project.config.models.get(&judge.model))
            else {
                continue;
            };
            let provider: Arc<dyn ChatProvider> = match &def.provider {
                Provider::Scripted { script } => {
                    let loaded = match by_path.get(script) {
                        Some(s) => Arc::clone(s),
                        None => {
                            let s = Arc::new(Script::load(script)?);
                            by_path.insert(script.clone(), Arc::clone(&s));
                            s
                        }
                    };
                    Arc::new(ScriptedProvider::new(loaded, seed))
                }
                provider => {
                    let model = def.model.clone().unwrap_or_else(|| judge.model.clone());
                    api_provider(provider, model).map_err(|e| {
                        CliError::Usage(format!(
                            "judge model `{}` of suite `{}`: {e}",
                            judge.model, suite.name
                        ))
                    })?
                }
            };
            judges.insert(key, provider);
        }
    }
    Ok(judges)
}

/// `traceval serve-model`.
#[derive(Debug, Args)]
pub struct ServeModelArgs {
    /// The script (TOML) of the scripted model.
    script: PathBuf,
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Seed for weighted variants.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// `traceval serve-model SCRIPT`: serves the scripted model as an OpenAI-compatible API on
/// 127.0.0.1 until Ctrl-C, printing its base URL on stdout.
pub fn serve_model(args: &ServeModelArgs) -> Result<i32, CliError> {
    let script = Arc::new(Script::load(&args.script)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Infrastructure("cannot start the async runtime".into(), e))?;
    runtime.block_on(async {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let server = ModelServer::start(addr, Some(script), args.seed)
            .await
            .map_err(|e| CliError::Infrastructure(format!("cannot listen on {addr}"), e))?;
        let mut out = std::io::stdout();
        writeln!(out, "{}", server.base_url()).map_err(CliError::Output)?;
        out.flush().map_err(CliError::Output)?;
        wait_for_interrupt().await;
        server.shutdown().await;
        Ok(0)
    })
}

fn display_path(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}

/// Resolves on Ctrl-C, SIGTERM (CI cancelling a job) or SIGHUP (a closed terminal).
async fn wait_for_interrupt() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

/// Raises the soft limit on open files to the hard limit: each running trial holds a few
/// pipes and sockets, and `-j` at CPUs × 4 can pass the usual 1024 on a big machine.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        let _ = setrlimit(Resource::Nofile, limit);
    }
}

/// `git rev-parse HEAD` in `dir`, when it is a git checkout and git is installed.
fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

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
