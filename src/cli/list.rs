//! `traceval list`: the plan `run` would execute, one line per case × model, on stdout.

use std::io::Write;

use super::args::SelectArgs;
use super::plan::plan;
use super::settings::Env;
use super::{CliError, exit};

/// `traceval list`: the plan, one line per case × model, on stdout.
pub(super) fn list(select: &SelectArgs) -> Result<i32, CliError> {
    let root = super::project_root(select.project.as_deref(), &select.paths)?;
    super::run::show_project(&root);
    let (project, _, plan) = plan(select, &root, &Env::from_process(), None)?;
    let mut out = std::io::stdout().lock();
    for g in &plan.groups {
        writeln!(
            out,
            "{}::{} ({}) ×{}",
            crate::trace::render::clean(&plan.suite(g).name, 80),
            crate::trace::render::clean(&plan.case(g).id, 120),
            crate::trace::render::clean(&g.model, 80),
            g.trials
        )
        .map_err(CliError::Output)?;
    }
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    writeln!(
        out,
        "{} × {}: {}",
        plural(plan.case_count(), "case"),
        plural(plan.model_names().len(), "model"),
        plural(plan.trial_count(), "trial")
    )
    .map_err(CliError::Output)?;
    for suite in &project.ignored {
        let reason = match suite.ignore.as_deref() {
            Some("") | None => String::new(),
            Some(reason) => format!(": {}", crate::trace::render::clean(reason, 200)),
        };
        writeln!(
            out,
            "ignored suite {} ({}){reason}",
            crate::trace::render::clean(&suite.name, 80),
            suite.path.display()
        )
        .map_err(CliError::Output)?;
    }
    Ok(exit::PASS)
}
