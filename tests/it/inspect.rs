//! `traceval inspect` on real traces from four instrumentation libraries.

use serde_json::Value;

use crate::support::{fixtures, root, scratch, traceval};

#[test]
fn json_summaries_match_ground_truth_for_every_fixture() {
    let files = fixtures();
    // oai_v2, openinference, pydantic_ai, openllmetry (three versions): 7 tasks each.
    assert!(files.len() >= 42, "found {} fixtures", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(root()).unwrap();
        let out = traceval(&["inspect", "--json", rel.to_str().unwrap()]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            rel.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{}: one trace per fixture", rel.display());
        let got: Value = serde_json::from_str(lines[0]).unwrap();
        let expected_path = file
            .to_string_lossy()
            .replace(".otlp.jsonl", ".expected.json");
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&expected_path).unwrap()).unwrap();
        if got != expected {
            failures.push(format!(
                "{}\n  got:      {got}\n  expected: {expected}",
                rel.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn json_summary_has_exactly_the_documented_keys() {
    let out = traceval(&[
        "inspect",
        "--json",
        "tests/fixtures/oai_v2/weather.otlp.jsonl",
    ]);
    let got: serde_json::Map<String, Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = got.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "duration_ms",
            "error_spans",
            "input_tokens",
            "llm_calls",
            "orphan_count",
            "output_tokens",
            "retries",
            "root_names",
            "span_count",
            "tool_calls",
            "trace_id"
        ]
    );
}

#[test]
fn tree_output_shows_kinds_nesting_and_errors() {
    let out = traceval(&["inspect", "tests/fixtures/oai_v2/tool_error.otlp.jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("invoke_agent corpus_agent  [agent]"),
        "{text}"
    );
    assert!(
        text.contains("├─ execute_tool get_stock_price  [tool]")
            || text.contains("└─ execute_tool get_stock_price  [tool]"),
        "{text}"
    );
    assert!(text.contains("ERROR: stock service unavailable"), "{text}");
    assert!(text.contains("tokens=118/17"), "{text}");
}

#[test]
fn several_files_and_traces_are_summarised_in_order() {
    let out = traceval(&[
        "inspect",
        "--json",
        "tests/fixtures/openinference/weather.otlp.jsonl",
        "tests/fixtures/pydantic_ai/no_tool.otlp.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let ids: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["trace_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected = |f: &str| -> String {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(root().join(f)).unwrap()).unwrap();
        v["trace_id"].as_str().unwrap().to_owned()
    };
    assert_eq!(
        ids,
        [
            expected("tests/fixtures/openinference/weather.expected.json"),
            expected("tests/fixtures/pydantic_ai/no_tool.expected.json"),
        ]
    );
}

#[test]
fn a_file_that_does_not_parse_exits_2_naming_file_and_line() {
    let tmp = scratch("inspect");
    let dir = tmp.path();
    let good =
        std::fs::read_to_string(root().join("tests/fixtures/oai_v2/weather.otlp.jsonl")).unwrap();
    let bad = dir.join("bad.jsonl");
    std::fs::write(&bad, format!("{}{{\"resourceSpans\": [oops]}}\n", good)).unwrap();
    let out = traceval(&["inspect", "--json", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "nothing printed before the error");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with(&format!("error: {}:2: invalid OTLP JSON", bad.display())),
        "{stderr}"
    );

    let missing = dir.join("missing.jsonl");
    let out = traceval(&["inspect", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("cannot read trace file") && stderr.contains("caused by:"),
        "{stderr}"
    );

    let out = traceval(&["inspect"]);
    assert_eq!(out.status.code(), Some(2), "usage error");
}
