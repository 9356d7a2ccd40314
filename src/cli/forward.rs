//! `traceval run --forward*`: the flags, resolved with the environment and `[forward]` by
//! [`crate::forward::config::resolve`], and the sender started before the first trial. The
//! run's first line says where spans go whenever they go anywhere, because an inherited
//! `OTEL_EXPORTER_OTLP_ENDPOINT` alone turns forwarding on.

use std::io::Write;
use std::sync::Arc;

use super::CliError;
use super::args::ForwardArgs;
use crate::forward::config::{ForwardFlags, resolve, switched_off};
use crate::forward::{Forwarder, RunContext};
use crate::report::Report;
use crate::suite::Project;
use crate::trace::KeyValue;

/// The flags as forwarding's configuration takes them.
fn flags(args: &ForwardArgs) -> ForwardFlags {
    ForwardFlags {
        url: args.forward.clone(),
        off: args.no_forward,
        protocol: args.forward_protocol.clone(),
        headers: args.forward_header.clone(),
        profile: args.forward_profile.clone(),
        events: args.forward_events.clone(),
        timeout: args.forward_timeout,
        required: args.forward_required,
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
        resolve(&flags(args), &project.config.forward, &var).map_err(CliError::Forward)?
    else {
        // Said when the project asks for forwarding and the environment turned it off.
        if let (Some(switch), Some(_)) = (switched_off(&var), &project.config.forward.endpoint)
            && !args.no_forward
        {
            let _ = writeln!(
                std::io::stderr(),
                "{:>12} forwarding: {switch} turns off traceval.toml's [forward] endpoint",
                "Not",
            );
        }
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
    // Phoenix files spans by project: the line says which one to open.
    let project_name = match config.profile {
        crate::forward::config::Profile::Phoenix => format!(", project {}", context.project),
        _ => String::new(),
    };
    let _ = writeln!(
        std::io::stderr(),
        "{:>12} spans to {} ({}, profile {}{project_name}; from {})",
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

/// The run's exit code once forwarding is done: when forwarding was required
/// (`--forward-required` or `[forward] required`), a span that did not arrive makes a passed or
/// failed run an outage (3), said on an `error:` line; an interrupted run stays 130.
pub(super) fn exit_code(report: &Report, code: i32) -> i32 {
    let failed = report.forward.as_ref().filter(|f| f.failed_requirement());
    match failed {
        Some(forward) if matches!(code, super::exit::PASS | super::exit::FAIL) => {
            let _ = writeln!(
                std::io::stderr(),
                "error: forwarding is required, and {} of {} spans did not reach {}{}",
                forward.spans_dropped + forward.spans_rejected,
                forward.spans_sent + forward.spans_dropped + forward.spans_rejected,
                forward.endpoint,
                forward
                    .first_error
                    .as_ref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
            super::exit::INFRASTRUCTURE
        }
        _ => code,
    }
}
