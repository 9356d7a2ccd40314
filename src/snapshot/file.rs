//! The `.snap` file format, as insta writes it: a small YAML header between `---` lines, then
//! the snapshot's text. insta can read these files (`insta::Snapshot::from_file`) and
//! `cargo insta review` shows their pending `.snap.new` files like its own.

use std::fmt::Write as _;
use std::path::Path;

/// One snapshot file: where it comes from, and the trace shape it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SnapshotFile {
    /// The suite file, relative to the project root (`source:` in the header).
    pub source: String,
    /// The suite name (`info.suite`).
    pub suite: String,
    /// The case id (`info.case`).
    pub case: String,
    /// The model name (`info.model`).
    pub model: String,
    /// The trace shape, without trailing newlines.
    pub body: String,
}

impl SnapshotFile {
    /// `suite::case (model)`, the header's `expression:` and how messages name the snapshot.
    pub(crate) fn title(&self) -> String {
        format!("{}::{} ({})", self.suite, self.case, self.model)
    }

    /// The file's text.
    ///
    /// ```text
    /// use traceval::snapshot::SnapshotFile;
    ///
    /// let file = SnapshotFile {
    ///     source: "suites/weather.toml".into(),
    ///     suite: "weather".into(),
    ///     case: "paris".into(),
    ///     model: "gpt-4o".into(),
    ///     body: "invoke_agent weather [agent]".into(),
    /// };
    /// assert_eq!(
    ///     file.to_text(),
    ///     "---\nsource: suites/weather.toml\nexpression: \"weather::paris (gpt-4o)\"\ninfo:\n  \
    ///      suite: weather\n  case: paris\n  model: gpt-4o\n---\ninvoke_agent weather [agent]\n"
    /// );
    /// assert_eq!(SnapshotFile::parse(&file.to_text()), Some(file));
    /// ```
    pub(crate) fn to_text(&self) -> String {
        let mut text = String::from("---\n");
        let _ = writeln!(text, "source: {}", scalar(&self.source));
        let _ = writeln!(text, "expression: {}", scalar(&self.title()));
        text.push_str("info:\n");
        let _ = writeln!(text, "  suite: {}", scalar(&self.suite));
        let _ = writeln!(text, "  case: {}", scalar(&self.case));
        let _ = writeln!(text, "  model: {}", scalar(&self.model));
        text.push_str("---\n");
        text.push_str(&self.body);
        text.push('\n');
        text
    }

    /// Reads a file written by [`SnapshotFile::to_text`] (or edited by hand, within reason):
    /// `None` when the header has no `info` with the suite, case and model.
    pub(crate) fn parse(text: &str) -> Option<SnapshotFile> {
        let (header, body) = split(text)?;
        let (mut source, mut suite, mut case, mut model) = (None, None, None, None);
        let mut in_info = false;
        for line in header.lines() {
            let indented = line.starts_with([' ', '\t']);
            let Some((key, value)) = line.trim().split_once(':') else {
                continue;
            };
            let value = unscalar(value.trim());
            match (indented, key.trim()) {
                (false, "info") => in_info = true,
                (false, "source") => {
                    in_info = false;
                    source = Some(value);
                }
                (false, _) => in_info = false,
                (true, "suite") if in_info => suite = Some(value),
                (true, "case") if in_info => case = Some(value),
                (true, "model") if in_info => model = Some(value),
                (true, _) => {}
            }
        }
        Some(SnapshotFile {
            source: source.unwrap_or_default(),
            suite: suite?,
            case: case?,
            model: model?,
            body: normalize(body),
        })
    }

    /// Reads and parses a file (see [`read_text`]).
    pub(crate) fn read(path: &Path) -> std::io::Result<Option<SnapshotFile>> {
        read_text(path).map(|text| SnapshotFile::parse(&text))
    }
}

/// The largest snapshot file read; a shape is a few kilobytes.
pub(crate) const MAX_FILE_BYTES: u64 = 4 << 20;

/// The text of a snapshot file. Only a regular file, not a link, is read (a committed link to
/// `~/.ssh/id_rsa` must not end up in a diff, nor one to `/dev/zero` exhaust memory), and at
/// most [`MAX_FILE_BYTES`]; a missing file is `NotFound`.
pub(crate) fn read_text(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind, Read};

    let meta = std::fs::symlink_metadata(path)?;
    if !meta.file_type().is_file() {
        return Err(Error::new(ErrorKind::InvalidData, "not a regular file"));
    }
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            format!("larger than {} MiB", MAX_FILE_BYTES >> 20),
        ));
    }
    Ok(text)
}

/// The text of a snapshot file after its header, normalised as insta compares it: line ends
/// as `\n`, trailing whitespace at the end removed. A file without a header is all text.
pub(crate) fn body(text: &str) -> String {
    match split(text) {
        Some((_, body)) => normalize(body),
        None => normalize(text),
    }
}

