//! Injections by their shape alone, whatever a model makes of their few
//! tokens. SQL: a value that closes the string it was put in and comments
//! out the rest of the query (`admin'--`, the login bypass), or that ends
//! the statement it was put in and starts another (`1;select 1`,
//! `x'; drop table users`), or that extends the query's result with a
//! `union select`. Script: a value that opens a `<script>` element, gives
//! a tag an event handler (`<img src=x onerror=…>`), a script URL
//! (`src=javascript:…`, `data:text/html`), script in a style or a refresh,
//! or is a `javascript:` URL. Too short or too plain for the forest to be sure
//! of (it called `admin'--`, `1;select 1` and `<script src=//x/1.js>`
//! benign), and nothing anyone types: a person's text does not close a
//! quote it never opened and then comment out the rest, follow a number
//! with `;` and `drop table`, or write event handlers into tags. Shapes
//! only, on the decoded text: the second statement must read as SQL (`drop
//! table`, `delete from`, `select 1`), so `3; select a size` is not one.

use super::PayloadClass;
use super::decode::{Decoded, Flags};
use super::gate;

/// The class `decoded` is by its shape alone, if any.
pub fn certain(decoded: &Decoded) -> Option<PayloadClass> {
    if sql_breakout(decoded) {
        Some(PayloadClass::Sqli)
    } else if script_breakout(&decoded.text) {
        Some(PayloadClass::Xss)
    } else {
        None
    }
}

/// Whether `text` (decoded: lowercase, whitespace folded) opens script:
/// a `<script` element, a tag with an event-handler attribute, or a value
/// that is a `javascript:`/`vbscript:` URL.
pub fn script_breakout(text: &str) -> bool {
    let bytes = text.as_bytes();
    let url = text.trim_start_matches([' ', '"', '\'']);
    if ["javascript:", "vbscript:"].iter().any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.starts_with(' '))) {
        return true;
    }
    bytes.iter().enumerate().filter(|(_, b)| **b == b'<').any(|(at, _)| {
        let tag = &bytes[at + 1..];
        let name = tag.iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        if name == 0 || !tag[0].is_ascii_alphabetic() {
            return false;
        }
        let element = &tag[..name];
        if element == b"script" && tag.get(name).is_none_or(|b| matches!(b, b'>' | b' ' | b'/')) {
            return true;
        }
        if element == b"style" && styled_script(tag) {
            return true;
        }
        // The tag's attributes, up to its end: one of them an event handler,
        // a script URL, script in a style, or a refresh to elsewhere.
        let end = tag.iter().position(|b| *b == b'>').unwrap_or(tag.len());
        let attributes = &tag[name..end];
        handler_in(attributes)
            || script_url_in(attributes)
            || styled_script(attributes)
            || (element == b"meta" && contains(attributes, b"http-equiv") && contains(attributes, b"refresh"))
    })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(haystack, needle).is_some()
}

/// URL schemes that run what follows: script, or a document that can hold it.
const SCRIPT_URLS: [&[u8]; 6] =
    [b"javascript:", b"vbscript:", b"livescript:", b"data:text/html", b"data:image/svg", b"data:application/"];

/// An attribute whose value is a script URL (`src=javascript:…`,
/// ``href=`javascript:…` ``, `data="data:text/html;base64,…"`).
fn script_url_in(attributes: &[u8]) -> bool {
    attributes.iter().enumerate().filter(|(_, b)| **b == b'=').any(|(at, _)| {
        let mut value = &attributes[at + 1..];
        while let [b' ' | b'"' | b'\'' | b'`', rest @ ..] = value {
            value = rest;
        }
        SCRIPT_URLS.iter().any(|scheme| value.starts_with(scheme))
    })
}

/// CSS that runs script in old browsers: `expression(…)`, `behavior:url(…)`, `-moz-binding:url(…)`.
fn styled_script(css: &[u8]) -> bool {
    contains(css, b"expression(") || contains(css, b"behavior:") || contains(css, b"-moz-binding")
}

/// `on…=` opening an attribute (after a space, `/` or quote) in a tag's text.
fn handler_in(attributes: &[u8]) -> bool {
    gate::handler_after(attributes, |before| matches!(before, Some(b' ' | b'/' | b'"' | b'\'')))
}

/// Whether `decoded` breaks out of its SQL context in one of these ways.
pub fn sql_breakout(decoded: &Decoded) -> bool {
    let text = decoded.text.trim();
    login_bypass(text, decoded.flags.contains(Flags::SQL_COMMENT))
        || stacked_statement(text)
        || tautology(text)
        || union_probe(text)
}

