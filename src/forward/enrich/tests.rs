use std::sync::Arc;

use super::*;
use crate::event::{AgentExit, JudgeRecord, TrialMetrics};
use crate::trace::{Resource, TraceId};

fn span(trace: u8, id: u8, parent: Option<u8>, name: &str, service: &Arc<Resource>) -> Arc<Span> {
    let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), name);
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    s.start_time_unix_nano = 10;
    s.end_time_unix_nano = 20 + u64::from(id);
    s.attributes = Attributes(vec![KeyValue::new("eval.run_id", "stale")]);
    s.resource = Arc::clone(service);
    Arc::new(s)
}

fn check(name: &str, passed: bool, score: Option<f64>) -> CheckResult {
    CheckResult {
        name: name.into(),
        passed,
        message: format!("{name} said so"),
        score,
    }
}

/// A failed trial: the trial root (trace 1), the agent's own trace 2 (an agent that did not
/// read TRACEPARENT) with a tool call a span assertion failed on, and a judge's span.
fn fixture() -> (TrialResult, TrialTrace) {
    let agent = Arc::new(Resource {
        attributes: Attributes(vec![KeyValue::new("service.name", "agent")]),
        schema_url: String::new(),
    });
    let root = span(1, 1, None, "eval.trial", &agent);
    let spans = vec![
        span(2, 2, None, "invoke_agent", &agent),
        span(2, 3, Some(2), "chat gpt", &agent),
        span(2, 4, Some(2), "execute_tool delete_account", &agent),
    ];
    let judge = vec![span(3, 5, None, "eval.judge", &agent)];
    let result = TrialResult {
        suite: "support".into(),
        case: "delete".into(),
        model: "sloppy".into(),
        trial: 3,
        trace_id: TraceId([1; 16]).to_string(),
        agent_trace_ids: vec![TraceId([2; 16]).to_string()],
        passed: false,
        error: None,
        error_kind: None,
        duration_ms: 12.0,
        exit: AgentExit::Code { code: 0 },
        output: "done".into(),
        stderr_tail: String::new(),
        output_truncated: false,
        stderr_truncated: false,
        checks: vec![
            check("tools", true, Some(0.75)),
            check("span", false, None),
            check("polite", true, Some(0.9)),
        ],
        metrics: TrialMetrics {
            llm_calls: 1,
            cost_usd: None,
            unpriced: true,
            ..TrialMetrics::default()
        },
        warnings: Vec::new(),
        span_tree: None,
        trace_file: None,
        judges: vec![JudgeRecord {
            name: "polite".into(),
            model: "judge".into(),
            trace_id: None,
            samples: Vec::new(),
            llm_calls: 1,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            unpriced: true,
        }],
        judge_trace_file: None,
        snapshot_matched: None,
        shape_hash: None,
        trace: None,
    };
    let trace = TrialTrace {
        root,
        spans,
        judge_spans: judge,
        offending: vec![(1, SpanId([4; 8]))],
        last_llm: Some(SpanId([3; 8])),
        input: "delete my account".into(),
        conventions: Default::default(),
    };
    (result, trace)
}

fn run(profile: Profile) -> RunContext {
    RunContext {
        run_id: "run-1".into(),
        profile,
        events: Events::Span,
        project: "traceval".into(),
        ci: vec![KeyValue::new("vcs.ref.head.revision", "abc123")],
        replayed_from: None,
    }
}

/// The trial's spans as a backend receives them.
fn forwarded(run: &RunContext, result: &TrialResult, trace: &TrialTrace) -> Vec<Span> {
    crate::forward::encode::decoded(&trial(run, result, trace))
}

