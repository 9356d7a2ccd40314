//! [`Script`]: a script file read, validated and compiled — regexes built, templates resolved,
//! durations parsed — so that answering a call cannot fail.

use std::path::Path;
use std::time::Duration;

use regex::Regex;

use super::error::ScriptError;
use super::raw::{
    RawAnswer, RawFail, RawFinishReason, RawRule, RawScript, RawSeedBy, RawToolCall, RawVariant,
    RawWhen, datetimes_to_strings,
};
use super::template::{BUILTINS, JsonTemplate, Scope, Template, TemplateError};
use crate::llm::chat::FinishReason;
use crate::toml_doc::{self, KeyPath};

type Result<T> = std::result::Result<T, ScriptError>;

/// A script being loaded.
type Doc<'a> = toml_doc::Doc<'a, ScriptError>;

/// A script's arrays of tables that get a hint when written with one bracket pair: none, so
/// that a script's `[rule]` for `[[rule]]` keeps the error it always had.
const ARRAY_TABLES: &[&str] = &[];

/// A scripted model: rules matched against the conversation, each answering with text or tool
/// calls. Built by [`Script::load`] or [`Script::parse`]; answers with [`Script::reply`].
/// The module documentation describes the file format.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub(super) model: String,
    pub(super) latency: Duration,
    pub(super) seed_by: SeedBy,
    pub(super) rules: Vec<Rule>,
    /// `None`: the built-in fallback, which says that no rule matched.
    pub(super) fallback: Option<Body>,
}

/// What a variant choice is keyed on besides the seed, the rule and the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SeedBy {
    /// The trial's identity: trials of a case may differ.
    Trial,
    /// The conversation's first user message: every trial of a case answers alike.
    Input,
}

#[derive(Debug, Clone)]
pub(super) struct Rule {
    pub(super) when: When,
    pub(super) body: Body,
}

/// A rule's conditions; all given ones must hold.
#[derive(Debug, Clone, Default)]
pub(super) struct When {
    pub(super) user: Option<Regex>,
    pub(super) turn: Option<usize>,
    pub(super) tool_result: Option<Regex>,
    pub(super) tool_called: Option<String>,
}

/// A rule's answer, or its weighted variants.
#[derive(Debug, Clone)]
pub(super) enum Body {
    One(Answer),
    Variants {
        /// Each variant with its weight, at least 1.
        variants: Vec<(u64, Answer)>,
        /// The sum of the weights.
        total: u64,
    },
}

/// One answer and how it is given.
#[derive(Debug, Clone)]
pub(super) struct Answer {
    pub(super) content: Content,
    /// `None`: `stop` for text, `tool_calls` for tool calls.
    pub(super) finish_reason: Option<FinishReason>,
    pub(super) usage: Usage,
    /// `None`: the script's `latency`.
    pub(super) latency: Option<Duration>,
    pub(super) fail: Option<Fail>,
    pub(super) malformed_args: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Content {
    Text(Template),
    ToolCalls(Vec<ToolCallTemplate>),
}

#[derive(Debug, Clone)]
pub(super) struct ToolCallTemplate {
    pub(super) name: String,
    pub(super) args: JsonTemplate,
}

/// Token counts given in the script; the absent ones are computed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Usage {
    pub(super) input: Option<u64>,
    pub(super) output: Option<u64>,
    pub(super) cache_read: u64,
}

/// An injected HTTP error on the first `times` attempts of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fail {
    pub(super) status: u16,
    pub(super) times: u32,
    pub(super) retry_after: Option<Duration>,
    pub(super) message: Option<String>,
}

