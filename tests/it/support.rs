//! The harness every integration test shares: temporary projects outside the repository
//! (`tempfile`), the real `traceval` binary run hermetically from a chosen directory, a finished
//! run and its report, redaction for snapshots, the receiver the in-process tests talk to, and
//! `traceval serve-model` as a child process.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;
use tempfile::TempDir;
use traceval::capture::{Receiver, ReceiverConfig, SpanStore};

/// The repository root.
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The real `traceval` binary, to run from `cwd` as on a laptop whatever CI runs the tests
/// (see [`hermetic`]). A test that wants more sets it on the returned command.
pub(crate) fn traceval_command(cwd: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_traceval"));
    hermetic(cmd.current_dir(cwd));
    cmd
}

/// No `CI`, `TF_BUILD` or `INSTA_UPDATE` (`.ci/run` sets `INSTA_UPDATE=no`), no GitHub Actions
/// variables, no colour: the binary behaves the same on a laptop, in CI and under `cargo
/// nextest`.
fn hermetic(cmd: &mut Command) -> &mut Command {
    cmd.env_remove("CI")
        .env_remove("TF_BUILD")
        .env_remove("INSTA_UPDATE")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_WORKSPACE")
        // An OTLP endpoint in the developer's environment would forward every test run.
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_HEADERS")
        .env_remove("OTEL_EXPORTER_OTLP_PROTOCOL")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_SDK_DISABLED")
        .env("NO_COLOR", "1")
}

/// Whether util-linux `script` (a pseudo-terminal for [`traceval_on_a_terminal`]) is
/// installed; says the test is skipped when it is not.
pub(crate) fn has_a_terminal() -> bool {
    let found = Command::new("script").arg("--version").output().is_ok();
    if !found {
        eprintln!("skipped: util-linux `script` is not installed");
    }
    found
}

/// `traceval ARGS` from `cwd` on a pseudo-terminal (util-linux `script`), hermetic, stdin and
/// stdout piped, not started. What the terminal shows (stderr included) is its stdout.
pub(crate) fn traceval_on_a_terminal(cwd: &Path, args: &str) -> Command {
    let mut script = Command::new("script");
    script
        .args(["-qec"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_traceval")))
        .arg("/dev/null")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    hermetic(&mut script);
    script
}

/// `traceval ARGS` from `cwd`, finished.
pub(crate) fn traceval_in(cwd: &Path, args: &[&str]) -> Output {
    traceval_command(cwd)
        .args(args)
        .output()
        .expect("traceval runs")
}

/// `traceval ARGS` from the repository root, finished.
pub(crate) fn traceval(args: &[&str]) -> Output {
    traceval_in(root(), args)
}

/// The exit code of a finished command (-1 when a signal ended it).
pub(crate) fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// What a finished command printed on stdout.
pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// What a finished command printed on stderr.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code and stderr of a finished command.
pub(crate) fn code_and_stderr(output: &Output) -> (i32, String) {
    (code(output), stderr(output))
}

/// An empty temporary directory outside the repository (no `suites/`, so no project),
/// removed on drop.
pub(crate) fn scratch(name: &str) -> TempDir {
    tempfile::Builder::new()
        .prefix(&format!("tv-{name}-"))
        .tempdir()
        .expect("a temporary directory")
}

/// A temporary project (a directory with `suites/`) outside the repository, removed on drop.
pub(crate) struct TestProject {
    dir: TempDir,
    marker: String,
}

impl TestProject {
    /// A new empty project; `name` starts its directory's name.
    pub(crate) fn new(name: &str) -> TestProject {
        let dir = scratch(name);
        std::fs::create_dir_all(dir.path().join("suites")).unwrap();
        // The directory's name is unique: agents carry it, so their processes can be found.
        let marker = dir
            .path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        TestProject { dir, marker }
    }

    /// The project directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The project directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `content` to `rel` in the project, creating its directories.
    pub(crate) fn file(&self, rel: &str, content: &str) -> &TestProject {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    /// `[agent]` running tests/agents/misbehave.py in `mode`.
    pub(crate) fn misbehave(&self, mode: &str) -> String {
        if matches!(
            mode,
            "spans" | "seeded" | "resource-only" | "traceparent" | "stray"
        ) {
            python_otel_sdk();
        }
        let script = root().join("tests/agents/misbehave.py");
        format!(
            "[agent]\nkind = \"command\"\ncommand = [\"python3\", \"{}\", \"{mode}\"]\nenv = {{ TEST_MARKER = \"{}\" }}\n",
            script.display(),
            self.marker
        )
    }

    /// `traceval run ARGS --report out/report.json` from the project directory, not started.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = traceval_command(self.path());
        cmd.arg("run")
            .args(args)
            .arg("--report")
            .arg(self.report_path());
        cmd
    }

    /// `traceval run ARGS --report out/report.json` from the project directory, finished.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let output = self.command(args).output().expect("traceval runs");
        Run::new(output, self.report_path())
    }

    /// `traceval run ARGS --report out/report.json` from `cwd` rather than the project
    /// directory, finished.
    pub(crate) fn run_from(&self, cwd: &Path, args: &[&str]) -> Run {
        let output = self
            .command(args)
            .current_dir(cwd)
            .output()
            .expect("traceval runs");
        Run::new(output, self.report_path())
    }

    /// `traceval ARGS` (any subcommand, no implicit `--report`) from the project directory.
    pub(crate) fn traceval(&self, args: &[&str]) -> Output {
        traceval_in(self.path(), args)
    }

    /// Where [`TestProject::command`] writes the report.
    pub(crate) fn report_path(&self) -> PathBuf {
        self.path().join("out/report.json")
    }

    /// Processes still alive whose command line carries this project's marker.
    pub(crate) fn leftovers(&self) -> Vec<String> {
        processes_with(&self.marker)
    }
}

/// Command lines of live processes containing `needle`.
pub(crate) fn processes_with(needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(needle) && !cmdline.contains("traceval") {
            found.push(cmdline);
        }
    }
    found
}

