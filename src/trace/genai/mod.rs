//! The GenAI view of a span tree: which spans are LLM calls, tool calls, agents, retries and
//! errors, whatever convention produced them.
//!
//! Each span is classified once, by [`classify`], from the convention table (data, in the
//! private module `convention`). The view then reads the fields each concept needs. [`Conventions`] (a suite's `[conventions]`) add
//! rules and attribute keys tried before that table: [`GenAiView::with_conventions`].
//!
//! Counting rules (`docs/reference/metrics.md#counting`):
//! - an LLM call is counted when no LLM span sits below it, so a framework span that wraps the
//!   client library's span is one call, not two;
//! - tokens and cost come from LLM spans only, and from an LLM span only when no LLM span below
//!   it reports usage, so totals repeated on agent or wrapper spans are never counted twice;
//! - a retry is an LLM span that follows a failed LLM sibling (each HTTP attempt its own span),
//!   or a `retry` span: Sema's `llm.retry_attempt` is one HTTP retry (429, 5xx, network)
//!   nested under its LLM span, so a `chat` span with one such child made one retry. Retries
//!   an SDK makes inside one span leave no trace and are not counted.

pub(crate) mod convention;
mod custom;
mod messages;
mod turn;

use std::fmt;

use serde_json::Value as Json;

use super::span::{Span, Value};
use super::tree::{NodeId, NodeRef, SpanTree};
use convention::Match;
use custom::{BUILT_IN, Field};
pub use custom::{Concept, Conventions, KindRule, NameMatch};
pub use messages::{Message, Part, Transcript, transcript};

/// What a span is, in GenAI terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", expecting = "a kind")]
#[non_exhaustive]
pub enum Kind {
    /// A call to a language model (chat, completion, generate content).
    Llm,
    /// A tool (function) execution.
    Tool,
    /// An agent invocation.
    Agent,
    /// A retrieval or rerank step.
    Retrieval,
    /// An embeddings call.
    Embedding,
    /// One attempt of a retried call.
    Retry,
    /// A named step of a workflow or chain.
    Step,
    /// Anything else (HTTP, database, custom spans).
    Other,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 8] = [
        Kind::Llm,
        Kind::Tool,
        Kind::Agent,
        Kind::Retrieval,
        Kind::Embedding,
        Kind::Retry,
        Kind::Step,
        Kind::Other,
    ];

    /// The lowercase name used in selectors and output (`llm`, `tool`...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Llm => "llm",
            Kind::Tool => "tool",
            Kind::Agent => "agent",
            Kind::Retrieval => "retrieval",
            Kind::Embedding => "embedding",
            Kind::Retry => "retry",
            Kind::Step => "step",
            Kind::Other => "other",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies one span by the first matching rule of the convention table.
pub fn classify(span: &Span) -> Kind {
    for (rule, kind) in convention::KIND_RULES {
        let hit = match *rule {
            Match::Attr(key, value) => span
                .attr_str(key)
                .is_some_and(|v| v.eq_ignore_ascii_case(value)),
            Match::Name(name) => span.name == name,
            Match::NamePrefix(prefix) => span.name.starts_with(prefix),
        };
        if hit {
            return *kind;
        }
    }
    Kind::Other
}

/// The name after a conventional prefix (`execute_tool get_weather` → `get_weather`), or the
/// whole span name.
fn name_from_span(span: &Span) -> String {
    convention::NAME_PREFIXES
        .iter()
        .find_map(|p| span.name.strip_prefix(p))
        .filter(|rest| !rest.is_empty())
        .unwrap_or(&span.name)
        .to_owned()
}

/// The tool name of a tool span: the first tool-name attribute, else the span name after a
/// conventional prefix.
fn tool_name(conventions: &Conventions, span: &Span) -> String {
    conventions
        .first_str(span, Field::ToolName)
        .unwrap_or_else(|| name_from_span(span))
}

