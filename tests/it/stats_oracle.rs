//! `compare`'s statistics against an independent oracle: SciPy and numpy on the same tables
//! (`.ci/run` installs them from `tests/requirements.txt`). Outside CI a machine without SciPy
//! skips with a message; in CI (`CI` set) it fails.
//!
//! Tolerances: where both sides compute the same exact quantity (binomial and hypergeometric
//! tails, t quantiles, means, standard errors, the exact sign-flip distribution, FDR and Holm
//! adjustments), only rounding separates them: 1e-9 relative, far below any printed digit and
//! far above the ~1e-13 that log-space sums and the t quantile's bisection leave. Bootstrap
//! intervals are checked twice: exactly (1e-12) against numpy on the same resamples, replayed
//! in Python from the documented SplitMix64 stream; and against `scipy.stats.bootstrap` with
//! its own random resamples, where only Monte-Carlo error separates them (see there).

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use traceval::__stats as stats;

/// The oracle: reads the tables as JSON on stdin, prints SciPy's answers as JSON.
const ORACLE: &str = r#"
import json, sys
import numpy as np
from scipy import stats

tables = json.load(sys.stdin)
out = {}

def mcnemar(up, down):
    q = up + down
    if q == 0:
        return [1.0, 1.0]
    s = min(up, down)
    p = stats.binomtest(s, q, 0.5).pvalue
    mid = 2 * (stats.binom.cdf(s, q, 0.5) - 0.5 * stats.binom.pmf(s, q, 0.5))
    return [float(p), float(min(1.0, mid))]

out["mcnemar"] = [mcnemar(u, d) for u, d in tables["mcnemar"]]
out["fisher"] = [
    float(stats.fisher_exact([[a, an - a], [b, bn - b]]).pvalue)
    for a, an, b, bn in tables["fisher"]
]
out["t"] = [float(stats.t.ppf(p, df)) for p, df in tables["t"]]

def clustered(values):
    x = np.array(values, dtype=float)
    se = stats.sem(x)
    lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=se)
    return [float(x.mean()), float(se), float(lo), float(hi)]

out["clustered"] = [clustered(v) for v in tables["clustered"]]

def paired(base, new):
    a, b = np.array(base, dtype=float), np.array(new, dtype=float)
    d = b - a
    m = len(d)
    se = stats.sem(d)
    lo, hi = stats.t.interval(0.95, m - 1, loc=d.mean(), scale=se)
    rho = stats.pearsonr(a, b)[0]
    mde = (stats.t.ppf(0.975, m - 1) + stats.t.ppf(0.8, m - 1)) * se
    return [float(d.mean()), float(se), float(lo), float(hi), float(rho), float(mde)]

out["paired"] = [paired(b, n) for b, n in tables["paired"]]

def sign_flip(base, new):
    res = stats.permutation_test(
        (np.array(base, dtype=float), np.array(new, dtype=float)),
        lambda x, y, axis: np.sum(y - x, axis=axis),
        vectorized=True, permutation_type="samples", n_resamples=np.inf,
        alternative="two-sided",
    )
    return float(res.pvalue)

out["sign_flip"] = [sign_flip(b, n) for b, n in tables["sign_flip"]]

M64 = (1 << 64) - 1

def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        yield z ^ (z >> 31)

def replayed(values, seed, resamples):
    # traceval's resampling, replayed: m draws of (u64 * m) >> 64 per resample, summed in order.
    rng = splitmix64(seed)
    m = len(values)
    means = []
    for _ in range(resamples):
        total = 0.0
        for _ in range(m):
            total += values[(next(rng) * m) >> 64]
        means.append(total / m)
    lo, hi = np.percentile(np.array(means), [2.5, 97.5])
    return [float(lo), float(hi)]

def scipy_bootstrap(values, resamples):
    res = stats.bootstrap(
        (np.array(values, dtype=float),), np.mean, n_resamples=resamples,
        method="percentile", confidence_level=0.95, random_state=np.random.default_rng(12345),
    )
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]

out["bootstrap"] = []
for case in tables["bootstrap"]:
    d = [n - b for b, n in zip(case["base"], case["new"])]
    out["bootstrap"].append({
        "replayed": replayed(d, case["seed"], case["resamples"]),
        "scipy": scipy_bootstrap(d, case["resamples"]),
        "sd": float(np.std(d, ddof=1)),
    })

out["ratio"] = []
for case in tables["ratio"]:
    logs = [float(np.log(n / b)) for b, n in zip(case["base"], case["new"]) if b > 0 and n > 0]
    lo, hi = replayed(logs, case["seed"], case["resamples"])
    out["ratio"].append([float(np.exp(np.mean(logs))), float(np.exp(lo)), float(np.exp(hi))])

out["bh"] = [[float(q) for q in stats.false_discovery_control(p, method="bh")] for p in tables["bh"]]

def holm(p):
    # From the definition: sorted ascending, (m - j) * p_(j) (j from 0), running maximum, cap 1.
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adjusted, running = [0.0] * m, 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (m - j) * p[i]))
        adjusted[i] = running
    return adjusted

out["holm"] = [holm(p) for p in tables["bh"]]
print(json.dumps(out))
"#;

