//! Model turns: which tool calls were made at once, so that their order is no result.
//!
//! When one model response asks for several tool calls, an agent often runs them concurrently,
//! and which span starts first is scheduling noise. agentevals' strict trajectory match treats
//! the calls of one response as unordered among themselves; trajectories here do the same
//! with the turns this module finds. A tool call belongs to the response that asked for it
//! when the trace says so, by a span link from the tool span to the LLM span, or by the tool
//! span's call id (`gen_ai.tool.call.id`...) among the tool calls the LLM span's output lists
//! (`gen_ai.output.messages`, OpenInference's `llm.output_messages.*`, Traceloop's
//! `gen_ai.completion.*`, the Vercel AI SDK's `ai.response.toolCalls`). Otherwise, tool spans
//! under one parent whose times overlap are one turn, as trace-shape snapshots order them.

use std::collections::HashMap;

use serde_json::Value as Json;

use super::convention;
use super::{GenAiView, Kind};
use crate::trace::span::{Span, SpanId, TraceId, Value};
use crate::trace::tree::NodeId;

/// What ties a tool call to its turn.
#[derive(Clone, Copy, PartialEq)]
enum Tie {
    /// The LLM span whose response asked for the call.
    Response(NodeId),
    /// Nothing recorded: the call's parent and, so far, the latest end among the turn's calls.
    Overlap { parent: Option<NodeId>, end: u64 },
}

impl GenAiView<'_> {
    /// Per tool call (in the order of [`GenAiView::tool_calls`]), the index of the model turn
    /// it belongs to, from 0, non-decreasing: consecutive calls that one LLM response asked
    /// for (by a span link or a call id, see the module docs), or, when the trace does not
    /// say, consecutive tool spans under one parent whose times overlap.
    pub fn tool_call_turns(&self) -> Vec<usize> {
        let calls = self.tool_calls();
        if calls.len() < 2 {
            return vec![0; calls.len()];
        }
        let tree = self.tree();
        let mut by_span: HashMap<(TraceId, SpanId), NodeId> = HashMap::new();
        let mut by_call_id: HashMap<String, NodeId> = HashMap::new();
        for call in self.llm_calls() {
            let span = tree.node(call.node).span();
            by_span.insert((span.trace_id, span.span_id), call.node);
            for id in output_tool_call_ids(span) {
                // The first response in start order that lists an id asked for it; a wrapper
                // span repeating the same output lists the same ids.
                by_call_id.entry(id).or_insert(call.node);
            }
        }
        let mut turns = Vec::with_capacity(calls.len());
        let mut turn = 0;
        let mut current: Option<Tie> = None;
        for call in calls {
            let node = tree.node(call.node);
            let span = node.span();
            let response = span
                .links
                .iter()
                .find_map(|l| by_span.get(&(l.trace_id, l.span_id)).copied())
                .or_else(|| {
                    call.call_id
                        .as_ref()
                        .and_then(|id| by_call_id.get(id).copied())
                });
            let parent = node.parent().map(|p| p.id());
            let tie = match (current, response) {
                (Some(Tie::Response(r)), Some(asked)) if r == asked => Tie::Response(r),
                (Some(Tie::Overlap { parent: p, end }), None)
                    if p == parent && span.start_time_unix_nano < end =>
                {
                    Tie::Overlap {
                        parent,
                        end: end.max(span.end_time_unix_nano),
                    }
                }
                (previous, _) => {
                    if previous.is_some() {
                        turn += 1;
                    }
                    match response {
                        Some(asked) => Tie::Response(asked),
                        None => Tie::Overlap {
                            parent,
                            end: span.end_time_unix_nano,
                        },
                    }
                }
            };
            current = Some(tie);
            turns.push(turn);
        }
        debug_assert!(calls.iter().all(|c| self.kind(c.node) == Kind::Tool));
        turns
    }
}

/// The ids of the tool calls an LLM span's output lists, in every convention the module docs
/// name.
fn output_tool_call_ids(span: &Span) -> Vec<String> {
    let mut ids = Vec::new();
    for key in convention::OUTPUT_TOOL_CALLS {
        match span.attr(key) {
            Some(Value::Str(text)) => {
                if let Ok(json) = serde_json::from_str::<Json>(text) {
                    collect_ids(&json, &mut ids);
                }
            }
            Some(other @ (Value::Array(_) | Value::Map(_))) => {
                collect_ids(&other.to_json(), &mut ids)
            }
            _ => {}
        }
    }
    for kv in span.attributes.iter() {
        let flattened = convention::OUTPUT_TOOL_CALL_ID_KEYS
            .iter()
            .any(|(prefix, suffix)| {
                kv.key.starts_with(prefix)
                    && kv.key.ends_with(suffix)
                    && kv.key.contains(".tool_calls.")
            });
        if flattened && let Value::Str(id) = &kv.value {
            ids.push(id.to_string());
        }
    }
    ids
}

