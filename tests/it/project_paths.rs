//! Where things are: a project found from its suites wherever traceval is started, relative
//! programs that start from any working directory, what lands where (snapshots, `reports/`,
//! the scratch directory), and what a new user meets first: the help, `list`, the CI example.

use std::path::Path;

use crate::support::{
    TestProject, code, has_a_terminal, root, scratch, stderr, stdout, traceval_command,
    traceval_in, traceval_on_a_terminal,
};

/// The names in `dir`, sorted; empty when it does not exist.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Writes an executable shell script.
fn script(p: &TestProject, rel: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    p.file(rel, &format!("#!/bin/sh\n{body}\n"));
    let path = p.dir().join(rel);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A command agent answering "It is sunny in Paris" run as `program`.
fn command_suite(program: &str) -> String {
    format!(
        "[agent]\nkind = \"command\"\ncommand = [\"{program}\"]\n\n[[case]]\nid = \"paris\"\n\
         input = \"Weather in Paris?\"\nexpect.output-contains = [\"Paris\"]\n"
    )
}

/// A builtin agent whose scripted model `bot` calls the tool `lookup`, run as `program`, then
/// answers; a tool that cannot start is an error span, which fails `no-error-spans`.
fn tool_suite(program: &str) -> String {
    format!(
        "models = [\"bot\"]\n[agent]\nkind = \"builtin\"\n\n[[tool]]\nname = \"lookup\"\n\
         command = [\"{program}\"]\n\n[model.bot]\nprovider = \"scripted\"\n\
         script = \"scripts/bot.toml\"\n\n[[case]]\nid = \"look\"\ninput = \"Look it up\"\n\
         [case.expect]\ntools = [{{ name = \"lookup\" }}]\nno-error-spans = true\n"
    )
}

const LOOKUP_SCRIPT: &str = "model = \"bot-1\"\n\n[[rule]]\nwhen.turn = 0\n\
     tool-calls = [{ name = \"lookup\", args = { q = \"x\" } }]\n\n[[rule]]\nwhen.turn = 1\n\
     text = \"found it\"\n";

/// A project whose three suites start relative programs: `./agent.sh` and `../agents/x.sh`
/// (command agents) and a builtin tool `./tool.sh`.
fn relative_programs() -> TestProject {
    let p = TestProject::new("relprog");
    let answer = "cat >/dev/null\necho 'It is sunny in Paris'";
    script(&p, "suites/agent.sh", answer);
    script(&p, "agents/x.sh", answer);
    script(&p, "suites/tool.sh", "cat >/dev/null\necho 'doc-17'");
    p.file("suites/local.toml", &command_suite("./agent.sh"))
        .file("suites/up.toml", &command_suite("../agents/x.sh"))
        .file("suites/tools.toml", &tool_suite("./tool.sh"))
        .file("suites/scripts/bot.toml", LOOKUP_SCRIPT)
        .file("sub/.keep", "");
    p
}

#[test]
fn relative_programs_start_from_any_working_directory() {
    let p = relative_programs();
    let elsewhere = scratch("relprog-cwd");
    let suites = ["suites/local.toml", "suites/up.toml", "suites/tools.toml"];
    let absolute: Vec<String> = suites
        .iter()
        .map(|s| p.dir().join(s).display().to_string())
        .collect();
    let absolute: Vec<&str> = absolute.iter().map(String::as_str).collect();
    let from_sub: Vec<String> = suites.iter().map(|s| format!("../{s}")).collect();
    let from_sub: Vec<&str> = from_sub.iter().map(String::as_str).collect();
    let runs: [(&Path, &[&str]); 5] = [
        (p.dir(), &suites),
        (p.dir(), &[]),
        (&p.dir().join("suites"), &[]),
        (&p.dir().join("sub"), &from_sub),
        (elsewhere.path(), &absolute),
    ];
    for (cwd, paths) in runs {
        let args: Vec<&str> = ["run"].iter().chain(paths).copied().collect();
        let out = traceval_in(cwd, &args);
        assert_eq!(code(&out), 0, "{cwd:?} {paths:?}:\n{}", stderr(&out));
        assert!(
            stderr(&out).contains("3 cases × 2 models, 3 trials"),
            "{}",
            stderr(&out)
        );
    }
    assert!(
        entries(elsewhere.path()).is_empty(),
        "{:?}",
        entries(elsewhere.path())
    );
    assert_eq!(entries(&p.dir().join("sub")), [".keep"]);
    assert_eq!(entries(&p.dir().join("reports")).len(), 5);
}

#[test]
fn a_missing_program_fails_before_any_trial_with_file_line_and_key() {
    let p = TestProject::new("missingprog");
    script(&p, "suites/tool.sh", "exit 0");
    p.file("suites/local.toml", &command_suite("./missing.sh"))
        .file("suites/scripts/bot.toml", LOOKUP_SCRIPT);
    let out = traceval_in(p.dir(), &["run", "suites/local.toml"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let expected = format!(
        "error: suites/local.toml:3: `agent.command` of suite `local`: program `{}` not found\n",
        p.dir().join("suites/missing.sh").display()
    );
    assert_eq!(stderr(&out), expected);

    p.file("suites/local.toml", &tool_suite("./gone/tool.sh"));
    let out = traceval_in(&p.dir().join("suites"), &["run", "local.toml"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("error: local.toml:7: `tool[0].command` of suite `local`: program"),
        "{}",
        stderr(&out)
    );

    // Found but not executable: the spawn would fail on every trial.
    p.file("suites/local.toml", &tool_suite("./tool.sh"));
    let tool = p.dir().join("suites/tool.sh");
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let out = traceval_in(p.dir(), &["run"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("is not executable"),
        "{}",
        stderr(&out)
    );
    assert!(!p.dir().join("reports").exists(), "nothing ran");
}

/// A builtin agent on the model `bot` that `traceval.toml` defines, with a trace-shape
/// snapshot.
const SNAPSHOT_SUITE: &str = "models = [\"bot\"]\n[agent]\nkind = \"builtin\"\n\n[[tool]]\n\
    name = \"lookup\"\nreturns = \"doc-17\"\n\n[[case]]\nid = \"look\"\ninput = \"Look it up\"\n\
    expect.snapshot = true\n";

/// Answers without calling the tool: a changed trace shape.
const ANSWER_SCRIPT: &str = "model = \"bot-1\"\n\n[[rule]]\ntext = \"no need to look\"\n";

#[test]
fn the_project_is_found_from_its_suites_wherever_traceval_runs() {
    let p = TestProject::new("findproj");
    p.file(
        "traceval.toml",
        "[model.bot]\nprovider = \"scripted\"\nscript = \"scripts/bot.toml\"\n",
    )
    .file("scripts/bot.toml", LOOKUP_SCRIPT)
    .file("suites/agent.toml", SNAPSHOT_SUITE);
    let root = p.dir().canonicalize().unwrap();
    let snapshots = p.dir().join("suites/snapshots");

    // The first run, at the root, records the snapshot (to commit).
    let first = traceval_in(p.dir(), &["run"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(!stderr(&first).contains("Project"), "{}", stderr(&first));
    assert_eq!(entries(&snapshots), ["agent__look@bot.snap"]);

    // The agent changes; runs started elsewhere compare with the project's snapshot, use its
    // traceval.toml, and write its reports/ and `.snap.new`, never in the working directory.
    p.file("scripts/bot.toml", ANSWER_SCRIPT);
    let elsewhere = scratch("findproj-cwd");
    let suite = p.dir().join("suites/agent.toml");
    let name = p.dir().file_name().unwrap().to_string_lossy().into_owned();
    let relative = format!("../{name}/suites/agent.toml");
    // Both temporary directories are in the same parent.
    let sibling_dir = scratch("findproj-sibling");
    let sibling = sibling_dir.path();
    assert_eq!(sibling.parent(), p.dir().parent());
    let runs: [(&Path, Vec<&str>); 4] = [
        (elsewhere.path(), vec!["run", suite.to_str().unwrap()]),
        (sibling, vec!["run", &relative]),
        (
            elsewhere.path(),
            vec!["run", suite.parent().unwrap().to_str().unwrap()],
        ),
        (&p.dir().join("suites"), vec!["run"]),
    ];
    for (i, (cwd, args)) in runs.iter().enumerate() {
        let out = traceval_in(cwd, args);
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{cwd:?} {args:?}:\n{err}");
        assert!(
            err.contains("the trace shape differs from `suites/snapshots/agent__look@bot.snap`"),
            "{err}"
        );
        assert!(
            err.contains(&format!("     Project {}\n", root.display())),
            "{err}"
        );
        assert!(
            err.contains(&format!("Report {}/reports/", root.display())),
            "{err}"
        );
        assert_eq!(entries(&p.dir().join("reports")).len(), i + 2);
        assert_eq!(
            entries(&snapshots),
            ["agent__look@bot.snap", "agent__look@bot.snap.new"]
        );
    }
    assert!(
        entries(elsewhere.path()).is_empty(),
        "{:?}",
        entries(elsewhere.path())
    );
    assert!(entries(sibling).is_empty(), "{:?}", entries(sibling));
    assert_eq!(
        entries(&p.dir().join("suites")),
        ["agent.toml", "snapshots"]
    );

    // `traceval snapshot` and `list` find the project the same way.
    let pending = traceval_in(&p.dir().join("suites"), &["snapshot"]);
    assert_eq!(code(&pending), 0, "{}", stderr(&pending));
    assert!(
        stdout(&pending).starts_with("changed  agent::look (bot)"),
        "{}",
        stdout(&pending)
    );
    let list = traceval_in(elsewhere.path(), &["list", suite.to_str().unwrap()]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    assert_eq!(
        stdout(&list),
        "agent::look (bot) ×1\n1 case × 1 model: 1 trial\n"
    );
}

#[test]
fn suites_of_two_projects_in_one_run_are_an_error() {
    let a = relative_programs();
    let b = relative_programs();
    let elsewhere = scratch("twoproj");
    let suite_a = a.dir().join("suites/local.toml");
    let suite_b = b.dir().join("suites");
    let out = traceval_in(
        elsewhere.path(),
        &["run", suite_a.to_str().unwrap(), suite_b.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let expected = format!(
        "error: failed to load suites\n  caused by: `{}` belongs to the project in `{}`, `{}` \
         to the one in `{}`: run each project's suites in a `traceval run` of its own\n",
        suite_a.display(),
        a.dir().canonicalize().unwrap().display(),
        suite_b.display(),
        b.dir().canonicalize().unwrap().display()
    );
    assert_eq!(stderr(&out), expected);
    assert!(entries(elsewhere.path()).is_empty());

    // `--project` must be a directory, for `run`, `list` and `snapshot` alike.
    for args in [
        &["run", "--project", "/nonexistent/traceval"][..],
        &["list", "--project", "/nonexistent/traceval"],
        &["snapshot", "--project", "/nonexistent/traceval"],
        &["snapshot", "list", "--project", "/nonexistent/traceval"],
    ] {
        let out = traceval_in(elsewhere.path(), args);
        assert_eq!(code(&out), 2, "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out),
            "error: --project `/nonexistent/traceval`: no such directory\n"
        );
    }
}

/// Two suites, of which only `research` defines the model `careful`.
fn two_suites() -> TestProject {
    let p = TestProject::new("modelsel");
    p.file(
        "suites/research.toml",
        "models = [\"careful\"]\n[agent]\nkind = \"builtin\"\n\n[model.careful]\n\
         provider = \"scripted\"\nscript = \"scripts/careful.toml\"\n\n[[case]]\nid = \"rust\"\n\
         input = \"When was Rust 1.0 released?\"\nexpect.output-contains = [\"2015\"]\n",
    )
    .file(
        "suites/scripts/careful.toml",
        "model = \"careful-1\"\n\n[[rule]]\ntext = \"May 15, 2015\"\n",
    )
    .file(
        "suites/weather.toml",
        "[agent]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo sunny\"]\n\n\
         [[case]]\nid = \"paris\"\ninput = \"x\"\n",
    );
    p
}

#[test]
fn model_is_checked_against_the_selected_suites_only() {
    let p = two_suites();
    let out = traceval_in(
        p.dir(),
        &["run", "--model", "careful", "--filter", "research"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let list = traceval_in(
        p.dir(),
        &["list", "--model", "careful", "--filter", "research"],
    );
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    assert_eq!(
        stdout(&list),
        "research::rust (careful) ×1\n1 case × 1 model: 1 trial\n"
    );

    // Unfiltered, the suite that lacks it is named.
    let out = traceval_in(p.dir(), &["run", "--model", "careful"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: --model `careful` is not defined in traceval.toml or in suite `weather` \
         (suites/weather.toml)\n"
    );
}

#[test]
fn list_and_run_agree_that_a_filter_matching_nothing_is_exit_2() {
    let p = two_suites();
    for command in ["list", "run"] {
        let out = traceval_in(p.dir(), &[command, "--filter", "nomatch"]);
        assert_eq!(code(&out), 2, "{command}: {}", stderr(&out));
        assert_eq!(stderr(&out), "error: no case matches the filter\n");
    }
    let list = traceval_in(p.dir(), &["list"]);
    assert_eq!(code(&list), 0, "{}", stderr(&list));
    assert!(
        stdout(&list).ends_with("2 cases × 2 models: 2 trials\n"),
        "{}",
        stdout(&list)
    );
}

#[test]
fn an_empty_model_list_is_an_error_with_file_and_line() {
    let p = TestProject::new("nomodels");
    p.file(
        "suites/agent.toml",
        &format!("trials = 1\nmodels = []\n{}", command_suite("true")),
    );
    let out = traceval_in(p.dir(), &["run"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert_eq!(
        stderr(&out),
        "error: failed to load suites\n  caused by: suites/agent.toml:2:10: invalid `models`: \
         must name at least one model (leave it out to run the agent once per trial as \
         `default`, with no model served)\n"
    );
}

#[test]
fn a_run_that_stops_after_setup_leaves_no_scratch_directory() {
    let p = TestProject::new("scratch");
    let tmp = scratch("scratch-tmp");
    // A builtin agent on an OpenAI model whose key variable is unset: exit 2 once the run has
    // set up its directories.
    p.file(
        "suites/agent.toml",
        "models = [\"gpt\"]\n[agent]\nkind = \"builtin\"\n\n[model.gpt]\nprovider = \"openai\"\n\
         api-key-env = \"TRACEVAL_TEST_UNSET_KEY\"\n\n[[case]]\nid = \"a\"\ninput = \"x\"\n",
    );
    let out = traceval_command(p.dir())
        .arg("run")
        .env("TMPDIR", tmp.path())
        .env_remove("TRACEVAL_TEST_UNSET_KEY")
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("TRACEVAL_TEST_UNSET_KEY"),
        "{}",
        stderr(&out)
    );
    assert!(
        entries(tmp.path()).is_empty(),
        "left behind: {:?}",
        entries(tmp.path())
    );
}

#[test]
fn the_github_actions_example_runs_as_shipped() {
    let path = root().join("docs/examples/github-actions.yml");
    let workflow = std::fs::read_to_string(&path).unwrap();
    let parsed = crate::support::yaml(&path);
    let commands = run_steps(&workflow);
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!(
        parsed["jobs"]["evals"]["strategy"]["matrix"]["shard"],
        serde_json::json!([1, 2]),
        "the matrix changed"
    );
    let steps = parsed["jobs"]["evals"]["steps"].as_array().unwrap();
    let action = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("traceval/traceval@"))
        })
        .expect("the evals job runs the action");
    let with = action["with"].as_object().unwrap();

    // A project without traceval.toml (the README's first suite is enough), one passing case
    // per shard at least. GitHub's run id is the seed every shard shares.
    let p = relative_programs();
    let github = |v: &str, shard: &str| {
        v.replace("${{ matrix.shard }}", shard)
            .replace("${{ github.run_id }}", "12345")
    };
    let argv = |command: &str| -> Vec<String> {
        github(command, "")
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let reports = p.dir().join("reports");
    for shard in ["1", "2"] {
        // Each shard is a job on a runner of its own: the action's step as it runs there.
        let runner = scratch(&format!("runner-{shard}"));
        let inputs: Vec<(String, String)> = with
            .iter()
            .map(|(k, v)| (k.clone(), github(v.as_str().unwrap(), shard)))
            .collect();
        let inputs: Vec<(&str, &str)> = inputs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let (outputs, summary) = crate::action::step(p.dir(), runner.path(), &inputs);
        assert_eq!(crate::action::output(&outputs, "exit-code"), "0");
        assert_eq!(
            crate::action::output(&outputs, "artifact-name"),
            format!("traceval-report-{shard}-of-2")
        );
        // The shard appended its own summary, as the workflow's comment says.
        assert_eq!(
            summary.matches("<!-- traceval-run run_id=").count(),
            1,
            "{summary}"
        );
        // The merge job's download: every shard's artifact into one reports/.
        crate::support::copy_dir(Path::new(crate::action::output(&outputs, "dir")), &reports);
    }
    assert!(workflow.contains("GITHUB_STEP_SUMMARY"), "{workflow}");
    assert!(workflow.contains("report_paths: ${{ runner.temp }}/traceval/junit-*.xml"));
    let mut written = entries(&reports);
    written.retain(|f| f.ends_with(".json") || f.ends_with(".xml"));
    assert_eq!(
        written,
        [
            "junit-1-of-2.xml",
            "junit-2-of-2.xml",
            "report-1-of-2.json",
            "report-2-of-2.json"
        ]
    );
    // The merge job joins them, traces and all.
    let merge = argv(&commands[0]);
    assert_eq!(merge[..2], ["traceval", "merge"], "{merge:?}");
    let out = traceval_command(p.dir())
        .args(&merge[1..])
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{merge:?}:\n{}", stderr(&out));
    let merged: serde_json::Value =
        serde_json::from_slice(&std::fs::read(p.dir().join("reports/evals.json")).unwrap())
            .unwrap();
    assert_eq!(merged["merged"]["shards"], 2);
    assert_eq!(merged["seed"], 12345);
    let traces = reports
        .join(merged["run_id"].as_str().unwrap())
        .join("traces");
    for t in merged["trials"].as_array().unwrap() {
        assert!(traces.join(t["trace_file"].as_str().unwrap()).is_file());
    }

    // The compare step, with this run's report as the committed baseline: nothing moved, so
    // every gate holds.
    std::fs::create_dir_all(p.dir().join("evals")).unwrap();
    std::fs::copy(
        p.dir().join("reports/evals.json"),
        p.dir().join("evals/baseline.json"),
    )
    .unwrap();
    let summary_path = p.dir().join("step-summary.md");
    let command = commands[1].replace("\"$GITHUB_STEP_SUMMARY\"", &summary_path.to_string_lossy());
    let compare = argv(&command);
    assert_eq!(compare[..2], ["traceval", "compare"], "{compare:?}");
    let out = traceval_command(p.dir())
        .args(&compare[1..])
        .env("CI", "true")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary_path)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{compare:?}:\n{}", stderr(&out));
    assert!(p.dir().join("reports/compare.json").is_file());
    // The merge job's own summary: the comparison.
    let summary = std::fs::read_to_string(&summary_path).unwrap();
    assert!(summary.starts_with("<!-- traceval-compare"), "{summary}");
}

/// The `traceval` commands of a workflow's `run:` steps, each folded (`run: >`) block joined
/// into one line.
fn run_steps(workflow: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut lines = workflow.lines().peekable();
    while let Some(line) = lines.next() {
        let Some((indent, rest)) = line.split_once("run:") else {
            continue;
        };
        if !indent.trim_start_matches([' ', '-']).is_empty() {
            continue;
        }
        let rest = rest.trim();
        let command = if rest == ">" || rest == "|" {
            let mut parts = Vec::new();
            while let Some(next) = lines.peek() {
                let depth = next.len() - next.trim_start().len();
                if next.trim().is_empty() || depth <= indent.len() {
                    break;
                }
                parts.push(next.trim().to_owned());
                lines.next();
            }
            parts.join(" ")
        } else {
            rest.to_owned()
        };
        if command.starts_with("traceval ") {
            commands.push(command);
        }
    }
    commands
}

#[test]
fn help_shows_examples_exit_codes_and_the_reference() {
    for command in [
        &[][..],
        &["run"],
        &["list"],
        &["snapshot"],
        &["inspect"],
        &["serve-model"],
        &["merge"],
        &["compare"],
    ] {
        let args: Vec<&str> = command.iter().copied().chain(["--help"]).collect();
        let out = traceval_in(root(), &args);
        assert_eq!(code(&out), 0, "{args:?}");
        let help = stdout(&out);
        let after = help
            .split_once("\nExamples:\n")
            .unwrap_or_else(|| panic!("{args:?}: no examples\n{help}"))
            .1;
        let examples: Vec<&str> = after.lines().take_while(|l| l.starts_with("  ")).collect();
        assert!((1..=3).contains(&examples.len()), "{args:?}: {examples:?}");
        let name = command
            .first()
            .map_or("traceval ".to_owned(), |c| format!("traceval {c}"));
        for example in &examples {
            assert!(
                example.trim_start().starts_with(&name),
                "{args:?}: {example}"
            );
        }
        assert!(after.contains("\nExit codes: 0 "), "{args:?}\n{help}");
        assert!(
            after.contains("\nReference: docs/reference/"),
            "{args:?}\n{help}"
        );
    }
    // The top-level help names every exit code.
    let top = stdout(&traceval_in(root(), &["--help"]));
    for code in ["0 ", "1 ", "2 ", "3 ", "130 "] {
        assert!(top.contains(code), "{code}: {top}");
    }
}

#[test]
fn ctrl_c_in_snapshot_review_exits_130() {
    if !has_a_terminal() {
        return;
    }
    let p = TestProject::new("review130");
    p.file(
        "traceval.toml",
        "[model.bot]\nprovider = \"scripted\"\nscript = \"scripts/bot.toml\"\n",
    )
    .file("scripts/bot.toml", LOOKUP_SCRIPT)
    .file("suites/agent.toml", SNAPSHOT_SUITE);
    let first = traceval_in(p.dir(), &["run", "--snapshots=new"]);
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    // `script` gives traceval a pseudo-terminal. Ctrl-C is sent once the prompt shows, when
    // the terminal is in raw mode and it arrives as a key (before, the terminal itself would
    // turn it into SIGINT).
    let mut child = traceval_on_a_terminal(p.dir(), "snapshot review")
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    while !String::from_utf8_lossy(&seen).contains("q quit > ") {
        use std::io::Read;
        let mut chunk = [0u8; 256];
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "no prompt: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&chunk[..n]);
    }
    std::io::Write::write_all(&mut stdin, b"\x03").unwrap();
    drop(stdin);
    std::io::Read::read_to_end(&mut stdout, &mut seen).unwrap();
    let status = child.wait().unwrap();
    let review = std::process::Output {
        status,
        stdout: seen,
        stderr: Vec::new(),
    };
    let shown = String::from_utf8_lossy(&review.stdout);
    assert_eq!(review.status.code(), Some(130), "{shown}");
    assert!(shown.contains("interrupted"), "{shown}");
    assert!(shown.contains("1 still pending"), "{shown}");
}
