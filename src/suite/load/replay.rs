//! A case's `trace` and `output`: the recorded trial an `[agent] kind = "replay"` suite grades.
//! The trace is read and checked while the suite loads, so a missing or broken file is a
//! configuration error at the `trace` key, never an errored trial.

use std::path::Path;

use super::Result;
use crate::capture::file::{TRIAL_ROOT, TraceFileError, is_trial_root, read};
use crate::suite::doc::Doc;
use crate::suite::spec::RecordedTrace;
use crate::toml_doc::KeyPath;

/// Takes a case's `trace` and `output` keys (`at` is the case). In a replay suite (`replay`)
/// `trace` is required and read from `dir`; elsewhere both keys are errors.
pub(super) fn recorded_trace(
    doc: &Doc<'_>,
    at: &KeyPath,
    dir: &Path,
    trace: Option<String>,
    output: Option<String>,
    replay: bool,
) -> Result<Option<RecordedTrace>> {
    if !replay {
        let present = [("trace", trace.is_some()), ("output", output.is_some())];
        if let Some((key, _)) = present.into_iter().find(|&(_, present)| present) {
            let message = "applies only to `[agent] kind = \"replay\"`, which grades a recorded \
                           trace instead of running an agent";
            return Err(doc.invalid(&at.key(key), message));
        }
        return Ok(None);
    }
    let at = at.key("trace");
    let Some(written) = trace else {
        let why = "the recorded trace this case grades (OTLP JSON or JSONL, relative to the \
                   suite file), e.g. trace = \"traces/paris.otlp.jsonl\"";
        return Err(doc.missing(&at, why));
    };
    if written.trim().is_empty() {
        return Err(doc.invalid(&at, "must not be empty"));
    }
    let path = dir.join(&written);
    let file = read(&path).map_err(|e| {
        let message = match e {
            TraceFileError::Parse {
                line,
                column,
                message,
                ..
            } => format!("`{written}` is not an OTLP JSON trace: {line}:{column}: {message}"),
            TraceFileError::Read { source, .. } => format!("cannot read `{written}`: {source}"),
            other => other.to_string(),
        };
        doc.invalid(&at, message)
    })?;
    if file.rejected > 0 {
        let message = format!(
            "`{written}` has {} span(s) with invalid ids ({}): grading part of a trace could \
             pass a trial that should fail",
            file.rejected,
            file.first_rejection.as_deref().unwrap_or("invalid id")
        );
        return Err(doc.invalid(&at, message));
    }
    if file.spans.is_empty() {
        let message = format!("`{written}` holds no spans: there is nothing to grade");
        return Err(doc.invalid(&at, message));
    }
    let roots = file.spans.iter().filter(|s| is_trial_root(s)).count();
    if roots > 1 {
        let message = format!(
            "`{written}` holds {roots} trial roots (`{TRIAL_ROOT}` spans without a parent): a \
             case replays the trace of one trial"
        );
        return Err(doc.invalid(&at, message));
    }
    Ok(Some(RecordedTrace {
        path,
        spans: file.spans.into(),
        output,
    }))
}
