//! A real Arize Phoenix server on 127.0.0.1 for the forwarding tests: someone else's reading of
//! OTLP, started once per test binary and read back over its REST API. `.ci/run` installs it
//! into `target/phoenix-venv` and sets `TRACEVAL_PHOENIX_PYTHON`, so CI never skips them; without
//! either (the README's test command on a fresh machine), a test says it is skipped.
//!
//! Phoenix binds its gRPC port on every interface whatever `PHOENIX_HOST` says, so it is
//! launched through a shim that rewrites that one bind address to 127.0.0.1 (see
//! `shared/design/forward.md`, "Real backends on this machine"). The REST calls block: call
//! them from a plain `#[test]` or from `spawn_blocking`, not from inside an async runtime.

use std::collections::BTreeSet;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use crate::support::{root, tls, venv_python};

/// The version `.ci/run` installs.
const VERSION: &str = "20.26.1";

/// Where `.ci/run` puts Phoenix's Python, relative to the repository root.
const DEFAULT_PYTHON: &str = "target/phoenix-venv/bin/python";

/// How long Phoenix may take to answer `/readyz`: about 8 s on a fresh data dir, but it took
/// 16 s once with the 2 cores busy.
const READY_TIMEOUT: Duration = Duration::from_secs(180);

/// How often readiness and span counts are polled.
const POLL: Duration = Duration::from_millis(100);

/// Runs Phoenix as `phoenix serve` with gRPC bound to 127.0.0.1, and ends it (removing its
/// working dir) once the process that started it is gone: the harness holds the child in a
/// static, which is never dropped, so nothing else would stop it.
const LAUNCHER: &str = r#"
import os, shutil, sys, threading, time

parent = int(os.environ.pop("TRACEVAL_PHOENIX_PARENT"))

def orphaned():
    while os.getppid() == parent:
        time.sleep(0.2)
    shutil.rmtree(os.environ["PHOENIX_WORKING_DIR"], ignore_errors=True)
    os._exit(0)

threading.Thread(target=orphaned, daemon=True).start()

import grpc.aio as _a
_o = _a.server
def _s(*a, **k):
    s = _o(*a, **k); add = s.add_insecure_port
    s.add_insecure_port = lambda addr: add("127.0.0.1:" + addr[5:] if addr.startswith("[::]:") else addr)
    return s
_a.server = _s

from phoenix.server.main import main
sys.argv = ["phoenix", "serve"]
main()
"#;

/// A Phoenix server on two loopback ports, with a fresh working dir (SQLite DB and log).
pub(crate) struct Phoenix {
    http_port: u16,
    grpc_port: u16,
    dir: PathBuf,
    child: Mutex<Child>,
    client: Client,
}

