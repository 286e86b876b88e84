//! Conditions on event fields: the YAML form, its compilation, and matching.
//!
//! A leaf names a `field` and exactly one operator; `all`, `any` and `not`
//! combine leaves. The YAML form is one flat struct so serde reports unknown
//! keys precisely; `compile` then checks the shape and builds a tree that
//! matches without allocating for the common operators.

use std::net::IpAddr;

use ipnet::IpNet;
use rampart_core::{Event, FieldValue};
use rampart_ml::payload::{PayloadClass, gate, target_values};
use regex::{Regex, RegexBuilder};
use serde::Deserialize;

/// A condition as written in a rule file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConditionSpec {
    all: Option<Vec<ConditionSpec>>,
    any: Option<Vec<ConditionSpec>>,
    not: Option<Box<ConditionSpec>>,
    field: Option<String>,
    equals: Option<Scalar>,
    #[serde(rename = "in")]
    one_of: Option<Vec<Scalar>>,
    contains: Option<String>,
    starts_with: Option<String>,
    ends_with: Option<String>,
    regex: Option<String>,
    /// Any of these phrases; an entry `@name` brings in a shipped list
    /// (`rules/data/name.txt`).
    contains_any: Option<OneOrMany>,
    cidr: Option<OneOrMany>,
    gt: Option<f64>,
    gte: Option<f64>,
    lt: Option<f64>,
    lte: Option<f64>,
    exists: Option<bool>,
    /// The field is a request target (`/path?query`) and one of its values
    /// is judged an attack of these classes (`any`, or `sqli`, `xss`,
    /// `traversal`, `command_injection`) by the shipped payload classifier.
    payload: Option<OneOrMany>,
    /// The event matched one of these rules' conditions (by id): a scenario
    /// counts other rules' findings instead of repeating their tests.
    matched: Option<OneOrMany>,
    /// Compare text case-insensitively (equals, in, contains, starts/ends_with, regex).
    #[serde(default)]
    case_insensitive: bool,
    /// Percent-decode the value (twice, as attackers double-encode) before text tests.
    #[serde(default)]
    url_decode: bool,
}

