//! GitHub Actions (`GITHUB_ACTIONS=true`): `run` appends its Markdown summary to
//! `$GITHUB_STEP_SUMMARY` and prints `::error`/`::warning` annotations at the failing cases'
//! lines, with every user string escaped; nothing of the sort without GitHub Actions.

use std::path::Path;
use std::process::Command;

use crate::support::{Run, TestProject};

/// The suite: a case that passes, one that passes one trial of two, one that never does and
/// whose id and expected text are hostile. The line numbers below are its lines.
const SUITE: &str = r#"trials = 2
[agent]
kind = "command"
command = ["sh", "-c", "cat >/dev/null; if [ \"$TRACEVAL_TRIAL\" = 1 ]; then echo Paris; else echo nope; fi"]

[[case]]
id = "passes"
input = "x"

[[case]]
id = "flaky"
input = "x"
expect.output-contains = ["Paris"]

[[case]]
id = 'evil `id` | <script>alert(1)</script> a::b, c'
input = "x"
expect.output-contains = ["50%, a: b [x](y) *z*"]
"#;
const FLAKY_LINE: usize = 10;
const EVIL_LINE: usize = 15;
const EARLIER: &str = "## an earlier step's summary\n";

/// A project with [`SUITE`] and a step summary file an earlier step wrote to.
fn project(name: &str) -> TestProject {
    let p = TestProject::new(name);
    p.file("suites/gha.toml", SUITE);
    p.file("summary.md", EARLIER);
    p
}

/// `traceval run` as under GitHub Actions, in workspace `p`, with extra arguments.
fn on_github(p: &TestProject, summary: &Path, args: &[&str]) -> Run {
    let mut cmd: Command = p.command(args);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", summary)
        .env("GITHUB_WORKSPACE", p.path());
    Run::new(cmd.output().expect("traceval runs"), p.report_path())
}

#[test]
fn under_github_actions_run_appends_its_summary_and_annotates_the_failing_cases() {
    let p = project("gha");
    let summary = p.path().join("summary.md");
    let run = on_github(&p, &summary, &["--seed", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with(EARLIER),
        "the earlier step's summary is kept:\n{md}"
    );
    let run_id = run.report()["run_id"].as_str().unwrap();
    let ours = &md[EARLIER.len()..];
    assert!(
        ours.starts_with(&format!("\n<!-- traceval-run run_id={run_id} -->\n")),
        "{ours}"
    );
    assert!(ours.contains("## traceval run: failed (exit 1)"), "{ours}");
    assert!(ours.contains("| `default` | 6 | 50.0% |"), "{ours}");
    // Worst first; the hostile id in a code span, its pipe escaped; the message escaped.
    let evil = ours
        .find("| ``gha::evil `id` \\| <script>alert(1)</script> a::b, c`` | `default` | FAIL 0/2 | ○○ |")
        .unwrap_or_else(|| panic!("{ours}"));
    let flaky = ours
        .find("| `gha::flaky` | `default` | FLAKY 1/2 | ○● |")
        .unwrap();
    assert!(evil < flaky, "{ours}");
    assert!(
        ours.contains("answer lacks \"50%, a: b \\[x\\](y) \\*z\\*\""),
        "{ours}"
    );
    assert!(!ours.contains("gha::passes"), "{ours}");
    // No raw HTML outside code spans: the only `<` are our marker and the code span's.
    assert_eq!(ours.matches('<').count(), 3, "{ours}");

    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!(
                "::error file=suites/gha.toml,line={EVIL_LINE},title=traceval%3A gha%3A%3Aevil \
                 `id` | <script>alert(1)</script> a%3A%3Ab%2C c (default) 0/2 passed\
                 ::output-contains: answer lacks \"50%25, a: b [x](y) *z*\"; answer: \"nope\""
            ),
            format!(
                "::warning file=suites/gha.toml,line={FLAKY_LINE},title=traceval%3A \
                 gha%3A%3Aflaky (default) 1/2 passed::output-contains: answer lacks \"Paris\"; \
                 answer: \"nope\""
            ),
        ],
        "{}",
        run.stdout
    );
}

#[test]
fn no_github_summary_leaves_the_file_alone_and_still_annotates() {
    let p = project("gha-off");
    let summary = p.path().join("summary.md");
    let run = on_github(&p, &summary, &["--seed", "1", "--no-github-summary"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), EARLIER);
    assert!(
        run.stdout.starts_with("::error file=suites/gha.toml"),
        "{}",
        run.stdout
    );
}

#[test]
fn with_json_lines_annotations_go_to_stderr_and_stdout_stays_json() {
    let p = project("gha-json");
    let summary = p.path().join("summary.md");
    let run = on_github(&p, &summary, &["--seed", "1", "--message-format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for line in run.stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).expect("a JSON line");
    }
    assert!(
        run.stderr.contains("\n::error file=suites/gha.toml"),
        "{}",
        run.stderr
    );
}

#[test]
fn without_github_actions_nothing_is_written_or_printed() {
    let p = project("gha-none");
    let summary = p.path().join("summary.md");
    let mut cmd = p.command(&["--seed", "1"]);
    cmd.env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_WORKSPACE", p.path());
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), EARLIER);
    assert_eq!(run.stdout, "");
    assert!(!run.stderr.contains("::error"), "{}", run.stderr);
}

#[test]
fn an_unwritable_summary_is_a_warning_and_keeps_the_exit_code() {
    let p = project("gha-unwritable");
    // A directory where the file should be: no one can append to it, root included.
    let summary = p.path().join("summary-dir");
    std::fs::create_dir(&summary).unwrap();
    let run = on_github(&p, &summary, &["--seed", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Warning cannot append the step summary to"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.starts_with("::error "), "{}", run.stdout);
    // The report is written all the same.
    assert_eq!(run.report()["trials"].as_array().unwrap().len(), 6);
}

#[test]
fn a_suite_outside_the_workspace_is_annotated_by_its_absolute_path() {
    let p = project("gha-outside");
    let summary = p.path().join("summary.md");
    let workspace = crate::support::scratch("gha-workspace");
    let mut cmd = p.command(&["--seed", "1", "--no-github-summary"]);
    cmd.env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace.path());
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let file = p.path().canonicalize().unwrap().join("suites/gha.toml");
    let expected = format!("::error file={},line={EVIL_LINE},", file.display());
    assert!(run.stdout.starts_with(&expected), "{}", run.stdout);
    assert_eq!(std::fs::read_to_string(&summary).unwrap(), EARLIER);
}
