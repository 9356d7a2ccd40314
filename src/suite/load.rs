//! A suite file into the validated model: read, parse into [`super::raw`] structs, check every
//! value, resolve paths against the suite's directory, and append the cases of its `cases`
//! data file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use toml::de::{DeTable, DeValue};

use super::doc::{Doc, utf8};
use super::error::SuiteLoadError;
use super::hint::did_you_mean;
use super::locate::KeyPath;
use super::model::{
    Agent, Case, CommandAgent, Expect, ExpectedTool, ModelDef, Origin, Price, Provider, Suite,
};
use super::raw::{
    RawAgent, RawAgentKind, RawCase, RawExpect, RawModel, RawPrice, RawProvider, RawSuite,
};
use super::shard::{fnv1a64, fnv1a64_extend};

type Result<T> = std::result::Result<T, SuiteLoadError>;

/// Loads and validates one suite file.
///
/// Relative paths in it (the agent's program and `cwd`, scripts, the `cases` file) resolve
/// against the file's directory. The names in `models` are not checked here, as they may be
/// defined in `traceval.toml`: [`super::load_project`] checks them.
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
    let text = utf8(path, &bytes)?;
    let (doc, table) = Doc::toml(path, text)?;
    reject_unbuilt_agent_kinds(&doc, table.get_ref())?;
    let raw: RawSuite = doc.deserialize(table)?;
    let root = KeyPath::root();
    let dir = suite_dir(path);
    if raw.tool.is_some() {
        return Err(doc.unsupported_key(&root.key("tool")));
    }

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
    let models = model_names(&doc, &root.key("models"), raw.models)?;
    let agent = agent(&doc, &dir, raw.agent)?;
    let model_defs = model_defs(&doc, &root.key("model"), &dir, raw.model)?;
    let pricing = prices(&doc, &root.key("pricing"), raw.pricing)?;
    if let Some(shared) = shared_models {
        check_models_defined(&doc, &models, &model_defs, shared)?;
    }

    let mut cases = CaseList::default();
    for (i, mut raw) in raw.case.into_iter().enumerate() {
        raw.datetimes_to_strings();
        let at = root.key("case").index(i);
        let origin = Origin {
            path: path.to_path_buf(),
            line: doc.locate(&at).0,
        };
        cases.push(&doc, &at, case(&doc, &at, raw, origin)?)?;
    }
    let mut hash = fnv1a64(&bytes);
    if let Some(file) = raw.cases {
        let cases_path = dir.join(file);
        let data = std::fs::read(&cases_path).map_err(|source| {
            let (line, column) = doc.locate(&root.key("cases"));
            SuiteLoadError::CasesFile {
                path: path.to_path_buf(),
                line,
                column,
                cases_path: cases_path.clone(),
                source,
            }
        })?;
        hash = fnv1a64_extend(hash, &data);
        load_cases_file(&cases_path, &data, &mut cases)?;
    }
    if cases.cases.is_empty() {
        let message = "a suite needs at least one case: add a `[[case]]` table or a `cases` file";
        return Err(doc.invalid(&root.key("case"), message));
    }

    Ok(Suite {
        name,
        path: path.to_path_buf(),
        dir,
        description: raw.description,
        tags: raw.tags,
        trials,
        timeout,
        models,
        agent,
        model_defs,
        pricing,
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

/// Turns away agent kinds of the design that this version does not run, before their keys
/// (`system-prompt`, `trace`, …) would be reported as unknown.
fn reject_unbuilt_agent_kinds(doc: &Doc<'_>, table: &DeTable<'_>) -> Result<()> {
    let kind = table
        .get("agent")
        .and_then(|agent| agent.get_ref().get("kind"))
        .map(|kind| kind.get_ref());
    if let Some(DeValue::String(kind)) = kind
        && matches!(kind.as_ref(), "builtin" | "replay")
    {
        let at = KeyPath::root().key("agent").key("kind");
        return Err(doc.unsupported(&at, format!("agent kind `{kind}`")));
    }
    Ok(())
}

/// The cases read so far, and where each id was first defined.
#[derive(Default)]
struct CaseList {
    cases: Vec<Case>,
    first: HashMap<String, Origin>,
}

impl CaseList {
    fn push(&mut self, doc: &Doc<'_>, at: &KeyPath, case: Case) -> Result<()> {
        if let Some(first) = self.first.get(&case.id) {
            let (line, column) = doc.locate(&at.key("id"));
            return Err(SuiteLoadError::DuplicateCase {
                path: doc.path().to_path_buf(),
                line,
                column,
                id: case.id,
                first_path: first.path.clone(),
                first_line: first.line,
            });
        }
        self.first.insert(case.id.clone(), case.origin.clone());
        self.cases.push(case);
        Ok(())
    }
}

/// A `cases` data file: one JSON case object per line; blank lines are skipped.
fn load_cases_file(path: &Path, data: &[u8], cases: &mut CaseList) -> Result<()> {
    let text = utf8(path, data)?;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let doc = Doc::json_line(path, line, i + 1);
        let raw: RawCase = doc.deserialize_json()?;
        let origin = Origin {
            path: path.to_path_buf(),
            line: i + 1,
        };
        let root = KeyPath::root();
        cases.push(&doc, &root, case(&doc, &root, raw, origin)?)?;
    }
    Ok(())
}

fn case(doc: &Doc<'_>, at: &KeyPath, raw: RawCase, origin: Origin) -> Result<Case> {
    if raw.trace.is_some() {
        return Err(doc.unsupported_key(&at.key("trace")));
    }
    Ok(Case {
        id: non_empty(doc, &at.key("id"), raw.id)?,
        input: raw.input,
        tags: raw.tags,
        timeout: raw
            .timeout
            .map(|text| duration(doc, &at.key("timeout"), &text))
            .transpose()?,
        expect: expect(doc, &at.key("expect"), raw.expect)?,
        origin,
    })
}

fn expect(doc: &Doc<'_>, at: &KeyPath, raw: RawExpect) -> Result<Expect> {
    if let Some(key) = raw.unsupported().next() {
        return Err(doc.unsupported_key(&at.key(key)));
    }
    let output_regex = raw
        .output_regex
        .map(|pattern| Regex::new(&pattern).map_err(|e| doc.regex(&at.key("output-regex"), e)))
        .transpose()?;
    if let Some(json) = &raw.output_json
        && !json.is_object()
    {
        let message = "must be a table (an object in a cases file) of the fields the answer holds";
        return Err(doc.invalid(&at.key("output-json"), message));
    }
    let max_latency = raw
        .max_latency
        .map(|text| duration(doc, &at.key("max-latency"), &text))
        .transpose()?;
    let tools = raw
        .tools
        .map(|tools| {
            let at = at.key("tools");
            tools
                .into_iter()
                .enumerate()
                .map(|(i, tool)| expected_tool(doc, &at.index(i), tool))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    if let Some(f1) = raw.min_tool_f1 {
        let at = at.key("min-tool-f1");
        if !(0.0..=1.0).contains(&f1) {
            return Err(doc.invalid(&at, format!("must be between 0 and 1, found {f1}")));
        }
        if tools.is_none() {
            return Err(doc.invalid(
                &at,
                "has no effect without `tools`, the expected tool calls",
            ));
        }
    }
    Ok(Expect {
        output_equals: raw.output_equals,
        output_contains: raw.output_contains.map(|many| many.0).unwrap_or_default(),
        output_regex,
        output_json: raw.output_json,
        max_latency,
        max_llm_calls: raw.max_llm_calls,
        max_tool_calls: raw.max_tool_calls,
        no_error_spans: raw.no_error_spans.unwrap_or(false),
        tools,
        min_tool_f1: raw.min_tool_f1,
        exit_code: raw.exit_code,
    })
}

fn expected_tool(doc: &Doc<'_>, at: &KeyPath, raw: super::raw::RawTool) -> Result<ExpectedTool> {
    if let Some(args) = &raw.args
        && !args.is_object()
    {
        let message = "must be a table of the arguments the call must contain";
        return Err(doc.invalid(&at.key("args"), message));
    }
    Ok(ExpectedTool {
        name: non_empty(doc, &at.key("name"), raw.name)?,
        args: raw.args,
    })
}

fn agent(doc: &Doc<'_>, dir: &Path, raw: RawAgent) -> Result<Agent> {
    let at = KeyPath::root().key("agent");
    match raw.kind {
        RawAgentKind::Command => {
            let mut command = raw.command.into_iter();
            let program = command.next().filter(|program| !program.is_empty());
            let Some(program) = program else {
                let message =
                    "must start with the program to run, e.g. [\"python3\", \"agent.py\"]";
                return Err(doc.invalid(&at.key("command"), message));
            };
            // As a shell would: a name with a slash is a path, any other name is looked up
            // on PATH when the agent starts.
            let program = if program.contains('/') {
                dir.join(program)
            } else {
                PathBuf::from(program)
            };
            for name in raw.env.keys() {
                if name.is_empty() || name.contains(['=', '\0']) {
                    let message = "an environment variable name must be non-empty, without `=`";
                    return Err(doc.invalid(&at.key("env").key(name), message));
                }
            }
            Ok(Agent::Command(CommandAgent {
                program,
                args: command.collect(),
                env: raw.env,
                cwd: raw
                    .cwd
                    .map_or_else(|| dir.to_path_buf(), |cwd| dir.join(cwd)),
            }))
        }
    }
}

/// `[model.NAME]` tables of a suite or of `traceval.toml`; `dir` resolves scripts.
pub(super) fn model_defs(
    doc: &Doc<'_>,
    at: &KeyPath,
    dir: &Path,
    raw: BTreeMap<String, RawModel>,
) -> Result<BTreeMap<String, ModelDef>> {
    raw.into_iter()
        .map(|(name, model)| {
            let def = model_def(doc, &at.key(&name), dir, model)?;
            Ok((name, def))
        })
        .collect()
}

fn model_def(doc: &Doc<'_>, at: &KeyPath, dir: &Path, raw: RawModel) -> Result<ModelDef> {
    let provider_name = match raw.provider {
        RawProvider::Scripted => "scripted",
        RawProvider::OpenAi => "openai",
        RawProvider::Anthropic => "anthropic",
    };
    let foreign = [
        (
            "script",
            raw.script.is_some() && raw.provider != RawProvider::Scripted,
        ),
        (
            "base-url",
            raw.base_url.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "api-key-env",
            raw.api_key_env.is_some() && raw.provider == RawProvider::Scripted,
        ),
    ];
    if let Some((key, _)) = foreign.into_iter().find(|&(_, present)| present) {
        let message = format!("does not apply to provider `{provider_name}`");
        return Err(doc.invalid(&at.key(key), message));
    }
    if let Some(url) = &raw.base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        let message = format!("`{url}` is not an http:// or https:// URL");
        return Err(doc.invalid(&at.key("base-url"), message));
    }
    for (key, value) in [("model", &raw.model), ("api-key-env", &raw.api_key_env)] {
        if value.as_ref().is_some_and(|value| value.is_empty()) {
            return Err(doc.invalid(&at.key(key), "must not be empty"));
        }
    }
    let provider = match raw.provider {
        RawProvider::Scripted => {
            let Some(script) = raw.script else {
                let why = "a scripted model answers from a script file";
                return Err(doc.missing(&at.key("script"), why));
            };
            Provider::Scripted {
                script: dir.join(script),
            }
        }
        RawProvider::OpenAi => Provider::OpenAi {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
        },
        RawProvider::Anthropic => Provider::Anthropic {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
        },
    };
    Ok(ModelDef {
        provider,
        model: raw.model,
    })
}

/// `[pricing."MODEL"]` tables of a suite or of `traceval.toml`.
pub(super) fn prices(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: BTreeMap<String, RawPrice>,
) -> Result<BTreeMap<String, Price>> {
    raw.into_iter()
        .map(|(model, price)| {
            let at = at.key(&model);
            let values = [
                ("input", Some(price.input)),
                ("output", Some(price.output)),
                ("input-cache-read", price.input_cache_read),
                ("input-cache-write", price.input_cache_write),
            ];
            for (key, value) in values {
                if let Some(value) = value
                    && !(value.is_finite() && value >= 0.0)
                {
                    let message =
                        format!("must be a price in USD per 1M tokens, 0 or more, found {value}");
                    return Err(doc.invalid(&at.key(key), message));
                }
            }
            let price = Price {
                input: price.input,
                output: price.output,
                input_cache_read: price.input_cache_read,
                input_cache_write: price.input_cache_write,
            };
            Ok((model, price))
        })
        .collect()
}

/// A list of model names: each non-empty, none twice.
pub(super) fn model_names(doc: &Doc<'_>, at: &KeyPath, names: Vec<String>) -> Result<Vec<String>> {
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(doc.invalid(&at.index(i), "a model name must not be empty"));
        }
        if names[..i].contains(name) {
            return Err(doc.invalid(&at.index(i), format!("`{name}` is listed twice")));
        }
    }
    Ok(names)
}

/// A duration such as `"30s"`, `"1500ms"` or `"2m"`; zero is refused, as a zero timeout or
/// latency limit would fail every trial.
pub(super) fn duration(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<Duration> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => {
            Err(doc.invalid(at, format!("`{text}` is zero; a duration must be positive")))
        }
        Ok(duration) => Ok(duration),
        Err(e) => {
            let message = format!(
                "`{text}` is not a duration ({e}); write e.g. \"30s\", \"1500ms\" or \"2m\""
            );
            Err(doc.invalid(at, message))
        }
    }
}

/// A count such as `trials`, which must be at least 1.
pub(super) fn at_least_one<T: PartialOrd + From<u8>>(
    doc: &Doc<'_>,
    at: &KeyPath,
    value: T,
) -> Result<T> {
    if value < T::from(1) {
        return Err(doc.invalid(at, "must be at least 1"));
    }
    Ok(value)
}

fn non_empty(doc: &Doc<'_>, at: &KeyPath, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(doc.invalid(at, "must not be empty"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests;
