//! A SQL condition read from the front of decoded text, as far as the
//! breakout shapes need one: `1=1`, `'a'='a`, `x=x`, `not 5=3`,
//! `sleep(5)`, `(select user())=5003`, `exists(select …)`,
//! `4147 in (4147,8032)`, `2744 rlike 2744` — and where it ends, so a
//! shape can ask that only a comment, a parenthesis or more logic follow.

/// What a condition's operand is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operand<'a> {
    Number(&'a str),
    /// A quoted string, closed: its contents.
    Str(&'a str),
    /// A quote opened and never closed: the query's own quote closes it (`a='a`).
    Open,
    /// A call of a SQL function (`sleep(5)`), a parenthesised `select`, or
    /// a server variable (`@@version`).
    Call,
    Word(&'a str),
}

/// Functions scanners call in a condition: time delays, string and
/// metadata probes, error-based extraction.
const FUNCTIONS: [&str; 30] = [
    "sleep",
    "benchmark",
    "pg_sleep",
    "isnull",
    "ifnull",
    "length",
    "ascii",
    "ord",
    "substr",
    "substring",
    "mid",
    "char",
    "chr",
    "hex",
    "unhex",
    "database",
    "user",
    "current_user",
    "system_user",
    "version",
    "if",
    "exists",
    "updatexml",
    "extractvalue",
    "count",
    "concat",
    "load_file",
    "rand",
    "make_set",
    "elt",
];

/// Comparisons, longest first so `<=` is not read as `<`; the word
/// operators need the space after them.
const COMPARISONS: [&str; 13] =
    ["<=>", "<=", ">=", "<>", "!=", "=", "<", ">", "like ", "rlike ", "regexp ", "in ", "between "];

/// `12`, `-355.00`'s digits, `.1`, `0x31`: a number as SQL writes one.
pub fn number_literal(text: &str) -> bool {
    match text.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => text.bytes().any(|b| b.is_ascii_digit()) && text.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
    }
}

/// One operand at the front of `text` and what follows it (trimmed), if
/// `text` starts with one.
pub fn operand(text: &str) -> Option<(Operand<'_>, &str)> {
    let bytes = text.as_bytes();
    let first = *bytes.first()?;
    if first.is_ascii_digit() {
        let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).unwrap_or(text.len());
        let number = &text[..end];
        return number_literal(number).then(|| (Operand::Number(number), text[end..].trim_start()));
    }
    if first == b'\'' || first == b'"' {
        let quote = first as char;
        return Some(match text[1..].find(quote) {
            Some(close) => (Operand::Str(&text[1..1 + close]), text[close + 2..].trim_start()),
            None => (Operand::Open, ""),
        });
    }
    if first == b'(' {
        let inner = text[1..].trim_start();
        if inner.starts_with("select ") || inner.starts_with("select(") {
            return Some((Operand::Call, after_parenthesis(text)?));
        }
        return None;
    }
    // `@@version`: a server variable, which only SQL writes (`@bob` is a handle).
    if let Some(name) = text.strip_prefix("@@") {
        let end = name.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(name.len());
        return (end > 0).then(|| (Operand::Call, name[end..].trim_start()));
    }
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '@')).unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    let name = &text[..end];
    let rest = &text[end..];
    if rest.starts_with('(') || (rest.starts_with(" (") && name == "exists") {
        if !FUNCTIONS.contains(&name) {
            return None;
        }
        return Some((Operand::Call, after_parenthesis(rest.trim_start())?));
    }
    Some((Operand::Word(name), rest.trim_start()))
}

/// What follows the parenthesis `text` opens with, once it is closed.
pub fn after_parenthesis(text: &str) -> Option<&str> {
    let mut depth = 0usize;
    for (at, b) in text.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(text[at + 1..].trim_start());
                }
            }
            _ => {}
        }
    }
    None
}

/// A condition at the front of `text`: an operand compared with another,
/// or a function call on its own. Returns the two sides (the second
/// `None` for a call alone) and what follows.
pub fn condition(text: &str) -> Option<(Operand<'_>, Option<Operand<'_>>, &str)> {
    let text = text.strip_prefix("not ").or_else(|| text.strip_prefix('!')).unwrap_or(text).trim_start();
    let (left, rest) = operand(text)?;
    let rest = rest.strip_prefix("not ").unwrap_or(rest);
    let Some(op) = COMPARISONS.iter().find(|op| rest.starts_with(**op)) else {
        return (left == Operand::Call).then_some((left, None, rest));
    };
    let rest = rest[op.len()..].trim_start();
    if *op == "in " {
        return Some((left, Some(Operand::Call), after_parenthesis(rest)?));
    }
    let (right, rest) = operand(rest)?;
    Some((left, Some(right), rest))
}

/// Whether what follows a condition ends it as an injection would: the
/// end of the value, a comment, a closing parenthesis, a statement's end,
/// or more logic.
pub fn ends_cleanly(rest: &str) -> bool {
    rest.is_empty()
        || ["--", "#", "/*", ")", ";", "and ", "or ", "xor ", "&&", "||"].iter().any(|end| rest.starts_with(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_are_read_with_what_follows() {
        assert_eq!(condition("1=1--"), Some((Operand::Number("1"), Some(Operand::Number("1")), "--")));
        assert_eq!(condition("'a'='a"), Some((Operand::Str("a"), Some(Operand::Open), "")));
        assert_eq!(condition("x = x #"), Some((Operand::Word("x"), Some(Operand::Word("x")), "#")));
        assert_eq!(condition("not 3235=9001"), Some((Operand::Number("3235"), Some(Operand::Number("9001")), "")));
        assert_eq!(condition("sleep(1)/*"), Some((Operand::Call, None, "/*")));
        assert_eq!(condition("(select user())=5003"), Some((Operand::Call, Some(Operand::Number("5003")), "")));
        assert_eq!(condition("exists(select * from t)"), Some((Operand::Call, None, "")));
        assert_eq!(condition("4147 in (4147,8032)"), Some((Operand::Number("4147"), Some(Operand::Call), "")));
        assert_eq!(
            condition("2744 rlike 2744/*"),
            Some((Operand::Number("2744"), Some(Operand::Number("2744")), "/*"))
        );
        // Not conditions: a word alone, a call of something not SQL's, an unclosed call.
        assert_eq!(condition("more"), None);
        assert_eq!(condition("more (see list)"), None);
        assert_eq!(condition("sleep(1"), None);
        assert_eq!(condition("5pm"), None);
        assert_eq!(condition("6' tall"), None);
    }

    proptest::proptest! {
        /// Any text, SQL-like or not, multibyte included: a condition is
        /// read without panicking, and what follows it is the text's own tail.
        #[test]
        fn conditions_read_any_text_and_leave_its_tail(text in "[0-9a-z'\"`()=<>!,;#@ _%*é-]{0,40}") {
            if let Some((_, _, rest)) = condition(&text) {
                proptest::prop_assert!(text.ends_with(rest));
            }
        }
    }
}
