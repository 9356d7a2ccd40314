//! `traceval init [DIR]`: a project that passes at once, offline: `traceval.toml` with a CI
//! profile, an example suite against a scripted model (tools, span queries and a trace-shape
//! snapshot), an example agent in the language asked for, and `reports/` in `.gitignore`.
//! Files that exist are named and left alone unless `--force`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use super::CliError;

/// After `traceval init --help`.
pub(super) const HELP: &str = "\
Examples:
  traceval init                     # here: a Python agent (OpenAI SDK + OpenTelemetry)
  traceval init my-evals --lang shell
  traceval init my-evals --lang rust
  traceval init my-evals --lang node
  traceval init --no-agent          # a suite for your own agent program

Then `traceval run`: every case runs against a scripted model that traceval serves itself, so
the example passes offline and for free. The Python agent needs
`pip install -r agent/requirements.txt`, the Rust one `cargo build --manifest-path
agent/Cargo.toml`, the Node one `npm install --prefix agent`; the shell agent needs curl.

Exit codes: 0 written, 2 a file exists (named; `--force` overwrites), 3 a file cannot be
written.";

/// The example agent's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(super) enum Lang {
    /// The OpenAI SDK with the official OpenTelemetry GenAI instrumentation.
    Python,
    /// POSIX sh with curl: the model's API and OTLP/JSON by hand.
    Shell,
    /// The OpenTelemetry SDK for Rust with its OTLP exporter (built with cargo).
    Rust,
    /// The OpenAI SDK with the OpenTelemetry contrib instrumentation (installed with npm).
    Node,
}

/// `traceval init`.
#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// The project directory, created when missing (default: the working directory).
    #[arg(value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The example agent's language.
    #[arg(long, value_enum, default_value_t = Lang::Python)]
    lang: Lang,
    /// No example agent: the suite runs a program of yours (`[agent] command`).
    #[arg(long)]
    no_agent: bool,
    /// Overwrite files that exist.
    #[arg(long)]
    force: bool,
}

/// One file to write: its path in the project, its text, and whether it is a program.
struct File {
    path: &'static str,
    text: String,
    executable: bool,
}

impl File {
    fn new(path: &'static str, text: &str) -> File {
        File {
            path,
            text: text.to_owned(),
            executable: false,
        }
    }
}

/// What an example agent brings: its suite lines, files, install command and what its build
/// leaves that git should not keep.
struct Example {
    /// The suite's `[agent]` lines.
    agent: &'static str,
    /// The agent's files: path in the project, text, whether it is a program.
    files: &'static [(&'static str, &'static str, bool)],
    /// The command that installs or builds it, run from the project.
    install: Option<&'static str>,
    /// The workflow's steps that set up its toolchain, before `install`.
    toolchain: &'static str,
    /// A directory its install writes, for `.gitignore`.
    built: Option<&'static str>,
}

/// `--no-agent`: the suite points at a program of the user's.
const OWN_AGENT: Example = Example {
    agent: "# Your agent: a program and its arguments, run from this file's directory. It gets \
            the case\n# on stdin and in TRACEVAL_INPUT, answers on stdout, and sends its \
            OpenTelemetry spans to the\n# endpoint traceval sets (OTEL_EXPORTER_OTLP_ENDPOINT; \
            traceval's docs/reference/agent.md).\ncommand = [\"./my-agent\"]",
    files: &[],
    install: None,
    toolchain: "",
    built: None,
};

/// The example agent of `lang`.
fn example(lang: Lang) -> Example {
    match lang {
        Lang::Python => Example {
            agent: "command = [\"python3\", \"../agent/agent.py\"]\n# The instrumentation \
                    records the messages on the spans (current versions take SPAN_ONLY, not \
                    true).\nenv = { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = \
                    \"SPAN_ONLY\" }",
            files: &[
                (
                    "agent/agent.py",
                    include_str!("../../suites/agents/weather_agent.py"),
                    false,
                ),
                (
                    "agent/requirements.txt",
                    include_str!("init/python/requirements.txt"),
                    false,
                ),
            ],
            install: Some("pip install -r agent/requirements.txt"),
            toolchain: "      - uses: actions/setup-python@v5\n        with:\n          \
                        python-version: \"3.12\"\n",
            built: None,
        },
        Lang::Shell => Example {
            agent: "command = [\"sh\", \"../agent/agent.sh\"]",
            files: &[("agent/agent.sh", include_str!("init/shell/agent.sh"), true)],
            install: None,
            toolchain: "",
            built: None,
        },
        Lang::Rust => Example {
            agent: "# Built by `cargo build --manifest-path agent/Cargo.toml` (from the \
                    project).\ncommand = [\"../agent/target/debug/agent\"]",
            files: &[
                (
                    "agent/Cargo.toml",
                    include_str!("init/rust/Cargo.toml.txt"),
                    false,
                ),
                (
                    "agent/src/main.rs",
                    include_str!("init/rust/main.rs"),
                    false,
                ),
            ],
            install: Some("cargo build --manifest-path agent/Cargo.toml"),
            toolchain: "",
            built: Some("agent/target/"),
        },
        Lang::Node => Example {
            agent: "command = [\"node\", \"../agent/agent.js\"]\n# The instrumentation \
                    records the messages on the spans.\nenv = { \
                    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = \"true\" }",
            files: &[
                (
                    "agent/package.json",
                    include_str!("init/node/package.json"),
                    false,
                ),
                ("agent/agent.js", include_str!("init/node/agent.js"), false),
            ],
            install: Some("npm install --prefix agent"),
            toolchain: "      - uses: actions/setup-node@v4\n        with:\n          \
                        node-version: \"20\"\n",
            built: Some("agent/node_modules/"),
        },
    }
}

