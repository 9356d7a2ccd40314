//! The terminal display of a comparison (stderr; colour rules as `run`): per comparison a header,
//! the metric table, the case counts, the advice and every case that moved; then the notes and,
//! last, the gate. Every string from a report goes through [`clean`] first.

use std::fmt::Write;

use super::format::{self, Tone};
use crate::compare::document::{CaseRow, CaseSide, Comparison, Document, Metric};
use crate::trace::render::clean;

/// Case rows shown per comparison before `… N more (see --json)`.
const MAX_CASE_ROWS: usize = 50;

/// The indent of every line under a status verb.
const INDENT: &str = "   ";

/// The comparison as the terminal shows it; `color` adds ANSI colours (never the only carrier of
/// meaning).
pub(crate) fn terminal(doc: &Document, color: bool) -> String {
    let paint = Paint(color);
    let mut out = String::new();
    for (i, c) in doc.comparisons.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        comparison(&mut out, doc, c, paint);
    }
    for n in &doc.notes {
        let _ = writeln!(out, "{INDENT}note: {}", clean(&n.message, 500));
    }
    for f in &doc.gate.failed {
        let line = format!("gate failed: {}", clean(f, 500));
        let _ = writeln!(out, "{}", paint.tone(&line, Tone::Bad));
    }
    if !doc.gate.rules.is_empty() && doc.gate.failed.is_empty() {
        let rules: Vec<String> = doc.gate.rules.iter().map(|r| clean(r, 200)).collect();
        let line = format!("gate passed: {}", rules.join(" "));
        let _ = writeln!(out, "{}", paint.tone(&line, Tone::Good));
    }
    out
}

