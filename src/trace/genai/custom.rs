//! Custom conventions: a team's own span names and attributes, mapped to kinds and fields so
//! that in-house instrumentation is read like the mainstream conventions (`[conventions]` in a
//! suite or in `traceval.toml`).
//!
//! The built-in table ([`super::convention`]) stays static data; [`Conventions`] is what is
//! tried before it: kind rules first (the first match wins, and only when none matches is the
//! built-in table asked), and per field, custom attribute keys before the built-in keys. A
//! `Conventions` is compiled once (regexes included) and shared behind an [`Arc`], so cloning
//! it into every trial is a reference count, and the empty one, [`Conventions::default`],
//! costs the view nothing but an empty slice per field.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::{Kind, convention};
use crate::trace::span::{Span, Value};

/// A concept of the GenAI view that custom attribute keys can supply (the rows of the
/// `[conventions.fields]` table, `docs/reference/suite.md#conventionsfields`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Concept {
    /// The LLM provider (`openai`...).
    Provider,
    /// The model, asked for and answering alike.
    Model,
    /// Input (prompt) tokens of an LLM call.
    InputTokens,
    /// Output (completion) tokens of an LLM call.
    OutputTokens,
    /// Input tokens read from the prompt cache.
    CacheReadTokens,
    /// Input tokens written to the prompt cache.
    CacheWriteTokens,
    /// A cost in USD recorded on an LLM span.
    Cost,
    /// Finish reasons of an LLM call.
    FinishReasons,
    /// A tool's name.
    ToolName,
    /// The id the model gave a tool call.
    ToolCallId,
    /// A tool call's arguments (JSON text or a map).
    ToolArguments,
    /// A tool call's result.
    ToolResult,
    /// An agent's name.
    AgentName,
}

impl Concept {
    /// Every concept, in the order the documentation lists them.
    pub const ALL: [Concept; 13] = [
        Concept::Provider,
        Concept::Model,
        Concept::InputTokens,
        Concept::OutputTokens,
        Concept::CacheReadTokens,
        Concept::CacheWriteTokens,
        Concept::Cost,
        Concept::FinishReasons,
        Concept::ToolName,
        Concept::ToolCallId,
        Concept::ToolArguments,
        Concept::ToolResult,
        Concept::AgentName,
    ];

    /// The kebab-case key in `[conventions.fields]` (`tool-name`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Concept::Provider => "provider",
            Concept::Model => "model",
            Concept::InputTokens => "input-tokens",
            Concept::OutputTokens => "output-tokens",
            Concept::CacheReadTokens => "cache-read-tokens",
            Concept::CacheWriteTokens => "cache-write-tokens",
            Concept::Cost => "cost",
            Concept::FinishReasons => "finish-reasons",
            Concept::ToolName => "tool-name",
            Concept::ToolCallId => "tool-call-id",
            Concept::ToolArguments => "tool-arguments",
            Concept::ToolResult => "tool-result",
            Concept::AgentName => "agent-name",
        }
    }

    /// The view's fields this concept feeds: `model` feeds both the requested and the
    /// answering model, as OpenInference's single model attribute does.
    fn fields(self) -> &'static [Field] {
        match self {
            Concept::Provider => &[Field::Provider],
            Concept::Model => &[Field::RequestModel, Field::ResponseModel],
            Concept::InputTokens => &[Field::InputTokens],
            Concept::OutputTokens => &[Field::OutputTokens],
            Concept::CacheReadTokens => &[Field::CacheReadTokens],
            Concept::CacheWriteTokens => &[Field::CacheWriteTokens],
            Concept::Cost => &[Field::Cost],
            Concept::FinishReasons => &[Field::FinishReasons],
            Concept::ToolName => &[Field::ToolName],
            Concept::ToolCallId => &[Field::ToolCallId],
            Concept::ToolArguments => &[Field::ToolArguments],
            Concept::ToolResult => &[Field::ToolResult],
            Concept::AgentName => &[Field::AgentName],
        }
    }
}

