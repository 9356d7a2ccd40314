//! The HTML report: one self-contained page per run (`traceval run --html`, `traceval html`)
//! and per comparison (`traceval compare --html`).
//!
//! The page is rendered on the server side from the [`Report`] and the span trees of the trials
//! it draws; every string goes through [`escape`]. It needs no network and no JavaScript: the
//! drill-down is `<details>`, and the one inline script (allowed by its hash in the page's
//! Content-Security-Policy) only adds filtering, sorting and keyboard navigation. The same
//! report renders to the same bytes. `docs/reference/html.md` describes the page.

pub(crate) mod compare;
pub(crate) mod escape;
mod output;
mod page;
mod panel;
pub(crate) mod saved;
mod shape;
mod summary;
mod trial;
mod waterfall;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

pub(crate) use output::HtmlFile;
pub(crate) use shape::ShapeFold;

use crate::event::{CaseFinished, TrialResult, TrialTrace};
use crate::report::Report;
use crate::report::markdown::{TrialsByCase, trials_by_case};
use crate::trace::genai::GenAiView;
use crate::trace::tree::SpanTree;

/// Bytes of the page kept for the banner that says what did not fit.
const NOTE_ROOM: usize = 1024;

/// Which trials' span trees the page draws (`--html-traces`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum TraceSelection {
    /// Failing trials, and one passing trial per case × model as an example of what good
    /// looks like.
    #[default]
    Failing,
    /// Every trial of a case × model whose trials disagree, and the failing trials.
    Flaky,
    /// Every trial.
    All,
    /// None: the page shows results only.
    None,
}

/// Limits that keep a page readable and its size bounded; every truncation is counted, and
/// the page states the counts in a banner.
#[derive(Debug, Clone)]
pub(crate) struct Budget {
    /// Bytes of one attribute value, message or answer shown before it is clipped.
    pub(crate) max_attr: usize,
    /// Spans drawn per trial; the rest are counted, not drawn.
    pub(crate) max_spans: usize,
    /// Values clipped so far.
    pub(crate) clipped_values: usize,
    /// Spans left out so far.
    pub(crate) spans_left_out: usize,
    /// Bytes of the page. What the report says is always on it; span waterfalls fill the
    /// rest, failing trials first: a trial whose waterfall does not fit is drawn without its
    /// span panels (rows only), and when that does not fit either, not drawn.
    pub(crate) max_page: usize,
    /// Whether the waterfall being written draws each span's panel.
    pub(crate) panels: bool,
    /// Trials drawn without span panels for want of room.
    pub(crate) panels_left_out: usize,
    /// Trials whose waterfall was not drawn for want of room.
    pub(crate) waterfalls_left_out: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_attr: 64 << 10,
            max_spans: 5_000,
            clipped_values: 0,
            spans_left_out: 0,
            max_page: 10_000_000,
            panels: true,
            panels_left_out: 0,
            waterfalls_left_out: 0,
        }
    }
}

impl Budget {
    /// Writes `text` escaped and clipped to [`Budget::max_attr`], counting a clip.
    pub(crate) fn text(&mut self, out: &mut String, text: &str) {
        if escape::write_clipped(out, text, self.max_attr) {
            self.clipped_values += 1;
        }
    }
}

/// A trial: suite, case, model and trial index.
pub(crate) type TrialKey = (String, String, String, u32);

/// A case × model: suite, case and model.
type Group = (String, String, String);

fn key(t: &TrialResult) -> TrialKey {
    (t.suite.clone(), t.case.clone(), t.model.clone(), t.trial)
}

/// The span trees a page draws, and the trace-shape folds of its cases.
#[derive(Default)]
pub(crate) struct Drawn {
    /// The trials whose waterfalls are drawn.
    pub(crate) trials: BTreeMap<TrialKey, Arc<TrialTrace>>,
    /// Per suite and case, its trials' shapes folded by model.
    pub(crate) shapes: BTreeMap<(String, String), ShapeFold>,
    /// Things the page must say about what it could not draw.
    pub(crate) notes: Vec<String>,
}

/// The page of `report`, drawing the span trees in `drawn`.
pub(crate) fn render(report: &Report, drawn: &Drawn, budget: &mut Budget) -> String {
    let by_case = trials_by_case(report);
    // The page without waterfalls first: what is left of the page's bytes is theirs.
    let waterfalls = if drawn.trials.is_empty() {
        BTreeMap::new()
    } else {
        let bare = page_with(
            report,
            &by_case,
            drawn,
            &BTreeMap::new(),
            &mut budget.clone(),
        );
        let room = budget.max_page.saturating_sub(bare.len() + NOTE_ROOM);
        trial::waterfalls(report, drawn, room, budget)
    };
    page_with(report, &by_case, drawn, &waterfalls, budget)
}

