//! Recorded trials as a user meets them: `--save-traces` files replayed by a suite of their
//! own, `traceval inspect` on what a run saved, typed captures in scripted templates, and the
//! first snapshot of a case recorded from a trial that deserved it.

use std::path::Path;

use serde_json::Value;

use crate::support::{Run, TestProject, code, stderr, stdout, traceval_command, traceval_in};

/// A subprocess agent exporting OTLP with the Python SDK: a tool call, then an answer picked
/// by the input; `Oslo` crashes with a traceback on stderr.
const AGENT: &str = r#"
import json, os, sys
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

question = os.environ["TRACEVAL_INPUT"]
provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("agent")
with tracer.start_as_current_span("invoke_agent weather", attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "weather"}):
    city = "Paris" if "Paris" in question else "Tokyo" if "Tokyo" in question else "Oslo"
    with tracer.start_as_current_span("execute_tool get_weather", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": json.dumps({"city": city})}):
        pass
provider.shutdown()
if city == "Oslo":
    sys.stderr.write("Traceback (most recent call last):\nRuntimeError: no weather in Oslo\n")
    sys.exit(3)
print("It is 18 C in Paris." if city == "Paris" else '"It is raining"')
"#;

/// The judge: passes an answer only when the task it was given asks about Paris.
const JUDGE: &str = r#"
model = "judge-1"
[[rule]]
when.user = '(?s)## Task\nWhat is the weather in Paris\?'
text = '{"score": 1, "explanation": "asked about Paris"}'
[fallback]
text = '{"score": 0, "explanation": "no task about Paris"}'
"#;

/// Each case's expectations, shared by the live suite and the replay suite.
const EXPECT: [(&str, &str); 3] = [
    (
        "paris",
        "[case.expect]\noutput-contains = \"18 C\"\ntools = [{ name = \"get_weather\", args = { city = \"Paris\" } }]\n\
         [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"Answers the question.\"\n",
    ),
    (
        "tokyo",
        "[case.expect]\noutput-contains = \"18 C\"\noutput-regex = '^\"It is'\n",
    ),
    (
        "oslo",
        "[case.expect]\ntools = [{ name = \"get_weather\" }]\n",
    ),
];

const JUDGE_MODEL: &str =
    "[model.judge]\nprovider = \"scripted\"\nscript = \"scripts/judge.toml\"\n";

/// `traceval` run from `cwd` (not the project root), without `CI`.
fn traceval(cwd: &Path, args: &[&str], report: &Path) -> Run {
    let output = traceval_command(cwd)
        .args(args)
        .arg("--report")
        .arg(report)
        .output()
        .expect("traceval runs");
    Run::new(output, report.to_path_buf())
}

fn trial<'a>(report: &'a Value, case: &str) -> &'a Value {
    report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["case"] == case)
        .unwrap_or_else(|| panic!("no trial of {case} in {report:#}"))
}

/// What a trial's grading produced, without where and when it ran.
fn verdict(trial: &Value) -> Value {
    serde_json::json!({
        "passed": trial["passed"],
        "error": trial["error"],
        "exit": trial["exit"],
        "output": trial["output"],
        "stderr_tail": trial["stderr_tail"],
        "checks": trial["checks"],
        "metrics": trial["metrics"],
        "trace_id": trial["trace_id"],
    })
}

