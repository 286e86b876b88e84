//! Incidents: alerts grouped into what an analyst would call one thing.
//!
//! Detection raises one alert per rule and entity, so one SSH brute-forcer
//! is five alerts (brute force, slow brute force, user enumeration, …) and a
//! scan from 88 addresses is 88. Grouping happens when alerts are read, over
//! whatever set the caller chose, in two passes:
//! 1. by entity, across rules: every alert about `source.ip 203.0.113.9`;
//! 2. by campaign: entity groups from one network block (an IPv4 /24 or an
//!    IPv6 /48: without ASN data, the block is the best proxy for "one
//!    operator"), or groups of at least `CAMPAIGN_MIN_SOURCES` addresses
//!    raising the same rule (same target class or payload class) whose
//!    first alerts came within `CAMPAIGN_BURST_MS` of each other — a
//!    distributed scan starts all at once; unrelated bots do not.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

use serde::Serialize;

use crate::alert::{Alert, AlertStatus, Severity};

/// Same-rule alerts whose starts chain within this are one burst.
pub const CAMPAIGN_BURST_MS: i64 = 120_000;
/// A same-rule burst from fewer sources than this is not called a campaign.
pub const CAMPAIGN_MIN_SOURCES: usize = 3;

/// One incident: its alerts and what they share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    /// `inc-` and the id of its earliest alert: stable while that alert stays in it.
    pub id: String,
    /// `entity` (one attacker, one process…) or `campaign` (many, acting together).
    pub kind: &'static str,
    pub title: String,
    pub severity: Severity,
    /// Open if any alert is open; acknowledged if any is; else resolved.
    pub status: AlertStatus,
    /// `field value` of every entity in it.
    pub entities: Vec<String>,
    /// The network block a campaign's sources share, if they do.
    pub network: Option<String>,
    pub rules: Vec<String>,
    /// Its alerts' ids, oldest first.
    pub alerts: Vec<String>,
    /// Events its alerts counted.
    pub events: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// Groups `alerts` into incidents, most recent activity first.
pub fn group(alerts: &[Alert]) -> Vec<Incident> {
    // Pass 1: by entity.
    let mut by_entity: BTreeMap<(&str, &str), Vec<&Alert>> = BTreeMap::new();
    for a in alerts {
        by_entity.entry((a.entity.field.as_str(), a.entity.value.as_str())).or_default().push(a);
    }
    let groups: Vec<Vec<&Alert>> = by_entity.into_values().collect();

    // Pass 2: union entity groups into campaigns.
    let mut parent: Vec<usize> = (0..groups.len()).collect();
    let mut by_block: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, group) in groups.iter().enumerate() {
        if let Some(block) = address(group[0]).map(network_block) {
            by_block.entry(block).or_default().push(i);
        }
    }
    for members in by_block.values() {
        for pair in members.windows(2) {
            union(&mut parent, pair[0], pair[1]);
        }
    }
    let mut by_rule: BTreeMap<&str, Vec<(i64, usize)>> = BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        if address(group[0]).is_none() {
            continue;
        }
        for a in group {
            by_rule.entry(a.rule_id.as_str()).or_default().push((a.first_seen_ms, i));
        }
    }
    for starts in by_rule.values_mut() {
        starts.sort_unstable();
        let mut burst: Vec<usize> = Vec::new();
        let mut last = i64::MIN;
        for &(start, i) in starts.iter().chain(std::iter::once(&(i64::MAX, usize::MAX))) {
            if start.saturating_sub(last) > CAMPAIGN_BURST_MS {
                let distinct: BTreeSet<usize> = burst.iter().copied().collect();
                if distinct.len() >= CAMPAIGN_MIN_SOURCES {
                    let first = burst[0];
                    for &other in &burst[1..] {
                        union(&mut parent, first, other);
                    }
                }
                burst.clear();
            }
            if i != usize::MAX {
                burst.push(i);
                last = start;
            }
        }
    }

    let mut merged: BTreeMap<usize, Vec<&Alert>> = BTreeMap::new();
    for (i, group) in groups.iter().enumerate() {
        merged.entry(find(&mut parent, i)).or_default().extend(group.iter().copied());
    }
    let mut incidents: Vec<Incident> = merged.into_values().map(incident).collect();
    incidents.sort_by(|a, b| b.last_seen_ms.cmp(&a.last_seen_ms).then_with(|| a.id.cmp(&b.id)));
    incidents
}

