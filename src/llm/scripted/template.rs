//! Templates in answers: `${city}` and `${1}` (captures of the rule's `when` regexes),
//! `${user}` (the last user message) and `${tool_result}` (the last tool result); `$$` is a
//! literal `$`, and a `$` not followed by `{` or `$` is literal too.
//!
//! In tool-call arguments a string that is exactly one typed reference, `"${n:int}"`,
//! `"${x:number}"`, `"${ok:bool}"` or `"${v:json}"`, becomes a JSON integer, number, boolean
//! or any JSON value instead of a string. A captured text that does not convert is found only
//! when the call is made: the scripted model then answers with text that says so.
//!
//! References are resolved when the script loads, so a misspelled capture is a load error
//! rather than an empty string in some trial: a rule answers only when all its regexes
//! matched, so every group it names exists then. Only a group that took no part in the match
//! (`(?P<unit>C|F)?`) renders empty.

use regex::{Captures, Regex};
use serde_json::{Map, Value as Json};

use crate::toml_doc::{KeyPath, did_you_mean};

/// The names built into every template.
pub(super) const BUILTINS: [&str; 2] = ["user", "tool_result"];

/// The `when` regexes of one rule: the captures its templates may name.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Scope<'r> {
    pub(super) user: Option<&'r Regex>,
    pub(super) tool_result: Option<&'r Regex>,
}

/// Which regex a capture comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    User,
    ToolResult,
}

/// What a `${…}` stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ref {
    User,
    ToolResult,
    Group { source: Source, index: usize },
}

/// The JSON type a typed reference (`${name:int}`) converts its text to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cast {
    /// `int`: a 64-bit integer.
    Int,
    /// `number`: an integer or a finite floating-point number.
    Number,
    /// `bool`: `true` or `false`.
    Bool,
    /// `json`: any JSON text.
    Json,
}

/// The type names of [`Cast`], as written after the `:`.
const CASTS: [(&str, Cast); 4] = [
    ("int", Cast::Int),
    ("number", Cast::Number),
    ("bool", Cast::Bool),
    ("json", Cast::Json),
];

impl Cast {
    fn name(self) -> &'static str {
        CASTS
            .iter()
            .find(|(_, cast)| *cast == self)
            .map_or("?", |(name, _)| name)
    }

    /// The JSON value `text` stands for, if it is one of this type.
    fn convert(self, text: &str) -> Option<Json> {
        let trimmed = text.trim();
        match self {
            Cast::Int => trimmed.parse::<i64>().ok().map(Json::from),
            Cast::Number => trimmed.parse::<i64>().ok().map(Json::from).or_else(|| {
                let x = trimmed.parse::<f64>().ok()?;
                serde_json::Number::from_f64(x).map(Json::Number)
            }),
            Cast::Bool => match trimmed {
                "true" => Some(Json::Bool(true)),
                "false" => Some(Json::Bool(false)),
                _ => None,
            },
            Cast::Json => serde_json::from_str(text).ok(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    /// A reference, with its type when it has one and the text written between the braces.
    Ref(Ref, Option<(Cast, String)>),
}

/// A string with references, resolved against the captures of its rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Template {
    parts: Vec<Part>,
}

/// What references render to in one call.
#[derive(Debug, Default)]
pub(super) struct Values<'t> {
    /// The last user message, or empty.
    pub(super) user: &'t str,
    /// The last tool result, or empty.
    pub(super) tool_result: &'t str,
    /// The captures of the rule's `when.user` regex.
    pub(super) user_captures: Option<Captures<'t>>,
    /// The captures of the rule's `when.tool-result` regex.
    pub(super) tool_result_captures: Option<Captures<'t>>,
}

