//! SQL by its shape: a value that closes the context it was put in and
//! goes on in SQL.

use super::super::decode::{Decoded, Flags};
use super::predicate::{self, Operand, number_literal};
use super::server::server_object;
use super::union::{select_list, union_probe};

/// Whether `decoded` breaks out of its SQL context in one of these ways
/// or names the server itself (`server.rs`): read as it stands, and — when
/// a `#` or `--` comment ends at a line break — as SQL reads it, without
/// such comments.
pub fn sql_breakout(decoded: &Decoded) -> bool {
    let reads_as_sql = |text: &str, comment_removed| shapes(text.trim(), comment_removed) || server_object(text);
    reads_as_sql(&decoded.text, decoded.flags.contains(Flags::SQL_COMMENT))
        || line_comments_removed(decoded).is_some_and(|text| reads_as_sql(&text, true))
}

/// Whether `text` (trimmed) has one of the shapes; `comment_removed` when the decoder took out a comment.
fn shapes(text: &str, comment_removed: bool) -> bool {
    login_bypass(text, comment_removed)
        || stacked_statement(text)
        || boolean_probe(text)
        || clause_probe(text)
        || union_probe(text)
}

/// `decoded`'s text as SQL reads it when a `#` or `--` comment ends at a
/// line break (`1 union#%0aselect …`, MySQL's favourite evasion): the
/// comment taken out up to where its line ended. `None` when no comment
/// ends before the value does. Only the SQL shapes read this: taking
/// comments out of the text everything reads would let `#<script>…%0a`
/// hide script.
fn line_comments_removed(decoded: &Decoded) -> Option<String> {
    if decoded.line_ends.is_empty() {
        return None;
    }
    let text = &decoded.text;
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    let mut ends = decoded.line_ends.iter().copied().peekable();
    let mut removed = false;
    while let Some(at) = text[from..].find(['#', '-']).map(|i| from + i) {
        if text.as_bytes()[at] == b'-' && !text[at..].starts_with("--") {
            out.push_str(&text[from..=at]);
            from = at + 1;
            continue;
        }
        while ends.next_if(|&end| end < at).is_some() {}
        // A comment its line does not end runs to the end of the value: as the lexer reads it.
        let Some(end) = ends.next() else { break };
        out.push_str(&text[from..at]);
        removed = true;
        from = end;
    }
    out.push_str(&text[from..]);
    removed.then_some(out)
}

/// Bytes of a bare login or number: what precedes the quote in `admin'--`
/// (`%` too: a `like '%…%'` pattern's wildcard, `item%'`).
fn bare(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'.' | b'-' | b'%'))
}

/// `text` is a bare word, the value's only quote, and closing parentheses:
/// the end of a string the application opened (`admin'`, `x')`).
pub(super) fn closes_string(text: &str) -> bool {
    let Some(at) = text.find(['\'', '"', '`']) else { return false };
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

/// What a probe puts before its SQL: nothing (the value is appended to a
/// number the query already has), a number, or a closed string or
/// identifier (`x'`, `5)`, `` 626` ``, `item%'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Head {
    Nothing,
    Number,
    Closed,
}

fn head(text: &str) -> Option<Head> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Head::Nothing);
    }
    let core = text.trim_start_matches(['-', '+', '(']).trim_end_matches([')', ' ']);
    if number_literal(core) {
        return Some(Head::Number);
    }
    closes_string(text).then_some(Head::Closed)
}

/// Whether a condition after `head` is one a scanner writes rather than a
/// person: two numbers compared (`1=1`, `3798=3798`, `not 5=3`) or a name
/// compared with itself (`x=x`) after anything; after a number or a closed
/// string also a string compared (`'a'='a`), a call (`sleep(5)`,
/// `(select …)=1`, `exists(…)`); after a closed string a name compared
/// with a value (`uid like '%`, `a='a`). Not `1950 or 1960`, `5' or 6'
/// tall`, `8" or "10"`: no comparison.
fn convicts(head: Head, left: Operand, right: Option<Operand>) -> bool {
    use Operand::{Call, Number, Open, Str, Word};
    match (left, right) {
        (Number(_), Some(Number(_))) => true,
        (Word(a), Some(Word(b))) if a == b => true,
        (Call, _) | (_, Some(Call)) | (Str(_), Some(_)) => head != Head::Nothing,
        (Word(_), Some(Number(_) | Str(_) | Open)) | (Number(_), Some(Open)) => head == Head::Closed,
        _ => false,
    }
}

