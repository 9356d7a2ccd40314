//! The span panel: everything one span says, rendered on the server inside the `<details>` the
//! waterfall draws for it.
//!
//! GenAI facts come first (the LLM call's provider, models, finish reasons and tokens; a tool
//! call's name, arguments and result), then the conversation as a chat transcript, then every
//! attribute, event, link, resource attribute and the scope, and last the span's status, ids
//! and timing. Nothing from data is dropped; long values are clipped by the [`Budget`], and
//! every string from data goes through [`esc`] or [`Budget::text`]. CSS classes come from fixed
//! strings and [`Kind::as_str`] only; no data reaches `id`, `href`, `src` or `style`.

use std::fmt::Write;
use std::sync::Arc;

use serde_json::Value as Json;

use super::Budget;
use super::escape::esc;
use crate::trace::genai::{Message, Part, Transcript, transcript};
use crate::trace::render::format_duration;
use crate::trace::span::{Attributes, Event, Span, SpanKind, StatusCode, Value};
use crate::trace::{GenAiView, NodeId};

/// Writes the panel of `node`: the body of the `<details>` the waterfall owns.
pub(super) fn write(out: &mut String, view: &GenAiView<'_>, node: NodeId, budget: &mut Budget) {
    let at = view.tree().node(node);
    let span = at.span();
    // Offsets are on the axis of the tree's root, as the waterfall draws them.
    let origin = at
        .ancestors()
        .last()
        .map_or(span.start_time_unix_nano, |root| {
            root.span().start_time_unix_nano
        });
    let _ = write!(
        out,
        "<div class=\"panel kind-{}\">",
        view.kind(node).as_str()
    );
    genai(out, view, node, budget);
    if let Some(t) = transcript(span) {
        chat(out, &t, budget);
    }
    identity(out, span, origin, at.ancestors().last(), budget);
    out.push_str("<h4>attributes</h4>");
    attributes(out, &span.attributes, span.dropped_attributes_count, budget);
    events(out, span, budget);
    links(out, span, budget);
    // The resource and scope are a batch's, shared by most spans of a trace: shown where they
    // change, not repeated on every span under it.
    let parent = at.parent().map(|p| p.span());
    let same = |f: &dyn Fn(&Span) -> bool| parent.is_some_and(f);
    let resource = &span.resource;
    if !same(&|p| Arc::ptr_eq(&p.resource, resource) || p.resource == *resource)
        && (!resource.attributes.is_empty() || !resource.schema_url.is_empty())
    {
        out.push_str("<h4>resource</h4>");
        attributes(out, &resource.attributes, 0, budget);
        if !resource.schema_url.is_empty() {
            out.push_str("<dl class=\"facts\">");
            fact(out, "schema", &resource.schema_url, budget);
            out.push_str("</dl>");
        }
    }
    let scope = &span.scope;
    if !same(&|p| Arc::ptr_eq(&p.scope, scope) || p.scope == *scope)
        && (!scope.name.is_empty() || !scope.attributes.is_empty())
    {
        out.push_str("<dl class=\"facts\">");
        fact(out, "scope", &scope.name, budget);
        if !scope.version.is_empty() {
            fact(out, "scope version", &scope.version, budget);
        }
        out.push_str("</dl>");
        if !scope.attributes.is_empty() {
            out.push_str("<h4>scope attributes</h4>");
            attributes(out, &scope.attributes, 0, budget);
        }
    }
    out.push_str("</div>");
}

/// `<dt>label</dt><dd>value</dd>`, the value clipped.
fn fact(out: &mut String, label: &'static str, value: &str, budget: &mut Budget) {
    let _ = write!(out, "<dt>{label}</dt><dd>");
    budget.text(out, value);
    out.push_str("</dd>");
}

/// A fact that is a number or a fixed word.
fn fact_plain(out: &mut String, label: &'static str, value: impl std::fmt::Display) {
    let _ = write!(out, "<dt>{label}</dt><dd>{}</dd>", esc(&value.to_string()));
}

