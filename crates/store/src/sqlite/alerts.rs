//! Alerts: a short row of columns for what is queried and what grows, and
//! a JSON document (`alert_docs`) written once, when the alert opens.
//!
//! An open alert under attack is saved every flush (250 ms). With the ~1 KB
//! document in its row, each flush dirtied a page per three alerts and
//! saving was the largest part of detect → store; a short row keeps the
//! pages a flush dirties few. Reads lay the columns over the document.

use rampart_core::{Alert, AlertQuery, AlertStatus, SaveOutcome, Severity, StoreError};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};

use super::backend;
use super::filters::Filters;

/// What every alert read selects, in the order `from_row` expects.
const COLUMNS: &str =
    "a.id, a.status, a.severity, a.score, a.count, a.first_seen, a.last_seen, a.updated, a.evidence, d.doc";
const FROM: &str = "alerts a JOIN alert_docs d ON d.id = a.id";

pub(super) fn save(tx: &Transaction<'_>, alerts: &[Alert]) -> Result<Vec<SaveOutcome>, StoreError> {
    // A resolved alert is left as the person left it.
    let mut grow = tx
        .prepare_cached(
            "UPDATE alerts SET severity = ?2, score = ?3, count = ?4, first_seen = ?5, last_seen = ?6,
                               updated = ?7, evidence = ?8
             WHERE id = ?1 AND status != 'resolved'",
        )
        .map_err(backend)?;
    let mut insert = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO alerts (id, rule_id, severity, status, entity_field, entity_value, count,
                                           first_seen, last_seen, created, updated, score, evidence)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        )
        .map_err(backend)?;
    let mut insert_doc = tx.prepare_cached("INSERT INTO alert_docs (id, doc) VALUES (?1, ?2)").map_err(backend)?;
    let mut outcomes = Vec::with_capacity(alerts.len());
    for alert in alerts {
        let evidence = encode_evidence(&alert.evidence);
        let grown = grow
            .execute(params![
                alert.id,
                alert.severity.as_str(),
                alert.score,
                alert.count as i64,
                alert.first_seen_ms,
                alert.last_seen_ms,
                alert.updated_ms,
                evidence,
            ])
            .map_err(backend)?;
        if grown == 1 {
            outcomes.push(SaveOutcome::Updated);
            continue;
        }
        let inserted = insert
            .execute(params![
                alert.id,
                alert.rule_id,
                alert.severity.as_str(),
                alert.status.as_str(),
                alert.entity.field,
                alert.entity.value,
                alert.count as i64,
                alert.first_seen_ms,
                alert.last_seen_ms,
                alert.created_ms,
                alert.updated_ms,
                alert.score,
                evidence,
            ])
            .map_err(backend)?;
        if inserted == 0 {
            // Present but not updatable: it is resolved.
            outcomes.push(SaveOutcome::AlreadyResolved);
            continue;
        }
        let doc = serde_json::to_string(alert).map_err(|e| StoreError::Backend(format!("cannot encode alert: {e}")))?;
        insert_doc.execute(params![alert.id, doc]).map_err(backend)?;
        outcomes.push(SaveOutcome::Inserted);
    }
    Ok(outcomes)
}

pub(super) fn get(conn: &Connection, id: &str) -> Result<Option<Alert>, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM {FROM} WHERE a.id = ?1"))
        .map_err(backend)?
        .query_row([id], from_row)
        .optional()
        .map_err(backend)?
        .transpose()
}

/// Newest first, one more than `limit` so the caller can tell a next page exists.
pub(super) fn query(conn: &Connection, q: &AlertQuery, limit: usize) -> Result<Vec<Alert>, StoreError> {
    let mut f = Filters::new(format!("SELECT {COLUMNS} FROM {FROM} WHERE 1=1"));
    f.and(" AND a.status = ?", q.status.map(|s| s.as_str().to_owned()))
        .and(" AND a.severity = ?", q.severity.map(|s| s.as_str().to_owned()))
        .and(" AND a.rule_id = ?", q.rule_id.clone())
        .and(" AND a.id < ?", q.before_id.clone())
        .push(" ORDER BY a.id DESC LIMIT ?", [(limit as i64 + 1).into()]);
    let (sql, args) = f.into_parts();
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let rows = stmt.query_map(params_from_iter(args), from_row).map_err(backend)?;
    rows.map(|row| row.map_err(backend)?).collect()
}

/// Sets the status column; the caller's transaction sees the result.
pub(super) fn set_status(
    conn: &Connection,
    id: &str,
    status: AlertStatus,
    now_ms: i64,
) -> Result<Option<Alert>, StoreError> {
    let changed = conn
        .execute("UPDATE alerts SET status = ?2, updated = ?3 WHERE id = ?1", params![id, status.as_str(), now_ms])
        .map_err(backend)?;
    if changed == 0 {
        return Ok(None);
    }
    get(conn, id)
}

/// The row's columns laid over its document. The outer `Result` is
/// SQLite's; the inner one says whether the row makes sense.
fn from_row(r: &Row<'_>) -> rusqlite::Result<Result<Alert, StoreError>> {
    let id: String = r.get(0)?;
    let status: String = r.get(1)?;
    let severity: String = r.get(2)?;
    let score: Option<f64> = r.get(3)?;
    let count: i64 = r.get(4)?;
    let (first_seen_ms, last_seen_ms, updated_ms): (i64, i64, i64) = (r.get(5)?, r.get(6)?, r.get(7)?);
    let evidence: Option<String> = r.get(8)?;
    let doc: String = r.get(9)?;
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("alert {id}"), reason };
    Ok((|| {
        let mut alert: Alert = serde_json::from_str(&doc).map_err(|e| corrupt(e.to_string()))?;
        alert.status = AlertStatus::parse(&status).ok_or_else(|| corrupt(format!("unknown status {status:?}")))?;
        alert.severity = Severity::parse(&severity).ok_or_else(|| corrupt(format!("unknown severity {severity:?}")))?;
        alert.count = count.max(0) as u64;
        alert.first_seen_ms = first_seen_ms;
        alert.last_seen_ms = last_seen_ms;
        alert.updated_ms = updated_ms;
        // Rows saved before migration 2 keep these in the document only.
        if let Some(score) = score {
            alert.score = score;
        }
        if let Some(evidence) = evidence {
            alert.evidence = decode_evidence(&evidence).ok_or_else(|| corrupt(format!("bad evidence {evidence:?}")))?;
        }
        Ok(alert)
    })())
}

/// Event ids as `12,13,40`: cheaper to write than JSON on the hot path.
fn encode_evidence(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len() * 8);
    let mut buf = itoa::Buffer::new();
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(buf.format(*id));
    }
    out
}

fn decode_evidence(text: &str) -> Option<Vec<i64>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|id| id.parse().ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn evidence_round_trips(ids in proptest::collection::vec(any::<i64>(), 0..30)) {
            prop_assert_eq!(decode_evidence(&encode_evidence(&ids)), Some(ids));
        }
    }
}
