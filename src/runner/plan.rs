//! The plan: which trials a run will start, in which order. Cases × models × trials, after the
//! filter and the shard; built before anything runs so `traceval list` can print it.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::suite::{Case, Project, Suite};

/// One case × model: the unit a status line and pass@k are about.
#[derive(Debug, Clone)]
pub struct Group {
    /// Index into [`Plan::suites`].
    pub suite: usize,
    /// Index into the suite's cases.
    pub case: usize,
    /// The model name.
    pub model: Arc<str>,
    /// Trials to run (k).
    pub trials: u32,
}

/// Everything a run will start.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Suites with at least one selected case.
    pub suites: Vec<Arc<Suite>>,
    /// Case × model groups, suite by suite, case by case, model by model.
    pub groups: Vec<Group>,
    /// Names of the project's ignored suites, left out of the plan.
    pub ignored: Vec<String>,
}

/// What narrows or widens the plan, already resolved from flags, profile and suite.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Trials per case per model, overriding every suite's `trials`.
    pub trials: Option<u32>,
    /// Models, replacing every suite's `models` when non-empty.
    pub models: Vec<String>,
}

/// The model name used when neither the suite nor the command line names one.
pub const DEFAULT_MODEL: &str = "default";

impl Plan {
    /// Builds the plan; `select` decides per `(suite, case)` (filter and shard).
    pub fn build(
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
            } else if !suite.models.is_empty() {
                suite.models.iter().map(|m| m.as_str().into()).collect()
            } else {
                vec![DEFAULT_MODEL.into()]
            };
            let trials = options.trials.or(suite.trials).unwrap_or(1).max(1);
            for case in cases {
                for model in &models {
                    plan.groups.push(Group {
                        suite: suite_ix,
                        case,
                        model: Arc::clone(model),
                        trials,
                    });
                }
            }
        }
        plan
    }

    /// Trials in the plan.
    pub fn trial_count(&self) -> usize {
        self.groups.iter().map(|g| g.trials as usize).sum()
    }

    /// Distinct `suite::case` pairs.
    pub fn case_count(&self) -> usize {
        self.groups
            .iter()
            .map(|g| (g.suite, g.case))
            .collect::<BTreeSet<_>>()
            .len()
    }

    /// Distinct model names.
    pub fn model_names(&self) -> Vec<&str> {
        let set: BTreeSet<&str> = self.groups.iter().map(|g| &*g.model).collect();
        set.into_iter().collect()
    }

    /// The suite of a group.
    pub fn suite(&self, group: &Group) -> &Arc<Suite> {
        &self.suites[group.suite]
    }

    /// The case of a group.
    pub fn case(&self, group: &Group) -> &Case {
        &self.suites[group.suite].cases[group.case]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::model::{CommandAgent, Expect, Origin, ProjectConfig};
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
}
