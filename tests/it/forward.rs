//! `traceval run --forward`: every span of a run, sent to a real OTLP receiver (traceval's
//! own, as the exact-bytes sink: it keeps resources, links and events as sent), with the run's
//! identity and each check's verdict; a dead and a hung backend; secrets by reference; the
//! environment's switches; and Arize Phoenix, a real backend (harness in `phoenix`). MLflow, the
//! real backend that keeps resources, is `mlflow`'s.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use traceval::testing::OtlpCapture;
use traceval::trace::{Span, Value};

use crate::phoenix::Phoenix;
use crate::support::{Run, TestProject, root};

/// A project with the demo's support suite (builtin agent, scripted models, an LLM judge) and
/// a command agent exporting over OTLP whose span assertion fails on purpose.
pub(crate) fn project(name: &str) -> TestProject {
    let p = TestProject::new(name);
    let demo = root().join("suites/demo");
    let support = std::fs::read_to_string(demo.join("support.toml")).unwrap();
    p.file(
        "suites/support.toml",
        &support.replace("trials = 5", "trials = 2"),
    );
    for script in [
        "support-careful.toml",
        "support-sloppy.toml",
        "support-judge.toml",
    ] {
        let text = std::fs::read_to_string(demo.join("scripts").join(script)).unwrap();
        p.file(&format!("suites/scripts/{script}"), &text);
    }
    let agent = p.misbehave("spans");
    p.file(
        "suites/echo.toml",
        &format!(
            "name = \"echo\"\ntrials = 2\n{agent}\n\
             [[case]]\nid = \"one-call\"\ninput = {{ case = \"one-call\" }}\n\
             [[case.expect.span]]\nselect = 'tool[name=\"get_case\"]'\ncount = 1\n"
        ),
    );
    p
}

/// Every span the sink received, with duplicates.
fn received(sink: &OtlpCapture) -> Vec<Span> {
    sink.trace().spans().cloned().collect()
}

fn string(span: &Span, key: &str) -> Option<String> {
    span.attributes.str(key).map(str::to_owned)
}

fn evaluations(span: &Span) -> Vec<(String, String)> {
    span.events
        .iter()
        .filter(|e| e.name == "gen_ai.evaluation.result")
        .map(|e| {
            let a = &e.attributes;
            assert!(
                matches!(
                    a.get("gen_ai.evaluation.score.value"),
                    Some(Value::Double(_))
                ),
                "a typed double score: {a:?}"
            );
            let label = a.str("gen_ai.evaluation.score.label").unwrap().to_owned();
            assert!(label == "pass" || label == "fail", "{label}");
            (a.str("gen_ai.evaluation.name").unwrap().to_owned(), label)
        })
        .collect()
}

/// What every forwarded run must show at the sink; returns the spans.
fn check_delivery(run: &Run, spans: &[Span]) {
    let report = run.report();
    let run_id = report["run_id"].as_str().unwrap();
    let forward = &report["forward"];
    assert_eq!(forward["spans_dropped"], 0, "{forward:#}\n{}", run.stderr);
    assert_eq!(forward["spans_rejected"], 0, "{forward:#}");
    // Exactly once: as many distinct spans as the report says were sent, no duplicate.
    let ids: HashSet<_> = spans.iter().map(|s| (s.trace_id, s.span_id)).collect();
    assert_eq!(ids.len(), spans.len(), "no span arrives twice");
    assert_eq!(forward["spans_sent"], spans.len() as u64, "{forward:#}");
    for s in spans {
        assert_eq!(
            string(s, "eval.run_id").as_deref(),
            Some(run_id),
            "{}",
            s.name
        );
        assert_eq!(
            s.resource.attributes.str("eval.run_id"),
            Some(run_id),
            "resource of {}",
            s.name
        );
    }
    // One root per trial, with the verdict and (checks + 1) evaluations.
    for trial in report["trials"].as_array().unwrap() {
        let root = spans
            .iter()
            .find(|s| s.name == "eval.trial" && s.trace_id.to_string() == trial["trace_id"])
            .unwrap_or_else(|| panic!("no root for {trial:#}"));
        let status = if trial["passed"] == true {
            "pass"
        } else {
            "fail"
        };
        assert_eq!(
            string(root, "test.case.result.status").as_deref(),
            Some(status)
        );
        let checks = trial["checks"].as_array().unwrap();
        let events = evaluations(root);
        assert_eq!(events.len(), checks.len() + 1, "{events:?}");
        assert_eq!(
            events.last().unwrap(),
            &("trial".to_owned(), status.to_owned())
        );
        for (event, check) in events.iter().zip(checks) {
            assert_eq!(event.0, check["name"].as_str().unwrap());
        }
        // The agent's own traces (it did not read TRACEPARENT) are linked from the root.
        let linked: HashSet<String> = root.links.iter().map(|l| l.trace_id.to_string()).collect();
        for agent in trial["agent_trace_ids"].as_array().unwrap() {
            assert!(
                linked.contains(agent.as_str().unwrap()),
                "{agent} not linked"
            );
        }
    }
    let run_spans: Vec<_> = spans.iter().filter(|s| s.name == "eval.run").collect();
    assert_eq!(run_spans.len(), 1);
}

