//! Rampart's persistence backends behind the `rampart_core::Store` seam.
//!
//! Embedded SQLite (`SqliteStore`), zero-config, in the data directory; and
//! ClickHouse (`ClickHouseStore`) for a fleet's workers and API nodes.
//! `open` builds the store `[store]` configures with its upkeep
//! (checkpoints, retention).

mod clickhouse;
mod maintenance;
mod metrics;
mod migrations;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use rampart_core::config::{StoreConfig, StoreKind};
use rampart_core::{Store, StoreError};

pub use clickhouse::ClickHouseStore;
pub use maintenance::{Maintenance, RetentionPlan};
pub use sqlite::{DB_FILE, SqliteStore};

/// A store opened for a running node, and its upkeep thread (stopped when
/// dropped).
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    pub maintenance: Maintenance,
}

/// The store `[store]` configures, without upkeep: for commands that read
/// or change a few records (`rampart token`, `rampart models`).
pub fn connect(config: &StoreConfig, data_dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match config.kind {
        StoreKind::Sqlite => {
            Arc::new(SqliteStore::open(data_dir, config.durability)?.with_compression(config.compress_chunks))
        }
        StoreKind::Clickhouse => Arc::new(ClickHouseStore::open(&config.clickhouse)?),
    })
}

/// Opens the store `[store]` configures in `data_dir` and starts its upkeep.
pub fn open(config: &StoreConfig, data_dir: &Path) -> Result<OpenedStore, StoreError> {
    let (store, sqlite): (Arc<dyn Store>, _) = match config.kind {
        StoreKind::Sqlite => {
            let sqlite =
                Arc::new(SqliteStore::open(data_dir, config.durability)?.with_compression(config.compress_chunks));
            (sqlite.clone(), Some(sqlite))
        }
        StoreKind::Clickhouse => (Arc::new(ClickHouseStore::open(&config.clickhouse)?), None),
    };
    let maintenance = Maintenance::start(store.clone(), sqlite, config)
        .map_err(|e| StoreError::Backend(format!("cannot start the store's upkeep thread: {e}")))?;
    Ok(OpenedStore { store, maintenance })
}

/// Cuts a page read with one extra item to `limit`; the cursor is the last
/// item kept when there was more.
fn page_cursor<T>(items: &mut Vec<T>, limit: usize, cursor_of: impl Fn(&T) -> String) -> Option<String> {
    if items.len() > limit {
        items.truncate(limit);
        items.last().map(cursor_of)
    } else {
        None
    }
}
