//! The pure step of a trial, without tokio: spans in, a result out.

use super::*;
use std::path::PathBuf;
use std::time::Duration;

use crate::snapshot::{SnapshotMode, SnapshotSettings, Writes};
use crate::suite::spec::{ExpectedTool, Judge};
use crate::trace::{Attributes, KeyValue, SpanId, SpanTree, Status, StatusCode, TraceId};

fn span(trace: u8, id: u8, parent: Option<u8>) -> Arc<Span> {
    let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), "s");
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    Arc::new(s)
}

#[test]
fn lost_parents_and_refused_requests_become_warnings() {
    let root = span(1, 1, None);
    // A child of the root, a child of a span that arrived, two whose parents did not (one
    // naming a span of another trace).
    let spans = [
        span(1, 2, Some(1)),
        span(1, 3, Some(2)),
        span(1, 4, Some(9)),
        span(2, 5, Some(2)),
    ];
    assert_eq!(
        transport_warnings(None, &spans, &root),
        ["2 spans' parents never arrived: the agent may have exited before flushing"]
    );
    assert_eq!(
        transport_warnings(
            Some((3, "413 Payload Too Large: big".into())),
            &spans[..2],
            &root
        ),
        [
            "the receiver refused 3 OTLP export requests of the agent; the first: 413 Payload Too Large: big"
        ]
    );
}

#[test]
fn results_keep_the_head_of_the_answer_and_the_tail_of_stderr_on_characters() {
    assert_eq!(keep_head("héllo".into(), 2), "h");
    assert_eq!(keep_head("héllo".into(), 3), "hé");
    assert_eq!(keep_head("hi".into(), 2), "hi");
    assert_eq!(keep_tail("hellé".into(), 2), "é");
    assert_eq!(keep_tail("hellé".into(), 1), "");
    assert_eq!(keep_tail("hellé".into(), 3), "lé");
}

#[test]
fn the_stderr_ending_is_its_last_non_blank_line() {
    assert_eq!(
        stderr_ending("Traceback\n  File\nRuntimeError: boom\n\n"),
        "; its stderr ends: RuntimeError: boom"
    );
    assert_eq!(stderr_ending(" \n"), "; it wrote nothing to stderr");
}

/// A span of the agent's trace (2) at `start` ms for `len` ms.
fn agent_span(
    id: u8,
    parent: Option<u8>,
    start: u64,
    name: &str,
    attrs: &[(&str, &str)],
) -> Arc<Span> {
    let mut s = Span::new(TraceId([2; 16]), SpanId([id; 8]), name);
    s.parent_span_id = parent.map(|p| SpanId([p; 8]));
    s.start_time_unix_nano = start * 1_000_000;
    s.end_time_unix_nano = (start + 10) * 1_000_000;
    s.attributes = Attributes(attrs.iter().map(|(k, v)| KeyValue::new(k, *v)).collect());
    Arc::new(s)
}

/// The trial root (trace 1) and an agent that called `tool`; `failed` makes the tool span an
/// error.
fn trial(tool: &str, failed: bool) -> (Arc<Span>, Vec<Arc<Span>>) {
    let mut root = Span::new(TraceId([1; 16]), SpanId([1; 8]), "eval.trial");
    root.end_time_unix_nano = 100 * 1_000_000;
    let agent = agent_span(
        10,
        None,
        1,
        "invoke_agent a",
        &[("gen_ai.operation.name", "invoke_agent")],
    );
    let chat = agent_span(
        11,
        Some(10),
        2,
        "chat m",
        &[
            ("gen_ai.operation.name", "chat"),
            ("gen_ai.request.model", "m"),
        ],
    );
    let mut call = (*agent_span(
        12,
        Some(10),
        20,
        &format!("execute_tool {tool}"),
        &[
            ("gen_ai.operation.name", "execute_tool"),
            ("gen_ai.tool.name", tool),
        ],
    ))
    .clone();
    if failed {
        call.status = Status {
            code: StatusCode::Error,
            message: "denied".into(),
        };
    }
    (Arc::new(root), vec![agent, chat, Arc::new(call)])
}

fn outcome(exit: AgentExit, output: &str) -> AgentOutcome {
    AgentOutcome {
        exit,
        duration: Duration::from_millis(100),
        output: output.to_owned(),
        stderr_tail: String::new(),
        warnings: vec!["from the driver".to_owned()],
        recording: None,
        infrastructure_error: None,
    }
}

fn expect_weather() -> Expect {
    Expect {
        tools: Some(vec![ExpectedTool {
            name: "weather".into(),
            args: None,
        }]),
        no_error_spans: true,
        ..Expect::default()
    }
}

