//! The trace-shape diff of a case: the trials of every model folded into one tree.
//!
//! As in Jaeger's trace DAG, a node is an ancestral path of (GenAI kind, normalised name)
//! pairs, so two trials that made the same call under the same parents share a node. A tool
//! call is named by its tool, an LLM call by its operation (the span name's first word:
//! `chat`, not `chat gpt-4o`), so the models of a comparison meet in the same nodes. Unlike
//! Jaeger, which compares two traces, the fold compares populations: each node counts, per
//! model, in how many *trials* it appears (a tool called three times in one trial counts once),
//! out of that model's trials. A node some models reach and others never do is the question an
//! eval asks, and is highlighted.
//!
//! The fold keeps paths and counts only, no spans, so a case's trials can be added one at a
//! time as they finish and dropped. Children are kept sorted by (kind, name), so the page does
//! not depend on the order trials were added.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::escape::{self, esc};
use super::waterfall::symbol;
use crate::trace::shape::normalize_name;
use crate::trace::{GenAiView, Kind, NodeId, NodeRef};

#[cfg(test)]
mod tests;

/// Bytes of a node or tool name kept; a longer one is cut and ends in `…`.
const MAX_NAME: usize = 200;
/// Tool calls of a sequence shown; the rest are counted.
const MAX_SEQUENCE: usize = 50;

/// A child's key: the kind's place in [`Kind::ALL`], and the normalised name.
type Key = (u8, String);

/// One path of the fold.
#[derive(Debug, Default)]
struct FoldNode {
    /// Children by key, which is also the order they are drawn in.
    children: BTreeMap<Key, usize>,
    /// Per model (by index), the trials this path appears in.
    trials: Vec<u32>,
    /// The serial of the last trial counted here, so a path repeated in a trial counts once.
    seen_in: u64,
}

/// The span trees of a case's trials, of every model, folded into one tree of paths with
/// per-model trial counts, and each model's tool-call sequences with their frequencies. See
/// the module documentation.
#[derive(Debug)]
pub(crate) struct ShapeFold {
    /// The arena; `nodes[0]` stands for the trial root.
    nodes: Vec<FoldNode>,
    /// Model names, each with its index into the per-model vectors.
    models: BTreeMap<String, usize>,
    /// Per model, trials added.
    trials: Vec<u32>,
    /// Per model, each sequence of tool names (in call order) and the trials that made it.
    sequences: Vec<BTreeMap<Vec<String>, u32>>,
    /// Trials added so far, of all models.
    serial: u64,
}

impl Default for ShapeFold {
    fn default() -> ShapeFold {
        ShapeFold {
            nodes: vec![FoldNode::default()],
            models: BTreeMap::new(),
            trials: Vec::new(),
            sequences: Vec::new(),
            serial: 0,
        }
    }
}

