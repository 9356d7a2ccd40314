//! The span forest: flat spans turned into trees, losing nothing.
//!
//! Building never drops a span. Spans are first put in order by (start time, name, trace id,
//! span id, end time), so the result does not depend on arrival order (spans equal in all five
//! keep their arrival order); children and roots
//! inherit that order. A span whose parent never arrived is a root flagged
//! [`RootReason::MissingParent`]; a second span with an already-seen `(trace, span)` id is kept,
//! reported in [`SpanTree::duplicates`], and cannot be anyone's parent; a parent chain that loops
//! is cut at its first span in the order, which becomes a root flagged [`RootReason::Cycle`].

use std::collections::HashMap;
use std::sync::Arc;

use super::span::{Span, SpanId, TraceId};

/// Why a node is a root of the forest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RootReason {
    /// The span has no parent id: a true root.
    Root,
    /// The parent id names a span that is not in the set (not arrived, or in another trace).
    MissingParent,
    /// The parent chain looped back (including a span that is its own parent); the link was cut here.
    Cycle,
}

/// Two spans that share a trace id and span id. The first (in tree order) is the one children
/// attach to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duplicate {
    /// Trace of both spans.
    pub trace_id: TraceId,
    /// The shared span id.
    pub span_id: SpanId,
    /// The node children attach to.
    pub first: NodeId,
    /// The other node, kept in the tree under its own parent.
    pub duplicate: NodeId,
}

/// Index of a node in a [`SpanTree`]; nodes are numbered in tree order's underlying sort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub u32);

impl NodeId {
    fn ix(self) -> usize {
        self.0 as usize
    }
}

#[derive(Debug)]
struct Node {
    span: Arc<Span>,
    parent: Option<NodeId>,
    children: Vec<NodeId>,
    depth: u32,
    root_reason: Option<RootReason>,
}

/// A forest of spans. See the module documentation for the guarantees.
#[derive(Debug, Default)]
pub struct SpanTree {
    nodes: Vec<Node>,
    roots: Vec<NodeId>,
    duplicates: Vec<Duplicate>,
}

impl SpanTree {
    /// Builds the forest from spans in any order.
    pub fn build(spans: impl IntoIterator<Item = Arc<Span>>) -> SpanTree {
        Self::build_inner(spans.into_iter().collect(), None)
    }

    /// Builds the tree of one trial: `root` (the trial's root span) is always a root of the
    /// tree and adopts the roots of every other trace in `spans`, i.e. the agent's own traces
    /// when its SDK did not read `TRACEPARENT`. Roots of `root`'s own trace whose parent is
    /// missing stay orphans. A span in `spans` with `root`'s ids (an agent reusing the ids of
    /// `TRACEPARENT`) is kept as a duplicate. Returns the tree and `root`'s node.
    pub fn build_trial(
        root: &Arc<Span>,
        spans: impl IntoIterator<Item = Arc<Span>>,
    ) -> (SpanTree, NodeId) {
        let mut spans: Vec<Arc<Span>> = spans
            .into_iter()
            .filter(|s| !Arc::ptr_eq(s, root))
            .collect();
        spans.push(Arc::clone(root));
        let tree = Self::build_inner(spans, Some(root));
        let id = tree
            .roots
            .iter()
            .copied()
            .find(|&r| Arc::ptr_eq(&tree.nodes[r.ix()].span, root))
            .expect("build_inner keeps the adopter as a root");
        (tree, id)
    }