/// `1 and 3798=3798`, `-6784 && 6784>2870`, `x' or 1=1--`, ` or 1=1`,
/// `admin" or "1"="1`, `' or ''='`, `x' or '`, `3865 and isnull(null);--`:
/// a head, a logical operator, and a condition that `convicts`, ending
/// as an injection ends — the boolean probe scanners build (sqlmap's).
fn boolean_probe(text: &str) -> bool {
    let Some((at, len)) = first_logic(text) else { return false };
    let Some(head) = head(&text[..at]) else { return false };
    // `1) and (5=5`: opening parentheses, but not a subquery's.
    let mut tail = text[at + len..].trim_start();
    while let Some(inner) = tail.strip_prefix('(').filter(|inner| !inner.trim_start().starts_with("select")) {
        tail = inner.trim_start();
    }
    // `x' or '`: a string the query's own quote closes.
    if head == Head::Closed && matches!(tail, "'" | "\"") {
        return true;
    }
    let Some((left, right, rest)) = predicate::condition(tail) else { return false };
    predicate::ends_cleanly(rest) && convicts(head, left, right)
}

/// `' order by 1--`, `1 group by 1`, ` having 1=1`, `9565 limit 9565`,
/// `1 procedure analyse()`: a head, then a clause appended to the query —
/// the column-count and error probes. Ordering by a number, or by
/// anything after a closed string; `limit` after a number or closed
/// string only: `order by phone` and `limit 5` on their own are words.
fn clause_probe(text: &str) -> bool {
    clause_starts(text).any(|(at, clause)| {
        let Some(head) = head(&text[..at]) else { return false };
        let rest = text[at + clause.len()..].trim_start();
        match clause {
            "procedure analyse" => rest.starts_with('('),
            "having " => predicate::condition(rest)
                .is_some_and(|(left, right, rest)| predicate::ends_cleanly(rest) && convicts(head, left, right)),
            "limit " => head != Head::Nothing && limit_count(rest),
            _ => predicate::operand(rest).is_some_and(|(by, rest)| {
                predicate::ends_cleanly(rest)
                    && match by {
                        Operand::Number(_) => true,
                        Operand::Call => head != Head::Nothing,
                        Operand::Word(_) => head == Head::Closed,
                        _ => false,
                    }
            }),
        }
    })
}

/// `9565`, `1,1--`: what follows `limit` in a probe — a number, perhaps
/// an offset after a comma, then the end.
fn limit_count(rest: &str) -> bool {
    let Some((Operand::Number(_), rest)) = predicate::operand(rest) else { return false };
    let rest = match rest.strip_prefix(',') {
        Some(offset) => predicate::operand(offset.trim_start()).map_or(offset, |(_, after)| after),
        None => rest,
    };
    predicate::ends_cleanly(rest)
}

/// Where each clause keyword starts a word of `text`: one pass, as most
/// values have none.
fn clause_starts(text: &str) -> impl Iterator<Item = (usize, &'static str)> + '_ {
    let bytes = text.as_bytes();
    bytes.iter().enumerate().filter_map(move |(at, b)| {
        let clauses: &[&'static str] = match b {
            b'o' => &["order by "],
            b'g' => &["group by "],
            b'h' => &["having "],
            b'l' => &["limit "],
            b'p' => &["procedure analyse"],
            _ => return None,
        };
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
            return None;
        }
        clauses.iter().find(|c| bytes[at..].starts_with(c.as_bytes())).map(|c| (at, *c))
    })
}

/// Where the first `and`, `or`, `xor`, `&&` or `||` of `text` is, and its
/// length: one pass, as most values have none.
fn first_logic(text: &str) -> Option<(usize, usize)> {
    // At the very start, with nothing before it (` or 1=1` trimmed).
    if let Some(op) = ["and ", "or ", "xor ", "&&", "||"].iter().find(|op| text.starts_with(**op)) {
        return Some((0, op.len()));
    }
    let bytes = text.as_bytes();
    bytes.iter().enumerate().find_map(|(at, b)| {
        let ops: &[&str] = match (b, bytes.get(at + 1)) {
            // `aa'or column!='1`: glued to the quote that closed the string,
            // as SQL allows; then a space or what starts a condition, so
            // `"or"` (a word in quotes) is not an operator.
            (b'\'' | b'"' | b'`', Some(b'a' | b'o' | b'x')) => {
                let rest = &text[at + 1..];
                let op = ["and", "or", "xor"]
                    .into_iter()
                    .find(|op| rest.starts_with(op) && rest[op.len()..].starts_with([' ', '(', '!', '@']))?;
                return Some((at + 1, op.len()));
            }
            // `7275 and(1=1)`: the parenthesis is the condition's, so not counted.
            (b' ', Some(b'a')) => &[" and ", " and("],
            (b' ', Some(b'o')) => &[" or ", " or("],
            (b' ', Some(b'x')) => &[" xor ", " xor("],
            (b'&', _) => &["&&"],
            (b'|', _) => &["||"],
            _ => return None,
        };
        let op = ops.iter().find(|op| bytes[at..].starts_with(op.as_bytes()))?;
        Some((at, op.trim_end_matches('(').len()))
    })
}

