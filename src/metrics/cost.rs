//! The cost of a trial in USD, from its LLM calls and a price table
//! (`docs/reference/metrics.md#cost`).
//!
//! Rules:
//! - a cost recorded on a call's span wins over any price;
//! - otherwise the call is priced by its model from [`Pricing`]: the user's `[pricing."MODEL"]`
//!   entries (a suite's over `traceval.toml`'s) looked up with [`price_for`], then the built-in
//!   [`PriceTable`], the most specific entry winning ([`Pricing::price`]);
//! - a call that used tokens but has neither makes the whole trial *unpriced*: its cost is
//!   unknown and reported as such, never summed as $0 (an unpriced model would otherwise look
//!   free next to a priced one);
//! - a call that reports no tokens (or only zeros) and no cost costs exactly 0 at any price, so
//!   it is never what makes a trial unpriced.
//!
//! Input tokens include the cached ones. The OTel GenAI conventions ask
//! `gen_ai.usage.input_tokens` to count all input tokens, cache reads and writes included
//! (OpenAI reports it that way, and instrumentations sum Anthropic's parts into it), with
//! `gen_ai.usage.cache_read.input_tokens` and `gen_ai.usage.cache_creation.input_tokens` as
//! breakdowns. So cache reads are billed at the cache-read price, cache writes at the
//! cache-write price, and only the rest of the input tokens at the input price. When a
//! breakdown exceeds the input count (an instrumentation that reports the parts separately),
//! the rest is clamped to 0 rather than going negative: every token reported is billed once,
//! at its own price, and none twice.

use std::collections::{BTreeMap, BTreeSet};

pub(crate) use super::price_table::Price;
use super::price_table::{PriceTable, without_provider};
use crate::trace::genai::LlmCall;

/// Listed in [`Cost::unpriced_models`] for an unpriced call that names no model.
pub(crate) const UNNAMED_MODEL: &str = "(unnamed model)";

/// A recorded cost at or above this (USD) is not believed; the call is priced as if it had none.
const MAX_RECORDED_USD: f64 = 1e12;

/// Prices are per this many tokens.
const PER_TOKENS: f64 = 1_000_000.0;

/// The price of `model`: its own entry, else the entry of the longest key that `model` starts
/// with followed by `-`.
///
/// The prefix rule lets one entry price a model's dated snapshots: `gpt-4o-mini-2024-07-18`
/// finds `gpt-4o-mini`. The longest key wins, so with both `gpt-4o` and `gpt-4o-mini` in the
/// table that snapshot gets the `gpt-4o-mini` price. A family name is a prefix too: with only
/// `gpt-4o` in the table, `gpt-4o-mini` gets the `gpt-4o` price, so a table should list every
/// family it is used with. Names are compared exactly (case included).
#[cfg(test)]
pub(crate) fn price_for<'a>(
    pricing: &'a BTreeMap<String, Price>,
    model: &str,
) -> Option<&'a Price> {
    price_entry(pricing, model).map(|(_, price)| price)
}

