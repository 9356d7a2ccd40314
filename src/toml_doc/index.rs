//! Where every key and value of a document is: serde reports a byte span and a message,
//! validation knows a key path, and a [`KeyIndex`] maps between the two.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::key_path::KeyPath;

/// A key or array element and where it is.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) path: KeyPath,
    /// The key's bytes; `None` for an array element.
    pub(super) key: Option<Range<usize>>,
    /// The value's bytes. For a TOML `[table]` this is its header.
    pub(super) value: Range<usize>,
}

/// Every key and array element of one document, with its span.
#[derive(Debug, Clone, Default)]
pub(super) struct KeyIndex {
    pub(super) entries: Vec<Entry>,
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

    pub(super) fn new(entries: Vec<Entry>) -> KeyIndex {
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
            if !path.pop() {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::toml_doc::key_path::path;

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
}
