//! The selector parser: hand-written recursive descent over characters, so that every error
//! names the column a person counts.

use super::{
    Combinator, Complex, Compound, Field, KIND_NAMES, Literal, Pattern, Predicate, Pseudo,
    Selector, SelectorError, Test, is_ident_char, is_ident_start, special_field,
};

pub(super) fn parse(source: &str) -> Result<Selector> {
    let mut p = Parser {
        chars: source.chars().collect(),
        pos: 0,
    };
    p.selector()
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

type Result<T> = std::result::Result<T, SelectorError>;

/// How a character reads in an error message.
fn found(c: Option<char>) -> String {
    match c {
        None => "the end".to_owned(),
        Some(c) => format!("`{c}`"),
    }
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn error(&self, at: usize, message: impl Into<String>) -> SelectorError {
        SelectorError {
            column: at + 1,
            message: message.into(),
        }
    }

    /// Skips whitespace; true when there was some.
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn selector(&mut self) -> Result<Selector> {
        self.skip_ws();
        let mut alternatives = vec![self.complex()?];
        loop {
            self.skip_ws();
            match self.peek() {
                None => return Ok(Selector { alternatives }),
                Some(',') => {
                    self.pos += 1;
                    self.skip_ws();
                    if matches!(self.peek(), None | Some(',')) {
                        return Err(self.error(self.pos, "expected a selector after `,`"));
                    }
                    alternatives.push(self.complex()?);
                }
                c => return Err(self.error(self.pos, format!("unexpected {}", found(c)))),
            }
        }
    }

    fn complex(&mut self) -> Result<Complex> {
        let head = self.compound()?;
        let mut tail = Vec::new();
        loop {
            let spaced = self.skip_ws();
            match self.peek() {
                Some('>') => {
                    self.pos += 1;
                    self.skip_ws();
                    if matches!(self.peek(), None | Some(',' | '>')) {
                        return Err(self.error(self.pos, "expected a selector after `>`"));
                    }
                    tail.push((Combinator::Child, self.compound()?));
                }
                Some(c) if spaced && (is_ident_start(c) || c == '[' || c == ':') => {
                    tail.push((Combinator::Descendant, self.compound()?));
                }
                _ => return Ok(Complex { head, tail }),
            }
        }
    }

    fn compound(&mut self) -> Result<Compound> {
        let start = self.pos;
        let kind = match self.peek() {
            Some(c) if is_ident_start(c) => {
                let word = self.take_while(is_ident_char);
                match KIND_NAMES.iter().find(|(name, _)| *name == word) {
                    Some(&(_, kind)) => kind,
                    None => {
                        return Err(self.error(
                            start,
                            format!(
                                "unknown kind `{word}`; expected one of llm, tool, agent, \
                                 retrieval, embedding, retry, step, other, span"
                            ),
                        ));
                    }
                }
            }
            Some('[' | ':') => None,
            c => {
                return Err(self.error(
                    start,
                    format!(
                        "expected a kind (`llm`, `tool`... or `span`), `[` or `:`, found {}",
                        found(c)
                    ),
                ));
            }
        };
        let mut predicates = Vec::new();
        while self.peek() == Some('[') {
            self.brackets(&mut predicates)?;
        }
        let mut pseudos = Vec::new();
        while self.peek() == Some(':') {
            pseudos.push(self.pseudo()?);
        }
        if self.peek() == Some('[') {
            return Err(self.error(
                self.pos,
                "attribute predicates must come before pseudo-classes",
            ));
        }
        Ok(Compound {
            kind,
            predicates,
            pseudos,
        })
    }

    fn brackets(&mut self, predicates: &mut Vec<Predicate>) -> Result<()> {
        self.pos += 1; // `[`
        self.skip_ws();
        predicates.push(self.predicate()?);
        loop {
            let spaced = self.skip_ws();
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(_) if spaced => predicates.push(self.predicate()?),
                _ => return Err(self.error(self.pos, "expected `]`")),
            }
        }
    }

    fn predicate(&mut self) -> Result<Predicate> {
        let field = match self.peek() {
            Some('"') => Field::Attr(self.string()?),
            Some(c) if is_ident_start(c) => {
                let word = self.take_while(is_ident_char);
                special_field(&word).unwrap_or(Field::Attr(word))
            }
            c => {
                return Err(self.error(
                    self.pos,
                    format!("expected an attribute name, found {}", found(c)),
                ));
            }
        };
        let before_op = self.pos;
        self.skip_ws();
        let op_at = self.pos;
        let op = match self.peek() {
            Some('=') => "=",
            Some('!') if self.chars.get(self.pos + 1) == Some(&'=') => "!=",
            Some('~') if self.chars.get(self.pos + 1) == Some(&'=') => "~=",
            Some('<') if self.chars.get(self.pos + 1) == Some(&'=') => "<=",
            Some('>') if self.chars.get(self.pos + 1) == Some(&'=') => ">=",
            Some('<') => "<",
            Some('>') => ">",
            Some(']') => "",
            Some(c) if c.is_whitespace() => "",
            // Another predicate after a space: this one is a presence test.
            Some(c) if self.pos > before_op && (c == '"' || is_ident_start(c)) => "",
            c => {
                return Err(self.error(
                    self.pos,
                    format!(
                        "expected an operator (`=`, `!=`, `~=`, `<`, `<=`, `>`, `>=`) or `]`, \
                         found {}",
                        found(c)
                    ),
                ));
            }
        };
        if op.is_empty() {
            self.pos = before_op;
            return Ok(Predicate {
                field,
                test: Test::Exists,
            });
        }
        self.pos += op.chars().count();
        self.skip_ws();
        let value_at = self.pos;
        let test = match op {
            "=" => Test::Eq(self.literal()?),
            "!=" => Test::Ne(self.literal()?),
            "~=" => {
                if self.peek() != Some('"') {
                    return Err(self.error(
                        value_at,
                        format!(
                            "expected a quoted regex after `~=`, found {}",
                            found(self.peek())
                        ),
                    ));
                }
                let source = self.string()?;
                let regex = regex::Regex::new(&source).map_err(|e| {
                    self.error(value_at, format!("invalid regex: {}", regex_reason(&e)))
                })?;
                Test::Matches(Pattern(regex))
            }
            _ => {
                if field == Field::Status {
                    return Err(self.error(op_at, "`status` cannot be compared as a number"));
                }
                if !self.peek().is_some_and(|c| c == '-' || c.is_ascii_digit()) {
                    return Err(self.error(
                        value_at,
                        format!(
                            "expected a number after `{op}`, found {}",
                            found(self.peek())
                        ),
                    ));
                }
                let x = self.number()?;
                match op {
                    "<" => Test::Lt(x),
                    "<=" => Test::Le(x),
                    ">" => Test::Gt(x),
                    _ => Test::Ge(x),
                }
            }
        };
        if field == Field::Status
            && let Test::Eq(v) | Test::Ne(v) = &test
            && !matches!(v, Literal::Str(s) if matches!(s.as_str(), "error" | "ok" | "unset"))
        {
            return Err(self.error(value_at, "`status` is \"error\", \"ok\" or \"unset\""));
        }
        Ok(Predicate { field, test })
    }

    fn literal(&mut self) -> Result<Literal> {
        let start = self.pos;
        match self.peek() {
            Some('"') => Ok(Literal::Str(self.string()?)),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Literal::Num(self.number()?)),
            Some(c) if is_ident_start(c) => {
                let word = self.take_while(is_ident_char);
                match word.as_str() {
                    "true" => Ok(Literal::Bool(true)),
                    "false" => Ok(Literal::Bool(false)),
                    _ => Err(self.error(
                        start,
                        format!(
                            "expected a value (a quoted string, a number, `true` or `false`); \
                             write \"{word}\" for text"
                        ),
                    )),
                }
            }
            c => Err(self.error(
                start,
                format!(
                    "expected a value (a quoted string, a number, `true` or `false`), found {}",
                    found(c)
                ),
            )),
        }
    }

    fn number(&mut self) -> Result<f64> {
        let start = self.pos;
        let digits = |p: &mut Parser| p.take_while(|c| c.is_ascii_digit()).len();
        let mut ok = true;
        self.eat('-');
        ok &= digits(self) > 0;
        if self.eat('.') {
            ok &= digits(self) > 0;
        }
        if self.eat('e') || self.eat('E') {
            let _ = self.eat('+') || self.eat('-');
            ok &= digits(self) > 0;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if !ok {
            return Err(self.error(start, format!("invalid number `{text}`")));
        }
        match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.error(start, format!("number `{text}` is out of range"))),
        }
    }

    fn string(&mut self) -> Result<String> {
        let open = self.pos;
        self.pos += 1; // `"`
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(open, "unterminated string"));
            };
            self.pos += 1;
            match c {
                '"' => return Ok(out),
                '\\' => out.push(self.escape()?),
                c => out.push(c),
            }
        }
    }

    /// Reads the escape after a backslash.
    fn escape(&mut self) -> Result<char> {
        let backslash = self.pos - 1;
        let c = self.peek();
        self.pos += 1;
        match c {
            Some('"') => Ok('"'),
            Some('\\') => Ok('\\'),
            Some('n') => Ok('\n'),
            Some('r') => Ok('\r'),
            Some('t') => Ok('\t'),
            Some('u') => {
                let bad = |p: &Parser| p.error(backslash, "invalid escape; expected `\\u{hex}`");
                if !self.eat('{') {
                    return Err(bad(self));
                }
                let hex = self.take_while(|c| c.is_ascii_hexdigit());
                if hex.is_empty() || hex.len() > 6 || !self.eat('}') {
                    return Err(bad(self));
                }
                u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| bad(self))
            }
            None => Err(self.error(backslash, "unterminated string")),
            Some(c) => Err(self.error(
                backslash,
                format!("unknown escape `\\{c}`; write `\\\\` for a backslash"),
            )),
        }
    }

    fn pseudo(&mut self) -> Result<Pseudo> {
        let colon = self.pos;
        self.pos += 1; // `:`
        let word = self.take_while(is_ident_char);
        match word.as_str() {
            "first" => Ok(Pseudo::First),
            "last" => Ok(Pseudo::Last),
            "nth" => {
                if !self.eat('(') {
                    return Err(self.error(self.pos, "expected `(` after `:nth`"));
                }
                self.skip_ws();
                let at = self.pos;
                let digits = self.take_while(|c| c.is_ascii_digit());
                if digits.is_empty() {
                    return Err(self.error(
                        at,
                        format!("expected a position, found {}", found(self.peek())),
                    ));
                }
                let n: u32 = digits
                    .parse()
                    .map_err(|_| self.error(at, format!("position `{digits}` is too large")))?;
                if n == 0 {
                    return Err(self.error(at, "`:nth` counts from 1"));
                }
                self.skip_ws();
                if !self.eat(')') {
                    return Err(self.error(self.pos, "expected `)`"));
                }
                Ok(Pseudo::Nth(n))
            }
            _ => Err(self.error(
                colon,
                format!("unknown pseudo-class `:{word}`; expected `:first`, `:last` or `:nth(n)`"),
            )),
        }
    }
}

/// The one-line reason from a regex error, whose text spans several lines.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    let line = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    line.trim().trim_start_matches("error: ").to_owned()
}
