//! The GitHub Action (`action.yml`, its `traceval run` step in `action/run.sh`) run as a runner
//! runs it: the step's script with the `GITHUB_*` and `RUNNER_*` variables GitHub sets and the
//! inputs as the action passes them, on a project outside the repository; and `action.yml`
//! itself parsed as YAML (PyYAML) and held to the script.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{copy_dir, root, scratch, yaml};

/// The names matching `prefix[A-Za-z0-9_-]+` in `text`.
fn names(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .map(|(i, _)| {
            text[i + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn the_action_is_a_composite_whose_inputs_reach_its_script() {
    let action = yaml(&root().join("action.yml"));
    assert_eq!(action["runs"]["using"], "composite");
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let declared: BTreeSet<String> = action["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let used = names(&text, "inputs.");
    assert_eq!(
        used, declared,
        "every input is used, and only declared ones"
    );
    // The variables the run step sets are the ones its script reads.
    let steps = action["runs"]["steps"].as_array().unwrap();
    let run = steps.iter().find(|s| s["id"] == "run").unwrap();
    assert!(run["run"].as_str().unwrap().contains("action/run.sh"));
    let set: BTreeSet<String> = run["env"].as_object().unwrap().keys().cloned().collect();
    // Each is an input, passed as it is.
    for (var, value) in run["env"].as_object().unwrap() {
        let input = value.as_str().unwrap();
        let name = input
            .strip_prefix("${{ inputs.")
            .and_then(|s| s.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("{var}: {input}"));
        assert!(declared.contains(name), "{var}: {input}");
    }
    let script = std::fs::read_to_string(root().join("action/run.sh")).unwrap();
    let read: BTreeSet<String> = names(&script, "TRACEVAL_ACTION_")
        .into_iter()
        .map(|n| format!("TRACEVAL_ACTION_{n}"))
        .collect();
    assert_eq!(set, read);
    // The outputs it declares are ones the script writes.
    for (name, output) in action["outputs"].as_object().unwrap() {
        let value = output["value"].as_str().unwrap();
        assert_eq!(value, format!("${{{{ steps.run.outputs.{name} }}}}"));
        assert!(script.contains(&format!("echo \"{name}=")), "{name}");
    }
}

/// The action's run step as a runner runs it in the checkout `workspace`: the GitHub variables
/// set (its temp directory and files under `runner`), `traceval` on the PATH, each input (by
/// its name in `action.yml`, as a workflow's `with:` gives it; the rest at their defaults)
/// passed in the variable the step's `env` names for it, in its `working-directory`. Returns
/// the step's outputs and the summary it left.
pub(crate) fn step(
    workspace: &Path,
    runner: &Path,
    with: &[(&str, &str)],
) -> (Vec<(String, String)>, String) {
    let action = yaml(&root().join("action.yml"));
    let mut inputs: Vec<(String, String)> = action["inputs"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, input)| (name.clone(), input["default"].as_str().unwrap().to_owned()))
        .collect();
    for (name, value) in with {
        let input = inputs.iter_mut().find(|(n, _)| n == name);
        input.unwrap_or_else(|| panic!("no input {name}")).1 = (*value).to_owned();
    }
    let input = |name: &str| &inputs.iter().find(|(n, _)| n == name).unwrap().1;
    let run = action["runs"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "run")
        .unwrap();
    let dir = workspace.join(input("working-directory"));
    let output = runner.join("output");
    let summary = runner.join("summary.md");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_traceval")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("action/run.sh"))
        .current_dir(&dir)
        .env_clear()
        .env("PATH", path)
        .env("HOME", runner)
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace)
        .env("GITHUB_OUTPUT", &output)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("RUNNER_TEMP", runner.join("tmp"));
    for (var, value) in run["env"].as_object().unwrap() {
        let name = value.as_str().unwrap();
        let name = &name["${{ inputs.".len()..name.len() - " }}".len()];
        cmd.env(var, input(name));
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "the step leaves failing to the last one: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outputs = std::fs::read_to_string(&output)
        .unwrap()
        .lines()
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();
    (outputs, std::fs::read_to_string(&summary).unwrap())
}

/// The action's last step (`Fail as the run did`) with the run step's `exit-code` output as
/// GitHub substitutes it: its exit code.
fn last_step(exit_code: &str) -> i32 {
    let action = yaml(&root().join("action.yml"));
    let steps = action["runs"]["steps"].as_array().unwrap();
    let last = steps.last().unwrap();
    assert_eq!(last["if"], "always()", "it runs whatever the run step did");
    let script = last["run"]
        .as_str()
        .unwrap()
        // GitHub's `a || b`: b when a is empty.
        .replace(
            "${{ steps.run.outputs.exit-code || 3 }}",
            if exit_code.is_empty() { "3" } else { exit_code },
        );
    assert!(!script.contains("${{"), "{script}");
    Command::new("bash")
        .args(["-c", &script])
        .status()
        .unwrap()
        .code()
        .unwrap()
}

pub(crate) fn output<'a>(outputs: &'a [(String, String)], name: &str) -> &'a str {
    &outputs.iter().find(|(k, _)| k == name).unwrap().1
}

#[test]
fn the_action_step_runs_the_suites_and_says_how_they_went() {
    let dir = scratch("action");
    let project = dir.path().join("project");
    let runner = dir.path().join("runner");
    std::fs::create_dir_all(&runner).unwrap();
    copy_dir(&root().join("suites/demo"), &project.join("suites"));

    // The careful model passes: exit code 0, the files in the artifact's directory.
    let (outputs, summary) = step(
        &project,
        &runner,
        &[("models", "careful"), ("args", "--seed 42")],
    );
    assert_eq!(output(&outputs, "exit-code"), "0");
    assert_eq!(last_step(output(&outputs, "exit-code")), 0);
    assert_eq!(output(&outputs, "artifact-name"), "traceval-report");
    let dir_out = Path::new(output(&outputs, "dir"));
    for file in ["report.json", "report.html", "junit.xml"] {
        assert!(dir_out.join(file).is_file(), "{file}");
    }
    assert_eq!(
        Path::new(output(&outputs, "report")),
        dir_out.join("report.json")
    );
    assert!(
        summary.contains("## traceval run: passed (exit 0)"),
        "{summary}"
    );
    assert!(summary.contains("artifact `traceval-report`"), "{summary}");

    // The sloppy one fails some trials, in shard 1 of 2: exit code 1, the shard's own name.
    let (outputs, summary) = step(
        &project,
        &runner,
        &[
            ("models", " sloppy "),
            ("shard", "1/2"),
            ("args", "--seed 42 --save-traces"),
            ("artifact-name", "evals"),
        ],
    );
    assert_eq!(output(&outputs, "exit-code"), "1");
    assert_eq!(last_step(output(&outputs, "exit-code")), 1, "the job fails");
    assert_eq!(output(&outputs, "artifact-name"), "evals-1-of-2");
    // A shard's files carry its name: every shard's artifact can go into one directory.
    let dir_out = Path::new(output(&outputs, "dir"));
    for file in [
        "report-1-of-2.json",
        "report-1-of-2.html",
        "junit-1-of-2.xml",
    ] {
        assert!(dir_out.join(file).is_file(), "{file}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(output(&outputs, "report")).unwrap())
            .unwrap();
    assert_eq!(report["shard"]["index"], 1);
    // The saved traces are in the artifact, beside the report, where `merge` looks.
    let traces = dir_out
        .join(report["run_id"].as_str().unwrap())
        .join("traces");
    for t in report["trials"].as_array().unwrap() {
        let file = t["trace_file"].as_str().unwrap();
        assert!(
            traces.join(file).is_file(),
            "{}",
            traces.join(file).display()
        );
    }
    let trials = report["trials"].as_array().unwrap();
    assert!(!trials.is_empty());
    assert!(trials.iter().all(|t| t["model"] == "sloppy"));
    assert!(
        summary.contains("## traceval run: failed (exit 1)"),
        "{summary}"
    );

    // The project in a folder of the checkout (`working-directory`), a suite named relative to
    // it.
    let (outputs, _) = step(
        dir.path(),
        &runner,
        &[
            ("working-directory", "project"),
            ("paths", "suites/weather.toml"),
            ("models", "careful"),
        ],
    );
    assert_eq!(output(&outputs, "exit-code"), "0");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(output(&outputs, "report")).unwrap())
            .unwrap();
    assert!(
        report["trials"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["suite"] == "weather")
    );

    // A suite that does not load: exit code 2, and still outputs for the last step.
    std::fs::write(project.join("suites/broken.toml"), "trials = \"many\"\n").unwrap();
    let (outputs, _) = step(&project, &runner, &[("paths", "suites/broken.toml")]);
    assert_eq!(output(&outputs, "exit-code"), "2");
    assert_eq!(last_step(output(&outputs, "exit-code")), 2);
    // A run step that never wrote its outputs: the job fails as infrastructure.
    assert_eq!(last_step(""), 3);
}
