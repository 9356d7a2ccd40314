//! Trace shapes: a stable, readable text rendering of a span tree, for snapshots.
//!
//! A shape keeps what an agent *did* (which spans, nested how, of which GenAI kind, with which
//! tools, models and providers) and drops what changes from run to run: ids, timestamps,
//! durations, token counts, arguments and answers. Two runs of an agent that behaves the
//! same give the same text, so the text can be stored and diffed.
//!
//! ```text
//! invoke_agent weather [agent] operation=invoke_agent provider=scripted
//!   chat careful-1 [llm] operation=chat model=careful-1 provider=scripted
//!   execute_tool get_weather [tool] operation=execute_tool tool=get_weather
//!   execute_tool get_weather [tool] operation=execute_tool tool=get_weather
//!   chat careful-1 [llm] operation=chat model=careful-1 provider=scripted
//! ```
//!
//! # Lines
//! One line per span: the span name, normalised ([`normalize_name`]: UUIDs, timestamps and
//! hex ids everywhere, and whole-word numbers in spans of kind `other`, become placeholders),
//! the GenAI kind in brackets, then the attributes of [`ShapeOptions::attrs`] that the span
//! has, in that order, as `key=value` (quoted when the value is empty or holds a space, `"` or
//! `=`). Children are indented by two spaces under their parent: plain indentation rather than
//! tree drawing, so that adding a sibling changes one line of a diff, not two. Control and
//! invisible formatting characters are escaped ([`clean`]); names and values are cut at 120 and
//! 80 characters. A root whose parent never arrived ends in `(orphan)`, one cut out of a parent
//! cycle in `(cycle)`.
//!
//! # Order
//! Siblings appear in start order, except siblings that ran concurrently: a group of siblings
//! whose time ranges overlap (parallel tool calls, say; or that start at the same instant) is
//! ordered by its members' rendered lines, then by a hash of their subtrees, so that which of
//! two parallel calls started first cannot change the text. Groups follow each other in start
//! order.
//!
//! # Options for agents that are not deterministic
//! - [`ShapeOptions::collapse_repeats`]: a run of identical sibling subtrees (after ordering) is
//!   one line ending in `×N`, its subtree shown once. The count stays in the text: 2 calls and
//!   3 calls are different shapes.
//! - [`ShapeOptions::ignore`]: spans matched by any of these [selectors](super::query) are left
//!   out and their children lifted into their place, in start order among their new siblings,
//!   so that a wrapper (an HTTP client span, a framework's chain span) can be ignored without
//!   losing the GenAI spans below it. To leave out a whole subtree, select its descendants too:
//!   `span[name~="^HTTP"], span[name~="^HTTP"] span`.
//! - Retries are folded unless [`ShapeOptions::keep_retries`] is set: a flaky rate limit must not
//!   change a snapshot. `retry` spans (one retry of a call, e.g. `llm.retry_attempt`) are
//!   left out with their subtrees, and a failed `llm` span followed by another `llm` sibling
//!   (the GenAI view's retry rule: each HTTP attempt its own span) is left out, so a retried
//!   call shows as its last attempt. Assert on retries with a span assertion (`select =
//!   "retry"`) when they matter.
//!
//! ```
//! use std::sync::Arc;
//! use traceval::trace::shape::{Shape, ShapeOptions};
//! use traceval::trace::{GenAiView, KeyValue, Span, SpanId, SpanTree, TraceId};
//!
//! let trace = TraceId([1; 16]);
//! let mut agent = Span::new(trace, SpanId([1; 8]), "invoke_agent helper");
//! agent.end_time_unix_nano = 100;
//! let mut tool = Span::new(trace, SpanId([2; 8]), "execute_tool search");
//! tool.parent_span_id = Some(SpanId([1; 8]));
//! tool.start_time_unix_nano = 10;
//! tool.end_time_unix_nano = 20;
//! tool.attributes = [KeyValue::new("gen_ai.tool.call.id", "call_8f3a")].into_iter().collect();
//!
//! let tree = SpanTree::build([agent, tool].map(Arc::new));
//! let shape = Shape::of(&GenAiView::new(&tree), &ShapeOptions::default());
//! assert_eq!(
//!     shape.to_string(),
//!     "invoke_agent helper [agent]\n  execute_tool search [tool] tool=search\n"
//! );
//! ```

mod normalize;
#[cfg(test)]
mod tests;

use std::fmt::{self, Write as _};
use std::str::FromStr;

pub use normalize::normalize_name;

use super::genai::{GenAiView, Kind};
use super::query::Selector;
use super::render::clean;
use super::tree::{NodeId, RootReason};

