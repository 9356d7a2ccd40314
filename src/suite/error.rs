//! [`SuiteLoadError`]: everything that can be wrong with `traceval.toml`, a suite or its cases
//! file. An error in a file is a [`LocatedError`]: it names the file, the 1-based line and
//! column (in characters) and the key, as a dotted path such as `case[2].expect.output-regex`
//! with 0-based array indices. In a JSONL cases file the path starts at the case object of
//! that line (`expect.tools[0].name`).

use std::path::PathBuf;

pub(crate) use crate::toml_doc::{LocatedError, LocatedKind};

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
    /// Something wrong at a key or position of a file: bad syntax or types, an unknown key,
    /// an invalid value or regex, a duplicate case id, an unreadable cases file.
    #[error(transparent)]
    Located(#[from] LocatedError),
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
            SuiteLoadError::Located(LocatedError {
                path,
                key: Some(key),
                kind: LocatedKind::UnknownKey { .. },
                ..
            }) if is_case_agent(path, key) => Some(
                "the agent is set once per suite, in its `[agent]` table; put cases that need \
                 another agent in a suite of their own",
            ),
            SuiteLoadError::Located(located) => located.hint(),
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
