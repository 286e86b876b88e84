//! `sql-grammar`: SQL injections composed from how a probe is built rather
//! than read from a list — a way out of the value's context (a number, a
//! closed quote or parenthesis), a condition or statement, and a way to
//! make the rest of the query parse (a comment, or a clause that reopens
//! what the original query closes). This is how scanners such as sqlmap
//! build their boolean, time, stacked, ordering and union probes
//! (`1 AND 3798=3798`, `x') OR ('a'='a`, `1;SELECT SLEEP(5)#`).
//!
//! The public lists have few bare probes: their numeric-context rows go on
//! to a UNION, so a model trained on them alone called `1 or 1=1` benign.
//! A source of its own, so leave-one-source-out measures what it adds.

use rampart_core::rng::SplitMix64;
use rampart_ml::payload::{Context, PayloadClass};

use super::corpus::Sample;
use super::generated::Draw;

/// How the value leaves its context, and how the tail closes it again.
const BOUNDARIES: &[(&str, &str)] = &[
    ("{n}", ""),
    ("{n}", ""),
    ("-{n}", ""),
    ("{n})", " and ({n}={n}"),
    ("{n}))", " and (({n}={n}"),
    ("{w}'", ""),
    ("{w}'", " and '{w}'='{w}"),
    ("{w}')", " and ('{w}'='{w}"),
    ("{w}\"", ""),
    ("{w}\"", " and \"{w}\"=\"{w}"),
    ("'", ""),
    ("')", " and ('{w}'='{w}"),
    ("{w}%'", " and '%'='"),
    ("{n}`", ""),
];

/// Conditions a boolean or time probe asks.
const CONDITIONS: &[&str] = &[
    "{n}={n}",
    "{n}={m}",
    "{n}>{m}",
    "{n}<{m}",
    "'{w}'='{w}'",
    "'{w}'='{v}'",
    "{n} between {n} and {m}",
    "{n} like {n}",
    "{n} rlike {n}",
    "{n} in ({n},{m})",
    "not {n}={m}",
    "({select})={n}",
    "ascii(substr(({select}),{n},1))>{m}",
    "length(database())>{n}",
    "sleep({s})",
    "{n}=(select {n} from pg_sleep({s}))",
    "{n}=like('abcdefg',upper(hex(randomblob({big}))))",
    "exists(select * from information_schema.tables)",
    "isnull(null)",
    "{n}={n} and sleep({s})",
];

/// Sub-queries the conditions use.
const SELECTS: &[&str] = &[
    "select {n}",
    "select count(*) from users",
    "select user()",
    "select version()",
    "select table_name from information_schema.tables limit 1",
    "select password from users where id={n}",
    "select sqlite_version()",
];

/// Whole statements or clauses after the boundary (stacked, ordering, union).
const CLAUSES: &[&str] = &[
    "; select sleep({s})",
    "; waitfor delay '0:0:{s}'",
    "; select pg_sleep({s})",
    "; drop table users",
    " order by {n}",
    " group by {n}",
    " union all select null",
    " union select null,null,null",
    " union all select {n},{n}",
    " procedure analyse()",
    " having {n}={n}",
    " limit {n}",
];

const LOGIC: &[&str] = &["and", "or", "AND", "OR", "And", "&&", "||", "xor"];
const COMMENTS: &[&str] = &["", "", "", " -- ", "--", "#", "/*", " -- -", ";--", ";%00"];
const WORDS: &[&str] = &["a", "x", "abc", "test", "admin", "item", "qzvx", "1a"];

/// `count` probes, seeded.
pub fn probes(count: usize, seed: u64) -> Vec<Sample> {
    let mut draw = Draw(SplitMix64::new(seed));
    (0..count)
        .map(|_| {
            let (open, close) = BOUNDARIES[draw.below(BOUNDARIES.len())];
            let body = if draw.chance(0.7) {
                format!(" {} {}", draw.pick(LOGIC), draw.pick(CONDITIONS))
            } else {
                draw.pick(CLAUSES).to_owned()
            };
            // A comment ends the query, so the reopening tail is not needed with one.
            let comment = draw.pick(COMMENTS);
            let tail = if comment.is_empty() { close } else { "" };
            let mut value = format!("{open}{body}{tail}{comment}").replace("{select}", draw.pick(SELECTS));
            for (mark, text) in [
                ("{n}", (1 + draw.below(9999)).to_string()),
                ("{m}", (1 + draw.below(9999)).to_string()),
                ("{s}", (1 + draw.below(9)).to_string()),
                ("{big}", (100_000_000 + draw.below(400_000_000)).to_string()),
                ("{w}", draw.pick(WORDS).to_owned()),
                ("{v}", draw.pick(WORDS).to_owned() + "z"),
            ] {
                value = value.replace(mark, &text);
            }
            // Spaces as scanners write them: plain, as comments, or as other whitespace.
            value = match draw.below(6) {
                0 => value.replace(' ', "/**/"),
                1 => value.replace(' ', "\t"),
                _ => value,
            };
            Sample { value, class: PayloadClass::Sqli, source: "sql-grammar", context: Context::Other }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_seeded_sqli_with_every_placeholder_filled() {
        let a = probes(500, 7);
        assert_eq!(a, probes(500, 7));
        assert!(a.iter().all(|s| s.class == PayloadClass::Sqli && !s.value.contains('{')), "{a:?}");
        assert!(a.iter().any(|s| s.value.starts_with(|c: char| c.is_ascii_digit()) && s.value.contains(" and ")));
        assert!(a.iter().any(|s| s.value.contains("/**/")));
    }
}
