//! Events: one row each, partitioned by the day Rampart received them (so
//! retention drops whole partitions) and ordered by id (time-ordered, so
//! the API's newest-first pages read the key backwards). The row carries
//! the columns the API filters on and the flat JSON document.
//!
//! The table is a ReplacingMergeTree on the id: an event delivered twice by
//! the bus (a worker died before committing its offset) has the same id
//! and collapses to one row in merges; reads take one row per id.

use rampart_core::ecs::{Limits, decode_event, write_flat};
use rampart_core::{Event, EventKind, EventQuery, StoreError, ip_string};
use serde::Deserialize;

use super::client::{Client, push_string, quote};

pub(super) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS events (
    id Int64, day Date, ingested_ms Int64, ts_ms Int64, kind String, source_ip String, message String, doc String
) ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY id";

/// Encodes the events as RowBinary rows for one insert, in the table's
/// column order. Binary, not JSONEachRow: the document is itself JSON, and
/// escaping it into a JSON string for the server to unescape again cost the
/// server more CPU than anything else in a worker's insert.
pub(super) fn rows(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::with_capacity(events.len() * 512);
    let mut doc = Vec::with_capacity(512);
    for e in events {
        doc.clear();
        write_flat(e, &mut doc);
        out.extend_from_slice(&e.id.unwrap_or_default().to_le_bytes());
        out.extend_from_slice(&day_number(e.ingested_ms).to_le_bytes());
        out.extend_from_slice(&e.ingested_ms.to_le_bytes());
        out.extend_from_slice(&e.timestamp_ms.to_le_bytes());
        push_string(&mut out, e.kind.as_str().as_bytes());
        match e.source.ip {
            Some(ip) => push_string(&mut out, ip_string(ip).as_bytes()),
            None => push_string(&mut out, b""),
        }
        push_string(&mut out, e.message.as_deref().unwrap_or_default().as_bytes());
        push_string(&mut out, &doc);
    }
    out
}

/// A RowBinary `Date`: days since 1970-01-01 (the type's range ends in 2149).
fn day_number(ms: i64) -> u16 {
    u16::try_from(ms.div_euclid(86_400_000)).unwrap_or(if ms < 0 { 0 } else { u16::MAX })
}

/// The UTC day of `ms` as `YYYY-MM-DD`, the partition it lands in.
pub(super) fn day(ms: i64) -> String {
    let text = rampart_core::time::format_ms(ms);
    text.get(..10).unwrap_or("1970-01-01").to_owned()
}

#[derive(Deserialize)]
struct Row {
    id: i64,
    ingested_ms: i64,
    doc: String,
}

/// Newest first, one more than `limit` so the caller can tell a next page exists.
pub(super) fn query(client: &Client, q: &EventQuery, limit: usize) -> Result<Vec<Event>, StoreError> {
    let mut sql = String::from("SELECT id, ingested_ms, doc FROM events WHERE 1 = 1");
    if let Some(since) = q.since_ms {
        sql.push_str(&format!(" AND ts_ms >= {since}"));
    }
    if let Some(until) = q.until_ms {
        sql.push_str(&format!(" AND ts_ms <= {until}"));
    }
    if let Some(kind) = q.kind {
        sql.push_str(&format!(" AND kind = {}", quote(kind.as_str())));
    }
    if let Some(ip) = q.source_ip {
        sql.push_str(&format!(" AND source_ip = {}", quote(&ip_string(ip))));
    }
    if let Some(text) = &q.text {
        sql.push_str(&format!(" AND positionCaseInsensitive(message, {}) > 0", quote(text)));
    }
    if let Some(before) = q.before_id {
        sql.push_str(&format!(" AND id < {before}"));
    }
    // One row per id: a redelivered event may not have merged away yet.
    sql.push_str(&format!(" ORDER BY id DESC LIMIT 1 BY id LIMIT {}", limit + 1));
    client.select::<Row>(&sql)?.into_iter().map(decode).collect()
}

fn decode(row: Row) -> Result<Event, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { id: format!("event {}", row.id), reason };
    let value = serde_json::from_str(&row.doc).map_err(|e| corrupt(e.to_string()))?;
    let mut event = decode_event(value, &stored_limits(), row.ingested_ms).map_err(|e| corrupt(e.to_string()))?;
    event.id = Some(row.id);
    Ok(event)
}

/// Stored documents were validated on the way in; read them back leniently.
fn stored_limits() -> Limits {
    Limits { max_message_bytes: usize::MAX, max_field_bytes: usize::MAX, max_fields: usize::MAX, ..Limits::default() }
}

#[derive(Deserialize)]
struct KindCount {
    kind: String,
    n: u64,
}

/// Events per kind, each id counted once.
pub(super) fn counts(client: &Client) -> Result<Vec<(EventKind, u64)>, StoreError> {
    let rows: Vec<KindCount> = client.select("SELECT kind, uniqExact(id) AS n FROM events GROUP BY kind")?;
    Ok(rows.into_iter().filter_map(|r| EventKind::parse(&r.kind).map(|k| (k, r.n))).collect())
}

#[derive(Deserialize)]
struct Part {
    partition: String,
    rows: u64,
}

/// Drops every day partition wholly before `cutoff_ms`'s day: retention
/// by the partition, which every ClickHouse version can do cheaply.
pub(super) fn purge(client: &Client, cutoff_ms: i64) -> Result<u64, StoreError> {
    let cutoff_day = day(cutoff_ms);
    let parts: Vec<Part> = client.select(&format!(
        "SELECT partition, sum(rows) AS rows FROM system.parts
         WHERE database = {} AND table = 'events' AND active GROUP BY partition",
        quote(client.database())
    ))?;
    let mut dropped = 0;
    for part in parts {
        // Day partitions show as 'YYYY-MM-DD'.
        let name = part.partition.trim_matches('\'');
        if name < cutoff_day.as_str() {
            client.exec(&format!("ALTER TABLE events DROP PARTITION {}", quote(name)))?;
            dropped += part.rows;
        }
    }
    Ok(dropped)
}

#[derive(Deserialize)]
struct Count {
    n: u64,
}

/// Deletes the events of `kinds` received before `cutoff_ms` with a
/// mutation (`ALTER TABLE … DELETE`, which 18.16 has): the server rewrites
/// the affected parts in the background. Returns how many rows it covers.
pub(super) fn purge_kinds(client: &Client, kinds: &[EventKind], cutoff_ms: i64) -> Result<u64, StoreError> {
    if kinds.is_empty() {
        return Ok(0);
    }
    let list = kinds.iter().map(|k| quote(k.as_str())).collect::<Vec<_>>().join(", ");
    let filter = format!("kind IN ({list}) AND ingested_ms < {cutoff_ms}");
    let counted: Vec<Count> = client.select(&format!("SELECT count() AS n FROM events WHERE {filter}"))?;
    let n = counted.first().map_or(0, |c| c.n);
    if n > 0 {
        client.exec(&format!("ALTER TABLE events DELETE WHERE {filter}"))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_dates_are_days_since_the_epoch_clamped_to_the_type() {
        assert_eq!(day_number(0), 0);
        assert_eq!(day_number(86_400_000 * 20_000 + 5), 20_000);
        assert_eq!((day_number(-1), day_number(i64::MAX)), (0, u16::MAX));
    }
}