/// Longest span name in a line, in characters; longer ones are cut.
const MAX_NAME: usize = 120;
/// Longest attribute value in a line, in characters.
const MAX_VALUE: usize = 80;
/// A length `clean` never reaches: values are cut before they are quoted.
const NO_CUT: usize = 1 << 20;
/// Indentation stops growing past this depth; deeper lines say their depth instead.
const MAX_INDENT: usize = 64;

/// One attribute a shape line may show.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ShapeAttr {
    /// `operation`: `gen_ai.operation.name`.
    Operation,
    /// `tool`: the tool name of a `tool` span, as the GenAI view reads it.
    Tool,
    /// `model`: the requested model, else the answering one, as the GenAI view reads them.
    Model,
    /// `provider`: the provider (`gen_ai.provider.name` and the other conventions' keys).
    Provider,
    /// `agent`: the agent name of an `agent` span.
    Agent,
    /// `error`: `error.type` when the span failed, else `true` when it failed.
    Error,
    /// Any other name: the span attribute with this key, with UUIDs, timestamps and hex ids
    /// replaced as in span names.
    Attr(String),
}

impl ShapeAttr {
    /// The attributes shown when none are configured: operation, tool, model, provider and
    /// error.
    pub const DEFAULT: [ShapeAttr; 5] = [
        ShapeAttr::Operation,
        ShapeAttr::Tool,
        ShapeAttr::Model,
        ShapeAttr::Provider,
        ShapeAttr::Error,
    ];

    /// The field names, which are not read as attribute keys.
    pub const FIELDS: [&'static str; 6] =
        ["operation", "tool", "model", "provider", "agent", "error"];

    /// The name as written in a line and in `snapshot-attrs`.
    pub fn as_str(&self) -> &str {
        match self {
            ShapeAttr::Operation => "operation",
            ShapeAttr::Tool => "tool",
            ShapeAttr::Model => "model",
            ShapeAttr::Provider => "provider",
            ShapeAttr::Agent => "agent",
            ShapeAttr::Error => "error",
            ShapeAttr::Attr(key) => key,
        }
    }
}

impl FromStr for ShapeAttr {
    type Err = std::convert::Infallible;

    /// A field name (`operation`, `tool`, `model`, `provider`, `agent`, `error`), or else an
    /// attribute key.
    fn from_str(s: &str) -> Result<ShapeAttr, Self::Err> {
        Ok(match s {
            "operation" => ShapeAttr::Operation,
            "tool" => ShapeAttr::Tool,
            "model" => ShapeAttr::Model,
            "provider" => ShapeAttr::Provider,
            "agent" => ShapeAttr::Agent,
            "error" => ShapeAttr::Error,
            key => ShapeAttr::Attr(key.to_owned()),
        })
    }
}

impl fmt::Display for ShapeAttr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to render a shape; see the module documentation.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeOptions {
    /// The attributes each line shows, in this order (default [`ShapeAttr::DEFAULT`]).
    pub attrs: Vec<ShapeAttr>,
    /// Runs of identical sibling subtrees become one line ending in `×N`.
    pub collapse_repeats: bool,
    /// Spans these selectors match are left out, their children lifted into their place.
    pub ignore: Vec<Selector>,
    /// Keep retry attempts (by default a retried call shows as its last attempt).
    pub keep_retries: bool,
}

impl Default for ShapeOptions {
    fn default() -> ShapeOptions {
        ShapeOptions {
            attrs: ShapeAttr::DEFAULT.to_vec(),
            collapse_repeats: false,
            ignore: Vec::new(),
            keep_retries: false,
        }
    }
}

/// The shape of a span tree: its text, one line per span (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Shape {
    text: String,
}

impl Shape {
    /// The shape of every tree of the view, roots as the top level.
    pub fn of(view: &GenAiView<'_>, options: &ShapeOptions) -> Shape {
        let roots: Vec<NodeId> = view.tree().roots().map(|n| n.id()).collect();
        Shape::of_nodes(view, roots, options)
    }

    /// The shape of the subtrees of `nodes` (which should not be below one another), as the
    /// top level: e.g. the children of a test's own root span, leaving the root out.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use traceval::trace::shape::{Shape, ShapeOptions};
    /// use traceval::trace::{GenAiView, Span, SpanId, SpanTree, TraceId};
    ///
    /// let mut root = Span::new(TraceId([1; 16]), SpanId([1; 8]), "test root");
    /// root.end_time_unix_nano = 9;
    /// let mut call = Span::new(TraceId([1; 16]), SpanId([2; 8]), "chat gpt-4o");
    /// call.parent_span_id = Some(SpanId([1; 8]));
    /// let tree = SpanTree::build([root, call].map(Arc::new));
    /// let root = tree.roots().next().unwrap();
    /// let children = root.children().map(|n| n.id());
    /// let shape = Shape::of_nodes(&GenAiView::new(&tree), children, &ShapeOptions::default());
    /// assert_eq!(shape.as_str(), "chat gpt-4o [llm]\n");
    /// ```
    pub fn of_nodes(
        view: &GenAiView<'_>,
        nodes: impl IntoIterator<Item = NodeId>,
        options: &ShapeOptions,
    ) -> Shape {
        Builder::new(view, options).render(nodes.into_iter().collect())
    }