    fn build_inner(mut spans: Vec<Arc<Span>>, adopter: Option<&Arc<Span>>) -> SpanTree {
        // By start, then by end: some SDKs (OpenTelemetry JS) record starts to the millisecond
        // and ends to the nanosecond, so a tool call and the model call after it can start in
        // the same millisecond; the one that ended first ran first.
        spans.sort_by(|a, b| {
            (
                a.start_time_unix_nano,
                a.end_time_unix_nano,
                &a.name,
                a.trace_id,
                a.span_id,
            )
                .cmp(&(
                    b.start_time_unix_nano,
                    b.end_time_unix_nano,
                    &b.name,
                    b.trace_id,
                    b.span_id,
                ))
        });
        let n = spans.len();
        let mut index: HashMap<(TraceId, SpanId), NodeId> = HashMap::with_capacity(n);
        let mut duplicates = Vec::new();
        // The adopter owns its ids whatever its place in the order: a span claiming them is
        // the duplicate.
        let adopter_ix = adopter.and_then(|a| spans.iter().position(|s| Arc::ptr_eq(s, a)));
        if let Some(i) = adopter_ix {
            index.insert((spans[i].trace_id, spans[i].span_id), NodeId(i as u32));
        }
        for (i, s) in spans.iter().enumerate() {
            if Some(i) == adopter_ix {
                continue;
            }
            let id = NodeId(i as u32);
            match index.entry((s.trace_id, s.span_id)) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(id);
                }
                std::collections::hash_map::Entry::Occupied(o) => duplicates.push(Duplicate {
                    trace_id: s.trace_id,
                    span_id: s.span_id,
                    first: *o.get(),
                    duplicate: id,
                }),
            }
        }

        let mut parent: Vec<Option<NodeId>> = Vec::with_capacity(n);
        let mut root_reason: Vec<Option<RootReason>> = Vec::with_capacity(n);
        for (i, s) in spans.iter().enumerate() {
            let parent_id = if Some(i) == adopter_ix {
                None
            } else {
                s.parent_span_id
            };
            match parent_id {
                None => {
                    parent.push(None);
                    root_reason.push(Some(RootReason::Root));
                }
                Some(p) => match index.get(&(s.trace_id, p)) {
                    Some(&pid) if pid.ix() == i => {
                        parent.push(None);
                        root_reason.push(Some(RootReason::Cycle));
                    }
                    Some(&pid) => {
                        parent.push(Some(pid));
                        root_reason.push(None);
                    }
                    None => {
                        parent.push(None);
                        root_reason.push(Some(RootReason::MissingParent));
                    }
                },
            }
        }
        break_cycles(&mut parent, &mut root_reason);
        if let Some(a) = adopter_ix {
            let adopter_trace = spans[a].trace_id;
            for (i, s) in spans.iter().enumerate() {
                let foreign_root = matches!(
                    root_reason[i],
                    Some(RootReason::Root | RootReason::MissingParent)
                ) && s.trace_id != adopter_trace;
                if foreign_root {
                    parent[i] = Some(NodeId(a as u32));
                    root_reason[i] = None;
                }
            }
        }

        let mut nodes: Vec<Node> = spans
            .into_iter()
            .zip(parent.iter().zip(&root_reason))
            .map(|(span, (&parent, &root_reason))| Node {
                span,
                parent,
                children: Vec::new(),
                depth: 0,
                root_reason,
            })
            .collect();
        let mut roots = Vec::new();
        for i in 0..n {
            let id = NodeId(i as u32);
            match nodes[i].parent {
                Some(p) => nodes[p.ix()].children.push(id),
                None => roots.push(id),
            }
        }
        // Depths, iteratively: deep agent traces must not overflow the stack.
        let mut stack: Vec<(NodeId, u32)> = roots.iter().map(|&r| (r, 0)).collect();
        while let Some((id, depth)) = stack.pop() {
            nodes[id.ix()].depth = depth;
            stack.extend(nodes[id.ix()].children.iter().map(|&c| (c, depth + 1)));
        }
        SpanTree {
            nodes,
            roots,
            duplicates,
        }
    }

    /// Number of spans.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no spans.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The roots, ordered by start time then name.
    pub fn roots(&self) -> impl ExactSizeIterator<Item = NodeRef<'_>> + '_ {
        self.roots.iter().map(move |&id| self.node(id))
    }

    /// Roots whose parent id named a span that is not here.
    pub fn orphans(&self) -> impl Iterator<Item = NodeRef<'_>> + '_ {
        self.roots()
            .filter(|n| n.root_reason() == Some(RootReason::MissingParent))
    }

    /// Spans that repeated another span's `(trace, span)` id.
    pub fn duplicates(&self) -> &[Duplicate] {
        &self.duplicates
    }

    /// The node with this id.
    ///
    /// # Panics
    /// If the id is not from this tree.
    pub fn node(&self, id: NodeId) -> NodeRef<'_> {
        assert!(id.ix() < self.nodes.len(), "node id from another tree");
        NodeRef { tree: self, id }
    }

    /// Every node in depth-first pre-order (roots in order, each followed by its subtree).
    pub fn walk(&self) -> impl Iterator<Item = NodeRef<'_>> + '_ {
        let mut stack: Vec<NodeId> = self.roots.iter().rev().copied().collect();
        std::iter::from_fn(move || {
            let id = stack.pop()?;
            stack.extend(self.nodes[id.ix()].children.iter().rev().copied());
            Some(self.node(id))
        })
    }

    /// Every node in the underlying order (start time, then name), which is not tree order.
    pub fn nodes(&self) -> impl ExactSizeIterator<Item = NodeRef<'_>> + '_ {
        (0..self.nodes.len()).map(move |i| self.node(NodeId(i as u32)))
    }

    /// The distinct trace ids, in order of first appearance.
    pub fn trace_ids(&self) -> Vec<TraceId> {
        let mut seen = Vec::new();
        for n in &self.nodes {
            if !seen.contains(&n.span.trace_id) {
                seen.push(n.span.trace_id);
            }
        }
        seen
    }
}