impl fmt::Display for Concept {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A field the view reads, each with its list of built-in keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    Provider,
    RequestModel,
    ResponseModel,
    InputTokens,
    OutputTokens,
    CacheReadTokens,
    CacheWriteTokens,
    Cost,
    FinishReasons,
    ToolName,
    ToolCallId,
    ToolArguments,
    ToolResult,
    AgentName,
}

/// How many [`Field`]s there are.
const FIELDS: usize = 14;

impl Field {
    /// The built-in keys, from the convention table.
    fn builtin(self) -> &'static [&'static str] {
        match self {
            Field::Provider => convention::PROVIDER,
            Field::RequestModel => convention::REQUEST_MODEL,
            Field::ResponseModel => convention::RESPONSE_MODEL,
            Field::InputTokens => convention::INPUT_TOKENS,
            Field::OutputTokens => convention::OUTPUT_TOKENS,
            Field::CacheReadTokens => convention::CACHE_READ_TOKENS,
            Field::CacheWriteTokens => convention::CACHE_WRITE_TOKENS,
            Field::Cost => convention::COST_USD,
            Field::FinishReasons => convention::FINISH_REASONS,
            Field::ToolName => convention::TOOL_NAME,
            Field::ToolCallId => convention::TOOL_CALL_ID,
            Field::ToolArguments => convention::TOOL_ARGUMENTS,
            Field::ToolResult => convention::TOOL_RESULT,
            Field::AgentName => convention::AGENT_NAME,
        }
    }
}

/// How a kind rule matches a span's name.
#[derive(Debug, Clone)]
pub enum NameMatch {
    /// The name equals the string.
    Exact(String),
    /// The name starts with the string.
    Prefix(String),
    /// The regex finds a match in the name (unanchored, like a selector's `~=`).
    Regex(Regex),
}

impl NameMatch {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameMatch::Exact(exact) => name == exact,
            NameMatch::Prefix(prefix) => name.starts_with(prefix.as_str()),
            NameMatch::Regex(regex) => regex.is_match(name),
        }
    }
}

/// One custom classification rule: a span whose name and attributes match is of `kind`.
#[derive(Debug, Clone)]
pub struct KindRule {
    /// The kind a matching span is.
    pub kind: Kind,
    /// How the span name must match, if at all.
    pub name: Option<NameMatch>,
    /// Attributes the span must have, with these values compared as text (a string as is,
    /// any other value as JSON: `3`, `true`), case-sensitively. All must hold.
    pub attrs: Vec<(String, String)>,
}

impl KindRule {
    /// True when every matcher of the rule holds; a rule without matchers matches any span
    /// (the suite loader refuses one).
    pub fn matches(&self, span: &Span) -> bool {
        self.name.as_ref().is_none_or(|m| m.matches(&span.name))
            && self.attrs.iter().all(|(key, want)| match span.attr(key) {
                Some(Value::Str(s)) => **s == **want,
                Some(other) => other.to_string() == *want,
                None => false,
            })
    }
}

/// Custom conventions, tried before the built-in table: shared (cloning is cheap) and
/// compiled. [`Conventions::default`] has none, and reads spans exactly as the built-in table
/// does.
#[derive(Debug, Clone, Default)]
pub struct Conventions {
    custom: Option<Arc<Custom>>,
}