fn id() -> TrialId {
    TrialId {
        suite: "s".into(),
        case: "c".into(),
        model: "m".into(),
        trial: 3,
    }
}

/// Grades a trial of `root` and `spans` through both steps, as `trial` does, without judges.
fn grade(
    expect: &Expect,
    trial: &(Arc<Span>, Vec<Arc<Span>>),
    outcome: AgentOutcome,
    after: After<'_>,
) -> Ran {
    grade_as(expect, trial, outcome, after, false)
}

/// [`grade`], of a replay's recording when `replayed`.
fn grade_as(
    expect: &Expect,
    (root, spans): &(Arc<Span>, Vec<Arc<Span>>),
    mut outcome: AgentOutcome,
    after: After<'_>,
    replayed: bool,
) -> Ran {
    let (tree, root_node) = SpanTree::build_trial(root, spans.iter().cloned());
    let view = GenAiView::new(&tree);
    let id = id();
    let evidence = Evidence {
        id: &id,
        expect,
        root,
        spans,
        view: &view,
        root_node,
        replayed,
    };
    let infrastructure = outcome.infrastructure_error.take();
    let scored = score(
        &evidence,
        &outcome,
        None,
        infrastructure,
        &Pricing::new(Default::default()),
    );
    conclude(&evidence, scored, outcome, after)
}

fn check<'r>(result: &'r TrialResult, name: &str) -> &'r CheckResult {
    result
        .checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no `{name}` check in {:?}", result.checks))
}

fn limit(bytes: usize) -> After<'static> {
    After {
        report_output_limit: bytes,
        ..After::default()
    }
}

#[test]
fn the_right_tool_passes_and_the_result_names_the_trial_and_its_traces() {
    let (result, shape) = grade(
        &expect_weather(),
        &trial("weather", false),
        outcome(AgentExit::Code { code: 0 }, "sunny"),
        limit(1 << 10),
    );
    assert!(result.passed, "{:?}", result.checks);
    assert_eq!(
        (
            result.suite.as_str(),
            result.case.as_str(),
            result.model.as_str(),
            result.trial
        ),
        ("s", "c", "m", 3)
    );
    assert_eq!(result.trace_id, TraceId([1; 16]).to_string());
    assert_eq!(result.agent_trace_ids, [TraceId([2; 16]).to_string()]);
    assert_eq!(result.duration_ms, 100.0);
    assert_eq!((result.error.as_deref(), result.error_kind), (None, None));
    assert_eq!(result.metrics.tool_calls.len(), 1);
    assert_eq!(result.span_tree, None);
    assert_eq!(result.warnings, ["from the driver"]);
    assert_eq!(result.snapshot_matched, None);
    assert!(shape.is_none());
}

#[test]
fn a_wrong_tool_fails_and_the_failure_tree_is_kept() {
    let (result, _) = grade(
        &expect_weather(),
        &trial("search", false),
        outcome(AgentExit::Code { code: 0 }, "sunny"),
        limit(1 << 10),
    );
    assert!(!result.passed);
    assert!(!check(&result, "tools").passed);
    assert!(check(&result, "no-error-spans").passed);
    let tree = result.span_tree.expect("a failed trial keeps its tree");
    assert!(tree.contains("execute_tool search"), "{tree}");
}

#[test]
fn an_error_span_fails_the_trial_and_is_marked_in_its_tree() {
    let (result, _) = grade(
        &expect_weather(),
        &trial("weather", true),
        outcome(AgentExit::Code { code: 0 }, "sunny"),
        limit(1 << 10),
    );
    assert!(!result.passed);
    assert!(check(&result, "tools").passed);
    assert!(!check(&result, "no-error-spans").passed);
    let tree = result.span_tree.unwrap();
    let marked: Vec<&str> = tree.lines().filter(|l| l.contains(">> ")).collect();
    assert_eq!(marked.len(), 1, "{tree}");
    assert!(marked[0].contains("execute_tool weather"), "{tree}");
}

#[test]
fn the_report_keeps_the_head_of_a_long_answer_and_the_tail_of_stderr() {
    let mut long = outcome(AgentExit::Code { code: 0 }, "0123456789");
    long.stderr_tail = "abcdefghij".into();
    let (result, _) = grade(&expect_weather(), &trial("weather", false), long, limit(4));
    // Grading read the whole answer; the report keeps a part.
    assert!(result.passed);
    assert_eq!(
        (result.output.as_str(), result.output_truncated),
        ("0123", true)
    );
    assert_eq!(
        (result.stderr_tail.as_str(), result.stderr_truncated),
        ("ghij", true)
    );
    assert_eq!(
        result.warnings.last().unwrap(),
        "the report keeps the first 4 bytes of the 10-byte answer (all of it was graded; \
         --save-traces keeps all of it)"
    );
    let (short, _) = grade(
        &expect_weather(),
        &trial("weather", false),
        outcome(AgentExit::Code { code: 0 }, "0123"),
        limit(4),
    );
    assert_eq!(
        (short.output.as_str(), short.output_truncated),
        ("0123", false)
    );
    assert_eq!(short.warnings, ["from the driver"]);
}

