//! The contracts written down in `docs/reference/` and the README, held to the code: every key
//! the suite and script loaders accept is documented (and nothing else is), every report the
//! tests write validates against `docs/reference/report.schema.json`, every variable an agent
//! receives is documented, and the README's sample output is what its command prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;
use serde_json::{Value, json};

use crate::support::{TestProject, redact, root, traceval_command};

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Keys: the serde raw structs against the reference's tables.

/// The TOML keys of each `Raw*` struct of a loader's `raw.rs` (serde derive, `rename_all =
/// "kebab-case"`), by struct name. Panics on serde attributes this reading does not understand,
/// so a new one cannot make keys invisible to the check.
fn raw_keys(source: &str) -> BTreeMap<String, BTreeSet<String>> {
    let item = Regex::new(
        r"(?s)#\[derive\([^)]*\bDeserialize\b[^)]*\)\]\s*#\[serde\(([^#]*?)\)\]\s*pub\(super\) struct (\w+) \{(.*?)\n\}",
    )
    .unwrap();
    let field = Regex::new(r"^\s*pub\(super\) (\w+):").unwrap();
    let rename = Regex::new(r#"#\[serde\([^)]*\brename = "([^"]+)""#).unwrap();
    let mut structs = BTreeMap::new();
    for m in item.captures_iter(source) {
        let (attrs, name, body) = (&m[1], &m[2], &m[3]);
        assert!(
            attrs.contains(r#"rename_all = "kebab-case""#),
            "{name}: keys are not kebab-case; teach this test how they are spelled"
        );
        for word in ["flatten", "alias", "skip", "rename_all_fields"] {
            assert!(
                !body.contains(word),
                "{name} uses serde `{word}`; teach this test what keys that accepts"
            );
        }
        let mut keys = BTreeSet::new();
        let mut renamed = None;
        for line in body.lines() {
            if let Some(r) = rename.captures(line) {
                renamed = Some(r[1].to_owned());
            } else if let Some(f) = field.captures(line) {
                let key = renamed.take().unwrap_or_else(|| f[1].replace('_', "-"));
                keys.insert(key);
            }
        }
        assert!(!keys.is_empty(), "{name}: no fields read");
        structs.insert(name.to_owned(), keys);
    }
    structs
}

/// The keys a reference page's section documents: the first cells (`` | `key` | ``) of the
/// table rows between `heading` (a whole line) and the next heading.
fn documented_keys(page: &str, text: &str, heading: &str) -> BTreeSet<String> {
    let start = text
        .lines()
        .position(|l| l.trim_end() == heading)
        .unwrap_or_else(|| panic!("{page} has no heading line `{heading}`"));
    let cell = Regex::new(r"^\|\s*`([^`]+)`\s*\|").unwrap();
    text.lines()
        .skip(start + 1)
        .take_while(|l| !l.starts_with('#'))
        .filter_map(|l| cell.captures(l).map(|c| c[1].to_owned()))
        .collect()
}

/// Checks that each struct of `raw` (a `raw.rs`) has a section in `page` whose table lists
/// exactly its keys, and that every struct has a section.
fn check_keys(raw: &str, page: &str, sections: &[(&str, &str)]) {
    let structs = raw_keys(&read(raw));
    let text = read(page);
    let mapped: BTreeSet<&str> = sections.iter().map(|(s, _)| *s).collect();
    let unmapped: Vec<&String> = structs
        .keys()
        .filter(|s| !mapped.contains(s.as_str()))
        .collect();
    assert!(
        unmapped.is_empty(),
        "{raw} has tables {unmapped:?} that {page} does not document: add a section with a \
         table of their keys, and its heading to this test"
    );
    let mut problems = Vec::new();
    for (name, heading) in sections {
        let accepted = structs
            .get(*name)
            .unwrap_or_else(|| panic!("{raw} has no struct {name} any more"));
        let documented = documented_keys(page, &text, heading);
        for key in accepted.difference(&documented) {
            problems.push(format!(
                "`{key}` ({name}) is accepted but not in `{heading}`"
            ));
        }
        for key in documented.difference(accepted) {
            problems.push(format!(
                "`{key}` is documented in `{heading}` but {name} does not accept it"
            ));
        }
    }
    assert!(problems.is_empty(), "{page}:\n{}", problems.join("\n"));
}

#[test]
fn every_key_the_suite_loader_accepts_is_documented_in_the_reference() {
    check_keys(
        "src/suite/raw.rs",
        "docs/reference/suite.md",
        &[
            ("RawSuite", "## Suite file: top-level keys"),
            ("RawAgent", "## `[agent]`"),
            ("RawToolDef", "### `[[tool]]`"),
            ("RawArgsCase", "### `returns-by-args` entries"),
            ("RawModel", "## `[model.NAME]`"),
            ("RawPrice", "## `[pricing.\"MODEL\"]`"),
            ("RawCase", "## `[[case]]`"),
            ("RawExpect", "## `[case.expect]`"),
            ("RawTool", "### `expect.tools` entries"),
            ("RawTrajectoryTable", "### `expect.trajectory` table"),
            ("RawSpan", "### `[[case.expect.span]]`"),
            ("RawJudge", "### `[[case.expect.judge]]`"),
            ("RawConventions", "## `[conventions]`"),
            ("RawKindRule", "### `[[conventions.kind]]`"),
            ("RawFields", "### `[conventions.fields]`"),
            ("RawConfig", "## `traceval.toml`"),
            ("RawProfile", "### `[profile.NAME]`"),
            ("RawForward", "### `[forward]`"),
        ],
    );
}

#[test]
fn every_key_the_script_loader_accepts_is_documented_in_the_reference() {
    check_keys(
        "src/llm/scripted/raw.rs",
        "docs/reference/scripted-model.md",
        &[
            ("RawScript", "## Top-level keys"),
            ("RawRule", "## `[[rule]]` and `[fallback]`"),
            ("RawWhen", "### `when`"),
            ("RawVariant", "### `[[rule.variant]]`"),
            ("RawToolCall", "### `tool-calls` entries"),
            ("RawUsage", "### `usage`"),
            ("RawFail", "### `fail`"),
        ],
    );
}

#[test]
fn the_key_reader_sees_renames_and_refuses_what_it_cannot_read() {
    let source = r#"
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", expecting = "x")]
pub(super) struct RawA {
    pub(super) max_turns: Option<u32>,
    #[serde(rename = "openai")]
    pub(super) open_ai: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case", expecting = "a kind")]
pub(super) enum RawKind {
    Command,
}
"#;
    let keys = raw_keys(source);
    assert_eq!(
        keys,
        BTreeMap::from([(
            "RawA".to_owned(),
            BTreeSet::from(["max-turns".to_owned(), "openai".to_owned()])
        )])
    );
    let flattened = source.replace(r#"rename = "openai""#, "flatten");
    assert!(std::panic::catch_unwind(|| raw_keys(&flattened)).is_err());
}

// ---------------------------------------------------------------------------------------------
// The report schema: a validator for the subset of JSON Schema 2020-12 the schema uses. It
// refuses any keyword it does not implement, so the schema cannot say more than is checked.

/// Keywords that only annotate.
const ANNOTATIONS: [&str; 6] = [
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "examples",
];

/// The schema, parsed once.
fn schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        serde_json::from_str(&read("docs/reference/report.schema.json"))
            .expect("report.schema.json is JSON")
    })
}

/// Panics, listing every violation, unless `report` (a `reports/<run-id>.json`) validates
/// against `docs/reference/report.schema.json`.
pub(crate) fn check_report(report: &Value) {
    let errors = validate(schema(), report);
    assert!(
        errors.is_empty(),
        "the report does not match docs/reference/report.schema.json:\n{}",
        errors.join("\n")
    );
}

fn validate(root_schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(root_schema, root_schema, value, "", &mut errors);
    errors
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn check(root_schema: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let at_or_root = if at.is_empty() { "(root)" } else { at };
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at_or_root}: not allowed"));
            return;
        }
        Value::Object(map) => map,
        other => panic!("schema at {at_or_root} is not a schema: {other}"),
    };
    for (keyword, arg) in schema {
        match keyword.as_str() {
            k if ANNOTATIONS.contains(&k) => {}
            "$defs" => {}
            "$ref" => {
                let name = arg
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/$defs/"))
                    .unwrap_or_else(|| panic!("only `#/$defs/NAME` refs are supported: {arg}"));
                let target = &root_schema["$defs"][name];
                assert!(!target.is_null(), "no $defs/{name}");
                check(root_schema, target, value, at, errors);
            }
            "type" => {
                let actual = type_of(value);
                let allowed: Vec<&str> = match arg {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().map(|t| t.as_str().unwrap()).collect(),
                    _ => panic!("bad type {arg}"),
                };
                let ok = allowed.iter().any(|t| {
                    *t == actual
                        || (*t == "number" && actual == "integer")
                        || (*t == "integer"
                            && value.as_f64().is_some_and(|f| f.fract() == 0.0)
                            && actual == "number")
                });
                if !ok {
                    errors.push(format!("{at_or_root}: {value} is not of type {arg}"));
                }
            }
            "const" => {
                if value != arg {
                    errors.push(format!("{at_or_root}: {value} is not {arg}"));
                }
            }
            "enum" => {
                if !arg.as_array().unwrap().contains(value) {
                    errors.push(format!("{at_or_root}: {value} is not one of {arg}"));
                }
            }
            "minimum" => {
                if let Some(n) = value.as_f64()
                    && n < arg.as_f64().unwrap()
                {
                    errors.push(format!("{at_or_root}: {value} is below {arg}"));
                }
            }
            "maximum" => {
                if let Some(n) = value.as_f64()
                    && n > arg.as_f64().unwrap()
                {
                    errors.push(format!("{at_or_root}: {value} is above {arg}"));
                }
            }
            "pattern" => {
                if let Some(s) = value.as_str()
                    && !Regex::new(arg.as_str().unwrap()).unwrap().is_match(s)
                {
                    errors.push(format!("{at_or_root}: {value} does not match {arg}"));
                }
            }
            "minItems" | "maxItems" => {
                if let Some(items) = value.as_array() {
                    let n = arg.as_u64().unwrap() as usize;
                    let bad = if keyword == "minItems" {
                        items.len() < n
                    } else {
                        items.len() > n
                    };
                    if bad {
                        errors.push(format!(
                            "{at_or_root}: {} items, {keyword} {n}",
                            items.len()
                        ));
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, item) in items.iter().enumerate() {
                        check(root_schema, arg, item, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            "required" => {
                if let Some(map) = value.as_object() {
                    for key in arg.as_array().unwrap() {
                        let key = key.as_str().unwrap();
                        if !map.contains_key(key) {
                            errors.push(format!("{at_or_root}: lacks required `{key}`"));
                        }
                    }
                }
            }
            "properties" => {
                if let Some(map) = value.as_object() {
                    for (key, sub) in arg.as_object().unwrap() {
                        if let Some(v) = map.get(key) {
                            check(root_schema, sub, v, &format!("{at}.{key}"), errors);
                        }
                    }
                }
            }
            "propertyNames" => {
                if let Some(map) = value.as_object() {
                    for key in map.keys() {
                        let name = Value::String(key.clone());
                        check(
                            root_schema,
                            arg,
                            &name,
                            &format!("{at}.{key} (name)"),
                            errors,
                        );
                    }
                }
            }
            "additionalProperties" => {
                if let Some(map) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (key, v) in map {
                        if known.is_none_or(|k| !k.contains_key(key)) {
                            check(root_schema, arg, v, &format!("{at}.{key}"), errors);
                        }
                    }
                }
            }
            "oneOf" | "anyOf" => {
                let passing = arg
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|sub| {
                        let mut sub_errors = Vec::new();
                        check(root_schema, sub, value, at, &mut sub_errors);
                        sub_errors.is_empty()
                    })
                    .count();
                let ok = if keyword == "oneOf" {
                    passing == 1
                } else {
                    passing >= 1
                };
                if !ok {
                    errors.push(format!(
                        "{at_or_root}: {value} matches {passing} of the {keyword} schemas"
                    ));
                }
            }
            other => panic!(
                "report.schema.json uses `{other}`, which tests/it/reference.rs does not check: \
                 implement it there, or say it another way"
            ),
        }
    }
}

#[test]
fn the_schema_validator_catches_what_the_schema_forbids() {
    let schema = json!({
        "$defs": { "n": { "type": "integer", "minimum": 0 } },
        "type": "object",
        "required": ["a"],
        "additionalProperties": false,
        "properties": {
            "a": { "$ref": "#/$defs/n" },
            "b": { "type": ["string", "null"], "pattern": "^x" },
            "c": { "type": "array", "items": { "enum": [1, 2] }, "minItems": 1, "maxItems": 2 },
            "d": { "oneOf": [{ "const": "p" }, { "type": "object", "propertyNames": { "pattern": "^[0-9]+$" } }] }
        }
    });
    assert!(
        validate(
            &schema,
            &json!({ "a": 1, "b": null, "c": [1], "d": { "1": 0 } })
        )
        .is_empty()
    );
    let bad = [
        json!({}),
        json!({ "a": -1 }),
        json!({ "a": 1.5 }),
        json!({ "a": 1, "e": 0 }),
        json!({ "a": 1, "b": "y" }),
        json!({ "a": 1, "c": [] }),
        json!({ "a": 1, "c": [3] }),
        json!({ "a": 1, "c": [1, 2, 1] }),
        json!({ "a": 1, "d": "q" }),
        json!({ "a": 1, "d": { "k": 0 } }),
    ];
    for value in bad {
        assert!(!validate(&schema, &value).is_empty(), "{value} passed");
    }
    let unknown = json!({ "type": "string", "format": "date-time" });
    assert!(std::panic::catch_unwind(|| validate(&unknown, &json!("x"))).is_err());
}

#[test]
fn the_report_schema_pins_every_object_of_the_report() {
    // Every object schema closes its keys, so a new report field needs a schema change (and a
    // CHANGELOG line), and every field it names is documented.
    fn walk(schema: &Value, at: &str, problems: &mut Vec<String>) {
        match schema {
            Value::Object(map) => {
                if map.get("type") == Some(&json!("object"))
                    && !map.contains_key("additionalProperties")
                {
                    problems.push(format!("{at}: no additionalProperties"));
                }
                if let Some(Value::Object(props)) = map.get("properties") {
                    for (key, sub) in props {
                        if sub.get("description").is_none() && sub.get("$ref").is_none() {
                            problems.push(format!("{at}.{key}: no description"));
                        }
                    }
                }
                for (k, v) in map {
                    walk(v, &format!("{at}/{k}"), problems);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, at, problems)),
            _ => {}
        }
    }
    let mut problems = Vec::new();
    walk(schema(), "#", &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        schema()["properties"]["format_version"]["const"],
        json!(1),
        "the schema describes format_version 1"
    );
}

// ---------------------------------------------------------------------------------------------
// The agent contract.

/// A command agent that answers with the names of the variables it got and the keys of the
/// JSON on its stdin.
const ENV_AGENT: &str = r#"import json, os, sys
stdin = json.loads(sys.stdin.read())
print(json.dumps({"env": sorted(os.environ), "stdin": sorted(stdin), "cwd": os.getcwd()}))
"#;

#[test]
fn every_variable_and_stdin_key_an_agent_receives_is_documented() {
    let p = TestProject::new("reference-env");
    p.file("agents/env.py", ENV_AGENT);
    p.file("suites/scripts/echo.toml", "[fallback]\ntext = \"ok\"\n");
    p.file(
        "suites/env.toml",
        r#"models = ["echo"]
[agent]
kind = "command"
command = ["python3", "../agents/env.py"]
[model.echo]
provider = "scripted"
script = "scripts/echo.toml"
[[case]]
id = "env"
input = "hello"
"#,
    );
    p.file("sub/.keep", "");
    // From a directory other than the project root, with a relative suite path.
    let run = p.run_from(&p.path().join("sub"), &["../suites/env.toml"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let answer: Value =
        serde_json::from_str(run.report()["trials"][0]["output"].as_str().unwrap()).unwrap();
    // The agent runs in its suite's directory.
    let cwd = Path::new(answer["cwd"].as_str().unwrap())
        .canonicalize()
        .unwrap();
    assert_eq!(cwd, p.path().join("suites").canonicalize().unwrap());

    // What traceval sets: its own prefixes; the inherited environment is not the contract.
    let ours = Regex::new(r"^(TRACEVAL_|OTEL_|OPENAI_|TRACELOOP_|TRACEPARENT$)").unwrap();
    let inherited: BTreeSet<String> = std::env::vars().map(|(k, _)| k).collect();
    let set: Vec<&str> = answer["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .filter(|k| ours.is_match(k) && !inherited.contains(*k))
        .collect();
    for expected in [
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "TRACEVAL_MODEL",
        "TRACEVAL_CASE",
        "TRACEVAL_TRIAL",
        "TRACEVAL_RUN_ID",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ] {
        assert!(set.contains(&expected), "{expected} not set: {set:?}");
    }
    let readme = read("README.md");
    let agent = read("docs/reference/agent.md");
    let mut missing = Vec::new();
    for k in &set {
        let quoted = format!("`{k}`");
        for (page, text) in [("README.md", &readme), ("docs/reference/agent.md", &agent)] {
            if !text.contains(&quoted) {
                missing.push(format!("{page} lacks {quoted}"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));

    let stdin: Vec<&str> = answer["stdin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(stdin.contains(&"input"), "{stdin:?}");
    for key in stdin {
        assert!(
            agent.contains(&format!("`{key}`")),
            "docs/reference/agent.md lacks the stdin key `{key}`"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The README's sample output.

/// Replaces what changes between runs and machines.
fn normalise(text: &str) -> Vec<String> {
    let text = redact(text, root(), "[root]");
    let jobs = Regex::new(r"\(\d+ at a time\)").unwrap();
    let text = jobs.replace_all(&text, "(N at a time)");
    text.lines().map(|l| l.trim_end().to_owned()).collect()
}

/// Checks that `sample` is `actual` with runs of lines replaced by a line `…`.
fn matches_with_elisions(sample: &[String], actual: &[String]) -> Result<(), String> {
    let mut i = 0;
    let mut skipping = false;
    for line in sample {
        if line.trim() == "…" {
            skipping = true;
            continue;
        }
        let found = if skipping {
            actual[i..].iter().position(|a| a == line).map(|j| i + j)
        } else {
            (actual.get(i) == Some(line)).then_some(i)
        };
        match found {
            Some(j) => i = j + 1,
            None => {
                return Err(format!(
                    "README line `{line}` is not what the command prints {}",
                    if skipping {
                        "after the elided lines"
                    } else {
                        "there"
                    }
                ));
            }
        }
        skipping = false;
    }
    if !skipping && i < actual.len() {
        return Err(format!("the output goes on: `{}`", actual[i]));
    }
    Ok(())
}

#[test]
fn elided_samples_match_only_the_lines_they_keep_in_order() {
    let actual: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let ok = |s: &[&str]| {
        matches_with_elisions(
            &s.iter().map(|l| l.to_string()).collect::<Vec<_>>(),
            &actual,
        )
    };
    assert!(ok(&["a", "b", "c", "d"]).is_ok());
    assert!(ok(&["a", "…", "d"]).is_ok());
    assert!(ok(&["…", "c", "…"]).is_ok());
    assert!(ok(&["a", "c", "d"]).is_err());
    assert!(ok(&["a", "…", "c"]).is_err());
    assert!(ok(&["…", "c", "b"]).is_err());
}

/// The command of the README's first `sh` block that runs `traceval`, and the block after it.
fn readme_sample() -> (Vec<String>, Vec<String>) {
    let readme = read("README.md");
    let block = Regex::new(r"(?s)```sh\n(.*?)```\s*\n+[^`]*?```(?:text)?\n(.*?)```").unwrap();
    let m = block
        .captures(&readme)
        .expect("README.md has a ```sh block followed by its output");
    let command = m[1]
        .lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .rfind(|l| l.starts_with("traceval "))
        .expect("the README's first sh block runs `traceval …`");
    let args = command
        .split_whitespace()
        .skip(1)
        .map(String::from)
        .collect();
    (args, m[2].lines().map(String::from).collect())
}

#[test]
fn the_readme_sample_output_is_what_its_first_command_prints() {
    let (args, sample) = readme_sample();
    assert!(
        args.iter().any(|a| a == "--seed"),
        "the README's command must pin the seed, or its output cannot be shown: {args:?}"
    );
    // `-j 1` fixes the order of the status lines; the sample's "(N at a time)" is redacted.
    let output = traceval_command(root())
        .args(&args)
        .args(["-j", "1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The run wrote `reports/<run-id>.json` in the repository, as the README's command does.
    let report = Regex::new(r"Report (reports/\S+\.json)").unwrap();
    if let Some(m) = report.captures(&stderr) {
        let _ = std::fs::remove_file(root().join(&m[1]));
    }
    let actual = normalise(&stderr);
    let sample = normalise(&sample.join("\n"));
    if let Err(e) = matches_with_elisions(&sample, &actual) {
        panic!(
            "README.md's sample output is not what `traceval {}` prints: {e}\nit prints:\n{}",
            args.join(" "),
            stderr
        );
    }
    // The sample says which exit code the run ends with.
    let code = output.status.code().unwrap();
    assert!(
        read("README.md").contains(&format!("exits with code {code}")),
        "README.md does not say the run exits with code {code}"
    );
}

// ---------------------------------------------------------------------------------------------
// Links.

#[test]
fn relative_links_in_the_readme_and_the_reference_resolve() {
    let link = Regex::new(r"\]\(([^)#]+)(#[^)]*)?\)").unwrap();
    let mut pages = vec![root().join("README.md")];
    for entry in std::fs::read_dir(root().join("docs/reference")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(&page).unwrap();
        for m in link.captures_iter(&text) {
            let target = &m[1];
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            if !page.parent().unwrap().join(target).exists() {
                broken.push(format!("{}: {target}", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn every_selector_the_reference_shows_parses() {
    // `select = '…'` lines in examples, and the inline examples of selectors.md.
    let select = Regex::new(r#"(?m)^(?:select|before|after) = '([^']+)'"#).unwrap();
    let inline = Regex::new(r"`([^`]+)`").unwrap();
    let selectors = read("docs/reference/selectors.md");
    let examples = selectors
        .lines()
        .skip_while(|l| !l.starts_with("Examples:"))
        .take_while(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let mut all: Vec<String> = inline
        .captures_iter(&examples)
        .map(|c| c[1].to_owned())
        .collect();
    assert!(all.len() >= 5, "{examples}");
    for page in [
        "README.md",
        "docs/reference/suite.md",
        "docs/reference/selectors.md",
    ] {
        all.extend(select.captures_iter(&read(page)).map(|c| c[1].to_owned()));
    }
    for s in all {
        if let Err(e) = s.parse::<traceval::trace::Selector>() {
            panic!("`{s}` does not parse: {e}");
        }
    }
}
