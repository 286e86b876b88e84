//! Metric names this crate reports, declared once.

/// Inputs refused, by `reason`.
pub const INPUTS_REJECTED: &str = "rampart_inputs_rejected_total";
/// Failed authentications (a bad token, session or none at all).
pub const AUTH_FAILURES: &str = "rampart_auth_failures_total";
/// Requests refused because their address failed too often.
pub const AUTH_THROTTLED: &str = "rampart_auth_throttled_total";
/// Connections accepted, by `lane` (main, overflow).
pub const HTTP_CONNECTIONS: &str = "rampart_http_connections_total";
/// Connections closed, by `reason` (done, error, idle, tls_error, tls_timeout).
pub const HTTP_CONNECTIONS_CLOSED: &str = "rampart_http_connections_closed_total";
/// Connections open now.
pub const HTTP_CONNECTIONS_OPEN: &str = "rampart_http_connections_open";
