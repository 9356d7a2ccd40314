//! `[conventions]`: kind rules and field keys.

use super::*;

#[test]
fn conventions_load_into_compiled_rules_and_keys() {
    use crate::trace::{Concept, Kind, NameMatch};

    let dir = TestDir::new();
    let text = format!(
        r#"{BASE}
[[conventions.kind]]
kind = "tool"
name = "acme.tool.run"

[[conventions.kind]]
kind = "llm"
name-prefix = "acme.llm."
attr = {{ "acme.vendor" = "acme", "acme.version" = 2, "acme.live" = true }}

[[conventions.kind]]
kind = "other"
name-regex = '^acme\.(noise|debug)\.'

[[conventions.kind]]
kind = "agent"
attr = {{ "acme.kind" = "agent" }}

[conventions.fields]
tool-name = ["acme.tool", "acme.fn"]
model = "acme.model"
cost = ["acme.cost_usd"]
"#
    );
    let suite = load_suite(&dir.write("suite.toml", &text)).unwrap();
    let rules = suite.conventions.rules();
    let kinds: Vec<Kind> = rules.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, [Kind::Tool, Kind::Llm, Kind::Other, Kind::Agent]);
    assert!(matches!(&rules[0].name, Some(NameMatch::Exact(n)) if n == "acme.tool.run"));
    assert!(matches!(&rules[1].name, Some(NameMatch::Prefix(p)) if p == "acme.llm."));
    // Attributes in key order, every value as text.
    let attrs: Vec<(&str, &str)> = rules[1]
        .attrs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        attrs,
        [
            ("acme.live", "true"),
            ("acme.vendor", "acme"),
            ("acme.version", "2")
        ]
    );
    assert!(
        matches!(&rules[2].name, Some(NameMatch::Regex(r)) if r.is_match("acme.debug.x") && !r.is_match("x.acme.debug.y"))
    );
    assert!(rules[3].name.is_none());
    assert_eq!(
        suite.conventions.keys(Concept::ToolName),
        ["acme.tool", "acme.fn"]
    );
    assert_eq!(suite.conventions.keys(Concept::Model), ["acme.model"]);
    assert_eq!(suite.conventions.keys(Concept::Cost), ["acme.cost_usd"]);
    assert!(suite.conventions.keys(Concept::Provider).is_empty());

    // No table, or an empty one: no custom conventions.
    let plain = load_suite(&dir.write("plain.toml", BASE)).unwrap();
    assert!(plain.conventions.is_empty());
    let empty = format!("{BASE}[conventions]\n");
    assert!(
        load_suite(&dir.write("empty.toml", &empty))
            .unwrap()
            .conventions
            .is_empty()
    );
}

/// The `[conventions]` example of the module docs loads, so that it cannot rot.
#[test]
fn the_documented_conventions_example_loads() {
    use crate::trace::{Concept, Kind};

    let docs = include_str!("../../mod.rs");
    let section = docs.split("# Custom conventions").nth(1).unwrap();
    let example: String = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("//! ```").next())
        .unwrap()
        .lines()
        .map(|line| line.strip_prefix("//!").unwrap().trim_start_matches(' '))
        .map(|line| format!("{line}\n"))
        .collect();
    let dir = TestDir::new();
    let suite = load_suite(&dir.write("suite.toml", &format!("{BASE}{example}"))).unwrap();
    let rules = suite.conventions.rules();
    assert_eq!(rules.len(), 1);
    assert_eq!((rules[0].kind, rules[0].attrs.len()), (Kind::Tool, 1));
    for concept in Concept::ALL {
        assert_eq!(suite.conventions.keys(concept).len(), 1, "{concept}");
    }
}

#[test]
fn every_concept_has_its_key_in_conventions_fields() {
    use crate::trace::Concept;

    let dir = TestDir::new();
    let mut text = format!("{BASE}[conventions.fields]\n");
    for concept in Concept::ALL {
        text.push_str(&format!("{concept} = [\"acme.{concept}\"]\n"));
    }
    let suite = load_suite(&dir.write("suite.toml", &text)).unwrap();
    for concept in Concept::ALL {
        assert_eq!(
            suite.conventions.keys(concept),
            [format!("acme.{concept}")],
            "{concept}"
        );
    }
}

