//! `[http]`: how the API and dashboard listener treats its clients. Every
//! limit here exists because a client once used its absence (see
//! docs/SECURITY.md).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Open connections at most. Past it a small overflow lane serves one
    /// request per connection under a one-second header deadline (so a
    /// health check still gets through); past that, connections wait.
    /// Lowered at start if the open-files limit cannot hold it.
    pub max_connections: usize,
    /// A request's whole header block must arrive within this.
    pub header_timeout_ms: u64,
    /// A connection that moves no byte either way for this long is closed.
    pub idle_timeout_secs: u64,
    /// On shutdown, requests in flight get this long; then every
    /// connection still open is closed.
    pub shutdown_grace_secs: u64,
    /// Largest body of a small JSON request (login, alert update, decision,
    /// kill, token), checked while it streams in.
    pub max_json_body_bytes: usize,
    /// Ingest bodies being read or decoded at once, in bytes, across all
    /// requests; a request that cannot get room within the enqueue timeout
    /// is answered 503.
    pub max_inflight_ingest_bytes: usize,
    /// Failed authentications one client address may make per minute;
    /// beyond that it gets 429 until the minute is over.
    pub max_auth_failures_per_min: u32,
    /// Serve HTTPS with this PEM certificate chain (with `tls_key`).
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key for `tls_cert`.
    pub tls_key: Option<PathBuf>,
}

impl Default for HttpConfig {
    fn default() -> HttpConfig {
        HttpConfig {
            max_connections: 512,
            header_timeout_ms: 10_000,
            idle_timeout_secs: 60,
            shutdown_grace_secs: 5,
            max_json_body_bytes: 16 * 1024,
            max_inflight_ingest_bytes: 64 * 1024 * 1024,
            max_auth_failures_per_min: 10,
            tls_cert: None,
            tls_key: None,
        }
    }
}

impl HttpConfig {
    /// Pure checks, for `Config::validate`.
    pub(crate) fn validate(&self) -> Result<(), super::ConfigError> {
        let err =
            |key: &str, reason: &str| Err(super::ConfigError { key: format!("http.{key}"), reason: reason.into() });
        for (key, value) in [
            ("max_connections", self.max_connections as u64),
            ("header_timeout_ms", self.header_timeout_ms),
            ("idle_timeout_secs", self.idle_timeout_secs),
            ("max_auth_failures_per_min", u64::from(self.max_auth_failures_per_min)),
        ] {
            if value == 0 {
                return err(key, "must be at least 1");
            }
        }
        if self.max_json_body_bytes < 1024 {
            return err("max_json_body_bytes", "must be at least 1024");
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return err("tls_cert", "tls_cert and tls_key go together");
        }
        Ok(())
    }
}