/// One LLM call.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LlmCall {
    /// Its span in the tree.
    pub node: NodeId,
    /// `openai`, `anthropic`...
    pub provider: Option<String>,
    /// The model asked for.
    pub request_model: Option<String>,
    /// The model that answered.
    pub response_model: Option<String>,
    /// Input tokens, when reported.
    pub input_tokens: Option<u64>,
    /// Output tokens, when reported.
    pub output_tokens: Option<u64>,
    /// Input tokens served from the prompt cache.
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: Option<u64>,
    /// A cost the instrumentation recorded, in USD.
    pub cost_usd: Option<f64>,
    /// Finish reasons (`stop`, `tool_calls`...).
    pub finish_reasons: Vec<String>,
    /// Duration in ns.
    pub duration_ns: u64,
    /// The error, when the call failed.
    pub error: Option<String>,
    /// False when an LLM span below this one is the real call (a wrapper span).
    pub counted: bool,
    /// True when this call's usage goes into the totals (see the module docs).
    pub usage_counted: bool,
    /// True when this call repeats a failed call just before it.
    pub is_retry: bool,
}

/// One tool execution.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    /// Its span in the tree.
    pub node: NodeId,
    /// The tool's name.
    pub name: String,
    /// The id the model gave the call, when recorded.
    pub call_id: Option<String>,
    /// The arguments, parsed from JSON; `None` when not recorded or not JSON.
    pub arguments: Option<Json>,
    /// The arguments as recorded, when they were recorded as text.
    pub raw_arguments: Option<String>,
    /// The result as text, when recorded.
    pub result: Option<String>,
    /// The error, when the tool failed.
    pub error: Option<String>,
    /// Duration in ns.
    pub duration_ns: u64,
}

/// One agent invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentSpan {
    /// Its span in the tree.
    pub node: NodeId,
    /// The agent's name.
    pub name: String,
}

/// Token and cost totals over the counted LLM calls.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// Counted LLM calls.
    pub llm_calls: usize,
    /// Sum of input tokens.
    pub input_tokens: u64,
    /// Sum of output tokens.
    pub output_tokens: u64,
    /// Sum of cache-read input tokens.
    pub cache_read_tokens: u64,
    /// Sum of cache-write input tokens.
    pub cache_write_tokens: u64,
    /// Sum of the costs recorded on counted calls (finite, non-negative values only).
    pub recorded_cost_usd: f64,
    /// Counted calls with usage but no recorded cost (to be priced, or unpriced).
    pub calls_without_cost: usize,
}

/// The GenAI reading of one span tree.
#[derive(Debug)]
pub struct GenAiView<'t> {
    tree: &'t SpanTree,
    conventions: &'t Conventions,
    kinds: Vec<Kind>,
    /// Per node, its index in the list of its kind (LLM, tool or agent), or `NONE`.
    slot: Vec<u32>,
    llm_calls: Vec<LlmCall>,
    tool_calls: Vec<ToolCall>,
    agents: Vec<AgentSpan>,
    retries: Vec<NodeId>,
    errors: Vec<NodeId>,
}

const NONE: u32 = u32::MAX;

/// The name of the span traceval makes the root of each trial's tree.
const TRIAL_ROOT: &str = "eval.trial";

/// Facts about each node that need its relatives, computed in linear passes so that a trace
/// of any shape is read in time proportional to its size.
struct Relatives {
    llm_below: Vec<bool>,
    usage_below: Vec<bool>,
    follows_failed_llm: Vec<bool>,
    nearest_tool_ancestor: Vec<Option<NodeId>>,
}

