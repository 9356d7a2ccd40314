//! A suite file into the validated model: read, parse into [`super::raw`] structs, check every
//! value, resolve paths against the suite's directory, and append the cases of its `cases`
//! data file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::doc::{ARRAY_TABLES, Doc};
use super::error::SuiteLoadError;
use super::raw::{RawIgnore, RawSuite};
use super::spec::{Agent, ModelDef, Origin, ReplayAgent, Suite};
use crate::hash::{fnv1a64, fnv1a64_extend};
use crate::toml_doc::{KeyPath, LocatedKind, did_you_mean};
use agent::agent;
use case::{CaseList, Scope, load_cases_file};
use definition::SuiteDefinition;
use expect::selector;
pub(super) use models::{model_defs, model_names, prices};
use serde_json::Value as Json;
use snapshot::{RawSnapshotKeys, SnapshotKeys};
use value::{and_list, non_empty};
pub(super) use value::{at_least_one, duration};

type Result<T> = std::result::Result<T, SuiteLoadError>;

/// Loads and validates one suite file.
///
/// Relative paths in it (the agent's program and `cwd`, scripts, the `cases` file) resolve
/// against the file's directory. The names in `models` are not checked here, as they may be
/// defined in `traceval.toml`: `load_project` checks them.
pub fn load_suite(path: &Path) -> Result<Suite> {
    load_suite_in(path, None)
}

