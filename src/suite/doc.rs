//! One parsed file, or one line of a cases file, and the errors that point into it.

use std::cell::OnceCell;
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::DeTable;

use super::error::SuiteLoadError;
use super::hint::{did_you_mean, friendly_type, parse_unknown};
use super::locate::{KeyIndex, KeyPath, Lines};

/// A document being loaded: its text, and where each of its keys is.
pub(super) struct Doc<'a> {
    path: &'a Path,
    text: &'a str,
    /// For a line of a JSONL file, its 1-based number; spans are then offsets in the line.
    line: Option<usize>,
    lines: Lines,
    /// Built up front for TOML, whose parser provides the spans anyway; for a JSON line only
    /// when an error needs it, as most lines of a cases file never do.
    index: OnceCell<KeyIndex>,
}

type Result<T> = std::result::Result<T, SuiteLoadError>;

impl<'a> Doc<'a> {
    /// Parses a TOML file; syntax errors come back with their position.
    pub(super) fn toml(path: &'a Path, text: &'a str) -> Result<(Doc<'a>, Spanned<DeTable<'a>>)> {
        let doc = Doc {
            path,
            text,
            line: None,
            lines: Lines::new(text),
            index: OnceCell::new(),
        };
        let table = DeTable::parse(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            doc.parse_error(span.start, None, e.message().to_owned(), None)
        })?;
        let _ = doc.index.set(KeyIndex::toml(&table));
        Ok((doc, table))
    }

    /// Line `line` (1-based) of a JSONL file, without its line break.
    pub(super) fn json_line(path: &'a Path, text: &'a str, line: usize) -> Doc<'a> {
        Doc {
            path,
            text,
            line: Some(line),
            lines: Lines::new(text),
            index: OnceCell::new(),
        }
    }

    fn index(&self) -> &KeyIndex {
        // Only a JSON line reaches the initializer: a TOML document's index is set on parsing.
        self.index.get_or_init(|| KeyIndex::json(self.text))
    }

    /// The file.
    pub(super) fn path(&self) -> &'a Path {
        self.path
    }

    /// Reads the parsed TOML document into `T`.
    pub(super) fn deserialize<T: DeserializeOwned>(
        &self,
        table: Spanned<DeTable<'a>>,
    ) -> Result<T> {
        T::deserialize(toml::de::Deserializer::from(table))
            .map_err(|e| self.serde_error(e.message(), e.span().unwrap_or(0..0)))
    }

    /// Reads the JSON line into `T`, which must be written as an object.
    pub(super) fn deserialize_json<T: DeserializeOwned>(&self) -> Result<T> {
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

    /// The 1-based line and column of the value at `path` (or of its nearest ancestor).
    pub(super) fn locate(&self, path: &KeyPath) -> (usize, usize) {
        self.position(self.index().value_span(path).start)
    }

    fn parse_error(
        &self,
        offset: usize,
        key: Option<&KeyPath>,
        message: String,
        hint: Option<String>,
    ) -> SuiteLoadError {
        let (line, column) = self.position(offset);
        SuiteLoadError::Parse {
            path: self.path.to_path_buf(),
            line,
            column,
            key: key.map(ToString::to_string),
            message,
            hint,
        }
    }

    /// A required key that is absent; `why` says what it is for.
    pub(super) fn missing(&self, path: &KeyPath, why: &str) -> SuiteLoadError {
        let offset = self.index().value_span(path).start;
        let message = format!("missing required key `{path}`: {why}");
        self.parse_error(offset, Some(path), message, None)
    }

    /// A value that is not acceptable at `path`.
    pub(super) fn invalid(&self, path: &KeyPath, message: impl Into<String>) -> SuiteLoadError {
        self.invalid_with_hint(path, message, None)
    }

    /// [`Doc::invalid`] with a suggestion.
    pub(super) fn invalid_with_hint(
        &self,
        path: &KeyPath,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> SuiteLoadError {
        let (line, column) = self.locate(path);
        SuiteLoadError::Invalid {
            path: self.path.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            message: message.into(),
            hint,
        }
    }

    /// A key of the design that this version does not implement.
    pub(super) fn unsupported_key(&self, path: &KeyPath) -> SuiteLoadError {
        self.unsupported(path, format!("`{path}`"))
    }

    /// Something at `path`, described by `feature`, that this version does not implement.
    pub(super) fn unsupported(&self, path: &KeyPath, feature: String) -> SuiteLoadError {
        let (line, column) = self.locate(path);
        SuiteLoadError::Unsupported {
            path: self.path.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            feature,
        }
    }

    /// A regex at `path` that does not compile.
    pub(super) fn regex(&self, path: &KeyPath, source: regex::Error) -> SuiteLoadError {
        let (line, column) = self.locate(path);
        SuiteLoadError::Regex {
            path: self.path.to_path_buf(),
            line,
            column,
            key: path.to_string(),
            source,
        }
    }

    /// Turns a serde message about the bytes at `span` into an error naming the key.
    fn serde_error(&self, message: &str, span: Range<usize>) -> SuiteLoadError {
        let found = self.index().find(&span);
        if let Some(unknown) = parse_unknown(message) {
            let hint = did_you_mean(unknown.name, unknown.expected.iter().copied());
            if unknown.what == "field" {
                let key = if found.on_key && found.path.last_key() == Some(unknown.name) {
                    found.path
                } else {
                    found.path.key(unknown.name)
                };
                let (line, column) = self.position(found.span.start);
                return SuiteLoadError::UnknownKey {
                    path: self.path.to_path_buf(),
                    line,
                    column,
                    key: key.to_string(),
                    hint,
                };
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
        // `[case]` for `[[case]]` is the likely slip of a first suite; `[tool]` likewise.
        let hint = ["case", "tool"]
            .into_iter()
            .find(|&key| found.path == KeyPath::root().key(key) && actual == "table")
            .map(|key| format!("write `[[{key}]]`, with two brackets, before each {key}"));
        let message = if found.path == KeyPath::root() {
            format!("expected {expected}, found {actual}")
        } else {
            format!("`{}` must be {expected}, found {actual}", found.path)
        };
        self.parse_error(found.span.start, Some(&found.path), message, hint)
    }
}

/// The text of a file, or an error at the first byte that is not UTF-8.
pub(super) fn utf8<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = &bytes[..e.valid_up_to()];
        // The valid prefix is text, so it can be measured like any document.
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let (line, column) = Lines::new(valid).position(valid, valid.len());
        SuiteLoadError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            key: None,
            message: "the file is not valid UTF-8".to_owned(),
            hint: None,
        }
    })
}
