//! Trace-shape snapshot keys, of a suite and of its cases.

use super::*;

const SNAPSHOT_SUITE: &str = r#"snapshot-attrs = ["tool", "model", "http.route"]
snapshot-ignore = ['span[name~="^HTTP"]']
cases = "more.jsonl"

[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "suite-defaults"
input = "a"
expect.snapshot = true

[[case]]
id = "own-keys"
input = "b"
[case.expect]
snapshot = true
snapshot-attrs = []
snapshot-ignore = ["retrieval", 'span[name="db"] span']
collapse-repeats = true

[[case]]
id = "off"
input = "c"
expect.snapshot = false

[[case]]
id = "none"
input = "d"
"#;

#[test]
fn snapshot_keys_load_into_shape_options_case_over_suite() {
    use crate::trace::shape::{ShapeAttr, ShapeOptions};
    let dir = TestDir::new();
    let path = dir.write("suite.toml", SNAPSHOT_SUITE);
    dir.write(
        "more.jsonl",
        "{\"id\": \"jsonl\", \"input\": 1, \"expect\": {\"snapshot\": true, \"collapse-repeats\": true}}\n",
    );
    let suite = load_suite(&path).unwrap();
    let loaded: Vec<(&str, Option<&ShapeOptions>)> = suite
        .cases
        .iter()
        .map(|c| (c.id.as_str(), c.expect.snapshot.as_ref()))
        .collect();
    let suite_defaults = ShapeOptions {
        attrs: vec![
            ShapeAttr::Tool,
            ShapeAttr::Model,
            ShapeAttr::Attr("http.route".into()),
        ],
        ignore: vec![selector(r#"span[name~="^HTTP"]"#)],
        ..ShapeOptions::default()
    };
    let own = ShapeOptions {
        attrs: vec![],
        ignore: vec![selector("retrieval"), selector(r#"span[name="db"] span"#)],
        collapse_repeats: true,
        keep_retries: false,
    };
    let jsonl = ShapeOptions {
        collapse_repeats: true,
        ..suite_defaults.clone()
    };
    assert_eq!(
        loaded,
        [
            ("suite-defaults", Some(&suite_defaults)),
            ("own-keys", Some(&own)),
            ("off", None),
            ("none", None),
            ("jsonl", Some(&jsonl)),
        ]
    );
    // Without any key, a snapshot shows the default attributes.
    let minimal = dir.write("min.toml", &format!("{BASE}expect.snapshot = true\n"));
    let suite = load_suite(&minimal).unwrap();
    assert_eq!(
        suite.cases[0].expect.snapshot,
        Some(ShapeOptions::default())
    );
}

/// Suites that must not load: snapshot.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // Trace-shape snapshots.
        bad(
            format!("{BASE}[case.expect]\nsnapshot = \"yes\"\n"),
            "suite.toml:9:12: `case[0].expect.snapshot` must be a boolean, found string \"yes\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshots = true\n"),
            "suite.toml:9:1: unknown key `case[0].expect.snapshots`",
        )
        .hint("did you mean `snapshot`?"),
        bad(
            format!("{BASE}[case.expect]\ncollapse-repeats = true\n"),
            "suite.toml:9:20: invalid `case[0].expect.collapse-repeats`: has no effect without `snapshot = true`",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = false\nsnapshot-attrs = [\"tool\"]\n"),
            "suite.toml:10:18: invalid `case[0].expect.snapshot-attrs`: has no effect without `snapshot = true`",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = [\"tool\", \" \"]\n"),
            "suite.toml:10:27: invalid `case[0].expect.snapshot-attrs[1]`: an attribute name must not be empty: write a field (operation, tool, model, provider, agent, error) or an attribute key",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = [\"tool\", \"tool\"]\n"),
            "suite.toml:10:27: invalid `case[0].expect.snapshot-attrs[1]`: `tool` is named twice",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-attrs = \"tool\"\n"),
            "suite.toml:10:18: `case[0].expect.snapshot-attrs` must be an array, found string \"tool\"",
        ),
        bad(
            format!("{BASE}[case.expect]\nsnapshot = true\nsnapshot-ignore = ['tool[name=]']\n"),
            "suite.toml:10:31: invalid `case[0].expect.snapshot-ignore[0]`: selector error at column 11: expected a value (a quoted string, a number, `true` or `false`), found `]`",
        ),
        bad(
            format!("snapshot-ignore = ['span', 'tol']\n{BASE}expect.snapshot = true\n"),
            "suite.toml:1:29: invalid `snapshot-ignore[1]`: selector error at column 1: unknown kind `tol`; expected one of llm, tool, agent, retrieval, embedding, retry, step, other, span",
        ),
        bad(
            format!("collapse-repeats = 1\n{BASE}"),
            "suite.toml:1:20: `collapse-repeats` must be a boolean, found integer `1`",
        ),
        bad(
            format!("snapshot-attrs = [\"model\"]\n{BASE}[case.expect]\nsnapshot = false\n"),
            "suite.toml:1:18: invalid `snapshot-attrs`: has no effect: no case of the suite has `snapshot = true` in its `[case.expect]`",
        ),
        bad(
            with_cases(""),
            "cases.jsonl:1:55: invalid `expect.snapshot-ignore`: has no effect without `snapshot = true`",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"snapshot-ignore\": []}}\n"),
    ]
}
