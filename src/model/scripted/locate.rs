//! Where the keys of a script are, so that every error names the key, the line and the column,
//! as suite errors do; and "did you mean" hints for misspelled keys.
//!
//! Serde reports a byte span and a message, validation knows a key path: a [`Doc`] indexes
//! every key and value of the parsed TOML so each can be turned into the other.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::ScriptError;

/// One step of a key path: a key, or a 0-based array index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Step {
    Key(String),
    Index(usize),
}

/// A key path as shown in errors: `rule[0].when.user`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct KeyPath(Vec<Step>);

impl KeyPath {
    /// The document itself.
    pub(super) fn root() -> KeyPath {
        KeyPath::default()
    }

    /// This path followed by `key`.
    pub(super) fn key(&self, key: &str) -> KeyPath {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key.to_owned()));
        KeyPath(steps)
    }

    /// This path followed by an array index.
    pub(super) fn index(&self, index: usize) -> KeyPath {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        KeyPath(steps)
    }

    fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Step::Key(key)) => Some(key),
            _ => None,
        }
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Index(index) => write!(f, "[{index}]")?,
                Step::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                    // Quoted as TOML would need it: `args."first name"`.
                    if bare {
                        f.write_str(key)?;
                    } else {
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A key or array element of the document.
#[derive(Debug)]
struct Entry {
    path: KeyPath,
    /// The key's bytes; `None` for an array element.
    key: Option<Range<usize>>,
    /// The value's bytes; the header for a `[table]` or `[[array]]` element.
    value: Range<usize>,
}

/// A script being loaded: its text and where each key is.
pub(super) struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
    entries: Vec<Entry>,
    by_path: HashMap<KeyPath, usize>,
}

impl<'a> Doc<'a> {
    /// Parses the TOML text; a syntax error comes back with its position.
    pub(super) fn parse(
        path: &'a Path,
        text: &'a str,
    ) -> Result<(Doc<'a>, Spanned<DeTable<'a>>), ScriptError> {
        let mut doc = Doc {
            path,
            text,
            entries: Vec::new(),
            by_path: HashMap::new(),
        };
        let table = DeTable::parse(text).map_err(|e| {
            let at = e.span().map_or(0, |span| span.start);
            doc.parse_error(at, None, e.message().to_owned(), None)
        })?;
        doc.entries.push(Entry {
            path: KeyPath::root(),
            key: None,
            value: table.span(),
        });
        index_table(&KeyPath::root(), table.get_ref(), &mut doc.entries);
        for (i, entry) in doc.entries.iter().enumerate() {
            doc.by_path.entry(entry.path.clone()).or_insert(i);
        }
        Ok((doc, table))
    }

