//! The HTML report (`traceval run --html`) as a user's browser meets it. A hostile suite's page
//! is parsed with html5ever (`scraper`) and checked offline and safe (one script, allowed by its
//! hash; no handler attributes, no external or `javascript:` URL), then loaded in headless
//! Chromium from `file://` with the network off, where the script runs and no payload does. The
//! demo's page is read with scripts blocked: every failing check message and every answer is
//! there, and its shape diff counts a tool's callers as the report does. A screenshot of it is kept under `target/html-artifacts/` for CI.
//!
//! The browser checks need Debian's `chromium` (`.ci/run` installs it): without it they are
//! skipped with a note, except under `CI`, where they fail.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use base64::Engine;
use scraper::{ElementRef, Html, Selector};
use serde_json::{Value, json};

use crate::support::{code, processes_with, read_json, root, scratch, stderr, traceval_in};

/// Closes a script element, opens one of its own.
const SCRIPT: &str = "</script><script>document.body.dataset.pwned=1</script>";
/// Closes an attribute and its element, adds an image whose error handler runs.
const IMG: &str = "\"><img src=x onerror=\"document.body.dataset.pwned=1\">";
/// A URL that runs script when followed.
const JS_URL: &str = "javascript:alert(1)";
/// Comment and CDATA openers and closers, line and paragraph separators (which end a
/// JavaScript string literal in old engines) and a right-to-left override.
const ODD: &str = "<!-- ]]> \u{2028}\u{2029} \u{202E}evil";

/// Every payload in one string.
fn hostile() -> String {
    [SCRIPT, IMG, JS_URL, ODD].join(" ")
}

/// A command agent sending hostile spans with the Python OpenTelemetry SDK over OTLP to the
/// endpoint traceval gives it: in span and agent names, attribute values, GenAI messages in
/// three conventions, an exception event and the resource; a 1 MB attribute on passing trials.
/// It answers, on stdout and stderr, the payloads and invalid UTF-8. The input's first word
/// says what it does: `pass`, `flaky` (fails trial 1 by leaving the payloads out) or `fail`
/// (exit 3).
const AGENT: &str = r#"
import json, os, sys
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

case = json.loads(sys.stdin.buffer.read())
text = json.load(open("hostile.json"))
mode = case["input"].split(" ", 1)[0]
big = "x" * (1 << 20)
model = case["model"]

