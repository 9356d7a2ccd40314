//! Cases and their `[case.expect]`: the list of a suite's cases (ids unique, inline and from
//! a `cases` data file), one case, and its expectations.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use regex::Regex;
use serde_json::Value as Json;

use super::super::doc::{ARRAY_TABLES, Doc};
use super::super::raw::{RawCase, RawExpect};
use super::super::spec::{Case, Expect, Origin, RecordedTrace};
use super::Result;
use super::definition::SuiteDefinition;
use super::expect::{expected_tool, span_assertion, trajectory};
use super::snapshot::{RawSnapshotKeys, SnapshotKeys};
use super::{duration, judge, non_empty, replay};
use crate::toml_doc::KeyPath;
use crate::toml_doc::LocatedKind;

/// The cases read so far, and where each id was first defined.
#[derive(Default)]
pub(super) struct CaseList {
    pub(super) cases: Vec<Case>,
    first: HashMap<String, Origin>,
    /// In a replay suite: the directory traces resolve against, and each case's trace.
    pub(super) replay: Option<(PathBuf, BTreeMap<String, RecordedTrace>)>,
}

impl CaseList {
    /// No cases yet; `replay_dir`, in a replay suite, is the directory traces resolve against.
    pub(super) fn new(replay_dir: Option<PathBuf>) -> CaseList {
        CaseList {
            replay: replay_dir.map(|dir| (dir, BTreeMap::new())),
            ..CaseList::default()
        }
    }

    /// Validates a case as read (`at`), with its recorded trace in a replay suite, and adds it.
    pub(super) fn push_raw(
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

    /// Sets the definition hash of the case pushed last.
    pub(super) fn define_last(&mut self, hash: String) {
        if let Some(case) = self.cases.last_mut() {
            case.definition_hash = hash;
        }
    }

    fn push(&mut self, doc: &Doc<'_>, at: &KeyPath, case: Case) -> Result<()> {
        if let Some(first) = self.first.get(&case.id) {
            let kind = LocatedKind::DuplicateCase {
                id: case.id,
                first_path: first.path.clone(),
                first_line: first.line,
            };
            return Err(doc.error(&at.key("id"), kind));
        }
        self.first.insert(case.id.clone(), case.origin.clone());
        self.cases.push(case);
        Ok(())
    }
}

/// A `cases` data file: one JSON case object per line; blank lines are skipped.
pub(super) fn load_cases_file(
    path: &Path,
    data: &[u8],
    cases: &mut CaseList,
    scope: Scope<'_>,
) -> Result<()> {
    let text = Doc::utf8(path, data)?;
    for (i, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let doc = Doc::json_line(path, line, i + 1, ARRAY_TABLES);
        let raw: RawCase = doc.deserialize_json()?;
        let origin = Origin {
            path: path.to_path_buf(),
            line: i + 1,
        };
        cases.push_raw(&doc, &KeyPath::root(), raw, origin, scope)?;
        // The line was read as a case just above, so it is JSON.
        let written = serde_json::from_str(line).unwrap_or(Json::Null);
        cases.define_last(scope.definition.case_hash(&written));
    }
    Ok(())
}

/// What a case's names may refer to.
#[derive(Clone, Copy)]
pub(super) struct Scope<'a> {
    /// The tools of a builtin agent, which its expected calls must name.
    pub(super) tool_names: Option<&'a [&'a str]>,
    /// The models of the suite and of traceval.toml, which its judges must name (`None`:
    /// not checked).
    pub(super) models: Option<&'a [&'a str]>,
    /// The suite's snapshot keys, defaults for its cases'.
    pub(super) snapshot: &'a SnapshotKeys,
    /// The suite's part of each case's definition hash.
    pub(super) definition: SuiteDefinition,
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
        // Set by the caller, which has the case as written.
        definition_hash: String::new(),
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