/// The GenAI view of the span: the LLM call or the tool call it is.
fn genai(out: &mut String, view: &GenAiView<'_>, node: NodeId, budget: &mut Budget) {
    if let Some(call) = view.llm_call(node) {
        out.push_str("<h4>llm call</h4><dl class=\"facts genai\">");
        let optional = [
            ("provider", &call.provider),
            ("request model", &call.request_model),
            ("response model", &call.response_model),
        ];
        for (label, value) in optional {
            if let Some(value) = value {
                fact(out, label, value, budget);
            }
        }
        if !call.finish_reasons.is_empty() {
            fact(
                out,
                "finish reasons",
                &call.finish_reasons.join(", "),
                budget,
            );
        }
        let tokens = [
            ("input tokens", call.input_tokens),
            ("output tokens", call.output_tokens),
            ("cache read tokens", call.cache_read_tokens),
            ("cache write tokens", call.cache_write_tokens),
        ];
        for (label, value) in tokens {
            if let Some(value) = value {
                fact_plain(out, label, value);
            }
        }
        if let Some(cost) = call.cost_usd {
            fact_plain(out, "cost", format!("${cost:.6} (recorded on the span)"));
        }
        if call.is_retry {
            fact_plain(out, "retry", "follows a failed call");
        }
        if !call.counted {
            fact_plain(out, "counted", "no: an LLM span below is the call");
        }
        if let Some(error) = &call.error {
            fact(out, "error", error, budget);
        }
        out.push_str("</dl>");
    } else if let Some(call) = view.tool_call(node) {
        out.push_str("<h4>tool call</h4><dl class=\"facts genai\">");
        fact(out, "tool", &call.name, budget);
        if let Some(id) = &call.call_id {
            fact(out, "call id", id, budget);
        }
        let arguments = match (&call.arguments, &call.raw_arguments) {
            (Some(json), _) => Some(pretty(json)),
            (None, Some(raw)) => Some(raw.clone()),
            (None, None) => None,
        };
        if let Some(arguments) = arguments {
            out.push_str("<dt>arguments</dt><dd><pre class=\"json\">");
            budget.text(out, &arguments);
            out.push_str("</pre></dd>");
        }
        if let Some(result) = &call.result {
            out.push_str("<dt>result</dt><dd><pre class=\"result\">");
            budget.text(out, &json_text(result).unwrap_or_else(|| result.clone()));
            out.push_str("</pre></dd>");
        }
        if let Some(error) = &call.error {
            fact(out, "error", error, budget);
        }
        out.push_str("</dl>");
    } else if let Some(agent) = view.agent(node) {
        out.push_str("<h4>agent</h4><dl class=\"facts genai\">");
        fact(out, "agent", &agent.name, budget);
        out.push_str("</dl>");
    }
}

fn pretty(json: &Json) -> String {
    serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
}

/// `text` pretty-printed when it is a JSON object or array.
fn json_text(text: &str) -> Option<String> {
    let trimmed = text.trim_start();
    if !trimmed.starts_with(['{', '[']) {
        return None;
    }
    serde_json::from_str::<Json>(trimmed)
        .ok()
        .map(|json| pretty(&json))
}

/// The CSS class of a role: one of a fixed few, whatever the data says.
fn role_class(role: &str) -> &'static str {
    match role.to_ascii_lowercase().as_str() {
        "system" | "developer" => "system",
        "user" | "human" => "user",
        "assistant" | "model" | "ai" | "bot" => "assistant",
        "tool" | "function" | "ipython" => "tool",
        _ => "other",
    }
}

/// The transcript as a chat: system instructions and tool definitions folded, then each
/// message by role.
fn chat(out: &mut String, t: &Transcript, budget: &mut Budget) {
    let _ = write!(
        out,
        "<section class=\"transcript\"><h4>messages <small>{}</small></h4>",
        esc(t.source)
    );
    if !t.system.is_empty() {
        let _ = write!(
            out,
            "<details class=\"system\"><summary>system instructions ({})</summary>",
            t.system.len()
        );
        for text in &t.system {
            out.push_str("<div class=\"msg role-system\"><div class=\"role\">system</div>");
            text_part(out, "text", text, budget);
            out.push_str("</div>");
        }
        out.push_str("</details>");
    }
    if !t.tools.is_empty() {
        let _ = write!(
            out,
            "<details class=\"tools\"><summary>tool definitions ({})</summary>",
            t.tools.len()
        );
        for tool in &t.tools {
            out.push_str("<pre class=\"json\">");
            budget.text(out, &pretty(tool));
            out.push_str("</pre>");
        }
        out.push_str("</details>");
    }
    for m in &t.messages {
        message(out, m, budget);
    }
    out.push_str("</section>");
}

