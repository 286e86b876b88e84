//! `[sources]`: what Rampart reads besides its ingest API — log files, the
//! systemd journal, the host's /proc, Prometheus exporters and servers.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{ConfigError, is_http_url};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SourcesConfig {
    /// Log files to follow (`[[sources.files]]`).
    pub files: Vec<FileSourceConfig>,
    /// The systemd journal (`[[sources.journal]]`), read through journalctl.
    pub journal: Vec<JournalSourceConfig>,
    /// This host's /proc: metrics and top processes (`[sources.host]`).
    pub host: HostSourceConfig,
    /// Exporters to scrape and Prometheus servers to query (`[[sources.prometheus]]`).
    pub prometheus: Vec<PrometheusSourceConfig>,
    /// Packets metered into flows (`[[sources.capture]]`): an interface, or
    /// a capture file replayed once.
    pub capture: Vec<CaptureSourceConfig>,
}

/// Live packets (or a pcap/pcapng file) metered into flows with the
/// CIC-IDS2017 features, each flow a `network flow` event for the flow model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptureSourceConfig {
    /// The interface to capture on, e.g. `eth0` (`any`: every interface).
    #[serde(default)]
    pub interface: Option<String>,
    /// A pcap or pcapng file read once instead, at its own pace.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// A BPF filter, e.g. `not port 22` (tcpdump's syntax).
    #[serde(default)]
    pub filter: Option<String>,
    /// Bytes kept per packet: headers are all the meter reads.
    #[serde(default = "default_snaplen")]
    pub snaplen: u32,
    /// The kernel ring for the capture, MiB.
    #[serde(default = "default_buffer_mb")]
    pub buffer_mb: u32,
    #[serde(default)]
    pub promiscuous: bool,
    /// Longest a flow lasts before it is reported and continued (CICFlowMeter: 120).
    #[serde(default = "default_flow_timeout")]
    pub flow_timeout_secs: u64,
    /// A flow with no packet for this long is reported.
    #[serde(default = "default_flow_timeout")]
    pub idle_timeout_secs: u64,
    /// Gap that splits a flow's active and idle periods (CICFlowMeter: 5).
    #[serde(default = "default_activity_timeout")]
    pub activity_timeout_secs: u64,
    /// Flows tracked at once; beyond it the idlest are evicted (counted).
    #[serde(default = "default_max_flows")]
    pub max_flows: usize,
    /// A running flow is also judged once after this many packets (0: never)…
    #[serde(default = "default_early_packets")]
    pub early_packets: u64,
    /// …or once it is this old, seconds (0: never).
    #[serde(default = "default_early_after")]
    pub early_after_secs: u64,
}

impl CaptureSourceConfig {
    /// A live capture on `interface` with every other setting at its default.
    pub fn on_interface(interface: &str) -> CaptureSourceConfig {
        CaptureSourceConfig {
            interface: Some(interface.to_owned()),
            file: None,
            filter: None,
            snaplen: default_snaplen(),
            buffer_mb: default_buffer_mb(),
            promiscuous: false,
            flow_timeout_secs: default_flow_timeout(),
            idle_timeout_secs: default_flow_timeout(),
            activity_timeout_secs: default_activity_timeout(),
            max_flows: default_max_flows(),
            early_packets: default_early_packets(),
            early_after_secs: default_early_after(),
        }
    }
}

fn default_snaplen() -> u32 {
    256
}

fn default_buffer_mb() -> u32 {
    32
}

fn default_flow_timeout() -> u64 {
    120
}

fn default_activity_timeout() -> u64 {
    5
}

fn default_max_flows() -> usize {
    1 << 20
}

fn default_early_packets() -> u64 {
    256
}

fn default_early_after() -> u64 {
    10
}

/// Where a source begins when it has no saved position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    Beginning,
    End,
}

/// How a group of log files is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileFormat {
    /// Detected per file from its first lines.
    Auto,
    Syslog,
    /// Apache/nginx combined or common access logs.
    Combined,
    Json,
    /// The `regex` key's named captures.
    Regex,
    /// The daemons' own logs (login failures, basic auth, rate limiting).
    ApacheError,
    NginxError,
    Vsftpd,
    MysqlError,
    Postgresql,
}

/// The systemd journal, followed with `journalctl --follow --output=json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalSourceConfig {
    /// Units to keep, e.g. `["ssh.service"]`; empty keeps every entry.
    #[serde(default)]
    pub units: Vec<String>,
    /// A journal directory to read instead of the system journal.
    #[serde(default)]
    pub directory: Option<PathBuf>,
    /// Where to begin when there is no saved cursor: `end` (default) or `beginning`.
    #[serde(default = "default_start_at")]
    pub start_at: StartAt,
    /// The journalctl program, found on PATH unless a path is given.
    #[serde(default = "default_journalctl")]
    pub journalctl: PathBuf,
}

fn default_journalctl() -> PathBuf {
    "journalctl".into()
}

/// One group of log files followed as they grow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSourceConfig {
    /// Paths or globs, e.g. `["/var/log/auth.log", "/var/log/nginx/*.log"]`.
    pub paths: Vec<String>,
    /// `auto` (per file, from its first lines), `syslog`, `combined`, `json` or `regex`.
    #[serde(default = "default_format")]
    pub format: FileFormat,
    /// With `format = "regex"`: named captures are ECS fields, `__` for `.`.
    #[serde(default)]
    pub regex: Option<String>,
    /// Where to begin files present at start: `end` (default) or `beginning`.
    /// Files that appear later are always read from their start.
    #[serde(default = "default_start_at")]
    pub start_at: StartAt,
    #[serde(default = "default_poll_ms")]
    pub poll_interval_ms: u64,
}

