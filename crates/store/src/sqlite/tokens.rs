//! API tokens and dashboard sessions: only salted or plain hashes of their
//! secrets are stored (see the server's `auth.rs` for why a fast hash is
//! enough for high-entropy secrets).

use rampart_core::{Role, SessionRecord, StoreError, TokenRecord};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::backend;

const TOKEN_COLUMNS: &str = "id, name, role, salt, hash, created";

fn token_row(r: &Row<'_>) -> rusqlite::Result<(String, String, String, String, String, i64)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?))
}

fn token_record(row: (String, String, String, String, String, i64)) -> Result<TokenRecord, StoreError> {
    let (id, name, role, salt, hash, created_ms) = row;
    let role = Role::parse(&role)
        .ok_or_else(|| StoreError::Corrupt { id: format!("token {id}"), reason: format!("unknown role {role:?}") })?;
    Ok(TokenRecord { id, name, role, salt, hash, created_ms })
}

pub(crate) fn add(conn: &Connection, token: &TokenRecord) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO tokens (id, name, role, salt, hash, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![token.id, token.name, token.role.as_str(), token.salt, token.hash, token.created_ms],
    )
    .map(|_| ())
    .map_err(backend)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<TokenRecord>, StoreError> {
    conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?1"))
        .map_err(backend)?
        .query_row([id], token_row)
        .optional()
        .map_err(backend)?
        .map(token_record)
        .transpose()
}

pub(crate) fn all(conn: &Connection) -> Result<Vec<TokenRecord>, StoreError> {
    let mut stmt =
        conn.prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created, id")).map_err(backend)?;
    let rows = stmt.query_map([], token_row).map_err(backend)?;
    rows.map(|r| token_record(r.map_err(backend)?)).collect()
}

pub(crate) fn count(conn: &Connection) -> Result<u64, StoreError> {
    conn.query_row("SELECT COUNT(*) FROM tokens", [], |r| r.get::<_, i64>(0)).map(|n| n.max(0) as u64).map_err(backend)
}

pub(crate) fn revoke(conn: &mut Connection, id: &str) -> Result<bool, StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    let deleted = tx.execute("DELETE FROM tokens WHERE id = ?1", [id]).map_err(backend)?;
    tx.execute("DELETE FROM sessions WHERE token_id = ?1", [id]).map_err(backend)?;
    tx.commit().map_err(backend)?;
    Ok(deleted > 0)
}

pub(crate) fn add_session(conn: &mut Connection, session: &SessionRecord) -> Result<(), StoreError> {
    let tx = conn.transaction().map_err(backend)?;
    tx.execute("DELETE FROM sessions WHERE expires <= ?1", [session.created_ms]).map_err(backend)?;
    tx.execute(
        "INSERT INTO sessions (id_hash, token_id, created, expires) VALUES (?1, ?2, ?3, ?4)",
        params![session.id_hash, session.token_id, session.created_ms, session.expires_ms],
    )
    .map_err(backend)?;
    tx.commit().map_err(backend)
}

pub(crate) fn session(conn: &Connection, id_hash: &str, now_ms: i64) -> Result<Option<SessionRecord>, StoreError> {
    conn.prepare_cached("SELECT id_hash, token_id, created, expires FROM sessions WHERE id_hash = ?1 AND expires > ?2")
        .map_err(backend)?
        .query_row(params![id_hash, now_ms], |r| {
            Ok(SessionRecord { id_hash: r.get(0)?, token_id: r.get(1)?, created_ms: r.get(2)?, expires_ms: r.get(3)? })
        })
        .optional()
        .map_err(backend)
}

pub(crate) fn delete_session(conn: &Connection, id_hash: &str) -> Result<(), StoreError> {
    conn.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash]).map(|_| ()).map_err(backend)
}
