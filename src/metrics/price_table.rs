//! The built-in price table: USD per 1M tokens for common OpenAI, Anthropic, Google and Mistral
//! models, dated and sourced, kept as data in `prices.toml` next to this file and parsed once.
//!
//! It is the last resort of [`Pricing`](super::cost::Pricing): a cost recorded on the span wins, then a
//! `[pricing."MODEL"]` entry of the suite or `traceval.toml`, then this table; a model none of
//! them prices is *unpriced*.
//!
//! Names are matched the way real spans spell them:
//! - a provider prefix is dropped: `openai/gpt-4o` (LiteLLM, OpenRouter) and
//!   `models/gemini-1.5-pro` (Google's own responses) are `gpt-4o` and `gemini-1.5-pro`;
//! - a name prices its snapshots: the name followed by one or more version tags, each after a
//!   `-` or `@`: a date (`2024-08-06`, `20241022`), four or three digits (`2411`, `001`),
//!   `latest`, or `v2`/`v2:0`. So `claude-sonnet-4` prices `claude-sonnet-4-20250514` and
//!   `claude-sonnet-4@20250514`, and `claude-3-5-sonnet` prices `claude-3-5-sonnet-v2@20241022`;
//! - the longest matching name wins (`gpt-4o-mini-2024-07-18` is `gpt-4o-mini`, not `gpt-4o`).
//!
//! The tags are narrower than a suite's prefix rule ([`super::cost::price_for`]) on purpose: a
//! wrong built-in price would be silent, so `gpt-4o-realtime-preview`, `claude-opus-4-5` or
//! `gemini-2.5-pro-preview-06-05` stay unpriced rather than take the price of a shorter name.
//! Names are compared exactly, case included.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Deserialize;

/// `[pricing."MODEL"]`, USD per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Price {
    /// `input`.
    pub input: f64,
    /// `output`.
    pub output: f64,
    /// `input-cache-read` (default: `input`).
    pub input_cache_read: Option<f64>,
    /// `input-cache-write` (default: `input`).
    pub input_cache_write: Option<f64>,
}

/// The table as shipped.
const TABLE: &str = include_str!("prices.toml");

static BUILTIN: LazyLock<PriceTable> = LazyLock::new(|| {
    // A table that does not parse is a bug in this crate, caught by the unit tests.
    PriceTable::parse(TABLE).expect("the built-in price table is valid (see its unit tests)")
});

/// What may follow a name for it to price a snapshot (see the module docs).
static SNAPSHOT_TAGS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[-@](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{3}|latest|v\d+(?::\d+)?))+$")
        .expect("a valid regex")
});

/// A dated price table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceTable {
    date: String,
    sources: BTreeMap<String, String>,
    entries: Vec<PriceEntry>,
    /// Every name and alias, to its entry.
    by_name: BTreeMap<String, usize>,
}

/// One model of a [`PriceTable`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PriceEntry {
    /// The model's name.
    pub name: String,
    /// Who sells it (`openai`, `anthropic`, `google`, `mistral`).
    pub vendor: String,
    /// USD per 1M tokens.
    pub price: Price,
    /// Other names of the same model at the same price.
    pub aliases: Vec<String>,
}

/// `prices.toml` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTable {
    date: String,
    sources: BTreeMap<String, String>,
    models: BTreeMap<String, BTreeMap<String, RawEntry>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawEntry {
    input: f64,
    output: f64,
    input_cache_read: Option<f64>,
    input_cache_write: Option<f64>,
    #[serde(default)]
    aliases: Vec<String>,
}

