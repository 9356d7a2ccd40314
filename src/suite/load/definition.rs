//! Each case's `definition_hash`: FNV-1a 64 (as `content_hash`, 16 hex digits) of the case's
//! canonical definition, so that `traceval compare` can tell which cases changed between two
//! runs rather than refusing a whole suite when one case was edited.
//!
//! The definition is the case as written (a `[[case]]` table or a `cases` line: input,
//! expectations, judges, per-case timeout and snapshot keys, replay trace path), without its
//! `tags` (they only select cases), together with the suite-level keys that change how a
//! case is graded or what world the agent acts in: `timeout`, `[conventions]` (how spans are
//! read), the snapshot keys, and each `[[tool]]` but its `description` and `parameters`.
//!
//! What is under test is left out: `[agent]` (command, system prompt, temperature, turns),
//! `models` and `[model.*]`, and the tools' descriptions and schemas (what the model is told).
//! Changing those is what a comparison is for; if they counted, a prompt edit in a builtin
//! agent would make every case incomparable, while the same edit in a command agent's code
//! would not. `trials` (the sample size), `pricing` (the report's `pricing` records it) and
//! the suite's name, description, tags and `ignore` are left out too; `suites[].content_hash`
//! still changes with any byte of the file.
//!
//! Canonical: the TOML (or JSON) is read into JSON values and written with keys sorted and no
//! whitespace, so layout, comments, key order and the spelling of a string (`"a"` or `'a'`) do
//! not count; a value does (`1` and `1.0` differ, as TOML says they do). A case moved from the
//! suite file into its `cases` file keeps its hash, unless it holds a TOML date.

use serde_json::Value as Json;

use crate::hash::{fnv1a64, fnv1a64_extend};

/// Suite-level keys that are part of every case's definition.
const SUITE_KEYS: &[&str] = &[
    "timeout",
    "conventions",
    "snapshot-attrs",
    "snapshot-ignore",
    "collapse-repeats",
    "tool",
];

/// Keys of a `[[tool]]` that are the agent's prompt, not the world it acts in.
const TOOL_PROMPT_KEYS: &[&str] = &["description", "parameters"];

/// Case keys that do not change how it runs or is graded.
const CASE_IGNORED_KEYS: &[&str] = &["tags"];

/// The part of every case's hash that the suite file gives, from the whole suite document
/// read as JSON.
#[derive(Debug, Clone, Copy)]
pub(super) struct SuiteDefinition(u64);

impl SuiteDefinition {
    /// The suite-level part of `suite`, the whole suite document.
    pub(super) fn of(suite: &Json) -> SuiteDefinition {
        let mut out = Vec::new();
        out.extend_from_slice(b"traceval case definition 1\n");
        for key in SUITE_KEYS {
            let value = suite.get(*key);
            let value = match (*key, value) {
                ("tool", Some(Json::Array(tools))) => Some(Json::Array(
                    tools
                        .iter()
                        .map(|tool| without(tool, TOOL_PROMPT_KEYS))
                        .collect(),
                )),
                (_, value) => value.cloned(),
            };
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            match value {
                Some(value) => canonical(&value, &mut out),
                None => out.extend_from_slice(b"-"),
            }
            out.push(b'\n');
        }
        SuiteDefinition(fnv1a64(&out))
    }

    /// The definition hash of `case`, one case as written.
    pub(super) fn case_hash(self, case: &Json) -> String {
        let mut out = Vec::new();
        canonical(&without(case, CASE_IGNORED_KEYS), &mut out);
        format!("{:016x}", fnv1a64_extend(self.0, &out))
    }
}

/// `value` without the object keys `keys`.
fn without(value: &Json, keys: &[&str]) -> Json {
    match value {
        Json::Object(map) => Json::Object(
            map.iter()
                .filter(|(k, _)| !keys.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Writes `value` as JSON with object keys sorted, whatever order the map keeps.
fn canonical(value: &Json, out: &mut Vec<u8>) {
    match value {
        Json::Object(map) => {
            let mut entries: Vec<(&String, &Json)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_scalar(&Json::String(key.clone()), out);
                out.push(b':');
                canonical(value, out);
            }
            out.push(b'}');
        }
        Json::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(item, out);
            }
            out.push(b']');
        }
        scalar => write_scalar(scalar, out),
    }
}

fn write_scalar(value: &Json, out: &mut Vec<u8>) {
    serde_json::to_writer(out, value).expect("a JSON value serializes");
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let mut a = Vec::new();
        canonical(&json!({"b": [{"y": 1, "x": 2}], "a": "é"}), &mut a);
        assert_eq!(
            String::from_utf8(a).unwrap(),
            r#"{"a":"é","b":[{"x":2,"y":1}]}"#
        );
    }

    #[test]
    fn tags_tool_prompts_and_unlisted_suite_keys_do_not_count() {
        let suite = json!({"agent": {"kind": "builtin"}, "tool": [{"name": "t", "returns": 1}]});
        let base = SuiteDefinition::of(&suite).case_hash(&json!({"id": "a", "input": "x"}));
        let other_suite = json!({
            "agent": {"kind": "builtin", "system-prompt": "be brief"},
            "models": ["m"],
            "trials": 9,
            "tool": [{"name": "t", "returns": 1, "description": "d", "parameters": {}}],
        });
        let tagged = json!({"id": "a", "input": "x", "tags": ["slow"]});
        assert_eq!(SuiteDefinition::of(&other_suite).case_hash(&tagged), base);

        let returns = json!({"tool": [{"name": "t", "returns": 2}]});
        assert_ne!(
            SuiteDefinition::of(&returns).case_hash(&json!({"id": "a", "input": "x"})),
            base
        );
        let timeout = json!({"tool": [{"name": "t", "returns": 1}], "timeout": "5s"});
        assert_ne!(
            SuiteDefinition::of(&timeout).case_hash(&json!({"id": "a", "input": "x"})),
            base
        );
        assert_eq!(base.len(), 16);
    }
}
