//! The run's trace-shape snapshots ([`crate::snapshot`]), by plan group: which case × model has
//! one, read before the first trial starts.

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::RunEvent;
use crate::snapshot::{self, CaseSnapshot, SnapshotSettings, TrialShape};

use super::Plan;

/// Every snapshot of a run, by plan group.
#[derive(Debug, Default)]
pub(super) struct Snapshots {
    groups: HashMap<usize, Arc<CaseSnapshot>>,
}

/// Two case × model groups whose snapshots would share a file.
pub(crate) fn check_snapshot_names(plan: &Plan) -> Result<(), String> {
    snapshot::check_names(
        plan.groups
            .iter()
            .filter(|group| plan.case(group).expect.snapshot.is_some())
            .map(|group| {
                (
                    plan.suite(group).name.as_str(),
                    plan.case(group).id.as_str(),
                    &*group.model,
                )
            }),
    )
}

impl Snapshots {
    /// Reads the stored snapshot of every group of `plan` whose case has `snapshot = true`.
    pub(super) fn load(plan: &Plan, settings: &SnapshotSettings) -> Snapshots {
        let groups = plan
            .groups
            .iter()
            .enumerate()
            .filter_map(|(g, group)| {
                let read =
                    CaseSnapshot::read(settings, plan.suite(group), plan.case(group), &group.model);
                read.map(|s| (g, Arc::new(s)))
            })
            .collect();
        Snapshots { groups }
    }

    /// The snapshot of group `g`, when its case has one.
    pub(super) fn group(&self, g: usize) -> Option<Arc<CaseSnapshot>> {
        self.groups.get(&g).cloned()
    }

    /// Writes what group `g`'s snapshot calls for once the group is over (nothing when it has
    /// none); `trials` are its compared trials. Returns the events to emit and whether a write
    /// failed.
    pub(super) fn finish(&self, g: usize, trials: &[TrialShape]) -> (Vec<RunEvent>, bool) {
        match self.groups.get(&g) {
            Some(group) => group.record(trials),
            None => (Vec::new(), false),
        }
    }
}
