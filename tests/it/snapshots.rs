//! Trace-shape snapshots end to end: the real binary, the builtin agent on scripted models in
//! a temporary project, and the files it writes under `suites/snapshots/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{Run, TestProject, has_a_terminal, traceval_on_a_terminal};

/// A builtin agent with two tools; `cases` follows.
const SUITE: &str = r#"models = ["bot"]

[agent]
kind = "builtin"
max-turns = 5

[[tool]]
name = "search"
returns = "found: doc-17"

[[tool]]
name = "fetch"
returns = "Rust 1.0 was released on May 15, 2015."

[model.bot]
provider = "scripted"
script = "scripts/bot.toml"
"#;

/// Searches, reads the hit, answers.
const SEARCH_THEN_FETCH: &str = r#"model = "bot-1"

[[rule]]
when.turn = 0
tool-calls = [{ name = "search", args = { q = "rust 1.0" } }]

[[rule]]
when.turn = 1
tool-calls = [{ name = "fetch", args = { id = "doc-17" } }]

[[rule]]
when.turn = 2
text = "May 15, 2015"
"#;

/// Answers after the search alone: a changed agent.
const SEARCH_ONLY: &str = r#"model = "bot-1"

[[rule]]
when.turn = 0
tool-calls = [{ name = "search", args = { q = "rust 1.0" } }]

[[rule]]
when.turn = 1
text = "2015, I think"
"#;

fn project(name: &str, cases: &str, script: &str) -> TestProject {
    let p = TestProject::new(name);
    p.file("suites/agent.toml", &format!("{SUITE}\n{cases}"))
        .file("suites/scripts/bot.toml", script);
    p
}

const ONE_CASE: &str =
    "[[case]]\nid = \"release\"\ninput = \"When was Rust 1.0 released?\"\nexpect.snapshot = true\n";

