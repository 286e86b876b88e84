//! `[proxy]`: the web gatekeeper — a reverse proxy in front of a web
//! application that judges every value carrying user input, and an nginx
//! `auth_request` endpoint on the same listener. Off unless enabled;
//! detect mode unless `mode = "block"` (enforcement is opt-in).

use std::net::SocketAddr;
use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProxyMode {
    /// Forward everything; record what would have been blocked.
    Detect,
    /// Answer 403 to a request carrying an attack, and to banned addresses.
    Block,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProxyConfig {
    /// Run the gatekeeper inside `rampart serve`.
    pub enabled: bool,
    pub listen: SocketAddr,
    /// The application behind it, `http://host:port`. Without one only the
    /// `auth_request` endpoint answers.
    pub upstream: Option<String>,
    pub mode: ProxyMode,
    /// A payload model file; the one shipped with Rampart when unset.
    pub model: Option<PathBuf>,
    /// Peers whose `X-Forwarded-For` is believed (a load balancer, nginx).
    /// The client is the last address in the chain that is not one of them.
    pub trusted_proxies: Vec<IpNet>,
    /// Lowercase names of headers whose values are judged (cookies always are).
    pub inspect_headers: Vec<String>,
    /// Largest request body; past it the answer is 413.
    pub max_body_bytes: usize,
    pub max_connections: usize,
    pub header_timeout_ms: u64,
    pub idle_timeout_secs: u64,
    /// The upstream must answer within this.
    pub upstream_timeout_secs: u64,
    /// Threads `rampart proxy` serves on; 0 means half the cores, at least
    /// one. The gatekeeper usually shares its machine with the application
    /// it guards, and a second worker on two shared cores doubled its p99
    /// (work handed between threads waits for a core; docs/PERFORMANCE.md).
    /// Inside `serve` the gatekeeper gets a runtime of its own with as many.
    /// One worker runs tokio's current-thread scheduler (no work stealing).
    pub workers: usize,
}

impl Default for ProxyConfig {
    fn default() -> ProxyConfig {
        ProxyConfig {
            enabled: false,
            listen: SocketAddr::from(([127, 0, 0, 1], 8088)),
            upstream: None,
            mode: ProxyMode::Detect,
            model: None,
            trusted_proxies: Vec::new(),
            inspect_headers: vec!["referer".into(), "user-agent".into(), "x-forwarded-host".into()],
            max_body_bytes: 1024 * 1024,
            max_connections: 1024,
            header_timeout_ms: 10_000,
            idle_timeout_secs: 60,
            upstream_timeout_secs: 30,
            workers: 0,
        }
    }
}

impl ProxyConfig {
    /// The worker threads to start: `workers`, or half of `cores`, at least one.
    pub fn worker_threads(&self, cores: usize) -> usize {
        if self.workers > 0 { self.workers } else { (cores / 2).max(1) }
    }

    /// Pure checks, for `Config::validate`.
    pub(crate) fn validate(&self) -> Result<(), super::ConfigError> {
        let err =
            |key: &str, reason: &str| Err(super::ConfigError { key: format!("proxy.{key}"), reason: reason.into() });
        if let Some(upstream) = &self.upstream
            && !(upstream.starts_with("http://") && upstream.len() > "http://".len())
        {
            return err("upstream", "must be an http:// URL such as http://127.0.0.1:3000");
        }
        if self.max_body_bytes == 0 {
            return err("max_body_bytes", "must be at least 1");
        }
        if self.max_connections == 0 {
            return err("max_connections", "must be at least 1");
        }
        if self.header_timeout_ms == 0 || self.idle_timeout_secs == 0 || self.upstream_timeout_secs == 0 {
            return err("header_timeout_ms", "timeouts must be above zero");
        }
        if let Some(bad) = self.inspect_headers.iter().find(|h| h.is_empty() || h.to_ascii_lowercase() != **h) {
            return err("inspect_headers", &format!("{bad:?} must be a lowercase header name"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_half_the_cores_unless_set() {
        let auto = ProxyConfig::default();
        assert_eq!([1, 2, 3, 8, 64].map(|cores| auto.worker_threads(cores)), [1, 1, 1, 4, 32]);
        let set = ProxyConfig { workers: 3, ..ProxyConfig::default() };
        assert_eq!(set.worker_threads(64), 3);
        let read: ProxyConfig = serde_json::from_str(r#"{"workers": 6}"#).unwrap();
        assert_eq!(read.worker_threads(2), 6);
    }
}
