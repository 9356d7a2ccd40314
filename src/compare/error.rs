//! [`CompareError`]: why two reports cannot be compared. The inputs are unreadable (exit 3) or
//! they cannot be compared honestly (exit 2): not a report, an unknown format, duplicate keys,
//! no shared case, a changed case definition (a different ruler).

use std::path::PathBuf;

/// Why a comparison was not made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompareError {
    /// A report cannot be read, or is not a report this traceval reads.
    #[error(transparent)]
    Read(#[from] crate::report::read::ReadError),
    /// A report lists one case key twice.
    #[error(
        "`{}` lists case `{suite}::{case}` of model `{model}` twice: a report must have one \
         result per case and model",
        path.display()
    )]
    DuplicateCase {
        /// The file.
        path: PathBuf,
        /// The suite.
        suite: String,
        /// The case.
        case: String,
        /// The model.
        model: String,
    },
    /// More candidates than a comparison takes.
    #[error("{0} candidate reports given; compare takes at most {max}", max = super::MAX_CANDIDATES)]
    TooManyCandidates(usize),
    /// A model named on the command line is not in the report.
    #[error("{flag} `{model}`: `{}` has no such model (it has {})", path.display(), models.join(", "))]
    UnknownModel {
        /// `--baseline-model`, `--models` or `--map-model`.
        flag: &'static str,
        /// The name given.
        model: String,
        /// The report.
        path: PathBuf,
        /// The models it has.
        models: Vec<String>,
    },
    /// Model mode with fewer than two models to compare.
    #[error(
        "`{}` has {count} model(s) to compare: give two reports to compare runs, or a run of \
         several models",
        path.display()
    )]
    OneModel {
        /// The report.
        path: PathBuf,
        /// Models left after `--models`.
        count: usize,
    },
    /// The two sides share no case key.
    #[error(
        "incomparable: `{base}` and `{new}` share no case{hint}",
        hint = if *.by_model { " (keys include the model: pass --map-model OLD=NEW to pair different model names)" } else { "" }
    )]
    NoSharedCases {
        /// The base side, as shown.
        base: String,
        /// The new side.
        new: String,
        /// Whether keys include the model.
        by_model: bool,
    },
    /// A case was measured with another ruler on each side.
    #[error(
        "incomparable: {first}{more}; rerun the baseline or pass --allow-changed-suites",
        more = if *.others == 0 { String::new() } else { format!(" (and {} more changed cases)", .others) }
    )]
    Changed {
        /// The first changed case, described.
        first: String,
        /// How many more.
        others: usize,
    },
}

impl CompareError {
    /// Whether the machine failed (exit 3) rather than the inputs (exit 2).
    pub(crate) fn is_io(&self) -> bool {
        matches!(self, CompareError::Read(e) if e.is_io())
    }
}
