//! `[alerts]`: deduplication and when alerts are notified.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// Findings of one rule about one entity within this window merge into one alert.
    pub dedup_window_secs: u64,
    /// Most evidence event ids kept per alert.
    pub max_evidence: usize,
    /// Most alerts kept open in memory for merging; the stalest go first.
    pub max_open: usize,
    /// A new alert is sent to sinks this long after it opens, so a burst
    /// arrives as one notification with its full count.
    pub notify_delay_ms: u64,
    /// An open alert that keeps growing is re-sent at most this often.
    pub renotify_interval_secs: u64,
}

impl Default for AlertsConfig {
    fn default() -> AlertsConfig {
        AlertsConfig {
            dedup_window_secs: 600,
            max_evidence: 20,
            max_open: 50_000,
            notify_delay_ms: 2_000,
            renotify_interval_secs: 300,
        }
    }
}
