//! Span selectors: CSS-like queries over the GenAI view of a span tree
//! (`docs/reference/selectors.md`).
//!
//! ```text
//! selector   = complex { "," complex } ;                      (* union *)
//! complex    = compound { combinator compound } ;
//! combinator = ws+                                            (* descendant *)
//!            | ws* ">" ws* ;                                  (* child *)
//! compound   = kind { predicates } { pseudo }                 (* kind may be omitted *)
//!            | predicates { predicates } { pseudo }           (* ... meaning `span` *)
//!            | pseudo { pseudo } ;
//! kind       = "llm" | "tool" | "agent" | "retrieval" | "embedding" | "retry" | "step"
//!            | "other" | "span" ;                             (* `span`: any kind *)
//! predicates = "[" ws* predicate { ws+ predicate } ws* "]" ;  (* all must hold *)
//! predicate  = field
//!            | field ws* ( "=" | "!=" ) ws* literal
//!            | field ws* "~=" ws* string                      (* a regex *)
//!            | field ws* ( "<" | "<=" | ">" | ">=" ) ws* number ;
//! field      = ident | string ;                               (* a quoted field is always an attribute *)
//! ident      = ( letter | "_" ) { letter | digit | "_" | "." | "-" } ;
//! literal    = string | number | "true" | "false" ;
//! string     = '"' { char | "\\" ( '"' | "\\" | "n" | "r" | "t" | "u{" hex+ "}" ) } '"' ;
//! number     = [ "-" ] digit+ [ "." digit+ ] [ ( "e" | "E" ) [ "+" | "-" ] digit+ ] ;
//! pseudo     = ":first" | ":last" | ":nth(" ws* digit+ ws* ")" ;   (* n >= 1 *)
//! ```
//!
//! Whitespace is allowed around `,` and `>` and inside brackets. A space before `[` or `:` is
//! a descendant combinator, as in CSS: `tool [name="x"]` means `tool span[name="x"]`.
//!
//! # Fields
//! A bare field names a span attribute, except these shorthands (quote the name, `["name"]`,
//! to reach an attribute that happens to be called so):
//! - `name`: the span name, or the GenAI name the span is known by: the tool name for `tool`
//!   spans (`execute_tool search` is also `search`), the agent name for `agent` spans. Other
//!   kinds have only the span name.
//! - `model`: the requested model or the model that answered (the GenAI, Vercel AI and
//!   OpenInference model attributes, after the view's custom `model` keys), on any span that
//!   records one.
//! - `status`: `"error"` when the span failed (status ERROR, `error.type`, or an `exception`
//!   event; see [`Span::is_error`](super::Span::is_error)), else `"ok"` or `"unset"` from
//!   the status code. Only those three values are accepted.
//!
//! # Matching
//! A field has zero or more values (`name` may have two, `model` two, an attribute at most
//! one). `[f]` holds when it has one; `[f="v"]`, `[f~="re"]` and the comparisons hold when
//! some value satisfies them; `[f!="v"]` is exactly the negation of `[f="v"]`, so it also holds
//! when the field is missing.
//! - `= "text"` compares the value's text (a string as is, other values as JSON: `3`, `true`).
//! - `= 3` and `<`, `<=`, `>`, `>=` compare as `f64` values that are ints, doubles or strings
//!   that parse as finite numbers; any other value never satisfies a numeric test.
//! - `= true` matches the boolean, or the text `true`.
//! - `~=` is an unanchored regex search ([`regex`] syntax) over the text; use `^…$` to
//!   anchor. Regexes are compiled once, when the selector is parsed.
//!
//! # The trial root
//! traceval makes a root span `eval.trial` for each trial, which no other tool's trace has. A
//! compound never matches it unless the compound names it, with a `name` predicate `=` or `~=`
//! (`span[name="eval.trial"]`), so `span[name!="child1"]` or `span` count the agent's spans
//! only, as the same query counts them elsewhere.
//!
//! # Evaluation
//! Nodes are visited in tree order: depth-first pre-order, roots and siblings by start time
//! then name ([`SpanTree::walk`](super::SpanTree::walk)). A complex selector is read left to
//! right: the first compound selects the nodes that match its kind and predicates; each next
//! compound selects the nodes that match it and are a child (`>`) or a descendant (space) of a
//! node selected so far. Pseudo-classes then filter the list selected by the selector up to
//! and including their compound, in tree order and in the order written: `:first` keeps its
//! first node, `:last` its last, `:nth(n)` its n-th (from 1); an empty list stays empty. So
//! `agent > tool:first` is the first tool, in tree order, that is a child of an agent, and
//! `agent:last tool` the tools below the last agent. Alternatives joined by `,` are evaluated
//! independently and their union is returned in tree order without duplicates.
//!
//! Each compound costs one linear pass, so a selection costs O(nodes × compounds × predicates).

mod eval;
mod parse;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use super::genai::Kind;

/// A parsed selector: alternatives joined by `,`. Its [`Display`](fmt::Display) is the
/// canonical form, which parses back to an equal selector.
#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    /// The alternatives; never empty when parsed.
    pub alternatives: Vec<Complex>,
}

/// Compound selectors joined by combinators.
#[derive(Debug, Clone, PartialEq)]
pub struct Complex {
    /// The leftmost compound.
    pub head: Compound,
    /// Each further compound with the combinator before it.
    pub tail: Vec<(Combinator, Compound)>,
}

