//! `traceval run`: settings resolved once (see [`super::settings`]), then the plan, the
//! models, the receiver, the runner, and the outputs of [`crate::report::output`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::args::RunArgs;
use super::meta::{run_meta, sharded};
use super::models::Models;
use super::plan::plan;
use super::replay::{self, ReplayError};
use super::serve::wait_for_interrupt;
use super::settings::{self, Drawn, Env, RunSettings};
use super::{CliError, exit};
use crate::capture::{Receiver, ReceiverConfig, SpanStore};
use crate::compare::{self, LoadedReport};
use crate::llm::server::ModelServer;
use crate::report::output::{FinishError, GithubSettings, OutputSettings, Outputs, Reporters};
use crate::report::terminal::TerminalOptions;
use crate::runner::{self, Plan, RunOptions};
use crate::snapshot::SnapshotSettings;
use crate::suite::spec::Profile;
use crate::suite::{Agent, Project};

/// `traceval run`: 0 when every trial passed, 1 when one failed, 3 when only outages failed
/// trials, 130 when interrupted ([`exit::for_run`]).
pub(super) fn run(args: &RunArgs) -> Result<i32, CliError> {
    let env = Env::from_process();
    if args.baseline.is_none() && args.gate.any() {
        return Err(CliError::GateWithoutBaseline);
    }
    // Read before any trial runs: an unreadable or foreign baseline is found at once.
    let baseline = args.baseline.as_deref().map(compare::read).transpose()?;
    let root = super::project_root(args.select.project.as_deref(), &args.select.paths)?;
    show_project(&root);
    let replay = args
        .replay
        .as_deref()
        .map(|run| replay::load(run, &root))
        .transpose()?;
    let (project, profile, mut plan) = plan(
        &args.select,
        &root,
        &env,
        replay.as_ref().map(|r| &r.report),
    )?;
    let replay = replay.map(|r| r.into_plan(&project, &mut plan));
    if let Some(replay) = &replay
        && plan.groups.is_empty()
        && args.select.shard.is_none()
    {
        let run_id = replay.source.run_id.clone();
        return Err(CliError::Replay(ReplayError::NotInPlan(run_id)));
    }
    let used = plan
        .groups
        .iter()
        .any(|g| plan.case(g).expect.snapshot.is_some());
    let snapshots = settings::snapshots(args, &env, used, &project.root)?;
    raise_open_file_limit();
    // Orphans of the agents (a daemon, a browser in its own session) come back to us to be
    // killed after their trial (Linux; elsewhere only an agent's process group is).
    runner::driver::orphans::become_subreaper();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Infrastructure("cannot start the async runtime".into(), e))?;
    let run = Run {
        project,
        profile,
        plan,
        replay,
        snapshots,
        baseline,
    };
    runtime.block_on(run_async(args, &env, run))
}

/// Says on stderr which project runs when it is not the working directory's.
pub(super) fn show_project(root: &Path) {
    if root != Path::new(".") {
        let _ = writeln!(std::io::stderr(), "{:>12} {}", "Project", root.display());
    }
}

/// What a run is, once planned.
struct Run {
    project: Project,
    profile: Profile,
    plan: Plan,
    replay: Option<replay::Replay>,
    /// The snapshot settings, with a notice when the environment forbids the asked writes.
    snapshots: (SnapshotSettings, Option<String>),
    /// `--baseline`: the report the run is compared with at the end.
    baseline: Option<LoadedReport>,
}

