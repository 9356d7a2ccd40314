//! The files as written: serde structs that mirror the TOML keys one to one. They only check
//! types and key names; [`super::load`] validates values and resolves paths into the model.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::trace::{Concept, Kind};

/// A suite file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a suite table"
)]
pub(super) struct RawSuite {
    pub(super) name: Option<String>,
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) trials: Option<u32>,
    pub(super) timeout: Option<String>,
    pub(super) models: Option<Vec<String>>,
    pub(super) agent: RawAgent,
    #[serde(default)]
    pub(super) model: BTreeMap<String, RawModel>,
    #[serde(default)]
    pub(super) pricing: BTreeMap<String, RawPrice>,
    #[serde(default)]
    pub(super) case: Vec<RawCase>,
    pub(super) cases: Option<String>,
    /// `[[tool]]`: tools of the builtin agent.
    pub(super) tool: Option<Vec<RawToolDef>>,
    /// `ignore = true` or `ignore = "reason"`.
    pub(super) ignore: Option<RawIgnore>,
    /// `[conventions]`: in-house span names and attributes.
    pub(super) conventions: Option<RawConventions>,
    /// Defaults of the cases' trace-shape snapshots.
    pub(super) snapshot_attrs: Option<Vec<String>>,
    pub(super) snapshot_ignore: Option<Vec<String>>,
    pub(super) collapse_repeats: Option<bool>,
}

/// `ignore`: `true`/`false`, or the reason the suite is ignored.
#[derive(Debug)]
pub(super) enum RawIgnore {
    Flag(bool),
    Reason(String),
}

impl<'de> Deserialize<'de> for RawIgnore {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawIgnoreVisitor;

        impl Visitor<'_> for RawIgnoreVisitor {
            type Value = RawIgnore;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`true`, `false` or the reason as a string")
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawIgnore, E> {
                Ok(RawIgnore::Flag(value))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawIgnore, E> {
                Ok(RawIgnore::Reason(value.to_owned()))
            }
        }

        deserializer.deserialize_any(RawIgnoreVisitor)
    }
}

/// `traceval.toml`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a traceval.toml table"
)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) model: BTreeMap<String, RawModel>,
    #[serde(default)]
    pub(super) pricing: BTreeMap<String, RawPrice>,
    #[serde(default)]
    pub(super) profile: BTreeMap<String, RawProfile>,
    pub(super) conventions: Option<RawConventions>,
    pub(super) forward: Option<RawForward>,
}

/// `[forward]`: OTLP forwarding defaults; header values only as `env:VAR`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a forward table"
)]
pub(super) struct RawForward {
    pub(super) endpoint: Option<String>,
    pub(super) protocol: Option<String>,
    pub(super) profile: Option<String>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    pub(super) events: Option<String>,
    pub(super) timeout: Option<String>,
    pub(super) required: Option<bool>,
    pub(super) queue: Option<usize>,
    pub(super) project: Option<String>,
    pub(super) experiment_id: Option<String>,
}

/// `[conventions]`: kind rules and extra attribute keys per field; [`super::load`] checks
/// the matchers and compiles them.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a conventions table"
)]
pub(super) struct RawConventions {
    /// `[[conventions.kind]]`, in file order.
    #[serde(default)]
    pub(super) kind: Vec<RawKindRule>,
    #[serde(default)]
    pub(super) fields: RawFields,
}

/// `[[conventions.kind]]`: a kind and its matchers.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a kind rule table with `kind` and a matcher"
)]
pub(super) struct RawKindRule {
    pub(super) kind: Kind,
    pub(super) name: Option<String>,
    pub(super) name_prefix: Option<String>,
    pub(super) name_regex: Option<String>,
    pub(super) attr: Option<BTreeMap<String, RawAttrValue>>,
}

