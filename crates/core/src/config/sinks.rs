//! `[sinks]`: where alert notifications go, and how hard to try.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksConfig {
    /// Print each alert notification as one JSON line on stdout.
    pub stdout: bool,
    pub slack: Option<SlackConfig>,
    pub webhooks: Vec<WebhookConfig>,
    /// Append each alert notification to a file as a Suricata EVE JSON line.
    pub eve: Option<EveConfig>,
    /// Notifications each sink may have waiting; past it they are dropped and counted.
    pub queue_capacity: usize,
}

impl Default for SinksConfig {
    fn default() -> SinksConfig {
        SinksConfig { stdout: true, slack: None, webhooks: Vec::new(), eve: None, queue_capacity: 1_024 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// A Slack incoming-webhook URL.
    pub webhook_url: String,
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EveConfig {
    /// The EVE file, e.g. `/var/log/rampart/eve.json`; created mode 0600 and
    /// reopened when log rotation moves it.
    pub path: std::path::PathBuf,
    /// Written as each record's `host` (Suricata's sensor name); defaults
    /// to the evidence event's `host.name`.
    #[serde(default)]
    pub sensor_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Receives each alert as a JSON POST.
    pub url: String,
    /// A name for metrics and logs; defaults to `webhook`.
    #[serde(default = "default_webhook_name")]
    pub name: String,
    /// Extra request headers, e.g. an `Authorization` the receiver wants.
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

fn default_webhook_name() -> String {
    "webhook".into()
}

/// Timeout and retry policy shared by the HTTP sinks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    pub timeout_ms: u64,
    /// Attempts after the first.
    pub retries: u32,
    /// First backoff; it doubles each retry.
    pub backoff_ms: u64,
}

impl Default for DeliveryConfig {
    fn default() -> DeliveryConfig {
        DeliveryConfig { timeout_ms: 5_000, retries: 3, backoff_ms: 500 }
    }
}
