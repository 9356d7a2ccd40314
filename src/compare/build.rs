//! The comparison put together: the pairs of sides, each pair's case rows (labels, Fisher p,
//! BH q, behaviour), its metrics, Holm's correction across pairs, and the notes.

use std::collections::{BTreeMap, BTreeSet};

use super::MAX_CANDIDATES;
use super::align::{CaseTrials, Key, PairSpec, change, describe, is_older, pairs, side_cases};
use super::behaviour::behaviour;
use super::classes::{Class, Label, Summary, transition};
use super::document::{
    CaseRow, Comparison, Document, FORMAT_VERSION, Gate, Input, KIND, LabelCount, Note,
};
use super::error::CompareError;
use super::measure::{Matched, Measured, adjust, measure};
use super::options::CompareOptions;
use super::read::{LoadedReport, models};
use super::reprice::Repricer;
use super::stats::exact::fisher_exact;
use super::stats::multiplicity::benjamini_hochberg;
use crate::report::schema::TrialResult;

/// Compares the reports: the first is the base and each other one a candidate (runs), or the
/// models of the only one (models). The document's gate is left empty: [`super::gate::gate`]
/// fills it.
pub(crate) fn compare(
    reports: &[LoadedReport],
    options: &CompareOptions,
) -> Result<Document, CompareError> {
    if reports.len() > MAX_CANDIDATES + 1 {
        return Err(CompareError::TooManyCandidates(reports.len() - 1));
    }
    let (specs, mut notes) = pairs(reports, options)?;
    let (cost_of, price_notes) = pricing(reports, options);
    notes.extend(price_notes);
    // One report (its models) is measured with one ruler: no hash is compared.
    for loaded in reports.iter().filter(|r| reports.len() > 1 && is_older(r)) {
        notes.push(note(
            "older_report",
            format!(
                "`{}` was written before cases carried definition hashes: a changed suite makes \
                 every one of its cases `changed`",
                loaded.path.display()
            ),
        ));
    }
    let versions: BTreeSet<&str> = reports
        .iter()
        .map(|r| r.report.traceval_version.as_str())
        .collect();
    if versions.len() > 1 {
        let list: Vec<&str> = versions.into_iter().collect();
        notes.push(note(
            "different_versions",
            format!("the reports were written by traceval {}", list.join(", ")),
        ));
    }
    let mut comparisons = Vec::new();
    let mut measured = Vec::new();
    for spec in &specs {
        let (comparison, metrics, changed) = compare_pair(reports, spec, &cost_of, options)?;
        if changed > 0 {
            notes.push(note(
                "changed_cases",
                format!(
                    "{changed} case(s) changed definition between {} and {} and are left out \
                     of the statistics (--allow-changed-suites)",
                    side_name(reports, &spec.base),
                    side_name(reports, &spec.new)
                ),
            ));
        }
        comparisons.push(comparison);
        measured.push(metrics);
    }
    adjust(&mut measured);
    for (c, metrics) in comparisons.iter_mut().zip(measured) {
        c.metrics = metrics.into_iter().map(|m| m.metric).collect();
        if let Some(n) = price_note(&notes)
            && let Some(cost) = c.metrics.iter_mut().find(|m| m.name == "cost_usd")
        {
            cost.note = Some(match cost.note.take() {
                Some(old) => format!("{n}; {old}"),
                None => n,
            });
        }
    }
    Ok(Document {
        kind: KIND.to_owned(),
        format_version: FORMAT_VERSION,
        traceval_version: env!("CARGO_PKG_VERSION").to_owned(),
        seed: options.stats.seed,
        alpha: options.stats.alpha,
        inputs: reports.iter().map(input).collect(),
        comparisons,
        notes,
        gate: Gate::default(),
    })
}

fn note(kind: &str, message: String) -> Note {
    Note {
        kind: kind.to_owned(),
        message,
    }
}

fn input(loaded: &LoadedReport) -> Input {
    let r = &loaded.report;
    Input {
        path: loaded.path.display().to_string(),
        run_id: r.run_id.clone(),
        started_at: r.started_at.clone(),
        git_commit: r.git_commit.clone(),
        pricing_date: r.pricing.date.clone(),
        models: models(r),
    }
}

fn side_name(reports: &[LoadedReport], side: &super::document::Side) -> String {
    match &side.model {
        Some(m) if reports.len() == 1 => format!("`{m}`"),
        _ => format!("`{}`", reports[side.input].path.display()),
    }
}

/// The cost note every cost metric carries: a changed price table, or a repricing.
fn price_note(notes: &[Note]) -> Option<String> {
    notes
        .iter()
        .find(|n| n.kind == "price_table_changed" || n.kind == "repriced")
        .map(|n| n.message.clone())
}

