//! `Alert`: a detector's finding, aggregated per (rule, entity).

use serde::{Deserialize, Serialize};

/// How bad a finding is; ordered so `>=` compares severities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] =
        [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// A default score in 0..=100 for rules that do not compute one.
    pub fn default_score(self) -> f64 {
        match self {
            Severity::Info => 10.0,
            Severity::Low => 30.0,
            Severity::Medium => 50.0,
            Severity::High => 75.0,
            Severity::Critical => 95.0,
        }
    }
}

/// Where an alert is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Open => "open",
            AlertStatus::Acknowledged => "acknowledged",
            AlertStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<AlertStatus> {
        match text {
            "open" => Some(AlertStatus::Open),
            "acknowledged" => Some(AlertStatus::Acknowledged),
            "resolved" => Some(AlertStatus::Resolved),
            _ => None,
        }
    }
}

/// What the alert is about: a field name and its value, e.g. `source.ip` = `203.0.113.9`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Entity {
    pub field: String,
    pub value: String,
}

/// An aggregated finding. Serialises to the API's and the sinks' JSON form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Alert {
    pub id: String,
    pub rule_id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// 0..=100.
    pub score: f64,
    pub entity: Entity,
    /// Matching events this alert stands for.
    pub count: u64,
    /// Event time of the first and last matching event, epoch ms.
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Ids of up to `alerts.max_evidence` matching events, oldest first.
    pub evidence: Vec<i64>,
    /// MITRE ATT&CK technique id, e.g. `T1110.001`.
    pub technique: Option<String>,
    pub tags: Vec<String>,
    /// What the detector adds to explain itself, as it stood when the alert
    /// opened: an anomaly's score, the features that stood out, the culprits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub context: Option<serde_json::Value>,
    pub status: AlertStatus,
    /// Wall-clock creation and last change, epoch ms.
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Alert {
    /// A fresh alert id: time-ordered (UUID v7), so ids sort by creation.
    pub fn new_id() -> String {
        uuid::Uuid::now_v7().to_string()
    }

    /// The lowest id `new_id` can mint at `ms` or later: ids sort as text,
    /// so `id >= first_id_minted_at(ms)` reads a key range.
    pub fn first_id_minted_at(ms: i64) -> String {
        let ms = ms.clamp(0, (1 << 48) - 1);
        format!("{:08x}-{:04x}-0000-0000-000000000000", ms >> 16, ms & 0xffff)
    }

    /// When an id from `new_id` was minted, epoch ms; `None` for ids of
    /// any other shape.
    pub fn id_minted_ms(id: &str) -> Option<i64> {
        let uuid = uuid::Uuid::try_parse(id).ok()?;
        if uuid.get_version_num() != 7 {
            return None;
        }
        let (seconds, nanos) = uuid.get_timestamp()?.to_unix();
        i64::try_from(seconds).ok()?.checked_mul(1_000)?.checked_add(i64::from(nanos / 1_000_000))
    }
}

#[cfg(test)]
mod tests {
    use super::Alert;

    #[test]
    fn an_alert_id_tells_when_it_was_minted() {
        let before = crate::time::now_ms();
        let minted = Alert::id_minted_ms(&Alert::new_id()).unwrap();
        assert!(minted >= before && minted <= crate::time::now_ms(), "{before} {minted}");
        assert_eq!(Alert::id_minted_ms("018f0000-0000-7000-8000-000000000000"), Some(0x018f_0000_0000));
        assert_eq!(Alert::id_minted_ms("0b8d6e2c-4c9a-4f3e-9d7a-2f1e5c3b4a21"), None, "a v4 id");
        assert_eq!(Alert::id_minted_ms("alert-1"), None);
        let id = Alert::new_id();
        assert!(Alert::first_id_minted_at(before) <= id);
        assert!(Alert::first_id_minted_at(crate::time::now_ms() + 1) > id);
    }
}
