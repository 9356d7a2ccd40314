//! [`ScriptError`]: everything that can be wrong with a scripted model's script. Like suite
//! errors, each names the file, the 1-based line and column (in characters) and the key as a
//! dotted path with 0-based indices (`rule[2].when.user`), with a hint where one helps.

use std::path::{Path, PathBuf};

/// A script could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    /// The file could not be read.
    #[error("cannot read script `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or UTF-8, a key has the wrong type, or a required key is
    /// missing.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key, when the problem is in a key or its value.
        key: Option<String>,
        /// What is wrong.
        message: String,
        /// A suggestion, such as the accepted value closest to a misspelled one.
        hint: Option<String>,
    },
    /// A key that does not exist at this place: an ignored condition would make a rule match
    /// more than its author meant.
    #[error("{}:{line}:{column}: unknown key `{key}`", path.display())]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// `did you mean …?` when an allowed key is close.
        hint: Option<String>,
    },
    /// A value of the right type that is not acceptable: a rule with two answers, a weight of
    /// zero, a template naming a capture no regex of its rule defines.
    #[error("{}:{line}:{column}: invalid `{key}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// What is wrong and what is accepted.
        message: String,
        /// A suggestion, such as the capture name closest to a misspelled one.
        hint: Option<String>,
    },
    /// A `when` regex that does not compile.
    #[error("{}:{line}:{column}: `{key}` is not a valid regex", path.display())]
    Regex {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// The regex crate's explanation, which points into the pattern.
        #[source]
        source: regex::Error,
    },
}

impl ScriptError {
    /// What the author may have meant, e.g. ``did you mean `user`?``.
    pub fn hint(&self) -> Option<&str> {
        match self {
            ScriptError::Parse { hint, .. }
            | ScriptError::UnknownKey { hint, .. }
            | ScriptError::Invalid { hint, .. } => hint.as_deref(),
            ScriptError::Read { .. } | ScriptError::Regex { .. } => None,
        }
    }

    /// The script file.
    pub fn path(&self) -> &Path {
        match self {
            ScriptError::Read { path, .. }
            | ScriptError::Parse { path, .. }
            | ScriptError::UnknownKey { path, .. }
            | ScriptError::Invalid { path, .. }
            | ScriptError::Regex { path, .. } => path,
        }
    }
}

// No array-table hint: a script's `[rule]` for `[[rule]]` keeps the error it always had.
crate::toml_doc::impl_located_error!(ScriptError, array_tables = []);
