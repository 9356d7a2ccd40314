//! The comparison document rendered for people: the terminal display and the Markdown of a PR
//! comment or a GitHub step summary. Both read [`Document`](super::document::Document) only.

pub(crate) mod format;
pub(crate) mod markdown;
pub(crate) mod terminal;

#[cfg(test)]
mod sample;
#[cfg(test)]
mod tests;
