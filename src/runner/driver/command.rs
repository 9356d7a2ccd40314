//! The command driver: one subprocess per trial, wired to the embedded receiver by the
//! environment of `docs/reference/agent.md#environment`.
//!
//! The agent runs in its own process group, so everything it starts can be stopped together:
//! on timeout or interruption the group gets SIGTERM, then SIGKILL after a grace period; after
//! a normal exit, whatever the agent left running in its group is killed, so no trial leaks
//! processes. Output is bounded: the answer is kept up to [`MAX_OUTPUT`] bytes and stderr's last
//! [`STDERR_TAIL`] bytes; the rest is drained and dropped, so a chatty agent can neither block
//! on a full pipe nor grow our memory.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio::time::timeout;

use super::{AgentOutcome, BoxFuture, Driver, TrialContext, cancelled, orphans};
use crate::capture::env::{DEFAULT_PROTOCOL, otlp_env};
use crate::event::AgentExit;
use crate::suite::CommandAgent;

/// Most bytes of the answer kept.
pub(crate) const MAX_OUTPUT: usize = 1 << 20;
/// Bytes of stderr kept, from the end.
pub(crate) const STDERR_TAIL: usize = 8 << 10;
/// Largest input also passed in `TRACEVAL_INPUT` (stdin always has it).
pub(crate) const MAX_ENV_INPUT: usize = 32 << 10;
/// Time between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_secs(2);
/// How long to wait for the pipes to close once the process group is gone.
const DRAIN: Duration = Duration::from_secs(1);

/// Runs a `[agent] kind = "command"` agent.
#[derive(Debug, Clone)]
pub(crate) struct CommandDriver {
    agent: CommandAgent,
}

impl CommandDriver {
    /// A driver for this agent.
    pub(crate) fn new(agent: CommandAgent) -> CommandDriver {
        CommandDriver { agent }
    }
}

impl Driver for CommandDriver {
    fn run(&self, trial: TrialContext) -> BoxFuture<AgentOutcome> {
        let driver = self.clone();
        Box::pin(async move { driver.run_trial(trial).await })
    }
}

