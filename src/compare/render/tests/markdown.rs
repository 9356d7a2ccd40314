//! The Markdown, read back with a CommonMark + GFM parser.

use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};

use crate::compare::render::markdown::{BUDGET, markdown};
use crate::compare::render::sample;

/// What a parse found: the raw HTML, and each table as its rows' cell counts.
#[derive(Debug, Default)]
struct Parsed {
    /// Every HTML block or inline HTML event.
    html: Vec<String>,
    /// Per table: the number of cells of each row, the header first.
    tables: Vec<Vec<usize>>,
    /// The text of every table cell.
    cells: Vec<String>,
}

fn parse(md: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut cell: Option<String> = None;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES) {
        match event {
            Event::Start(Tag::Table(_)) => p.tables.push(Vec::new()),
            Event::Start(Tag::TableHead | Tag::TableRow) => {
                p.tables.last_mut().unwrap().push(0);
            }
            Event::Start(Tag::TableCell) => {
                *p.tables.last_mut().unwrap().last_mut().unwrap() += 1;
                cell = Some(String::new());
            }
            Event::End(TagEnd::TableCell) => p.cells.extend(cell.take()),
            Event::Text(t) | Event::Code(t) => {
                if let Some(c) = cell.as_mut() {
                    c.push_str(&t);
                }
            }
            Event::Html(h) | Event::InlineHtml(h) => p.html.push(h.to_string()),
            _ => {}
        }
    }
    p
}

/// Asserts the only raw HTML is ours: the marker, `<details>`, `<summary>`.
#[track_caller]
fn assert_only_our_html(md: &str, p: &Parsed) {
    for h in &p.html {
        let h = h.trim();
        let ours = (h.starts_with("<!-- traceval-compare ")
            && h.ends_with(" -->")
            && !h[4..h.len() - 3].contains("-->"))
            || h == "</details>"
            || (h.starts_with("<details><summary>")
                && h.ends_with("</summary>")
                && !h["<details><summary>".len()..h.len() - "</summary>".len()].contains('<'));
        assert!(ours, "raw HTML {h:?} in\n{md}");
    }
}

/// Asserts every table's rows have as many cells as its header, and that header has `n`.
#[track_caller]
fn assert_tables_well_formed(md: &str, p: &Parsed) {
    for t in &p.tables {
        assert!(
            [4, 6, 7].contains(&t[0]),
            "header of {} cells in\n{md}",
            t[0]
        );
        assert!(t.iter().all(|n| *n == t[0]), "ragged table {t:?} in\n{md}");
    }
}

#[test]
fn representative_document() {
    insta::assert_snapshot!(markdown(&sample::representative(), BUDGET));
}

#[test]
fn the_first_line_is_the_marker() {
    let md = markdown(&sample::representative(), BUDGET);
    assert_eq!(
        md.lines().next().unwrap(),
        "<!-- traceval-compare base=01base new=01new new=01other -->"
    );
    let p = parse(&md);
    assert_only_our_html(&md, &p);
    assert_tables_well_formed(&md, &p);
    assert_eq!(
        p.tables.len(),
        2 * 2 + 2,
        "metric and case tables, two folded sections"
    );
}

#[test]
fn hostile_ids_render_as_text() {
    let hostile = "` | <script>alert(1)</script>";
    let mut doc = sample::representative();
    for c in &mut doc.comparisons {
        for r in &mut c.cases {
            r.case = format!("{hostile}{}", r.case);
            r.suite = "a|b".into();
            r.model = Some("m|<b>".into());
            if let Some(b) = &mut r.behaviour {
                b.summary = "<img src=x onerror=alert(1)> | **x**".into();
            }
        }
    }
    doc.inputs[1].run_id = "01new --> <script>".into();
    doc.comparisons[0].new.run_id = doc.inputs[1].run_id.clone();
    doc.inputs[0].path = "<b>base</b>|.json".into();
    doc.notes[0].message = "<script>x</script>\n# heading".into();
    doc.gate.failed[0] = "a <b>|</b> `tick`".into();
    let md = markdown(&doc, BUDGET);
    let p = parse(&md);
    assert_only_our_html(&md, &p);
    assert_tables_well_formed(&md, &p);
    assert!(
        md.lines()
            .next()
            .unwrap()
            .starts_with("<!-- traceval-compare base=01base new=01new--script ")
    );
    let key = format!("a|b::{hostile}two-cities");
    assert!(p.cells.iter().any(|c| c.starts_with(&key)), "{:?}", p.cells);
    assert!(
        p.cells
            .iter()
            .any(|c| c == "<img src=x onerror=alert(1)> | **x**")
    );
}