fn evaluations(span: &Span) -> Vec<(String, f64, String)> {
    span.events
        .iter()
        .filter(|e| e.name == EVALUATION_EVENT)
        .map(|e| {
            let a = &e.attributes;
            let Some(Value::Double(score)) = a.get("gen_ai.evaluation.score.value") else {
                panic!("score is not a double: {a:?}")
            };
            (
                a.str("gen_ai.evaluation.name").unwrap().to_owned(),
                *score,
                a.str("gen_ai.evaluation.score.label").unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_span_and_resource_carries_the_run_and_the_trial() {
    let (result, trace) = fixture();
    let spans = forwarded(&run(Profile::Generic), &result, &trace);
    assert_eq!(spans.len(), 5, "root, three agent spans, one judge span");
    for s in &spans {
        // Replaced, not duplicated: the stale value the agent set is gone.
        let ids: Vec<_> = s
            .attributes
            .iter()
            .filter(|kv| &*kv.key == "eval.run_id")
            .collect();
        assert_eq!(ids.len(), 1, "{}", s.name);
        assert_eq!(s.attributes.str("eval.run_id"), Some("run-1"));
        assert_eq!(s.attributes.str("eval.case"), Some("delete"));
        assert_eq!(s.attributes.get("eval.trial"), Some(&Value::Int(3)));
        assert_eq!(s.resource.attributes.str("eval.run_id"), Some("run-1"));
        assert_eq!(s.resource.attributes.str("service.name"), Some("agent"));
        assert_eq!(
            s.resource.attributes.str("vcs.ref.head.revision"),
            Some("abc123")
        );
    }
    // One resource in, one resource out: the spans still share it.
    assert!(Arc::ptr_eq(&spans[1].resource, &spans[2].resource));
    assert_eq!(spans[4].attributes.str("eval.role"), Some("judge"));
    assert_eq!(spans[1].attributes.str("eval.role"), None);
}

#[test]
fn the_root_has_the_verdict_one_event_per_check_and_one_for_the_trial() {
    let (result, trace) = fixture();
    let spans = forwarded(&run(Profile::Generic), &result, &trace);
    let root = &spans[0];
    let a = &root.attributes;
    assert_eq!(a.str("test.case.result.status"), Some("fail"));
    assert_eq!(a.str("test.case.name"), Some("support::delete"));
    assert_eq!(a.get("eval.passed"), Some(&Value::Bool(false)));
    assert_eq!(a.get("eval.checks.failed"), Some(&Value::Int(1)));
    assert_eq!(a.get("eval.cost_usd"), None, "unpriced is absent, never 0");
    assert_eq!(
        evaluations(root),
        [
            ("tools".to_owned(), 0.75, "pass".to_owned()),
            ("span".to_owned(), 0.0, "fail".to_owned()),
            ("polite".to_owned(), 0.9, "pass".to_owned()),
            ("trial".to_owned(), 0.0, "fail".to_owned()),
        ]
    );
    // The agent's own trace is linked from the root.
    assert_eq!(root.links.len(), 1);
    assert_eq!(root.links[0].trace_id, TraceId([2; 16]));
    assert_eq!(root.links[0].span_id, SpanId([2; 8]));
}

#[test]
fn a_failed_check_is_also_on_the_span_it_points_at_and_a_judge_on_the_last_llm_call() {
    let (result, trace) = fixture();
    let spans = forwarded(&run(Profile::Generic), &result, &trace);
    let by_name = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    assert_eq!(
        evaluations(by_name("execute_tool delete_account")),
        [("span".to_owned(), 0.0, "fail".to_owned())]
    );
    assert_eq!(
        evaluations(by_name("chat gpt")),
        [("polite".to_owned(), 0.9, "pass".to_owned())]
    );
    assert!(evaluations(by_name("invoke_agent")).is_empty());
    let none = RunContext {
        events: Events::None,
        ..run(Profile::Generic)
    };
    assert!(
        forwarded(&none, &result, &trace)
            .iter()
            .all(|s| s.events.is_empty())
    );
}

#[test]
fn the_phoenix_profile_names_the_project_the_kinds_and_a_session_per_case() {
    let (result, trace) = fixture();
    let spans = forwarded(&run(Profile::Phoenix), &result, &trace);
    let root = &spans[0];
    assert_eq!(
        root.attributes.str("openinference.span.kind"),
        Some("CHAIN")
    );
    assert_eq!(
        root.attributes.str("input.value"),
        Some("delete my account")
    );
    assert_eq!(root.attributes.str("output.value"), Some("done"));
    assert_eq!(
        root.attributes.str("session.id"),
        Some("run-1:support::delete@sloppy")
    );
    assert_eq!(
        spans[4].attributes.str("openinference.span.kind"),
        Some("EVALUATOR")
    );
    assert!(
        spans
            .iter()
            .all(|s| s.resource.attributes.str("openinference.project.name") == Some("traceval"))
    );
}

#[test]
fn the_run_span_links_its_trials_and_says_how_the_run_went() {
    let roots: Vec<_> = (0..200u8)
        .map(|i| (TraceId([i; 16]), SpanId([i; 8])))
        .collect();
    let s = run_span(
        &run(Profile::Generic),
        (1, 2),
        (false, false),
        &[("careful".into(), 1.0), ("sloppy".into(), 0.25)],
        &roots,
    );
    assert_eq!(s.name, "eval.run");
    assert_eq!(s.attributes.str("test.suite.run.status"), Some("failure"));
    assert_eq!(
        s.attributes.get("eval.pass_rate.sloppy"),
        Some(&Value::Double(0.25))
    );
    assert_eq!(s.links.len(), 128, "the SDK's default link limit");
    assert_eq!(s.resource.attributes.str("eval.run_id"), Some("run-1"));
    let stopped = run_span(&run(Profile::Generic), (1, 2), (true, true), &[], &[]);
    assert_eq!(
        stopped.attributes.str("test.suite.run.status"),
        Some("aborted")
    );
}

#[test]
fn long_explanations_are_cut_on_a_character_boundary() {
    let long = "é".repeat(3000);
    let cut = truncate(&long);
    assert!(cut.len() <= MAX_EXPLANATION + "…".len());
    assert!(cut.ends_with('…'));
}

#[test]
fn equal_resources_of_separate_requests_are_encoded_once() {
    // An agent exporting span by span: every span decoded with a resource of its own.
    let (result, mut trace) = fixture();
    let resource = |service: &str| {
        Arc::new(Resource {
            attributes: Attributes(vec![KeyValue::new("service.name", service)]),
            schema_url: String::new(),
        })
    };
    trace.spans = (2..6)
        .map(|id| span(2, id, None, "chat", &resource("agent")))
        .chain([span(2, 9, None, "other", &resource("other"))])
        .collect();
    let out = trial(&run(Profile::Generic), &result, &trace);
    let agent: Vec<_> = out[1..5].iter().map(|o| Arc::as_ptr(&o.resource)).collect();
    assert!(agent.iter().all(|p| *p == agent[0]), "one for the four");
    assert!(
        !Arc::ptr_eq(&out[1].resource, &out[5].resource),
        "another for another"
    );
}

#[test]
fn unattributed_spans_carry_the_run_and_the_mark_only() {
    let agent = Arc::new(Resource::default());
    let spans = [
        span(7, 1, None, "stray", &agent),
        span(7, 2, Some(1), "child", &agent),
    ];
    let out = unattributed(&run(Profile::Langfuse), &spans);
    let decoded = crate::forward::encode::decoded(&out);
    assert_eq!(decoded.len(), 2);
    for s in &decoded {
        assert_eq!(
            s.attributes.str("eval.run_id"),
            Some("run-1"),
            "the stale one replaced"
        );
        assert_eq!(
            s.attributes.get("eval.unattributed"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            s.attributes.str("langfuse.trace.metadata.eval_run_id"),
            Some("run-1")
        );
        assert_eq!(s.attributes.get("eval.case"), None);
        assert_eq!(s.resource.attributes.str("eval.run_id"), Some("run-1"));
        assert_eq!(
            s.resource.attributes.str("vcs.ref.head.revision"),
            Some("abc123")
        );
    }
}
