//! Models built for one run: each scripted model's script loaded once, however many suites,
//! agents and judges name it, and the API providers configured from their settings and the
//! environment.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::anthropic::{AnthropicConfig, AnthropicProvider};
use super::http::ProviderError;
use super::openai::{OpenAiConfig, OpenAiProvider};
use super::provider::{ChatProvider, ScriptedProvider};
use super::scripted::{Script, ScriptError};

/// The settings of an OpenAI or Anthropic model, as a suite or `traceval.toml` gives them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiSettings<'a> {
    /// Which API, with its own settings.
    pub(crate) api: Api<'a>,
    /// `base-url`.
    pub(crate) base_url: Option<&'a str>,
    /// `api-key-env`: the variable holding the key.
    pub(crate) api_key_env: Option<&'a str>,
    /// Extra request headers.
    pub(crate) headers: &'a BTreeMap<String, String>,
    /// Per-request timeout, else the provider's default.
    pub(crate) timeout: Option<Duration>,
}

/// The API of an [`ApiSettings`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Api<'a> {
    /// An OpenAI-compatible chat-completions server.
    OpenAi {
        /// The `OpenAI-Organization` header.
        organization: Option<&'a str>,
    },
    /// The Anthropic Messages API.
    Anthropic {
        /// `max-tokens`, else the provider's default.
        max_tokens: Option<u32>,
    },
}

/// Builds a run's models, loading each script file once.
#[derive(Debug)]
pub(crate) struct ModelFactory {
    seed: u64,
    scripts: HashMap<PathBuf, Arc<Script>>,
}

impl ModelFactory {
    /// A factory whose scripted models draw their variants from `seed`.
    pub(crate) fn new(seed: u64) -> ModelFactory {
        ModelFactory {
            seed,
            scripts: HashMap::new(),
        }
    }

    /// The script at `path`, loaded on its first use and shared afterwards.
    pub(crate) fn script(&mut self, path: &Path) -> Result<Arc<Script>, ScriptError> {
        if let Some(script) = self.scripts.get(path) {
            return Ok(Arc::clone(script));
        }
        let script = Arc::new(Script::load(path)?);
        self.scripts.insert(path.to_path_buf(), Arc::clone(&script));
        Ok(script)
    }

    /// The scripted model of the script at `path`, answering in process; each provider counts
    /// its own attempts.
    pub(crate) fn scripted(&mut self, path: &Path) -> Result<Arc<dyn ChatProvider>, ScriptError> {
        let script = self.script(path)?;
        Ok(Arc::new(ScriptedProvider::new(script, self.seed)))
    }

    /// The provider of an API model, asking for `model`.
    pub(crate) fn api(
        &self,
        settings: &ApiSettings<'_>,
        model: String,
    ) -> Result<Arc<dyn ChatProvider>, ProviderError> {
        let headers = || settings.headers.clone().into_iter().collect();
        match settings.api {
            Api::OpenAi { organization } => {
                let mut config =
                    OpenAiConfig::from_env(settings.api_key_env, settings.base_url, model)?;
                config.organization = organization.map(str::to_owned);
                config.extra_headers = headers();
                if let Some(t) = settings.timeout {
                    config.timeout = t;
                }
                Ok(Arc::new(OpenAiProvider::new(config)?))
            }
            Api::Anthropic { max_tokens } => {
                let mut config =
                    AnthropicConfig::from_env(settings.api_key_env, settings.base_url, model)?;
                config.extra_headers = headers();
                if let Some(t) = settings.timeout {
                    config.timeout = t;
                }
                if let Some(m) = max_tokens {
                    config.max_tokens = m;
                }
                Ok(Arc::new(AnthropicProvider::new(config)?))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script_file(dir: &Path) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join("model.toml");
        std::fs::write(&path, "[[rule]]\ntext = \"hi\"\n").unwrap();
        path
    }

    #[test]
    fn a_script_is_loaded_once_and_shared() {
        let dir = std::env::temp_dir().join(format!("tv-factory-{}", std::process::id()));
        let path = script_file(&dir);
        let mut factory = ModelFactory::new(7);
        let first = factory.script(&path).unwrap();
        // Gone from disk: the second use must come from the cache.
        std::fs::remove_file(&path).unwrap();
        let second = factory.script(&path).unwrap();
        assert!(Arc::ptr_eq(&first, &second));
        assert!(factory.scripted(&path).is_ok());
        assert!(factory.script(&dir.join("missing.toml")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn api_settings_reach_the_provider() {
        let headers = BTreeMap::new();
        let settings = ApiSettings {
            api: Api::OpenAi { organization: None },
            base_url: Some("http://127.0.0.1:9/v1"),
            api_key_env: Some("TRACEVAL_TEST_KEY_THAT_IS_NEVER_SET"),
            headers: &headers,
            timeout: None,
        };
        let factory = ModelFactory::new(0);
        let e = factory.api(&settings, "m".to_owned()).unwrap_err();
        assert!(
            e.to_string()
                .contains("TRACEVAL_TEST_KEY_THAT_IS_NEVER_SET"),
            "{e}"
        );
    }
}
