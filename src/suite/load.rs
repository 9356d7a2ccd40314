//! A suite file into the validated model: read, parse into [`super::raw`] structs, check every
//! value, resolve paths against the suite's directory, and append the cases of its `cases`
//! data file.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use serde_json::{Value as Json, json};

use super::doc::Doc;
use super::error::SuiteLoadError;
use super::raw::{
    RawAgent, RawAgentKind, RawArgsCase, RawCase, RawExpect, RawIgnore, RawModel, RawPrice,
    RawProvider, RawSpan, RawSuite, RawToolDef, RawTrajectory,
};
use super::spec::{
    Agent, ArgMode, ArgsCase, BuiltinAgent, Case, CommandAgent, Count, Expect, ExpectedTool,
    ModelDef, Origin, Price, Provider, RecordedTrace, ReplayAgent, SpanAssertion, Suite, ToolDef,
    ToolResult, Trajectory, TrajectoryMode,
};
use crate::hash::{fnv1a64, fnv1a64_extend};
use crate::toml_doc::{KeyPath, did_you_mean};
use crate::trace::query::Selector;
use snapshot::{RawSnapshotKeys, SnapshotKeys};

type Result<T> = std::result::Result<T, SuiteLoadError>;

/// `agent.max-turns` when it is left out.
const DEFAULT_MAX_TURNS: u32 = 10;

/// A `[[tool]]` command's `timeout` when it is left out.
const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// The keys of a `[[tool]]` that say what a call returns; a tool has exactly one.
const RESULT_KEYS: &str = "`returns`, `returns-by-args`, `command` or `error`";

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
    let text = Doc::utf8(path, &bytes)?;
    let (doc, table) = Doc::toml(path, text)?;
    let raw: RawSuite = doc.deserialize(table)?;
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
    };

    let mut cases = CaseList {
        replay: replay.then(|| (dir.clone(), BTreeMap::new())),
        ..CaseList::default()
    };
    for (i, mut raw) in raw.case.into_iter().enumerate() {
        raw.datetimes_to_strings();
        let at = root.key("case").index(i);
        let origin = Origin {
            path: path.to_path_buf(),
            line: doc.locate(&at).0,
        };
        cases.push_raw(&doc, &at, raw, origin, scope)?;
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

/// The cases read so far, and where each id was first defined.
#[derive(Default)]
struct CaseList {
    cases: Vec<Case>,
    first: HashMap<String, Origin>,
    /// In a replay suite: the directory traces resolve against, and each case's trace.
    replay: Option<(PathBuf, BTreeMap<String, RecordedTrace>)>,
}

impl CaseList {
    /// Validates a case as read (`at`), with its recorded trace in a replay suite, and adds it.
    fn push_raw(
        &mut self,
        doc: &Doc<'_>,
        at: &KeyPath,
        mut raw: RawCase,
        origin: Origin,
        scope: Scope<'_>,
    ) -> Result<()> {
        let (trace, output) = (raw.trace.take(), raw.output.take());
        if raw.input.is_none() && self.replay.is_none() {
            let why = "what the agent gets: a string, or any value (sent as JSON)";
            return Err(doc.missing(&at.key("input"), why));
        }
        let input_from_trace = raw.input.is_none();
        let case = case(doc, at, raw, origin, scope)?;
        let id = case.id.clone();
        self.push(doc, at, case)?;
        let dir = self.replay.as_ref().map(|(dir, _)| dir.as_path());
        let recorded = replay::recorded_trace(
            doc,
            at,
            dir.unwrap_or(Path::new(".")),
            trace,
            output,
            dir.is_some(),
        )?;
        if let (Some((_, traces)), Some(recorded)) = (&mut self.replay, recorded) {
            // A replay case without `input` takes the one its trace recorded, else "".
            if let (true, Some(case)) = (input_from_trace, self.cases.last_mut()) {
                case.input = crate::capture::recorded::recorded_input(&recorded.spans)
                    .unwrap_or_else(|| Json::String(String::new()));
            }
            traces.insert(id, recorded);
        }
        Ok(())
    }

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
fn load_cases_file(path: &Path, data: &[u8], cases: &mut CaseList, scope: Scope<'_>) -> Result<()> {
    let text = Doc::utf8(path, data)?;
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
        cases.push_raw(&doc, &KeyPath::root(), raw, origin, scope)?;
    }
    Ok(())
}

/// What a case's names may refer to.
#[derive(Clone, Copy)]
struct Scope<'a> {
    /// The tools of a builtin agent, which its expected calls must name.
    tool_names: Option<&'a [&'a str]>,
    /// The models of the suite and of traceval.toml, which its judges must name (`None`:
    /// not checked).
    models: Option<&'a [&'a str]>,
    /// The suite's snapshot keys, defaults for its cases'.
    snapshot: &'a SnapshotKeys,
}