/// Cuts every loop in the parent links so that each chain ends at a root. The loop is cut at
/// its first node in the sort order, which makes the result deterministic.
fn break_cycles(parent: &mut [Option<NodeId>], root_reason: &mut [Option<RootReason>]) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; parent.len()];
    let mut path: Vec<usize> = Vec::new();
    for start in 0..parent.len() {
        if mark[start] != Mark::New {
            continue;
        }
        path.clear();
        let mut u = start;
        loop {
            match mark[u] {
                Mark::Done => break,
                Mark::OnPath => {
                    let at = path
                        .iter()
                        .position(|&x| x == u)
                        .expect("node is on the path");
                    let cut = *path[at..].iter().min().expect("a loop has a node");
                    parent[cut] = None;
                    root_reason[cut] = Some(RootReason::Cycle);
                    break;
                }
                Mark::New => {
                    mark[u] = Mark::OnPath;
                    path.push(u);
                    match parent[u] {
                        Some(p) => u = p.ix(),
                        None => break,
                    }
                }
            }
        }
        for &x in &path {
            mark[x] = Mark::Done;
        }
    }
}

/// A node of a [`SpanTree`], with navigation.
#[derive(Clone, Copy)]
pub struct NodeRef<'t> {
    tree: &'t SpanTree,
    id: NodeId,
}

impl<'t> NodeRef<'t> {
    fn node(self) -> &'t Node {
        &self.tree.nodes[self.id.ix()]
    }

    /// This node's id.
    pub fn id(self) -> NodeId {
        self.id
    }

    /// The span.
    pub fn span(self) -> &'t Span {
        &self.node().span
    }

    /// The span, shared.
    pub fn span_arc(self) -> &'t Arc<Span> {
        &self.node().span
    }

    /// The parent node, `None` for roots.
    pub fn parent(self) -> Option<NodeRef<'t>> {
        self.node().parent.map(|p| self.tree.node(p))
    }

    /// Children, ordered by start time then name.
    pub fn children(self) -> impl ExactSizeIterator<Item = NodeRef<'t>> + 't {
        let tree = self.tree;
        self.node().children.iter().map(move |&c| tree.node(c))
    }

    /// Distance from the root (roots are 0).
    pub fn depth(self) -> u32 {
        self.node().depth
    }

    /// Why this node is a root, `None` when it has a parent.
    pub fn root_reason(self) -> Option<RootReason> {
        self.node().root_reason
    }

    /// True for a root whose parent never arrived.
    pub fn is_orphan(self) -> bool {
        self.root_reason() == Some(RootReason::MissingParent)
    }

    /// Every node below this one, in pre-order (not including itself).
    pub fn descendants(self) -> impl Iterator<Item = NodeRef<'t>> + 't {
        let tree = self.tree;
        let mut stack: Vec<NodeId> = self.node().children.iter().rev().copied().collect();
        std::iter::from_fn(move || {
            let id = stack.pop()?;
            stack.extend(tree.nodes[id.ix()].children.iter().rev().copied());
            Some(tree.node(id))
        })
    }

    /// The chain of ancestors, nearest first.
    pub fn ancestors(self) -> impl Iterator<Item = NodeRef<'t>> + 't {
        std::iter::successors(self.parent(), |n| n.parent())
    }
}