    /// The text: one line per span (or run of spans), each ending in `\n`; empty when no span
    /// is shown.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True when no span is shown.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.text
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// What happens to a span in the shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Keep,
    /// Left out; its children take its place.
    Lift,
    /// Left out with its subtree.
    Drop,
}

struct Builder<'a, 't> {
    view: &'a GenAiView<'t>,
    options: &'a ShapeOptions,
    fate: Vec<Fate>,
}

/// A sibling to print: the node, and how many identical siblings it stands for.
type Entry = (NodeId, u32);

impl<'a, 't> Builder<'a, 't> {
    fn new(view: &'a GenAiView<'t>, options: &'a ShapeOptions) -> Builder<'a, 't> {
        let tree = view.tree();
        let mut fate = vec![Fate::Keep; tree.len()];
        for selector in &options.ignore {
            for id in selector.select(view) {
                fate[ix(id)] = Fate::Lift;
            }
        }
        if !options.keep_retries {
            for node in tree.nodes() {
                if view.kind(node.id()) == Kind::Retry {
                    fate[ix(node.id())] = Fate::Drop;
                }
            }
            // A failed LLM call followed by another LLM sibling was retried (the view's rule),
            // when the next one started after it ended: two calls that overlapped ran
            // concurrently, and which started first must not decide what the shape shows.
            let roots: Vec<_> = tree.roots().collect();
            let sibling_lists = std::iter::once(roots)
                .chain(tree.nodes().map(|n| n.children().collect::<Vec<_>>()));
            for siblings in sibling_lists {
                let mut failed: Option<(NodeId, u64)> = None;
                for child in siblings {
                    if view.kind(child.id()) != Kind::Llm {
                        continue;
                    }
                    let span = child.span();
                    if let Some((f, ended)) = failed
                        && span.start_time_unix_nano >= ended
                    {
                        fate[ix(f)] = Fate::Drop;
                    }
                    failed = span
                        .is_error()
                        .then_some((child.id(), span.end_time_unix_nano));
                }
            }
        }
        Builder {
            view,
            options,
            fate,
        }
    }

    fn render(&self, tops: Vec<NodeId>) -> Shape {
        let tree = self.view.tree();
        let n = tree.len();
        // The children each kept span shows: kept children, and the shown children of lifted
        // ones in their place. Children come before parents in reversed pre-order, and each
        // node has one parent, so every list is moved up once.
        let mut shown: Vec<Vec<NodeId>> = vec![Vec::new(); n];
        let order: Vec<NodeId> = tree.walk().map(|node| node.id()).collect();
        for &id in order.iter().rev() {
            let mut list = Vec::new();
            for child in tree.node(id).children() {
                self.adopt(&mut list, child.id(), &mut shown);
            }
            list.sort_unstable();
            shown[ix(id)] = list;
        }
        let mut top = Vec::new();
        for id in tops {
            self.adopt(&mut top, id, &mut shown);
        }
        top.sort_unstable();
        top.dedup();

        // Lines and subtree hashes, bottom-up over the shown tree.
        let mut line: Vec<String> = vec![String::new(); n];
        let mut hash: Vec<u128> = vec![0; n];
        let mut arranged: Vec<Vec<Entry>> = vec![Vec::new(); n];
        let mut post = Vec::new();
        let mut stack: Vec<NodeId> = top.clone();
        while let Some(id) = stack.pop() {
            post.push(id);
            stack.extend(shown[ix(id)].iter().copied());
        }
        for &id in post.iter().rev() {
            line[ix(id)] = self.line(id);
            let entries = self.arrange(&shown[ix(id)], &line, &hash);
            let mut h = Fnv128::new();
            h.write(line[ix(id)].as_bytes());
            for &(child, count) in &entries {
                h.write(&[0xff]);
                h.write(&hash[ix(child)].to_le_bytes());
                h.write(&count.to_le_bytes());
            }
            hash[ix(id)] = h.finish();
            arranged[ix(id)] = entries;
        }

        let mut text = String::new();
        let mut stack: Vec<(Entry, usize)> = self
            .arrange(&top, &line, &hash)
            .into_iter()
            .rev()
            .map(|entry| (entry, 0))
            .collect();
        while let Some(((id, count), depth)) = stack.pop() {
            for _ in 0..depth.min(MAX_INDENT) {
                text.push_str("  ");
            }
            if depth > MAX_INDENT {
                let _ = write!(text, "[depth {depth}] ");
            }
            text.push_str(&line[ix(id)]);
            if count > 1 {
                let _ = write!(text, " ×{count}");
            }
            text.push('\n');
            stack.extend(
                arranged[ix(id)]
                    .iter()
                    .rev()
                    .map(|&entry| (entry, depth + 1)),
            );
        }
        Shape { text }
    }

