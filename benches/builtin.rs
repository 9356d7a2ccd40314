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
//! 3. forwarding's cost: 1,000 cases × 10 trials in process, without and with `--forward` to a
//!    local OTLP/HTTP sink that reads and discards every request, `TRACEVAL_BENCH_REPEAT`
//!    (default 10) pairs of runs back to back, the order alternating; the median of the pairs'
//!    ratios is the verdict (target: at most 10% slower), the medians, the best runs and
//!    traceval's CPU time are shown beside it;
//! 4. forwarding's memory: `TRACEVAL_BENCH_FORWARD_SPANS` spans (default 1,000,000: six per
//!    trial) in process, without and with `--forward` to the sink (target: at most 50 MiB more
//!    peak RSS).
//!
//! Reported: wall time and trials per second of each (timed from spawn to exit: startup, suite
//! loading and writing the report count), the in-process side against its target (at least
//! 5,000 trials/s on a 2-core machine), and peak RSS of each `traceval run` (`/usr/bin/time -f
//! %M`, or `VmHWM` polled from `/proc` when there is no `/usr/bin/time`). Every trial must pass
//! and every forwarded span arrive: the benchmark checks the report.

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
    suite_of(trials.div_ceil(TRIALS_PER_CASE), TRIALS_PER_CASE, model)
}

