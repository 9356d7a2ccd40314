//! One parsed file, or one line of a JSONL file, and the errors that point into it.

use std::cell::OnceCell;
use std::marker::PhantomData;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::DeTable;

use super::error::{LocatedError, LocatedKind, Location};
use super::hint::{did_you_mean, friendly_type, parse_unknown};
use super::index::KeyIndex;
use super::key_path::KeyPath;
use super::lines::Lines;

/// A document being loaded: its text, and where each of its keys is. Its errors are
/// [`LocatedError`]s, returned as `E`, the loader's own error type, which wraps them; so a
/// loader's functions return its type, and `?` needs no conversion.
pub(crate) struct Doc<'a, E> {
    path: &'a Path,
    text: &'a str,
    /// For a line of a JSONL file, its 1-based number; spans are then offsets in the line.
    line: Option<usize>,
    lines: Lines,
    /// Built up front for TOML, whose parser provides the spans anyway; for a JSON line only
    /// when an error needs it, as most lines of a cases file never do.
    index: OnceCell<KeyIndex>,
    /// Dotted keys (indices left out) that take arrays of tables: `[case]` written for
    /// `[[case]]` gets a hint, and `[case.expect.span]` for `[[case.expect.span]]`.
    array_tables: &'static [&'static str],
    error: PhantomData<fn() -> E>,
}

