//! The plan: which trials a run will start, in which order. Cases × models × trials, after the
//! filter and the shard; built before anything runs so `traceval list` can print it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::event::TrialId;
use crate::suite::{Agent, Case, Project, Suite};

/// One case × model: the unit a status line and pass@k are about.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// Index into [`Plan::suites`].
    pub suite: usize,
    /// Index into the suite's cases.
    pub case: usize,
    /// The model name.
    pub model: Arc<str>,
    /// Trials to run (k).
    pub trials: u32,
    /// The trials' indices when they are not `0..trials` (a replay keeps the recorded ones).
    pub indices: Option<Arc<[u32]>>,
}

impl Group {
    /// The indices of the group's trials, in order.
    pub(crate) fn trial_indices(&self) -> impl Iterator<Item = u32> + '_ {
        let listed = self.indices.as_deref().map(|i| i.iter().copied());
        let counted = listed.is_none().then_some(0..self.trials);
        listed
            .into_iter()
            .flatten()
            .chain(counted.into_iter().flatten())
    }
}

/// A case × model of the plan that will not run, and why (a replay that has no recorded trial
/// for it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    /// Suite name.
    pub suite: String,
    /// Case id.
    pub case: String,
    /// Model name.
    pub model: String,
    /// The trials it would have run (counted as not run).
    pub trials: u32,
    /// Why not.
    pub reason: String,
}

/// Everything a run will start.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// Suites with at least one selected case.
    pub suites: Vec<Arc<Suite>>,
    /// Case × model groups, suite by suite, case by case, model by model.
    pub groups: Vec<Group>,
    /// Groups left out, reported as not run.
    pub skipped: Vec<Skipped>,
    /// Names of the project's ignored suites, left out of the plan.
    pub ignored: Vec<String>,
}

/// What narrows or widens the plan, already resolved from flags, profile and suite.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlanOptions {
    /// Trials per case per model, overriding every suite's `trials`.
    pub trials: Option<u32>,
    /// Models, replacing every suite's `models` when non-empty.
    pub models: Vec<String>,
    /// Per suite name, models replacing its `models` when `models` is empty (a replay runs the
    /// models the recorded run ran).
    pub suite_models: BTreeMap<String, Vec<String>>,
}

/// The model name used when neither the suite nor the command line names one.
pub(crate) const DEFAULT_MODEL: &str = "default";

impl Plan {
    /// Builds the plan; `select` decides per `(suite, case)` (filter and shard).
    pub(crate) fn build(
        project: &Project,
        options: &PlanOptions,
        select: impl Fn(&Suite, &Case) -> bool,
    ) -> Plan {
        let mut plan = Plan {
            ignored: project.ignored.iter().map(|s| s.name.clone()).collect(),
            ..Plan::default()
        };
        for suite in &project.suites {
            let cases: Vec<usize> = (0..suite.cases.len())
                .filter(|&i| select(suite, &suite.cases[i]))
                .collect();
            if cases.is_empty() {
                continue;
            }
            let suite_ix = plan.suites.len();
            plan.suites.push(Arc::new(suite.clone()));
            let models: Vec<Arc<str>> = if !options.models.is_empty() {
                options.models.iter().map(|m| m.as_str().into()).collect()
            } else if let Some(models) = options.suite_models.get(&suite.name) {
                models.iter().map(|m| m.as_str().into()).collect()
            } else if !suite.models.is_empty() {
                suite.models.iter().map(|m| m.as_str().into()).collect()
            } else {
                vec![DEFAULT_MODEL.into()]
            };
            // A recorded trace is one trial: replaying it k times would only repeat it.
            let trials = match suite.agent {
                Agent::Replay(_) => 1,
                _ => options.trials.or(suite.trials).unwrap_or(1).max(1),
            };
            for case in cases {
                for model in &models {
                    plan.groups.push(Group {
                        suite: suite_ix,
                        case,
                        model: Arc::clone(model),
                        trials,
                        indices: None,
                    });
                }
            }
        }
        plan
    }

