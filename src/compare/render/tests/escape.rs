//! The Markdown escaping: what goes in comes out as the same text, never as markup.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::report::markdown::escape::{code, marker_id, text};

/// Hostile strings: markup, HTML, pipes, backticks, entities, line breaks.
const HOSTILE: [&str; 12] = [
    "plain",
    "a|b",
    "` | <script>alert(1)</script>",
    "``double`` and `single`",
    "`starts",
    "ends`",
    " spaced ",
    "*bold* _em_ [link](http://x) ![img](y) # h ~~s~~",
    "back\\slash \\| and \\`",
    "&amp; &lt; <b>",
    "line\nbreak\r\ttab",
    "esc\u{1b}[31mred",
];

/// The text of each cell of the table's first body row.
fn cells(markdown: &str) -> Vec<String> {
    let mut cells = Vec::new();
    let mut in_body = false;
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(markdown, Options::ENABLE_TABLES) {
        match event {
            Event::End(TagEnd::TableHead) => in_body = true,
            Event::Start(Tag::TableCell) if in_body => cell = Some(String::new()),
            Event::End(TagEnd::TableCell) if in_body => cells.extend(cell.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in {markdown:?}: {h}"),
            _ => {}
        }
    }
    cells
}

/// What a string reads as once rendered: line breaks as spaces, invisible characters as `�`.
fn readable(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect()
}

#[test]
fn escaped_text_and_code_read_back_as_the_same_characters_in_a_table() {
    for s in HOSTILE {
        let md = format!(
            "| a | b |\n|---|---|\n| {} | {} |\n",
            text(s),
            code(s, true)
        );
        let got = cells(&md);
        // A cell's own leading and trailing spaces are the table's padding (a code span keeps
        // them).
        let want = vec![readable(s).trim().to_string(), readable(s)];
        assert_eq!(got, want, "{s:?} as {md:?}");
    }
}

#[test]
fn escaped_text_and_code_read_back_as_the_same_characters_in_a_paragraph() {
    for s in HOSTILE {
        let md = format!("x {} y {}\n", text(s), code(s, false));
        let mut got = String::new();
        for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
            match event {
                Event::Text(t) | Event::Code(t) => got.push_str(&t),
                Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML in {md:?}: {h}"),
                Event::Start(Tag::Paragraph) | Event::End(TagEnd::Paragraph) => {}
                e => panic!("{e:?} in {md:?}"),
            }
        }
        assert_eq!(
            got,
            format!("x {} y {}", readable(s), readable(s)),
            "{md:?}"
        );
    }
}

#[test]
fn code_spans_fence_longer_than_any_backtick_run() {
    assert_eq!(code("a", false), "`a`");
    assert_eq!(code("a`b", false), "``a`b``");
    assert_eq!(code("a``b`", false), "``` a``b` ```");
    assert_eq!(code("a|b", true), "`a\\|b`");
    assert_eq!(code("", true), "");
}

#[test]
fn text_escapes_markup_and_html() {
    assert_eq!(text("a|b"), "a\\|b");
    assert_eq!(text("<script>"), "&lt;script&gt;");
    assert_eq!(text("*_`[]#!\\"), "\\*\\_\\`\\[\\]\\#\\!\\\\");
    assert_eq!(text("a\nb"), "a b");
}

#[test]
fn marker_ids_keep_only_safe_characters() {
    assert_eq!(marker_id("01a1-b2_c.3"), "01a1-b2_c.3");
    assert_eq!(marker_id("x --> <script>"), "x--script");
    assert_eq!(marker_id(&"a".repeat(500)).len(), 100);
}
