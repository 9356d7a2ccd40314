//! Judging a trial: checks on its output and on its span tree.
//!
//! [`grade`] runs every check a case's `[case.expect]` asks for, in a fixed order, and returns
//! one [`CheckResult`] per check plus the spans a failed check is about, so failure output can
//! mark them in the rendered tree. A trial passes when every check passes.
//!
//! Every check has one shape: a function taking the expectation and the [`Evidence`] and
//! recording its results into [`Graded`]. The list of checks, in order, is `CHECKS` in this
//! file; each lives in a file of its own (`output`, `expected_tools`, `trajectory`, `span`),
//! except the small limits (`exit-code`, `max-*`, `no-error-spans`), which share `limits`.
//!
//! LLM judges are checks too, but they call a model: [`judge`] holds their pure part (prompt,
//! verdict, vote) and the runner calls the model and appends their checks after [`grade`]'s.

mod expected_tools;
pub(crate) mod judge;
mod limits;
pub(crate) mod output;
pub(crate) mod span;
pub(crate) mod tools;
pub(crate) mod trajectory;

use std::collections::HashSet;
use std::time::Duration;

use crate::event::{AgentExit, CheckResult};
use crate::metrics::cost::Cost;
use crate::suite::Expect;
use crate::trace::{GenAiView, NodeId};
use tools::ToolScore;

/// What a trial produced, as the checks see it: the finished trial and what [`score`] read
/// from it first.
#[derive(Debug)]
pub(crate) struct Evidence<'a> {
    /// The answer, the exit, the span tree and the latency.
    pub trial: Finished<'a>,
    /// The tool score against `expect.tools`, when the case has it.
    pub tools: Option<&'a ToolScore>,
    /// The trial's cost (unknown when a model had no price).
    pub cost: &'a Cost,
}

/// The checks of one trial and the spans the failed ones point at.
#[derive(Debug, Default)]
pub struct Graded {
    /// One result per check, in the order of [`grade`].
    pub checks: Vec<CheckResult>,
    /// Spans to mark when rendering the tree.
    pub marked: HashSet<NodeId>,
    /// The spans each failed check points at, by the check's index in `checks` (a subset of
    /// `marked`; forwarding puts the check's verdict on each of them).
    pub offending: Vec<(usize, NodeId)>,
}

impl Graded {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    fn push(&mut self, name: &str, passed: bool, message: String) {
        self.checks.push(CheckResult {
            name: name.to_owned(),
            passed,
            message,
            score: None,
        });
    }
}

/// What a finished trial offers before it is scored: the agent's answer and exit, and its span
/// tree read as GenAI.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    /// The answer.
    pub output: &'a str,
    /// How the agent ended.
    pub exit: &'a AgentExit,
    /// The trial's span tree, read as GenAI.
    pub view: &'a GenAiView<'a>,
    /// The trial root span's node.
    pub root: NodeId,
    /// The trial root span's duration.
    pub latency: Duration,
}

/// Scores one trial: the tool score against `expect.tools`, the trial's metrics (cost from
/// `pricing`), then every check of `grade`. Everything `traceval run` and a replay do with a
/// finished trial's spans except the LLM judges, which need a model and so run apart.
pub fn score(
    expect: &Expect,
    trial: &Finished<'_>,
    pricing: &crate::metrics::cost::Pricing,
) -> (Graded, crate::event::TrialMetrics) {
    let view = trial.view;
    let tool_score = expect.tools.as_ref().map(|expected| {
        let actual: Vec<tools::ActualTool<'_>> = view
            .tool_calls()
            .iter()
            .map(|t| tools::ActualTool {
                name: &t.name,
                args: t.arguments.as_ref(),
            })
            .collect();
        // The case's argument mode (a trajectory's `args` and `tool-args`) applies here too.
        match &expect.trajectory {
            Some(t) => tools::score_tools_by(expected, &actual, |e| t.arg_mode(&e.name)),
            None => tools::score_tools(expected, &actual),
        }
    });
    let metrics = crate::metrics::trial::trial_metrics(view, pricing, tool_score.as_ref());
    let cost = Cost {
        usd: metrics.cost_usd,
        unpriced_models: metrics.unpriced_models.clone(),
    };
    let graded = grade(
        expect,
        &Evidence {
            trial: *trial,
            tools: tool_score.as_ref(),
            cost: &cost,
        },
    );
    (graded, metrics)
}