/// A finished `traceval run`.
pub(crate) struct Run {
    /// The exit code (-1 when a signal ended it).
    pub code: i32,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// The report it wrote, checked against the documented format, if it wrote one.
    pub report: Option<Value>,
}

impl Run {
    /// The run that printed `output` and wrote its report (if any) to `report`.
    pub(crate) fn new(output: Output, report: PathBuf) -> Run {
        Run {
            code: code(&output),
            stdout: stdout(&output),
            stderr: stderr(&output),
            report: std::fs::read(report)
                .ok()
                .map(|b| serde_json::from_slice(&b).expect("the report is valid JSON"))
                .inspect(crate::reference::check_report),
        }
    }

    /// The report; panics with stderr when the run wrote none.
    pub(crate) fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; stderr:\n{}", self.stderr))
    }

    /// Trial `n` of `case` in the report.
    pub(crate) fn trial(&self, case: &str, n: u64) -> &Value {
        self.report()["trials"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["case"] == case && t["trial"] == n)
            .unwrap_or_else(|| panic!("no trial {case}#{n}; stderr:\n{}", self.stderr))
    }
}

/// The check called `name` of a trial in a report.
pub(crate) fn check<'a>(trial: &'a Value, name: &str) -> &'a Value {
    trial["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {trial:#}"))
}

/// The JSON document in the file at `path`.
pub(crate) fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).expect("valid JSON")
}

/// Replaces what changes between runs (durations, ids, a temporary directory) with fixed
/// tokens, for snapshots.
pub(crate) fn redact(text: &str, dir: &Path, dir_token: &str) -> String {
    let text = text.replace(&dir.display().to_string(), dir_token);
    let rules = [
        (r"\[\s*\d+\.\d{3}s\]", "[ duration ]"),
        (r"\b\d+(\.\d+)?(ns|µs|ms|s)\b", "[t]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[run-id]",
        ),
        (r"\b[0-9a-f]{32}\b", "[trace-id]"),
    ];
    rules.iter().fold(text, |t, (re, with)| {
        regex::Regex::new(re)
            .unwrap()
            .replace_all(&t, *with)
            .into_owned()
    })
}

/// Every `*.otlp.jsonl` under `tests/fixtures`, sorted.
pub(crate) fn fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.to_string_lossy().ends_with(".otlp.jsonl") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("tests/fixtures"), &mut out);
    out.sort();
    out
}

