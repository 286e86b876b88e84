//! The store's own upkeep while a node runs: the bulk of WAL checkpoints
//! beside the writer (every second; the writer finishes each one between
//! commits) and the retention sweep. One thread, stopped on drop.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rampart_core::Store;
use rampart_core::config::StoreConfig;

use crate::SqliteStore;

const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);

/// The running upkeep thread; dropping it stops the thread.
pub struct Maintenance {
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts upkeep for `store` as `[store]` configures it: events older
    /// than `retention_days` deleted every `retention_interval_secs`.
    /// `sqlite` is the same store when it is SQLite: it gets WAL checkpoints too.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        sqlite: Option<Arc<SqliteStore>>,
        config: &StoreConfig,
    ) -> std::io::Result<Maintenance> {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (flag, days) = (stop.clone(), config.retention_days);
        let sweep_every = Duration::from_secs(config.retention_interval_secs.max(1));
        let thread = std::thread::Builder::new().name("rampart-store".into()).spawn(move || {
            // The first sweep runs at start: a node down for a week comes back tidy.
            let mut next_sweep = Instant::now();
            loop {
                if Instant::now() >= next_sweep {
                    sweep(store.as_ref(), days);
                    next_sweep = Instant::now() + sweep_every;
                }
                if let Some(Err(error)) = sqlite.as_ref().map(|s| s.checkpoint_concurrently()) {
                    tracing::warn!(%error, "WAL checkpoint failed.");
                }
                let (lock, wake) = &*flag;
                let stopped = lock.lock().unwrap_or_else(|p| p.into_inner());
                let (stopped, _) = wake.wait_timeout(stopped, CHECKPOINT_EVERY).unwrap_or_else(|p| p.into_inner());
                if *stopped {
                    return;
                }
            }
        })?;
        Ok(Maintenance { stop, thread: Some(thread) })
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        let (lock, wake) = &*self.stop;
        *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("The store upkeep thread panicked.");
        }
    }
}

/// Deletes events stored more than `days` ago.
fn sweep(store: &dyn Store, days: u32) {
    let cutoff = rampart_core::time::now_ms() - i64::from(days) * 86_400_000;
    match store.purge_events_before(cutoff) {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, days, "Retention sweep deleted old events."),
        Err(error) => tracing::error!(%error, "Retention sweep failed."),
    }
}
