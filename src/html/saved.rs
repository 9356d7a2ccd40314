//! A finished run's saved traces (`traceval run --save-traces`) read back for a page: the
//! span trees `traceval html` draws, and the two sides' shapes of `traceval compare --html`.
//!
//! A report is data: its run id names a directory only when it is one plain name, and a
//! trial's trace file is read only when its name stays inside the traces directory.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use super::compare::{CaseShapes, SIDES};
use super::{Collector, Drawn, TraceSelection};
use crate::capture::file;
use crate::compare::document::Document;
use crate::event::{self, TrialTrace};
use crate::report::Report;
use crate::report::schema::TrialResult;
use crate::trace::{GenAiView, Span, SpanTree};

/// Where `report` (read from `path`) keeps its saved traces: `given`, else `<run-id>/traces/`
/// beside the report (where a merge or a downloaded artifact puts them), else where the run
/// wrote them (`traces_dir`), else `reports/<run-id>/traces/` of the working directory (an
/// older report, without `traces_dir`, read in its project). `Err` says where they were looked
/// for.
pub(crate) fn traces_dir(
    report: &Report,
    path: &Path,
    given: Option<&Path>,
) -> Result<PathBuf, String> {
    if let Some(dir) = given {
        return if dir.is_dir() {
            Ok(dir.to_path_buf())
        } else {
            Err(format!("`{}` is not a directory", dir.display()))
        };
    }
    let id = &report.run_id;
    if !plain(id) {
        return Err("the report's run id is not a plain name: pass `--traces DIR`".into());
    }
    let beside = path.with_file_name(id).join("traces");
    let project = Path::new("reports").join(id).join("traces");
    let recorded = report.traces_dir.as_ref().map(PathBuf::from);
    if let Some(dir) = [Some(beside.clone()), recorded, Some(project.clone())]
        .into_iter()
        .flatten()
        .find(|dir| dir.is_dir())
    {
        return Ok(dir);
    }
    Err(format!(
        "the saved traces are in neither `{}`, {}nor `{}`: pass `--traces DIR`",
        beside.display(),
        report
            .traces_dir
            .as_ref()
            .map_or(String::new(), |dir| format!("`{dir}`, ")),
        project.display()
    ))
}

/// A run id that names one directory (it is data from the file).
fn plain(id: &str) -> bool {
    !id.is_empty()
        && Path::new(id)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// The trial's saved spans, when its file lies inside `dir` and holds its trial root.
fn load(dir: &Path, t: &TrialResult) -> Option<TrialTrace> {
    let name = Path::new(t.trace_file.as_deref()?);
    // A name from the report never leads outside the traces directory.
    if !name.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let spans: Vec<Arc<Span>> = file::read(&dir.join(name))
        .ok()?
        .spans
        .into_iter()
        .map(Arc::new)
        .collect();
    let root = spans
        .iter()
        .find(|s| file::is_trial_root(s) && s.trace_id.to_string() == t.trace_id)
        .or_else(|| spans.iter().find(|s| file::is_trial_root(s)))?
        .clone();
    let spans = spans
        .into_iter()
        .filter(|s| !Arc::ptr_eq(s, &root))
        .collect();
    Some(TrialTrace {
        root,
        spans,
        judge_spans: Vec::new(),
        offending: Vec::new(),
        last_llm: None,
        input: String::new(),
        conventions: Default::default(),
    })
}

/// What `traceval html` draws of `report` (read from `path`): the span trees of its saved
/// traces chosen by `selection`, every case's shape fold, and notes for what could not be
/// read. Without saved traces, nothing: the page shows the recorded span trees as text.
pub(crate) fn drawn(
    report: &Report,
    path: &Path,
    traces: Option<&Path>,
    selection: TraceSelection,
) -> Drawn {
    let saved: Vec<&TrialResult> = report
        .trials
        .iter()
        .filter(|t| t.trace_file.is_some())
        .collect();
    if saved.is_empty() || selection == TraceSelection::None {
        return Drawn::default();
    }
    let dir = match traces_dir(report, path, traces) {
        Ok(dir) => dir,
        Err(why) => {
            return Drawn {
                notes: vec![format!("{why}; span trees are shown as text")],
                ..Drawn::default()
            };
        }
    };
    let mut collector = Collector::new(selection);
    let mut unreadable = 0;
    for t in saved {
        match load(&dir, t) {
            Some(trace) => {
                let mut trial = event::TrialResult::from(t.clone());
                trial.trace = Some(Arc::new(trace));
                collector.trial(&trial);
            }
            None => unreadable += 1,
        }
    }
    collector.report_finished(report);
    let mut drawn = collector.finish();
    if unreadable > 0 {
        drawn.notes.push(format!(
            "{unreadable} saved trace files are missing, unreadable or hold no trial root"
        ));
    }
    drawn
}

/// One report of a comparison: its path as given and its contents.
pub(crate) struct Input<'a> {
    /// The file.
    pub(crate) path: &'a Path,
    /// Its report.
    pub(crate) report: &'a Report,
}

/// The shape folds of `doc`'s cases whose class changed (those with a behaviour), each side's
/// trials under [`SIDES`], from the saved traces of `inputs` (in the document's input order);
/// notes for the runs whose traces could not be found or read. Runs that saved no traces are
/// passed over in silence: the page then shows the tool sequences only.
pub(crate) fn compare_shapes(doc: &Document, inputs: &[Input<'_>]) -> (CaseShapes, Vec<String>) {
    let mut shapes = CaseShapes::new();
    let mut notes = Vec::new();
    let mut dirs: Vec<Option<PathBuf>> = Vec::with_capacity(inputs.len());
    for input in inputs {
        let saved = input.report.trials.iter().any(|t| t.trace_file.is_some());
        dirs.push(if saved {
            match traces_dir(input.report, input.path, None) {
                Ok(dir) => Some(dir),
                Err(why) => {
                    notes.push(format!(
                        "{}: {why}; no trace shapes drawn",
                        input.path.display()
                    ));
                    None
                }
            }
        } else {
            None
        });
    }
    let mut unreadable = 0;
    for (i, c) in doc.comparisons.iter().enumerate() {
        for (r, row) in c.cases.iter().enumerate() {
            if row.behaviour.is_none() {
                continue;
            }
            let mut fold = None;
            for (side, name) in [&c.base, &c.new].into_iter().zip(SIDES) {
                let (Some(input), Some(Some(dir))) = (inputs.get(side.input), dirs.get(side.input))
                else {
                    continue;
                };
                let model = row.model.as_deref().or(side.model.as_deref());
                for t in input.report.trials.iter().filter(|t| {
                    t.suite == row.suite
                        && t.case == row.case
                        && model.is_none_or(|m| t.model == m)
                        && t.trace_file.is_some()
                }) {
                    let Some(trace) = load(dir, t) else {
                        unreadable += 1;
                        continue;
                    };
                    let (tree, root) =
                        SpanTree::build_trial(&trace.root, trace.spans.iter().cloned());
                    fold.get_or_insert_with(super::ShapeFold::default).add(
                        name,
                        &GenAiView::new(&tree),
                        root,
                    );
                }
            }
            if let Some(fold) = fold {
                shapes.insert((i, r), fold);
            }
        }
    }
    if unreadable > 0 {
        notes.push(format!(
            "{unreadable} saved trace files are missing, unreadable or hold no trial root"
        ));
    }
    (shapes, notes)
}