fn settings(mode: SnapshotMode) -> SnapshotSettings {
    SnapshotSettings {
        root: PathBuf::from("p"),
        mode,
        writes: Writes::Allowed,
    }
}

#[test]
fn a_snapshot_mismatch_fails_and_hands_its_shape_to_the_end_of_the_case() {
    let expect = Expect {
        snapshot: Some(Default::default()),
        ..Expect::default()
    };
    let ran = |stored: Option<&str>| {
        let snapshot = CaseSnapshot::stored(settings(SnapshotMode::Check), stored);
        grade(
            &expect,
            &trial("weather", false),
            outcome(AgentExit::Code { code: 0 }, "sunny"),
            After {
                snapshot: Some(&snapshot),
                ..limit(1 << 10)
            },
        )
    };
    let (first, shape) = ran(None);
    let (shape, others_passed) = shape.expect("a compared trial has a shape");
    assert!(others_passed);
    assert!(shape.contains("execute_tool weather"), "{shape}");
    // A first snapshot passes in `check` mode; the same shape then matches.
    assert_eq!((first.passed, first.snapshot_matched), (true, Some(false)));
    let (same, _) = ran(Some(&shape));
    assert_eq!((same.passed, same.snapshot_matched), (true, Some(true)));
    let (changed, changed_shape) = ran(Some("invoke_agent a [agent]"));
    assert_eq!(
        (changed.passed, changed.snapshot_matched),
        (false, Some(false))
    );
    assert!(!check(&changed, "snapshot").passed);
    assert_eq!(changed_shape, Some((shape, true)));
}

#[test]
fn an_agent_that_did_not_finish_is_neither_judged_nor_compared() {
    let expect = Expect {
        snapshot: Some(Default::default()),
        judges: vec![Judge {
            name: "polite".into(),
            model: "m".into(),
            rubric: "is polite".into(),
            threshold: 0.5,
            samples: 1,
            temperature: None,
        }],
        ..Expect::default()
    };
    let snapshot = CaseSnapshot::stored(settings(SnapshotMode::Update), None);
    let (result, shape) = grade(
        &expect,
        &trial("weather", false),
        outcome(AgentExit::TimedOut, ""),
        After {
            judged: not_judged(&expect, "the agent timed out"),
            snapshot: Some(&snapshot),
            ..limit(1 << 10)
        },
    );
    assert!(!result.passed);
    assert_eq!(result.error_kind, Some(ErrorKind::Agent));
    assert!(
        result.error.as_deref().unwrap().starts_with("the agent "),
        "{:?}",
        result.error
    );
    assert_eq!(
        check(&result, "polite").message,
        "not judged: the agent timed out"
    );
    assert!(
        check(&result, "snapshot")
            .message
            .starts_with("not compared: the agent ")
    );
    assert!(shape.is_none());
}

#[test]
fn a_judge_outage_errors_for_infrastructure_only_when_the_agent_did_its_part() {
    let judged = |passed_other: bool| {
        let expect = if passed_other {
            expect_weather()
        } else {
            Expect {
                output_equals: Some("rainy".into()),
                ..expect_weather()
            }
        };
        grade(
            &expect,
            &trial("weather", false),
            outcome(AgentExit::Code { code: 0 }, "sunny"),
            After {
                judged: Judged {
                    checks: vec![CheckResult {
                        name: "judge".into(),
                        passed: false,
                        message: "no verdict".into(),
                        score: None,
                    }],
                    infrastructure: Some("the judge's model API failed".into()),
                    ..Judged::default()
                },
                ..limit(1 << 10)
            },
        )
        .0
    };
    let outage = judged(true);
    assert_eq!(outage.error_kind, Some(ErrorKind::Infrastructure));
    assert_eq!(
        outage.error.as_deref(),
        Some("the judge's model API failed")
    );
    assert!(!outage.passed);
    let failed = judged(false);
    assert_eq!((failed.error.as_deref(), failed.error_kind), (None, None));
    assert!(!failed.passed);
}

