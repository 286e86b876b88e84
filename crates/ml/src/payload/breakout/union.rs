//! The union probe: a value that extends the query's result with the
//! attacker's own `union select`. Read after a head the query ends on
//! (nothing, a number, a closed string), and after any head when what
//! follows `select` can only be a query's select list.

use super::predicate::{self, Operand, number_literal};
use super::sql::{closes_string, word};

/// `-1321 union select 1 from users/*`, `x' union all select null--`,
/// `1) union(select …`, `union all select …`: nothing, a number or a
/// closed string (a comment after it allowed), then `union`
/// [`all`|`distinct`] `select` — the query's result extended with the
/// attacker's. The forest called a third of libinjection's such values
/// benign (the Kaggle statements it learns as benign have `UNION SELECT`
/// too, after a `SELECT`); `credit union select card` starts with a word.
pub(super) fn union_probe(text: &str) -> bool {
    after_a_literal(text) || after_any_head(text)
}

fn after_a_literal(text: &str) -> bool {
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
    let Some(list) = select_list_of(&text[at + "union".len()..]) else { return false };
    // A literal the query ends on is evidence enough; with nothing before
    // (or only a comment) the select list must read as SQL: `union select
    // committee` is a phrase.
    (literal_head && comment.is_none()) || select_list(list)
}

/// What follows `select` reads as a select list: a number, `*`, `@@…`, a
/// parenthesis or quote, `null`, or a word followed by `,`, `(` or `from`.
pub(super) fn select_list(after: &str) -> bool {
    if after.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '*' | '@' | '(' | '\'' | '"' | '-')) {
        return true;
    }
    let (object, beyond) = word(after);
    if matches!(object, "distinct" | "all") {
        return select_list(beyond);
    }
    !object.is_empty() && (object == "null" || beyond.starts_with([',', '(']) || word(beyond).0 == "from")
}

/// `xxx union (select id from users limit 1,1)`, `_latin1'foo' union
/// select * from foo`, `1::real union select 1,2 from t`, `@version-'1'
/// union select 1,2,3,4 from credit_cards`: whatever precedes `union` —
/// another dialect's literal, an expression, a column's name — when what
/// follows `select` can only be a query's: a list of several items, or
/// one item only SQL writes (a number, `null`, `*`, `@x`, a string, a
/// call), then the end of the value or of a query (a comment, `)`, `;`,
/// `limit`, `where` …); or any list, then `from` a table and such an end.
/// Not when the value has a `select` of its own before the `union`: a
/// whole statement sent as a value is what Kaggle labels benign. Words
/// stay words: `credit union select card`, `union select 2 cards`, `the
/// union select members from each chapter`.
fn after_any_head(text: &str) -> bool {
    let own_select = first_word(text, "select").unwrap_or(text.len());
    text.match_indices("union").take_while(|&(at, _)| at < own_select).any(|(at, _)| {
        !text[..at].ends_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && select_list_of(&text[at + "union".len()..]).is_some_and(only_a_query_has)
    })
}

/// What follows `[all|distinct] [(] select [distinct]` at the front of
/// `rest` (the text after `union`), if that is how it goes on.
fn select_list_of(rest: &str) -> Option<&str> {
    let mut rest = rest.trim_start_matches([' ', '(']);
    for quantifier in ["all", "distinct"] {
        if let Some(after) = rest.strip_prefix(quantifier).filter(|a| a.starts_with([' ', '('])) {
            rest = after.trim_start_matches([' ', '(']);
        }
    }
    let after = rest.strip_prefix("select")?;
    if after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    let after = after.trim_start();
    Some(after.strip_prefix("distinct ").unwrap_or(after).trim_start())
}

/// Whether `list` (what follows `select`) is a select list ending as a
/// query ends, strong enough that no sentence reads so.
fn only_a_query_has(list: &str) -> bool {
    let (mut rest, mut items, mut sql_only) = (list, 0, false);
    loop {
        let Some((only_sql, after)) = list_item(rest) else { return false };
        items += 1;
        sql_only |= only_sql;
        match after.strip_prefix(',') {
            Some(next) => rest = next.trim_start(),
            None => {
                rest = after;
                break;
            }
        }
    }
    if let Some(table) = rest.strip_prefix("from ") {
        let table = table.trim_start();
        let end = table
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '`' | '$')))
            .unwrap_or(table.len());
        return end > 0 && query_ends(table[end..].trim_start());
    }
    (items >= 2 || sql_only) && query_ends(rest)
}

