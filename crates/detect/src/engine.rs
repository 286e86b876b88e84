//! `RuleEngine`: runs every loaded rule over each event, as a `Detector`.

use rampart_core::{Detector, Entity, Event, Finding};

use crate::metrics::KEYS_EVICTED;
use crate::rule::Rule;
use crate::threshold::{Step, Windows};

/// Signature and threshold rules together. Threshold state is per rule.
pub struct RuleEngine {
    rules: Vec<(Rule, Option<Windows>)>,
}

impl RuleEngine {
    pub fn new(rules: Vec<Rule>, max_keys_per_rule: usize) -> RuleEngine {
        let rules = rules
            .into_iter()
            .map(|r| {
                let windows = r.is_threshold().then(|| Windows::new(max_keys_per_rule));
                (r, windows)
            })
            .collect();
        RuleEngine { rules }
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.iter().map(|(r, _)| r)
    }
}

impl Detector for RuleEngine {
    fn name(&self) -> &str {
        "rules"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let event_id = event.id.unwrap_or(0);
        for (rule, windows) in &mut self.rules {
            if !rule.condition.matches(event) {
                continue;
            }
            match (&rule.threshold, windows) {
                (Some(spec), Some(windows)) => {
                    let Some(key) = event.field(&spec.group_by).and_then(|v| v.to_text().map(|t| t.into_owned()))
                    else {
                        continue;
                    };
                    let distinct = match &spec.distinct {
                        Some(field) => match event.field(field).and_then(|v| v.to_text().map(|t| t.into_owned())) {
                            Some(v) => Some(v),
                            // Nothing to count distinctly on this event.
                            None => continue,
                        },
                        None => None,
                    };
                    let (step, evicted) = windows.observe(spec, &key, event.timestamp_ms, event_id, distinct);
                    if evicted {
                        metrics::counter!(KEYS_EVICTED, "rule" => rule.info.id.clone()).increment(1);
                    }
                    let entity = Entity { field: spec.group_by.clone(), value: key };
                    match step {
                        Step::Counted => {}
                        Step::Fired { count, first_ms, evidence } => {
                            out.push(finding(rule, entity, count, first_ms, event.timestamp_ms, evidence));
                        }
                        Step::Continued => {
                            out.push(finding(rule, entity, 1, event.timestamp_ms, event.timestamp_ms, vec![event_id]));
                        }
                    }
                }
                _ => {
                    let entity = signature_entity(rule, event);
                    out.push(finding(rule, entity, 1, event.timestamp_ms, event.timestamp_ms, vec![event_id]));
                }
            }
        }
    }
}

fn signature_entity(rule: &Rule, event: &Event) -> Entity {
    let candidates: &[&str] = match &rule.entity {
        Some(field) => &[field.as_str()],
        None => &["source.ip", "host.name"],
    };
    for field in candidates {
        if let Some(text) = event.field(field).and_then(|v| v.to_text().map(|t| t.into_owned())) {
            return Entity { field: (*field).to_owned(), value: text };
        }
    }
    Entity { field: candidates[0].to_owned(), value: "unknown".into() }
}

fn finding(rule: &Rule, entity: Entity, count: u64, first_ms: i64, last_ms: i64, evidence: Vec<i64>) -> Finding {
    Finding { rule: rule.info.clone(), entity, count, first_seen_ms: first_ms, last_seen_ms: last_ms, evidence }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rule::load_rules;
    use rampart_core::{EventKind, Outcome};

    fn failed_login(ip: &str, user: &str, at_ms: i64, id: i64) -> Event {
        let mut e = Event::new(EventKind::Event, at_ms);
        e.id = Some(id);
        e.category = vec!["authentication".into()];
        e.outcome = Some(Outcome::Failure);
        e.source.ip = Some(ip.parse().unwrap());
        e.user_name = Some(user.into());
        e
    }

    #[test]
    fn builtin_brute_force_fires_once_at_five_and_continues() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let mut out = Vec::new();
        for i in 0..4 {
            engine.detect(&failed_login("203.0.113.9", "root", i * 1000, i), &mut out);
        }
        assert!(out.iter().all(|a| a.rule.id != "ssh-brute-force"));
        engine.detect(&failed_login("203.0.113.9", "root", 4_000, 4), &mut out);
        let fired: Vec<_> = out.iter().filter(|a| a.rule.id == "ssh-brute-force").collect();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].count, 5);
        assert_eq!(fired[0].entity.value, "203.0.113.9");
        assert_eq!(fired[0].evidence, vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn single_failure_elsewhere_never_fires() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let mut out = Vec::new();
        for i in 0..50 {
            engine.detect(&failed_login(&format!("198.51.100.{i}"), "root", i * 1000, i), &mut out);
        }
        assert!(out.is_empty());
    }

    #[test]
    fn signature_rule_fires_per_event() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let mut e = Event::new(EventKind::Event, 0);
        e.url_original = Some("/static/..%2f..%2fetc/passwd".into());
        e.source.ip = Some("192.0.2.1".parse().unwrap());
        let mut out = Vec::new();
        engine.detect(&e, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].rule.id, "web-path-traversal");
        assert_eq!(out[0].entity.field, "source.ip");
    }
}