impl PriceTable {
    /// The table shipped with this traceval.
    pub(crate) fn builtin() -> &'static PriceTable {
        &BUILTIN
    }

    /// Parses a table in the format of `prices.toml`: the structure, that every vendor has a
    /// source, and that no name is listed twice. Values are checked by the unit tests.
    fn parse(text: &str) -> Result<PriceTable, String> {
        let raw: RawTable = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut entries = Vec::new();
        let mut by_name = BTreeMap::new();
        for (vendor, models) in raw.models {
            if !raw.sources.contains_key(&vendor) {
                return Err(format!("vendor `{vendor}` has no entry in `sources`"));
            }
            for (name, e) in models {
                let i = entries.len();
                for n in std::iter::once(&name).chain(&e.aliases) {
                    if by_name.insert(n.clone(), i).is_some() {
                        return Err(format!("`{n}` is listed twice"));
                    }
                }
                entries.push(PriceEntry {
                    name,
                    vendor: vendor.clone(),
                    price: Price {
                        input: e.input,
                        output: e.output,
                        input_cache_read: e.input_cache_read,
                        input_cache_write: e.input_cache_write,
                    },
                    aliases: e.aliases,
                });
            }
        }
        Ok(PriceTable {
            date: raw.date,
            sources: raw.sources,
            entries,
            by_name,
        })
    }

    /// When the prices were taken from the vendors' pages (`YYYY-MM`).
    pub(crate) fn date(&self) -> &str {
        &self.date
    }

    /// The pricing page of each vendor, by vendor.
    #[cfg(test)]
    pub(crate) fn sources(&self) -> &BTreeMap<String, String> {
        &self.sources
    }

    /// The sources as one line, for reports.
    pub(crate) fn source(&self) -> String {
        let pages: Vec<&str> = self.sources.values().map(String::as_str).collect();
        format!(
            "traceval built-in price table, from the vendors' pricing pages: {}",
            pages.join(", ")
        )
    }

    /// Every model, by vendor then name.
    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[PriceEntry] {
        &self.entries
    }

    /// The entry pricing `model`, under the rules of the module docs.
    pub(crate) fn lookup(&self, model: &str) -> Option<&PriceEntry> {
        let name = without_provider(model);
        if let Some(&i) = self.by_name.get(name) {
            return Some(&self.entries[i]);
        }
        self.by_name
            .iter()
            .filter(|(n, _)| {
                name.strip_prefix(n.as_str())
                    .is_some_and(|rest| SNAPSHOT_TAGS.is_match(rest))
            })
            .max_by_key(|(n, _)| n.len())
            .map(|(_, &i)| &self.entries[i])
    }
}

