//! The HTML report: one self-contained page per run (`traceval run --html`, `traceval html`).
//!
//! The page is rendered on the server side from the [`Report`] and the span trees of the trials
//! it draws; every string goes through [`escape`]. It needs no network and no JavaScript: the
//! drill-down is `<details>`, and the one inline script (allowed by its hash in the page's
//! Content-Security-Policy) only adds filtering, sorting and keyboard navigation. The same
//! report renders to the same bytes. `docs/reference/html.md` describes the page.

pub(crate) mod escape;
mod panel;
mod shape;
mod waterfall;

pub(crate) use shape::ShapeFold;

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
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            max_attr: 64 << 10,
            max_spans: 5_000,
            clipped_values: 0,
            spans_left_out: 0,
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
