use serde_json::json;

use super::*;
use crate::report::schema::{ShardInfo, SuiteInfo, TrialResult};
use crate::suite::Shard;

/// A trial of `suite::case` on `model`, its cost and tokens varying so that sums are sensitive
/// to order.
fn trial(case: &str, model: &str, trial: u32, passed: bool) -> TrialResult {
    let cost = 0.1 + f64::from(trial) * 0.07 + case.len() as f64 * 0.013;
    serde_json::from_value(json!({
        "suite": "s", "case": case, "model": model, "trial": trial,
        "trace_id": "t", "agent_trace_ids": [], "passed": passed, "error": null,
        "duration_ms": 10.0 + f64::from(trial), "exit": {"kind": "code", "code": 0},
        "output": "", "stderr_tail": "", "checks": [],
        "trace_file": format!("{case}-{model}-{trial}.otlp.jsonl"),
        "metrics": {
            "llm_calls": 2, "tool_calls": [], "input_tokens": 100 + trial,
            "output_tokens": 7, "cache_read_tokens": 0, "cost_usd": cost, "unpriced": false,
            "retries": 0, "error_spans": 0, "span_count": 4,
            "tool_precision": null, "tool_recall": null, "tool_f1": null
        }
    }))
    .unwrap()
}

/// Every trial of a plan: 12 cases × 2 models × 3 trials, some failing.
fn trials() -> Vec<TrialResult> {
    let mut out = Vec::new();
    for c in 0..12 {
        for model in ["a", "b"] {
            for t in 0..3 {
                out.push(trial(&format!("case{c}"), model, t, (c + t) % 4 != 0));
            }
        }
    }
    out
}

fn meta(shard: Option<ShardInfo>) -> RunMeta {
    RunMeta {
        command: vec!["traceval".into(), "run".into()],
        git_commit: None,
        suites: vec![SuiteInfo {
            name: "s".into(),
            path: "suites/s.toml".into(),
            content_hash: "00000000000000aa".into(),
        }],
        pricing: Default::default(),
        replayed_from: None,
        model_endpoints: Vec::new(),
        shard,
        definitions: Default::default(),
        traces_dir: None,
    }
}

/// The report of a run of `trials`, as `run` folds it (in an order of its own).
fn report(run_id: &str, shard: Option<ShardInfo>, trials: Vec<TrialResult>) -> Report {
    let mut b = ReportBuilder::new(meta(shard));
    b.on_event(RunEvent::RunStarted(event::RunStarted {
        run_id: run_id.into(),
        started_at: "2026-01-01T00:00:00.000Z".into(),
        seed: 42,
        suites: 1,
        cases: 0,
        models: 0,
        groups: 0,
        trials: 0,
        jobs: 1,
        ignored_suites: 0,
    }));
    for t in trials.into_iter().rev() {
        b.on_event(RunEvent::TrialFinished(Box::new(t.into())));
    }
    b.on_event(RunEvent::RunFinished(event::RunFinished {
        duration_ms: 5.0,
        stopped: None,
        not_run: 0,
        unattributed_spans: 0,
        unattributed: Vec::new(),
    }));
    b.finish()
}

/// Shard `index` of 3 of [`trials`], by the frozen shard hash.
fn shard(index: u32) -> ShardReport {
    let s = Shard::new(index, 3).unwrap();
    let mine = trials()
        .into_iter()
        .filter(|t| s.contains(&t.suite, &t.case))
        .collect();
    let info = ShardInfo {
        index,
        count: 3,
        plan: "feedfacefeedface".into(),
        plan_trials: 72,
    };
    ShardReport {
        path: format!("r/shard-{index}.json").into(),
        report: report(&format!("run-{index}"), Some(info), mine),
    }
}

fn options(allow_partial: bool) -> MergeOptions {
    MergeOptions {
        allow_partial,
        run_id: "merged".into(),
        command: vec!["traceval".into(), "merge".into()],
    }
}

#[test]
fn merged_shards_are_the_unsharded_report_float_for_float() {
    let whole = report("whole", None, trials());
    // Every shard holds something, or the test proves less than it says.
    let shards: Vec<ShardReport> = [3, 1, 2].into_iter().map(shard).collect();
    assert!(shards.iter().all(|s| !s.report.trials.is_empty()));
    let merged = merge(shards, options(false)).unwrap();
    let mut got = merged.report;
    assert_eq!(got.run_id, "merged");
    let info = got.merged.take().unwrap();
    assert_eq!(info.shards, 3);
    assert!(info.missing.is_empty());
    let order: Vec<(u32, &str)> = info
        .inputs
        .iter()
        .map(|i| (i.shard, i.run_id.as_str()))
        .collect();
    assert_eq!(order, [(1, "run-1"), (2, "run-2"), (3, "run-3")]);
    // Everything but the run's identity and command is the unsharded run's, bit for bit
    // (`PartialEq` on f64 compares values; the JSON text compares the shortest repr).
    got.run_id = whole.run_id.clone();
    got.command = whole.command.clone();
    assert_eq!(got, whole);
    assert_eq!(
        serde_json::to_string(&got).unwrap(),
        serde_json::to_string(&whole).unwrap()
    );
    // Each shard's saved traces are found beside its report.
    let dirs: Vec<_> = merged.traces.iter().map(|t| t.dir.clone()).collect();
    assert_eq!(dirs[0], PathBuf::from("r/run-1/traces"));
    let files: usize = merged.traces.iter().map(|t| t.files.len()).sum();
    assert_eq!(files, 72);
}

