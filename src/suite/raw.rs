//! The files as written: serde structs that mirror the TOML keys one to one. They only check
//! types and key names; [`super::load`] validates values and resolves paths into the model.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};
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

mod case;

use case::{OneOrMany, replace_datetimes};
pub(super) use case::{RawCase, RawExpect, RawJudge, RawSpan, RawTool, RawTrajectory};
