//! What a new user's first suite runs into (issue 16): the model APIs' base URL from the SDKs'
//! variables, outages reported as infrastructure errors rather than failures, clustered
//! intervals, and load errors that say where and why. The real binary, temporary projects,
//! real subprocesses (a Python model API stub, tests/agents/model_stub.py).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::support::root;
use crate::support::{Run, TestProject, code_and_stderr, scratch, traceval_in};

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

// Item 10: an outage is an infrastructure error (exit 3), not a failure (exit 1).

/// Runs the one-trial builtin suite against an OpenAI API at `base` (from the suite's
/// `base-url`) and checks the run errored for infrastructure with `cause` in the trial's error.
fn assert_outage(name: &str, base: &str, cause: &str) -> Run {
    let p = TestProject::new(name);
    p.file(
        "suites/hello.toml",
        &builtin_suite(
            &format!("provider = \"openai\"\nmodel = \"gpt-4o-mini\"\nbase-url = \"{base}\""),
            "anything",
        ),
    );
    let run = run_from(
        &p,
        &p.path().join("sub"),
        &["../suites/hello.toml"],
        &[("OPENAI_API_KEY", SECRET)],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
    let t = run.trial("hello", 0);
    assert_eq!(t["passed"], false);
    assert_eq!(t["error_kind"], "infrastructure", "{t:#}");
    let error = t["error"].as_str().unwrap();
    assert!(error.contains(cause), "{error}");
    assert!(error.contains(base), "{error}");
    assert!(
        run.stderr
            .contains("test result: ERROR. 0 passed; 0 failed; 1 errored (1 infrastructure);"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("error (infrastructure): "),
        "{}",
        run.stderr
    );
    assert_eq!(run.report()["models"][0]["errored"], 1);
    assert_no_secret(&run);
    run
}

#[test]
fn an_unreachable_model_api_is_an_infrastructure_error_and_exits_3() {
    let base = format!("http://127.0.0.1:{}/v1", crate::support::closed_port());
    let run = assert_outage("refused", &base, "(unreachable) after 4 attempt(s)");
    let error = run.trial("hello", 0)["error"].as_str().unwrap().to_owned();
    assert!(
        error.to_lowercase().contains("connection refused"),
        "{error}"
    );
}

#[test]
fn a_model_api_refusing_the_key_is_an_infrastructure_error_and_exits_3() {
    let dir = TestProject::new("stub-401");
    let stub = ModelStub::start("401", dir.path());
    let base = format!("http://127.0.0.1:{}/v1", stub.port);
    assert_outage(
        "unauthorized",
        &base,
        "(authentication refused) after 1 attempt(s): HTTP 401",
    );
    // Not retried: a refused key stays refused.
    assert_eq!(stub.requests().len(), 1);
}

#[test]
fn a_model_api_failing_after_every_retry_is_an_infrastructure_error_and_exits_3() {
    let dir = TestProject::new("stub-503");
    // It answers `retry-after: 0`, which the retries honour: no waiting.
    let stub = ModelStub::start("503", dir.path());
    let base = format!("http://127.0.0.1:{}/v1", stub.port);
    assert_outage(
        "unavailable",
        &base,
        "(server error) after 4 attempt(s): HTTP 503",
    );
    assert_eq!(stub.requests().len(), 4);
}

#[test]
fn an_agent_program_gone_at_run_time_is_an_infrastructure_error() {
    let p = TestProject::new("gone");
    // The agent deletes itself on its first run: it exists when the suite loads, and is
    // missing when the second trial starts it.
    p.file(
        "agent.sh",
        "#!/bin/sh\ncat > /dev/null\nrm -f \"$0\"\necho done\n",
    );
    let agent = p.path().join("agent.sh");
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    p.file(
        "suites/gone.toml",
        &format!(
            "trials = 2\n[agent]\nkind = \"command\"\ncommand = [\"{}\"]\n\n[[case]]\n\
             id = \"once\"\ninput = \"x\"\n[case.expect]\noutput-contains = [\"done\"]\n",
            agent.display()
        ),
    );
    let run = run_from(&p, p.path(), &["-j", "1"], &[]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.trial("once", 0)["passed"], true);
    let t = run.trial("once", 1);
    assert_eq!(t["error_kind"], "infrastructure", "{t:#}");
    assert!(
        t["error"].as_str().unwrap().contains("could not start"),
        "{t:#}"
    );
    assert!(
        run.stderr
            .contains("1 passed; 0 failed; 1 errored (1 infrastructure)"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_failed_check_wins_over_an_outage_and_a_judges_outage_errors_the_trial() {
    let p = TestProject::new("mixed");
    let stub = ModelStub::start("401", p.path());
    let base = format!("http://127.0.0.1:{}/v1", stub.port);
    p.file(
        "suites/scripts/hello.toml",
        "[[rule]]\ntext = \"hello there\"\n",
    );
    // `judged`: the agent answers, its judge's API refuses the key: errored, infrastructure.
    // `wrong`: the agent's answer misses the expected text: failed.
    p.file(
        "suites/mixed.toml",
        &format!(
            "trials = 1\nmodels = [\"m\"]\n[agent]\nkind = \"builtin\"\n\n\
             [model.m]\nprovider = \"scripted\"\nscript = \"scripts/hello.toml\"\n\n\
             [model.judge]\nprovider = \"openai\"\nmodel = \"gpt-4o-mini\"\nbase-url = \"{base}\"\n\n\
             [[case]]\nid = \"judged\"\ninput = \"hi\"\n\
             [[case.expect.judge]]\nmodel = \"judge\"\nrubric = \"friendly\"\n\n\
             [[case]]\nid = \"wrong\"\ninput = \"hi\"\n[case.expect]\noutput-contains = [\"bye\"]\n"
        ),
    );
    let run = run_from(&p, p.path(), &[], &[("OPENAI_API_KEY", SECRET)]);
    // A check failed: exit 1, whatever else errored.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let judged = run.trial("judged", 0);
    assert_eq!(judged["error_kind"], "infrastructure", "{judged:#}");
    let error = judged["error"].as_str().unwrap();
    assert!(
        error.starts_with("judge `judge` (model `judge`): the model API at"),
        "{error}"
    );
    assert!(error.contains("HTTP 401"), "{error}");
    let wrong = run.trial("wrong", 0);
    assert!(wrong["error_kind"].is_null(), "{wrong:#}");
    assert!(
        run.stderr
            .contains("test result: FAILED. 0 passed; 1 failed; 1 errored (1 infrastructure);"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);

    // Without the failing case, the outage alone: exit 3.
    let run = run_from(
        &p,
        p.path(),
        &["--filter", "judged"],
        &[("OPENAI_API_KEY", SECRET)],
    );
    assert_eq!(run.code, 3, "{}", run.stderr);
}

// Item 27: a case-clustered interval beside the Wilson one.

#[test]
fn the_report_and_headline_carry_a_case_clustered_interval() {
    let p = TestProject::new("clustered");
    p.file(
        "agent.sh",
        "#!/bin/sh\ncat > /dev/null\necho \"$TRACEVAL_INPUT\"\n",
    );
    let agent = p.path().join("agent.sh");
    std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // Ten cases of three trials: eight always pass, two always fail. 24 of 30 trials pass,
    // but there are only ten independent units.
    let mut suite = format!(
        "trials = 3\n[agent]\nkind = \"command\"\ncommand = [\"{}\"]\n",
        agent.display()
    );
    for i in 0..10 {
        let input = if i < 8 { "yes" } else { "no" };
        suite.push_str(&format!(
            "\n[[case]]\nid = \"c{i}\"\ninput = \"{input}\"\n[case.expect]\noutput-contains = [\"yes\"]\n"
        ));
    }
    p.file("suites/ten.toml", &suite);
    let run = run_from(&p, &p.path().join("suites"), &["ten.toml"], &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let model = &run.report()["models"][0];
    let wilson = model["pass_rate_ci95"].as_array().unwrap();
    let clustered = model["pass_rate_ci95_clustered"].as_array().unwrap();
    // Rates: eight 1.0, two 0.0; mean 0.8, sd √(1.6/9), t(0.975, 9) = 2.2622.
    let half = 2.262_157_162_740_992_5 * (1.6f64 / 9.0).sqrt() / 10f64.sqrt();
    let lo = clustered[0].as_f64().unwrap();
    assert!((lo - (0.8 - half)).abs() < 1e-9, "{clustered:?}");
    assert_eq!(clustered[1], 1.0);
    // Wider than Wilson's over 30 trials taken as independent.
    assert!(lo < wilson[0].as_f64().unwrap(), "{wilson:?} {clustered:?}");
    assert!(
        run.stderr
            .contains("pass rate 80.0% [62.7%, 90.5%] (by case [49.8%, 100.0%])"),
        "{}",
        run.stderr
    );
}

// Item 22: load and usage errors say where and why.

/// A command-agent suite around `case` (a `[[case]]` table's body after its id and input).
fn command_suite(case: &str) -> String {
    format!(
        "[agent]\nkind = \"command\"\ncommand = [\"sh\", \"-c\", \"echo hi\"]\n\n\
         [[case]]\nid = \"x\"\ninput = \"y\"\n{case}"
    )
}

#[test]
fn a_bad_regex_prints_its_caret_diagram_as_lines() {
    let p = TestProject::new("bad-regex");
    p.file(
        "suites/a.toml",
        &command_suite("[case.expect]\noutput-regex = \"(unclosed\"\n"),
    );
    let (code, stderr) =
        code_and_stderr(&traceval_in(&p.path().join("suites"), &["run", "a.toml"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("a.toml:9:16: `case[0].expect.output-regex` is not a valid regex"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "  caused by: regex parse error:\n                 (unclosed\n                 ^\n             error: unclosed group\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("\\n"), "{stderr}");
}

#[test]
fn a_bad_filter_glob_says_why() {
    let p = TestProject::new("bad-filter");
    p.file("suites/a.toml", &command_suite(""));
    for sub in ["run", "list"] {
        let (code, stderr) = code_and_stderr(&traceval_in(p.path(), &[sub, "--filter", "["]));
        assert_eq!(code, 2, "{sub}: {stderr}");
        assert!(
            stderr.contains(
                "error: invalid filter pattern `[`: unclosed character class; missing ']'; a \
                 pattern with `*`, `?` or `[` is a glob over `suite::case` (`[[]` matches a \
                 literal `[`)"
            ),
            "{sub}: {stderr}"
        );
    }
}

#[test]
fn a_missing_script_is_a_load_error_at_its_key_for_run_and_list() {
    let p = TestProject::new("missing-script");
    p.file(
        "suites/a.toml",
        "models = [\"m\"]\n[agent]\nkind = \"builtin\"\n\n[model.m]\nprovider = \"scripted\"\n\
         script = \"scripts/nope.toml\"\n\n[[case]]\nid = \"x\"\ninput = \"y\"\n",
    );
    let suite = p.path().join("suites/a.toml");
    let elsewhere = scratch("elsewhere");
    for sub in ["list", "run"] {
        // From elsewhere, by absolute path: the script is relative to the suite, not to here.
        let (code, stderr) = code_and_stderr(&traceval_in(
            elsewhere.path(),
            &[sub, suite.to_str().unwrap()],
        ));
        assert_eq!(code, 2, "{sub}: {stderr}");
        let missing = p.path().join("suites/scripts/nope.toml");
        assert!(
            stderr.contains(&format!(
                "a.toml:7:10: invalid `model.m.script`: the script `{}` does not exist \
                 (`scripts/nope.toml` is relative to the directory of this file)",
                missing.display()
            )),
            "{sub}: {stderr}"
        );
    }
}

#[test]
fn an_unknown_key_lists_the_few_valid_ones_and_a_case_agent_gets_a_hint() {
    let p = TestProject::new("unknown-keys");
    p.file(
        "suites/a.toml",
        "[agent]\nkind = \"command\"\ncommand = [\"sh\"]\nworkdir = \"x\"\n\n[[case]]\nid = \"x\"\ninput = \"y\"\n",
    );
    let (code, stderr) = code_and_stderr(&traceval_in(p.path(), &["list"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("a.toml:4:1: unknown key `agent.workdir`\n  hint: expected one of: `kind`, `command`, `env`, `cwd`"),
        "{stderr}"
    );

    p.file(
        "suites/a.toml",
        &command_suite("agent.command = [\"python3\", \"other.py\"]\n"),
    );
    let (code, stderr) = code_and_stderr(&traceval_in(p.path(), &["run"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(
            "a.toml:8:1: unknown key `case[0].agent`\n  hint: the agent is set once per suite, \
             in its `[agent]` table; put cases that need another agent in a suite of their own"
        ),
        "{stderr}"
    );
}
