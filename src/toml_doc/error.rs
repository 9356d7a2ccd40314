//! The located errors a loader reports through a [`Doc`](super::Doc). Each loader keeps its
//! own public error enum (`SuiteLoadError`, `ScriptError`), and both spell the located
//! variants the same way: [`impl_located_error!`] builds them, so that the wording and the
//! positions come from one place.

use std::path::PathBuf;

/// Where an error is: the file and the 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// A loader's error type, as far as a [`Doc`](super::Doc) needs to build it.
pub(crate) trait LocatedError {
    /// Dotted keys (indices left out) that take arrays of tables: `[case]` written for
    /// `[[case]]` gets a hint, and `[case.expect.span]` for `[[case.expect.span]]`.
    const ARRAY_TABLES: &'static [&'static str];

    /// Bad syntax, a wrong type or a missing key.
    fn parse(at: Location, key: Option<String>, message: String, hint: Option<String>) -> Self;

    /// A key that does not exist at this place.
    fn unknown_key(at: Location, key: String, hint: Option<String>) -> Self;

    /// A value of the right type that is not acceptable.
    fn invalid(at: Location, key: String, message: String, hint: Option<String>) -> Self;

    /// A regex that does not compile.
    fn regex(at: Location, key: String, source: regex::Error) -> Self;
}

/// Implements [`LocatedError`] for an enum with the variants `Parse`, `UnknownKey`, `Invalid`
/// and `Regex`, whose fields are `path`, `line`, `column` and `key` plus `message`, `hint` or
/// `source`; the array-table keys follow the type.
macro_rules! impl_located_error {
    ($error:ident, array_tables = [$($key:literal),* $(,)?]) => {
        impl $crate::toml_doc::LocatedError for $error {
            const ARRAY_TABLES: &'static [&'static str] = &[$($key),*];

            fn parse(
                at: $crate::toml_doc::Location,
                key: Option<String>,
                message: String,
                hint: Option<String>,
            ) -> Self {
                $crate::toml_doc::impl_located_error!(@at $error::Parse, at, key, message, hint)
            }

            fn unknown_key(
                at: $crate::toml_doc::Location,
                key: String,
                hint: Option<String>,
            ) -> Self {
                $crate::toml_doc::impl_located_error!(@at $error::UnknownKey, at, key, hint)
            }

            fn invalid(
                at: $crate::toml_doc::Location,
                key: String,
                message: String,
                hint: Option<String>,
            ) -> Self {
                $crate::toml_doc::impl_located_error!(@at $error::Invalid, at, key, message, hint)
            }

            fn regex(
                at: $crate::toml_doc::Location,
                key: String,
                source: regex::Error,
            ) -> Self {
                $crate::toml_doc::impl_located_error!(@at $error::Regex, at, key, source)
            }
        }
    };
    // One variant, its location spread into `path`, `line` and `column`.
    (@at $error:ident :: $variant:ident, $at:ident, $($field:ident),*) => {
        $error::$variant {
            path: $at.path,
            line: $at.line,
            column: $at.column,
            $($field),*
        }
    };
}

pub(crate) use impl_located_error;