/// Installs the ring TLS provider, as `traceval` does at startup: reqwest (and so the OTLP HTTP
/// exporter) panics when building a client without one.
pub(crate) fn tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A store and a receiver serving into it (and TLS set up for the clients that talk to it).
pub(crate) async fn receiver() -> (SpanStore, Receiver) {
    tls();
    let store = SpanStore::new();
    let receiver = Receiver::start(ReceiverConfig::default(), store.clone())
        .await
        .expect("receiver starts");
    (store, receiver)
}

/// A generous deadline: waits end on arrival, this only bounds a broken run.
pub(crate) fn deadline() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(20)
}

/// `traceval serve-model SCRIPT --seed SEED`, as a user starts it: a child process serving the
/// scripted model on 127.0.0.1, killed and reaped on drop, so no server outlives its test.
pub(crate) struct ModelServer {
    child: Child,
    base_url: String,
}

impl ModelServer {
    /// Starts the server and reads the base URL it prints (`http://127.0.0.1:PORT/v1`).
    pub(crate) fn start(script: &Path, seed: u64) -> ModelServer {
        let mut child = traceval_command(root())
            .arg("serve-model")
            .arg(script)
            .args(["--seed", &seed.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("traceval serve-model starts");
        let mut line = String::new();
        // The line comes once the server listens; the read ends at EOF if it exits instead.
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base_url = line.trim().to_owned();
        // Built now, so the guard kills the child even when the assertion below fails.
        let server = ModelServer { child, base_url };
        assert!(
            server.base_url.starts_with("http://127.0.0.1:") && server.base_url.ends_with("/v1"),
            "serve-model printed {line:?}"
        );
        server
    }

    /// `http://127.0.0.1:PORT/v1`, as printed.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:PORT/trial/<key>/v1`: where `traceval run` registers a trial's model.
    pub(crate) fn trial_base_url(&self, key: &str) -> String {
        let origin = self.base_url.trim_end_matches("/v1");
        format!("{origin}/trial/{key}/v1")
    }
}

impl Drop for ModelServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Panics, once and clearly, when `python3` lacks the OpenTelemetry SDK the span-sending test
/// agents import: without it they exit with an import error, send nothing, and a test fails far
/// from the cause ("0 of 6 tool spans").
fn python_otel_sdk() {
    static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let out = Command::new("python3")
            .args([
                "-c",
                "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter",
            ])
            .output()
            .map_err(|e| format!("python3 does not start: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
        }
    });
    if let Err(why) = checked {
        panic!(
            "the test agents need the OpenTelemetry SDK in python3: \
             `python3 -m pip install -r tests/requirements.txt` (.ci/run does)\n{why}"
        );
    }
}

/// Copies a directory tree.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A YAML file as JSON, read by PyYAML (`tests/requirements.txt`).
pub(crate) fn yaml(path: &Path) -> Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}: {}\nhint: pip install -r tests/requirements.txt",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A port that refuses connections on 127.0.0.1 and that no test can be handed: one below the
/// range the kernel picks from for port 0. (A port found free by binding port 0 and let go is
/// handed to the next test that binds port 0: a "dead" backend once received the spans meant
/// for another test's sink that way, and that test failed.)
pub(crate) fn closed_port() -> u16 {
    [1, 9, 47]
        .into_iter()
        .find(|&port| std::net::TcpStream::connect(("127.0.0.1", port)).is_err())
        .expect("one of ports 1, 9 and 47 refuses connections on 127.0.0.1")
}

/// A port free on 127.0.0.1 now, for a server about to bind it: another test binding port 0
/// meanwhile may be handed it too, so the server's listener must be checked once it is up.
pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("bound").port()
}

/// The Python of a backend's venv: the variable `var` (`.ci/run` sets it, so CI cannot skip a
/// test: a missing file panics), else `default` under the repository if it is there.
pub(crate) fn venv_python(var: &str, default: &str) -> Option<PathBuf> {
    if let Some(python) = std::env::var_os(var) {
        let python = PathBuf::from(python);
        assert!(python.exists(), "{var}={} does not exist", python.display());
        return Some(python);
    }
    Some(root().join(default)).filter(|p| p.exists())
}

/// `what`, then the last 40 lines of the log at `path` (a backend's that a test started) and
/// where the whole log is.
pub(crate) fn with_log_tail(what: &str, path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    format!("{what}\n--- {} (last 40 lines)\n{tail}", path.display())
}
