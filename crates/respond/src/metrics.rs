//! Metric names this crate reports, declared once.

/// Failed delivery attempts, by `sink`.
pub const SINK_FAILURES: &str = "rampart_sink_failures_total";
/// Notifications delivered, by `sink`.
pub const SINK_DELIVERED: &str = "rampart_sink_delivered_total";
/// Notifications given up on, by `sink` and `reason` (`queue_full`, `retries_exhausted`).
pub const SINK_DROPPED: &str = "rampart_sink_dropped_total";
