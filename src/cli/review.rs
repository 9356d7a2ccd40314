//! `traceval snapshot review`: each pending snapshot's diff on a terminal, then one key.

use std::io::{IsTerminal, Read, Write};

use super::{CliError, exit};
use crate::snapshot::{self, Pending};
use crate::trace::render::clean;

/// Lines of a diff `review` shows at most.
const MAX_REVIEW_DIFF: usize = 400;

/// What the reviewer decided for one snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Accept,
    Reject,
    Skip,
    Quit,
    /// Ctrl-C: stop as `q` does, with the exit code of an interrupted command.
    Interrupt,
}

/// The interactive review: each snapshot's diff, then one key.
pub(super) fn review(pending: &[Pending], root: &std::path::Path) -> Result<i32, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || !std::io::stderr().is_terminal() {
        return Err(CliError::ReviewWithoutTerminal);
    }
    let color = std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let mut err = std::io::stderr().lock();
    let (mut accepted, mut rejected, mut skipped) = (0, 0, 0);
    let mut interrupted = false;
    let _ = writeln!(
        err,
        "{:>12} {} pending snapshot{}",
        "Reviewing",
        pending.len(),
        if pending.len() == 1 { "" } else { "s" }
    );
    for (i, p) in pending.iter().enumerate() {
        let old = p.old_body();
        let status = if old.is_some() { "changed" } else { "new" };
        let _ = writeln!(
            err,
            "\n[{}/{}] {} ({status})\n  file: {}",
            i + 1,
            pending.len(),
            clean(&p.title(), 300),
            clean(&snapshot::relative(&p.path, root), 300)
        );
        if let Some(file) = &p.file {
            let _ = writeln!(err, "  source: {}", clean(&file.source, 300));
        }
        let diff = snapshot::diff(
            old.as_deref().unwrap_or(""),
            &p.new_body(),
            "snapshot",
            "pending",
            MAX_REVIEW_DIFF,
        );
        for line in diff.lines() {
            let line = clean(line, 1000);
            let painted = match line.chars().next() {
                Some('+') if color && !line.starts_with("+++") => format!("\x1b[32m{line}\x1b[0m"),
                Some('-') if color && !line.starts_with("---") => format!("\x1b[31m{line}\x1b[0m"),
                _ => line,
            };
            let _ = writeln!(err, "  {painted}");
        }
        let decision = ask(&mut err)?;
        let done = match decision {
            Decision::Accept => p.accept().map(|()| accepted += 1),
            Decision::Reject => p.reject().map(|()| rejected += 1),
            Decision::Skip => {
                skipped += 1;
                Ok(())
            }
            Decision::Quit => break,
            Decision::Interrupt => {
                interrupted = true;
                break;
            }
        };
        done.map_err(|e| {
            CliError::Infrastructure(format!("cannot update `{}`", p.path.display()), e)
        })?;
    }
    let left = pending.len() - accepted - rejected;
    let _ = writeln!(
        err,
        "\n{:>12} {accepted} accepted, {rejected} rejected, {skipped} skipped; {left} still pending",
        "Summary"
    );
    Ok(if interrupted {
        exit::INTERRUPTED
    } else {
        exit::PASS
    })
}

/// Reads the rest of an escape sequence after its `ESC`: a CSI or SS3 sequence (`ESC [` or
/// `ESC O`, parameters, then a final byte in `0x40..=0x7E`), or one more byte.
fn skip_escape_sequence(input: &mut impl Read) {
    let mut byte = [0u8; 1];
    if !matches!(input.read(&mut byte), Ok(1)) || !matches!(byte[0], b'[' | b'O') {
        return;
    }
    // At most a few dozen bytes: a sequence never is longer, and a bad one must not hang us.
    for _ in 0..32 {
        if !matches!(input.read(&mut byte), Ok(1)) || (0x40..=0x7e).contains(&byte[0]) {
            return;
        }
    }
}

/// Asks for one key: `a` accept, `r` reject, `s` skip, `q` (or Ctrl-D) quit, Ctrl-C
/// interrupt; other keys, and arrow or function keys, ask again.
fn ask(err: &mut impl Write) -> Result<Decision, CliError> {
    let raw = RawMode::enter();
    loop {
        let _ = write!(err, "  a accept · r reject · s skip · q quit > ");
        let _ = err.flush();
        let mut stdin = std::io::stdin().lock();
        let mut byte = [0u8; 1];
        let read = stdin.read(&mut byte).map_err(CliError::Output)?;
        if read == 1 && byte[0] == 0x1b {
            // An arrow or function key is an escape sequence (`ESC [ A` is Up): swallow it
            // whole, or its last byte would be read as a key (`A`ccept).
            skip_escape_sequence(&mut stdin);
        }
        let decision = match (read, byte[0]) {
            (0, _) | (_, b'q' | 4) => Some(Decision::Quit),
            (_, 3) => Some(Decision::Interrupt),
            // Lowercase only: the final byte of an escape sequence is often a capital letter.
            (_, b'a') => Some(Decision::Accept),
            (_, b'r') => Some(Decision::Reject),
            (_, b's') => Some(Decision::Skip),
            _ => None,
        };
        let label = match decision {
            Some(Decision::Accept) => "accepted",
            Some(Decision::Reject) => "rejected",
            Some(Decision::Skip) => "skipped",
            Some(Decision::Quit) => "quit",
            Some(Decision::Interrupt) => "interrupted",
            None => "?",
        };
        let _ = writeln!(err, "{label}");
        if let Some(decision) = decision {
            drop(raw);
            return Ok(decision);
        }
    }
}

/// The terminal without line buffering, echo or signal keys while it lives (a key press is
/// read at once, and Ctrl-C arrives as a key, so the settings are always restored).
struct RawMode(Option<rustix::termios::Termios>);

impl RawMode {
    fn enter() -> RawMode {
        use rustix::termios::{
            LocalModes, OptionalActions, SpecialCodeIndex, tcgetattr, tcsetattr,
        };
        let stdin = std::io::stdin();
        let Ok(saved) = tcgetattr(&stdin) else {
            return RawMode(None);
        };
        let mut raw = saved.clone();
        raw.local_modes
            .remove(LocalModes::ICANON | LocalModes::ECHO | LocalModes::ISIG);
        raw.special_codes[SpecialCodeIndex::VMIN] = 1;
        raw.special_codes[SpecialCodeIndex::VTIME] = 0;
        match tcsetattr(&stdin, OptionalActions::Now, &raw) {
            Ok(()) => RawMode(Some(saved)),
            Err(_) => RawMode(None),
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(saved) = &self.0 {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                saved,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_swallowed_whole() {
        // Up, F5 (`ESC [ 1 5 ~`), `ESC O P` (F1), then the key that follows each.
        for (input, next) in [
            (&b"[Ar"[..], b'r'),
            (b"[15~s", b's'),
            (b"OPa", b'a'),
            (b"xq", b'q'), // `ESC x`: one more byte only
        ] {
            let mut reader = input;
            skip_escape_sequence(&mut reader);
            let mut byte = [0u8; 1];
            assert_eq!(reader.read(&mut byte).unwrap(), 1);
            assert_eq!(byte[0], next, "{input:?}");
        }
    }
}
