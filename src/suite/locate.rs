//! Where keys are in a file: dotted key paths, and the byte spans of every key and value.
//!
//! Serde reports a byte offset and a message; validation knows a key path. A [`KeyIndex`] of
//! the document maps between the two, so every error names the key, the line and the column,
//! for TOML files and JSONL case lines alike.

use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A dotted key path such as `case[2].expect.output-regex` (array indices are 0-based).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The document itself.
    pub(super) fn root() -> KeyPath {
        KeyPath::default()
    }

    /// This path followed by `key`.
    pub(super) fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    /// This path followed by an array index.
    pub(super) fn index(&self, index: usize) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// The last key of the path, if the path ends with a key.
    pub(super) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    fn depth(&self) -> usize {
        self.0.len()
    }
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
                    if bare {
                        f.write_str(key)?;
                    } else {
                        // TOML's quoting: `pricing."gpt-4.1"`.
                        write!(f, "{key:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A key or array element and where it is.
#[derive(Debug, Clone)]
struct Entry {
    path: KeyPath,
    /// The key's bytes; `None` for an array element.
    key: Option<Range<usize>>,
    /// The value's bytes. For a TOML `[table]` this is its header.
    value: Range<usize>,
}

/// Every key and array element of one document, with its span.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyIndex {
    entries: Vec<Entry>,
    /// Entry of each path: validation locates a key per case, which must not cost a scan.
    by_path: HashMap<KeyPath, usize>,
}

/// A document position a serde error pointed at, resolved to a key.
#[derive(Debug, PartialEq)]
pub(super) struct Found {
    /// The key whose key or value holds the position; the root when none does.
    pub(super) path: KeyPath,
    /// The position is on the key itself rather than on its value.
    pub(super) on_key: bool,
    /// The span of that key or value: where the error is best shown.
    pub(super) span: Range<usize>,
}

impl KeyIndex {
    /// The keys of a parsed TOML document.
    pub(super) fn toml(document: &Spanned<DeTable<'_>>) -> KeyIndex {
        let mut entries = vec![Entry {
            path: KeyPath::root(),
            key: None,
            value: document.span(),
        }];
        index_table(&KeyPath::root(), document.get_ref(), &mut entries);
        KeyIndex::new(entries)
    }

    /// The keys of one JSON value, such as a JSONL line. Best effort on malformed text, which
    /// serde_json has rejected already: the positions before the error are what matter.
    pub(super) fn json(text: &str) -> KeyIndex {
        JsonScanner::default().scan(text)
    }

    fn new(entries: Vec<Entry>) -> KeyIndex {
        let mut by_path = HashMap::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            // A key given twice (malformed JSON) is shown where it first appears.
            by_path.entry(entry.path.clone()).or_insert(i);
        }
        KeyIndex { entries, by_path }
    }

    /// The span of the value at `path`, or of its nearest ancestor that exists.
    pub(super) fn value_span(&self, path: &KeyPath) -> Range<usize> {
        let mut path = path.clone();
        loop {
            if let Some(&i) = self.by_path.get(&path) {
                return self.entries[i].value.clone();
            }
            if path.0.pop().is_none() {
                return 0..0;
            }
        }
    }

    /// The key at `span`: the deepest key or value with exactly this span, else the deepest
    /// one containing its start.
    pub(super) fn find(&self, span: &Range<usize>) -> Found {
        let deepest = |on_key: bool, hit: &dyn Fn(&Range<usize>) -> bool| {
            self.entries
                .iter()
                .filter(|entry| match (on_key, &entry.key) {
                    (true, Some(key)) => hit(key),
                    (true, None) => false,
                    (false, _) => hit(&entry.value),
                })
                .max_by_key(|entry| entry.path.depth())
                .map(|entry| Found {
                    path: entry.path.clone(),
                    on_key,
                    span: match (on_key, &entry.key) {
                        (true, Some(key)) => key.clone(),
                        _ => entry.value.clone(),
                    },
                })
        };
        let exact = |range: &Range<usize>| range == span;
        let contains = |range: &Range<usize>| range.contains(&span.start);
        deepest(true, &exact)
            .or_else(|| deepest(false, &exact))
            .or_else(|| deepest(true, &contains))
            .or_else(|| deepest(false, &contains))
            .unwrap_or(Found {
                path: KeyPath::root(),
                on_key: false,
                span: span.clone(),
            })
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
        DeValue::Array(array) => {
            for (i, item) in array.iter().enumerate() {
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

/// The containers open at the scanner's position.
#[derive(Debug)]
struct Open {
    /// Index of the container's entry.
    entry: usize,
    /// `Some(next index)` for an array; `None` for an object.
    next_index: Option<usize>,
    /// The object key of the current member, with its span; cleared by the next `,`.
    key: Option<(String, Range<usize>)>,
}

/// Containers nested deeper than this are not indexed: serde_json refuses them anyway, and
/// paths as long as the nesting would make indexing quadratic in the line's length.
const MAX_JSON_DEPTH: usize = 128;

#[derive(Debug, Default)]
struct JsonScanner {
    entries: Vec<Entry>,
    open: Vec<Open>,
    /// Containers open beyond [`MAX_JSON_DEPTH`].
    too_deep: usize,
}

impl JsonScanner {
    fn scan(mut self, text: &str) -> KeyIndex {
        let bytes = text.as_bytes();
        let mut at = 0;
        while at < bytes.len() {
            let opens = matches!(bytes[at], b'{' | b'[');
            if self.too_deep > 0 || (opens && self.open.len() >= MAX_JSON_DEPTH) {
                // Skip to where the nesting is shallow again, minding brackets in strings.
                at = match bytes[at] {
                    b'"' => string_end(bytes, at),
                    b'{' | b'[' => {
                        self.too_deep += 1;
                        at + 1
                    }
                    b'}' | b']' => {
                        self.too_deep -= 1;
                        at + 1
                    }
                    _ => at + 1,
                };
                continue;
            }
            at = match bytes[at] {
                b' ' | b'\t' | b'\n' | b'\r' | b':' => at + 1,
                b',' => {
                    if let Some(open) = self.open.last_mut() {
                        open.key = None;
                        if let Some(next) = &mut open.next_index {
                            *next += 1;
                        }
                    }
                    at + 1
                }
                b'}' | b']' => {
                    if let Some(open) = self.open.pop() {
                        self.entries[open.entry].value.end = at + 1;
                    }
                    at + 1
                }
                b'"' => {
                    let end = string_end(bytes, at);
                    let expecting_key = self
                        .open
                        .last()
                        .is_some_and(|open| open.next_index.is_none() && open.key.is_none());
                    if let (true, Some(open)) = (expecting_key, self.open.last_mut()) {
                        let raw = text.get(at..end).unwrap_or_default();
                        let key = serde_json::from_str::<String>(raw)
                            .unwrap_or_else(|_| raw.trim_matches('"').to_owned());
                        open.key = Some((key, at..end));
                    } else {
                        self.value(at..end);
                    }
                    end
                }
                b'{' | b'[' => {
                    let entry = self.value(at..at + 1);
                    self.open.push(Open {
                        entry,
                        next_index: (bytes[at] == b'[').then_some(0),
                        key: None,
                    });
                    at + 1
                }
                _ => {
                    let end = bytes[at..]
                        .iter()
                        .position(|b| b",]} \t\n\r".contains(b))
                        .map_or(bytes.len(), |n| at + n);
                    self.value(at..end);
                    end
                }
            };
        }
        KeyIndex::new(self.entries)
    }

    /// Records a value starting at `span.start`; returns its entry.
    fn value(&mut self, span: Range<usize>) -> usize {
        let (path, key) = match self.open.last_mut() {
            None => (KeyPath::root(), None),
            Some(open) => {
                let parent = &self.entries[open.entry].path;
                match (&open.next_index, &open.key) {
                    (Some(index), _) => (parent.index(*index), None),
                    (None, Some((key, key_span))) => (parent.key(key), Some(key_span.clone())),
                    // A value where a key belongs: malformed, keep it under the object.
                    (None, None) => (parent.clone(), None),
                }
            }
        };
        self.entries.push(Entry {
            path,
            key,
            value: span,
        });
        self.entries.len() - 1
    }
}

/// The byte after the string starting with the quote at `start` (or the end of the text).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut at = start + 1;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' => at += 2,
            b'"' => return at + 1,
            _ => at += 1,
        }
    }
    bytes.len()
}

/// Where the lines of a text start, to turn byte offsets into lines and columns without
/// rescanning the text for each (a suite locates every one of its cases).
#[derive(Debug, Clone)]
pub(super) struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub(super) fn new(text: &str) -> Lines {
        let breaks = text.bytes().enumerate().filter(|&(_, b)| b == b'\n');
        let starts = std::iter::once(0)
            .chain(breaks.map(|(i, _)| i + 1))
            .collect();
        Lines { starts }
    }

    /// The 1-based line and column (in characters) of byte `offset` of `text`, the text these
    /// lines were made from.
    pub(super) fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&start| start <= offset).max(1);
        let start = self.starts[line - 1];
        // Count characters without slicing inside one: skip UTF-8 continuation bytes.
        let bytes = text.as_bytes().get(start..offset).unwrap_or_default();
        let column = bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count() + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(parts: &[&str]) -> KeyPath {
        parts
            .iter()
            .fold(KeyPath::root(), |path, part| match part.parse() {
                Ok(index) => path.index(index),
                Err(_) => path.key(part),
            })
    }

    #[test]
    fn key_paths_display_like_toml() {
        let cases = [
            (path(&[]), ""),
            (path(&["trials"]), "trials"),
            (
                path(&["case", "2", "expect", "output-regex"]),
                "case[2].expect.output-regex",
            ),
            (
                path(&["pricing", "gpt-4.1", "input"]),
                "pricing.\"gpt-4.1\".input",
            ),
            (
                path(&["expect", "tools", "0", "name"]),
                "expect.tools[0].name",
            ),
            (path(&["env", ""]), "env.\"\""),
        ];
        for (path, expected) in cases {
            assert_eq!(path.to_string(), expected);
        }
    }

    #[test]
    fn toml_spans_resolve_to_keys() {
        let text = "trials = 3\n[[case]]\nid = 'a'\n[case.expect]\ntools = [{ name = 'x' }, { nam = 'y' }]\n";
        let document = DeTable::parse(text).unwrap();
        let index = KeyIndex::toml(&document);
        // The last occurrence: `nam` is also the start of `name`.
        let span_of = |needle: &str| {
            let start = text.rfind(needle).unwrap();
            start..start + needle.len()
        };
        let cases = [
            ("trials", "trials", true),
            ("3", "trials", false),
            ("[[case]]", "case[0]", false),
            ("'a'", "case[0].id", false),
            ("[case.expect]", "case[0].expect", false),
            ("nam", "case[0].expect.tools[1].nam", true),
            ("{ nam = 'y' }", "case[0].expect.tools[1]", false),
        ];
        for (needle, expected, on_key) in cases {
            let found = index.find(&span_of(needle));
            assert_eq!(found.path.to_string(), expected, "{needle}");
            assert_eq!(found.on_key, on_key, "{needle}");
        }
        let value = index.value_span(&path(&["case", "0", "expect", "tools", "1", "args"]));
        assert_eq!(&text[value], "{ nam = 'y' }");
        assert_eq!(index.value_span(&path(&["nowhere"])), 0..0);
    }

    #[test]
    fn json_offsets_resolve_to_keys() {
        let text = r#"{"id": "a\"b", "input": [1, {"k": null}], "expect": {"spanz": 1, "tools": [{"name": 2}]}}"#;
        let index = KeyIndex::json(text);
        let cases = [
            (r#""spanz""#, "expect.spanz", true),
            ("2", "expect.tools[0].name", false),
            ("null", "input[1].k", false),
            (r#""a\"b""#, "id", false),
            ("{", "", false),
        ];
        for (needle, expected, on_key) in cases {
            // serde_json reports the last byte of the offending token.
            let start = text.find(needle).unwrap();
            let last = start + needle.len() - 1;
            let found = index.find(&(last..last + 1));
            assert_eq!(found.path.to_string(), expected, "{needle}");
            assert_eq!(found.on_key, on_key, "{needle}");
        }
        let tools = index.value_span(&path(&["expect", "tools"]));
        assert_eq!(&text[tools], r#"[{"name": 2}]"#);
    }

    #[test]
    fn deep_json_is_indexed_down_to_the_depth_limit() {
        let depth = 100_000;
        let text = format!(
            "{{\"a\": {}\"]\"{}, \"b\": 1}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let index = KeyIndex::json(&text);
        assert_eq!(index.entries.len(), MAX_JSON_DEPTH + 1);
        let b = text.rfind('1').unwrap();
        assert_eq!(index.find(&(b..b + 1)).path.to_string(), "b");
    }

    #[test]
    fn malformed_json_does_not_panic() {
        for text in [
            "",
            "{",
            "}",
            "]]",
            r#"{"a"#,
            r#"{"a": "#,
            r#"{"a": [1, {"#,
            "\"\\",
            r#"{1: 2}"#,
            "ü{\"é\": ü}",
        ] {
            let index = KeyIndex::json(text);
            let _ = index.find(&(0..text.len()));
            let _ = index.value_span(&path(&["a", "0"]));
        }
    }

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let text = "a = 1\nbé = 'ü'\n\nlast";
        let cases = [
            (0, (1, 1)),
            (4, (1, 5)),
            (6, (2, 1)),
            (10, (2, 4)),
            (17, (3, 1)),
            (18, (4, 1)),
            (99, (4, 5)),
        ];
        let lines = Lines::new(text);
        for (offset, expected) in cases {
            assert_eq!(lines.position(text, offset), expected, "offset {offset}");
        }
        assert_eq!(Lines::new("").position("", 0), (1, 1));
    }
}
