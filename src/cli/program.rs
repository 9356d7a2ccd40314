//! The programs a run spawns, checked before any trial starts.

use std::path::Path;

use super::CliError;
use crate::suite::{Agent, Suite, ToolResult};

/// A command agent's program, and a builtin agent's command tools, must exist before any trial
/// starts: a typo is a configuration error (exit 2), not N errored trials. The path checked is
/// the one spawned (the loader made it absolute), and the error names the suite file, the line
/// and the key.
pub(super) fn check_program(suite: &Suite) -> Result<(), CliError> {
    let programs: Vec<(&Path, usize, String)> = match &suite.agent {
        Agent::Command(agent) => {
            vec![(&agent.program, agent.line, "agent.command".to_owned())]
        }
        Agent::Builtin(agent) => agent
            .tools
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match &t.result {
                ToolResult::Command { program, line, .. } => {
                    Some((program.as_path(), *line, format!("tool[{i}].command")))
                }
                _ => None,
            })
            .collect(),
        Agent::Replay(_) => Vec::new(),
    };
    for (program, line, key) in programs {
        if let Some(problem) = problem(program) {
            return Err(CliError::Program {
                path: suite.path.clone(),
                line,
                key,
                suite: suite.name.clone(),
                program: program.to_path_buf(),
                problem,
            });
        }
    }
    Ok(())
}

/// What is wrong with `program`: a path must be an executable file; a bare name must be a file
/// in a `PATH` directory.
fn problem(program: &Path) -> Option<&'static str> {
    if program.components().count() > 1 || program.is_absolute() {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(program) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 == 0 => {
                Some("is not executable (`chmod +x` it, or run it through its interpreter)")
            }
            Ok(m) if m.is_file() => None,
            _ => Some("not found"),
        }
    } else {
        let on_path = std::env::var_os("PATH").is_some_and(|path| {
            std::env::split_paths(&path).any(|dir| dir.join(program).is_file())
        });
        (!on_path).then_some("not found on PATH")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_is_an_executable_file_or_a_name_on_path() {
        let dir = std::env::temp_dir().join(format!("tv-program-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("agent.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert_eq!(
            problem(&script),
            Some("is not executable (`chmod +x` it, or run it through its interpreter)")
        );
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(problem(&script), None);
        assert_eq!(problem(&dir.join("missing")), Some("not found"));
        assert_eq!(problem(&dir), Some("not found"));
        assert_eq!(problem(Path::new("sh")), None);
        assert_eq!(
            problem(Path::new("no-such-program-anywhere")),
            Some("not found on PATH")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
