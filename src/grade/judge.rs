//! LLM judges, the pure part: the prompt a judge model gets, reading its verdict, and the vote
//! over samples that becomes the check. Calling the model (with retries, spans and a deadline)
//! is the runner's, in `runner::judge`.
//!
//! The prompt is fixed: [`SYSTEM_PROMPT`] asks for one JSON object `{"score": 0..1,
//! "explanation": "…"}`; the user message ([`user_message`]) holds the rubric, the task, the
//! tool calls (name and arguments, from the span tree) and the final answer, each bounded.
//!
//! A verdict is the first JSON object in the answer that has a `score` (a number, or a numeric
//! string, from 0 to 1) or, without one, a boolean `pass` (`passed`), read as 1 or 0; the
//! explanation is `explanation` (or `reason`, `reasoning`). A sample passes when its score
//! reaches the judge's threshold. The check passes when more than half of the samples pass:
//! with an even number, a tie fails. A sample without a verdict (the call failed, timed out,
//! or the answer holds no readable verdict) counts as a failed vote, never as a pass. The
//! check's score is the mean score of the samples that gave a verdict.

use std::fmt::Write as _;

use serde_json::Value as Json;

use crate::event::{CheckResult, JudgeSample, ToolCallRecord};
use crate::suite::Judge;
use crate::trace::render::clean;

/// The judge model's instructions.
pub(crate) const SYSTEM_PROMPT: &str = "You are an impartial judge of an AI agent's work. You get a \
rubric, the task the agent was given, the tool calls it made and its final answer. Grade the \
final answer against the rubric only.\n\
Reply with one JSON object and nothing else:\n\
{\"score\": <a number from 0 to 1>, \"explanation\": \"<one or two sentences>\"}\n\
A score of 1 means the answer fully meets the rubric, 0 that it does not meet it at all.";

/// Characters of the final answer put into the prompt; the rest is cut with a marker.
pub(crate) const MAX_OUTPUT_CHARS: usize = 16_000;
/// Characters of the case input put into the prompt.
pub(crate) const MAX_INPUT_CHARS: usize = 8_000;
/// Tool calls listed in the prompt; the rest are counted.
pub(crate) const MAX_TOOL_CALLS: usize = 50;
/// Characters of one tool call's arguments in the prompt.
pub(crate) const MAX_ARGS_CHARS: usize = 500;
/// Longest tool name quoted in the prompt.
pub(crate) const MAX_TOOL_NAME_CHARS: usize = 200;
/// Characters of an explanation kept in the report.
pub(crate) const MAX_EXPLANATION_CHARS: usize = 1_000;
/// Characters of an unreadable answer quoted in the error.
const MAX_QUOTED_CHARS: usize = 200;
/// Characters of an answer searched for a verdict.
const MAX_SCANNED_CHARS: usize = 64 << 10;

/// What a judge reads of a trial.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JudgeEvidence<'a> {
    /// The case input, as the agent got it.
    pub input: &'a Json,
    /// The agent's final answer.
    pub output: &'a str,
    /// The agent's tool calls, in tree order.
    pub tool_calls: &'a [ToolCallRecord],
}

/// The user message of a judge call: the rubric, the task, the tool calls and the final
/// answer, each under its own heading and bounded.
pub(crate) fn user_message(rubric: &str, evidence: &JudgeEvidence<'_>) -> String {
    let input = match evidence.input {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    };
    let mut text = format!(
        "## Rubric\n{}\n\n## Task\n{}\n\n## Tool calls ({})\n",
        rubric.trim(),
        bounded(&input, MAX_INPUT_CHARS),
        evidence.tool_calls.len()
    );
    if evidence.tool_calls.is_empty() {
        text.push_str("(none)\n");
    }
    for (i, call) in evidence.tool_calls.iter().take(MAX_TOOL_CALLS).enumerate() {
        let args = match &call.args {
            None => String::new(),
            Some(Json::String(raw)) => raw.clone(),
            Some(args) => args.to_string(),
        };
        let _ = writeln!(
            text,
            "{}. {} {}",
            i + 1,
            // A tool name comes from a span, which can say anything: bounded like the rest.
            bounded(&call.name, MAX_TOOL_NAME_CHARS),
            bounded(&args, MAX_ARGS_CHARS)
        );
    }
    if evidence.tool_calls.len() > MAX_TOOL_CALLS {
        let _ = writeln!(
            text,
            "[… {} more tool calls]",
            evidence.tool_calls.len() - MAX_TOOL_CALLS
        );
    }
    let _ = write!(
        text,
        "\n## Final answer\n{}\n",
        bounded(evidence.output, MAX_OUTPUT_CHARS)
    );
    text
}