/// The shape of every check: it reads the case's expectation and the trial's evidence, and
/// records its results (none when the case does not ask for it) and the spans a failure is
/// about into `graded`.
type Check = fn(&Expect, &Evidence<'_>, &mut Graded);

/// Every check, in the order their results appear in a trial's result (reports and snapshots
/// pin it). A new check is one file and one line here; the LLM judges need a model and run
/// apart (see the module docs).
const CHECKS: &[Check] = &[
    limits::exit_code,
    output::check,
    limits::max_latency,
    limits::max_llm_calls,
    limits::max_tool_calls,
    limits::max_cost,
    limits::no_error_spans,
    expected_tools::check,
    trajectory::check,
    span::check,
];

/// Runs every check `expect` asks for on one trial.
pub(crate) fn grade(expect: &Expect, evidence: &Evidence<'_>) -> Graded {
    let mut graded = Graded::default();
    for check in CHECKS {
        let (checks, attributed) = (graded.checks.len(), graded.offending.len());
        let before = graded.marked.clone();
        check(expect, evidence, &mut graded);
        // A check that did not say which of its checks marked what: its new marks belong to
        // the checks it failed.
        if graded.offending.len() == attributed && graded.marked.len() > before.len() {
            let mut new: Vec<NodeId> = graded.marked.difference(&before).copied().collect();
            new.sort();
            for i in checks..graded.checks.len() {
                if !graded.checks[i].passed {
                    graded.offending.extend(new.iter().map(|&n| (i, n)));
                }
            }
        }
    }
    graded
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::metrics::cost::Pricing;
    use crate::suite::{ArgMode, ExpectedTool, SpanAssertion, Trajectory, TrajectoryMode};
    use crate::trace::query::Selector;
    use crate::trace::{Attributes, KeyValue, Span, SpanId, SpanTree, Status, StatusCode, TraceId};

    /// A span of the test trial (trace 1), `start` and `len` in microseconds.
    pub(in crate::grade) fn span(
        id: u8,
        parent: Option<u8>,
        (start, len): (u64, u64),
        name: &str,
        attrs: &[(&str, &str)],
    ) -> Arc<Span> {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        s.start_time_unix_nano = start * 1000;
        s.end_time_unix_nano = (start + len) * 1000;
        s.attributes = Attributes(
            attrs
                .iter()
                .map(|(k, v)| match v.parse::<i64>() {
                    Ok(n) => KeyValue::new(k, n),
                    Err(_) => KeyValue::new(k, *v),
                })
                .collect(),
        );
        Arc::new(s)
    }

    /// A chat call with usage under the root.
    pub(in crate::grade) fn chat(id: u8, start: u64) -> Arc<Span> {
        span(
            id,
            Some(1),
            (start, 100),
            "chat gpt-4o",
            &[
                ("gen_ai.operation.name", "chat"),
                ("gen_ai.request.model", "gpt-4o"),
                ("gen_ai.usage.input_tokens", "100"),
                ("gen_ai.usage.output_tokens", "10"),
            ],
        )
    }

    /// A call of tool `name` under the root, failed when `error` is given.
    pub(in crate::grade) fn tool(id: u8, start: u64, name: &str, error: Option<&str>) -> Arc<Span> {
        let mut s = (*span(
            id,
            Some(1),
            (start, 100),
            &format!("execute_tool {name}"),
            &[
                ("gen_ai.operation.name", "execute_tool"),
                ("gen_ai.tool.name", name),
            ],
        ))
        .clone();
        if let Some(message) = error {
            s.status = Status {
                code: StatusCode::Error,
                message: message.into(),
            };
        }
        Arc::new(s)
    }

    /// The trial: a root `agent` span (id 1, 1 ms) over `children`.
    pub(in crate::grade) fn trial(children: Vec<Arc<Span>>) -> SpanTree {
        let root = span(1, None, (0, 1000), "agent", &[]);
        SpanTree::build(std::iter::once(root).chain(children))
    }

    /// Grades `tree` with `grade` alone: the exit, answer, latency and cost are given.
    pub(in crate::grade) fn grade_tree(
        expect: &Expect,
        tree: &SpanTree,
        exit: &AgentExit,
        latency: Duration,
        cost: &Cost,
    ) -> Graded {
        let view = GenAiView::new(tree);
        let root = tree.roots().next().expect("a root").id();
        let trial = Finished {
            output: "4",
            exit,
            view: &view,
            root,
            latency,
        };
        grade(
            expect,
            &Evidence {
                trial,
                tools: None,
                cost,
            },
        )
    }

    /// An expectation that asks for every check.
    fn everything() -> Expect {
        Expect {
            output_equals: Some("4".into()),
            output_contains: vec!["4".into()],
            output_regex: Some(regex::Regex::new(r"\d").unwrap()),
            output_json: Some(serde_json::json!(4)),
            max_latency: Some(Duration::from_secs(1)),
            max_llm_calls: Some(1),
            max_tool_calls: Some(1),
            max_cost: Some(1.0),
            no_error_spans: true,
            tools: Some(vec![ExpectedTool {
                name: "search".into(),
                args: None,
            }]),
            min_tool_f1: None,
            exit_code: Some(0),
            spans: vec![SpanAssertion {
                select: Selector::parse("llm").unwrap(),
                count: Some("1".parse().unwrap()),
                max_duration: None,
                status: None,
                attrs: BTreeMap::new(),
                before: None,
                after: None,
            }],
            trajectory: Some(Trajectory {
                mode: TrajectoryMode::InOrder,
                args: ArgMode::Contains,
                tool_args: BTreeMap::new(),
            }),
            judges: vec![],
            snapshot: None,
        }
    }

    /// Scores a trial of one chat call and one `search` call that answered `4` in 1 ms.
    fn score_one(expect: &Expect, children: Vec<Arc<Span>>) -> (Graded, Vec<NodeId>) {
        let tree = trial(children);
        let view = GenAiView::new(&tree);
        let root = tree.roots().next().unwrap().id();
        let finished = Finished {
            output: "4",
            exit: &AgentExit::Code { code: 0 },
            view: &view,
            root,
            latency: Duration::from_millis(1),
        };
        let (graded, _) = score(expect, &finished, &Pricing::new(BTreeMap::new()));
        let ids = tree.nodes().map(|n| n.id()).collect();
        (graded, ids)
    }

    fn names(graded: &Graded) -> Vec<&str> {
        graded.checks.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn every_check_runs_in_the_reported_order() {
        let (graded, _) = score_one(
            &everything(),
            vec![chat(2, 100), tool(3, 300, "search", None)],
        );
        assert_eq!(
            names(&graded),
            [
                "exit-code",
                "output-equals",
                "output-contains",
                "output-regex",
                "output-json",
                "max-latency",
                "max-llm-calls",
                "max-tool-calls",
                "max-cost",
                "no-error-spans",
                "tools",
                "trajectory",
                "span",
            ]
        );
        let failed: Vec<_> = graded.checks.iter().filter(|c| !c.passed).collect();
        assert!(failed.is_empty(), "{failed:?}");
        assert!(graded.marked.is_empty());
        // Only the tool and trajectory checks carry a score.
        let scored: Vec<_> = graded
            .checks
            .iter()
            .filter_map(|c| c.score.map(|s| (c.name.as_str(), s)))
            .collect();
        assert_eq!(scored, [("tools", 1.0), ("trajectory", 1.0)]);
    }

    #[test]
    fn every_registered_check_records_a_result_when_asked() {
        // A check registered without a case in `everything()` fails here: add its key there.
        let expect = everything();
        let tree = trial(vec![chat(2, 100), tool(3, 300, "search", None)]);
        let view = GenAiView::new(&tree);
        let score = tools::score_tools(expect.tools.as_ref().unwrap(), &[]);
        let evidence = Evidence {
            trial: Finished {
                output: "4",
                exit: &AgentExit::Code { code: 0 },
                view: &view,
                root: tree.roots().next().unwrap().id(),
                latency: Duration::from_millis(1),
            },
            tools: Some(&score),
            cost: &Cost {
                usd: Some(0.0),
                unpriced_models: vec![],
            },
        };
        for (i, check) in CHECKS.iter().enumerate() {
            let mut graded = Graded::default();
            check(&expect, &evidence, &mut graded);
            assert!(!graded.checks.is_empty(), "check {i} recorded nothing");
        }
    }

    #[test]
    fn a_case_that_asks_for_nothing_gets_the_exit_code_alone() {
        let (graded, _) = score_one(&Expect::default(), vec![chat(2, 100)]);
        assert_eq!(names(&graded), ["exit-code"]);
        assert!(graded.passed());
    }

    #[test]
    fn failures_mark_the_spans_they_are_about() {
        // Two searches, one failed: the call limit, the error spans and an explicit
        // `min-tool-f1` fail; the in-order trajectory allows the extra call.
        let expect = Expect {
            min_tool_f1: Some(1.0),
            ..everything()
        };
        let (graded, ids) = score_one(
            &expect,
            vec![
                chat(2, 100),
                tool(3, 300, "search", None),
                tool(4, 500, "search", Some("denied")),
            ],
        );
        let failed: Vec<&str> = graded
            .checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(failed, ["max-tool-calls", "no-error-spans", "tools"]);
        let errors = graded.checks.iter().find(|c| c.name == "no-error-spans");
        assert_eq!(
            errors.unwrap().message,
            "1 error span(s), first `execute_tool search`: denied"
        );
        assert!(!graded.passed());
        let tools = graded.checks.iter().find(|c| c.name == "tools").unwrap();
        assert_eq!(
            tools.message,
            "tool F1 0.67 (precision 0.50, recall 1.00), needs 1.00; unexpected search"
        );
        // Both tool calls (the limit), not the root or the chat call.
        let mut marked: Vec<NodeId> = graded.marked.iter().copied().collect();
        marked.sort();
        assert_eq!(marked, [ids[2], ids[3]]);
    }
}
