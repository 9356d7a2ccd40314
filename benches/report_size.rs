//! Report size and memory with agents that print a lot: `cargo bench --bench report_size` (env
//! `TRACEVAL_BENCH_TRIALS`, default 2,000, and `TRACEVAL_BENCH_JOBS`, default 32).
//!
//! Two runs of the release `traceval run`, on temporary projects that differ only in the agent:
//! 1. the baseline, whose agent prints nothing (`true`);
//! 2. noisy, whose agent prints 1 MiB of random bytes (`head -c 1048576 /dev/urandom`), which
//!    become about 2 MB of text once invalid UTF-8 is replaced.
//!
//! Both are `TRIALS / 100` cases × 100 trials, no spans (so each trial carries the "sent no
//! spans" warning). Reported: peak RSS of the traceval process (`/usr/bin/time -f %M`: the
//! kernel's `ru_maxrss`, traceval's own high-water mark maximised with that of the agents it
//! reaped, which are far smaller), the report's size, and noisy over baseline. Target: noisy's
//! peak RSS at most 120 MB (issue 16, item 7: 60 such trials among 2,000 took 315 MB before the
//! report kept at most 16 KiB (the default `--report-output-limit`) of each answer and was streamed to its file).

use std::path::{Path, PathBuf};
use std::process::Command;

const TRIALS_PER_CASE: usize = 100;
const TARGET_RSS_MB: f64 = 120.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}

struct Measured {
    peak_rss_mb: f64,
    report_mb: f64,
    wall_s: f64,
}

fn project(dir: &Path, command: &str, trials: usize) {
    std::fs::create_dir_all(dir.join("suites")).unwrap();
    let mut suite =
        format!("trials = {TRIALS_PER_CASE}\n[agent]\nkind = \"command\"\ncommand = {command}\n");
    for c in 0..trials.div_ceil(TRIALS_PER_CASE) {
        suite.push_str(&format!("\n[[case]]\nid = \"c{c}\"\ninput = \"x\"\n"));
    }
    std::fs::write(dir.join("suites/bench.toml"), suite).unwrap();
}

fn measure(dir: &Path, jobs: usize) -> Measured {
    let report = dir.join("report.json");
    let rss = dir.join("rss");
    let started = std::time::Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(env!("CARGO_BIN_EXE_traceval"))
        .args(["run", "-j", &jobs.to_string(), "--report"])
        .arg(&report)
        .current_dir(dir)
        .env_remove("CI")
        .stderr(std::process::Stdio::null())
        .status()
        .expect("/usr/bin/time runs traceval");
    let wall_s = started.elapsed().as_secs_f64();
    assert_eq!(status.code(), Some(0), "traceval run failed in {dir:?}");
    let kb: f64 = std::fs::read_to_string(&rss)
        .unwrap()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("/usr/bin/time wrote the peak RSS");
    Measured {
        peak_rss_mb: kb * 1024.0 / 1e6,
        report_mb: std::fs::metadata(&report).unwrap().len() as f64 / 1e6,
        wall_s,
    }
}

fn main() {
    if !Path::new("/usr/bin/time").exists() {
        eprintln!("report_size: skipped, no /usr/bin/time");
        return;
    }
    let trials = env_usize("TRACEVAL_BENCH_TRIALS", 2000);
    let jobs = env_usize("TRACEVAL_BENCH_JOBS", 32);
    let root: PathBuf =
        std::env::temp_dir().join(format!("tv-bench-report-{}", std::process::id()));
    let quiet_dir = root.join("quiet");
    let noisy_dir = root.join("noisy");
    project(&quiet_dir, "[\"true\"]", trials);
    project(
        &noisy_dir,
        "[\"head\", \"-c\", \"1048576\", \"/dev/urandom\"]",
        trials,
    );
    println!("report_size: {trials} trials, -j {jobs}");
    let quiet = measure(&quiet_dir, jobs);
    let noisy = measure(&noisy_dir, jobs);
    for (name, m) in [
        ("baseline (prints nothing)", &quiet),
        ("noisy (1 MiB random)", &noisy),
    ] {
        println!(
            "  {name:<26} peak RSS {:>7.1} MB   report {:>7.1} MB   wall {:>6.2} s",
            m.peak_rss_mb, m.report_mb, m.wall_s
        );
    }
    println!(
        "  noisy / baseline: peak RSS {:.2}×, report {:.2}×",
        noisy.peak_rss_mb / quiet.peak_rss_mb,
        noisy.report_mb / quiet.report_mb
    );
    let verdict = if noisy.peak_rss_mb <= TARGET_RSS_MB {
        "ok"
    } else {
        "OVER TARGET"
    };
    println!("  target: noisy peak RSS at most {TARGET_RSS_MB} MB: {verdict}");
    let _ = std::fs::remove_dir_all(&root);
}
