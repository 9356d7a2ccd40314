//! The suite loader's [`Doc`]: the shared TOML document, reporting [`SuiteLoadError`]s.

use super::error::SuiteLoadError;
use crate::toml_doc;

/// A suite, project or cases file being loaded.
pub(super) type Doc<'a> = toml_doc::Doc<'a, SuiteLoadError>;

/// The arrays of tables of a suite or `traceval.toml` (dotted keys, indices left out): `[case]`
/// written for `[[case]]` gets a hint.
pub(super) const ARRAY_TABLES: &[&str] = &[
    "case",
    "tool",
    "case.expect.span",
    "case.expect.judge",
    "conventions.kind",
];
