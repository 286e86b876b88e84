//! Background tasks of a running node: the retention sweep, WAL
//! checkpoints beside the writer, and picking up model roles changed from
//! the command line.

use std::sync::Arc;
use std::time::Duration;

use rampart_core::Store;
use rampart_store::SqliteStore;

use crate::models::ModelRegistry;

/// Picks up roles changed from the command line (`rampart models activate`).
pub(crate) async fn poll_models(models: Arc<ModelRegistry>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let models = models.clone();
        match tokio::task::spawn_blocking(move || models.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "Cannot read the model registry."),
            Err(error) => tracing::error!(%error, "Model registry poll failed."),
        }
    }
}

pub(crate) async fn retention_sweep(store: Arc<dyn Store>, days: u32, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let cutoff = rampart_core::time::now_ms() - i64::from(days) * 86_400_000;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.purge_events_before(cutoff)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(deleted = n, days, "Retention sweep deleted old events."),
            Ok(Err(error)) => tracing::error!(%error, "Retention sweep failed."),
            Err(error) => tracing::error!(%error, "Retention sweep task failed."),
        }
    }
}

/// The bulk of WAL checkpointing, every second, beside the writer
/// (`SqliteStore::checkpoint_concurrently`); the writer finishes each one.
pub(crate) async fn checkpoint_loop(store: Arc<SqliteStore>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = store.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || store.checkpoint_concurrently()).await {
            tracing::warn!(%error, "WAL checkpoint failed.");
        }
    }
}