    /// Reads the parsed document into `T`, turning serde's messages into errors at keys.
    pub(super) fn deserialize<T: DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'a>>,
    ) -> Result<T, ScriptError> {
        T::deserialize(toml::de::Deserializer::from(table))
            .map_err(|e| self.serde_error(e.message(), e.span().unwrap_or(0..0)))
    }

    /// The 1-based line and column (in characters) of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.as_bytes().get(..offset).unwrap_or_default();
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        // Characters, not bytes: skip UTF-8 continuation bytes.
        let column = before[line_start..]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count()
            + 1;
        (line, column)
    }

    /// The line and column of the value at `path`, or of its nearest ancestor present.
    fn locate(&self, path: &KeyPath) -> (usize, usize) {
        let mut path = path.clone();
        loop {
            if let Some(&i) = self.by_path.get(&path) {
                return self.position(self.entries[i].value.start);
            }
            if path.0.pop().is_none() {
                return (1, 1);
            }
        }
    }

    fn parse_error(
        &self,
        offset: usize,
        key: Option<&KeyPath>,
        message: String,
        hint: Option<String>,
    ) -> ScriptError {
        let (line, column) = self.position(offset);
        ScriptError::Parse {
            path: self.path.to_path_buf(),
            line,
            column,
            key: key.map(ToString::to_string),
            message,
            hint,
        }
    }

    /// A value at `path` that is not acceptable.
    pub(super) fn invalid(&self, path: &KeyPath, message: impl Into<String>) -> ScriptError {
        self.invalid_with_hint(path, message, None)
    }

    /// [`Doc::invalid`] with a suggestion.
    pub(super) fn invalid_with_hint(
        &self,
        path: &KeyPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ScriptError {
        let (line, column) = self.locate(path);
        ScriptError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            message: message.into(),
            hint,
        }
    }

    /// A regex at `path` that does not compile.
    pub(super) fn regex(&self, path: &KeyPath, source: regex::Error) -> ScriptError {
        let (line, column) = self.locate(path);
        ScriptError::Regex {
            path: self.path.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            source,
        }
    }

    /// The entry serde's span points at: the deepest key or value with exactly that span,
    /// else the deepest value containing its start.
    fn find(&self, span: &Range<usize>) -> (KeyPath, bool, Range<usize>) {
        let exact = self
            .entries
            .iter()
            .filter_map(|entry| {
                let on_key = entry.key.as_ref() == Some(span);
                (on_key || entry.value == *span).then_some((entry, on_key))
            })
            .max_by_key(|(entry, on_key)| (entry.path.0.len(), *on_key));
        if let Some((entry, on_key)) = exact {
            return (entry.path.clone(), on_key, span.clone());
        }
        self.entries
            .iter()
            .filter(|entry| entry.value.contains(&span.start))
            .max_by_key(|entry| entry.path.0.len())
            .map_or((KeyPath::root(), false, span.clone()), |entry| {
                (entry.path.clone(), false, entry.value.clone())
            })
    }

    /// Serde's message about the bytes at `span`, as an error naming the key.
    fn serde_error(&self, message: &str, span: Range<usize>) -> ScriptError {
        let (found, on_key, span) = self.find(&span);
        if let Some(unknown) = Unknown::parse(message) {
            let hint = did_you_mean(unknown.name, unknown.expected.iter().copied());
            if unknown.field {
                let key = if on_key && found.last_key() == Some(unknown.name) {
                    found
                } else {
                    found.key(unknown.name)
                };
                let (line, column) = self.position(span.start);
                return ScriptError::UnknownKey {
                    path: self.path.to_path_buf(),
                    line,
                    column,
                    key: key.to_string(),
                    hint,
                };
            }
            let expected: Vec<String> = unknown.expected.iter().map(|v| format!("`{v}`")).collect();
            let message = format!(
                "`{found}` must be one of {}, found `{}`",
                expected.join(", "),
                unknown.name
            );
            return self.parse_error(span.start, Some(&found), message, hint);
        }
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            let key = found.key(field);
            let message = format!("missing required key `{key}`");
            return self.parse_error(span.start, Some(&key), message, None);
        }
        let mismatch = ["invalid type: ", "invalid value: "]
            .iter()
            .find_map(|prefix| {
                let (actual, expected) =
                    message.strip_prefix(prefix)?.rsplit_once(", expected ")?;
                Some((toml_words(actual), toml_words(expected)))
            });
        let message = match mismatch {
            Some((actual, expected)) => format!("`{found}` must be {expected}, found {actual}"),
            None => format!("`{found}`: {message}"),
        };
        self.parse_error(span.start, Some(&found), message, None)
    }
}

fn index_table(path: &KeyPath, table: &DeTable<'_>, entries: &mut Vec<Entry>) {
    for (key, value) in table {
        let path = path.key(key.get_ref());
        entries.push(Entry {
            path: path.clone(),
            key: Some(key.span()),
            value: value.span(),
        });
        index_value(&path, value.get_ref(), entries);
    }
}

fn index_value(path: &KeyPath, value: &DeValue<'_>, entries: &mut Vec<Entry>) {
    match value {
        DeValue::Table(table) => index_table(path, table, entries),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = path.index(i);
                entries.push(Entry {
                    path: path.clone(),
                    key: None,
                    value: item.span(),
                });
                index_value(&path, item.get_ref(), entries);
            }
        }
        _ => {}
    }
}

/// Serde's description of a type, in TOML's words.
fn toml_words(description: &str) -> &str {
    match description {
        "u32" | "u64" => "a non-negative integer",
        "i64" => "an integer",
        "a sequence" => "an array",
        "a map" => "a table",
        other => other,
    }
}

/// Serde's ``unknown field `x`, expected one of `a`, `b` `` (or `variant`), read back.
#[derive(Debug, PartialEq)]
struct Unknown<'m> {
    /// A key rather than a value of an enumeration.
    field: bool,
    name: &'m str,
    expected: Vec<&'m str>,
}