/// One item of a select list at the front of `text`: whether only SQL
/// writes it (anything but a bare name), and what follows it.
fn list_item(text: &str) -> Option<(bool, &str)> {
    let text = text.trim_start_matches(['-', '+']);
    if let Some(rest) = text.strip_prefix('*') {
        return Some((true, rest.trim_start()));
    }
    match predicate::operand(text) {
        Some((Operand::Word(name), rest)) => {
            if rest.starts_with('(') {
                // A call of a function the condition reader does not list.
                return Some((true, predicate::after_parenthesis(rest)?));
            }
            // `users.id`: a qualified name.
            let rest = match rest.strip_prefix('.') {
                Some(column) => word(column).1,
                None => rest,
            };
            Some((name == "null" || name.starts_with('@'), rest))
        }
        Some((_, rest)) => Some((true, rest)),
        None => None,
    }
}

/// The end of the value, or of a query: a comment, `)`, `;`, or the next clause.
fn query_ends(rest: &str) -> bool {
    rest.is_empty()
        || ["--", "#", "/*", ")", ";"].iter().any(|end| rest.starts_with(end))
        || matches!(word(rest).0, "limit" | "where" | "order" | "group" | "having" | "into" | "union" | "procedure")
}

/// Where `name` first stands as a word of its own in `text`.
fn first_word(text: &str, name: &str) -> Option<usize> {
    text.match_indices(name).map(|(at, _)| at).find(|&at| {
        let before = text[..at].chars().next_back();
        let after = text[at + name.len()..].chars().next();
        ![before, after].into_iter().flatten().any(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::{Context, decode};

    fn probes(raw: &str) -> bool {
        union_probe(decode(raw, Context::Form).text.trim())
    }

    #[test]
    fn a_query_list_after_any_head_is_a_union_probe() {
        for attack in [
            "xxx union (select id from users limit 1,1)",
            "a%0D%0A%20union%20%28select%20id%20from%20users%20limit%201%2C1%29",
            "_latin1'foo' union select * from foo",
            "u&'pgsql evade' union select * from foo",
            "$$pgsql evade$$ union select * from foo",
            "1::REAL union select * from foo",
            "b'1' UNION SELECT 1",
            "@version-'1' union select 1,2,3,4 from credit_cards",
            "1001-\\N union select 1,ccnumber,3,4 from credit_cards",
            "1001 or 'foo' union select 1,2,3,4 from credit_cards",
            "'-@a1 union select us3rs from table1",
            "null union select 1,2,concat(username,0x3a,password) from j",
            "s_6222 union select 1,username,password from users-- ",
            "8-999.9+union+select+0",
            "1e0UNION SELECT 2",
            "users.id union select a.b, c from t where 1",
        ] {
            assert!(probes(attack), "{attack}");
        }
    }

    #[test]
    fn words_and_statements_are_not() {
        for text in [
            "credit union select card",
            "european union select 2 cards",
            "the union select members from each chapter",
            "union select committee",
            "credit union select 'premium' card",
            "student union selects 1 rep",
            "reunion select 1",
            "union members select 2, 3 or 4 days",
            // A statement of its own, as Kaggle's benign rows are.
            "SELECT brave FROM tongue UNION ALL SELECT ought FROM business ORDER BY specific",
            "select a from b where c = 'd' union select e, f from g",
            "",
        ] {
            assert!(!probes(text), "{text}");
        }
    }

    proptest::proptest! {
        /// Any text around a `union select`, multibyte included, is read without panicking.
        #[test]
        fn any_text_is_read_without_panicking(head in "[0-9a-z'\"@(),.*_é -]{0,20}", tail in "[0-9a-z'\"@(),.*;#_é -]{0,30}") {
            let _ = union_probe(&format!("{head}union select {tail}"));
        }
    }
}
