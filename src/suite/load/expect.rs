//! The parts of a case's `[case.expect]` with a shape of their own: trajectories (modes and
//! argument modes), span assertions (selectors, statuses, attributes) and expected tool calls.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::super::doc::Doc;
use super::super::raw::{RawSpan, RawTool, RawTrajectory};
use super::super::spec::{ArgMode, Count, ExpectedTool, SpanAssertion, Trajectory, TrajectoryMode};
use super::Result;
use super::{and_list, duration, non_empty};
use crate::toml_doc::{KeyPath, did_you_mean};
use crate::trace::query::Selector;

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
pub(super) fn trajectory(
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
pub(super) fn span_assertion(doc: &Doc<'_>, at: &KeyPath, raw: RawSpan) -> Result<SpanAssertion> {
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
pub(super) fn selector(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<Selector> {
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

pub(super) fn expected_tool(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: RawTool,
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
