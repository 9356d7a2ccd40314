//! The span waterfall of one trial, server-rendered.
//!
//! One row per span in tree order from the trial root, indented by depth: a label (kind
//! symbol, name, duration, model and tokens or tool and arguments, badges) and a bar on the
//! *trial's* time axis, the root's start to its end. Each row is a `<details>` whose body is
//! the span's panel, so the drill-down needs no JavaScript.
//!
//! Geometry is a pure function ([`bar`]) and percentages are printed with three decimals at
//! most, so the same trace gives the same bytes. A span outside the axis (clock skew between
//! the agent's host and traceval's) is clamped into it and flagged, never drawn off the page.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::escape::{self, esc};
use crate::trace::render::format_duration;
use crate::trace::{GenAiView, Kind, NodeId, NodeRef, SpanId};

#[cfg(test)]
mod tests;

/// Indentation stops growing past this depth; deeper rows say their depth instead.
const MAX_INDENT: u32 = 64;
/// Bytes of a span name, model or tool name shown in a row; the panel shows all of it.
const MAX_LABEL: usize = 200;
/// Characters of a tool call's compact arguments shown in a row.
const MAX_ARGS: usize = 80;
/// Bytes of an error message shown in the `error` label's tooltip.
const MAX_TOOLTIP: usize = 300;
/// The ruler aims for about this many intervals.
const TICKS: u64 = 6;

