//! Sigma rules in: a Sigma YAML document converted to a Rampart rule.
//!
//! Selections (maps of field tests, lists of maps, keyword lists), the
//! field modifiers `contains`, `startswith`, `endswith`, `re`, `cidr`,
//! `all`, `exists`, `cased` and the numeric comparisons, and conditions with
//! `and`/`or`/`not`, parentheses and `1 of`/`all of` convert; the logsource
//! becomes a scope test (web events, or a Linux program's log lines) and
//! field names become ECS (`logsource`). Whatever does not convert is
//! reported with the rule, never dropped: a converted rule means what the
//! Sigma rule means on Rampart's events.

mod condition;
mod logsource;
mod values;

use serde_yaml_ng::{Mapping, Value};

use condition::Expr;
use logsource::Source;
use values::{Modifiers, all, any, field_test, node, wildcard_test};

/// A Sigma rule as a Rampart rule.
#[derive(Debug, Clone)]
pub struct Converted {
    pub id: String,
    pub title: String,
    /// The Rampart rule's YAML text.
    pub yaml: String,
}

/// Why a Sigma rule did not convert: its title (or id) and the reason.
#[derive(Debug, Clone)]
pub struct NotConverted {
    pub rule: String,
    pub reason: String,
}

/// The YAML documents of one file (a Sigma file may hold several).
pub fn documents(text: &str) -> Result<Vec<Value>, String> {
    use serde::Deserialize;
    serde_yaml_ng::Deserializer::from_str(text)
        .map(Value::deserialize)
        .filter(|d| !matches!(d, Ok(Value::Null)))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())
}

/// Whether a YAML document is a Sigma rule (it has `detection` and `logsource`).
pub fn is_sigma(doc: &Value) -> bool {
    doc.get("detection").is_some() && doc.get("logsource").is_some()
}

/// Converts one Sigma document.
pub fn convert(doc: &Value) -> Result<Converted, NotConverted> {
    let title = doc.get("title").and_then(Value::as_str).unwrap_or("untitled").to_owned();
    let fail = |reason: String| NotConverted { rule: title.clone(), reason };
    let sigma_id = match doc.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(fail("no `id` (Sigma rules carry a UUID; converted rules are named by it)".into())),
    };
    let id =
        format!("sigma-{}", sigma_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect::<String>());
    let logsource = doc.get("logsource").and_then(Value::as_mapping).ok_or_else(|| fail("no `logsource`".into()))?;
    let source = Source::from_logsource(logsource).map_err(&fail)?;
    let detection = doc.get("detection").and_then(Value::as_mapping).ok_or_else(|| fail("no `detection`".into()))?;
    if detection.contains_key("timeframe") {
        return Err(fail("`timeframe` (a correlation; not converted)".into()));
    }
    let condition = detection_condition(detection, source).map_err(&fail)?;

    let level = doc.get("level").and_then(Value::as_str).unwrap_or("medium");
    let severity = match level {
        "informational" => "info",
        "low" | "medium" | "high" | "critical" => level,
        other => return Err(fail(format!("level {other:?}"))),
    };
    let tags: Vec<&str> =
        doc.get("tags").and_then(Value::as_sequence).into_iter().flatten().filter_map(Value::as_str).collect();
    let technique = tags.iter().find_map(|t| {
        let t = t.strip_prefix("attack.t")?;
        t.chars().all(|c| c.is_ascii_digit() || c == '.').then(|| format!("T{t}"))
    });
    let mut rampart_tags = vec![Value::from("sigma")];
    rampart_tags.extend(
        tags.iter()
            .filter_map(|t| t.strip_prefix("attack."))
            .filter(|t| !t.starts_with('t') || !t[1..].starts_with(|c: char| c.is_ascii_digit()))
            .map(|t| Value::from(t.to_owned())),
    );
    if source == Source::Web {
        rampart_tags.push("web".into());
    }
    let description = doc.get("description").and_then(Value::as_str).unwrap_or("").trim();
    let author = doc.get("author").and_then(Value::as_str).unwrap_or("unknown");
    let mut rule = Mapping::new();
    rule.insert("id".into(), id.clone().into());
    rule.insert("title".into(), title.clone().into());
    rule.insert("description".into(), format!("{description} (Sigma rule {sigma_id} by {author})").trim().into());
    rule.insert("severity".into(), severity.into());
    if let Some(t) = technique {
        rule.insert("technique".into(), t.into());
    }
    rule.insert("tags".into(), Value::Sequence(rampart_tags));
    if source == Source::Web {
        rule.insert("entity".into(), "source.ip".into());
    }
    rule.insert("condition".into(), all(vec![source.scope(), condition]));
    let yaml = serde_yaml_ng::to_string(&Value::Mapping(rule)).map_err(|e| fail(e.to_string()))?;
    Ok(Converted { id, title, yaml })
}

