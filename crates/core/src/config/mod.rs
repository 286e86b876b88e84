//! The configuration model: one TOML file, every key overridable by
//! `RAMPART_*` environment variables (loading lives in the binary).
//!
//! Every struct denies unknown fields, so a typo fails loudly instead of
//! silently running with a default. `validate()` is pure: it opens no file
//! and no socket, so it can run anywhere.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

mod alerts;
mod bus;
mod detect;
mod http;
mod ingest;
mod llm;
mod proxy;
mod respond;
mod sinks;
mod sources;
mod store;

pub use alerts::AlertsConfig;
pub use detect::{DetectConfig, EntityAnomalyConfig, FlowDetectConfig, HostAnomalyConfig};
pub use http::HttpConfig;
pub use ingest::IngestConfig;
pub use llm::{LlmConfig, LlmDetectorConfig, RedactConfig};
pub use proxy::{ProxyConfig, ProxyMode};
pub use respond::{
    FirewallKind, NftablesConfig, PlaybookAction, PlaybookConfig, RecidiveConfig, RespondConfig, ResponseMode,
};

pub use bus::{BusConfig, BusKind, KafkaConfig};
pub use sinks::{DeliveryConfig, SinksConfig, SlackConfig, WebhookConfig};
pub use sources::{
    CaptureSourceConfig, FileFormat, FileSourceConfig, HostSourceConfig, JournalSourceConfig, PrometheusQuery,
    PrometheusSourceConfig, SourcesConfig, StartAt,
};
pub use store::{ClickHouseConfig, Durability, StoreConfig, StoreKind};

/// A node's part in a fleet. `all` is the embedded single node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// Sources, API, detection and response in one process.
    All,
    /// Sources and the ingest API; events go to the bus.
    Ingest,
    /// Reads the bus: stores, detects and decides.
    Worker,
    /// Serves the API and dashboard from the shared store.
    Api,
}

impl NodeRole {
    /// Reads the bus and runs detection.
    pub fn detects(self) -> bool {
        matches!(self, NodeRole::All | NodeRole::Worker)
    }

    /// Runs the configured sources (and the web gatekeeper).
    pub fn collects(self) -> bool {
        matches!(self, NodeRole::All | NodeRole::Ingest)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// What this node does in a fleet (`serve --role`).
    pub role: NodeRole,
    /// Address the HTTP API and dashboard listen on.
    pub listen: SocketAddr,
    /// Where the SQLite store and token hashes live.
    pub data_dir: PathBuf,
    pub http: HttpConfig,
    pub log: LogConfig,
    pub ingest: IngestConfig,
    pub store: StoreConfig,
    pub bus: BusConfig,
    pub detect: DetectConfig,
    pub alerts: AlertsConfig,
    pub sinks: SinksConfig,
    pub sources: SourcesConfig,
    pub respond: RespondConfig,
    pub proxy: ProxyConfig,
    pub llm: LlmConfig,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            role: NodeRole::All,
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./rampart-data"),
            http: HttpConfig::default(),
            log: LogConfig::default(),
            ingest: IngestConfig::default(),
            store: StoreConfig::default(),
            bus: BusConfig::default(),
            detect: DetectConfig::default(),
            alerts: AlertsConfig::default(),
            sinks: SinksConfig::default(),
            sources: SourcesConfig::default(),
            respond: RespondConfig::default(),
            proxy: ProxyConfig::default(),
            llm: LlmConfig::default(),
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
        self.proxy.validate()?;
        if self.ingest.max_future_skew_secs == 0 {
            return err("ingest.max_future_skew_secs", "must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.detect.flows.min_attack_score) {
            return err("detect.flows.min_attack_score", "must be between 0 and 1");
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
        for (kind, hours) in &self.store.kind_retention_hours {
            if crate::EventKind::parse(kind).is_none() {
                return err("store.kind_retention_hours", &format!("unknown event kind {kind:?}"));
            }
            if *hours == 0 {
                return err("store.kind_retention_hours", &format!("{kind}: must be at least 1 hour"));
            }
        }
        if self.store.max_commit_events == 0 {
            return err("store.max_commit_events", "must be at least 1");
        }
        let clickhouse = &self.store.clickhouse;
        if !(clickhouse.url.starts_with("http://") || clickhouse.url.starts_with("https://")) {
            return err("store.clickhouse.url", "must start with http:// or https://");
        }
        if clickhouse.database.is_empty()
            || !clickhouse.database.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            return err("store.clickhouse.database", "must be letters, digits and underscores");
        }
        if clickhouse.flush_rows == 0 || clickhouse.timeout_secs == 0 {
            return err("store.clickhouse", "flush_rows and timeout_secs must be at least 1");
        }
        if self.role != NodeRole::All && self.bus.kind == BusKind::Memory {
            return err("role", "ingest, worker and api nodes need a shared bus: set [bus] kind = \"kafka\"");
        }
        let kafka = &self.bus.kafka;
        if kafka.brokers.trim().is_empty() || kafka.topic.is_empty() || kafka.group.is_empty() {
            return err("bus.kafka", "brokers, topic and group must not be empty");
        }
        if kafka.max_poll_events == 0 {
            return err("bus.kafka.max_poll_events", "must be at least 1");
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
        if self.llm.enabled {
            if !is_http_url(&self.llm.base_url) {
                return err("llm.base_url", "must be an http:// or https:// URL");
            }
            if crate::Severity::parse(&self.llm.min_severity).is_none() {
                return err("llm.min_severity", "one of info, low, medium, high, critical");
            }
            let d = &self.llm.detector;
            if d.enabled && (d.lines_per_minute == 0 || d.batch_lines == 0) {
                return err("llm.detector", "lines_per_minute and batch_lines must be at least 1");
            }
            if self.llm.calls_per_minute == 0 || self.llm.queue_capacity == 0 || self.llm.timeout_ms == 0 {
                return err("llm", "calls_per_minute, queue_capacity and timeout_ms must be at least 1");
            }
        }
        if let Some(eve) = &self.sinks.eve
            && eve.path.as_os_str().is_empty()
        {
            return err("sinks.eve.path", "must name a file");
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
    fn kind_retention_names_a_real_kind_and_a_real_duration() {
        let mut config = Config::default();
        config.store.kind_retention_hours.insert("metrics".into(), 6);
        let error = config.validate().unwrap_err();
        assert_eq!(error.key, "store.kind_retention_hours");
        assert!(error.reason.contains("\"metrics\""), "{}", error.reason);
        let mut config = Config::default();
        config.store.kind_retention_hours.insert("state".into(), 0);
        assert!(config.validate().unwrap_err().reason.contains("state"));
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