#[test]
fn a_replay_suite_over_saved_traces_grades_as_the_replayed_run_without_input_or_output() {
    let project = TestProject::new("recorded-suite");
    project.file("agent.py", AGENT);
    project.file("suites/scripts/judge.toml", JUDGE);
    let inputs = [
        ("paris", "\"What is the weather in Paris?\""),
        ("tokyo", "\"What is the weather in Tokyo?\""),
        ("oslo", "{ city = \"Oslo\", question = \"Weather?\" }"),
    ];
    let agent = project.path().join("agent.py");
    let mut live = format!(
        "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n{JUDGE_MODEL}",
        agent.display()
    );
    for ((id, input), (_, expect)) in inputs.iter().zip(EXPECT) {
        live.push_str(&format!(
            "\n[[case]]\nid = \"{id}\"\ninput = {input}\n{expect}"
        ));
    }
    project.file("suites/weather.toml", &live);
    let run = project.run(&["--save-traces", "--seed", "3"]);
    assert_eq!(run.code, 1, "tokyo and oslo fail\n{}", run.stderr);
    let live = run.report().clone();
    let run_id = live["run_id"].as_str().unwrap().to_owned();
    assert_eq!(trial(&live, "paris")["passed"], true, "{live:#}");
    assert_eq!(trial(&live, "oslo")["exit"]["code"], 3);

    // A replay suite over the saved files: no `input`, no `output`; its judge needs the input.
    let mut suite = format!("[agent]\nkind = \"replay\"\n{JUDGE_MODEL}");
    for (id, expect) in EXPECT {
        let file = trial(&live, id)["trace_file"].as_str().unwrap().to_owned();
        suite.push_str(&format!(
            "\n[[case]]\nid = \"{id}\"\ntrace = \"../reports/{run_id}/traces/{file}\"\n{expect}"
        ));
    }
    project.file("replayed/weather.toml", &suite);
    project.file("replayed/scripts/judge.toml", JUDGE);
    let work = project.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let absolute = project.path().join("replayed/weather.toml");
    std::fs::copy(project.report_path(), project.path().join("out/live.json")).unwrap();
    let replayed = project.run(&["--replay", "out/live.json"]);
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    let replayed = replayed.report().clone();
    for suite_path in ["../replayed/weather.toml", absolute.to_str().unwrap()] {
        let run = traceval(&work, &["run", suite_path], &work.join("report.json"));
        assert_eq!(run.code, 1, "{suite_path}\n{}", run.stderr);
        let report = run.report();
        for (id, _) in EXPECT {
            assert_eq!(
                verdict(trial(report, id)),
                verdict(trial(&replayed, id)),
                "{id} from {suite_path}"
            );
            assert_eq!(
                verdict(trial(report, id)),
                verdict(trial(&live, id)),
                "{id} from {suite_path}"
            );
        }
        // Read off the saved root as written: the quotes are the agent's, not JSON's.
        let tokyo = trial(report, "tokyo")["output"].as_str().unwrap();
        assert!(tokyo.starts_with("\"It is raining\""), "{tokyo}");
        assert!(
            trial(report, "oslo")["stderr_tail"]
                .as_str()
                .unwrap()
                .contains("no weather in Oslo")
        );
    }
}

/// `traceval inspect` from `cwd`.
fn inspect(cwd: &Path, args: &[&str]) -> (i32, String, String) {
    let out = traceval_in(cwd, &[&["inspect"], args].concat());
    (code(&out), stdout(&out), stderr(&out))
}

