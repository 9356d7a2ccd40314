//! Which sides are compared and how their cases pair up.
//!
//! - Runs (`compare BASE NEW…`): the base against each candidate, cases keyed by (suite, case,
//!   model); when each side has exactly one model, by (suite, case) whatever the models are
//!   called; `--map-model old=new` pairs a base model with a differently named new one.
//! - Models (`compare RUN`): the baseline model against each other model of the one report,
//!   keyed by (suite, case).
//!
//! A case's counts come from its trials (errored trials count as failed), `cases[]` only gives
//! its definition hash. A case whose suite changed between the reports is `changed` when its
//! definition hash differs, or, without hashes on both sides, whenever its suite's does.

use std::collections::BTreeMap;

use super::document::{Note, Side};
use super::error::CompareError;
use super::options::CompareOptions;
use super::read::{LoadedReport, models};
use crate::report::schema::TrialResult;

/// A case key: suite, case and, when runs are compared model by model, the model (the new
/// side's name).
pub(crate) type Key = (String, String, Option<String>);

/// The trials of one case key on one side, in report order.
#[derive(Debug, Clone, Default)]
pub(crate) struct CaseTrials<'a> {
    /// Its trials.
    pub(crate) trials: Vec<&'a TrialResult>,
    /// `cases[].definition_hash`.
    pub(crate) definition_hash: Option<&'a str>,
}

/// One base/new pair to compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PairSpec {
    /// The base side.
    pub(crate) base: Side,
    /// The new side.
    pub(crate) new: Side,
    /// Keys carry the model (runs with several models).
    pub(crate) by_model: bool,
    /// Base model name → new model name (`--map-model`).
    pub(crate) rename: BTreeMap<String, String>,
}

/// The pairs the reports make, and the notes that pairing needs; the base first in `reports`.
pub(crate) fn pairs(
    reports: &[LoadedReport],
    options: &CompareOptions,
) -> Result<(Vec<PairSpec>, Vec<Note>), CompareError> {
    let side = |input: usize, model: Option<String>| Side {
        run_id: reports[input].report.run_id.clone(),
        input,
        model,
    };
    let mut notes = Vec::new();
    if reports.len() == 1 {
        let loaded = &reports[0];
        let all = models(&loaded.report);
        let unknown = |flag, model: &str| CompareError::UnknownModel {
            flag,
            model: model.to_owned(),
            path: loaded.path.clone(),
            models: all.clone(),
        };
        let mut chosen = match &options.models {
            Some(list) => {
                for m in list {
                    if !all.contains(m) {
                        return Err(unknown("--models", m));
                    }
                }
                all.iter().filter(|m| list.contains(m)).cloned().collect()
            }
            None => all.clone(),
        };
        let baseline = match &options.baseline_model {
            Some(m) if !all.contains(m) => return Err(unknown("--baseline-model", m)),
            Some(m) => m.clone(),
            None => chosen.first().cloned().unwrap_or_default(),
        };
        if !chosen.contains(&baseline) {
            chosen.insert(0, baseline.clone());
        }
        let others: Vec<String> = chosen.into_iter().filter(|m| *m != baseline).collect();
        if others.is_empty() {
            return Err(CompareError::OneModel {
                path: loaded.path.clone(),
                count: 1,
            });
        }
        let specs = others
            .into_iter()
            .map(|m| PairSpec {
                base: side(0, Some(baseline.clone())),
                new: side(0, Some(m)),
                by_model: false,
                rename: BTreeMap::new(),
            })
            .collect();
        return Ok((specs, notes));
    }
    let base_models = models(&reports[0].report);
    let mut specs = Vec::new();
    for (i, loaded) in reports.iter().enumerate().skip(1) {
        let new_models = models(&loaded.report);
        let mut rename = BTreeMap::new();
        for (old, new) in &options.map_model {
            if !base_models.contains(old) {
                return Err(CompareError::UnknownModel {
                    flag: "--map-model",
                    model: old.clone(),
                    path: reports[0].path.clone(),
                    models: base_models.clone(),
                });
            }
            rename.insert(old.clone(), new.clone());
        }
        if let ([a], [b]) = (&base_models[..], &new_models[..]) {
            if a != b {
                notes.push(Note {
                    kind: "models_aligned".to_owned(),
                    message: format!(
                        "each side has one model: `{a}` ({}) is paired with `{b}` ({}) case by case",
                        reports[0].path.display(),
                        loaded.path.display()
                    ),
                });
            }
            specs.push(PairSpec {
                base: side(0, Some(a.clone())),
                new: side(i, Some(b.clone())),
                by_model: false,
                rename: BTreeMap::new(),
            });
        } else {
            specs.push(PairSpec {
                base: side(0, None),
                new: side(i, None),
                by_model: true,
                rename,
            });
        }
    }
    Ok((specs, notes))
}

