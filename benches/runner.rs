//! Runner overhead benchmark: `cargo bench --bench runner` (env `TRACEVAL_BENCH_TRIALS`, default
//! 10,000, `TRACEVAL_BENCH_JOBS`, default 32, and `TRACEVAL_BENCH_ROUNDS`, default 2).
//!
//! The agent is the least a traced agent can do: `benches/noop_agent.c`, compiled here with
//! `cc -O2` (skipped with a message when there is no `cc`), reads its stdin, POSTs one OTLP/JSON
//! span to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, waits for the receiver's answer, prints `ok`.
//! Both sides below run that same binary the same number of times, at most `jobs` at once, and
//! each checks that every span arrived:
//! 1. raw spawn (the baseline): this process starts the embedded receiver on a `SpanStore`, then
//!    spawns the agent with what any runner has to do anyway (stdin JSON, stdout and stderr piped
//!    and read to the end, its own process group, the endpoint variable, wait), on tokio's
//!    multi-threaded runtime as traceval uses it, and nothing else: no grading, no report;
//! 2. traceval: the release binary `traceval run -j JOBS` on a temporary project whose suite
//!    runs the agent as a `command` agent, `TRIALS / 100` cases × 100 trials (plus one case for
//!    the remainder), each graded on the answer and on the captured tool span; timed from spawn
//!    to exit, so startup, suite loading and writing the JSON report count as overhead.
//!
//! Reported: trials per second of both and traceval's wall time over the baseline's (the issue's
//! target: less than 15% more), and the peak RSS of the traceval process (target: under 200 MB).
//! Peak RSS comes from `/usr/bin/time -f %M`: the kernel's `ru_maxrss` of the process it waited
//! for, traceval's own high-water mark maximised with that of the agents traceval reaped, which
//! never exceeds it (a spawned child starts from at most traceval's RSS at the spawn, then
//! execs a 1 MB C program); `RUSAGE_CHILDREN` of this process would mix in every agent of the
//! baseline too, so it is not used. Traceval's `VmHWM`, polled every 10 ms, is printed beside it
//! as a cross-check, and is the measure when there is no `/usr/bin/time` (it can miss a peak in
//! the last 10 ms).
//!
//! CPU time is printed too: of the orchestrating process alone (this one for the baseline,
//! traceval's sampled from `/proc` every 10 ms), and with the agents (this process's reaped
//! children; `/usr/bin/time`'s user + system of traceval and its agents). With 32 agents on a
//! few cores the run is CPU-bound, so the ratio of the latter is what the wall-time overhead
//! tends to, and other jobs on the machine disturb it much less. They disturb wall time a lot
//! next to 15%, so the two sides run alternately, by default twice (baseline, traceval,
//! baseline, traceval); every round is printed with its own ratio, and the verdict compares
//! each side's best time.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinSet;
use traceval::capture::{Receiver, ReceiverConfig, SpanStore, TrialKey};

const TRIALS_PER_CASE: usize = 100;
const TARGET_OVERHEAD: f64 = 0.15;
const TARGET_RSS_MB: f64 = 200.0;
/// `/proc/<pid>/stat` counts CPU time in USER_HZ ticks, 100 per second on Linux.
const TICKS_PER_SEC: f64 = 100.0;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|n| *n > 0)
            .unwrap_or_else(|| panic!("{name}={v}: expected a positive integer")),
        Err(_) => default,
    }
}

/// Compiles the agent next to the traceval binary; `None` when there is no C compiler.
fn build_agent(bin_dir: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/noop_agent.c");
    let agent = bin_dir.join("noop_agent");
    let status = match std::process::Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&agent)
        .arg(&source)
        .status()
    {
        Ok(status) => status,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("cannot run cc: {e}"),
    };
    assert!(status.success(), "cc failed on {}", source.display());
    Some(agent)
}

/// Reads everything; returns the bytes.
async fn drain(mut r: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = r.read_to_end(&mut out).await;
    out
}

/// One raw trial: spawn, feed stdin, read stdout and stderr to the end, wait. Panics unless the
/// agent answered `ok` and exited 0.
async fn raw_trial(agent: Arc<Path>, endpoint: String, input: String) {
    let mut child = tokio::process::Command::new(&*agent)
        .env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("the agent starts");
    let mut stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let feed = async move {
        let _ = stdin.write_all(input.as_bytes()).await;
        let _ = stdin.shutdown().await;
    };
    let ((), out, err, status) = tokio::join!(feed, drain(stdout), drain(stderr), child.wait());
    let status = status.expect("waiting for the agent");
    assert!(
        status.success() && out == b"ok\n",
        "the agent failed ({status}): {}",
        String::from_utf8_lossy(&err)
    );
}

