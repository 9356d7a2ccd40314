//! Judging a trial: checks on its output and on its span tree.
//!
//! [`grade`] runs every check a case's `[case.expect]` asks for, in a fixed order, and returns
//! one [`CheckResult`] per check plus the spans a failed check is about, so failure output can
//! mark them in the rendered tree. A trial passes when every check passes.
//!
//! LLM judges are checks too, but they call a model: [`judge`] holds their pure part (prompt,
//! verdict, vote) and the runner calls the model and appends their checks after [`grade`]'s.

mod cost;
pub mod judge;
pub mod output;
pub mod span;
pub mod tools;
pub mod trajectory;

use std::collections::HashSet;
use std::time::Duration;

use crate::event::{AgentExit, CheckResult};
use crate::metrics::cost::Cost;
use crate::suite::Expect;
use crate::trace::render::format_duration;
use crate::trace::{GenAiView, NodeId};
use tools::ToolScore;

/// What a trial produced, as the checks see it: the finished trial and what [`score`] read
/// from it first.
#[derive(Debug)]
pub struct Evidence<'a> {
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
/// `pricing`), then every check of [`grade`]. Everything `traceval run` and a replay do with a
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

/// Runs every check `expect` asks for on one trial.
pub fn grade(expect: &Expect, evidence: &Evidence<'_>) -> Graded {
    let mut graded = Graded::default();
    let view = evidence.trial.view;

    let want = expect.exit_code.unwrap_or(0);
    let (ok, message) = match evidence.trial.exit {
        AgentExit::Code { code } if *code == want => (true, format!("exit code {code}")),
        AgentExit::Code { code } => (false, format!("exit code {code}, expected {want}")),
        other => (false, format!("the agent {}", other.describe())),
    };
    graded.push("exit-code", ok, message);

    output::check(expect, evidence.trial.output, &mut graded);

    if let Some(limit) = expect.max_latency {
        let ok = evidence.trial.latency <= limit;
        graded.push(
            "max-latency",
            ok,
            format!(
                "took {}, limit {}",
                format_duration(evidence.trial.latency.as_nanos() as u64),
                format_duration(limit.as_nanos() as u64)
            ),
        );
        if !ok {
            graded.marked.insert(evidence.trial.root);
        }
    }
    if let Some(limit) = expect.max_llm_calls {
        let calls: Vec<NodeId> = view
            .llm_calls()
            .iter()
            .filter(|c| c.counted)
            .map(|c| c.node)
            .collect();
        let ok = calls.len() as u64 <= limit;
        graded.push(
            "max-llm-calls",
            ok,
            format!("{} LLM calls, limit {limit}", calls.len()),
        );
        if !ok {
            graded.marked.extend(calls);
        }
    }
    if let Some(limit) = expect.max_tool_calls {
        let calls = view.tool_calls();
        let ok = calls.len() as u64 <= limit;
        graded.push(
            "max-tool-calls",
            ok,
            format!("{} tool calls, limit {limit}", calls.len()),
        );
        if !ok {
            graded.marked.extend(calls.iter().map(|c| c.node));
        }
    }
    if let Some(limit) = expect.max_cost {
        cost::check(limit, evidence.cost, view, &mut graded);
    }
    if expect.no_error_spans {
        let errors = view.error_spans();
        let ok = errors.is_empty();
        let message = match errors.first() {
            None => "no error spans".to_owned(),
            Some(&first) => {
                let span = view.tree().node(first).span();
                let why = span.error_message().unwrap_or_else(|| "error".to_owned());
                format!(
                    "{} error span(s), first `{}`: {}",
                    errors.len(),
                    crate::trace::render::clean(&span.name, 80),
                    crate::trace::render::clean(&why, 200)
                )
            }
        };
        graded.push("no-error-spans", ok, message);
        graded.marked.extend(errors.iter().copied());
    }
    if let (Some(expected), Some(score)) = (&expect.tools, evidence.tools) {
        let rates = format!(
            "tool F1 {:.2} (precision {:.2}, recall {:.2})",
            score.f1, score.precision, score.recall
        );
        // A trajectory mode decides whether the calls pass (a `superset` allows extra calls
        // that lower precision); an explicit `min-tool-f1` still applies.
        let (ok, mut message) = match (&expect.trajectory, expect.min_tool_f1) {
            (Some(t), None) => (
                true,
                format!("{rates}; the {} trajectory decides", t.mode.as_str()),
            ),
            (_, min) => {
                let min = min.unwrap_or(1.0);
                (score.f1 >= min, format!("{rates}, needs {min:.2}"))
            }
        };
        let arg_mode = |e: &crate::suite::ExpectedTool| {
            expect
                .trajectory
                .as_ref()
                .map_or(crate::suite::ArgMode::Contains, |t| t.arg_mode(&e.name))
        };
        let calls = view.tool_calls();
        if !score.missing.is_empty() {
            let missing: Vec<String> = score
                .missing
                .iter()
                .map(|&i| {
                    let e = &expected[i];
                    trajectory::describe_expected(&e.name, e.args.as_ref(), arg_mode(e))
                })
                .collect();
            message.push_str(&format!("; missing {}", missing.join(", ")));
        }
        if !score.unexpected.is_empty() {
            let unexpected: Vec<String> = score
                .unexpected
                .iter()
                .map(|&i| output::describe_call(&calls[i].name, calls[i].arguments.as_ref()))
                .collect();
            message.push_str(&format!("; unexpected {}", unexpected.join(", ")));
        }
        graded.checks.push(CheckResult {
            name: "tools".to_owned(),
            passed: ok,
            message,
            score: Some(score.f1),
        });
        if !ok {
            graded
                .marked
                .extend(score.unexpected.iter().map(|&i| calls[i].node));
        }
    }
    if let (Some(t), Some(expected)) = (&expect.trajectory, &expect.tools) {
        let calls: Vec<trajectory::Call<'_>> = view
            .tool_calls()
            .iter()
            .zip(view.tool_call_turns())
            .map(|(c, turn)| trajectory::Call {
                name: &c.name,
                args: c.arguments.as_ref(),
                turn,
            })
            .collect();
        let verdict = trajectory::judge(t, expected, &calls);
        if !verdict.passed {
            graded
                .marked
                .extend(view.tool_calls().iter().map(|c| c.node));
        }
        graded.checks.push(CheckResult {
            name: "trajectory".to_owned(),
            passed: verdict.passed,
            message: verdict.message,
            score: Some(verdict.score),
        });
    }
    span::check(&expect.spans, view, &mut graded);
    graded
}