/// Equal when both are the built-in table alone, or are one compiled set (the same `Arc`):
/// what a trial keeps is its suite's set, shared.
impl PartialEq for Conventions {
    fn eq(&self, other: &Conventions) -> bool {
        match (&self.custom, &other.custom) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

#[derive(Debug)]
struct Custom {
    rules: Vec<KindRule>,
    /// Per [`Field`], the custom keys tried before the built-in ones.
    keys: [Vec<String>; FIELDS],
}

/// The conventions of a view built without any: the built-in table alone.
pub(crate) static BUILT_IN: Conventions = Conventions { custom: None };

impl Conventions {
    /// Conventions of `rules`, tried in order, and extra attribute keys per concept, tried in
    /// order before the built-in keys (a concept listed twice keeps both lists, in order).
    pub fn new(
        rules: Vec<KindRule>,
        keys: impl IntoIterator<Item = (Concept, Vec<String>)>,
    ) -> Conventions {
        let mut by_field: [Vec<String>; FIELDS] = Default::default();
        for (concept, list) in keys {
            for field in concept.fields() {
                by_field[*field as usize].extend(list.iter().cloned());
            }
        }
        Conventions::from_parts(rules, by_field)
    }

    fn from_parts(rules: Vec<KindRule>, keys: [Vec<String>; FIELDS]) -> Conventions {
        let empty = rules.is_empty() && keys.iter().all(Vec::is_empty);
        Conventions {
            custom: (!empty).then(|| Arc::new(Custom { rules, keys })),
        }
    }

    /// True when there are no custom rules or keys.
    pub fn is_empty(&self) -> bool {
        self.custom.is_none()
    }

    /// These conventions with `fallback`'s after them: this one's rules are tried before
    /// `fallback`'s, and its keys come before `fallback`'s for each field (a suite's before
    /// the project's, both before the built-in table).
    pub fn before(&self, fallback: &Conventions) -> Conventions {
        match (&self.custom, &fallback.custom) {
            (_, None) => self.clone(),
            (None, _) => fallback.clone(),
            (Some(first), Some(then)) => {
                let rules = first.rules.iter().chain(&then.rules).cloned().collect();
                let keys = std::array::from_fn(|f| {
                    first.keys[f].iter().chain(&then.keys[f]).cloned().collect()
                });
                Conventions::from_parts(rules, keys)
            }
        }
    }

    /// The custom kind rules, in the order they are tried.
    pub fn rules(&self) -> &[KindRule] {
        self.custom.as_deref().map_or(&[], |c| &c.rules)
    }

    /// The custom keys of a concept, in the order they are tried (for `model`, those of the
    /// requested model, which are the answering model's too).
    pub fn keys(&self, concept: Concept) -> &[String] {
        self.custom_keys(concept.fields()[0])
    }

    fn custom_keys(&self, field: Field) -> &[String] {
        self.custom
            .as_deref()
            .map_or(&[], |c| &c.keys[field as usize])
    }

    /// The kind of a span: the first custom rule that matches decides, else the built-in
    /// table ([`classify`](super::classify)).
    pub fn classify(&self, span: &Span) -> Kind {
        if let Some(custom) = &self.custom
            && let Some(rule) = custom.rules.iter().find(|r| r.matches(span))
        {
            return rule.kind;
        }
        super::classify(span)
    }

    /// The value of the first key of `field` present on the span, custom keys first.
    pub(crate) fn first<'s>(&self, span: &'s Span, field: Field) -> Option<&'s Value> {
        self.custom_keys(field)
            .iter()
            .find_map(|k| span.attr(k))
            .or_else(|| field.builtin().iter().find_map(|k| span.attr(k)))
    }

    /// [`Conventions::first`] as text.
    pub(crate) fn first_str(&self, span: &Span, field: Field) -> Option<String> {
        self.first(span, field).map(Value::to_string)
    }

    /// The first integer value among the keys of `field`, custom keys first; `None` when it
    /// is negative.
    pub(crate) fn first_u64(&self, span: &Span, field: Field) -> Option<u64> {
        let int = |k: &str| span.attr(k).and_then(Value::as_i64);
        self.custom_keys(field)
            .iter()
            .find_map(|k| int(k))
            .or_else(|| field.builtin().iter().find_map(|k| int(k)))
            .and_then(|v| u64::try_from(v).ok())
    }
}

#[cfg(test)]
mod tests;
