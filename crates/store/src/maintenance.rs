//! The store's own upkeep while a node runs: the bulk of WAL checkpoints
//! beside the writer (every second; the writer finishes each one between
//! commits) and the retention sweep. One thread, stopped on drop.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rampart_core::config::StoreConfig;
use rampart_core::{EventKind, Store};

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
        let (flag, plan) = (stop.clone(), RetentionPlan::from(config));
        let sweep_every = Duration::from_secs(config.retention_interval_secs.max(1));
        let thread = std::thread::Builder::new().name("rampart-store".into()).spawn(move || {
            // The first sweep runs at start: a node down for a week comes back tidy.
            let mut next_sweep = Instant::now();
            loop {
                if Instant::now() >= next_sweep {
                    plan.sweep(store.as_ref(), rampart_core::time::now_ms());
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

/// How long each kind of event, and the rollups, are kept.
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionPlan {
    /// (hours, every kind kept at most that long), shortest first; the
    /// last step names every kind.
    steps: Vec<(u64, Vec<EventKind>)>,
    rollup_hours: u64,
}

impl RetentionPlan {
    pub fn from(config: &StoreConfig) -> RetentionPlan {
        let default_hours = u64::from(config.retention_days) * 24;
        let hours_of =
            |kind: EventKind| config.kind_retention_hours.get(kind.as_str()).map_or(default_hours, |h| u64::from(*h));
        let mut all: Vec<u64> = EventKind::ALL.iter().map(|k| hours_of(*k)).collect();
        all.sort_unstable();
        all.dedup();
        // A chunk may hold several kinds: it goes at a step only when every
        // kind in it is kept no longer than that step.
        let steps = all
            .into_iter()
            .map(|hours| (hours, EventKind::ALL.into_iter().filter(|k| hours_of(*k) <= hours).collect()))
            .collect();
        RetentionPlan { steps, rollup_hours: u64::from(config.rollup_days) * 24 }
    }

    /// Deletes what is past its retention at `now_ms`.
    pub fn sweep(&self, store: &dyn Store, now_ms: i64) {
        let cutoff =
            |hours: u64| now_ms.saturating_sub(i64::try_from(hours).unwrap_or(i64::MAX).saturating_mul(3_600_000));
        for (hours, kinds) in &self.steps {
            let result = if kinds.len() == EventKind::ALL.len() {
                store.purge_events_before(cutoff(*hours))
            } else {
                store.purge_kinds_before(kinds, cutoff(*hours))
            };
            match result {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(deleted = n, hours, kinds = ?kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
                    "Retention sweep deleted old events.")
                }
                Err(error) => tracing::error!(%error, "Retention sweep failed."),
            }
        }
        // Rollups are written by the sweep just run; with none wanted they
        // go at once.
        if let Err(error) = store.purge_rollups_before(cutoff(self.rollup_hours)) {
            tracing::error!(%error, "Retention sweep of rollups failed.");
        }
    }
}