impl Phoenix {
    /// The server of this test binary, started by the first caller (others wait for it). `None`
    /// when Phoenix is not installed: the caller then prints [`Phoenix::SKIPPED`] to stderr and
    /// returns. Panics when it is installed but does not start (every caller, with the same
    /// message), or when `TRACEVAL_PHOENIX_PYTHON` names a missing file.
    pub(crate) fn shared() -> Option<&'static Phoenix> {
        static SHARED: OnceLock<Option<Result<Phoenix, String>>> = OnceLock::new();
        let shared = SHARED.get_or_init(|| python().map(|python| Phoenix::start(&python)));
        match shared {
            None => None,
            Some(Ok(phoenix)) => Some(phoenix),
            Some(Err(why)) => panic!("{why}"),
        }
    }

    /// What a test prints to stderr when [`Phoenix::shared`] returns `None`.
    pub(crate) const SKIPPED: &str =
        "skipped: Phoenix is not installed (run .ci/run or set TRACEVAL_PHOENIX_PYTHON)";

    /// Starts Phoenix with `python` and waits until it is ready.
    fn start(python: &Path) -> Result<Phoenix, String> {
        tls();
        let (http_port, grpc_port) = free_ports();
        let dir = tempfile::Builder::new()
            .prefix("tv-phoenix-")
            .tempdir()
            .expect("a temporary directory")
            // The launcher removes it when this process is gone: a static is never dropped.
            .keep();
        let log = File::create(dir.join("phoenix.log")).expect("the log file");
        let mut cmd = Command::new(python);
        cmd.arg("-c")
            .arg(LAUNCHER)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("the log file"))
            .stderr(log);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("OTEL_") || name.starts_with("PHOENIX_") {
                cmd.env_remove(&*name);
            }
        }
        cmd.env("TRACEVAL_PHOENIX_PARENT", std::process::id().to_string())
            .env("PHOENIX_HOST", "127.0.0.1")
            .env("PHOENIX_PORT", http_port.to_string())
            .env("PHOENIX_GRPC_PORT", grpc_port.to_string())
            .env("PHOENIX_WORKING_DIR", &dir)
            .env("PHOENIX_TELEMETRY_ENABLED", "false")
            .env("PHOENIX_ALLOW_EXTERNAL_RESOURCES", "false")
            .env("PHOENIX_DISABLE_AGENT_ASSISTANT", "true")
            .env("PHOENIX_AGENTS_DISABLE_BASH", "true")
            .env("PHOENIX_ENABLE_MCP_SERVER", "false")
            .env("PHOENIX_ALLOWED_SANDBOX_PROVIDERS", "NONE");
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
        let client = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("an HTTP client");
        let phoenix = Phoenix {
            http_port,
            grpc_port,
            dir,
            child: Mutex::new(child),
            client,
        };
        let started = Instant::now();
        phoenix.wait_until_ready()?;
        eprintln!(
            "Phoenix {VERSION} ready at {} in {:.1}s",
            phoenix.http_url(),
            started.elapsed().as_secs_f64()
        );
        phoenix.check_listeners()?;
        Ok(phoenix)
    }

    /// Polls until `/readyz` answers 200 and the gRPC port accepts a connection, failing
    /// early when Phoenix exits and after [`READY_TIMEOUT`].
    fn wait_until_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let readyz = format!("{}/readyz", self.http_url());
        let grpc = SocketAddr::from((Ipv4Addr::LOCALHOST, self.grpc_port));
        loop {
            if let Some(status) = self.child.lock().unwrap().try_wait().unwrap() {
                return Err(self.failure(&format!("Phoenix exited ({status}) before it was ready")));
            }
            let http_ready = self
                .client
                .get(&readyz)
                .timeout(Duration::from_secs(2))
                .send()
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if http_ready && TcpStream::connect_timeout(&grpc, Duration::from_secs(1)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                let _ = self.child.lock().unwrap().kill();
                return Err(self.failure(&format!(
                    "Phoenix was not ready within {}s",
                    READY_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Fails unless the Phoenix process listens on exactly its two ports, on loopback only:
    /// neither exposed on another interface nor another server answering in its place.
    fn check_listeners(&self) -> Result<(), String> {
        let listeners = self.listeners();
        let ports: BTreeSet<u16> = listeners.iter().map(SocketAddr::port).collect();
        // gRPC on 127.0.0.1 is an IPv6 socket: `[::ffff:127.0.0.1]`.
        let loopback = listeners
            .iter()
            .all(|a| a.ip().to_canonical().is_loopback());
        if loopback && ports == BTreeSet::from([self.http_port, self.grpc_port]) {
            Ok(())
        } else {
            let _ = self.child.lock().unwrap().kill();
            Err(self.failure(&format!(
                "Phoenix must listen on 127.0.0.1:{} and :{} only, but listens on {listeners:?}",
                self.http_port, self.grpc_port
            )))
        }
    }

    /// The addresses the Phoenix process listens on (TCP), from `/proc`.
    pub(crate) fn listeners(&self) -> Vec<SocketAddr> {
        let pid = self.child.lock().unwrap().id();
        listening_sockets(pid)
    }

    /// `what`, the end of Phoenix's log and where the whole log is.
    fn failure(&self, what: &str) -> String {
        crate::support::with_log_tail(what, &self.dir.join("phoenix.log"))
    }

    /// `http://127.0.0.1:PORT`: the UI and the REST API.
    pub(crate) fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// `http://127.0.0.1:PORT/v1/traces`: OTLP over HTTP (protobuf only; the project comes
    /// from the `x-project-name` header or the resource attribute `openinference.project.name`).
    pub(crate) fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.http_url())
    }

    /// `http://127.0.0.1:PORT`: OTLP over gRPC (the project comes from the resource attribute
    /// `openinference.project.name` only).
    pub(crate) fn grpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc_port)
    }

    /// Every span of `project` stored so far, in insertion order, optionally only those whose
    /// span attribute `key` is the string `value`; empty while the project does not exist.
    /// Resource attributes are not stored, so cannot be filtered on. Panics when the request
    /// fails.
    pub(crate) fn spans(
        &self,
        project: &str,
        attribute_filter: Option<(&str, &str)>,
    ) -> Vec<Value> {
        let mut url = Url::parse(&self.http_url()).unwrap();
        url.path_segments_mut()
            .unwrap()
            .extend(["v1", "projects", project, "spans"]);
        url.query_pairs_mut()
            .append_pair("limit", "1000")
            // By insertion, so paging never skips a span stored meanwhile.
            .append_pair("sort", "id")
            .append_pair("order", "asc");
        if let Some((key, value)) = attribute_filter {
            // The value is JSON-parsed: quoted, so a digits-only value stays a string.
            url.query_pairs_mut()
                .append_pair("attribute", &format!("{key}:{}", Value::from(value)));
        }
        self.paged(url, true)
    }

    /// Polls [`Phoenix::spans`] until `expected` spans are there; after `deadline`, returns
    /// what is there as soon as the count stops changing between two polls (Phoenix stores spans
    /// after answering the export), so the caller's assertion shows the difference.
    pub(crate) fn wait_for_spans(
        &self,
        project: &str,
        attribute_filter: Option<(&str, &str)>,
        expected: usize,
        deadline: Instant,
    ) -> Vec<Value> {
        let mut last = None;
        loop {
            let spans = self.spans(project, attribute_filter);
            if spans.len() >= expected || (Instant::now() > deadline && last == Some(spans.len())) {
                return spans;
            }
            last = Some(spans.len());
            std::thread::sleep(POLL);
        }
    }

    /// Every project (`{"id", "name", "description"}`), the `default` one included.
    pub(crate) fn projects(&self) -> Vec<Value> {
        let mut url = Url::parse(&format!("{}/v1/projects", self.http_url())).unwrap();
        url.query_pairs_mut().append_pair("limit", "100");
        self.paged(url, false)
    }

    /// The `data` of every page from `url` on, following `next_cursor`; a 404 is no data when
    /// `missing_is_empty`.
    fn paged(&self, url: Url, missing_is_empty: bool) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut page_url = url.clone();
            if let Some(cursor) = &cursor {
                page_url.query_pairs_mut().append_pair("cursor", cursor);
            }
            let response = self
                .client
                .get(page_url.clone())
                .send()
                .unwrap_or_else(|e| panic!("{}", self.failure(&format!("GET {page_url}: {e}"))));
            let status = response.status();
            if status == StatusCode::NOT_FOUND && missing_is_empty {
                return all;
            }
            let body = response.text().unwrap_or_default();
            assert!(status.is_success(), "GET {page_url}: {status}\n{body}");
            let mut page: Value = serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("GET {page_url}: {e} in {body}"));
            match page["data"].take() {
                Value::Array(data) => all.extend(data),
                other => panic!("GET {page_url}: `data` is {other}"),
            }
            match &page["next_cursor"] {
                Value::String(next) if !next.is_empty() => cursor = Some(next.clone()),
                _ => return all,
            }
        }
    }
}