impl std::fmt::Debug for NodeRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeRef")
            .field("id", &self.id)
            .field("name", &self.span().name)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn span(trace: u8, id: u8, parent: Option<u8>, start: u64, name: &str) -> Arc<Span> {
        let mut s = Span::new(TraceId([trace; 16]), SpanId([id; 8]), name);
        s.parent_span_id = parent.map(|p| SpanId([p; 8]));
        s.start_time_unix_nano = start;
        s.end_time_unix_nano = start + 10;
        Arc::new(s)
    }

    fn names(tree: &SpanTree) -> Vec<(u32, String)> {
        tree.walk()
            .map(|n| (n.depth(), n.span().name.clone()))
            .collect()
    }

    #[test]
    fn siblings_that_start_together_are_ordered_by_end() {
        // OpenTelemetry JS: starts to the millisecond, ends to the nanosecond. The tool call
        // (ends first) ran before the model call that starts in the same millisecond.
        let mut chat = (*span(1, 2, Some(1), 1_000_000, "chat m")).clone();
        chat.end_time_unix_nano = 31_000_000;
        let mut tool = (*span(1, 3, Some(1), 1_000_000, "execute_tool t")).clone();
        tool.end_time_unix_nano = 1_200_000;
        let tree = SpanTree::build([Arc::new(chat), Arc::new(tool), span(1, 1, None, 0, "root")]);
        assert_eq!(
            names(&tree),
            [(0, "root"), (1, "execute_tool t"), (1, "chat m")]
                .map(|(d, n)| (d, n.to_string()))
                .to_vec()
        );
    }

    #[test]
    fn siblings_are_ordered_by_start_then_name() {
        let tree = SpanTree::build([
            span(1, 4, Some(1), 30, "late"),
            span(1, 3, Some(1), 20, "b"),
            span(1, 2, Some(1), 20, "a"),
            span(1, 1, None, 0, "root"),
        ]);
        assert_eq!(
            names(&tree),
            [(0, "root"), (1, "a"), (1, "b"), (1, "late")]
                .map(|(d, n)| (d, n.to_string()))
                .to_vec()
        );
    }

    #[test]
    fn orphan_spans_are_kept_as_roots() {
        let tree = SpanTree::build([span(1, 1, None, 0, "root"), span(1, 2, Some(9), 5, "lost")]);
        assert_eq!(tree.len(), 2);
        let orphans: Vec<_> = tree.orphans().map(|n| n.span().name.clone()).collect();
        assert_eq!(orphans, ["lost"]);
    }

    #[test]
    fn a_trial_root_adopts_the_roots_of_other_traces_only() {
        let root = span(1, 1, None, 0, "eval.trial");
        let (tree, root_id) = SpanTree::build_trial(
            &root,
            [
                span(2, 2, None, 5, "agent"),
                span(2, 3, Some(2), 6, "chat"),
                span(3, 4, Some(9), 7, "lost-in-agent-trace"),
                span(1, 5, Some(8), 8, "lost-in-trial-trace"),
            ],
        );
        assert_eq!(
            names(&tree),
            [
                (0, "eval.trial"),
                (1, "agent"),
                (2, "chat"),
                (1, "lost-in-agent-trace"),
                (0, "lost-in-trial-trace"),
            ]
            .map(|(d, n)| (d, n.to_string()))
            .to_vec()
        );
        let orphans: Vec<_> = tree.orphans().map(|n| n.span().name.clone()).collect();
        assert_eq!(orphans, ["lost-in-trial-trace"]);
        assert_eq!(tree.node(root_id).span().name, "eval.trial");
    }

    #[test]
    fn an_agent_span_reusing_the_trial_root_ids_cannot_displace_it() {
        let root = span(1, 1, None, 10, "eval.trial");
        // Same ids as the root, an earlier start and a parent of its own.
        let (tree, root_id) = SpanTree::build_trial(
            &root,
            [
                span(1, 1, Some(2), 0, "impostor"),
                span(1, 2, None, 0, "parent"),
            ],
        );
        assert_eq!(tree.len(), 3);
        let r = tree.node(root_id);
        assert_eq!(
            (r.span().name.as_str(), r.root_reason()),
            ("eval.trial", Some(RootReason::Root))
        );
        assert_eq!(tree.duplicates().len(), 1);
        assert_eq!(
            tree.node(tree.duplicates()[0].duplicate).span().name,
            "impostor"
        );
    }

    #[test]
    fn parents_resolve_only_within_the_same_trace() {
        let tree = SpanTree::build([span(1, 1, None, 0, "root"), span(2, 2, Some(1), 5, "other")]);
        assert_eq!(tree.orphans().count(), 1);
    }

    #[test]
    fn duplicate_span_ids_are_reported_not_merged() {
        let tree = SpanTree::build([
            span(1, 1, None, 0, "root"),
            span(1, 1, None, 5, "root again"),
            span(1, 2, Some(1), 7, "child"),
        ]);
        assert_eq!(tree.len(), 3);
        assert_eq!(tree.duplicates().len(), 1);
        let d = tree.duplicates()[0];
        assert_eq!(tree.node(d.first).span().name, "root");
        assert_eq!(tree.node(d.duplicate).span().name, "root again");
        let child = tree.walk().find(|n| n.span().name == "child").unwrap();
        assert_eq!(child.parent().unwrap().span().name, "root");
    }

    #[test]
    fn cycles_are_cut_at_the_earliest_span() {
        let tree = SpanTree::build([
            span(1, 1, Some(3), 0, "a"),
            span(1, 2, Some(1), 1, "b"),
            span(1, 3, Some(2), 2, "c"),
            span(1, 4, Some(4), 3, "self"),
        ]);
        assert_eq!(
            names(&tree),
            [(0, "a"), (1, "b"), (2, "c"), (0, "self")]
                .map(|(d, n)| (d, n.to_string()))
                .to_vec()
        );
        assert!(
            tree.roots()
                .all(|r| r.root_reason() == Some(RootReason::Cycle))
        );
    }

    #[test]
    fn deep_chains_do_not_overflow_the_stack() {
        let n = 200_000u32;
        let spans = (0..n).map(|i| {
            let mut s = Span::new(
                TraceId([1; 16]),
                SpanId(u64::from(i + 1).to_be_bytes()),
                "s",
            );
            s.parent_span_id = (i > 0).then(|| SpanId(u64::from(i).to_be_bytes()));
            s.start_time_unix_nano = u64::from(i);
            Arc::new(s)
        });
        let tree = SpanTree::build(spans);
        assert_eq!(tree.walk().count(), n as usize);
        assert_eq!(tree.walk().last().unwrap().depth(), n - 1);
    }

    proptest! {
        #[test]
        fn every_span_appears_exactly_once_and_resolvable_parents_resolve(
            raw in prop::collection::vec((0u8..2, 1u8..12, prop::option::of(1u8..14), 0u64..5), 0..40)
        ) {
            let spans: Vec<Arc<Span>> = raw
                .iter()
                .enumerate()
                .map(|(i, &(t, id, parent, start))| span(t, id, parent, start, &format!("s{i}")))
                .collect();
            let tree = SpanTree::build(spans.clone());
            // Each input span is visited once: compare multisets of Arc pointers.
            let mut walked: Vec<*const Span> = tree.walk().map(|n| Arc::as_ptr(n.span_arc())).collect();
            let mut input: Vec<*const Span> = spans.iter().map(Arc::as_ptr).collect();
            walked.sort();
            input.sort();
            prop_assert_eq!(walked, input);

            let first_of: HashSet<(TraceId, SpanId)> = spans.iter().map(|s| (s.trace_id, s.span_id)).collect();
            for n in tree.walk() {
                let s = n.span();
                match (s.parent_span_id, n.parent()) {
                    (None, p) => prop_assert!(p.is_none()),
                    (Some(pid), Some(p)) => {
                        prop_assert_eq!(p.span().span_id, pid);
                        prop_assert_eq!(p.span().trace_id, s.trace_id);
                        prop_assert!(p.depth() + 1 == n.depth());
                    }
                    (Some(pid), None) => {
                        let resolvable = first_of.contains(&(s.trace_id, pid));
                        let reason = n.root_reason();
                        prop_assert!(
                            (!resolvable && reason == Some(RootReason::MissingParent))
                                || (resolvable && reason == Some(RootReason::Cycle)),
                            "unexplained root {:?}", reason
                        );
                    }
                }
            }
        }
    }
}
