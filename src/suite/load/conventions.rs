//! `[conventions]` tables (a suite's or `traceval.toml`'s) into compiled [`Conventions`].

use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use super::super::doc::{ARRAY_TABLES, Doc};
use super::super::raw::{RawConventions, RawKindRule};
use super::{Result, read};
use crate::suite::SuiteLoadError;
use crate::toml_doc::KeyPath;
use crate::trace::{Conventions, KindRule, NameMatch};

/// The name matchers of a kind rule, of which it takes at most one.
const NAME_KEYS: &str = "`name`, `name-prefix` or `name-regex`";

/// Checks and compiles a `[conventions]` table at `at`.
pub(in crate::suite) fn conventions(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: RawConventions,
) -> Result<Conventions> {
    let rules = raw
        .kind
        .into_iter()
        .enumerate()
        .map(|(i, rule)| kind_rule(doc, &at.key("kind").index(i), rule))
        .collect::<Result<Vec<_>>>()?;
    let fields = raw.fields.into_concepts();
    for (concept, keys) in &fields {
        let at = at.key("fields").key(concept.as_str());
        if keys.is_empty() {
            let message = "must list at least one attribute key, e.g. [\"acme.tool\"]";
            return Err(doc.invalid(&at, message));
        }
        if let Some(i) = keys.iter().position(|key| key.trim().is_empty()) {
            return Err(doc.invalid(&at.index(i), "an attribute key must not be empty"));
        }
    }
    Ok(Conventions::new(rules, fields))
}

fn kind_rule(doc: &Doc<'_>, at: &KeyPath, raw: RawKindRule) -> Result<KindRule> {
    let mut names: Vec<(&str, String)> = [
        ("name", raw.name),
        ("name-prefix", raw.name_prefix),
        ("name-regex", raw.name_regex),
    ]
    .into_iter()
    .filter_map(|(key, value)| Some((key, value?)))
    .collect();
    if names.len() > 1 {
        // Shown at the second of them in the file: the first one may well be the intended.
        names.sort_by_key(|(key, _)| doc.locate(&at.key(key)));
        let message = format!(
            "a rule matches the span name one way: give one of {NAME_KEYS} (add `attr` to \
             require attributes too)"
        );
        return Err(doc.invalid(&at.key(names[1].0), message));
    }
    let name = match names.pop() {
        None => None,
        Some((key, value)) if value.is_empty() => {
            let message = "must not be empty: it would match every span";
            return Err(doc.invalid(&at.key(key), message));
        }
        Some(("name", value)) => Some(NameMatch::Exact(value)),
        Some(("name-prefix", value)) => Some(NameMatch::Prefix(value)),
        Some((key, value)) => {
            let regex = Regex::new(&value).map_err(|e| doc.regex(&at.key(key), e))?;
            Some(NameMatch::Regex(regex))
        }
    };
    let attrs: Vec<(String, String)> = match raw.attr {
        None => Vec::new(),
        Some(attrs) if attrs.is_empty() => {
            let message = "must name at least one attribute, e.g. { \"acme.kind\" = \"tool\" }";
            return Err(doc.invalid(&at.key("attr"), message));
        }
        Some(attrs) => attrs
            .into_iter()
            .map(|(key, value)| (key, value.0))
            .collect(),
    };
    if let Some((key, _)) = attrs.iter().find(|(key, _)| key.trim().is_empty()) {
        let at = at.key("attr").key(key);
        return Err(doc.invalid(&at, "an attribute key must not be empty"));
    }
    if name.is_none() && attrs.is_empty() {
        let message = format!(
            "a rule needs something to match: {NAME_KEYS} for the span name, or `attr`, e.g. \
             attr = {{ \"acme.kind\" = \"tool\" }}"
        );
        return Err(doc.invalid(at, message));
    }
    Ok(KindRule {
        kind: raw.kind,
        name,
        attrs,
    })
}

/// The `[conventions]` table of a TOML file, such as a suite or `traceval.toml`, whatever
/// else the file holds (`traceval inspect --conventions FILE`); a file without one is an
/// error, as the flag would then do nothing.
pub(crate) fn load_conventions(path: &Path) -> Result<Conventions> {
    /// Only the table wanted: the file's other keys are the business of its own loader.
    #[derive(Deserialize)]
    struct OnlyConventions {
        conventions: Option<RawConventions>,
    }

    let bytes = read(path)?;
    let text = Doc::utf8(path, &bytes)?;
    let (doc, table) = Doc::toml(path, text, ARRAY_TABLES)?;
    let raw: OnlyConventions = doc.deserialize(table)?;
    let Some(raw) = raw.conventions else {
        return Err(SuiteLoadError::NoConventions {
            path: path.to_path_buf(),
        });
    };
    conventions(&doc, &KeyPath::root().key("conventions"), raw)
}
