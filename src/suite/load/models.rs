//! `[model.NAME]` and `[pricing."MODEL"]` tables, of a suite or of `traceval.toml`, and lists
//! of model names.

use std::collections::BTreeMap;
use std::path::Path;

use super::super::doc::Doc;
use super::super::raw::{RawModel, RawPrice, RawProvider};
use super::super::spec::{ModelDef, Price, Provider};
use super::Result;
use super::duration;
use crate::toml_doc::KeyPath;

/// `[model.NAME]` tables of a suite or of `traceval.toml`; `dir` resolves scripts.
pub(in crate::suite) fn model_defs(
    doc: &Doc<'_>,
    at: &KeyPath,
    dir: &Path,
    raw: BTreeMap<String, RawModel>,
) -> Result<BTreeMap<String, ModelDef>> {
    raw.into_iter()
        .map(|(name, model)| {
            let def = model_def(doc, &at.key(&name), dir, model)?;
            Ok((name, def))
        })
        .collect()
}

fn model_def(doc: &Doc<'_>, at: &KeyPath, dir: &Path, raw: RawModel) -> Result<ModelDef> {
    let provider_name = match raw.provider {
        RawProvider::Scripted => "scripted",
        RawProvider::OpenAi => "openai",
        RawProvider::Anthropic => "anthropic",
    };
    let foreign = [
        (
            "script",
            raw.script.is_some() && raw.provider != RawProvider::Scripted,
        ),
        (
            "base-url",
            raw.base_url.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "api-key-env",
            raw.api_key_env.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "organization",
            raw.organization.is_some() && raw.provider != RawProvider::OpenAi,
        ),
        (
            "headers",
            raw.headers.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "timeout",
            raw.timeout.is_some() && raw.provider == RawProvider::Scripted,
        ),
        (
            "max-tokens",
            raw.max_tokens.is_some() && raw.provider != RawProvider::Anthropic,
        ),
    ];
    if let Some((key, _)) = foreign.into_iter().find(|&(_, present)| present) {
        let message = format!("does not apply to provider `{provider_name}`");
        return Err(doc.invalid(&at.key(key), message));
    }
    if let Some(url) = &raw.base_url
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        let message = format!("`{url}` is not an http:// or https:// URL");
        return Err(doc.invalid(&at.key("base-url"), message));
    }
    let timeout = raw
        .timeout
        .as_deref()
        .map(|text| duration(doc, &at.key("timeout"), text))
        .transpose()?;
    if raw.max_tokens == Some(0) {
        return Err(doc.invalid(&at.key("max-tokens"), "must be at least 1"));
    }
    let headers = raw.headers.unwrap_or_default();
    if let Some(name) = headers
        .keys()
        .find(|name| name.is_empty() || !name.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
    {
        let message = format!("`{name}` is not a valid HTTP header name");
        return Err(doc.invalid(&at.key("headers"), message));
    }
    for (key, value) in [
        ("model", &raw.model),
        ("api-key-env", &raw.api_key_env),
        ("organization", &raw.organization),
    ] {
        if value.as_ref().is_some_and(|value| value.is_empty()) {
            return Err(doc.invalid(&at.key(key), "must not be empty"));
        }
    }
    let provider = match raw.provider {
        RawProvider::Scripted => {
            let Some(script) = raw.script else {
                let why = "a scripted model answers from a script file";
                return Err(doc.missing(&at.key("script"), why));
            };
            // Checked here, not when the run starts: the error can point at the key, and
            // `traceval list` catches it too.
            let path = dir.join(&script);
            if !path.is_file() {
                let message = format!(
                    "the script `{}` does not exist (`{script}` is relative to the directory of \
                     this file)",
                    path.display()
                );
                return Err(doc.invalid(&at.key("script"), message));
            }
            Provider::Scripted { script: path }
        }
        RawProvider::OpenAi => Provider::OpenAi {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
            organization: raw.organization,
            headers,
            timeout,
        },
        RawProvider::Anthropic => Provider::Anthropic {
            base_url: raw.base_url,
            api_key_env: raw.api_key_env,
            headers,
            timeout,
            max_tokens: raw.max_tokens,
        },
    };
    Ok(ModelDef {
        provider,
        model: raw.model,
    })
}

/// `[pricing."MODEL"]` tables of a suite or of `traceval.toml`.
pub(in crate::suite) fn prices(
    doc: &Doc<'_>,
    at: &KeyPath,
    raw: BTreeMap<String, RawPrice>,
) -> Result<BTreeMap<String, Price>> {
    raw.into_iter()
        .map(|(model, price)| {
            let at = at.key(&model);
            let values = [
                ("input", Some(price.input)),
                ("output", Some(price.output)),
                ("input-cache-read", price.input_cache_read),
                ("input-cache-write", price.input_cache_write),
            ];
            for (key, value) in values {
                if let Some(value) = value
                    && !(value.is_finite() && value >= 0.0)
                {
                    let message =
                        format!("must be a price in USD per 1M tokens, 0 or more, found {value}");
                    return Err(doc.invalid(&at.key(key), message));
                }
            }
            let price = Price {
                input: price.input,
                output: price.output,
                input_cache_read: price.input_cache_read,
                input_cache_write: price.input_cache_write,
            };
            Ok((model, price))
        })
        .collect()
}

/// A list of model names: each non-empty, none twice.
pub(in crate::suite) fn model_names(
    doc: &Doc<'_>,
    at: &KeyPath,
    names: Vec<String>,
) -> Result<Vec<String>> {
    for (i, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(doc.invalid(&at.index(i), "a model name must not be empty"));
        }
        if names[..i].contains(name) {
            return Err(doc.invalid(&at.index(i), format!("`{name}` is listed twice")));
        }
    }
    Ok(names)
}
