//! The script as written: serde structs that mirror the TOML keys one to one. They check key
//! names and types only; [`super::script`] validates the values. Numbers that must be positive
//! are read as `i64` so that a negative one gets the same message as a zero.

use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// A script file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a script table"
)]
pub(super) struct RawScript {
    pub(super) model: Option<String>,
    pub(super) latency: Option<String>,
    pub(super) seed_by: Option<RawSeedBy>,
    pub(super) fallback: Option<RawRule>,
    #[serde(default)]
    pub(super) rule: Vec<RawRule>,
}

/// `seed-by`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "`trial` or `input`")]
pub(super) enum RawSeedBy {
    Trial,
    Input,
}

/// `[[rule]]`, and `[fallback]` (which must not have `when`).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a rule table"
)]
pub(super) struct RawRule {
    pub(super) when: Option<RawWhen>,
    pub(super) variant: Option<Vec<RawVariant>>,
    pub(super) text: Option<String>,
    pub(super) tool_calls: Option<Vec<RawToolCall>>,
    pub(super) finish_reason: Option<RawFinishReason>,
    pub(super) usage: Option<RawUsage>,
    pub(super) latency: Option<String>,
    pub(super) fail: Option<RawFail>,
    pub(super) malformed_args: Option<bool>,
}

/// `rule.when`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a table of conditions"
)]
pub(super) struct RawWhen {
    pub(super) user: Option<String>,
    pub(super) turn: Option<i64>,
    pub(super) tool_result: Option<String>,
    pub(super) tool_called: Option<String>,
}

/// `[[rule.variant]]`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a variant table"
)]
pub(super) struct RawVariant {
    pub(super) weight: Option<i64>,
    pub(super) text: Option<String>,
    pub(super) tool_calls: Option<Vec<RawToolCall>>,
    pub(super) finish_reason: Option<RawFinishReason>,
    pub(super) usage: Option<RawUsage>,
    pub(super) latency: Option<String>,
    pub(super) fail: Option<RawFail>,
    pub(super) malformed_args: Option<bool>,
}

/// The keys a rule and a variant share: what to answer and how. Serde's `flatten` would
/// share them in one struct, but it cannot deny unknown keys, so the two structs repeat them.
#[derive(Debug, Default)]
pub(super) struct RawAnswer {
    pub(super) text: Option<String>,
    pub(super) tool_calls: Option<Vec<RawToolCall>>,
    pub(super) finish_reason: Option<RawFinishReason>,
    pub(super) usage: Option<RawUsage>,
    pub(super) latency: Option<String>,
    pub(super) fail: Option<RawFail>,
    pub(super) malformed_args: Option<bool>,
}

impl RawRule {
    /// The conditions, the variants and the rule's own answer keys.
    pub(super) fn split(self) -> (Option<RawWhen>, Option<Vec<RawVariant>>, RawAnswer) {
        let answer = RawAnswer {
            text: self.text,
            tool_calls: self.tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
            latency: self.latency,
            fail: self.fail,
            malformed_args: self.malformed_args,
        };
        (self.when, self.variant, answer)
    }
}

impl RawVariant {
    /// The weight and the answer keys.
    pub(super) fn split(self) -> (Option<i64>, RawAnswer) {
        let answer = RawAnswer {
            text: self.text,
            tool_calls: self.tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
            latency: self.latency,
            fail: self.fail,
            malformed_args: self.malformed_args,
        };
        (self.weight, answer)
    }
}

/// An entry of `tool-calls`.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a tool call table with `name` and optional `args`"
)]
pub(super) struct RawToolCall {
    pub(super) name: String,
    pub(super) args: Option<Map<String, Json>>,
}

/// `finish-reason`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "a finish reason")]
pub(super) enum RawFinishReason {
    Stop,
    ToolCalls,
    Length,
    ContentFilter,
}

/// `usage`: token counts; an absent one is computed from the text.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a usage table"
)]
pub(super) struct RawUsage {
    pub(super) input: Option<u64>,
    pub(super) output: Option<u64>,
    pub(super) cache_read: Option<u64>,
}

/// `fail`: an injected HTTP error.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a fail table"
)]
pub(super) struct RawFail {
    pub(super) status: i64,
    pub(super) times: Option<i64>,
    pub(super) retry_after: Option<String>,
    pub(super) message: Option<String>,
}

/// The key toml gives a datetime read into a type that does not know datetimes.
const TOML_DATETIME: &str = "$__toml_private_datetime";

/// Replaces toml's datetime wrappers in tool-call arguments (`{"$__toml_private_datetime":
/// "2024-05-01"}`) with the datetime's text, which is what a model would write in JSON.
pub(super) fn datetimes_to_strings(value: &mut Json) {
    match value {
        Json::Object(map) => {
            if map.len() == 1
                && let Some(Json::String(text)) = map.get_mut(TOML_DATETIME)
            {
                *value = Json::String(std::mem::take(text));
                return;
            }
            map.values_mut().for_each(datetimes_to_strings);
        }
        Json::Array(items) => items.iter_mut().for_each(datetimes_to_strings),
        _ => {}
    }
}
