//! Comparison benchmark: `cargo bench --bench compare` (env `TRACEVAL_BENCH_TRIALS`, trials per
//! report, default 50,000; `TRACEVAL_BENCH_K`, trials per case, default 5).
//!
//! Two reports of one model, 10,000 cases × 5 trials each, as a real run writes them (checks,
//! three tool calls, tokens by model, a cost, a shape hash, a duration); the new one has about
//! one trial in eight flipped, 5% more output tokens and its own durations, so thousands of
//! cases move by different amounts (the Monte-Carlo sign-flip path) and every metric has work.
//!
//! Timed, in one process, on the reports' JSON already in memory:
//! 1. the baseline: deserializing the two reports into `Report`s, the least any consumer of two
//!    runs this size pays;
//! 2. the comparison: `traceval compare BASE NEW --format json` on those reports (alignment,
//!    labels, behaviour diffs, nine metrics with their tests and bootstraps, the JSON).
//!
//! Target: the comparison under 1 s and 200 MiB on the 2-core machine. Peak RSS is the growth
//! over the two deserialized reports, read as `VmHWM` after resetting it through
//! `/proc/self/clear_refs`.

use std::time::Instant;

use serde_json::{Value, json};
use traceval::__bench::compare_json;
use traceval::report::Report;

const TARGET_SECS: f64 = 1.0;
const TARGET_MIB: f64 = 200.0;

/// A small deterministic generator (the bench needs no statistics of its own).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

fn report(run_id: &str, cases: usize, k: usize, new: bool) -> Value {
    let mut rng = Lcg(if new { 7 } else { 3 });
    let mut trials = Vec::with_capacity(cases * k);
    let mut aggregates = Vec::with_capacity(cases);
    for c in 0..cases {
        // Each case has its own difficulty; the new side moves some of them.
        let difficulty = (c * 37 % 100) as u64;
        let shift = if new && c % 3 == 0 { 15 } else { 0 };
        for i in 0..k {
            let passed = rng.next() % 100 >= difficulty / 2 + shift;
            let output = 40 + rng.next() % 20 + if new { 3 } else { 0 };
            trials.push(json!({
                "suite": "bench", "case": format!("case-{c:05}"), "model": "alpha", "trial": i,
                "trace_id": format!("{:032x}", c * k + i), "agent_trace_ids": [],
                "passed": passed, "error": null,
                "duration_ms": 800.0 + (rng.next() % 4000) as f64 / 10.0,
                "exit": {"kind": "code", "code": 0}, "output": "The weather in Paris is 18 C.",
                "stderr_tail": "",
                "checks": [{"name": "output-contains", "passed": passed, "message": ""}],
                "metrics": {
                    "llm_calls": 2 + rng.next() % 3,
                    "tool_calls": [
                        {"name": "get_weather", "args": {"city": "Paris"}},
                        {"name": "get_weather", "args": {"city": "Oslo"}},
                        {"name": if passed { "summarise" } else { "guess" }, "args": null}
                    ],
                    "input_tokens": 900, "output_tokens": output, "cache_read_tokens": 0,
                    "cost_usd": (900.0 * 2.5 + output as f64 * 10.0) / 1e6, "unpriced": false,
                    "retries": 0, "error_spans": 0, "span_count": 9,
                    "tool_precision": 1.0, "tool_recall": 1.0,
                    "tool_f1": if passed { 1.0 } else { 0.67 },
                    "usage_by_model": {"alpha-1": {"input": 900, "output": output,
                        "cache_read": 0, "cache_write": 0}}
                },
                "shape_hash": format!("{:016x}", (c as u64) << 1 | u64::from(passed))
            }));
        }
        aggregates.push(json!({
            "suite": "bench", "case": format!("case-{c:05}"), "model": "alpha", "n": k,
            "passed": 0, "pass_rate": 0.0, "pass_at_k": {}, "pass_hat_k": {}, "flaky": false,
            "definition_hash": format!("{c:016x}")
        }));
    }
    json!({
        "format_version": 1, "run_id": run_id, "started_at": "2026-12-01T00:00:00Z",
        "duration_ms": 1.0, "traceval_version": "0.1.0", "git_commit": null, "command": [],
        "seed": 42, "interrupted": false, "stopped": null, "not_run": 0,
        "unattributed_spans": 0,
        "suites": [{"name": "bench", "path": "suites/bench.toml", "content_hash": "h"}],
        "pricing": {"source": "bench", "date": "2025-10", "overrides": []},
        "trials": trials, "cases": aggregates, "models": [], "warnings": []
    })
}

fn vm_hwm_kb() -> Option<u64> {
    status_kb("VmHWM:")
}

fn vm_rss_kb() -> Option<u64> {
    status_kb("VmRSS:")
}

fn status_kb(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Resets the peak RSS to the current RSS (Linux ≥ 4.0); false when that is not possible.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn main() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let trials = env("TRACEVAL_BENCH_TRIALS", 50_000);
    let k = env("TRACEVAL_BENCH_K", 5).max(1);
    let cases = (trials / k).max(1);
    let base = serde_json::to_vec(&report("base", cases, k, false)).unwrap();
    let new = serde_json::to_vec(&report("new", cases, k, true)).unwrap();

    let start = Instant::now();
    let a: Report = serde_json::from_slice(&base).unwrap();
    let b: Report = serde_json::from_slice(&new).unwrap();
    let read = start.elapsed().as_secs_f64();
    drop((base, new));

    let input_rss = vm_rss_kb();
    let peak_reset = reset_peak();
    let start = Instant::now();
    let doc = compare_json(a, b, 0);
    let compared = start.elapsed().as_secs_f64();
    let peak = vm_hwm_kb();
    assert!(doc.starts_with('{'), "{doc}");
    let parsed: Value = serde_json::from_str(&doc).unwrap();
    let c = &parsed["comparisons"][0];
    let moving = c["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["base"]["passed"] != r["new"]["passed"])
        .count();

    println!(
        "compare: 2 reports × {} trials ({cases} cases × {k}), {moving} cases moved",
        cases * k
    );
    println!("  baseline: deserializing both reports {read:.3} s");
    println!(
        "  comparison (engine + JSON)             {compared:.3} s  ({:.2}× the baseline; target < {TARGET_SECS} s)",
        compared / read
    );
    for m in c["metrics"].as_array().unwrap() {
        println!(
            "    {:<15} p = {:<8.4} {}",
            m["name"].as_str().unwrap(),
            m["p"].as_f64().unwrap(),
            m["verdict"]
        );
    }
    match (peak_reset, input_rss, peak) {
        (true, Some(input), Some(peak)) => {
            let mib = peak.saturating_sub(input) as f64 / 1024.0;
            println!(
                "  peak RSS {mib:.1} MiB over the {:.1} MiB of reports held as input (target < {TARGET_MIB} MiB)",
                input as f64 / 1024.0
            );
        }
        (_, _, Some(peak)) => println!(
            "  peak RSS {:.1} MiB (input included)",
            peak as f64 / 1024.0
        ),
        _ => println!("  peak RSS unavailable"),
    }
}