    /// Narrows the plan to the trials of a recorded run (`recorded`, described as `source` in
    /// messages), for a replay: each planned group runs the trial indices recorded for it, a
    /// group without any is [skipped](Plan::skipped). Returns warnings about recorded trials
    /// the plan leaves out for another reason than the selection (`--filter`, `--shard`): their
    /// suite or case is gone, or their model is not planned.
    pub(crate) fn keep_recorded<'a>(
        &mut self,
        project: &Project,
        recorded: impl IntoIterator<Item = &'a TrialId>,
        source: &str,
    ) -> Vec<String> {
        let mut by_group: BTreeMap<(String, String, String), Vec<u32>> = BTreeMap::new();
        for id in recorded {
            by_group
                .entry((id.suite.clone(), id.case.clone(), id.model.clone()))
                .or_default()
                .push(id.trial);
        }
        let mut kept = Vec::new();
        let mut planned_cases = BTreeSet::new();
        for mut group in std::mem::take(&mut self.groups) {
            let suite = &self.suites[group.suite];
            let case = &suite.cases[group.case];
            planned_cases.insert((suite.name.clone(), case.id.clone()));
            let key = (suite.name.clone(), case.id.clone(), group.model.to_string());
            match by_group.remove(&key) {
                Some(mut indices) => {
                    indices.sort_unstable();
                    indices.dedup();
                    group.trials = indices.len() as u32;
                    group.indices = Some(indices.into());
                    kept.push(group);
                }
                None => self.skipped.push(Skipped {
                    suite: suite.name.clone(),
                    case: case.id.clone(),
                    model: group.model.to_string(),
                    trials: group.trials,
                    reason: format!("{source} has no trial of it"),
                }),
            }
        }
        self.groups = kept;
        self.drop_unused_suites();

        let mut warnings = Vec::new();
        let mut missing_suites = BTreeMap::<String, usize>::new();
        for ((suite, case, model), indices) in by_group {
            let n = indices.len();
            let Some(loaded) = project.suites.iter().find(|s| s.name == suite) else {
                *missing_suites.entry(suite).or_default() += n;
                continue;
            };
            let why = if !loaded.cases.iter().any(|c| c.id == case) {
                "the case is no longer in the suite"
            } else if planned_cases.contains(&(suite.clone(), case.clone())) {
                "the model is not in the plan (pass --model to replay it)"
            } else {
                // Left out by --filter or --shard, as asked.
                continue;
            };
            warnings.push(format!(
                "{suite}::{case} ({model}): {n} recorded trial(s) not replayed: {why}"
            ));
        }
        for (suite, n) in missing_suites {
            warnings.push(format!(
                "suite `{suite}`: {n} recorded trial(s) not replayed: no suite of that name is loaded"
            ));
        }
        warnings
    }

    /// Removes suites no group refers to, renumbering the groups' suite indices.
    fn drop_unused_suites(&mut self) {
        let used: BTreeSet<usize> = self.groups.iter().map(|g| g.suite).collect();
        let mut new_index = vec![usize::MAX; self.suites.len()];
        let mut suites = Vec::with_capacity(used.len());
        for (i, suite) in std::mem::take(&mut self.suites).into_iter().enumerate() {
            if used.contains(&i) {
                new_index[i] = suites.len();
                suites.push(suite);
            }
        }
        self.suites = suites;
        for group in &mut self.groups {
            group.suite = new_index[group.suite];
        }
    }

    /// Trials in the plan.
    pub(crate) fn trial_count(&self) -> usize {
        self.groups.iter().map(|g| g.trials as usize).sum()
    }

    /// Distinct `suite::case` pairs.
    pub(crate) fn case_count(&self) -> usize {
        self.groups
            .iter()
            .map(|g| (g.suite, g.case))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Distinct model names.
    pub(crate) fn model_names(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self.groups.iter().map(|g| &*g.model).collect();
        set.into_iter().collect()
    }

    /// The suite of a group.
    pub(crate) fn suite(&self, group: &Group) -> &Arc<Suite> {
        &self.suites[group.suite]
    }

    /// The case of a group.
    pub(crate) fn case(&self, group: &Group) -> &Case {
        &self.suites[group.suite].cases[group.case]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::spec::{CommandAgent, Expect, Origin, ProjectConfig};
    use crate::suite::{Agent, Case};
    use std::collections::BTreeMap;

    fn suite(name: &str, cases: &[&str], models: &[&str], trials: Option<u32>) -> Suite {
        Suite {
            name: name.into(),
            path: format!("{name}.toml").into(),
            dir: ".".into(),
            description: None,
            tags: vec![],
            ignore: None,
            trials,
            timeout: None,
            models: models.iter().map(|m| m.to_string()).collect(),
            agent: Agent::Command(CommandAgent {
                program: "true".into(),
                args: vec![],
                env: BTreeMap::new(),
                cwd: ".".into(),
                line: 1,
            }),
            model_defs: BTreeMap::new(),
            pricing: BTreeMap::new(),
            conventions: Default::default(),
            cases: cases
                .iter()
                .map(|id| Case {
                    id: id.to_string(),
                    input: serde_json::Value::Null,
                    tags: vec![],
                    timeout: None,
                    expect: Expect::default(),
                    origin: Origin {
                        path: "x".into(),
                        line: 1,
                    },
                    definition_hash: String::new(),
                })
                .collect(),
            content_hash: String::new(),
        }
    }

    fn project(suites: Vec<Suite>) -> Project {
        Project {
            root: ".".into(),
            config: ProjectConfig::default(),
            suites,
            ignored: vec![],
        }
    }

    fn lines(plan: &Plan) -> Vec<String> {
        plan.groups
            .iter()
            .map(|g| {
                format!(
                    "{}::{} {} ×{}",
                    plan.suite(g).name,
                    plan.case(g).id,
                    g.model,
                    g.trials
                )
            })
            .collect()
    }

    #[test]
    fn cases_times_models_with_trials_from_flag_then_suite_then_one() {
        let p = project(vec![
            suite("a", &["x", "y"], &["m1", "m2"], Some(3)),
            suite("b", &["z"], &[], None),
        ]);
        let plan = Plan::build(&p, &PlanOptions::default(), |_, _| true);
        assert_eq!(
            lines(&plan),
            [
                "a::x m1 ×3",
                "a::x m2 ×3",
                "a::y m1 ×3",
                "a::y m2 ×3",
                "b::z default ×1"
            ]
        );
        assert_eq!((plan.trial_count(), plan.case_count()), (13, 3));
        assert_eq!(plan.model_names(), ["default", "m1", "m2"]);

        let options = PlanOptions {
            trials: Some(2),
            models: vec!["m9".into()],
            ..PlanOptions::default()
        };
        let plan = Plan::build(&p, &options, |_, case| case.id != "y");
        assert_eq!(lines(&plan), ["a::x m9 ×2", "b::z m9 ×2"]);
    }

    #[test]
    fn suites_without_a_selected_case_are_left_out() {
        let p = project(vec![
            suite("a", &["x"], &[], None),
            suite("b", &["z"], &[], None),
        ]);
        let plan = Plan::build(&p, &PlanOptions::default(), |s, _| s.name == "b");
        assert_eq!(plan.suites.len(), 1);
        assert_eq!(lines(&plan), ["b::z default ×1"]);
    }

    fn id(suite: &str, case: &str, model: &str, trial: u32) -> TrialId {
        TrialId {
            suite: suite.into(),
            case: case.into(),
            model: model.into(),
            trial,
        }
    }

    #[test]
    fn a_replay_keeps_the_recorded_trials_and_reports_the_rest() {
        let p = project(vec![
            suite("a", &["x", "y", "new"], &["m1"], Some(3)),
            suite("b", &["z"], &[], None),
        ]);
        let options = PlanOptions {
            suite_models: [("a".to_owned(), vec!["m1".to_owned(), "m2".to_owned()])].into(),
            ..PlanOptions::default()
        };
        // `b` is left out by the selection (as --filter would).
        let mut plan = Plan::build(&p, &options, |s, _| s.name == "a");
        let recorded = [
            id("a", "x", "m1", 2),
            id("a", "x", "m1", 0),
            id("a", "x", "m2", 0),
            id("a", "y", "m1", 0),
            id("a", "y", "m1", 1),
            id("a", "y", "m1", 2),
            id("a", "gone", "m1", 0),
            id("a", "x", "m3", 0),
            id("b", "z", "default", 0),
            id("c", "w", "m", 0),
            id("c", "w", "m", 1),
        ];
        let warnings = plan.keep_recorded(&p, &recorded, "run R");
        assert_eq!(lines(&plan), ["a::x m1 ×2", "a::x m2 ×1", "a::y m1 ×3"]);
        let indices: Vec<u32> = plan.groups[0].trial_indices().collect();
        assert_eq!(indices, [0, 2], "the recorded indices, gaps kept");
        assert_eq!(plan.trial_count(), 6);
        let skipped: Vec<String> = plan
            .skipped
            .iter()
            .map(|s| {
                format!(
                    "{}::{} {} ×{}: {}",
                    s.suite, s.case, s.model, s.trials, s.reason
                )
            })
            .collect();
        assert_eq!(
            skipped,
            [
                "a::y m2 ×3: run R has no trial of it",
                "a::new m1 ×3: run R has no trial of it",
                "a::new m2 ×3: run R has no trial of it",
            ]
        );
        assert_eq!(
            warnings,
            [
                "a::gone (m1): 1 recorded trial(s) not replayed: the case is no longer in the suite",
                "a::x (m3): 1 recorded trial(s) not replayed: the model is not in the plan (pass --model to replay it)",
                "suite `c`: 2 recorded trial(s) not replayed: no suite of that name is loaded",
            ]
        );
    }

    #[test]
    fn a_replay_suite_replays_each_case_once_per_model() {
        let mut s = suite("r", &["x"], &["m1", "m2"], None);
        s.agent = Agent::Replay(crate::suite::spec::ReplayAgent::default());
        let p = project(vec![s, suite("c", &["y"], &[], None)]);
        let options = PlanOptions {
            trials: Some(5),
            ..PlanOptions::default()
        };
        let plan = Plan::build(&p, &options, |_, _| true);
        assert_eq!(
            lines(&plan),
            ["r::x m1 ×1", "r::x m2 ×1", "c::y default ×5"]
        );
        let mut plan = plan;
        // Suites left without a group are dropped and the groups renumbered.
        let warnings = plan.keep_recorded(&p, &[id("c", "y", "default", 4)], "run R");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(lines(&plan), ["c::y default ×1"]);
        assert_eq!(plan.suites.len(), 1);
        assert_eq!(plan.groups[0].trial_indices().collect::<Vec<_>>(), [4]);
    }
}