/// The cases of one side: its trials grouped by key (trials of other models left out).
pub(crate) fn side_cases<'a>(
    loaded: &'a LoadedReport,
    side: &Side,
    by_model: bool,
    rename: &BTreeMap<String, String>,
) -> BTreeMap<Key, CaseTrials<'a>> {
    let report = &loaded.report;
    let hashes: BTreeMap<(&str, &str, &str), &str> = report
        .cases
        .iter()
        .filter_map(|c| {
            let hash = c.definition_hash.as_deref()?;
            Some(((c.suite.as_str(), c.case.as_str(), c.model.as_str()), hash))
        })
        .collect();
    let mut out: BTreeMap<Key, CaseTrials<'a>> = BTreeMap::new();
    for t in &report.trials {
        if side.model.as_ref().is_some_and(|m| *m != t.model) {
            continue;
        }
        let model = by_model.then(|| rename.get(&t.model).unwrap_or(&t.model).clone());
        let entry = out
            .entry((t.suite.clone(), t.case.clone(), model))
            .or_insert_with(|| CaseTrials {
                trials: Vec::new(),
                definition_hash: hashes
                    .get(&(t.suite.as_str(), t.case.as_str(), t.model.as_str()))
                    .copied(),
            });
        entry.trials.push(t);
    }
    out
}

/// A case measured with different rulers: what changed, for the message and the note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// `definition` (the case's hash) or `suite` (the suite's, without case hashes).
    pub(crate) what: &'static str,
    /// The base side's hash.
    pub(crate) from: String,
    /// The new side's.
    pub(crate) to: String,
}

/// Whether the case `key`, present on both sides, changed between the two reports.
pub(crate) fn change(
    key: &Key,
    base: (&LoadedReport, &CaseTrials<'_>),
    new: (&LoadedReport, &CaseTrials<'_>),
) -> Option<Change> {
    let suite_hash = |r: &LoadedReport| {
        r.report
            .suites
            .iter()
            .find(|s| s.name == key.0)
            .map(|s| s.content_hash.clone())
    };
    let (a, b) = (suite_hash(base.0)?, suite_hash(new.0)?);
    if a == b {
        return None;
    }
    match (base.1.definition_hash, new.1.definition_hash) {
        (Some(x), Some(y)) if x == y => None,
        (Some(x), Some(y)) => Some(Change {
            what: "definition",
            from: x.to_owned(),
            to: y.to_owned(),
        }),
        _ => Some(Change {
            what: "suite",
            from: a,
            to: b,
        }),
    }
}

/// `case `weather::paris` changed (definition 3f2c1a07…→9b7e0041…)`.
pub(crate) fn describe(key: &Key, change: &Change) -> String {
    let short = |h: &str| format!("{}…", h.chars().take(8).collect::<String>());
    let model = key.2.as_ref().map_or(String::new(), |m| format!(" ({m})"));
    let what = if change.what == "suite" {
        format!("suite `{}` changed", key.0)
    } else {
        "definition".to_owned()
    };
    format!(
        "case `{}::{}`{model} changed ({what} {}→{})",
        key.0,
        key.1,
        short(&change.from),
        short(&change.to)
    )
}

/// Whether a report predates the fields a comparison reads: definition hashes on cases.
pub(crate) fn is_older(loaded: &LoadedReport) -> bool {
    loaded
        .report
        .cases
        .iter()
        .any(|c| c.definition_hash.is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_names_the_case_and_both_hashes() {
        let key = ("weather".to_owned(), "two-cities".to_owned(), None);
        let change = Change {
            what: "definition",
            from: "3f2c1a0700000000".to_owned(),
            to: "9a7e004100000000".to_owned(),
        };
        assert_eq!(
            describe(&key, &change),
            "case `weather::two-cities` changed (definition 3f2c1a07…→9a7e0041…)"
        );
        let suite = Change {
            what: "suite",
            ..change
        };
        let key = (
            "weather".to_owned(),
            "paris".to_owned(),
            Some("m".to_owned()),
        );
        assert_eq!(
            describe(&key, &suite),
            "case `weather::paris` (m) changed (suite `weather` changed 3f2c1a07…→9a7e0041…)"
        );
    }
}