/// A template that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum TemplateError {
    /// `${` without its `}`.
    #[error("`${{` at character {at} is not closed by `}}`; write `$$` for a literal `$`")]
    Unclosed {
        /// 1-based character offset of the `$`.
        at: usize,
    },
    /// `${}`.
    #[error("`${{}}` names nothing; write `${{name}}` or `${{1}}`")]
    Empty,
    /// `${name:type}` with a type that does not exist.
    #[error(
        "`${{{written}}}`: unknown type `{cast}`; write `int`, `number`, `bool` or `json` after the `:`, or nothing for text"
    )]
    UnknownCast {
        /// What is between the braces.
        written: String,
        /// The type as written.
        cast: String,
    },
    /// A typed reference in answer text, or beside other text.
    #[error(
        "`${{{written}}}` is typed, so it must be a whole string of a tool call's `args` (e.g. `n = \"${{{written}}}\"`); within text it would be text: drop the `:{cast}`"
    )]
    TypedInText {
        /// What is between the braces.
        written: String,
        /// The type.
        cast: &'static str,
    },
    /// A name that is neither a capture of the rule nor built in.
    #[error(
        "`${{{name}}}` is not a capture of this rule's `when` regexes ({}) nor `user` or `tool_result`",
        list(known)
    )]
    UnknownName {
        /// The name.
        name: String,
        /// The capture names the rule has.
        known: Vec<String>,
    },
    /// A group number the rule's regex does not have.
    #[error("`${{{index}}}`: {}", no_group(*groups))]
    NoGroup {
        /// The number.
        index: String,
        /// How many groups the regex has (not counting the whole match, `${0}`), if any regex.
        groups: Option<usize>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        return "it has none".to_owned();
    }
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    quoted.join(", ")
}

fn no_group(groups: Option<usize>) -> String {
    match groups {
        None => "this rule has no `when.user` or `when.tool-result` regex to number".to_owned(),
        Some(0) => "the rule's regex has no groups; `${0}` is the whole match".to_owned(),
        Some(1) => "the rule's regex has only 1 group".to_owned(),
        Some(n) => format!("the rule's regex has only {n} groups"),
    }
}

impl TemplateError {
    /// The capture or built-in closest to a misspelled name.
    pub(super) fn hint(&self) -> Option<String> {
        match self {
            TemplateError::UnknownName { name, known } => did_you_mean(
                name,
                known
                    .iter()
                    .map(String::as_str)
                    .chain(BUILTINS.iter().copied()),
            ),
            _ => None,
        }
    }
}

impl Scope<'_> {
    /// Named groups come from `when.user` first, then `when.tool-result`; numbered groups
    /// from `when.user` when the rule has it, else from `when.tool-result`.
    fn resolve(&self, name: &str) -> Result<Ref, TemplateError> {
        if name.is_empty() {
            return Err(TemplateError::Empty);
        }
        if name.bytes().all(|b| b.is_ascii_digit()) {
            let numbered = match (self.user, self.tool_result) {
                (Some(regex), _) => Some((Source::User, regex)),
                (None, Some(regex)) => Some((Source::ToolResult, regex)),
                (None, None) => None,
            };
            let index = name.parse::<usize>().ok();
            return match (numbered, index) {
                (Some((source, regex)), Some(index)) if index < regex.captures_len() => {
                    Ok(Ref::Group { source, index })
                }
                _ => Err(TemplateError::NoGroup {
                    index: name.to_owned(),
                    groups: numbered.map(|(_, regex)| regex.captures_len() - 1),
                }),
            };
        }
        match name {
            "user" => return Ok(Ref::User),
            "tool_result" => return Ok(Ref::ToolResult),
            _ => {}
        }
        let sources = [
            (Source::User, self.user),
            (Source::ToolResult, self.tool_result),
        ];
        for (source, regex) in sources {
            let index =
                regex.and_then(|regex| regex.capture_names().position(|group| group == Some(name)));
            if let Some(index) = index {
                return Ok(Ref::Group { source, index });
            }
        }
        Err(TemplateError::UnknownName {
            name: name.to_owned(),
            known: self.names(),
        })
    }

    /// The capture names of the rule, each once.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        let regexes = [self.user, self.tool_result].into_iter().flatten();
        for name in regexes.flat_map(Regex::capture_names).flatten() {
            if !names.iter().any(|known| known == name) {
                names.push(name.to_owned());
            }
        }
        names
    }
}

/// A typed reference's text that is not of its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`${{{written}}}` needs {}, but the text is \"{text}\"", article(*cast))]
pub(super) struct CastError {
    /// What is between the braces.
    pub(super) written: String,
    /// The type.
    pub(super) cast: Cast,
    /// The text, cut to 200 characters.
    pub(super) text: String,
}

fn article(cast: Cast) -> &'static str {
    match cast {
        Cast::Int => "an integer",
        Cast::Number => "a number",
        Cast::Bool => "`true` or `false`",
        Cast::Json => "JSON text",
    }
}

impl Template {
    /// Reads `text`, resolving its references in `scope`; typed references are refused.
    pub(super) fn parse(text: &str, scope: &Scope<'_>) -> Result<Template, TemplateError> {
        let template = Template::parse_typed(text, scope)?;
        template.refuse_casts()?;
        Ok(template)
    }