#[test]
fn inspect_shows_a_saved_trial_as_one_tree_and_finds_the_traces_of_a_run() {
    let project = TestProject::new("recorded-inspect");
    project.file("agent.py", AGENT);
    let agent = project.path().join("agent.py");
    project.file(
        "suites/weather.toml",
        &format!(
            "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n\
             [[case]]\nid = \"paris\"\ninput = \"Paris?\"\n\
             [[case]]\nid = \"tokyo\"\ninput = \"Tokyo?\"\n[case.expect]\noutput-contains = \"18 C\"\n",
            agent.display()
        ),
    );
    let run = project.run(&["--save-traces"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let run_id = run.report()["run_id"].as_str().unwrap().to_owned();
    let tokyo = trial(run.report(), "tokyo")["trace_file"].as_str().unwrap();
    // The failures section names the failing trial's file, relative to where traceval ran.
    let saved = format!("reports/{run_id}/traces/{tokyo}");
    assert!(
        run.stderr.contains(&format!("\ntrace: {saved}\n")),
        "{}",
        run.stderr
    );
    assert!(project.path().join(&saved).is_file());
    // Where a run without --report writes it.
    std::fs::copy(
        project.report_path(),
        project.path().join(format!("reports/{run_id}.json")),
    )
    .unwrap();

    // The agent's spans form a trace of their own (the Python SDK does not read TRACEPARENT);
    // inspect shows them under the trial root, as `run` does.
    let work = project.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let (code, stdout, stderr) = inspect(&work, &[&format!("../{saved}")]);
    assert_eq!(code, 0, "{stderr}");
    let headers = stdout.lines().filter(|l| l.starts_with("trace ")).count();
    assert_eq!(headers, 1, "one tree\n{stdout}");
    assert!(stdout.contains(" 3 spans, "), "{stdout}");
    assert!(
        stdout.contains("\neval.trial  [other]")
            && stdout.contains("\n└─ invoke_agent weather  [agent]")
            && stdout.contains("\n   └─ execute_tool get_weather  [tool]"),
        "{stdout}"
    );

    // A report is not a trace file: the error says where its traces are.
    let (code, _, stderr) = inspect(&work, &[&format!("../reports/{run_id}.json")]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is a traceval report")
            && stderr.contains(&format!("traceval inspect ../reports/{run_id}/traces")),
        "{stderr}"
    );

    // A directory: every trace file in it, the reports beside them skipped with a note.
    let reports = project.path().join("reports");
    let (code, stdout, stderr) = inspect(&work, &[reports.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("trace ")).count(),
        2,
        "{stdout}"
    );
    assert!(
        stderr.contains("a traceval report, not a trace file"),
        "{stderr}"
    );
    let (code, _, stderr) = inspect(&work, &["."]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("holds no trace files"), "{stderr}");
}

/// A command agent on the `openai` package: asks the model, runs the `add` tool it calls with
/// Python's `+` (so `"12" + "30"` is `"1230"`), records the call as a GenAI tool span, and
/// prints the tool's result, or the model's answer when it calls no tool.
const CALCULATOR: &str = r#"
import json, os
import openai
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("calculator")
client = openai.OpenAI(max_retries=0)
reply = client.chat.completions.create(
    model=os.environ["TRACEVAL_MODEL"],
    messages=[{"role": "user", "content": os.environ["TRACEVAL_INPUT"]}]).choices[0].message
if reply.tool_calls:
    call = reply.tool_calls[0]
    with tracer.start_as_current_span("execute_tool add", attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add",
            "gen_ai.tool.call.arguments": call.function.arguments}):
        args = json.loads(call.function.arguments)
        answer = str(args["a"] + args["b"])
else:
    answer = reply.content
provider.shutdown()
print(answer)
"#;

#[test]
fn typed_captures_send_numbers_and_a_text_that_does_not_convert_gets_an_error_reply() {
    let project = TestProject::new("recorded-typed");
    project.file("agent/calculator.py", CALCULATOR);
    project.file(
        "suites/scripts/calc.toml",
        "model = \"calc-1\"\n[[rule]]\nwhen.user = 'add (?P<a>\\S+) and (?P<b>\\S+)'\n\
         tool-calls = [{ name = \"add\", args = { a = \"${a:int}\", b = \"${b:number}\" } }]\n",
    );
    project.file(
        "suites/calc.toml",
        "models = [\"calc\"]\n[agent]\nkind = \"command\"\ncommand = [\"python3\", \"../agent/calculator.py\"]\n\
         [model.calc]\nprovider = \"scripted\"\nscript = \"scripts/calc.toml\"\n\
         [[case]]\nid = \"sum\"\ninput = \"add 12 and 30\"\n[case.expect]\noutput-contains = \"42\"\n\
         tools = [{ name = \"add\", args = { a = 12, b = 30 } }]\n\
         [[case]]\nid = \"words\"\ninput = \"add twelve and 30\"\n[case.expect]\noutput-contains = \"42\"\n",
    );
    // From a subdirectory, naming the suite by a relative path.
    let work = project.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let run = traceval(
        &work,
        &["run", "../suites/calc.toml"],
        &project.report_path(),
    );
    assert_eq!(run.code, 1, "only `words` fails\n{}", run.stderr);
    let sum = trial(run.report(), "sum");
    assert_eq!(sum["passed"], true, "{sum:#}");
    assert_eq!(sum["output"].as_str().unwrap().trim(), "42");
    // Not a crash: the model answered, and the answer says what did not convert.
    let words = trial(run.report(), "words");
    assert_eq!(words["error"], Value::Null, "{words:#}");
    assert_eq!(words["exit"]["code"], 0, "{words:#}");
    let answer = words["output"].as_str().unwrap();
    assert!(
        answer.contains(
            "scripted model `calc-1` cannot call `add` on turn 0: `${a:int}` needs an integer, but the text is \"twelve\""
        ),
        "{answer}"
    );
}

/// A subprocess agent whose trial 0 of case `flaky` does the wrong thing (another tool, a
/// wrong answer) and whose other trials do the right one; case `never` is always wrong.
const FLAKY: &str = r#"
import os
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

right = os.environ["TRACEVAL_CASE"] == "flaky" and os.environ["TRACEVAL_TRIAL"] != "0"
tool = "search" if right else "guess"
provider = TracerProvider(resource=Resource.create())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer("flaky")
with tracer.start_as_current_span("invoke_agent a", attributes={
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "a"}):
    with tracer.start_as_current_span("execute_tool " + tool, attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool}):
        pass
