//! Test fixtures shared by this crate's tests.

use rampart_core::{Alert, AlertStatus, Entity, Severity};

/// A high-severity alert of `rule` about the address (or other value) `ip`.
pub(crate) fn alert(rule: &str, ip: &str) -> Alert {
    Alert {
        id: "a1".into(),
        rule_id: rule.into(),
        title: "SSH brute force".into(),
        description: String::new(),
        severity: Severity::High,
        score: 70.0,
        entity: Entity { field: "source.ip".into(), value: ip.into() },
        count: 7,
        first_seen_ms: 0,
        last_seen_ms: 0,
        evidence: vec![],
        technique: None,
        tags: vec!["ssh".into()],
        context: None,
        status: AlertStatus::Open,
        created_ms: 0,
        updated_ms: 0,
    }
}
