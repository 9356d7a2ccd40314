//! The trace-shape snapshot keys: `snapshot-attrs`, `snapshot-ignore` and `collapse-repeats`, at
//! the top of a suite (defaults for its cases) and in a case's `[case.expect]` beside
//! `snapshot = true` (each given key replaces the suite's).

use super::super::doc::Doc;
use super::{Result, selector};
use crate::toml_doc::KeyPath;
use crate::trace::query::Selector;
use crate::trace::shape::{ShapeAttr, ShapeOptions};

/// The snapshot keys of a suite or of a case, checked; `None` where a key is absent.
#[derive(Debug, Clone, Default)]
pub(super) struct SnapshotKeys {
    attrs: Option<Vec<ShapeAttr>>,
    ignore: Option<Vec<Selector>>,
    collapse_repeats: Option<bool>,
}

/// The keys as written, where they are.
pub(super) struct RawSnapshotKeys<'a> {
    pub(super) at: &'a KeyPath,
    pub(super) attrs: Option<Vec<String>>,
    pub(super) ignore: Option<Vec<String>>,
    pub(super) collapse_repeats: Option<bool>,
}

impl SnapshotKeys {
    /// Checks the keys: attribute names non-empty and named once, selectors that parse.
    pub(super) fn check(doc: &Doc<'_>, raw: RawSnapshotKeys<'_>) -> Result<SnapshotKeys> {
        let at = raw.at;
        let attrs = raw
            .attrs
            .map(|names| {
                let at = at.key("snapshot-attrs");
                let mut attrs: Vec<ShapeAttr> = Vec::with_capacity(names.len());
                for (i, name) in names.into_iter().enumerate() {
                    if name.trim().is_empty() {
                        let message = "an attribute name must not be empty: write a field \
                                       (operation, tool, model, provider, agent, error) or an \
                                       attribute key";
                        return Err(doc.invalid(&at.index(i), message));
                    }
                    let attr: ShapeAttr = name.parse().expect("infallible");
                    if attrs.contains(&attr) {
                        let message = format!("`{name}` is named twice");
                        return Err(doc.invalid(&at.index(i), message));
                    }
                    attrs.push(attr);
                }
                Ok(attrs)
            })
            .transpose()?;
        let ignore = raw
            .ignore
            .map(|selectors| {
                let at = at.key("snapshot-ignore");
                selectors
                    .iter()
                    .enumerate()
                    .map(|(i, text)| selector(doc, &at.index(i), text))
                    .collect::<Result<Vec<_>>>()
            })
            .transpose()?;
        Ok(SnapshotKeys {
            attrs,
            ignore,
            collapse_repeats: raw.collapse_repeats,
        })
    }

    /// The first key given, for an error about keys that have no effect.
    pub(super) fn first_given(&self) -> Option<&'static str> {
        [
            ("snapshot-attrs", self.attrs.is_some()),
            ("snapshot-ignore", self.ignore.is_some()),
            ("collapse-repeats", self.collapse_repeats.is_some()),
        ]
        .into_iter()
        .find_map(|(key, given)| given.then_some(key))
    }

    /// A case's shape options: its own keys, else the suite's, else the defaults.
    pub(super) fn over(self, suite: &SnapshotKeys) -> ShapeOptions {
        let defaults = ShapeOptions::default();
        ShapeOptions {
            attrs: self
                .attrs
                .or_else(|| suite.attrs.clone())
                .unwrap_or(defaults.attrs),
            collapse_repeats: self
                .collapse_repeats
                .or(suite.collapse_repeats)
                .unwrap_or(defaults.collapse_repeats),
            ignore: self
                .ignore
                .or_else(|| suite.ignore.clone())
                .unwrap_or(defaults.ignore),
            keep_retries: defaults.keep_retries,
        }
    }
}