impl<'a, E: From<LocatedError>> Doc<'a, E> {
    /// Parses a TOML file whose arrays of tables are `array_tables`; syntax errors come back
    /// with their position.
    pub(crate) fn toml(
        path: &'a Path,
        text: &'a str,
        array_tables: &'static [&'static str],
    ) -> Result<(Doc<'a, E>, Spanned<DeTable<'a>>), E> {
        let doc: Doc<'a, E> = Doc {
            path,
            text,
            line: None,
            lines: Lines::new(text),
            index: OnceCell::new(),
            array_tables,
            error: PhantomData,
        };
        let table = DeTable::parse(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            doc.parse_error(span.start, None, e.message().to_owned(), None)
        })?;
        let _ = doc.index.set(KeyIndex::toml(&table));
        Ok((doc, table))
    }

    /// Line `line` (1-based) of a JSONL file, without its line break; `array_tables` as for
    /// [`Doc::toml`].
    pub(crate) fn json_line(
        path: &'a Path,
        text: &'a str,
        line: usize,
        array_tables: &'static [&'static str],
    ) -> Doc<'a, E> {
        Doc {
            path,
            text,
            line: Some(line),
            lines: Lines::new(text),
            index: OnceCell::new(),
            array_tables,
            error: PhantomData,
        }
    }

    fn index(&self) -> &KeyIndex {
        // Only a JSON line reaches the initializer: a TOML document's index is set on parsing.
        self.index.get_or_init(|| KeyIndex::json(self.text))
    }

    /// The file.
    pub(crate) fn path(&self) -> &'a Path {
        self.path
    }

    /// Reads the parsed TOML document into `T`.
    pub(crate) fn deserialize<T: DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'a>>,
    ) -> Result<T, E> {
        T::deserialize(toml::de::Deserializer::from(table))
            .map_err(|e| self.serde_error(e.message(), e.span().unwrap_or(0..0)))
    }

    /// Reads the JSON line into `T`, which must be written as an object.
    pub(crate) fn deserialize_json<T: DeserializeOwned>(&self) -> Result<T, E> {
        // Serde's derived structs also accept an array of the fields in order; a case line
        // written that way would be read by position, so it is turned away here.
        let start = self.text.len() - self.text.trim_start().len();
        if !self.text[start..].starts_with('{') {
            let message =
                "a case must be a JSON object, e.g. {\"id\": \"paris\", \"input\": \"…\"}";
            return Err(self.parse_error(start, None, message.to_owned(), None));
        }
        serde_json::from_str(self.text).map_err(|e| {
            // serde_json counts columns in bytes and points at the last byte it read.
            let offset = e.column().saturating_sub(1);
            let position = format!(" at line {} column {}", e.line(), e.column());
            let text = e.to_string();
            let message = text.strip_suffix(&position).unwrap_or(&text);
            if e.is_data() {
                // A container of the wrong type is only peeked at: serde_json then points at
                // the separator or space before it, where the value is meant.
                let skipped = self.text.as_bytes().get(offset..).map_or(0, |rest| {
                    let before = rest.iter().position(|b| !b" \t\r\n:,".contains(b));
                    before.unwrap_or(0)
                });
                let offset = offset + skipped;
                self.serde_error(message, offset..offset + 1)
            } else {
                self.parse_error(offset, None, message.to_owned(), None)
            }
        })
    }

    /// The 1-based line and column of a byte offset.
    fn position(&self, offset: usize) -> (usize, usize) {
        let (line, column) = self.lines.position(self.text, offset);
        (self.line.unwrap_or(line), column)
    }

    /// The file and the line and column of a byte offset, for an error.
    fn location(&self, offset: usize) -> Location {
        let (line, column) = self.position(offset);
        Location {
            path: self.path.to_path_buf(),
            line,
            column,
        }
    }

    /// The file and the line and column of the value at `path` (or of its nearest ancestor),
    /// for an error.
    fn location_of(&self, path: &KeyPath) -> Location {
        self.location(self.index().value_span(path).start)
    }

    /// The 1-based line and column of the value at `path` (or of its nearest ancestor).
    pub(crate) fn locate(&self, path: &KeyPath) -> (usize, usize) {
        self.position(self.index().value_span(path).start)
    }

    fn parse_error(
        &self,
        offset: usize,
        key: Option<&KeyPath>,
        message: String,
        hint: Option<String>,
    ) -> E {
        let kind = LocatedKind::Parse { message, hint };
        E::from(LocatedError::at(
            self.location(offset),
            key.map(ToString::to_string),
            kind,
        ))
    }

    /// A required key that is absent; `why` says what it is for.
    pub(crate) fn missing(&self, path: &KeyPath, why: &str) -> E {
        let offset = self.index().value_span(path).start;
        let message = format!("missing required key `{path}`: {why}");
        self.parse_error(offset, Some(path), message, None)
    }

    /// A value that is not acceptable at `path`.
    pub(crate) fn invalid(&self, path: &KeyPath, message: impl Into<String>) -> E {
        self.invalid_with_hint(path, message, None)
    }

    /// [`Doc::invalid`] with a suggestion.
    pub(crate) fn invalid_with_hint(
        &self,
        path: &KeyPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> E {
        let kind = LocatedKind::Invalid {
            message: message.into(),
            hint,
        };
        self.error(path, kind)
    }

    /// [`Doc::invalid_with_hint`] about the character at 1-based `column` (in characters) of
    /// the string value at `path`, such as the column a selector error reports: the error
    /// points at that character when the string is written on one line with no escape before
    /// it, else at the value.
    pub(crate) fn invalid_in_string(
        &self,
        path: &KeyPath,
        column: usize,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> E {
        let span = self.index().value_span(path);
        let offset = char_in_string(&self.text[span.clone()], column).unwrap_or(0);
        let kind = LocatedKind::Invalid {
            message: message.into(),
            hint,
        };
        E::from(LocatedError::at(
            self.location(span.start + offset),
            Some(path.to_string()),
            kind,
        ))
    }

    /// An error of any kind about the value at `path` (or its nearest ancestor).
    pub(crate) fn error(&self, path: &KeyPath, kind: LocatedKind) -> E {
        E::from(LocatedError::at(
            self.location_of(path),
            Some(path.to_string()),
            kind,
        ))
    }

    /// A regex at `path` that does not compile.
    pub(crate) fn regex(&self, path: &KeyPath, source: regex::Error) -> E {
        self.error(path, LocatedKind::Regex { source })
    }

    /// Turns a serde message about the bytes at `span` into an error naming the key.
    fn serde_error(&self, message: &str, span: Range<usize>) -> E {
        let found = self.index().find(&span);
        if let Some(unknown) = parse_unknown(message) {
            let hint = did_you_mean(unknown.name, unknown.expected.iter().copied());
            if unknown.what == "field" {
                let hint = hint.or_else(|| expected_keys(&unknown.expected));
                let key = if found.on_key && found.path.last_key() == Some(unknown.name) {
                    found.path
                } else {
                    found.path.key(unknown.name)
                };
                let kind = LocatedKind::UnknownKey { hint };
                let at = self.location(found.span.start);
                return E::from(LocatedError::at(at, Some(key.to_string()), kind));
            }
            let expected: Vec<String> = unknown.expected.iter().map(|v| format!("`{v}`")).collect();
            let message = format!(
                "`{}` must be one of {}, found `{}`",
                found.path,
                expected.join(", "),
                unknown.name
            );
            return self.parse_error(found.span.start, Some(&found.path), message, hint);
        }
        if let Some(field) = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.strip_suffix('`'))
        {
            let key = found.path.key(field);
            let message = format!("missing required key `{key}`");
            return self.parse_error(found.span.start, Some(&key), message, None);
        }
        if message.starts_with("duplicate field `") {
            let message = format!("`{}` is given twice", found.path);
            return self.parse_error(found.span.start, Some(&found.path), message, None);
        }
        let mismatch = ["invalid type: ", "invalid value: "]
            .iter()
            .find_map(|prefix| {
                let (actual, expected) =
                    message.strip_prefix(prefix)?.rsplit_once(", expected ")?;
                Some((actual, expected, *prefix == "invalid value: "))
            });
        let Some((actual, expected, out_of_range)) = mismatch else {
            let message = format!("`{}`: {message}", found.path);
            return self.parse_error(found.span.start, Some(&found.path), message, None);
        };
        let actual = friendly_type(actual, false);
        let expected = friendly_type(expected, out_of_range);
        // `[case]` for `[[case]]` is the likely slip of a first suite; `[tool]` and
        // `[case.expect.span]` likewise.
        let hint = self
            .array_tables
            .iter()
            .copied()
            .find(|&keys| found.path.has_keys(keys) && actual == "table")
            .map(|keys| {
                let each = keys.rsplit('.').next().unwrap_or(keys);
                format!("write `[[{keys}]]`, with two brackets, before each {each}")
            });
        let message = if found.path == KeyPath::root() {
            format!("expected {expected}, found {actual}")
        } else {
            format!("`{}` must be {expected}, found {actual}", found.path)
        };
        self.parse_error(found.span.start, Some(&found.path), message, hint)
    }

    /// The text of a file, or an error at the first byte that is not UTF-8.
    pub(crate) fn utf8<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, E> {
        std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            // The valid prefix is text, so it can be measured like any document.
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            let (line, column) = Lines::new(valid).position(valid, valid.len());
            let at = Location {
                path: path.to_path_buf(),
                line,
                column,
            };
            let kind = LocatedKind::Parse {
                message: "the file is not valid UTF-8".to_owned(),
                hint: None,
            };
            E::from(LocatedError::at(at, None, kind))
        })
    }
}

