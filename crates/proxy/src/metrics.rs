//! Metric names this crate reports, declared once.

/// Requests through the gatekeeper, by `verdict` (clean, blocked,
/// would_block, banned, too_large, too_many_values).
pub const PROXY_REQUESTS: &str = "rampart_proxy_requests_total";
/// Verdict events that could not be queued for the pipeline (bus full or closed).
pub const PROXY_EVENTS_DROPPED: &str = "rampart_proxy_events_dropped_total";