/// A trial's cost.
type CostFn = Box<dyn Fn(&TrialResult) -> Option<f64> + Send + Sync>;

/// Whether an entry of `[pricing]` both reports have prices differently. Entries on one side
/// only price models the other side did not run (a one-model run records its model's entry);
/// where an entry is defined (`defined_in`) does not count.
fn overrides_differ(a: &LoadedReport, b: &LoadedReport) -> bool {
    let prices = |o: &crate::report::schema::PriceOverride| {
        (o.input, o.output, o.input_cache_read, o.input_cache_write)
    };
    a.report.pricing.overrides.iter().any(|x| {
        b.report
            .pricing
            .overrides
            .iter()
            .any(|y| y.model == x.model && prices(y) != prices(x))
    })
}

/// Each trial's cost (the report's, or repriced with the newest table) and the notes on prices.
fn pricing(reports: &[LoadedReport], options: &CompareOptions) -> (CostFn, Vec<Note>) {
    let mut notes = Vec::new();
    let date = |r: &LoadedReport| {
        r.report
            .pricing
            .date
            .clone()
            .unwrap_or_else(|| "undated".into())
    };
    let newest = &reports[reports.len() - 1];
    let dates: Vec<String> = reports.iter().map(date).collect();
    let differ = dates.iter().any(|d| *d != dates[0]);
    let overrides_differ = reports.iter().any(|r| overrides_differ(&reports[0], r));
    if !options.reprice {
        if differ || overrides_differ {
            let list: Vec<String> = reports
                .iter()
                .map(|r| format!("{} (`{}`)", date(r), r.path.display()))
                .collect();
            notes.push(note(
                "price_table_changed",
                format!(
                    "price table changed: {}{}; cost compares prices as well as behaviour (pass \
                     --reprice to price both sides with one table)",
                    list.join(" → "),
                    if overrides_differ {
                        ", and the `[pricing]` overrides differ"
                    } else {
                        ""
                    }
                ),
            ));
        }
        return (Box::new(|t: &TrialResult| t.metrics.cost_usd), notes);
    }
    let repricer = Repricer::new(&newest.report);
    let kept = reports
        .iter()
        .flat_map(|r| &r.report.trials)
        .filter(|t| repricer.cost(t).is_err())
        .count();
    let others: BTreeSet<String> = dates
        .iter()
        .filter(|d| **d != date(newest))
        .cloned()
        .collect();
    let was = if others.is_empty() {
        String::new()
    } else {
        format!(
            " (the other reports were priced with {})",
            others.into_iter().collect::<Vec<_>>().join(", ")
        )
    };
    notes.push(note(
        "repriced",
        format!(
            "every trial repriced from its tokens with the price table of `{}` ({}){was}",
            newest.path.display(),
            date(newest)
        ),
    ));
    if kept > 0 {
        notes.push(note(
            "unpriced",
            format!(
                "{kept} trial(s) have no tokens by model (older reports): their cost is kept as \
                 recorded"
            ),
        ));
    }
    let cost = move |t: &TrialResult| repricer.cost(t).unwrap_or_else(|kept| kept);
    (Box::new(cost), notes)
}

