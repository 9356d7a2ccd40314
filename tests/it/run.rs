//! `traceval run` end to end: the real binary on suites written into a temporary project, with
//! real subprocess agents (tests/agents/misbehave.py and the reference agent in suites/agents).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Run, TestProject, check, read_json, redact, root, scratch, traceval_command};

#[test]
fn the_reference_python_agent_is_captured_and_graded_from_its_spans() {
    let out = scratch("ref");
    let report = out.path().join("report.json");
    let junit = out.path().join("junit.xml");
    let output = traceval_command(root())
        .args(["run", "suites/python", "--save-traces", "--report"])
        .arg(&report)
        .arg("--junit")
        .arg(&junit)
        .output()
        .unwrap();
    let run = Run::new(output, report);
    assert_eq!(
        run.code, 0,
        "stderr:\n{}\nhint: pip install -r tests/requirements.txt",
        run.stderr
    );
    let trials = run.report()["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 4, "2 cases × 2 trials");
    for t in trials {
        let m = &t["metrics"];
        let city = if t["case"] == "paris" {
            "Paris"
        } else {
            "Tokyo"
        };
        assert_eq!(t["passed"], true, "{t:#}");
        // Two chat calls from the openai-v2 instrumentation: 120 + 165 in, 18 + 12 out (stub).
        assert_eq!(m["llm_calls"], 2, "{t:#}");
        assert_eq!(m["input_tokens"], 285);
        assert_eq!(m["output_tokens"], 30);
        assert_eq!(
            m["tool_calls"],
            serde_json::json!([{ "name": "get_weather", "args": { "city": city } }])
        );
        assert_eq!(m["tool_f1"], 1.0);
        // eval.trial + invoke_agent + 2 chat + execute_tool.
        assert_eq!(m["span_count"], 5, "{t:#}");
        // gpt-4o-mini-2024-07-18 priced as gpt-4o-mini by the built-in table (the suite has no
        // [pricing]): 285 × 0.15 + 30 × 0.60 per 1M, within the paris case's max-cost.
        let cost = m["cost_usd"].as_f64().unwrap();
        assert!((cost - 6.075e-5).abs() < 1e-12, "{cost}");
        if t["case"] == "paris" {
            assert_eq!(check(t, "max-cost")["passed"], true, "{t:#}");
        }
        assert_eq!(t["agent_trace_ids"].as_array().unwrap().len(), 1);
        assert!(t["warnings"].is_null(), "{t:#}");
        // The suite's content-capture setting is one the instrumentation takes.
        assert!(
            !t["stderr_tail"]
                .as_str()
                .unwrap_or("")
                .contains("not a valid option"),
            "{t:#}"
        );
    }
    let model = &run.report()["models"][0];
    assert_eq!(model["pass_rate"], 1.0);
    assert_eq!(model["pass_at_k"]["2"], 1.0);
    assert!(
        run.stderr
            .contains("test result: ok. 4 passed; 0 failed; 0 errored")
    );
    assert!(
        run.stderr.contains("PASS [") && run.stderr.contains("python-weather::paris (sunny) 2/2"),
        "{}",
        run.stderr
    );
    let junit = std::fs::read_to_string(&junit).unwrap();
    assert!(
        junit.contains("<testsuite name=\"python-weather (sunny)\" tests=\"2\""),
        "{junit}"
    );
    // --save-traces: each trial's spans as OTLP JSON, readable by `inspect`.
    let run_id = run.report()["run_id"].as_str().unwrap();
    let traces = root().join("reports").join(run_id).join("traces");
    let saved: Vec<_> = std::fs::read_dir(&traces).unwrap().collect();
    assert_eq!(saved.len(), 4);
    // The page from the report and its saved traces, run from elsewhere: the agent's LLM calls
    // read as a chat (the instrumentation recorded the messages on the spans), and its tool
    // call names the tool.
    let page = out.path().join("page.html");
    let html = traceval_command(out.path())
        .arg("html")
        .arg(out.path().join("report.json"))
        .arg("--traces")
        .arg(&traces)
        .args(["--html-traces", "all", "-o", "page.html"])
        .output()
        .unwrap();
    assert!(html.status.success(), "{html:?}");
    let page = std::fs::read_to_string(page).unwrap();
    assert_eq!(
        page.matches("<section class=\"transcript\">").count(),
        8,
        "4 trials × 2 calls"
    );
    for needle in [
        "<div class=\"msg role-user\"><div class=\"role\">user</div><div class=\"part text\">What's the weather in Paris?</div>",
        "<code>→ get_weather({\"city\":\"Tokyo\"})</code>",
        "<span class=\"name\">execute_tool get_weather</span>",
    ] {
        assert!(page.contains(needle), "{needle}");
    }
    let _ = std::fs::remove_dir_all(root().join("reports").join(run_id));
}

#[test]
fn a_crashing_agent_fails_its_trial_and_the_run_goes_on() {
    let p = TestProject::new("crash");
    p.file(
        "suites/crash.toml",
        &format!(
            "{}\n[[case]]\nid = \"boom\"\ninput = \"x\"\n",
            p.misbehave("crash")
        ),
    );
    p.file(
        "suites/fine.toml",
        &format!(
            "{}\n[[case]]\nid = \"ok\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"answer\"]\n",
            p.misbehave("nospans")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let boom = run.trial("boom", 0);
    assert_eq!(boom["passed"], false);
    assert_eq!(
        check(boom, "exit-code")["message"],
        "exit code 3, expected 0"
    );
    assert!(
        boom["stderr_tail"]
            .as_str()
            .unwrap()
            .contains("RuntimeError: boom")
    );
    assert_eq!(run.trial("ok", 0)["passed"], true);
    assert!(run.stderr.contains("RuntimeError: boom"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("test result: FAILED. 1 passed; 1 failed; 0 errored")
    );
}

#[test]
fn a_hanging_agent_is_killed_with_its_children_at_the_timeout() {
    let p = TestProject::new("hang");
    p.file(
        "suites/hang.toml",
        &format!(
            "timeout = \"1s\"\n{}\n[[case]]\nid = \"stuck\"\ninput = \"x\"\n",
            p.misbehave("hang")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = run.trial("stuck", 0);
    assert_eq!(t["error"], "the agent timed out");
    assert_eq!(t["exit"]["kind"], "timed_out");
    // The agent ignored SIGTERM and left a grandchild: both are gone.
    assert_eq!(p.leftovers(), Vec::<String>::new());
    assert!(
        run.stderr.contains("0 passed; 0 failed; 1 errored"),
        "{}",
        run.stderr
    );
}

#[test]
fn garbage_output_is_data_not_terminal_control() {
    let p = TestProject::new("garbage");
    p.file(
        "suites/garbage.toml",
        &format!(
            "{}\n[[case]]\nid = \"junk\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"clean\"]\n",
            p.misbehave("garbage")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(!run.stderr.contains('\u{202e}'), "{:?}", run.stderr);
    let t = run.trial("junk", 0);
    assert!(t["output"].as_str().unwrap().contains("garbage"));
    assert_eq!(check(t, "output-contains")["passed"], false);
}

#[test]
fn an_agent_that_sends_no_spans_gets_a_result_and_a_warning() {
    let p = TestProject::new("nospans");
    p.file(
        "suites/quiet.toml",
        &format!(
            "{}\n[[case]]\nid = \"quiet\"\ninput = \"x\"\n[case.expect]\nmax-llm-calls = 3\n",
            p.misbehave("nospans")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = run.trial("quiet", 0);
    assert_eq!(t["metrics"]["span_count"], 1);
    let warning = t["warnings"][0].as_str().unwrap();
    assert!(warning.contains("sent no spans"), "{warning}");
    assert!(
        warning.contains("shutting its tracer provider down"),
        "{warning}"
    );
    assert!(run.stderr.contains("sent no spans"), "{}", run.stderr);
}

#[test]
fn concurrent_trials_never_get_each_others_spans() {
    let p = TestProject::new("isolation");
    let mut suite = format!("trials = 2\n{}", p.misbehave("spans"));
    for i in 0..6 {
        suite.push_str(&format!(
            "\n[[case]]\nid = \"case {i}, x=%\"\ninput = \"{i}\"\n[case.expect]\ntools = [{{ name = \"get_case\", args = {{ case = \"case {i}, x=%\" }} }}]\nmin-tool-f1 = 0.0\n"
        ));
    }
    p.file("suites/iso.toml", &suite);
    let run = p.run(&["-j", "12"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trials = run.report()["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 12);
    for t in trials {
        let calls = t["metrics"]["tool_calls"].as_array().unwrap();
        assert_eq!(calls.len(), 3, "{t:#}");
        for c in calls {
            assert_eq!(c["args"]["case"], t["case"], "{t:#}");
        }
        // eval.trial + invoke_agent + 3 tools: nothing from another trial.
        assert_eq!(t["metrics"]["span_count"], 5, "{t:#}");
        assert_eq!(t["output"].as_str().unwrap().trim(), t["case"]);
    }
}

#[test]
fn ctrl_c_kills_running_agents_and_writes_what_finished() {
    let p = TestProject::new("interrupt");
    p.file(
        "suites/a_quick.toml",
        &format!(
            "{}\n[[case]]\nid = \"q1\"\ninput = \"x\"\n[[case]]\nid = \"q2\"\ninput = \"x\"\n",
            p.misbehave("nospans")
        ),
    );
    p.file(
        "suites/b_slow.toml",
        &format!(
            "{}\n[[case]]\nid = \"s1\"\ninput = \"x\"\n[[case]]\nid = \"s2\"\ninput = \"x\"\n",
            p.misbehave("hang")
        ),
    );
    let mut child = p
        .command(&["-j", "4", "--message-format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until both quick trials finished, then interrupt.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut finished = 0;
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        if event["event"] == "trial_finished" {
            finished += 1;
        }
        if finished == 2 {
            break;
        }
    }
    assert_eq!(finished, 2);
    // Both hanging agents are up once they printed (their grandchildren carry the marker).
    let started = Instant::now();
    while p.leftovers().len() < 2 && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    // The leftover detector sees them: the check after the interrupt can fail.
    assert_eq!(p.leftovers().len(), 2);
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let report: Value = read_json(&p.report_path());
    crate::reference::check_report(&report);
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["stopped"], "interrupted");
    let cases: Vec<&str> = report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["case"].as_str().unwrap())
        .collect();
    assert_eq!(cases, ["q1", "q2"]);
    assert_eq!(report["not_run"], 2);
    assert_eq!(p.leftovers(), Vec::<String>::new());
}

#[test]
fn bad_suites_stop_the_run_with_file_line_key_and_hint() {
    // (suite text, expected stderr fragments)
    let cases: [(&str, &[&str]); 5] = [
        (
            "[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[[case]]\nid = \"a\"\ninput = \"x\"\n[case.expect]\noutput_contains = [\"y\"]\n",
            &[
                "suites/bad.toml:8:1: unknown key `case[0].expect.output_contains`",
                "hint: did you mean `output-contains`?",
            ],
        ),
        (
            "[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[[case]]\nid = \"a\"\ninput = \"x\"\n[[case]]\nid = \"a\"\ninput = \"y\"\n",
            &["suites/bad.toml:8:6: duplicate case id `a`, first defined at suites/bad.toml:4"],
        ),
        (
            "timeout = \"soon\"\n[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[[case]]\nid = \"a\"\ninput = \"x\"\n",
            &["suites/bad.toml:1:11: invalid `timeout`", "not a duration"],
        ),
        (
            "trials = \"five\"\n[agent]\nkind = \"command\"\ncommand = [\"true\"]\n[[case]]\nid = \"a\"\ninput = \"x\"\n",
            &["suites/bad.toml:1:10", "trials"],
        ),
        (
            "cases = \"missing.jsonl\"\n[agent]\nkind = \"command\"\ncommand = [\"true\"]\n",
            &["suites/bad.toml:1", "missing.jsonl"],
        ),
    ];
    for (suite, fragments) in cases {
        let p = TestProject::new("bad");
        p.file("suites/bad.toml", suite);
        let run = p.run(&[]);
        assert_eq!(run.code, 2, "{suite}\n{}", run.stderr);
        assert!(
            run.stderr.starts_with("error: failed to load suites"),
            "{}",
            run.stderr
        );
        for f in fragments {
            assert!(run.stderr.contains(f), "missing {f:?} in:\n{}", run.stderr);
        }
        // Nothing ran: no status lines, no report.
        assert!(!run.stderr.contains("Running"), "{}", run.stderr);
        assert!(run.report.is_none());
    }
}

#[test]
fn a_malformed_cases_file_names_its_own_line() {
    let p = TestProject::new("jsonl");
    p.file(
        "suites/data.toml",
        "cases = \"data/cases.jsonl\"\n[agent]\nkind = \"command\"\ncommand = [\"true\"]\n",
    );
    p.file(
        "suites/data/cases.jsonl",
        "{\"id\": \"a\", \"input\": \"x\"}\n\n{\"id\": \"b\", \"input\": \"x\", \"expect\": {\"max-llm-calls\": \"two\"}}\n",
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("suites/data/cases.jsonl:3:") && run.stderr.contains("max-llm-calls"),
        "{}",
        run.stderr
    );
}

#[test]
fn list_prints_the_plan_and_shards_partition_it() {
    let p = TestProject::new("list");
    let mut suite = format!("trials = 3\n{}", p.misbehave("nospans"));
    for i in 0..20 {
        suite.push_str(&format!("\n[[case]]\nid = \"c{i:02}\"\ninput = \"x\"\n"));
    }
    p.file("suites/many.toml", &suite);
    let list = |args: &[&str]| -> Vec<String> {
        let out = p.traceval(&[&["list"], args].concat());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let all = list(&[]);
    assert_eq!(all.len(), 21);
    assert_eq!(all[0], "many::c00 (default) ×3");
    assert_eq!(all[20], "20 cases × 1 model: 60 trials");
    let mut union: Vec<String> = Vec::new();
    for i in 1..=3 {
        let shard = list(&["--shard", &format!("{i}/3")]);
        union.extend(shard[..shard.len() - 1].iter().cloned());
    }
    union.sort();
    assert_eq!(union, all[..20].to_vec());
    assert_eq!(list(&["--filter", "many::c1*", "-k", "2"]).len(), 11);
    assert_eq!(list(&["--filter", "c07"])[0], "many::c07 (default) ×3");
}

#[test]
fn fail_fast_stops_starting_trials_and_json_events_go_to_stdout() {
    let p = TestProject::new("failfast");
    let mut suite = p.misbehave("crash");
    for i in 0..5 {
        suite.push_str(&format!("\n[[case]]\nid = \"c{i}\"\ninput = \"x\"\n"));
    }
    p.file("suites/ff.toml", &suite);
    let run = p.run(&["--fail-fast", "-j", "1", "--message-format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.report()["trials"].as_array().unwrap().len(), 1);
    assert_eq!(run.report()["not_run"], 4);
    assert_eq!(run.report()["stopped"], "fail_fast");
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "run_started",
            "trial_started",
            "trial_finished",
            "case_finished",
            "run_finished"
        ]
    );
    assert!(
        run.stderr.contains("(stopped by --fail-fast)"),
        "{}",
        run.stderr
    );
}

#[test]
fn run_output_is_cargo_style() {
    let p = TestProject::new("snapshot");
    p.file(
        "suites/a_pass.toml",
        &format!(
            "trials = 2\n{}\n[[case]]\nid = \"answers\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"answer\"]\n",
            p.misbehave("nospans")
        ),
    );
    p.file(
        "suites/b_tools.toml",
        &format!(
            "{}\n[[case]]\nid = \"wrong tool\"\ninput = \"x\"\n[case.expect]\ntools = [{{ name = \"search\" }}]\nmax-tool-calls = 1\n",
            p.misbehave("spans")
        ),
    );
    p.file(
        "suites/c_crash.toml",
        &format!(
            "{}\n[[case]]\nid = \"boom\"\ninput = \"x\"\n",
            p.misbehave("crash")
        ),
    );
    let run = p.run(&["-j", "1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(redact(&run.stderr, p.dir(), "[project]"));
}

#[test]
fn the_answer_file_wins_over_a_banner_on_stdout() {
    let p = TestProject::new("outfile");
    p.file(
        "suites/out.toml",
        &format!(
            "{}\n[[case]]\nid = \"a\"\ninput = \"x\"\n[case.expect]\noutput-equals = \"the real answer\"\n",
            p.misbehave("outfile")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.trial("a", 0)["output"], "the real answer");
}

/// Agents whose SDK ignores the trial endpoint and header are still attributed: by the `eval.*`
/// resource attributes (percent-decoded by the SDK), or by the trace id of `TRACEPARENT`.
#[test]
fn spans_are_attributed_by_resource_attributes_or_by_traceparent() {
    for (mode, same_trace) in [("resource-only", false), ("traceparent", true)] {
        let p = TestProject::new(mode);
        let mut suite = format!("trials = 2\n{}", p.misbehave(mode));
        for id in ["plain", "a b, c=d %"] {
            suite.push_str(&format!(
                "\n[[case]]\nid = \"{id}\"\ninput = \"x\"\n[case.expect]\ntools = [{{ name = \"get_case\", args = {{ case = \"{id}\" }} }}]\n"
            ));
        }
        p.file("suites/attr.toml", &suite);
        let run = p.run(&["-j", "4"]);
        assert_eq!(run.code, 0, "{mode}: {}", run.stderr);
        for t in run.report()["trials"].as_array().unwrap() {
            assert_eq!(t["metrics"]["span_count"], 2, "{mode}: {t:#}");
            assert_eq!(t["metrics"]["tool_f1"], 1.0, "{mode}: {t:#}");
            let agent_traces = t["agent_trace_ids"].as_array().unwrap().len();
            assert_eq!(agent_traces, usize::from(!same_trace), "{mode}: {t:#}");
        }
        assert_eq!(run.report()["unattributed_spans"], 0, "{mode}");
    }
}

/// The Python SDK draws ids from `random`: an agent that seeds it repeats trace ids in every
/// trial. Each trial must still get exactly its own spans.
#[test]
fn trials_whose_agents_repeat_trace_ids_keep_their_own_spans() {
    let p = TestProject::new("seeded");
    let mut suite = format!("trials = 2\n{}", p.misbehave("seeded"));
    for i in 0..2 {
        suite.push_str(&format!("\n[[case]]\nid = \"c{i}\"\ninput = \"x\"\n"));
    }
    p.file("suites/seeded.toml", &suite);
    let run = p.run(&["-j", "4"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trials = run.report()["trials"].as_array().unwrap();
    let first_ids: Vec<&Value> = trials.iter().map(|t| &t["agent_trace_ids"][0]).collect();
    assert!(
        first_ids.windows(2).all(|w| w[0] == w[1]),
        "ids repeat: {first_ids:?}"
    );
    for t in trials {
        assert_eq!(t["metrics"]["span_count"], 5, "{t:#}");
        for c in t["metrics"]["tool_calls"].as_array().unwrap() {
            assert_eq!(c["args"]["case"], t["case"], "{t:#}");
        }
    }
}

#[test]
fn an_answer_survives_a_daemon_that_keeps_stdout_open() {
    let p = TestProject::new("daemon");
    p.file(
        "suites/daemon.toml",
        &format!(
            "{}\n[[case]]\nid = \"d\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"answer before\"]\n",
            p.misbehave("daemon")
        ),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let t = run.trial("d", 0);
    // The daemon left the agent's process group, but it carries the trial's identity: it is
    // killed as soon as the agent exits (Linux), which closes the pipe it held.
    assert!(
        t["warnings"]
            .to_string()
            .contains("killed 1 process the agent left behind"),
        "{t:#}"
    );
    assert!(p.leftovers().is_empty());
}

#[test]
fn a_missing_agent_program_is_a_configuration_error() {
    let p = TestProject::new("noprog");
    p.file(
        "suites/x.toml",
        "[agent]\nkind = \"command\"\ncommand = [\"./no-such-agent\"]\n[[case]]\nid = \"a\"\ninput = \"x\"\n",
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("no-such-agent` not found"),
        "{}",
        run.stderr
    );
    assert!(run.report.is_none());
}

/// A tiny project whose agent answers at once: one case passes, one fails.
fn pass_and_fail() -> TestProject {
    let p = TestProject::new("pass-fail");
    p.file(
        "suites/tiny.toml",
        "[agent]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo the answer\"]\n\n\
         [[case]]\nid = \"passes\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"answer\"]\n\n\
         [[case]]\nid = \"fails\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"question\"]\n",
    );
    p
}

#[test]
fn a_seeded_run_prints_and_writes_junit_as_pinned() {
    let p = pass_and_fail();
    let junit = p.path().join("out/junit.xml");
    let run = p.run(&[
        "--seed",
        "42",
        "-j",
        "1",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    insta::assert_snapshot!(
        "pass_and_fail_output",
        redact(&run.stderr, p.dir(), "[project]")
    );
    // JUnit times are seconds without a unit.
    let junit = std::fs::read_to_string(&junit).unwrap();
    let junit = regex::Regex::new(r#"\b(time|timestamp)="[^"]*""#)
        .unwrap()
        .replace_all(&junit, r#"$1="[t]""#);
    insta::assert_snapshot!("pass_and_fail_junit", redact(&junit, p.dir(), "[project]"));
}
