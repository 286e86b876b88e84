//! The flow-model registry.

use rampart_core::{ModelInfo, ModelRole, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::backend;

pub(super) fn put(conn: &Connection, m: &ModelInfo, body: &str) -> Result<(), StoreError> {
    let classes = serde_json::to_string(&m.classes).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.prepare_cached(
        "INSERT INTO models (name, algo, classes, format_version, rampart_version, data_sha256, metrics, created, added, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(name) DO UPDATE SET algo = excluded.algo, classes = excluded.classes,
             format_version = excluded.format_version, rampart_version = excluded.rampart_version,
             data_sha256 = excluded.data_sha256, metrics = excluded.metrics, created = excluded.created,
             added = excluded.added, body = excluded.body",
    )
    .map_err(backend)?
    .execute(params![
        m.name,
        m.algo,
        classes,
        m.format_version,
        m.rampart_version,
        m.data_sha256,
        m.metrics.to_string(),
        m.created_ms,
        m.added_ms,
        body
    ])
    .map_err(backend)?;
    Ok(())
}

pub(super) fn list(conn: &Connection) -> Result<Vec<ModelInfo>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT name, algo, classes, format_version, rampart_version, data_sha256, metrics, created, added, role
             FROM models ORDER BY added DESC, name",
        )
        .map_err(backend)?;
    let rows = stmt.query_map([], from_row).map_err(backend)?;
    rows.map(|r| r.map_err(backend)?).collect()
}

pub(super) fn body(conn: &Connection, name: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached("SELECT body FROM models WHERE name = ?1")
        .map_err(backend)?
        .query_row([name], |r| r.get(0))
        .optional()
        .map_err(backend)
}

pub(super) fn set_role(conn: &mut Connection, name: &str, role: Option<ModelRole>) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    let exists: bool = tx
        .query_row("SELECT 1 FROM models WHERE name = ?1", [name], |_| Ok(true))
        .optional()
        .map_err(backend)?
        .unwrap_or(false);
    if !exists {
        return Ok(false);
    }
    if let Some(role) = role {
        tx.execute("UPDATE models SET role = NULL WHERE role = ?1", [role.as_str()]).map_err(backend)?;
    }
    tx.execute("UPDATE models SET role = ?2 WHERE name = ?1", params![name, role.map(ModelRole::as_str)])
        .map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(true)
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<Result<ModelInfo, StoreError>> {
    let classes: String = row.get(2)?;
    let metrics: String = row.get(6)?;
    let role: Option<String> = row.get(9)?;
    let corrupt = |what: &str| StoreError::Backend(format!("models table: unreadable {what}"));
    Ok((|| {
        Ok(ModelInfo {
            name: row.get(0).map_err(backend)?,
            algo: row.get(1).map_err(backend)?,
            classes: serde_json::from_str(&classes).map_err(|_| corrupt("classes"))?,
            format_version: row.get(3).map_err(backend)?,
            rampart_version: row.get(4).map_err(backend)?,
            data_sha256: row.get(5).map_err(backend)?,
            metrics: serde_json::from_str(&metrics).map_err(|_| corrupt("metrics"))?,
            created_ms: row.get(7).map_err(backend)?,
            added_ms: row.get(8).map_err(backend)?,
            role: role.as_deref().map(|r| ModelRole::parse(r).ok_or_else(|| corrupt("role"))).transpose()?,
        })
    })())
}
