//! Metric names this crate reports, declared once.

/// Alerts opened, by `rule` and `severity`.
pub const ALERTS_OPENED: &str = "rampart_alerts_total";
/// Threshold keys evicted at the per-rule cap, by `rule`.
pub const KEYS_EVICTED: &str = "rampart_detect_keys_evicted_total";
/// Open alerts dropped from the merge table at its cap.
pub const OPEN_ALERTS_EVICTED: &str = "rampart_alerts_evicted_total";