impl Relatives {
    fn new(tree: &SpanTree, kinds: &[Kind], conventions: &Conventions) -> Relatives {
        let n = tree.len();
        let ix = |id: NodeId| id.0 as usize;
        let mut r = Relatives {
            llm_below: vec![false; n],
            usage_below: vec![false; n],
            follows_failed_llm: vec![false; n],
            nearest_tool_ancestor: vec![None; n],
        };
        let order: Vec<NodeRef<'_>> = tree.walk().collect();
        // Top-down: parents come before children in pre-order.
        for node in &order {
            if let Some(p) = node.parent() {
                r.nearest_tool_ancestor[ix(node.id())] = if kinds[ix(p.id())] == Kind::Tool {
                    Some(p.id())
                } else {
                    r.nearest_tool_ancestor[ix(p.id())]
                };
            }
            // Siblings, once per parent.
            let mut previous_llm_failed = false;
            for child in node.children() {
                let c = ix(child.id());
                if kinds[c] == Kind::Llm {
                    r.follows_failed_llm[c] = previous_llm_failed;
                    previous_llm_failed = child.span().is_error();
                }
            }
        }
        // Bottom-up: children come before parents in reversed pre-order.
        for node in order.iter().rev() {
            let Some(p) = node.parent() else { continue };
            let (c, p) = (ix(node.id()), ix(p.id()));
            let is_llm = kinds[c] == Kind::Llm;
            r.llm_below[p] |= is_llm || r.llm_below[c];
            r.usage_below[p] |= (is_llm && has_usage(conventions, node.span())) || r.usage_below[c];
        }
        r
    }
}

impl<'t> GenAiView<'t> {
    /// Classifies every span of the tree by the built-in conventions and extracts calls.
    pub fn new(tree: &'t SpanTree) -> GenAiView<'t> {
        GenAiView::with_conventions(tree, &BUILT_IN)
    }

    /// [`GenAiView::new`] with custom conventions tried before the built-in ones.
    pub fn with_conventions(tree: &'t SpanTree, conventions: &'t Conventions) -> GenAiView<'t> {
        let c = conventions;
        let kinds: Vec<Kind> = tree.nodes().map(|n| c.classify(n.span())).collect();
        let rel = Relatives::new(tree, &kinds, c);
        let ix = |id: NodeId| id.0 as usize;
        let tool_name = |span: &Span| tool_name(c, span);
        let mut view = GenAiView {
            tree,
            conventions,
            slot: vec![NONE; tree.len()],
            llm_calls: Vec::new(),
            tool_calls: Vec::new(),
            agents: Vec::new(),
            retries: Vec::new(),
            errors: Vec::new(),
            kinds,
        };
        // Start-time order, so calls come out in the order they happened.
        for node in tree.nodes() {
            let (id, span) = (node.id(), node.span());
            if span.is_error() {
                view.errors.push(id);
            }
            match view.kinds[ix(id)] {
                Kind::Llm => {
                    let is_retry = rel.follows_failed_llm[ix(id)];
                    if is_retry {
                        view.retries.push(id);
                    }
                    view.slot[ix(id)] = view.llm_calls.len() as u32;
                    view.llm_calls.push(LlmCall {
                        node: id,
                        provider: provider(c, span),
                        request_model: c.first_str(span, Field::RequestModel),
                        response_model: c.first_str(span, Field::ResponseModel),
                        input_tokens: c.first_u64(span, Field::InputTokens),
                        output_tokens: c.first_u64(span, Field::OutputTokens),
                        cache_read_tokens: c.first_u64(span, Field::CacheReadTokens),
                        cache_write_tokens: c.first_u64(span, Field::CacheWriteTokens),
                        cost_usd: c
                            .first(span, Field::Cost)
                            .and_then(Value::as_f64)
                            .filter(|c| c.is_finite() && *c >= 0.0),
                        finish_reasons: finish_reasons(c, span),
                        duration_ns: span.duration_ns(),
                        error: span.error_message(),
                        counted: !rel.llm_below[ix(id)],
                        usage_counted: !rel.usage_below[ix(id)],
                        is_retry,
                    });
                }
                Kind::Tool => {
                    let name = tool_name(span);
                    // One call instrumented twice (a decorator around an SDK span) is one call.
                    let nested_in_same_tool = rel.nearest_tool_ancestor[ix(id)]
                        .is_some_and(|a| tool_name(tree.node(a).span()) == name);
                    if !nested_in_same_tool {
                        view.slot[ix(id)] = view.tool_calls.len() as u32;
                        view.tool_calls.push(tool_call(c, &node, name));
                    }
                }
                Kind::Agent => {
                    view.slot[ix(id)] = view.agents.len() as u32;
                    view.agents.push(AgentSpan {
                        node: id,
                        name: c
                            .first_str(span, Field::AgentName)
                            .unwrap_or_else(|| name_from_span(span)),
                    });
                }
                Kind::Retry => view.retries.push(id),
                Kind::Retrieval | Kind::Embedding | Kind::Step | Kind::Other => {}
            }
        }
        view
    }

