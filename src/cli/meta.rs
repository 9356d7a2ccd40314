//! What the report records about a run besides its trials: the command, the commit, the
//! suites, the prices in effect, the replayed run and the model endpoints.

use std::path::Path;

use crate::report::RunMeta;
use crate::report::schema::{ModelEndpoint, PriceOverride, PricingInfo, ReplaySource, SuiteInfo};
use crate::runner::Plan;
use crate::suite::Project;

/// The report's description of a run of `plan` in `project`.
pub(super) fn run_meta(
    project: &Project,
    plan: &Plan,
    replayed_from: Option<ReplaySource>,
    model_endpoints: Vec<ModelEndpoint>,
) -> RunMeta {
    RunMeta {
        command: std::env::args_os()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        git_commit: git_commit(&project.root),
        suites: plan
            .suites
            .iter()
            .map(|s| SuiteInfo {
                name: s.name.clone(),
                path: s.path.display().to_string(),
                content_hash: s.content_hash.clone(),
            })
            .collect(),
        pricing: pricing_info(project, plan),
        definitions: plan
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
