//! User strings (suites, case ids, models, check messages, behaviour summaries, notes, paths,
//! run ids) are data: these functions make them inert in GitHub-flavoured Markdown, for the run
//! summary and for `compare`'s Markdown alike. The terminal's counterpart is
//! [`crate::trace::render::clean`].

/// Characters that hide or reorder text, or move a cursor: never printed as they are.
fn invisible(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Text for a Markdown paragraph or table cell: rendered as the same characters, never as
/// markup, HTML or a cell boundary. Line breaks become spaces; invisible characters `�`.
pub(crate) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if invisible(c) => out.push('\u{FFFD}'),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // Backslash escapes work in table cells too: GFM splits cells on unescaped `|` first.
            // `$` starts GitHub's math.
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '!' | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` verbatim: a backtick fence longer than any backtick run inside,
/// padded with a space where the content would otherwise merge with the fence or lose a space.
/// `in_table` escapes `|`, which GFM reads as a cell boundary even inside a code span (and
/// unescapes before the span is parsed). Empty content gives an empty string.
pub(crate) fn code(s: &str, in_table: bool) -> String {
    let content: String = s
        .chars()
        .map(|c| match c {
            '\n' | '\r' | '\t' => ' ',
            c if invisible(c) => '\u{FFFD}',
            c => c,
        })
        .collect();
    if content.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in content.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // CommonMark strips one space from each end when both ends have one (and the span is not
    // all spaces): a padding space on each side keeps the content exact.
    let pad = content.starts_with('`')
        || content.ends_with('`')
        || (content.starts_with(' ') && content.ends_with(' ') && content.trim() != "");
    let pad = if pad { " " } else { "" };
    let body = if in_table {
        content.replace('|', "\\|")
    } else {
        content
    };
    format!("{fence}{pad}{body}{pad}{fence}")
}

/// A run id for the marker comment: only `[A-Za-z0-9._-]`, at most 100 characters, so it can
/// neither close the comment (`-->`) nor make the marker unwieldy.
pub(crate) fn marker_id(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(100)
        .collect()
}