#[test]
fn load_conventions_reads_the_table_of_any_file_and_only_it() {
    let dir = TestDir::new();
    // A suite's other keys are not checked (nor is `trials = 0` refused): only the table.
    let text =
        format!("trials = 0\n{BASE}[[conventions.kind]]\nkind = \"tool\"\nname = \"acme.fn\"\n");
    let conventions = load_conventions(&dir.write("suite.toml", &text)).unwrap();
    assert_eq!(conventions.rules().len(), 1);

    let error = load_conventions(&dir.write("none.toml", BASE)).unwrap_err();
    let shown = error
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(
        shown,
        "`none.toml` has no `[conventions]` table: add `[[conventions.kind]]` rules or `[conventions.fields]` keys"
    );
    let bad = "[conventions.fields]\ntool-nam = \"x\"\n";
    let error = load_conventions(&dir.write("bad.toml", bad)).unwrap_err();
    let shown = error
        .to_string()
        .replace(&format!("{}/", dir.path().display()), "");
    assert_eq!(
        shown,
        "bad.toml:2:1: unknown key `conventions.fields.tool-nam`"
    );
    assert_eq!(error.hint(), Some("did you mean `tool-name`?"));
}

/// Suites that must not load: conventions.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // Conventions: kind rules.
        bad(
            kind_rule("kind = \"tol\"\nname = \"x\""),
            "suite.toml:9:8: `conventions.kind[0].kind` must be one of `llm`, `tool`, `agent`, `retrieval`, `embedding`, `retry`, `step`, `other`, found `tol`",
        )
        .hint("did you mean `tool`?"),
        bad(
            kind_rule("name = \"x\""),
            "suite.toml:8:1: missing required key `conventions.kind[0].kind`",
        ),
        bad(
            kind_rule("kind = \"tool\""),
            "suite.toml:8:1: invalid `conventions.kind[0]`: a rule needs something to match: `name`, `name-prefix` or `name-regex` for the span name, or `attr`, e.g. attr = { \"acme.kind\" = \"tool\" }",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname-prefix = \"acme.\"\nname = \"acme.x\""),
            "suite.toml:11:8: invalid `conventions.kind[0].name`: a rule matches the span name one way: give one of `name`, `name-prefix` or `name-regex` (add `attr` to require attributes too)",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname-regex = \"acme.(tool\""),
            "suite.toml:10:14: `conventions.kind[0].name-regex` is not a valid regex",
        )
        .cause("unclosed group"),
        bad(
            kind_rule("kind = \"tool\"\nname-prefix = \"\""),
            "suite.toml:10:15: invalid `conventions.kind[0].name-prefix`: must not be empty: it would match every span",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = {}"),
            "suite.toml:10:8: invalid `conventions.kind[0].attr`: must name at least one attribute, e.g. { \"acme.kind\" = \"tool\" }",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = { \"\" = \"x\" }"),
            "suite.toml:10:15: invalid `conventions.kind[0].attr.\"\"`: an attribute key must not be empty",
        ),
        bad(
            kind_rule("kind = \"tool\"\nattr = { \"acme.n\" = 1.5 }"),
            "suite.toml:10:21: `conventions.kind[0].attr.\"acme.n\"` must be a string, an integer or a boolean, found floating point `1.5`",
        ),
        bad(
            kind_rule("kind = \"tool\"\nname_prefix = \"acme.\""),
            "suite.toml:10:1: unknown key `conventions.kind[0].name_prefix`",
        )
        .hint("did you mean `name-prefix`?"),
        bad(
            format!("{BASE}[conventions.kind]\nkind = \"tool\"\nname = \"x\"\n"),
            "suite.toml:8:1: `conventions.kind` must be an array, found table",
        )
        .hint("write `[[conventions.kind]]`, with two brackets, before each kind"),
        bad(
            format!("{BASE}[conventions]\nrule = []\n"),
            "suite.toml:9:1: unknown key `conventions.rule`",
        )
        .hint("expected one of: `kind`, `fields`"),
        // Conventions: fields.
        bad(
            fields("tool_name = [\"acme.tool\"]"),
            "suite.toml:9:1: unknown key `conventions.fields.tool_name`",
        )
        .hint("did you mean `tool-name`?"),
        bad(
            fields("tokens-in = [\"acme.tokens\"]"),
            "suite.toml:9:1: unknown key `conventions.fields.tokens-in`",
        ),
        bad(
            fields("tool-name = []"),
            "suite.toml:9:13: invalid `conventions.fields.tool-name`: must list at least one attribute key, e.g. [\"acme.tool\"]",
        ),
        bad(
            fields("input-tokens = [\"acme.in\", \" \"]"),
            "suite.toml:9:28: invalid `conventions.fields.input-tokens[1]`: an attribute key must not be empty",
        ),
        bad(
            fields("cost = 3"),
            "suite.toml:9:8: `conventions.fields.cost` must be a string or an array of strings, found integer `3`",
        ),
    ]
}
