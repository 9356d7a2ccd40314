//! The page of a comparison (`traceval compare … --html FILE`): the document the JSON holds
//! (`docs/reference/compare.md`), drawn. Inputs and notes, the gate, then per base/new pair
//! its metric table with the verdicts and the case table with both sides' strips and labels,
//! and for each case whose class changed what the agent did differently: tool sequences, and
//! when the runs saved their traces, the two sides' trials folded into one shape tree
//! (`base 0/5 · new 2/5`).
//!
//! Numbers and words come from the renderers' shared formatting, so the page says what the
//! terminal and the Markdown say; every string from a report goes through [`esc`].

use std::collections::BTreeMap;
use std::fmt::Write;

use super::escape::{esc, id};
use super::{ShapeFold, page, waterfall};
use crate::compare::document::{CaseRow, CaseSide, Comparison, Document, Variants};
use crate::compare::render::format::{self, Tone};

/// The shape folds of a comparison's cases, by (comparison, case row) index; each fold's
/// models are `base` and `new`.
pub(crate) type CaseShapes = BTreeMap<(usize, usize), ShapeFold>;

/// The two names a compare page's shape folds use for the sides.
pub(crate) const SIDES: [&str; 2] = ["base", "new"];

/// The page of `doc`, with the shape folds in `shapes` and `notes` on what could not be read.
pub(crate) fn render(doc: &Document, shapes: &CaseShapes, notes: &[String]) -> String {
    let mut body = String::with_capacity(32 << 10);
    header(&mut body, doc, notes);
    for (i, c) in doc.comparisons.iter().enumerate() {
        comparison(&mut body, doc, i, c, shapes);
    }
    let mut out = String::with_capacity(body.len() + (16 << 10));
    page::write(&mut out, "traceval compare", waterfall::CSS, &body);
    out
}

/// The title, the gate's outcome, the inputs, the notes.
fn header(out: &mut String, doc: &Document, notes: &[String]) {
    out.push_str("<header>\n<h1>traceval compare</h1>\n");
    let (class, words) = match (doc.gate.rules.is_empty(), doc.gate.failed.is_empty()) {
        (true, _) => ("s-pass", "no gate (exit 0)".to_owned()),
        (false, true) => ("s-pass", "the gate held (exit 0)".to_owned()),
        (false, false) => (
            "s-fail",
            format!(
                "the gate failed: {} rule(s) (exit 1)",
                doc.gate.failed.len()
            ),
        ),
    };
    let _ = writeln!(out, "<p class=\"status {class}\">{}</p>", esc(&words));
    if !doc.gate.failed.is_empty() {
        out.push_str("<ul class=\"gate-failed\">\n");
        for rule in &doc.gate.failed {
            let _ = writeln!(out, "<li class=\"s-fail\">✗ {}</li>", esc(rule));
        }
        out.push_str("</ul>\n");
    }
    if !doc.gate.rules.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">rules: {}</p>",
            esc(&doc.gate.rules.join(" "))
        );
    }
    out.push_str(
        "<table class=\"inputs\"><thead><tr><th>report</th><th>run</th><th>date</th>\
                  <th>commit</th><th>prices</th><th>models</th></tr></thead><tbody>\n",
    );
    for input in &doc.inputs {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td>\
             <td>{}</td><td>{}</td></tr>",
            esc(&input.path),
            esc(&input.run_id),
            esc(format::date(&input.started_at)),
            esc(input
                .git_commit
                .as_deref()
                .map_or("—", format::short_commit)),
            esc(input.pricing_date.as_deref().unwrap_or("—")),
            esc(&input.models.join(", ")),
        );
    }
    out.push_str("</tbody></table>\n");
    let _ = writeln!(
        out,
        "<p class=\"muted\">seed {} · α {} (intervals at {}) · traceval {}</p>",
        doc.seed,
        doc.alpha,
        format::level(doc.alpha),
        esc(&doc.traceval_version)
    );
    if !doc.notes.is_empty() || !notes.is_empty() {
        out.push_str("<ul class=\"warnings\">\n");
        for n in doc.notes.iter().map(|n| &n.message).chain(notes) {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</header>\n");
}

/// The CSS class of a tone (not a status's: a verdict or label is not a pass or a fail).
fn tone(t: Tone) -> &'static str {
    match t {
        Tone::Bad => "t-bad",
        Tone::Good => "t-good",
        Tone::Warn => "t-warn",
        Tone::Plain => "muted",
    }
}