#[test]
fn every_span_arrives_once_with_the_run_id_and_each_verdict_where_it_looked() {
    let p = project("fwd");
    let sink = OtlpCapture::start();
    let url = format!("{}/v1/traces", sink.endpoint());
    let run = p.run(&["--forward", &url, "--seed", "7", "--save-traces"]);
    assert_eq!(
        run.code, 1,
        "sloppy and echo fail on purpose\n{}",
        run.stderr
    );
    // The first line says where spans go; the last lines how many arrived.
    assert!(
        run.stderr.contains(&format!(
            "Forwarding spans to {url} (http/protobuf, profile generic; from --forward)"
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("   Forwarded "), "{}", run.stderr);
    let spans = received(&sink);
    check_delivery(&run, &spans);

    // The failed span assertion's offending spans carry their own verdict.
    let echo_tools: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "execute_tool get_case")
        .collect();
    assert_eq!(echo_tools.len(), 6, "3 per trial, 2 trials");
    for tool in &echo_tools {
        assert_eq!(evaluations(tool), [("span".to_owned(), "fail".to_owned())]);
        assert_eq!(string(tool, "eval.suite").as_deref(), Some("echo"));
    }
    // Agent spans keep their own resource, with the run added to it.
    assert_eq!(
        echo_tools[0].resource.attributes.str("service.name"),
        Some("unknown_service:python3"),
    );
    // The judge's spans are marked as such, and its verdict sits on the agent's last LLM call too.
    let judged: Vec<&Span> = spans
        .iter()
        .filter(|s| string(s, "eval.role").as_deref() == Some("judge"))
        .collect();
    assert!(!judged.is_empty());
    let on_llm = spans
        .iter()
        .filter(|s| s.name.starts_with("chat ") && string(s, "eval.role").is_none())
        .filter(|s| !evaluations(s).is_empty())
        .count();
    assert_eq!(on_llm, 4, "one judged LLM call per support trial");

    // Nothing forwarding adds reaches the saved traces: they are what was captured.
    let traces = p.path().join("reports");
    for file in files_under(&traces) {
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            !text.contains("gen_ai.evaluation.result"),
            "{}",
            file.display()
        );
    }
    // A replay forwards the recorded spans under its own run id, saying where they are from.
    let first = run.report()["run_id"].as_str().unwrap().to_owned();
    let replay_sink = OtlpCapture::start();
    let replay_url = format!("{}/v1/traces", replay_sink.endpoint());
    // The report is where the run wrote it; its traces are under reports/<run-id>/.
    let recorded = p.path().join("reports").join(format!("{first}.json"));
    std::fs::copy(p.report_path(), &recorded).unwrap();
    let replay = p.run(&[
        "--replay",
        recorded.to_str().unwrap(),
        "--forward",
        &replay_url,
    ]);
    assert_eq!(replay.code, 1, "{}", replay.stderr);
    let spans = received(&replay_sink);
    check_delivery(&replay, &spans);
    for s in &spans {
        assert_eq!(
            string(s, "eval.replayed_from").as_deref(),
            Some(first.as_str()),
            "{}",
            s.name
        );
    }
}