/// `[conventions.fields]`: per concept of the GenAI view, attribute keys tried before the
/// built-in ones; one key or a list. The keys of this struct are [`Concept::ALL`]'s names
/// (a test holds them together).
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a fields table"
)]
pub(super) struct RawFields {
    pub(super) provider: Option<OneOrMany>,
    pub(super) model: Option<OneOrMany>,
    pub(super) input_tokens: Option<OneOrMany>,
    pub(super) output_tokens: Option<OneOrMany>,
    pub(super) cache_read_tokens: Option<OneOrMany>,
    pub(super) cache_write_tokens: Option<OneOrMany>,
    pub(super) cost: Option<OneOrMany>,
    pub(super) finish_reasons: Option<OneOrMany>,
    pub(super) tool_name: Option<OneOrMany>,
    pub(super) tool_call_id: Option<OneOrMany>,
    pub(super) tool_arguments: Option<OneOrMany>,
    pub(super) tool_result: Option<OneOrMany>,
    pub(super) agent_name: Option<OneOrMany>,
}

impl RawFields {
    /// The concepts given, with their keys, in [`Concept::ALL`] order.
    pub(super) fn into_concepts(self) -> Vec<(Concept, Vec<String>)> {
        [
            (Concept::Provider, self.provider),
            (Concept::Model, self.model),
            (Concept::InputTokens, self.input_tokens),
            (Concept::OutputTokens, self.output_tokens),
            (Concept::CacheReadTokens, self.cache_read_tokens),
            (Concept::CacheWriteTokens, self.cache_write_tokens),
            (Concept::Cost, self.cost),
            (Concept::FinishReasons, self.finish_reasons),
            (Concept::ToolName, self.tool_name),
            (Concept::ToolCallId, self.tool_call_id),
            (Concept::ToolArguments, self.tool_arguments),
            (Concept::ToolResult, self.tool_result),
            (Concept::AgentName, self.agent_name),
        ]
        .into_iter()
        .filter_map(|(concept, keys)| Some((concept, keys?.0)))
        .collect()
    }
}

/// An attribute value a kind rule's `attr` compares with, as text: a string, an integer or a
/// boolean (`3` and `true` match those values, and the strings `"3"` and `"true"`).
#[derive(Debug, PartialEq)]
pub(super) struct RawAttrValue(pub(super) String);

impl<'de> Deserialize<'de> for RawAttrValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawAttrValueVisitor;

        impl Visitor<'_> for RawAttrValueVisitor {
            type Value = RawAttrValue;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, an integer or a boolean")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawAttrValue, E> {
                Ok(RawAttrValue(value.to_owned()))
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawAttrValue, E> {
                Ok(RawAttrValue(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawAttrValue, E> {
                Ok(RawAttrValue(value.to_string()))
            }

            fn visit_bool<E: de::Error>(self, value: bool) -> Result<RawAttrValue, E> {
                Ok(RawAttrValue(value.to_string()))
            }
        }

        deserializer.deserialize_any(RawAttrValueVisitor)
    }
}

/// `[profile.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a profile table"
)]
pub(super) struct RawProfile {
    pub(super) trials: Option<u32>,
    pub(super) jobs: Option<usize>,
    pub(super) timeout: Option<String>,
    pub(super) fail_fast: Option<bool>,
    pub(super) models: Option<Vec<String>>,
    pub(super) junit: Option<String>,
}

/// `[agent]`: the keys of every kind; which apply depends on `kind`, so that a key of another
/// kind is reported as such rather than as unknown. The replay kind has no keys of its own
/// (its traces are per case).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "an agent table"
)]
pub(super) struct RawAgent {
    pub(super) kind: RawAgentKind,
    /// Command kind.
    pub(super) command: Option<Vec<String>>,
    pub(super) env: Option<BTreeMap<String, String>>,
    pub(super) cwd: Option<String>,
    /// Builtin kind.
    pub(super) name: Option<String>,
    pub(super) system_prompt: Option<String>,
    pub(super) max_turns: Option<u32>,
    pub(super) temperature: Option<f64>,
}

