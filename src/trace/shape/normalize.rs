//! What changes from run to run in span names and attribute values, replaced by placeholders.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use crate::trace::genai::Kind;

/// A UUID, any version, either case.
static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
        .expect("a valid regex")
});

/// An ISO 8601 date and time (a date alone is not a timestamp: model names carry dates).
static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    )
    .expect("a valid regex")
});

/// A word of 8 or more hex digits (optionally `0x`-prefixed); replaced only when it mixes
/// digits and letters, so `20241022` in a model name stays.
static HEX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b(?:0x)?[0-9a-fA-F]{8,}\b").expect("a valid regex"));

/// A run of digits that is a word of its own: `/users/123`, `page 2`, not `s3` or `v1_x`.
static NUMBER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[0-9]+\b").expect("a valid regex"));

/// A span name with what differs between runs replaced: UUIDs by `<uuid>`, timestamps by
/// `<time>`, hex ids (8 or more hex digits mixing digits and letters) by `<hex>`, and, in
/// spans of kind `other` only (HTTP, database, custom spans), every number that is a word of
/// its own by `<n>`. GenAI names keep their numbers: `chat gpt-4o-2024-08-06` is a model,
/// not an id.
///
/// ```
/// use traceval::trace::Kind;
/// use traceval::trace::shape::normalize_name;
///
/// assert_eq!(normalize_name("GET /users/123", Kind::Other), "GET /users/<n>");
/// assert_eq!(normalize_name("chat gpt-4o-2024-08-06", Kind::Llm), "chat gpt-4o-2024-08-06");
/// assert_eq!(
///     normalize_name("job 3f2a9c1e-7b4d-4e8a-9c1f-2a3b4c5d6e7f", Kind::Step),
///     "job <uuid>"
/// );
/// ```
pub fn normalize_name(name: &str, kind: Kind) -> String {
    let text = normalize_value(name);
    if kind == Kind::Other {
        NUMBER.replace_all(&text, "<n>").into_owned()
    } else {
        text
    }
}

/// A value with UUIDs, timestamps and hex ids replaced, as in [`normalize_name`]; numbers
/// stay.
pub(super) fn normalize_value(text: &str) -> String {
    let text = UUID.replace_all(text, "<uuid>");
    let text = TIME.replace_all(&text, "<time>");
    HEX.replace_all(&text, |c: &Captures<'_>| {
        let word = &c[0];
        let digits = word.trim_start_matches("0x");
        let mixed = digits.bytes().any(|b| b.is_ascii_digit())
            && digits.bytes().any(|b| b.is_ascii_alphabetic());
        if mixed || word.starts_with("0x") {
            "<hex>".to_owned()
        } else {
            word.to_owned()
        }
    })
    .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_numbers_and_times_become_placeholders() {
        let cases = [
            ("GET /users/123", Kind::Other, "GET /users/<n>"),
            (
                "GET /users/123/orders/9",
                Kind::Other,
                "GET /users/<n>/orders/<n>",
            ),
            ("s3.GetObject", Kind::Other, "s3.GetObject"),
            ("fetch_page_3", Kind::Other, "fetch_page_3"),
            ("page 2 of 10", Kind::Other, "page <n> of <n>"),
            (
                "chat gpt-4o-2024-08-06",
                Kind::Llm,
                "chat gpt-4o-2024-08-06",
            ),
            (
                "chat claude-3-5-sonnet-20241022",
                Kind::Llm,
                "chat claude-3-5-sonnet-20241022",
            ),
            ("execute_tool page 2", Kind::Tool, "execute_tool page 2"),
            (
                "session 3F2A9C1E-7B4D-4E8A-9C1F-2A3B4C5D6E7F done",
                Kind::Agent,
                "session <uuid> done",
            ),
            (
                "trace 4bf92f3577b34da6a3ce929d0e0e4736",
                Kind::Step,
                "trace <hex>",
            ),
            ("commit deadbeef1", Kind::Step, "commit <hex>"),
            ("addr 0x00001000", Kind::Other, "addr <hex>"),
            ("batch 2024-08-06T12:30:05.123Z", Kind::Step, "batch <time>"),
            (
                "batch 2024-08-06 12:30:05+02:00 x",
                Kind::Other,
                "batch <time> x",
            ),
            // An English word made of hex letters is not an id.
            ("decadeface", Kind::Other, "decadeface"),
        ];
        for (name, kind, want) in cases {
            assert_eq!(normalize_name(name, kind), want, "{name}");
        }
    }
}
