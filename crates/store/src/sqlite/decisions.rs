//! Decisions and the audit trail of actions.

use rampart_core::{
    Action, ActionResult, Decision, DecisionKind, DecisionQuery, Origin, Page, StoreError, StreamCursor, Target,
};
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use super::backend;
use super::filters::Filters;

const COLUMNS: &str = "id, kind, target, start_ticks, created, expires, origin, reason, alert_id, playbook, rate_per_sec, deleted, enforced";

pub(super) fn add(conn: &Connection, d: &Decision) -> Result<Decision, StoreError> {
    let start_ticks = match d.target {
        Target::Process { start_ticks, .. } => start_ticks.map(|t| t as i64),
        Target::Net(_) => None,
    };
    conn.prepare_cached(
        "INSERT INTO decisions (kind, target, start_ticks, created, expires, origin, reason, alert_id, playbook,
                                rate_per_sec, deleted, enforced)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )
    .map_err(backend)?
    .execute(params![
        d.kind.as_str(),
        d.target.to_string(),
        start_ticks,
        d.created_ms,
        d.expires_ms,
        d.origin.as_str(),
        d.reason,
        d.alert_id,
        d.playbook,
        d.rate_per_sec,
        d.deleted_ms,
        d.enforced,
    ])
    .map_err(backend)?;
    Ok(Decision { id: conn.last_insert_rowid(), ..d.clone() })
}

pub(super) fn get(conn: &Connection, id: i64) -> Result<Option<Decision>, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM decisions WHERE id = ?1"))
        .map_err(backend)?
        .query_row([id], from_row)
        .optional()
        .map_err(backend)?
        .transpose()
}

pub(super) fn query(conn: &Connection, q: &DecisionQuery) -> Result<Vec<Decision>, StoreError> {
    let mut f = Filters::new(format!("SELECT {COLUMNS} FROM decisions WHERE 1=1"));
    f.and(" AND deleted IS NULL AND (expires IS NULL OR expires > ?)", q.active_at_ms)
        .and(" AND target = ?", q.target.clone())
        .and(" AND playbook = ?", q.playbook.clone())
        .and(" AND id > ?", q.after_id)
        .and(" AND deleted >= ?", q.deleted_since_ms)
        .push(" ORDER BY id DESC LIMIT ?", [(q.limit.max(1) as i64).into()]);
    let (sql, args) = f.into_parts();
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(args), from_row).map_err(backend)?;
    rows.map(|row| row.map_err(backend)?).collect()
}

pub(super) fn delete(conn: &Connection, id: i64, at_ms: i64) -> Result<Option<Decision>, StoreError> {
    let changed = conn
        .execute("UPDATE decisions SET deleted = ?2 WHERE id = ?1 AND deleted IS NULL", params![id, at_ms])
        .map_err(backend)?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, id)
}

pub(super) fn stream_cursor(conn: &Connection, caller: &str) -> Result<Option<StreamCursor>, StoreError> {
    conn.prepare_cached("SELECT last_id, polled_ms FROM stream_cursors WHERE caller = ?1")
        .map_err(backend)?
        .query_row([caller], |r| Ok(StreamCursor { last_id: r.get(0)?, polled_ms: r.get(1)? }))
        .optional()
        .map_err(backend)
}

pub(super) fn set_stream_cursor(conn: &Connection, caller: &str, cursor: StreamCursor) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO stream_cursors (caller, last_id, polled_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT(caller) DO UPDATE SET last_id = ?2, polled_ms = ?3",
    )
    .map_err(backend)?
    .execute(params![caller, cursor.last_id, cursor.polled_ms])
    .map(|_| ())
    .map_err(backend)
}

pub(super) fn record(conn: &Connection, actions: &[Action]) -> Result<(), StoreError> {
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO actions (decision_id, at, enforcer, op, result, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(backend)?;
    for a in actions {
        insert
            .execute(params![a.decision_id, a.at_ms, a.enforcer, a.op, a.result.as_str(), a.detail])
            .map_err(backend)?;
    }
    Ok(())
}

pub(super) fn actions(conn: &Connection, before_id: Option<i64>, limit: usize) -> Result<Page<Action>, StoreError> {
    let limit = limit.max(1);
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, decision_id, at, enforcer, op, result, detail FROM actions
             WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![before_id.unwrap_or(i64::MAX), limit as i64 + 1], |r| {
            let result: String = r.get(5)?;
            Ok((
                Action {
                    id: r.get(0)?,
                    decision_id: r.get(1)?,
                    at_ms: r.get(2)?,
                    enforcer: r.get(3)?,
                    op: r.get(4)?,
                    result: ActionResult::Failed,
                    detail: r.get(6)?,
                },
                result,
            ))
        })
        .map_err(backend)?;
    let mut items = Vec::new();
    for row in rows {
        let (mut action, result) = row.map_err(backend)?;
        action.result = ActionResult::parse(&result).ok_or_else(|| StoreError::Corrupt {
            id: format!("action {}", action.id),
            reason: format!("unknown result {result:?}"),
        })?;
        items.push(action);
    }
    let next_cursor = crate::page_cursor(&mut items, limit, |a| a.id.to_string());
    Ok(Page { items, next_cursor })
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<Decision, StoreError>> {
    let id: i64 = r.get(0)?;
    let kind: String = r.get(1)?;
    let target: String = r.get(2)?;
    let start_ticks: Option<i64> = r.get(3)?;
    let origin: String = r.get(6)?;
    let decision = (r.get(4)?, r.get(5)?, r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?, r.get(11)?);
    let (created_ms, expires_ms, reason, alert_id, playbook, rate_per_sec, deleted_ms) = decision;
    let enforced: bool = r.get(12)?;
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("decision {id}"), reason };
    Ok((|| {
        let kind = DecisionKind::parse(&kind).ok_or_else(|| corrupt(format!("unknown kind {kind:?}")))?;
        let mut target = Target::parse(&target).map_err(|e| corrupt(e.to_string()))?;
        if let Target::Process { start_ticks: ticks, .. } = &mut target {
            *ticks = start_ticks.map(|t| t as u64);
        }
        let origin = Origin::parse(&origin).ok_or_else(|| corrupt(format!("unknown origin {origin:?}")))?;
        Ok(Decision {
            id,
            kind,
            target,
            created_ms,
            expires_ms,
            origin,
            reason,
            alert_id,
            playbook,
            rate_per_sec,
            deleted_ms,
            enforced,
        })
    })())
}
