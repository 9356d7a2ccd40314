//! Checks on the agent's answer: `output-equals`, `output-contains`, `output-regex`,
//! `output-json`. Messages quote the answer through [`clean`], cut, so an agent cannot write
//! escape sequences into our terminal or a megabyte into a message.

use serde_json::Value as Json;

use super::tools::json_contains;
use super::{Evidence, Graded};
use crate::suite::Expect;
use crate::trace::render::clean;

/// How much of the answer a message quotes.
const QUOTE: usize = 120;

/// Adds the output checks `expect` asks for, in the order `output-equals`, `output-contains`,
/// `output-regex`, `output-json`.
pub(super) fn check(expect: &Expect, evidence: &Evidence<'_>, graded: &mut Graded) {
    check_answer(expect, evidence.trial.output, graded);
}

/// The output checks on the answer alone.
fn check_answer(expect: &Expect, output: &str, graded: &mut Graded) {
    let answer = output.trim();
    if let Some(want) = &expect.output_equals {
        let ok = answer == want.trim();
        let message = if ok {
            format!("answer is {}", quote(want))
        } else {
            format!("expected {}, got {}", quote(want), quote(answer))
        };
        graded.push("output-equals", ok, message);
    }
    if !expect.output_contains.is_empty() {
        let missing: Vec<String> = expect
            .output_contains
            .iter()
            .filter(|s| !output.contains(s.as_str()))
            .map(|s| quote(s))
            .collect();
        let ok = missing.is_empty();
        let message = if ok {
            format!(
                "answer contains all {} strings",
                expect.output_contains.len()
            )
        } else {
            format!(
                "answer lacks {}; answer: {}",
                missing.join(", "),
                quote(answer)
            )
        };
        graded.push("output-contains", ok, message);
    }
    if let Some(re) = &expect.output_regex {
        let ok = re.is_match(output);
        let message = if ok {
            format!("answer matches /{}/", clean(re.as_str(), QUOTE))
        } else {
            format!(
                "answer does not match /{}/; answer: {}",
                clean(re.as_str(), QUOTE),
                quote(answer)
            )
        };
        graded.push("output-regex", ok, message);
    }
    if let Some(want) = &expect.output_json {
        let (ok, message) = match serde_json::from_str::<Json>(answer) {
            Err(e) => (
                false,
                format!("answer is not JSON ({e}); answer: {}", quote(answer)),
            ),
            Ok(got) if json_contains(&got, want) => (true, format!("answer contains {want}")),
            Ok(got) => (
                false,
                format!(
                    "answer lacks {}; answer: {}",
                    clean(&want.to_string(), QUOTE),
                    clean(&got.to_string(), QUOTE)
                ),
            ),
        };
        graded.push("output-json", ok, message);
    }
}

/// `"text"`, escaped and cut.
fn quote(text: &str) -> String {
    format!("\"{}\"", clean(text, QUOTE))
}

/// `name({"a":1})` for messages.
pub(crate) fn describe_call(name: &str, args: Option<&Json>) -> String {
    match args {
        Some(a) => format!("{}({})", clean(name, 60), clean(&a.to_string(), QUOTE)),
        None => clean(name, 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(expect: Expect, output: &str) -> Vec<(String, bool, String)> {
        let mut graded = Graded::default();
        check_answer(&expect, output, &mut graded);
        graded
            .checks
            .into_iter()
            .map(|c| (c.name, c.passed, c.message))
            .collect()
    }

    #[test]
    fn each_output_check_passes_and_fails_with_a_message() {
        let cases: Vec<(Expect, &str, bool, &str)> = vec![
            (
                Expect {
                    output_equals: Some("4".into()),
                    ..Expect::default()
                },
                " 4\n",
                true,
                "answer is \"4\"",
            ),
            (
                Expect {
                    output_equals: Some("4".into()),
                    ..Expect::default()
                },
                "5",
                false,
                "expected \"4\", got \"5\"",
            ),
            (
                Expect {
                    output_contains: vec!["Paris".into(), "sunny".into()],
                    ..Expect::default()
                },
                "Paris is rainy",
                false,
                "answer lacks \"sunny\"; answer: \"Paris is rainy\"",
            ),
            (
                Expect {
                    output_regex: Some(regex::Regex::new(r"\d+°C").unwrap()),
                    ..Expect::default()
                },
                "It is 21°C",
                true,
                "answer matches /\\d+°C/",
            ),
            (
                Expect {
                    output_json: Some(serde_json::json!({"city": "Paris"})),
                    ..Expect::default()
                },
                r#"{"city":"Paris","temp":21}"#,
                true,
                r#"answer contains {"city":"Paris"}"#,
            ),
            (
                Expect {
                    output_json: Some(serde_json::json!({"city": "Paris"})),
                    ..Expect::default()
                },
                r#"{"city":"Lyon"}"#,
                false,
                r#"answer lacks {"city":"Paris"}; answer: {"city":"Lyon"}"#,
            ),
        ];
        for (expect, output, passed, message) in cases {
            let got = run(expect, output);
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].1, got[0].2.as_str()), (passed, message), "{output}");
        }
    }

    #[test]
    fn non_json_answers_fail_output_json_and_escapes_are_neutralised() {
        let expect = Expect {
            output_json: Some(serde_json::json!({})),
            ..Expect::default()
        };
        let got = run(expect, "\u{1b}[31mnope");
        assert!(!got[0].1);
        assert!(got[0].2.starts_with("answer is not JSON"), "{}", got[0].2);
        assert!(!got[0].2.contains('\u{1b}'), "{}", got[0].2);
    }
}