/// The first word of `text` and what follows it (trimmed).
pub(super) fn word(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(text.len());
    (&text[..end], text[end..].trim_start())
}

/// `1;select 1`, `1; drop table users`, `x'; exec xp_cmdshell('dir')--`:
/// a number or a closed string, `;`, and a statement that reads as SQL.
fn stacked_statement(text: &str) -> bool {
    let Some(semi) = text.find(';') else { return false };
    if !matches!(head(&text[..semi]), Some(Head::Number | Head::Closed)) {
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
        sql_breakout(&decode(raw, Context::Form))
    }

    fn breaks_out_by_lines(raw: &str) -> bool {
        line_comments_removed(&decode(raw, Context::Form)).is_some_and(|text| shapes(text.trim(), true))
    }

    #[test]
    fn a_comment_its_line_ends_hides_nothing_from_the_sql_reading() {
        for attack in [
            "1 union#%0aselect password from users",
            "1 union--%0d%0aselect 1,2",
            "-1 union#x%0a#y%0aselect table_name from t",
            "x'#%0aor 1=1",
        ] {
            assert!(breaks_out_by_lines(attack), "{attack}");
        }
        assert_eq!(
            line_comments_removed(&decode("1 union#c%0aselect 1 -- end", Context::Form)).as_deref(),
            Some("1 union select 1 -- end")
        );
        // Comments that run to the value's end, and text without line breaks, are read as before.
        assert_eq!(line_comments_removed(&decode("1 union# select 1", Context::Form)), None);
        assert_eq!(line_comments_removed(&decode("a-b%0ac", Context::Form)), None);
        for benign in [
            "Item #3%0aQty 2",
            "Great product!%0a-- Bob%0aThanks",
            "see #notes%0aand -- below%0afor details",
            "## Heading%0a%0aSome text, 5-6 lines",
        ] {
            assert!(!breaks_out_by_lines(benign), "{benign}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_lines_are_read_without_panicking(raw in "[#\\-a-zé' \n\r]{0,60}") {
            let decoded = decode(&raw, Context::Other);
            if let Some(text) = line_comments_removed(&decoded) {
                proptest::prop_assert!(text.len() < decoded.text.len());
            }
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
            // Appended to a number the query has; a backticked identifier
            // or a `like '%…'` pattern closed; conditions of every kind.
            " or 1=1",
            "or 1=1#",
            " OR x=x-- ",
            "' or a=a--",
            "' and a='a",
            "' or username like '%",
            "-3235 or not 3235=9001",
            "3865 And isnull(null);--",
            "3799` and sleep(1)/*",
            "4710 And 'test'='test'--",
            "item%' and 'item'='itemz'--",
            "5003` or (select user())=5003",
            "item\" AND exists(select * from information_schema.tables)/*",
            "4147` && 4147 in (4147,8032)",
            "2744` or 2744 rlike 2744/*",
            "8004`; drop table users",
            "-2862; drop table users",
            "1756)); drop table users/*",
            "3848` and 3848 between 3848 and 3923#",
            "7275 and(1=1)--",
            "1202 and 1=@@version",
            "178 or 1=@@version--",
            "626` union all select null",
            // The operator glued to the quote that closed the string.
            "aa%27or+column%21%3D%271",
            "'or userid <> 2",
            "asd\"or@1=\"@1",
            "x'and(1=1)--",
            // Clauses appended to the query.
            " ORDER BY 1 ",
            "4309 order by 4309",
            "x' order by 3--",
            "1 order by ifnull(null,userid)",
            "4091 group by 4091",
            " HAVING 1=1",
            "6381 having 6381=6381;",
            "9565 limit 9565",
            "1 limit 1,1--",
            "2934 procedure analyse();--",
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
            "or else=nothing",
            "and more",
            "order by phone",
            "order by 5pm",
            "limit 5",
            "top 10 having fun",
            "page 2 limit 10 results",
            "2 or more (see list)",
            "1 and isnull",
            "x' or y",
            "o'reilly or o'brien=1",
            "it's 5 and 5=10",
            "100% and 2=2 more",
            "5 or 6 = 11 things",
            "sort by price or name=asc",
            "12 and 1/2",
            "1 or 2 between meals",
            "-2; drop the kids off",
            "1 or 2=@bob",
            "2 and(more)",
            "\"or\"",
            "'and'",
            "\"and\" vs \"or\"",
            "rock'or roll",
            "o'reilly'or smith",
            "don't or won't",
            "",
        ] {
            assert!(!breaks_out(text), "{text}");
        }
    }
}