/// `-1321 union select 1 from users/*`, `x' union all select null--`,
/// `1) union(select …`, `union all select …`: nothing, a number or a
/// closed string (a comment after it allowed), then `union`
/// [`all`|`distinct`] `select` — the query's result extended with the
/// attacker's. The forest called a third of libinjection's such values
/// benign (the Kaggle statements it learns as benign have `UNION SELECT`
/// too, after a `SELECT`); `credit union select card` starts with a word.
fn union_probe(text: &str) -> bool {
    let Some(at) = text.find("union") else { return false };
    // What comes before, without a comment that the original line break ended (`-1--\n union`).
    let whole = &text[..at];
    let comment = [whole.find("--"), whole.find('#')].into_iter().flatten().min();
    let before = whole[..comment.unwrap_or(whole.len())].trim();
    let literal = before.trim_matches(['-', '+', '(', ')', ' ']);
    let literal_head = number_literal(literal) || closes_string(before);
    if !(literal.is_empty() || literal_head) {
        return false;
    }
    let mut rest = text[at + "union".len()..].trim_start_matches([' ', '(']);
    for quantifier in ["all", "distinct"] {
        if let Some(after) = rest.strip_prefix(quantifier).filter(|a| a.starts_with([' ', '('])) {
            rest = after.trim_start_matches([' ', '(']);
        }
    }
    let Some(after) = rest.strip_prefix("select") else { return false };
    if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return false;
    }
    // A literal the query ends on is evidence enough; with nothing before
    // (or only a comment) the select list must read as SQL: `union select
    // committee` is a phrase.
    (literal_head && comment.is_none()) || select_list(after.trim_start())
}

/// What follows `select` reads as a select list: a number, `*`, `@@…`, a
/// parenthesis or quote, `null`, or a word followed by `,`, `(` or `from`.
fn select_list(after: &str) -> bool {
    if after.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '*' | '@' | '(' | '\'' | '"' | '-')) {
        return true;
    }
    let (object, beyond) = word(after);
    if matches!(object, "distinct" | "all") {
        return select_list(beyond);
    }
    !object.is_empty() && (object == "null" || beyond.starts_with([',', '(']) || word(beyond).0 == "from")
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

/// The leading number of `text` (digits), and what follows it.
fn number(text: &str) -> Option<&str> {
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| &text[digits..])
}

/// `12`, `-355.00`, `.1`, `0x31`: a number as SQL writes one.
fn number_literal(text: &str) -> bool {
    match text.strip_prefix("0x") {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => text.bytes().any(|b| b.is_ascii_digit()) && text.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
    }
}

/// `1 and 3798=3798`, `-6784 && 6784>2870`, `x' or 1=1--`: a number or a
/// closed string, a logical operator, and a comparison of two numbers —
/// the boolean probe scanners build (sqlmap's), not `1950 or 1960`; or a
/// closed string, a logical operator and a string compared (`admin" or
/// "1"="1`, `' or ''='`).
fn tautology(text: &str) -> bool {
    let Some((at, len)) = first_logic(text) else { return false };
    let head = text[..at].trim().trim_start_matches('-').trim_end_matches([')', ' ']);
    let closed = closes_string(text[..at].trim());
    if !(closed || number(head).is_some_and(str::is_empty)) {
        return false;
    }
    let tail = text[at + len..].trim_start().trim_start_matches('(');
    if let Some(quote) = tail.chars().next().filter(|c| matches!(c, '\'' | '"')) {
        return closed && string_comparison(&tail[1..], quote);
    }
    let Some(rest) = number(tail) else { return false };
    let rest = rest.trim_start();
    let Some(op) = COMPARISONS.iter().find(|op| rest.starts_with(**op)) else {
        return false;
    };
    let Some(after) = number(rest[op.len()..].trim_start()) else { return false };
    let after = after.trim_start();
    after.is_empty() || ["--", "#", "/*", ")", "and ", "or "].iter().any(|end| after.starts_with(end))
}

/// After a closed string and a logical operator, the rest of `x' or 'a'='a`
/// (`after_quote` is `a'='a`): a string compared with something, or an
/// opened string the query's own quote closes (`x' or '`) — not `12" and
/// "14" pans` or `8" or "10"`.
fn string_comparison(after_quote: &str, quote: char) -> bool {
    if after_quote.trim().is_empty() {
        return true;
    }
    let Some(close) = after_quote.find(quote) else { return false };
    let rest = after_quote[close + 1..].trim_start();
    COMPARISONS.iter().chain(&["like "]).any(|op| rest.starts_with(op))
}

/// SQL's comparison operators, longest first so `<=` is not read as `<`.
const COMPARISONS: [&str; 7] = ["<=", ">=", "<>", "!=", "=", "<", ">"];

