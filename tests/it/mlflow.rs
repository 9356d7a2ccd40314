//! A real MLflow tracking server on 127.0.0.1 for the forwarding tests: the backend that keeps
//! resource attributes (as trace tags), where Phoenix drops them. Started once per test binary
//! and read back with MLflow's own Python client. `.ci/run` installs it into
//! `target/mlflow-venv` and sets `TRACEVAL_MLFLOW_PYTHON`, so CI never skips the test; without
//! either (the README's test command on a fresh machine), the test says it is skipped.
//!
//! MLflow takes OTLP over HTTP only (protobuf, `/v1/traces`) and needs the header
//! `x-mlflow-experiment-id` on every request (422 without): the `mlflow` profile sends it. Its
//! first request after a start took 8–10 s in `shared/design/forward.md`'s measurements, long
//! enough for a client to time out while the spans are stored anyway; the harness sends one
//! span of its own before any test does, so a test's run never pays for it.

use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::blocking::Client;
use serde_json::Value;

use crate::forward::{json_evaluations, project};
use crate::phoenix::listeners_on;
use crate::support::{Run, free_port, tls, venv_python};

/// The version `.ci/run` installs (3.18.0's own dependencies were not served when it was
/// chosen).
const VERSION: &str = "3.17.2";

/// Where `.ci/run` puts MLflow's Python, relative to the repository root.
const DEFAULT_PYTHON: &str = "target/mlflow-venv/bin/python";

/// How long MLflow may take to answer `/health` (about 6–9 s here) and its first OTLP request.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// How long one search of its traces may take (about 2 s here, most of it importing mlflow).
const QUERY_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `mlflow server` (which starts uvicorn in a child) and ends it, removing the working
/// dir, once the process that started the launcher is gone (the harness holds the child in a
/// static, which is never dropped) or on SIGTERM. The launcher and the server are a session of
/// their own: a Ctrl-C or a CI's kill of the test binary's process group does not reach them,
/// so the launcher is there to notice its parent is gone and stop the whole session.
const LAUNCHER: &str = r#"
import os, shutil, signal, subprocess, sys, time

parent = int(os.environ.pop("TRACEVAL_MLFLOW_PARENT"))
work = os.getcwd()
os.setsid()
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
server = subprocess.Popen(
    [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", sys.argv[1],
     "--workers", "1", "--backend-store-uri", "sqlite:///" + os.path.join(work, "mlflow.db"),
     "--default-artifact-root", os.path.join(work, "artifacts")])
try:
    while os.getppid() == parent and server.poll() is None and not stop:
        time.sleep(0.2)
finally:
    code = server.poll()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    os.killpg(0, signal.SIGTERM)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    shutil.rmtree(work, ignore_errors=True)
    if server.poll() is None:
        os.killpg(0, signal.SIGKILL)
sys.exit(code or 0)
"#;

/// Prints, as JSON, every trace of the default experiment tagged `eval.run_id = argv[1]`: its
/// id, tags, and spans (name, ids, attributes, events).
const QUERY: &str = r#"
import json, sys
from mlflow import MlflowClient

client, run_id, token, out = MlflowClient(), sys.argv[1], None, []
while True:
    page = client.search_traces(
        locations=["0"], filter_string=f"tags.`eval.run_id` = '{run_id}'",
        max_results=100, page_token=token)
    for t in page:
        out.append({
            "trace_id": t.info.trace_id,
            "tags": t.info.tags,
            "spans": [{
                "name": s.name, "span_id": s.span_id, "parent_id": s.parent_id,
                "attributes": s.attributes,
                "events": [{"name": e.name, "attributes": e.attributes} for e in s.events],
            } for s in t.data.spans],
        })
    token = page.token
    if not token:
        break
json.dump(out, sys.stdout, default=str)
"#;

/// An MLflow tracking server on one loopback port, with a fresh working dir (SQLite store,
/// artifacts, log).
pub(crate) struct Mlflow {
    port: u16,
    python: PathBuf,
    dir: PathBuf,
    child: Mutex<Child>,
}

