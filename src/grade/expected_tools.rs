//! The `tools` check: the trial's tool calls against `expect.tools`
//! (`docs/reference/metrics.md#tool-precision-recall-and-f1`), scored by [`super::score`]
//! with [`super::tools`]' matching. The message gives F1, precision and recall and names the
//! expected calls that are missing and the actual calls that were not expected.

use super::output::describe_call;
use super::trajectory::describe_expected;
use super::{Evidence, Graded};
use crate::event::CheckResult;
use crate::suite::{ArgMode, Expect, ExpectedTool};

/// Adds the `tools` check when the case expects tools; a failure marks the unexpected calls.
pub(super) fn check(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    let (Some(expected), Some(score)) = (&expect.tools, evidence.tools) else {
        return;
    };
    let view = evidence.trial.view;
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
    let arg_mode = |e: &ExpectedTool| {
        expect
            .trajectory
            .as_ref()
            .map_or(ArgMode::Contains, |t| t.arg_mode(&e.name))
    };
    let calls = view.tool_calls();
    if !score.missing.is_empty() {
        let missing: Vec<String> = score
            .missing
            .iter()
            .map(|&i| {
                let e = &expected[i];
                describe_expected(&e.name, e.args.as_ref(), arg_mode(e))
            })
            .collect();
        message.push_str(&format!("; missing {}", missing.join(", ")));
    }
    if !score.unexpected.is_empty() {
        let unexpected: Vec<String> = score
            .unexpected
            .iter()
            .map(|&i| describe_call(&calls[i].name, calls[i].arguments.as_ref()))
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