/// One pair compared: its rows, metrics, and how many cases were left out as changed.
fn compare_pair(
    reports: &[LoadedReport],
    spec: &PairSpec,
    cost_of: &CostFn,
    options: &CompareOptions,
) -> Result<(Comparison, Vec<Measured>, usize), CompareError> {
    let base_report = &reports[spec.base.input];
    let new_report = &reports[spec.new.input];
    let base = side_cases(base_report, &spec.base, spec.by_model, &spec.rename);
    let new = side_cases(new_report, &spec.new, spec.by_model, &BTreeMap::new());
    let keys: BTreeSet<&Key> = base.keys().chain(new.keys()).collect();
    let mut rows = Vec::with_capacity(keys.len());
    let mut matched: Vec<(&CaseTrials<'_>, &CaseTrials<'_>, Summary, Summary)> = Vec::new();
    let mut changed = Vec::new();
    for key in keys {
        let row = |label: Label, a: Option<&Summary>, b: Option<&Summary>| CaseRow {
            suite: key.0.clone(),
            case: key.1.clone(),
            model: key.2.clone(),
            base: a.map(Summary::side),
            new: b.map(Summary::side),
            label: label.as_str().to_owned(),
            fisher_p: None,
            q: None,
            significant: false,
            behaviour: None,
        };
        match (base.get(key), new.get(key)) {
            (Some(a), Some(b)) => {
                let (sa, sb) = (Summary::of(&a.trials), Summary::of(&b.trials));
                if let Some(c) = change(key, (base_report, a), (new_report, b)) {
                    changed.push(describe(key, &c));
                    rows.push(row(Label::Changed, Some(&sa), Some(&sb)));
                    continue;
                }
                // Trial for trial the same outcomes (a report against itself, merged shards
                // against the unsharded run) is `unchanged` even for a flaky case; a flaky case
                // whose trials moved is `flaky` (design A.4.4).
                let label = if sa.strip == sb.strip {
                    Label::Unchanged
                } else {
                    transition(sa.class, sb.class)
                };
                let mut r = row(label, Some(&sa), Some(&sb));
                r.fisher_p = Some(fisher_exact(
                    u64::from(sa.passed),
                    u64::from(sa.n),
                    u64::from(sb.passed),
                    u64::from(sb.n),
                ));
                rows.push(r);
                matched.push((a, b, sa, sb));
            }
            (Some(a), None) => rows.push(row(Label::Removed, Some(&Summary::of(&a.trials)), None)),
            (None, Some(b)) => rows.push(row(Label::Added, None, Some(&Summary::of(&b.trials)))),
            (None, None) => {}
        }
    }
    if matched.is_empty() && changed.is_empty() {
        return Err(CompareError::NoSharedCases {
            base: side_name(reports, &spec.base),
            new: side_name(reports, &spec.new),
            by_model: spec.by_model,
        });
    }
    if !changed.is_empty() && !options.allow_changed_suites {
        return Err(CompareError::Changed {
            first: changed[0].clone(),
            others: changed.len() - 1,
        });
    }
    label_rows(&mut rows, &matched, options.stats.alpha);
    let cases: Vec<Matched<'_>> = matched
        .iter()
        .map(|(a, b, sa, sb)| Matched {
            base: &a.trials,
            new: &b.trials,
            base_counts: sa.counts(),
            new_counts: sb.counts(),
        })
        .collect();
    let (metrics, advice) = measure(&cases, &**cost_of, options);
    rows.sort_by(|x, y| {
        let label = |r: &CaseRow| Label::ALL.iter().position(|l| l.as_str() == r.label);
        label(x)
            .cmp(&label(y))
            .then_with(|| (&x.suite, &x.case, &x.model).cmp(&(&y.suite, &y.case, &y.model)))
    });
    let labels = Label::ALL
        .iter()
        .filter_map(|l| {
            let count = rows.iter().filter(|r| r.label == l.as_str()).count();
            (count > 0).then(|| LabelCount {
                label: l.as_str().to_owned(),
                count,
            })
        })
        .collect();
    let flaky = |side: fn(&CaseRow) -> Option<&super::document::CaseSide>| {
        rows.iter()
            .filter(|r| side(r).is_some_and(|s| s.class == Class::Flaky.as_str()))
            .count()
    };
    let k_range = |f: fn(&(&CaseTrials<'_>, &CaseTrials<'_>, Summary, Summary)) -> u32| {
        let ks = matched.iter().map(f);
        (ks.clone().min().unwrap_or(0), ks.max().unwrap_or(0))
    };
    let comparison = Comparison {
        base: spec.base.clone(),
        new: spec.new.clone(),
        matched: matched.len(),
        k_base: k_range(|m| m.2.n),
        k_new: k_range(|m| m.3.n),
        metrics: Vec::new(),
        flaky: (flaky(|r| r.base.as_ref()), flaky(|r| r.new.as_ref())),
        cases: rows,
        labels,
        advice,
    };
    Ok((comparison, metrics, changed.len()))
}

/// The BH q-values over the cases whose class moved, `significant` flips, and behaviour.
fn label_rows(
    rows: &mut [CaseRow],
    matched: &[(&CaseTrials<'_>, &CaseTrials<'_>, Summary, Summary)],
    alpha: f64,
) {
    let moving: Vec<usize> = (0..rows.len())
        .filter(|&i| {
            Label::ALL
                .iter()
                .any(|l| l.as_str() == rows[i].label && l.moved())
        })
        .collect();
    let p: Vec<f64> = moving
        .iter()
        .map(|&i| rows[i].fisher_p.unwrap_or(1.0))
        .collect();
    let q = benjamini_hochberg(&p);
    // Rows are in key order here, as `matched` is: walk both to find each moving row's trials.
    let mut m = 0;
    let mut trials_of = Vec::with_capacity(rows.len());
    for row in rows.iter() {
        if row.fisher_p.is_some() {
            trials_of.push(Some(m));
            m += 1;
        } else {
            trials_of.push(None);
        }
    }
    for (&i, q) in moving.iter().zip(q) {
        let row = &mut rows[i];
        row.q = Some(q);
        row.significant = (row.label == "broken" || row.label == "fixed") && q < alpha;
        if let Some(j) = trials_of[i] {
            let (a, b, _, _) = &matched[j];
            row.behaviour = Some(behaviour(&a.trials, &b.trials));
        }
    }
}

#[cfg(test)]
mod tests;