/// Tool-call ids anywhere in an output: the `id` of a GenAI `tool_call` part or of an OpenAI
/// `tool_calls` entry, and the Vercel AI SDK's `toolCallId`.
fn collect_ids(json: &Json, ids: &mut Vec<String>) {
    match json {
        Json::Array(items) => items.iter().for_each(|item| collect_ids(item, ids)),
        Json::Object(map) => {
            let is_call = map
                .get("type")
                .and_then(Json::as_str)
                .is_some_and(|t| t == "tool_call" || t == "function");
            if is_call && let Some(Json::String(id)) = map.get("id") {
                ids.push(id.clone());
            }
            if let Some(Json::String(id)) = map.get("toolCallId") {
                ids.push(id.clone());
            }
            for (key, value) in map {
                if key != "id" && key != "toolCallId" {
                    collect_ids(value, ids);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::trace::span::{KeyValue, Link};
    use crate::trace::tree::SpanTree;

    /// A span `id` under `parent` (0: none) from `start` to `end`.
    fn span(id: u8, parent: u8, name: &str, at: (u64, u64), attrs: &[(&str, &str)]) -> Span {
        let mut s = Span::new(TraceId([1; 16]), SpanId([id; 8]), name);
        s.parent_span_id = (parent != 0).then_some(SpanId([parent; 8]));
        (s.start_time_unix_nano, s.end_time_unix_nano) = at;
        s.attributes = attrs.iter().map(|(k, v)| KeyValue::new(k, *v)).collect();
        s
    }

    fn chat(id: u8, at: (u64, u64), attrs: &[(&str, &str)]) -> Span {
        let mut all = vec![("gen_ai.operation.name", "chat")];
        all.extend_from_slice(attrs);
        span(id, 1, "chat m", at, &all)
    }

    fn tool(id: u8, parent: u8, at: (u64, u64), call_id: Option<&str>) -> Span {
        let mut attrs = vec![
            ("gen_ai.operation.name", "execute_tool"),
            ("gen_ai.tool.name", "t"),
        ];
        if let Some(call_id) = call_id {
            attrs.push(("gen_ai.tool.call.id", call_id));
        }
        span(id, parent, "execute_tool t", at, &attrs)
    }

    fn turns(spans: Vec<Span>) -> Vec<usize> {
        let tree = SpanTree::build(spans.into_iter().map(Arc::new));
        GenAiView::new(&tree).tool_call_turns()
    }

    fn agent() -> Span {
        span(
            1,
            0,
            "invoke_agent a",
            (0, 1000),
            &[("gen_ai.operation.name", "invoke_agent")],
        )
    }

    #[test]
    fn overlapping_siblings_are_one_turn_and_sequential_ones_are_not() {
        let spans = vec![
            agent(),
            tool(2, 1, (10, 50), None),
            tool(3, 1, (20, 30), None),
            // Overlaps 2 (ends at 50), not 3: still the same turn.
            tool(4, 1, (40, 60), None),
            tool(5, 1, (60, 70), None),
            // Overlaps 5 but under another parent (5 itself; another tool, so a call of its own).
            span(
                6,
                5,
                "execute_tool u",
                (65, 66),
                &[("gen_ai.operation.name", "execute_tool")],
            ),
        ];
        assert_eq!(turns(spans), [0, 0, 0, 1, 2]);
    }

    #[test]
    fn calls_asked_for_by_one_response_are_one_turn_however_they_ran() {
        let genai = r#"[{"role":"assistant","parts":[{"type":"tool_call","id":"a","name":"t"},{"type":"tool_call","id":"b","name":"t"}]}]"#;
        let spans = vec![
            agent(),
            chat(2, (1, 9), &[("gen_ai.output.messages", genai)]),
            tool(3, 1, (10, 11), Some("a")),
            tool(4, 1, (12, 13), Some("b")),
            chat(
                5,
                (14, 19),
                &[
                    (
                        "llm.output_messages.0.message.tool_calls.0.tool_call.id",
                        "c",
                    ),
                    (
                        "llm.output_messages.0.message.tool_calls.1.tool_call.id",
                        "d",
                    ),
                ],
            ),
            tool(6, 1, (20, 21), Some("c")),
            tool(7, 1, (22, 23), Some("d")),
            chat(
                8,
                (24, 29),
                &[(
                    "ai.response.toolCalls",
                    r#"[{"toolCallType":"function","toolCallId":"e","toolName":"t"}]"#,
                )],
            ),
            tool(9, 1, (30, 31), Some("e")),
            // Overlapping, but asked for by different responses (a repeated id keeps its first).
            tool(10, 1, (30, 40), Some("a")),
        ];
        assert_eq!(turns(spans), [0, 0, 1, 1, 2, 3]);
    }

    #[test]
    fn a_link_to_the_response_ties_a_call_to_it() {
        let linked = |id, at| {
            let mut t = tool(id, 1, at, None);
            t.links.push(Link {
                trace_id: TraceId([1; 16]),
                span_id: SpanId([2; 8]),
                trace_state: String::new(),
                attributes: Default::default(),
                dropped_attributes_count: 0,
                flags: 0,
            });
            t
        };
        let spans = vec![
            agent(),
            chat(2, (1, 9), &[]),
            linked(3, (10, 11)),
            linked(4, (12, 13)),
            tool(5, 1, (14, 15), None),
        ];
        assert_eq!(turns(spans), [0, 0, 1]);
    }
}
