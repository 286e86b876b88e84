//! One Sigma field test (`field|modifier…: value or list`) as a Rampart
//! condition. Sigma compares text case-insensitively unless `|cased`, and
//! its `*` and `?` wildcards become `contains`/`starts_with`/`ends_with`
//! where they only sit at the ends, an anchored regex otherwise.

use serde_yaml_ng::{Mapping, Value};

/// Builds a Rampart condition mapping from `(key, value)` pairs.
pub(crate) fn node(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(k.into(), v);
    }
    Value::Mapping(m)
}

pub(crate) fn any(parts: Vec<Value>) -> Value {
    if parts.len() == 1 { parts.into_iter().next().expect("one") } else { node(vec![("any", Value::Sequence(parts))]) }
}

pub(crate) fn all(parts: Vec<Value>) -> Value {
    if parts.len() == 1 { parts.into_iter().next().expect("one") } else { node(vec![("all", Value::Sequence(parts))]) }
}

/// How the values of one field test compare.
#[derive(Debug, Default)]
pub(crate) struct Modifiers {
    position: Option<&'static str>,
    regex: bool,
    regex_flags: String,
    cidr: bool,
    all: bool,
    cased: bool,
    exists: bool,
    compare: Option<&'static str>,
}

impl Modifiers {
    pub(crate) fn parse(names: &[&str]) -> Result<Modifiers, String> {
        let mut m = Modifiers::default();
        for name in names {
            match *name {
                "contains" => m.position = Some("contains"),
                "startswith" => m.position = Some("startswith"),
                "endswith" => m.position = Some("endswith"),
                "re" => m.regex = true,
                "i" | "m" | "s" if m.regex => m.regex_flags.push_str(name),
                "cidr" => m.cidr = true,
                "all" => m.all = true,
                "cased" => m.cased = true,
                "exists" => m.exists = true,
                "gt" => m.compare = Some("gt"),
                "gte" => m.compare = Some("gte"),
                "lt" => m.compare = Some("lt"),
                "lte" => m.compare = Some("lte"),
                other => return Err(format!("modifier |{other}")),
            }
        }
        Ok(m)
    }
}

/// `field` tested against `value` (one value or a list) under `mods`.
pub(crate) fn field_test(field: &str, mods: &Modifiers, value: &Value) -> Result<Value, String> {
    let values: Vec<&Value> = match value {
        Value::Sequence(list) if list.is_empty() => return Err(format!("empty value list for {field}")),
        Value::Sequence(list) => list.iter().collect(),
        one => vec![one],
    };
    let tests = values.into_iter().map(|v| one_test(field, mods, v)).collect::<Result<Vec<_>, _>>()?;
    Ok(if mods.all { all(tests) } else { any(tests) })
}

fn one_test(field: &str, mods: &Modifiers, value: &Value) -> Result<Value, String> {
    let f = || ("field", Value::from(field));
    if mods.exists {
        let wanted = value.as_bool().ok_or_else(|| format!("|exists on {field} needs true or false"))?;
        return Ok(node(vec![f(), ("exists", wanted.into())]));
    }
    if let Some(op) = mods.compare {
        let n = value.as_f64().ok_or_else(|| format!("|{op} on {field} needs a number"))?;
        return Ok(node(vec![f(), (op, n.into())]));
    }
    let text = match value {
        Value::Null => return Ok(node(vec![f(), ("exists", false.into())])),
        Value::Number(n) if mods.position.is_none() && !mods.regex => {
            return Ok(node(vec![f(), ("equals", Value::Number(n.clone()))]));
        }
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(format!("value {other:?} for {field}")),
    };
    if mods.cidr {
        return Ok(node(vec![f(), ("cidr", text.into())]));
    }
    if mods.regex {
        let inline: String = mods.regex_flags.chars().filter(|c| *c == 'm' || *c == 's').collect();
        let pattern = if inline.is_empty() { text } else { format!("(?{inline}){text}") };
        let mut pairs = vec![f(), ("regex", Value::from(pattern))];
        if mods.regex_flags.contains('i') {
            pairs.push(("case_insensitive", true.into()));
        }
        return Ok(node(pairs));
    }
    Ok(wildcard_test(field, &text, mods.position, !mods.cased))
}