/// [`price_for`], with the key that matched.
fn price_entry<'a>(
    pricing: &'a BTreeMap<String, Price>,
    model: &str,
) -> Option<(&'a str, &'a Price)> {
    if let Some((key, price)) = pricing.get_key_value(model) {
        return Some((key, price));
    }
    pricing
        .iter()
        .filter(|(key, _)| {
            !key.is_empty()
                && model
                    .strip_prefix(key.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
        })
        .max_by_key(|(key, _)| key.len())
        .map(|(key, price)| (key.as_str(), price))
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PriceSource {
    /// A `[pricing."MODEL"]` entry of the suite or `traceval.toml`.
    User,
    /// The built-in [`PriceTable`].
    Builtin,
}

/// A model's price and the entry that gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceMatch<'a> {
    /// USD per 1M tokens.
    pub price: &'a Price,
    /// The entry's name (the `[pricing]` key, or the built-in model name).
    pub entry: &'a str,
    /// Which table it is in.
    pub source: PriceSource,
}

/// The prices one suite's trials are costed with, in precedence order: the user's
/// `[pricing."MODEL"]` entries, then the built-in table.
#[derive(Debug, Clone, PartialEq)]
pub struct Pricing {
    user: BTreeMap<String, Price>,
    builtin: Option<&'static PriceTable>,
}

impl Pricing {
    /// The user's entries over the built-in table.
    pub fn new(user: BTreeMap<String, Price>) -> Pricing {
        Pricing {
            user,
            builtin: Some(PriceTable::builtin()),
        }
    }

    /// The user's entries alone: every other model is unpriced.
    pub fn user_only(user: BTreeMap<String, Price>) -> Pricing {
        Pricing {
            user,
            builtin: None,
        }
    }

    /// The user's entries.
    pub fn user(&self) -> &BTreeMap<String, Price> {
        &self.user
    }

    /// The price of `model`, from the most specific entry that names it.
    ///
    /// A user entry matches the name as given or without its provider prefix (`openai/gpt-4o`
    /// → `gpt-4o`), by [`price_for`]'s rule; a built-in entry by [`PriceTable::lookup`]. An
    /// exact user entry wins; otherwise the longer entry name wins, and a user entry wins a
    /// tie. So `[pricing."gpt-4o"]` overrides `gpt-4o` and its dated snapshots, but not
    /// `gpt-4o-mini`, which the built-in table names more precisely: a family entry must not
    /// silently price a sibling model at the family's price.
    pub fn price(&self, model: &str) -> Option<PriceMatch<'_>> {
        let bare = without_provider(model);
        let names: &[&str] = if bare == model {
            &[model]
        } else {
            &[model, bare]
        };
        let user = names.iter().find_map(|name| {
            price_entry(&self.user, name).map(|(entry, price)| PriceMatch {
                price,
                entry,
                source: PriceSource::User,
            })
        });
        if user.is_some_and(|u| names.contains(&u.entry)) {
            return user;
        }
        let builtin = self
            .builtin
            .and_then(|t| t.lookup(model))
            .map(|e| PriceMatch {
                price: &e.price,
                entry: &e.name,
                source: PriceSource::Builtin,
            });
        match (user, builtin) {
            (Some(u), Some(b)) if b.entry.len() > u.entry.len() => Some(b),
            (Some(u), _) => Some(u),
            (None, b) => b,
        }
    }
}

/// An amount in USD for messages: 4 decimals, or 3 significant digits below a cent, so that
/// a small cost never reads as `$0.0000`.
pub(crate) fn format_usd(usd: f64) -> String {
    if !usd.is_finite() || usd == 0.0 || usd.abs() >= 0.01 {
        return format!("${usd:.4}");
    }
    let decimals = ((-usd.abs().log10()).ceil() as usize + 2).min(12);
    format!("${usd:.decimals$}")
}

/// What pricing needs from one LLM call.
///
/// Pass only the calls whose usage counts ([`LlmCall::usage_counted`]), so that totals a
/// wrapper span repeats are not billed twice.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct CallCost<'a> {
    /// The model that answered, else the model asked for.
    pub model: Option<&'a str>,
    /// The model asked for (a deployment or proxy alias, often): a user `[pricing]` entry for
    /// it wins over a built-in price of [`CallCost::model`].
    pub request_model: Option<&'a str>,
    /// Input tokens, cached ones included (see the module docs).
    pub input_tokens: Option<u64>,
    /// Output tokens.
    pub output_tokens: Option<u64>,
    /// Input tokens read from the prompt cache.
    pub cache_read_tokens: Option<u64>,
    /// Input tokens written to the prompt cache.
    pub cache_write_tokens: Option<u64>,
    /// A cost in USD recorded on the span; it wins over the price table. Ignored unless
    /// finite, non-negative and below 10^12 USD (two absurd costs must not sum to infinity).
    pub recorded_usd: Option<f64>,
}

