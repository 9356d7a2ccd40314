//! The terminal display of a comparison (stderr; colour rules as `run`).

use crate::compare::document::Document;

/// The comparison as the terminal shows it; `color` adds ANSI colours (never the only carrier of
/// meaning).
pub(crate) fn terminal(doc: &Document, color: bool) -> String {
    let _ = (doc, color);
    String::new()
}