/// CPU time of this process so far (all threads), and of its reaped children.
fn own_cpu() -> (Duration, Duration) {
    let children = stat_ticks("self", 13, 14).unwrap_or_default();
    (cpu_of("self").unwrap_or_default(), children)
}

/// utime + stime of `/proc/<pid>/stat`.
fn cpu_of(pid: &str) -> Option<Duration> {
    stat_ticks(pid, 11, 12)
}

/// The sum of two tick counts of `/proc/<pid>/stat`, by index after the command name.
fn stat_ticks(pid: &str, a: usize, b: usize) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(a)?.parse::<u64>().ok()? + fields.get(b)?.parse::<u64>().ok()?;
    Some(Duration::from_secs_f64(ticks as f64 / TICKS_PER_SEC))
}

/// `VmHWM` of `/proc/<pid>/status`, in kB.
fn hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Side {
    wall: Duration,
    /// CPU time of the orchestrating process.
    cpu: Duration,
    /// CPU time of the orchestrator and the agents together (traceval: only with
    /// `/usr/bin/time`).
    total_cpu: Option<Duration>,
    rss_kb: Option<u64>,
    /// traceval only: the last `VmHWM` polled (a cross-check of `rss_kb` when that comes from
    /// `/usr/bin/time`).
    hwm_polled_kb: u64,
    /// traceval only: the runner's own duration from the report (trials, no startup or report).
    run: Option<Duration>,
}

/// The baseline: the same agents spawned from here, the receiver in this process.
fn raw_spawn(agent: &Path, trials: usize, jobs: usize) -> Side {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = SpanStore::new();
    let agent: Arc<Path> = agent.into();
    let ((wall, cpu, total_cpu), keys) = runtime.block_on(async {
        let receiver = Receiver::start(ReceiverConfig::default(), store.clone())
            .await
            .unwrap();
        let keys: Vec<TrialKey> = (0..trials)
            .map(|i| TrialKey::from_parts("bench", "noop", "noop", "default", i as u32))
            .collect();
        let cpu_before = own_cpu();
        let started = Instant::now();
        let mut running = JoinSet::new();
        let mut next = 0;
        loop {
            while running.len() < jobs && next < trials {
                let endpoint = format!("{}/v1/traces", receiver.trial_endpoint(&keys[next]));
                let input = format!(
                    "{{\"case\":\"c{:04}\",\"input\":\"noop\",\"trial\":{},\"model\":\"default\",\"suite\":\"noop\",\"run_id\":\"bench\"}}\n",
                    next / TRIALS_PER_CASE,
                    next % TRIALS_PER_CASE
                );
                running.spawn(raw_trial(Arc::clone(&agent), endpoint, input));
                next += 1;
            }
            match running.join_next().await {
                Some(joined) => joined.unwrap(),
                None => break,
            }
        }
        let wall = started.elapsed();
        let cpu_after = own_cpu();
        let cpu = cpu_after.0.saturating_sub(cpu_before.0);
        let agents = cpu_after.1.saturating_sub(cpu_before.1);
        receiver.shutdown().await;
        ((wall, cpu, cpu + agents), keys)
    });
    assert_eq!(store.len(), trials, "every agent's span is stored");
    for key in &keys {
        assert_eq!(store.trial(key).len(), 1, "one span for {key}");
    }
    Side {
        wall,
        cpu,
        total_cpu: Some(total_cpu),
        rss_kb: None,
        hwm_polled_kb: 0,
        run: None,
    }
}

/// A temporary traceval project running the agent `trials` times.
fn write_project(dir: &Path, agent: &Path, trials: usize) {
    let suites = dir.join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    let suite = |name: &str, cases: std::ops::Range<usize>, k: usize| {
        let mut text = format!(
            "name = \"{name}\"\ntrials = {k}\ntimeout = \"60s\"\n\n[agent]\nkind = \"command\"\ncommand = [{:?}]\n",
            agent.display().to_string()
        );
        for c in cases {
            text.push_str(&format!(
                "\n[[case]]\nid = \"c{c:04}\"\ninput = \"noop\"\n[case.expect]\noutput-contains = \"ok\"\ntools = [{{ name = \"noop\" }}]\n"
            ));
        }
        std::fs::write(suites.join(format!("{name}.toml")), text).unwrap();
    };
    let full = trials / TRIALS_PER_CASE;
    if full > 0 {
        suite("noop", 0..full, TRIALS_PER_CASE);
    }
    if !trials.is_multiple_of(TRIALS_PER_CASE) {
        suite("noop-rest", full..full + 1, trials % TRIALS_PER_CASE);
    }
}