impl ConditionSpec {
    /// The condition in words, as the console's rule list shows it:
    /// `event.action = "ssh_login" and event.outcome = "failure"`.
    pub(crate) fn describe(&self) -> String {
        let join = |parts: &[ConditionSpec], word: &str| {
            let inner: Vec<String> = parts.iter().map(|p| p.describe()).collect();
            if inner.len() == 1 { inner[0].clone() } else { format!("({})", inner.join(&format!(" {word} "))) }
        };
        if let Some(all) = &self.all {
            return join(all, "and");
        }
        if let Some(any) = &self.any {
            return join(any, "or");
        }
        if let Some(not) = &self.not {
            return format!("not {}", not.describe());
        }
        let field = self.field.as_deref().unwrap_or("?");
        let many = |m: &OneOrMany| match m {
            OneOrMany::One(one) => format!("{one:?}"),
            OneOrMany::Many(list) => format!("{list:?}"),
        };
        let test = if let Some(v) = &self.equals {
            format!("= {}", v.describe())
        } else if let Some(list) = &self.one_of {
            format!("in [{}]", list.iter().map(Scalar::describe).collect::<Vec<_>>().join(", "))
        } else if let Some(t) = &self.contains {
            format!("contains {t:?}")
        } else if let Some(t) = &self.starts_with {
            format!("starts with {t:?}")
        } else if let Some(t) = &self.ends_with {
            format!("ends with {t:?}")
        } else if let Some(t) = &self.regex {
            format!("matches /{t}/")
        } else if let Some(m) = &self.contains_any {
            format!("contains any of {}", many(m))
        } else if let Some(m) = &self.cidr {
            format!("in {}", many(m))
        } else if let Some(m) = &self.payload {
            format!("carries a payload judged {}", many(m))
        } else if let Some(m) = &self.matched {
            return format!("matched rule {}", many(m));
        } else if let Some(e) = self.exists {
            (if e { "exists" } else { "is absent" }).to_owned()
        } else {
            [("gt", ">", self.gt), ("gte", "≥", self.gte), ("lt", "<", self.lt), ("lte", "≤", self.lte)]
                .iter()
                .filter_map(|(_, sign, v)| v.map(|v| format!("{sign} {v}")))
                .collect::<Vec<_>>()
                .join(" and ")
        };
        let mut flags = Vec::new();
        if self.case_insensitive {
            flags.push("any case");
        }
        if self.url_decode {
            flags.push("URL-decoded");
        }
        let flags = if flags.is_empty() { String::new() } else { format!(" ({})", flags.join(", ")) };
        format!("{field} {test}{flags}")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
}

impl Scalar {
    fn describe(&self) -> String {
        match self {
            Scalar::Text(t) => format!("{t:?}"),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }

    fn into_text(self) -> String {
        match self {
            Scalar::Text(s) => s,
            Scalar::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => format!("{}", n as i64),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub(crate) enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Leaf {
        field: String,
        test: Test,
        url_decode: bool,
    },
    /// The event matched one of these rules (see `ConditionSpec::matched`).
    Matched(Vec<String>),
}

#[derive(Debug, Clone)]
pub(crate) enum Test {
    Equals(String),
    EqualsFold(String),
    In(Vec<String>),
    InFold(Vec<String>),
    Contains(String),
    ContainsFold(String),
    StartsWith(String, bool),
    EndsWith(String, bool),
    Regex(Regex),
    ContainsAny(aho_corasick::AhoCorasick),
    Cidr(Vec<IpNet>),
    Compare(Compare, f64),
    Exists(bool),
    Payload(Vec<PayloadClass>),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Compare {
    Gt,
    Gte,
    Lt,
    Lte,
}

/// Where compilation failed: the dotted path of the key and why.
pub(crate) type CompileError = (String, String);

impl ConditionSpec {
    pub(crate) fn compile(self, path: &str) -> Result<Condition, CompileError> {
        let err = |key: &str, reason: String| Err((join(path, key), reason));
        let groups = [self.all.is_some(), self.any.is_some(), self.not.is_some()].iter().filter(|b| **b).count();
        let ops = [
            self.equals.is_some(),
            self.one_of.is_some(),
            self.contains.is_some(),
            self.starts_with.is_some(),
            self.ends_with.is_some(),
            self.regex.is_some(),
            self.contains_any.is_some(),
            self.cidr.is_some(),
            self.gt.is_some(),
            self.gte.is_some(),
            self.lt.is_some(),
            self.lte.is_some(),
            self.exists.is_some(),
            self.payload.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if groups + usize::from(self.field.is_some()) + usize::from(self.matched.is_some()) != 1 {
            return err("", "a condition is exactly one of: all, any, not, matched, or a field test".into());
        }
        if let Some(items) = self.all {
            return compile_list(items, &join(path, "all")).map(Condition::All);
        }
        if let Some(items) = self.any {
            return compile_list(items, &join(path, "any")).map(Condition::Any);
        }
        if let Some(inner) = self.not {
            return Ok(Condition::Not(Box::new(inner.compile(&join(path, "not"))?)));
        }
        if let Some(ids) = self.matched {
            let ids = match ids {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            if ids.is_empty() || ops > 0 || self.case_insensitive || self.url_decode {
                return err("matched", "lists one or more rule ids and takes no operator".into());
            }
            return Ok(Condition::Matched(ids));
        }
        let Some(field) = self.field else {
            return err("field", "missing".into());
        };
        if ops != 1 {
            return err(
                "field",
                format!(
                    "`{field}` needs exactly one operator (equals, in, contains, starts_with, ends_with, regex, cidr, gt, gte, lt, lte, exists, payload); found {ops}"
                ),
            );
        }
        let fold = self.case_insensitive;
        let test = if let Some(v) = self.equals {
            let v = v.into_text();
            if fold { Test::EqualsFold(v.to_lowercase()) } else { Test::Equals(v) }
        } else if let Some(vs) = self.one_of {
            let vs: Vec<String> = vs.into_iter().map(Scalar::into_text).collect();
            if fold { Test::InFold(vs.iter().map(|v| v.to_lowercase()).collect()) } else { Test::In(vs) }
        } else if let Some(v) = self.contains {
            if fold { Test::ContainsFold(v.to_lowercase()) } else { Test::Contains(v) }
        } else if let Some(v) = self.starts_with {
            Test::StartsWith(if fold { v.to_lowercase() } else { v }, fold)
        } else if let Some(v) = self.ends_with {
            Test::EndsWith(if fold { v.to_lowercase() } else { v }, fold)
        } else if let Some(pattern) = self.regex {
            let re = RegexBuilder::new(&pattern)
                .case_insensitive(fold)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| (join(path, "regex"), format!("invalid regex: {e}")))?;
            Test::Regex(re)
        } else if let Some(phrases) = self.contains_any {
            let entries = match phrases {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            let mut all = Vec::new();
            for entry in entries {
                match entry.strip_prefix('@') {
                    Some(name) => all.extend(crate::builtin::phrase_list(name).ok_or_else(|| {
                        (
                            join(path, "contains_any"),
                            format!(
                                "unknown phrase list @{name}; shipped lists: {}",
                                crate::builtin::phrase_list_names().join(", ")
                            ),
                        )
                    })?),
                    None => all.push(entry),
                }
            }
            if all.is_empty() {
                return err("contains_any", "needs at least one phrase".into());
            }
            let matcher = aho_corasick::AhoCorasick::builder()
                .ascii_case_insensitive(fold)
                .build(&all)
                .map_err(|e| (join(path, "contains_any"), format!("cannot build matcher: {e}")))?;
            Test::ContainsAny(matcher)
        } else if let Some(nets) = self.cidr {
            let texts = match nets {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            let mut parsed = Vec::with_capacity(texts.len());
            for t in texts {
                let net = t
                    .parse::<IpNet>()
                    .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| (join(path, "cidr"), format!("invalid CIDR {t:?}")))?;
                parsed.push(net);
            }
            Test::Cidr(parsed)
        } else if let Some(n) = self.gt {
            Test::Compare(Compare::Gt, n)
        } else if let Some(n) = self.gte {
            Test::Compare(Compare::Gte, n)
        } else if let Some(n) = self.lt {
            Test::Compare(Compare::Lt, n)
        } else if let Some(n) = self.lte {
            Test::Compare(Compare::Lte, n)
        } else if let Some(b) = self.exists {
            Test::Exists(b)
        } else if let Some(classes) = self.payload {
            let names = match classes {
                OneOrMany::One(s) => vec![s],
                OneOrMany::Many(v) => v,
            };
            let mut wanted = Vec::new();
            for name in names {
                match name.as_str() {
                    "any" => wanted.extend(PayloadClass::ALL.iter().skip(1)),
                    other => wanted.push(
                        PayloadClass::ALL.iter().skip(1).copied().find(|c| c.name() == other).ok_or_else(|| {
                            (
                                join(path, "payload"),
                                format!("unknown class {other:?}: any, sqli, xss, traversal or command_injection"),
                            )
                        })?,
                    ),
                }
            }
            Test::Payload(wanted)
        } else {
            return err("field", "no operator".into());
        };
        Ok(Condition::Leaf { field, test, url_decode: self.url_decode })
    }
}

fn compile_list(items: Vec<ConditionSpec>, path: &str) -> Result<Vec<Condition>, CompileError> {
    if items.is_empty() {
        return Err((path.to_owned(), "must list at least one condition".into()));
    }
    items.into_iter().enumerate().map(|(i, c)| c.compile(&format!("{path}[{i}]"))).collect()
}

fn join(path: &str, key: &str) -> String {
    match (path.is_empty(), key.is_empty()) {
        (_, true) => path.to_owned(),
        (true, false) => key.to_owned(),
        (false, false) => format!("{path}.{key}"),
    }
}

impl Condition {
    /// Whether `event` matches; `matched` holds the ids of the rules this
    /// event already matched (the engine tests rules with `matched` leaves last).
    pub(crate) fn matches(&self, event: &Event, matched: &[&str]) -> bool {
        match self {
            Condition::All(items) => items.iter().all(|c| c.matches(event, matched)),
            Condition::Any(items) => items.iter().any(|c| c.matches(event, matched)),
            Condition::Not(inner) => !inner.matches(event, matched),
            Condition::Matched(ids) => ids.iter().any(|id| matched.contains(&id.as_str())),
            Condition::Leaf { field, test, url_decode } => {
                let value = event.field(field);
                if let Test::Exists(want) = test {
                    return value.is_some() == *want;
                }
                if *url_decode {
                    let Some(text) = value.as_ref().and_then(|v| v.to_text()) else { return false };
                    let decoded = percent_decode_twice(&text);
                    return test.matches(&FieldValue::Str(&decoded));
                }
                match value {
                    None => false,
                    // A multi-valued field matches when any of its values does.
                    Some(FieldValue::List(items)) => items.iter().any(|item| test.matches(&FieldValue::Str(item))),
                    Some(v) => test.matches(&v),
                }
            }
        }
    }

    /// The rule ids its `matched` leaves name.
    pub(crate) fn refers_to(&self) -> Vec<&str> {
        match self {
            Condition::All(items) | Condition::Any(items) => items.iter().flat_map(Condition::refers_to).collect(),
            Condition::Not(inner) => inner.refers_to(),
            Condition::Matched(ids) => ids.iter().map(String::as_str).collect(),
            Condition::Leaf { .. } => Vec::new(),
        }
    }
}

impl Test {
    fn matches(&self, value: &FieldValue<'_>) -> bool {
        match self {
            Test::Cidr(nets) => {
                let ip = match value {
                    FieldValue::Ip(ip) => Some(*ip),
                    other => other.to_text().and_then(|t| t.parse::<IpAddr>().ok()),
                };
                ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
            }
            Test::Compare(op, rhs) => value.to_number().is_some_and(|lhs| match op {
                Compare::Gt => lhs > *rhs,
                Compare::Gte => lhs >= *rhs,
                Compare::Lt => lhs < *rhs,
                Compare::Lte => lhs <= *rhs,
            }),
            Test::Exists(_) => true,
            Test::Payload(classes) => value.to_text().is_some_and(|target| {
                let scorer = crate::payload::scorer();
                // Most URL values are plain words and numbers: no decoding, no allocation for those.
                target_values(&target)
                    .filter(|(_, raw, _)| !gate::inert(raw))
                    .any(|(_, raw, context)| classes.contains(&scorer.judge(raw, context).class))
            }),
            text_test => {
                let Some(text) = value.to_text() else { return false };
                match text_test {
                    Test::Equals(v) => *text == **v,
                    Test::EqualsFold(v) => text.to_lowercase() == *v,
                    Test::In(vs) => vs.iter().any(|v| *v == *text),
                    Test::InFold(vs) => {
                        let lower = text.to_lowercase();
                        vs.contains(&lower)
                    }
                    Test::Contains(v) => text.contains(v.as_str()),
                    Test::ContainsFold(v) => text.to_lowercase().contains(v.as_str()),
                    Test::StartsWith(v, fold) => {
                        if *fold {
                            text.to_lowercase().starts_with(v.as_str())
                        } else {
                            text.starts_with(v.as_str())
                        }
                    }
                    Test::EndsWith(v, fold) => {
                        if *fold {
                            text.to_lowercase().ends_with(v.as_str())
                        } else {
                            text.ends_with(v.as_str())
                        }
                    }
                    Test::Regex(re) => re.is_match(&text),
                    Test::ContainsAny(ac) => ac.is_match(text.as_ref()),
                    Test::Cidr(_) | Test::Compare(..) | Test::Exists(_) | Test::Payload(_) => false,
                }
            }
        }
    }
}

/// `%XX` and `+` decoding, applied twice (double encoding is a classic
/// filter bypass). Invalid escapes stay as they are; bytes that are not
/// UTF-8 become U+FFFD. Text with nothing to decode (most URLs) is
/// returned as it is, without a copy: this runs per rule per request.
pub(crate) fn percent_decode_twice(text: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    // A byte scan: `str::contains` with a char set walks chars, several times slower.
    if !text.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(text);
    }
    let once = percent_decode(text);
    Cow::Owned(if once.contains('%') { percent_decode(&once) } else { once })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_handles_double_and_broken_escapes() {
        assert_eq!(percent_decode_twice("%2527%20OR%201%3D1"), "' OR 1=1");
        assert_eq!(percent_decode_twice("a+b%zz%"), "a b%zz%");
        assert_eq!(percent_decode_twice("%"), "%");
        assert_eq!(percent_decode_twice("%4"), "%4");
        assert_eq!(percent_decode_twice("%41"), "A");
        assert_eq!(percent_decode_twice("%ff%fe"), "\u{fffd}\u{fffd}");
    }
}
