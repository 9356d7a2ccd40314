//! The [`KeyIndex`] of one JSON value, such as a line of a JSONL cases file, so that its errors
//! name keys, lines and columns as a TOML file's do.

use std::ops::Range;

use super::index::{Entry, KeyIndex};
use super::key_path::KeyPath;

impl KeyIndex {
    /// The keys of one JSON value, such as a JSONL line. Best effort on malformed text, which
    /// serde_json has rejected already: the positions before the error are what matter.
    pub(super) fn json(text: &str) -> KeyIndex {
        JsonScanner::default().scan(text)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toml_doc::key_path::path;

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
}