impl RawAgent {
    /// The keys present that only apply to the other kind than `kind`.
    pub(super) fn foreign_keys(&self) -> impl Iterator<Item = &'static str> {
        let command = matches!(self.kind, RawAgentKind::Command);
        let builtin = matches!(self.kind, RawAgentKind::Builtin);
        [
            ("command", self.command.is_some() && !command),
            ("env", self.env.is_some() && !command),
            ("cwd", self.cwd.is_some() && !command),
            ("name", self.name.is_some() && !builtin),
            ("system-prompt", self.system_prompt.is_some() && !builtin),
            ("max-turns", self.max_turns.is_some() && !builtin),
            ("temperature", self.temperature.is_some() && !builtin),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
    }
}

/// `agent.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "an agent kind")]
pub(super) enum RawAgentKind {
    Command,
    Builtin,
    Replay,
}

/// `[[tool]]`: a tool of the builtin agent, with every result key; exactly one of `returns`,
/// `returns-by-args`, `command` and `error` is checked in [`super::load`].
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a tool table"
)]
pub(super) struct RawToolDef {
    pub(super) name: String,
    pub(super) description: Option<String>,
    pub(super) parameters: Option<Json>,
    pub(super) returns: Option<Json>,
    pub(super) returns_by_args: Option<Vec<RawArgsCase>>,
    pub(super) command: Option<Vec<String>>,
    pub(super) timeout: Option<String>,
    pub(super) error: Option<String>,
}

impl RawToolDef {
    /// The result keys present, in the order they are documented.
    pub(super) fn result_keys(&self) -> Vec<&'static str> {
        [
            ("returns", self.returns.is_some()),
            ("returns-by-args", self.returns_by_args.is_some()),
            ("command", self.command.is_some()),
            ("error", self.error.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect()
    }

    /// Undoes toml's datetime wrappers in the free-form values of a tool.
    pub(super) fn datetimes_to_strings(&mut self) {
        let by_args = self.returns_by_args.iter_mut().flatten();
        let by_args = by_args.flat_map(|case| case.args.iter_mut().chain([&mut case.returns]));
        self.parameters
            .iter_mut()
            .chain(self.returns.iter_mut())
            .chain(by_args)
            .for_each(replace_datetimes);
    }
}

/// `tool.returns-by-args` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table with `returns` and optional `args`"
)]
pub(super) struct RawArgsCase {
    pub(super) args: Option<Json>,
    pub(super) returns: Json,
}

/// `[model.NAME]`: all providers' keys; which apply depends on `provider`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a model table"
)]
pub(super) struct RawModel {
    pub(super) provider: RawProvider,
    pub(super) model: Option<String>,
    pub(super) script: Option<String>,
    pub(super) base_url: Option<String>,
    pub(super) api_key_env: Option<String>,
    pub(super) organization: Option<String>,
    pub(super) headers: Option<BTreeMap<String, String>>,
    pub(super) timeout: Option<String>,
    pub(super) max_tokens: Option<u32>,
}

/// `model.NAME.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "a provider")]
pub(super) enum RawProvider {
    Scripted,
    #[serde(rename = "openai")]
    OpenAi,
    Anthropic,
}

/// `[pricing."MODEL"]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a pricing table"
)]
pub(super) struct RawPrice {
    pub(super) input: f64,
    pub(super) output: f64,
    pub(super) input_cache_read: Option<f64>,
    pub(super) input_cache_write: Option<f64>,
}

/// `[[case]]`, or one line of a cases file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a case table"
)]
pub(super) struct RawCase {
    pub(super) id: String,
    /// Required, except in a replay suite, which can take the recorded input. `null` is an
    /// input like any other.
    #[serde(default, deserialize_with = "present")]
    pub(super) input: Option<Json>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    pub(super) timeout: Option<String>,
    #[serde(default)]
    pub(super) expect: RawExpect,
    /// A replay agent's recorded trace, relative to the suite file.
    pub(super) trace: Option<String>,
    /// A replay agent's recorded answer.
    pub(super) output: Option<String>,
}

