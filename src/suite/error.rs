//! [`SuiteLoadError`]: everything that can be wrong with `traceval.toml`, a suite or its cases
//! file. Each error names the file, the 1-based line and column (in characters) and the key,
//! as a dotted path such as `case[2].expect.output-regex` with 0-based array indices. In a
//! JSONL cases file the path starts at the case object of that line (`expect.tools[0].name`).

use std::path::PathBuf;

/// A project, suite or cases file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SuiteLoadError {
    /// A file or directory could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML, JSON or UTF-8, a key has the wrong type, or a required key
    /// is missing.
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
    /// A key that does not exist at this place (a silently ignored key could hide an
    /// expectation, so it is never skipped).
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
    /// A key or agent kind of the design that this version does not implement: ignoring it
    /// would pass trials that should not.
    #[error(
        "{}:{line}:{column}: {feature} is not supported yet by this version of traceval",
        path.display()
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The key.
        key: String,
        /// What is not supported, e.g. `` `expect.snapshot` ``.
        feature: String,
    },
    /// A value of the right type that is not acceptable (a zero duration, an empty command,
    /// a price below zero).
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
        /// A suggestion, such as the defined model closest to an undefined one.
        hint: Option<String>,
    },
    /// An `output-regex` that does not compile.
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
    /// Two cases of a suite share an id (cases from a data file included).
    #[error(
        "{}:{line}:{column}: duplicate case id `{id}`, first defined at {}:{first_line}",
        path.display(),
        first_path.display()
    )]
    DuplicateCase {
        /// The file of the second case.
        path: PathBuf,
        /// 1-based line of the second case's id.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The id.
        id: String,
        /// The file of the first case.
        first_path: PathBuf,
        /// 1-based line where the first case starts.
        first_line: usize,
    },
    /// The data file named by `cases` could not be read.
    #[error(
        "{}:{line}:{column}: cannot read cases file `{}`",
        path.display(),
        cases_path.display()
    )]
    CasesFile {
        /// The suite file.
        path: PathBuf,
        /// 1-based line of the `cases` key.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The cases file, resolved against the suite directory.
        cases_path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Two suite files have the same name, so their cases could not be told apart in reports,
    /// filters and shards.
    #[error(
        "suites `{}` and `{}` are both named `{name}`; set `name` in one of them",
        first_path.display(),
        path.display()
    )]
    DuplicateSuite {
        /// The name.
        name: String,
        /// The first file with it.
        first_path: PathBuf,
        /// The second file with it.
        path: PathBuf,
    },
    /// A file given for its conventions (`traceval inspect --conventions`) has no
    /// `[conventions]` table.
    #[error(
        "`{}` has no `[conventions]` table: add `[[conventions.kind]]` rules or \
         `[conventions.fields]` keys",
        path.display()
    )]
    NoConventions {
        /// The file.
        path: PathBuf,
    },
    /// Discovery found no suite file.
    #[error("no suites found: no `.toml` files in {}", list(looked_in))]
    NoSuites {
        /// The directories searched.
        looked_in: Vec<PathBuf>,
    },
    /// Suites named in one invocation belong to two projects (each has its own
    /// `traceval.toml`, snapshots and reports).
    #[error(
        "`{}` belongs to the project in `{}`, `{}` to the one in `{}`: run each project's \
         suites in a `traceval run` of its own",
        first_path.display(),
        first_root.display(),
        path.display(),
        root.display()
    )]
    TwoProjects {
        /// A suite path of the first project, as given.
        first_path: PathBuf,
        /// The first project's root.
        first_root: PathBuf,
        /// A suite path of the second project, as given.
        path: PathBuf,
        /// The second project's root.
        root: PathBuf,
    },
}

impl SuiteLoadError {
    /// What the user may have meant, e.g. ``did you mean `span`?``.
    pub fn hint(&self) -> Option<&str> {
        match self {
            // A first suite often tries to give one case its own agent.
            SuiteLoadError::UnknownKey { path, key, .. } if is_case_agent(path, key) => Some(
                "the agent is set once per suite, in its `[agent]` table; put cases that need \
                 another agent in a suite of their own",
            ),
            SuiteLoadError::Parse { hint, .. }
            | SuiteLoadError::UnknownKey { hint, .. }
            | SuiteLoadError::Invalid { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// `case[N].agent` (or `case[N].agent.…`) in a suite, or `agent` in a cases file.
fn is_case_agent(path: &std::path::Path, key: &str) -> bool {
    let in_case = key
        .strip_prefix("case[")
        .and_then(|rest| rest.split_once("]."))
        .is_some_and(|(n, rest)| {
            n.bytes().all(|b| b.is_ascii_digit()) && (rest == "agent" || rest.starts_with("agent."))
        });
    let in_cases_file = path.extension().is_some_and(|e| e != "toml")
        && (key == "agent" || key.starts_with("agent."));
    in_case || in_cases_file
}

fn list(paths: &[PathBuf]) -> String {
    let quoted: Vec<String> = paths
        .iter()
        .map(|path| format!("`{}`", path.display()))
        .collect();
    quoted.join(", ")
}

crate::toml_doc::impl_located_error!(
    SuiteLoadError,
    array_tables = [
        "case",
        "tool",
        "case.expect.span",
        "case.expect.judge",
        "conventions.kind"
    ]
);
