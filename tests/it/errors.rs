//! What a new user's first suite runs into (issue 16): the model APIs' base URL from the SDKs'
//! variables, outages reported as infrastructure errors rather than failures, clustered
//! intervals, and load errors that say where and why. The real binary, temporary projects,
//! real subprocesses (a Python model API stub, tests/agents/model_stub.py).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::root;
use crate::run::{Run, TestProject};

/// An API key that must appear in no output.
const SECRET: &str = "sk-errors-SECRET-0123456789";

/// tests/agents/model_stub.py serving in `mode`, killed on drop.
struct ModelStub {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl ModelStub {
    fn start(mode: &str, dir: &Path) -> ModelStub {
        let log = dir.join(format!("stub-{mode}.log"));
        let mut child = Command::new("python3")
            .arg(root().join("tests/agents/model_stub.py"))
            .arg(mode)
            .arg(&log)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the stub prints its port");
        ModelStub { child, port, log }
    }

    /// `METHOD path` of every request received.
    fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for ModelStub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A builtin-agent suite calling `[model.m]` (`model_table` is its body) once, expecting
/// `expect` in the answer.
fn builtin_suite(model_table: &str, expect: &str) -> String {
    format!(
        "trials = 1\ntimeout = \"30s\"\nmodels = [\"m\"]\n[agent]\nkind = \"builtin\"\n\n\
         [model.m]\n{model_table}\n\n[[case]]\nid = \"hello\"\ninput = \"hi\"\n\
         [case.expect]\noutput-contains = [\"{expect}\"]\n"
    )
}

/// `traceval run ARGS` from `cwd` with `env` on top of an environment cleared of the model
/// variables the tests set.
fn run_from(p: &TestProject, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    std::fs::create_dir_all(cwd).unwrap();
    let mut cmd = p.command(args);
    cmd.current_dir(cwd);
    for var in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "ANTHROPIC_API_KEY",
        "ANTHROPIC_BASE_URL",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    Run::new(cmd.output().expect("traceval runs"), p.report_path())
}

/// Neither the report nor the output quotes the key.
fn assert_no_secret(run: &Run) {
    let report = serde_json::to_string(run.report()).unwrap();
    assert!(!report.contains(SECRET), "{report}");
    assert!(!run.stderr.contains(SECRET), "{}", run.stderr);
    assert!(!run.stdout.contains(SECRET), "{}", run.stdout);
}

// Item 9: the base URL is the suite's `base-url`, else OPENAI_BASE_URL / ANTHROPIC_BASE_URL,
// else the provider's default; the report records it.

#[test]
fn openai_models_without_base_url_follow_openai_base_url_and_the_report_records_it() {
    let p = TestProject::new("openai-base-url");
    let stub = ModelStub::start("openai", p.path());
    p.file(
        "suites/hello.toml",
        &builtin_suite(
            "provider = \"openai\"\nmodel = \"gpt-4o-mini\"",
            "stub answer via openai",
        ),
    );
    let base = format!("http://127.0.0.1:{}/v1", stub.port);
    // From a directory below the project, naming the suite by its absolute path.
    let suite = p.path().join("suites/hello.toml");
    let run = run_from(
        &p,
        &p.path().join("elsewhere"),
        &[suite.to_str().unwrap()],
        &[("OPENAI_API_KEY", SECRET), ("OPENAI_BASE_URL", &base)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stub.requests(), ["POST /v1/chat/completions"]);
    assert_eq!(
        run.report()["model_endpoints"],
        serde_json::json!([{
            "suite": "hello", "model": "m", "provider": "openai", "base_url": base,
        }])
    );
    assert_no_secret(&run);
}

#[test]
fn anthropic_models_without_base_url_follow_anthropic_base_url_as_the_sdk_does() {
    let p = TestProject::new("anthropic-base-url");
    let stub = ModelStub::start("anthropic", p.path());
    p.file(
        "suites/hello.toml",
        &builtin_suite(
            "provider = \"anthropic\"\nmodel = \"claude-haiku-4-5\"",
            "stub answer via anthropic",
        ),
    );
    // The SDKs' variable has no version: `/v1/messages` is appended.
    let base = format!("http://127.0.0.1:{}", stub.port);
    let run = run_from(
        &p,
        p.path(),
        &["suites/hello.toml"],
        &[("ANTHROPIC_API_KEY", SECRET), ("ANTHROPIC_BASE_URL", &base)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(stub.requests(), ["POST /v1/messages"]);
    let endpoint = &run.report()["model_endpoints"][0];
    assert_eq!(endpoint["provider"], "anthropic");
    assert_eq!(endpoint["base_url"], format!("{base}/v1"));
    assert_no_secret(&run);
}

#[test]
fn a_suites_base_url_wins_over_the_variable() {
    let p = TestProject::new("suite-base-url");
    let stub = ModelStub::start("openai", p.path());
    let base = format!("http://127.0.0.1:{}/v1", stub.port);
    p.file(
        "suites/hello.toml",
        &builtin_suite(
            &format!("provider = \"openai\"\nmodel = \"gpt-4o-mini\"\nbase-url = \"{base}\""),
            "stub answer via openai",
        ),
    );
    // The variable points nowhere: were it used, the call would be refused.
    let run = run_from(
        &p,
        p.path(),
        &["suites/hello.toml"],
        &[
            ("OPENAI_API_KEY", SECRET),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.report()["model_endpoints"][0]["base_url"], base);
    assert_no_secret(&run);
}
