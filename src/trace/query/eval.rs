//! Selector evaluation: left to right, one linear pass over the tree per compound.

use std::borrow::Cow;

use super::super::genai::{GenAiView, Kind};
use super::super::span::{Span, StatusCode, Value};
use super::super::tree::NodeId;
use super::{Combinator, Complex, Compound, Field, Literal, Predicate, Pseudo, Selector, Test};

impl Selector {
    /// The nodes this selector matches, in tree order (depth-first pre-order), each once.
    pub fn select(&self, view: &GenAiView<'_>) -> Vec<NodeId> {
        let order: Vec<NodeId> = view.tree().walk().map(|n| n.id()).collect();
        if let [only] = self.alternatives.as_slice() {
            return select_complex(view, &order, only);
        }
        let mut hit = vec![false; order.len()];
        for complex in &self.alternatives {
            for id in select_complex(view, &order, complex) {
                hit[ix(id)] = true;
            }
        }
        order.into_iter().filter(|&id| hit[ix(id)]).collect()
    }
}

fn ix(id: NodeId) -> usize {
    id.0 as usize
}

/// The nodes of one complex selector, in tree order. `order` is the tree order.
fn select_complex(view: &GenAiView<'_>, order: &[NodeId], complex: &Complex) -> Vec<NodeId> {
    let tree = view.tree();
    let mut selected: Vec<NodeId> = order
        .iter()
        .copied()
        .filter(|&id| matches(view, id, &complex.head))
        .collect();
    apply_pseudos(&mut selected, &complex.head);
    let mut in_set = vec![false; order.len()];
    let mut below = vec![false; order.len()];
    for (combinator, compound) in &complex.tail {
        if selected.is_empty() {
            break;
        }
        in_set.fill(false);
        for &id in &selected {
            in_set[ix(id)] = true;
        }
        let reachable: &[bool] = match combinator {
            Combinator::Child => {
                for &id in order {
                    below[ix(id)] = tree.node(id).parent().is_some_and(|p| in_set[ix(p.id())]);
                }
                &below
            }
            Combinator::Descendant => {
                // Pre-order visits a parent before its children, so `below[parent]` is ready.
                for &id in order {
                    below[ix(id)] = tree.node(id).parent().is_some_and(|p| {
                        let p = ix(p.id());
                        in_set[p] || below[p]
                    });
                }
                &below
            }
        };
        selected = order
            .iter()
            .copied()
            .filter(|&id| reachable[ix(id)] && matches(view, id, compound))
            .collect();
        apply_pseudos(&mut selected, compound);
    }
    selected
}

fn apply_pseudos(selected: &mut Vec<NodeId>, compound: &Compound) {
    for pseudo in &compound.pseudos {
        let keep = match *pseudo {
            Pseudo::First => selected.first().copied(),
            Pseudo::Last => selected.last().copied(),
            Pseudo::Nth(n) => (n as usize)
                .checked_sub(1)
                .and_then(|i| selected.get(i).copied()),
        };
        selected.clear();
        selected.extend(keep);
    }
}

fn matches(view: &GenAiView<'_>, id: NodeId, compound: &Compound) -> bool {
    compound.kind.is_none_or(|k| view.kind(id) == k)
        && (!view.is_trial_root(id) || names_the_span(compound))
        && compound.predicates.iter().all(|p| holds(view, id, p))
}

/// True when the compound tests the span's name positively (`[name="eval.trial"]`,
/// `[name~="^eval"]`): only such a compound can select traceval's own trial root, which no
/// other tool's trace has, so that `span[name!="x"]` counts what it counts elsewhere.
fn names_the_span(compound: &Compound) -> bool {
    compound
        .predicates
        .iter()
        .any(|p| p.field == Field::Name && matches!(p.test, Test::Eq(_) | Test::Matches(_)))
}

/// One value of a field.
#[derive(Clone, Copy)]
enum Candidate<'a> {
    Text(&'a str),
    Value(&'a Value),
}

fn text<'a>(c: Candidate<'a>) -> Cow<'a, str> {
    match c {
        Candidate::Text(s) => Cow::Borrowed(s),
        Candidate::Value(Value::Str(s)) => Cow::Borrowed(s),
        Candidate::Value(other) => Cow::Owned(other.to_string()),
    }
}

fn number(c: Candidate<'_>) -> Option<f64> {
    let parse = |s: &str| s.trim().parse::<f64>().ok().filter(|x| x.is_finite());
    match c {
        Candidate::Text(s) => parse(s),
        Candidate::Value(Value::Str(s)) => parse(s),
        Candidate::Value(v @ (Value::Int(_) | Value::Double(_))) => v.as_f64(),
        Candidate::Value(_) => None,
    }
}

fn equals(c: Candidate<'_>, literal: &Literal) -> bool {
    match literal {
        Literal::Str(s) => text(c) == s.as_str(),
        Literal::Num(x) => number(c) == Some(*x),
        Literal::Bool(b) => text(c) == if *b { "true" } else { "false" },
    }
}

fn holds(view: &GenAiView<'_>, id: NodeId, predicate: &Predicate) -> bool {
    let any = |f: &dyn Fn(Candidate<'_>) -> bool| any_value(view, id, &predicate.field, f);
    let num = |f: &dyn Fn(f64) -> bool| any(&|c| number(c).is_some_and(f));
    match &predicate.test {
        Test::Exists => any(&|_| true),
        Test::Eq(v) => any(&|c| equals(c, v)),
        Test::Ne(v) => !any(&|c| equals(c, v)),
        Test::Matches(p) => any(&|c| p.0.is_match(&text(c))),
        Test::Lt(x) => num(&|v| v < *x),
        Test::Le(x) => num(&|v| v <= *x),
        Test::Gt(x) => num(&|v| v > *x),
        Test::Ge(x) => num(&|v| v >= *x),
    }
}

/// True when some value of the field satisfies `f`.
fn any_value(
    view: &GenAiView<'_>,
    id: NodeId,
    field: &Field,
    f: &dyn Fn(Candidate<'_>) -> bool,
) -> bool {
    let span = view.tree().node(id).span();
    match field {
        Field::Name => {
            f(Candidate::Text(&span.name))
                || match view.kind(id) {
                    Kind::Tool => match view.tool_call(id) {
                        Some(call) => f(Candidate::Text(&call.name)),
                        // A tool span nested in the same tool is no call of its own.
                        None => f(Candidate::Text(&view.tool_name_of(span))),
                    },
                    Kind::Agent => view.agent(id).is_some_and(|a| f(Candidate::Text(&a.name))),
                    _ => false,
                }
        }
        Field::Model => view
            .models(span)
            .into_iter()
            .any(|v| v.is_some_and(|v| f(Candidate::Value(v)))),
        Field::Status => f(Candidate::Text(status(span))),
        Field::Attr(key) => span.attr(key).is_some_and(|v| f(Candidate::Value(v))),
    }
}

fn status(span: &Span) -> &'static str {
    if span.is_error() {
        "error"
    } else if span.status.code == StatusCode::Ok {
        "ok"
    } else {
        "unset"
    }
}