/// [`load_suite`] within a project: with `shared_models`, the models of `traceval.toml`, each
/// name in `models` must be defined here or there.
pub(super) fn load_suite_in(
    path: &Path,
    shared_models: Option<&BTreeMap<String, ModelDef>>,
) -> Result<Suite> {
    let bytes = read(path)?;
    let text = Doc::utf8(path, &bytes)?;
    let (doc, table) = Doc::toml(path, text, ARRAY_TABLES)?;
    let raw: RawSuite = doc.deserialize(table)?;
    // The same text as JSON values, for the cases' definition hashes; it parsed above.
    let written: Json = toml::from_str(text).unwrap_or(Json::Null);
    let definition = SuiteDefinition::of(&written);
    let written_cases = written.get("case").and_then(Json::as_array);
    let root = KeyPath::root();
    let dir = suite_dir(path);

    let name = match raw.name {
        Some(name) => non_empty(&doc, &root.key("name"), name)?,
        None => path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let trials = raw
        .trials
        .map(|trials| at_least_one(&doc, &root.key("trials"), trials))
        .transpose()?;
    let timeout = raw
        .timeout
        .map(|text| duration(&doc, &root.key("timeout"), &text))
        .transpose()?;
    // An empty list would run as `default`: a command agent would get no model served.
    let models = match raw.models {
        Some(models) if models.is_empty() => {
            let message = "must name at least one model (leave it out to run the agent once \
                           per trial as `default`, with no model served)";
            return Err(doc.invalid(&root.key("models"), message));
        }
        models => model_names(&doc, &root.key("models"), models.unwrap_or_default())?,
    };
    let ignore = match raw.ignore {
        None | Some(RawIgnore::Flag(false)) => None,
        Some(RawIgnore::Flag(true)) => Some(String::new()),
        Some(RawIgnore::Reason(reason)) => {
            if reason.trim().is_empty() {
                let message = "must be `true` or say why the suite is ignored";
                return Err(doc.invalid(&root.key("ignore"), message));
            }
            Some(reason)
        }
    };
    let agent = agent(&doc, &dir, &name, raw.agent, raw.tool)?;
    let model_defs = model_defs(&doc, &root.key("model"), &dir, raw.model)?;
    let pricing = prices(&doc, &root.key("pricing"), raw.pricing)?;
    let conventions = raw
        .conventions
        .map(|c| conventions::conventions(&doc, &root.key("conventions"), c))
        .transpose()?
        .unwrap_or_default();
    let replay = matches!(agent, Agent::Replay(_));
    // A replay calls no model: its `models` only name the trials.
    if let Some(shared) = shared_models.filter(|_| !replay) {
        check_models_defined(&doc, &models, &model_defs, shared)?;
    }
    if replay {
        let present = [("trials", trials.is_some()), ("timeout", timeout.is_some())];
        if let Some((key, _)) = present.into_iter().find(|&(_, present)| present) {
            let message = "does not apply to agent kind `replay`: no agent runs, and a recorded \
                           trace is replayed once per model";
            return Err(doc.invalid(&root.key(key), message));
        }
    }

    // A builtin agent can only call its own tools: an expected call of another is a typo.
    let tool_names: Option<Vec<&str>> = match &agent {
        Agent::Builtin(builtin) => Some(builtin.tools.iter().map(|t| t.name.as_str()).collect()),
        Agent::Command(_) | Agent::Replay(_) => None,
    };
    let tool_names = tool_names.as_deref();
    // Judges may call any model of the suite or of traceval.toml; standalone, like `models`,
    // their names are not checked (traceval.toml may define them).
    let model_names: Option<Vec<&str>> = shared_models.map(|shared| {
        model_defs
            .keys()
            .chain(shared.keys())
            .map(String::as_str)
            .collect()
    });
    let snapshot = SnapshotKeys::check(
        &doc,
        RawSnapshotKeys {
            at: &root,
            attrs: raw.snapshot_attrs,
            ignore: raw.snapshot_ignore,
            collapse_repeats: raw.collapse_repeats,
        },
    )?;
    let scope = Scope {
        tool_names,
        models: model_names.as_deref(),
        snapshot: &snapshot,
        definition,
    };

    let mut cases = CaseList::new(replay.then(|| dir.clone()));
    for (i, mut raw) in raw.case.into_iter().enumerate() {
        raw.datetimes_to_strings();
        let at = root.key("case").index(i);
        let origin = Origin {
            path: path.to_path_buf(),
            line: doc.locate(&at).0,
        };
        cases.push_raw(&doc, &at, raw, origin, scope)?;
        let as_written = written_cases.and_then(|cases| cases.get(i));
        cases.define_last(definition.case_hash(as_written.unwrap_or(&Json::Null)));
    }
    let mut hash = fnv1a64(&bytes);
    if let Some(file) = raw.cases {
        let cases_path = dir.join(file);
        let data = std::fs::read(&cases_path).map_err(|source| {
            let kind = LocatedKind::CasesFile {
                cases_path: cases_path.clone(),
                source,
            };
            doc.error(&root.key("cases"), kind)
        })?;
        hash = fnv1a64_extend(hash, &data);
        load_cases_file(&cases_path, &data, &mut cases, scope)?;
    }
    if cases.cases.is_empty() {
        let message = "a suite needs at least one case: add a `[[case]]` table or a `cases` file";
        return Err(doc.invalid(&root.key("case"), message));
    }
    if let Some(key) = snapshot.first_given()
        && cases.cases.iter().all(|c| c.expect.snapshot.is_none())
    {
        let message = "has no effect: no case of the suite has `snapshot = true` in its \
                       `[case.expect]`";
        return Err(doc.invalid(&root.key(key), message));
    }
    let agent = match (agent, cases.replay) {
        (Agent::Replay(_), Some((_, traces))) => Agent::Replay(ReplayAgent { traces }),
        (agent, _) => agent,
    };

    Ok(Suite {
        name,
        path: path.to_path_buf(),
        dir,
        description: raw.description,
        tags: raw.tags,
        ignore,
        trials,
        timeout,
        models,
        agent,
        model_defs,
        pricing,
        conventions,
        cases: cases.cases,
        content_hash: format!("{hash:016x}"),
    })
}

fn check_models_defined(
    doc: &Doc<'_>,
    models: &[String],
    own: &BTreeMap<String, ModelDef>,
    shared: &BTreeMap<String, ModelDef>,
) -> Result<()> {
    let undefined = models
        .iter()
        .enumerate()
        .find(|(_, name)| !own.contains_key(*name) && !shared.contains_key(*name));
    if let Some((i, name)) = undefined {
        let known = own.keys().chain(shared.keys()).map(String::as_str);
        let message = format!(
            "model `{name}` is not defined: add a `[model.{name}]` table to the suite or to traceval.toml"
        );
        let at = KeyPath::root().key("models").index(i);
        return Err(doc.invalid_with_hint(&at, message, did_you_mean(name, known)));
    }
    Ok(())
}

/// Reads a whole file.
pub(super) fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| SuiteLoadError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// The directory relative paths of a file resolve against; `.` for a bare file name, so that
/// it can serve as a working directory.
fn suite_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

mod agent;
mod case;
pub(super) mod conventions;
mod definition;
mod expect;
mod judge;
mod models;
mod replay;
mod snapshot;
#[cfg(test)]
mod tests;
mod value;