/// The page with the waterfalls given, by trial.
fn page_with(
    report: &Report,
    by_case: &TrialsByCase<'_>,
    drawn: &Drawn,
    waterfalls: &BTreeMap<TrialKey, String>,
    budget: &mut Budget,
) -> String {
    let mut body = String::with_capacity(64 << 10);
    summary::models(&mut body, report);
    summary::matrix(&mut body, report, by_case);
    trial::cases(&mut body, report, by_case, drawn, waterfalls, budget);
    let mut notes = drawn.notes.clone();
    if budget.clipped_values > 0 {
        notes.push(format!(
            "{} values are longer than {} bytes and are shown clipped (\"… N bytes more\")",
            budget.clipped_values, budget.max_attr
        ));
    }
    let full = budget.panels_left_out + budget.waterfalls_left_out;
    if full > 0 {
        notes.push(format!(
            "the page holds at most {} MB, so the waterfalls of {} trials are drawn without \
             span details and {} are not drawn (failing trials come first; \
             `traceval html --html-traces` picks others, `traceval inspect` shows a saved trace)",
            budget.max_page / 1_000_000,
            budget.panels_left_out,
            budget.waterfalls_left_out
        ));
    }
    if budget.spans_left_out > 0 {
        notes.push(format!(
            "{} spans are not drawn: at most {} per trial",
            budget.spans_left_out, budget.max_spans
        ));
    }
    let mut head = String::with_capacity(4 << 10);
    summary::header(&mut head, report, &notes);
    head.push_str(&body);
    let mut page = String::with_capacity(head.len() + (16 << 10));
    page::write(
        &mut page,
        &format!("traceval {}", report.run_id),
        waterfall::CSS,
        &head,
    );
    page
}

/// Chooses, trial by trial, which span trees a page draws (by [`TraceSelection`]), and folds
/// every trial's shape into its case's [`ShapeFold`]. Spans of trials not drawn are let go as
/// soon as their case × model is decided.
pub(crate) struct Collector {
    selection: TraceSelection,
    drawn: Drawn,
    /// Flaky selection: a case × model's passing trials until the group ends.
    pending: BTreeMap<Group, Vec<(TrialKey, Arc<TrialTrace>)>>,
    /// Failing selection: the case × models that have their passing example.
    examples: BTreeSet<Group>,
}

impl Collector {
    /// A collector that keeps what `selection` asks for.
    pub(crate) fn new(selection: TraceSelection) -> Collector {
        Collector {
            selection,
            drawn: Drawn::default(),
            pending: BTreeMap::new(),
            examples: BTreeSet::new(),
        }
    }

    /// A finished trial.
    pub(crate) fn trial(&mut self, t: &TrialResult) {
        let Some(trace) = &t.trace else { return };
        self.fold(t, trace);
        let group = (t.suite.clone(), t.case.clone(), t.model.clone());
        let keep = match self.selection {
            TraceSelection::None => false,
            TraceSelection::All => true,
            TraceSelection::Failing => !t.passed || self.examples.insert(group),
            TraceSelection::Flaky => {
                if t.passed {
                    self.pending
                        .entry(group)
                        .or_default()
                        .push((key(t), Arc::clone(trace)));
                }
                !t.passed
            }
        };
        if keep {
            self.drawn.trials.insert(key(t), Arc::clone(trace));
        }
    }

    /// Every trial of a case × model is done: under [`TraceSelection::Flaky`], its passing
    /// trials are kept when some trial failed.
    pub(crate) fn case_finished(&mut self, c: &CaseFinished) {
        let group = (c.suite.clone(), c.case.clone(), c.model.clone());
        if let Some(passing) = self.pending.remove(&group)
            && c.passed < c.n
        {
            self.drawn.trials.extend(passing);
        }
    }

    /// Every case × model of a finished run's `report` is done, as [`Collector::case_finished`]
    /// for each (for pages drawn after the run).
    pub(crate) fn report_finished(&mut self, report: &Report) {
        for c in &report.cases {
            self.case_finished(&CaseFinished {
                suite: c.suite.clone(),
                case: c.case.clone(),
                model: c.model.clone(),
                n: c.n,
                passed: c.passed,
                duration_ms: 0.0,
                snapshot_matched: c.snapshot_matched,
            });
        }
    }

    /// Folds `t`'s shape into its case's.
    fn fold(&mut self, t: &TrialResult, trace: &TrialTrace) {
        let (tree, root) = SpanTree::build_trial(&trace.root, trace.spans.iter().cloned());
        let view = GenAiView::with_conventions(&tree, &trace.conventions);
        self.drawn
            .shapes
            .entry((t.suite.clone(), t.case.clone()))
            .or_default()
            .add(&t.model, &view, root);
    }

    /// What the page draws.
    pub(crate) fn finish(self) -> Drawn {
        self.drawn
    }
}

#[cfg(test)]
mod tests;
