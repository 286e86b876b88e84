//! The configuration model: one TOML file, every key overridable by
//! `RAMPART_*` environment variables (loading lives in the binary).
//!
//! Every struct denies unknown fields, so a typo fails loudly instead of
//! silently running with a default. `validate()` is pure: it opens no file
//! and no socket, so it can run anywhere.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::ecs::Limits;

mod http;
mod respond;
mod sources;

pub use http::HttpConfig;
pub use respond::{FirewallKind, NftablesConfig, PlaybookAction, PlaybookConfig, RespondConfig, ResponseMode};

pub use sources::{
    FileFormat, FileSourceConfig, HostSourceConfig, JournalSourceConfig, PrometheusQuery, PrometheusSourceConfig,
    SourcesConfig, StartAt,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address the HTTP API and dashboard listen on.
    pub listen: SocketAddr,
    /// Where the SQLite store and token hashes live.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
    pub detect: DetectConfig,
    pub alerts: AlertsConfig,
    pub sinks: SinksConfig,
    pub sources: SourcesConfig,
    pub respond: RespondConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./rampart-data"),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            ingest: IngestConfig::default(),
            store: StoreConfig::default(),
            detect: DetectConfig::default(),
            alerts: AlertsConfig::default(),
            sinks: SinksConfig::default(),
            sources: SourcesConfig::default(),
            respond: RespondConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `rampart=debug,tower_http=info`…
    /// `RUST_LOG`, when set, wins.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { level: "info".into(), format: LogFormat::Pretty }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_batch_events: usize,
    pub max_batch_bytes: usize,
    pub max_message_bytes: usize,
    /// Batches the ingest queue holds before senders must wait.
    pub queue_capacity: usize,
    /// How long a request waits for queue room before it gets 503.
    pub enqueue_timeout_ms: u64,
    /// Token bucket per API token: events per second, with a burst of one
    /// second's worth. 0 turns it off.
    pub max_events_per_sec_per_token: u32,
    /// The same per client address.
    pub max_events_per_sec_per_client: u32,
    /// Events stamped further ahead of the server's clock than this are
    /// refused: a forged future `@timestamp` would sort first forever.
    pub max_future_skew_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> IngestConfig {
        let limits = Limits::default();
        IngestConfig {
            max_batch_events: limits.max_batch_events,
            max_batch_bytes: limits.max_batch_bytes,
            max_message_bytes: limits.max_message_bytes,
            queue_capacity: 256,
            enqueue_timeout_ms: 1_000,
            max_events_per_sec_per_token: 0,
            max_events_per_sec_per_client: 0,
            max_future_skew_secs: limits.max_future_skew_ms / 1000,
        }
    }
}

impl IngestConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_batch_events: self.max_batch_events,
            max_batch_bytes: self.max_batch_bytes,
            max_future_skew_ms: self.max_future_skew_secs.saturating_mul(1000),
            ..Limits::default()
        }
    }
}

/// SQLite's `synchronous` setting. `normal` (with WAL) survives a crash of
/// the process; `full` also survives a power cut, at some cost per commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Durability {
    Normal,
    Full,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreConfig {
    /// Events older than this many days are deleted in the background.
    pub retention_days: u32,
    /// How often the retention sweep runs.
    pub retention_interval_secs: u64,
    pub durability: Durability,
    /// Most events the writer commits in one transaction.
    pub max_commit_events: usize,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            retention_days: 7,
            retention_interval_secs: 3_600,
            durability: Durability::Normal,
            max_commit_events: 20_000,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Load the rules built into the binary.
    pub builtin_rules: bool,
    /// A directory of extra `*.yaml` / `*.yml` rule files.
    pub rules_dir: Option<PathBuf>,
    /// Most keys (e.g. source IPs) one threshold rule tracks; the least
    /// recently seen is evicted past this.
    pub max_keys_per_rule: usize,
    /// Batches the detection queue holds.
    pub queue_capacity: usize,
    /// The Isolation Forest over the host collector's metrics.
    pub host_anomaly: HostAnomalyConfig,
    /// The flow classifier (models from the registry: `rampart models`).
    pub flows: FlowDetectConfig,
}

/// `[detect.flows]`: classify `network flow` events with the registry's
/// active model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlowDetectConfig {
    pub enabled: bool,
    /// An attack class below this probability raises no alert.
    pub min_probability: f64,
    /// How often the registry is checked for models activated from the
    /// command line (the API swaps at once).
    pub registry_poll_secs: u64,
}

impl Default for FlowDetectConfig {
    fn default() -> FlowDetectConfig {
        FlowDetectConfig { enabled: true, min_probability: 0.5, registry_poll_secs: 5 }
    }
}

