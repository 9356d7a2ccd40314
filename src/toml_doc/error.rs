//! [`LocatedError`]: an error at a place in a file, the one shape every loader that reads
//! through a [`Doc`](super::Doc) reports (the suite loader's `SuiteLoadError` and the scripted
//! model's `ScriptError` each wrap it), so that the wording and the positions come from one
//! place.

use std::fmt;
use std::path::PathBuf;

/// Where an error is: the file and the 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    pub(crate) path: PathBuf,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Something wrong at a place in a file: the file, the 1-based line and column (in
/// characters), the key as a dotted path with 0-based indices (`case[2].expect.output-regex`),
/// and what is wrong.
#[derive(Debug)]
pub struct LocatedError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// The key, when the problem is in a key or its value; every kind but
    /// [`LocatedKind::Parse`] has one.
    pub key: Option<String>,
    /// What is wrong.
    pub kind: LocatedKind,
}

/// What is wrong at a [`LocatedError`]'s place.
#[derive(Debug)]
#[non_exhaustive]
pub enum LocatedKind {
    /// The file is not valid TOML, JSON or UTF-8, a key has the wrong type, or a required key
    /// is missing.
    Parse {
        /// What is wrong.
        message: String,
        /// A suggestion, such as the accepted value closest to a misspelled one.
        hint: Option<String>,
    },
    /// A key that does not exist at this place (a silently ignored key could hide an
    /// expectation or widen a rule, so it is never skipped).
    UnknownKey {
        /// `did you mean …?` when an allowed key is close.
        hint: Option<String>,
    },
    /// A value of the right type that is not acceptable (a zero duration, an empty command, a
    /// rule with two answers).
    Invalid {
        /// What is wrong and what is accepted.
        message: String,
        /// A suggestion, such as the defined name closest to an undefined one.
        hint: Option<String>,
    },
    /// A regex that does not compile.
    Regex {
        /// The regex crate's explanation, which points into the pattern.
        source: regex::Error,
    },
    /// A key or agent kind of the design that this version does not implement: ignoring it
    /// would pass trials that should not.
    Unsupported {
        /// What is not supported, e.g. `` `expect.snapshot` ``.
        feature: String,
    },
    /// Two cases of a suite share an id (cases from a data file included); the error is at
    /// the second.
    DuplicateCase {
        /// The id.
        id: String,
        /// The file of the first case.
        first_path: PathBuf,
        /// 1-based line where the first case starts.
        first_line: usize,
    },
    /// The data file named by a suite's `cases` key could not be read.
    CasesFile {
        /// The cases file, resolved against the suite directory.
        cases_path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl LocatedError {
    /// What the user may have meant, e.g. ``did you mean `span`?``.
    pub fn hint(&self) -> Option<&str> {
        match &self.kind {
            LocatedKind::Parse { hint, .. }
            | LocatedKind::UnknownKey { hint }
            | LocatedKind::Invalid { hint, .. } => hint.as_deref(),
            LocatedKind::Regex { .. }
            | LocatedKind::Unsupported { .. }
            | LocatedKind::DuplicateCase { .. }
            | LocatedKind::CasesFile { .. } => None,
        }
    }

    /// An error at `at`.
    pub(crate) fn at(at: Location, key: Option<String>, kind: LocatedKind) -> LocatedError {
        LocatedError {
            path: at.path,
            line: at.line,
            column: at.column,
            key,
            kind,
        }
    }
}

impl fmt::Display for LocatedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.path.display(), self.line, self.column)?;
        let key = self.key.as_deref().unwrap_or_default();
        match &self.kind {
            LocatedKind::Parse { message, .. } => f.write_str(message),
            LocatedKind::UnknownKey { .. } => write!(f, "unknown key `{key}`"),
            LocatedKind::Invalid { message, .. } => write!(f, "invalid `{key}`: {message}"),
            LocatedKind::Regex { .. } => write!(f, "`{key}` is not a valid regex"),
            LocatedKind::Unsupported { feature } => write!(
                f,
                "{feature} is not supported yet by this version of traceval"
            ),
            LocatedKind::DuplicateCase {
                id,
                first_path,
                first_line,
            } => write!(
                f,
                "duplicate case id `{id}`, first defined at {}:{first_line}",
                first_path.display()
            ),
            LocatedKind::CasesFile { cases_path, .. } => {
                write!(f, "cannot read cases file `{}`", cases_path.display())
            }
        }
    }
}

impl std::error::Error for LocatedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            LocatedKind::Regex { source } => Some(source),
            LocatedKind::CasesFile { source, .. } => Some(source),
            LocatedKind::Parse { .. }
            | LocatedKind::UnknownKey { .. }
            | LocatedKind::Invalid { .. }
            | LocatedKind::Unsupported { .. }
            | LocatedKind::DuplicateCase { .. } => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    fn at(key: Option<&str>, kind: LocatedKind) -> LocatedError {
        let location = Location {
            path: PathBuf::from("suites/a.toml"),
            line: 3,
            column: 7,
        };
        LocatedError::at(location, key.map(str::to_owned), kind)
    }

    #[test]
    fn each_kind_reads_file_line_column_then_what_is_wrong() {
        let pattern = String::from("(");
        let regex = regex::Regex::new(&pattern).unwrap_err();
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let hint = || Some("did you mean `span`?".to_owned());
        // (error, display, hint, whether it has a source)
        let cases = [
            (
                at(
                    None,
                    LocatedKind::Parse {
                        message: "bad".into(),
                        hint: hint(),
                    },
                ),
                "suites/a.toml:3:7: bad",
                hint(),
                false,
            ),
            (
                at(
                    Some("case[0].spanz"),
                    LocatedKind::UnknownKey { hint: hint() },
                ),
                "suites/a.toml:3:7: unknown key `case[0].spanz`",
                hint(),
                false,
            ),
            (
                at(
                    Some("trials"),
                    LocatedKind::Invalid {
                        message: "must be at least 1".into(),
                        hint: None,
                    },
                ),
                "suites/a.toml:3:7: invalid `trials`: must be at least 1",
                None,
                false,
            ),
            (
                at(
                    Some("case[1].expect.output-regex"),
                    LocatedKind::Regex { source: regex },
                ),
                "suites/a.toml:3:7: `case[1].expect.output-regex` is not a valid regex",
                None,
                true,
            ),
            (
                at(
                    Some("x"),
                    LocatedKind::Unsupported {
                        feature: "`x`".into(),
                    },
                ),
                "suites/a.toml:3:7: `x` is not supported yet by this version of traceval",
                None,
                false,
            ),
            (
                at(
                    Some("case[1].id"),
                    LocatedKind::DuplicateCase {
                        id: "paris".into(),
                        first_path: PathBuf::from("suites/b.jsonl"),
                        first_line: 2,
                    },
                ),
                "suites/a.toml:3:7: duplicate case id `paris`, first defined at suites/b.jsonl:2",
                None,
                false,
            ),
            (
                at(
                    Some("cases"),
                    LocatedKind::CasesFile {
                        cases_path: PathBuf::from("data/c.jsonl"),
                        source: io,
                    },
                ),
                "suites/a.toml:3:7: cannot read cases file `data/c.jsonl`",
                None,
                true,
            ),
        ];
        for (error, shown, hint, has_source) in cases {
            assert_eq!(error.to_string(), shown);
            assert_eq!(error.hint(), hint.as_deref(), "{shown}");
            assert_eq!(error.source().is_some(), has_source, "{shown}");
        }
    }
}
