//! The `Store` seam: where events, alerts and API tokens persist.
//!
//! Synchronous on purpose: the embedded backend (SQLite) blocks, and callers
//! on the async side wrap calls in `spawn_blocking`. A networked backend
//! (ClickHouse) implements the same trait with its own blocking client.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::alert::{Alert, AlertStatus, Severity};
use crate::decision::{Action, Decision};
use crate::event::{Event, EventKind};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("store backend failed: {0}")]
    Backend(String),
    #[error("stored record {id} is corrupt: {reason}")]
    Corrupt { id: String, reason: String },
    #[error("store schema version {found} is newer than this binary knows ({known})")]
    SchemaTooNew { found: i64, known: i64 },
}

/// A host's metrics over one minute, kept after the samples themselves.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRollup {
    /// The minute's start.
    pub minute_ms: i64,
    pub host: String,
    /// Samples the minute held.
    pub samples: u64,
    pub mean: BTreeMap<String, f64>,
    pub max: BTreeMap<String, f64>,
}

/// What `Store::series` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesOf {
    EventsByKind,
    AlertsBySeverity,
    AlertsByRule,
}

/// `n` things with `key` in the interval starting at `t_ms`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeriesPoint {
    pub t_ms: i64,
    pub key: String,
    pub n: u64,
}

/// `Store::top_sources`' answer; `complete` is false when the store read
/// only the newest part of a long range (its scan budget ran out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopSources {
    pub items: Vec<(String, u64)>,
    pub complete: bool,
}

/// Filters for listing events, newest first.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub kind: Option<EventKind>,
    pub source_ip: Option<IpAddr>,
    /// Substring of `message`, case-insensitive for ASCII.
    pub text: Option<String>,
    /// Only events with an id below this one (the previous page's cursor).
    pub before_id: Option<i64>,
    pub limit: usize,
}

/// Filters for listing alerts, most recently created first.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub rule_id: Option<String>,
    /// Only alerts whose id sorts below this one (the previous page's cursor).
    pub before_id: Option<String>,
    pub limit: usize,
}

/// Filters for listing decisions, newest first.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    /// Only decisions in force at this time.
    pub active_at_ms: Option<i64>,
    /// Only decisions about this target (its text form: `203.0.113.9`, `10.0.0.0/8`).
    pub target: Option<String>,
    /// Only decisions made by this playbook.
    pub playbook: Option<String>,
    /// Only decisions with an id above this one (made since a stream poll).
    pub after_id: Option<i64>,
    /// Only decisions deleted at or after this time.
    pub deleted_since_ms: Option<i64>,
    pub limit: usize,
}

/// Where one caller of the decision stream left off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamCursor {
    /// The highest decision id it was sent.
    pub last_id: i64,
    /// When it last polled.
    pub polled_ms: i64,
}

/// One page of results and the cursor for the next, if there is one.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What saving an alert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveOutcome {
    Inserted,
    Updated,
    /// The stored alert was resolved by a person meanwhile: not reopened. The
    /// caller should start a new alert for further matches.
    AlreadyResolved,
}

/// Totals for `GET /stats`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StoreStats {
    pub events_total: u64,
    pub events_by_kind: BTreeMap<String, u64>,
    pub alerts_total: u64,
    pub alerts_by_severity: BTreeMap<String, u64>,
    pub alerts_by_status: BTreeMap<String, u64>,
    /// Alerts still open, by severity: the dashboard's status light.
    pub open_by_severity: BTreeMap<String, u64>,
}

/// How often one rule fired, from the alerts it opened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RuleFired {
    pub alerts: u64,
    pub events: u64,
    pub last_seen_ms: i64,
    /// Its alerts by severity: a detector that grades each alert (the host
    /// anomaly rule) raises others than its catalog severity.
    pub by_severity: BTreeMap<String, u64>,
}

/// What an API token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Reader,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "reader" => Some(Role::Reader),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A stored API token: never the secret, only a salted hash of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub salt: String,
    pub hash: String,
    pub created_ms: i64,
}