/// The styles of the waterfall and of the shape diff ([`super::shape`]); the page includes
/// them once. System fonts, no `url()`.
pub(super) const CSS: &str = r#"
.wf{--lbl:minmax(16em,38%);font:12px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding-right:3em}
.wf .ruler,.wf summary{display:grid;grid-template-columns:var(--lbl) 1fr;gap:.5em;align-items:center}
.wf .ruler{position:sticky;top:0;background:Canvas;z-index:1;height:1.6em}
.wf summary{list-style:none;cursor:pointer;padding:1px 0}
.wf summary::-webkit-details-marker{display:none}
.wf summary:hover{background:#8881}
.wf details[open]>summary{background:#8882}
.wf .lbl{padding-left:calc(var(--d,0)*1em);white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.wf .track{position:relative;height:1.1em}
.wf .ruler .track{height:100%;border-bottom:1px solid #8888}
.wf .tick{position:absolute;top:0;bottom:0;border-left:1px solid #8888;padding-left:2px;font-size:10px;opacity:.75;white-space:nowrap}
.wf .bar{position:absolute;top:.2em;bottom:.2em;min-width:1px;background:var(--k);border-radius:2px}
.wf .dur,.wf .meta{opacity:.7}
.wf .args{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.wf .depth{opacity:.6}
.wf .badge{font-size:10px;border-radius:3px;padding:0 .35em;margin-left:.3em}
.wf .linked{border:1px dashed currentColor}
.wf .err-label{color:#fff;background:#c92a2a}
.wf .err .bar{outline:2px solid #c92a2a;outline-offset:1px}
.wf .marked>summary{background:#ffd43b33}
.wf .mark{color:#c92a2a;font-weight:bold;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
.wf .clamped .bar{background-image:repeating-linear-gradient(135deg,transparent 0 3px,#fff9 3px 6px)}
.wf .flag{color:#e67700}
.wf .left-out{font-style:italic}
.k-llm{--k:#7048e8}.k-tool{--k:#e8590c}.k-agent{--k:#0c8599}.k-retrieval{--k:#2f9e44}
.k-embedding{--k:#74b816}.k-retry{--k:#d6336c}.k-step{--k:#1c7ed6}.k-other{--k:#868e96}
.sym{color:var(--k)}
ul.shape{list-style:none;margin:0;padding-left:1.2em;font:12px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
ul.shape.top{padding-left:0}
.shape .counts{opacity:.8}
.shape .only>.node{background:#ffd43b44;border-radius:3px;padding:0 .2em}
.shape .zero{opacity:.55}
.seqs{font:12px/1.6 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
.seqs .seq{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
"#;

/// The symbol drawn next to a span of this kind, so kinds differ by more than colour.
pub(super) fn symbol(kind: Kind) -> &'static str {
    match kind {
        Kind::Llm => "◆",
        Kind::Tool => "⚙",
        Kind::Agent => "●",
        Kind::Retrieval => "⌕",
        Kind::Embedding => "∿",
        Kind::Retry => "↻",
        Kind::Step => "▸",
        Kind::Other => "○",
    }
}

/// A span's rectangle on the trial's axis, in percent of its width.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bar {
    left_pct: f64,
    width_pct: f64,
    /// The span reaches outside the axis and was cut to it.
    clamped: bool,
}

/// The rectangle of a span from `start` to `end` on the axis `t0..t_end` (ns). An end before
/// the start counts as the start; on an empty axis every bar is at 0 with width 0.
fn bar(start: u64, end: u64, t0: u64, t_end: u64) -> Bar {
    let end = end.max(start);
    let clamped = start < t0 || end > t_end;
    if t_end <= t0 {
        return Bar {
            left_pct: 0.0,
            width_pct: 0.0,
            clamped,
        };
    }
    let axis = (t_end - t0) as f64;
    let at = |t: u64| (t.clamp(t0, t_end) - t0) as f64 / axis * 100.0;
    let left = at(start);
    Bar {
        left_pct: left,
        width_pct: (at(end) - left).max(0.0),
        clamped,
    }
}

/// Writes a percentage with at most three decimals, trailing zeros trimmed (`25`, `12.5`).
fn write_pct(out: &mut String, pct: f64) {
    // `+ 0.0` turns -0 into 0; a NaN (never computed) would print as 0.
    let pct = if pct.is_nan() {
        0.0
    } else {
        pct.clamp(0.0, 100.0) + 0.0
    };
    let text = format!("{pct:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    out.push_str(text);
}

/// The ruler's step in ns: 1, 2 or 5 times a power of ten, at least 1 µs (durations print no
/// finer), giving at most about [`TICKS`] intervals.
fn tick_step(axis_ns: u64) -> u64 {
    let target = axis_ns.div_ceil(TICKS);
    let mut magnitude: u64 = 1_000;
    loop {
        for m in [1, 2, 5] {
            let step = magnitude.saturating_mul(m);
            if step >= target {
                return step;
            }
        }
        magnitude = magnitude.saturating_mul(10);
    }
}

/// Writes the waterfall of the tree under `root` (the trial root): a ruler, then one row per
/// span in tree order, at most [`super::Budget::max_spans`] of them; the rest are counted in
/// [`super::Budget::spans_left_out`] and the count is written after the rows. Spans whose id
/// is in `marked` (those a failed check points at) are flagged `>>`.
pub(super) fn write(
    out: &mut String,
    view: &GenAiView<'_>,
    root: NodeId,
    marked: &[SpanId],
    budget: &mut super::Budget,
) {
    let root = view.tree().node(root);
    let root_span = root.span();
    let t0 = root_span.start_time_unix_nano;
    let mut t_end = root_span.end_time_unix_nano;
    if t_end <= t0 {
        // A root without a duration (a replay's, or one still open): the spans' own extent.
        t_end = subtree(root)
            .map(|n| n.span().end_time_unix_nano)
            .max()
            .unwrap_or(t0);
    }
    let marked: HashSet<SpanId> = marked.iter().copied().collect();
    out.push_str("<div class=\"wf\">");
    write_ruler(out, t0, t_end);
    let mut drawn = 0;
    let mut left_out = 0;
    for node in subtree(root) {
        if drawn >= budget.max_spans {
            left_out += 1;
            continue;
        }
        drawn += 1;
        let row = Row {
            view,
            root,
            node,
            t0,
            t_end,
            marked: marked.contains(&node.span().span_id),
        };
        row.write(out, budget);
    }
    if left_out > 0 {
        budget.spans_left_out += left_out;
        let _ = write!(
            out,
            "<p class=\"left-out\">{left_out} more span{} not drawn: at most {} per trial</p>",
            if left_out == 1 { "" } else { "s" },
            budget.max_spans
        );
    }
    out.push_str("</div>");
}

/// `root` and everything below it, in tree order.
fn subtree(root: NodeRef<'_>) -> impl Iterator<Item = NodeRef<'_>> {
    std::iter::once(root).chain(root.descendants())
}

/// The time ruler: ticks at round steps from 0 to the end of the axis.
fn write_ruler(out: &mut String, t0: u64, t_end: u64) {
    out.push_str("<div class=\"ruler\" aria-hidden=\"true\"><span class=\"lbl\"></span><span class=\"track\">");
    let axis = t_end.saturating_sub(t0);
    let step = tick_step(axis);
    let mut at: u64 = 0;
    loop {
        out.push_str("<span class=\"tick\" style=\"left:");
        write_pct(out, bar(t0 + at, t0 + at, t0, t_end).left_pct);
        let _ = write!(out, "%\">{}</span>", format_duration(at));
        match at.checked_add(step) {
            Some(next) if next <= axis => at = next,
            _ => break,
        }
    }
    out.push_str("</span></div>");
}

/// One row of the waterfall.
struct Row<'v, 't> {
    view: &'v GenAiView<'t>,
    root: NodeRef<'t>,
    node: NodeRef<'t>,
    t0: u64,
    t_end: u64,
    marked: bool,
}

impl Row<'_, '_> {
    fn write(&self, out: &mut String, budget: &mut super::Budget) {
        let (view, node) = (self.view, self.node);
        let span = node.span();
        let kind = view.kind(node.id());
        let geometry = bar(
            span.start_time_unix_nano,
            span.end_time_unix_nano,
            self.t0,
            self.t_end,
        );
        let early = node
            .parent()
            .is_some_and(|p| span.start_time_unix_nano < p.span().start_time_unix_nano);
        let depth = node.depth().saturating_sub(self.root.depth());

        let _ = write!(out, "<details class=\"span k-{}", kind.as_str());
        for (on, class) in [
            (span.is_error(), " err"),
            (self.marked, " marked"),
            (geometry.clamped, " clamped"),
            (early, " early"),
        ] {
            if on {
                out.push_str(class);
            }
        }
        let _ = write!(
            out,
            "\" style=\"--d:{}\"><summary><span class=\"lbl\">",
            depth.min(MAX_INDENT)
        );
        if self.marked {
            out.push_str("<span class=\"mark\">&gt;&gt;</span> ");
        }
        if depth > MAX_INDENT {
            let _ = write!(out, "<span class=\"depth\">[depth {depth}]</span> ");
        }
        let _ = write!(
            out,
            "<span class=\"sym\" title=\"{kind}\">{}</span> <span class=\"name\">",
            symbol(kind)
        );
        escape::write_clipped(out, &span.name, MAX_LABEL);
        let _ = write!(
            out,
            "</span> <span class=\"dur\">{}</span>",
            format_duration(span.duration_ns())
        );
        self.write_meta(out, kind);
        self.write_badges(out, geometry.clamped, early);
        out.push_str("</span><span class=\"track\"><span class=\"bar\" style=\"left:");
        write_pct(out, geometry.left_pct);
        out.push_str("%;width:");
        write_pct(out, geometry.width_pct);
        out.push_str("%\"></span></span></summary>");
        if budget.panels {
            super::panel::write(out, view, node.id(), budget);
        }
        out.push_str("</details>");
    }

    /// Model and tokens of an LLM span; tool name and compact arguments of a tool span.
    fn write_meta(&self, out: &mut String, kind: Kind) {
        let (view, node) = (self.view, self.node);
        match kind {
            Kind::Llm => {
                let Some(call) = view.llm_call(node.id()) else {
                    return;
                };
                let model = call.response_model.as_ref().or(call.request_model.as_ref());
                let tokens = call.input_tokens.is_some() || call.output_tokens.is_some();
                if model.is_none() && !tokens {
                    return;
                }
                out.push_str(" <span class=\"meta\">");
                if let Some(model) = model {
                    escape::write_clipped(out, model, MAX_LABEL);
                }
                if tokens {
                    let n = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
                    let sep = if model.is_some() { " · " } else { "" };
                    let _ = write!(
                        out,
                        "{sep}{}→{} tok",
                        n(call.input_tokens),
                        n(call.output_tokens)
                    );
                }
                out.push_str("</span>");
            }
            Kind::Tool => {
                out.push_str(" <span class=\"meta\">");
                match view.tool_call(node.id()) {
                    Some(call) => {
                        escape::write_clipped(out, &call.name, MAX_LABEL);
                        let args = match (&call.arguments, &call.raw_arguments) {
                            (Some(args), _) => Some(args.to_string()),
                            (None, Some(raw)) => Some(raw.clone()),
                            (None, None) => None,
                        };
                        if let Some(args) = args {
                            out.push_str(" <span class=\"args\">");
                            write_chars(out, &args, MAX_ARGS);
                            out.push_str("</span>");
                        }
                    }
                    // A tool span nested in a span of the same tool: one call, shown above.
                    None => {
                        escape::write_clipped(out, &view.tool_name_of(node.span()), MAX_LABEL);
                    }
                }
                out.push_str("</span>");
            }
            _ => {}
        }
    }

    /// The error, linked-trace and clock-skew badges.
    fn write_badges(&self, out: &mut String, clamped: bool, early: bool) {
        let span = self.node.span();
        if span.is_error() {
            out.push_str(" <span class=\"badge err-label\"");
            if let Some(message) = span.error_message() {
                // An attribute holds text only: clipped without the markup of `write_clipped`.
                let (head, more) = escape::clip(&message, MAX_TOOLTIP);
                let ellipsis = if more > 0 { "…" } else { "" };
                let _ = write!(out, " title=\"{}{ellipsis}\"", esc(head));
            }
            out.push_str(">error</span>");
        }
        // The badge goes where the trace changes, not on every span of the linked trace.
        let trace = span.trace_id;
        let parent_trace = self.node.parent().map(|p| p.span().trace_id);
        if trace != self.root.span().trace_id && parent_trace != Some(trace) {
            let _ = write!(
                out,
                " <span class=\"badge linked\" title=\"trace {trace}\">linked trace</span>"
            );
        }
        if clamped || early {
            let mut why = Vec::new();
            if early {
                why.push("starts before its parent");
            }
            if clamped {
                why.push("reaches outside the trial, drawn cut to it");
            }
            let _ = write!(
                out,
                " <span class=\"flag\" title=\"clock skew? {}\">⚠ {}</span>",
                why.join("; "),
                if clamped { "clamped" } else { "starts early" }
            );
        }
    }
}

/// Writes at most `max` characters of `text`, escaped, then `…` when there were more.
fn write_chars(out: &mut String, text: &str, max: usize) {
    match text.char_indices().nth(max) {
        Some((end, _)) => {
            let _ = write!(out, "{}…", esc(&text[..end]));
        }
        None => {
            let _ = write!(out, "{}", esc(text));
        }
    }
}
