//! SQL injections that are injections by their shape alone, whatever a
//! model makes of their few tokens: a value that closes the string it was
//! put in and comments out the rest of the query (`admin'--`, the login
//! bypass), or that ends the statement it was put in and starts another
//! (`1;select 1`, `x'; drop table users`). Too short for the forest to be
//! sure of (it called both benign), and nothing anyone types: a person's
//! text does not close a quote it never opened and then comment out the
//! rest, nor follow a number with `;` and `drop table`. Shapes only, on
//! the decoded text: the second statement must read as SQL (`drop table`,
//! `delete from`, `select 1`), so `3; select a size` is not one.

use super::decode::{Decoded, Flags};

/// Whether `decoded` breaks out of its SQL context in one of the two ways.
pub fn sql_breakout(decoded: &Decoded) -> bool {
    let text = decoded.text.trim();
    login_bypass(text, decoded.flags.contains(Flags::SQL_COMMENT)) || stacked_statement(text)
}

/// Bytes of a bare login or number: what precedes the quote in `admin'--`.
fn bare(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'.' | b'-'))
}

/// `text` is a bare word, the value's only quote, and closing parentheses:
/// the end of a string the application opened (`admin'`, `x')`).
fn closes_string(text: &str) -> bool {
    let Some(at) = text.find(['\'', '"']) else { return false };
    bare(&text[..at]) && text[at + 1..].bytes().all(|b| b == b' ' || b == b')')
}

/// `admin'--`, `admin' #`, `x')-- -`, `admin'/*` (an unclosed comment the
/// decoder removed): the value's only quote, then a comment to the end.
fn login_bypass(text: &str, comment_removed: bool) -> bool {
    if text.bytes().filter(|b| matches!(b, b'\'' | b'"')).count() != 1 {
        return false;
    }
    let Some(at) = text.find(['\'', '"']) else { return false };
    if !bare(&text[..at]) {
        return false;
    }
    let rest = text[at + 1..].trim_start_matches([' ', ')']);
    rest.starts_with("--") || rest.starts_with('#') || (rest.is_empty() && comment_removed)
}

/// The first word of `text` and what follows it (trimmed).
fn word(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    (&text[..end], text[end..].trim_start())
}

/// `1;select 1`, `1; drop table users`, `x'; exec xp_cmdshell('dir')--`:
/// a number or a closed string, `;`, and a statement that reads as SQL.
fn stacked_statement(text: &str) -> bool {
    let Some(semi) = text.find(';') else { return false };
    let head = text[..semi].trim_end();
    let number = !head.is_empty() && head.bytes().all(|b| b.is_ascii_digit());
    if !(number || closes_string(head)) {
        return false;
    }
    let (verb, after) = word(text[semi + 1..].trim_start());
    let (object, beyond) = word(after);
    match verb {
        "select" => {
            after.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '*' | '@' | '(' | '\''))
                || (!object.is_empty() && (beyond.starts_with(',') || word(beyond).0 == "from"))
        }
        "drop" | "truncate" | "create" | "alter" => {
            matches!(object, "table" | "database" | "user" | "procedure" | "function" | "view" | "schema")
        }
        "delete" => object == "from",
        "insert" => object == "into",
        "update" => !object.is_empty() && word(beyond).0 == "set",
        "exec" | "execute" => object.starts_with("xp_") || object.starts_with("sp_") || object == "master",
        "waitfor" => matches!(object, "delay" | "time"),
        "declare" => after.starts_with('@'),
        "shutdown" => after.is_empty() || after.starts_with("--") || after.starts_with('#') || object == "with",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn breaks_out(raw: &str) -> bool {
        sql_breakout(&decode(raw, Context::Form))
    }

    #[test]
    fn login_bypasses_and_stacked_statements_break_out() {
        for attack in [
            "admin'--",
            "admin' #",
            "admin'/*",
            "admin')-- -",
            "'--",
            "x\" #",
            "admin%27--",
            "1;select 1",
            "1; drop table users",
            "1;DELETE FROM users",
            "x'; exec xp_cmdshell('dir')--",
            "x'); insert into users values(1,'a')",
            "1; update users set password='x'",
            "1;waitfor delay '0:0:5'",
            "1; select password from users",
            "1;shutdown--",
            "1; declare @x int",
        ] {
            assert!(breaks_out(attack), "{attack}");
        }
    }

    #[test]
    fn text_that_only_looks_like_it_does_not() {
        for text in [
            "O'Brien",
            "rock'n'roll -- live",
            "john smith' #1 fan",
            "8' -- 10' ladder",
            "it's -- great",
            "3; select a size",
            "step 1; drop the kids off",
            "1; exec will create the case 7",
            "2; update later",
            "1; create account",
            "red shoes; select size 42",
            "\"exact phrase\" -- note",
            "a;b",
            "",
        ] {
            assert!(!breaks_out(text), "{text}");
        }
    }
}
