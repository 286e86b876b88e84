//! Metric names this crate reports, declared once.

/// Seconds per write transaction, by `op` (`events`, `alerts`, `purge`).
pub const STORE_WRITE_SECONDS: &str = "rampart_store_write_seconds";
/// Events deleted by the retention sweep.
pub const EVENTS_PURGED: &str = "rampart_store_events_purged_total";
