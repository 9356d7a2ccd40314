//! Cost end to end: the builtin agent against scripted models that answer as real model names,
//! priced by the built-in table or by `[pricing]` entries, graded by `expect.max-cost`.

use serde_json::Value;

use crate::support::{Run, TestProject, root};

const SUITE: &str = r#"models = ["mini", "llama"]
trials = 2

[agent]
kind = "builtin"
max-turns = 3

[[tool]]
name = "get_weather"
returns = "18 C and sunny"

[model.mini]
provider = "scripted"
script = "scripts/mini.toml"

[model.llama]
provider = "scripted"
script = "scripts/llama.toml"

[[case]]
id = "cheap-enough"
input = "What's the weather in Paris?"
[case.expect]
max-cost = 0.01

[[case]]
id = "too-dear"
input = "The weather in Paris, please"
[case.expect]
max-cost = 0.0001
"#;

/// Two calls per trial: a tool call with 1000 of its 1200 input tokens read from the cache,
/// then the answer.
const RULES: &str = r#"
[[rule]]
when.turn = 0
tool-calls = [{ name = "get_weather", args = { city = "Paris" } }]
usage = { input = 1200, output = 20, cache-read = 1000 }

[[rule]]
when.tool-called = "get_weather"
text = "Paris: 18 C and sunny."
usage = { input = 1300, output = 12 }
"#;

fn project(name: &str) -> TestProject {
    let p = TestProject::new(name);
    p.file("suites/weather.toml", SUITE)
        .file(
            "suites/scripts/mini.toml",
            &format!("model = \"gpt-4o-mini-2024-07-18\"\n{RULES}"),
        )
        .file(
            "suites/scripts/llama.toml",
            &format!("model = \"llama-3.1-70b-instruct\"\n{RULES}"),
        );
    p
}

fn trials<'a>(run: &'a Run, model: &str, case: &str) -> Vec<&'a Value> {
    let found: Vec<&Value> = run.report()["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["model"] == model && t["case"] == case)
        .collect();
    assert_eq!(found.len(), 2, "{model} {case}: {}", run.stderr);
    found
}

fn max_cost(trial: &Value) -> (bool, String) {
    let check = trial["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "max-cost")
        .unwrap_or_else(|| panic!("no max-cost check in {trial:#}"));
    (
        check["passed"].as_bool().unwrap(),
        check["message"].as_str().unwrap().to_owned(),
    )
}

fn model<'a>(run: &'a Run, name: &str) -> &'a Value {
    run.report()["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == name)
        .unwrap()
}

/// The `date` of the built-in price table, read from the data the binary embeds.
fn builtin_table_date() -> String {
    let text = std::fs::read_to_string(root().join("src/metrics/prices.toml")).unwrap();
    let table: toml::Table = text.parse().unwrap();
    table["date"].as_str().unwrap().to_owned()
}

fn close(v: &Value, want: f64) -> bool {
    v.as_f64().is_some_and(|got| (got - want).abs() < 1e-12)
}