#[test]
fn a_missing_shard_is_refused_unless_partial_merges_are_allowed() {
    let two = || vec![shard(1), shard(3)];
    let e = merge(two(), options(false)).unwrap_err();
    assert!(matches!(e, MergeError::Missing { .. }));
    assert!(!e.is_io());
    assert!(e.to_string().starts_with("shard 2/3 missing"), "{e}");
    let merged = merge(two(), options(true)).unwrap().report;
    assert_eq!(merged.merged.unwrap().missing, [2]);
    let n = shard(1).report.trials.len() + shard(3).report.trials.len();
    assert_eq!(merged.trials.len(), n);
    assert_eq!(missing_text(&[1, 3], 4), "shards 1/4, 3/4 missing");
}

#[test]
fn inputs_of_other_runs_are_refused_naming_the_file_and_the_field() {
    let refused = |edit: &dyn Fn(&mut ShardReport)| {
        let mut inputs = vec![shard(1), shard(2), shard(3)];
        edit(&mut inputs[1]);
        merge(inputs, options(false)).unwrap_err().to_string()
    };
    let e = refused(&|s| s.report.seed = 7);
    assert!(
        e.contains("r/shard-2.json") && e.contains("seed is 7"),
        "{e}"
    );
    let e = refused(&|s| s.report.suites[0].content_hash = "ff".into());
    assert!(e.contains("content_hash of suite `s` is ff"), "{e}");
    let e = refused(&|s| s.report.traceval_version = "0.0.1".into());
    assert!(e.contains("traceval_version is 0.0.1"), "{e}");
    let e = refused(&|s| s.report.shard.as_mut().unwrap().plan = "0".into());
    assert!(e.contains("shard.plan"), "{e}");
    let e = refused(&|s| s.report.shard.as_mut().unwrap().count = 4);
    assert!(e.contains("shard count is 4"), "{e}");
    let e = refused(&|s| s.report.git_commit = Some("abc".into()));
    assert!(e.contains("git_commit"), "{e}");
    let e = refused(&|s| s.report.shard = None);
    assert!(e.contains("r/shard-2.json` has no `shard`"), "{e}");
}

#[test]
fn a_shard_or_a_trial_given_twice_is_refused() {
    let e = merge(vec![shard(1), shard(2), shard(2), shard(3)], options(false)).unwrap_err();
    assert!(e.to_string().starts_with("shard 2/3 is given twice"), "{e}");
    // A trial of shard 1 also in shard 2's report (a copy edited by hand, a bad split).
    let (one, mut two) = (shard(1), shard(2));
    two.report.trials.push(one.report.trials[0].clone());
    let e = merge(vec![one, two, shard(3)], options(false)).unwrap_err();
    assert!(
        matches!(&e, MergeError::TrialTwice { trial, .. } if trial.starts_with("s::case")),
        "{e}"
    );
}

#[test]
fn run_level_fields_add_up_and_interruptions_carry_over() {
    let mut inputs = vec![shard(1), shard(2), shard(3)];
    inputs[0].report.not_run = 2;
    inputs[2].report.not_run = 3;
    inputs[1].report.unattributed_spans = 4;
    inputs[1].report.duration_ms = 99.0;
    inputs[2].report.interrupted = true;
    inputs[2].report.stopped = Some(StopReason::Interrupted);
    let w = Warning {
        trial: None,
        message: "same in every shard".into(),
    };
    for i in &mut inputs {
        i.report.warnings.push(w.clone());
    }
    let r = merge(inputs, options(false)).unwrap().report;
    assert_eq!((r.not_run, r.unattributed_spans), (5, 4));
    assert_eq!(r.duration_ms, 99.0);
    assert!(r.interrupted);
    assert_eq!(r.stopped, Some(StopReason::Interrupted));
    assert_eq!(r.warnings, [w]);
}

#[test]
fn saved_traces_are_copied_and_unsafe_names_never_followed() {
    let dir = std::env::temp_dir().join(format!("tv-merge-traces-{}", std::process::id()));
    let from = dir.join("run-1/traces");
    std::fs::create_dir_all(&from).unwrap();
    std::fs::write(from.join("a.otlp.jsonl"), "{}\n").unwrap();
    std::fs::write(dir.join("secret"), "no").unwrap();
    let sources = [TraceSource {
        dir: from,
        shard: "1/2".into(),
        files: vec!["a.otlp.jsonl".into(), "../../secret".into(), "gone".into()],
    }];
    let to = dir.join("merged/traces");
    let warnings = copy_traces(&sources, &to).unwrap();
    assert_eq!(
        std::fs::read_to_string(to.join("a.otlp.jsonl")).unwrap(),
        "{}\n"
    );
    assert_eq!(std::fs::read_dir(&to).unwrap().count(), 1);
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("2 of 3"), "{}", warnings[0]);
    let _ = std::fs::remove_dir_all(&dir);
}