/// One case.
fn case(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: RawCase,
    origin: Origin,
    scope: Scope<'_>,
) -> Result<Case> {
    Ok(Case {
        id: non_empty(doc, &at.key("id"), raw.id)?,
        // Checked by the caller: only a replay case may leave it out, to take it from its trace.
        input: raw.input.unwrap_or_default(),
        tags: raw.tags,
        timeout: raw
            .timeout
            .map(|text| duration(doc, &at.key("timeout"), &text))
            .transpose()?,
        expect: expect(doc, &at.key("expect"), raw.expect, scope)?,
        origin,
    })
}

fn expect(doc: &Doc<'_>, at: &KeyPath, raw: RawExpect, scope: Scope<'_>) -> Result<Expect> {
    let snapshot_keys = SnapshotKeys::check(
        doc,
        RawSnapshotKeys {
            at,
            attrs: raw.snapshot_attrs,
            ignore: raw.snapshot_ignore,
            collapse_repeats: raw.collapse_repeats,
        },
    )?;
    let snapshot = match raw.snapshot {
        Some(true) => Some(snapshot_keys.over(scope.snapshot)),
        Some(false) | None => {
            if let Some(key) = snapshot_keys.first_given() {
                let message = "has no effect without `snapshot = true`";
                return Err(doc.invalid(&at.key(key), message));
            }
            None
        }
    };
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
                .map(|(i, tool)| expected_tool(doc, &at.index(i), tool, scope.tool_names))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let spans = raw
        .span
        .map(|spans| {
            let at = at.key("span");
            spans
                .into_iter()
                .enumerate()
                .map(|(i, span)| span_assertion(doc, &at.index(i), span))
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    let trajectory = raw
        .trajectory
        .map(|raw| trajectory(doc, &at.key("trajectory"), raw, tools.as_deref()))
        .transpose()?;
    if let Some(usd) = raw.max_cost
        && !(usd.is_finite() && usd >= 0.0)
    {
        let message = format!("must be a cost in USD per trial, 0 or more, found {usd}");
        return Err(doc.invalid(&at.key("max-cost"), message));
    }
    let judges = raw
        .judge
        .map(|judges| judge::judges(doc, &at.key("judge"), judges, scope.models))
        .transpose()?
        .unwrap_or_default();
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
        max_cost: raw.max_cost,
        no_error_spans: raw.no_error_spans.unwrap_or(false),
        tools,
        min_tool_f1: raw.min_tool_f1,
        exit_code: raw.exit_code,
        spans,
        trajectory,
        judges,
        snapshot,
    })
}

/// The modes `trajectory` (or its `mode`) can name.
const TRAJECTORY_MODES: [TrajectoryMode; 5] = [
    TrajectoryMode::Exact,
    TrajectoryMode::InOrder,
    TrajectoryMode::AnyOrder,
    TrajectoryMode::Subset,
    TrajectoryMode::Superset,
];

/// The spellings of a trajectory's `args` and of its `tool-args` values; `subset`, the old
/// name of `contains`, still loads.
const ARG_MODES: [(&str, ArgMode); 5] = [
    ("contains", ArgMode::Contains),
    ("within", ArgMode::Within),
    ("exact", ArgMode::Exact),
    ("ignore", ArgMode::Ignore),
    ("subset", ArgMode::Contains),
];