#[test]
fn an_agent_that_sent_nothing_is_told_why_it_may_have_and_a_replay_is_not() {
    let root = trial("weather", false).0;
    let (result, _) = grade(
        &Expect::default(),
        &(root.clone(), vec![]),
        outcome(AgentExit::Code { code: 2 }, ""),
        limit(1 << 10),
    );
    assert_eq!(
        result.warnings,
        [
            "from the driver",
            "the agent sent no spans: it exited with code 2; it wrote nothing to stderr"
        ]
    );
    assert!(result.agent_trace_ids.is_empty());
    let (replayed, _) = grade_as(
        &Expect::default(),
        &(root.clone(), vec![]),
        outcome(AgentExit::Code { code: 2 }, ""),
        limit(1 << 10),
        true,
    );
    assert_eq!(replayed.warnings, ["from the driver"]);
    assert_eq!(no_spans(&AgentExit::Cancelled, ""), None);
    assert!(
        no_spans(&AgentExit::Code { code: 0 }, "")
            .unwrap()
            .contains("shutdown()")
    );
}

#[test]
fn a_trial_without_a_result_of_its_own_says_whose_fault_that_is() {
    let exit0 = AgentExit::Code { code: 0 };
    assert_eq!(trial_error(None, None, &exit0), (None, None));
    assert_eq!(
        trial_error(Some("no recording".into()), Some("down".into()), &exit0),
        (Some("no recording".into()), Some(ErrorKind::Agent))
    );
    assert_eq!(
        trial_error(None, Some("down".into()), &AgentExit::TimedOut),
        (Some("down".into()), Some(ErrorKind::Infrastructure))
    );
    assert_eq!(
        trial_error(None, None, &AgentExit::TimedOut).1,
        Some(ErrorKind::Agent)
    );
    assert_eq!(
        trial_error(
            None,
            None,
            &AgentExit::SpawnFailed {
                message: "no such file".into()
            }
        )
        .1,
        Some(ErrorKind::Infrastructure)
    );
    // A nonzero exit is the exit-code check's to judge, not an error.
    assert_eq!(
        trial_error(None, None, &AgentExit::Code { code: 1 }),
        (None, None)
    );
}

#[test]
fn a_long_tree_is_cut_with_a_count_of_what_was_left_out() {
    assert_eq!(cap_lines("a\nb\nc\n".into(), 3), "a\nb\nc\n");
    assert_eq!(cap_lines("a\nb\nc\n".into(), 2), "a\nb\n… 1 more lines\n");
}

/// The shape hash of a trial whose root (trace `trace`, times shifted by `shift`) holds an
/// agent span calling `tools` one after the other.
fn trial_shape_hash(trace: u8, shift: u64, tools: &[&str]) -> Option<String> {
    let id = |i: u8| SpanId([trace, i, 0, 0, 0, 0, 0, 1]);
    let at = |s: &mut Span, start: u64, end: u64, parent: Option<u8>| {
        s.start_time_unix_nano = shift + start;
        s.end_time_unix_nano = shift + end;
        s.parent_span_id = parent.map(id);
    };
    let mut root = Span::new(TraceId([trace; 16]), id(0), "eval.trial");
    at(&mut root, 0, 1_000, None);
    let mut spans = vec![root];
    if !tools.is_empty() {
        let mut agent = Span::new(TraceId([trace; 16]), id(1), "invoke_agent weather");
        at(&mut agent, 1, 900, Some(0));
        spans.push(agent);
    }
    for (i, tool) in (2u8..).zip(tools) {
        let mut call = Span::new(TraceId([trace; 16]), id(i), format!("execute_tool {tool}"));
        let start = 10 * u64::from(i);
        at(&mut call, start, start + 5, Some(1));
        spans.push(call);
    }
    let tree = SpanTree::build(spans.into_iter().map(Arc::new));
    let root = tree.roots().next().unwrap().id();
    shape_hash(&GenAiView::new(&tree), root)
}

#[test]
fn the_shape_hash_follows_what_the_agent_did_not_ids_or_times() {
    let paris = trial_shape_hash(1, 0, &["get_weather", "clock"]).unwrap();
    assert_eq!(paris.len(), 16);
    assert!(paris.bytes().all(|b| b.is_ascii_hexdigit()));
    // Other trace and span ids, other timestamps: the same shape.
    let again = trial_shape_hash(7, 1_700_000_000_000_000_000, &["get_weather", "clock"]);
    assert_eq!(again.as_deref(), Some(paris.as_str()));
    // Another tool, one call fewer, or the calls swapped: another shape.
    for tools in [
        &["get_forecast", "clock"][..],
        &["get_weather"],
        &["clock", "get_weather"],
    ] {
        assert_ne!(
            trial_shape_hash(1, 0, tools).as_deref(),
            Some(paris.as_str())
        );
    }
    // No span but the trial root: nothing to hash.
    assert_eq!(trial_shape_hash(1, 0, &[]), None);
}