    fn refuse_casts(&self) -> Result<(), TemplateError> {
        let typed = self.parts.iter().find_map(|part| match part {
            Part::Ref(_, Some((cast, written))) => Some((*cast, written)),
            _ => None,
        });
        match typed {
            Some((cast, written)) => Err(TemplateError::TypedInText {
                written: written.clone(),
                cast: cast.name(),
            }),
            None => Ok(()),
        }
    }

    /// [`Template::parse`], keeping typed references.
    fn parse_typed(text: &str, scope: &Scope<'_>) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(dollar) = rest.find('$') {
            literal.push_str(&rest[..dollar]);
            let after = &rest[dollar + 1..];
            if let Some(after) = after.strip_prefix('$') {
                literal.push('$');
                rest = after;
                continue;
            }
            let Some(body) = after.strip_prefix('{') else {
                literal.push('$');
                rest = after;
                continue;
            };
            let Some(end) = body.find('}') else {
                let offset = text.len() - rest.len() + dollar;
                let at = text[..offset].chars().count() + 1;
                return Err(TemplateError::Unclosed { at });
            };
            let written = &body[..end];
            let (name, cast) = match written.split_once(':') {
                Some((name, cast)) => {
                    let Some((_, cast)) = CASTS.iter().find(|(n, _)| *n == cast) else {
                        return Err(TemplateError::UnknownCast {
                            written: written.to_owned(),
                            cast: cast.to_owned(),
                        });
                    };
                    (name, Some((*cast, written.to_owned())))
                }
                None => (written, None),
            };
            let reference = scope.resolve(name)?;
            if !literal.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut literal)));
            }
            parts.push(Part::Ref(reference, cast));
            rest = &body[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Text(literal));
        }
        Ok(Template { parts })
    }

    /// Appends the rendered text to `out`.
    pub(super) fn render_into(&self, values: &Values<'_>, out: &mut String) {
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Ref(reference, _) => out.push_str(reference.text(values)),
            }
        }
    }

    /// The rendered text.
    pub(super) fn render(&self, values: &Values<'_>) -> String {
        let mut out = String::new();
        self.render_into(values, &mut out);
        out
    }
}

impl Ref {
    /// The text the reference stands for in one call.
    fn text<'t>(&self, values: &Values<'t>) -> &'t str {
        match self {
            Ref::User => values.user,
            Ref::ToolResult => values.tool_result,
            Ref::Group { source, index } => {
                let captures = match source {
                    Source::User => values.user_captures.as_ref(),
                    Source::ToolResult => values.tool_result_captures.as_ref(),
                };
                captures
                    .and_then(|captures| captures.get(*index))
                    .map_or("", |group| group.as_str())
            }
        }
    }
}

/// A JSON value whose strings are templates: tool-call arguments.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum JsonTemplate {
    /// A number, boolean or null.
    Fixed(Json),
    String(Template),
    /// A string that was one typed reference: its text converted.
    Typed(Ref, Cast, String),
    Array(Vec<JsonTemplate>),
    Object(Vec<(String, JsonTemplate)>),
}