/// Any value that is given, `null` included: `Some`.
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(value).map(Some)
}

impl RawCase {
    /// Undoes toml's datetime wrappers in the free-form values of a case read from TOML.
    pub(super) fn datetimes_to_strings(&mut self) {
        if let Some(input) = &mut self.input {
            replace_datetimes(input);
        }
        if let Some(json) = &mut self.expect.output_json {
            replace_datetimes(json);
        }
        let tools = self.expect.tools.iter_mut().flatten();
        tools
            .filter_map(|tool| tool.args.as_mut())
            .for_each(replace_datetimes);
        let spans = self.expect.span.iter_mut().flatten();
        spans
            .flat_map(|span| span.attrs.iter_mut().flat_map(BTreeMap::values_mut))
            .for_each(replace_datetimes);
    }
}

/// `[case.expect]`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "an expect table"
)]
pub(super) struct RawExpect {
    pub(super) output_equals: Option<String>,
    pub(super) output_contains: Option<OneOrMany>,
    pub(super) output_regex: Option<String>,
    pub(super) output_json: Option<Json>,
    pub(super) max_latency: Option<String>,
    pub(super) max_llm_calls: Option<u64>,
    pub(super) max_tool_calls: Option<u64>,
    pub(super) no_error_spans: Option<bool>,
    pub(super) tools: Option<Vec<RawTool>>,
    pub(super) min_tool_f1: Option<f64>,
    pub(super) exit_code: Option<i32>,
    pub(super) trajectory: Option<RawTrajectory>,
    pub(super) max_cost: Option<f64>,
    pub(super) snapshot: Option<bool>,
    pub(super) snapshot_attrs: Option<Vec<String>>,
    pub(super) snapshot_ignore: Option<Vec<String>>,
    pub(super) collapse_repeats: Option<bool>,
    pub(super) span: Option<Vec<RawSpan>>,
    pub(super) judge: Option<Vec<RawJudge>>,
}

/// `[[case.expect.judge]]`: an LLM judge; [`super::load`] checks the values and the model.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a judge table with `model` and `rubric`"
)]
pub(super) struct RawJudge {
    pub(super) name: Option<String>,
    pub(super) model: String,
    pub(super) rubric: String,
    pub(super) threshold: Option<f64>,
    pub(super) samples: Option<u32>,
    pub(super) temperature: Option<f64>,
}

/// `expect.tools` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a tool table with `name` and optional `args`"
)]
pub(super) struct RawTool {
    pub(super) name: String,
    pub(super) args: Option<Json>,
}

/// `expect.trajectory`: a mode alone (`trajectory = "in-order"`) or a table with `mode`,
/// `args` and `tool-args`; [`super::load`] checks the spellings and the tool names.
#[derive(Debug)]
pub(super) enum RawTrajectory {
    Mode(String),
    Table(RawTrajectoryTable),
}

impl<'de> Deserialize<'de> for RawTrajectory {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawTrajectoryVisitor;

        impl<'de> Visitor<'de> for RawTrajectoryVisitor {
            type Value = RawTrajectory;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a trajectory mode such as \"in-order\" or a table with `mode`")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawTrajectory, E> {
                Ok(RawTrajectory::Mode(value.to_owned()))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawTrajectory, A::Error> {
                // The derived table keeps serde's unknown-key and type messages, and with them
                // the hints.
                let table = RawTrajectoryTable::deserialize(MapAccessDeserializer::new(map))?;
                Ok(RawTrajectory::Table(table))
            }
        }

        deserializer.deserialize_any(RawTrajectoryVisitor)
    }
}

