//! `[[case.expect.judge]]` tables.

use super::*;

const JUDGE_SUITE: &str = r#"cases = "judged.jsonl"
[agent]
kind = "command"
command = ["python3", "agent.py"]

[[case]]
id = "two-judges"
input = "hi"
[[case.expect.judge]]
model = "strict"
rubric = "Cites a source."
[[case.expect.judge]]
name = "tone"
model = "lenient"
rubric = "Polite."
threshold = 0.8
samples = 3

[[case]]
id = "none"
input = "hi"
"#;

const JUDGE_CASES: &str = r#"{"id": "jsonl", "input": 1, "expect": {"judge": [{"model": "strict", "rubric": "Short.", "threshold": 1, "samples": 2}]}}
"#;

#[test]
fn judges_load_into_the_model() {
    let dir = TestDir::new();
    let path = dir.write("suite.toml", JUDGE_SUITE);
    dir.write("judged.jsonl", JUDGE_CASES);
    let suite = load_suite(&path).unwrap();
    let judge = |name: &str, model: &str, rubric: &str, threshold, samples| Judge {
        name: name.to_owned(),
        model: model.to_owned(),
        rubric: rubric.to_owned(),
        threshold,
        samples,
        temperature: None,
    };
    let loaded: Vec<(&str, &[Judge])> = suite
        .cases
        .iter()
        .map(|case| (case.id.as_str(), case.expect.judges.as_slice()))
        .collect();
    let expected = [
        (
            "two-judges",
            vec![
                judge("judge", "strict", "Cites a source.", 0.5, 1),
                judge("tone", "lenient", "Polite.", 0.8, 3),
            ],
        ),
        ("none", vec![]),
        ("jsonl", vec![judge("judge", "strict", "Short.", 1.0, 2)]),
    ];
    let expected: Vec<(&str, &[Judge])> = expected
        .iter()
        .map(|(id, judges)| (*id, judges.as_slice()))
        .collect();
    assert_eq!(loaded, expected);
}

/// Suites that must not load: judge.
pub(super) fn bad_suites() -> Vec<Bad> {
    vec![
        // Judges.
        bad(
            judge("model = \"m\"\nrubric = \"Cites a source.\"\nthreshhold = 0.5"),
            "suite.toml:11:1: unknown key `case[0].expect.judge[0].threshhold`",
        )
        .hint("did you mean `threshold`?"),
        bad(
            judge("model = \"m\""),
            "suite.toml:8:1: missing required key `case[0].expect.judge[0].rubric`",
        ),
        bad(
            judge("rubric = \"x\""),
            "suite.toml:8:1: missing required key `case[0].expect.judge[0].model`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"  \""),
            "suite.toml:10:10: invalid `case[0].expect.judge[0].rubric`: must not be empty",
        ),
        bad(
            judge("model = \"\"\nrubric = \"x\""),
            "suite.toml:9:9: invalid `case[0].expect.judge[0].model`: a model name must not be empty",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = 1.5"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found 1.5",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = -0.1"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found -0.1",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nthreshold = nan"),
            "suite.toml:11:13: invalid `case[0].expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found NaN",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 0"),
            "suite.toml:11:11: invalid `case[0].expect.judge[0].samples`: must be at least 1",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\ntemperature = 3.5"),
            "suite.toml:11:15: invalid `case[0].expect.judge[0].temperature`: must be from 0 to 2, found 3.5",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 26"),
            "suite.toml:11:11: invalid `case[0].expect.judge[0].samples`: must be at most 25 (each sample is one model call per trial), found 26",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = -3"),
            "suite.toml:11:11: `case[0].expect.judge[0].samples` must be a non-negative integer up to 4294967295, found integer `-3`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nsamples = 1.5"),
            "suite.toml:11:11: `case[0].expect.judge[0].samples` must be a non-negative integer, found floating point `1.5`",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\nname = \"\""),
            "suite.toml:11:8: invalid `case[0].expect.judge[0].name`: must not be empty",
        ),
        bad(
            judge("model = \"m\"\nrubric = \"x\"\n[[case.expect.judge]]\nmodel = \"m\"\nrubric = \"y\""),
            "suite.toml:11:1: invalid `case[0].expect.judge[1]`: two judges of this case are named `judge` (the first at line 8); give each judge its own `name`, which names its check in the report",
        ),
        bad(
            judge("name = \"tone\"\nmodel = \"m\"\nrubric = \"x\"\n[[case.expect.judge]]\nname = \"tone\"\nmodel = \"m\"\nrubric = \"y\""),
            "suite.toml:13:8: invalid `case[0].expect.judge[1].name`: two judges of this case are named `tone` (the first at line 8); give each judge its own `name`, which names its check in the report",
        ),
        bad(
            format!("{BASE}[case.expect.judge]\nmodel = \"m\"\nrubric = \"x\"\n"),
            "suite.toml:8:1: `case[0].expect.judge` must be an array, found table",
        )
        .hint("write `[[case.expect.judge]]`, with two brackets, before each judge"),
        bad(
            format!("{BASE}[case.expect]\njudge = \"m\"\n"),
            "suite.toml:9:9: `case[0].expect.judge` must be an array, found string \"m\"",
        ),
        // Judges in a cases file.
        bad(with_cases(""), "cases.jsonl:1:87: invalid `expect.judge[0].samples`: must be at least 1")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubric\": \"x\", \"samples\": 0}]}}\n"),
        bad(with_cases(""), "cases.jsonl:1:61: unknown key `expect.judge[0].rubrik`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubrik\": \"x\"}]}}\n")
            .hint("did you mean `rubric`?"),
        bad(with_cases(""), "cases.jsonl:1:46: missing required key `expect.judge[0].rubric`")
            .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\"}]}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:89: invalid `expect.judge[0].threshold`: must be a score from 0 to 1 (what a sample must reach to pass), found 2",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": [{\"model\": \"m\", \"rubric\": \"x\", \"threshold\": 2}]}}\n"),
        bad(
            with_cases(""),
            "cases.jsonl:1:45: `expect.judge` must be an array, found table",
        )
        .cases("{\"id\": \"b\", \"input\": 1, \"expect\": {\"judge\": {\"model\": \"m\", \"rubric\": \"x\"}}}\n"),
    ]
}
