//! Rampart's persistence backends behind `rampart_core::Store`.
//!
//! Today one: embedded SQLite (`SqliteStore`), zero-config, in the data
//! directory. ClickHouse joins it later behind the same trait.

mod metrics;
mod migrations;
mod sqlite;

pub use sqlite::{DB_FILE, SqliteStore};
