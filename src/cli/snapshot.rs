//! `traceval snapshot`: the pending trace-shape snapshots (`.snap.new` files a run left in
//! `suites/snapshots/`), listed, accepted, rejected, or reviewed one by one on a terminal.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{CliError, exit};
use crate::snapshot::{self, Pending};
use crate::suite::Filter;
use crate::trace::render::clean;

/// `traceval snapshot`.
#[derive(Debug, Args)]
pub(super) struct SnapshotArgs {
    #[command(subcommand)]
    command: Option<SnapshotCommand>,
    /// The project root holding `suites/snapshots/` (default: the nearest directory above the
    /// working directory that holds a `traceval.toml`, else one that holds `suites/`).
    #[arg(long, value_name = "DIR", global = true)]
    project: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum SnapshotCommand {
    /// List the pending snapshots (what `traceval snapshot` alone does).
    List(FilterArgs),
    /// Accept pending snapshots: each `.snap.new` replaces its `.snap`.
    Accept(FilterArgs),
    /// Reject pending snapshots: each `.snap.new` is deleted.
    Reject(FilterArgs),
    /// Show each pending snapshot's diff on a terminal and accept, reject or skip it.
    Review(FilterArgs),
}

#[derive(Debug, Default, Args)]
struct FilterArgs {
    /// Only snapshots whose `suite::case` contains this text or matches this glob, as `run
    /// --filter` (repeatable); all by default.
    #[arg(value_name = "FILTER")]
    filter: Vec<String>,
}

/// Runs `traceval snapshot …`.
pub(super) fn run(args: &SnapshotArgs) -> Result<i32, CliError> {
    let root = super::project_root(args.project.as_deref(), &[])?;
    let dir = root.join(snapshot::DIR);
    let (command, filter) = match &args.command {
        None => ("list", &FilterArgs::default()),
        Some(SnapshotCommand::List(f)) => ("list", f),
        Some(SnapshotCommand::Accept(f)) => ("accept", f),
        Some(SnapshotCommand::Reject(f)) => ("reject", f),
        Some(SnapshotCommand::Review(f)) => ("review", f),
    };
    let patterns = Filter::new(&filter.filter).map_err(CliError::Filter)?;
    let all = snapshot::pending(&dir)
        .map_err(|e| CliError::Infrastructure(format!("cannot read `{}`", dir.display()), e))?;
    let total = all.len();
    let selected: Vec<Pending> = all.into_iter().filter(|p| p.matches(&patterns)).collect();
    let shown_dir = snapshot::relative(&dir, &root);
    let mut err = std::io::stderr().lock();
    if total == 0 {
        let _ = writeln!(err, "no pending snapshots in {shown_dir}");
        return Ok(exit::PASS);
    }
    if selected.is_empty() {
        return Err(CliError::NoPendingMatch {
            total,
            dir: shown_dir,
        });
    }
    match command {
        "list" => list(&selected, &root),
        "accept" | "reject" => {
            let accept = command == "accept";
            for p in &selected {
                let (done, verb, file) = if accept {
                    (p.accept(), "Accepted", &p.target)
                } else {
                    (p.reject(), "Rejected", &p.path)
                };
                done.map_err(|e| {
                    CliError::Infrastructure(format!("cannot {command} `{}`", p.path.display()), e)
                })?;
                let _ = writeln!(
                    err,
                    "{verb:>12} {} {}",
                    clean(&p.title(), 300),
                    clean(&snapshot::relative(file, &root), 300)
                );
            }
            let _ = writeln!(
                err,
                "{:>12} {} snapshot{} {}",
                "Summary",
                selected.len(),
                if selected.len() == 1 { "" } else { "s" },
                if accept { "accepted" } else { "rejected" }
            );
            Ok(exit::PASS)
        }
        _ => super::review::review(&selected, &root),
    }
}

/// One line per pending snapshot on stdout: `new` or `changed`, its title, its file.
fn list(pending: &[Pending], root: &std::path::Path) -> Result<i32, CliError> {
    let mut out = std::io::stdout().lock();
    for p in pending {
        let status = if p.target.exists() { "changed" } else { "new" };
        writeln!(
            out,
            "{status:<8} {} {}",
            clean(&p.title(), 300),
            clean(&snapshot::relative(&p.path, root), 300)
        )
        .map_err(CliError::Output)?;
    }
    Ok(exit::PASS)
}
