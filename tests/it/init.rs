//! `traceval init` as a new user meets it: in an empty directory outside the repository, named
//! relative to where they stand, then `traceval run` there as CI runs it (`CI=true`, which never
//! records a snapshot), offline, with the example agents of each language CI has (Python with
//! the OpenAI SDK and its OpenTelemetry instrumentation; POSIX sh with curl; Rust with the
//! OpenTelemetry SDK, built with cargo; Node.js with the OpenAI SDK and the OpenTelemetry JS
//! instrumentation, installed with npm).

use std::path::Path;

use crate::support::{code, read_json, scratch, stderr, traceval_command, traceval_in};

/// `traceval init DIR --lang LANG` from `cwd`, then `traceval run` in the project under CI:
/// exit 0, every trial passed, nothing left to review.
fn init_and_run(lang: &str) {
    init_and_run_after(lang, |_| {});
}

/// [`init_and_run`], with `prepare` run on the project before `traceval run`.
fn init_and_run_after(lang: &str, prepare: impl FnOnce(&Path)) {
    let home = scratch(&format!("init-{lang}"));
    let init = traceval_in(home.path(), &["init", "my-evals", "--lang", lang]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let project = home.path().join("my-evals");
    // What to do next, from where the user stands.
    let next = stderr(&init);
    let next = next
        .lines()
        .find(|l| l.trim_start().starts_with("Next"))
        .unwrap();
    assert!(
        next.contains("cd 'my-evals' && ") && next.ends_with("traceval run"),
        "{next}"
    );
    for file in [
        "traceval.toml",
        "suites/weather.toml",
        "suites/scripts/weather-model.toml",
        "suites/snapshots/weather__paris@scripted.snap",
        ".gitignore",
    ] {
        assert!(project.join(file).is_file(), "{file}");
    }
    let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
    assert!(gitignore.lines().any(|l| l == "reports/"), "{gitignore}");
    // The workflow is YAML whose job ends with the action.
    let workflow = crate::support::yaml(&project.join(".github/workflows/traceval.yml"));
    let steps = workflow["jobs"]["evals"]["steps"].as_array().unwrap();
    assert_eq!(steps[0]["uses"], "actions/checkout@v4");
    assert_eq!(steps.last().unwrap()["uses"], "traceval/traceval@main");

    prepare(&project);
    let run = traceval_command(&project)
        .args(["run", "--report", "report.json"])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(code(&run), 0, "{lang}: {}", stderr(&run));
    let report = read_json(&project.join("report.json"));
    let trials = report["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 6, "2 cases × 3 trials");
    for t in trials {
        assert_eq!(t["passed"], true, "{t:#}");
        // Graded from the spans: the tool call, the two model calls, the priced tokens.
        assert_eq!(t["metrics"]["llm_calls"], 2, "{t:#}");
        assert_eq!(t["metrics"]["tool_calls"][0]["name"], "get_weather");
        assert!(t["metrics"]["cost_usd"].as_f64().unwrap() > 0.0);
    }
    assert!(
        trials
            .iter()
            .filter(|t| t["case"] == "paris")
            .all(|t| t["snapshot_matched"] == true),
        "the shape init ships is the shape the {lang} agent sends"
    );
    // CI profile: the JUnit file in reports/.
    assert!(project.join("reports/junit.xml").is_file());
    assert!(!pending(&project.join("suites/snapshots")));
}

/// Whether a snapshot waits for review.
fn pending(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().ends_with(".new"))
}

#[test]
fn a_python_project_from_init_passes_at_once() {
    init_and_run("python");
}

#[test]
fn a_shell_project_from_init_passes_at_once() {
    // Also from the directory above, naming the project's directory (its suites, not its
    // traceval.toml, are run).
    init_and_run_after("shell", |project| {
        let above = project.parent().unwrap();
        let run = traceval_in(
            above,
            &["run", "my-evals", "-k", "1", "--report", "above.json"],
        );
        assert_eq!(code(&run), 0, "{}", stderr(&run));
        let report = read_json(&above.join("above.json"));
        assert_eq!(
            report["trials"].as_array().unwrap().len(),
            2,
            "2 cases × 1 trial"
        );
    });
}

#[test]
fn a_rust_project_from_init_passes_once_its_agent_is_built() {
    init_and_run_after("rust", |project| {
        // The build the `Next` line asks for, its dependencies from crates.io. Built in a target
        // directory kept under ours (so a second test run reuses it), then put where the suite
        // runs it from.
        let target = crate::support::root().join("target/init-rust-agent");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let build = std::process::Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "--manifest-path",
                "agent/Cargo.toml",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(project)
            .output()
            .unwrap();
        assert!(
            build.status.success(),
            "{}",
            String::from_utf8_lossy(&build.stderr)
        );
        assert!(
            build.stderr.is_empty(),
            "warnings: {}",
            String::from_utf8_lossy(&build.stderr)
        );
        let bin = project.join("agent/target/debug");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::copy(target.join("debug/agent"), bin.join("agent")).unwrap();
        let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(
            gitignore.lines().any(|l| l == "agent/target/"),
            "{gitignore}"
        );
    });
}

#[test]
fn a_node_project_from_init_passes_once_its_packages_are_installed() {
    if std::process::Command::new("npm")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(std::env::var_os("CI").is_none(), "npm is not installed");
        eprintln!("npm is not installed: the Node example is not tested");
        return;
    }
    init_and_run_after("node", |project| {
        // The install the `Next` line asks for, from the npm registry.
        let install = std::process::Command::new("npm")
            .args(["install", "--prefix", "agent", "--no-audit", "--no-fund"])
            .current_dir(project)
            .output()
            .unwrap();
        assert!(
            install.status.success(),
            "{}",
            String::from_utf8_lossy(&install.stderr)
        );
        let gitignore = std::fs::read_to_string(project.join(".gitignore")).unwrap();
        assert!(
            gitignore.lines().any(|l| l == "agent/node_modules/"),
            "{gitignore}"
        );
    });
}