fn message(out: &mut String, m: &Message, budget: &mut Budget) {
    let output = if m.output { " output" } else { "" };
    let _ = write!(
        out,
        "<div class=\"msg role-{}{output}\"><div class=\"role\">",
        role_class(&m.role)
    );
    budget.text(out, &m.role);
    if m.output {
        out.push_str(" <small>output</small>");
    }
    out.push_str("</div>");
    for part in &m.parts {
        match part {
            Part::Text(text) if text.is_empty() => {
                out.push_str("<div class=\"part text empty\">(content not recorded)</div>");
            }
            Part::Text(text) => text_part(out, "text", text, budget),
            Part::Reasoning(text) => {
                out.push_str("<div class=\"part reasoning\"><small>reasoning</small>");
                text_part(out, "text", text, budget);
                out.push_str("</div>");
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                out.push_str("<div class=\"part tool-call\"><code>→ ");
                budget.text(out, name);
                out.push('(');
                budget.text(out, arguments);
                out.push_str(")</code>");
                call_id(out, id.as_deref(), budget);
                out.push_str("</div>");
            }
            Part::ToolResult { id, content } => {
                out.push_str("<div class=\"part tool-result\">← ");
                budget.text(out, content);
                call_id(out, id.as_deref(), budget);
                out.push_str("</div>");
            }
            Part::Attached(what) => {
                out.push_str("<div class=\"part attached\">[");
                budget.text(out, what);
                out.push_str(" attached]</div>");
            }
            Part::Unknown(json) => {
                out.push_str("<pre class=\"part unknown\">");
                budget.text(out, &pretty(json));
                out.push_str("</pre>");
            }
        }
    }
    out.push_str("</div>");
}

fn text_part(out: &mut String, class: &'static str, text: &str, budget: &mut Budget) {
    let _ = write!(out, "<div class=\"part {class}\">");
    budget.text(out, text);
    out.push_str("</div>");
}

fn call_id(out: &mut String, id: Option<&str>, budget: &mut Budget) {
    if let Some(id) = id {
        out.push_str(" <small class=\"call-id\">");
        budget.text(out, id);
        out.push_str("</small>");
    }
}

/// Every attribute in a table, values clipped and as the span holds them.
fn attributes(out: &mut String, attrs: &Attributes, dropped: u32, budget: &mut Budget) {
    attributes_except(out, attrs, dropped, &[], budget);
}

fn attributes_except(
    out: &mut String,
    attrs: &Attributes,
    dropped: u32,
    except: &[&str],
    budget: &mut Budget,
) {
    if attrs.is_empty() {
        out.push_str("<p class=\"none\">none</p>");
    } else {
        out.push_str("<table class=\"attrs\">");
        for kv in attrs.iter().filter(|kv| !except.contains(&&*kv.key)) {
            out.push_str("<tr><th>");
            budget.text(out, &kv.key);
            out.push_str("</th><td>");
            value(out, &kv.value, budget);
            out.push_str("</td></tr>");
        }
        out.push_str("</table>");
    }
    if dropped > 0 {
        let _ = write!(
            out,
            "<p class=\"dropped\">{dropped} attributes dropped by the producer</p>"
        );
    }
}

fn value(out: &mut String, value: &Value, budget: &mut Budget) {
    match value {
        // As the span holds it (a JSON string too: the transcript above is its readable form).
        Value::Str(text) => budget.text(out, text),
        Value::Bytes(bytes) => {
            let mut hex = String::with_capacity(bytes.len() * 2);
            for b in bytes.iter() {
                let _ = write!(hex, "{b:02x}");
            }
            out.push_str("<code class=\"bytes\">");
            budget.text(out, &hex);
            out.push_str("</code>");
        }
        Value::Array(_) | Value::Map(_) => {
            out.push_str("<code class=\"json\">");
            budget.text(out, &value.to_json().to_string());
            out.push_str("</code>");
        }
        Value::Bool(_) | Value::Int(_) | Value::Double(_) => {
            let _ = write!(out, "<code>{}</code>", esc(&value.to_string()));
        }
    }
}

/// `+12.0ms` from `origin`, or `-…` for a time before it (clock skew).
fn offset(at: u64, origin: u64) -> String {
    if at >= origin {
        format!("+{}", format_duration(at - origin))
    } else {
        format!("-{}", format_duration(origin - at))
    }
}

