//! The suite loader's [`Doc`]: the shared TOML document, reporting [`SuiteLoadError`]s, plus
//! the one error only suites have (keys of the design this version does not implement).

use super::error::SuiteLoadError;
use crate::toml_doc::{self, KeyPath};

/// A suite, project or cases file being loaded.
pub(super) type Doc<'a> = toml_doc::Doc<'a, SuiteLoadError>;

impl Doc<'_> {
    /// A key of the design that this version does not implement.
    pub(super) fn unsupported_key(&self, path: &KeyPath) -> SuiteLoadError {
        self.unsupported(path, format!("`{path}`"))
    }

    /// Something at `path`, described by `feature`, that this version does not implement.
    pub(super) fn unsupported(&self, path: &KeyPath, feature: String) -> SuiteLoadError {
        let at = self.location_of(path);
        SuiteLoadError::Unsupported {
            path: at.path,
            line: at.line,
            column: at.column,
            key: path.to_string(),
            feature,
        }
    }
}
