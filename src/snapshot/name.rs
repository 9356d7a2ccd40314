//! Snapshot file names: one per suite × case × model, always a plain file name inside the
//! snapshot directory, whatever the ids hold.

use crate::hash::fnv1a64;

/// The longest file stem: a file name holds at most 255 bytes on common file systems, and the
/// pending file adds `.snap.new` (9 bytes).
pub(crate) const MAX_STEM: usize = 255 - ".snap.new".len();

/// The longest suite or model part of a hashed stem.
const MAX_PART: usize = 64;

/// Names Windows reserves for devices, in any case and with any extension.
const RESERVED: [&str; 22] = [
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
];

/// The file stem of the snapshot of `case` of `suite` run against `model`:
/// `{suite}__{case}@{model}` when each part is clean, else a sanitised form ending in
/// `~{16 hex digits}` (FNV-1a 64 of the three ids).
///
/// A part is clean when it is non-empty, made of ASCII letters, digits, `.`, `-` and `_`, does
/// not start with `.` or `-`, neither starts nor ends with `_`, holds no `__`, and its text
/// before the first `.` is not a name Windows reserves (`con`, `nul`, `com1`...); and the stem
/// must fit [`MAX_STEM`]. Clean stems are distinct for distinct ids (the first `__` ends the
/// suite, the `@` starts the model), and never hold `~`, which hashed ones always do; a
/// hashed stem holds only letters, digits, `-`, `_`, `@` and `~`, so no id can name a path
/// outside the directory, a hidden file or a device.
///
/// ```text
/// use traceval::snapshot::file_stem;
///
/// assert_eq!(file_stem("weather", "paris", "gpt-4o"), "weather__paris@gpt-4o");
/// let escaped = file_stem("weather", "../../etc/passwd", "gpt-4o");
/// assert!(escaped.starts_with("weather________etc_passwd@gpt-4o~"), "{escaped}");
/// assert!(!escaped.contains('/') && !escaped.contains(".."));
/// ```
pub(crate) fn file_stem(suite: &str, case: &str, model: &str) -> String {
    let plain = format!("{suite}__{case}@{model}");
    if [suite, case, model].into_iter().all(is_clean) && plain.len() <= MAX_STEM {
        return plain;
    }
    let hash = {
        let mut bytes = Vec::with_capacity(suite.len() + case.len() + model.len() + 2);
        for (i, part) in [suite, case, model].into_iter().enumerate() {
            if i > 0 {
                bytes.push(0);
            }
            bytes.extend_from_slice(part.as_bytes());
        }
        fnv1a64(&bytes)
    };
    let suffix = format!("~{hash:016x}");
    let suite = sanitise(suite, MAX_PART);
    let model = sanitise(model, MAX_PART);
    let room = MAX_STEM - suffix.len() - "__@".len() - suite.len() - model.len();
    let case = sanitise(case, room);
    format!("{suite}__{case}@{model}{suffix}")
}

fn is_clean(part: &str) -> bool {
    let chars_ok = part
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    let device = part.split('.').next().unwrap_or_default();
    !part.is_empty()
        && chars_ok
        && !part.starts_with(['.', '-', '_'])
        && !part.ends_with('_')
        && !part.contains("__")
        && !RESERVED.iter().any(|r| device.eq_ignore_ascii_case(r))
}

/// ASCII letters, digits, `-` and `_` kept, anything else `_`, cut to `max` bytes.
fn sanitise(part: &str, max: usize) -> String {
    part.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(max)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use proptest::prelude::*;

    use super::*;

    #[test]
    fn clean_ids_make_readable_names_and_others_hashed_safe_ones() {
        let cases = [
            (("weather", "paris", "careful"), "weather__paris@careful"),
            (("w", "two-cities.v2", "gpt-4o"), "w__two-cities.v2@gpt-4o"),
            (("w", "snake_case", "m"), "w__snake_case@m"),
        ];
        for ((s, c, m), want) in cases {
            assert_eq!(file_stem(s, c, m), want);
        }
        let hashed = [
            ("weather", "../../etc/passwd", "m"),
            ("weather", "a b", "m"),
            ("weather", "café", "m"),
            ("weather", "x__y", "m"),
            ("weather", "_x", "m"),
            ("weather", "x_", "m"),
            ("weather", ".hidden", "m"),
            ("weather", "-flag", "m"),
            ("weather", "", "m"),
            ("CON", "a", "m"),
            ("s", "nul.txt", "m"),
            ("s", "a", "Com1"),
            ("s", "a:b", "m"),
            ("s", "a\\b", "m"),
            ("s", "a", "claude@vertex"),
            ("s", "a", "org/model"),
        ];
        for (s, c, m) in hashed {
            let stem = file_stem(s, c, m);
            assert!(stem.contains('~'), "{s} {c} {m}: {stem}");
            assert!(
                stem.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_@~".contains(&b)),
                "{stem}"
            );
        }
    }

    #[test]
    fn long_ids_are_cut_with_a_hash_to_fit_a_file_name() {
        let long = "x".repeat(1000);
        let a = file_stem(&long, &long, &long);
        let b = file_stem(&long, &format!("{long}y"), &long);
        assert!(a.len() <= MAX_STEM && b.len() <= MAX_STEM);
        assert_ne!(a, b);
        assert!(format!("{a}.snap.new").len() <= 255);
        // Multi-byte characters become one `_` each, so the cut is on a char boundary.
        let wide = "é".repeat(500);
        assert!(file_stem("s", &wide, "m").len() <= MAX_STEM);
    }

    proptest! {
        #[test]
        fn distinct_ids_get_distinct_safe_names(
            ids in prop::collection::vec(
                ("[a-z_.@/ -]{0,6}", "[a-zA-Z0-9_./@~ -]{0,8}", "[a-z0-9_.-]{0,5}"),
                1..40,
            )
        ) {
            let ids: HashSet<(String, String, String)> = ids.into_iter().collect();
            let mut seen = HashSet::new();
            for (s, c, m) in &ids {
                let stem = file_stem(s, c, m);
                prop_assert!(!stem.is_empty() && stem.len() <= MAX_STEM);
                prop_assert!(!stem.contains('/') && !stem.contains('\\') && stem != "." && stem != "..");
                prop_assert!(!stem.starts_with('.'));
                prop_assert!(seen.insert(stem.clone()), "two ids share {}", stem);
            }
        }
    }
}
