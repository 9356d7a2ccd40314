//! The suite loader's [`Doc`]: the shared TOML document, reporting [`SuiteLoadError`]s.

use super::error::SuiteLoadError;
use crate::toml_doc;

/// A suite, project or cases file being loaded.
pub(super) type Doc<'a> = toml_doc::Doc<'a, SuiteLoadError>;