/// Whether `python3` can import SciPy; without it the test skips, except in CI, where it fails.
fn scipy_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import numpy, scipy.stats"])
        .output()
        .is_ok_and(|o| o.status.success());
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false");
    assert!(
        ok || !ci,
        "SciPy is required in CI: pip install -r tests/requirements.txt"
    );
    if !ok {
        eprintln!("skipped: python3 cannot import scipy (pip install -r tests/requirements.txt)");
    }
    ok
}

/// A small deterministic generator for the tables (the test's own, not traceval's).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// A per-case pass rate c/k with k in {3, 5}.
    fn rate(&mut self) -> f64 {
        let k = if self.next().is_multiple_of(2) { 3 } else { 5 };
        (self.next() % (k + 1)) as f64 / k as f64
    }
}

fn run_oracle(tables: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", ORACLE])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(tables.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the oracle prints JSON")
}

#[track_caller]
fn close(ours: f64, theirs: &Value, rel: f64, what: &str) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: {theirs}"));
    let tol = rel * theirs.abs().max(1e-300) + 1e-15;
    assert!(
        (ours - theirs).abs() <= tol,
        "{what}: traceval {ours}, oracle {theirs}"
    );
}

fn floats(value: &Value) -> Vec<f64> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn statistics_agree_with_scipy() {
    if !scipy_available() {
        return;
    }
    let mut rng = Lcg(2026);

    // McNemar: the reference b = 9, c = 2, edges, and tables up to 1,000 discordant cases.
    let mut mcnemar = vec![
        (9, 2),
        (2, 9),
        (0, 0),
        (3, 3),
        (1, 0),
        (12, 0),
        (30, 18),
        (60, 41),
    ];
    mcnemar.extend((0..12).map(|_| (rng.next() % 500, rng.next() % 500)));
    mcnemar.extend([(540, 460), (0, 25)]);
    // Fisher: the reference 5/5 vs 0/5 and 5/5 vs 2/5, then random tables with k up to 50.
    let mut fisher = vec![
        (5, 5, 0, 5),
        (5, 5, 2, 5),
        (3, 5, 3, 5),
        (0, 5, 0, 5),
        (1, 3, 9, 10),
    ];
    fisher.extend((0..20).map(|_| {
        let (an, bn) = (1 + rng.next() % 50, 1 + rng.next() % 50);
        (rng.next() % (an + 1), an, rng.next() % (bn + 1), bn)
    }));
    let mut t = Vec::new();
    for df in [
        1, 2, 3, 4, 5, 7, 9, 10, 19, 29, 30, 59, 99, 500, 1000, 1001, 5000, 100_000,
    ] {
        for p in [0.6, 0.8, 0.9, 0.95, 0.975, 0.995, 0.025] {
            t.push((p, df));
        }
    }
    let clustered: Vec<Vec<f64>> = [3, 6, 40, 200]
        .iter()
        .map(|&m| (0..m).map(|_| rng.rate()).collect())
        .collect();
    let mut paired = Vec::new();
    for m in [4, 12, 60, 300] {
        let base: Vec<f64> = (0..m).map(|_| rng.rate()).collect();
        let mut new: Vec<f64> = base
            .iter()
            .map(|&b| {
                if rng.next().is_multiple_of(3) {
                    rng.rate()
                } else {
                    b
                }
            })
            .collect();
        // One case surely moves (no rate c/3 or c/5 is ½), so the difference has a spread.
        new[0] = 1.0 - base[0];
        paired.push((base, new));
    }
    // Sign flips, exact path: up to 16 cases with per-case rates of k = 3 and k = 5 mixed.
    let mut sign_flip = Vec::new();
    for m in [5, 9, 12, 16] {
        let base: Vec<f64> = (0..m).map(|_| rng.rate()).collect();
        let new: Vec<f64> = (0..m).map(|_| rng.rate()).collect();
        sign_flip.push((base, new));
    }
    let bootstrap: Vec<Value> = [(25, 3u64), (80, 4)]
        .iter()
        .map(|&(m, seed)| {
            let base: Vec<f64> = (0..m).map(|_| 500.0 + (rng.next() % 400) as f64).collect();
            let new: Vec<f64> = base
                .iter()
                .map(|b| b + (rng.next() % 60) as f64 - 20.0)
                .collect();
            json!({"base": base, "new": new, "seed": seed, "resamples": 10_000})
        })
        .collect();
    let ratio: Vec<Value> = [(30, 8u64)]
        .iter()
        .map(|&(m, seed)| {
            let base: Vec<f64> = (0..m)
                .map(|i| {
                    if i == 3 {
                        0.0
                    } else {
                        0.001 * (1 + rng.next() % 9) as f64
                    }
                })
                .collect();
            let new: Vec<f64> = base
                .iter()
                .map(|b| b * (0.9 + (rng.next() % 40) as f64 / 100.0))
                .collect();
            json!({"base": base, "new": new, "seed": seed, "resamples": 10_000})
        })
        .collect();
    let bh: Vec<Vec<f64>> = vec![
        vec![0.03, 0.5, 0.01, 0.04, 0.02],
        (0..40)
            .map(|_| (rng.next() % 10_000) as f64 / 10_000.0)
            .collect(),
        vec![0.001, 0.001, 0.2, 1.0],
    ];

    let tables = json!({
        "mcnemar": mcnemar, "fisher": fisher, "t": t, "clustered": clustered,
        "paired": paired, "sign_flip": sign_flip, "bootstrap": bootstrap, "ratio": ratio, "bh": bh,
    });
    let oracle = run_oracle(&tables);

    for (i, &(up, down)) in mcnemar.iter().enumerate() {
        let (p, mid) = stats::mcnemar(up as usize, down as usize);
        close(
            p,
            &oracle["mcnemar"][i][0],
            1e-9,
            &format!("McNemar p {up}/{down}"),
        );
        close(
            mid,
            &oracle["mcnemar"][i][1],
            1e-9,
            &format!("McNemar mid-p {up}/{down}"),
        );
    }
    for (i, &(a, an, b, bn)) in fisher.iter().enumerate() {
        let p = stats::fisher_exact(a, an, b, bn);
        close(
            p,
            &oracle["fisher"][i],
            1e-9,
            &format!("Fisher {a}/{an} vs {b}/{bn}"),
        );
    }
    // Beyond 1,000 degrees of freedom the quantile starts from Acklam's normal quantile, whose
    // documented relative error is below 1.15e-9 (t(0.9, 1001) = 1.2824 is 1.4e-9 off): 2e-9,
    // absolute for quantiles below 1, relative above.
    for (i, &(p, df)) in t.iter().enumerate() {
        let (ours, theirs) = (stats::t_quantile(p, df), oracle["t"][i].as_f64().unwrap());
        assert!(
            (ours - theirs).abs() <= 2e-9 * theirs.abs().max(1.0),
            "t({p}, {df}): traceval {ours}, oracle {theirs}"
        );
    }
    for (i, values) in clustered.iter().enumerate() {
        let ours = stats::clustered_mean(values);
        for (j, what) in ["mean", "se", "low", "high"].iter().enumerate() {
            close(
                ours[j],
                &oracle["clustered"][i][j],
                1e-9,
                &format!("clustered {what}, m = {}", values.len()),
            );
        }
    }
    for (i, (base, new)) in paired.iter().enumerate() {
        let ours = stats::paired_difference(base, new);
        for (j, what) in ["delta", "se", "low", "high", "rho", "mde"]
            .iter()
            .enumerate()
        {
            close(
                ours[j],
                &oracle["paired"][i][j],
                1e-9,
                &format!("paired {what}, m = {}", base.len()),
            );
        }
    }
    for (i, (base, new)) in sign_flip.iter().enumerate() {
        let d: Vec<f64> = base.iter().zip(new).map(|(b, n)| n - b).collect();
        let (p, _) = stats::sign_flip(&d, 0);
        close(
            p,
            &oracle["sign_flip"][i],
            1e-9,
            &format!("sign flip {d:?}"),
        );
    }
    for (i, case) in bootstrap.iter().enumerate() {
        let (base, new) = (floats(&case["base"]), floats(&case["new"]));
        let seed = case["seed"].as_u64().unwrap();
        let (lo, hi) = stats::bootstrap_mean_difference(&base, &new, seed, 10_000);
        let theirs = &oracle["bootstrap"][i];
        close(
            lo,
            &theirs["replayed"][0],
            1e-12,
            "bootstrap low, same resamples",
        );
        close(
            hi,
            &theirs["replayed"][1],
            1e-12,
            "bootstrap high, same resamples",
        );
        // Other resamples: each 2.5% end moves by about √(0.025·0.975/10,000)/φ(1.96) = 0.027
        // bootstrap standard errors (sd/√m); the two ends' difference by 0.038. Allow 0.2,
        // over five times that.
        let allowed = 0.2 * theirs["sd"].as_f64().unwrap() / (base.len() as f64).sqrt();
        for (ours, j) in [(lo, 0), (hi, 1)] {
            let scipy = theirs["scipy"][j].as_f64().unwrap();
            assert!(
                (ours - scipy).abs() < allowed,
                "bootstrap vs scipy.stats.bootstrap: {ours} {scipy} (±{allowed})"
            );
        }
    }
    for (i, case) in ratio.iter().enumerate() {
        let (base, new) = (floats(&case["base"]), floats(&case["new"]));
        let ours = stats::geometric_mean_ratio(&base, &new, case["seed"].as_u64().unwrap(), 10_000);
        for (j, what) in ["ratio", "low", "high"].iter().enumerate() {
            close(
                ours[j],
                &oracle["ratio"][i][j],
                1e-12,
                &format!("geometric-mean ratio {what}"),
            );
        }
    }
    for (i, p) in bh.iter().enumerate() {
        for (j, (q, h)) in stats::benjamini_hochberg(p)
            .iter()
            .zip(stats::holm(p))
            .enumerate()
        {
            close(*q, &oracle["bh"][i][j], 1e-12, "Benjamini-Hochberg q");
            close(h, &oracle["holm"][i][j], 1e-12, "Holm");
        }
    }
}