impl Default for DetectConfig {
    fn default() -> DetectConfig {
        DetectConfig {
            builtin_rules: true,
            rules_dir: None,
            max_keys_per_rule: 100_000,
            queue_capacity: 64,
            host_anomaly: HostAnomalyConfig::default(),
            flows: FlowDetectConfig::default(),
        }
    }
}

/// `[detect.host_anomaly]`: learn how this host behaves, then flag samples
/// unlike it and name the processes behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostAnomalyConfig {
    pub enabled: bool,
    /// How long the baseline is learnt before anything is scored.
    pub warmup_secs: u64,
    /// The model is refitted this often on the normal points kept.
    pub retrain_interval_secs: u64,
    /// Normal points kept for refitting (the sliding window).
    pub window_points: usize,
    /// Anomaly score (0..1) at or above which a sample is anomalous; unset:
    /// the score the `contamination` share of the training points exceed.
    pub threshold: Option<f64>,
    pub contamination: f64,
    /// A sample with a metric this many robust standard deviations above
    /// its learnt median is anomalous whatever the forest says: a forest
    /// draws its splits inside the training range, so it ranks a point far
    /// beyond that range no higher than the most extreme training point.
    /// 0 turns this off.
    pub feature_z_limit: f64,
    /// Anomalous samples in a row before an alert: one noisy read is not an incident.
    pub consecutive: u32,
    pub trees: usize,
    pub subsample: usize,
    pub seed: u64,
}

impl Default for HostAnomalyConfig {
    fn default() -> HostAnomalyConfig {
        HostAnomalyConfig {
            enabled: true,
            warmup_secs: 600,
            retrain_interval_secs: 3_600,
            window_points: 8_192,
            threshold: None,
            contamination: 0.01,
            feature_z_limit: 6.0,
            consecutive: 2,
            trees: 100,
            subsample: 256,
            seed: 42,
        }
    }
}

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinksConfig {
    /// Print each alert notification as one JSON line on stdout.
    pub stdout: bool,
    pub slack: Option<SlackConfig>,
    pub webhooks: Vec<WebhookConfig>,
    /// Notifications each sink may have waiting; past it they are dropped and counted.
    pub queue_capacity: usize,
}