    /// Adds `id` to a list of shown siblings as its fate says.
    fn adopt(&self, list: &mut Vec<NodeId>, id: NodeId, shown: &mut [Vec<NodeId>]) {
        match self.fate[ix(id)] {
            Fate::Keep => list.push(id),
            Fate::Lift => list.append(&mut shown[ix(id)]),
            Fate::Drop => {}
        }
    }

    /// Siblings (in start order) in the order they are printed, runs collapsed when asked:
    /// groups of siblings whose time ranges overlap, each sorted by line and subtree hash.
    fn arrange(&self, siblings: &[NodeId], line: &[String], hash: &[u128]) -> Vec<Entry> {
        let tree = self.view.tree();
        let times = |id: NodeId| {
            let span = tree.node(id).span();
            (
                span.start_time_unix_nano,
                span.end_time_unix_nano.max(span.start_time_unix_nano),
            )
        };
        let key = |id: &NodeId| (&line[ix(*id)], hash[ix(*id)]);
        let mut ordered: Vec<NodeId> = Vec::with_capacity(siblings.len());
        let mut i = 0;
        while i < siblings.len() {
            let (first_start, mut end) = times(siblings[i]);
            let mut j = i + 1;
            while j < siblings.len() {
                let (start, stop) = times(siblings[j]);
                if start >= end && start != first_start {
                    break;
                }
                end = end.max(stop);
                j += 1;
            }
            let group_start = ordered.len();
            ordered.extend_from_slice(&siblings[i..j]);
            ordered[group_start..].sort_by(|a, b| key(a).cmp(&key(b)));
            i = j;
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(ordered.len());
        for id in ordered {
            match entries.last_mut() {
                Some((last, count)) if self.options.collapse_repeats && key(last) == key(&id) => {
                    *count += 1;
                }
                _ => entries.push((id, 1)),
            }
        }
        entries
    }

    /// One span's line, without indentation.
    fn line(&self, id: NodeId) -> String {
        let view = self.view;
        let node = view.tree().node(id);
        let span = node.span();
        let kind = view.kind(id);
        let mut s = clean(&normalize_name(&span.name, kind), MAX_NAME);
        let _ = write!(s, " [{kind}]");
        for attr in &self.options.attrs {
            let value = match attr {
                ShapeAttr::Operation => span.attr("gen_ai.operation.name").map(|v| v.to_string()),
                ShapeAttr::Tool => (kind == Kind::Tool).then(|| view.tool_name_of(span)),
                ShapeAttr::Model => {
                    let [request, response] = view.models(span);
                    request.or(response).map(|v| v.to_string())
                }
                ShapeAttr::Provider => view.provider_of(span),
                ShapeAttr::Agent => view.agent(id).map(|a| a.name.clone()),
                ShapeAttr::Error => span.is_error().then(|| {
                    span.attr("error.type")
                        .map_or_else(|| "true".to_owned(), |v| v.to_string())
                }),
                ShapeAttr::Attr(key) => span
                    .attr(key)
                    .map(|v| normalize::normalize_value(&v.to_string())),
            };
            if let Some(value) = value {
                let _ = write!(s, " {}={}", clean(attr.as_str(), MAX_VALUE), quote(&value));
            }
        }
        match node.root_reason() {
            Some(RootReason::MissingParent) => s.push_str(" (orphan)"),
            Some(RootReason::Cycle) => s.push_str(" (cycle)"),
            Some(RootReason::Root) | None => {}
        }
        s
    }
}

/// A value as a line shows it: cut, quoted when it would not read as one word, escaped.
fn quote(value: &str) -> String {
    let mut cut: String = value.chars().take(MAX_VALUE).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    let plain =
        !cut.is_empty() && !cut.contains(|c: char| c.is_whitespace() || c == '"' || c == '=');
    if plain {
        clean(&cut, NO_CUT)
    } else {
        let quoted = serde_json::to_string(&cut).expect("a string serializes");
        clean(&quoted, NO_CUT)
    }
}

fn ix(id: NodeId) -> usize {
    id.0 as usize
}

/// FNV-1a, 128 bits: a hash that is the same on every machine and in every version, since
/// the order of identical-looking concurrent siblings depends on it.
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;

    fn new() -> Fnv128 {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u128::from(b);
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u128 {
        self.0
    }
}
