//! The report format (`format_version` 1), pinned: a report with every field set, every list
//! non-empty and every enum variant present is written as `traceval run` writes it, compared
//! with a snapshot, validated against `docs/reference/report.schema.json` and read back. A
//! change to any of the report's types fails here; if it is meant, it is a format change
//! (schema, `docs/reference/report.md`, CHANGELOG, and `FORMAT_VERSION` when incompatible).
//! A real run then fills the fields `traceval compare` reads (definition and shape hashes,
//! tokens by model).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use traceval::report::Report;
use traceval::report::schema::{
    AgentExit, CaseAggregate, CheckResult, ErrorKind, FORMAT_VERSION, JudgeRecord, JudgeSample,
    LatencyMs, MergeInfo, MergeInput, ModelAggregate, ModelEndpoint, ModelUsage, PriceOverride,
    PricingInfo, ReplaySource, ShardInfo, StopReason, SuiteInfo, ToolCallRecord, TrialId,
    TrialMetrics, TrialResult, Warning,
};

use crate::reference::check_report;

/// A trial with every optional field set.
fn full_trial(trial: u32, exit: AgentExit, error_kind: Option<ErrorKind>) -> TrialResult {
    TrialResult {
        suite: "weather".into(),
        case: "paris".into(),
        model: "sunny".into(),
        trial,
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        agent_trace_ids: vec!["00f067aa0ba902b700f067aa0ba902b7".into()],
        passed: false,
        error: error_kind.map(|_| "the agent timed out after 30s".into()),
        error_kind,
        duration_ms: 1234.5,
        exit,
        output: "Sunny in Paris".into(),
        stderr_tail: "warn: slow\n".into(),
        output_truncated: true,
        stderr_truncated: true,
        checks: vec![CheckResult {
            name: "tools".into(),
            passed: false,
            message: "expected `get_weather`".into(),
            score: Some(0.5),
        }],
        metrics: TrialMetrics {
            llm_calls: 3,
            tool_calls: vec![
                ToolCallRecord {
                    name: "get_weather".into(),
                    args: Some(json!({"city": "Paris"})),
                },
                ToolCallRecord {
                    name: "clock".into(),
                    args: None,
                },
            ],
            input_tokens: 100,
            output_tokens: 20,
            cache_read_tokens: 5,
            cache_write_tokens: 7,
            cost_usd: Some(0.25),
            unpriced: true,
            unpriced_models: vec!["llama-3".into()],
            retries: 1,
            error_spans: 2,
            span_count: 9,
            tool_precision: Some(1.0),
            tool_recall: Some(0.5),
            tool_f1: Some(0.75),
            tool_matched: Some(1),
            tool_expected: Some(2),
            llm_durations_ns: vec![1_000_000, 2_000_000],
            tool_durations_ns: vec![500_000],
            usage_by_model: BTreeMap::from([
                (
                    "sunny-2026-01".into(),
                    ModelUsage {
                        input: 60,
                        output: 15,
                        cache_read: 5,
                        cache_write: 7,
                    },
                ),
                (
                    "sunny-mini".into(),
                    ModelUsage {
                        input: 40,
                        output: 5,
                        cache_read: 0,
                        cache_write: 0,
                    },
                ),
            ]),
        },
        warnings: vec!["the answer was cut at 16384 bytes".into()],
        span_tree: Some("eval.trial  [other]  1.2s\n  chat sunny  [llm]  0.5s\n".into()),
        trace_file: Some(format!("weather/paris/sunny/{trial}.otlp.json")),
        judges: vec![JudgeRecord {
            name: "judge".into(),
            model: "critic".into(),
            trace_id: Some("aaaabbbbccccddddaaaabbbbccccdddd".into()),
            samples: vec![
                JudgeSample {
                    passed: true,
                    score: Some(0.75),
                    explanation: Some("mentions the sun".into()),
                    error: None,
                },
                JudgeSample {
                    passed: false,
                    score: None,
                    explanation: None,
                    error: Some("the verdict was unreadable".into()),
                },
            ],
            llm_calls: 2,
            input_tokens: 40,
            output_tokens: 8,
            cost_usd: Some(0.125),
            unpriced: false,
        }],
        judge_trace_file: Some(format!("weather/paris/sunny/{trial}.judges.otlp.json")),
        snapshot_matched: Some(false),
        shape_hash: Some("9f3c2a1b0e4d5c6f".into()),
    }
}

