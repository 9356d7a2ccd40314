//! GitHub Actions: the run's Markdown summary appended to `$GITHUB_STEP_SUMMARY`, and one
//! workflow-command annotation per failing (`::error`) or flaky (`::warning`) case × model,
//! at the case's line in its suite file. Both are auxiliary: a summary that cannot be written
//! is a warning on stderr and leaves the run's exit code alone.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::Output;
use crate::report::markdown::{self, CaseOutcome};
use crate::report::{Report, WriteError};
use crate::suite::spec::Origin;

/// Annotations of one kind GitHub shows for a step (10 errors, 10 warnings); more are cut
/// silently, so the rest are counted in one notice instead.
pub(crate) const ANNOTATIONS_PER_KIND: usize = 10;
/// Characters of an annotation's message kept.
const MESSAGE_CHARS: usize = 2_000;

/// Where each case was defined, by suite name and case id: the plan's, since the report does
/// not record lines.
pub(crate) type CaseOrigins = BTreeMap<(String, String), Origin>;

/// The GitHub Actions outputs of a run (`GITHUB_ACTIONS=true`).
#[derive(Debug, Clone)]
pub(crate) struct GithubSettings {
    /// `$GITHUB_STEP_SUMMARY`, unless `--no-github-summary`.
    pub(crate) summary: Option<PathBuf>,
    /// Annotation paths are relative to this (`$GITHUB_WORKSPACE`, else the working
    /// directory); a suite outside it is named by its absolute path.
    pub(crate) workspace: PathBuf,
    /// Annotations go to stderr (`--message-format json` keeps stdout for JSON lines; the
    /// runner reads workflow commands on both).
    pub(crate) annotations_on_stderr: bool,
    /// Where each planned case was defined.
    pub(crate) cases: CaseOrigins,
}

/// The step summary: the run's Markdown appended to the file the steps of a job share.
pub(super) struct StepSummary(pub(super) PathBuf);

impl StepSummary {
    /// Appends `markdown`, on a line of its own, never truncating what earlier steps wrote.
    fn append(&self, markdown: &str) -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.0)?;
        let separator = if file.metadata()?.len() > 0 { "\n" } else { "" };
        file.write_all(format!("{separator}{markdown}").as_bytes())
    }
}

impl Output for StepSummary {
    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        let markdown = markdown::run_summary(report, markdown::BUDGET);
        if let Err(e) = self.append(&markdown) {
            // An auxiliary output: the run's results stand, and its exit code says so.
            let _ = writeln!(
                std::io::stderr(),
                "{:>12} cannot append the step summary to `{}`: {e}",
                "Warning",
                self.0.display()
            );
        }
        Ok(())
    }
}

/// Annotations on a writer: stdout, or stderr beside JSON lines.
pub(super) struct Annotations<W: Write> {
    pub(super) out: W,
    pub(super) workspace: PathBuf,
    pub(super) cases: CaseOrigins,
}

impl<W: Write> Output for Annotations<W> {
    fn finish(&mut self, report: &Report) -> Result<(), WriteError> {
        let lines = annotations(report, &self.cases, &self.workspace);
        // A closed stream must not fail the run.
        let _ = self.out.write_all(lines.concat().as_bytes());
        let _ = self.out.flush();
        Ok(())
    }
}

/// The annotation lines of `report`, each ending in a newline: failing case × models first
/// (worst first), then flaky ones, at most [`ANNOTATIONS_PER_KIND`] of each, then a notice
/// counting the rest.
pub(crate) fn annotations(report: &Report, cases: &CaseOrigins, workspace: &Path) -> Vec<String> {
    let by_case = markdown::trials_by_case(report);
    let workspace = absolute(workspace);
    let mut lines = Vec::new();
    let mut shown = [0usize; 2];
    let mut left_out = 0;
    for c in markdown::failing_cases(report) {
        let (command, kind) = match CaseOutcome::of(c) {
            CaseOutcome::Fail => ("error", 0),
            CaseOutcome::Flaky => ("warning", 1),
            CaseOutcome::Pass => continue,
        };
        if shown[kind] == ANNOTATIONS_PER_KIND {
            left_out += 1;
            continue;
        }
        shown[kind] += 1;
        let mut properties = Vec::new();
        if let Some(origin) = cases.get(&(c.suite.clone(), c.case.clone())) {
            let file = relative_to(&origin.path, &workspace);
            properties.push(format!("file={}", property(&file)));
            properties.push(format!("line={}", origin.line));
        }
        let title = format!(
            "traceval: {}::{} ({}) {}/{} passed",
            c.suite, c.case, c.model, c.passed, c.n
        );
        properties.push(format!("title={}", property(&title)));
        let key = (c.suite.as_str(), c.case.as_str(), c.model.as_str());
        let trials = by_case.get(&key).map_or(&[][..], Vec::as_slice);
        let message = markdown::first_failure(trials).unwrap_or_else(|| "failed".to_owned());
        let message = markdown::truncate(&message, MESSAGE_CHARS);
        lines.push(format!(
            "::{command} {}::{}\n",
            properties.join(","),
            data(&message)
        ));
    }
    if left_out > 0 {
        lines.push(format!(
            "::notice title=traceval::{left_out} more failing or flaky cases not annotated \
             (GitHub shows {ANNOTATIONS_PER_KIND} errors and {ANNOTATIONS_PER_KIND} warnings \
             per step); the step summary and the JSON report list every one\n"
        ));
    }
    lines
}

