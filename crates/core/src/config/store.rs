//! `[store]`: which backend, retention, durability and the writer's commit size.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
    /// `sqlite` (embedded, the default) or `clickhouse` (a server, for fleets).
    pub kind: StoreKind,
    /// Where the ClickHouse server is, when `kind = "clickhouse"`.
    pub clickhouse: ClickHouseConfig,
    /// Events older than this many days are deleted in the background.
    pub retention_days: u32,
    /// Hours to keep events of the kinds named here instead (`event.kind`:
    /// `metric`, `state`, …). By default host telemetry (`metric`, `state`)
    /// is kept 6 hours at full resolution: an idle host writes ~4 events a
    /// second of it (~0.4 GB a day), more than everything else on most nodes.
    pub kind_retention_hours: BTreeMap<String, u32>,
    /// Days to keep the one-minute rollups: means and maxima of the host's
    /// main gauges, and event counts per kind (0: none).
    pub rollup_days: u32,
    /// How often the retention sweep runs.
    pub retention_interval_secs: u64,
    pub durability: Durability,
    /// Compress stored event chunks (LZ4): ~3× less disk for a little CPU
    /// per event (docs/PERFORMANCE.md); off trades the disk back.
    pub compress_chunks: bool,
    /// Most events the writer commits in one transaction.
    pub max_commit_events: usize,
}

impl Default for StoreConfig {
    fn default() -> StoreConfig {
        StoreConfig {
            kind: StoreKind::Sqlite,
            clickhouse: ClickHouseConfig::default(),
            retention_days: 7,
            kind_retention_hours: BTreeMap::from([("metric".into(), 6), ("state".into(), 6)]),
            rollup_days: 30,
            retention_interval_secs: 3_600,
            durability: Durability::Normal,
            compress_chunks: true,
            max_commit_events: 20_000,
        }
    }
}

/// The store backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreKind {
    Sqlite,
    Clickhouse,
}

/// `[store.clickhouse]`: a server reached over its HTTP interface.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClickHouseConfig {
    /// The HTTP interface, e.g. `http://127.0.0.1:8123`.
    pub url: String,
    /// Created at start when missing, with Rampart's tables.
    pub database: String,
    pub user: String,
    /// The environment variable holding the password (never the password itself).
    pub password_env: Option<String>,
    /// Per request; a slower server counts as down.
    pub timeout_secs: u64,
    /// The writer waits for this many events, or `flush_ms`, before one
    /// insert: ClickHouse wants few large inserts, never one row at a time.
    pub flush_rows: usize,
    pub flush_ms: u64,
}

impl Default for ClickHouseConfig {
    fn default() -> ClickHouseConfig {
        ClickHouseConfig {
            url: "http://127.0.0.1:8123".into(),
            database: "rampart".into(),
            user: "default".into(),
            password_env: None,
            timeout_secs: 30,
            flush_rows: 10_000,
            flush_ms: 1_000,
        }
    }
}