impl Unknown<'_> {
    fn parse(message: &str) -> Option<Unknown<'_>> {
        let rest = message.strip_prefix("unknown ")?;
        let (field, rest) = match rest.strip_prefix("field `") {
            Some(rest) => (true, rest),
            None => (false, rest.strip_prefix("variant `")?),
        };
        let what = if field { "fields" } else { "variants" };
        if let Some(name) = rest.strip_suffix(&format!("`, there are no {what}")) {
            return Some(Unknown {
                field,
                name,
                expected: Vec::new(),
            });
        }
        // The name is the user's and may hold anything; the alternatives are ours and plain.
        let (name, expected) = rest.rsplit_once("`, expected ")?;
        let expected = match expected.strip_prefix("one of ") {
            Some(list) => list.split(", ").collect::<Vec<_>>(),
            None => expected.split(" or ").collect(),
        };
        let expected = expected.iter().map(|name| name.trim_matches('`')).collect();
        Some(Unknown {
            field,
            name,
            expected,
        })
    }
}

/// ``did you mean `x`?`` for the candidate closest to `unknown`, when it looks like a typo:
/// the same up to case and `_`/`-`, or at most two edits away (and fewer than its length).
pub(super) fn did_you_mean<'c>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'c str>,
) -> Option<String> {
    let fold = |key: &str| -> Vec<char> {
        key.chars()
            .map(|c| {
                if c == '_' {
                    '-'
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect()
    };
    let wanted = fold(unknown);
    let (distance, best) = candidates
        .into_iter()
        .map(|candidate| (levenshtein(&wanted, &fold(candidate)), candidate))
        .min_by_key(|&(distance, _)| distance)?;
    let close = distance == 0 || (distance <= 2 && distance < wanted.len());
    close.then(|| format!("did you mean `{best}`?"))
}

fn levenshtein(a: &[char], b: &[char]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j + 1] + 1).min(row[j] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested() {
        let keys = ["user", "turn", "tool-result", "tool-called"];
        let cases = [
            ("usr", Some("user")),
            ("tool_result", Some("tool-result")),
            ("Turn", Some("turn")),
            ("tool-calld", Some("tool-called")),
            ("assistant", None),
            // Two edits turn any two-letter name into any other.
            ("tu", None),
        ];
        for (unknown, expected) in cases {
            let expected = expected.map(|key| format!("did you mean `{key}`?"));
            assert_eq!(did_you_mean(unknown, keys), expected, "{unknown}");
        }
        assert_eq!(did_you_mean("x", []), None);
    }

    #[test]
    fn edit_distances() {
        let cases = [
            ("", "", 0),
            ("", "ab", 2),
            ("kitten", "sitting", 3),
            ("usr", "user", 1),
        ];
        for (a, b, expected) in cases {
            let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
            assert_eq!(levenshtein(&a, &b), expected);
            assert_eq!(levenshtein(&b, &a), expected);
        }
    }

    #[test]
    fn serde_unknown_messages_are_read() {
        let cases = [
            (
                "unknown field `usr`, expected one of `user`, `turn`",
                Some((true, "usr", vec!["user", "turn"])),
            ),
            (
                "unknown variant `tral`, expected `trial` or `input`",
                Some((false, "tral", vec!["trial", "input"])),
            ),
            (
                "unknown field `x`, there are no fields",
                Some((true, "x", vec![])),
            ),
            ("missing field `name`", None),
        ];
        for (message, expected) in cases {
            let expected = expected.map(|(field, name, expected)| Unknown {
                field,
                name,
                expected,
            });
            assert_eq!(Unknown::parse(message), expected, "{message}");
        }
    }

    #[test]
    fn key_paths_display_like_toml() {
        let root = KeyPath::root();
        let cases = [
            (root.clone(), ""),
            (
                root.key("rule").index(2).key("when").key("user"),
                "rule[2].when.user",
            ),
            (
                root.key("rule")
                    .index(0)
                    .key("tool-calls")
                    .index(1)
                    .key("args")
                    .key("a b"),
                "rule[0].tool-calls[1].args.\"a b\"",
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(path.to_string(), expected);
        }
    }

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a = 1\n\"é\" = 'ü'\n";
        let (doc, _) = Doc::parse(Path::new("s.toml"), text).unwrap();
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            (10, (2, 4)),
            (99, (3, 1)),
        ];
        for (offset, expected) in cases {
            assert_eq!(doc.position(offset), expected, "offset {offset}");
        }
    }
}
