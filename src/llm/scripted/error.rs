//! [`ScriptError`]: everything that can be wrong with a scripted model's script. Like suite
//! errors, an error in the script is a [`LocatedError`]: it names the file, the 1-based line
//! and column (in characters) and the key as a dotted path with 0-based indices
//! (`rule[2].when.user`), with a hint where one helps.

use std::path::PathBuf;

pub(crate) use crate::toml_doc::LocatedError;

/// A script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ScriptError {
    /// The file could not be read.
    #[error("cannot read script `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Something wrong at a key or position of the script: bad syntax or types, an unknown
    /// key (an ignored condition would make a rule match more than its author meant), an
    /// invalid value (a rule with two answers, a weight of zero, a template naming a capture
    /// no regex of its rule defines) or a `when` regex that does not compile.
    #[error(transparent)]
    Located(#[from] LocatedError),
}

impl ScriptError {
    /// What the author may have meant, e.g. ``did you mean `user`?``.
    pub(crate) fn hint(&self) -> Option<&str> {
        match self {
            ScriptError::Located(located) => located.hint(),
            ScriptError::Read { .. } => None,
        }
    }

    /// The script file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        match self {
            ScriptError::Read { path, .. } => path,
            ScriptError::Located(located) => &located.path,
        }
    }
}
