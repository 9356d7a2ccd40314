//! A case as written: `[[case]]` (or a line of a cases file), its `[case.expect]` and the
//! tables and values inside it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

/// `[[case]]`, or one line of a cases file.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a case table"
)]
pub(in crate::suite) struct RawCase {
    pub(in crate::suite) id: String,
    /// Required, except in a replay suite, which can take the recorded input. `null` is an
    /// input like any other.
    #[serde(default, deserialize_with = "present")]
    pub(in crate::suite) input: Option<Json>,
    #[serde(default)]
    pub(in crate::suite) tags: Vec<String>,
    pub(in crate::suite) timeout: Option<String>,
    #[serde(default)]
    pub(in crate::suite) expect: RawExpect,
    /// A replay agent's recorded trace, relative to the suite file.
    pub(in crate::suite) trace: Option<String>,
    /// A replay agent's recorded answer.
    pub(in crate::suite) output: Option<String>,
}

/// Any value that is given, `null` included: `Some`.
fn present<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<Json>, D::Error> {
    Json::deserialize(value).map(Some)
}

impl RawCase {
    /// Undoes toml's datetime wrappers in the free-form values of a case read from TOML.
    pub(in crate::suite) fn datetimes_to_strings(&mut self) {
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
pub(in crate::suite) struct RawExpect {
    pub(in crate::suite) output_equals: Option<String>,
    pub(in crate::suite) output_contains: Option<OneOrMany>,
    pub(in crate::suite) output_regex: Option<String>,
    pub(in crate::suite) output_json: Option<Json>,
    pub(in crate::suite) max_latency: Option<String>,
    pub(in crate::suite) max_llm_calls: Option<u64>,
    pub(in crate::suite) max_tool_calls: Option<u64>,
    pub(in crate::suite) no_error_spans: Option<bool>,
    pub(in crate::suite) tools: Option<Vec<RawTool>>,
    pub(in crate::suite) min_tool_f1: Option<f64>,
    pub(in crate::suite) exit_code: Option<i32>,
    pub(in crate::suite) trajectory: Option<RawTrajectory>,
    pub(in crate::suite) max_cost: Option<f64>,
    pub(in crate::suite) snapshot: Option<bool>,
    pub(in crate::suite) snapshot_attrs: Option<Vec<String>>,
    pub(in crate::suite) snapshot_ignore: Option<Vec<String>>,
    pub(in crate::suite) collapse_repeats: Option<bool>,
    pub(in crate::suite) span: Option<Vec<RawSpan>>,
    pub(in crate::suite) judge: Option<Vec<RawJudge>>,
}

/// `[[case.expect.judge]]`: an LLM judge; [`super::super::load`] checks the values and the model.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a judge table with `model` and `rubric`"
)]
pub(in crate::suite) struct RawJudge {
    pub(in crate::suite) name: Option<String>,
    pub(in crate::suite) model: String,
    pub(in crate::suite) rubric: String,
    pub(in crate::suite) threshold: Option<f64>,
    pub(in crate::suite) samples: Option<u32>,
    pub(in crate::suite) temperature: Option<f64>,
}

/// `expect.tools` entry.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a tool table with `name` and optional `args`"
)]
pub(in crate::suite) struct RawTool {
    pub(in crate::suite) name: String,
    pub(in crate::suite) args: Option<Json>,
}

/// `expect.trajectory`: a mode alone (`trajectory = "in-order"`) or a table with `mode`,
/// `args` and `tool-args`; [`super::super::load`] checks the spellings and the tool names.
#[derive(Debug)]
pub(in crate::suite) enum RawTrajectory {
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
/// [`super::super::load`] can say what it is for.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a trajectory table with `mode`"
)]
pub(in crate::suite) struct RawTrajectoryTable {
    pub(in crate::suite) mode: Option<String>,
    pub(in crate::suite) args: Option<String>,
    pub(in crate::suite) tool_args: Option<BTreeMap<String, String>>,
}

/// `[[case.expect.span]]`: a span assertion; [`super::super::load`] parses the selectors and checks
/// the values.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    rename_all = "kebab-case",
    expecting = "a span assertion table with `select`"
)]
pub(in crate::suite) struct RawSpan {
    pub(in crate::suite) select: String,
    pub(in crate::suite) count: Option<RawCount>,
    pub(in crate::suite) max_duration: Option<String>,
    pub(in crate::suite) status: Option<String>,
    pub(in crate::suite) attrs: Option<BTreeMap<String, Json>>,
    pub(in crate::suite) before: Option<String>,
    pub(in crate::suite) after: Option<String>,
}

/// A span assertion's `count` as written: an integer or a string such as `">= 1"`, kept as
/// text (a float keeps its point, a negative integer its sign) so that one parser,
/// [`Count`](super::spec::Count)'s, judges every form.
#[derive(Debug, PartialEq)]
pub(in crate::suite) struct RawCount(pub(in crate::suite) String);

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
pub(in crate::suite) struct OneOrMany(pub(in crate::suite) Vec<String>);

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
pub(super) fn replace_datetimes(value: &mut Json) {
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