/// A Sigma string (with `*`, `?` and `\` escapes) under an optional
/// position modifier, as the simplest Rampart test that means the same.
pub(crate) fn wildcard_test(field: &str, text: &str, position: Option<&str>, case_insensitive: bool) -> Value {
    let mut pieces = parse_wildcards(text);
    if pieces.is_empty() && position.is_none() {
        // `field: ''` means the field is there and empty, not "anything".
        let mut pairs = vec![("field", Value::from(field)), ("equals", Value::from(""))];
        if case_insensitive {
            pairs.push(("case_insensitive", true.into()));
        }
        return node(pairs);
    }
    if matches!(position, Some("contains" | "endswith")) && pieces.first() != Some(&Piece::Star) {
        pieces.insert(0, Piece::Star);
    }
    if matches!(position, Some("contains" | "startswith")) && pieces.last() != Some(&Piece::Star) {
        pieces.push(Piece::Star);
    }
    let starts = pieces.first() == Some(&Piece::Star);
    let ends = pieces.len() > 1 && pieces.last() == Some(&Piece::Star);
    let core = &pieces[usize::from(starts)..pieces.len() - usize::from(ends)];
    let mut pairs = vec![("field", Value::from(field))];
    match core {
        [] => {
            return node(vec![("field", Value::from(field)), ("exists", true.into())]);
        }
        [Piece::Text(literal)] => {
            let op = match (starts, ends) {
                (true, true) => "contains",
                (false, true) => "starts_with",
                (true, false) => "ends_with",
                (false, false) => "equals",
            };
            pairs.push((op, Value::from(literal.as_str())));
        }
        _ => {
            let mut regex = String::from("(?s)^");
            for piece in &pieces {
                match piece {
                    Piece::Star => regex.push_str(".*"),
                    Piece::One => regex.push('.'),
                    Piece::Text(t) => regex.push_str(&regex::escape(t)),
                }
            }
            regex.push('$');
            pairs.push(("regex", Value::from(regex)));
        }
    }
    if case_insensitive {
        pairs.push(("case_insensitive", true.into()));
    }
    node(pairs)
}

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Star,
    One,
}

/// Splits Sigma wildcard text: `*` any run, `?` one character, `\` escapes
/// the next wildcard or backslash (and stands for itself before anything else).
fn parse_wildcards(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => literal.push(chars.next().expect("peeked")),
            '*' | '?' => {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                let piece = if c == '*' { Piece::Star } else { Piece::One };
                if !(piece == Piece::Star && pieces.last() == Some(&Piece::Star)) {
                    pieces.push(piece);
                }
            }
            other => literal.push(other),
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(v: &Value) -> String {
        serde_yaml_ng::to_string(v).unwrap().replace('\n', " ").trim().to_owned()
    }

    #[test]
    fn wildcards_become_the_plainest_test() {
        let t = |text: &str, position| yaml(&wildcard_test("f", text, position, true));
        assert_eq!(t("x", None), "field: f equals: x case_insensitive: true");
        assert_eq!(t("*x*", None), "field: f contains: x case_insensitive: true");
        assert_eq!(t("x", Some("contains")), "field: f contains: x case_insensitive: true");
        assert_eq!(t("/x", Some("startswith")), "field: f starts_with: /x case_insensitive: true");
        assert_eq!(t("*.php", None), "field: f ends_with: .php case_insensitive: true");
        assert_eq!(t("a*b?", None), "field: f regex: (?s)^a.*b.$ case_insensitive: true");
        assert_eq!(t("a\\*b", Some("contains")), "field: f contains: a*b case_insensitive: true");
        assert_eq!(t("*", None), "field: f exists: true");
        assert_eq!(t("", None), "field: f equals: '' case_insensitive: true");
        assert_eq!(t("C:\\Windows", None), "field: f equals: C:\\Windows case_insensitive: true");
    }

    #[test]
    fn modifiers_map_or_are_named() {
        let mods = Modifiers::parse(&["contains", "all"]).unwrap();
        let v = field_test("url.original", &mods, &serde_yaml_ng::from_str("[a, b]").unwrap()).unwrap();
        assert!(yaml(&v).starts_with("all:"), "{}", yaml(&v));
        assert_eq!(Modifiers::parse(&["base64offset"]).unwrap_err(), "modifier |base64offset");
        let re = field_test("m", &Modifiers::parse(&["re", "i"]).unwrap(), &"^a+$".into()).unwrap();
        assert_eq!(yaml(&re), "field: m regex: ^a+$ case_insensitive: true");
        let null = field_test("m", &Modifiers::default(), &Value::Null).unwrap();
        assert_eq!(yaml(&null), "field: m exists: false");
        let status = field_test("s", &Modifiers::default(), &serde_yaml_ng::from_str("404").unwrap()).unwrap();
        assert_eq!(yaml(&status), "field: s equals: 404");
    }
}