/// How a compound relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combinator {
    /// A space: anywhere below.
    Descendant,
    /// `>`: directly below.
    Child,
}

/// A kind with its predicates and pseudo-classes: `tool[name="search"]:first`.
#[derive(Debug, Clone, PartialEq)]
pub struct Compound {
    /// The kind to match; `None` is `span`, any kind.
    pub kind: Option<Kind>,
    /// Attribute predicates, all of which must hold.
    pub predicates: Vec<Predicate>,
    /// Positional filters, applied in order after the predicates.
    pub pseudos: Vec<Pseudo>,
}

/// One bracketed test: `[field op value]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Predicate {
    /// What is tested.
    pub field: Field,
    /// The test.
    pub test: Test,
}

/// What a predicate reads; see the module documentation for the shorthands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// The span name, or the tool or agent name.
    Name,
    /// The request or response model.
    Model,
    /// `error`, `ok` or `unset`.
    Status,
    /// A span attribute by key.
    Attr(String),
}

/// The test a predicate applies to a field's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    /// `[f]`: the field has a value.
    Exists,
    /// `[f=v]`.
    Eq(Literal),
    /// `[f!=v]`: not `[f=v]`.
    Ne(Literal),
    /// `[f~="re"]`: a regex search.
    Matches(Pattern),
    /// `[f<x]`.
    Lt(f64),
    /// `[f<=x]`.
    Le(f64),
    /// `[f>x]`.
    Gt(f64),
    /// `[f>=x]`.
    Ge(f64),
}

/// A value to compare with.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A quoted string.
    Str(String),
    /// A finite number.
    Num(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// A compiled regex; two patterns are equal when their sources are.
#[derive(Debug, Clone)]
pub struct Pattern(pub regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// A positional filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pseudo {
    /// `:first`.
    First,
    /// `:last`.
    Last,
    /// `:nth(n)`, counting from 1 (the parser rejects 0, which matches nothing).
    Nth(u32),
}

/// Why a selector does not parse, with the 1-based column (in characters) of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("selector error at column {column}: {message}")]
pub struct SelectorError {
    /// 1-based column, counted in characters; one past the end for a selector cut short.
    pub column: usize,
    /// What was expected or found.
    pub message: String,
}

impl SelectorError {
    /// The selector with a caret under the column and the message after it:
    ///
    /// ```text
    /// tool[name="search"
    ///                   ^ expected `]`
    /// ```
    pub fn render(&self, source: &str) -> String {
        let pad: String = source
            .chars()
            .take(self.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let pad = format!("{pad:<width$}", width = self.column.saturating_sub(1));
        format!("{source}\n{pad}^ {}", self.message)
    }
}

impl Selector {
    /// Parses a selector.
    pub fn parse(source: &str) -> Result<Selector, SelectorError> {
        parse::parse(source)
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Selector, SelectorError> {
        Selector::parse(s)
    }
}

/// Names the parser reads as kinds, `span` (any kind) last.
const KIND_NAMES: &[(&str, Option<Kind>)] = &[
    ("llm", Some(Kind::Llm)),
    ("tool", Some(Kind::Tool)),
    ("agent", Some(Kind::Agent)),
    ("retrieval", Some(Kind::Retrieval)),
    ("embedding", Some(Kind::Embedding)),
    ("retry", Some(Kind::Retry)),
    ("step", Some(Kind::Step)),
    ("other", Some(Kind::Other)),
    ("span", None),
];

/// Shorthand field names; anything else is an attribute key.
fn special_field(name: &str) -> Option<Field> {
    match name {
        "name" => Some(Field::Name),
        "model" => Some(Field::Model),
        "status" => Some(Field::Status),
        _ => None,
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, complex) in self.alternatives.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{complex}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Complex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.head)?;
        for (combinator, compound) in &self.tail {
            match combinator {
                Combinator::Descendant => write!(f, " {compound}")?,
                Combinator::Child => write!(f, " > {compound}")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Compound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.map_or("span", Kind::as_str))?;
        for p in &self.predicates {
            write!(f, "[{p}]")?;
        }
        for p in &self.pseudos {
            match p {
                Pseudo::First => f.write_str(":first")?,
                Pseudo::Last => f.write_str(":last")?,
                Pseudo::Nth(n) => write!(f, ":nth({n})")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.field)?;
        match &self.test {
            Test::Exists => Ok(()),
            Test::Eq(v) => write!(f, "={v}"),
            Test::Ne(v) => write!(f, "!={v}"),
            Test::Matches(p) => {
                f.write_str("~=")?;
                write_string(f, p.0.as_str())
            }
            Test::Lt(x) => write!(f, "<{x}"),
            Test::Le(x) => write!(f, "<={x}"),
            Test::Gt(x) => write!(f, ">{x}"),
            Test::Ge(x) => write!(f, ">={x}"),
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Name => f.write_str("name"),
            Field::Model => f.write_str("model"),
            Field::Status => f.write_str("status"),
            Field::Attr(key) => {
                let bare = key.starts_with(is_ident_start)
                    && key.chars().all(is_ident_char)
                    && special_field(key).is_none();
                if bare {
                    f.write_str(key)
                } else {
                    write_string(f, key)
                }
            }
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Str(s) => write_string(f, s),
            // `f64`'s Display is the shortest text that parses back to the same value, and
            // never uses an exponent, so it fits the number grammar.
            Literal::Num(x) => write!(f, "{x}"),
            Literal::Bool(b) => write!(f, "{b}"),
        }
    }
}
