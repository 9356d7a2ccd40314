//! The Markdown of a comparison, for a PR comment or `$GITHUB_STEP_SUMMARY`: a marker first line,
//! worst rows first, every user string escaped, at most `budget` characters.
//!
//! Over budget, parts go in this order: the folded (unchanged and flaky) cases, then case rows
//! from the least to the most worrying, then footnotes, notes and metric tables; the marker and
//! the headline stay, and a last line says how many cases the JSON has beyond the ones shown.

use std::fmt::Write;

use super::format::{self, Tone};
use crate::compare::document::{CaseRow, CaseSide, Comparison, Document, Metric};
use crate::report::markdown::escape::{code, marker_id, text};

/// The default budget: GitHub caps PR comments at 65,535 characters.
pub(crate) const BUDGET: usize = 60_000;

/// The comparison as GitHub-flavoured Markdown, at most `budget` characters.
pub(crate) fn markdown(doc: &Document, budget: usize) -> String {
    let parts = Parts::new(doc);
    let all = parts.order.len();
    let mut plan = Plan {
        details: true,
        rows: all,
        footnotes: true,
        notes: true,
        metric_tables: doc.comparisons.len(),
    };
    let fits = |plan: &Plan| parts.render(plan).chars().count() <= budget;
    if fits(&plan) {
        return parts.render(&plan);
    }
    plan.details = false;
    // The most rows that fit: the length grows with the rows kept.
    let (mut lo, mut hi) = (0, all);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if fits(&Plan { rows: mid, ..plan }) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    plan.rows = lo;
    if !fits(&plan) {
        plan.footnotes = false;
    }
    if !fits(&plan) {
        plan.notes = false;
    }
    while !fits(&plan) && plan.metric_tables > 0 {
        plan.metric_tables -= 1;
    }
    let out = parts.render(&plan);
    if out.chars().count() <= budget {
        return out;
    }
    trim_lines(&out, budget)
}

/// Whole lines from the end, keeping the marker, the headline and the last ("more") line, until
/// the text fits; the marker and headline are kept even when they alone do not fit.
fn trim_lines(out: &str, budget: usize) -> String {
    let lines: Vec<&str> = out.lines().collect();
    let len = |l: &&str| l.chars().count() + 1;
    let (head, rest) = lines.split_at(2.min(lines.len()));
    let (last, body) = match rest.split_last() {
        Some((last, body)) => (vec![*last], body),
        None => (Vec::new(), rest),
    };
    let mut used: usize = head.iter().map(len).sum();
    let last_len: usize = last.iter().map(len).sum();
    let last = if used + last_len <= budget {
        last
    } else {
        Vec::new()
    };
    used += last.iter().map(len).sum::<usize>();
    let mut kept = Vec::new();
    for l in body {
        if used + len(l) > budget {
            break;
        }
        used += len(l);
        kept.push(*l);
    }
    let mut s = String::new();
    for l in head.iter().chain(&kept).chain(&last) {
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// What to show.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// The folded sections of unchanged and flaky cases.
    details: bool,
    /// How many case rows, in [`Parts::order`].
    rows: usize,
    /// The footnotes of inconclusive verdicts and metric notes.
    footnotes: bool,
    /// The document's notes.
    notes: bool,
    /// Metric tables of the first this many comparisons.
    metric_tables: usize,
}

/// The document's pieces, rendered once; [`Parts::render`] puts a plan's together.
struct Parts<'a> {
    /// The document.
    doc: &'a Document,
    /// The marker and the headline.
    head: String,
    /// Per comparison: the context line, metric table, footnote, moved rows, folded section.
    comparisons: Vec<ComparisonParts>,
    /// Moved case rows as (comparison, row in `moved`), most worrying first.
    order: Vec<(usize, usize)>,
    /// Every case key of every comparison.
    cases: usize,
}

/// One comparison's pieces.
struct ComparisonParts {
    /// The heading and the line of facts.
    context: String,
    /// The metric table.
    metrics: String,
    /// The footnote (inconclusive verdicts, advice, metric notes); may be empty.
    footnote: String,
    /// Moved case rows, each one table line, most worrying first.
    moved: Vec<String>,
    /// The `<details>` section of unchanged and flaky cases; empty when there are none.
    folded: String,
    /// The cases in `folded`.
    folded_cases: usize,
}

/// Whether a case row goes in the folded section.
fn folded(r: &CaseRow) -> bool {
    matches!(r.label.as_str(), "unchanged" | "flaky")
}