    fn slot_of(&self, node: NodeId, kind: Kind) -> Option<usize> {
        let slot = self.slot[node.0 as usize];
        (slot != NONE && self.kinds[node.0 as usize] == kind).then_some(slot as usize)
    }

    /// The LLM call of a node, if it is one.
    pub fn llm_call(&self, node: NodeId) -> Option<&LlmCall> {
        self.slot_of(node, Kind::Llm).map(|i| &self.llm_calls[i])
    }

    /// The tool call of a node, if it is one (a tool span nested in the same tool is not).
    pub fn tool_call(&self, node: NodeId) -> Option<&ToolCall> {
        self.slot_of(node, Kind::Tool).map(|i| &self.tool_calls[i])
    }

    /// The agent of a node, if it is one.
    pub fn agent(&self, node: NodeId) -> Option<&AgentSpan> {
        self.slot_of(node, Kind::Agent).map(|i| &self.agents[i])
    }

    /// The tree this view reads.
    pub fn tree(&self) -> &'t SpanTree {
        self.tree
    }

    /// The custom conventions this view reads spans with (empty for [`GenAiView::new`]).
    pub fn conventions(&self) -> &'t Conventions {
        self.conventions
    }

    /// The tool name a span would have as a tool call (see [`ToolCall::name`]).
    pub(crate) fn tool_name_of(&self, span: &Span) -> String {
        tool_name(self.conventions, span)
    }

    /// The requested and the answering model a span records, by the view's conventions.
    pub(crate) fn models<'s>(&self, span: &'s Span) -> [Option<&'s Value>; 2] {
        let c = self.conventions;
        [
            c.first(span, Field::RequestModel),
            c.first(span, Field::ResponseModel),
        ]
    }

    /// The provider a span records, by the view's conventions.
    pub(crate) fn provider_of(&self, span: &Span) -> Option<String> {
        provider(self.conventions, span)
    }

    /// True for the trial root traceval adds to every trial's tree: a root span named
    /// `eval.trial`. Selectors leave it out unless they name it.
    pub fn is_trial_root(&self, node: NodeId) -> bool {
        let node = self.tree.node(node);
        node.parent().is_none() && node.span().name == TRIAL_ROOT
    }

    /// The kind of a node.
    pub fn kind(&self, node: NodeId) -> Kind {
        self.kinds[node.0 as usize]
    }

    /// Every LLM span, in start order, including wrapper spans (see [`LlmCall::counted`]).
    pub fn llm_calls(&self) -> &[LlmCall] {
        &self.llm_calls
    }

    /// Tool executions, in start order.
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// Agent spans, in start order.
    pub fn agents(&self) -> &[AgentSpan] {
        &self.agents
    }

    /// Spans that are retries of an earlier attempt.
    pub fn retries(&self) -> &[NodeId] {
        &self.retries
    }

    /// Spans that failed (status ERROR or `error.type`), in start order.
    pub fn error_spans(&self) -> &[NodeId] {
        &self.errors
    }

    /// Token and cost totals under the counting rules of the module docs.
    pub fn usage(&self) -> Usage {
        let mut u = Usage {
            llm_calls: self.llm_calls.iter().filter(|c| c.counted).count(),
            ..Usage::default()
        };
        for c in self.llm_calls.iter().filter(|c| c.usage_counted) {
            // Saturating: a trace is data, and an absurd token count must not wrap or panic.
            u.input_tokens = u.input_tokens.saturating_add(c.input_tokens.unwrap_or(0));
            u.output_tokens = u.output_tokens.saturating_add(c.output_tokens.unwrap_or(0));
            u.cache_read_tokens = u
                .cache_read_tokens
                .saturating_add(c.cache_read_tokens.unwrap_or(0));
            u.cache_write_tokens = u
                .cache_write_tokens
                .saturating_add(c.cache_write_tokens.unwrap_or(0));
            match c.cost_usd {
                Some(cost) => u.recorded_cost_usd += cost,
                None if c.input_tokens.is_some() || c.output_tokens.is_some() => {
                    u.calls_without_cost += 1;
                }
                None => {}
            }
        }
        u
    }
}

