//! Text rendering of a span tree: one line per span with its GenAI kind, duration and key
//! attributes, errors marked. Used by `traceval inspect` and by failure reports.
//!
//! Everything a trace says is data: control characters are escaped, so a span name cannot
//! move the cursor or recolour the terminal, and long values are cut.

use std::collections::HashSet;
use std::fmt::Write;

use super::genai::{GenAiView, Kind};
use super::tree::{NodeId, NodeRef, RootReason};

/// How to render.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Nodes to flag with `>>`, e.g. the spans a failed assertion is about.
    pub marked: HashSet<NodeId>,
    /// Longest attribute value printed before it is cut (0 = 80).
    pub max_value_len: usize,
}

/// Indentation stops growing past this depth; deeper lines say their depth instead.
const MAX_INDENT: usize = 64;

/// Renders every tree of the view, roots in order.
pub fn render(view: &GenAiView<'_>, options: &RenderOptions) -> String {
    let mut out = Vec::new();
    write_tree(&mut out, view, options).expect("writing to memory cannot fail");
    String::from_utf8(out).expect("rendered text is UTF-8")
}

/// Writes every tree of the view, a line at a time. Iterative, so a trace of any depth renders
/// without overflowing the stack, and memory does not grow with depth × width.
pub fn write_tree(
    out: &mut dyn std::io::Write,
    view: &GenAiView<'_>,
    options: &RenderOptions,
) -> std::io::Result<()> {
    let roots: Vec<_> = view.tree().roots().collect();
    let mut stack: Vec<(NodeRef<'_>, usize, bool)> =
        roots.into_iter().rev().map(|r| (r, 0, true)).collect();
    // last[i]: whether the ancestor at depth i + 1 was the last of its siblings.
    let mut last: Vec<bool> = Vec::new();
    let mut prefix = String::new();
    while let Some((node, depth, is_last)) = stack.pop() {
        last.truncate(depth.saturating_sub(1));
        prefix.clear();
        for &ancestor_last in last.iter().take(MAX_INDENT.saturating_sub(1)) {
            prefix.push_str(if ancestor_last { "   " } else { "│  " });
        }
        if depth > 0 {
            prefix.push_str(if is_last { "└─ " } else { "├─ " });
        }
        if depth > MAX_INDENT {
            let _ = write!(prefix, "[depth {depth}] ");
        }
        let mark = if options.marked.contains(&node.id()) {
            ">> "
        } else {
            ""
        };
        writeln!(out, "{prefix}{mark}{}", line(view, options, node))?;
        if depth > 0 {
            last.push(is_last);
        }
        let children = node.children();
        let n = children.len();
        stack.extend(
            children
                .enumerate()
                .map(|(i, c)| (c, depth + 1, i + 1 == n))
                .collect::<Vec<_>>()
                .into_iter()
                .rev(),
        );
    }
    Ok(())
}

/// One span's line: `name  kind  duration  key=value...  ERROR: message`.
pub fn line(view: &GenAiView<'_>, options: &RenderOptions, node: NodeRef<'_>) -> String {
    let max = if options.max_value_len == 0 {
        80
    } else {
        options.max_value_len
    };
    let span = node.span();
    let kind = view.kind(node.id());
    let mut s = format!(
        "{}  [{}]  {}",
        clean(&span.name, max),
        kind,
        format_duration(span.duration_ns())
    );
    let mut kv = |k: &str, v: &str| {
        let _ = write!(s, "  {k}={}", clean(v, max));
    };
    match kind {
        Kind::Llm => {
            if let Some(call) = view.llm_call(node.id()) {
                if let Some(m) = call.response_model.as_ref().or(call.request_model.as_ref()) {
                    kv("model", m);
                }
                if call.input_tokens.is_some() || call.output_tokens.is_some() {
                    let t = |v: Option<u64>| v.map_or("?".to_owned(), |v| v.to_string());
                    kv(
                        "tokens",
                        &format!("{}/{}", t(call.input_tokens), t(call.output_tokens)),
                    );
                }
                if !call.finish_reasons.is_empty() {
                    kv("finish", &call.finish_reasons.join(","));
                }
                if call.is_retry {
                    kv("retry", "true");
                }
            }
        }
        Kind::Tool => {
            if let Some(call) = view.tool_call(node.id()) {
                kv("tool", &call.name);
                match (&call.arguments, &call.raw_arguments) {
                    (Some(args), _) => kv("args", &args.to_string()),
                    (None, Some(raw)) => kv("args", raw),
                    (None, None) => {}
                }
            }
        }
        Kind::Agent => {
            if let Some(agent) = view.agent(node.id()) {
                kv("agent", &agent.name);
            }
        }
        _ => {}
    }
    match node.root_reason() {
        Some(RootReason::MissingParent) => {
            let parent = span
                .parent_span_id
                .map(|p| p.to_string())
                .unwrap_or_default();
            let _ = write!(s, "  (orphan: parent {parent} not in trace)");
        }
        Some(RootReason::Cycle) => s.push_str("  (parent link cut: cycle)"),
        Some(RootReason::Root) | None => {}
    }
    if let Some(err) = span.error_message() {
        let _ = write!(s, "  ERROR: {}", clean(&err, max));
    }
    s
}

/// `1.204s`, `58.5ms`, `12µs`.
pub fn format_duration(ns: u64) -> String {
    if ns >= 1_000_000_000 {
        format!("{:.3}s", ns as f64 / 1e9)
    } else if ns >= 1_000_000 {
        format!("{:.1}ms", ns as f64 / 1e6)
    } else {
        format!("{}µs", ns / 1_000)
    }
}

/// Escapes control characters and cuts to `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 8));
    for (count, c) in text.chars().enumerate() {
        if count == max {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Control characters, and the invisible format characters that reorder or hide
            // text (bidi embeddings, overrides and isolates, zero-width marks, BOM).
            c if c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}') =>
            {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::trace::{KeyValue, Span, SpanId, SpanTree, StatusCode, TraceId};

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        assert_eq!(clean("a\u{1b}[31mred\nb", 80), "a\\u{1b}[31mred\\nb");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(clean("a\u{202E}b", 80), "a\\u{202e}b");
    }

    #[test]
    fn very_deep_traces_render_without_recursion() {
        let n = 100_000u64;
        let spans = (0..n).map(|i| {
            let mut s = Span::new(TraceId([1; 16]), SpanId((i + 1).to_be_bytes()), "s");
            s.parent_span_id = (i > 0).then(|| SpanId(i.to_be_bytes()));
            s.start_time_unix_nano = i;
            Arc::new(s)
        });
        let tree = SpanTree::build(spans);
        let text = render(&GenAiView::new(&tree), &RenderOptions::default());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), n as usize);
        assert!(
            lines
                .last()
                .unwrap()
                .contains(&format!("[depth {}]", n - 1))
        );
        let widest = lines.iter().map(|l| l.chars().count()).max().unwrap();
        assert!(widest < 300, "indentation is capped, widest line {widest}");
    }

    #[test]
    fn renders_kinds_attributes_errors_and_orphans() {
        let t = TraceId([1; 16]);
        let mut root = Span::new(t, SpanId([1; 8]), "invoke_agent bot");
        root.end_time_unix_nano = 2_500_000_000;
        let mut tool = Span::new(t, SpanId([2; 8]), "execute_tool search");
        tool.parent_span_id = Some(SpanId([1; 8]));
        tool.start_time_unix_nano = 1;
        tool.end_time_unix_nano = 1_500_001;
        tool.attributes = [KeyValue::new("gen_ai.tool.call.arguments", r#"{"q":"x"}"#)]
            .into_iter()
            .collect();
        tool.status.code = StatusCode::Error;
        tool.status.message = "boom".into();
        let mut lost = Span::new(t, SpanId([3; 8]), "lost");
        lost.parent_span_id = Some(SpanId([9; 8]));
        lost.start_time_unix_nano = 5;
        let tree = SpanTree::build([root, tool, lost].map(Arc::new));
        let view = GenAiView::new(&tree);
        let mut options = RenderOptions::default();
        options.marked.insert(tree.walk().nth(1).unwrap().id());
        let text = render(&view, &options);
        assert_eq!(
            text,
            "invoke_agent bot  [agent]  2.500s  agent=bot\n\
             └─ >> execute_tool search  [tool]  1.5ms  tool=search  args={\"q\":\"x\"}  ERROR: boom\n\
             lost  [other]  0µs  (orphan: parent 0909090909090909 not in trace)\n"
        );
    }
}
