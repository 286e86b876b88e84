//! Rules: the YAML form, validation, and loading from files.
//!
//! One YAML document is one rule; a file may hold several separated by `---`.
//!
//! ```yaml
//! id: ssh-brute-force
//! title: SSH brute force
//! severity: high
//! technique: T1110.001
//! tags: [ssh, credential-access]
//! condition:
//!   all:
//!     - { field: event.category, equals: authentication }
//!     - { field: event.outcome, equals: failure }
//! threshold: { group_by: source.ip, count: 5, window: 2m, cooldown: 10m }
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_core::{RuleCard, Severity};
use serde::Deserialize;

use crate::condition::{Condition, ConditionSpec};
use crate::error::RuleError;
use rampart_core::time::parse_duration_ms;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    title: String,
    #[serde(default)]
    description: String,
    severity: String,
    /// 0..=100; defaults by severity.
    score: Option<f64>,
    technique: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// The field whose value names what a signature alert is about;
    /// defaults to `source.ip`, then `host.name`.
    entity: Option<String>,
    /// Fields of the matching event a signature alert carries in its
    /// context (what was found, where), so the alert says it without a lookup.
    #[serde(default)]
    context: Vec<String>,
    condition: ConditionSpec,
    threshold: Option<ThresholdSpec>,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdSpec {
    group_by: String,
    count: u32,
    /// Count distinct values of this field instead of events.
    distinct: Option<String>,
    window: String,
    /// After firing, further matches merge into the alert instead of firing
    /// again, for this long. Defaults to the window.
    cooldown: Option<String>,
}

/// A compiled, validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub card: Arc<RuleCard>,
    /// Where it was read (`builtin:web.yaml` for a shipped rule), for errors.
    pub(crate) file: PathBuf,
    pub(crate) entity: Option<String>,
    pub(crate) context: Vec<String>,
    pub(crate) condition: Condition,
    pub(crate) threshold: Option<Threshold>,
}

#[derive(Debug, Clone)]
pub(crate) struct Threshold {
    pub group_by: String,
    pub count: u32,
    pub distinct: Option<String>,
    pub window_ms: i64,
    pub cooldown_ms: i64,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.card.id
    }

    /// Whether this rule counts events in a window (a scenario) rather than
    /// firing on each one.
    pub fn is_threshold(&self) -> bool {
        self.threshold.is_some()
    }
}

/// Parses every rule in one YAML text. `file` only labels errors.
pub fn parse_rules(text: &str, file: &Path) -> Result<Vec<Rule>, RuleError> {
    parse_with_disabled(text, file).map(|(rules, _)| rules)
}

/// The enabled rules in one YAML text, and the ids of those marked
/// `enabled: false` (which switch off a built-in of the same id).
fn parse_with_disabled(text: &str, file: &Path) -> Result<(Vec<Rule>, Vec<String>), RuleError> {
    let mut rules = Vec::new();
    let mut disabled = Vec::new();
    for document in serde_yaml_ng::Deserializer::from_str(text) {
        let document = match serde_yaml_ng::Value::deserialize(document) {
            Ok(serde_yaml_ng::Value::Null) => continue,
            Ok(value) => value,
            Err(e) => return Err(RuleError { file: file.into(), rule_id: None, field: None, reason: e.to_string() }),
        };
        if crate::sigma::is_sigma(&document) {
            // A Sigma rule that does not convert is skipped with a warning
            // naming it and why (`rampart rules import-sigma` lists them all):
            // one exotic community rule must not keep the node from starting.
            match sigma_rule(&document, file) {
                Ok((_, rule)) => rules.push(rule),
                Err(e) => tracing::warn!(file = %file.display(), rule = %e.rule, reason = %e.reason,
                    "Sigma rule not converted; skipped."),
            }
            continue;
        }
        let spec = match RuleSpec::deserialize(document) {
            Ok(spec) => spec,
            Err(e) => {
                return Err(RuleError { file: file.into(), rule_id: None, field: None, reason: e.to_string() });
            }
        };
        let id = spec.id.clone();
        match compile(spec, file)? {
            Some(rule) => rules.push(rule),
            None => disabled.push(id),
        }
    }
    Ok((rules, disabled))
}

/// A Sigma document converted and compiled: the Rampart rule's text and
/// the rule, or why it does not convert (including a pattern Rust's regex
/// engine refuses, such as a look-around).
pub fn sigma_rule(
    document: &serde_yaml_ng::Value,
    file: &Path,
) -> Result<(crate::sigma::Converted, Rule), crate::sigma::NotConverted> {
    let converted = crate::sigma::convert(document)?;
    let not_converted = |reason: String| crate::sigma::NotConverted { rule: converted.title.clone(), reason };
    let spec: RuleSpec = serde_yaml_ng::from_str(&converted.yaml).map_err(|e| not_converted(e.to_string()))?;
    match compile(spec, file) {
        Ok(Some(rule)) => Ok((converted, rule)),
        Ok(None) => Err(not_converted("disabled".into())),
        Err(e) => Err(not_converted(format!("{}: {}", e.field.unwrap_or_default(), e.reason))),
    }
}