async fn run_async(args: &RunArgs, env: &Env, run: Run) -> Result<i32, CliError> {
    let Run {
        project,
        profile,
        plan,
        replay,
        snapshots: (snapshots, snapshot_notice),
        baseline,
    } = run;
    let run_id: Arc<str> = uuid::Uuid::now_v7().to_string().into();
    let drawn = Drawn {
        run_id: &run_id,
        replay_seed: replay.as_ref().map(|r| r.seed),
        random_seed: uuid::Uuid::new_v4().as_u64_pair().0,
    };
    let settings = RunSettings::resolve(args, &profile, env, &project.root, &drawn);
    if let Some(dir) = &settings.traces_dir {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::Infrastructure(format!("cannot create `{}`", dir.display()), e)
        })?;
    }
    let forward = super::forward::start(
        &args.forward,
        &project,
        &run_id,
        replay.as_ref().map(|r| r.source.run_id.clone()),
    )?;
    let hidden_env: Arc<[String]> = forward
        .as_ref()
        .map_or(Arc::from([]), |f| f.hidden_env().into());
    let settings_out = OutputSettings {
        terminal: TerminalOptions {
            color: settings.color,
            progress: settings.progress,
        },
        traces_dir: settings.traces_dir.clone(),
        json_lines: settings.json,
        report: settings.report.clone(),
        junit: settings.junit.clone(),
        github: settings.github.as_ref().map(|github| GithubSettings {
            summary: github.summary.clone(),
            workspace: github.workspace.clone(),
            annotations_on_stderr: settings.json,
            cases: case_origins(&plan),
        }),
    };
    let html = crate::html::HtmlFile::outputs(args.html.as_deref(), args.html_traces);
    let mut outputs = Outputs::registered(&settings_out, forward, html);
    // Report locations are checked before any trial runs, not after the whole run: the very
    // temporary file the atomic write will use is created and removed.
    outputs
        .prepare()
        .map_err(|e| CliError::Report(Box::new(e)))?;
    // Removed however the run ends from here on: a model that cannot be set up (exit 2), a
    // receiver that cannot start (exit 3), an interrupted or finished run.
    let scratch = ScratchDir::create(&run_id)?;

    // A replay runs no agent, so calls none of their models; its judges still judge.
    let models = Models::build(&project, &plan, settings.seed, replay.is_some())?;
    let model_endpoints = models.endpoints();
    let model_server = if models.scripts.is_empty() {
        None
    } else {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let server = ModelServer::start(addr, None, settings.seed).await;
        Some(Arc::new(server.map_err(|e| {
            CliError::Infrastructure("cannot start the scripted-model server".into(), e)
        })?))
    };
    let store = SpanStore::new();
    // Only command agents send spans over OTLP.
    let receiver = if replay.is_none()
        && plan
            .suites
            .iter()
            .any(|s| matches!(s.agent, Agent::Command(_)))
    {
        let receiver = Receiver::start(ReceiverConfig::default(), store.clone()).await;
        Some(receiver.map_err(|e| CliError::Receiver(Box::new(e)))?)
    } else {
        None
    };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(async move {
        wait_for_interrupt().await;
        let _ = cancel_tx.send(true);
    });

    let options = RunOptions {
        run_id: Arc::clone(&run_id),
        hidden_env,
        jobs: settings.jobs,
        timeout: settings.timeout,
        fail_fast: settings.fail_fast,
        seed: settings.seed,
        scratch: scratch.0.clone(),
        save_traces: settings.traces_dir.clone(),
        pricing: project.config.pricing.clone(),
        conventions: project.config.conventions.clone(),
        endpoint: receiver
            .as_ref()
            .map(Receiver::endpoint)
            .unwrap_or_default(),
        scripts: models.scripts,
        model_server: model_server.clone(),
        providers: models.providers,
        judge_providers: models.judges,
        notices: replay
            .as_ref()
            .map(|r| r.notices.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(snapshot_notice)
            .collect(),
        replay: replay.as_ref().map(|r| Arc::clone(&r.run)),
        snapshots,
        report_output_limit: settings.report_output_limit,
    };
    // A replay re-grades recorded trials: it records no shard of a plan.
    let sharded = match &replay {
        None => sharded(&args.select, &project, &profile)?,
        Some(_) => None,
    };
    let meta = run_meta(
        &project,
        &plan,
        sharded.as_ref(),
        replay.as_ref().map(|r| r.source.clone()),
        model_endpoints,
        settings.traces_dir.as_deref(),
    );
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
    let mut reporters = Reporters::new(meta, outputs);
    let summary = runner::run(&plan, &options, &store, cancel_rx, &mut |event| {
        reporters.on_event(event);
    })
    .await;
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
    drop(scratch);

    // The results are shown even when a file cannot be written: the terminal finishes first.
    let report = reporters.finish().await.map_err(|e| match e {
        FinishError::Aggregate(e) => {
            CliError::Infrastructure("aggregating the report failed".into(), e.into())
        }
        FinishError::Write(e) => CliError::Report(Box::new(e)),
    })?;
    let _ = writeln!(
        std::io::stderr(),
        "{:>12} {}",
        "Report",
        display_path(&settings.report)
    );
    if summary.snapshot_errors > 0 {
        return Err(CliError::SnapshotWrite(summary.snapshot_errors));
    }
    let code = super::forward::exit_code(&report, exit::for_run(&summary));
    let Some(baseline) = baseline else {
        return Ok(code);
    };
    let step_summary = settings.github.as_ref().and_then(|g| g.summary.as_deref());
    let failed = super::compare::against_baseline(
        baseline,
        &settings.report,
        &args.gate,
        settings.color,
        step_summary,
    )?;
    // The run's own code stands; a failed gate rule turns a pass into a failure.
    Ok(if failed && code == exit::PASS {
        exit::FAIL
    } else {
        code
    })
}

/// Where each planned case was defined, for annotations.
fn case_origins(plan: &Plan) -> crate::report::output::CaseOrigins {
    let origin = |g| (plan.suite(g).name.clone(), plan.case(g).id.clone());
    let origins = plan
        .groups
        .iter()
        .map(|g| (origin(g), plan.case(g).origin.clone()));
    origins.collect()
}

/// A run's private scratch directory under the temporary directory, removed on drop.
struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates the directory of run `run_id`, readable by this user only: agents' answers pass
    /// through it.
    fn create(run_id: &str) -> Result<ScratchDir, CliError> {
        use std::os::unix::fs::DirBuilderExt;
        let path = std::env::temp_dir().join(format!("traceval-{run_id}"));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .recursive(true)
            .create(&path)
            .map_err(|e| {
                CliError::Infrastructure(format!("cannot create `{}`", path.display()), e)
            })?;
        Ok(ScratchDir(path))
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn display_path(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
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