impl ShapeFold {
    /// Adds one trial of `model`: the tree under `root` (the trial root, which is not a node
    /// of its own: every trial has one).
    pub(crate) fn add(&mut self, model: &str, view: &GenAiView<'_>, root: NodeId) {
        let m = self.model(model);
        self.trials[m] += 1;
        self.serial += 1;
        let tree = view.tree();
        let mut in_trial = vec![false; tree.len()];
        // Iterative, so a trace of any depth folds without overflowing the stack.
        let mut stack: Vec<(NodeRef<'_>, usize)> =
            tree.node(root).children().map(|c| (c, 0)).collect();
        while let Some((node, parent)) = stack.pop() {
            in_trial[node.id().0 as usize] = true;
            let next = self.nodes.len();
            let at = *self.nodes[parent]
                .children
                .entry(key(view, node))
                .or_insert(next);
            if at == next {
                self.nodes.push(FoldNode::default());
            }
            let fold = &mut self.nodes[at];
            if fold.seen_in != self.serial {
                fold.seen_in = self.serial;
                if fold.trials.len() <= m {
                    fold.trials.resize(m + 1, 0);
                }
                fold.trials[m] += 1;
            }
            stack.extend(node.children().map(|c| (c, at)));
        }
        let sequence: Vec<String> = view
            .tool_calls()
            .iter()
            .filter(|call| in_trial[call.node.0 as usize])
            .map(|call| name(&call.name, Kind::Tool))
            .collect();
        *self.sequences[m].entry(sequence).or_insert(0) += 1;
    }

    /// The index of `model`, registering it on first sight.
    fn model(&mut self, model: &str) -> usize {
        if let Some(&m) = self.models.get(model) {
            return m;
        }
        let m = self.trials.len();
        self.models.insert(model.to_owned(), m);
        self.trials.push(0);
        self.sequences.push(BTreeMap::new());
        m
    }

    /// Writes the folded tree as nested `<ul class="shape">` lists, each node with its count
    /// per model of `models` (in that order; a model never added shows `0/0`), then each
    /// model's tool-call sequences, most frequent first.
    pub(crate) fn write(&self, out: &mut String, models: &[String]) {
        let columns: Vec<(&str, Option<usize>)> = models
            .iter()
            .map(|name| (name.as_str(), self.models.get(name).copied()))
            .collect();
        out.push_str("<div class=\"shape-diff\">");
        if self.nodes[0].children.is_empty() {
            out.push_str("<p class=\"shape-empty\">no spans below the trial root</p>");
        } else {
            self.write_tree(out, &columns);
        }
        self.write_sequences(out, &columns);
        out.push_str("</div>");
    }

    fn write_tree(&self, out: &mut String, columns: &[(&str, Option<usize>)]) {
        enum Step<'f> {
            Node(&'f Key, usize),
            Close,
        }
        let children = |at: usize| {
            self.nodes[at]
                .children
                .iter()
                .rev()
                .map(|(key, &child)| Step::Node(key, child))
        };
        // The models that ran: a path some of them reach and others never do is highlighted.
        let ran: Vec<Option<usize>> = columns
            .iter()
            .map(|&(_, m)| m)
            .filter(|&m| self.total(m) > 0)
            .collect();
        out.push_str("<ul class=\"shape top\">");
        let mut stack: Vec<Step<'_>> = children(0).collect();
        while let Some(step) = stack.pop() {
            let (key, at) = match step {
                Step::Node(key, at) => (key, at),
                Step::Close => {
                    out.push_str("</ul></li>");
                    continue;
                }
            };
            let node = &self.nodes[at];
            let count = |m: Option<usize>| m.and_then(|m| node.trials.get(m)).copied().unwrap_or(0);
            let present = |m: &Option<usize>| count(*m) > 0;
            let only = ran.iter().any(present) && !ran.iter().all(present);
            let kind = Kind::ALL[usize::from(key.0)];
            let _ = write!(
                out,
                "<li{}><span class=\"node k-{kind}\"><span class=\"sym\" title=\"{kind}\">{}</span> \
                 {kind} {}</span> — <span class=\"counts\">",
                if only { " class=\"only\"" } else { "" },
                symbol(kind),
                esc(&key.1),
            );
            for (i, &(model, m)) in columns.iter().enumerate() {
                let sep = if i == 0 { "" } else { " · " };
                let _ = write!(out, "{sep}{} {}/{}", esc(model), count(m), self.total(m));
            }
            out.push_str("</span>");
            if node.children.is_empty() {
                out.push_str("</li>");
            } else {
                out.push_str("<ul class=\"shape\">");
                stack.push(Step::Close);
                stack.extend(children(at));
            }
        }
        out.push_str("</ul>");
    }

    /// Trials added of the model at `m`.
    fn total(&self, m: Option<usize>) -> u32 {
        m.map_or(0, |m| self.trials[m])
    }

    fn write_sequences(&self, out: &mut String, columns: &[(&str, Option<usize>)]) {
        out.push_str("<ul class=\"seqs\">");
        for &(model, m) in columns {
            let _ = write!(
                out,
                "<li><span class=\"model\">{}</span> tool sequences",
                esc(model)
            );
            let Some(m) = m else {
                out.push_str(": no trials</li>");
                continue;
            };
            let mut variants: Vec<(&Vec<String>, u32)> =
                self.sequences[m].iter().map(|(s, &n)| (s, n)).collect();
            // Most frequent first; ties in the sequences' own order (the map's), so stable.
            variants.sort_by_key(|&(_, n)| std::cmp::Reverse(n));
            out.push_str("<ul>");
            for (sequence, n) in variants {
                out.push_str("<li class=\"seq\">");
                if sequence.is_empty() {
                    out.push_str("(no tool calls)");
                }
                for (i, tool) in sequence.iter().take(MAX_SEQUENCE).enumerate() {
                    let sep = if i == 0 { "" } else { " → " };
                    let _ = write!(out, "{sep}{}", esc(tool));
                }
                if sequence.len() > MAX_SEQUENCE {
                    let _ = write!(out, " → … {} more", sequence.len() - MAX_SEQUENCE);
                }
                let _ = write!(out, " ×{n}</li>");
            }
            out.push_str("</ul></li>");
        }
        out.push_str("</ul>");
    }
}

/// A span's key in the fold: its kind, and its name normalised (a tool span's tool name).
fn key(view: &GenAiView<'_>, node: NodeRef<'_>) -> Key {
    let kind = view.kind(node.id());
    let rank = Kind::ALL
        .iter()
        .position(|&k| k == kind)
        .expect("every kind is in Kind::ALL");
    let raw = match kind {
        Kind::Tool => view.tool_name_of(node.span()),
        // `{operation} {model}` by the GenAI conventions: the operation alone, or the calls of
        // two models would never share a node and every LLM call would look like a difference.
        Kind::Llm => node
            .span()
            .name
            .split(' ')
            .next()
            .unwrap_or_default()
            .to_owned(),
        _ => node.span().name.clone(),
    };
    (rank as u8, name(&raw, kind))
}

/// `raw` normalised and cut to [`MAX_NAME`] bytes.
fn name(raw: &str, kind: Kind) -> String {
    let normalized = normalize_name(raw, kind);
    match escape::clip(&normalized, MAX_NAME) {
        (_, 0) => normalized,
        (head, _) => format!("{head}…"),
    }
}