#[test]
fn init_names_the_files_it_would_overwrite_and_force_overwrites_them() {
    let dir = scratch("init-twice");
    std::fs::write(dir.path().join(".gitignore"), "target/").unwrap();
    std::fs::create_dir_all(dir.path().join("suites")).unwrap();
    std::fs::write(dir.path().join("suites/weather.toml"), "# mine\n").unwrap();
    let init = traceval_in(dir.path(), &["init", "--no-agent"]);
    assert_eq!(code(&init), 2, "{}", stderr(&init));
    assert!(
        stderr(&init).contains("`./suites/weather.toml`") && stderr(&init).contains("--force"),
        "{}",
        stderr(&init)
    );
    assert!(
        !dir.path().join("traceval.toml").exists(),
        "nothing is written"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("suites/weather.toml")).unwrap(),
        "# mine\n"
    );

    let init = traceval_in(dir.path(), &["init", "--no-agent", "--force"]);
    assert_eq!(code(&init), 0, "{}", stderr(&init));
    let suite = std::fs::read_to_string(dir.path().join("suites/weather.toml")).unwrap();
    assert!(suite.contains("command = [\"./my-agent\"]"), "{suite}");
    assert!(
        !dir.path().join("agent").exists(),
        "--no-agent writes no agent"
    );
    // The user's .gitignore is added to, not replaced.
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        "target/\n# traceval's reports and saved traces\nreports/\n"
    );
    // Until the program is there, the suite says where to point it.
    let list = traceval_in(dir.path(), &["list"]);
    assert_eq!(code(&list), 2, "{}", stderr(&list));
    assert!(
        stderr(&list).contains("suites/weather.toml:") && stderr(&list).contains("agent.command"),
        "{}",
        stderr(&list)
    );
    // With it, the suite is valid: its plan lists both cases.
    let program = dir.path().join("suites/my-agent");
    std::fs::write(&program, "#!/bin/sh\necho hi\n").unwrap();
    let mut permissions = std::fs::metadata(&program).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&program, permissions).unwrap();
    let list = traceval_in(dir.path(), &["list"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    let plan = String::from_utf8_lossy(&list.stdout);
    assert!(plan.contains("paris") && plan.contains("tokyo"), "{plan}");
    // A third time, `reports/` is not added again.
    let again = traceval_in(dir.path(), &["init", "--no-agent", "--force"]);
    assert_eq!(code(&again), 0);
    let gitignore = std::fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert_eq!(gitignore.matches("reports/").count(), 1, "{gitignore}");
}