/// Escapes workflow-command data (the message): `%`, carriage return and line feed.
pub(crate) fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value: as [`data`], and `:` and `,`, which end it.
pub(crate) fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// `path` made absolute (resolving symbolic links when it exists).
fn absolute(path: &Path) -> PathBuf {
    path.canonicalize()
        .or_else(|_| std::path::absolute(path))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// `path` relative to `workspace` (absolute) when it is inside it, else absolute.
fn relative_to(path: &Path, workspace: &Path) -> String {
    let path = absolute(path);
    path.strip_prefix(workspace)
        .unwrap_or(&path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::markdown::tests::{report, trial};

    #[test]
    fn data_and_properties_are_escaped_as_the_runner_reads_them() {
        assert_eq!(data("50% a\r\nb: c, d"), "50%25 a%0D%0Ab: c, d");
        assert_eq!(property("50% a\nb: c, d"), "50%25 a%0Ab%3A c%2C d");
        // `%` first, so an escape already in the text is not read back as one.
        assert_eq!(data("%0A"), "%250A");
    }

    #[test]
    fn paths_inside_the_workspace_are_relative_and_outside_absolute() {
        let ws = Path::new("/w/repo");
        assert_eq!(
            relative_to(Path::new("/w/repo/suites/a.toml"), ws),
            "suites/a.toml"
        );
        assert_eq!(
            relative_to(Path::new("/elsewhere/a.toml"), ws),
            "/elsewhere/a.toml"
        );
    }

    #[test]
    fn failing_cases_are_errors_flaky_ones_warnings_and_the_rest_one_notice() {
        let mut trials = Vec::new();
        for i in 0..12 {
            trials.push(trial(
                "s",
                &format!("fail{i:02}"),
                "m",
                0,
                false,
                "no, 100%:\nx",
            ));
        }
        trials.push(trial("s", "flaky", "m", 0, true, ""));
        trials.push(trial("s", "flaky", "m", 1, false, "sometimes"));
        let mut cases = CaseOrigins::new();
        let origin = |line| Origin {
            path: "/w/repo/suites/s.toml".into(),
            line,
        };
        cases.insert(("s".into(), "fail00".into()), origin(7));
        cases.insert(("s".into(), "flaky".into()), origin(30));
        let lines = annotations(&report(trials), &cases, Path::new("/w/repo"));
        assert_eq!(lines.len(), 12, "{lines:#?}");
        assert_eq!(
            lines[0],
            "::error file=suites/s.toml,line=7,title=traceval%3A s%3A%3Afail00 (m) 0/1 \
             passed::output-contains: no, 100%25:%0Ax\n"
        );
        // A case the plan does not know (a case since removed) has no place.
        assert!(
            lines[1].starts_with("::error title=traceval%3A s%3A%3Afail01"),
            "{}",
            lines[1]
        );
        assert_eq!(
            lines.iter().filter(|l| l.starts_with("::error ")).count(),
            10
        );
        assert_eq!(
            lines[10],
            "::warning file=suites/s.toml,line=30,title=traceval%3A s%3A%3Aflaky (m) 1/2 \
             passed::output-contains: sometimes\n"
        );
        assert!(
            lines[11].starts_with("::notice title=traceval::2 more failing or flaky cases"),
            "{}",
            lines[11]
        );
    }
}