fn default_format() -> FileFormat {
    FileFormat::Auto
}

fn default_start_at() -> StartAt {
    StartAt::End
}

/// How often followed files are checked for growth: a `stat` each, so
/// cheap, and the part of log line → ban time Rampart cannot otherwise cut.
fn default_poll_ms() -> u64 {
    50
}

/// The host collector: /proc read every interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HostSourceConfig {
    pub enabled: bool,
    pub interval_ms: u64,
    /// Processes reported per sample: this many by CPU and as many by memory.
    pub top_processes: usize,
}

impl Default for HostSourceConfig {
    fn default() -> HostSourceConfig {
        HostSourceConfig { enabled: true, interval_ms: 2_000, top_processes: 5 }
    }
}

/// One Prometheus endpoint: an exporter's `/metrics` to scrape (`url`), or
/// a server to run PromQL `queries` against (`url` is then its base URL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSourceConfig {
    /// `http://127.0.0.1:9100/metrics` for an exporter; `http://127.0.0.1:9090` with `queries`.
    pub url: String,
    #[serde(default = "default_scrape_secs")]
    pub interval_secs: u64,
    /// Keep only series whose name starts with one of these (all when empty).
    #[serde(default)]
    pub include: Vec<String>,
    /// PromQL queries for `/api/v1/query`; with any, `url` is a server, not an exporter.
    #[serde(default)]
    pub queries: Vec<PrometheusQuery>,
    #[serde(default = "default_scrape_timeout_ms")]
    pub timeout_ms: u64,
}

/// A named PromQL query; each result series becomes `metrics.<name>` (or
/// `metrics.<name>{labels}` when the result has several series).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrometheusQuery {
    pub name: String,
    pub query: String,
}

fn default_scrape_secs() -> u64 {
    15
}

fn default_scrape_timeout_ms() -> u64 {
    5_000
}

impl SourcesConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, reason: &str| Err(ConfigError { key: key.into(), reason: reason.into() });
        for (i, files) in self.files.iter().enumerate() {
            let key = |k: &str| format!("sources.files[{i}].{k}");
            if files.paths.is_empty() {
                return err(&key("paths"), "list at least one file or glob");
            }
            if files.format == FileFormat::Regex && files.regex.is_none() {
                return err(&key("regex"), "format = \"regex\" needs a regex");
            }
            if files.poll_interval_ms == 0 {
                return err(&key("poll_interval_ms"), "must be at least 1");
            }
        }
        for (i, journal) in self.journal.iter().enumerate() {
            let key = |k: &str| format!("sources.journal[{i}].{k}");
            if let Some(unit) = journal.units.iter().find(|u| u.is_empty() || u.starts_with('-')) {
                return err(&key("units"), &format!("{unit:?} is not a systemd unit name"));
            }
        }
        if self.host.enabled && self.host.interval_ms < 100 {
            return err("sources.host.interval_ms", "must be at least 100");
        }
        for (i, cap) in self.capture.iter().enumerate() {
            let key = |k: &str| format!("sources.capture[{i}].{k}");
            match (&cap.interface, &cap.file) {
                (Some(_), Some(_)) => return err(&key("file"), "give an interface or a file, not both"),
                (None, None) => return err(&key("interface"), "give an interface (or a capture file)"),
                (Some(name), None) if name.is_empty() || name.len() > 64 || name.contains(['/', ' ', '\0']) => {
                    return err(&key("interface"), "is not an interface name");
                }
                _ => {}
            }
            if !(64..=65_535).contains(&cap.snaplen) {
                return err(&key("snaplen"), "must be between 64 and 65535");
            }
            if !(1..=1024).contains(&cap.buffer_mb) {
                return err(&key("buffer_mb"), "must be between 1 and 1024");
            }
            if !(1..=3600).contains(&cap.flow_timeout_secs) {
                return err(&key("flow_timeout_secs"), "must be between 1 and 3600");
            }
            if !(1..=3600).contains(&cap.idle_timeout_secs) {
                return err(&key("idle_timeout_secs"), "must be between 1 and 3600");
            }
            if !(1..=3600).contains(&cap.activity_timeout_secs) {
                return err(&key("activity_timeout_secs"), "must be between 1 and 3600");
            }
            if !(1..=100_000_000).contains(&cap.max_flows) {
                return err(&key("max_flows"), "must be between 1 and 100000000");
            }
        }
        for (i, prom) in self.prometheus.iter().enumerate() {
            let key = |k: &str| format!("sources.prometheus[{i}].{k}");
            if !is_http_url(&prom.url) {
                return err(&key("url"), "must be an http:// or https:// URL");
            }
            if prom.interval_secs == 0 {
                return err(&key("interval_secs"), "must be at least 1");
            }
            if let Some((j, _)) = prom.queries.iter().enumerate().find(|(_, q)| q.name.is_empty() || q.query.is_empty())
            {
                return err(&key(&format!("queries[{j}]")), "needs a name and a query");
            }
        }
        Ok(())
    }
}