impl Script {
    /// Reads and validates the script at `path`.
    pub(crate) fn load(path: &Path) -> Result<Script> {
        let bytes = std::fs::read(path).map_err(|source| ScriptError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = Doc::utf8(path, &bytes)?;
        Script::parse(text, path)
    }

    /// Validates the script `text`; `path` names it in errors and gives the default model
    /// name (its file stem).
    pub(crate) fn parse(text: &str, path: &Path) -> Result<Script> {
        let (doc, table) = Doc::toml(path, text, ARRAY_TABLES)?;
        let raw: RawScript = doc.deserialize(table)?;
        let root = KeyPath::root();

        let model = match raw.model {
            Some(model) if model.trim().is_empty() => {
                return Err(doc.invalid(&root.key("model"), "must not be empty"));
            }
            Some(model) => model,
            None => path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .filter(|stem| !stem.is_empty())
                .unwrap_or_else(|| "scripted".to_owned()),
        };
        let latency = raw
            .latency
            .map(|text| duration(&doc, &root.key("latency"), &text))
            .transpose()?
            .unwrap_or(Duration::ZERO);
        let seed_by = match raw.seed_by {
            None | Some(RawSeedBy::Trial) => SeedBy::Trial,
            Some(RawSeedBy::Input) => SeedBy::Input,
        };
        let rules = raw
            .rule
            .into_iter()
            .enumerate()
            .map(|(i, rule)| self::rule(&doc, &root.key("rule").index(i), rule))
            .collect::<Result<Vec<_>>>()?;
        let fallback = raw
            .fallback
            .map(|raw| {
                let at = root.key("fallback");
                let (when, variants, answer) = raw.split();
                if when.is_some() {
                    let message = "the fallback answers when no rule matches, so it has no `when`";
                    return Err(doc.invalid(&at.key("when"), message));
                }
                body(
                    &doc,
                    &at,
                    variants,
                    answer,
                    &Scope::default(),
                    ("the fallback", "[[fallback.variant]]"),
                )
            })
            .transpose()?;
        Ok(Script {
            model,
            latency,
            seed_by,
            rules,
            fallback,
        })
    }

    /// The model name responses report.
    pub(crate) fn model_name(&self) -> &str {
        &self.model
    }
}

fn rule(doc: &Doc<'_>, at: &KeyPath, raw: RawRule) -> Result<Rule> {
    let (when, variants, answer) = raw.split();
    let when = self::when(doc, &at.key("when"), when.unwrap_or_default())?;
    let scope = Scope {
        user: when.user.as_ref(),
        tool_result: when.tool_result.as_ref(),
    };
    let body = body(
        doc,
        at,
        variants,
        answer,
        &scope,
        ("a rule", "[[rule.variant]]"),
    )?;
    Ok(Rule { when, body })
}

fn when(doc: &Doc<'_>, at: &KeyPath, raw: RawWhen) -> Result<When> {
    let turn = raw
        .turn
        .map(|turn| {
            usize::try_from(turn).map_err(|_| {
                doc.invalid(&at.key("turn"), format!("must be 0 or more, found {turn}"))
            })
        })
        .transpose()?;
    let tool_called = raw
        .tool_called
        .map(|name| non_empty(doc, &at.key("tool-called"), name))
        .transpose()?;
    Ok(When {
        user: raw
            .user
            .map(|pattern| regex(doc, &at.key("user"), &pattern))
            .transpose()?,
        turn,
        tool_result: raw
            .tool_result
            .map(|pattern| regex(doc, &at.key("tool-result"), &pattern))
            .transpose()?,
        tool_called,
    })
}

fn regex(doc: &Doc<'_>, at: &KeyPath, pattern: &str) -> Result<Regex> {
    let regex = Regex::new(pattern).map_err(|e| doc.regex(at, e))?;
    // A group named like a built-in would make `${user}` mean two things.
    let taken = regex
        .capture_names()
        .flatten()
        .find(|name| BUILTINS.contains(name));
    if let Some(name) = taken {
        let message =
            format!("the group name `{name}` is taken by `${{{name}}}`; rename the group");
        return Err(doc.invalid(at, message));
    }
    Ok(regex)
}

/// What an answer says, before its templates are read.
enum RawContent {
    Text(String),
    ToolCalls(Vec<RawToolCall>),
}

/// How an answer is given: the keys a variant inherits from its rule when it lacks them.
#[derive(Debug, Clone, Default)]
struct Manner {
    finish_reason: Option<FinishReason>,
    usage: Option<Usage>,
    latency: Option<Duration>,
    fail: Option<Fail>,
    malformed_args: Option<bool>,
}

impl Manner {
    fn or(self, rule: &Manner) -> Manner {
        Manner {
            finish_reason: self.finish_reason.or(rule.finish_reason),
            usage: self.usage.or(rule.usage),
            latency: self.latency.or(rule.latency),
            fail: self.fail.or_else(|| rule.fail.clone()),
            malformed_args: self.malformed_args.or(rule.malformed_args),
        }
    }
}

/// A rule's (or the fallback's) answer: exactly one of `text`, `tool-calls` and variants.
/// `what` names it in messages ("a rule") and `table` is its variant table ("[[rule.variant]]").
fn body(
    doc: &Doc<'_>,
    at: &KeyPath,
    variants: Option<Vec<RawVariant>>,
    mut own: RawAnswer,
    scope: &Scope<'_>,
    (what, table): (&str, &str),
) -> Result<Body> {
    let one_of = format!("`text`, `tool-calls` or `{table}`");
    let manner = manner(doc, at, &own)?;
    let content = match (own.text.take(), own.tool_calls.take(), variants) {
        (Some(text), None, None) => RawContent::Text(text),
        (None, Some(calls), None) => RawContent::ToolCalls(calls),
        (None, None, Some(variants)) => return self::variants(doc, at, variants, &manner, scope),
        (None, None, None) => {
            let message = format!("{what} answers with one of {one_of}; this one has none");
            return Err(doc.invalid(at, message));
        }
        (text, calls, variants) => {
            let given = present([
                ("text", text.is_some()),
                ("tool-calls", calls.is_some()),
                ("variant", variants.is_some()),
            ]);
            let (first, second) = (given[0], given[1]);
            let message = format!(
                "{what} answers with exactly one of {one_of}, found `{first}` and `{second}`"
            );
            return Err(doc.invalid(&at.key(second), message));
        }
    };
    Ok(Body::One(answer(doc, at, content, manner, scope)?))
}

fn variants(
    doc: &Doc<'_>,
    at: &KeyPath,
    variants: Vec<RawVariant>,
    rule: &Manner,
    scope: &Scope<'_>,
) -> Result<Body> {
    if variants.is_empty() {
        return Err(doc.invalid(&at.key("variant"), "must list at least one variant"));
    }
    let mut total = 0;
    let mut weighted = Vec::with_capacity(variants.len());
    for (i, variant) in variants.into_iter().enumerate() {
        let at = at.key("variant").index(i);
        let (weight, raw) = variant.split();
        let weight = match weight {
            None => 1,
            Some(weight @ 1..=0xFFFF_FFFF) => weight.unsigned_abs(),
            Some(weight) => {
                let message =
                    format!("must be a positive integer up to 4294967295, found {weight}");
                return Err(doc.invalid(&at.key("weight"), message));
            }
        };
        let manner = manner(doc, &at, &raw)?.or(rule);
        let content = match (raw.text, raw.tool_calls) {
            (Some(_), Some(_)) => {
                let message = "a variant answers with one of `text` or `tool-calls`, not both";
                return Err(doc.invalid(&at.key("tool-calls"), message));
            }
            (Some(text), None) => RawContent::Text(text),
            (None, Some(calls)) => RawContent::ToolCalls(calls),
            (None, None) => {
                let message =
                    "a variant answers with one of `text` or `tool-calls`; this one has none";
                return Err(doc.invalid(&at, message));
            }
        };
        total += weight;
        weighted.push((weight, answer(doc, &at, content, manner, scope)?));
    }
    Ok(Body::Variants {
        variants: weighted,
        total,
    })
}

/// The keys of `candidates` that are present.
fn present<const N: usize>(candidates: [(&'static str, bool); N]) -> Vec<&'static str> {
    candidates
        .into_iter()
        .filter_map(|(key, present)| present.then_some(key))
        .collect()
}

/// The manner keys written at `at`, validated there.
fn manner(doc: &Doc<'_>, at: &KeyPath, raw: &RawAnswer) -> Result<Manner> {
    if raw.text.is_some() && raw.malformed_args == Some(true) {
        let message = "applies to tool calls only, and this answer is `text`";
        return Err(doc.invalid(&at.key("malformed-args"), message));
    }
    let finish_reason = raw.finish_reason.map(|reason| match reason {
        RawFinishReason::Stop => FinishReason::Stop,
        RawFinishReason::ToolCalls => FinishReason::ToolCalls,
        RawFinishReason::Length => FinishReason::Length,
        RawFinishReason::ContentFilter => FinishReason::ContentFilter,
    });
    let usage = raw.usage.as_ref().map(|usage| Usage {
        input: usage.input,
        output: usage.output,
        cache_read: usage.cache_read.unwrap_or(0),
    });
    let latency = raw
        .latency
        .as_deref()
        .map(|text| duration(doc, &at.key("latency"), text))
        .transpose()?;
    let fail = raw
        .fail
        .as_ref()
        .map(|raw| fail(doc, &at.key("fail"), raw))
        .transpose()?;
    Ok(Manner {
        finish_reason,
        usage,
        latency,
        fail,
        malformed_args: raw.malformed_args,
    })
}

fn answer(
    doc: &Doc<'_>,
    at: &KeyPath,
    content: RawContent,
    manner: Manner,
    scope: &Scope<'_>,
) -> Result<Answer> {
    let content = match content {
        RawContent::Text(text) => Content::Text(
            Template::parse(&text, scope).map_err(|e| template_error(doc, &at.key("text"), &e))?,
        ),
        RawContent::ToolCalls(calls) => {
            Content::ToolCalls(tool_calls(doc, &at.key("tool-calls"), calls, scope)?)
        }
    };
    Ok(Answer {
        content,
        finish_reason: manner.finish_reason,
        usage: manner.usage.unwrap_or_default(),
        latency: manner.latency,
        fail: manner.fail,
        malformed_args: manner.malformed_args.unwrap_or(false),
    })
}

fn tool_calls(
    doc: &Doc<'_>,
    at: &KeyPath,
    calls: Vec<RawToolCall>,
    scope: &Scope<'_>,
) -> Result<Vec<ToolCallTemplate>> {
    if calls.is_empty() {
        return Err(doc.invalid(at, "must list at least one tool call"));
    }
    calls
        .into_iter()
        .enumerate()
        .map(|(i, call)| {
            let at = at.index(i);
            let name = non_empty(doc, &at.key("name"), call.name)?;
            let mut args = serde_json::Value::Object(call.args.unwrap_or_default());
            datetimes_to_strings(&mut args);
            let args = JsonTemplate::parse(&args, scope, &at.key("args"))
                .map_err(|(at, e)| template_error(doc, &at, &e))?;
            Ok(ToolCallTemplate { name, args })
        })
        .collect()
}

fn fail(doc: &Doc<'_>, at: &KeyPath, raw: &RawFail) -> Result<Fail> {
    let status = match u16::try_from(raw.status) {
        Ok(status @ 400..=599) => status,
        _ => {
            let message = format!(
                "must be an HTTP error status from 400 to 599, found {}",
                raw.status
            );
            return Err(doc.invalid(&at.key("status"), message));
        }
    };
    let times = match raw.times.map(u32::try_from) {
        None => 1,
        Some(Ok(times @ 1..)) => times,
        Some(_) => {
            let message = format!(
                "must be a positive integer up to 4294967295, found {}",
                raw.times.unwrap_or_default()
            );
            return Err(doc.invalid(&at.key("times"), message));
        }
    };
    let retry_after = raw
        .retry_after
        .as_deref()
        .map(|text| duration(doc, &at.key("retry-after"), text))
        .transpose()?;
    Ok(Fail {
        status,
        times,
        retry_after,
        message: raw.message.clone(),
    })
}

/// A duration such as `"40ms"`; zero is allowed (no latency, retry at once).
fn duration(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<Duration> {
    humantime::parse_duration(text).map_err(|e| {
        let message = format!("`{text}` is not a duration ({e}); write e.g. \"40ms\" or \"2s\"");
        doc.invalid(at, message)
    })
}

fn non_empty(doc: &Doc<'_>, at: &KeyPath, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(doc.invalid(at, "must not be empty"));
    }
    Ok(value)
}

fn template_error(doc: &Doc<'_>, at: &KeyPath, error: &TemplateError) -> ScriptError {
    doc.invalid_with_hint(at, error.to_string(), error.hint())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"
model = "sunny-1"
latency = "40ms"
seed-by = "input"

[fallback]
text = "I can't help with ${user}."
usage = { input = 3, output = 4 }

[[rule]]
when.user = '(?i)weather in (?P<city>[A-Z][a-z]+)'
when.turn = 0
tool-calls = [
    { name = "get_weather", args = { city = "${city}", days = [1, 2], when = 2024-05-01 } },
    { name = "get_time" },
]
usage = { input = 120, output = 18, cache-read = 100 }
latency = "50ms"
fail = { status = 429, times = 2, retry-after = "20ms", message = "slow down" }

[[rule]]
when = { tool-result = 'sunny', tool-called = "get_weather" }
text = "It is ${tool_result}."
finish-reason = "length"

[[rule]]
when.user = 'research'
latency = "1s"
malformed-args = true
[[rule.variant]]
weight = 7
tool-calls = [{ name = "search", args = { q = "${user}" } }]
[[rule.variant]]
text = "I think it's 42."
latency = "2s"
"#;

    #[test]
    fn a_full_script_is_read() {
        let script = Script::parse(FULL, Path::new("scripts/sunny.toml")).unwrap();
        assert_eq!(script.model_name(), "sunny-1");
        assert_eq!(script.latency, Duration::from_millis(40));
        assert_eq!(script.seed_by, SeedBy::Input);
        assert_eq!(script.rules.len(), 3);

        let first = &script.rules[0];
        assert_eq!(
            first.when.user.as_ref().map(Regex::as_str),
            Some("(?i)weather in (?P<city>[A-Z][a-z]+)")
        );
        assert_eq!(first.when.turn, Some(0));
        let Body::One(answer) = &first.body else {
            panic!("one answer expected: {:?}", first.body);
        };
        let Content::ToolCalls(calls) = &answer.content else {
            panic!("tool calls expected: {:?}", answer.content);
        };
        let names: Vec<&str> = calls.iter().map(|call| call.name.as_str()).collect();
        assert_eq!(names, ["get_weather", "get_time"]);
        let rendered = calls[0].args.render(&Default::default()).unwrap();
        assert_eq!(
            rendered,
            serde_json::json!({ "city": "", "days": [1, 2], "when": "2024-05-01" })
        );
        assert_eq!(
            calls[1].args.render(&Default::default()).unwrap(),
            serde_json::json!({})
        );
        let usage = Usage {
            input: Some(120),
            output: Some(18),
            cache_read: 100,
        };
        assert_eq!(answer.usage, usage);
        assert_eq!(answer.latency, Some(Duration::from_millis(50)));
        let fail = Fail {
            status: 429,
            times: 2,
            retry_after: Some(Duration::from_millis(20)),
            message: Some("slow down".to_owned()),
        };
        assert_eq!(answer.fail, Some(fail));
        assert!(!answer.malformed_args);

        let second = &script.rules[1];
        assert!(second.when.user.is_none());
        assert_eq!(second.when.tool_called.as_deref(), Some("get_weather"));
        let Body::One(answer) = &second.body else {
            panic!("one answer expected: {:?}", second.body);
        };
        assert_eq!(answer.finish_reason, Some(FinishReason::Length));
        assert_eq!(answer.latency, None);

        // Variants inherit the rule's keys they do not set.
        let Body::Variants { variants, total } = &script.rules[2].body else {
            panic!("variants expected: {:?}", script.rules[2].body);
        };
        assert_eq!(*total, 8);
        let summary: Vec<(u64, Option<Duration>, bool)> = variants
            .iter()
            .map(|(weight, answer)| (*weight, answer.latency, answer.malformed_args))
            .collect();
        assert_eq!(
            summary,
            [
                (7, Some(Duration::from_secs(1)), true),
                (1, Some(Duration::from_secs(2)), true),
            ]
        );
        assert!(script.fallback.is_some());
    }

    #[test]
    fn the_documented_example_is_a_valid_script() {
        // The annotated example of the module documentation, so that it cannot rot.
        let docs = include_str!("mod.rs");
        let lines: Vec<&str> = docs
            .lines()
            .map(|line| line.strip_prefix("//!").unwrap_or(line))
            .map(|line| line.strip_prefix(' ').unwrap_or(line))
            .skip_while(|line| *line != "```toml")
            .skip(1)
            .take_while(|line| *line != "```")
            .collect();
        assert!(lines.len() > 20, "the example was not found: {lines:?}");
        let script = Script::parse(&lines.join("\n"), Path::new("scripts/sunny.toml")).unwrap();
        assert_eq!(script.model_name(), "sunny-1");
        assert_eq!(script.rules.len(), 3);
        assert!(script.fallback.is_some());
    }

    #[test]
    fn scripts_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync>() {}
        shareable::<Script>();
        shareable::<ScriptError>();
    }

    #[test]
    fn the_model_name_defaults_to_the_file_stem() {
        let cases = [
            ("scripts/sunny.toml", "sunny"),
            ("careful.v2.toml", "careful.v2"),
            ("", "scripted"),
        ];
        for (path, expected) in cases {
            let script = Script::parse("", Path::new(path)).unwrap();
            assert_eq!(script.model_name(), expected, "{path}");
            assert!(script.rules.is_empty() && script.fallback.is_none());
        }
    }

    /// `(script, error message, hint)`.
    fn bad_scripts() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
        vec![
            (
                "model = 'm'\n\n[[rule]]\nwhen.usr = 'hi'\ntext = 'x'\n",
                "s.toml:4:6: unknown key `rule[0].when.usr`",
                Some("did you mean `user`?"),
            ),
            (
                "[[rule]]\nwhen = { user = 'a', tool_result = 'b' }\ntext = 'x'\n",
                "s.toml:2:22: unknown key `rule[0].when.tool_result`",
                Some("did you mean `tool-result`?"),
            ),
            (
                "[[rule]]\ntext = 'x'\nlatncy = '1s'\n",
                "s.toml:3:1: unknown key `rule[0].latncy`",
                Some("did you mean `latency`?"),
            ),
            (
                "[[rule]]\nweight = 2\ntext = 'x'\n",
                "s.toml:2:1: unknown key `rule[0].weight`",
                Some(
                    "expected one of: `when`, `variant`, `text`, `tool-calls`, `finish-reason`, \
                     `usage`, `latency`, `fail`, `malformed-args`",
                ),
            ),
            (
                "[[rule]]\n[[rule.variant]]\nwieght = 2\ntext = 'x'\n",
                "s.toml:3:1: unknown key `rule[0].variant[0].wieght`",
                Some("did you mean `weight`?"),
            ),
            (
                "[[rules]]\ntext = 'x'\n",
                "s.toml:1:3: unknown key `rules`",
                Some("did you mean `rule`?"),
            ),
            (
                "[[rule]]\ntool-calls = [{ name = 'a', arg = {} }]\n",
                "s.toml:2:29: unknown key `rule[0].tool-calls[0].arg`",
                Some("did you mean `args`?"),
            ),
            (
                "seed-by = 'trail'\n",
                "s.toml:1:11: `seed-by` must be one of `trial`, `input`, found `trail`",
                Some("did you mean `trial`?"),
            ),
            (
                "[[rule]]\nwhen.user = '(?P<city>[a-z'\ntext = 'x'\n",
                "s.toml:2:13: `rule[0].when.user` is not a valid regex",
                None,
            ),
            (
                "[[rule]]\nwhen.tool-result = '(?P<user>.*)'\ntext = 'x'\n",
                "s.toml:2:20: invalid `rule[0].when.tool-result`: the group name `user` is taken by `${user}`; rename the group",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\ntool-calls = [{ name = 'a' }]\n",
                "s.toml:3:14: invalid `rule[0].tool-calls`: a rule answers with exactly one of `text`, `tool-calls` or `[[rule.variant]]`, found `text` and `tool-calls`",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\n[[rule.variant]]\ntext = 'y'\n",
                "s.toml:3:1: invalid `rule[0].variant`: a rule answers with exactly one of `text`, `tool-calls` or `[[rule.variant]]`, found `text` and `variant`",
                None,
            ),
            (
                "[[rule]]\ntext = 'a'\n[[rule]]\nwhen.turn = 1\n",
                "s.toml:3:1: invalid `rule[1]`: a rule answers with one of `text`, `tool-calls` or `[[rule.variant]]`; this one has none",
                None,
            ),
            (
                "[fallback]\nwhen.user = 'x'\ntext = 'x'\n",
                "s.toml:2:1: invalid `fallback.when`: the fallback answers when no rule matches, so it has no `when`",
                None,
            ),
            (
                "[[rule]]\n[[rule.variant]]\ntext = 'a'\ntool-calls = [{ name = 'b' }]\n",
                "s.toml:4:14: invalid `rule[0].variant[0].tool-calls`: a variant answers with one of `text` or `tool-calls`, not both",
                None,
            ),
            (
                "[[rule]]\n[[rule.variant]]\nweight = 1\n",
                "s.toml:2:1: invalid `rule[0].variant[0]`: a variant answers with one of `text` or `tool-calls`; this one has none",
                None,
            ),
            (
                "[[rule]]\nvariant = []\n",
                "s.toml:2:11: invalid `rule[0].variant`: must list at least one variant",
                None,
            ),
            (
                "[[rule]]\ntool-calls = []\n",
                "s.toml:2:14: invalid `rule[0].tool-calls`: must list at least one tool call",
                None,
            ),
            (
                "latency = 'soon'\n",
                "s.toml:1:11: invalid `latency`: `soon` is not a duration (expected number at 0); write e.g. \"40ms\" or \"2s\"",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfail = { status = 429, retry-after = '5 parsecs' }\n",
                "s.toml:3:38: invalid `rule[0].fail.retry-after`: `5 parsecs` is not a duration (unknown time unit \"parsecs\", supported units: ns, us/µs, ms, sec, min, hours, days, weeks, months, years (and few variations)); write e.g. \"40ms\" or \"2s\"",
                None,
            ),
            (
                "[[rule]]\n[[rule.variant]]\nweight = 0\ntext = 'a'\n",
                "s.toml:3:10: invalid `rule[0].variant[0].weight`: must be a positive integer up to 4294967295, found 0",
                None,
            ),
            (
                "[[rule]]\n[[rule.variant]]\ntext = 'a'\n[[rule.variant]]\nweight = -3\ntext = 'b'\n",
                "s.toml:5:10: invalid `rule[0].variant[1].weight`: must be a positive integer up to 4294967295, found -3",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfail = { status = 200 }\n",
                "s.toml:3:19: invalid `rule[0].fail.status`: must be an HTTP error status from 400 to 599, found 200",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfail = { status = 600 }\n",
                "s.toml:3:19: invalid `rule[0].fail.status`: must be an HTTP error status from 400 to 599, found 600",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfail = { status = 503, times = 0 }\n",
                "s.toml:3:32: invalid `rule[0].fail.times`: must be a positive integer up to 4294967295, found 0",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfail = { times = 1 }\n",
                "s.toml:3:8: missing required key `rule[0].fail.status`",
                None,
            ),
            (
                "[[rule]]\nwhen.turn = -1\ntext = 'x'\n",
                "s.toml:2:13: invalid `rule[0].when.turn`: must be 0 or more, found -1",
                None,
            ),
            (
                "[[rule]]\nwhen.turn = 'first'\ntext = 'x'\n",
                "s.toml:2:13: `rule[0].when.turn` must be an integer, found string \"first\"",
                None,
            ),
            (
                "[[rule]]\nwhen.user = 'in (?P<city>\\w+)'\ntext = 'It is sunny in ${cty}.'\n",
                "s.toml:3:8: invalid `rule[0].text`: `${cty}` is not a capture of this rule's `when` regexes (`city`) nor `user` or `tool_result`",
                Some("did you mean `city`?"),
            ),
            (
                "[[rule]]\nwhen.user = 'in (\\w+)'\ntool-calls = [{ name = 'a', args = { x = { y = ['${2}'] } } }]\n",
                "s.toml:3:49: invalid `rule[0].tool-calls[0].args.x.y[0]`: `${2}`: the rule's regex has only 1 group",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nmalformed-args = true\n",
                "s.toml:3:18: invalid `rule[0].malformed-args`: applies to tool calls only, and this answer is `text`",
                None,
            ),
            (
                "[[rule]]\ntool-calls = [{ name = ' ' }]\n",
                "s.toml:2:24: invalid `rule[0].tool-calls[0].name`: must not be empty",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\nfinish-reason = 'tool_calls'\n",
                "s.toml:3:17: `rule[0].finish-reason` must be one of `stop`, `tool-calls`, `length`, `content-filter`, found `tool_calls`",
                Some("did you mean `tool-calls`?"),
            ),
            (
                "[[rule]]\ntext = 'x'\nusage = { input = -5 }\n",
                "s.toml:3:19: `rule[0].usage.input` must be a non-negative integer, found integer `-5`",
                None,
            ),
            (
                "model = ''\n",
                "s.toml:1:9: invalid `model`: must not be empty",
                None,
            ),
            (
                "[[rule]]\ntext = 'x'\n[rule]\n",
                "s.toml:3:2: duplicate key",
                None,
            ),
        ]
    }

    #[test]
    fn bad_scripts_are_errors_that_point_at_the_key() {
        // Every mismatch is collected, so that one run shows them all.
        let mut failures = Vec::new();
        for (text, message, hint) in bad_scripts() {
            match Script::parse(text, Path::new("s.toml")) {
                Ok(_) => failures.push(format!("accepted:\n{text}")),
                Err(error) => {
                    let got = (error.to_string(), error.hint().map(str::to_owned));
                    let expected = (message.to_owned(), hint.map(str::to_owned));
                    if got != expected {
                        failures.push(format!(
                            "{text}\n  got      {got:?}\n  expected {expected:?}"
                        ));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    }

    #[test]
    fn load_reads_files_and_names_unreadable_ones() {
        let dir = std::env::temp_dir().join(format!("traceval-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("careful.toml");
        std::fs::write(&good, "[[rule]]\ntext = 'ok'\n").unwrap();
        let not_utf8 = dir.join("latin1.toml");
        std::fs::write(&not_utf8, b"[[rule]]\ntext = 'caf\xe9'\n").unwrap();

        assert_eq!(Script::load(&good).unwrap().model_name(), "careful");
        let error = Script::load(&not_utf8).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("{}:2:12: the file is not valid UTF-8", not_utf8.display())
        );
        let missing = dir.join("missing.toml");
        let error = Script::load(&missing).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("cannot read script `{}`", missing.display())
        );
        assert_eq!(error.path(), missing);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