provider = TracerProvider(resource=Resource.create({"service.name": text, "hostile.resource": text}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
tracer = provider.get_tracer(text)
root = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": text, "hostile.text": text}
if mode == "pass":
    root["hostile.big"] = big
with tracer.start_as_current_span("invoke_agent " + text, attributes=root):
    messages_in = [{"role": "user", "parts": [{"type": "text", "content": text}]}]
    messages_out = [{"role": "assistant", "finish_reason": "tool_calls", "parts": [
        {"type": "text", "content": text},
        {"type": "tool_call", "id": "call_1", "name": text, "arguments": {"q": text}}]}]
    with tracer.start_as_current_span("chat " + model, attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": text,
            "gen_ai.request.model": model, "gen_ai.response.model": text,
            "gen_ai.usage.input_tokens": 12, "gen_ai.usage.output_tokens": 3,
            "gen_ai.response.finish_reasons": [text],
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": text}]),
            "gen_ai.input.messages": json.dumps(messages_in),
            "gen_ai.output.messages": json.dumps(messages_out)}) as span:
        span.add_event(text, {"hostile.text": text})
    with tracer.start_as_current_span(text, attributes={
            "openinference.span.kind": "LLM", "llm.model_name": model,
            "llm.input_messages.0.message.role": "user",
            "llm.input_messages.0.message.content": text,
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.content": text}):
        pass
    with tracer.start_as_current_span("openai.chat", attributes={
            "llm.request.type": "chat", "gen_ai.system": text, "gen_ai.request.model": model,
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": text,
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": text}):
        pass
    with tracer.start_as_current_span("execute_tool " + text, attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": text,
            "gen_ai.tool.call.arguments": json.dumps({"q": text}),
            "gen_ai.tool.call.result": text, "hostile.text": text}) as span:
        span.record_exception(RuntimeError(text))
        span.set_status(Status(StatusCode.ERROR, text))
provider.shutdown()

bad = b" \xff\xfe\xc3( \xed\xa0\x80 "
sys.stderr.buffer.write(text.encode() + bad + b"\n")
if mode == "flaky" and case["trial"] == 1:
    sys.stdout.buffer.write(b"nothing to see" + bad + b"\n")
else:
    sys.stdout.buffer.write(text.encode() + bad + b"\n")
if mode == "pass":
    sys.stdout.write(big)
if mode == "fail":
    sys.exit(3)
"#;

/// `s` as a TOML basic string (a JSON string literal is one).
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A suite of three cases (flaky, failing, passing) × two models, two trials each, with the
/// payloads in case ids, inputs, expected outputs, span selectors, model names, a judge's rubric,
/// name and explanation; and the agent above. Returns the suite's path.
fn hostile_project(dir: &Path) -> PathBuf {
    let suites = dir.join("suites");
    std::fs::create_dir_all(&suites).unwrap();
    let text = hostile();
    let write = |name: &str, content: &str| std::fs::write(suites.join(name), content).unwrap();
    write("agent.py", AGENT);
    write("hostile.json", &serde_json::to_string(&text).unwrap());
    write(
        "model.toml",
        &format!(
            "model = {}\n[fallback]\ntext = {}\n",
            toml_str(&text),
            toml_str(&text)
        ),
    );
    let verdict = json!({ "score": 0.9, "explanation": text }).to_string();
    write(
        "judge.toml",
        &format!(
            "model = {}\n[fallback]\ntext = {}\n",
            toml_str(SCRIPT),
            toml_str(&verdict)
        ),
    );
    let models = [SCRIPT.to_owned(), format!("{IMG} {JS_URL} \u{202E}")];
    let mut suite = format!(
        "trials = 2\ntimeout = \"30s\"\nmodels = [{}, {}]\n\n\
         [agent]\nkind = \"command\"\ncommand = [\"python3\", \"agent.py\"]\n\n",
        toml_str(&models[0]),
        toml_str(&models[1]),
    );
    for m in &models {
        suite += &format!(
            "[model.{}]\nprovider = \"scripted\"\nscript = \"model.toml\"\n\n",
            toml_str(m)
        );
    }
    suite += "[model.judge]\nprovider = \"scripted\"\nscript = \"judge.toml\"\n\n";
    // Flaky: trial 1 leaves the payloads out, and the message quotes them.
    suite += &format!(
        "[[case]]\nid = {}\ninput = {}\n[case.expect]\noutput-contains = [{}, {}]\n\n",
        toml_str(SCRIPT),
        toml_str(&format!("flaky {text}")),
        toml_str(SCRIPT),
        toml_str(IMG),
    );
    // Failing: every check quotes a payload (and the agent exits 3).
    suite += &format!(
        "[[case]]\nid = {}\ninput = {}\n[case.expect]\noutput-equals = {}\n\
         [[case.expect.span]]\nselect = 'tool[name~=\"</script><script>\"]'\ncount = 0\n\
         [[case.expect.span]]\nselect = \"tool\"\nattrs = {{ \"hostile.text\" = {} }}\n\n",
        toml_str(IMG),
        toml_str(&format!("fail {text}")),
        toml_str(&format!("never {text}")),
        toml_str(IMG),
    );
    // Passing, with a 1 MB input, answer and span attribute, and a judge.
    suite += &format!(
        "[[case]]\nid = {}\ninput = {}\n[case.expect]\noutput-contains = [{}]\n\
         [[case.expect.judge]]\nname = {}\nmodel = \"judge\"\nrubric = {}\n",
        toml_str(&format!("{JS_URL} {ODD}")),
        toml_str(&format!("pass {text} {}", "y".repeat(1 << 20))),
        toml_str(JS_URL),
        toml_str(SCRIPT),
        toml_str(&text),
    );
    let path = suites.join("hostile.toml");
    std::fs::write(&path, suite).unwrap();
    path
}

#[test]
fn a_page_of_hostile_strings_keeps_them_text_and_runs_only_its_own_script() {
    python_otel_sdk();
    let dir = scratch("html-hostile");
    hostile_project(dir.path());
    // Run from a directory of its own, on a relative suite path, as a user might.
    let cwd = dir.path().join("elsewhere");
    std::fs::create_dir(&cwd).unwrap();
    let out = traceval_in(
        &cwd,
        &[
            "run",
            "../suites/hostile.toml",
            "--html",
            "page.html",
            "--html-traces",
            "all",
            "--report",
            "report.json",
        ],
    );
    assert_eq!(code(&out), 1, "stderr:\n{}", stderr(&out));
    let report = read_json(&cwd.join("report.json"));
    let trials = report["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 12, "3 cases × 2 models × 2 trials");
    for t in trials {
        // The agent's spans reached the run: the page draws them.
        assert_eq!(
            t["metrics"]["tool_calls"].as_array().map(Vec::len),
            Some(1),
            "{}",
            t["stderr_tail"]
        );
    }

    let page = std::fs::read(cwd.join("page.html")).expect("the page is written beside the run");
    let page = String::from_utf8(page).expect("the page is UTF-8");
    let doc = Html::parse_document(&page);
    assert_offline_and_safe(&doc);
    let cells = status_cells(&doc);
    for class in ["s-pass", "s-fail", "s-flaky"] {
        assert!(
            cells.iter().any(|c| c == class),
            "no `{class}` status cell: {cells:?}"
        );
    }
    // The payloads are shown as text, not dropped and not markup.
    let text: String = doc.root_element().text().collect();
    for payload in [SCRIPT, IMG, JS_URL, "<!-- ]]>"] {
        assert!(text.contains(payload), "{payload:?} is not shown as text");
    }
    // Characters that reorder or break text are shown as visible escapes, never as themselves.
    for c in ['\u{202E}', '\u{2028}', '\u{2029}'] {
        assert!(!page.contains(c), "the page holds {c:?} as is");
    }
    assert!(text.contains("\\u{202E}evil"), "U+202E is not shown");
    // A 1 MB value (the answer, the input, a span attribute) is clipped at 64 KiB at most, and a
    // clip is marked.
    for c in ["x", "y"] {
        let run = c.repeat(64 << 10);
        assert!(
            !page.contains(&format!("{run}{c}")),
            "a 1 MB value is not clipped"
        );
        if page.contains(&run) {
            assert!(text.contains("bytes more"), "a clipped value is not marked");
        }
    }

    let Some(chromium) = chromium() else { return };
    let dom = chromium.dump_dom(dir.path(), Scripts::On, &[], &cwd.join("page.html"));
    let dom = Html::parse_document(&dom);
    let body = dom
        .select(&selector("body"))
        .next()
        .expect("the DOM has a body");
    let pwned = selector("[data-pwned]");
    assert_eq!(
        dom.select(&pwned).count(),
        0,
        "a payload ran: {}",
        clip(&dom.select(&pwned).next().unwrap().html(), 300)
    );
    assert_eq!(
        body.attr("data-tv-ready"),
        Some("1"),
        "the page's script did not run (blocked by its own policy?)"
    );
}

#[test]
fn the_demo_page_shows_every_failing_message_and_answer_without_javascript() {
    let dir = scratch("html-demo");
    let page = dir.path().join("demo.html");
    let report = demo(dir.path(), &page);
    let doc = Html::parse_document(&std::fs::read_to_string(&page).unwrap());
    assert_offline_and_safe(&doc);
    assert_eq!(
        shape_counts(&doc, "support::delete-my-account", "tool delete_account"),
        format!(
            "careful {}/5 · sloppy {}/5",
            calls(&report, "delete-my-account", "careful", "delete_account"),
            calls(&report, "delete-my-account", "sloppy", "delete_account"),
        ),
        "the shape diff counts the trials that called the tool, as the report does"
    );
    assert_ne!(
        calls(&report, "delete-my-account", "sloppy", "delete_account"),
        0,
        "the sloppy model deletes the account in some trials at seed 42"
    );

    let Some(chromium) = chromium() else { return };
    let dom = chromium.dump_dom(dir.path(), Scripts::Off, &[], &page);
    let dom = Html::parse_document(&dom);
    let body = dom.select(&selector("body")).next().unwrap();
    assert_eq!(
        body.attr("data-tv-ready"),
        None,
        "scripts were not disabled"
    );
    // Entities decoded: the text a reader sees.
    let text: String = dom.root_element().text().collect();
    let mut failing = 0;
    for t in report["trials"].as_array().unwrap() {
        let name = |key: &str| t[key].as_str().unwrap_or_default().to_owned();
        let trial = format!(
            "{}::{} ({}) #{}",
            name("suite"),
            name("case"),
            name("model"),
            t["trial"]
        );
        for c in t["checks"].as_array().unwrap() {
            if c["passed"] == false {
                failing += 1;
                let message = c["message"].as_str().unwrap();
                assert!(
                    text.contains(message),
                    "{trial}: the failing check {}'s message is not on the page: {message:?}",
                    c["name"]
                );
            }
        }
        let answer = t["output"].as_str().unwrap();
        assert!(
            text.contains(answer),
            "{trial}: its answer is not on the page: {answer:?}"
        );
    }
    assert!(
        failing > 0,
        "the demo has failing checks (its sloppy model)"
    );
}

#[test]
fn a_screenshot_of_the_demo_page_is_kept_for_ci() {
    let dir = scratch("html-shot");
    let page = dir.path().join("demo.html");
    demo(dir.path(), &page);
    let artifacts = target_dir().join("html-artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    std::fs::copy(&page, artifacts.join("demo.html")).unwrap();

    let Some(chromium) = chromium() else { return };
    let png = artifacts.join("demo.png");
    // A screenshot left by an earlier run must not pass for this one.
    let _ = std::fs::remove_file(&png);
    chromium.dump_dom(
        dir.path(),
        Scripts::On,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1400,2000",
        ],
        &page,
    );
    let size = std::fs::metadata(&png)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", png.display()))
        .len();
    assert!(
        size > 10_000,
        "the screenshot is {size} bytes: a blank page?"
    );
}

/// The per-model counts of the shape-diff node `node` (kind and name, as drawn) of `case`.
fn shape_counts(doc: &Html, case: &str, node: &str) -> String {
    let section = doc
        .select(&selector("section.case-sec"))
        .find(|s| {
            s.select(&selector("h3"))
                .any(|h| h.text().collect::<String>() == case)
        })
        .unwrap_or_else(|| panic!("no section for {case}"));
    let item = section
        .select(&selector(".shape-diff li"))
        .find(|li| {
            li.select(&selector(":scope > .node"))
                .any(|n| n.text().collect::<String>().ends_with(node))
        })
        .unwrap_or_else(|| panic!("no node {node:?} in the shape diff of {case}"));
    item.select(&selector(":scope > .counts"))
        .next()
        .unwrap()
        .text()
        .collect()
}

/// How many of `model`'s trials of `case` called `tool`, by the report.
fn calls(report: &Value, case: &str, model: &str, tool: &str) -> usize {
    report["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["case"] == case && t["model"] == model)
        .filter(|t| {
            t["metrics"]["tool_calls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == tool)
        })
        .count()
}

/// `traceval run suites/demo --seed 42 --html PAGE` from the repository root (offline, scripted
/// models; the sloppy one fails some trials on purpose: exit 1); returns its report.
fn demo(dir: &Path, page: &Path) -> Value {
    let report = dir.join("report.json");
    let page = page.to_str().unwrap();
    let report_arg = report.to_str().unwrap();
    let out = traceval_in(
        root(),
        &[
            "run",
            "suites/demo",
            "--seed",
            "42",
            "--html",
            page,
            "--report",
            report_arg,
        ],
    );
    assert_eq!(code(&out), 1, "stderr:\n{}", stderr(&out));
    read_json(&report)
}

/// Where cargo builds: `CARGO_TARGET_DIR`, else the repository's `target/`.
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).unwrap()
}

/// Attributes that hold a URL the browser may load or follow.
const URL_ATTRS: [&str; 11] = [
    "src",
    "href",
    "action",
    "formaction",
    "poster",
    "srcset",
    "background",
    "data",
    "cite",
    "ping",
    "manifest",
];

/// What the page promises whatever its data (design C.4.3): one executable script, ours, allowed
/// by its hash in the policy; no handler attribute; no URL with a scheme but `data:` images, no
/// network-path URL, no `@import`; ids that are tokens, not data; every status cell says its
/// status in a symbol or a word, not only in colour.
fn assert_offline_and_safe(doc: &Html) {
    // The only script that runs is ours. Data blocks (`type="application/json"`) may come; a
    // payload that closes one and opens a script shows up as a second script without `type`.
    let scripts: Vec<ElementRef> = doc.select(&selector("script")).collect();
    let ours: Vec<&ElementRef> = scripts
        .iter()
        .filter(|s| s.attr("type").is_none())
        .collect();
    assert_eq!(
        ours.len(),
        1,
        "scripts: {:?}",
        scripts
            .iter()
            .map(|s| clip(&s.html(), 200))
            .collect::<Vec<_>>()
    );
    for s in &scripts {
        assert_eq!(s.attr("src"), None, "{}", clip(&s.html(), 200));
        if let Some(kind) = s.attr("type") {
            assert_eq!(kind, "application/json", "{}", clip(&s.html(), 200));
            let data: String = s.text().collect();
            assert!(
                !data.contains(['<', '\u{2028}', '\u{2029}']),
                "data block not escaped per C.2"
            );
            serde_json::from_str::<Value>(&data).expect("a data block is JSON");
        }
    }
    let script: String = ours[0].text().collect();
    let digest = ring::digest::digest(&ring::digest::SHA256, script.as_bytes());
    let hash = base64::engine::general_purpose::STANDARD.encode(digest.as_ref());

    // The policy: in the head, nothing loads, our script by its hash.
    let policies: Vec<ElementRef> = doc
        .select(&selector("meta[http-equiv]"))
        .filter(|m| {
            m.attr("http-equiv")
                .unwrap()
                .eq_ignore_ascii_case("content-security-policy")
        })
        .collect();
    assert_eq!(policies.len(), 1, "one Content-Security-Policy meta");
    assert_eq!(
        policies[0]
            .parent()
            .and_then(ElementRef::wrap)
            .map(|p| p.value().name()),
        Some("head"),
        "the policy is in the head"
    );
    let policy = policies[0].attr("content").unwrap();
    let directives: Vec<Vec<&str>> = policy
        .split(';')
        .map(|d| d.split_ascii_whitespace().collect())
        .collect();
    let directive = |name: &str| -> Vec<&str> {
        directives
            .iter()
            .find(|d| d.first() == Some(&name))
            .unwrap_or_else(|| panic!("no {name} in {policy:?}"))[1..]
            .to_vec()
    };
    assert_eq!(directive("default-src"), ["'none'"], "{policy}");
    assert_eq!(
        directive("script-src"),
        [format!("'sha256-{hash}'")],
        "the policy's script hash is not the script's"
    );

    for tag in ["base", "iframe", "frame", "object", "embed", "link"] {
        assert_eq!(doc.select(&selector(tag)).count(), 0, "a `{tag}` element");
    }
    let scheme = regex::Regex::new(r"^[a-z][a-z0-9+.\-]*:").unwrap();
    let id = regex::Regex::new(r"^[A-Za-z][A-Za-z0-9_\-]*$").unwrap();
    for el in doc
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
    {
        let tag = el.value().name();
        for (name, value) in el.value().attrs() {
            let shown = || clip(&el.html(), 300);
            assert!(
                !name.to_ascii_lowercase().starts_with("on"),
                "a handler attribute `{name}`: {}",
                shown()
            );
            if URL_ATTRS.contains(&name) {
                // As a browser reads a URL: surrounding spaces, tabs and newlines ignored.
                let url: String = value
                    .trim()
                    .chars()
                    .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
                    .collect::<String>()
                    .to_ascii_lowercase();
                assert!(!url.starts_with("//"), "a network-path URL: {}", shown());
                let image = tag == "img" && url.starts_with("data:image/");
                assert!(
                    !scheme.is_match(&url) || image,
                    "a URL with a scheme: {}",
                    shown()
                );
            }
            if name == "id" {
                assert!(id.is_match(value), "an id made of data: {}", shown());
            }
            if name == "href" && value.starts_with('#') {
                assert!(id.is_match(&value[1..]), "a link made of data: {}", shown());
            }
            if name == "style" {
                assert_style(value);
            }
        }
        if tag == "meta" {
            let refresh = el
                .attr("http-equiv")
                .is_some_and(|h| h.eq_ignore_ascii_case("refresh"));
            assert!(!refresh, "a meta refresh: {}", el.html());
        }
    }
    for style in doc.select(&selector("style")) {
        assert_style(&style.text().collect::<String>());
    }
    for cell in doc.select(&selector("td.s-pass, td.s-fail, td.s-flaky, td.s-error")) {
        let text = cell.text().collect::<String>().to_lowercase();
        let said = text.contains(['✓', '✗', '●', '○', '✕'])
            || ["pass", "fail", "flaky", "error"]
                .iter()
                .any(|w| text.contains(w));
        assert!(
            said,
            "a status cell says its status only in colour: {}",
            cell.html()
        );
    }
}

/// No `@import`, and no `url(…)` but `data:`.
fn assert_style(css: &str) {
    let lower = css.to_ascii_lowercase();
    assert!(
        !lower.contains("@import"),
        "an @import in {}",
        clip(css, 300)
    );
    for (at, _) in lower.match_indices("url(") {
        let arg = lower[at + 4..].trim_start().trim_start_matches(['"', '\'']);
        assert!(
            arg.starts_with("data:") || !(arg.starts_with("//") || arg.contains(':')),
            "a url() that loads: {}",
            clip(&css[at..], 200)
        );
    }
}

/// The status classes of the matrix's cells.
fn status_cells(doc: &Html) -> Vec<String> {
    doc.select(&selector("td"))
        .flat_map(|td| {
            td.value()
                .classes()
                .filter(|c| c.starts_with("s-"))
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The first `max` bytes of `text` (on a character boundary), for messages.
fn clip(text: &str, max: usize) -> String {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Fails, once and clearly, when `python3` lacks the OpenTelemetry SDK the hostile agent uses.
fn python_otel_sdk() {
    let out = Command::new("python3")
        .args([
            "-c",
            "import opentelemetry.sdk.trace, opentelemetry.exporter.otlp.proto.http.trace_exporter",
        ])
        .output()
        .expect("python3 starts");
    assert!(
        out.status.success(),
        "the hostile agent needs the OpenTelemetry SDK in python3: \
         `python3 -m pip install -r tests/requirements.txt` (.ci/run does)\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Debian's headless Chromium.
struct Chromium(&'static Path);

/// Chromium when installed. Outside CI a missing browser skips the browser checks with a note;
/// under `CI` it fails the test.
fn chromium() -> Option<Chromium> {
    let path = Path::new("/usr/bin/chromium");
    if path.exists() {
        return Some(Chromium(path));
    }
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(
        !ci,
        "CI needs /usr/bin/chromium for the HTML report's browser checks: .ci/run installs \
         Debian's `chromium`"
    );
    eprintln!(
        "skipped the browser checks: /usr/bin/chromium is not installed \
         (`apt-get install chromium`; CI requires it)"
    );
    None
}

/// A bound on a broken browser, not a timing check: a healthy one takes seconds.
const BROWSER_DEADLINE: Duration = Duration::from_secs(90);

impl Chromium {
    /// Loads `page` from `file://` headless, networking off, with a throwaway profile under
    /// `dir`, `extra` flags, and `--dump-dom`; returns the DOM it printed. The browser runs in a
    /// process group of its own, killed when it is done or past [`BROWSER_DEADLINE`], so no
    /// process outlives the test.
    fn dump_dom(&self, dir: &Path, scripts: Scripts, extra: &[&str], page: &Path) -> String {
        let profile = tempfile::Builder::new()
            .prefix("chromium-profile-")
            .tempdir_in(dir)
            .unwrap();
        if scripts == Scripts::Off {
            // The profile's content setting blocks JavaScript on every page. Not
            // `--blink-settings=scriptEnabled=false`: headless Chromium serialises the DOM for
            // `--dump-dom` by evaluating script in the page, so it then prints nothing.
            std::fs::create_dir(profile.path().join("Default")).unwrap();
            std::fs::write(
                profile.path().join("Default/Preferences"),
                r#"{"profile":{"default_content_setting_values":{"javascript":2}}}"#,
            )
            .unwrap();
        }
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        let mut child = Command::new(self.0)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-sync",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-crash-reporter",
                // No name resolves and every connection goes to a closed port.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--proxy-server=127.0.0.1:9",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(extra)
            .arg("--dump-dom")
            .arg(&url)
            // Caches, settings and the crash handler's database land in the profile too, so
            // every process of the browser names it.
            .env("HOME", profile.path())
            .env("XDG_CONFIG_HOME", profile.path())
            .env("XDG_CACHE_HOME", profile.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("chromium starts");
        let group = Group(rustix::process::Pid::from_child(&child));
        let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let (tx, rx) = mpsc::channel();
        // Reads until every process of the browser has closed its output, then reaps it.
        std::thread::spawn(move || {
            let errors = std::thread::spawn(move || {
                let mut text = Vec::new();
                let _ = err.read_to_end(&mut text);
                text
            });
            let mut dom = Vec::new();
            let _ = out.read_to_end(&mut dom);
            let errors = errors.join().unwrap_or_default();
            let status = child.wait();
            let _ = tx.send((status, dom, errors));
        });
        let Ok((status, dom, errors)) = rx.recv_timeout(BROWSER_DEADLINE) else {
            drop(group);
            kill_strays(profile.path());
            panic!("chromium did not finish within {BROWSER_DEADLINE:?}; killed");
        };
        drop(group);
        let errors = String::from_utf8_lossy(&errors);
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "chromium failed ({status:?}):\n{errors}"
        );
        let leftovers = processes_with(&profile.path().display().to_string());
        assert!(leftovers.is_empty(), "chromium left {leftovers:?}");
        let dom = String::from_utf8(dom).expect("chromium prints UTF-8");
        assert!(dom.contains("<body"), "chromium printed no DOM:\n{errors}");
        dom
    }
}

/// Whether the page's script may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scripts {
    On,
    Off,
}

/// Kills the processes whose command line names `profile`, by pid: Chromium's crash handler
/// starts in a session of its own, out of the browser's group (it keeps the browser's output
/// open, so a browser that finished has none left; this is for one that was killed).
fn kill_strays(profile: &Path) {
    let needle = profile.display().to_string();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse().ok())
            .and_then(rustix::process::Pid::from_raw)
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
        }
    }
}

/// A process group, killed on drop.
struct Group(rustix::process::Pid);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = rustix::process::kill_process_group(self.0, rustix::process::Signal::KILL);
    }
}

#[test]
fn the_compare_page_says_what_the_json_says_and_folds_both_sides_shapes() {
    // A project of the user's own, outside the repository: the demo suites copied.
    let project = crate::merge::demo_project("html-compare");
    let run = traceval_in(
        project.path(),
        &[
            "run",
            "--seed",
            "42",
            "--save-traces",
            "--report",
            "out/run.json",
        ],
    );
    assert_eq!(code(&run), 1, "{}", stderr(&run));
    // From another directory, with relative paths; the traces are found in the project.
    let elsewhere = project.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let compare = traceval_in(
        &elsewhere,
        &[
            "compare",
            "../out/run.json",
            "--html",
            "page.html",
            "--json",
            "doc.json",
        ],
    );
    assert_eq!(code(&compare), 0, "{}", stderr(&compare));
    assert!(
        !stderr(&compare).contains("warning"),
        "{}",
        stderr(&compare)
    );
    let doc = read_json(&elsewhere.join("doc.json"));
    let page = Html::parse_document(&std::fs::read_to_string(elsewhere.join("page.html")).unwrap());
    assert_offline_and_safe(&page);

    let comparisons = doc["comparisons"].as_array().unwrap();
    let sections: Vec<ElementRef<'_>> = page.select(&selector("section.comparison")).collect();
    assert_eq!(sections.len(), comparisons.len());
    let text = |e: ElementRef<'_>| e.text().collect::<String>();
    for (c, section) in comparisons.iter().zip(&sections) {
        // Every metric's verdict, field by field.
        let rows: Vec<ElementRef<'_>> = section.select(&selector("tr[data-metric]")).collect();
        let metrics = c["metrics"].as_array().unwrap();
        assert_eq!(rows.len(), metrics.len());
        for (m, row) in metrics.iter().zip(&rows) {
            assert_eq!(row.attr("data-metric"), m["name"].as_str());
            let verdict = text(row.select(&selector("td.verdict")).next().unwrap());
            assert!(
                verdict.starts_with(m["verdict"].as_str().unwrap()),
                "{}: {verdict} is not {}",
                m["name"],
                m["verdict"]
            );
        }
        // Every case's label and both strips.
        let rows: Vec<ElementRef<'_>> = section.select(&selector("table.cases tbody tr")).collect();
        let cases = c["cases"].as_array().unwrap();
        assert_eq!(rows.len(), cases.len());
        for (case, row) in cases.iter().zip(&rows) {
            let cells: Vec<String> = row.select(&selector("td")).map(text).collect();
            assert!(
                cells[0].contains(case["case"].as_str().unwrap()),
                "{cells:?}"
            );
            for (side, cell) in [("base", &cells[1]), ("new", &cells[2])] {
                let strip = case[side]["strip"].as_str().unwrap();
                assert!(cell.ends_with(strip), "{side}: {cell} vs {strip}");
            }
            assert_eq!(row.attr("data-label"), case["label"].as_str());
        }
    }
    // The models compared in one run: careful (base) against sloppy (new). Where sloppy
    // deleted the account, both sides' trials are folded from the saved traces.
    let report = read_json(&project.path().join("out/run.json"));
    let sloppy = calls(&report, "delete-my-account", "sloppy", "delete_account");
    assert!(sloppy > 0);
    let detail = page
        .select(&selector("details.case"))
        .find(|d| text(*d).contains("support::delete-my-account"))
        .expect("the changed case has its details");
    let node = detail
        .select(&selector(".shape-diff li"))
        .find(|li| {
            li.select(&selector(":scope > .node"))
                .any(|n| text(n).ends_with("tool delete_account"))
        })
        .expect("the tool's node");
    assert_eq!(
        text(node.select(&selector(":scope > .counts")).next().unwrap()),
        format!("base 0/5 · new {sloppy}/5")
    );

    // Its script runs to the end in a browser.
    let Some(chromium) = chromium() else { return };
    let dom = chromium.dump_dom(
        project.path(),
        Scripts::On,
        &[],
        &elsewhere.join("page.html"),
    );
    let dom = Html::parse_document(&dom);
    let body = dom.select(&selector("body")).next().unwrap();
    assert_eq!(body.attr("data-tv-ready"), Some("1"));
}