/// `model` without a provider prefix: the part after its last `/` (`openai/gpt-4o` →
/// `gpt-4o`, `models/gemini-1.5-pro` → `gemini-1.5-pro`), or all of it when that part is empty.
pub(crate) fn without_provider(model: &str) -> &str {
    match model.rsplit_once('/') {
        Some((_, name)) if !name.is_empty() => name,
        _ => model,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> &'static PriceTable {
        PriceTable::builtin()
    }

    #[test]
    fn builtin_table_is_complete_and_sane() {
        let t = table();
        // Dated to the month, as precise as the provenance allows.
        let date = Regex::new(r"^20\d\d-(0[1-9]|1[0-2])$").unwrap();
        assert!(date.is_match(t.date()), "date {:?}", t.date());
        let vendors = ["anthropic", "google", "mistral", "openai"];
        assert_eq!(t.sources().keys().collect::<Vec<_>>(), vendors);
        for (vendor, url) in t.sources() {
            assert!(url.starts_with("https://"), "{vendor}: {url}");
            let n = t.entries().iter().filter(|e| &e.vendor == vendor).count();
            assert!(n >= 5, "{vendor} has {n} models");
        }
        let name = Regex::new(r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$").unwrap();
        for e in t.entries() {
            let p = e.price;
            let what = &e.name;
            for n in std::iter::once(&e.name).chain(&e.aliases) {
                assert!(name.is_match(n), "{what}: bad name {n:?}");
            }
            let all = [
                Some(p.input),
                Some(p.output),
                p.input_cache_read,
                p.input_cache_write,
            ];
            for v in all.into_iter().flatten() {
                // Finite, positive, and per 1M tokens: a per-1K or per-token figure would be
                // off by 1000 one way or the other.
                assert!(v.is_finite() && v > 0.0 && v <= 1000.0, "{what}: {v}");
            }
            assert!(p.input >= 0.01, "{what}: input {} per 1M", p.input);
            assert!(p.output >= p.input, "{what}: output below input");
            if let Some(read) = p.input_cache_read {
                assert!(read < p.input, "{what}: a cache read must cost less");
            }
            if let Some(write) = p.input_cache_write {
                assert!(write > p.input, "{what}: a cache write costs extra");
            }
            // Each vendor's own rules, so a typo in one number stands out.
            let ratio = |v: Option<f64>| v.map(|v| (v / p.input * 1000.0).round() / 1000.0);
            match e.vendor.as_str() {
                "openai" => {
                    assert_eq!(p.input_cache_write, None, "{what}: OpenAI bills no writes");
                    if let Some(r) = ratio(p.input_cache_read) {
                        assert!([0.1, 0.25, 0.5].contains(&r), "{what}: cache read × {r}");
                    }
                }
                "anthropic" if what == "claude-3-haiku" => {
                    assert_eq!(
                        (p.input_cache_read, p.input_cache_write),
                        (Some(0.03), Some(0.30))
                    );
                }
                "anthropic" => {
                    assert_eq!(ratio(p.input_cache_read), Some(0.1), "{what}");
                    assert_eq!(ratio(p.input_cache_write), Some(1.25), "{what}");
                }
                "google" | "mistral" => {
                    assert_eq!(
                        (p.input_cache_read, p.input_cache_write),
                        (None, None),
                        "{what}"
                    );
                }
                other => panic!("{what}: unknown vendor {other}"),
            }
        }
    }

    #[test]
    fn the_common_models_of_each_vendor_are_priced() {
        let names = [
            "gpt-4o",
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-4.1-mini",
            "gpt-4.1-nano",
            "o1",
            "o1-mini",
            "o3",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "gpt-5-nano",
            "claude-3-5-haiku-latest",
            "claude-3-5-sonnet-latest",
            "claude-3-7-sonnet-latest",
            "claude-sonnet-4-0",
            "claude-opus-4-0",
            "claude-opus-4-1",
            "claude-haiku-4-5",
            "claude-sonnet-4-5",
            "gemini-1.5-pro",
            "gemini-1.5-flash",
            "gemini-2.0-flash",
            "gemini-2.0-flash-lite",
            "gemini-2.5-pro",
            "gemini-2.5-flash",
            "gemini-2.5-flash-lite",
            "mistral-large-latest",
            "mistral-medium-latest",
            "mistral-small-latest",
            "codestral-latest",
            "ministral-8b-latest",
            "ministral-3b-latest",
        ];
        for n in names {
            assert!(table().lookup(n).is_some(), "{n} is not priced");
        }
    }

    #[test]
    fn real_model_names_find_their_entry() {
        // (name as a span reports it, entry that prices it)
        let cases = [
            // tests/fixtures: request and response model of every OpenAI trace, and the
            // example of docs/reference/suite.md.
            ("gpt-4o-mini", Some("gpt-4o-mini")),
            ("gpt-4o-mini-2024-07-18", Some("gpt-4o-mini")),
            // Dated snapshots, dashed dates and undashed ones.
            ("gpt-4o-2024-08-06", Some("gpt-4o")),
            ("gpt-4o-2024-11-20", Some("gpt-4o")),
            ("gpt-4o-2024-05-13", Some("gpt-4o-2024-05-13")), // its own, older price
            ("gpt-4.1-mini-2025-04-14", Some("gpt-4.1-mini")),
            ("o3-mini-2025-01-31", Some("o3-mini")),
            ("o3-2025-04-16", Some("o3")),
            ("gpt-5-2025-08-07", Some("gpt-5")),
            ("gpt-5-chat-latest", Some("gpt-5")),
            ("claude-3-5-sonnet-20241022", Some("claude-3-5-sonnet")),
            ("claude-3-5-sonnet-20240620", Some("claude-3-5-sonnet")),
            ("claude-3-5-haiku-20241022", Some("claude-3-5-haiku")),
            ("claude-3-7-sonnet-20250219", Some("claude-3-7-sonnet")),
            ("claude-sonnet-4-20250514", Some("claude-sonnet-4")),
            ("claude-opus-4-20250514", Some("claude-opus-4")),
            ("claude-opus-4-1-20250805", Some("claude-opus-4-1")),
            ("claude-sonnet-4-5-20250929", Some("claude-sonnet-4-5")),
            ("claude-haiku-4-5-20251001", Some("claude-haiku-4-5")),
            ("claude-3-haiku-20240307", Some("claude-3-haiku")),
            // Vertex AI spells Claude snapshots with `@`.
            ("claude-sonnet-4@20250514", Some("claude-sonnet-4")),
            ("claude-3-5-sonnet-v2@20241022", Some("claude-3-5-sonnet")),
            // Provider prefixes.
            ("openai/gpt-4o", Some("gpt-4o")),
            ("models/gemini-1.5-pro", Some("gemini-1.5-pro")),
            (
                "anthropic/claude-3-5-haiku-20241022",
                Some("claude-3-5-haiku"),
            ),
            ("mistral/mistral-large-latest", Some("mistral-large-2411")),
            // Google's version tags.
            ("gemini-2.0-flash-001", Some("gemini-2.0-flash")),
            ("gemini-2.0-flash-lite-001", Some("gemini-2.0-flash-lite")),
            ("gemini-1.5-pro-002", Some("gemini-1.5-pro")),
            ("gemini-1.5-flash-latest", Some("gemini-1.5-flash")),
            ("gemini-1.5-flash-8b", Some("gemini-1.5-flash-8b")),
            ("gemini-2.5-flash-lite", Some("gemini-2.5-flash-lite")),
            // Mistral aliases and snapshots.
            ("mistral-large-latest", Some("mistral-large-2411")),
            ("mistral-large-2407", Some("mistral-large-2411")),
            ("mistral-small-2503", Some("mistral-small-2506")),
            ("codestral-2501", Some("codestral-2508")),
            ("ministral-8b-2410", Some("ministral-8b-2410")),
            // Unpriced rather than priced as a shorter name.
            ("gpt-4o-realtime-preview", None),
            ("gpt-4o-mini-search-preview", None),
            ("o1-preview", None),
            ("claude-opus-4-5-20251101", None),
            ("gemini-2.5-pro-preview-06-05", None),
            ("gemini-2.0-flash-exp", None),
            ("mistral-small-2409", None), // older snapshot, other price
            ("mistral-large", None),
            ("gpt-4", None),
            ("llama-3.1-70b-instruct", None),
            ("GPT-4o", None),
            ("gpt-4o/", None),
            ("", None),
        ];
        for (model, entry) in cases {
            let got = table().lookup(model).map(|e| e.name.as_str());
            assert_eq!(got, entry, "{model}");
        }
    }

    #[test]
    fn provider_prefixes_are_dropped() {
        let cases = [
            ("openai/gpt-4o", "gpt-4o"),
            ("openrouter/openai/gpt-4o", "gpt-4o"),
            ("models/gemini-1.5-pro", "gemini-1.5-pro"),
            ("gpt-4o", "gpt-4o"),
            ("gpt-4o/", "gpt-4o/"),
            ("", ""),
        ];
        for (model, name) in cases {
            assert_eq!(without_provider(model), name, "{model}");
        }
    }

    #[test]
    fn a_bad_table_is_refused() {
        let head = "date = \"2025-10\"\n[sources]\nopenai = \"https://x\"\n";
        let cases = [
            (
                format!(
                    "{head}[models.openai.a]\ninput = 1\noutput = 1\n[models.openai.b]\ninput = 1\noutput = 1\naliases = [\"a\"]\n"
                ),
                "`a` is listed twice",
            ),
            (
                format!("{head}[models.acme.a]\ninput = 1\noutput = 1\n"),
                "vendor `acme` has no entry in `sources`",
            ),
            (
                format!("{head}[models.openai.a]\ninput = 1\noutput = 1\ncache-read = 1\n"),
                "unknown field `cache-read`",
            ),
            (
                format!("{head}[models.openai.a]\ninput = 1\n"),
                "missing field `output`",
            ),
        ];
        for (text, message) in cases {
            let err = PriceTable::parse(&text).unwrap_err();
            assert!(err.contains(message), "{err}");
        }
        assert!(PriceTable::parse(TABLE).is_ok());
    }

    #[test]
    fn the_source_names_every_page() {
        let source = table().source();
        for url in table().sources().values() {
            assert!(source.contains(url.as_str()), "{source}");
        }
    }
}