/// A trial with nothing optional set: the skipped fields are left out of the JSON.
fn bare_trial(trial: u32, exit: AgentExit, error_kind: Option<ErrorKind>) -> TrialResult {
    TrialResult {
        suite: "weather".into(),
        case: "paris".into(),
        model: "sunny".into(),
        trial,
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
        agent_trace_ids: Vec::new(),
        passed: false,
        error: Some("the agent did not finish".into()),
        error_kind,
        duration_ms: 0.5,
        exit,
        output: String::new(),
        stderr_tail: String::new(),
        output_truncated: false,
        stderr_truncated: false,
        checks: Vec::new(),
        metrics: TrialMetrics::default(),
        warnings: Vec::new(),
        span_tree: None,
        trace_file: None,
        judges: Vec::new(),
        judge_trace_file: None,
        snapshot_matched: None,
        shape_hash: None,
    }
}

fn latency(base: f64) -> LatencyMs {
    LatencyMs {
        p50: base,
        p90: base * 2.0,
        p95: base * 3.0,
        p99: base * 4.0,
    }
}

/// A report with every field set and every enum variant somewhere.
fn full_report() -> Report {
    let keyed = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    };
    Report {
        format_version: FORMAT_VERSION,
        run_id: "0190a3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b".into(),
        started_at: "2026-01-02T03:04:05.678Z".into(),
        duration_ms: 4321.25,
        traceval_version: "0.1.0".into(),
        git_commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
        command: vec![
            "traceval".into(),
            "run".into(),
            "--trials".into(),
            "5".into(),
        ],
        seed: 42,
        interrupted: false,
        stopped: Some(StopReason::FailFast),
        not_run: 3,
        unattributed_spans: 4,
        suites: vec![SuiteInfo {
            name: "weather".into(),
            path: "suites/weather.toml".into(),
            content_hash: "cbf29ce484222325".into(),
        }],
        pricing: PricingInfo {
            source: "https://openai.com/api/pricing".into(),
            date: Some("2026-01".into()),
            overrides: vec![PriceOverride {
                model: "sunny".into(),
                defined_in: "traceval.toml".into(),
                input: 2.5,
                output: 10.0,
                input_cache_read: Some(1.25),
                input_cache_write: Some(3.75),
            }],
        },
        trials: vec![
            full_trial(0, AgentExit::Code { code: 1 }, None),
            bare_trial(1, AgentExit::Signal { signal: 9 }, Some(ErrorKind::Agent)),
            bare_trial(2, AgentExit::TimedOut, Some(ErrorKind::Agent)),
            bare_trial(3, AgentExit::Cancelled, None),
            full_trial(
                4,
                AgentExit::SpawnFailed {
                    message: "no such file".into(),
                },
                Some(ErrorKind::Infrastructure),
            ),
        ],
        cases: vec![CaseAggregate {
            suite: "weather".into(),
            case: "paris".into(),
            model: "sunny".into(),
            n: 5,
            passed: 0,
            pass_rate: 0.0,
            pass_at_k: keyed(&[("1", 0.0), ("2", 0.0)]),
            pass_hat_k: keyed(&[("1", 0.0), ("2", 0.0)]),
            flaky: false,
            snapshot_matched: Some(0),
            definition_hash: Some("0a1b2c3d4e5f6071".into()),
        }],
        models: vec![ModelAggregate {
            model: "sunny".into(),
            trials: 5,
            passed: 0,
            failed: 1,
            errored: 4,
            pass_rate: 0.0,
            pass_rate_ci95: Some([0.0, 0.5]),
            pass_rate_ci95_clustered: Some([0.0, 0.75]),
            pass_at_k: keyed(&[("1", 0.0)]),
            pass_hat_k: keyed(&[("1", 0.0)]),
            tool_f1_macro: Some(0.75),
            tool_f1_micro: Some(0.5),
            latency_ms: Some(latency(1000.0)),
            llm_latency_ms: Some(latency(1.0)),
            tool_latency_ms: Some(latency(0.5)),
            input_tokens: 500,
            output_tokens: 100,
            cache_read_tokens: 25,
            cache_write_tokens: 35,
            cost_usd: Some(1.25),
            unpriced_trials: 5,
            unpriced_models: vec!["llama-3".into()],
        }],
        warnings: vec![
            Warning {
                trial: None,
                message: "2 spans matched no trial".into(),
            },
            Warning {
                trial: Some(TrialId {
                    suite: "weather".into(),
                    case: "paris".into(),
                    model: "sunny".into(),
                    trial: 0,
                }),
                message: "the agent left a process behind".into(),
            },
        ],
        replayed_from: Some(ReplaySource {
            run_id: "0190a3c4-0000-7000-8000-000000000000".into(),
            report: "reports/0190a3c4-0000-7000-8000-000000000000.json".into(),
        }),
        traces_dir: Some("/p/reports/0190a3c4-0000-7000-8000-000000000000/traces".into()),
        model_endpoints: vec![ModelEndpoint {
            suite: "weather".into(),
            model: "sunny".into(),
            provider: "openai".into(),
            base_url: "https://api.openai.com/v1".into(),
        }],
        // Never both in one report (a merged report has no shard), but every field is set.
        shard: Some(ShardInfo {
            index: 2,
            count: 3,
            plan: "0123456789abcdef".into(),
            plan_trials: 15,
        }),
        merged: Some(MergeInfo {
            shards: 3,
            inputs: vec![MergeInput {
                report: "shards/1.json".into(),
                run_id: "0190a3c4-1111-7000-8000-000000000000".into(),
                shard: 1,
            }],
            missing: vec![2, 3],
        }),
        forward: None,
    }
}