impl Mlflow {
    /// The server of this test binary, started by the first caller. `None` when MLflow is not
    /// installed: the caller then prints [`Mlflow::SKIPPED`] and returns. Panics when it is
    /// installed but does not start, or when `TRACEVAL_MLFLOW_PYTHON` names a missing file.
    pub(crate) fn shared() -> Option<&'static Mlflow> {
        static SHARED: OnceLock<Option<Result<Mlflow, String>>> = OnceLock::new();
        let shared = SHARED.get_or_init(|| python().map(Mlflow::start));
        match shared {
            None => None,
            Some(Ok(mlflow)) => Some(mlflow),
            Some(Err(why)) => panic!("{why}"),
        }
    }

    /// What a test prints to stderr when [`Mlflow::shared`] returns `None`.
    pub(crate) const SKIPPED: &str =
        "skipped: MLflow is not installed (run .ci/run or set TRACEVAL_MLFLOW_PYTHON)";

    fn start(python: PathBuf) -> Result<Mlflow, String> {
        tls();
        let port = free_port();
        let dir = tempfile::Builder::new()
            .prefix("tv-mlflow-")
            .tempdir()
            .expect("a temporary directory")
            // The launcher removes it when this process is gone.
            .keep();
        let log = File::create(dir.join("mlflow.log")).expect("the log file");
        let mut cmd = Command::new(&python);
        cmd.arg("-c")
            .arg(LAUNCHER)
            .arg(port.to_string())
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("OTEL_") || name.starts_with("MLFLOW_") {
                cmd.env_remove(&*name);
            }
        }
        cmd.env("TRACEVAL_MLFLOW_PARENT", std::process::id().to_string())
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true")
            // Job execution starts eight more worker processes (about 1 GB) no test needs.
            .env("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false");
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let mlflow = Mlflow {
            port,
            python,
            dir,
            child: Mutex::new(child),
        };
        let started = Instant::now();
        let ready = mlflow.warm_up().and_then(|()| {
            // By port: the listening socket is uvicorn's, a grandchild of the launcher.
            let listeners = listeners_on(port);
            if listeners.is_empty() || !listeners.iter().all(|a| a.ip().is_loopback()) {
                return Err(mlflow.failure(&format!(
                    "MLflow must listen on 127.0.0.1:{port} only, but listens on {listeners:?}"
                )));
            }
            Ok(())
        });
        if let Err(why) = ready {
            mlflow.stop();
            return Err(why);
        }
        eprintln!(
            "MLflow {VERSION} ready at {} in {:.1}s",
            mlflow.url(),
            started.elapsed().as_secs_f64()
        );
        Ok(mlflow)
    }

    /// Waits for `/health`, then sends one OTLP request (a span of its own) and waits for its answer (the
    /// slow first one), failing early when the server exits and after [`READY_TIMEOUT`].
    fn warm_up(&self) -> Result<(), String> {
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(5))
            .build()
            .expect("an HTTP client");
        let deadline = Instant::now() + READY_TIMEOUT;
        let health = format!("{}/health", self.url());
        loop {
            if let Some(status) = self.child.lock().unwrap().try_wait().unwrap() {
                return Err(self.failure(&format!("MLflow exited ({status}) before it was ready")));
            }
            if client
                .get(&health)
                .send()
                .is_ok_and(|r| r.status() == StatusCode::OK)
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(self.failure("MLflow did not answer /health in time"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // One span of a trace of its own (MLflow answers 400 to an empty request).
        use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
        use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
        use prost::Message;
        let span = Span {
            trace_id: uuid::Uuid::new_v4().as_bytes().to_vec(),
            span_id: vec![1; 8],
            name: "warm-up".into(),
            start_time_unix_nano: 1,
            end_time_unix_nano: 2,
            ..Span::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![span],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        let answer = client
            .post(self.traces_url())
            .timeout(READY_TIMEOUT)
            .header("content-type", "application/x-protobuf")
            .header("x-mlflow-experiment-id", "0")
            .body(request.encode_to_vec())
            .send()
            .map_err(|e| self.failure(&format!("the first OTLP request failed: {e}")))?;
        if !answer.status().is_success() {
            return Err(self.failure(&format!("the first OTLP request got {}", answer.status())));
        }
        Ok(())
    }

    /// `what` and the end of the server's log.
    fn failure(&self, what: &str) -> String {
        crate::support::with_log_tail(what, &self.dir.join("mlflow.log"))
    }

    /// Stops the server that did not start: SIGTERM, on which the launcher ends its whole
    /// session and removes the working dir (SIGKILL would leave both).
    fn stop(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = Command::new("kill").arg(child.id().to_string()).status();
        let _ = child.wait();
    }

    /// `http://127.0.0.1:PORT`: the tracking server.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT/v1/traces`: OTLP over HTTP.
    pub(crate) fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.url())
    }

    /// Every trace tagged with `run_id`, as [`QUERY`] prints them; panics after
    /// [`QUERY_TIMEOUT`].
    pub(crate) fn traces(&self, run_id: &str) -> Vec<Value> {
        let mut cmd = Command::new(&self.python);
        cmd.arg("-c").arg(QUERY).arg(run_id);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            // No credentials or settings of the developer's own MLflow or Databricks.
            if name.starts_with("MLFLOW_") || name.starts_with("DATABRICKS_") {
                cmd.env_remove(&*name);
            }
        }
        cmd.env("MLFLOW_TRACKING_URI", self.url())
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
            .env("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
            .env("MLFLOW_DISABLE_TELEMETRY", "true")
            .env("DO_NOT_TRACK", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("MLflow's python runs");
        // Read both pipes on threads, so a big answer cannot block the query.
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let out = std::thread::spawn(move || {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut buf).map(|_| buf)
        });
        let err = std::thread::spawn(move || {
            let mut buf = String::new();
            std::io::Read::read_to_string(&mut stderr, &mut buf).map(|_| buf)
        });
        let deadline = Instant::now() + QUERY_TIMEOUT;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{}",
                    self.failure("searching MLflow's traces took too long")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let (out, err) = (out.join().unwrap(), err.join().unwrap());
        assert!(
            status.success(),
            "{}",
            self.failure(&format!(
                "searching MLflow's traces failed ({status}): {}",
                err.unwrap_or_default()
            ))
        );
        serde_json::from_slice(&out.unwrap()).expect("the query prints JSON")
    }

    /// Polls [`Mlflow::traces`] until they hold `spans` spans, or `deadline` has passed.
    pub(crate) fn wait_for_spans(
        &self,
        run_id: &str,
        spans: usize,
        deadline: Instant,
    ) -> Vec<Value> {
        loop {
            let traces = self.traces(run_id);
            let stored: usize = traces
                .iter()
                .map(|t| t["spans"].as_array().unwrap().len())
                .sum();
            if stored >= spans || Instant::now() > deadline {
                return traces;
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

/// MLflow's Python: `TRACEVAL_MLFLOW_PYTHON`, else `.ci/run`'s venv if it is there.
fn python() -> Option<PathBuf> {
    venv_python("TRACEVAL_MLFLOW_PYTHON", DEFAULT_PYTHON)
}

#[test]
fn mlflow_keeps_every_span_with_the_run_id_as_a_trace_tag_and_the_verdicts() {
    let Some(mlflow) = Mlflow::shared() else {
        eprintln!("{}", Mlflow::SKIPPED);
        return;
    };
    for protocol in ["http/protobuf", "http/json"] {
        forwarded_to_mlflow(mlflow, protocol);
    }
}

/// Runs the forwarding project to `mlflow` over `protocol` and reads back what it kept.
fn forwarded_to_mlflow(mlflow: &Mlflow, protocol: &str) {
    let p = project("fwd-mlflow");
    // From the project's parent directory, on a relative suite path.
    let name = p.path().file_name().unwrap().to_string_lossy();
    let suites = format!("{name}/suites");
    let url = mlflow.traces_url();
    let mut cmd = p.command(&[&suites, "--forward", &url, "--forward-profile", "mlflow"]);
    cmd.args(["--forward-protocol", protocol]);
    // A CI run id: a resource attribute only, never a span's, so its tag can come from nowhere
    // but the resource.
    cmd.args(["--seed", "3"])
        .current_dir(p.path().parent().unwrap())
        .env("GITHUB_RUN_ID", "777");
    let run = Run::new(cmd.output().unwrap(), p.report_path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = run.report();
    let run_id = report["run_id"].as_str().unwrap();
    let forward = &report["forward"];
    assert_eq!(forward["profile"], "mlflow");
    assert_eq!(forward["protocol"], protocol);
    assert_eq!(forward["spans_dropped"], 0, "{forward:#}\n{}", run.stderr);
    assert_eq!(forward["spans_rejected"], 0, "{forward:#}");
    assert_eq!(forward["first_error"], Value::Null, "no 422: {forward:#}");
    let sent = forward["spans_sent"].as_u64().unwrap() as usize;

    let traces = mlflow.wait_for_spans(run_id, sent, Instant::now() + Duration::from_secs(30));
    // Every span exactly once, each carrying the run id as a span attribute; and every trace
    // found by the run id as a tag, which MLflow takes from the resource.
    let spans: Vec<&Value> = traces
        .iter()
        .flat_map(|t| t["spans"].as_array().unwrap())
        .collect();
    assert_eq!(spans.len(), sent, "every span, once");
    let ids: HashSet<(&str, &str)> = traces
        .iter()
        .flat_map(|t| {
            let trace = t["trace_id"].as_str().unwrap();
            t["spans"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |s| (trace, s["span_id"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(ids.len(), sent, "no duplicate");
    for span in &spans {
        assert_eq!(span["attributes"]["eval.run_id"], run_id, "{span:#}");
    }
    let by_id: BTreeMap<&str, &Value> = traces
        .iter()
        .map(|t| (t["trace_id"].as_str().unwrap(), t))
        .collect();

    // One trace per trial root trace, tagged with the trial's identity, its root holding the
    // verdicts; the agent's own traces tagged as the trial's too.
    let trials = report["trials"].as_array().unwrap();
    assert_eq!(
        trials.len(),
        10,
        "support 2 cases × 2 models × 2 + echo 1 × 2"
    );
    for trial in trials {
        let trace_id = trial["trace_id"].as_str().unwrap();
        let trace = by_id
            .get(format!("tr-{trace_id}").as_str())
            .unwrap_or_else(|| panic!("no MLflow trace for {trial:#}"));
        let tags = &trace["tags"];
        // What only the resource has.
        assert_eq!(tags["service.name"], "traceval", "{tags:#}");
        assert_eq!(tags["cicd.pipeline.run.id"], "777", "{tags:#}");
        for key in ["suite", "case", "model"] {
            assert_eq!(tags[format!("eval.{key}")], trial[key], "{tags:#}");
        }
        assert_eq!(tags["eval.trial"], trial["trial"].to_string(), "{tags:#}");
        assert_eq!(tags["eval.trial.trace_id"], trace_id);
        let root = trace["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "eval.trial")
            .unwrap_or_else(|| panic!("no root in {trace:#}"));
        let status = if trial["passed"] == true {
            "pass"
        } else {
            "fail"
        };
        assert_eq!(root["attributes"]["test.case.result.status"], status);
        let events = json_evaluations(root);
        let checks = trial["checks"].as_array().unwrap();
        assert_eq!(events.len(), checks.len() + 1, "{events:?}");
        for (event, check) in events.iter().zip(checks) {
            assert_eq!(event.0, check["name"].as_str().unwrap());
            let label = if check["passed"] == true {
                "pass"
            } else {
                "fail"
            };
            assert_eq!(event.1, label, "{check:#}");
        }
        assert_eq!(
            events.last().unwrap(),
            &("trial".to_owned(), status.to_owned())
        );
        for agent in trial["agent_trace_ids"].as_array().unwrap() {
            let agent = by_id
                .get(format!("tr-{}", agent.as_str().unwrap()).as_str())
                .unwrap_or_else(|| panic!("no MLflow trace for agent trace {agent}"));
            assert_eq!(agent["tags"]["eval.trial.trace_id"], trace_id);
        }
    }
    // The failed span assertion (`count = 1`; the agent calls the tool three times a trial):
    // its offending spans carry their own event.
    let tools: Vec<&&Value> = spans
        .iter()
        .filter(|s| s["name"] == "execute_tool get_case")
        .collect();
    assert_eq!(tools.len(), 6);
    for tool in tools {
        assert_eq!(
            json_evaluations(tool),
            [("span".to_owned(), "fail".to_owned())]
        );
    }
}