/// A dashboard session: a random id (stored only as a hash) bound to the
/// token it was opened with, so logging out or revoking the token ends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id_hash: String,
    pub token_id: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

/// What a registered flow model is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelRole {
    /// Classifies live flows and raises alerts.
    Active,
    /// Scores beside the active model; only disagreements are counted.
    Shadow,
}

impl ModelRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ModelRole::Active => "active",
            ModelRole::Shadow => "shadow",
        }
    }

    pub fn parse(text: &str) -> Option<ModelRole> {
        match text {
            "active" => Some(ModelRole::Active),
            "shadow" => Some(ModelRole::Shadow),
            _ => None,
        }
    }
}

/// A model in the registry, without its (large) body.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ModelInfo {
    pub name: String,
    pub algo: String,
    pub classes: Vec<String>,
    pub format_version: u32,
    pub rampart_version: String,
    pub data_sha256: String,
    /// Held-out metrics recorded at training time.
    pub metrics: serde_json::Value,
    pub created_ms: i64,
    pub added_ms: i64,
    pub role: Option<ModelRole>,
}

/// Persistence for everything Rampart keeps.
pub trait Store: Send + Sync + 'static {
    /// Commits the events in one transaction and fills in their ids. When this
    /// returns `Ok`, the events survive a crash of the process.
    fn append_events(&self, events: &mut [Event]) -> Result<(), StoreError>;

    fn events(&self, query: &EventQuery) -> Result<Page<Event>, StoreError>;

    /// One stored event by id (an alert's evidence); `None` once purged.
    fn event(&self, id: i64) -> Result<Option<Event>, StoreError> {
        let page =
            self.events(&EventQuery { before_id: Some(id.saturating_add(1)), limit: 1, ..Default::default() })?;
        Ok(page.items.into_iter().find(|e| e.id == Some(id)))
    }

    /// Inserts or updates alerts by id, in one transaction.
    fn save_alerts(&self, alerts: &[Alert]) -> Result<Vec<SaveOutcome>, StoreError>;

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError>;

    fn alerts(&self, query: &AlertQuery) -> Result<Page<Alert>, StoreError>;

    /// Sets an alert's status; `None` when there is no such alert.
    fn set_alert_status(&self, id: &str, status: AlertStatus) -> Result<Option<Alert>, StoreError>;

    fn stats(&self) -> Result<StoreStats, StoreError>;
    /// Per rule: the alerts it opened and the events they counted.
    fn rules_fired(&self) -> Result<BTreeMap<String, RuleFired>, StoreError>;

    /// Deletes events stored before `cutoff_ms` (by when Rampart received
    /// them, so a forged `@timestamp` cannot keep data forever); returns how
    /// many went.
    fn purge_events_before(&self, cutoff_ms: i64) -> Result<u64, StoreError>;

    /// Deletes events of `kinds` stored before `cutoff_ms`, never an event
    /// of another kind; returns how many went. Where the store keeps
    /// rollups, host metrics leave their one-minute means behind.
    fn purge_kinds_before(&self, kinds: &[EventKind], cutoff_ms: i64) -> Result<u64, StoreError>;

    /// One-minute rollups of host metrics starting in `[since_ms, until_ms)`,
    /// oldest first (empty where the store keeps none).
    fn metric_rollups(&self, since_ms: i64, until_ms: i64) -> Result<Vec<MetricRollup>, StoreError>;

    /// Deletes rollups (host metrics and event counts) of minutes before
    /// `cutoff_ms`; returns how many went.
    fn purge_rollups_before(&self, cutoff_ms: i64) -> Result<u64, StoreError>;

    /// Counts per interval of `step_ms` over `[since_ms, until_ms)`, oldest
    /// first: events by kind (from per-minute counts kept as long as the
    /// rollups, so they outlive the events), alerts by severity or rule (by
    /// when they were raised).
    fn series(&self, of: SeriesOf, since_ms: i64, until_ms: i64, step_ms: i64) -> Result<Vec<SeriesPoint>, StoreError>;

    /// The source addresses with the most stored events (telemetry aside)
    /// in `[since_ms, until_ms)`, most first.
    fn top_sources(&self, since_ms: i64, until_ms: i64, limit: usize) -> Result<TopSources, StoreError>;

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError>;

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError>;

    fn token_count(&self) -> Result<u64, StoreError>;

    /// Every token, oldest first (hashes included; callers show none).
    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError>;

    /// Deletes a token and every session opened with it; `false` when there
    /// is no such token.
    fn revoke_token(&self, id: &str) -> Result<bool, StoreError>;

    /// Stores a dashboard session (and forgets expired ones).
    fn add_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// A session by the hash of its id, if it exists and has not expired.
    fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>, StoreError>;

    /// Ends a session (logout).
    fn delete_session(&self, id_hash: &str) -> Result<(), StoreError>;

    /// Stores a decision and returns it with its id.
    fn add_decision(&self, decision: &Decision) -> Result<Decision, StoreError>;

    /// Stores several decisions, returned with their ids in the same order.
    /// A networked store writes them in one request (a burst of alerts
    /// makes hundreds of bans at once).
    fn add_decisions(&self, decisions: &[Decision]) -> Result<Vec<Decision>, StoreError> {
        decisions.iter().map(|d| self.add_decision(d)).collect()
    }

    /// Every decision about any of `targets` (their text forms), newest
    /// first, at most `per_target` of each: what the responder needs to
    /// judge a burst of alerts, in one read where the store allows it.
    fn decisions_about(&self, targets: &[String], per_target: usize) -> Result<Vec<Decision>, StoreError> {
        let mut found = Vec::new();
        for target in targets {
            let query = DecisionQuery { target: Some(target.clone()), limit: per_target, ..Default::default() };
            found.extend(self.decisions(&query)?);
        }
        Ok(found)
    }

    fn decision(&self, id: i64) -> Result<Option<Decision>, StoreError>;

    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>, StoreError>;

    /// Marks a decision deleted at `at_ms` (it stays on record); `None` when
    /// there is no such decision or it was deleted already.
    fn delete_decision(&self, id: i64, at_ms: i64) -> Result<Option<Decision>, StoreError>;

    /// Where the stream caller `caller` (a token id) left off, if it polled before.
    fn stream_cursor(&self, caller: &str) -> Result<Option<StreamCursor>, StoreError>;

    fn set_stream_cursor(&self, caller: &str, cursor: StreamCursor) -> Result<(), StoreError>;

    /// Appends to the audit trail, in one transaction.
    fn record_actions(&self, actions: &[Action]) -> Result<(), StoreError>;

    /// The audit trail, newest first; `before_id` pages back.
    fn actions(&self, before_id: Option<i64>, limit: usize) -> Result<Page<Action>, StoreError>;

    /// Adds a model to the registry, or replaces one of the same name
    /// (keeping its role). `body` is the model file's text.
    fn put_model(&self, info: &ModelInfo, body: &str) -> Result<(), StoreError>;

    /// Every registered model, newest first.
    fn models(&self) -> Result<Vec<ModelInfo>, StoreError>;

    /// A registered model's file text.
    /// Stores (or replaces) an alert's triage: a JSON document the triage
    /// worker wrote (summary, verdict, suggested response).
    fn put_triage(&self, alert_id: &str, body: &str) -> Result<(), StoreError>;

    /// An alert's triage document, if one was written.
    fn triage(&self, alert_id: &str) -> Result<Option<String>, StoreError>;

    fn model_body(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Gives `name` the role (taking it from the model that had it), or
    /// clears its role with `None`. `false` when there is no such model.
    fn set_model_role(&self, name: &str, role: Option<ModelRole>) -> Result<bool, StoreError>;

    /// Moves a write-ahead log into the main file, for backends that keep
    /// one. The pipeline's writer calls it when its queue is empty, so the
    /// cost never lands inside a commit.
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Cheap liveness check for `/readyz`.
    fn ping(&self) -> Result<(), StoreError>;
}
