//! `SqliteStore`: the embedded default store.
//!
//! WAL mode lets readers (the API) run beside the one writer. Writes go
//! through one connection behind a mutex, in one transaction per call, so the
//! pipeline's batching becomes SQLite's batching. With `synchronous=NORMAL`
//! a committed transaction survives a crash of the process (the WAL is in the
//! OS page cache); `durability = "full"` also survives a power cut.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rampart_core::config::Durability;
use rampart_core::{
    Action, Alert, AlertQuery, AlertStatus, Decision, DecisionQuery, Event, EventKind, EventQuery, MetricRollup,
    ModelInfo, ModelRole, Page, RuleFired, SaveOutcome, SeriesOf, SeriesPoint, SessionRecord, Store, StoreError,
    StoreStats, StreamCursor, TokenRecord, TopSources,
};
use rusqlite::{Connection, OpenFlags};

use crate::metrics::{EVENTS_PURGED, STORE_WRITE_SECONDS};
use crate::migrations;

mod alerts;
mod codec;
mod decisions;
mod events;
mod filters;
mod models;
mod rollups;
mod series;
mod tokens;

use events::ChunkWriter;
use rollups::Rollups;

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "rampart.db";

const READERS: usize = 4;

/// The one writing connection and what the chunk writer remembers.
struct Writer {
    conn: Connection,
    chunks: ChunkWriter,
}

pub struct SqliteStore {
    writer: Mutex<Writer>,
    /// A side connection that does the bulk of each checkpoint concurrently
    /// with commits (see `checkpoint_concurrently`).
    checkpointer: Mutex<Connection>,
    /// Set when a concurrent checkpoint finished and the writer's small
    /// catch-up checkpoint is due.
    catch_up_due: AtomicBool,
    /// When the writer last checkpointed itself.
    last_writer_checkpoint: Mutex<Instant>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl SqliteStore {
    /// Opens (creating if needed) `data_dir/rampart.db` and migrates it.
    pub fn open(data_dir: &Path, durability: Durability) -> Result<SqliteStore, StoreError> {
        let tightened = rampart_core::private_dir::ensure_private_dir(data_dir)
            .map_err(|e| StoreError::Backend(format!("cannot create data directory {}: {e}", data_dir.display())))?;
        for path in tightened {
            tracing::warn!(path = %path.display(), "Others could read Rampart's data; removed their permissions.");
        }
        let path = data_dir.join(DB_FILE);
        let mut writer = Connection::open(&path).map_err(backend)?;
        writer.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        writer.pragma_update(None, "journal_mode", "WAL").map_err(backend)?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        writer.pragma_update(None, "synchronous", sync).map_err(backend)?;
        // Index inserts touch pages all over the file; a 64 MiB cache keeps
        // them in memory instead of re-reading them for every batch.
        writer.pragma_update(None, "cache_size", -65_536).map_err(backend)?;
        // The pipeline's writer checkpoints when idle (`Store::checkpoint`):
        // an automatic one inside a commit stalled ingest by ~80 ms, and one
        // from a side connection never finished under steady writes, so the
        // WAL grew without bound. Automatic checkpoints remain only as the
        // fallback for a writer that is never idle, at ~64 MiB of WAL.
        writer.pragma_update(None, "wal_autocheckpoint", 16_384).map_err(backend)?;
        writer.pragma_update(None, "journal_size_limit", 128 * 1024 * 1024).map_err(backend)?;
        writer.pragma_update(None, "temp_store", "MEMORY").map_err(backend)?;
        migrations::migrate(&mut writer)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader =
                Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                    .map_err(backend)?;
            reader.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
            readers.push(Mutex::new(reader));
        }
        // SQLite made the database, WAL and shared-memory files just now with
        // the process's umask; make sure they are private whatever it was.
        rampart_core::private_dir::ensure_private_dir(data_dir)
            .map_err(|e| StoreError::Backend(format!("cannot protect {}: {e}", data_dir.display())))?;
        let chunks = ChunkWriter::load(&writer)?;
        let checkpointer = Connection::open(&path).map_err(backend)?;
        checkpointer.busy_timeout(std::time::Duration::from_secs(5)).map_err(backend)?;
        Ok(SqliteStore {
            writer: Mutex::new(Writer { conn: writer, chunks }),
            checkpointer: Mutex::new(checkpointer),
            catch_up_due: AtomicBool::new(false),
            last_writer_checkpoint: Mutex::new(Instant::now()),
            readers,
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The bulk of a checkpoint, on a side connection, while commits go on:
    /// it copies what the WAL holds now into the database file and syncs it.
    /// Under steady writes it cannot finish the WAL by itself (new frames
    /// keep arriving), so it leaves a small catch-up to the writer, which
    /// `Store::checkpoint` does at the writer's next idle moment. The node
    /// calls this every second from a background task.
    /// Whether new chunk bodies are compressed (on from `open`); either
    /// kind reads back.
    pub fn with_compression(mut self, on: bool) -> SqliteStore {
        self.writer.get_mut().unwrap_or_else(|p| p.into_inner()).chunks.compress = on;
        self
    }

    pub fn checkpoint_concurrently(&self) -> Result<(), StoreError> {
        let conn = self.checkpointer.lock().unwrap_or_else(|p| p.into_inner());
        let started = Instant::now();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(backend)?;
        metrics::histogram!(STORE_WRITE_SECONDS, "op" => "checkpoint_concurrent")
            .record(started.elapsed().as_secs_f64());
        self.catch_up_due.store(true, Ordering::SeqCst);
        Ok(())
    }

    fn write<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.write_with(op, |writer| f(&mut writer.conn))
    }

    fn write_with<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Writer) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let started = Instant::now();
        let mut writer = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let out = f(&mut writer);
        metrics::histogram!(STORE_WRITE_SECONDS, "op" => op).record(started.elapsed().as_secs_f64());
        out
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        let conn = self.readers[i].lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }
}