#[test]
fn json_and_grpc_deliver_the_same() {
    for (protocol, with_path) in [("http/json", true), ("grpc", false)] {
        let p = project("fwd-proto");
        let sink = OtlpCapture::start();
        let url = if with_path {
            format!("{}/v1/traces", sink.endpoint())
        } else {
            // gRPC reaches the same receiver at its base URL.
            sink.endpoint().split("/trial/").next().unwrap().to_owned()
        };
        let run = p.run(&[
            "--forward",
            &url,
            "--forward-protocol",
            protocol,
            "--seed",
            "7",
            "suites/echo.toml",
        ]);
        assert_eq!(run.code, 1, "{protocol}\n{}", run.stderr);
        assert_eq!(run.report()["forward"]["protocol"], protocol);
        check_delivery(&run, &received(&sink));
    }
}

#[test]
fn the_environment_turns_it_on_verbatim_the_standard_switches_off_and_the_flag_wins() {
    let p = project("fwd-env");
    let sink = OtlpCapture::start();
    let url = format!("{}/v1/traces", sink.endpoint());
    let run_with = |env: &[(&str, &str)], args: &[&str]| {
        let mut cmd = p.command(&[args, &["suites/echo.toml"]].concat());
        cmd.envs(env.iter().copied());
        Run::new(cmd.output().unwrap(), p.report_path())
    };
    // The per-signal variable is used as it is, path and all.
    let run = run_with(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)], &[]);
    assert!(
        run.stderr
            .contains("from OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
        "{}",
        run.stderr
    );
    assert_eq!(run.report()["forward"]["endpoint"], url);
    let sent = run.report()["forward"]["spans_sent"].as_u64().unwrap();
    assert!(sent > 0);
    // OTEL_TRACES_EXPORTER=none turns the environment's endpoint off.
    let run = run_with(
        &[
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url),
            ("OTEL_TRACES_EXPORTER", "none"),
        ],
        &[],
    );
    assert!(run.report().get("forward").is_none());
    assert!(!run.stderr.contains("Forwarding"), "{}", run.stderr);
    // `--forward` beats the environment: a dead endpoint there is not used.
    let run = run_with(
        &[(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "http://127.0.0.1:9/v1/traces",
        )],
        &["--forward", &url],
    );
    assert_eq!(run.report()["forward"]["endpoint"], url);
    assert_eq!(run.report()["forward"]["spans_dropped"], 0);
    // --no-forward beats everything.
    let run = run_with(
        &[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &url)],
        &["--no-forward"],
    );
    assert!(run.report().get("forward").is_none());
    // The standard switch turns off the project's own endpoint too, and says so.
    p.file(
        "traceval.toml",
        &format!("[forward]\nendpoint = \"{url}\"\n"),
    );
    let run = run_with(&[("OTEL_SDK_DISABLED", "true")], &[]);
    assert!(run.report().get("forward").is_none());
    assert!(
        run.stderr.contains(
            "Not forwarding: OTEL_SDK_DISABLED=true turns off traceval.toml's [forward] endpoint"
        ),
        "{}",
        run.stderr
    );
    let run = run_with(&[], &[]);
    assert!(run.stderr.contains("from traceval.toml"), "{}", run.stderr);
}

#[test]
fn header_secrets_travel_by_reference_and_reach_no_output_and_no_agent() {
    let p = TestProject::new("fwd-secret");
    let dump = p.path().join("env.json");
    p.file(
        "suites/env.toml",
        &format!(
            "name = \"env\"\n{}\n[[case]]\nid = \"dump\"\ninput = {{ case = \"dump\" }}\n",
            p.misbehave("env").replace(
                "env = {",
                &format!("env = {{ ENV_DUMP = \"{}\", ", dump.display())
            )
        ),
    );
    let sink = OtlpCapture::start();
    let secret = "s3cr3t-5f1d2e";
    // Credentials in the URL's user info, too: shown nowhere.
    let url = format!("{}/v1/traces", sink.endpoint());
    let with_user = url.replace("http://", &format!("http://ci:{secret}@"));
    let mut cmd = p.command(&[
        "--forward",
        &with_user,
        "--forward-header",
        "Authorization=env:FORWARD_TOKEN",
        "--save-traces",
    ]);
    cmd.env("FORWARD_TOKEN", secret)
        .env("OTEL_EXPORTER_OTLP_HEADERS", format!("x-team-key={secret}"));
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["forward"]["spans_dropped"], 0);
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    for file in files_under(p.path()) {
        let bytes = std::fs::read(&file).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(secret),
            "{} holds the secret",
            file.display()
        );
        assert!(
            file == dump || !text.contains(&url) || file.ends_with("out/report.json"),
            "{} names the forward URL",
            file.display()
        );
    }
    // The agent saw neither the header values nor where spans are forwarded.
    let env: BTreeMap<String, String> =
        serde_json::from_slice(&std::fs::read(&dump).unwrap()).unwrap();
    for (k, v) in &env {
        assert!(!v.contains(secret), "{k} reached the agent");
        assert!(!v.contains(&url), "{k} names the forward URL");
    }
    assert!(!env.contains_key("FORWARD_TOKEN"));
    let command: Vec<&str> = run.report()["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(command.contains(&url.as_str()), "{command:?}");
    assert!(
        command.contains(&"Authorization=env:FORWARD_TOKEN"),
        "{command:?}"
    );
}

