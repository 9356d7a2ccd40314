//! `[agent]` and a builtin agent's `[[tool]]` tables: the agent kinds, their programs (paths
//! resolved against the suite directory) and the tools' results, commands and parameters.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value as Json, json};

use super::super::doc::Doc;
use super::super::raw::{RawAgent, RawAgentKind, RawArgsCase, RawToolDef};
use super::super::spec::{
    Agent, ArgsCase, BuiltinAgent, CommandAgent, ReplayAgent, ToolDef, ToolResult,
};
use super::Result;
use super::{and_list, at_least_one, duration, non_empty};
use crate::toml_doc::KeyPath;

/// `agent.max-turns` when it is left out.
const DEFAULT_MAX_TURNS: u32 = 10;

/// A `[[tool]]` command's `timeout` when it is left out.
const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(30);

/// The keys of a `[[tool]]` that say what a call returns; a tool has exactly one.
const RESULT_KEYS: &str = "`returns`, `returns-by-args`, `command` or `error`";

/// `[agent]`, and the suite's `[[tool]]` tables, which only a builtin agent has.
pub(super) fn agent(
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