/// The pid of `parent`'s first child, if it has one yet.
fn child_of(parent: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// `traceval run` on the project; checks the report.
fn traceval(bin: &Path, project: &Path, trials: usize, jobs: usize, time: Option<&Path>) -> Side {
    let report = project.join("report.json");
    let rss_file = project.join("maxrss");
    let _ = std::fs::remove_file(&report);
    let mut cmd = match time {
        Some(time) => {
            let mut cmd = std::process::Command::new(time);
            cmd.args(["-f", "%M %U %S", "-o"]).arg(&rss_file).arg(bin);
            cmd
        }
        None => std::process::Command::new(bin),
    };
    cmd.arg("run")
        .args(["-j", &jobs.to_string(), "--report"])
        .arg(&report)
        .current_dir(project)
        .env_remove("CI")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("traceval starts");
    let top = child.id();
    let stderr = child.stderr.take().unwrap();
    let stderr = std::thread::spawn(move || {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    // Samples traceval's CPU time and VmHWM until it exits; the last sample is kept.
    let done = Arc::new(AtomicBool::new(false));
    let (cpu_ticks, hwm) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let sampler = {
        let (done, cpu_ticks, hwm) = (done.clone(), cpu_ticks.clone(), hwm.clone());
        let wrapped = time.is_some();
        std::thread::spawn(move || {
            let mut pid = None;
            while !done.load(Ordering::Relaxed) {
                if pid.is_none() {
                    pid = if wrapped { child_of(top) } else { Some(top) };
                }
                if let Some(pid) = pid {
                    if let Some(cpu) = cpu_of(&pid.to_string()) {
                        cpu_ticks.store(cpu.as_millis() as u64, Ordering::Relaxed);
                    }
                    if let Some(kb) = hwm_kb(pid) {
                        hwm.fetch_max(kb, Ordering::Relaxed);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let status = child.wait().unwrap();
    let wall = started.elapsed();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let stderr = stderr.join().unwrap();
    assert!(
        status.success(),
        "traceval run failed ({status}):\n{}",
        stderr.join("\n")
    );
    // `/usr/bin/time`'s last line: max RSS (kB), user and system CPU (s) of traceval and the
    // agents it reaped.
    let timed: Option<(u64, Duration)> = time.and_then(|_| {
        let text = std::fs::read_to_string(&rss_file).ok()?;
        let mut fields = text.lines().last()?.split_whitespace();
        let kb = fields.next()?.parse().ok()?;
        let user: f64 = fields.next()?.parse().ok()?;
        let sys: f64 = fields.next()?.parse().ok()?;
        Some((kb, Duration::from_secs_f64(user + sys)))
    });
    let rss_kb = match time {
        Some(_) => timed.map(|(kb, _)| kb),
        None => Some(hwm.load(Ordering::Relaxed)),
    };

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).expect("the report is written")).unwrap();
    let results = report["trials"].as_array().expect("trials in the report");
    assert_eq!(results.len(), trials, "every trial is in the report");
    for t in results {
        assert_eq!(t["passed"], true, "a trial failed: {t:#}");
        assert_eq!(t["metrics"]["span_count"], 2, "root + agent span: {t:#}");
    }
    assert_eq!(report["not_run"], 0);
    assert_eq!(report["unattributed_spans"], 0);
    let run = report["duration_ms"]
        .as_f64()
        .map(|ms| Duration::from_secs_f64(ms / 1e3));
    Side {
        wall,
        cpu: Duration::from_millis(cpu_ticks.load(Ordering::Relaxed)),
        total_cpu: timed.map(|(_, cpu)| cpu),
        rss_kb,
        hwm_polled_kb: hwm.load(Ordering::Relaxed),
        run,
    }
}

/// kB (KiB, as the kernel counts) to MB (10^6 bytes, as the target is stated).
fn mb(kb: Option<u64>) -> f64 {
    kb.unwrap_or(0) as f64 * 1024.0 / 1e6
}

fn per_sec(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

fn main() {
    let trials = env_usize("TRACEVAL_BENCH_TRIALS", 10_000);
    let jobs = env_usize("TRACEVAL_BENCH_JOBS", 32);
    let rounds_n = env_usize("TRACEVAL_BENCH_ROUNDS", 2);
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_traceval"));
    let Some(agent) = build_agent(bin.parent().expect("the binary is in a directory")) else {
        println!("runner benchmark skipped: no C compiler (`cc`) to build benches/noop_agent.c");
        return;
    };
    let time = Some(Path::new("/usr/bin/time")).filter(|p| p.exists());
    let project =
        std::env::temp_dir().join(format!("traceval-bench-runner-{}", std::process::id()));
    write_project(&project, &agent, trials);
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cases = trials.div_ceil(TRIALS_PER_CASE);
    println!(
        "{trials} trials of {} ({cases} cases × ≤{TRIALS_PER_CASE} trials), -j {jobs}, {cpus} CPUs; \
         peak RSS from {}",
        agent.display(),
        if time.is_some() {
            "/usr/bin/time -f %M"
        } else {
            "VmHWM polled every 10 ms"
        }
    );

    let mut rounds = Vec::new();
    let secs = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64());
    for round in 1..=rounds_n {
        let raw = raw_spawn(&agent, trials, jobs);
        let tv = traceval(&bin, &project, trials, jobs, time);
        let ratio = tv.wall.as_secs_f64() / raw.wall.as_secs_f64() - 1.0;
        let run = tv.run.unwrap_or_default();
        println!("round {round}");
        println!(
            "  raw spawn: {:.2} s, {:.0} trials/s; CPU: this process {:.2} s, with the agents {:.2} s",
            raw.wall.as_secs_f64(),
            per_sec(trials, raw.wall),
            raw.cpu.as_secs_f64(),
            secs(raw.total_cpu)
        );
        println!(
            "  traceval:  {:.2} s, {:.0} trials/s; CPU: traceval {:.2} s, with the agents {:.2} s; \
             runner {:.2} s + startup and report {:.2} s; peak RSS {:.1} MB (polled VmHWM {:.1} MB)",
            tv.wall.as_secs_f64(),
            per_sec(trials, tv.wall),
            tv.cpu.as_secs_f64(),
            secs(tv.total_cpu),
            run.as_secs_f64(),
            tv.wall.saturating_sub(run).as_secs_f64(),
            mb(tv.rss_kb),
            mb(Some(tv.hwm_polled_kb))
        );
        println!("  overhead:  {:+.1}%", ratio * 100.0);
        rounds.push((raw, tv, ratio));
    }
    let _ = std::fs::remove_dir_all(&project);

    // Each side's best time is its least disturbed run; a ratio within one round can swing
    // either way when another job takes a core during one side only.
    let best =
        |side: fn(&(Side, Side, f64)) -> Option<Duration>| rounds.iter().filter_map(side).min();
    let (best_raw, best_tv) = (best(|r| Some(r.0.wall)), best(|r| Some(r.1.wall)));
    let (best_raw, best_tv) = (secs(best_raw), secs(best_tv));
    let overhead = best_tv / best_raw - 1.0;
    let (cpu_raw, cpu_tv) = (secs(best(|r| r.0.total_cpu)), secs(best(|r| r.1.total_cpu)));
    let per_trial_us = |s: f64| s * 1e6 / trials as f64;
    let peak_mb = mb(rounds.iter().filter_map(|(_, tv, _)| tv.rss_kb).max());
    let verdict = |ok: bool| if ok { "PASS" } else { "FAIL" };
    println!();
    println!(
        "| round | raw spawn (baseline, same run) | traceval run | overhead | CPU per trial, orchestrator: raw → traceval | CPU per trial with the agents: raw → traceval | traceval peak RSS |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (i, (raw, tv, ratio)) in rounds.iter().enumerate() {
        println!(
            "| {} | {:.2} s, {:.0} trials/s | {:.2} s, {:.0} trials/s | {:+.1}% | {:.0} µs → {:.0} µs | {:.0} µs → {:.0} µs | {:.1} MB |",
            i + 1,
            raw.wall.as_secs_f64(),
            per_sec(trials, raw.wall),
            tv.wall.as_secs_f64(),
            per_sec(trials, tv.wall),
            ratio * 100.0,
            per_trial_us(raw.cpu.as_secs_f64()),
            per_trial_us(tv.cpu.as_secs_f64()),
            per_trial_us(secs(raw.total_cpu)),
            per_trial_us(secs(tv.total_cpu)),
            mb(tv.rss_kb)
        );
    }
    println!();
    println!(
        "overhead, best traceval time over best raw time ({best_tv:.2} s / {best_raw:.2} s, \
         {} rounds): {:+.1}% — target < {:.0}%: {}",
        rounds.len(),
        overhead * 100.0,
        TARGET_OVERHEAD * 100.0,
        verdict(overhead < TARGET_OVERHEAD)
    );
    println!(
        "CPU with the agents, least of {} rounds: raw {:.0} µs/trial, traceval {:.0} µs/trial: \
         {:+.1}% (≈ the wall-time overhead of a CPU-bound run, and far less noisy)",
        rounds.len(),
        per_trial_us(cpu_raw),
        per_trial_us(cpu_tv),
        (cpu_tv / cpu_raw - 1.0) * 100.0
    );
    println!(
        "peak RSS, highest of {} rounds: {peak_mb:.1} MB — target < {TARGET_RSS_MB:.0} MB: {}",
        rounds.len(),
        verdict(peak_mb > 0.0 && peak_mb < TARGET_RSS_MB)
    );
}