/// The report as `traceval run` writes it (`report::write_json`).
fn written(report: &Report) -> String {
    let dir = std::env::temp_dir().join(format!("tv-report-format-{}", std::process::id()));
    let path = dir.join("report.json");
    traceval::report::write_json(&path, report).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    text
}

#[test]
fn the_report_format_is_pinned() {
    let report = full_report();
    let text = written(&report);
    insta::assert_snapshot!("full_report", text);
    let value: Value = serde_json::from_str(&text).unwrap();
    check_report(&value);
    let back: Report = serde_json::from_str(&text).unwrap();
    assert_eq!(back, report);
}

#[test]
fn an_interrupted_report_and_a_bare_one_match_the_schema() {
    let mut report = full_report();
    report.interrupted = true;
    report.stopped = Some(StopReason::Interrupted);
    let value = serde_json::to_value(&report).unwrap();
    assert_eq!(value["stopped"], json!("interrupted"));
    check_report(&value);

    // Nothing optional set: every skipped field is left out, and the rest still validates.
    let bare = traceval::report::ReportBuilder::new(Default::default()).finish();
    check_report(&serde_json::to_value(&bare).unwrap());
}

#[test]
fn a_format_1_report_without_the_fields_added_later_still_reads() {
    // The fields `docs/reference/report.md` lists as added during format 1, and every field
    // written only when set, removed.
    let mut value = serde_json::to_value(full_report()).unwrap();
    let object = value.as_object_mut().unwrap();
    object.remove("replayed_from");
    object.remove("traces_dir");
    object.remove("model_endpoints");
    object["pricing"]
        .as_object_mut()
        .unwrap()
        .remove("overrides");
    object["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("snapshot_matched");
    object["cases"][0]
        .as_object_mut()
        .unwrap()
        .remove("definition_hash");
    let model = object["models"][0].as_object_mut().unwrap();
    for key in [
        "pass_rate_ci95_clustered",
        "cache_write_tokens",
        "unpriced_models",
    ] {
        model.remove(key);
    }
    for trial in object["trials"].as_array_mut().unwrap() {
        let trial = trial.as_object_mut().unwrap();
        for key in [
            "error_kind",
            "output_truncated",
            "stderr_truncated",
            "warnings",
            "span_tree",
            "trace_file",
            "judges",
            "judge_trace_file",
            "snapshot_matched",
            "shape_hash",
        ] {
            trial.remove(key);
        }
        if let Some(check) = trial["checks"].get_mut(0) {
            check.as_object_mut().unwrap().remove("score");
        }
        let metrics = trial["metrics"].as_object_mut().unwrap();
        for key in [
            "cache_write_tokens",
            "unpriced_models",
            "tool_matched",
            "tool_expected",
            "llm_durations_ns",
            "tool_durations_ns",
            "usage_by_model",
        ] {
            metrics.remove(key);
        }
    }
    let old: Report = serde_json::from_value(value).unwrap();
    assert_eq!(old.replayed_from, None);
    assert!(old.model_endpoints.is_empty() && old.pricing.overrides.is_empty());
    let t = &old.trials[4];
    assert_eq!(
        (t.error_kind, t.output_truncated, t.snapshot_matched),
        (None, false, None)
    );
    assert_eq!(t.metrics.cache_write_tokens, 0);
    assert!(t.judges.is_empty() && t.metrics.llm_durations_ns.is_empty());
    assert_eq!(old.models[0].pass_rate_ci95_clustered, None);
    assert_eq!(old.cases[0].definition_hash, None);
    assert!(old.trials.iter().all(|t| t.shape_hash.is_none()));
    assert!(
        old.trials
            .iter()
            .all(|t| t.metrics.usage_by_model.is_empty())
    );
}

const COMPARABLE: &str = r#"models = ["mini"]
trials = 2

[agent]
kind = "builtin"
max-turns = 3

[[tool]]
name = "get_weather"
returns = "18 C and sunny"

[model.mini]
provider = "scripted"
script = "scripts/mini.toml"

[[case]]
id = "paris"
input = "What's the weather in Paris?"
expect = { output-contains = ["sunny"] }

[[case]]
id = "rome"
input = "And in Rome?"
"#;

/// A tool call, then the answer.
const COMPARABLE_RULES: &str = r#"model = "gpt-4o-mini-2024-07-18"

[[rule]]
when.turn = 0
tool-calls = [{ name = "get_weather", args = { city = "Paris" } }]
usage = { input = 1200, output = 20, cache-read = 1000 }

[[rule]]
when.tool-called = "get_weather"
text = "Paris: 18 C and sunny."
usage = { input = 1300, output = 12 }
"#;

/// `(case, hash)` pairs.
type Hashes = Vec<(String, String)>;

/// `(case, definition_hash)` of every case, and each trial's `(case, shape_hash)`.
fn hashes(report: &Value) -> (Hashes, Hashes) {
    let pick = |list: &str, key: &str| -> Vec<(String, String)> {
        report[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                let hash = v[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("no {key} in {v:#}"));
                assert!(hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
                (v["case"].as_str().unwrap().to_owned(), hash.to_owned())
            })
            .collect()
    };
    (
        pick("cases", "definition_hash"),
        pick("trials", "shape_hash"),
    )
}

#[test]
fn a_run_records_case_definitions_trace_shapes_and_tokens_by_model() {
    let p = crate::support::TestProject::new("comparable");
    p.file("suites/weather.toml", COMPARABLE)
        .file("suites/scripts/mini.toml", COMPARABLE_RULES);
    let run = p.run(&["--seed", "7"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let (cases, shapes) = hashes(run.report());
    assert_eq!(cases.len(), 2);
    assert_ne!(cases[0].1, cases[1].1);
    // A scripted agent does the same thing in every trial of a case.
    assert_eq!(shapes.len(), 4);
    assert!(shapes[0].1 == shapes[1].1 && shapes[2].1 == shapes[3].1);

    // Tokens by the model that answered, adding up to the trial's totals.
    for trial in run.report()["trials"].as_array().unwrap() {
        let metrics = &trial["metrics"];
        let usage = &metrics["usage_by_model"]["gpt-4o-mini-2024-07-18"];
        assert_eq!(
            metrics["usage_by_model"].as_object().unwrap().len(),
            1,
            "{metrics:#}"
        );
        assert_eq!(usage["input"], metrics["input_tokens"]);
        assert_eq!(usage["output"], metrics["output_tokens"]);
        assert_eq!(usage["cache_read"], metrics["cache_read_tokens"]);
        assert_eq!(usage["cache_write"], metrics["cache_write_tokens"]);
    }

    // Editing one case's input changes its definition hash alone; the shapes stay.
    p.file(
        "suites/weather.toml",
        &COMPARABLE.replace("And in Rome?", "And in Milan?"),
    );
    let edited = p.run(&["--seed", "7"]);
    assert_eq!(edited.code, 0, "{}", edited.stderr);
    let (edited_cases, edited_shapes) = hashes(edited.report());
    assert_eq!(edited_cases[0], cases[0]);
    assert_ne!(edited_cases[1].1, cases[1].1);
    assert_eq!(edited_shapes, shapes);
}
