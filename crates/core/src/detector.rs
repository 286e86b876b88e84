//! The `Detector` seam: events in, findings out.

use std::sync::Arc;

use crate::alert::{Entity, Severity};
use crate::event::Event;

/// A rule's card: what a rule or model says about itself (id, title,
/// severity, score, ATT&CK technique, tags) — what its alerts inherit and
/// `GET /rules` lists. Shared by all its findings so a finding costs no
/// string copies.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleCard {
    pub id: String,
    pub title: String,
    pub description: String,
    pub severity: Severity,
    /// 0..=100.
    pub score: f64,
    /// MITRE ATT&CK technique id, e.g. `T1110.001`.
    pub technique: Option<String>,
    pub tags: Vec<String>,
    /// What the rule tests, in words (a rule file's condition and
    /// threshold); detectors that score instead of testing say so here.
    pub logic: Option<String>,
}

/// One detector's observation about one entity. The aggregation stage
/// folds findings into alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub rule: Arc<RuleCard>,
    pub entity: Entity,
    /// Matching events this finding stands for.
    pub count: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// Ids of the matching events (as many as the detector kept).
    pub evidence: Vec<i64>,
    /// The detector's explanation, kept on the alert it opens (rules have none).
    pub context: Option<Arc<serde_json::Value>>,
}

/// Anything that finds attacks in events. Detectors keep their own state
/// (windows, models) and never act: they only emit findings, which the
/// aggregation and response stages take from there.
pub trait Detector: Send {
    /// A short stable name for metrics and logs, e.g. `rules`.
    fn name(&self) -> &str;

    /// Looks at one committed event and appends any findings to `out`.
    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>);

    /// Looks at a batch of committed events, in order. Detectors that gain
    /// from batching (a model scoring many rows at once) override this.
    fn detect_batch(&mut self, events: &[Event], out: &mut Vec<Finding>) {
        for event in events {
            self.detect(event, out);
        }
    }

    /// Findings reached without a new event (a detector that judges on a
    /// task of its own); the stage asks when it is idle. Most have none.
    fn poll(&mut self, _out: &mut Vec<Finding>) {}
}