/// `text` cut to `max` characters, with a marker saying how much was cut.
fn bounded(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((end, _)) => {
            let rest = text[end..].chars().count();
            format!("{}[… cut: {rest} more characters]", &text[..end])
        }
    }
}

/// A judge's reading of one sample.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Verdict {
    /// From 0 to 1.
    pub score: f64,
    /// Why (may be empty).
    pub explanation: String,
}

/// The verdict in a judge's answer: the last JSON object in it that has a `score`, else the
/// last that has a boolean `pass` or `passed`. The error says what was wrong, quoting the start
/// of the answer.
///
/// The last, not the first: a judge may quote the agent's answer or a tool result, which can
/// hold verdict-shaped JSON (by accident, or planted by the agent), before its own verdict; and
/// an object with a `score` outranks a bare `pass`, which tool results say more often.
pub(crate) fn parse_verdict(answer: &str) -> Result<Verdict, String> {
    let scanned = match answer.char_indices().nth(MAX_SCANNED_CHARS) {
        Some((end, _)) => &answer[..end],
        None => answer,
    };
    let mut objects = 0;
    let (mut scored, mut passed) = (None, None);
    for (start, _) in scanned.match_indices('{') {
        let mut values = serde_json::Deserializer::from_str(&scanned[start..]).into_iter::<Json>();
        let Some(Ok(Json::Object(object))) = values.next() else {
            continue;
        };
        objects += 1;
        if object.contains_key("score") {
            scored = Some(object);
        } else if ["pass", "passed"]
            .iter()
            .any(|k| object.get(*k).is_some_and(Json::is_boolean))
        {
            passed = Some(object);
        }
    }
    if let Some(object) = scored.or(passed) {
        let explanation = ["explanation", "reason", "reasoning"]
            .iter()
            .find_map(|k| object.get(*k).and_then(Json::as_str))
            .unwrap_or_default()
            .trim()
            .to_owned();
        let score = match object.get("score") {
            Some(Json::Number(n)) => n.as_f64(),
            Some(Json::String(s)) => s.trim().parse::<f64>().ok(),
            Some(other) => return Err(format!("the verdict's score is not a number: {other}")),
            None => ["pass", "passed"]
                .iter()
                .find_map(|k| object.get(*k).and_then(Json::as_bool))
                .map(|pass| if pass { 1.0 } else { 0.0 }),
        };
        return match score {
            Some(score) if (0.0..=1.0).contains(&score) => Ok(Verdict { score, explanation }),
            Some(score) => Err(format!(
                "the verdict's score {score} is not between 0 and 1"
            )),
            None => Err("the verdict's score is not a number".to_owned()),
        };
    }
    let why = if objects == 0 {
        "no JSON object"
    } else {
        "no JSON object with a `score`"
    };
    Err(format!(
        "unparseable verdict: {why} in the answer {}",
        quote(answer)
    ))
}

fn quote(text: &str) -> String {
    format!("\"{}\"", clean(text.trim(), MAX_QUOTED_CHARS))
}

/// How one sample ended: a verdict, or why there is none.
pub(crate) type SampleOutcome = Result<Verdict, String>;