provider.shutdown()
print("good" if right else "bad")
"#;

#[test]
fn a_first_snapshot_comes_from_a_trial_that_passed_its_other_checks() {
    let project = TestProject::new("recorded-snap");
    project.file("agent.py", FLAKY);
    let agent = project.path().join("agent.py");
    project.file(
        "suites/snap.toml",
        &format!(
            "trials = 3\n[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\"]\n\
             [[case]]\nid = \"flaky\"\ninput = \"x\"\n[case.expect]\noutput-contains = \"good\"\nsnapshot = true\n\
             [[case]]\nid = \"never\"\ninput = \"x\"\n[case.expect]\noutput-contains = \"good\"\nsnapshot = true\n",
            agent.display()
        ),
    );
    let snaps = project.path().join("suites/snapshots");
    let first = project.run(&[]);
    assert_eq!(first.code, 1, "{}", first.stderr);
    let flaky = std::fs::read_to_string(snaps.join("snap__flaky@default.snap")).unwrap();
    assert!(
        flaky.contains("execute_tool search [tool]") && !flaky.contains("guess"),
        "{flaky}"
    );
    assert!(
        first
            .stderr
            .contains("snap::flaky (default) 2/3 (snapshot recorded)"),
        "{}",
        first.stderr
    );
    assert!(
        first
            .stderr
            .contains("snap::never (default) 0/3 (no snapshot recorded)"),
        "{}",
        first.stderr
    );
    assert!(
        !first.stderr.contains("snapshot matched 0/3"),
        "{}",
        first.stderr
    );
    // No trial of `never` did the right thing: nothing recorded, and the run says so.
    assert!(!snaps.join("snap__never@default.snap").exists());
    assert!(
        first.stderr.contains(
            "snap::never (default): no snapshot recorded: none of its 3 trials passed its other checks"
        ),
        "{}",
        first.stderr
    );

    // The next run: the trials that do the right thing match.
    let second = project.run(&[]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    for n in [1, 2] {
        let t = second.trial("flaky", n);
        assert_eq!(t["passed"], true, "{t:#}");
    }
    assert!(
        second
            .stderr
            .contains("snap::flaky (default) 2/3 (snapshot matched 2/3)"),
        "{}",
        second.stderr
    );

    // Trial 0's changed shape waits for review, as any mismatch does.
    let pending = snaps.join("snap__flaky@default.snap.new");
    assert!(pending.is_file());
    std::fs::remove_file(&pending).unwrap();

    // In CI nothing is written, and no `.snap.new` is named.
    let ci = project.command(&[]).env("CI", "true").output().unwrap();
    let stderr = String::from_utf8_lossy(&ci.stderr);
    assert_eq!(ci.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains(".snap.new"), "{stderr}");
    assert!(
        stderr.contains("suites/snapshots/snap__never@default.snap"),
        "{stderr}"
    );
    let mut files: Vec<String> = std::fs::read_dir(&snaps)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files, ["snap__flaky@default.snap"]);
}
