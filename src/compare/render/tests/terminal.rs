//! The terminal display.

use crate::compare::render::sample;
use crate::compare::render::terminal::terminal;

#[test]
fn representative_document_without_colour() {
    insta::assert_snapshot!(terminal(&sample::representative(), false));
}

#[test]
fn colour_adds_codes_around_words_that_stay() {
    let doc = sample::representative();
    let plain = terminal(&doc, false);
    let color = terminal(&doc, true);
    assert!(color.contains("\x1b[31mBROKEN"));
    assert!(color.contains("\x1b[32mFIXED"));
    assert!(color.contains("\x1b[33minconclusive"));
    assert!(!plain.contains('\x1b'));
    // Without the codes the coloured text is the plain one.
    let stripped = color
        .split('\x1b')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                part.split_once('m').map_or(part, |(_, rest)| rest)
            }
        })
        .collect::<String>();
    assert_eq!(stripped, plain);
}

#[test]
fn gate_lines_come_last() {
    let out = terminal(&sample::representative(), false);
    let lines: Vec<&str> = out.lines().collect();
    let n = lines.len();
    assert!(
        lines[n - 2]
            .trim_start()
            .starts_with("gate failed: --fail-on-regression")
    );
    assert!(
        lines[n - 1]
            .trim_start()
            .starts_with("gate failed: --max-cost-increase")
    );

    let mut doc = sample::representative();
    doc.gate.failed.clear();
    let out = terminal(&doc, false);
    assert!(
        out.trim_end()
            .ends_with("gate passed: --fail-on-regression --max-cost-increase 10%")
    );
}

#[test]
fn report_strings_cannot_move_the_cursor_or_colour_the_terminal() {
    let mut doc = sample::representative();
    doc.comparisons[0].cases[0].case = "x\u{1b}[2J\rpwned\u{1b}[31m".into();
    doc.comparisons[0].cases[0].suite = "s\u{202E}uite".into();
    doc.notes[0].message = "note\u{1b}]0;title\u{7}".into();
    let out = terminal(&doc, false);
    assert!(!out.contains('\x1b'));
    assert!(!out.contains('\r'));
    assert!(!out.contains('\u{7}'));
    assert!(!out.contains('\u{202E}'));
    assert!(out.contains("x\\u{1b}[2J\\rpwned"));
}

#[test]
fn many_moved_cases_are_capped() {
    let out = terminal(&sample::large(2_000), false);
    // 200 moved cases, 50 shown.
    assert!(out.contains("… 150 more (see --json)"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains("suite::case-")).count(),
        50
    );
}

#[test]
fn the_interval_label_follows_alpha() {
    let mut doc = sample::representative();
    doc.alpha = 0.1;
    assert!(terminal(&doc, false).contains("Δ (90% CI)"));
}

#[test]
fn model_mode_names_the_models_of_one_report() {
    let out = terminal(&sample::models(), false);
    assert!(
        out.starts_with(
            "   Comparing models of report.json (run, 2026-11-20, abcdef0): careful (base) → sloppy (new)\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("2 cases matched, k = 3 → 3, pricing 2026-11-15 both"),
        "{out}"
    );
    assert!(out.contains("inconclusive (resolves ±7.4 pp)"), "{out}");
}

#[test]
fn metric_names_from_the_document_are_cleaned() {
    let mut doc = sample::models();
    doc.comparisons[0].metrics[0].name = "evil\u{1b}[31m_metric".into();
    assert!(!terminal(&doc, false).contains('\x1b'));
}