/// `traceval run ARGS` in the project, with `env` set and no snapshot setting inherited.
fn run_with(p: &TestProject, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = p.command(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    Run::new(cmd.output().expect("traceval runs"), p.report_path())
}

fn run(p: &TestProject, args: &[&str]) -> Run {
    run_with(p, args, &[])
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn snapshots_dir(p: &TestProject) -> PathBuf {
    p.dir().join("suites/snapshots")
}

/// The file names in `suites/snapshots/`, sorted (none when it does not exist).
fn files(p: &TestProject) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(snapshots_dir(p))
        .map(|entries| {
            entries
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Every file under `dir`, relative to it.
fn all_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(path.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn snapshot_check(trial: &Value) -> &Value {
    trial["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "snapshot")
        .unwrap_or_else(|| panic!("no snapshot check in {trial:#}"))
}

fn case_aggregate<'a>(run: &'a Run, case: &str) -> &'a Value {
    run.report()["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["case"] == case)
        .unwrap_or_else(|| panic!("no case {case}"))
}

const SNAP: &str = "agent__release@bot.snap";
const SNAP_NEW: &str = "agent__release@bot.snap.new";

#[test]
fn first_run_records_the_snapshot_and_the_next_run_compares_with_it() {
    let p = project("snap-roundtrip", ONE_CASE, SEARCH_THEN_FETCH);
    let first = run(&p, &[]);
    assert_eq!(
        first.code, 0,
        "a first snapshot is recorded, as jest does outside CI: {}",
        first.stderr
    );
    let check = snapshot_check(first.trial("release", 0));
    assert_eq!(check["passed"], true);
    let message = check["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "no snapshot yet: `suites/snapshots/agent__release@bot.snap` does not exist; the \
             shape is recorded in `suites/snapshots/agent__release@bot.snap`"
        ),
        "{message}"
    );
    assert_eq!(files(&p), [SNAP]);
    // The file is insta's format, with the shape as its content.
    let recorded = insta::Snapshot::from_file(&snapshots_dir(&p).join(SNAP)).unwrap();
    assert_eq!(recorded.metadata().source(), Some("suites/agent.toml"));
    assert_eq!(
        recorded.metadata().expression(),
        Some("agent::release (bot)")
    );
    assert_eq!(
        recorded.contents().as_text().unwrap().to_string(),
        "invoke_agent agent [agent] operation=invoke_agent provider=traceval.scripted\n\
         \x20 chat bot [llm] operation=chat model=bot provider=traceval.scripted\n\
         \x20 execute_tool search [tool] operation=execute_tool tool=search\n\
         \x20 chat bot [llm] operation=chat model=bot provider=traceval.scripted\n\
         \x20 execute_tool fetch [tool] operation=execute_tool tool=fetch\n\
         \x20 chat bot [llm] operation=chat model=bot provider=traceval.scripted"
    );
    assert!(
        first
            .stderr
            .contains("recorded (new): agent::release (bot)"),
        "{}",
        first.stderr
    );

    let second = run(&p, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let check = snapshot_check(second.trial("release", 0));
    assert_eq!(check["passed"], true);
    assert_eq!(second.trial("release", 0)["snapshot_matched"], true);
    assert_eq!(case_aggregate(&second, "release")["snapshot_matched"], 1);
    assert!(
        second
            .stderr
            .contains("agent::release (bot) 1/1 (snapshot matched 1/1)"),
        "{}",
        second.stderr
    );
    assert_eq!(files(&p), [SNAP], "a matching run writes nothing");
    let listed = p.traceval(&["snapshot", "list"]);
    assert!(text(&listed.stderr).contains("no pending snapshots"));
}

#[test]
fn a_new_snapshot_can_wait_for_review_and_accept_records_it() {
    let p = project("snap-new", ONE_CASE, SEARCH_THEN_FETCH);
    let first = run(&p, &["--snapshots=new"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(files(&p), [SNAP_NEW]);
    assert!(
        first
            .stderr
            .contains("Snapshot pending review: agent::release (bot)"),
        "{}",
        first.stderr
    );
    let listed = p.traceval(&["snapshot"]);
    assert_eq!(listed.status.code(), Some(0));
    assert_eq!(
        text(&listed.stdout),
        "new      agent::release (bot) suites/snapshots/agent__release@bot.snap.new\n"
    );
    let accepted = p.traceval(&["snapshot", "accept"]);
    assert_eq!(
        accepted.status.code(),
        Some(0),
        "{}",
        text(&accepted.stderr)
    );
    assert!(text(&accepted.stderr).contains("Accepted agent::release (bot)"));
    assert_eq!(files(&p), [SNAP]);

    let second = run(&p, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let check = snapshot_check(second.trial("release", 0));
    assert_eq!(check["passed"], true);
    assert_eq!(second.trial("release", 0)["snapshot_matched"], true);
    assert_eq!(case_aggregate(&second, "release")["snapshot_matched"], 1);
    assert!(
        second
            .stderr
            .contains("agent::release (bot) 1/1 (snapshot matched 1/1)"),
        "{}",
        second.stderr
    );
    assert_eq!(files(&p), [SNAP], "a matching run writes nothing");
    let listed = p.traceval(&["snapshot", "list"]);
    assert!(text(&listed.stderr).contains("no pending snapshots"));
}

#[test]
fn a_changed_agent_fails_with_a_readable_diff_until_accepted() {
    let p = project("snap-changed", ONE_CASE, SEARCH_THEN_FETCH);
    assert_eq!(run(&p, &[]).code, 0, "a first snapshot is recorded");
    let stored = std::fs::read_to_string(snapshots_dir(&p).join(SNAP)).unwrap();

    p.file("suites/scripts/bot.toml", SEARCH_ONLY);
    let changed = run(&p, &[]);
    assert_eq!(changed.code, 1, "{}", changed.stderr);
    let failures = &changed.stderr[changed.stderr.find("failures:").unwrap()..];
    let failures = &failures[..failures.find("\nfailures:").unwrap()];
    insta::assert_snapshot!(crate::support::redact(failures, p.dir(), "[project]"));
    // The stored snapshot is untouched; the new shape waits beside it.
    assert_eq!(
        std::fs::read_to_string(snapshots_dir(&p).join(SNAP)).unwrap(),
        stored
    );
    assert_eq!(files(&p), [SNAP, SNAP_NEW]);
    assert_eq!(
        text(&p.traceval(&["snapshot", "list"]).stdout),
        "changed  agent::release (bot) suites/snapshots/agent__release@bot.snap.new\n"
    );

    assert_eq!(
        p.traceval(&["snapshot", "accept", "release"]).status.code(),
        Some(0)
    );
    assert_eq!(files(&p), [SNAP]);
    let after = run(&p, &[]);
    assert_eq!(after.code, 0, "{}", after.stderr);
}

#[test]
fn reject_removes_pending_files_and_filters_pick_them() {
    let cases =
        format!("{ONE_CASE}[[case]]\nid = \"other\"\ninput = \"x\"\nexpect.snapshot = true\n");
    let p = project("snap-reject", &cases, SEARCH_THEN_FETCH);
    assert_eq!(
        run(&p, &["--snapshots=new"]).code,
        0,
        "pending new snapshots"
    );
    assert_eq!(files(&p), ["agent__other@bot.snap.new", SNAP_NEW]);
    // A filter that matches nothing is a usage error, as with `run --filter`.
    let none = p.traceval(&["snapshot", "accept", "nope::*"]);
    assert_eq!(none.status.code(), Some(2));
    assert!(text(&none.stderr).contains("no pending snapshot matches the filter"));
    let rejected = p.traceval(&["snapshot", "reject", "*::other"]);
    assert_eq!(
        rejected.status.code(),
        Some(0),
        "{}",
        text(&rejected.stderr)
    );
    assert_eq!(files(&p), [SNAP_NEW]);
    assert_eq!(p.traceval(&["snapshot", "reject"]).status.code(), Some(0));
    assert_eq!(files(&p), Vec::<String>::new());
    // Review asks on a terminal; without one it refuses.
    assert_eq!(
        run(&p, &["--snapshots=new"]).code,
        0,
        "pending new snapshots"
    );
    let review = p.traceval(&["snapshot", "review"]);
    assert_eq!(review.status.code(), Some(2));
    assert!(
        text(&review.stderr).contains("`traceval snapshot review` asks on a terminal"),
        "{}",
        text(&review.stderr)
    );
    assert_eq!(files(&p).len(), 2, "nothing was decided");
}

#[test]
fn review_on_a_terminal_takes_one_key_per_snapshot() {
    if !has_a_terminal() {
        return;
    }
    let cases =
        format!("{ONE_CASE}[[case]]\nid = \"other\"\ninput = \"x\"\nexpect.snapshot = true\n");
    let p = project("snap-review", &cases, SEARCH_THEN_FETCH);
    assert_eq!(
        run(&p, &["--snapshots=new"]).code,
        0,
        "pending new snapshots"
    );
    // `script` gives traceval a pseudo-terminal and feeds it the keys: accept the first
    // (agent::other), reject the second.
    let review = traceval_on_a_terminal(p.dir(), "snapshot review")
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"ar")?;
            child.wait_with_output()
        })
        .unwrap();
    let shown = text(&review.stdout);
    assert_eq!(review.status.code(), Some(0), "{shown}");
    assert!(shown.contains("[1/2] agent::other (bot) (new)"), "{shown}");
    assert!(shown.contains("+  execute_tool search [tool]"), "{shown}");
    assert!(
        shown.contains("1 accepted, 1 rejected, 0 skipped"),
        "{shown}"
    );
    assert_eq!(files(&p), ["agent__other@bot.snap"]);
}

#[test]
fn ci_never_writes_a_snapshot_file() {
    let p = project("snap-ci", ONE_CASE, SEARCH_THEN_FETCH);
    for (env, args) in [
        (&[("CI", "true")][..], &[][..]),
        (&[("CI", "1")], &["--snapshots=update"]),
        (&[("CI", "true")], &["--snapshots=new"]),
        (&[("INSTA_UPDATE", "no")], &["--snapshots=update"]),
    ] {
        let ci = run_with(&p, args, env);
        assert_eq!(ci.code, 1, "{env:?} {args:?}: {}", ci.stderr);
        let message = snapshot_check(ci.trial("release", 0))["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.contains("nothing is written") && message.contains("+  execute_tool search"),
            "{message}"
        );
        assert!(!snapshots_dir(&p).exists(), "{env:?} {args:?} wrote a file");
        assert!(
            ci.stderr.contains("Snapshot differs, not written"),
            "{}",
            ci.stderr
        );
        if !args.is_empty() {
            assert!(
                ci.stderr.contains("no snapshot file is written because"),
                "{}",
                ci.stderr
            );
        }
    }
    // With a stored snapshot and a changed agent, CI still writes nothing.
    assert_eq!(run(&p, &[]).code, 0, "a first snapshot is recorded");
    p.file("suites/scripts/bot.toml", SEARCH_ONLY);
    let ci = run_with(&p, &[], &[("CI", "true")]);
    assert_eq!(ci.code, 1);
    assert_eq!(files(&p), [SNAP]);
    // `CI=false` is not CI, as insta reads it.
    assert_eq!(run_with(&p, &[], &[("CI", "false")]).code, 1);
    assert_eq!(files(&p), [SNAP, SNAP_NEW]);
}

#[test]
fn update_and_new_modes_pass_and_write_what_they_say() {
    let p = project("snap-modes", ONE_CASE, SEARCH_THEN_FETCH);
    let new = run(&p, &["--snapshots=new"]);
    assert_eq!(new.code, 0, "{}", new.stderr);
    assert_eq!(files(&p), [SNAP_NEW]);
    let updated = run(&p, &["--snapshots=update"]);
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    assert_eq!(
        files(&p),
        [SNAP],
        "update writes the .snap and drops the stale .snap.new"
    );
    assert!(
        updated
            .stderr
            .contains("Snapshot updated: agent::release (bot)")
    );
    // INSTA_UPDATE=always is update, as in insta.
    p.file("suites/scripts/bot.toml", SEARCH_ONLY);
    let always = run_with(&p, &[], &[("INSTA_UPDATE", "always")]);
    assert_eq!(always.code, 0, "{}", always.stderr);
    let stored = std::fs::read_to_string(snapshots_dir(&p).join(SNAP)).unwrap();
    assert!(!stored.contains("fetch"), "{stored}");
    assert_eq!(run(&p, &[]).code, 0);
    // An INSTA_UPDATE value insta does not know is a usage error.
    assert_eq!(run_with(&p, &[], &[("INSTA_UPDATE", "sometimes")]).code, 2);
}

#[test]
fn hostile_case_ids_stay_inside_suites_snapshots() {
    let long = "x".repeat(300);
    let ids = [
        "../../etc/passwd",
        "..",
        "a/b\\c",
        "CON",
        "nul.txt",
        ".hidden",
        &long,
    ];
    let cases: String = ids
        .iter()
        .map(|id| {
            format!(
                "[[case]]\nid = {}\ninput = \"x\"\nexpect.snapshot = true\n",
                serde_json::to_string(id).unwrap()
            )
        })
        .collect();
    let p = project("snap-hostile", &cases, SEARCH_THEN_FETCH);
    let before = all_files(p.dir());
    let first = run(&p, &["--snapshots=new"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let created: Vec<String> = all_files(p.dir())
        .into_iter()
        .filter(|f| !before.contains(f) && !f.starts_with("out/") && !f.starts_with("reports/"))
        .collect();
    assert_eq!(created.len(), ids.len(), "{created:#?}");
    for file in &created {
        let name = file
            .strip_prefix("suites/snapshots/")
            .unwrap_or_else(|| panic!("{file}"));
        assert!(!name.contains('/') && !name.starts_with('.'), "{file}");
        assert!(name.len() <= 255 && name.ends_with(".snap.new"), "{file}");
    }
    // They are found, listed with their real ids, and accepted where they are.
    let listed = text(&p.traceval(&["snapshot"]).stdout);
    assert!(listed.contains("agent::../../etc/passwd (bot)"), "{listed}");
    assert_eq!(p.traceval(&["snapshot", "accept"]).status.code(), Some(0));
    assert_eq!(files(&p).len(), ids.len());
    assert!(files(&p).iter().all(|f| f.ends_with(".snap")));
    let second = run(&p, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
}

#[test]
fn every_trial_is_compared_and_the_matches_are_counted() {
    // Half the time the model skips the fetch: two shapes.
    let script = r#"model = "bot-1"

[[rule]]
when.turn = 0
tool-calls = [{ name = "search", args = { q = "rust 1.0" } }]

[[rule]]
when.turn = 1
[[rule.variant]]
weight = 1
tool-calls = [{ name = "fetch", args = { id = "doc-17" } }]
[[rule.variant]]
weight = 1
text = "2015"

[[rule]]
when.turn = 2
text = "May 15, 2015"
"#;
    let p = project("snap-k", ONE_CASE, script);
    let first = run(&p, &["-k", "8", "--seed", "3", "--snapshots=new"]);
    assert_eq!(first.code, 0);
    assert!(
        first
            .stderr
            .contains("its 8 compared trials gave 2 different trace shapes"),
        "{}",
        first.stderr
    );
    // The pending file holds trial 0's shape.
    let fetched_first = first.trial("release", 0)["metrics"]["tool_calls"]
        .as_array()
        .unwrap()
        .len()
        == 2;
    let pending = std::fs::read_to_string(snapshots_dir(&p).join(SNAP_NEW)).unwrap();
    assert_eq!(pending.contains("execute_tool fetch"), fetched_first);
    assert_eq!(p.traceval(&["snapshot", "accept"]).status.code(), Some(0));

    let second = run(&p, &["-k", "8", "--seed", "3"]);
    let trials: Vec<&Value> = second.report()["trials"]
        .as_array()
        .unwrap()
        .iter()
        .collect();
    let like_trial_0 = trials
        .iter()
        .filter(|t| (t["metrics"]["tool_calls"].as_array().unwrap().len() == 2) == fetched_first)
        .count();
    assert!(0 < like_trial_0 && like_trial_0 < 8, "both shapes occur");
    for t in &trials {
        let same = (t["metrics"]["tool_calls"].as_array().unwrap().len() == 2) == fetched_first;
        assert_eq!(t["snapshot_matched"], same, "{t:#}");
        assert_eq!(t["passed"], same);
    }
    assert_eq!(
        case_aggregate(&second, "release")["snapshot_matched"],
        like_trial_0
    );
    assert!(
        second
            .stderr
            .contains(&format!("(snapshot matched {like_trial_0}/8)")),
        "{}",
        second.stderr
    );
}

#[test]
fn parallel_tool_calls_in_either_order_give_one_shape() {
    // The model asks for the same two tools at once, in a random order.
    let script = r#"model = "bot-1"

[[rule]]
when.turn = 0
[[rule.variant]]
weight = 1
tool-calls = [{ name = "search", args = { q = "x" } }, { name = "fetch", args = { id = "y" } }]
[[rule.variant]]
weight = 1
tool-calls = [{ name = "fetch", args = { id = "y" } }, { name = "search", args = { q = "x" } }]

[[rule]]
when.turn = 1
text = "done"
"#;
    let p = project("snap-parallel", ONE_CASE, script);
    let first = run(&p, &["-k", "20", "--seed", "11"]);
    assert!(
        !first.stderr.contains("different trace shapes"),
        "{}",
        first.stderr
    );
    assert_eq!(p.traceval(&["snapshot", "accept"]).status.code(), Some(0));
    let second = run(&p, &["-k", "20", "--seed", "12"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    let orders: std::collections::BTreeSet<Vec<String>> = second.report()["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t["metrics"]["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(orders.len(), 2, "both call orders occurred: {orders:?}");
    assert_eq!(case_aggregate(&second, "release")["snapshot_matched"], 20);
}

#[test]
fn collapse_repeats_snapshot_ignore_and_retries_shape_the_snapshot() {
    let cases = r#"[[case]]
id = "lookups"
input = "x"
[case.expect]
snapshot = true
collapse-repeats = true
snapshot-ignore = ["llm"]
"#;
    // Three parallel searches, then one more after a rate-limited model call.
    let script = r#"model = "bot-1"

[[rule]]
when.turn = 0
tool-calls = [
  { name = "search", args = { q = "a" } },
  { name = "search", args = { q = "b" } },
  { name = "search", args = { q = "c" } },
]

[[rule]]
when.turn = 1
tool-calls = [{ name = "search", args = { q = "d" } }]
fail = { status = 429, times = 1, retry-after = "1ms" }

[[rule]]
when.turn = 2
text = "done"
"#;
    let p = project("snap-options", cases, script);
    // A suite-level default, which the case keeps.
    p.file(
        "suites/agent.toml",
        &format!("snapshot-attrs = [\"tool\", \"error\"]\n{SUITE}\n{cases}"),
    );
    let first = run(&p, &["--snapshots=new"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.trial("lookups", 0)["metrics"]["retries"],
        1,
        "the 429 happened"
    );
    let pending =
        std::fs::read_to_string(snapshots_dir(&p).join("agent__lookups@bot.snap.new")).unwrap();
    let body = &pending[pending.rfind("---\n").unwrap() + 4..];
    // With the chat spans left out, the later search joins the run of the parallel ones; the
    // attempt spans of the rate-limited call are folded away, not lifted.
    assert_eq!(
        body,
        "invoke_agent agent [agent]\n  execute_tool search [tool] tool=search ×4\n"
    );
    assert_eq!(p.traceval(&["snapshot", "accept"]).status.code(), Some(0));
    // Without the rate limit, the shape is the same: retries are folded.
    p.file(
        "suites/scripts/bot.toml",
        &script.replace(
            "fail = { status = 429, times = 1, retry-after = \"1ms\" }\n",
            "",
        ),
    );
    let calm = run(&p, &[]);
    assert_eq!(calm.code, 0, "{}", calm.stderr);
    assert_eq!(calm.trial("lookups", 0)["metrics"]["retries"], 0);
}

#[test]
fn a_replay_compares_the_recorded_trace_with_the_snapshot() {
    let p = project("snap-replay", ONE_CASE, SEARCH_THEN_FETCH);
    assert_eq!(run(&p, &[]).code, 0, "a first snapshot is recorded");
    let live = run(&p, &["--save-traces"]);
    assert_eq!(live.code, 0, "{}", live.stderr);
    // The live report, kept apart from the replays' (which go to `out/report.json` too); the
    // traces are in `reports/<run-id>/traces/` under the project.
    let recorded = "live.json";
    std::fs::copy(p.report_path(), p.dir().join(recorded)).unwrap();
    let replayed = run(&p, &["--replay", recorded]);
    assert_eq!(replayed.code, 0, "{}", replayed.stderr);
    assert_eq!(replayed.trial("release", 0)["snapshot_matched"], true);
    // A snapshot that no longer describes the recorded trace fails the replay, and the new
    // shape waits for review as after a live run.
    let path = snapshots_dir(&p).join(SNAP);
    let stored = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, stored.replace("tool=fetch", "tool=download")).unwrap();
    let replayed = run(&p, &["--replay", recorded]);
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    let message = snapshot_check(replayed.trial("release", 0))["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("-  execute_tool fetch [tool] operation=execute_tool tool=download")
            && message.contains("+  execute_tool fetch [tool] operation=execute_tool tool=fetch"),
        "{message}"
    );
    assert_eq!(files(&p), [SNAP, SNAP_NEW]);
}

#[test]
fn a_trial_whose_agent_did_not_finish_is_not_compared() {
    let p = project(
        "snap-timeout",
        &format!("{ONE_CASE}timeout = \"300ms\"\n"),
        &SEARCH_THEN_FETCH.replace("model = \"bot-1\"", "model = \"bot-1\"\nlatency = \"2s\""),
    );
    let slow = run(&p, &[]);
    assert_eq!(slow.code, 1, "{}", slow.stderr);
    let trial = slow.trial("release", 0);
    assert_eq!(trial["error"], "the agent timed out");
    let check = snapshot_check(trial);
    assert_eq!(check["passed"], false);
    assert_eq!(check["message"], "not compared: the agent timed out");
    assert_eq!(trial["snapshot_matched"], false, "{trial:#}");
    assert_eq!(case_aggregate(&slow, "release")["snapshot_matched"], 0);
    assert!(
        slow.stderr.contains("(snapshot matched 0/1)"),
        "{}",
        slow.stderr
    );
    assert_eq!(
        files(&p),
        Vec::<String>::new(),
        "a partial trace is no snapshot"
    );
}