/// The provider a span records. The Vercel AI SDK's `openai.chat` or `openai.responses` is
/// the provider `openai` calling one of its APIs: on its spans the part before the first dot
/// is the provider. (Elsewhere dots belong to the name: OTel's `aws.bedrock`, `gcp.vertex_ai`.)
fn provider(c: &Conventions, span: &Span) -> Option<String> {
    let provider = c.first_str(span, Field::Provider)?;
    match provider.split_once('.') {
        Some((bare, _))
            if span.name.starts_with(convention::VERCEL_SPAN_PREFIX) && !bare.is_empty() =>
        {
            Some(bare.to_owned())
        }
        _ => Some(provider),
    }
}

fn has_usage(c: &Conventions, span: &Span) -> bool {
    c.first_u64(span, Field::InputTokens).is_some()
        || c.first_u64(span, Field::OutputTokens).is_some()
}

fn finish_reasons(c: &Conventions, span: &Span) -> Vec<String> {
    match c.first(span, Field::FinishReasons) {
        Some(Value::Array(items)) => items.iter().map(Value::to_string).collect(),
        Some(Value::Str(s)) => match serde_json::from_str::<Vec<String>>(s) {
            Ok(list) => list,
            Err(_) => vec![s.to_string()],
        },
        Some(other) => vec![other.to_string()],
        None => Vec::new(),
    }
}

fn tool_call(c: &Conventions, node: &NodeRef<'_>, name: String) -> ToolCall {
    let span = node.span();
    let (arguments, raw_arguments) = match c.first(span, Field::ToolArguments) {
        Some(Value::Str(s)) => (parse_arguments(s), Some(s.to_string())),
        Some(v @ Value::Map(_)) => (Some(v.to_json()), None),
        Some(other) => (None, Some(other.to_string())),
        None => (None, None),
    };
    ToolCall {
        node: node.id(),
        name,
        call_id: c.first_str(span, Field::ToolCallId),
        arguments,
        raw_arguments,
        result: c.first(span, Field::ToolResult).map(result_text),
        error: span.error_message(),
        duration_ns: span.duration_ns(),
    }
}

/// A result as text. Traceloop records the return value JSON-encoded, so a string result
/// arrives quoted (`"\"sunny\""`); such a JSON string is unquoted.
fn result_text(value: &Value) -> String {
    match value {
        Value::Str(s) if s.starts_with('"') => {
            serde_json::from_str::<String>(s).unwrap_or_else(|_| s.to_string())
        }
        other => other.to_string(),
    }
}

/// Parses recorded arguments. Traceloop's decorators record the Python call as
/// `{"args": [...], "kwargs": {...}}`; with no positional arguments the keyword arguments are
/// the call's arguments.
fn parse_arguments(text: &str) -> Option<Json> {
    let parsed: Json = serde_json::from_str(text).ok()?;
    if let Json::Object(map) = &parsed
        && map.contains_key("kwargs")
        && map.keys().all(|k| k == "args" || k == "kwargs")
        && map
            .get("args")
            .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty))
    {
        return map.get("kwargs").cloned();
    }
    Some(parsed)
}

#[cfg(test)]
mod tests;
