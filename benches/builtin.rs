//! Builtin agent benchmark: `cargo bench --bench builtin` (env `TRACEVAL_BENCH_TRIALS`, default
//! 10,000, and `TRACEVAL_BENCH_JOBS`, default 64).
//!
//! The task: the builtin agent answers one question with two tools called in parallel
//! (`search` and `read`, static results) and then a final answer: two model calls, two tool
//! calls, five spans plus the trial root, graded on the answer and on tool F1. Both sides run
//! the release `traceval run -j JOBS` on the same suite, `TRIALS / 100` cases × 100 trials:
//! 1. in process: the model is `provider = "scripted"`, answered in process;
//! 2. over HTTP (the baseline of the same run): the model is `provider = "openai"` pointed at
//!    `traceval serve-model` on loopback with the same script, so every model call is a real
//!    OpenAI-compatible HTTP request and response.
//!
//! Reported: wall time and trials per second of each (timed from spawn to exit: startup, suite
//! loading and writing the report count), the in-process side against its target (at least
//! 5,000 trials/s on a 2-core machine), and peak RSS of each `traceval run` (`/usr/bin/time -f
//! %M`, or `VmHWM` polled from `/proc` when there is no `/usr/bin/time`). Every trial must pass:
//! the benchmark checks the report.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TRIALS_PER_CASE: usize = 100;
const TARGET_TRIALS_PER_SEC: f64 = 5000.0;

const SCRIPT: &str = r#"
model = "fast-1"
[[rule]]
when.turn = 0
tool-calls = [
  { name = "search", args = { q = "${user}" } },
  { name = "read", args = { id = "doc-1" } },
]
usage = { input = 120, output = 30 }
[[rule]]
when.tool-result = '.'
text = "The answer is 42 (doc-1)."
usage = { input = 200, output = 10 }
"#;

fn suite(trials: usize, model: &str) -> String {
    let mut s = format!(
        r#"name = "bench"
trials = {TRIALS_PER_CASE}
models = ["fast"]
[agent]
kind = "builtin"
system-prompt = "Search and read, then answer."
[[tool]]
name = "search"
returns = ["doc-1"]
[[tool]]
name = "read"
returns-by-args = [{{ args = {{ id = "doc-1" }}, returns = "42" }}]
[pricing."fast-1"]
input = 0.15
output = 0.60
{model}
"#
    );
    let cases = trials.div_ceil(TRIALS_PER_CASE);
    for i in 0..cases {
        s.push_str(&format!(
            "[[case]]\nid = \"q{i}\"\ninput = \"question {i}\"\n[case.expect]\noutput-contains = [\"42\"]\ntools = [{{ name = \"search\" }}, {{ name = \"read\", args = {{ id = \"doc-1\" }} }}]\n"
        ));
    }
    s
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

struct Measured {
    wall: Duration,
    rss_mb: f64,
}

/// Runs `traceval run` in `dir` and checks that every one of `trials` passed.
fn run(traceval: &Path, dir: &Path, jobs: usize, trials: usize) -> Measured {
    let report = dir.join("report.json");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "%M"]).arg(traceval);
        c
    } else {
        Command::new(traceval)
    };
    cmd.args(["run", "-j", &jobs.to_string(), "--seed", "1", "--report"])
        .arg(&report)
        .current_dir(dir)
        .env("CI", "true")
        .env("TRACEVAL_BENCH_KEY", "not-a-secret")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("traceval starts");
    let pid = child.id();
    let mut hwm_kb = 0u64;
    let stderr = child.stderr.take().expect("piped");
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            lines.push(line);
        }
        lines
    });
    loop {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status"))
            && let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        {
            hwm_kb = hwm_kb.max(kb);
        }
        if child.try_wait().expect("waiting").is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let wall = started.elapsed();
    let lines = reader.join().expect("reader");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("a report")).expect("JSON");
    let ran = report["trials"].as_array().map_or(0, Vec::len);
    let passed = report["models"][0]["passed"].as_u64().unwrap_or(0) as usize;
    assert!(
        ran == trials && passed == trials,
        "{passed}/{ran} of {trials} trials passed:\n{}",
        lines.join("\n")
    );
    // With /usr/bin/time the last stderr line is max RSS in KiB (of traceval; its children
    // here are none, the model runs in process or in the separate server).
    let rss_kb = if time.exists() {
        lines
            .last()
            .and_then(|l| l.trim().parse::<u64>().ok())
            .unwrap_or(hwm_kb)
    } else {
        hwm_kb
    };
    Measured {
        wall,
        rss_mb: rss_kb as f64 / 1024.0,
    }
}

fn main() {
    let trials =
        env_usize("TRACEVAL_BENCH_TRIALS", 10_000).div_ceil(TRIALS_PER_CASE) * TRIALS_PER_CASE;
    let jobs = env_usize("TRACEVAL_BENCH_JOBS", 64);
    let traceval = PathBuf::from(env!("CARGO_BIN_EXE_traceval"));
    let root = std::env::temp_dir().join(format!("traceval-bench-builtin-{}", std::process::id()));
    let in_process = root.join("in-process");
    let over_http = root.join("over-http");
    for dir in [&in_process, &over_http] {
        std::fs::create_dir_all(dir.join("suites")).expect("temp dir");
        std::fs::write(dir.join("fast.toml"), SCRIPT).expect("script");
    }
    std::fs::write(
        in_process.join("suites/bench.toml"),
        suite(
            trials,
            "[model.fast]\nprovider = \"scripted\"\nscript = \"../fast.toml\"\n",
        ),
    )
    .expect("suite");

    // The same script behind the OpenAI-compatible server.
    let mut server = Command::new(&traceval)
        .args(["serve-model", "fast.toml"])
        .current_dir(&over_http)
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve-model starts");
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("piped"))
        .read_line(&mut url)
        .expect("serve-model prints its URL");
    std::fs::write(
        over_http.join("suites/bench.toml"),
        suite(
            trials,
            &format!(
                "[model.fast]\nprovider = \"openai\"\nbase-url = \"{}\"\napi-key-env = \"TRACEVAL_BENCH_KEY\"\n",
                url.trim()
            ),
        ),
    )
    .expect("suite");

    println!(
        "{trials} trials of a two-tool builtin-agent task ({} cases × {TRIALS_PER_CASE}), -j {jobs}",
        trials / TRIALS_PER_CASE
    );
    let a = run(&traceval, &in_process, jobs, trials);
    let b = run(&traceval, &over_http, jobs, trials);
    let _ = server.kill();
    let _ = server.wait();
    let rate = |m: &Measured| trials as f64 / m.wall.as_secs_f64();
    println!(
        "  in process (scripted):      {:>6.2} s, {:>7.0} trials/s, peak RSS {:.1} MB",
        a.wall.as_secs_f64(),
        rate(&a),
        a.rss_mb
    );
    println!(
        "  over HTTP (serve-model):    {:>6.2} s, {:>7.0} trials/s, peak RSS {:.1} MB",
        b.wall.as_secs_f64(),
        rate(&b),
        b.rss_mb
    );
    println!(
        "  in process / over HTTP: {:.2}× the throughput",
        rate(&a) / rate(&b)
    );
    println!(
        "  target ≥ {TARGET_TRIALS_PER_SEC:.0} trials/s in process: {}",
        if rate(&a) >= TARGET_TRIALS_PER_SEC {
            "PASS"
        } else {
            "FAIL"
        }
    );
    let _ = std::fs::remove_dir_all(&root);
}
