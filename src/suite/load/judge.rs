//! `[[case.expect.judge]]` tables into [`Judge`]s.

use super::super::doc::Doc;
use super::super::raw::RawJudge;
use super::super::spec::{DEFAULT_JUDGE_THRESHOLD, Judge};
use super::{Result, at_least_one, non_empty};
use crate::toml_doc::{KeyPath, did_you_mean};

/// A judge's check name when it has no `name`.
const DEFAULT_NAME: &str = "judge";

/// The most samples one judge may take per trial.
pub(super) const MAX_JUDGE_SAMPLES: u32 = 25;

/// A case's judges, in file order, names unique; with `models` (the models of the suite and of
/// traceval.toml), each judge's `model` must be one of them.
pub(super) fn judges(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: Vec<RawJudge>,
    models: Option<&[&str]>,
) -> Result<Vec<Judge>> {
    let mut judges: Vec<Judge> = Vec::with_capacity(raw.len());
    for (i, raw) in raw.into_iter().enumerate() {
        let at_i = at.index(i);
        let named = raw.name.is_some();
        let judge = judge(doc, &at_i, raw, models)?;
        if let Some(first) = judges.iter().position(|j| j.name == judge.name) {
            let (line, _) = doc.locate(&at.index(first));
            let message = format!(
                "two judges of this case are named `{}` (the first at line {line}); give each \
                 judge its own `name`, which names its check in the report",
                judge.name
            );
            let key = if named { at_i.key("name") } else { at_i };
            return Err(doc.invalid(&key, message));
        }
        judges.push(judge);
    }
    Ok(judges)
}

fn judge(doc: &Doc<'_>, at: &KeyPath, raw: RawJudge, models: Option<&[&str]>) -> Result<Judge> {
    let name = match raw.name {
        Some(name) => non_empty(doc, &at.key("name"), name)?,
        None => DEFAULT_NAME.to_owned(),
    };
    if raw.model.is_empty() {
        return Err(doc.invalid(&at.key("model"), "a model name must not be empty"));
    }
    if let Some(known) = models
        && !known.contains(&raw.model.as_str())
    {
        let model = &raw.model;
        let message = format!(
            "model `{model}` is not defined: add a `[model.{model}]` table to the suite or to \
             traceval.toml (any provider: scripted, openai or anthropic)"
        );
        let hint = did_you_mean(model, known.iter().copied());
        return Err(doc.invalid_with_hint(&at.key("model"), message, hint));
    }
    let rubric = non_empty(doc, &at.key("rubric"), raw.rubric)?;
    let threshold = match raw.threshold {
        None => DEFAULT_JUDGE_THRESHOLD,
        Some(t) if (0.0..=1.0).contains(&t) => t,
        Some(t) => {
            let message = format!(
                "must be a score from 0 to 1 (what a sample must reach to pass), found {t}"
            );
            return Err(doc.invalid(&at.key("threshold"), message));
        }
    };
    let samples = raw
        .samples
        .map(|n| at_least_one(doc, &at.key("samples"), n))
        .transpose()?
        .unwrap_or(1);
    // Every sample is a model call per trial: a typo such as `samples = 1000` must not turn
    // into a thousand paid calls.
    if samples > MAX_JUDGE_SAMPLES {
        let message = format!(
            "must be at most {MAX_JUDGE_SAMPLES} (each sample is one model call per trial), found {samples}"
        );
        return Err(doc.invalid(&at.key("samples"), message));
    }
    let temperature = match raw.temperature {
        Some(t) if !(t.is_finite() && (0.0..=2.0).contains(&t)) => {
            let message = format!("must be from 0 to 2, found {t}");
            return Err(doc.invalid(&at.key("temperature"), message));
        }
        t => t,
    };
    Ok(Judge {
        name,
        model: raw.model,
        rubric,
        threshold,
        samples,
        temperature,
    })
}
