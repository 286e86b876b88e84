//! `[store]`: retention, durability and the writer's commit size.

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
