//! Metric names this crate reports, declared once.

/// Failed delivery attempts, by `sink`.
pub const SINK_FAILURES: &str = "rampart_sink_failures_total";
/// Notifications delivered, by `sink`.
pub const SINK_DELIVERED: &str = "rampart_sink_delivered_total";
/// Notifications given up on, by `sink` and `reason` (`queue_full`, `retries_exhausted`).
pub const SINK_DROPPED: &str = "rampart_sink_dropped_total";
/// Decisions stored, by `origin` (rule, manual, remote) and `kind`.
pub const DECISIONS: &str = "rampart_decisions_total";
/// Enforcement attempts, by `enforcer` and `result` (applied, dry_run, refused, failed).
pub const DECISION_ACTIONS: &str = "rampart_decision_actions_total";
