//! What a run does with the processes and files around its agents: report locations checked
//! before the first trial, agents' children that leave the process group, what agents print,
//! how an agent's failure is explained, and the OTLP environment a suite can override.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{
    TestProject, code_and_stderr, processes_with, read_json, traceval_command, traceval_in,
};

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
        let mut args = vec!["run", suite];
        args.extend(flags.iter().copied());
        let (code, stderr) = code_and_stderr(&traceval_in(&cwd, &args));
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
    let (code, stderr) =
        code_and_stderr(&traceval_in(&cwd, &["run", suite, "--report", "ok.json"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(marker.exists());
    assert_eq!(read_json(&cwd.join("ok.json"))["trials"][0]["passed"], true);
}

/// An agent configured as the OpenTelemetry SDKs' autoconfiguration does: the exporter follows
/// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, else `OTEL_EXPORTER_OTLP_PROTOCOL`. It answers with the
/// two variables it got.
const PROTOCOL_AGENT: &str = r#"
import os, sys
sys.stdin.read()
proto = (os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
         or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"))
if proto == "grpc":
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
with provider.get_tracer("proto").start_as_current_span("execute_tool get_protocol", attributes={
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_protocol"}):
    pass
provider.shutdown()
print(os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL"), os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
"#;

#[test]
fn a_suite_chooses_its_agents_otlp_protocol_and_an_inherited_one_is_ignored() {
    let p = TestProject::new("protocol");
    p.file("agents/proto.py", PROTOCOL_AGENT);
    let agent = p.path().join("agents/proto.py");
    let suite = |env: &str| {
        format!(
            "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n{env}\n\
             [[case]]\nid = \"a\"\ninput = \"x\"\n[case.expect]\n\
             tools = [{{ name = \"get_protocol\" }}]\n",
            agent.display()
        )
    };
    p.file(
        "suites/grpc.toml",
        &suite("env = { OTEL_EXPORTER_OTLP_PROTOCOL = \"grpc\" }"),
    );
    p.file("suites/plain.toml", &suite(""));
    let report = p.path().join("report.json");
    // traceval's own environment asks for a protocol the agent cannot use: it must not leak.
    let out = traceval_command(p.path())
        .args(["run", "suites/grpc.toml", "suites/plain.toml", "--report"])
        .arg(&report)
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json")
        .output()
        .unwrap();
    let (code, stderr) = code_and_stderr(&out);
    assert_eq!(code, 0, "{stderr}");
    let report = read_json(&report);
    let answer = |suite: &str| -> (String, Value) {
        let t = report["trials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["suite"] == suite)
            .unwrap();
        (
            t["output"].as_str().unwrap().trim().to_owned(),
            t["metrics"]["span_count"].clone(),
        )
    };
    // The spans went over gRPC, on the same receiver, to the same trial.
    assert_eq!(answer("grpc"), ("grpc grpc".to_owned(), 2.into()));
    assert_eq!(
        answer("plain"),
        ("http/protobuf http/protobuf".to_owned(), 2.into())
    );
}

/// An agent that double-forks a child into a new session (`setsid`), sleeping forever with
/// `MARKER` in its argv, then (by `MODE`) answers, crashes or hangs.
const ESCAPE_AGENT: &str = r#"
import os, sys, time
mode, marker = sys.argv[1], sys.argv[2]
sys.stdin.read()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", marker])
    os._exit(0)
os.wait()
print("started", flush=True)
if mode == "crash":
    sys.exit(3)
if mode == "hang":
    time.sleep(600)
if mode == "exit-code":
    sys.exit(int(os.environ["TRACEVAL_TRIAL"]) % 4)
print("answer")
"#;

/// A project whose `suites/escape.toml` runs [`ESCAPE_AGENT`] in `mode`; returns the marker.
fn escape_project(name: &str, mode: &str, extra: &str) -> (TestProject, String) {
    let p = TestProject::new(name);
    let marker = format!("tv-escapee-{name}-{}", std::process::id());
    p.file("agents/escape.py", ESCAPE_AGENT);
    p.file(
        "suites/escape.toml",
        &format!(
            "{extra}\n[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\", \"{mode}\", \"{marker}\"]\n\
             [[case]]\nid = \"a\"\ninput = \"x\"\n",
            p.path().join("agents/escape.py").display()
        ),
    );
    (p, marker)
}

fn warnings(trial: &Value) -> String {
    trial["warnings"].to_string()
}

#[test]
fn children_that_leave_the_process_group_do_not_outlive_their_trial() {
    for (mode, code, extra) in [
        ("answer", 0, ""),
        ("crash", 1, ""),
        ("hang", 1, "timeout = \"3s\""), // python, two forks and an exec must fit in it on a loaded machine
    ] {
        let (p, marker) = escape_project(&format!("escape-{mode}"), mode, extra);
        let run = p.run(&[]);
        assert_eq!(run.code, code, "{mode}: {}", run.stderr);
        let t = run.trial("a", 0);
        assert!(
            warnings(t).contains("killed 1 process the agent left behind"),
            "{mode}: {t:#}"
        );
        assert_eq!(processes_with(&marker), Vec::<String>::new(), "{mode}");
        assert!(
            run.stderr
                .contains("Warning killed 1 process the agent left behind"),
            "{mode}: {}",
            run.stderr
        );
    }
}

/// Reaping the orphans that come back to traceval must never take the exit status of an agent
/// tokio is waiting for: many agents exit with their own codes while others' orphans are
/// killed and reaped.
#[test]
fn reaping_orphans_never_steals_an_agents_exit_status() {
    let (p, marker) = escape_project("escape-many", "exit-code", "trials = 24");
    let run = p.run(&["-j", "8"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    for t in run.report()["trials"].as_array().unwrap() {
        let n = t["trial"].as_i64().unwrap();
        assert_eq!(t["exit"]["code"], n % 4, "{t:#}");
        assert!(t["error"].is_null(), "{t:#}");
        assert!(warnings(t).contains("killed 1 process"), "{t:#}");
    }
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

#[test]
fn an_interrupted_run_leaves_no_agent_process_alive() {
    use std::io::{BufRead, BufReader};
    let (p, marker) = escape_project("escape-int", "hang", "trials = 2");
    let mut child = p
        .command(&["--message-format", "json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Both agents answered "started" once their escapee exists; wait for both escapees (bounded).
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut started = 0;
    for line in stdout.lines() {
        let event: Value = serde_json::from_str(&line.unwrap()).unwrap();
        started += usize::from(event["event"] == "trial_started");
        if started == 2 {
            break;
        }
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    // The agents carry the marker too; the escapees are the ones sleeping in `-c`.
    let escapees = || {
        processes_with(&marker)
            .into_iter()
            .filter(|c| c.contains("time.sleep(600)"))
            .count()
    };
    while escapees() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(escapees(), 2, "the escapees are up");
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(130));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

/// Agents that fail in the ways item 12 of issue 16 lists, by `MODE`.
const FAILING_AGENT: &str = r#"
import os, sys, urllib.request
mode = sys.argv[1]
sys.stdin.read()
if mode == "segv":
    os.kill(os.getpid(), 11)
if mode == "import-error":
    sys.stderr.write("Traceback (most recent call last):\nModuleNotFoundError: No module named 'acme'\n")
    sys.exit(2)
endpoint = os.environ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]
if mode == "refused":
    for body, kind in [(b"\xff\xff not protobuf", "application/x-protobuf"), (b"{}", "text/plain")]:
        req = urllib.request.Request(endpoint, data=body, headers={"Content-Type": kind})
        try:
            urllib.request.urlopen(req)
        except urllib.error.HTTPError as e:
            pass
if mode == "unflushed":
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
    tracer = provider.get_tracer("unflushed")
    parent = tracer.start_span("invoke_agent a")  # never ended, so never exported
    with tracer.start_as_current_span("execute_tool t", context=trace.set_span_in_context(parent)):
        pass
    provider.shutdown()
print("answer")
"#;

#[test]
fn an_agents_failure_is_explained_by_its_signal_or_its_exit_code_and_stderr() {
    let p = TestProject::new("failing");
    p.file("agents/failing.py", FAILING_AGENT);
    let agent = p.path().join("agents/failing.py");
    for mode in ["segv", "import-error"] {
        p.file(
            &format!("suites/{mode}.toml"),
            &format!(
                "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\", \"{mode}\"]\n\
                 [[case]]\nid = \"{mode}\"\ninput = \"x\"\n",
                agent.display()
            ),
        );
    }
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let segv = run.trial("segv", 0);
    assert_eq!(segv["error"], "the agent was killed by signal 11 (SIGSEGV)");
    let failed = run.trial("import-error", 0);
    let warnings = warnings(failed);
    assert!(
        warnings.contains(
            "the agent sent no spans: it exited with code 2; its stderr ends: \
             ModuleNotFoundError: No module named 'acme'"
        ),
        "{failed:#}"
    );
    assert!(!warnings.contains("tracer provider"), "{failed:#}");
    assert!(
        run.stderr
            .contains("the agent was killed by signal 11 (SIGSEGV)"),
        "{}",
        run.stderr
    );
}

#[test]
fn refused_exports_and_spans_whose_parents_never_arrived_warn_the_trial() {
    let p = TestProject::new("transport");
    p.file("agents/failing.py", FAILING_AGENT);
    let agent = p.path().join("agents/failing.py");
    for mode in ["refused", "unflushed"] {
        p.file(
            &format!("suites/{mode}.toml"),
            &format!(
                "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\", \"{mode}\"]\n\
                 [[case]]\nid = \"{mode}\"\ninput = \"x\"\n",
                agent.display()
            ),
        );
    }
    let run = p.run(&[]);
    // Warnings, not failures: the trials' checks hold.
    assert_eq!(run.code, 0, "{}", run.stderr);
    let refused = warnings(run.trial("refused", 0));
    assert!(
        refused.contains(
            "the receiver refused 2 OTLP export requests of the agent; the first: \
             400 Bad Request: malformed OTLP protobuf"
        ),
        "{refused}"
    );
    let unflushed = warnings(run.trial("unflushed", 0));
    assert!(
        unflushed
            .contains("1 span's parent never arrived: the agent may have exited before flushing"),
        "{unflushed}"
    );
    assert!(
        run.stderr.contains("1 span's parent never arrived"),
        "{}",
        run.stderr
    );
}

/// Prints 200 KiB of random bytes, then a needle, on stdout; 20 KiB of random bytes on stderr.
const NOISY_AGENT: &str = r#"
import os, sys
sys.stdin.read()
sys.stderr.buffer.write(os.urandom(20 << 10))
sys.stdout.buffer.write(os.urandom(200 << 10) + b"\nNEEDLE\n")
"#;

#[test]
fn the_report_keeps_a_bounded_part_of_what_agents_print_and_the_saved_trace_all_of_it() {
    let p = TestProject::new("noisy");
    p.file("agents/noisy.py", NOISY_AGENT);
    p.file(
        "suites/noisy.toml",
        &format!(
            "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n\
             [[case]]\nid = \"n\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"NEEDLE\"]\n",
            p.path().join("agents/noisy.py").display()
        ),
    );
    // The default limit is 16 KiB.
    for (flags, limit) in [
        (vec!["--save-traces"], 16 << 10),
        (vec!["--report-output-limit", "1KiB"], 1 << 10),
    ] {
        let run = p.run(&flags);
        // Graded on the whole answer: the needle is past what the report keeps.
        assert_eq!(run.code, 0, "{flags:?}: {}", run.stderr);
        let t = run.trial("n", 0);
        let output = t["output"].as_str().unwrap();
        assert!(
            output.len() <= limit && output.len() > limit - 4,
            "{}",
            output.len()
        );
        assert!(!output.contains("NEEDLE"));
        assert_eq!(t["output_truncated"], true, "{flags:?}");
        assert!(t["stderr_tail"].as_str().unwrap().len() <= limit);
        assert!(
            warnings(t).contains(&format!("the report keeps the first {limit} bytes")),
            "{t:#}"
        );
        if flags.contains(&"--save-traces") {
            let run_id = run.report()["run_id"].as_str().unwrap();
            let file = p
                .path()
                .join("reports")
                .join(run_id)
                .join("traces")
                .join(t["trace_file"].as_str().unwrap());
            let saved = std::fs::read_to_string(&file).unwrap();
            assert!(saved.contains("\"output.value\""), "{file:?}");
            assert!(saved.contains("NEEDLE"), "{file:?}");
            // `--replay` grades the whole answer from the saved root, as the live run did,
            // not the head the report kept.
            // (`--report` put the report elsewhere; `--replay` reads it beside its traces.)
            std::fs::copy(
                p.report_path(),
                p.path().join(format!("reports/{run_id}.json")),
            )
            .unwrap();
            let dir = format!("reports/{run_id}/");
            let replay = p.run(&["--replay", &dir]);
            assert_eq!(replay.code, 0, "{}", replay.stderr);
            let t = replay.trial("n", 0);
            assert_eq!(t["passed"], true, "{t:#}");
            assert!(t["output"].as_str().unwrap().len() <= limit);
        }
    }
    // The flag takes sizes only.
    let (code, stderr) = code_and_stderr(&traceval_in(
        p.path(),
        &["run", "--report-output-limit", "lots"],
    ));
    assert_eq!(code, 2, "{stderr}");
}