/// The table form of `expect.trajectory`. `mode` is required; it is optional here so that
/// [`super::load`] can say what it is for.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a trajectory table with `mode`"
)]
pub(super) struct RawTrajectoryTable {
    pub(super) mode: Option<String>,
    pub(super) args: Option<String>,
    pub(super) tool_args: Option<BTreeMap<String, String>>,
}

/// `[[case.expect.span]]`: a span assertion; [`super::load`] parses the selectors and checks
/// the values.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a span assertion table with `select`"
)]
pub(super) struct RawSpan {
    pub(super) select: String,
    pub(super) count: Option<RawCount>,
    pub(super) max_duration: Option<String>,
    pub(super) status: Option<String>,
    pub(super) attrs: Option<BTreeMap<String, Json>>,
    pub(super) before: Option<String>,
    pub(super) after: Option<String>,
}

/// A span assertion's `count` as written: an integer or a string such as `">= 1"`, kept as
/// text (a float keeps its point, a negative integer its sign) so that one parser,
/// [`Count`](super::spec::Count)'s, judges every form.
#[derive(Debug, PartialEq)]
pub(super) struct RawCount(pub(super) String);

impl<'de> Deserialize<'de> for RawCount {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawCountVisitor;

        impl Visitor<'_> for RawCountVisitor {
            type Value = RawCount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a count: an integer or a comparison such as \">= 1\"")
            }

            fn visit_i64<E: de::Error>(self, value: i64) -> Result<RawCount, E> {
                Ok(RawCount(value.to_string()))
            }

            fn visit_u64<E: de::Error>(self, value: u64) -> Result<RawCount, E> {
                Ok(RawCount(value.to_string()))
            }

            fn visit_f64<E: de::Error>(self, value: f64) -> Result<RawCount, E> {
                // `{:?}` keeps the point of `1.0`, which is not a count.
                Ok(RawCount(format!("{value:?}")))
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<RawCount, E> {
                Ok(RawCount(value.to_owned()))
            }
        }

        deserializer.deserialize_any(RawCountVisitor)
    }
}

/// A string or an array of strings (`output-contains`).
#[derive(Debug, PartialEq)]
pub(super) struct OneOrMany(pub(super) Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct OneOrManyVisitor;

        impl<'de> Visitor<'de> for OneOrManyVisitor {
            type Value = OneOrMany;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany(vec![value.to_owned()]))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany(items))
            }
        }

        deserializer.deserialize_any(OneOrManyVisitor)
    }
}

/// The key toml gives a datetime when it is read into a type that does not know datetimes.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// Replaces toml's datetime wrappers (`{"$__toml_private_datetime": "1979-05-27"}`) in free-form
/// values with the datetime's text, as it would be written in JSON.
fn replace_datetimes(value: &mut Json) {
    match value {
        Json::Object(map) => {
            if map.len() == 1
                && let Some(Json::String(text)) = map.get_mut(TOML_DATETIME)
            {
                *value = Json::String(std::mem::take(text));
                return;
            }
            map.values_mut().for_each(replace_datetimes);
        }
        Json::Array(items) => items.iter_mut().for_each(replace_datetimes),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn toml_datetimes_become_strings() {
        let cases = [
            (json!({ TOML_DATETIME: "1979-05-27" }), json!("1979-05-27")),
            (
                json!({ "at": [{ TOML_DATETIME: "07:32:00" }], "n": 1 }),
                json!({ "at": ["07:32:00"], "n": 1 }),
            ),
            // Not a wrapper: another key beside it, or not a string.
            (
                json!({ TOML_DATETIME: "x", "y": 1 }),
                json!({ TOML_DATETIME: "x", "y": 1 }),
            ),
            (json!({ TOML_DATETIME: 1 }), json!({ TOML_DATETIME: 1 })),
        ];
        for (mut value, expected) in cases {
            replace_datetimes(&mut value);
            assert_eq!(value, expected);
        }
    }
}