/// Where the first `and`, `or`, `xor`, `&&` or `||` of `text` is, and its
/// length: one pass, as most values have none.
fn first_logic(text: &str) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().find_map(|(at, b)| {
        let ops: &[&str] = match b {
            b' ' => &[" and ", " or ", " xor "],
            b'&' => &["&&"],
            b'|' => &["||"],
            _ => return None,
        };
        ops.iter().find(|op| bytes[at..].starts_with(op.as_bytes())).map(|op| (at, op.len()))
    })
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
        "select" => select_list(after),
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
        certain(&decode(raw, Context::Form)) == Some(PayloadClass::Sqli)
    }

    fn opens_script(raw: &str) -> bool {
        certain(&decode(raw, Context::Form)) == Some(PayloadClass::Xss)
    }

    #[test]
    fn script_elements_handlers_and_script_urls_open_script() {
        for attack in [
            "<script>alert(1)</script>",
            "<script src=//brutelogic.com.br/1.js>",
            "<SCRIPT/SRC=x>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(1)>",
            "<body onload = x()>",
            "\"><img src=x onerror=alert(1)>",
            "<a href=\"#\" onclick=\"go()\">x</a>",
            "javascript:alert(1)",
            "\"javascript:alert(1)",
            "%3Cscript%3Ealert(1)%3C/script%3E",
            "&lt;img src=x onerror=alert(1)&gt;",
            "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
            "<iframe src=\"javascript:alert(1)\"></iframe>",
            "<EMBED SRC=\"data:image/svg+xml;base64,PHN2Zz4=\" type=\"image/svg+xml\">",
            "<object data=\"data:text/html;base64,PHNjcmlwdD4=\"></object>",
            "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html;base64,PHNjcmlwdD4=\">",
            "<div style=\"width: expression(alert(1))\">",
            "<x style=\"behavior:url(test.sct)\">",
            "<style>body{-moz-binding:url(x.xml#xss)}</style>",
        ] {
            assert!(opens_script(attack), "{attack}");
        }
    }

    #[test]
    fn markup_and_words_about_script_do_not() {
        for text in [
            "<b>bold</b> and <i>italic</i>",
            "<p>javascript: the good parts</p>",
            "javascript: the good parts",
            "<a href=\"https://example.org/\">link</a>",
            "<descriptions>",
            "<scripts and notes>",
            "I put the onion=2 tomatoes",
            "<p>Call onboarding = tomorrow</p>",
            "oncall=alice",
            "1 < 2 onload",
            "<onion = 3>",
            "<img src=\"data:image/png;base64,iVBORw0KGgo=\">",
            "<a href=\"https://example.org/javascript:tips\">js tips</a>",
            "<p>regular expression(s) explained</p>",
            "the expression(x) is a call",
            "<meta name=\"description\" content=\"refresh your look\">",
            "<p style=\"color:red\">behavior: polite</p>",
        ] {
            assert!(!opens_script(text), "{text}");
        }
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
            "1 and 3798=3798",
            "1505 || 1505=1505",
            "-6784 && 6784>2870",
            "admin\" or \"1\"=\"1",
            "' or ''='",
            "\" OR \"\" = \"",
            "x\" and 'x'='x'",
            "' or '",
            "1 or 1=1",
            "x' or 1=1--",
            "1) and (5=5",
            "1 AND 3798=3798 -- x",
            "-1321 union select 1 from users/*",
            "1 UNION ALL SELECT null,null--",
            "x' union select password from users--",
            "1) union(select 1,2)",
            "-11 UNION ALL SELECT null",
            "1%20union%20distinct%20select%201",
            "union all (select distinct 1)--",
            "-1--%0A%20union%28select%20table_name%20from%20information_schema.tables%29",
            "-1%23a%0A%20union%20%28select%20id%20from%20users%29",
            "(1001)union select-1,ccnumber,3,4 from credit_cards",
            "-355.00 union select USER/**/",
            "0x31+union+select+%40%40version",
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
            "1950 or 1960",
            "1 or 2 of them = 3",
            "size 8 or 9=large",
            "12 and 1/2 inch",
            "12\" and \"14\" pans",
            "8\" or \"10\"",
            "\"red\" or \"blue\"",
            "john's or 'jane'='x'",
            "5' or 6' tall",
            "credit union select card",
            "european union selection 2024",
            "1 union station selects",
            "3 union selections",
            "union station",
            "union select committee",
            "#1 union select pick",
            "2 -- union select",
            "",
        ] {
            assert!(!breaks_out(text), "{text}");
        }
    }
}