/// The files of a project with `example`.
fn files(example: &Example, own_agent: bool) -> Vec<File> {
    let mut setup = example.toolchain.to_owned();
    if let Some(install) = example.install {
        setup.push_str(&format!("      - run: {install}\n"));
    }
    let mut files = vec![
        File::new("traceval.toml", include_str!("init/traceval.toml")),
        File::new(
            ".github/workflows/traceval.yml",
            &include_str!("init/workflow.yml").replace("{{SETUP}}", &setup),
        ),
        File::new(
            "suites/weather.toml",
            &include_str!("init/suite.toml").replace("{{AGENT}}", example.agent),
        ),
        File::new(
            "suites/scripts/weather-model.toml",
            include_str!("init/model.toml"),
        ),
    ];
    if own_agent {
        return files;
    }
    // The shape of the paris trace, recorded by `traceval run` (every example agent sends the
    // same one), so that CI, which never records a snapshot, compares from the first run.
    files.push(File::new(
        "suites/snapshots/weather__paris@scripted.snap",
        include_str!("init/paris.snap"),
    ));
    files.extend(example.files.iter().map(|&(path, text, executable)| File {
        path,
        text: text.to_owned(),
        executable,
    }));
    files
}

/// Runs `traceval init`.
pub(super) fn run(args: &InitArgs) -> Result<i32, CliError> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let example = if args.no_agent {
        OWN_AGENT
    } else {
        example(args.lang)
    };
    let files = files(&example, args.no_agent);
    if !args.force {
        let existing: Vec<PathBuf> = files
            .iter()
            .map(|f| dir.join(f.path))
            .filter(|p| p.exists())
            .collect();
        if !existing.is_empty() {
            return Err(CliError::InitExists(existing));
        }
    }
    let io = |what: String| move |e| CliError::Infrastructure(what, e);
    for file in &files {
        let path = dir.join(file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(format!("cannot create `{}`", parent.display())))?;
        }
        std::fs::write(&path, &file.text)
            .map_err(io(format!("cannot write `{}`", path.display())))?;
        if file.executable {
            executable(&path)
                .map_err(io(format!("cannot make `{}` executable", path.display())))?;
        }
    }
    let gitignore = dir.join(".gitignore");
    let mut ignored = Vec::new();
    let entries = [
        Some(("reports/", "traceval's reports and saved traces")),
        example
            .built
            .map(|entry| (entry, "the example agent's build")),
    ];
    for (entry, why) in entries.into_iter().flatten() {
        if ignore(&dir, entry, why)
            .map_err(io(format!("cannot update `{}`", gitignore.display())))?
        {
            ignored.push(entry);
        }
    }
    let mut stderr = std::io::stderr().lock();
    for file in &files {
        let _ = writeln!(
            stderr,
            "{:>12} {}",
            "Created",
            dir.join(file.path).display()
        );
    }
    if !ignored.is_empty() {
        let _ = writeln!(
            stderr,
            "{:>12} {} to {}",
            "Added",
            ignored.join(", "),
            gitignore.display()
        );
    }
    let cd = match &args.dir {
        Some(d) => format!("cd '{}' && ", d.display()),
        None => String::new(),
    };
    let next = match (args.no_agent, example.install) {
        (true, _) => format!("edit [agent] in suites/weather.toml, then {cd}traceval run"),
        (false, Some(install)) => format!("{cd}{install} && traceval run"),
        (false, None) => format!("{cd}traceval run"),
    };
    let _ = writeln!(stderr, "{:>12} {next}", "Next");
    Ok(super::exit::PASS)
}

/// Adds `entry` (a directory, `name/`) to the project's `.gitignore` under `# why` unless it
/// is there; whether it added it.
fn ignore(dir: &Path, entry: &str, why: &str) -> std::io::Result<bool> {
    let path = dir.join(".gitignore");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if text.lines().any(|l| {
        l.trim().trim_start_matches('/').trim_end_matches('/') == entry.trim_end_matches('/')
    }) {
        return Ok(false);
    }
    let mut out = text;
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!("# {why}\n{entry}\n"));
    std::fs::write(&path, out)?;
    Ok(true)
}

#[cfg(unix)]
fn executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(not(unix))]
fn executable(_: &Path) -> std::io::Result<()> {
    Ok(())
}