impl Store for SqliteStore {
    fn append_events(&self, events: &mut [Event]) -> Result<(), StoreError> {
        self.write_with("events", |writer| {
            let tx = writer.conn.transaction().map_err(backend)?;
            writer.chunks.append(&tx, events)?;
            Rollups::of(events).write(&tx)?;
            series::record(&tx, events)?;
            let committed = tx.commit().map_err(backend);
            if committed.is_err() {
                // Ids handed out in the failed transaction will be reused.
                writer.chunks = ChunkWriter::load(&writer.conn)?;
            }
            committed
        })
    }

    fn events(&self, q: &EventQuery) -> Result<Page<Event>, StoreError> {
        let limit = q.limit.max(1);
        self.read(|conn| {
            let mut items = events::query(conn, q, limit)?;
            let next_cursor = crate::page_cursor(&mut items, limit, |e| e.id.unwrap_or(0).to_string());
            Ok(Page { items, next_cursor })
        })
    }

    fn save_alerts(&self, list: &[Alert]) -> Result<Vec<SaveOutcome>, StoreError> {
        self.write("alerts", |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let outcomes = alerts::save(&tx, list)?;
            tx.commit().map_err(backend)?;
            Ok(outcomes)
        })
    }

    fn alert(&self, id: &str) -> Result<Option<Alert>, StoreError> {
        self.read(|conn| alerts::get(conn, id))
    }

    fn alerts(&self, q: &AlertQuery) -> Result<Page<Alert>, StoreError> {
        let limit = q.limit.max(1);
        self.read(|conn| {
            let mut items = alerts::query(conn, q, limit)?;
            let next_cursor = crate::page_cursor(&mut items, limit, |a| a.id.clone());
            Ok(Page { items, next_cursor })
        })
    }

    fn set_alert_status(&self, id: &str, status: AlertStatus) -> Result<Option<Alert>, StoreError> {
        let now = rampart_core::time::now_ms();
        self.write("alerts", |conn| alerts::set_status(conn, id, status, now))
    }

    fn stats(&self) -> Result<StoreStats, StoreError> {
        self.read(|conn| {
            let mut stats = StoreStats::default();
            let group = |sql: &str| -> Result<Vec<(String, u64)>, StoreError> {
                let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))).map_err(backend)?;
                rows.map(|r| r.map(|(k, n)| (k, n.max(0) as u64)).map_err(backend)).collect()
            };
            for (kind, n) in group("SELECT kind, n FROM event_counts WHERE n > 0")? {
                stats.events_total += n;
                stats.events_by_kind.insert(kind, n);
            }
            for (severity, n) in group("SELECT severity, COUNT(*) FROM alerts GROUP BY severity")? {
                stats.alerts_total += n;
                stats.alerts_by_severity.insert(severity, n);
            }
            for (status, n) in group("SELECT status, COUNT(*) FROM alerts GROUP BY status")? {
                stats.alerts_by_status.insert(status, n);
            }
            for (severity, n) in group("SELECT severity, COUNT(*) FROM alerts WHERE status = 'open' GROUP BY severity")?
            {
                stats.open_by_severity.insert(severity, n);
            }
            Ok(stats)
        })
    }

    fn rules_fired(&self) -> Result<BTreeMap<String, RuleFired>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT rule_id, severity, COUNT(*), SUM(count), MAX(last_seen) FROM alerts GROUP BY rule_id, severity",
                )
                .map_err(backend)?;
            let mut rows = stmt.query([]).map_err(backend)?;
            let mut fired: BTreeMap<String, RuleFired> = BTreeMap::new();
            while let Some(r) = rows.next().map_err(backend)? {
                let rule: String = r.get(0).map_err(backend)?;
                let alerts = r.get::<_, i64>(2).map_err(backend)?.max(0) as u64;
                let f = fired.entry(rule).or_default();
                f.alerts += alerts;
                f.events += r.get::<_, i64>(3).map_err(backend)?.max(0) as u64;
                f.last_seen_ms = f.last_seen_ms.max(r.get(4).map_err(backend)?);
                f.by_severity.insert(r.get(1).map_err(backend)?, alerts);
            }
            Ok(fired)
        })
    }

    fn purge_events_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.purge_kinds_before(&EventKind::ALL, cutoff_ms)
    }

    fn purge_kinds_before(&self, kinds: &[EventKind], cutoff_ms: i64) -> Result<u64, StoreError> {
        // A few chunks per transaction keeps each write short, so ingest
        // never waits long behind the sweep.
        const CHUNKS_PER_PASS: i64 = 16;
        let mask = events::kind_mask(kinds);
        let mut total = 0u64;
        loop {
            let (deleted, more) = self.write("purge", |conn| {
                let tx = conn.transaction().map_err(backend)?;
                let (deleted, chunks) = events::purge(&tx, cutoff_ms, mask, CHUNKS_PER_PASS)?;
                tx.commit().map_err(backend)?;
                Ok((deleted, chunks == CHUNKS_PER_PASS))
            })?;
            total += deleted;
            if !more {
                break;
            }
        }
        metrics::counter!(EVENTS_PURGED).increment(total);
        Ok(total)
    }

    fn metric_rollups(&self, since_ms: i64, until_ms: i64) -> Result<Vec<MetricRollup>, StoreError> {
        self.read(|conn| rollups::query(conn, since_ms, until_ms))
    }

    fn purge_rollups_before(&self, cutoff_ms: i64) -> Result<u64, StoreError> {
        self.write("purge", |conn| Ok(rollups::purge(conn, cutoff_ms)? + series::purge(conn, cutoff_ms)?))
    }

    fn series(&self, of: SeriesOf, since_ms: i64, until_ms: i64, step_ms: i64) -> Result<Vec<SeriesPoint>, StoreError> {
        self.read(|conn| series::series(conn, of, since_ms, until_ms, step_ms))
    }

    fn top_sources(&self, since_ms: i64, until_ms: i64, limit: usize) -> Result<TopSources, StoreError> {
        let telemetry = events::kind_mask(&EventKind::ALL.into_iter().filter(|k| k.is_telemetry()).collect::<Vec<_>>());
        self.read(|conn| series::top_sources(conn, telemetry, since_ms, until_ms, limit))
    }

    fn add_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.write("tokens", |conn| tokens::add(conn, token))
    }

    fn token(&self, id: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.read(|conn| tokens::get(conn, id))
    }

    fn token_count(&self) -> Result<u64, StoreError> {
        self.read(tokens::count)
    }

    fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        self.read(tokens::all)
    }

    fn revoke_token(&self, id: &str) -> Result<bool, StoreError> {
        self.write("tokens", |conn| tokens::revoke(conn, id))
    }

    fn add_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        self.write("sessions", |conn| tokens::add_session(conn, session))
    }

    fn session(&self, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>, StoreError> {
        self.read(|conn| tokens::session(conn, id_hash, now_ms))
    }

    fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        self.write("sessions", |conn| tokens::delete_session(conn, id_hash))
    }

    fn add_decision(&self, decision: &Decision) -> Result<Decision, StoreError> {
        self.write("decisions", |conn| decisions::add(conn, decision))
    }

    fn add_decisions(&self, ds: &[Decision]) -> Result<Vec<Decision>, StoreError> {
        self.write("decisions", |conn| {
            let tx = conn.transaction().map_err(backend)?;
            let stored = ds.iter().map(|d| decisions::add(&tx, d)).collect::<Result<Vec<_>, _>>()?;
            tx.commit().map_err(backend)?;
            Ok(stored)
        })
    }

    fn decision(&self, id: i64) -> Result<Option<Decision>, StoreError> {
        self.read(|conn| decisions::get(conn, id))
    }

    fn decisions(&self, query: &DecisionQuery) -> Result<Vec<Decision>, StoreError> {
        self.read(|conn| decisions::query(conn, query))
    }

    fn delete_decision(&self, id: i64, at_ms: i64) -> Result<Option<Decision>, StoreError> {
        self.write("decisions", |conn| decisions::delete(conn, id, at_ms))
    }

    fn stream_cursor(&self, caller: &str) -> Result<Option<StreamCursor>, StoreError> {
        self.read(|conn| decisions::stream_cursor(conn, caller))
    }

    fn set_stream_cursor(&self, caller: &str, cursor: StreamCursor) -> Result<(), StoreError> {
        self.write("decisions", |conn| decisions::set_stream_cursor(conn, caller, cursor))
    }

    fn record_actions(&self, actions: &[Action]) -> Result<(), StoreError> {
        self.write("actions", |conn| {
            let tx = conn.transaction().map_err(backend)?;
            decisions::record(&tx, actions)?;
            tx.commit().map_err(backend)
        })
    }

    fn actions(&self, before_id: Option<i64>, limit: usize) -> Result<Page<Action>, StoreError> {
        self.read(|conn| decisions::actions(conn, before_id, limit))
    }

    fn put_model(&self, info: &ModelInfo, body: &str) -> Result<(), StoreError> {
        self.write("models", |conn| models::put(conn, info, body))
    }

    fn models(&self) -> Result<Vec<ModelInfo>, StoreError> {
        self.read(models::list)
    }

    fn model_body(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| models::body(conn, name))
    }

    fn put_triage(&self, alert_id: &str, body: &str) -> Result<(), StoreError> {
        self.write("triage", |conn| {
            conn.prepare_cached(
                "INSERT INTO triage (alert_id, updated, body) VALUES (?1, ?2, ?3)
                 ON CONFLICT(alert_id) DO UPDATE SET updated = excluded.updated, body = excluded.body",
            )
            .map_err(backend)?
            .execute(rusqlite::params![alert_id, rampart_core::time::now_ms(), body])
            .map_err(backend)?;
            Ok(())
        })
    }

    fn triage(&self, alert_id: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            use rusqlite::OptionalExtension;
            conn.prepare_cached("SELECT body FROM triage WHERE alert_id = ?1")
                .map_err(backend)?
                .query_row([alert_id], |r| r.get(0))
                .optional()
                .map_err(backend)
        })
    }

    fn set_model_role(&self, name: &str, role: Option<ModelRole>) -> Result<bool, StoreError> {
        self.write("models", |conn| models::set_role(conn, name, role))
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        // Right after a concurrent checkpoint only the frames written during
        // it remain: cheap to copy and sync. Without a concurrent
        // checkpointer (one-shot commands, tests), the writer does it all,
        // every ten seconds at most.
        let mut last = self.last_writer_checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        let due = self.catch_up_due.swap(false, Ordering::SeqCst) || last.elapsed() >= Duration::from_secs(10);
        if !due {
            return Ok(());
        }
        *last = Instant::now();
        // On the writer connection no commit can interleave, so the
        // checkpoint completes and the next commit restarts the WAL.
        self.write("checkpoint", |conn| {
            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())).map_err(backend)
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| conn.query_row("SELECT 1", [], |_| Ok(())).map_err(backend))
    }
}

#[cfg(test)]
mod rollup_tests;
#[cfg(test)]
mod tests;
