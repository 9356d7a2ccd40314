//! `--filter PATTERN`: which cases run, matched against `suite::case`.
//!
//! A pattern holding a glob metacharacter (`*`, `?` or `[`) is a glob over the whole of
//! `suite::case` (`weather::*`, `*::paris`); any other pattern matches when it occurs anywhere in
//! it (`paris` runs `weather::paris` and `travel::paris-hotels`). Several patterns select the
//! cases any of them matches; no pattern selects every case. Matching is case-sensitive, as
//! case ids are.

use globset::{Glob, GlobSet, GlobSetBuilder};

/// The cases selected by `--filter` patterns.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    globs: GlobSet,
    substrings: Vec<String>,
}

/// A `--filter` glob did not compile. The message says why, as the CLI prints it alone.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid filter pattern `{pattern}`: {}; a pattern with `*`, `?` or `[` is a glob over \
     `suite::case` (`[[]` matches a literal `[`)",
    source.kind()
)]
pub(crate) struct FilterError {
    /// The pattern as given.
    pub pattern: String,
    /// Why globset rejected it.
    #[source]
    pub source: globset::Error,
}

impl Filter {
    /// A filter from the patterns of every `--filter` flag.
    pub(crate) fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Filter, FilterError> {
        let mut globs = GlobSetBuilder::new();
        let mut substrings = Vec::new();
        for pattern in patterns.iter().map(AsRef::as_ref) {
            if pattern.contains(['*', '?', '[']) {
                let glob = Glob::new(pattern).map_err(|source| FilterError {
                    pattern: pattern.to_owned(),
                    source,
                })?;
                globs.add(glob);
            } else {
                substrings.push(pattern.to_owned());
            }
        }
        let globs = globs.build().map_err(|source| FilterError {
            pattern: patterns
                .iter()
                .map(AsRef::as_ref)
                .collect::<Vec<_>>()
                .join(" "),
            source,
        })?;
        Ok(Filter { globs, substrings })
    }

    /// Whether the filter selects every case (no pattern was given).
    pub(crate) fn is_empty(&self) -> bool {
        self.globs.is_empty() && self.substrings.is_empty()
    }

    /// Whether case `case` of suite `suite` runs.
    pub(crate) fn matches(&self, suite: &str, case: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let key = format!("{suite}::{case}");
        self.substrings.iter().any(|s| key.contains(s.as_str())) || self.globs.is_match(&key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: [(&str, &str); 5] = [
        ("weather", "paris"),
        ("weather", "tokyo"),
        ("travel", "paris-hotels"),
        ("rag", "q1"),
        ("rag", "Q2"),
    ];

    #[test]
    fn patterns_select_cases() {
        let cases: [(&[&str], &[&str]); 10] = [
            (
                &[],
                &[
                    "weather::paris",
                    "weather::tokyo",
                    "travel::paris-hotels",
                    "rag::q1",
                    "rag::Q2",
                ],
            ),
            (&["paris"], &["weather::paris", "travel::paris-hotels"]),
            (&["weather::"], &["weather::paris", "weather::tokyo"]),
            (&["weather::*"], &["weather::paris", "weather::tokyo"]),
            (&["*::paris"], &["weather::paris"]),
            (&["rag::q?"], &["rag::q1"]),
            (&["rag::[qQ]*"], &["rag::q1", "rag::Q2"]),
            (
                &["tokyo", "rag::*"],
                &["weather::tokyo", "rag::q1", "rag::Q2"],
            ),
            // A glob matches the whole key, a plain pattern any part of it.
            (&["weather"], &["weather::paris", "weather::tokyo"]),
            (&["weather*paris"], &["weather::paris"]),
        ];
        for (patterns, expected) in cases {
            let filter = Filter::new(patterns).unwrap();
            let selected: Vec<String> = CASES
                .iter()
                .filter(|(suite, case)| filter.matches(suite, case))
                .map(|(suite, case)| format!("{suite}::{case}"))
                .collect();
            assert_eq!(selected, expected, "{patterns:?}");
            assert_eq!(filter.is_empty(), patterns.is_empty());
        }
    }

    #[test]
    fn an_invalid_glob_is_an_error() {
        let error = Filter::new(&["ok", "weather::[paris"]).unwrap_err();
        assert_eq!(error.pattern, "weather::[paris");
        assert!(
            error
                .to_string()
                .starts_with("invalid filter pattern `weather::[paris`: unclosed character class"),
            "{error}"
        );
    }

    #[test]
    fn a_bad_glob_says_why_and_how_to_match_the_character() {
        let err = Filter::new(&["weather::["]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid filter pattern `weather::[`: unclosed character class; missing ']'; a \
             pattern with `*`, `?` or `[` is a glob over `suite::case` (`[[]` matches a literal \
             `[`)"
        );
        let literal = Filter::new(&["a::x[[]1]"]).unwrap();
        assert!(literal.matches("a", "x[1]"));
    }
}
