//! What a run does with the processes and files around its agents: report locations checked
//! before the first trial, agents' children that leave the process group, what agents print,
//! how an agent's failure is explained, and the OTLP environment a suite can override.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::run::{TestProject, processes_with};

/// `traceval run ARGS` from `cwd`, with no implicit `--report`.
fn traceval_run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_traceval"))
        .arg("run")
        .args(args)
        .current_dir(cwd)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .output()
        .expect("traceval runs")
}

fn code_and_stderr(out: &Output) -> (i32, String) {
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).expect("valid JSON")
}

/// A suite whose agent leaves `marker` when it runs.
fn marker_suite(p: &TestProject, marker: &Path) -> PathBuf {
    p.file(
        "suites/mark.toml",
        &format!(
            "[agent]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"touch '{}'; echo ok\"]\n\
             [[case]]\nid = \"a\"\ninput = \"x\"\n",
            marker.display()
        ),
    );
    p.path().join("suites/mark.toml")
}

#[test]
fn unwritable_report_locations_stop_the_run_before_any_agent_runs() {
    let p = TestProject::new("unwritable");
    let marker = p.path().join("agent-ran");
    let suite = marker_suite(&p, &marker);
    let suite = suite.to_str().unwrap();
    // The working directory is not the project: relative paths are the user's, from there.
    let cwd = p.path().join("elsewhere");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(cwd.join("a-file"), "not a directory").unwrap();
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--report", "/proc/nope.json"], "/proc/nope.json"),
        (
            vec!["--junit", "/sys/nope.xml", "--report", "ok.json"],
            "/sys/nope.xml",
        ),
        (vec!["--report", "a-file/report.json"], "a-file/report.json"),
        (
            vec!["--junit", "a-file/junit.xml", "--report", "ok.json"],
            "a-file/junit.xml",
        ),
    ];
    // Root writes into read-only directories: that case means something only for a user.
    let readonly = p.path().join("readonly");
    std::fs::create_dir_all(&readonly).unwrap();
    let readonly_report = readonly.join("report.json");
    if !rustix::process::geteuid().is_root() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
        cases.push((
            vec!["--report", readonly_report.to_str().unwrap()],
            readonly_report.to_str().unwrap(),
        ));
    }
    for (flags, named) in cases {
        let mut args = vec![suite];
        args.extend(flags.iter().copied());
        let (code, stderr) = code_and_stderr(&traceval_run(&cwd, &args));
        assert_eq!(code, 3, "{flags:?}: {stderr}");
        assert!(
            stderr.contains(&format!("`{named}`")),
            "{flags:?}: {stderr}"
        );
        assert!(stderr.contains("(os error "), "{flags:?}: {stderr}");
        assert!(!stderr.contains("Running"), "{flags:?}: {stderr}");
        assert!(!marker.exists(), "{flags:?}: the agent ran");
    }
    // Nothing was left beside the locations that could be written.
    assert!(!cwd.join("ok.json").exists());
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 1);
    // And a writable location runs as usual.
    let (code, stderr) = code_and_stderr(&traceval_run(&cwd, &[suite, "--report", "ok.json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(marker.exists());
    assert_eq!(read_json(&cwd.join("ok.json"))["trials"][0]["passed"], true);
}