/// One base/new pair: its facts, metric table, case table and the changed cases' details.
fn comparison(out: &mut String, doc: &Document, i: usize, c: &Comparison, shapes: &CaseShapes) {
    let _ = writeln!(
        out,
        "<section class=\"comparison\"><h2>{} → {}</h2>",
        esc(&format::side_name(doc, &c.base, str::to_owned)),
        esc(&format::side_name(doc, &c.new, str::to_owned))
    );
    let _ = writeln!(
        out,
        "<p>{} cases matched · k = {} → {} · flaky {} → {} · {}</p>",
        c.matched,
        format::k_range(c.k_base),
        format::k_range(c.k_new),
        c.flaky.0,
        c.flaky.1,
        esc(&format::label_counts(c))
    );
    if let Some(advice) = format::advice(c) {
        let _ = writeln!(out, "<p class=\"muted\">{}</p>", esc(&advice));
    }
    metrics(out, c);
    cases(out, i, c);
    for (r, row) in c.cases.iter().enumerate() {
        if row.behaviour.is_some() || shapes.contains_key(&(i, r)) {
            case_detail(out, i, row, shapes.get(&(i, r)));
        }
    }
    out.push_str("</section>\n");
}

/// The metric table: values, Δ with its interval, p, verdict.
fn metrics(out: &mut String, c: &Comparison) {
    out.push_str(
        "<table class=\"metrics\"><thead><tr><th>metric</th><th>base</th><th>new</th>\
         <th>Δ [CI]</th><th>p</th><th>verdict</th></tr></thead><tbody>\n",
    );
    for m in &c.metrics {
        let unit = format::unit(&m.name);
        let mut verdict = m.verdict.clone();
        if let Some(detail) = format::verdict_detail(m) {
            let _ = write!(verdict, " ({detail})");
        }
        let _ = write!(
            out,
            "<tr data-metric=\"{}\"><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"verdict {}\">{}</td></tr>",
            esc(&m.name),
            esc(&format::metric_label(&m.name, c)),
            esc(&format::value(m.base, unit)),
            esc(&format::value(m.new, unit)),
            esc(&format::delta(m)),
            esc(&format::p_cell(m)),
            tone(format::verdict_tone(&m.verdict)),
            esc(&verdict),
        );
        if let Some(note) = &m.note {
            let _ = write!(
                out,
                "<tr class=\"note\"><td></td><td colspan=\"5\" class=\"muted\">{}</td></tr>",
                esc(note)
            );
        }
        out.push('\n');
    }
    out.push_str("</tbody></table>\n");
}

/// The id of a case's detail section.
fn detail_id(i: usize, row: &CaseRow) -> String {
    id(
        "d",
        &[
            &i.to_string(),
            &row.suite,
            &row.case,
            row.model.as_deref().unwrap_or(""),
        ],
    )
}

/// A side's strip, coloured by its class; `—` when the case is absent on that side.
fn strip(side: Option<&CaseSide>) -> String {
    match side {
        Some(s) => format!(
            "<span class=\"s-{}\">{}/{} {}</span>",
            match s.class.as_str() {
                "pass" | "fail" | "flaky" | "error" => s.class.as_str(),
                _ => "muted",
            },
            s.passed,
            s.n,
            esc(&s.strip)
        ),
        None => "<span class=\"muted\">—</span>".to_owned(),
    }
}