fn suite_of(cases: usize, per_case: usize, model: &str) -> String {
    let mut s = format!(
        r#"name = "bench"
trials = {per_case}
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
    /// User + system CPU seconds of traceval (with `/usr/bin/time`).
    cpu: Option<f64>,
    rss_mb: f64,
    /// Forwarded spans that did not arrive, when the run forwarded.
    dropped: Option<u64>,
}

/// Runs `traceval run ARGS` in `dir` and checks that every one of `trials` passed, and that
/// every span arrived when it forwarded.
fn run(traceval: &Path, dir: &Path, jobs: usize, trials: usize, args: &[&str]) -> Measured {
    let report = dir.join("report.json");
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.args(["-f", "%M %U %S"]).arg(traceval);
        c
    } else {
        Command::new(traceval)
    };
    cmd.args(["run", "-j", &jobs.to_string(), "--seed", "1", "--report"])
        .arg(&report)
        .args(args)
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
    let dropped = report.get("forward").map(|f| {
        f["spans_dropped"].as_u64().unwrap_or(0) + f["spans_rejected"].as_u64().unwrap_or(0)
    });

    // With /usr/bin/time the last stderr line is max RSS in KiB, user and system seconds (of
    // traceval; its children here are none, the model runs in process or in the separate
    // server).
    let timed: Vec<f64> = if time.exists() {
        lines.last().map_or_else(Vec::new, |l| {
            l.split_whitespace()
                .filter_map(|v| v.parse().ok())
                .collect()
        })
    } else {
        Vec::new()
    };
    let (rss_kb, cpu) = match timed[..] {
        [rss, user, system] => (rss, Some(user + system)),
        _ => (hwm_kb as f64, None),
    };
    Measured {
        wall,
        cpu,
        rss_mb: rss_kb / 1024.0,
        dropped,
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
    let a = run(&traceval, &in_process, jobs, trials, &[]);
    let b = run(&traceval, &over_http, jobs, trials, &[]);
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

    // Forwarding's cost: 1,000 scripted cases, medians of interleaved runs.
    let sink = Sink::start();
    let forward = ["--forward", sink.url.as_str()];
    let (cases, per_case) = (1000, 10);
    let repeat = env_usize("TRACEVAL_BENCH_REPEAT", 10);
    std::fs::write(
        in_process.join("suites/bench.toml"),
        suite_of(
            cases,
            per_case,
            "[model.fast]\nprovider = \"scripted\"\nscript = \"../fast.toml\"\n",
        ),
    )
    .expect("suite");
    // Pairs run back to back, the order alternating, so that a machine that slows down or
    // speeds up during the benchmark (a shared VM does) weighs on both sides alike; the
    // verdict is the median of the pairs' ratios.
    let (mut without, mut with) = (Vec::new(), Vec::new());
    let mut undelivered = 0;
    for i in 0..repeat {
        let mut forwarding = |with: &mut Vec<Measured>| {
            let c = run(&traceval, &in_process, jobs, cases * per_case, &forward);
            undelivered += c.dropped.unwrap_or(0);
            with.push(c);
        };
        if i % 2 == 1 {
            forwarding(&mut with);
        }
        without.push(run(&traceval, &in_process, jobs, cases * per_case, &[]));
        if i % 2 == 0 {
            forwarding(&mut with);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let wall = |v: &[Measured]| v.iter().map(|m| m.wall.as_secs_f64()).collect::<Vec<_>>();
    let ratio = median(
        with.iter()
            .zip(&without)
            .map(|(a, b)| a.wall.as_secs_f64() / b.wall.as_secs_f64())
            .collect(),
    );
    let slower = ratio - 1.0;
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let (w0, w1) = (wall(&without), wall(&with));
    println!(
        "  forwarding, {cases} cases × {per_case} trials, {repeat} pairs: median of the pairs' \
         ratios {:+.1}% (target ≤ 10%): {}; medians {:.3} s without, {:.3} s with; best {:.3} s \
         and {:.3} s ({:+.1}%); {undelivered} spans not delivered",
        slower * 100.0,
        if slower <= 0.10 { "PASS" } else { "FAIL" },
        median(w0.clone()),
        median(w1.clone()),
        best(&w0),
        best(&w1),
        (best(&w1) / best(&w0) - 1.0) * 100.0,
    );
    let cpu = |v: &[Measured]| v.iter().filter_map(|m| m.cpu).collect::<Vec<_>>();
    let (c0, c1) = (cpu(&without), cpu(&with));
    if !c0.is_empty() && !c1.is_empty() {
        let (m0, m1) = (median(c0), median(c1));
        println!(
            "    CPU time of traceval (user + system), medians: {m0:.3} s without, {m1:.3} s with \
             ({:+.1}%)",
            (m1 / m0 - 1.0) * 100.0
        );
    }
    let list = |v: &[f64]| {
        v.iter()
            .map(|d| format!("{d:.3}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("    runs without: {}", list(&w0));
    println!("    runs with:    {}", list(&w1));

    // Forwarding's memory over many spans: six per trial.
    let spans = env_usize("TRACEVAL_BENCH_FORWARD_SPANS", 1_000_000);
    let many = (spans / 6).div_ceil(TRIALS_PER_CASE) * TRIALS_PER_CASE;
    std::fs::write(
        in_process.join("suites/bench.toml"),
        suite(
            many,
            "[model.fast]\nprovider = \"scripted\"\nscript = \"../fast.toml\"\n",
        ),
    )
    .expect("suite");
    let without = run(&traceval, &in_process, jobs, many, &[]);
    let with = run(&traceval, &in_process, jobs, many, &forward);
    let extra = with.rss_mb - without.rss_mb;
    println!(
        "  {} spans ({many} trials): peak RSS {:.1} MB without forwarding, {:.1} MB with \
         ({:+.1} MB; target ≤ 50 MiB): {}; {:.2} s and {:.2} s; {} spans not delivered",
        many * 6 + 1,
        without.rss_mb,
        with.rss_mb,
        extra,
        if extra <= 50.0 * 1.048_576 {
            "PASS"
        } else {
            "FAIL"
        },
        without.wall.as_secs_f64(),
        with.wall.as_secs_f64(),
        with.dropped.unwrap_or(0),
    );
    println!(
        "  the sink read {} requests, {:.1} MB of request bodies",
        sink.requests.load(std::sync::atomic::Ordering::Relaxed),
        sink.bytes.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1e6
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// An OTLP/HTTP sink on loopback that reads every request and discards it, counting (what a
/// collector does before it decodes).
struct Sink {
    url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicU64>,
    bytes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    _runtime: tokio::runtime::Runtime,
}

impl Sink {
    fn start() -> Sink {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU64, Ordering};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a port");
        let url = format!("http://{}/v1/traces", listener.local_addr().expect("bound"));
        let requests = Arc::new(AtomicU64::new(0));
        let bytes = Arc::new(AtomicU64::new(0));
        let (r, b) = (Arc::clone(&requests), Arc::clone(&bytes));
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |mut body: axum::body::Body| {
                let (r, b) = (Arc::clone(&r), Arc::clone(&b));
                async move {
                    // Frame by frame, as a collector reads; nothing is kept.
                    use http_body_util::BodyExt;
                    r.fetch_add(1, Ordering::Relaxed);
                    while let Some(Ok(frame)) = body.frame().await {
                        if let Some(data) = frame.data_ref() {
                            b.fetch_add(data.len() as u64, Ordering::Relaxed);
                        }
                    }
                }
            }),
        );
        runtime.spawn(async move { axum::serve(listener, app).await });
        Sink {
            url,
            requests,
            bytes,
            _runtime: runtime,
        }
    }
}
