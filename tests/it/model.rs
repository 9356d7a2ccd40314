//! The scripted model's HTTP face, `traceval serve-model`, driven by the official `openai`
//! Python package (tests/agents/openai_client.py): tool calls, streaming, retries on 429.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::{ModelServer, TestProject, root, scratch, traceval, traceval_command};

#[test]
fn the_openai_python_sdk_works_against_serve_model_unchanged() {
    let server = ModelServer::start(&root().join("tests/agents/sunny.toml"), 7);
    let url = server.base_url().to_owned();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with("/v1"),
        "{url}"
    );

    let out = Command::new("python3")
        .arg(root().join("tests/agents/openai_client.py"))
        .arg(&url)
        .output()
        .unwrap();
    drop(server);
    assert!(
        out.status.success(),
        "{}\nhint: pip install -r tests/requirements.txt",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        seen["tool_call"],
        json!({
            "name": "get_weather",
            "arguments": {"city": "Paris"},
            "finish_reason": "tool_calls",
            "usage": [120, 18],
            "model": "sunny-1",
        })
    );
    assert_eq!(seen["answer"], "It is 18 C and sunny in Paris.");
    assert_eq!(seen["streamed_answer"], "It is 18 C and sunny in Paris.");
    assert_eq!(seen["streamed_usage"], json!([165, 12]));
    assert_eq!(
        seen["streamed_tool_call"],
        json!({"name": "get_weather", "arguments": {"city": "Paris"}})
    );
    assert_eq!(seen["after_retry"], "worked on the second try");
    assert_eq!(seen["retries_taken"], 1);
    assert_eq!(seen["models"], json!(["sunny-1"]));
}

#[test]
fn a_bad_script_is_a_configuration_error() {
    let dir = scratch("badscript");
    let script = dir.path().join("bad.toml");
    std::fs::write(&script, "[[rule]]\nwhen.usr = 'x'\ntext = \"y\"\n").unwrap();
    let out = traceval(&["serve-model", script.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("bad.toml:2:6: unknown key `rule[0].when.usr`"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: did you mean `user`?"), "{stderr}");
}

#[test]
fn bad_requests_get_4xx_and_the_server_keeps_serving() {
    crate::support::tls();
    let server = ModelServer::start(&root().join("tests/agents/sunny.toml"), 0);
    let base = server.base_url();
    let trial = server.trial_base_url("nobody");
    let client = reqwest::blocking::Client::new();
    let post = |url: String, body: &str| {
        let r = client
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .unwrap();
        let status = r.status().as_u16();
        let body: Value = serde_json::from_str(&r.text().unwrap()).unwrap();
        (status, body["error"]["type"].clone())
    };
    let ok = r#"{"model":"m","messages":[{"role":"user","content":"flaky"}]}"#;
    let statuses = [
        post(format!("{base}/chat/completions"), "{not json"),
        post(
            format!("{base}/chat/completions"),
            r#"{"messages":[{"role":"robot"}]}"#,
        ),
        post(format!("{trial}/chat/completions"), ok),
        post(format!("{base}/chat/completions"), ok),
        post(format!("{base}/chat/completions"), ok),
    ];
    let codes: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
    // Garbage, an unknown role, an unknown trial; then the scripted 429 and the retry's 200.
    assert_eq!(codes, [400, 400, 404, 429, 200]);
    assert_eq!(statuses[0].1, "invalid_request_error");
    assert_eq!(statuses[3].1, "requests");
}

/// The builtin agent calls an OpenAI-compatible server with an API key from the environment;
/// the key must appear in no span, report, JUnit file, event or log line.
#[test]
fn an_api_key_never_reaches_spans_reports_or_logs() {
    const SECRET: &str = "sk-live-TRACEVAL-SECRET-0123456789abcdef";
    let server = ModelServer::start(&root().join("tests/agents/sunny.toml"), 0);
    let project = TestProject::new("secret");
    let dir = project.path().to_path_buf();
    project.file(
        "suites/secret.toml",
        &format!(
            r#"models = ["real"]
[agent]
kind = "builtin"
[[tool]]
name = "get_weather"
returns = "18 C and sunny"
[model.real]
provider = "openai"
model = "gpt-4o-mini"
base-url = "{}"
api-key-env = "TV_TEST_SECRET_KEY"
[[case]]
id = "paris"
input = "What's the weather in Paris?"
[case.expect]
output-contains = ["Paris"]
tools = [{{ name = "get_weather", args = {{ city = "Paris" }} }}]
"#,
            server.base_url()
        ),
    );
    let out = traceval_command(&dir)
        .args([
            "run",
            "--save-traces",
            "--message-format",
            "json",
            "--junit",
            "junit.xml",
            "--report",
            "report.json",
        ])
        .env("TV_TEST_SECRET_KEY", SECRET)
        .env("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
        .output()
        .unwrap();
    drop(server);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let mut haystacks = vec![
        (
            "stdout".to_owned(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        ),
        ("stderr".to_owned(), stderr.into_owned()),
    ];
    let mut files = vec![dir.join("report.json"), dir.join("junit.xml")];
    for run in std::fs::read_dir(dir.join("reports")).unwrap().flatten() {
        for trace in std::fs::read_dir(run.path().join("traces"))
            .unwrap()
            .flatten()
        {
            files.push(trace.path());
        }
    }
    assert_eq!(files.len(), 3, "report, JUnit and one saved trace");
    for f in files {
        haystacks.push((
            f.display().to_string(),
            std::fs::read_to_string(&f).unwrap(),
        ));
    }
    // The trace really holds the conversation (content capture is on): the check has teeth.
    assert!(
        haystacks[4].1.contains("gen_ai.input.messages"),
        "{}",
        haystacks[4].1
    );
    for (name, text) in &haystacks {
        assert!(!text.contains(SECRET), "the key leaked into {name}");
        assert!(
            !text.contains("TRACEVAL-SECRET"),
            "part of the key leaked into {name}"
        );
    }
}