/// Text normalised for comparison and storage: `\r\n` as `\n`, the end trimmed.
pub(crate) fn normalize(text: &str) -> String {
    text.replace("\r\n", "\n").trim_end().to_owned()
}

/// The header (without its `---` lines) and the body.
fn split(text: &str) -> Option<(&str, &str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Some((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    None
}

/// A YAML scalar: plain when it cannot be read as anything but this string (it starts with a
/// letter, `_` or `/`, holds only letters, digits and `_./-`, and is no YAML keyword), else
/// double quoted with escapes (control and invisible formatting characters included, so a header
/// line stays one line and shows what it holds).
fn scalar(text: &str) -> String {
    let plain = text
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'/')
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./-".contains(&b))
        && ![
            "true", "false", "yes", "no", "on", "off", "null", "y", "n", "nan", "inf",
        ]
        .iter()
        .any(|word| text.eq_ignore_ascii_case(word));
    if plain {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control()
                || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}') =>
            {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Reads back a scalar [`scalar`] wrote, or a plain or single-quoted one.
fn unscalar(text: &str) -> String {
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let hex = |chars: &mut std::str::Chars<'_>, n: usize| {
            let digits: String = chars.take(n).collect();
            u32::from_str_radix(&digits, 16)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('x') => out.push(hex(&mut chars, 2)),
            Some('u') => out.push(hex(&mut chars, 4)),
            Some('U') => out.push(hex(&mut chars, 8)),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn file(suite: &str, case: &str, model: &str, body: &str) -> SnapshotFile {
        SnapshotFile {
            source: "suites/a b.toml".into(),
            suite: suite.into(),
            case: case.into(),
            model: model.into(),
            body: body.into(),
        }
    }

    #[test]
    fn headers_quote_what_yaml_would_misread() {
        let text = file("true", "../../etc/passwd", "a: b", "x").to_text();
        assert_eq!(
            text,
            "---\nsource: \"suites/a b.toml\"\nexpression: \"true::../../etc/passwd (a: b)\"\n\
             info:\n  suite: \"true\"\n  case: \"../../etc/passwd\"\n  model: \"a: b\"\n---\nx\n"
        );
        let hostile = file("s", "line\nbreak \"q\" \\ \u{1b}[2J \u{202e}", "m", "x");
        let text = hostile.to_text();
        assert_eq!(text.lines().count(), 9, "{text}");
        assert!(!text.contains('\u{1b}') && !text.contains('\u{202e}'));
        assert_eq!(SnapshotFile::parse(&text), Some(hostile));
    }

    #[test]
    fn bodies_compare_as_insta_compares_them() {
        assert_eq!(body("---\nsource: x\n---\na\r\nb\n\n"), "a\nb");
        assert_eq!(body("no header\n"), "no header");
        assert_eq!(body("---\nsource: x\n---\n"), "");
        assert_eq!(SnapshotFile::parse("---\nsource: x\n---\na\n"), None);
    }

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = std::env::temp_dir().join(format!("tv-snapread-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "key").unwrap();
        let link = dir.join("w__c@m.snap");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        let err = read_text(&link).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
        let big = dir.join("big.snap");
        std::fs::write(&big, vec![b'x'; MAX_FILE_BYTES as usize + 1]).unwrap();
        assert_eq!(
            read_text(&big).unwrap_err().to_string(),
            "larger than 4 MiB"
        );
        assert_eq!(
            read_text(&dir.join("none.snap")).unwrap_err().kind(),
            std::io::ErrorKind::NotFound
        );
        assert_eq!(read_text(&secret).unwrap(), "key");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn insta_reads_our_files() {
        let dir = std::env::temp_dir().join(format!("tv-snapfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w__c@m.snap");
        let ours = file("w", "case: \"odd\"", "m", "a [agent]\n  b [tool] tool=x");
        std::fs::write(&path, ours.to_text()).unwrap();
        let theirs = insta::Snapshot::from_file(&path).unwrap();
        assert_eq!(
            theirs.contents().as_text().unwrap().to_string(),
            "a [agent]\n  b [tool] tool=x"
        );
        assert_eq!(theirs.metadata().expression(), Some("w::case: \"odd\" (m)"));
        assert_eq!(theirs.metadata().source(), Some("suites/a b.toml"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    proptest! {
        #[test]
        fn any_ids_round_trip_through_a_file(
            suite in "\\PC{0,12}",
            case in any::<String>(),
            model in "[ -~]{0,12}",
            body in "[a-z\\[\\] \n]{0,40}",
        ) {
            let f = file(&suite, &case, &model, &normalize(&body));
            let text = f.to_text();
            prop_assert_eq!(text.matches("\n---\n").count() >= 1, true);
            prop_assert_eq!(SnapshotFile::parse(&text), Some(f));
        }
    }
}
