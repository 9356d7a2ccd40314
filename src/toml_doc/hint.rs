//! "Did you mean" hints and readable wording for serde's messages.
//!
//! A loader's raw serde structs are the single list of its allowed keys: rather than repeat
//! it, the hint reads the alternatives out of serde's `unknown field` and `unknown variant`
//! messages, whose format serde has kept since 1.0.

/// The allowed key or value closest to `unknown`, as a hint, when it looks like a typo of it:
/// the same key up to case, `_` for `-` and spaces, or at most two edits away.
pub(crate) fn did_you_mean<'a>(
    unknown: &str,
    allowed: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let wanted = normalize(unknown);
    let (distance, best) = allowed
        .into_iter()
        .map(|candidate| (edit_distance(&wanted, &normalize(candidate)), candidate))
        .min_by_key(|&(distance, _)| distance)?;
    // Two edits turn any two-letter key into any other; demand that something is left.
    let close = distance == 0 || (distance <= 2 && distance < wanted.chars().count());
    close.then(|| format!("did you mean `{best}`?"))
}

fn normalize(key: &str) -> String {
    key.trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// What serde said was unknown, and what it would have accepted.
#[derive(Debug, PartialEq)]
pub(super) struct Unknown<'m> {
    /// `field` or `variant`.
    pub(super) what: &'m str,
    /// The unknown name.
    pub(super) name: &'m str,
    /// The names allowed in its place.
    pub(super) expected: Vec<&'m str>,
}

/// Reads serde's ``unknown field `x`, expected one of `a`, `b` `` (or `variant`).
pub(super) fn parse_unknown(message: &str) -> Option<Unknown<'_>> {
    let (what, rest) = ["field", "variant"].into_iter().find_map(|what| {
        let rest = message.strip_prefix("unknown ")?.strip_prefix(what)?;
        Some((what, rest.strip_prefix(" `")?))
    })?;
    // The name is the user's and may hold anything; the alternatives are ours and plain.
    if let Some(name) = rest.strip_suffix(&format!("`, there are no {what}s")) {
        return Some(Unknown {
            what,
            name,
            expected: Vec::new(),
        });
    }
    let (name, expected) = rest.rsplit_once("`, expected ")?;
    let expected = match expected.strip_prefix("one of ") {
        Some(list) => list.split(", ").collect::<Vec<_>>(),
        None => expected.split(" or ").collect(),
    };
    let expected = expected
        .into_iter()
        .map(|name| name.trim_matches('`'))
        .collect();
    Some(Unknown {
        what,
        name,
        expected,
    })
}

/// Serde's description of a type, in TOML's words instead of Rust's. `with_range` adds the
/// bounds of integer types too small for any TOML integer, for a value that is out of them.
pub(super) fn friendly_type(description: &str, with_range: bool) -> &str {
    match description {
        "u32" if with_range => "a non-negative integer up to 4294967295",
        "i32" if with_range => "an integer from -2147483648 to 2147483647",
        "u32" | "u64" | "usize" => "a non-negative integer",
        "i32" | "i64" => "an integer",
        "f64" => "a number",
        "a sequence" => "an array",
        "a map" => "a table",
        "sequence" => "array",
        "map" => "table",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const WHEN_KEYS: [&str; 4] = ["user", "turn", "tool-result", "tool-called"];

    const EXPECT_KEYS: [&str; 6] = [
        "output-equals",
        "output-contains",
        "max-llm-calls",
        "tools",
        "span",
        "exit-code",
    ];

    #[test]
    fn near_keys_are_suggested() {
        let cases = [
            (&EXPECT_KEYS[..], "spanz", Some("span")),
            (&EXPECT_KEYS, "output_contains", Some("output-contains")),
            (&EXPECT_KEYS, "Output-Equals", Some("output-equals")),
            (&EXPECT_KEYS, "max_llm_call", Some("max-llm-calls")),
            (&EXPECT_KEYS, "tool", Some("tools")),
            (&EXPECT_KEYS, "exitcode", Some("exit-code")),
            (&EXPECT_KEYS, "output", None),
            (&EXPECT_KEYS, "snapshot", None),
            // Two edits away, but the key is only two letters long.
            (&EXPECT_KEYS, "sp", None),
            // A script's `when` keys.
            (&WHEN_KEYS, "usr", Some("user")),
            (&WHEN_KEYS, "tool_result", Some("tool-result")),
            (&WHEN_KEYS, "Turn", Some("turn")),
            (&WHEN_KEYS, "tool-calld", Some("tool-called")),
            (&WHEN_KEYS, "assistant", None),
            (&WHEN_KEYS, "tu", None),
        ];
        for (keys, unknown, expected) in cases {
            let hint = did_you_mean(unknown, keys.iter().copied());
            let expected = expected.map(|key| format!("did you mean `{key}`?"));
            assert_eq!(hint, expected, "{unknown}");
        }
        assert_eq!(did_you_mean("a", []), None);
    }

    #[test]
    fn edit_distances() {
        let cases = [
            ("", "", 0),
            ("", "ab", 2),
            ("kitten", "sitting", 3),
            ("span", "spanz", 1),
        ];
        for (a, b, expected) in cases {
            assert_eq!(edit_distance(a, b), expected, "{a} {b}");
            assert_eq!(edit_distance(b, a), expected, "{b} {a}");
        }
    }

    #[test]
    fn rust_type_names_become_toml_words() {
        let cases = [
            ("u32", false, "a non-negative integer"),
            ("u32", true, "a non-negative integer up to 4294967295"),
            ("u64", true, "a non-negative integer"),
            ("i32", false, "an integer"),
            ("f64", false, "a number"),
            ("a sequence", false, "an array"),
            ("map", false, "table"),
            ("a string", false, "a string"),
        ];
        for (description, with_range, expected) in cases {
            assert_eq!(
                friendly_type(description, with_range),
                expected,
                "{description}"
            );
        }
    }

    #[test]
    fn serde_unknown_messages_are_read() {
        let cases = [
            (
                "unknown field `spanz`, expected one of `tools`, `span`, `exit-code`",
                Some(("field", "spanz", vec!["tools", "span", "exit-code"])),
            ),
            (
                "unknown field `nam`, expected `name` or `args`",
                Some(("field", "nam", vec!["name", "args"])),
            ),
            (
                "unknown variant `comand`, expected `command`",
                Some(("variant", "comand", vec!["command"])),
            ),
            (
                "unknown field `a`, expected b`, expected `c`",
                Some(("field", "a`, expected b", vec!["c"])),
            ),
            (
                "unknown field `x`, there are no fields",
                Some(("field", "x", vec![])),
            ),
            ("missing field `id`", None),
            ("unknown field", None),
        ];
        for (message, expected) in cases {
            let expected = expected.map(|(what, name, expected)| Unknown {
                what,
                name,
                expected,
            });
            assert_eq!(parse_unknown(message), expected, "{message}");
        }
    }
}
