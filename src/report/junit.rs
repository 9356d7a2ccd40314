//! JUnit XML: one `<testsuite>` per suite × model, one `<testcase>` per case. A case fails when
//! any of its trials failed; the failure message is the first failed check of the first failing
//! trial, and its span tree goes to `system-out`, so CI test tabs show what the agent did.

use std::collections::BTreeMap;
use std::time::Duration;

use quick_junit::{NonSuccessKind, TestCase, TestCaseStatus, TestSuite};

use super::Report;
use super::schema::TrialResult;

/// The report as JUnit XML.
pub(crate) fn to_junit(report: &Report) -> String {
    let mut junit = quick_junit::Report::new("traceval");
    junit.set_time(Duration::from_secs_f64(report.duration_ms / 1000.0));
    let mut suites: BTreeMap<(&str, &str), BTreeMap<&str, Vec<&TrialResult>>> = BTreeMap::new();
    for t in &report.trials {
        suites
            .entry((&t.suite, &t.model))
            .or_default()
            .entry(&t.case)
            .or_default()
            .push(t);
    }
    for ((suite, model), cases) in suites {
        let mut ts = TestSuite::new(format!("{suite} ({model})"));
        for (case, trials) in cases {
            let passed = trials.iter().filter(|t| t.passed).count();
            let status = match trials.iter().find(|t| !t.passed) {
                None => TestCaseStatus::success(),
                Some(failing) => {
                    let kind = if failing.errored() {
                        NonSuccessKind::Error
                    } else {
                        NonSuccessKind::Failure
                    };
                    let mut status = TestCaseStatus::non_success(kind);
                    status.set_message(failure_message(failing));
                    status.set_type(failure_type(failing));
                    status.set_description(format!(
                        "{passed}/{} trials passed\n{}",
                        trials.len(),
                        failure_details(failing)
                    ));
                    status
                }
            };
            let mut tc = TestCase::new(case, status);
            tc.set_classname(format!("{suite}.{model}"));
            let secs: f64 = trials.iter().map(|t| t.duration_ms / 1000.0).sum();
            tc.set_time(Duration::from_secs_f64(secs.max(0.0)));
            if let Some(tree) = trials.iter().find_map(|t| t.span_tree.as_deref()) {
                tc.set_system_out(tree);
            }
            ts.add_test_case(tc);
        }
        junit.add_test_suite(ts);
    }
    junit.to_string().expect("JUnit serialization into memory")
}

fn failure_message(t: &TrialResult) -> String {
    if let Some(e) = &t.error {
        return format!("trial {}: {e}", t.trial);
    }
    match t.checks.iter().find(|c| !c.passed) {
        Some(c) => format!("trial {}: {}: {}", t.trial, c.name, c.message),
        None => format!("trial {} failed", t.trial),
    }
}

fn failure_type(t: &TrialResult) -> String {
    if t.errored() {
        return "error".to_owned();
    }
    t.checks
        .iter()
        .find(|c| !c.passed)
        .map_or_else(|| "failure".to_owned(), |c| c.name.clone())
}

fn failure_details(t: &TrialResult) -> String {
    t.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: {}", c.name, c.message))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AgentExit, CheckResult, TrialMetrics, TrialResult};
    use crate::report::{ReportBuilder, RunMeta};

    #[test]
    fn one_testsuite_per_suite_and_model_and_the_first_failed_check_as_message() {
        let mut b = ReportBuilder::new(RunMeta::default());
        for (case, passed) in [("ok", true), ("bad <&>", false)] {
            b.on_event(crate::event::RunEvent::TrialFinished(Box::new(
                TrialResult {
                    suite: "weather".into(),
                    case: case.into(),
                    model: "sunny".into(),
                    trial: 0,
                    trace_id: "t".into(),
                    agent_trace_ids: vec![],
                    passed,
                    error: None,
                    error_kind: None,
                    duration_ms: 1500.0,
                    exit: AgentExit::Code { code: 0 },
                    output: String::new(),
                    stderr_tail: String::new(),
                    output_truncated: false,
                    stderr_truncated: false,
                    checks: vec![CheckResult {
                        name: "output-contains".into(),
                        passed,
                        message: "answer lacks \"Paris\"".into(),
                        score: None,
                    }],
                    metrics: TrialMetrics::default(),
                    warnings: vec![],
                    span_tree: (!passed).then(|| "eval.trial  [other]  1.5s\n".to_owned()),
                    trace_file: None,
                    judges: Vec::new(),
                    judge_trace_file: None,
                    snapshot_matched: None,
                    shape_hash: None,
                    trace: None,
                },
            )));
        }
        let xml = to_junit(&b.finish());
        assert!(
            xml.contains(
                r#"<testsuite name="weather (sunny)" tests="2" skipped="0" errors="0" failures="1""#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<testcase name="bad &lt;&amp;&gt;" classname="weather.sunny""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"message="trial 0: output-contains: answer lacks &quot;Paris&quot;""#),
            "{xml}"
        );
        assert!(
            xml.contains("<system-out>eval.trial  [other]  1.5s"),
            "{xml}"
        );
    }
}