/// Colours on or off.
#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    /// `text` in the tone's colour.
    fn tone(self, text: &str, tone: Tone) -> String {
        let code = match tone {
            Tone::Bad => "31",
            Tone::Good => "32",
            Tone::Warn => "33",
            Tone::Plain => return text.to_string(),
        };
        self.code(text, code)
    }

    /// `text` in an SGR code, when colours are on.
    fn code(self, text: &str, code: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// One cell: its text and tone (the tone colours it without changing its width).
type Cell = (String, Tone);

/// Rows of cells aligned in columns, two spaces apart, the last column unpadded.
fn table(out: &mut String, rows: &[Vec<Cell>], paint: Paint) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|(t, _)| t.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::from(INDENT);
        for (i, (text, tone)) in row.iter().enumerate() {
            line.push_str(&paint.tone(text, *tone));
            if i + 1 < row.len() {
                let pad = widths[i] - text.chars().count() + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// One base/new pair.
fn comparison(out: &mut String, doc: &Document, c: &Comparison, paint: Paint) {
    header(out, doc, c, paint);
    let level = format::level(doc.alpha);
    let mut rows: Vec<Vec<Cell>> = vec![
        [
            "metric",
            "base",
            "new",
            &format!("Δ ({level} CI)"),
            "p",
            "verdict",
        ]
        .map(|h| (h.to_string(), Tone::Plain))
        .to_vec(),
    ];
    rows.extend(c.metrics.iter().map(|m| metric_row(m, c)));
    table(out, &rows, paint);
    for m in &c.metrics {
        if let Some(note) = &m.note {
            let label = clean(&format::metric_label(&m.name, c), 80);
            let _ = writeln!(out, "{INDENT}note ({label}): {}", clean(note, 500));
        }
    }
    let _ = writeln!(
        out,
        "{INDENT}cases: {} · flaky: base {}, new {}",
        clean(&format::label_counts(c), 500),
        c.flaky.0,
        c.flaky.1
    );
    if let Some(advice) = format::advice(c) {
        let _ = writeln!(out, "{INDENT}advice: {advice}");
    }
    let moved: Vec<&CaseRow> = c.cases.iter().filter(|r| r.label != "unchanged").collect();
    let rows: Vec<Vec<Cell>> = moved
        .iter()
        .take(MAX_CASE_ROWS)
        .map(|r| case_row(r))
        .collect();
    table(out, &rows, paint);
    if moved.len() > MAX_CASE_ROWS {
        let _ = writeln!(
            out,
            "{INDENT}… {} more (see --json)",
            moved.len() - MAX_CASE_ROWS
        );
    }
}

/// `   Comparing a.json (base, 2026-11-20, 3f2c1a0) → b.json (new, 2026-11-21, 9b7e004)` and
/// the line of counts under it.
fn header(out: &mut String, doc: &Document, c: &Comparison, paint: Paint) {
    let verb = paint.code(&format!("{:>12}", "Comparing"), "1;32");
    let (Some(base), Some(new)) = (doc.inputs.get(c.base.input), doc.inputs.get(c.new.input))
    else {
        let _ = writeln!(
            out,
            "{verb} {} → {}",
            clean(&c.base.run_id, 100),
            clean(&c.new.run_id, 100)
        );
        return;
    };
    let model = |m: &Option<String>| m.as_deref().map_or("all models".into(), |m| clean(m, 80));
    let model_mode = c.base.input == c.new.input;
    if model_mode {
        let _ = writeln!(
            out,
            "{verb} models of {} ({}): {} (base) → {} (new)",
            clean(&base.path, 200),
            clean(&format::run_facts("run", base), 100),
            model(&c.base.model),
            model(&c.new.model)
        );
    } else {
        let _ = writeln!(
            out,
            "{verb} {} ({}) → {} ({})",
            clean(&base.path, 200),
            clean(&format::run_facts("base", base), 100),
            clean(&new.path, 200),
            clean(&format::run_facts("new", new), 100)
        );
    }
    let mut facts = format!("{} cases matched", c.matched);
    if !model_mode {
        match (&c.base.model, &c.new.model) {
            (Some(a), Some(b)) if a == b => {
                let _ = write!(facts, ", model {}", clean(a, 80));
            }
            (None, None) => facts.push_str(", each model with its namesake"),
            (a, b) => {
                let _ = write!(facts, ", models {} → {}", model(a), model(b));
            }
        }
    }
    let _ = writeln!(
        out,
        "{:13}{facts}, k = {} → {}, {}",
        "",
        format::k_range(c.k_base),
        format::k_range(c.k_new),
        clean(&format::pricing(base, new), 100)
    );
}

/// One metric's row of the table.
fn metric_row(m: &Metric, c: &Comparison) -> Vec<Cell> {
    let unit = format::unit(&m.name);
    let mut verdict = clean(&m.verdict, 40);
    if let Some(d) = format::verdict_detail(m) {
        let _ = write!(verdict, " ({d})");
    }
    vec![
        (clean(&format::metric_label(&m.name, c), 80), Tone::Plain),
        (format::value(m.base, unit), Tone::Plain),
        (format::value(m.new, unit), Tone::Plain),
        (format::delta(m), Tone::Plain),
        (format::p_cell(m), Tone::Plain),
        (verdict, format::verdict_tone(&m.verdict)),
    ]
}

/// A side's strip, `–` when the case is absent there.
fn strip(side: Option<&CaseSide>) -> String {
    side.map_or("–".into(), |s| clean(&s.strip, 40))
}

/// `BROKEN  weather::two-cities [careful]  ●●●●● → ○○○○○  p=0.008 q=0.016  tools: …`.
fn case_row(r: &CaseRow) -> Vec<Cell> {
    let mut key = format!("{}::{}", clean(&r.suite, 80), clean(&r.case, 120));
    if let Some(m) = &r.model {
        let _ = write!(key, " [{}]", clean(m, 80));
    }
    let mut stats = Vec::new();
    if let Some(p) = r.fisher_p {
        stats.push(format!("p={}", format::p_value(p)));
    }
    if let Some(q) = r.q {
        stats.push(format!("q={}", format::p_value(q)));
    }
    if matches!(r.label.as_str(), "broken" | "fixed") && r.q.is_some() {
        stats.push(
            if r.significant {
                "significant"
            } else {
                "within noise"
            }
            .into(),
        );
    }
    let behaviour = r
        .behaviour
        .as_ref()
        .map_or(String::new(), |b| clean(&b.summary, 200));
    vec![
        (
            // Fixed width: the longest labels (`DESTABILIZED`, `PARTLY FIXED`) are 12.
            format!("{:<12}", clean(&r.label, 20).to_uppercase()),
            format::label_tone(&r.label),
        ),
        (key, Tone::Plain),
        (
            format!("{} → {}", strip(r.base.as_ref()), strip(r.new.as_ref())),
            Tone::Plain,
        ),
        (stats.join(" "), Tone::Plain),
        (behaviour, Tone::Plain),
    ]
}
