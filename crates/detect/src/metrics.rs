//! Metric names this crate reports, declared once.

/// Alerts opened, by `rule` and `severity`.
pub const ALERTS_OPENED: &str = "rampart_alerts_total";
/// Threshold keys evicted at the per-rule cap, by `rule`.
pub const KEYS_EVICTED: &str = "rampart_detect_keys_evicted_total";
/// Open alerts dropped from the merge table at its cap.
pub const OPEN_ALERTS_EVICTED: &str = "rampart_alerts_evicted_total";
/// Flows the active flow model classified, by `model` and `class`.
pub const FLOWS_CLASSIFIED: &str = "rampart_flows_classified_total";
/// Flows a shadow model scored beside the active one, by `active` and `shadow`.
pub const SHADOW_SCORED: &str = "rampart_flow_shadow_scored_total";
/// Flows on which the shadow model's class differed from the active one's.
pub const SHADOW_DISAGREEMENTS: &str = "rampart_flow_shadow_disagreements_total";
