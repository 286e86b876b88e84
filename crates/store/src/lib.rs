//! Rampart's persistence backends behind the `rampart_core::Store` seam.
//!
//! Today one: embedded SQLite (`SqliteStore`), zero-config, in the data
//! directory. `open` builds the store `[store]` configures with its upkeep
//! (checkpoints, retention); a ClickHouse backend is one more arm there and
//! one more implementation of the trait.

mod maintenance;
mod metrics;
mod migrations;
mod sqlite;

use std::path::Path;
use std::sync::Arc;

use rampart_core::config::StoreConfig;
use rampart_core::{Store, StoreError};

pub use maintenance::Maintenance;
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
    Ok(Arc::new(SqliteStore::open(data_dir, config.durability)?))
}

/// Opens the store `[store]` configures in `data_dir` and starts its upkeep.
pub fn open(config: &StoreConfig, data_dir: &Path) -> Result<OpenedStore, StoreError> {
    let sqlite = Arc::new(SqliteStore::open(data_dir, config.durability)?);
    let maintenance = Maintenance::start(sqlite.clone(), config)
        .map_err(|e| StoreError::Backend(format!("cannot start the store's upkeep thread: {e}")))?;
    Ok(OpenedStore { store: sqlite, maintenance })
}