fn compile(spec: RuleSpec, file: &Path) -> Result<Option<Rule>, RuleError> {
    let id = spec.id.clone();
    let fail = |field: &str, reason: String| RuleError {
        file: file.into(),
        rule_id: Some(id.clone()),
        field: Some(field.into()),
        reason,
    };
    if spec.id.is_empty() || !spec.id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return Err(fail("id", "must be non-empty and use only letters, digits, '-', '_' and '.'".into()));
    }
    if !spec.enabled {
        return Ok(None);
    }
    let severity = Severity::parse(&spec.severity).ok_or_else(|| {
        fail("severity", format!("unknown severity {:?}; use info, low, medium, high or critical", spec.severity))
    })?;
    let score = spec.score.unwrap_or_else(|| severity.default_score());
    if !(0.0..=100.0).contains(&score) {
        return Err(fail("score", format!("{score} is outside 0..=100")));
    }
    let mut logic = spec.condition.describe();
    if let Some(t) = &spec.threshold {
        let what = t.distinct.as_ref().map_or_else(|| "matches".to_owned(), |d| format!("distinct {d}"));
        logic.push_str(&format!("; {} {what} per {} within {}", t.count, t.group_by, t.window));
    }
    let condition = spec.condition.compile("condition").map_err(|(field, reason)| fail(&field, reason))?;
    let threshold = match spec.threshold {
        None => None,
        Some(t) => {
            if t.count == 0 {
                return Err(fail("threshold.count", "must be at least 1".into()));
            }
            let window_ms = parse_duration_ms(&t.window).map_err(|r| fail("threshold.window", r.to_string()))?;
            let cooldown_ms = match &t.cooldown {
                Some(c) => parse_duration_ms(c).map_err(|r| fail("threshold.cooldown", r.to_string()))?,
                None => window_ms,
            };
            Some(Threshold { group_by: t.group_by, count: t.count, distinct: t.distinct, window_ms, cooldown_ms })
        }
    };
    Ok(Some(Rule {
        file: file.into(),
        card: Arc::new(RuleCard {
            id: spec.id,
            title: spec.title,
            description: spec.description,
            severity,
            score,
            technique: spec.technique,
            tags: spec.tags,
            logic: Some(logic),
        }),
        entity: spec.entity,
        context: spec.context,
        condition,
        threshold,
    }))
}

/// Loads the built-in rules (if asked) and every `*.yaml` / `*.yml` file in
/// `dir`, sorted by name. A user rule with a built-in's id replaces it, so a
/// built-in can be tuned without forking the binary.
pub fn load_rules(builtin: bool, dir: Option<&Path>) -> Result<Vec<Rule>, RuleError> {
    let mut rules = Vec::new();
    let mut disabled: Vec<String> = Vec::new();
    if builtin {
        for (name, text) in crate::builtin::FILES {
            let (enabled, switched_off) = parse_with_disabled(text, Path::new(&format!("builtin:{name}")))?;
            rules.extend(enabled);
            disabled.extend(switched_off);
        }
    }
    if let Some(dir) = dir {
        let io_err = |e: std::io::Error| RuleError {
            file: dir.into(),
            rule_id: None,
            field: None,
            reason: format!("cannot read rules directory: {e}"),
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(io_err)?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
            .collect();
        files.sort();
        let mut seen_user = HashSet::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| RuleError {
                file: file.clone(),
                rule_id: None,
                field: None,
                reason: format!("cannot read: {e}"),
            })?;
            let (enabled, switched_off) = parse_with_disabled(&text, &file)?;
            // A disabled rule with a built-in's id switches the built-in off.
            rules.retain(|r: &Rule| !switched_off.iter().any(|id| id == r.id()));
            disabled.extend(switched_off);
            for rule in enabled {
                if !seen_user.insert(rule.id().to_owned()) {
                    return Err(RuleError {
                        file: file.clone(),
                        rule_id: Some(rule.id().to_owned()),
                        field: Some("id".into()),
                        reason: "defined twice in the rules directory".into(),
                    });
                }
                rules.retain(|r: &Rule| r.id() != rule.id());
                rules.push(rule);
            }
        }
    }
    check_references(&rules, &disabled)?;
    Ok(rules)
}

