//! What the report records about a run besides its trials: the command, the commit, the
//! suites, the prices in effect, the replayed run, the model endpoints and, for `--shard`, the
//! shard and the whole plan it is part of.

use std::path::Path;

use super::CliError;
use super::args::SelectArgs;
use super::settings;
use crate::hash::fnv1a64_extend;
use crate::report::RunMeta;
use crate::report::schema::{
    ModelEndpoint, PriceOverride, PricingInfo, ReplaySource, ShardInfo, SuiteInfo,
};
use crate::runner::Plan;
use crate::suite::spec::Profile;
use crate::suite::{Filter, Project, Shard};

/// A sharded run: its shard and the plan of the whole run, the one `run` without `--shard`
/// would execute.
pub(super) struct Sharded {
    shard: Shard,
    whole: Plan,
}

/// For `--shard I/N` (not replaying): the shard and the whole plan, selected as `plan` selects
/// (the filter, `-k`, `--model` and the profile) without the shard.
pub(super) fn sharded(
    select: &SelectArgs,
    project: &Project,
    profile: &Profile,
) -> Result<Option<Sharded>, CliError> {
    let Some(spec) = select.shard.as_deref() else {
        return Ok(None);
    };
    let shard = spec.parse::<Shard>().map_err(CliError::Shard)?;
    let filter = Filter::new(&select.filter).map_err(CliError::Filter)?;
    let options = settings::plan_options(select, profile, None);
    let whole = Plan::build(project, &options, |suite, case| {
        filter.matches(&suite.name, &case.id)
    });
    Ok(Some(Sharded { shard, whole }))
}

/// The report's description of a run of `plan` in `project`. A shard's report describes the
/// whole run's suites and prices, so that every shard of one run records the same and a merge
/// of them is the whole run's report.
pub(super) fn run_meta(
    project: &Project,
    plan: &Plan,
    sharded: Option<&Sharded>,
    replayed_from: Option<ReplaySource>,
    model_endpoints: Vec<ModelEndpoint>,
    traces_dir: Option<&Path>,
) -> RunMeta {
    let described = sharded.map_or(plan, |s| &s.whole);
    RunMeta {
        command: redacted(std::env::args_os().map(|a| a.to_string_lossy().into_owned())),
        git_commit: git_commit(&project.root),
        suites: described
            .suites
            .iter()
            .map(|s| SuiteInfo {
                name: s.name.clone(),
                path: s.path.display().to_string(),
                content_hash: s.content_hash.clone(),
            })
            .collect(),
        pricing: pricing_info(project, described),
        definitions: described
            .suites
            .iter()
            .map(|s| {
                let cases = s.cases.iter();
                let hashes = cases.map(|c| (c.id.clone(), c.definition_hash.clone()));
                (s.name.clone(), hashes.collect())
            })
            .collect(),
        replayed_from,
        model_endpoints,
        shard: sharded.map(|s| ShardInfo {
            index: s.shard.index(),
            count: s.shard.count(),
            plan: plan_hash(&s.whole),
            plan_trials: s.whole.trial_count() as u64,
        }),
        traces_dir: traces_dir.map(|dir| {
            std::path::absolute(dir)
                .unwrap_or_else(|_| dir.to_path_buf())
                .display()
                .to_string()
        }),
    }
}

/// FNV-1a 64 of the plan's case × model groups in plan order: suite name and content hash,
/// case id, model and trial count, each field length-prefixed so no two plans share a text.
fn plan_hash(plan: &Plan) -> String {
    let mut hash = crate::hash::fnv1a64(b"traceval-plan-1");
    for group in &plan.groups {
        let suite = plan.suite(group);
        let trials = group.trials.to_string();
        let fields = [
            suite.name.as_str(),
            suite.content_hash.as_str(),
            plan.case(group).id.as_str(),
            &*group.model,
            trials.as_str(),
        ];
        for field in fields {
            hash = fnv1a64_extend(hash, &(field.len() as u64).to_le_bytes());
            hash = fnv1a64_extend(hash, field.as_bytes());
        }
    }
    format!("{hash:016x}")
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

/// argv as the report keeps it: a `--forward` URL without its user info, query or fragment
/// (credentials travel there sometimes). Header values never are in argv: they are given by
/// reference (`NAME=env:VAR`).
fn redacted(args: impl Iterator<Item = String>) -> Vec<String> {
    let mut after_forward = false;
    args.map(|arg| {
        let shown = if after_forward {
            crate::forward::config::shown(&arg)
        } else if let Some(url) = arg.strip_prefix("--forward=") {
            format!("--forward={}", crate::forward::config::shown(url))
        } else {
            arg.clone()
        };
        after_forward = arg == "--forward";
        shown
    })
    .collect()
}

/// `git rev-parse HEAD` in `dir`, when it is a git checkout and git is installed.
pub(super) fn git_commit(dir: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !commit.is_empty()).then_some(commit)
}
