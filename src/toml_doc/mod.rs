//! What the TOML loaders share (the suite loader and the scripted model's script loader): a
//! parsed [`Doc`] that knows where each of its keys is, [`KeyPath`]s as errors show them,
//! line and column of a byte offset, and "did you mean" hints. Every error about a document
//! is a [`LocatedError`] (file, line, column, key and a [`LocatedKind`]), which each loader's
//! own error type wraps, so that both report a key, a line and a column the same way.
//!
//! A JSONL cases file that a suite names is read line by line through the same `Doc`, so that
//! its errors read like the TOML file's.

mod doc;
mod error;
mod hint;
mod index;
mod json;
mod key_path;
mod lines;

pub(crate) use doc::Doc;
pub(crate) use error::{LocatedError, LocatedKind};
pub(crate) use hint::did_you_mean;
pub(crate) use key_path::KeyPath;
