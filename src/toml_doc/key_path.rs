//! Key paths as errors show them: `case[2].expect.output-regex`, `rule[0].when.user`.

use std::fmt;

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A dotted key path such as `case[2].expect.output-regex` (array indices are 0-based).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct KeyPath(Vec<Segment>);

impl KeyPath {
    /// The document itself.
    pub(crate) fn root() -> KeyPath {
        KeyPath::default()
    }

    /// This path followed by `key`.
    pub(crate) fn key(&self, key: &str) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Key(key.to_owned()));
        path
    }

    /// This path followed by an array index.
    pub(crate) fn index(&self, index: usize) -> KeyPath {
        let mut path = self.clone();
        path.0.push(Segment::Index(index));
        path
    }

    /// The last key of the path, if the path ends with a key.
    pub(crate) fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(key)) => Some(key),
            _ => None,
        }
    }

    /// True when the keys of the path, its indices left out, are the dotted `keys`: the path
    /// `case[0].expect.span` is `case.expect.span`.
    pub(crate) fn has_keys(&self, keys: &str) -> bool {
        let mine = self.0.iter().filter_map(|segment| match segment {
            Segment::Key(key) => Some(key.as_str()),
            Segment::Index(_) => None,
        });
        mine.eq(keys.split('.'))
    }

    pub(super) fn depth(&self) -> usize {
        self.0.len()
    }

    /// Drops the last step; false when the path is the root already.
    pub(super) fn pop(&mut self) -> bool {
        self.0.pop().is_some()
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

/// A path from its steps, a step that parses as a number being an index.
#[cfg(test)]
pub(super) fn path(parts: &[&str]) -> KeyPath {
    parts
        .iter()
        .fold(KeyPath::root(), |path, part| match part.parse() {
            Ok(index) => path.index(index),
            Err(_) => path.key(part),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_compared_without_indices() {
        let cases = [
            (
                path(&["case", "0", "expect", "span"]),
                "case.expect.span",
                true,
            ),
            (path(&["case"]), "case", true),
            (path(&["case", "0"]), "case", true),
            (path(&["case", "0", "expect"]), "case.expect.span", false),
            (path(&["expect", "span"]), "case.expect.span", false),
            (path(&[]), "", false),
        ];
        for (path, keys, expected) in cases {
            assert_eq!(path.has_keys(keys), expected, "{path} {keys}");
        }
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
            (
                path(&["rule", "0", "tool-calls", "1", "args", "a b"]),
                "rule[0].tool-calls[1].args.\"a b\"",
            ),
        ];
        for (path, expected) in cases {
            assert_eq!(path.to_string(), expected);
        }
    }
}
