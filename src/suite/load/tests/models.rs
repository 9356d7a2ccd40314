//! `[model.NAME]`, `[pricing."MODEL"]` and `models`.

use super::*;

/// Suites that must not load: models.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // Models and prices.
        bad(
            format!("[model.m]\nprovider = \"opanai\"\n{BASE}"),
            "suite.toml:2:12: `model.m.provider` must be one of `scripted`, `openai`, `anthropic`, found `opanai`",
        )
        .hint("did you mean `openai`?"),
        bad(
            format!("[model.m]\nprovider = \"scripted\"\nscript = \"s.toml\"\nbase-url = \"http://x\"\n{BASE}"),
            "suite.toml:4:12: invalid `model.m.base-url`: does not apply to provider `scripted`",
        ),
        bad(
            format!("[model.m]\nprovider = \"anthropic\"\norganization = \"o\"\n{BASE}"),
            "suite.toml:3:16: invalid `model.m.organization`: does not apply to provider `anthropic`",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nmax-tokens = 5\n{BASE}"),
            "suite.toml:3:14: invalid `model.m.max-tokens`: does not apply to provider `openai`",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nheaders = {{ \"a b\" = \"x\" }}\n{BASE}"),
            "suite.toml:3:11: invalid `model.m.headers`: `a b` is not a valid HTTP header name",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\ntimeout = \"soon\"\n{BASE}"),
            "suite.toml:3:11: invalid `model.m.timeout`: `soon` is not a duration (expected number at 0); write e.g. \"30s\", \"1500ms\" or \"2m\"",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nscript = \"s.toml\"\n{BASE}"),
            "suite.toml:3:10: invalid `model.m.script`: does not apply to provider `openai`",
        ),
        bad(
            format!("[model.m]\nprovider = \"scripted\"\n{BASE}"),
            "suite.toml:1:1: missing required key `model.m.script`: a scripted model answers from a script file",
        ),
        bad(
            format!("[model.m]\nprovider = \"openai\"\nbase-url = \"api.openai.com\"\n{BASE}"),
            "suite.toml:3:12: invalid `model.m.base-url`: `api.openai.com` is not an http:// or https:// URL",
        ),
        bad(
            format!("[pricing.\"gpt-4.1\"]\ninput = -1\noutput = 1\n{BASE}"),
            "suite.toml:2:9: invalid `pricing.\"gpt-4.1\".input`: must be a price in USD per 1M tokens, 0 or more, found -1",
        ),
        bad(
            format!("[pricing.m]\ninput = 1\noutput = nan\n{BASE}"),
            "suite.toml:3:10: invalid `pricing.m.output`: must be a price in USD per 1M tokens, 0 or more, found NaN",
        ),
        bad(
            format!("[pricing.m]\ninput = 1\n{BASE}"),
            "suite.toml:1:1: missing required key `pricing.m.output`",
        ),
        bad(
            format!("models = [\"a\", \"a\"]\n{BASE}"),
            "suite.toml:1:16: invalid `models[1]`: `a` is listed twice",
        ),
        // An empty list would silently run as `default`, with no model served.
        bad(
            format!("models = []\n{BASE}"),
            "suite.toml:1:10: invalid `models`: must name at least one model (leave it out to run the agent once per trial as `default`, with no model served)",
        ),
        bad(
            BASE.replace("[agent]\n", "[agent]\nenv = { \"A=B\" = \"x\" }\n"),
            "suite.toml:2:17: invalid `agent.env.\"A=B\"`: an environment variable name must be non-empty, without `=`",
        ),
    ]
}
