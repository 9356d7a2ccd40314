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

/// The suite's `[agent]` lines for each choice.
fn agent_lines(lang: Lang, no_agent: bool) -> &'static str {
    match (no_agent, lang) {
        (true, _) => {
            "# Your agent: a program and its arguments, run from this file's directory. It gets \
             the case\n# on stdin and in TRACEVAL_INPUT, answers on stdout, and sends its \
             OpenTelemetry spans to the\n# endpoint traceval sets (OTEL_EXPORTER_OTLP_ENDPOINT; \
             traceval's docs/reference/agent.md).\ncommand = [\"./my-agent\"]"
        }
        (false, Lang::Python) => {
            "command = [\"python3\", \"../agent/agent.py\"]\n# The instrumentation records the \
             messages on the spans (current versions take SPAN_ONLY, not true).\nenv = { \
             OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = \"SPAN_ONLY\" }"
        }
        (false, Lang::Shell) => "command = [\"sh\", \"../agent/agent.sh\"]",
        (false, Lang::Rust) => {
            "# Built by `cargo build --manifest-path agent/Cargo.toml` (from the project).\n\
             command = [\"../agent/target/debug/agent\"]"
        }
        (false, Lang::Node) => {
            "command = [\"node\", \"../agent/agent.js\"]\n# The instrumentation records the \
             messages on the spans.\nenv = { OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT = \
             \"true\" }"
        }
    }
}

/// The files of a project for these choices.
fn files(lang: Lang, no_agent: bool) -> Vec<File> {
    let suite = include_str!("init/suite.toml").replace("{{AGENT}}", agent_lines(lang, no_agent));
    let setup = match (no_agent, lang) {
        (true, _) | (false, Lang::Shell) => "",
        (false, Lang::Python) => {
            "      - uses: actions/setup-python@v5\n        with:\n          python-version: \"3.12\"\n      \
             - run: pip install -r agent/requirements.txt\n"
        }
        (false, Lang::Rust) => "      - run: cargo build --manifest-path agent/Cargo.toml\n",
        (false, Lang::Node) => {
            "      - uses: actions/setup-node@v4\n        with:\n          node-version: \"20\"\n      \
             - run: npm install --prefix agent\n"
        }
    };
    let mut files = vec![
        File::new("traceval.toml", include_str!("init/traceval.toml")),
        File {
            path: ".github/workflows/traceval.yml",
            text: include_str!("init/workflow.yml").replace("{{SETUP}}", setup),
            executable: false,
        },
        File {
            path: "suites/weather.toml",
            text: suite,
            executable: false,
        },
        File::new(
            "suites/scripts/weather-model.toml",
            include_str!("init/model.toml"),
        ),
    ];
    if no_agent {
        return files;
    }
    // The shape of the paris trace, recorded by `traceval run` (both agents send the same
    // one), so that CI, which never records a snapshot, compares from the first run.
    files.push(File::new(
        "suites/snapshots/weather__paris@scripted.snap",
        include_str!("init/paris.snap"),
    ));
    match lang {
        Lang::Python => files.extend([
            File::new(
                "agent/agent.py",
                include_str!("../../suites/agents/weather_agent.py"),
            ),
            File::new(
                "agent/requirements.txt",
                include_str!("init/python/requirements.txt"),
            ),
        ]),
        Lang::Shell => files.extend([File {
            path: "agent/agent.sh",
            text: include_str!("init/shell/agent.sh").to_owned(),
            executable: true,
        }]),
        Lang::Rust => files.extend([
            File::new("agent/Cargo.toml", include_str!("init/rust/Cargo.toml.txt")),
            File::new("agent/src/main.rs", include_str!("init/rust/main.rs")),
        ]),
        Lang::Node => files.extend([
            File::new("agent/package.json", include_str!("init/node/package.json")),
            File::new("agent/agent.js", include_str!("init/node/agent.js")),
        ]),
    }
    files
}

/// Runs `traceval init`.
pub(super) fn run(args: &InitArgs) -> Result<i32, CliError> {
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from("."));
    let files = files(args.lang, args.no_agent);
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
    let ignored = ignore(&dir, "reports/", "traceval's reports and saved traces").map_err(io(
        format!("cannot update `{}`", dir.join(".gitignore").display()),
    ))?;
    let built = match args.lang {
        Lang::Rust => Some("agent/target/"),
        Lang::Node => Some("agent/node_modules/"),
        Lang::Python | Lang::Shell => None,
    };
    if let Some(entry) = built.filter(|_| !args.no_agent) {
        ignore(&dir, entry, "the example agent's build").map_err(io(format!(
            "cannot update `{}`",
            dir.join(".gitignore").display()
        )))?;
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
    if ignored {
        let _ = writeln!(
            stderr,
            "{:>12} reports/ to {}",
            "Added",
            dir.join(".gitignore").display()
        );
    }
    let cd = match &args.dir {
        Some(d) => format!("cd {} && ", d.display()),
        None => String::new(),
    };
    let next = match (args.no_agent, args.lang) {
        (true, _) => format!("edit [agent] in suites/weather.toml, then {cd}traceval run"),
        (false, Lang::Python) => {
            format!("{cd}pip install -r agent/requirements.txt && traceval run")
        }
        (false, Lang::Shell) => format!("{cd}traceval run"),
        (false, Lang::Rust) => {
            format!("{cd}cargo build --manifest-path agent/Cargo.toml && traceval run")
        }
        (false, Lang::Node) => format!("{cd}npm install --prefix agent && traceval run"),
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