#[test]
fn case_rows_are_worst_first() {
    let md = markdown(&sample::representative(), BUDGET);
    let at = |key: &str| {
        md.find(&format!("`{key}`"))
            .unwrap_or_else(|| panic!("{key} in {md}"))
    };
    let order = [
        "weather::two-cities",
        "weather::rain",
        "support::delete-account",
        "support::refund",
        "support::escalate",
        "weather::snow",
        "weather::fog",
        "weather::wind",
        "weather::hail",
    ];
    for w in order.windows(2) {
        assert!(at(w[0]) < at(w[1]), "{} before {}", w[0], w[1]);
    }
    let folded = md.find("<details>").unwrap();
    assert!(at("weather::hail") < folded);
    assert!(at("weather::tokyo") > folded && at("weather::london") > folded);
}

#[test]
fn ten_thousand_cases_stay_in_budget_and_say_how_many_more() {
    let doc = sample::large(10_000);
    let md = markdown(&doc, BUDGET);
    assert!(md.chars().count() <= BUDGET, "{} chars", md.chars().count());
    let last = md.lines().last().unwrap();
    assert!(
        last.starts_with("… ")
            && last.ends_with(" more cases in the JSON (traceval compare --json FILE)"),
        "{last}"
    );
    let p = parse(&md);
    assert_only_our_html(&md, &p);
    assert_tables_well_formed(&md, &p);
    // Shown rows + the "more" count = every case.
    let shown = p.tables.iter().skip(1).map(|t| t.len() - 1).sum::<usize>();
    let more: usize = last.split(' ').nth(1).unwrap().parse().unwrap();
    assert_eq!(shown + more, 10_000);
    // The worst rows are kept: every broken case (167 of them) is shown.
    assert_eq!(md.matches("🔴 **broken**").count(), 167);
}

#[test]
fn small_budgets_still_give_valid_documents() {
    for budget in [200, 500, 2_000, 5_000] {
        for doc in [sample::representative(), sample::large(1_000)] {
            let md = markdown(&doc, budget);
            assert!(
                md.chars().count() <= budget,
                "{budget}: {} chars",
                md.chars().count()
            );
            assert!(md.starts_with("<!-- traceval-compare base=01base "));
            assert!(
                md.lines()
                    .nth(1)
                    .unwrap()
                    .starts_with("### traceval compare: ")
            );
            assert_eq!(
                md.matches("<details>").count(),
                md.matches("</details>").count()
            );
            let p = parse(&md);
            assert_only_our_html(&md, &p);
            assert_tables_well_formed(&md, &p);
            if budget == 2_000 {
                assert!(
                    md.lines()
                        .last()
                        .unwrap()
                        .contains(" more cases in the JSON")
                );
            }
        }
    }
}

#[test]
fn same_document_same_bytes() {
    let doc = sample::large(3_000);
    assert_eq!(markdown(&doc, BUDGET), markdown(&doc.clone(), BUDGET));
    assert_eq!(markdown(&doc, 5_000), markdown(&doc, 5_000));
}

#[test]
fn headline_says_no_regressions_in_words() {
    let mut doc = sample::representative();
    doc.comparisons.truncate(1);
    doc.comparisons[0].cases.retain(|c| c.label == "unchanged");
    doc.comparisons[0].labels = sample::labels(&doc.comparisons[0].cases);
    for m in &mut doc.comparisons[0].metrics {
        m.verdict = "no change".into();
    }
    doc.gate.failed.clear();
    let md = markdown(&doc, BUDGET);
    assert_eq!(
        md.lines().nth(1).unwrap(),
        "### traceval compare: ✅ no regressions"
    );
    assert!(md.contains("→ **passed**"));
}

#[test]
fn model_mode_names_the_models_of_one_report() {
    let md = markdown(&sample::models(), BUDGET);
    assert!(
        md.starts_with("<!-- traceval-compare base=01base new=01base -->\n"),
        "{md}"
    );
    assert!(
        md.contains("models of report.json (run, 2026-11-20, abcdef0): **base** `careful` → **new** `sloppy`"),
        "{md}"
    );
    assert!(
        md.contains("| 🟡 destabilized | `demo::greet` | ●●● | ●○● |"),
        "{md}"
    );
    assert!(
        md.contains("<details><summary>1 unchanged case (0 flaky in new)</summary>"),
        "{md}"
    );
}
