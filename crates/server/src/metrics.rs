//! Metric names this crate reports, declared once.

/// Events accepted (committed), by `kind` and `source`.
pub const EVENTS_INGESTED: &str = "rampart_events_ingested_total";
/// Inputs refused, by `reason`.
pub const INPUTS_REJECTED: &str = "rampart_inputs_rejected_total";
