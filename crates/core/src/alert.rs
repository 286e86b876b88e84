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
}
