//! The plan of `run` and `list`: the project, its profile and the selected cases × models,
//! checked before anything runs.

use std::path::Path;

use super::CliError;
use super::args::SelectArgs;
use super::program::check_program;
use super::settings::{self, Env};
use crate::report::Report;
use crate::runner::{self, Plan};
use crate::suite::spec::Profile;
use crate::suite::{Agent, Filter, Project, Shard, load_project};

/// The project, its profile and the plan, from the selection arguments; `replay`, the report of
/// a run to replay, gives each suite the models that run ran, and no agent will need its
/// program or its models.
pub(super) fn plan(
    select: &SelectArgs,
    root: &Path,
    env: &Env,
    replay: Option<&Report>,
) -> Result<(Project, Profile, Plan), CliError> {
    let mut project = load_project(root, &select.paths)?;
    if select.include_ignored {
        project.suites.append(&mut project.ignored);
        project.suites.sort_by(|a, b| a.path.cmp(&b.path));
    }
    let profile = settings::profile(
        select.profile.as_deref(),
        env,
        &project.config,
        &project.root,
    )?;
    // `--model` names, like a suite's `models`, must be defined where the suites can see them,
    // and named once (two identical groups would share trial keys).
    for (i, name) in select.models.iter().enumerate() {
        if select.models[..i].contains(name) {
            return Err(CliError::ModelTwice(name.clone()));
        }
    }
    let filter = Filter::new(&select.filter).map_err(CliError::Filter)?;
    let shard = select
        .shard
        .as_deref()
        .map(str::parse::<Shard>)
        .transpose()
        .map_err(CliError::Shard)?;
    let options = settings::plan_options(select, &profile, replay);
    // Snapshot file names are checked over every case, not only the selected ones: a filtered
    // run must not write a file that another case's snapshot shares on a case-insensitive
    // file system.
    let snapshots = project
        .suites
        .iter()
        .any(|s| s.cases.iter().any(|c| c.expect.snapshot.is_some()));
    if snapshots {
        runner::check_snapshot_names(&Plan::build(&project, &options, |_, _| true))
            .map_err(CliError::SnapshotNameClash)?;
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
        return Err(CliError::NoCaseMatches);
    }
    if replay.is_none() {
        check_models(select, &project, &plan)?;
        for suite in &plan.suites {
            check_program(suite)?;
        }
    }
    Ok((project, profile, plan))
}

/// Every `--model` is defined in `traceval.toml` or in each selected suite (one that --filter
/// leaves out may lack it).
fn check_models(select: &SelectArgs, project: &Project, plan: &Plan) -> Result<(), CliError> {
    for name in &select.models {
        if project.config.models.contains_key(name) {
            continue;
        }
        // A replay suite calls no model: any name labels its trials.
        if let Some(suite) = plan
            .suites
            .iter()
            .find(|s| !s.model_defs.contains_key(name) && !matches!(s.agent, Agent::Replay(_)))
        {
            return Err(CliError::UndefinedModel {
                name: name.clone(),
                suite: suite.name.clone(),
                path: suite.path.clone(),
            });
        }
    }
    Ok(())
}