fn events(out: &mut String, span: &Span, budget: &mut Budget) {
    if span.events.is_empty() && span.dropped_events_count == 0 {
        return;
    }
    out.push_str("<h4>events</h4><ol class=\"events\">");
    for event in &span.events {
        let class = match event.name.as_str() {
            "exception" => " exception",
            "gen_ai.evaluation.result" => " evaluation",
            _ => "",
        };
        let _ = write!(out, "<li class=\"event{class}\"><span class=\"name\">");
        budget.text(out, &event.name);
        let _ = write!(
            out,
            "</span> <span class=\"at\">{}</span>",
            esc(&offset(event.time_unix_nano, span.start_time_unix_nano))
        );
        match event.name.as_str() {
            "exception" => exception(out, event, budget),
            "gen_ai.evaluation.result" => evaluation(out, event, budget),
            _ => attributes(
                out,
                &event.attributes,
                event.dropped_attributes_count,
                budget,
            ),
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    if span.dropped_events_count > 0 {
        let _ = write!(
            out,
            "<p class=\"dropped\">{} events dropped by the producer</p>",
            span.dropped_events_count
        );
    }
}

/// An exception: type and message, the stack trace in `<pre>`, then its other attributes.
fn exception(out: &mut String, event: &Event, budget: &mut Budget) {
    let a = &event.attributes;
    out.push_str("<div class=\"exception\">");
    if let Some(kind) = a.str("exception.type") {
        out.push_str("<strong>");
        budget.text(out, kind);
        out.push_str("</strong> ");
    }
    if let Some(message) = a.str("exception.message") {
        out.push_str("<span class=\"pw\">");
        budget.text(out, message);
        out.push_str("</span>");
    }
    out.push_str("</div>");
    if let Some(stack) = a.str("exception.stacktrace") {
        out.push_str("<pre class=\"stack\">");
        budget.text(out, stack);
        out.push_str("</pre>");
    }
    attributes_except(
        out,
        a,
        event.dropped_attributes_count,
        &["exception.stacktrace"],
        budget,
    );
}

/// A `gen_ai.evaluation.result` as a badge: the evaluation's name, label and score.
fn evaluation(out: &mut String, event: &Event, budget: &mut Budget) {
    let a = &event.attributes;
    out.push_str(" <span class=\"badge evaluation\">");
    budget.text(out, a.str("gen_ai.evaluation.name").unwrap_or("evaluation"));
    if let Some(label) = a.get("gen_ai.evaluation.score.label") {
        out.push_str(": ");
        budget.text(out, &label.to_string());
    }
    if let Some(score) = a.get("gen_ai.evaluation.score.value") {
        out.push_str(" (");
        budget.text(out, &score.to_string());
        out.push(')');
    }
    out.push_str("</span>");
    if let Some(explanation) = a.str("gen_ai.evaluation.explanation") {
        out.push_str("<div class=\"explanation\">");
        budget.text(out, explanation);
        out.push_str("</div>");
    }
    attributes(out, a, event.dropped_attributes_count, budget);
}

fn links(out: &mut String, span: &Span, budget: &mut Budget) {
    if span.links.is_empty() && span.dropped_links_count == 0 {
        return;
    }
    out.push_str("<h4>links</h4><ol class=\"links\">");
    for link in &span.links {
        let _ = write!(
            out,
            "<li><dl class=\"facts\"><dt>trace id</dt><dd><code>{}</code></dd>\
             <dt>span id</dt><dd><code>{}</code></dd>",
            esc(&link.trace_id.to_string()),
            esc(&link.span_id.to_string())
        );
        if !link.trace_state.is_empty() {
            fact(out, "trace state", &link.trace_state, budget);
        }
        out.push_str("</dl>");
        if !link.attributes.is_empty() || link.dropped_attributes_count > 0 {
            attributes(out, &link.attributes, link.dropped_attributes_count, budget);
        }
        out.push_str("</li>");
    }
    out.push_str("</ol>");
    if span.dropped_links_count > 0 {
        let _ = write!(
            out,
            "<p class=\"dropped\">{} links dropped by the producer</p>",
            span.dropped_links_count
        );
    }
}

/// One line of the span's name, kind, status, ids and timing; the trace id when it is not the
/// tree root's (an agent's own trace).
fn identity(
    out: &mut String,
    span: &Span,
    origin: u64,
    root: Option<crate::trace::NodeRef<'_>>,
    budget: &mut Budget,
) {
    out.push_str("<p class=\"ids\"><b class=\"pw\">");
    budget.text(out, &span.name);
    out.push_str("</b>");
    let kind = match span.kind {
        SpanKind::Unspecified => "unspecified",
        SpanKind::Internal => "internal",
        SpanKind::Server => "server",
        SpanKind::Client => "client",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
    };
    let status = match span.status.code {
        StatusCode::Unset => "unset",
        StatusCode::Ok => "ok",
        StatusCode::Error => "error",
    };
    let _ = write!(
        out,
        " · {kind} · <span class=\"status status-{status}\">{status}</span>"
    );
    if !span.status.message.is_empty() {
        out.push_str(" <span class=\"pw\">");
        budget.text(out, &span.status.message);
        out.push_str("</span>");
    }
    let _ = write!(out, " · span <code>{}</code>", span.span_id);
    match span.parent_span_id {
        Some(parent) => {
            let _ = write!(out, " · parent <code>{parent}</code>");
        }
        None => out.push_str(" · a root"),
    }
    if root.is_none_or(|r| r.span().trace_id != span.trace_id) {
        let _ = write!(out, " · trace <code>{}</code>", span.trace_id);
    }
    let _ = write!(
        out,
        " · start {} · duration {}",
        esc(&offset(span.start_time_unix_nano, origin)),
        esc(&format_duration(span.duration_ns()))
    );
    if !span.trace_state.is_empty() {
        out.push_str(" · trace state <code>");
        budget.text(out, &span.trace_state);
        out.push_str("</code>");
    }
    out.push_str("</p>");
}

#[cfg(test)]
mod tests;