impl JsonTemplate {
    /// Reads the templates in the strings of `value` (found at `at`, for errors). Keys are
    /// taken as written: they name parameters, which a script fixes.
    pub(super) fn parse(
        value: &Json,
        scope: &Scope<'_>,
        at: &KeyPath,
    ) -> Result<JsonTemplate, (KeyPath, TemplateError)> {
        Ok(match value {
            Json::String(text) => {
                let template = Template::parse_typed(text, scope).map_err(|e| (at.clone(), e))?;
                match template.parts.as_slice() {
                    [Part::Ref(reference, Some((cast, written)))] => {
                        JsonTemplate::Typed(*reference, *cast, written.clone())
                    }
                    _ => {
                        template.refuse_casts().map_err(|e| (at.clone(), e))?;
                        JsonTemplate::String(template)
                    }
                }
            }
            Json::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| JsonTemplate::parse(item, scope, &at.index(i)))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => JsonTemplate::parse_object(map, scope, at)?,
            other => JsonTemplate::Fixed(other.clone()),
        })
    }

    /// [`JsonTemplate::parse`] of a table.
    pub(super) fn parse_object(
        map: &Map<String, Json>,
        scope: &Scope<'_>,
        at: &KeyPath,
    ) -> Result<JsonTemplate, (KeyPath, TemplateError)> {
        let members = map
            .iter()
            .map(|(key, value)| {
                let value = JsonTemplate::parse(value, scope, &at.key(key))?;
                Ok((key.clone(), value))
            })
            .collect::<Result<_, _>>()?;
        Ok(JsonTemplate::Object(members))
    }

    /// The value with its templates rendered; the first typed reference whose text does not
    /// convert is an error.
    pub(super) fn render(&self, values: &Values<'_>) -> Result<Json, CastError> {
        Ok(match self {
            JsonTemplate::Fixed(value) => value.clone(),
            JsonTemplate::String(template) => Json::String(template.render(values)),
            JsonTemplate::Typed(reference, cast, written) => {
                let text = reference.text(values);
                cast.convert(text).ok_or_else(|| CastError {
                    written: written.clone(),
                    cast: *cast,
                    text: text.chars().take(200).collect(),
                })?
            }
            JsonTemplate::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|item| item.render(values))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(members) => Json::Object(
                members
                    .iter()
                    .map(|(key, value)| Ok((key.clone(), value.render(values)?)))
                    .collect::<Result<_, _>>()?,
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values<'t>(
        user_regex: Option<&Regex>,
        user: &'t str,
        tool_regex: Option<&Regex>,
        tool_result: &'t str,
    ) -> Values<'t> {
        Values {
            user,
            tool_result,
            user_captures: user_regex.and_then(|regex| regex.captures(user)),
            tool_result_captures: tool_regex.and_then(|regex| regex.captures(tool_result)),
        }
    }

    #[test]
    fn references_render_captures_and_builtins() {
        let user =
            Regex::new(r"(?i)weather in (?P<city>[A-Z][a-z]+)(?: in (?P<unit>C|F))?").unwrap();
        let tool = Regex::new(r"(?P<temp>\d+) degrees, (\w+)").unwrap();
        let both = Scope {
            user: Some(&user),
            tool_result: Some(&tool),
        };
        let tool_only = Scope {
            user: None,
            tool_result: Some(&tool),
        };
        let cases = [
            (
                both,
                "It is ${temp} in ${city}.",
                "It is 21 in Paris.".to_owned(),
            ),
            (both, "${1}/${0}", "Paris/Weather in Paris".to_owned()),
            (tool_only, "${2} (${1})", "sunny (21)".to_owned()),
            (both, "[${unit}]", "[]".to_owned()),
            (
                both,
                "${user} | ${tool_result}",
                "Weather in Paris? | 21 degrees, sunny".to_owned(),
            ),
            (
                both,
                "costs $5, $$ {city} ${city}",
                "costs $5, $ {city} Paris".to_owned(),
            ),
            (both, "no references", "no references".to_owned()),
            (both, "", String::new()),
        ];
        for (scope, text, expected) in cases {
            let template = Template::parse(text, &scope).unwrap();
            let values = values(
                scope.user,
                "Weather in Paris?",
                scope.tool_result,
                "21 degrees, sunny",
            );
            assert_eq!(template.render(&values), expected, "{text}");
        }
    }

    #[test]
    fn unresolvable_references_are_load_errors() {
        let user = Regex::new(r"weather in (?P<city>\w+)").unwrap();
        let with_user = Scope {
            user: Some(&user),
            tool_result: None,
        };
        let cases = [
            (
                with_user,
                "${cty}",
                "`${cty}` is not a capture of this rule's `when` regexes (`city`) nor `user` or `tool_result`",
                Some("did you mean `city`?"),
            ),
            (
                Scope::default(),
                "${city}",
                "`${city}` is not a capture of this rule's `when` regexes (it has none) nor `user` or `tool_result`",
                None,
            ),
            (
                Scope::default(),
                "${tool-result}",
                "`${tool-result}` is not a capture of this rule's `when` regexes (it has none) nor `user` or `tool_result`",
                Some("did you mean `tool_result`?"),
            ),
            (
                with_user,
                "${2}",
                "`${2}`: the rule's regex has only 1 group",
                None,
            ),
            (
                Scope::default(),
                "${1}",
                "`${1}`: this rule has no `when.user` or `when.tool-result` regex to number",
                None,
            ),
            (
                with_user,
                "${99999999999999999999999}",
                "`${99999999999999999999999}`: the rule's regex has only 1 group",
                None,
            ),
            (
                with_user,
                "ünï ${city",
                "`${` at character 5 is not closed by `}`; write `$$` for a literal `$`",
                None,
            ),
            (
                with_user,
                "${}",
                "`${}` names nothing; write `${name}` or `${1}`",
                None,
            ),
        ];
        for (scope, text, message, hint) in cases {
            let error = Template::parse(text, &scope).unwrap_err();
            assert_eq!(error.to_string(), message, "{text}");
            assert_eq!(error.hint().as_deref(), hint, "{text}");
        }
    }

    #[test]
    fn json_strings_are_templates_at_any_depth() {
        let user = Regex::new(r"search (?P<q>.+)").unwrap();
        let scope = Scope {
            user: Some(&user),
            tool_result: None,
        };
        let args = serde_json::json!({
            "q": "${q}",
            "n": 3,
            "filters": [{ "site": "${q}.org" }, true],
            "quote": "say \"${q}\"",
        });
        let template = JsonTemplate::parse(&args, &scope, &KeyPath::root()).unwrap();
        let values = values(Some(&user), "search rust \"serde\"", None, "");
        let expected = serde_json::json!({
            "q": "rust \"serde\"",
            "n": 3,
            "filters": [{ "site": "rust \"serde\".org" }, true],
            "quote": "say \"rust \"serde\"\"",
        });
        assert_eq!(template.render(&values).unwrap(), expected);

        let bad = serde_json::json!({ "filters": [{ "site": "${site}" }] });
        let (at, _) = JsonTemplate::parse(&bad, &scope, &KeyPath::root().key("args")).unwrap_err();
        assert_eq!(at.to_string(), "args.filters[0].site");
    }

    #[test]
    fn a_typed_reference_that_is_a_whole_string_gives_a_typed_value() {
        let user = Regex::new(r"(?P<a>\S+) (?P<b>\S+) (?P<c>\S+) (?P<d>.+)").unwrap();
        let scope = Scope {
            user: Some(&user),
            tool_result: None,
        };
        let args = serde_json::json!({
            "a": "${a:int}", "b": "${b:number}", "c": "${c:bool}", "d": "${d:json}",
            "text": "${a}", "mixed": "n=${a}",
        });
        let template = JsonTemplate::parse(&args, &scope, &KeyPath::root()).unwrap();
        let render = |text: &str| template.render(&values(Some(&user), text, None, ""));
        assert_eq!(
            render(r#"12 2.5 true {"k":[1]}"#).unwrap(),
            serde_json::json!({
                "a": 12, "b": 2.5, "c": true, "d": {"k": [1]}, "text": "12", "mixed": "n=12",
            })
        );
        assert_eq!(
            render("-3 7 false null").unwrap()["b"],
            serde_json::json!(7)
        );
        let cases = [
            (
                "twelve 1 true 1",
                "`${a:int}` needs an integer, but the text is \"twelve\"",
            ),
            (
                "1 x true 1",
                "`${b:number}` needs a number, but the text is \"x\"",
            ),
            (
                "1 1 yes 1",
                "`${c:bool}` needs `true` or `false`, but the text is \"yes\"",
            ),
            (
                "1 1 true {oops",
                "`${d:json}` needs JSON text, but the text is \"{oops\"",
            ),
            (
                "1.5 1 true 1",
                "`${a:int}` needs an integer, but the text is \"1.5\"",
            ),
        ];
        for (user, message) in cases {
            assert_eq!(render(user).unwrap_err().to_string(), message, "{user}");
        }
    }

    #[test]
    fn a_typed_reference_within_text_or_of_an_unknown_type_is_a_load_error() {
        let user = Regex::new(r"(?P<a>\d+)").unwrap();
        let scope = Scope {
            user: Some(&user),
            tool_result: None,
        };
        let text = Template::parse("n=${a:int}", &scope).unwrap_err();
        assert!(
            text.to_string().contains("must be a whole string"),
            "{text}"
        );
        let mixed = serde_json::json!({ "n": "n=${a:int}" });
        let (at, e) =
            JsonTemplate::parse(&mixed, &scope, &KeyPath::root().key("args")).unwrap_err();
        assert_eq!(at.to_string(), "args.n");
        assert!(matches!(e, TemplateError::TypedInText { .. }), "{e}");
        let unknown = serde_json::json!({ "n": "${a:integer}" });
        let (_, e) = JsonTemplate::parse(&unknown, &scope, &KeyPath::root()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "`${a:integer}`: unknown type `integer`; write `int`, `number`, `bool` or `json` after the `:`, or nothing for text"
        );
        let missing = serde_json::json!({ "n": "${b:int}" });
        let (_, e) = JsonTemplate::parse(&missing, &scope, &KeyPath::root()).unwrap_err();
        assert!(matches!(e, TemplateError::UnknownName { .. }), "{e}");
    }
}