/// The whole `detection` block as one Rampart condition.
fn detection_condition(detection: &Mapping, source: Source) -> Result<Value, String> {
    let mut selections: Vec<(String, Value)> = Vec::new();
    for (name, body) in detection {
        let name = name.as_str().ok_or("a selection name that is not text")?;
        if name == "condition" {
            continue;
        }
        let converted = selection(body, source).map_err(|e| format!("selection {name}: {e}"))?;
        selections.push((name.to_owned(), converted));
    }
    let conditions: Vec<String> = match detection.get("condition") {
        Some(Value::String(c)) => vec![c.clone()],
        Some(Value::Sequence(list)) => list
            .iter()
            .map(|c| c.as_str().map(str::to_owned).ok_or("a condition that is not text"))
            .collect::<Result<_, _>>()?,
        _ => return Err("no `condition`".into()),
    };
    let mut alternatives = Vec::new();
    for text in conditions {
        alternatives.push(expression(&condition::parse(&text)?, &selections)?);
    }
    Ok(any(alternatives))
}

fn expression(expr: &Expr, selections: &[(String, Value)]) -> Result<Value, String> {
    let matching = |pattern: &str| -> Result<Vec<Value>, String> {
        let found: Vec<Value> =
            selections.iter().filter(|(n, _)| condition::name_matches(pattern, n)).map(|(_, v)| v.clone()).collect();
        if found.is_empty() { Err(format!("no selection matches {pattern:?}")) } else { Ok(found) }
    };
    Ok(match expr {
        Expr::Selection(name) => selections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("the condition names {name:?}, which is not a selection"))?,
        Expr::AnyOf(pattern) => any(matching(pattern)?),
        Expr::AllOf(pattern) => all(matching(pattern)?),
        Expr::And(parts) => all(parts.iter().map(|p| expression(p, selections)).collect::<Result<_, _>>()?),
        Expr::Or(parts) => any(parts.iter().map(|p| expression(p, selections)).collect::<Result<_, _>>()?),
        Expr::Not(inner) => node(vec![("not", expression(inner, selections)?)]),
    })
}

/// One selection: a map (every field test holds), a list of maps (any
/// holds), or a list of keywords (any appears in the line's text).
fn selection(body: &Value, source: Source) -> Result<Value, String> {
    match body {
        Value::Mapping(map) => field_map(map, source),
        Value::Sequence(items) if items.iter().all(|i| i.is_mapping()) => Ok(any(items
            .iter()
            .map(|i| field_map(i.as_mapping().expect("checked"), source))
            .collect::<Result<_, _>>()?)),
        Value::Sequence(items) => {
            let keywords = items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(format!("keyword {other:?}")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(any(keywords.iter().map(|k| keyword(k, source)).collect()))
        }
        Value::String(k) => Ok(keyword(k, source)),
        other => Err(format!("a selection of the form {other:?}")),
    }
}

/// An unbound keyword: found anywhere in the text fields of the line.
fn keyword(text: &str, source: Source) -> Value {
    any(source.keyword_fields().iter().map(|f| wildcard_test(f, text, Some("contains"), true)).collect())
}

fn field_map(map: &Mapping, source: Source) -> Result<Value, String> {
    let mut tests = Vec::new();
    for (key, value) in map {
        let key = key.as_str().ok_or("a field name that is not text")?;
        let mut parts = key.split('|');
        let name = parts.next().unwrap_or_default();
        let mods = Modifiers::parse(&parts.collect::<Vec<_>>())?;
        if name.is_empty() {
            // `'|all': [a, b]`: keywords that must all appear.
            let list = value.as_sequence().ok_or("keywords under '|all' must be a list")?;
            let words = list.iter().filter_map(Value::as_str).map(|k| keyword(k, source)).collect();
            tests.push(all(words));
            continue;
        }
        let field = source.field(name)?;
        tests.push(field_test(field, &mods, value)?);
    }
    if tests.is_empty() {
        return Err("an empty selection".into());
    }
    Ok(all(tests))
}

#[cfg(test)]
mod tests;