/// Phoenix's Python: `TRACEVAL_PHOENIX_PYTHON`, else `.ci/run`'s venv if it is there.
fn python() -> Option<PathBuf> {
    venv_python("TRACEVAL_PHOENIX_PYTHON", DEFAULT_PYTHON)
}

/// Two ports free on 127.0.0.1 now; taken again by someone else before Phoenix binds it, the
/// listener check after readiness fails the start.
fn free_ports() -> (u16, u16) {
    // Both held at once, so they differ.
    let bind = || TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("a free port");
    let (http, grpc) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().unwrap().port();
    (port(&http), port(&grpc))
}

/// The local addresses of the TCP sockets `pid` listens on: its socket inodes
/// (`/proc/PID/fd`) looked up in `/proc/net/tcp` and `/proc/net/tcp6`.
fn listening_sockets(pid: u32) -> Vec<SocketAddr> {
    let inodes: BTreeSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|fds| {
            fds.flatten()
                .filter_map(|fd| std::fs::read_link(fd.path()).ok())
                .filter_map(|target| {
                    let target = target.to_string_lossy().into_owned();
                    let inode = target.strip_prefix("socket:[")?.strip_suffix(']')?;
                    Some(inode.to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    listening(|inode, _| inodes.contains(inode))
}

/// The local addresses of every TCP socket listening on `port`, whoever holds it.
pub(crate) fn listeners_on(port: u16) -> Vec<SocketAddr> {
    listening(|_, address| address.port() == port)
}

/// The local addresses of the listening TCP sockets (`/proc/net/tcp` and `tcp6`) that `keep`
/// takes, given their inode and address.
fn listening(keep: impl Fn(&str, &SocketAddr) -> bool) -> Vec<SocketAddr> {
    let mut found = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let fields: Vec<&str> = line.split_whitespace().collect();
            const LISTEN: &str = "0A";
            if fields.len() > 9 && fields[3] == LISTEN {
                found.extend(parse_proc_address(fields[1]).filter(|a| keep(fields[9], a)));
            }
        }
    }
    found.sort();
    found
}

/// `0100007F:1F90` (IPv4) or 32 hex digits and a port (IPv6): the address as the kernel
/// prints it, in 32-bit words of host byte order.
fn parse_proc_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut octets = Vec::with_capacity(16);
    for word in 0..ip.len() / 8 {
        let word = u32::from_str_radix(&ip[word * 8..word * 8 + 8], 16).ok()?;
        octets.extend(word.to_ne_bytes());
    }
    match octets.len() {
        4 => Some(SocketAddr::from((<[u8; 4]>::try_from(octets).ok()?, port))),
        16 => Some(SocketAddr::from((<[u8; 16]>::try_from(octets).ok()?, port))),
        _ => None,
    }
}

/// Sends a trial's `count` spans with `tests/agents/eval_spans.py` (the official Python
/// OpenTelemetry SDK), configured only by the `OTEL_*` variables in `env`, as an agent is.
fn send(protocol: &str, env: &[(&str, &str)], run_id: &str, count: usize) {
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tests/agents/eval_spans.py"))
        .args([protocol, run_id, &count.to_string()]);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OTEL_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("OTEL_BSP_SCHEDULE_DELAY", "50")
        .envs(env.iter().copied());
    let output = cmd.output().expect("python3 runs");
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "eval_spans.py {protocol} failed: {}\nhint: pip install -r tests/requirements.txt",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Reads back the spans of `run_id` in `project` and checks what Phoenix kept of them.
fn assert_stored(phoenix: &Phoenix, project: &str, run_id: &str, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let filter = Some(("eval.run_id", run_id));
    let spans = phoenix.wait_for_spans(project, filter, count, deadline);
    assert_eq!(spans.len(), count, "{project}: {spans:#?}");
    assert_eq!(phoenix.spans(project, None).len(), count, "{project}");
    for span in &spans {
        // Attribute names come back flattened, the value as sent.
        assert_eq!(span["attributes"]["eval.run_id"], run_id, "{span:#}");
    }
    let events: Vec<&Value> = spans
        .iter()
        .flat_map(|s| s["events"].as_array().unwrap())
        .collect();
    assert_eq!(events.len(), 1, "{spans:#?}");
    assert_eq!(events[0]["name"], "gen_ai.evaluation.result");
    let score = &events[0]["attributes"]["gen_ai.evaluation.score.value"];
    assert!(score.is_f64() && score.as_f64() == Some(1.0), "{score}");
    assert_eq!(
        events[0]["attributes"]["gen_ai.evaluation.score.label"],
        "pass"
    );
    let projects = phoenix.projects();
    assert!(
        projects.iter().any(|p| p["name"] == project),
        "{project} not in {projects:#?}"
    );
}

#[test]
fn phoenix_harness_reads_back_what_an_otel_sdk_sent() {
    let Some(phoenix) = Phoenix::shared() else {
        eprintln!("{}", Phoenix::SKIPPED);
        return;
    };
    let listeners = phoenix.listeners();
    eprintln!("Phoenix listens on {listeners:?}");
    assert_eq!(listeners.len(), 2, "{listeners:?}");

    // A run id of digits only: the filter must still match it as a string.
    let run_id = format!("{}", uuid::Uuid::new_v4().as_u128() % 1_000_000_000_000);
    assert!(phoenix.spans("traceval-nothing-yet", None).is_empty());

    let http_project = format!("traceval-harness-http-{run_id}");
    let header = format!("x-project-name={http_project}");
    let traces_url = phoenix.traces_url();
    let env = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", traces_url.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", &header),
    ];
    send("http", &env, &run_id, 3);
    assert_stored(phoenix, &http_project, &run_id, 3);

    let grpc_project = format!("traceval-harness-grpc-{run_id}");
    let resource = format!("openinference.project.name={grpc_project}");
    let grpc_url = phoenix.grpc_url();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", grpc_url.as_str()),
        ("OTEL_RESOURCE_ATTRIBUTES", &resource),
    ];
    send("grpc", &env, &run_id, 4);
    assert_stored(phoenix, &grpc_project, &run_id, 4);
    // Another run's spans are not in this run's filtered answer.
    assert!(
        phoenix
            .spans(&grpc_project, Some(("eval.run_id", "another-run")))
            .is_empty()
    );
}