fn address(a: &Alert) -> Option<IpAddr> {
    a.entity.field.ends_with(".ip").then(|| a.entity.value.parse().ok()).flatten()
}

/// The /24 of an IPv4 address, the /48 of an IPv6 one.
fn network_block(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

fn find(parent: &mut [usize], i: usize) -> usize {
    let mut root = i;
    while parent[root] != root {
        root = parent[root];
    }
    let mut node = i;
    while parent[node] != root {
        let next = parent[node];
        parent[node] = root;
        node = next;
    }
    root
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

fn incident(mut alerts: Vec<&Alert>) -> Incident {
    alerts.sort_by(|a, b| a.first_seen_ms.cmp(&b.first_seen_ms).then_with(|| a.id.cmp(&b.id)));
    let entities: BTreeSet<String> = alerts.iter().map(|a| format!("{} {}", a.entity.field, a.entity.value)).collect();
    let rules: BTreeSet<&str> = alerts.iter().map(|a| a.rule_id.as_str()).collect();
    let severity = alerts.iter().map(|a| a.severity).max().unwrap_or(Severity::Info);
    let status = if alerts.iter().any(|a| a.status == AlertStatus::Open) {
        AlertStatus::Open
    } else if alerts.iter().any(|a| a.status == AlertStatus::Acknowledged) {
        AlertStatus::Acknowledged
    } else {
        AlertStatus::Resolved
    };
    let blocks: BTreeSet<String> = alerts.iter().filter_map(|a| address(a)).map(network_block).collect();
    let network = (blocks.len() == 1 && entities.len() > 1).then(|| blocks.into_iter().next()).flatten();
    let first = alerts[0];
    let (kind, title) = if entities.len() > 1 {
        let what = if rules.len() == 1 { first.title.clone() } else { format!("{} rules", rules.len()) };
        let from = network.as_ref().map_or_else(String::new, |n| format!(" in {n}"));
        ("campaign", format!("Campaign: {what} from {} sources{from}", entities.len()))
    } else if rules.len() > 1 {
        ("entity", format!("{} {}: {} rules", first.entity.field, first.entity.value, rules.len()))
    } else {
        ("entity", format!("{} {}: {}", first.entity.field, first.entity.value, first.title))
    };
    Incident {
        id: format!("inc-{}", first.id),
        kind,
        title,
        severity,
        status,
        entities: entities.into_iter().collect(),
        network,
        rules: rules.into_iter().map(str::to_owned).collect(),
        events: alerts.iter().map(|a| a.count).sum(),
        first_seen_ms: alerts.iter().map(|a| a.first_seen_ms).min().unwrap_or_default(),
        last_seen_ms: alerts.iter().map(|a| a.last_seen_ms).max().unwrap_or_default(),
        alerts: alerts.iter().map(|a| a.id.clone()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Entity;

    fn alert(id: &str, rule: &str, field: &str, value: &str, first_seen_ms: i64) -> Alert {
        Alert {
            id: id.into(),
            rule_id: rule.into(),
            title: format!("{rule} title"),
            description: String::new(),
            severity: Severity::Medium,
            score: 50.0,
            entity: Entity { field: field.into(), value: value.into() },
            count: 3,
            first_seen_ms,
            last_seen_ms: first_seen_ms + 1_000,
            evidence: vec![],
            technique: None,
            tags: vec![],
            context: None,
            status: AlertStatus::Open,
            created_ms: first_seen_ms,
            updated_ms: first_seen_ms,
        }
    }

    #[test]
    fn one_attacker_many_rules_is_one_incident() {
        let mut alerts: Vec<Alert> =
            ["ssh-brute-force", "ssh-slow-brute-force", "ssh-user-enumeration", "ssh-root-login", "ssh-invalid-users"]
                .iter()
                .enumerate()
                .map(|(i, r)| alert(&format!("a{i}"), r, "source.ip", "203.0.113.9", i as i64 * 1_000))
                .collect();
        alerts[4].severity = Severity::High;
        alerts[1].status = AlertStatus::Resolved;
        let incidents = group(&alerts);
        assert_eq!(incidents.len(), 1);
        let i = &incidents[0];
        assert_eq!((i.kind, i.severity, i.status), ("entity", Severity::High, AlertStatus::Open));
        assert_eq!(i.id, "inc-a0");
        assert_eq!(i.alerts.len(), 5);
        assert_eq!(i.events, 15);
        assert_eq!(i.title, "source.ip 203.0.113.9: 5 rules");
    }

    #[test]
    fn a_distributed_scan_from_scattered_addresses_is_one_campaign() {
        // 88 sources from all over, the same rule, starting within a minute.
        let mut alerts: Vec<Alert> = (0..88)
            .map(|i| {
                alert(
                    &format!("s{i:02}"),
                    "web-4xx-scan",
                    "source.ip",
                    &format!("{}.{}.7.{}", 11 + i, 3 * i % 250, i),
                    500 * i as i64,
                )
            })
            .collect();
        // An unrelated SSH bot at the same time, and the same rule an hour later from one address.
        alerts.push(alert("bot", "ssh-brute-force", "source.ip", "192.0.2.1", 10_000));
        alerts.push(alert("late", "web-4xx-scan", "source.ip", "198.51.100.200", 3_600_000));
        let incidents = group(&alerts);
        assert_eq!(incidents.len(), 3, "{:?}", incidents.iter().map(|i| &i.title).collect::<Vec<_>>());
        let campaign = incidents.iter().find(|i| i.kind == "campaign").unwrap();
        assert_eq!(campaign.entities.len(), 88);
        assert_eq!(campaign.network, None);
        assert_eq!(campaign.title, "Campaign: web-4xx-scan title from 88 sources");
    }

    #[test]
    fn one_network_block_is_one_campaign_across_rules_and_times() {
        let alerts = vec![
            alert("x1", "ssh-brute-force", "source.ip", "203.0.113.5", 0),
            alert("x2", "web-sqli", "source.ip", "203.0.113.77", 86_400_000),
            alert("y", "ssh-brute-force", "source.ip", "203.0.114.5", 0),
            alert("p", "host-anomaly", "process.pid", "4242", 0),
        ];
        let incidents = group(&alerts);
        assert_eq!(incidents.len(), 3);
        let block = incidents.iter().find(|i| i.network.is_some()).unwrap();
        assert_eq!(block.network.as_deref(), Some("203.0.113.0/24"));
        assert_eq!(block.alerts, vec!["x1", "x2"]);
        assert_eq!(block.title, "Campaign: 2 rules from 2 sources in 203.0.113.0/24");
        assert_eq!(incidents[0].id, "inc-x1", "most recent activity first");
    }

    #[test]
    fn two_sources_on_one_rule_at_once_are_not_yet_a_campaign() {
        let alerts = vec![
            alert("a", "ssh-brute-force", "source.ip", "192.0.2.1", 0),
            alert("b", "ssh-brute-force", "source.ip", "198.51.100.1", 1_000),
        ];
        assert_eq!(group(&alerts).len(), 2);
    }

    #[test]
    fn ipv6_sources_share_a_slash_48() {
        let alerts = vec![
            alert("a", "ssh-brute-force", "source.ip", "2001:db8:1:1::5", 0),
            alert("b", "web-sqli", "source.ip", "2001:db8:1:ff::9", 999_999),
            alert("c", "web-sqli", "source.ip", "2001:db8:2::9", 0),
        ];
        let incidents = group(&alerts);
        assert_eq!(incidents.len(), 2);
        assert!(incidents.iter().any(|i| i.network.as_deref() == Some("2001:db8:1::/48")));
    }
}