/// `expect.trajectory`, a mode alone or a table; `tools`, the case's expected calls, are what
/// it compares the actual calls with, so it needs them, and `tool-args` must name them.
fn trajectory(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: RawTrajectory,
    tools: Option<&[ExpectedTool]>,
) -> Result<Trajectory> {
    let (mode_at, mode, args, tool_args) = match raw {
        RawTrajectory::Mode(mode) => (at.clone(), mode, None, None),
        RawTrajectory::Table(table) => {
            let mode_at = at.key("mode");
            let Some(mode) = table.mode else {
                let why = "how the calls must line up with `tools`: `exact`, `in-order`, \
                           `any-order`, `subset` or `superset`";
                return Err(doc.missing(&mode_at, why));
            };
            (mode_at, mode, table.args, table.tool_args)
        }
    };
    let mode = trajectory_mode(doc, &mode_at, &mode)?;
    let args = args
        .map(|text| arg_mode(doc, &at.key("args"), &text))
        .transpose()?
        .unwrap_or(ArgMode::Contains);
    let tool_args = tool_args
        .unwrap_or_default()
        .into_iter()
        .map(|(tool, text)| {
            let mode = arg_mode(doc, &at.key("tool-args").key(&tool), &text)?;
            Ok((tool, mode))
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    let Some(tools) = tools else {
        let message = "compares the tool calls with `tools`; add the expected calls";
        return Err(doc.invalid(at, message));
    };
    let mut names: Vec<&str> = Vec::new();
    for tool in tools {
        if !names.contains(&tool.name.as_str()) {
            names.push(&tool.name);
        }
    }
    if let Some(tool) = tool_args
        .keys()
        .find(|tool| !names.contains(&tool.as_str()))
    {
        let message = match names.as_slice() {
            [] => format!("`{tool}` is not an expected call: `tools` is empty"),
            names => format!(
                "`{tool}` is not an expected call: `tools` names {}",
                and_list(names)
            ),
        };
        let hint = did_you_mean(tool, names.iter().copied());
        return Err(doc.invalid_with_hint(&at.key("tool-args").key(tool), message, hint));
    }
    Ok(Trajectory {
        mode,
        args,
        tool_args,
    })
}

/// A trajectory mode as written.
fn trajectory_mode(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<TrajectoryMode> {
    if let Some(mode) = TRAJECTORY_MODES
        .into_iter()
        .find(|mode| mode.as_str() == text)
    {
        return Ok(mode);
    }
    let message =
        format!("must be `exact`, `in-order`, `any-order`, `subset` or `superset`, found `{text}`");
    let hint = did_you_mean(text, TRAJECTORY_MODES.map(TrajectoryMode::as_str));
    Err(doc.invalid_with_hint(at, message, hint))
}

/// How arguments are compared (`args`, a `tool-args` value), as written.
fn arg_mode(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<ArgMode> {
    if let Some((_, mode)) = ARG_MODES.into_iter().find(|(name, _)| *name == text) {
        return Ok(mode);
    }
    let message = format!(
        "must be `contains`, `within`, `exact` or `ignore` (`subset` is an old name of \
         `contains`), found `{text}`"
    );
    // agentevals names the direction the other way round: its `superset` is `contains`.
    let hint = match text {
        "superset" => Some(
            "agentevals' `superset` is traceval's `contains` (the call's arguments include the \
             expected ones), its `subset` traceval's `within`"
                .to_owned(),
        ),
        _ => did_you_mean(text, ARG_MODES.map(|(name, _)| name)),
    };
    Err(doc.invalid_with_hint(at, message, hint))
}

/// The span statuses a span assertion's `status` can require.
const SPAN_STATUSES: [&str; 3] = ["ok", "error", "unset"];

/// One `[[case.expect.span]]`.
fn span_assertion(doc: &Doc<'_>, at: &KeyPath, raw: RawSpan) -> Result<SpanAssertion> {
    let select = selector(doc, &at.key("select"), &raw.select)?;
    let count = raw
        .count
        .map(|count| {
            count
                .0
                .parse::<Count>()
                .map_err(|message| doc.invalid(&at.key("count"), message))
        })
        .transpose()?;
    let max_duration = raw
        .max_duration
        .map(|text| duration(doc, &at.key("max-duration"), &text))
        .transpose()?;
    if let Some(status) = &raw.status
        && !SPAN_STATUSES.contains(&status.as_str())
    {
        let message = format!("must be `ok`, `error` or `unset`, found `{status}`");
        let hint = did_you_mean(status, SPAN_STATUSES);
        return Err(doc.invalid_with_hint(&at.key("status"), message, hint));
    }
    let attrs = raw.attrs.unwrap_or_default();
    for (name, value) in &attrs {
        span_attr(doc, &at.key("attrs").key(name), name, value)?;
    }
    let before = raw
        .before
        .map(|text| selector(doc, &at.key("before"), &text))
        .transpose()?;
    let after = raw
        .after
        .map(|text| selector(doc, &at.key("after"), &text))
        .transpose()?;
    Ok(SpanAssertion {
        select,
        count,
        max_duration,
        status: raw.status,
        attrs,
        before,
        after,
    })
}

/// A selector (`select`, `before`, `after`); a parse error is shown at the key, with the
/// selector's own message and column.
fn selector(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<Selector> {
    Selector::parse(text).map_err(|e| doc.invalid_in_string(at, e.column, e.to_string(), None))
}

/// One of a span assertion's `attrs`: a value a span attribute can have, a string, number or
/// boolean or an array of them.
fn span_attr(doc: &Doc<'_>, at: &KeyPath, name: &str, value: &Json) -> Result<()> {
    let scalar = |value: &Json| matches!(value, Json::String(_) | Json::Number(_) | Json::Bool(_));
    let ok = match value {
        Json::Array(items) => items.iter().all(scalar),
        value => scalar(value),
    };
    if ok {
        return Ok(());
    }
    let message = "must be a string, number or boolean, or an array of them: span attributes \
                   hold no tables or nulls";
    // `gen_ai.request.model = …` unquoted is a table of tables in TOML.
    let hint = value.is_object().then(|| {
        let mut dotted = name.to_owned();
        let mut value = value;
        while let Json::Object(table) = value
            && let [(key, inner)] = table.iter().collect::<Vec<_>>()[..]
        {
            dotted = format!("{dotted}.{key}");
            value = inner;
        }
        format!("quote a dotted attribute name: `\"{dotted}\" = …`")
    });
    Err(doc.invalid_with_hint(at, message, hint))
}

fn expected_tool(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: super::raw::RawTool,
    tool_names: Option<&[&str]>,
) -> Result<ExpectedTool> {
    if let Some(args) = &raw.args
        && !args.is_object()
    {
        let message = "must be a table of the arguments the call must contain";
        return Err(doc.invalid(&at.key("args"), message));
    }
    let name = non_empty(doc, &at.key("name"), raw.name)?;
    if let Some(known) = tool_names
        && !known.contains(&name.as_str())
    {
        let message = match known {
            [] => format!(
                "`{name}` is not a tool of the builtin agent, which has no `[[tool]]` tables"
            ),
            known => format!(
                "`{name}` is not a tool of the builtin agent: its tools are {}",
                and_list(known)
            ),
        };
        let hint = did_you_mean(&name, known.iter().copied());
        return Err(doc.invalid_with_hint(&at.key("name"), message, hint));
    }
    Ok(ExpectedTool {
        name,
        args: raw.args,
    })
}

/// `[agent]`, and the suite's `[[tool]]` tables, which only a builtin agent has.
fn agent(
    doc: &Doc<'_>,
    dir: &Path,
    suite_name: &str,
    raw: RawAgent,
    tools: Option<Vec<RawToolDef>>,
) -> Result<Agent> {
    let root = KeyPath::root();
    let at = root.key("agent");
    if let Some(key) = raw.foreign_keys().next() {
        let message = match raw.kind {
            RawAgentKind::Builtin => {
                "does not apply to agent kind `builtin`, which runs traceval's own tool loop \
                 (`command`, `env` and `cwd` are for `kind = \"command\"`)"
            }
            RawAgentKind::Command => {
                "does not apply to agent kind `command` (`name`, `system-prompt`, `max-turns` \
                 and `temperature` are for `kind = \"builtin\"`)"
            }
            RawAgentKind::Replay => {
                "does not apply to agent kind `replay`, which runs no agent: each case names \
                 its recorded `trace`"
            }
        };
        return Err(doc.invalid(&at.key(key), message));
    }
    match raw.kind {
        RawAgentKind::Replay => {
            if tools.is_some() {
                let message = "`tool` tables need `[agent] kind = \"builtin\"`; a replay grades \
                               the tool calls its traces recorded";
                return Err(doc.invalid(&root.key("tool"), message));
            }
            Ok(Agent::Replay(ReplayAgent::default()))
        }
        RawAgentKind::Command => {
            if tools.is_some() {
                let message = "`tool` tables need `[agent] kind = \"builtin\"`; a command agent \
                               brings its own tools";
                return Err(doc.invalid(&root.key("tool"), message));
            }
            let Some(command) = raw.command else {
                let why = "the program a command agent runs for each trial, e.g. [\"python3\", \"agent.py\"]";
                return Err(doc.missing(&at.key("command"), why));
            };
            let mut command = command.into_iter();
            let program = command.next().filter(|program| !program.is_empty());
            let Some(program) = program else {
                let message =
                    "must start with the program to run, e.g. [\"python3\", \"agent.py\"]";
                return Err(doc.invalid(&at.key("command"), message));
            };
            let env = raw.env.unwrap_or_default();
            for name in env.keys() {
                if name.is_empty() || name.contains(['=', '\0']) {
                    let message = "an environment variable name must be non-empty, without `=`";
                    return Err(doc.invalid(&at.key("env").key(name), message));
                }
            }
            Ok(Agent::Command(CommandAgent {
                program: program_path(dir, program),
                args: command.collect(),
                env,
                cwd: absolute(
                    &raw.cwd
                        .map_or_else(|| dir.to_path_buf(), |cwd| dir.join(cwd)),
                ),
                line: doc.locate(&at.key("command")).0,
            }))
        }
        RawAgentKind::Builtin => {
            let name = match raw.name {
                Some(name) => non_empty(doc, &at.key("name"), name)?,
                None => suite_name.to_owned(),
            };
            let system_prompt = raw
                .system_prompt
                .map(|prompt| non_empty(doc, &at.key("system-prompt"), prompt))
                .transpose()?;
            let max_turns = raw
                .max_turns
                .map(|turns| at_least_one(doc, &at.key("max-turns"), turns))
                .transpose()?
                .unwrap_or(DEFAULT_MAX_TURNS);
            if let Some(temperature) = raw.temperature
                && !(0.0..=2.0).contains(&temperature)
            {
                let message = format!("must be a number from 0 to 2, found {temperature}");
                return Err(doc.invalid(&at.key("temperature"), message));
            }
            let tools = tool_defs(doc, &root.key("tool"), dir, tools.unwrap_or_default())?;
            Ok(Agent::Builtin(BuiltinAgent {
                name,
                system_prompt,
                max_turns,
                temperature: raw.temperature,
                tools,
            }))
        }
    }
}

/// An agent's or a tool's program, as a shell would find it: a name with a slash is a path
/// (relative ones against the suite directory), any other name is looked up on `PATH` when the
/// program starts. Paths are made absolute here: the program is spawned with another working
/// directory (the suite's), which a relative path would be resolved against a second time.
fn program_path(dir: &Path, program: String) -> PathBuf {
    if program.contains('/') {
        absolute(&dir.join(program))
    } else {
        PathBuf::from(program)
    }
}

/// `path` made absolute against the working directory, lexically (`..` and links are left to
/// the OS); unchanged when the working directory cannot be read.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The `[[tool]]` tables of a builtin agent, in file order, names unique.
fn tool_defs(
    doc: &Doc<'_>,
    at: &KeyPath,
    dir: &Path,
    raw: Vec<RawToolDef>,
) -> Result<Vec<ToolDef>> {
    let mut tools: Vec<ToolDef> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let tool = tool_def(doc, &at.index(i), dir, raw)?;
        if let Some(first) = tools.iter().position(|t| t.name == tool.name) {
            let (line, _) = doc.locate(&at.index(first).key("name"));
            let message = format!(
                "tool `{}` is defined twice, first at line {line}; tool names must be unique",
                tool.name
            );
            return Err(doc.invalid(&at.index(i).key("name"), message));
        }
        tools.push(tool);
    }
    Ok(tools)
}

fn tool_def(doc: &Doc<'_>, at: &KeyPath, dir: &Path, mut raw: RawToolDef) -> Result<ToolDef> {
    raw.datetimes_to_strings();
    let keys = raw.result_keys();
    let name = tool_name(doc, &at.key("name"), raw.name)?;
    let description = raw
        .description
        .map(|text| non_empty(doc, &at.key("description"), text))
        .transpose()?;
    let parameters = match raw.parameters {
        None => json!({ "type": "object" }),
        Some(schema) => parameters(doc, &at.key("parameters"), schema)?,
    };
    if keys.len() > 1 {
        let message = format!(
            "tool `{name}` has {}: give exactly one of {RESULT_KEYS}",
            and_list(&keys)
        );
        // Shown at the second of them in the file: the first one may well be the intended.
        let mut found: Vec<KeyPath> = keys.iter().map(|key| at.key(key)).collect();
        found.sort_by_key(|key| doc.locate(key));
        return Err(doc.invalid(&found[1], message));
    }
    let mut timeout = raw.timeout;
    let result = if let Some(value) = raw.returns {
        ToolResult::Returns(value)
    } else if let Some(cases) = raw.returns_by_args {
        ToolResult::ReturnsByArgs(args_cases(doc, &at.key("returns-by-args"), cases)?)
    } else if let Some(command) = raw.command {
        tool_command(doc, at, dir, command, timeout.take())?
    } else if let Some(message) = raw.error {
        ToolResult::Error(non_empty(doc, &at.key("error"), message)?)
    } else {
        let message = format!("tool `{name}` has no result: give one of {RESULT_KEYS}");
        return Err(doc.invalid(at, message));
    };
    if timeout.is_some() {
        let message = "applies only to a tool with `command`: it bounds the command's run";
        return Err(doc.invalid(&at.key("timeout"), message));
    }
    Ok(ToolDef {
        name,
        description,
        parameters,
        result,
    })
}

/// A tool name as LLM APIs accept it: 1 to 64 ASCII letters, digits, `_` or `-`.
fn tool_name(doc: &Doc<'_>, at: &KeyPath, name: String) -> Result<String> {
    if name.is_empty() {
        return Err(doc.invalid(at, "must not be empty"));
    }
    let bad = name
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'));
    let message = match bad {
        Some(c) => format!(
            "`{name}` contains {c:?}; LLM APIs accept only letters, digits, `_` and `-` in a tool name"
        ),
        None if name.len() > 64 => format!(
            "`{name}` is {} characters long; LLM APIs accept at most 64 in a tool name",
            name.len()
        ),
        None => return Ok(name),
    };
    Err(doc.invalid(at, message))
}

/// A tool's `parameters`: a JSON schema of an object, as LLM APIs take arguments.
fn parameters(doc: &Doc<'_>, at: &KeyPath, schema: Json) -> Result<Json> {
    let Some(object) = schema.as_object() else {
        let message = "must be a table: the JSON schema of the arguments, e.g. \
                       { type = \"object\", properties = { city = { type = \"string\" } } }";
        return Err(doc.invalid(at, message));
    };
    if let Some(kind) = object.get("type")
        && kind != "object"
    {
        let message = format!(
            "must be \"object\", found {kind}: LLM APIs pass a tool's arguments as an object"
        );
        return Err(doc.invalid(&at.key("type"), message));
    }
    Ok(schema)
}

/// `returns-by-args`: at least one entry, each `args` a table, and no entry after one that
/// matches every call (it could never answer).
fn args_cases(doc: &Doc<'_>, at: &KeyPath, raw: Vec<RawArgsCase>) -> Result<Vec<ArgsCase>> {
    if raw.is_empty() {
        let message = "must have at least one entry, e.g. \
                       [{ args = { city = \"Paris\" }, returns = \"sunny\" }]";
        return Err(doc.invalid(at, message));
    }
    let mut catch_all = None;
    let mut cases = Vec::with_capacity(raw.len());
    for (i, case) in raw.into_iter().enumerate() {
        if let Some(first) = catch_all {
            let message = format!(
                "is never used: `{}` before it matches every call, having no `args` or empty \
                 ones; put that entry last",
                at.index(first)
            );
            return Err(doc.invalid(&at.index(i), message));
        }
        match &case.args {
            Some(args) if !args.is_object() => {
                let message = "must be a table of the arguments a call must contain \
                               (leave it out to match any call)";
                return Err(doc.invalid(&at.index(i).key("args"), message));
            }
            Some(args) if args.as_object().is_some_and(|args| !args.is_empty()) => {}
            _ => catch_all = Some(i),
        }
        cases.push(ArgsCase {
            args: case.args,
            returns: case.returns,
        });
    }
    Ok(cases)
}

/// A tool's `command` and `timeout`; `at` is the tool.
fn tool_command(
    doc: &Doc<'_>,
    at: &KeyPath,
    dir: &Path,
    command: Vec<String>,
    timeout: Option<String>,
) -> Result<ToolResult> {
    let mut command = command.into_iter();
    let Some(program) = command.next().filter(|program| !program.is_empty()) else {
        let message = "must start with the program to run, e.g. [\"python3\", \"tools/lookup.py\"]";
        return Err(doc.invalid(&at.key("command"), message));
    };
    let timeout = timeout
        .map(|text| duration(doc, &at.key("timeout"), &text))
        .transpose()?
        .unwrap_or(DEFAULT_TOOL_TIMEOUT);
    Ok(ToolResult::Command {
        program: program_path(dir, program),
        args: command.collect(),
        cwd: absolute(dir),
        timeout,
        line: doc.locate(&at.key("command")).0,
    })
}

/// `` `a`, `b` and `c` ``.
fn and_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
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
        (
            "organization",
            raw.organization.is_some() && raw.provider != RawProvider::OpenAi,
        ),
        (
            "headers",
            raw.headers.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "timeout",
            raw.timeout.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "max-tokens",
            raw.max_tokens.is_some() && raw.provider != RawProvider::Anthropic,
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
    let timeout = raw
        .timeout
        .as_deref()
        .map(|text| duration(doc, &at.key("timeout"), text))
        .transpose()?;
    if raw.max_tokens == Some(0) {
        return Err(doc.invalid(&at.key("max-tokens"), "must be at least 1"));
    }
    let headers = raw.headers.unwrap_or_default();
    if let Some(name) = headers
        .keys()
        .find(|name| name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
    {
        let message = format!("`{name}` is not a valid HTTP header name");
        return Err(doc.invalid(&at.key("headers"), message));
    }
    for (key, value) in [
        ("model", &raw.model),
        ("api-key-env", &raw.api_key_env),
        ("organization", &raw.organization),
    ] {
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
            // Checked here, not when the run starts: the error can point at the key, and
            // `traceval list` catches it too.
            let path = dir.join(&script);
            if !path.is_file() {
                let message = format!(
                    "the script `{}` does not exist (`{script}` is relative to the directory of \
                     this file)",
                    path.display()
                );
                return Err(doc.invalid(&at.key("script"), message));
            }
            Provider::Scripted { script: path }
        }
        RawProvider::OpenAi => Provider::OpenAi {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
            organization: raw.organization,
            headers,
            timeout,
        },
        RawProvider::Anthropic => Provider::Anthropic {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
            headers,
            timeout,
            max_tokens: raw.max_tokens,
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

pub(super) mod conventions;
mod judge;
mod replay;
mod snapshot;
#[cfg(test)]
mod tests;