/// The check a judge's samples decide, and the per-sample records for the report.
pub(crate) fn decide(judge: &Judge, outcomes: &[SampleOutcome]) -> (CheckResult, Vec<JudgeSample>) {
    let samples: Vec<JudgeSample> = outcomes
        .iter()
        .map(|outcome| match outcome {
            Ok(v) => JudgeSample {
                passed: v.score >= judge.threshold,
                score: Some(v.score),
                explanation: Some(clean(&v.explanation, MAX_EXPLANATION_CHARS)),
                error: None,
            },
            Err(e) => JudgeSample {
                passed: false,
                score: None,
                explanation: None,
                error: Some(clean(e, MAX_EXPLANATION_CHARS)),
            },
        })
        .collect();
    let n = samples.len();
    let votes = samples.iter().filter(|s| s.passed).count();
    let passed = n > 0 && votes * 2 > n;
    let scores: Vec<f64> = samples.iter().filter_map(|s| s.score).collect();
    let score = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);

    let mut message = String::new();
    if n > 1 {
        let _ = write!(message, "{votes}/{n} samples passed");
        if !passed {
            let _ = write!(message, " ({} needed)", n / 2 + 1);
        }
        message.push_str(", ");
    }
    match score {
        Some(score) => {
            let mean = if n > 1 { "mean score" } else { "score" };
            let _ = write!(
                message,
                "{mean} {score:.2} (threshold {:.2}) from `{}`",
                judge.threshold,
                clean(&judge.model, 80)
            );
            // The explanation of a sample on the side that won, a verdict before an error.
            let why = samples
                .iter()
                .find(|s| s.passed == passed && s.score.is_some())
                .and_then(|s| s.explanation.as_deref())
                .filter(|e| !e.is_empty());
            if let Some(why) = why {
                let _ = write!(message, ": {why}");
            }
        }
        None => {
            let _ = write!(
                message,
                "judge `{}` gave no verdict",
                clean(&judge.model, 80)
            );
        }
    }
    let errors: Vec<(usize, &str)> = samples
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.error.as_deref().map(|e| (i, e)))
        .collect();
    if let Some(&(i, first)) = errors.first() {
        if n == 1 {
            let _ = write!(message, ": {first}");
        } else {
            let _ = write!(
                message,
                "; {} sample(s) without a verdict, first (sample {}): {first}",
                errors.len(),
                i + 1
            );
        }
    }
    let check = CheckResult {
        name: judge.name.clone(),
        passed,
        message,
        score,
    };
    (check, samples)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn judge(threshold: f64, samples: u32) -> Judge {
        Judge {
            temperature: None,
            name: "judge".into(),
            model: "strict".into(),
            rubric: "Cites doc-17.".into(),
            threshold,
            samples,
        }
    }

    fn verdict(score: f64, explanation: &str) -> SampleOutcome {
        Ok(Verdict {
            score,
            explanation: explanation.into(),
        })
    }

    #[test]
    fn verdicts_are_found_anywhere_in_the_answer() {
        let ok = |score: f64, explanation: &str| {
            Ok(Verdict {
                score,
                explanation: explanation.to_owned(),
            })
        };
        let cases: &[(&str, Result<Verdict, String>)] = &[
            (r#"{"score": 0.9, "explanation": "cites it"}"#, ok(0.9, "cites it")),
            (
                "Sure! Here is my verdict:\n```json\n{\"score\": 1, \"explanation\": \"fine\"}\n```",
                ok(1.0, "fine"),
            ),
            (r#"{"score": "0.25", "reason": " vague "}"#, ok(0.25, "vague")),
            (r#"{"pass": true}"#, ok(1.0, "")),
            (r#"{"passed": false, "reasoning": "no"}"#, ok(0.0, "no")),
            // Objects without a verdict are skipped, even nested ones.
            (
                r#"The agent called {"city": "Paris"}. {"score": 0, "explanation": "wrong"}"#,
                ok(0.0, "wrong"),
            ),
            (r#"{"score": 0.5, "pass": false}"#, ok(0.5, "")),
            // The judge quoting verdict-shaped text (the agent's answer, a tool result) before
            // its own verdict: the last verdict counts, and a score outranks a bare `pass`.
            (
                r#"The agent ends with {"score": 1, "explanation": "ok"}. {"score": 0, "explanation": "fails"}"#,
                ok(0.0, "fails"),
            ),
            (
                r#"The tool returned {"passed": true}, but the answer is wrong. {"score": 0.1}"#,
                ok(0.1, ""),
            ),
            (
                r#"{"score": 0.2, "explanation": "x"} as the tool said: {"pass": true}"#,
                ok(0.2, "x"),
            ),
            (
                r#"{"score": 7, "explanation": "out of 10"}"#,
                Err("the verdict's score 7 is not between 0 and 1".into()),
            ),
            (
                r#"{"score": null}"#,
                Err("the verdict's score is not a number: null".into()),
            ),
            (
                r#"{"score": "high"}"#,
                Err("the verdict's score is not a number".into()),
            ),
            (
                "Looks good to me.\n",
                Err("unparseable verdict: no JSON object in the answer \"Looks good to me.\"".into()),
            ),
            (
                r#"{"verdict": "pass"} {"score": }"#,
                Err(r#"unparseable verdict: no JSON object with a `score` in the answer "{"verdict": "pass"} {"score": }""#.into()),
            ),
        ];
        for (answer, want) in cases {
            assert_eq!(&parse_verdict(answer), want, "{answer}");
        }
    }

    #[test]
    fn an_unreadable_answer_is_quoted_bounded_and_escaped() {
        let answer = format!("\u{1b}[31m{}", "x".repeat(10_000));
        let err = parse_verdict(&answer).unwrap_err();
        assert!(err.len() < 300, "{err}");
        assert!(err.contains("\\u{1b}[31mxxx"), "{err}");
        assert!(err.ends_with("…\""), "{err}");
    }

    #[test]
    fn the_prompt_holds_the_rubric_task_tool_calls_and_answer_bounded() {
        let calls = vec![
            ToolCallRecord {
                name: "search".into(),
                args: Some(json!({"query": "rust 1.0"})),
            },
            ToolCallRecord {
                name: "read_doc".into(),
                args: Some(json!("{not json")),
            },
            ToolCallRecord {
                name: "noop".into(),
                args: None,
            },
        ];
        let input = json!("When was Rust 1.0 released?");
        let text = user_message(
            " Cites doc-17.\n",
            &JudgeEvidence {
                input: &input,
                output: "May 15, 2015 (doc-17).",
                tool_calls: &calls,
            },
        );
        assert_eq!(
            text,
            "## Rubric\nCites doc-17.\n\n## Task\nWhen was Rust 1.0 released?\n\n\
             ## Tool calls (3)\n1. search {\"query\":\"rust 1.0\"}\n2. read_doc {not json\n3. noop \n\n\
             ## Final answer\nMay 15, 2015 (doc-17).\n"
        );

        let long = "é".repeat(MAX_OUTPUT_CHARS + 10);
        let many: Vec<ToolCallRecord> = (0..MAX_TOOL_CALLS + 3)
            .map(|i| ToolCallRecord {
                name: format!("t{i}"),
                args: Some(json!({ "x": "y".repeat(MAX_ARGS_CHARS * 2) })),
            })
            .collect();
        let input = json!({"city": "Paris"});
        let text = user_message(
            "r",
            &JudgeEvidence {
                input: &input,
                output: &long,
                tool_calls: &many,
            },
        );
        assert!(text.contains("## Task\n{\"city\":\"Paris\"}\n"), "{text}");
        assert!(text.contains("[… 3 more tool calls]"));
        assert!(!text.contains(&format!("t{MAX_TOOL_CALLS} ")));
        assert!(text.contains("[… cut: 10 more characters]"));
        assert!(text.contains(&format!(
            "[… cut: {} more characters]",
            MAX_ARGS_CHARS + 10 - MAX_ARGS_CHARS
        )));
        assert!(text.chars().count() < MAX_OUTPUT_CHARS + 60 * (MAX_ARGS_CHARS + 40));
    }

    #[test]
    fn one_sample_passes_when_its_score_reaches_the_threshold() {
        let (check, samples) = decide(&judge(0.5, 1), &[verdict(0.5, "cites doc-17")]);
        assert!(check.passed);
        assert_eq!(check.score, Some(0.5));
        assert_eq!(
            check.message,
            "score 0.50 (threshold 0.50) from `strict`: cites doc-17"
        );
        assert!(samples[0].passed);

        let (check, _) = decide(&judge(0.8, 1), &[verdict(0.7, "no source\ncited")]);
        assert!(!check.passed);
        assert_eq!(
            check.message,
            "score 0.70 (threshold 0.80) from `strict`: no source\\ncited"
        );
        let (check, _) = decide(&judge(0.0, 1), &[verdict(0.0, "")]);
        assert!(check.passed, "threshold 0 passes any verdict");
        assert_eq!(check.message, "score 0.00 (threshold 0.00) from `strict`");
    }

    #[test]
    fn samples_vote_and_a_tie_fails() {
        let mixed = [
            verdict(0.9, "good"),
            verdict(0.2, "bad"),
            verdict(0.6, "fine"),
        ];
        let (check, samples) = decide(&judge(0.5, 3), &mixed);
        assert!(check.passed);
        let mean = (0.9 + 0.2 + 0.6) / 3.0;
        assert_eq!(check.score, Some(mean));
        assert_eq!(
            check.message,
            "2/3 samples passed, mean score 0.57 (threshold 0.50) from `strict`: good"
        );
        let passed: Vec<bool> = samples.iter().map(|s| s.passed).collect();
        assert_eq!(passed, [true, false, true]);

        let (check, _) = decide(&judge(0.5, 2), &mixed[..2]);
        assert!(!check.passed, "1 of 2 is a tie");
        assert_eq!(
            check.message,
            "1/2 samples passed (2 needed), mean score 0.55 (threshold 0.50) from `strict`: bad"
        );
    }

    #[test]
    fn a_sample_without_a_verdict_is_a_failed_vote_never_a_pass() {
        let (check, samples) = decide(
            &judge(0.5, 1),
            &[Err(
                "the model call failed after 4 attempt(s): HTTP 500: boom".into(),
            )],
        );
        assert!(!check.passed);
        assert_eq!(check.score, None);
        assert_eq!(
            check.message,
            "judge `strict` gave no verdict: the model call failed after 4 attempt(s): HTTP 500: boom"
        );
        assert_eq!(samples[0].score, None);

        let outcomes = [
            verdict(0.9, "good"),
            Err("timed out after 1s".into()),
            verdict(0.1, "bad"),
        ];
        let (check, _) = decide(&judge(0.5, 3), &outcomes);
        assert!(!check.passed, "1 pass, 1 fail, 1 error");
        assert_eq!(
            check.message,
            "1/3 samples passed (2 needed), mean score 0.50 (threshold 0.50) from \
             `strict`: bad; 1 sample(s) without a verdict, first (sample 2): timed out after 1s"
        );
        assert_eq!(check.score, Some(0.5), "the mean of the verdicts given");
    }
}