#[test]
fn a_real_model_name_is_priced_by_the_builtin_table_and_an_unknown_one_is_unpriced() {
    let p = project("builtin-prices");
    let run = p.run(&["--junit", "out/junit.xml"]);
    // The too-dear case and every unpriced trial fail max-cost.
    assert_eq!(run.code, 1, "{}", run.stderr);

    let pricing = &run.report()["pricing"];
    assert_eq!(pricing["date"], builtin_table_date().as_str());
    assert!(
        pricing["source"]
            .as_str()
            .unwrap()
            .contains("https://openai.com/api/pricing"),
        "{pricing}"
    );
    assert_eq!(pricing["overrides"], serde_json::json!([]));

    // gpt-4o-mini at 0.15 in, 0.075 cache read, 0.60 out, by hand:
    // call 1: 200 × 0.15 + 1000 × 0.075 + 20 × 0.60 = 117; call 2: 1300 × 0.15 + 12 × 0.60 =
    // 202.2; together 319.2 per 1M tokens.
    let per_trial = 319.2e-6;
    for case in ["cheap-enough", "too-dear"] {
        for t in trials(&run, "mini", case) {
            let m = &t["metrics"];
            assert!(close(&m["cost_usd"], per_trial), "{m}");
            assert_eq!(
                (m["unpriced"].as_bool(), m["cache_read_tokens"].as_u64()),
                (Some(false), Some(1000))
            );
        }
    }
    for t in trials(&run, "mini", "cheap-enough") {
        assert_eq!(
            max_cost(t),
            (true, "cost $0.000319, limit $0.01".to_owned())
        );
        assert_eq!(t["passed"], true);
    }
    for t in trials(&run, "mini", "too-dear") {
        assert_eq!(
            max_cost(t),
            (false, "cost $0.000319, limit $0.0001".to_owned())
        );
    }

    // No price anywhere: unpriced, never $0, and max-cost says why and how to fix it.
    for case in ["cheap-enough", "too-dear"] {
        for t in trials(&run, "llama", case) {
            let m = &t["metrics"];
            assert_eq!(m["cost_usd"], Value::Null, "{m}");
            assert_eq!(m["unpriced"], true);
            assert_eq!(
                m["unpriced_models"],
                serde_json::json!(["llama-3.1-70b-instruct"])
            );
            let (passed, message) = max_cost(t);
            assert!(!passed);
            assert!(
                message.contains(
                    "no price for model `llama-3.1-70b-instruct` (add [pricing.\"llama-3.1-70b-instruct\"]"
                ),
                "{message}"
            );
        }
    }

    let mini = model(&run, "mini");
    assert!(close(&mini["cost_usd"], 4.0 * per_trial), "{mini}");
    let llama = model(&run, "llama");
    assert_eq!(
        (
            &llama["cost_usd"],
            &llama["unpriced_trials"],
            &llama["unpriced_models"]
        ),
        (
            &Value::Null,
            &serde_json::json!(4),
            &serde_json::json!(["llama-3.1-70b-instruct"])
        )
    );

    // The terminal says the same: a cost for one model, why there is none for the other.
    assert!(run.stderr.contains("· cost $0.00128\n"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("· cost unpriced in 4 of 4 trials (no price for llama-3.1-70b-instruct)\n"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  ✗ max-cost: cost unknown, so the limit $0.01 cannot be checked: no price"),
        "{}",
        run.stderr
    );
    // So does JUnit, through the failed check.
    let junit = std::fs::read_to_string(p.report_path().with_file_name("junit.xml")).unwrap();
    assert!(junit.contains("max-cost: cost unknown"), "{junit}");
}

#[test]
fn pricing_entries_win_over_the_builtin_table() {
    let p = project("user-prices");
    // An entry in traceval.toml beats the built-in `gpt-4o-mini` (same name: the user's wins),
    // while a family entry `gpt-4o` does not reach `gpt-4o-mini`, which the built-in table
    // names more precisely; a suite entry prices the unknown model by prefix.
    p.file(
        "traceval.toml",
        "[pricing.\"gpt-4o-mini\"]\ninput = 25\noutput = 100\n\
         [pricing.\"gpt-4o\"]\ninput = 999\noutput = 999\n",
    )
    .file(
        "suites/weather.toml",
        &format!("{SUITE}\n[pricing.\"llama-3.1-70b\"]\ninput = 0.5\noutput = 1\n"),
    );
    let run = p.run(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);

    // gpt-4o at 25 / 100 with no cache-read price: cached tokens cost the input price.
    // (1200 × 25 + 20 × 100) + (1300 × 25 + 12 × 100) = 65_700 per 1M.
    for t in trials(&run, "mini", "cheap-enough") {
        assert!(close(&t["metrics"]["cost_usd"], 0.0657), "{t:#}");
        assert_eq!(max_cost(t), (false, "cost $0.0657, limit $0.01".to_owned()));
    }
    // llama at 0.5 / 1: (1200 × 0.5 + 20) + (1300 × 0.5 + 12) = 1_282 per 1M.
    for t in trials(&run, "llama", "cheap-enough") {
        assert!(close(&t["metrics"]["cost_usd"], 0.001_282), "{t:#}");
        assert_eq!(max_cost(t), (true, "cost $0.00128, limit $0.01".to_owned()));
    }
    let overrides = &run.report()["pricing"]["overrides"];
    let listed: Vec<(&str, &str)> = overrides
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["model"].as_str().unwrap(),
                o["defined_in"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(listed.len(), 3, "{overrides}");
    assert_eq!(listed[0].0, "gpt-4o");
    assert_eq!(listed[1].0, "gpt-4o-mini");
    assert!(listed[1].1.ends_with("traceval.toml"), "{overrides}");
    assert_eq!(listed[2].0, "llama-3.1-70b");
    assert!(listed[2].1.ends_with("weather.toml"), "{overrides}");
    assert_eq!(
        run.report()["pricing"]["date"],
        builtin_table_date().as_str()
    );
}
