//! What the console's charts read for any time range: events per minute by
//! kind (a few rows per commit, kept as long as the rollups, so a week's
//! chart outlives a day of telemetry), alerts per interval from the alerts
//! table, and the busiest source addresses read from the chunks themselves.

use std::collections::{BTreeMap, HashMap};

use rampart_core::{Event, SeriesOf, SeriesPoint, StoreError, TopSources};
use rusqlite::{Connection, Transaction, params};

use super::{backend, codec};

const MINUTE_MS: i64 = 60_000;
/// Chunks `top_sources` reads at most (~1 M events): past that it answers
/// for the newest part of the range and says so.
const TOP_SOURCES_CHUNKS: i64 = 1_024;

/// Adds the events to the per-minute counts, inside the append's transaction.
pub(crate) fn record(tx: &Transaction<'_>, events: &[Event]) -> Result<(), StoreError> {
    let mut minutes: BTreeMap<(i64, &'static str), i64> = BTreeMap::new();
    for e in events {
        *minutes.entry((e.timestamp_ms.div_euclid(MINUTE_MS) * MINUTE_MS, e.kind.as_str())).or_default() += 1;
    }
    let mut add = tx
        .prepare_cached(
            "INSERT INTO event_minutes (minute, kind, n) VALUES (?1, ?2, ?3)
             ON CONFLICT(minute, kind) DO UPDATE SET n = n + ?3",
        )
        .map_err(backend)?;
    for ((minute, kind), n) in minutes {
        add.execute(params![minute, kind, n]).map_err(backend)?;
    }
    Ok(())
}

/// The step rounded to whole minutes for event counts (they are kept per
/// minute), at least one.
fn minute_step(step_ms: i64) -> i64 {
    (step_ms.max(MINUTE_MS) / MINUTE_MS) * MINUTE_MS
}

pub(crate) fn series(
    conn: &Connection,
    of: SeriesOf,
    since_ms: i64,
    until_ms: i64,
    step_ms: i64,
) -> Result<Vec<SeriesPoint>, StoreError> {
    let (sql, step) = match of {
        SeriesOf::EventsByKind => (
            "SELECT (minute / ?3) * ?3 AS t, kind, SUM(n) FROM event_minutes
             WHERE minute >= ?1 AND minute < ?2 GROUP BY t, kind ORDER BY t, kind",
            minute_step(step_ms),
        ),
        SeriesOf::AlertsBySeverity => (
            "SELECT (created / ?3) * ?3 AS t, severity, COUNT(*) FROM alerts
             WHERE created >= ?1 AND created < ?2 GROUP BY t, severity ORDER BY t, severity",
            step_ms.max(1),
        ),
        SeriesOf::AlertsByRule => (
            "SELECT (created / ?3) * ?3 AS t, rule_id, COUNT(*) FROM alerts
             WHERE created >= ?1 AND created < ?2 GROUP BY t, rule_id ORDER BY t, rule_id",
            step_ms.max(1),
        ),
    };
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt
        .query_map(params![since_ms, until_ms, step], |r| {
            Ok(SeriesPoint { t_ms: r.get(0)?, key: r.get(1)?, n: r.get::<_, i64>(2)?.max(0) as u64 })
        })
        .map_err(backend)?;
    rows.collect::<Result<_, _>>().map_err(backend)
}

/// Counts `source.ip` in the stored lines of non-telemetry chunks that
/// overlap the range, newest first, reading the flat JSON's bytes rather
/// than decoding each event.
pub(crate) fn top_sources(
    conn: &Connection,
    telemetry_mask: i64,
    since_ms: i64,
    until_ms: i64,
    limit: usize,
) -> Result<TopSources, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT min_ts, max_ts, id, codec, body FROM event_chunks
             WHERE max_ts >= ?1 AND min_ts < ?2 AND (kinds & ~?3) != 0 ORDER BY id DESC LIMIT ?4",
        )
        .map_err(backend)?;
    let mut rows = stmt.query(params![since_ms, until_ms, telemetry_mask, TOP_SOURCES_CHUNKS + 1]).map_err(backend)?;
    let mut counts: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut chunks = 0;
    while let Some(row) = rows.next().map_err(backend)? {
        chunks += 1;
        if chunks > TOP_SOURCES_CHUNKS {
            break;
        }
        let (min_ts, max_ts): (i64, i64) = (row.get(0).map_err(backend)?, row.get(1).map_err(backend)?);
        let whole = min_ts >= since_ms && max_ts < until_ms;
        let body =
            codec::decode(row.get(2).map_err(backend)?, row.get(3).map_err(backend)?, row.get(4).map_err(backend)?)?;
        for line in body.split(|b| *b == b'\n') {
            let Some(ip) = field(line, b"\"source.ip\":\"") else { continue };
            if !whole {
                let at = field(line, b"\"@timestamp\":\"")
                    .and_then(|t| std::str::from_utf8(t).ok())
                    .and_then(rampart_core::time::parse_rfc3339);
                if !at.is_some_and(|t| t >= since_ms && t < until_ms) {
                    continue;
                }
            }
            *counts.entry(ip.to_vec()).or_default() += 1;
        }
    }
    let mut items: Vec<(String, u64)> =
        counts.into_iter().map(|(ip, n)| (String::from_utf8_lossy(&ip).into_owned(), n)).collect();
    items.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    items.truncate(limit);
    Ok(TopSources { items, complete: chunks <= TOP_SOURCES_CHUNKS })
}

/// The string value after `key` in a flat JSON line (addresses and
/// timestamps hold no escapes).
fn field<'a>(line: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let start = line.windows(key.len()).position(|w| w == key)? + key.len();
    let len = line[start..].iter().position(|b| *b == b'"')?;
    Some(&line[start..start + len])
}

pub(crate) fn purge(conn: &Connection, cutoff_ms: i64) -> Result<u64, StoreError> {
    let n = conn.execute("DELETE FROM event_minutes WHERE minute < ?1", [cutoff_ms]).map_err(backend)?;
    Ok(n as u64)
}
