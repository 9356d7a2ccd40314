//! Escaping: every string that reaches the page from a report or a trace goes through here.
//!
//! [`esc`], for text and quoted attribute values alike: `&`, `<`, `>`, `"` and `'` become
//! entities, so a value can never close an element or an attribute. [`write_clipped`], which
//! writes element content only (its clip marker is markup, so it cannot sit in an attribute),
//! leaves quotes as they are: in text they are inert, and JSON values, full of them, stay
//! a sixth of the size. Characters that would make text lie
//! about itself are shown as visible escapes (`\u{202E}`): bidirectional overrides and
//! isolates, C0/C1 controls other than newline and tab, and the line and paragraph separators.
//! Nothing from data is ever placed in `id`, `href` or `src`: ids are derived hashes
//! ([`id`]).

use std::fmt::{self, Write};

/// `text`, escaped for HTML text and quoted attribute values; see the module docs.
pub(crate) fn esc(text: &str) -> Escaped<'_> {
    Escaped { text, quotes: true }
}

/// A string that displays escaped; see [`esc`].
#[derive(Clone, Copy)]
pub(crate) struct Escaped<'a> {
    text: &'a str,
    /// Whether quotes become entities (everywhere but element content).
    quotes: bool,
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.text;
        let mut plain = 0;
        for (i, c) in text.char_indices() {
            let replacement: Option<&str> = match c {
                '&' => Some("&amp;"),
                '<' => Some("&lt;"),
                '>' => Some("&gt;"),
                '"' if self.quotes => Some("&quot;"),
                '\'' if self.quotes => Some("&#39;"),
                _ => None,
            };
            if replacement.is_none() && !hidden(c) {
                continue;
            }
            f.write_str(&text[plain..i])?;
            match replacement {
                Some(entity) => f.write_str(entity)?,
                None => write!(f, "\\u{{{:X}}}", c as u32)?,
            }
            plain = i + c.len_utf8();
        }
        f.write_str(&text[plain..])
    }
}

/// A character shown as a visible escape instead of itself: controls other than newline and
/// tab, bidirectional embeddings, overrides and isolates, and the line and paragraph
/// separators.
fn hidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{B}'..='\u{1F}' | '\u{7F}'..='\u{9F}'
        | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        | '\u{2028}' | '\u{2029}')
}

/// The longest head of `text` of at most `max` bytes that ends on a character boundary, and
/// how many bytes were left off. `max == 0` keeps all of it.
pub(crate) fn clip(text: &str, max: usize) -> (&str, usize) {
    if max == 0 || text.len() <= max {
        return (text, 0);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    (&text[..end], text.len() - end)
}

/// Writes `text` as element content (never in an attribute), escaped, at most `max` bytes of
/// it, followed by a visible `… N bytes more` marker when it was clipped. Returns whether it
/// was.
pub(crate) fn write_clipped(out: &mut String, text: &str, max: usize) -> bool {
    let (head, more) = clip(text, max);
    let content = Escaped {
        text: head,
        quotes: false,
    };
    let _ = write!(out, "{content}");
    if more > 0 {
        let _ = write!(out, "<span class=\"more\">… {more} bytes more</span>");
    }
    more > 0
}

/// An element id derived from parts of data (`t-` and 16 hex digits of their FNV-1a 64), so
/// no raw case id, model name or span name ever lands in an `id` or a fragment link. Parts are
/// separated so that `("ab", "c")` and `("a", "bc")` differ.
pub(crate) fn id(prefix: &str, parts: &[&str]) -> String {
    let mut hash = crate::hash::fnv1a64(prefix.as_bytes());
    for part in parts {
        hash = crate::hash::fnv1a64_extend(hash, &[0xFF]);
        hash = crate::hash::fnv1a64_extend(hash, part.as_bytes());
    }
    format!("{prefix}-{hash:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_data_becomes_text() {
        let hostile = "</script><script>alert(1)</script>\"><img src=x onerror='x'>&amp;";
        let out = esc(hostile).to_string();
        assert!(!out.contains('<') && !out.contains('>') && !out.contains('"'));
        assert!(!out.contains('\''));
        assert_eq!(
            out,
            "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x \
             onerror=&#39;x&#39;&gt;&amp;amp;"
        );
    }

    #[test]
    fn invisible_and_reordering_characters_are_shown() {
        assert_eq!(esc("a\u{202E}b").to_string(), "a\\u{202E}b");
        assert_eq!(esc("x\u{2028}y\u{0}").to_string(), "x\\u{2028}y\\u{0}");
        assert_eq!(esc("line\n\ttab é ✓").to_string(), "line\n\ttab é ✓");
    }

    #[test]
    fn clipping_respects_character_boundaries() {
        assert_eq!(clip("héllo", 2), ("h", 5));
        assert_eq!(clip("héllo", 3), ("hé", 3));
        assert_eq!(clip("héllo", 0), ("héllo", 0));
        let mut out = String::new();
        assert!(write_clipped(&mut out, "<abcdef", 3));
        assert_eq!(out, "&lt;ab<span class=\"more\">… 4 bytes more</span>");
        // Content keeps its quotes; markup characters and hidden ones are still escaped.
        let mut out = String::new();
        assert!(!write_clipped(&mut out, "{\"a\":'<b>'}\u{202E}", 100));
        assert_eq!(out, "{\"a\":'&lt;b&gt;'}\\u{202E}");
    }

    #[test]
    fn ids_are_hashes_that_keep_parts_apart() {
        let a = id("t", &["ab", "c"]);
        assert_ne!(a, id("t", &["a", "bc"]));
        assert_eq!(a, id("t", &["ab", "c"]));
        assert!(a.starts_with("t-") && a.len() == 18);
    }
}