/// Every id a `matched` leaf names is a loaded rule that names none itself
/// (the engine tests such rules after the others, in one pass), or a rule
/// switched off (which then never matches).
fn check_references(rules: &[Rule], disabled: &[String]) -> Result<(), RuleError> {
    for rule in rules {
        for id in rule.condition.refers_to() {
            let reason = match rules.iter().find(|r| r.id() == id) {
                None if disabled.iter().any(|d| d == id) => continue,
                None => format!("no loaded rule has the id {id:?}"),
                Some(other) if !other.condition.refers_to().is_empty() => {
                    format!("{id:?} itself uses `matched`; a rule may only refer to rules that do not")
                }
                Some(_) => continue,
            };
            return Err(RuleError {
                file: rule.file.clone(),
                rule_id: Some(rule.id().to_owned()),
                field: Some("condition.matched".into()),
                reason,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Rule>, RuleError> {
        parse_rules(text, Path::new("t.yaml"))
    }

    #[test]
    fn a_rule_says_what_it_tests_in_words() {
        let rules = parse(
            "id: r\ntitle: t\nseverity: high\ncondition:\n  all:\n    - { field: event.outcome, equals: failure }\n    \
             - not: { field: user.name, in: [root, 5] }\n    - any: [ { field: url.original, contains: '../', url_decode: true }, \
             { field: http.response.status_code, gte: 400 } ]\nthreshold: { group_by: source.ip, count: 5, \
             distinct: user.name, window: 10m }\n",
        )
        .unwrap();
        assert_eq!(
            rules[0].card.logic.as_deref(),
            Some(
                "(event.outcome = \"failure\" and not user.name in [\"root\", 5] and (url.original contains \"../\" \
                 (URL-decoded) or http.response.status_code ≥ 400)); 5 distinct user.name per source.ip within 10m"
            )
        );
        let builtin = load_rules(true, None).unwrap();
        assert!(
            builtin.iter().all(|r| r.card.logic.as_deref().is_some_and(|l| l.len() > 10)),
            "every built-in rule reads"
        );
    }

    #[test]
    fn errors_name_rule_and_field() {
        let e = parse("id: r1\ntitle: t\nseverity: high\ncondition: { field: message, regex: '(' }\n").unwrap_err();
        assert_eq!(e.rule_id.as_deref(), Some("r1"));
        assert_eq!(e.field.as_deref(), Some("condition.regex"));
        let e = parse("id: r2\ntitle: t\nseverity: severe\ncondition: { field: message, exists: true }\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("severity"));
        let e =
            parse("id: r3\ntitle: t\nseverity: low\ncondition: { all: [ { field: a }, { field: b, equals: x } ] }\n")
                .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("condition.all[0].field"));
    }

    #[test]
    fn matched_names_loaded_rules_that_do_not_refer_themselves() {
        let dir = tempfile::tempdir().unwrap();
        let write = |text: &str| std::fs::write(dir.path().join("r.yaml"), text).unwrap();
        write("id: a\ntitle: A\nseverity: low\ncondition: { matched: [nope] }\n");
        let e = load_rules(false, Some(dir.path())).unwrap_err();
        assert_eq!((e.rule_id.as_deref(), e.field.as_deref()), (Some("a"), Some("condition.matched")));
        assert!(e.reason.contains("nope") && e.file.ends_with("r.yaml"), "{e}");
        write(
            "id: a\ntitle: A\nseverity: low\ncondition: { matched: b }\n---\n\
             id: b\ntitle: B\nseverity: low\ncondition: { matched: c }\n---\n\
             id: c\ntitle: C\nseverity: low\ncondition: { field: message, exists: true }\n",
        );
        let e = load_rules(false, Some(dir.path())).unwrap_err();
        assert!(e.reason.contains("itself uses `matched`"), "{e}");
        let e = parse("id: d\ntitle: D\nseverity: low\ncondition: { matched: [c], equals: x }\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("condition.matched"));
    }

    #[test]
    fn a_disabled_rule_switches_its_builtin_off_and_references_to_it_still_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("off.yaml"),
            "id: web-sqli\ntitle: off\nseverity: low\nenabled: false\ncondition: { field: message, exists: true }\n",
        )
        .unwrap();
        let rules = load_rules(true, Some(dir.path())).unwrap();
        assert!(!rules.iter().any(|r| r.id() == "web-sqli"));
        assert!(rules.iter().any(|r| r.id() == "web-probing"), "web-probing names web-sqli and still loads");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let e = parse("id: r\ntitle: t\nseverity: low\ncondtion: {}\n").unwrap_err();
        assert!(e.reason.contains("condtion"), "{e}");
    }

    #[test]
    fn several_documents_and_disabled_rules() {
        let text = "id: a\ntitle: A\nseverity: low\ncondition: { field: message, exists: true }\n---\nid: b\ntitle: B\nseverity: low\nenabled: false\ncondition: { field: message, exists: true }\n";
        let rules = parse(text).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].id(), "a");
    }

    proptest::proptest! {
        // Rule files are user input: any text gives rules or a located error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
            let _ = parse(&text);
        }

        // Structured near-misses: valid shape, random operators and values.
        #[test]
        fn random_conditions_compile_or_name_a_field(
            op in proptest::sample::select(vec!["equals", "in", "contains", "regex", "cidr", "gt", "exists", "bogus"]),
            value in proptest::sample::select(vec!["x", "[a, b]", "'('", "10.0.0.0/8", "5", "true", "{}", "300.1.1.1/40"]),
        ) {
            let text = format!("id: p\ntitle: t\nseverity: low\ncondition: {{ field: message, {op}: {value} }}\n");
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(!e.reason.is_empty());
            }
        }
    }

    #[test]
    fn builtin_rules_load() {
        let rules = load_rules(true, None).unwrap();
        assert!(rules.iter().any(|r| r.id() == "ssh-brute-force" && r.is_threshold()));
    }
}
