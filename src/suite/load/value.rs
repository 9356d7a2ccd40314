//! The small value checks every part of the loader uses: durations, counts, non-empty
//! strings, and lists of names as messages spell them.

use std::time::Duration;

use super::super::doc::Doc;
use super::Result;
use crate::toml_doc::KeyPath;

/// `` `a`, `b` and `c` ``.
pub(super) fn and_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|item| format!("`{item}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// A duration such as `"30s"`, `"1500ms"` or `"2m"`; zero is refused, as a zero timeout or
/// latency limit would fail every trial.
pub(in crate::suite) fn duration(doc: &Doc<'_>, at: &KeyPath, text: &str) -> Result<Duration> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => {
            Err(doc.invalid(at, format!("`{text}` is zero; a duration must be positive")))
        }
        Ok(duration) => Ok(duration),
        Err(e) => {
            let message = format!(
                "`{text}` is not a duration ({e}); write e.g. \"30s\", \"1500ms\" or \"2m\""
            );
            Err(doc.invalid(at, message))
        }
    }
}

/// A count such as `trials`, which must be at least 1.
pub(in crate::suite) fn at_least_one<T: PartialOrd + From<u8>>(
    doc: &Doc<'_>,
    at: &KeyPath,
    value: T,
) -> Result<T> {
    if value < T::from(1) {
        return Err(doc.invalid(at, "must be at least 1"));
    }
    Ok(value)
}

pub(super) fn non_empty(doc: &Doc<'_>, at: &KeyPath, value: String) -> Result<String> {
    if value.trim().is_empty() {
        return Err(doc.invalid(at, "must not be empty"));
    }
    Ok(value)
}
