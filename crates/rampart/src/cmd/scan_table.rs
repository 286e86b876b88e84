//! `rampart scan`'s summary for a person at a terminal: one row per
//! attacker (the alerts' entity) with its rules, alert and event counts and
//! first/last seen, like `fail2ban-regex`'s summary. Entities come from the
//! logs, so they are escaped before they reach the terminal.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use rampart_core::escape::for_terminal;
use rampart_core::{Alert, Severity, time};

struct Row<'a> {
    severity: Severity,
    alerts: usize,
    events: u64,
    first_ms: i64,
    last_ms: i64,
    rules: BTreeSet<&'a str>,
}

/// Writes the table, most severe then earliest first.
pub fn write(out: &mut impl Write, alerts: &[&Alert]) -> std::io::Result<()> {
    if alerts.is_empty() {
        return writeln!(out, "No alerts.");
    }
    let mut rows: BTreeMap<(&str, String), Row<'_>> = BTreeMap::new();
    for a in alerts {
        let key = (a.entity.field.as_str(), for_terminal(&a.entity.value).into_owned());
        let row = rows.entry(key).or_insert_with(|| Row {
            severity: a.severity,
            alerts: 0,
            events: 0,
            first_ms: a.first_seen_ms,
            last_ms: a.last_seen_ms,
            rules: BTreeSet::new(),
        });
        row.severity = row.severity.max(a.severity);
        row.alerts += 1;
        row.events += a.count;
        row.first_ms = row.first_ms.min(a.first_seen_ms);
        row.last_ms = row.last_ms.max(a.last_seen_ms);
        row.rules.insert(a.rule_id.as_str());
    }
    let mut rows: Vec<_> = rows.into_iter().collect();
    rows.sort_by(|(_, a), (_, b)| b.severity.cmp(&a.severity).then(a.first_ms.cmp(&b.first_ms)));
    let width = rows.iter().map(|((_, v), _)| v.chars().count()).max().unwrap_or(0).max("ATTACKER".len());
    writeln!(
        out,
        "{:<width$}  {:<8}  {:>6}  {:>7}  {:<24}  {:<24}  RULES",
        "ATTACKER", "SEVERITY", "ALERTS", "EVENTS", "FIRST SEEN", "LAST SEEN"
    )?;
    for ((_, entity), row) in &rows {
        let rules: Vec<&str> = row.rules.iter().copied().collect();
        writeln!(
            out,
            "{entity:<width$}  {:<8}  {:>6}  {:>7}  {:<24}  {:<24}  {}",
            row.severity.as_str(),
            row.alerts,
            row.events,
            time::format_ms(row.first_ms),
            time::format_ms(row.last_ms),
            rules.join(", ")
        )?;
    }
    writeln!(out, "{} attackers, {} alerts (--output json for every alert as a JSON line)", rows.len(), alerts.len())
}

#[cfg(test)]
mod tests {
    use rampart_core::{AlertStatus, Entity, Severity};

    use super::*;

    fn alert(rule: &str, ip: &str, severity: Severity, first: i64, count: u64) -> Alert {
        Alert {
            id: format!("{rule}-{ip}"),
            rule_id: rule.into(),
            title: rule.into(),
            description: String::new(),
            severity,
            score: 50.0,
            entity: Entity { field: "source.ip".into(), value: ip.into() },
            count,
            first_seen_ms: first,
            last_seen_ms: first + 60_000,
            evidence: Vec::new(),
            technique: None,
            tags: Vec::new(),
            context: None,
            status: AlertStatus::Open,
            created_ms: 0,
            updated_ms: 0,
        }
    }

    #[test]
    fn one_row_per_attacker_most_severe_first_and_escaped() {
        let alerts = [
            alert("web-4xx-scan", "198.51.100.9", Severity::Medium, 1_000, 20),
            alert("ssh-brute-force", "203.0.113.5", Severity::High, 5_000, 6),
            alert("pam-brute-force", "203.0.113.5", Severity::High, 4_000, 6),
            alert("x", "evil\u{1b}[2Jhost", Severity::Low, 0, 1),
        ];
        let mut out = Vec::new();
        write(&mut out, &alerts.iter().collect::<Vec<_>>()).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ATTACKER"), "{text}");
        assert!(lines[1].starts_with("203.0.113.5") && lines[1].contains("pam-brute-force, ssh-brute-force"), "{text}");
        assert!(lines[1].contains("1970-01-01T00:00:04.000Z") && lines[1].contains(" 12 "), "{text}");
        assert!(lines[2].starts_with("198.51.100.9"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert!(lines[4].starts_with("3 attackers, 4 alerts"), "{text}");
    }
}
