//! `traceval run --forward*`: the flags, resolved with the environment and `[forward]` by
//! [`crate::forward::config::resolve`], and the sender started before the first trial. The
//! run's first line says where spans go whenever they go anywhere, because an inherited
//! `OTEL_EXPORTER_OTLP_ENDPOINT` alone turns forwarding on.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::CliError;
use super::args::parse_duration;
use crate::forward::config::{ForwardFlags, resolve};
use crate::forward::{Forwarder, RunContext};
use crate::suite::Project;
use crate::trace::KeyValue;

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
    /// How verdicts travel: `span` events (default) or `none`.
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

impl ForwardArgs {
    fn flags(&self) -> ForwardFlags {
        ForwardFlags {
            url: self.forward.clone(),
            off: self.no_forward,
            protocol: self.forward_protocol.clone(),
            headers: self.forward_header.clone(),
            profile: self.forward_profile.clone(),
            events: self.forward_events.clone(),
            timeout: self.forward_timeout,
            required: self.forward_required,
        }
    }
}

/// Starts forwarding when something asks for it, saying where on stderr; `None` when off.
pub(super) fn start(
    args: &ForwardArgs,
    project: &Project,
    run_id: &Arc<str>,
    replayed_from: Option<String>,
) -> Result<Option<Forwarder>, CliError> {
    let var = |name: &str| std::env::var(name).ok();
    let Some(config) =
        resolve(&args.flags(), &project.config.forward, &var).map_err(CliError::Forward)?
    else {
        return Ok(None);
    };
    let context = RunContext {
        run_id: Arc::clone(run_id),
        profile: config.profile,
        events: config.events,
        project: config.project.replace("{run_id}", run_id),
        ci: ci_context(&var, || super::meta::git_commit(&project.root)),
        replayed_from,
    };
    let _ = writeln!(
        std::io::stderr(),
        "{:>12} spans to {} ({}, profile {}; from {})",
        "Forwarding",
        config.shown_endpoint(),
        config.protocol.as_str(),
        config.profile.as_str(),
        config.source,
    );
    let forwarder = Forwarder::start(config, context).map_err(CliError::Forward)?;
    Ok(Some(forwarder))
}

/// The CI run and commit, where the environment says (GitHub Actions, GitLab CI, any CI
/// setting the common variables).
fn ci_context(
    var: &dyn Fn(&str) -> Option<String>,
    git_commit: impl FnOnce() -> Option<String>,
) -> Vec<KeyValue> {
    let mut ci = Vec::new();
    let run = var("GITHUB_RUN_ID").or_else(|| var("CI_PIPELINE_ID"));
    if let Some(run) = run.filter(|r| !r.is_empty()) {
        ci.push(KeyValue::new("cicd.pipeline.run.id", run));
    }
    if let (Some(server), Some(repo), Some(run)) = (
        var("GITHUB_SERVER_URL"),
        var("GITHUB_REPOSITORY"),
        var("GITHUB_RUN_ID"),
    ) {
        let url = format!("{server}/{repo}/actions/runs/{run}");
        ci.push(KeyValue::new("cicd.pipeline.run.url.full", url));
    }
    let commit = var("GITHUB_SHA")
        .or_else(|| var("CI_COMMIT_SHA"))
        .or_else(git_commit);
    if let Some(commit) = commit.filter(|c| !c.is_empty()) {
        ci.push(KeyValue::new("vcs.ref.head.revision", commit));
    }
    ci
}
