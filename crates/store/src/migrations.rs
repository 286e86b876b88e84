//! Versioned schema migrations, tracked in SQLite's `user_version`.
//!
//! Each entry runs once, in order, inside a transaction; a released entry is
//! never edited, only followed by a new one. Twenty lines by hand instead of a
//! migration crate keep us off that crate's rusqlite version lock-step.

use rusqlite::Connection;

/// Migration N (1-based) brings the schema to version N.
const MIGRATIONS: &[&str] = &[
    // 1: event chunks (see sqlite/events.rs), alerts, API tokens.
    "CREATE TABLE event_chunks (
        id          INTEGER PRIMARY KEY,
        first_id    INTEGER NOT NULL,
        last_id     INTEGER NOT NULL,
        min_ts      INTEGER NOT NULL,
        max_ts      INTEGER NOT NULL,
        kinds       INTEGER NOT NULL,
        kind_counts TEXT NOT NULL,
        ips         TEXT NOT NULL,
        body        BLOB NOT NULL
    );
    CREATE UNIQUE INDEX event_chunks_last_id ON event_chunks(last_id);
    CREATE INDEX event_chunks_max_ts ON event_chunks(max_ts);

    CREATE TABLE event_ip_blocks (
        ip    TEXT NOT NULL,
        block INTEGER NOT NULL,
        PRIMARY KEY (ip, block)
    ) WITHOUT ROWID;

    CREATE TABLE event_counts (
        kind TEXT PRIMARY KEY,
        n    INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE alerts (
        id           TEXT PRIMARY KEY,
        rule_id      TEXT NOT NULL,
        severity     TEXT NOT NULL,
        status       TEXT NOT NULL,
        entity_field TEXT NOT NULL,
        entity_value TEXT NOT NULL,
        count        INTEGER NOT NULL,
        first_seen   INTEGER NOT NULL,
        last_seen    INTEGER NOT NULL,
        created      INTEGER NOT NULL,
        updated      INTEGER NOT NULL,
        doc          TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX alerts_status ON alerts(status, id);
    CREATE INDEX alerts_rule ON alerts(rule_id, id);
    CREATE INDEX alerts_severity ON alerts(severity, id);

    CREATE TABLE tokens (
        id      TEXT PRIMARY KEY,
        name    TEXT NOT NULL,
        role    TEXT NOT NULL,
        salt    TEXT NOT NULL,
        hash    TEXT NOT NULL,
        created INTEGER NOT NULL
    ) WITHOUT ROWID;",
    // 2: an alert's document moves to its own table, written once when the
    // alert opens; growth updates a short row (see sqlite/alerts.rs).
    // score and evidence become columns, NULL for alerts saved before.
    "CREATE TABLE alert_docs (
        id  TEXT PRIMARY KEY,
        doc TEXT NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO alert_docs (id, doc) SELECT id, doc FROM alerts;
    CREATE TABLE alerts_v2 (
        id           TEXT PRIMARY KEY,
        rule_id      TEXT NOT NULL,
        severity     TEXT NOT NULL,
        status       TEXT NOT NULL,
        entity_field TEXT NOT NULL,
        entity_value TEXT NOT NULL,
        count        INTEGER NOT NULL,
        first_seen   INTEGER NOT NULL,
        last_seen    INTEGER NOT NULL,
        created      INTEGER NOT NULL,
        updated      INTEGER NOT NULL,
        score        REAL,
        evidence     TEXT
    ) WITHOUT ROWID;
    INSERT INTO alerts_v2 (id, rule_id, severity, status, entity_field, entity_value, count,
                           first_seen, last_seen, created, updated)
        SELECT id, rule_id, severity, status, entity_field, entity_value, count,
               first_seen, last_seen, created, updated FROM alerts;
    DROP TABLE alerts;
    ALTER TABLE alerts_v2 RENAME TO alerts;
    CREATE INDEX alerts_status ON alerts(status, id);
    CREATE INDEX alerts_rule ON alerts(rule_id, id);
    CREATE INDEX alerts_severity ON alerts(severity, id);",
    // 3: decisions (kept after expiry or deletion, for the record) and the
    // audit trail of what enforcers did with them.
    "CREATE TABLE decisions (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        kind         TEXT NOT NULL,
        target       TEXT NOT NULL,
        start_ticks  INTEGER,
        created      INTEGER NOT NULL,
        expires      INTEGER,
        origin       TEXT NOT NULL,
        reason       TEXT NOT NULL,
        alert_id     TEXT,
        playbook     TEXT,
        rate_per_sec INTEGER,
        deleted      INTEGER,
        enforced     INTEGER NOT NULL
    );
    CREATE INDEX decisions_target ON decisions(target, created);
    CREATE INDEX decisions_expires ON decisions(expires);

    CREATE TABLE actions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        decision_id INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        enforcer    TEXT NOT NULL,
        op          TEXT NOT NULL,
        result      TEXT NOT NULL,
        detail      TEXT NOT NULL
    );
    CREATE INDEX actions_decision ON actions(decision_id);",
    // 4: where each caller of the decision stream left off, so a server
    // restart does not make agents miss deletions.
    "CREATE TABLE stream_cursors (
        caller    TEXT PRIMARY KEY,
        last_id   INTEGER NOT NULL,
        polled_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX decisions_deleted ON decisions(deleted) WHERE deleted IS NOT NULL;",
    // 5: the flow-model registry. `role` is 'active', 'shadow' or NULL; at
    // most one model holds each role.
    "CREATE TABLE models (
        name            TEXT PRIMARY KEY,
        algo            TEXT NOT NULL,
        classes         TEXT NOT NULL,
        format_version  INTEGER NOT NULL,
        rampart_version TEXT NOT NULL,
        data_sha256     TEXT NOT NULL,
        metrics         TEXT NOT NULL,
        created         INTEGER NOT NULL,
        added           INTEGER NOT NULL,
        role            TEXT,
        body            TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE UNIQUE INDEX models_role ON models(role) WHERE role IS NOT NULL;",
    // 6: dashboard sessions (a random id bound to a token, so logout and
    // revocation end them), and retention by when a chunk was stored rather
    // than by the times its events claim (one event stamped in the year 9999
    // kept its whole chunk forever). Chunks stored before take their newest
    // event time, capped at now.
    "CREATE TABLE sessions (
        id_hash  TEXT PRIMARY KEY,
        token_id TEXT NOT NULL,
        created  INTEGER NOT NULL,
        expires  INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX sessions_token ON sessions(token_id);
    ALTER TABLE event_chunks ADD COLUMN stored INTEGER NOT NULL DEFAULT 0;
    UPDATE event_chunks SET stored = MIN(max_ts, CAST(strftime('%s', 'now') AS INTEGER) * 1000);
    CREATE INDEX event_chunks_stored ON event_chunks(stored);",
    // 7: one-minute rollups of host metrics (see sqlite/rollups.rs) and
    // event counts per minute and kind (sqlite/series.rs), kept longer than
    // the events they summarise. Counts start with this version: events
    // stored before it are not in them.
    "CREATE TABLE event_minutes (
        minute INTEGER NOT NULL,
        kind   TEXT NOT NULL,
        n      INTEGER NOT NULL,
        PRIMARY KEY (minute, kind)
    ) WITHOUT ROWID;
    CREATE TABLE metric_rollups (
        minute  INTEGER NOT NULL,
        host    TEXT NOT NULL,
        samples INTEGER NOT NULL,
        means   TEXT NOT NULL,
        maxima  TEXT NOT NULL,
        PRIMARY KEY (minute, host)
    ) WITHOUT ROWID;",
    // 8: chunk bodies compressed (sqlite/codec.rs); those stored before
    // stay plain, codec 0.
    "ALTER TABLE event_chunks ADD COLUMN codec INTEGER NOT NULL DEFAULT 0;",
    // 9: an alert's triage (LLM advice or its rule-based fallback), one
    // JSON document per alert, replaced when the alert is triaged again.
    "CREATE TABLE triage (
        alert_id TEXT PRIMARY KEY,
        updated  INTEGER NOT NULL,
        body     TEXT NOT NULL
    ) WITHOUT ROWID;",
];

/// The schema version this binary writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to `LATEST`; refuses a database from a newer binary.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), rampart_core::StoreError> {
    migrate_to(conn, LATEST)
}

/// Brings the database up to `target` (tests build old schemas with it).
pub(crate) fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), rampart_core::StoreError> {
    let backend = |e: rusqlite::Error| rampart_core::StoreError::Backend(e.to_string());
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(backend)?;
    if current > LATEST {
        return Err(rampart_core::StoreError::SchemaTooNew { found: current, known: LATEST });
    }
    let pending = MIGRATIONS.iter().enumerate().take(target.clamp(0, LATEST) as usize).skip(current as usize);
    for (index, sql) in pending {
        let tx = conn.transaction().map_err(backend)?;
        tx.execute_batch(sql).map_err(backend)?;
        tx.pragma_update(None, "user_version", index as i64 + 1).map_err(backend)?;
        tx.commit().map_err(backend)?;
    }
    Ok(())
}
