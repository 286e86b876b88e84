//! Sigma's `condition` expression: selection names joined by `and`, `or`,
//! `not`, parentheses, and `1 of pattern` / `all of pattern` / `… of them`.
//! Aggregations (`| count() by …`) are refused with their own message:
//! they are correlations, which Rampart's threshold rules express otherwise.

/// A parsed condition over selection names.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    Selection(String),
    /// `1 of pattern`: any selection whose name matches (`*` wildcard; `them` is every one).
    AnyOf(String),
    AllOf(String),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Open,
    Close,
}

/// Parses one condition; the error says what is not understood.
pub(crate) fn parse(text: &str) -> Result<Expr, String> {
    if text.contains('|') {
        return Err(format!("aggregation in condition {text:?} (a correlation; not converted)"));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, at: 0 };
    let expr = parser.or()?;
    if parser.at != parser.tokens.len() {
        return Err(format!("unexpected {:?} in condition {text:?}", parser.tokens[parser.at]));
    }
    Ok(expr)
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let flush = |word: &mut String, tokens: &mut Vec<Token>| {
        if !word.is_empty() {
            tokens.push(Token::Word(std::mem::take(word)));
        }
    };
    for c in text.chars() {
        match c {
            '(' | ')' => {
                flush(&mut word, &mut tokens);
                tokens.push(if c == '(' { Token::Open } else { Token::Close });
            }
            c if c.is_whitespace() => flush(&mut word, &mut tokens),
            c if c.is_alphanumeric() || "_-*.".contains(c) => word.push(c),
            other => return Err(format!("character {other:?} in condition {text:?}")),
        }
    }
    flush(&mut word, &mut tokens);
    if tokens.is_empty() {
        return Err("empty condition".into());
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<&str> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w),
            _ => None,
        }
    }

    fn keyword(&mut self, word: &str) -> bool {
        if self.peek_word().is_some_and(|w| w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.and()?];
        while self.keyword("or") {
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut parts = vec![self.not()?];
        while self.keyword("and") {
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::And(parts) })
    }

    fn not(&mut self) -> Result<Expr, String> {
        if self.keyword("not") { Ok(Expr::Not(Box::new(self.not()?))) } else { self.primary() }
    }

    fn primary(&mut self) -> Result<Expr, String> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Open) => {
                self.at += 1;
                let inner = self.or()?;
                if self.tokens.get(self.at) != Some(&Token::Close) {
                    return Err("unbalanced parentheses".into());
                }
                self.at += 1;
                Ok(inner)
            }
            Some(Token::Word(w)) => {
                self.at += 1;
                let quantifier = w.to_ascii_lowercase();
                if self.peek_word().is_some_and(|next| next.eq_ignore_ascii_case("of")) {
                    self.at += 1;
                    let pattern = self.peek_word().ok_or("`of` needs a selection pattern or `them`")?.to_owned();
                    self.at += 1;
                    let pattern = if pattern.eq_ignore_ascii_case("them") { "*".to_owned() } else { pattern };
                    return match quantifier.as_str() {
                        "1" | "any" => Ok(Expr::AnyOf(pattern)),
                        "all" => Ok(Expr::AllOf(pattern)),
                        n => Err(format!("`{n} of` (only `1 of` and `all of` convert)")),
                    };
                }
                if ["and", "or", "not", "of"].contains(&quantifier.as_str()) {
                    return Err(format!("`{w}` where a selection was expected"));
                }
                Ok(Expr::Selection(w))
            }
            Some(Token::Close) => Err("unbalanced parentheses".into()),
            None => Err("condition ends early".into()),
        }
    }
}

/// Whether a selection name matches an `of` pattern (`*` any run of characters).
pub(crate) fn name_matches(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else { return false };
            if rest.is_empty() {
                return true;
            }
            (0..=tail.len()).filter(|i| tail.is_char_boundary(*i)).any(|i| name_matches(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Expr {
        Expr::Selection(s.into())
    }

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(
            parse("a or b and not c").unwrap(),
            Expr::Or(vec![sel("a"), Expr::And(vec![sel("b"), Expr::Not(Box::new(sel("c")))])])
        );
        assert_eq!(
            parse("(a or b) and not 1 of filter_*").unwrap(),
            Expr::And(vec![Expr::Or(vec![sel("a"), sel("b")]), Expr::Not(Box::new(Expr::AnyOf("filter_*".into())))])
        );
        assert_eq!(parse("all of them").unwrap(), Expr::AllOf("*".into()));
    }

    #[test]
    fn what_does_not_convert_says_why() {
        assert!(parse("selection | count() by src_ip > 10").unwrap_err().contains("aggregation"));
        assert!(parse("2 of sel*").unwrap_err().contains("2 of"));
        assert!(parse("(a or b").unwrap_err().contains("parentheses"));
        assert!(parse("a b").unwrap_err().contains("unexpected"));
        assert!(parse("").unwrap_err().contains("empty"));
    }

    #[test]
    fn patterns_match_selection_names() {
        assert!(name_matches("filter_*", "filter_main_status"));
        assert!(name_matches("*", "x"));
        assert!(name_matches("sel*_b", "sel_a_b"));
        assert!(!name_matches("filter_*", "selection"));
    }

    proptest::proptest! {
        #[test]
        fn any_condition_text_parses_or_errs(text in "\\PC{0,80}") {
            let _ = parse(&text);
        }
    }
}