/// The byte offset, within `source`, the text of a quoted one-line string (TOML or JSON), of
/// the character at 1-based `column` of the string's value (one past its end is the closing
/// quote); `None` for a multi-line string, or when a line break or an escape comes first and
/// the source's characters are no longer the value's.
fn char_in_string(source: &str, column: usize) -> Option<usize> {
    if source.starts_with("'''") || source.starts_with("\"\"\"") {
        return None;
    }
    let quote = source.chars().next().filter(|&c| c == '\'' || c == '"')?;
    let mut offset = quote.len_utf8();
    for c in source[offset..].chars().take(column.checked_sub(1)?) {
        if c == quote || c == '\n' || (quote == '"' && c == '\\') {
            return None;
        }
        offset += c.len_utf8();
    }
    Some(offset)
}

/// Keys listed at most in an unknown key's hint; a longer list is noise.
const MAX_LISTED_KEYS: usize = 12;

/// `expected one of: `a`, `b`` for the keys allowed where an unknown one stands, when they are
/// few enough to read.
fn expected_keys(expected: &[&str]) -> Option<String> {
    if expected.is_empty() || expected.len() > MAX_LISTED_KEYS {
        return None;
    }
    let keys: Vec<String> = expected.iter().map(|k| format!("`{k}`")).collect();
    Some(format!("expected one of: {}", keys.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::char_in_string;

    #[test]
    fn columns_of_a_string_value_map_to_its_source() {
        let cases = [
            ("'tool[x'", 1, Some(1)),
            ("'tool[x'", 6, Some(6)),
            // One past the end: the closing quote.
            ("'tool[x'", 7, Some(7)),
            ("'tool[x'", 8, None),
            ("\"é[x\"", 2, Some(3)),
            // An escape before the column: the source no longer lines up.
            ("\"a\\\"b\"", 4, None),
            // An escape after it does not matter.
            ("\"ab\\\"\"", 2, Some(2)),
            ("'a\\b'", 4, Some(4)),
            ("'''tool'''", 1, None),
            ("\"\"\"tool\"\"\"", 1, None),
            ("'ab'", 5, None),
            ("tool", 1, None),
            ("'ab'", 0, None),
        ];
        for (source, column, expected) in cases {
            assert_eq!(
                char_in_string(source, column),
                expected,
                "{source} {column}"
            );
        }
    }
}