/// A stopped backend, continued and killed when dropped (a failed assertion included).
struct Hung(Child);

impl Drop for Hung {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-CONT", &self.0.id().to_string()])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A process holding a listening socket on 127.0.0.1 whose port it prints, then stopped
/// (SIGSTOP): the kernel still accepts connections, nothing answers.
fn hung_backend() -> (Hung, u16) {
    let mut child = Command::new("python3")
        .args([
            "-c",
            "import socket,sys,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(64)\n\
             print(s.getsockname()[1],flush=True)\ntime.sleep(600)",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let status = Command::new("kill")
        .args(["-STOP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    (Hung(child), line.trim().parse().unwrap())
}

#[test]
fn a_dead_or_hung_backend_costs_at_most_the_timeout_and_changes_no_exit_code() {
    let args = ["suites/support.toml", "--model", "careful", "--seed", "7"];
    // What the same run sends to a backend that is up: the total a dead one loses.
    let total = {
        let p = project("fwd-up");
        let sink = Sink::start(0, true);
        let run = p.run(&[&["--forward", &sink.url][..], &args].concat());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let forward = &run.report()["forward"];
        assert_eq!(forward["spans_dropped"], 0, "{forward:#}");
        forward["spans_sent"].as_u64().unwrap()
    };
    let (_hung, hung_port) = hung_backend();
    for (what, port) in [("dead", crate::support::closed_port()), ("hung", hung_port)] {
        let p = project("fwd-down");
        let url = format!("http://127.0.0.1:{port}/v1/traces");
        let started = Instant::now();
        let run = p.run(&[&["--forward", &url, "--forward-timeout", "2s"][..], &args].concat());
        let took = started.elapsed();
        assert_eq!(
            run.code, 0,
            "{what}: careful passes as without forwarding\n{}",
            run.stderr
        );
        let forward = &run.report()["forward"];
        assert_eq!(forward["spans_sent"], 0, "{what}");
        assert_eq!(
            forward["spans_dropped"], total,
            "{what}: every span, counted"
        );
        assert!(forward["first_error"].is_string(), "{what}");
        // The wait after the last trial is bounded by the timeout (+1 s of slack).
        let waited = forward["wait_ms"].as_f64().unwrap();
        assert!(waited <= 3000.0, "{what}: waited {waited} ms");
        assert!(took < Duration::from_secs(60), "{what}: {took:?}");
        // Forwarding required (the flag for the dead one, traceval.toml for the hung one):
        // undelivered spans are an outage, exit 3, said on an error line and in the step
        // summary.
        let mut forward = vec!["--forward", &url, "--forward-timeout", "1s"];
        if what == "dead" {
            forward.push("--forward-required");
        } else {
            p.file("traceval.toml", "[forward]\nrequired = true\n");
        }
        let summary = p.path().join("summary.md");
        let mut cmd = p.command(&[&forward[..], &args].concat());
        cmd.env("GITHUB_ACTIONS", "true")
            .env("GITHUB_STEP_SUMMARY", &summary);
        let run = Run::new(cmd.output().unwrap(), p.report_path());
        assert_eq!(run.code, 3, "{what}\n{}", run.stderr);
        assert_eq!(run.report()["forward"]["required"], true);
        let error = format!(
            "error: forwarding is required, and {total} of {total} spans did not reach {url}"
        );
        assert!(run.stderr.contains(&error), "{what}: {}", run.stderr);
        let summary = std::fs::read_to_string(&summary).unwrap();
        assert!(
            summary.contains("forwarding was required and spans did not arrive (exit 3)"),
            "{what}: {summary}"
        );
        let line =
            format!("Forwarded 0 spans to `{url}` ({total} dropped, 0 rejected); first error: ");
        assert!(summary.contains(&line), "{what}: {summary}");
    }
}

#[test]
fn phoenix_receives_every_span_with_the_run_id_and_the_verdicts() {
    let Some(phoenix) = Phoenix::shared() else {
        eprintln!("{}", Phoenix::SKIPPED);
        return;
    };
    for (protocol, url) in [
        ("http/protobuf", phoenix.http_url()),
        ("grpc", phoenix.grpc_url()),
    ] {
        let p = project("fwd-phoenix");
        p.file(
            "traceval.toml",
            "[forward]\nprofile = \"phoenix\"\nproject = \"traceval-{run_id}\"\n",
        );
        let sink_run = p.run(&[
            "--forward",
            &url,
            "--forward-protocol",
            protocol,
            "--seed",
            "3",
        ]);
        assert_eq!(sink_run.code, 1, "{protocol}\n{}", sink_run.stderr);
        let report = sink_run.report();
        let run_id = report["run_id"].as_str().unwrap();
        let sent = report["forward"]["spans_sent"].as_u64().unwrap() as usize;
        assert_eq!(
            report["forward"]["spans_dropped"], 0,
            "{:#}",
            report["forward"]
        );
        let project = format!("traceval-{run_id}");
        // The first line names the project to open.
        let line = format!("({protocol}, profile phoenix, project {project}; from --forward)");
        assert!(sink_run.stderr.contains(&line), "{}", sink_run.stderr);
        let deadline = Instant::now() + Duration::from_secs(30);
        let spans = phoenix.wait_for_spans(&project, None, sent, deadline);
        assert_eq!(spans.len(), sent, "{protocol}: every span, once");
        let ids: HashSet<&str> = spans
            .iter()
            .map(|s| s["context"]["span_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids.len(), sent, "no duplicate");
        // Every span carries the run id as a span attribute (Phoenix drops resources).
        let filtered = phoenix.spans(&project, Some(("eval.run_id", run_id)));
        assert_eq!(filtered.len(), sent);
        // Every trial's root has (checks + 1) evaluation events, in the report's order, typed
        // scores; and no other root has any.
        let trials = report["trials"].as_array().unwrap();
        for trial in trials {
            let root = spans
                .iter()
                .find(|s| {
                    s["name"] == "eval.trial" && s["context"]["trace_id"] == trial["trace_id"]
                })
                .unwrap_or_else(|| panic!("{protocol}: no root for {trial:#}"));
            let mut names: Vec<&str> = trial["checks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            names.push("trial");
            assert_eq!(phoenix_evaluations(root), names, "{protocol}");
        }
        let roots = spans.iter().filter(|s| s["name"] == "eval.trial").count();
        assert_eq!(roots, trials.len(), "{protocol}");
        // The failed span assertion's offending spans carry their own event.
        let tools: Vec<&Json> = spans
            .iter()
            .filter(|s| s["name"] == "execute_tool get_case")
            .collect();
        assert_eq!(tools.len(), 6);
        for tool in tools {
            assert_eq!(phoenix_evaluations(tool), ["span"]);
        }
    }
}

/// The evaluation events of a span read back from a backend as JSON (Phoenix, MLflow): (name,
/// label) each, after checking the score is a float and the label pass or fail.
pub(crate) fn json_evaluations(span: &Json) -> Vec<(String, String)> {
    span["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["name"] == "gen_ai.evaluation.result")
        .map(|e| {
            let a = &e["attributes"];
            assert!(a["gen_ai.evaluation.score.value"].is_f64(), "{a:#}");
            let label = a["gen_ai.evaluation.score.label"].as_str().unwrap();
            assert!(label == "pass" || label == "fail", "{label}");
            let name = a["gen_ai.evaluation.name"].as_str().unwrap();
            (name.to_owned(), label.to_owned())
        })
        .collect()
}

/// The names of [`json_evaluations`].
fn phoenix_evaluations(span: &Json) -> Vec<String> {
    json_evaluations(span)
        .into_iter()
        .map(|(name, _)| name)
        .collect()
}

fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out
}

/// What the exact-bytes sink received: every request decoded as sent.
#[derive(Default)]
struct Received {
    traces: Vec<opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest>,
    logs: Vec<opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest>,
    log_requests: usize,
    /// Requests whose body was gzip.
    gzipped: usize,
    /// When each traces request came, refused ones included.
    attempts: Vec<Instant>,
}

/// A small OTLP/HTTP sink of the test's own: answers the first traces requests with the
/// statuses of `refuse` (with `Retry-After` where given) and keeps nothing of them; answers the
/// first it keeps with a partial success rejecting `reject` spans; and answers logs requests
/// with 405 when `logs` is false.
struct Sink {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Received>>,
    _runtime: tokio::runtime::Runtime,
}

impl Sink {
    fn start(reject: i64, logs: bool) -> Sink {
        Sink::refusing(&[], reject, logs)
    }

    fn refusing(refuse: &[(u16, Option<&'static str>)], reject: i64, logs: bool) -> Sink {
        use axum::body::Bytes;
        use axum::http::StatusCode;
        use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
        use opentelemetry_proto::tonic::collector::trace::v1::{
            ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse,
        };
        use prost::Message;
        use std::sync::{Arc, Mutex};

        // Bodies to loopback are not compressed; gzip ones are read too.
        fn gunzip(body: &[u8]) -> Vec<u8> {
            if !body.starts_with(&[0x1f, 0x8b]) {
                return body.to_vec();
            }
            let mut out = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out)
                .expect("a gzip body");
            out
        }
        let refuse = refuse.to_vec();
        let received = Arc::new(Mutex::new(Received::default()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let traces_state = Arc::clone(&received);
        let logs_state = Arc::clone(&received);
        let app = axum::Router::new()
            .route(
                "/v1/traces",
                axum::routing::post(move |body: Bytes| {
                    let state = Arc::clone(&traces_state);
                    let refuse = refuse.clone();
                    async move {
                        use axum::response::IntoResponse;
                        let request = ExportTraceServiceRequest::decode(&*gunzip(&body)).unwrap();
                        let mut state = state.lock().unwrap();
                        state.attempts.push(Instant::now());
                        if let Some(&(status, after)) = refuse.get(state.attempts.len() - 1) {
                            let status = StatusCode::from_u16(status).unwrap();
                            let after = after.map(|a| [("retry-after", a)]);
                            return (
                                status,
                                axum::response::AppendHeaders(after.into_iter().flatten()),
                            )
                                .into_response();
                        }
                        state.gzipped += usize::from(body.starts_with(&[0x1f, 0x8b]));
                        state.traces.push(request);
                        let first = state.traces.len() == 1;
                        let answer = ExportTraceServiceResponse {
                            partial_success: (first && reject > 0).then(|| {
                                ExportTracePartialSuccess {
                                    rejected_spans: reject,
                                    error_message: "three too many".into(),
                                }
                            }),
                        };
                        answer.encode_to_vec().into_response()
                    }
                }),
            )
            .route(
                "/v1/logs",
                axum::routing::post(move |body: Bytes| {
                    let state = Arc::clone(&logs_state);
                    async move {
                        let mut state = state.lock().unwrap();
                        state.log_requests += 1;
                        if !logs {
                            return (StatusCode::METHOD_NOT_ALLOWED, Vec::new());
                        }
                        let request = ExportLogsServiceRequest::decode(&*gunzip(&body)).unwrap();
                        state.logs.push(request);
                        (StatusCode::OK, Vec::new())
                    }
                }),
            );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Sink {
            url: format!("{url}/v1/traces"),
            received,
            _runtime: runtime,
        }
    }
}

#[test]
fn a_partial_success_counts_as_rejected_and_log_records_carry_the_verdicts() {
    let p = project("fwd-sink");
    let sink = Sink::start(3, true);
    // Loopback gets no gzip unless the standard variable asks for it.
    let mut cmd = p.command(&[
        "--forward",
        &sink.url,
        "--forward-events",
        "log",
        "--seed",
        "5",
        "suites/echo.toml",
    ]);
    cmd.env("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    let forward = &report["forward"];
    assert_eq!(forward["spans_rejected"], 3, "{forward:#}");
    assert_eq!(forward["spans_dropped"], 0, "{forward:#}");
    assert!(
        forward["first_error"]
            .as_str()
            .unwrap()
            .contains("rejected 3 spans: three too many")
    );
    let received = sink.received.lock().unwrap();
    assert_eq!(received.gzipped, received.traces.len(), "every body gzip");
    let spans: Vec<_> = received
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .collect();
    assert_eq!(
        forward["spans_sent"].as_u64().unwrap() + 3,
        spans.len() as u64
    );
    // With `log`, the verdicts are log records, not span events.
    assert!(spans.iter().all(|s| s.events.is_empty()));
    let records: Vec<_> = received
        .logs
        .iter()
        .flat_map(|r| &r.resource_logs)
        .flat_map(|r| &r.scope_logs)
        .flat_map(|s| &s.log_records)
        .collect();
    let expected: usize = report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["checks"].as_array().unwrap().len() + 1)
        .sum::<usize>()
        + 6; // the failed span assertion, on each of the three tool calls of two trials
    assert_eq!(records.len(), expected);
    assert_eq!(forward["log_records_sent"], expected as u64);
    for record in &records {
        assert_eq!(record.event_name, "gen_ai.evaluation.result");
        // Parented to the evaluated span: its trace and span id are those of a sent span.
        assert!(
            spans
                .iter()
                .any(|s| s.trace_id == record.trace_id && s.span_id == record.span_id),
            "a log record points at no span"
        );
    }
    // The resource of every request carries the run (what Phoenix cannot show).
    let run_id = report["run_id"].as_str().unwrap();
    for resource in received.traces.iter().flat_map(|r| &r.resource_spans) {
        let attrs = &resource.resource.as_ref().unwrap().attributes;
        let id = attrs.iter().find(|kv| kv.key == "eval.run_id").unwrap();
        let value = id.value.as_ref().and_then(|v| v.value.as_ref());
        assert!(
            matches!(value, Some(opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(s)) if s == run_id)
        );
    }
}

#[test]
fn a_backend_that_takes_no_logs_is_told_once_and_still_gets_the_spans() {
    let p = project("fwd-nologs");
    let sink = Sink::start(0, false);
    let run = p.run(&[
        "--forward",
        &sink.url,
        "--forward-events",
        "both",
        "suites/echo.toml",
        "-k",
        "4",
        "-j",
        "1",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let forward = &run.report()["forward"];
    assert_eq!(forward["spans_dropped"], 0);
    assert_eq!(forward["log_records_sent"], 0);
    assert!(forward["log_records_dropped"].as_u64().unwrap() > 0);
    assert!(
        forward["first_error"]
            .as_str()
            .unwrap()
            .contains("takes no log records (HTTP 405)"),
        "{forward:#}"
    );
    let received = sink.received.lock().unwrap();
    assert_eq!(received.log_requests, 1, "asked once, then spared");
    assert_eq!(received.gzipped, 0, "loopback: no gzip");
    // `both`: the span events are still there.
    let events = received
        .traces
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| &s.spans)
        .flat_map(|s| &s.events)
        .filter(|e| e.name == "gen_ai.evaluation.result")
        .count();
    assert!(events > 0);
}

#[test]
fn a_backend_that_asks_to_retry_gets_every_span_once_and_a_bad_request_is_not_retried() {
    let p = project("fwd-retry");
    // 503 with `Retry-After: 1`, then 429 without: both retried, the first after a second.
    let sink = Sink::refusing(&[(503, Some("1")), (429, None)], 0, true);
    let run = p.run(&["--forward", &sink.url, "suites/echo.toml"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let forward = &run.report()["forward"];
    assert_eq!(forward["spans_dropped"], 0, "{forward:#}");
    assert_eq!(forward["requests_failed"], 0, "{forward:#}");
    let received = sink.received.lock().unwrap();
    let spans: Vec<Span> = received
        .traces
        .iter()
        .flat_map(|r| traceval::capture::convert::decode_request(r.clone()).spans)
        .collect();
    check_delivery(&run, &spans);
    assert_eq!(
        received.attempts.len(),
        received.traces.len() + 2,
        "two refused, once each"
    );
    let waited = received.attempts[1] - received.attempts[0];
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    let total = run.report()["forward"]["spans_sent"].clone();
    drop(received);

    // A 400 is final: each request is tried once and its spans are dropped; the exit code is
    // the run's own.
    let refuse = [(400, None); 64];
    let sink = Sink::refusing(&refuse, 0, true);
    let run = p.run(&["--forward", &sink.url, "suites/echo.toml"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let forward = &run.report()["forward"];
    let attempts = sink.received.lock().unwrap().attempts.len();
    assert!(attempts > 0);
    assert_eq!(
        forward["requests_failed"], attempts as u64,
        "not retried: {forward:#}"
    );
    assert_eq!(forward["spans_sent"], 0, "{forward:#}");
    assert_eq!(
        forward["spans_dropped"], total,
        "every span, counted: {forward:#}"
    );
    assert!(
        forward["first_error"].as_str().unwrap().contains("400"),
        "{forward:#}"
    );
}

#[test]
fn spans_that_match_no_trial_are_forwarded_marked_as_such_and_ci_context_on_all() {
    let p = TestProject::new("fwd-stray");
    let agent = p.misbehave("stray");
    p.file(
        "suites/stray.toml",
        &format!("name = \"stray\"\ntrials = 2\n{agent}\n[[case]]\nid = \"one\"\ninput = {{ case = \"one\" }}\n"),
    );
    let sink = OtlpCapture::start();
    let url = format!("{}/v1/traces", sink.endpoint());
    // In a CI that says which pipeline and commit: every resource carries them.
    let mut cmd = p.command(&["--forward", &url]);
    cmd.env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_REPOSITORY", "acme/agents")
        .env("GITHUB_SHA", "0123abcd");
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.report();
    assert_eq!(report["unattributed_spans"], 2, "{}", run.stderr);
    let run_id = report["run_id"].as_str().unwrap();
    let spans = received(&sink);
    assert_eq!(report["forward"]["spans_sent"], spans.len() as u64);
    let stray: Vec<&Span> = spans.iter().filter(|s| s.name == "stray work").collect();
    assert_eq!(stray.len(), 2, "both trials' stray spans, once");
    for span in stray {
        assert_eq!(string(span, "eval.run_id").as_deref(), Some(run_id));
        assert_eq!(
            span.attributes.get("eval.unattributed"),
            Some(&Value::Bool(true))
        );
        assert_eq!(string(span, "eval.case"), None, "no trial's identity");
        let resource = &span.resource.attributes;
        assert_eq!(resource.str("eval.run_id"), Some(run_id));
        assert_eq!(resource.get("eval.unattributed"), Some(&Value::Bool(true)));
    }
    let mut roots = 0;
    for span in &spans {
        let resource = &span.resource.attributes;
        assert_eq!(
            resource.str("cicd.pipeline.run.id"),
            Some("4242"),
            "{}",
            span.name
        );
        assert_eq!(
            resource.str("cicd.pipeline.run.url.full"),
            Some("https://github.com/acme/agents/actions/runs/4242")
        );
        assert_eq!(resource.str("vcs.ref.head.revision"), Some("0123abcd"));
        // On the trial roots and the run span as span attributes too (Phoenix keeps no
        // resources).
        if matches!(span.name.as_str(), "eval.trial" | "eval.run") {
            roots += 1;
            assert_eq!(
                string(span, "cicd.pipeline.run.id").as_deref(),
                Some("4242")
            );
            assert_eq!(
                string(span, "vcs.ref.head.revision").as_deref(),
                Some("0123abcd")
            );
        }
    }
    assert_eq!(roots, 3, "two trial roots and the run span");
    // The trials' own spans are not marked.
    assert!(
        spans
            .iter()
            .filter(|s| s.name == "eval.trial")
            .all(|s| s.attributes.get("eval.unattributed").is_none())
    );
}

#[test]
fn a_url_that_misses_the_receivers_path_is_told_where_traces_go() {
    let p = project("fwd-path");
    let sink = Sink::start(0, true);
    // The sink takes traces at /v1/traces only; a path of the user's own gets a 404.
    let url = sink.url.replace("/v1/traces", "/otlp");
    let run = p.run(&["--forward", &url, "suites/echo.toml"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let forward = &run.report()["forward"];
    let error = forward["first_error"].as_str().unwrap();
    assert!(
        error.starts_with("HTTP 404")
            && error.ends_with(
                "(the URL's path is `/otlp`; OTLP/HTTP receivers take traces at /v1/traces)"
            ),
        "{forward:#}"
    );
    assert!(sink.received.lock().unwrap().traces.is_empty());

    // gRPC to an OTLP/HTTP port.
    let base = sink.url.replace("/v1/traces", "");
    let run = p.run(&[
        "--forward",
        &base,
        "--forward-protocol",
        "grpc",
        "suites/echo.toml",
    ]);
    let forward = &run.report()["forward"];
    assert!(
        forward["first_error"]
            .as_str()
            .unwrap()
            .contains("(an OTLP/HTTP port? gRPC receivers listen on their own"),
        "{forward:#}"
    );
}