impl<'a> From<&'a LlmCall> for CallCost<'a> {
    fn from(call: &'a LlmCall) -> CallCost<'a> {
        CallCost {
            model: call
                .response_model
                .as_deref()
                .or(call.request_model.as_deref()),
            request_model: call.request_model.as_deref(),
            input_tokens: call.input_tokens,
            output_tokens: call.output_tokens,
            cache_read_tokens: call.cache_read_tokens,
            cache_write_tokens: call.cache_write_tokens,
            recorded_usd: call.cost_usd,
        }
    }
}

impl CallCost<'_> {
    fn recorded(&self) -> Option<f64> {
        // Finite, not negative, and below a trillion dollars: a span can say anything, and
        // two absurd costs must not add up to infinity and pose as a total.
        self.recorded_usd
            .filter(|c| c.is_finite() && (0.0..MAX_RECORDED_USD).contains(c))
    }

    fn uses_tokens(&self) -> bool {
        [
            self.input_tokens,
            self.output_tokens,
            self.cache_read_tokens,
            self.cache_write_tokens,
        ]
        .iter()
        .any(|t| t.is_some_and(|t| t > 0))
    }

    /// The call's cost at `price`, under the cached-token rule of the module docs.
    fn at(&self, price: &Price) -> f64 {
        let cache_read = self.cache_read_tokens.unwrap_or(0);
        let cache_write = self.cache_write_tokens.unwrap_or(0);
        let uncached = self
            .input_tokens
            .unwrap_or(0)
            .saturating_sub(cache_read)
            .saturating_sub(cache_write);
        let output = self.output_tokens.unwrap_or(0);
        (uncached as f64 * price.input
            + cache_read as f64 * price.input_cache_read.unwrap_or(price.input)
            + cache_write as f64 * price.input_cache_write.unwrap_or(price.input)
            + output as f64 * price.output)
            / PER_TOKENS
    }
}

/// The cost of one call in USD: the recorded cost, else its price, else 0 when it used no
/// tokens. `None` when it is unpriced.
pub(crate) fn call_cost(call: &CallCost<'_>, pricing: &Pricing) -> Option<f64> {
    if let Some(usd) = call.recorded() {
        return Some(usd);
    }
    if !call.uses_tokens() {
        return Some(0.0);
    }
    let model = call.model?;
    let found = pricing.price(model);
    // The user priced what they asked for (an Azure deployment, a proxy alias): their price
    // beats ours for what answered, e.g. a negotiated rate.
    if found.is_none_or(|f| f.source == PriceSource::Builtin)
        && let Some(asked) = call.request_model.filter(|&r| r != model)
        && let Some(user) = pricing
            .price(asked)
            .filter(|m| m.source == PriceSource::User)
    {
        return Some(call.at(user.price));
    }
    Some(call.at(found?.price))
}

/// The cost of a trial.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub(crate) struct Cost {
    /// Total USD; `None` when any call is unpriced (the total is unknown, not a lower bound).
    pub usd: Option<f64>,
    /// Models of the unpriced calls, sorted, each once; [`UNNAMED_MODEL`] for a call without
    /// a model name. Empty exactly when `usd` is `Some`.
    pub unpriced_models: Vec<String>,
}