impl Default for SinksConfig {
    fn default() -> SinksConfig {
        SinksConfig { stdout: true, slack: None, webhooks: Vec::new(), queue_capacity: 1_024 }
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

/// A configuration value that cannot work, named by its key.
#[derive(Debug, thiserror::Error)]
#[error("config key `{key}`: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

impl Config {
    /// Checks values serde cannot: ranges and URL shapes. Pure.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError { key: key.into(), reason: reason.into() });
        self.http.validate()?;
        if self.ingest.max_future_skew_secs == 0 {
            return err("ingest.max_future_skew_secs", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.detect.flows.min_probability) {
            return err("detect.flows.min_probability", "must be between 0 and 1");
        }
        if self.detect.flows.registry_poll_secs == 0 {
            return err("detect.flows.registry_poll_secs", "must be at least 1");
        }
        if self.ingest.max_batch_events == 0 {
            return err("ingest.max_batch_events", "must be at least 1");
        }
        if self.ingest.max_batch_bytes < 1024 {
            return err("ingest.max_batch_bytes", "must be at least 1024");
        }
        if self.ingest.queue_capacity == 0 {
            return err("ingest.queue_capacity", "must be at least 1");
        }
        if self.store.retention_days == 0 {
            return err("store.retention_days", "must be at least 1");
        }
        if self.store.max_commit_events == 0 {
            return err("store.max_commit_events", "must be at least 1");
        }
        if self.detect.max_keys_per_rule == 0 {
            return err("detect.max_keys_per_rule", "must be at least 1");
        }
        let anomaly = &self.detect.host_anomaly;
        if anomaly.threshold.is_some_and(|t| !(0.0..=1.0).contains(&t)) {
            return err("detect.host_anomaly.threshold", "must be between 0 and 1");
        }
        if !(0.0..0.5).contains(&anomaly.contamination) {
            return err("detect.host_anomaly.contamination", "must be at least 0 and below 0.5");
        }
        for (key, value, least) in [
            ("trees", anomaly.trees, 1),
            ("subsample", anomaly.subsample, 2),
            ("consecutive", anomaly.consecutive as usize, 1),
            ("window_points", anomaly.window_points, 16),
        ] {
            if value < least {
                return err(&format!("detect.host_anomaly.{key}"), &format!("must be at least {least}"));
            }
        }
        if self.alerts.max_open == 0 {
            return err("alerts.max_open", "must be at least 1");
        }
        if let Some(slack) = &self.sinks.slack
            && !is_http_url(&slack.webhook_url)
        {
            return err("sinks.slack.webhook_url", "must be an http:// or https:// URL");
        }
        self.sources.validate()?;
        self.validate_respond()?;
        for (i, hook) in self.sinks.webhooks.iter().enumerate() {
            if !is_http_url(&hook.url) {
                return err(&format!("sinks.webhooks[{i}].url"), "must be an http:// or https:// URL");
            }
        }
        Ok(())
    }
}

fn is_http_url(url: &str) -> bool {
    url.starts_with("http://") || url.starts_with("https://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bind_loopback() {
        let config = Config::default();
        config.validate().unwrap();
        assert!(config.listen.ip().is_loopback());
        assert_eq!(config.listen.port(), 8080);
    }

    #[test]
    fn bad_webhook_url_is_named() {
        let mut config = Config::default();
        config.sinks.webhooks.push(WebhookConfig {
            url: "ftp://x".into(),
            name: "w".into(),
            headers: Default::default(),
            delivery: DeliveryConfig::default(),
        });
        let e = config.validate().unwrap_err();
        assert_eq!(e.key, "sinks.webhooks[0].url");
    }

    #[test]
    fn bad_journal_settings_are_named() {
        let mut config = Config::default();
        let journal = |units: &[&str]| JournalSourceConfig {
            units: units.iter().map(|u| u.to_string()).collect(),
            directory: None,
            start_at: StartAt::End,
            journalctl: "journalctl".into(),
        };
        config.sources.journal = vec![journal(&["ssh.service"]), journal(&["--output=cat"])];
        assert_eq!(config.validate().unwrap_err().key, "sources.journal[1].units");
        // A choice outside the enum fails as the file is read, naming the values.
        let err = serde_json::from_value::<JournalSourceConfig>(serde_json::json!({"start_at": "middle"}));
        assert!(err.unwrap_err().to_string().contains("expected `beginning` or `end`"));
    }

    #[test]
    fn bad_playbooks_are_named() {
        let mut config = Config::default();
        let playbook = |action: PlaybookAction, sink: Option<&str>| PlaybookConfig {
            name: "p".into(),
            rules: vec![],
            tags: vec![],
            min_severity: None,
            min_score: None,
            action,
            durations: vec!["10m".into()],
            sink: sink.map(str::to_owned),
            mode: None,
        };
        config.respond.playbooks = vec![playbook(PlaybookAction::BanIp, None), playbook(PlaybookAction::Notify, None)];
        assert_eq!(config.validate().unwrap_err().key, "respond.playbooks[1].sink");
        config.respond.playbooks[1] = playbook(PlaybookAction::Notify, Some("pager"));
        assert!(config.validate().unwrap_err().reason.contains("pager"));
        config.respond.playbooks[1] = playbook(PlaybookAction::Notify, Some("stdout"));
        config.validate().unwrap();
        // Choices outside their enums fail as the file is read, naming the values.
        let action = serde_json::json!({"name": "p", "action": "launch_missiles"});
        let err = serde_json::from_value::<PlaybookConfig>(action).unwrap_err().to_string();
        assert!(err.contains("expected one of `ban_ip`, `rate_limit`, `kill_process`, `notify`"), "{err}");
        let err = serde_json::from_value::<RespondConfig>(serde_json::json!({"mode": "maybe"})).unwrap_err();
        assert!(err.to_string().contains("expected `observe` or `enforce`"), "{err}");
    }

    #[test]
    fn bad_host_prometheus_and_anomaly_settings_are_named() {
        let mut config = Config::default();
        config.sources.host.interval_ms = 10;
        assert_eq!(config.validate().unwrap_err().key, "sources.host.interval_ms");
        config.sources.host.interval_ms = 2_000;
        let prom = |url: &str, queries: Vec<PrometheusQuery>| PrometheusSourceConfig {
            url: url.into(),
            interval_secs: 15,
            include: vec![],
            queries,
            timeout_ms: 1_000,
        };
        config.sources.prometheus = vec![prom("127.0.0.1:9100", vec![])];
        assert_eq!(config.validate().unwrap_err().key, "sources.prometheus[0].url");
        let empty = PrometheusQuery { name: "up".into(), query: String::new() };
        config.sources.prometheus = vec![prom("http://127.0.0.1:9090", vec![empty])];
        assert_eq!(config.validate().unwrap_err().key, "sources.prometheus[0].queries[0]");
        config.sources.prometheus.clear();
        config.detect.host_anomaly.threshold = Some(1.5);
        assert_eq!(config.validate().unwrap_err().key, "detect.host_anomaly.threshold");
        config.detect.host_anomaly.threshold = None;
        config.detect.host_anomaly.contamination = 0.7;
        assert_eq!(config.validate().unwrap_err().key, "detect.host_anomaly.contamination");
        config.detect.host_anomaly.contamination = 0.01;
        config.detect.host_anomaly.window_points = 4;
        assert_eq!(config.validate().unwrap_err().key, "detect.host_anomaly.window_points");
    }
}