impl<'a> Parts<'a> {
    /// Renders every piece of `doc`.
    fn new(doc: &'a Document) -> Parts<'a> {
        let many = doc.comparisons.len() > 1;
        let comparisons: Vec<ComparisonParts> = doc
            .comparisons
            .iter()
            .enumerate()
            .map(|(i, c)| comparison_parts(doc, c, many.then_some(i + 1)))
            .collect();
        let mut order: Vec<(usize, usize, usize)> = Vec::new();
        for (i, c) in doc.comparisons.iter().enumerate() {
            let mut moved: Vec<&CaseRow> = c.cases.iter().filter(|r| !folded(r)).collect();
            moved.sort_by_key(|r| format::label_rank(&r.label));
            for (j, r) in moved.iter().enumerate() {
                order.push((format::label_rank(&r.label), i, j));
            }
        }
        order.sort();
        Parts {
            doc,
            head: format!("{}\n{}\n", marker(doc), headline(doc)),
            comparisons,
            order: order.into_iter().map(|(_, i, j)| (i, j)).collect(),
            cases: doc.comparisons.iter().map(|c| c.cases.len()).sum(),
        }
    }

    /// The Markdown of one plan.
    fn render(&self, plan: &Plan) -> String {
        let mut keep: Vec<Vec<bool>> = self
            .comparisons
            .iter()
            .map(|c| vec![false; c.moved.len()])
            .collect();
        for &(i, j) in self.order.iter().take(plan.rows) {
            keep[i][j] = true;
        }
        let mut shown = plan.rows;
        let mut out = self.head.clone();
        for (i, c) in self.comparisons.iter().enumerate() {
            out.push('\n');
            out.push_str(&c.context);
            if i < plan.metric_tables {
                out.push('\n');
                out.push_str(&c.metrics);
            }
            let rows: Vec<&String> = c
                .moved
                .iter()
                .zip(&keep[i])
                .filter(|(_, k)| **k)
                .map(|(r, _)| r)
                .collect();
            if !rows.is_empty() {
                out.push_str("\n| | case | base | new | p | q | what changed |\n");
                out.push_str("|---|---|---|---|---|---|---|\n");
                for r in rows {
                    out.push_str(r);
                }
            }
            if plan.details && !c.folded.is_empty() {
                out.push('\n');
                out.push_str(&c.folded);
                shown += c.folded_cases;
            }
            if plan.footnotes && !c.footnote.is_empty() {
                out.push('\n');
                out.push_str(&c.footnote);
            }
        }
        if plan.notes && !self.doc.notes.is_empty() {
            out.push('\n');
            for n in &self.doc.notes {
                let _ = writeln!(out, "- **note:** {}", text(&n.message));
            }
        }
        if let Some(g) = gate(self.doc) {
            out.push('\n');
            out.push_str(&g);
        }
        let complete = shown == self.cases
            && plan.footnotes
            && plan.notes
            && plan.metric_tables == self.comparisons.len();
        if !complete {
            let more = match self.cases - shown {
                0 => "the rest".to_string(),
                n => format!("{n} more cases"),
            };
            let _ = writeln!(out, "\n… {more} in the JSON (traceval compare --json FILE)");
        }
        out
    }
}

/// `<!-- traceval-compare base=… new=… -->`: the sticky comment's key.
fn marker(doc: &Document) -> String {
    let mut s = String::from("<!-- traceval-compare");
    let mut news: Vec<&str> = Vec::new();
    match doc.comparisons.first() {
        Some(c) => {
            let _ = write!(s, " base={}", marker_id(&c.base.run_id));
            for c in &doc.comparisons {
                if !news.contains(&c.new.run_id.as_str()) {
                    news.push(&c.new.run_id);
                }
            }
        }
        None => {
            if let Some(i) = doc.inputs.first() {
                let _ = write!(s, " base={}", marker_id(&i.run_id));
            }
            news.extend(doc.inputs.iter().skip(1).map(|i| i.run_id.as_str()));
        }
    }
    for n in news {
        let _ = write!(s, " new={}", marker_id(n));
    }
    s.push_str(" -->");
    s
}

/// `n thing` or `n things`.
fn plural(n: usize, thing: &str) -> String {
    format!("{n} {thing}{}", if n == 1 { "" } else { "s" })
}

/// `### traceval compare: ⚠️ 1 regression (cost / trial), 1 broken case`.
fn headline(doc: &Document) -> String {
    let names = |verdict: &str| {
        let mut names: Vec<String> = Vec::new();
        let mut n = 0;
        for c in &doc.comparisons {
            for m in c.metrics.iter().filter(|m| m.verdict == verdict) {
                n += 1;
                let label = format::metric_label(&m.name, c);
                if !names.contains(&label) {
                    names.push(label);
                }
            }
        }
        (n, text(&names.join(", ")))
    };
    let count = |label: &str| -> usize {
        doc.comparisons
            .iter()
            .flat_map(|c| &c.labels)
            .filter(|l| l.label == label)
            .map(|l| l.count)
            .sum()
    };
    let mut parts = Vec::new();
    let (regressed, names_r) = names("regressed");
    if regressed > 0 {
        parts.push(format!("{} ({names_r})", plural(regressed, "regression")));
    }
    for label in ["broken", "removed"] {
        let n = count(label);
        if n > 0 {
            parts.push(format!(
                "{} {label} case{}",
                n,
                if n == 1 { "" } else { "s" }
            ));
        }
    }
    let failed = !doc.gate.failed.is_empty();
    let words = match (failed, parts.is_empty()) {
        (true, true) => "❌ gate failed".to_string(),
        (true, false) => format!("❌ gate failed: {}", parts.join(", ")),
        (false, false) => format!("⚠️ {}", parts.join(", ")),
        (false, true) => {
            let (improved, names_i) = names("improved");
            if improved > 0 {
                format!(
                    "✅ no regressions, {} ({names_i})",
                    plural(improved, "improvement")
                )
            } else {
                "✅ no regressions".to_string()
            }
        }
    };
    format!("### traceval compare: {words}")
}

/// `Gate: `--fail-on-regression` → **failed** (…)`, or passed; `None` without rules.
fn gate(doc: &Document) -> Option<String> {
    if doc.gate.rules.is_empty() {
        return None;
    }
    let rules = code(&doc.gate.rules.join(" "), false);
    Some(if doc.gate.failed.is_empty() {
        format!("Gate: {rules} → **passed**\n")
    } else {
        let why: Vec<String> = doc.gate.failed.iter().map(|f| text(f)).collect();
        format!("Gate: {rules} → **failed** ({})\n", why.join("; "))
    })
}

/// One comparison's pieces; `number` heads it when the document has several.
fn comparison_parts(doc: &Document, c: &Comparison, number: Option<usize>) -> ComparisonParts {
    let mut context = String::new();
    if let Some(n) = number {
        let _ = writeln!(
            context,
            "#### {n}. {} → {}\n",
            format::side_name(doc, &c.base, text),
            format::side_name(doc, &c.new, text)
        );
    }
    let _ = writeln!(context, "{}", facts(doc, c));

    let level = format::level(doc.alpha);
    let mut metrics = format!("| metric | base | new | Δ ({level} CI) | p | verdict |\n");
    metrics.push_str("|---|---|---|---|---|---|\n");
    for m in &c.metrics {
        metrics.push_str(&metric_row(m, c));
    }

    let mut footnote = String::new();
    let resolves: Vec<String> = c
        .metrics
        .iter()
        .filter(|m| m.verdict == "inconclusive")
        .filter_map(|m| {
            let r = format::resolution(m)?;
            Some(format!(
                "{} resolves {r}",
                text(&format::metric_label(&m.name, c))
            ))
        })
        .collect();
    if c.metrics.iter().any(|m| m.verdict == "inconclusive") {
        let mut s = format!("¹ inconclusive: {} cases", c.matched);
        if !resolves.is_empty() {
            let _ = write!(s, "; {}", resolves.join(", "));
        }
        if let Some(a) = format::advice(c) {
            let _ = write!(s, "; {a}");
        }
        let _ = writeln!(footnote, "{s}.");
    }
    for m in c.metrics.iter().filter(|m| m.note.is_some()) {
        let note = m.note.as_deref().unwrap_or_default();
        let label = text(&format::metric_label(&m.name, c));
        let _ = writeln!(footnote, "- **{label}:** {}", text(note));
    }

    let mut moved: Vec<&CaseRow> = c.cases.iter().filter(|r| !folded(r)).collect();
    moved.sort_by_key(|r| format::label_rank(&r.label));
    let moved = moved.into_iter().map(case_row).collect();

    let rest: Vec<&CaseRow> = c.cases.iter().filter(|r| folded(r)).collect();
    let mut folded_text = String::new();
    if !rest.is_empty() {
        let flaky_new = rest
            .iter()
            .filter(|r| r.new.as_ref().is_some_and(|s| s.class == "flaky"))
            .count();
        let _ = writeln!(
            folded_text,
            "<details><summary>{} ({flaky_new} flaky in new)</summary>\n",
            plural(rest.len(), "unchanged case")
        );
        folded_text.push_str("| | case | base | new |\n|---|---|---|---|\n");
        for r in rest {
            let _ = writeln!(
                folded_text,
                "| {} | {} | {} | {} |",
                label_cell(r),
                key_cell(r),
                strip(r.base.as_ref()),
                strip(r.new.as_ref())
            );
        }
        folded_text.push_str("\n</details>\n");
    }
    ComparisonParts {
        context,
        metrics,
        footnote,
        moved,
        folded_cases: c.cases.iter().filter(|r| folded(r)).count(),
        folded: folded_text,
    }
}

/// `**base** a.json (2026-11-20, 3f2c1a0) → **new** b.json (…) · 40 cases · k = 5 → 5 · …`.
fn facts(doc: &Document, c: &Comparison) -> String {
    let (Some(base), Some(new)) = (doc.inputs.get(c.base.input), doc.inputs.get(c.new.input))
    else {
        return format!(
            "**base** {} → **new** {}",
            text(&c.base.run_id),
            text(&c.new.run_id)
        );
    };
    let model = |m: &Option<String>| {
        m.as_deref()
            .map_or(String::new(), |m| format!(" {}", code(m, false)))
    };
    let sides = if c.base.input == c.new.input {
        format!(
            "models of {} ({}): **base**{} → **new**{}",
            text(&base.path),
            text(&format::run_facts("run", base)),
            model(&c.base.model),
            model(&c.new.model)
        )
    } else {
        format!(
            "**base** {} ({}){} → **new** {} ({}){}",
            text(&base.path),
            text(&format::run_facts("base", base)),
            model(&c.base.model),
            text(&new.path),
            text(&format::run_facts("new", new)),
            model(&c.new.model)
        )
    };
    format!(
        "{sides} · {} cases matched · k = {} → {} · {}",
        c.matched,
        format::k_range(c.k_base),
        format::k_range(c.k_new),
        text(&format::pricing(base, new))
    )
}

/// One metric's table row.
fn metric_row(m: &Metric, c: &Comparison) -> String {
    let unit = format::unit(&m.name);
    let mut verdict = match format::verdict_tone(&m.verdict) {
        Tone::Bad | Tone::Good => format!("**{}**", text(&m.verdict)),
        Tone::Warn => format!("{}¹", text(&m.verdict)),
        Tone::Plain => text(&m.verdict),
    };
    if let Some(d) = format::verdict_detail(m).filter(|_| m.verdict != "inconclusive") {
        let _ = write!(verdict, " ({d})");
    }
    format!(
        "| {} | {} | {} | {} | {} | {verdict} |\n",
        text(&format::metric_label(&m.name, c)),
        format::value(m.base, unit),
        format::value(m.new, unit),
        format::delta(m),
        format::p_cell(m),
    )
}

/// A side's strip, `—` when the case is absent there.
fn strip(side: Option<&CaseSide>) -> String {
    side.map_or("—".into(), |s| text(&s.strip))
}

/// `🔴 broken`, bold when the flip is significant.
fn label_cell(r: &CaseRow) -> String {
    let emoji = match format::label_tone(&r.label) {
        Tone::Bad => "🔴",
        Tone::Good => "🟢",
        Tone::Warn => "🟡",
        Tone::Plain => "⚪",
    };
    if r.significant {
        format!("{emoji} **{}**", text(&r.label))
    } else {
        format!("{emoji} {}", text(&r.label))
    }
}

/// `` `suite::case` `` and the model, if the key has one.
fn key_cell(r: &CaseRow) -> String {
    let key = code(&format!("{}::{}", r.suite, r.case), true);
    match &r.model {
        Some(m) => format!("{key} ({})", text(m)),
        None => key,
    }
}

/// One moved case's table row.
fn case_row(r: &CaseRow) -> String {
    let p = r.fisher_p.map_or(String::new(), format::p_value);
    let q = r.q.map_or(String::new(), format::p_value);
    let what = r
        .behaviour
        .as_ref()
        .map_or(String::new(), |b| text(&b.summary));
    format!(
        "| {} | {} | {} | {} | {p} | {q} | {what} |\n",
        label_cell(r),
        key_cell(r),
        strip(r.base.as_ref()),
        strip(r.new.as_ref())
    )
}