/// The cost of a trial's LLM calls (see the module docs). A trial without calls costs 0.
pub(crate) fn trial_cost(calls: &[CallCost<'_>], pricing: &Pricing) -> Cost {
    let mut usd = 0.0;
    let mut unpriced = BTreeSet::new();
    for call in calls {
        match call_cost(call, pricing) {
            Some(c) => usd += c,
            None => {
                unpriced.insert(call.model.unwrap_or(UNNAMED_MODEL));
            }
        }
    }
    Cost {
        usd: unpriced.is_empty().then_some(usd),
        unpriced_models: unpriced.into_iter().map(str::to_owned).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(input: f64, output: f64) -> Price {
        Price {
            input,
            output,
            ..Price::default()
        }
    }

    fn user_table() -> BTreeMap<String, Price> {
        BTreeMap::from([
            ("gpt-4o".to_owned(), price(2.5, 10.0)),
            (
                "gpt-4o-mini".to_owned(),
                Price {
                    input: 0.15,
                    output: 0.60,
                    input_cache_read: Some(0.075),
                    input_cache_write: None,
                },
            ),
            (
                "claude-sonnet-4".to_owned(),
                Price {
                    input: 3.0,
                    output: 15.0,
                    input_cache_read: Some(0.3),
                    input_cache_write: Some(3.75),
                },
            ),
        ])
    }

    /// The table above alone: the rules, without the built-in prices.
    fn table() -> Pricing {
        Pricing::user_only(user_table())
    }

    fn call(model: &str, input: u64, output: u64) -> CallCost<'_> {
        CallCost {
            model: Some(model),
            input_tokens: Some(input),
            output_tokens: Some(output),
            ..CallCost::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn price_lookup_prefers_exact_then_longest_dash_prefix() {
        let t = user_table();
        // (model, key whose price it gets)
        let cases = [
            ("gpt-4o", Some("gpt-4o")),
            ("gpt-4o-mini", Some("gpt-4o-mini")), // exact beats the `gpt-4o` prefix
            ("gpt-4o-mini-2024-07-18", Some("gpt-4o-mini")), // longest of two prefixes
            ("gpt-4o-2024-08-06", Some("gpt-4o")),
            ("claude-sonnet-4-20250514", Some("claude-sonnet-4")),
            ("gpt-4", None),     // shorter than every key
            ("gpt-4omni", None), // a prefix, but not followed by `-`
            ("GPT-4o", None),    // case matters
            ("", None),
        ];
        for (model, key) in cases {
            assert_eq!(price_for(&t, model), key.map(|k| &t[k]), "{model}");
        }
        // With only the family's parent priced, the prefix rule applies (documented).
        let parent_only = BTreeMap::from([("gpt-4o".to_owned(), price(2.5, 10.0))]);
        assert_eq!(
            price_for(&parent_only, "gpt-4o-mini"),
            Some(&parent_only["gpt-4o"])
        );
        // An empty key is not a family name: it would otherwise price every name starting `-`.
        let empty_key = BTreeMap::from([(String::new(), price(1.0, 1.0))]);
        assert_eq!(price_for(&empty_key, "-x"), None);
    }

    #[test]
    fn trial_costs() {
        let t = table();
        let recorded = CallCost {
            recorded_usd: Some(0.5),
            ..call("gpt-4o", 1_000_000, 1_000_000)
        };
        let unknown = call("llama-3", 10, 10);
        let unnamed = CallCost {
            model: None,
            ..call("", 10, 10)
        };
        let no_usage = CallCost {
            model: Some("llama-3"),
            ..CallCost::default()
        };
        let zero_usage = call("llama-3", 0, 0);
        // (calls, usd, unpriced models)
        let cases: Vec<(Vec<CallCost<'_>>, Option<f64>, Vec<&str>)> = vec![
            (vec![], Some(0.0), vec![]),
            // 1000 in × $2.5/M + 500 out × $10/M = 0.0025 + 0.005
            (vec![call("gpt-4o", 1000, 500)], Some(0.0075), vec![]),
            // By prefix: 2000 × 0.15/M + 1000 × 0.60/M = 0.0003 + 0.0006
            (
                vec![call("gpt-4o-mini-2024-07-18", 2000, 1000)],
                Some(0.0009),
                vec![],
            ),
            // Recorded wins: 0.5, not 2.5 + 10.
            (vec![recorded], Some(0.5), vec![]),
            // Recorded cost prices a model missing from the table.
            (
                vec![CallCost {
                    recorded_usd: Some(0.25),
                    ..unknown
                }],
                Some(0.25),
                vec![],
            ),
            // 0.0075 + 0.5 summed over calls.
            (
                vec![call("gpt-4o", 1000, 500), recorded],
                Some(0.5075),
                vec![],
            ),
            // One unpriced call makes the trial unpriced, never $0 for that part.
            (
                vec![call("gpt-4o", 1000, 500), unknown],
                None,
                vec!["llama-3"],
            ),
            (
                vec![unknown, unnamed, unknown, call("mistral", 1, 0)],
                None,
                vec![UNNAMED_MODEL, "llama-3", "mistral"],
            ),
            // No usage, or only zeros, and no cost: free, and not unpriced.
            (vec![no_usage, zero_usage], Some(0.0), vec![]),
            // A bad recorded cost is ignored: the table prices it.
            (
                vec![CallCost {
                    recorded_usd: Some(f64::NAN),
                    ..call("gpt-4o", 1000, 0)
                }],
                Some(0.0025),
                vec![],
            ),
            (
                vec![CallCost {
                    recorded_usd: Some(-1.0),
                    ..unknown
                }],
                None,
                vec!["llama-3"],
            ),
            // Absurd recorded costs are not believed, so they cannot sum to infinity.
            (
                vec![
                    CallCost {
                        recorded_usd: Some(1e308),
                        ..call("gpt-4o", 1000, 0)
                    };
                    2
                ],
                Some(0.005),
                vec![],
            ),
        ];
        for (i, (calls, usd, unpriced)) in cases.into_iter().enumerate() {
            let cost = trial_cost(&calls, &t);
            match (cost.usd, usd) {
                (Some(got), Some(want)) => assert!(close(got, want), "case {i}: {got} != {want}"),
                (got, want) => assert_eq!(got, want, "case {i}"),
            }
            assert_eq!(cost.unpriced_models, unpriced, "case {i}");
        }
    }

    #[test]
    fn cached_tokens_are_billed_at_their_own_price() {
        let t = table();
        let cached = |model, input, read, write| CallCost {
            cache_read_tokens: read,
            cache_write_tokens: write,
            ..call(model, input, 0)
        };
        // (call, usd)
        let cases = [
            // gpt-4o-mini: 10_000 in of which 8_000 cached:
            // 2_000 × 0.15/M + 8_000 × 0.075/M = 0.0003 + 0.0006 = 0.0009
            (cached("gpt-4o-mini", 10_000, Some(8_000), None), 0.0009),
            // gpt-4o has no cache-read price: cached tokens cost the input price,
            // 10_000 × 2.5/M = 0.025, as if there were no cache.
            (cached("gpt-4o", 10_000, Some(8_000), None), 0.025),
            // claude-sonnet-4: 10_000 in = 1_000 uncached + 6_000 read + 3_000 written:
            // 1_000 × 3/M + 6_000 × 0.3/M + 3_000 × 3.75/M = 0.003 + 0.0018 + 0.01125 = 0.01605
            (
                cached("claude-sonnet-4", 10_000, Some(6_000), Some(3_000)),
                0.01605,
            ),
            // Breakdown above the input count: the rest clamps to 0, each part billed once:
            // 100 × 0.3/M + 50 × 3.75/M = 0.00003 + 0.0001875 = 0.0002175
            (
                cached("claude-sonnet-4", 20, Some(100), Some(50)),
                0.000_217_5,
            ),
            // Cache reads without an input count still cost (read price): 1_000 × 0.075/M.
            (
                CallCost {
                    input_tokens: None,
                    ..cached("gpt-4o-mini", 0, Some(1_000), None)
                },
                0.000_075,
            ),
        ];
        for (i, (c, usd)) in cases.iter().enumerate() {
            let got = trial_cost(std::slice::from_ref(c), &t).usd.unwrap();
            assert!(close(got, *usd), "case {i}: {got} != {usd}");
        }
    }

    #[test]
    fn user_entries_win_over_the_builtin_table_which_wins_over_nothing() {
        let user = BTreeMap::from([
            // A family entry: it prices `gpt-4o` and its snapshots, not the built-in's more
            // specific `gpt-4o-mini`.
            ("gpt-4o".to_owned(), price(1.0, 2.0)),
            ("my-finetune".to_owned(), price(4.0, 8.0)),
            // Same length as the built-in entry it overrides: the user's wins the tie.
            ("claude-3-5-haiku".to_owned(), price(0.5, 1.0)),
        ]);
        let p = Pricing::new(user);
        // (model, entry, source)
        let cases = [
            ("gpt-4o", Some(("gpt-4o", PriceSource::User))),
            ("gpt-4o-mini", Some(("gpt-4o-mini", PriceSource::Builtin))),
            (
                "gpt-4o-mini-2024-07-18",
                Some(("gpt-4o-mini", PriceSource::Builtin)),
            ),
            ("gpt-4o-2024-08-06", Some(("gpt-4o", PriceSource::User))),
            ("openai/gpt-4o", Some(("gpt-4o", PriceSource::User))),
            (
                "openai/gpt-4o-mini",
                Some(("gpt-4o-mini", PriceSource::Builtin)),
            ),
            (
                "claude-3-5-haiku-20241022",
                Some(("claude-3-5-haiku", PriceSource::User)),
            ),
            // A user entry the built-in table knows nothing about.
            ("gpt-4o-audio-preview", Some(("gpt-4o", PriceSource::User))),
            ("my-finetune-v3", Some(("my-finetune", PriceSource::User))),
            (
                "claude-sonnet-4-20250514",
                Some(("claude-sonnet-4", PriceSource::Builtin)),
            ),
            (
                "models/gemini-1.5-pro",
                Some(("gemini-1.5-pro", PriceSource::Builtin)),
            ),
            ("llama-3.1-70b", None),
        ];
        for (model, want) in cases {
            let got = p.price(model).map(|m| (m.entry, m.source));
            assert_eq!(got, want, "{model}");
        }
        assert_eq!(
            p.price("gpt-4o-2024-08-06").unwrap().price,
            &price(1.0, 2.0)
        );
        // Without user entries the built-in one prices it; without either, nothing does.
        let builtin = Pricing::new(BTreeMap::new());
        let mini = builtin.price("gpt-4o-mini-2024-07-18").unwrap();
        assert_eq!((mini.price.input, mini.price.output), (0.15, 0.60));
        assert_eq!(
            Pricing::user_only(BTreeMap::new()).price("gpt-4o-mini"),
            None
        );
    }

    #[test]
    fn calls_cost_the_builtin_prices() {
        let p = Pricing::new(BTreeMap::new());
        let cached = |model, input, output, read, write| CallCost {
            cache_read_tokens: read,
            cache_write_tokens: write,
            ..call(model, input, output)
        };
        // (call, usd), each computed by hand from prices.toml
        let cases = [
            // tests/fixtures/oai_v2/weather: 285 in, 30 out at gpt-4o-mini's 0.15 / 0.60:
            // 42.75e-6 + 18e-6 (the fixture's cost_usd_reference)
            (call("gpt-4o-mini-2024-07-18", 285, 30), 6.075e-5),
            // claude-sonnet-4 at 3 / 15, cache read 0.30, write 3.75: 10_000 in = 1_000 plain
            // + 6_000 read + 3_000 written, 2_000 out:
            // (1_000×3 + 6_000×0.3 + 3_000×3.75 + 2_000×15) / 1M = 46_050 / 1M
            (
                cached(
                    "claude-sonnet-4-20250514",
                    10_000,
                    2_000,
                    Some(6_000),
                    Some(3_000),
                ),
                0.046_05,
            ),
            // gpt-4.1 at 2 / 8, cache read 0.50: (2_000×2 + 8_000×0.5 + 500×8) / 1M
            (
                cached("gpt-4.1-2025-04-14", 10_000, 500, Some(8_000), None),
                0.012,
            ),
            // OpenAI has no cache-write price: written tokens cost the input price,
            // 1_000 × 2.5 / 1M.
            (cached("gpt-4o", 1_000, 0, None, Some(1_000)), 0.0025),
            // Gemini 2.5 Pro at its base tier, 1.25 / 10; cached tokens at the input price (the
            // table has no cache-read price for Google): (4_000×1.25 + 1_000×10) / 1M
            (
                cached("models/gemini-2.5-pro", 4_000, 1_000, Some(3_000), None),
                0.015,
            ),
            // mistral-large-latest at 2 / 6: (1_000×2 + 1_000×6) / 1M
            (call("mistral-large-latest", 1_000, 1_000), 0.008),
        ];
        for (i, (c, usd)) in cases.iter().enumerate() {
            let got = call_cost(c, &p).unwrap();
            assert!(close(got, *usd), "case {i}: {got} != {usd}");
        }
        // A recorded cost still wins over the built-in price.
        let recorded = CallCost {
            recorded_usd: Some(0.5),
            ..call("gpt-4o", 1_000, 1_000)
        };
        assert_eq!(call_cost(&recorded, &p), Some(0.5));
        // A model in neither table is unpriced, never $0.
        let cost = trial_cost(&[call("gpt-4o", 1, 1), call("llama-3", 1, 1)], &p);
        assert_eq!(
            (cost.usd, cost.unpriced_models),
            (None, vec!["llama-3".to_owned()])
        );
    }

    #[test]
    fn usd_amounts_keep_three_significant_digits_below_a_cent() {
        let cases = [
            (0.0, "$0.0000"),
            (0.0379, "$0.0379"),
            (1.5, "$1.5000"),
            (0.01, "$0.0100"),
            (0.001, "$0.00100"),
            (6.08e-5, "$0.0000608"),
            (0.000_123_4, "$0.000123"),
            (1e-20, "$0.000000000000"),
        ];
        for (usd, text) in cases {
            assert_eq!(format_usd(usd), text, "{usd}");
        }
    }

    #[test]
    fn a_user_price_for_the_requested_model_beats_the_builtin_one_for_the_answer() {
        let user = BTreeMap::from([("my-deploy".to_owned(), price(1.0, 1.0))]);
        let p = Pricing::new(user);
        let azure = CallCost {
            request_model: Some("my-deploy"),
            ..call("gpt-4o-2024-11-20", 1_000_000, 0)
        };
        assert_eq!(call_cost(&azure, &p), Some(1.0));
        // Without the user entry the answer's built-in price applies (gpt-4o at 2.50 / 10).
        let plain = Pricing::new(BTreeMap::new());
        assert_eq!(call_cost(&azure, &plain), Some(2.5));
        // A user entry for the answering model still wins over one for the request.
        let both = Pricing::new(BTreeMap::from([
            ("my-deploy".to_owned(), price(1.0, 1.0)),
            ("gpt-4o".to_owned(), price(3.0, 3.0)),
        ]));
        assert_eq!(call_cost(&azure, &both), Some(3.0));
    }

    #[test]
    fn huge_token_counts_do_not_panic() {
        let t = table();
        let c = CallCost {
            cache_read_tokens: Some(u64::MAX),
            cache_write_tokens: Some(u64::MAX),
            ..call("gpt-4o", u64::MAX, u64::MAX)
        };
        let usd = trial_cost(&[c, c], &t).usd.unwrap();
        assert!(usd.is_finite() && usd > 0.0);
    }

    #[test]
    fn call_from_llm_call_prefers_the_response_model() {
        let mut llm = LlmCall {
            node: crate::trace::NodeId(0),
            provider: None,
            request_model: Some("gpt-4o".to_owned()),
            response_model: Some("gpt-4o-2024-08-06".to_owned()),
            input_tokens: Some(3),
            output_tokens: Some(4),
            cache_read_tokens: Some(1),
            cache_write_tokens: None,
            cost_usd: Some(0.1),
            finish_reasons: Vec::new(),
            duration_ns: 0,
            error: None,
            counted: true,
            usage_counted: true,
            is_retry: false,
        };
        let c = CallCost::from(&llm);
        assert_eq!(c.model, Some("gpt-4o-2024-08-06"));
        assert_eq!(
            (
                c.input_tokens,
                c.output_tokens,
                c.cache_read_tokens,
                c.recorded_usd
            ),
            (Some(3), Some(4), Some(1), Some(0.1))
        );
        llm.response_model = None;
        assert_eq!(CallCost::from(&llm).model, Some("gpt-4o"));
    }
}
