//! The models a run calls, built by the LLM layer from the suites' definitions: scripted
//! models served to command agents, the models builtin agents call, and the judges' models,
//! every script file loaded once.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::CliError;
use crate::llm::build::{Api, ApiSettings, ModelFactory};
use crate::llm::provider::ChatProvider;
use crate::llm::scripted::Script;
use crate::report::schema::ModelEndpoint;
use crate::runner::Plan;
use crate::suite::spec::{ModelDef, Provider};
use crate::suite::{Agent, Project, Suite};

/// Providers by (suite, model).
pub(super) type Providers = HashMap<(String, String), Arc<dyn ChatProvider>>;

/// A run's models.
#[derive(Debug, Default)]
pub(super) struct Models {
    /// Scripted models served to command agents, by (suite, model).
    pub(super) scripts: HashMap<(String, String), Arc<Script>>,
    /// The models builtin agents call, by (suite, model).
    pub(super) providers: Providers,
    /// The models LLM judges call, by (suite, model).
    pub(super) judges: Providers,
}

impl Models {
    /// The models of the plan's agents (none for a `replay`, which runs no agent) and of its
    /// judges, which still judge in a replay.
    pub(super) fn build(
        project: &Project,
        plan: &Plan,
        seed: u64,
        replay: bool,
    ) -> Result<Models, CliError> {
        let mut factory = ModelFactory::new(seed);
        let mut models = Models::default();
        if !replay {
            models.add_agents(&mut factory, project, plan)?;
        }
        models.add_judges(&mut factory, project, plan)?;
        Ok(models)
    }

    fn add_agents(
        &mut self,
        factory: &mut ModelFactory,
        project: &Project,
        plan: &Plan,
    ) -> Result<(), CliError> {
        for g in &plan.groups {
            let suite = plan.suite(g);
            let key = (suite.name.clone(), g.model.to_string());
            if self.scripts.contains_key(&key) || self.providers.contains_key(&key) {
                continue;
            }
            // A replay suite calls no model.
            if matches!(suite.agent, Agent::Replay(_)) {
                continue;
            }
            let def = definition(project, suite, &g.model);
            let builtin = matches!(suite.agent, Agent::Builtin(_));
            match def.map(|d| &d.provider) {
                Some(Provider::Scripted { script }) if builtin => {
                    self.providers.insert(key, factory.scripted(script)?);
                }
                Some(Provider::Scripted { script }) => {
                    self.scripts.insert(key, factory.script(script)?);
                }
                Some(provider) if builtin => {
                    let settings = api_settings(provider).expect("not scripted");
                    let model = def
                        .and_then(|d| d.model.clone())
                        .unwrap_or_else(|| g.model.to_string());
                    let built =
                        factory
                            .api(&settings, model)
                            .map_err(|error| CliError::ModelProvider {
                                model: g.model.to_string(),
                                suite: suite.name.clone(),
                                error,
                            })?;
                    self.providers.insert(key, built);
                }
                None if builtin => {
                    return Err(CliError::BuiltinWithoutModel {
                        suite: suite.name.clone(),
                        path: suite.path.clone(),
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// A judge gets its own provider even when the agent runs the same model, so the two never
    /// share attempt counts.
    fn add_judges(
        &mut self,
        factory: &mut ModelFactory,
        project: &Project,
        plan: &Plan,
    ) -> Result<(), CliError> {
        for g in &plan.groups {
            let suite = plan.suite(g);
            for judge in &plan.case(g).expect.judges {
                let key = (suite.name.clone(), judge.model.clone());
                if self.judges.contains_key(&key) {
                    continue;
                }
                // The loader checked that the name is defined in one of the two.
                let Some(def) = definition(project, suite, &judge.model) else {
                    continue;
                };
                let provider = match &def.provider {
                    Provider::Scripted { script } => factory.scripted(script)?,
                    provider => {
                        let settings = api_settings(provider).expect("not scripted");
                        let model = def.model.clone().unwrap_or_else(|| judge.model.clone());
                        factory
                            .api(&settings, model)
                            .map_err(|error| CliError::JudgeProvider {
                                model: judge.model.clone(),
                                suite: suite.name.clone(),
                                error,
                            })?
                    }
                };
                self.judges.insert(key, provider);
            }
        }
        Ok(())
    }

    /// The APIs among the agents' and judges' models, with their base URLs, sorted and
    /// distinct.
    pub(super) fn endpoints(&self) -> Vec<ModelEndpoint> {
        let all = self.providers.iter().chain(&self.judges);
        let endpoints: BTreeSet<ModelEndpoint> = all
            .filter_map(|((suite, model), p)| {
                Some(ModelEndpoint {
                    suite: suite.clone(),
                    model: model.clone(),
                    provider: p.provider_name().to_owned(),
                    base_url: p.base_url()?.to_owned(),
                })
            })
            .collect();
        endpoints.into_iter().collect()
    }
}

/// The definition of `model` a suite sees: its own, else `traceval.toml`'s.
fn definition<'a>(project: &'a Project, suite: &'a Suite, model: &str) -> Option<&'a ModelDef> {
    suite
        .model_defs
        .get(model)
        .or_else(|| project.config.models.get(model))
}

/// The LLM layer's settings of an OpenAI or Anthropic definition; `None` for a scripted one.
fn api_settings(provider: &Provider) -> Option<ApiSettings<'_>> {
    Some(match provider {
        Provider::Scripted { .. } => return None,
        Provider::OpenAi {
            base_url,
            api_key_env,
            organization,
            headers,
            timeout,
        } => ApiSettings {
            api: Api::OpenAi {
                organization: organization.as_deref(),
            },
            base_url: base_url.as_deref(),
            api_key_env: api_key_env.as_deref(),
            headers,
            timeout: *timeout,
        },
        Provider::Anthropic {
            base_url,
            api_key_env,
            headers,
            timeout,
            max_tokens,
        } => ApiSettings {
            api: Api::Anthropic {
                max_tokens: *max_tokens,
            },
            base_url: base_url.as_deref(),
            api_key_env: api_key_env.as_deref(),
            headers,
            timeout: *timeout,
        },
    })
}