impl CommandDriver {
    async fn run_trial(self, trial: TrialContext) -> AgentOutcome {
        let mut command = Command::new(&self.agent.program);
        command
            .args(&self.agent.args)
            .current_dir(&self.agent.cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        for k in trial.hidden_env.iter() {
            command.env_remove(k);
        }
        for (k, v) in agent_env(&trial, &self.agent.env, |k| std::env::var_os(k)) {
            command.env(k, v);
        }
        let (mut child, registered) = match orphans::spawn(&mut command) {
            Ok(spawned) => spawned,
            Err(e) => {
                return AgentOutcome {
                    exit: AgentExit::SpawnFailed {
                        message: format!("`{}`: {e}", self.agent.program.display()),
                    },
                    duration: Duration::ZERO,
                    output: String::new(),
                    stderr_tail: String::new(),
                    warnings: Vec::new(),
                    recording: None,
                    infrastructure_error: None,
                };
            }
        };
        let group = child
            .id()
            .and_then(|id| rustix::process::Pid::from_raw(id as i32));

        // Input goes in from its own task: an agent that never reads stdin must not block us.
        let stdin_task = child.stdin.take().map(|mut stdin| {
            let input = stdin_json(&trial);
            tokio::spawn(async move {
                let _ = stdin.write_all(input.as_bytes()).await;
                let _ = stdin.shutdown().await;
            })
        });
        // Readers fill shared buffers, so what was read survives a reader stopped early (a
        // daemon the agent started in a new session can keep a pipe open forever).
        let stdout_buf = Arc::new(Mutex::new(Captured::default()));
        let stderr_buf = Arc::new(Mutex::new(Captured::default()));
        let stdout_task = child.stdout.take().map(|out| {
            let buf = Arc::clone(&stdout_buf);
            tokio::spawn(async move { read_head(out, MAX_OUTPUT, &buf).await })
        });
        let stderr_task = child.stderr.take().map(|err| {
            let buf = Arc::clone(&stderr_buf);
            tokio::spawn(async move { read_tail(err, STDERR_TAIL, &buf).await })
        });

        let mut cancel = trial.cancel.clone();
        let started = std::time::Instant::now();
        let exit = tokio::select! {
            status = child.wait() => exit_of(status),
            () = tokio::time::sleep(trial.timeout) => {
                stop(&mut child, group).await;
                AgentExit::TimedOut
            }
            () = cancelled(&mut cancel) => {
                stop(&mut child, group).await;
                AgentExit::Cancelled
            }
        };
        let duration = started.elapsed();
        // The agent was waited for: from now on a zombie with its pid is an orphan's.
        drop(registered);
        // Whatever the agent left behind goes with it: every descendant carrying the trial's
        // identity (on Linux, where orphans come back to traceval), then its process group.
        let mut warnings = Vec::new();
        let swept = orphans::sweep(&orphans::Identity::trial(&trial.run_id, &trial.id)).await;
        let group_left = group.is_some_and(|pid| {
            rustix::process::kill_process_group(pid, rustix::process::Signal::KILL).is_ok()
        });
        if swept > 0 {
            let s = if swept == 1 { "" } else { "es" };
            warnings.push(format!("killed {swept} process{s} the agent left behind"));
        } else if group_left
            && !cfg!(target_os = "linux")
            && matches!(exit, AgentExit::Code { .. } | AgentExit::Signal { .. })
        {
            warnings.push(
                "the agent left processes running after it exited; they were killed".to_owned(),
            );
        }
        if let Some(task) = stdin_task {
            task.abort();
        }
        // Both pipes drain at once, within one deadline.
        let (out_done, err_done) = tokio::join!(
            join_within(stdout_task, DRAIN),
            join_within(stderr_task, DRAIN)
        );
        if !(out_done && err_done) {
            warnings.push(
                "a process outside the agent's process group kept its stdout or stderr open; \
                 output was read until the agent had exited for 1s"
                    .to_owned(),
            );
        }
        let stdout = std::mem::take(&mut *lock(&stdout_buf));
        let stderr_tail = std::mem::take(&mut *lock(&stderr_buf)).bytes;

        let (output, output_cut) = match read_output_file(&trial.output_path).await {
            Some(answer) => answer,
            None => (stdout.bytes, stdout.cut),
        };
        if output_cut {
            warnings.push(format!("the answer was cut at {MAX_OUTPUT} bytes"));
        }
        if trial
            .input
            .as_str()
            .map_or_else(|| trial.input.to_string().len(), str::len)
            > MAX_ENV_INPUT
        {
            warnings.push(format!(
                "the input is larger than {MAX_ENV_INPUT} bytes: it was passed on stdin only, not in TRACEVAL_INPUT"
            ));
        }
        AgentOutcome {
            exit,
            duration,
            output: String::from_utf8_lossy(&output).into_owned(),
            stderr_tail: String::from_utf8_lossy(&stderr_tail).into_owned(),
            warnings,
            recording: None,
            infrastructure_error: None,
        }
    }
}

/// The environment of `docs/reference/agent.md#environment`, on top of what the agent inherits.
/// `inherited` reads the variables traceval itself was given (a parameter so tests can pin it).
pub(crate) fn agent_env(
    trial: &TrialContext,
    suite_env: &BTreeMap<String, String>,
    inherited: impl Fn(&str) -> Option<OsString>,
) -> Vec<(String, OsString)> {
    // The suite's `env` counts as inherited: the contract's variables merge with it too.
    let base = |k: &str| -> Option<String> {
        suite_env
            .get(k)
            .cloned()
            .or_else(|| inherited(k).map(|v| v.to_string_lossy().into_owned()))
            .filter(|v| !v.trim().is_empty())
    };
    let id = &trial.id;
    let resource = [
        ("eval.run_id", trial.run_id.to_string()),
        ("eval.suite", id.suite.clone()),
        ("eval.case", id.case.clone()),
        ("eval.trial", id.trial.to_string()),
        ("eval.model", id.model.clone()),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", percent_encode(v)))
    .collect::<Vec<_>>()
    .join(",");
    let input = match &*trial.input {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };

    let mut env: Vec<(String, OsString)> = suite_env
        .iter()
        .map(|(k, v)| (k.clone(), OsString::from(v)))
        .collect();
    let mut set = |k: &str, v: String| env.push((k.to_owned(), v.into()));
    // OTLP headers are the trial's plus the suite's own: an inherited
    // `OTEL_EXPORTER_OTLP_HEADERS` is meant for the team's backend (often a credential, and
    // traceval's forwarding reads it) and never reaches an agent.
    let otlp_base = |k: &str| -> Option<String> {
        if k.ends_with("_HEADERS") {
            suite_env.get(k).cloned().filter(|v| !v.trim().is_empty())
        } else {
            base(k)
        }
    };
    for (k, v) in otlp_env(&trial.endpoint, &trial.key, Some(&resource), &otlp_base) {
        set(k, v);
    }
    // The protocol is a default, not part of the contract (the receiver speaks all three): a
    // suite's explicit choice wins, while one inherited by traceval itself never reaches the
    // agent. The per-signal variable wins in every SDK, so it is set to the same choice.
    let chosen = |k: &str| suite_env.get(k).filter(|v| !v.trim().is_empty()).cloned();
    let protocol = chosen("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| chosen("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .unwrap_or_else(|| DEFAULT_PROTOCOL.to_owned());
    set(
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        chosen("OTEL_EXPORTER_OTLP_PROTOCOL").unwrap_or_else(|| DEFAULT_PROTOCOL.to_owned()),
    );
    set("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", protocol);
    set("TRACEPARENT", trial.traceparent.clone());
    set(
        "TRACEVAL_OUTPUT",
        trial.output_path.to_string_lossy().into_owned(),
    );
    // One environment variable holds at most 128 KiB on Linux, and a larger one makes the
    // spawn fail: big inputs travel on stdin only.
    if input.len() <= MAX_ENV_INPUT {
        set("TRACEVAL_INPUT", input);
    }
    set("TRACEVAL_SUITE", id.suite.clone());
    set("TRACEVAL_CASE", id.case.clone());
    set("TRACEVAL_TRIAL", id.trial.to_string());
    set("TRACEVAL_MODEL", id.model.clone());
    set("TRACEVAL_RUN_ID", trial.run_id.to_string());
    for (k, v) in &trial.extra_env {
        set(k, v.clone());
    }
    env
}

/// Percent-encodes everything but RFC 3986 unreserved characters, as `OTEL_RESOURCE_ATTRIBUTES`
/// values need (a `,`, `=`, `%` or space in a case id must survive the SDK's decoding).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The JSON written to the agent's stdin.
fn stdin_json(trial: &TrialContext) -> String {
    let mut text = serde_json::json!({
        "case": trial.id.case,
        "input": *trial.input,
        "trial": trial.id.trial,
        "model": trial.id.model,
        "suite": trial.id.suite,
        "run_id": &*trial.run_id,
    })
    .to_string();
    text.push('\n');
    text
}

fn exit_of(status: std::io::Result<ExitStatus>) -> AgentExit {
    use std::os::unix::process::ExitStatusExt;
    match status {
        Ok(s) => match (s.code(), s.signal()) {
            (Some(code), _) => AgentExit::Code { code },
            (None, Some(signal)) => AgentExit::Signal { signal },
            (None, None) => AgentExit::Code { code: -1 },
        },
        Err(e) => AgentExit::SpawnFailed {
            message: format!("waiting for the agent failed: {e}"),
        },
    }
}

/// SIGTERM to the group, SIGKILL after the grace period; returns once the agent is reaped.
async fn stop(child: &mut Child, group: Option<rustix::process::Pid>) {
    use rustix::process::{Signal, kill_process_group};
    if let Some(pid) = group {
        let _ = kill_process_group(pid, Signal::TERM);
    }
    if timeout(GRACE, child.wait()).await.is_err() {
        if let Some(pid) = group {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        let _ = child.kill().await;
    }
}

/// Waits for a reader; stops it after `limit`. True when it finished on its own.
async fn join_within(task: Option<tokio::task::JoinHandle<()>>, limit: Duration) -> bool {
    let Some(task) = task else { return true };
    let abort = task.abort_handle();
    match timeout(limit, task).await {
        Ok(_) => true,
        Err(_) => {
            abort.abort();
            false
        }
    }
}

/// Bytes read from a pipe, and whether some were dropped.
#[derive(Debug, Default)]
struct Captured {
    bytes: Vec<u8>,
    cut: bool,
}

fn lock(m: &Mutex<Captured>) -> std::sync::MutexGuard<'_, Captured> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads everything, keeps the first `max` bytes in `into`.
async fn read_head(mut r: impl AsyncRead + Unpin, max: usize, into: &Mutex<Captured>) {
    let mut buf = vec![0u8; 4 << 10];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut c = lock(into);
                let room = max - c.bytes.len();
                if n > room {
                    c.cut = true;
                }
                c.bytes.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
}

/// Reads everything, keeps the last `max` bytes in `into`.
async fn read_tail(mut r: impl AsyncRead + Unpin, max: usize, into: &Mutex<Captured>) {
    let mut buf = vec![0u8; 4 << 10];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut c = lock(into);
                c.bytes.extend_from_slice(&buf[..n]);
                if c.bytes.len() > max {
                    c.cut = true;
                    let excess = c.bytes.len() - max;
                    c.bytes.drain(..excess);
                }
            }
        }
    }
}

/// The answer from `TRACEVAL_OUTPUT`, when the agent wrote the file.
async fn read_output_file(path: &PathBuf) -> Option<(Vec<u8>, bool)> {
    // Most agents never write the file. A synchronous existence check costs about a
    // microsecond; tokio's open goes through the blocking pool and back (~45 µs per trial).
    if std::fs::symlink_metadata(path).is_err() {
        return None;
    }
    let file = tokio::fs::File::open(path).await.ok()?;
    let out = Mutex::new(Captured::default());
    read_head(file, MAX_OUTPUT, &out).await;
    let _ = tokio::fs::remove_file(path).await;
    let c = out.into_inner().unwrap_or_else(|p| p.into_inner());
    Some((c.bytes, c.cut))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::TrialKey;
    use crate::event::TrialId;

    fn trial() -> TrialContext {
        let (_tx, rx) = tokio::sync::watch::channel(false);
        TrialContext {
            id: TrialId {
                suite: "s".into(),
                case: "a b,c=d%".into(),
                model: "m".into(),
                trial: 2,
            },
            run_id: "r".into(),
            key: TrialKey::from_parts("r", "s", "a b,c=d%", "m", 2),
            input: Arc::new(serde_json::json!({"q": 1})),
            timeout: Duration::from_secs(1),
            traceparent: "00-aa-bb-01".into(),
            endpoint: "http://127.0.0.1:9/trial/k".into(),
            output_path: "/tmp/out".into(),
            cancel: rx,
            extra_env: vec![("OPENAI_BASE_URL".into(), "http://x/v1".into())],
            hidden_env: Arc::from([]),
            provider: None,
        }
    }

    fn lookup(env: &[(String, OsString)], key: &str) -> String {
        env.iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_else(|| panic!("{key} not set"))
    }

    #[test]
    fn inherited_headers_stay_out_and_resource_attributes_are_merged_not_clobbered() {
        let inherited = |k: &str| match k {
            "OTEL_EXPORTER_OTLP_HEADERS" => Some(OsString::from("authorization=s3cr3t")),
            "OTEL_RESOURCE_ATTRIBUTES" => Some(OsString::from("team=search")),
            _ => None,
        };
        let env = agent_env(&trial(), &BTreeMap::new(), inherited);
        let key = trial().key;
        // The inherited headers are for the team's backend, not the receiver.
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_HEADERS"),
            format!("x-traceval-trial={key}")
        );
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
            format!("x-traceval-trial={key}")
        );
        // The suite's own are kept.
        let suite = BTreeMap::from([(
            "OTEL_EXPORTER_OTLP_HEADERS".to_owned(),
            "api-key=x".to_owned(),
        )]);
        let env = agent_env(&trial(), &suite, inherited);
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_HEADERS"),
            format!("api-key=x,x-traceval-trial={key}")
        );
        assert_eq!(
            lookup(&env, "OTEL_RESOURCE_ATTRIBUTES"),
            "team=search,eval.run_id=r,eval.suite=s,eval.case=a%20b%2Cc%3Dd%25,eval.trial=2,eval.model=m"
        );
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            "http://127.0.0.1:9/trial/k/v1/traces"
        );
        assert_eq!(lookup(&env, "TRACEVAL_INPUT"), r#"{"q":1}"#);
        assert_eq!(lookup(&env, "OPENAI_BASE_URL"), "http://x/v1");
    }

    #[test]
    fn a_per_signal_header_variable_is_the_one_merged_into_for_traces() {
        let suite = BTreeMap::from([
            ("OTEL_EXPORTER_OTLP_HEADERS".to_owned(), "a=1".to_owned()),
            (
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS".to_owned(),
                "b=2".to_owned(),
            ),
        ]);
        let env = agent_env(&trial(), &suite, |_| None);
        let key = trial().key;
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
            format!("b=2,x-traceval-trial={key}")
        );
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_HEADERS"),
            format!("a=1,x-traceval-trial={key}")
        );
    }

    #[test]
    fn the_suite_env_counts_as_inherited_and_cannot_unset_the_contract() {
        let suite_env = BTreeMap::from([
            ("OTEL_RESOURCE_ATTRIBUTES".to_owned(), "x=1".to_owned()),
            ("OTEL_TRACES_EXPORTER".to_owned(), "none".to_owned()),
            ("LOG_LEVEL".to_owned(), "warn".to_owned()),
        ]);
        let env = agent_env(&trial(), &suite_env, |_| None);
        assert!(lookup(&env, "OTEL_RESOURCE_ATTRIBUTES").starts_with("x=1,eval.run_id=r,"));
        assert_eq!(lookup(&env, "OTEL_TRACES_EXPORTER"), "otlp");
        assert_eq!(lookup(&env, "LOG_LEVEL"), "warn");
    }

    #[test]
    fn a_suite_chooses_the_protocol_and_an_inherited_one_never_reaches_the_agent() {
        let inherited = |k: &str| {
            k.ends_with("_PROTOCOL")
                .then(|| OsString::from("http/json"))
        };
        let env = agent_env(&trial(), &BTreeMap::new(), inherited);
        assert_eq!(lookup(&env, "OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf");
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
            "http/protobuf"
        );
        let grpc = BTreeMap::from([("OTEL_EXPORTER_OTLP_PROTOCOL".to_owned(), "grpc".to_owned())]);
        let env = agent_env(&trial(), &grpc, inherited);
        assert_eq!(lookup(&env, "OTEL_EXPORTER_OTLP_PROTOCOL"), "grpc");
        assert_eq!(lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), "grpc");
        let traces_only = BTreeMap::from([(
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL".to_owned(),
            "http/json".to_owned(),
        )]);
        let env = agent_env(&trial(), &traces_only, |_| None);
        assert_eq!(lookup(&env, "OTEL_EXPORTER_OTLP_PROTOCOL"), "http/protobuf");
        assert_eq!(
            lookup(&env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
            "http/json"
        );
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("Ab9-._~"), "Ab9-._~");
        assert_eq!(percent_encode("a b,=%/é"), "a%20b%2C%3D%25%2F%C3%A9");
    }

    #[tokio::test]
    async fn head_and_tail_readers_bound_what_they_keep() {
        let data: Vec<u8> = (0..100u8).collect();
        let read = |max, tail: bool| {
            let data = data.clone();
            async move {
                let c = Mutex::new(Captured::default());
                if tail {
                    read_tail(&data[..], max, &c).await;
                } else {
                    read_head(&data[..], max, &c).await;
                }
                let c = c.into_inner().unwrap();
                (c.bytes, c.cut)
            }
        };
        assert_eq!(read(10, false).await, ((0..10).collect(), true));
        assert_eq!(read(10, true).await, ((90..100).collect(), true));
        let (all, cut) = read(1000, false).await;
        assert_eq!((all.len(), cut), (100, false));
    }
}