/// The case table, worst first as the document orders it; the page's filters show the changed
/// or the flaky ones.
fn cases(out: &mut String, i: usize, c: &Comparison) {
    out.push_str(
        "<div class=\"filters\" role=\"group\" aria-label=\"filter cases\">\
         <button type=\"button\" data-filter=\"all\" aria-pressed=\"true\">all</button>\
         <button type=\"button\" data-filter=\"failing\" aria-pressed=\"false\">changed</button>\
         <button type=\"button\" data-filter=\"flaky\" aria-pressed=\"false\">flaky</button></div>\n\
         <table class=\"matrix cases\"><thead><tr><th data-sort>case</th><th>base</th><th>new</th>\
         <th data-sort>label</th><th data-sort>Fisher p</th><th>what changed</th></tr></thead><tbody>\n",
    );
    for row in &c.cases {
        let flaky = [&row.base, &row.new]
            .iter()
            .any(|s| s.as_ref().is_some_and(|s| s.class == "flaky"));
        let name = match &row.model {
            Some(m) => format!("{}::{} ({m})", row.suite, row.case),
            None => format!("{}::{}", row.suite, row.case),
        };
        let changed = row.behaviour.is_some();
        let _ = write!(
            out,
            "<tr data-status=\"{}\" data-flaky=\"{}\" data-label=\"{}\"><td>",
            if row.label == "unchanged" {
                "pass"
            } else {
                "changed"
            },
            u8::from(flaky),
            esc(&row.label)
        );
        if changed {
            let _ = write!(out, "<a href=\"#{}\">{}</a>", detail_id(i, row), esc(&name));
        } else {
            let _ = write!(out, "{}", esc(&name));
        }
        let mut label = row.label.clone();
        if row.significant {
            label.push_str(" *");
        }
        let _ = writeln!(
            out,
            "</td><td>{}</td><td>{}</td><td class=\"{}\" data-key=\"{}\">{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            strip(row.base.as_ref()),
            strip(row.new.as_ref()),
            tone(format::label_tone(&row.label)),
            format::label_rank(&row.label),
            esc(&label),
            row.fisher_p.map_or("—".to_owned(), format::p_value),
            esc(row.behaviour.as_ref().map_or("", |b| b.summary.as_str())),
        );
    }
    out.push_str("</tbody></table>\n");
    if c.cases.iter().any(|r| r.significant) {
        out.push_str(
            "<p class=\"muted\">* broken or fixed with a Benjamini–Hochberg q below α</p>\n",
        );
    }
}

/// What the agent did differently in one case: the tool sequences and shapes of each side,
/// the per-trial means, and the two sides' trials folded into one shape tree.
fn case_detail(out: &mut String, i: usize, row: &CaseRow, fold: Option<&ShapeFold>) {
    let _ = writeln!(
        out,
        "<details class=\"case\" id=\"{}\"><summary><span class=\"{}\">{}</span> {}::{}{}</summary>",
        detail_id(i, row),
        tone(format::label_tone(&row.label)),
        esc(&row.label),
        esc(&row.suite),
        esc(&row.case),
        row.model
            .as_deref()
            .map_or(String::new(), |m| format!(" ({})", esc(m)))
    );
    if let Some(b) = &row.behaviour {
        let _ = writeln!(out, "<p>{}</p>", esc(&b.summary));
        variants(out, "tool sequences", &b.tools);
        variants(out, "trace shapes", &b.shapes);
        let _ = writeln!(
            out,
            "<p class=\"metrics\">per trial, base → new: LLM calls {:.2} → {:.2} · retries {:.2} → \
             {:.2} · error spans {:.2} → {:.2} · tokens {:.0} → {:.0}</p>",
            b.llm_calls.0,
            b.llm_calls.1,
            b.retries.0,
            b.retries.1,
            b.error_spans.0,
            b.error_spans.1,
            b.tokens.0,
            b.tokens.1
        );
    }
    if let Some(fold) = fold {
        out.push_str("<h4>trace shapes, base and new</h4>\n");
        let sides: Vec<String> = SIDES.iter().map(|s| (*s).to_owned()).collect();
        fold.write(out, &sides);
    }
    out.push_str("</details>\n");
}

/// A side-by-side table of variants and their trial counts.
fn variants(out: &mut String, title: &str, v: &Variants) {
    if v.base.is_empty() && v.new.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<table class=\"variants\"><thead><tr><th>{title}: base</th><th>trials</th>\
         <th>new</th><th>trials</th></tr></thead><tbody>"
    );
    for k in 0..v.base.len().max(v.new.len()) {
        out.push_str("<tr>");
        for side in [&v.base, &v.new] {
            match side.get(k) {
                Some(x) => {
                    let _ = write!(
                        out,
                        "<td><code>{}</code></td><td class=\"num\">{}</td>",
                        esc(if x.value.is_empty() {
                            "(no tool calls)"
                        } else {
                            &x.value
                        }),
                        x.count
                    );
                }
                None => out.push_str("<td></td><td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>\n");
}
