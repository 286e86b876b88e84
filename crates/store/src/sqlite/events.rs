//! Events in chunks: one row per up to 1,024 events.
//!
//! One SQLite row (and three secondary-index entries) per event costs more
//! than the whole per-event budget of the pipeline; measured at 13 µs/event
//! against a 5 µs budget (docs/PERFORMANCE.md). So events are appended to a
//! chunk body, one line each (`id <TAB> ingested <TAB> flat JSON`), and each
//! chunk row carries a summary that lets queries skip it: id and time range,
//! a bitmask of kinds, per-kind counts, and the distinct source IPs. A coarse
//! index maps an IP to the blocks (64 chunks) it appears in, so a lookup by
//! IP reads only the chunks that can hold it. Retention deletes whole chunks
//! once their newest event is past the cutoff.
//!
//! Telemetry (`metric` and `state`: host metrics, process samples) and the
//! rest never share a chunk, so a shorter retention for telemetry deletes
//! its chunks without touching security events stored beside it.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use rampart_core::ecs::{Limits, decode_event, write_flat};
use rampart_core::{Event, EventKind, EventQuery, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params, params_from_iter};

use super::backend;
use super::codec;
use super::filters::Filters;

/// Events per chunk row.
pub(crate) const CHUNK_EVENTS: usize = 1_024;
/// Chunks per block of the IP index.
const CHUNKS_PER_BLOCK: i64 = 64;

fn kind_bit(kind: EventKind) -> i64 {
    1 << EventKind::ALL.iter().position(|k| *k == kind).unwrap_or(0)
}

/// The writer's memory of what the IP index already holds for the current
/// block, so each (ip, block) pair is written once.
#[derive(Debug)]
pub(crate) struct ChunkWriter {
    next_id: i64,
    block: i64,
    block_ips: HashSet<IpAddr>,
    /// Bodies compressed (`[store] compress_chunks`).
    pub(crate) compress: bool,
}

impl ChunkWriter {
    pub(crate) fn load(conn: &Connection) -> Result<ChunkWriter, StoreError> {
        let last: i64 =
            conn.query_row("SELECT COALESCE(MAX(last_id), 0) FROM event_chunks", [], |r| r.get(0)).map_err(backend)?;
        Ok(ChunkWriter { next_id: last + 1, block: -1, block_ips: HashSet::new(), compress: true })
    }

    /// Appends the events as chunk rows inside `tx`, assigning ids. On error
    /// the caller rolls back and this writer forgets what it assumed.
    pub(crate) fn append(&mut self, tx: &Transaction<'_>, events: &mut [Event]) -> Result<(), StoreError> {
        let first_id = self.next_id;
        let result = self.append_chunks(tx, events);
        if result.is_err() {
            self.next_id = first_id;
            self.block = -1;
            self.block_ips.clear();
        }
        result
    }

    fn append_chunks(&mut self, tx: &Transaction<'_>, events: &mut [Event]) -> Result<(), StoreError> {
        // Telemetry first, then the rest: each group takes a contiguous run
        // of ids, so chunk id ranges never interleave (newest-first paging
        // relies on it), and events keep their order within a group.
        let (telemetry, rest): (Vec<usize>, Vec<usize>) =
            (0..events.len()).partition(|&i| events[i].kind.is_telemetry());
        let mut totals: BTreeMap<&'static str, i64> = BTreeMap::new();
        for group in [telemetry, rest] {
            for chunk in group.chunks(CHUNK_EVENTS) {
                self.append_chunk(tx, events, chunk, &mut totals)?;
            }
        }
        let mut count_kind = tx
            .prepare_cached(
                "INSERT INTO event_counts (kind, n) VALUES (?1, ?2) ON CONFLICT(kind) DO UPDATE SET n = n + ?2",
            )
            .map_err(backend)?;
        for (kind, n) in totals {
            count_kind.execute(params![kind, n]).map_err(backend)?;
        }
        Ok(())
    }

    /// One chunk row of `events[i]` for each `i` in `chunk`, ids assigned.
    fn append_chunk(
        &mut self,
        tx: &Transaction<'_>,
        events: &mut [Event],
        chunk: &[usize],
        totals: &mut BTreeMap<&'static str, i64>,
    ) -> Result<(), StoreError> {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO event_chunks (first_id, last_id, min_ts, max_ts, kinds, kind_counts, ips, body, stored, codec)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(backend)?;
        let mut index_ip =
            tx.prepare_cached("INSERT OR IGNORE INTO event_ip_blocks (ip, block) VALUES (?1, ?2)").map_err(backend)?;
        let mut body = Vec::new();
        let (mut min_ts, mut max_ts, mut kinds) = (i64::MAX, i64::MIN, 0i64);
        let mut stored = i64::MIN;
        let mut counts: BTreeMap<&'static str, i64> = BTreeMap::new();
        // Distinct addresses in order of first sight; the set makes the
        // check O(1) (a chunk of scattered traffic has hundreds).
        let mut ips: Vec<IpAddr> = Vec::new();
        let mut seen: HashSet<IpAddr> = HashSet::new();
        let chunk_first = self.next_id;
        for &index in chunk {
            let event = &mut events[index];
            let id = self.next_id;
            self.next_id += 1;
            event.id = Some(id);
            min_ts = min_ts.min(event.timestamp_ms);
            max_ts = max_ts.max(event.timestamp_ms);
            stored = stored.max(event.ingested_ms);
            kinds |= kind_bit(event.kind);
            *counts.entry(event.kind.as_str()).or_default() += 1;
            if let Some(ip) = event.source.ip
                && seen.insert(ip)
            {
                ips.push(ip);
            }
            let mut number = itoa::Buffer::new();
            body.extend_from_slice(number.format(id).as_bytes());
            body.push(b'\t');
            body.extend_from_slice(number.format(event.ingested_ms).as_bytes());
            body.push(b'\t');
            write_flat(event, &mut body);
            body.push(b'\n');
        }
        let ip_list = ips.iter().fold(String::from(" "), |mut acc, ip| {
            rampart_core::push_ip(&mut acc, *ip);
            acc.push(' ');
            acc
        });
        let counts_json = serde_json::to_string(&counts).map_err(|e| StoreError::Backend(e.to_string()))?;
        let (stored_body, codec) = if self.compress { codec::encode(&body) } else { (body, codec::PLAIN) };
        insert
            .execute(params![
                chunk_first,
                self.next_id - 1,
                min_ts,
                max_ts,
                kinds,
                counts_json,
                ip_list,
                stored_body,
                stored,
                codec
            ])
            .map_err(backend)?;
        let block = tx.last_insert_rowid() / CHUNKS_PER_BLOCK;
        if block != self.block {
            self.block = block;
            self.block_ips.clear();
        }
        for ip in ips {
            if self.block_ips.insert(ip) {
                index_ip.execute(params![rampart_core::ip_string(ip), block]).map_err(backend)?;
            }
        }
        for (kind, n) in counts {
            *totals.entry(kind).or_default() += n;
        }
        Ok(())
    }
}

/// Stored documents were validated on the way in; read them back leniently.
fn stored_limits() -> Limits {
    Limits { max_message_bytes: usize::MAX, max_field_bytes: usize::MAX, max_fields: usize::MAX, ..Limits::default() }
}

fn parse_line(line: &[u8]) -> Result<Event, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { id: "event line".into(), reason };
    let mut parts = line.splitn(3, |b| *b == b'\t');
    let (Some(id), Some(ingested), Some(doc)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(corrupt("missing fields".into()));
    };
    let number = |bytes: &[u8]| std::str::from_utf8(bytes).ok().and_then(|s| s.parse::<i64>().ok());
    let (Some(id), Some(ingested)) = (number(id), number(ingested)) else {
        return Err(corrupt("bad id or ingest time".into()));
    };
    let value = serde_json::from_slice(doc).map_err(|e| corrupt(format!("event {id}: {e}")))?;
    let mut event = decode_event(value, &stored_limits(), ingested).map_err(|e| corrupt(format!("event {id}: {e}")))?;
    event.id = Some(id);
    event.ingested_ms = ingested;
    Ok(event)
}

fn line_id(line: &[u8]) -> Option<i64> {
    let end = line.iter().position(|b| *b == b'\t')?;
    std::str::from_utf8(&line[..end]).ok()?.parse().ok()
}

/// Newest-first events matching `q`, up to `q.limit + 1` (the look-ahead
/// tells the caller whether there is another page).
pub(crate) fn query(conn: &Connection, q: &EventQuery, limit: usize) -> Result<Vec<Event>, StoreError> {
    let mut f = Filters::new("SELECT id, codec, body FROM event_chunks WHERE 1=1");
    f.and(" AND max_ts >= ?", q.since_ms)
        .and(" AND min_ts < ?", q.until_ms)
        .and(" AND (kinds & ?) != 0", q.kind.map(kind_bit));
    if let Some(ip) = q.source_ip {
        let clause = format!(
            " AND id / {CHUNKS_PER_BLOCK} IN (SELECT block FROM event_ip_blocks WHERE ip = ?) AND instr(ips, ?) > 0"
        );
        f.push(&clause, [ip.to_string().into(), format!(" {ip} ").into()]);
    }
    f.and(" AND first_id < ?", q.before_id).push(" ORDER BY id DESC", []);
    let (sql, args) = f.into_parts();
    let needle = q.text.as_ref().map(|t| t.to_lowercase());
    let mut stmt = conn.prepare_cached(&sql).map_err(backend)?;
    let mut rows = stmt.query(params_from_iter(args)).map_err(backend)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(backend)? {
        let body =
            codec::decode(row.get(0).map_err(backend)?, row.get(1).map_err(backend)?, row.get(2).map_err(backend)?)?;
        for line in body.split(|b| *b == b'\n').rev().filter(|l| !l.is_empty()) {
            if q.before_id.is_some_and(|before| line_id(line).is_none_or(|id| id >= before)) {
                continue;
            }
            // Cheap byte-level test before the full decode.
            if let Some(n) = &needle
                && !line.to_ascii_lowercase().windows(n.len()).any(|w| w == n.as_bytes())
            {
                continue;
            }
            let event = parse_line(line)?;
            if matches(&event, q, needle.as_deref()) {
                out.push(event);
                if out.len() > limit {
                    return Ok(out);
                }
            }
        }
    }
    Ok(out)
}

fn matches(e: &Event, q: &EventQuery, needle: Option<&str>) -> bool {
    q.since_ms.is_none_or(|t| e.timestamp_ms >= t)
        && q.until_ms.is_none_or(|t| e.timestamp_ms < t)
        && q.kind.is_none_or(|k| e.kind == k)
        && q.source_ip.is_none_or(|ip| e.source.ip == Some(ip))
        && needle.is_none_or(|n| e.message.as_deref().is_some_and(|m| m.to_lowercase().contains(n)))
}

/// The chunk `kinds` bits of `kinds`.
pub(crate) fn kind_mask(kinds: &[EventKind]) -> i64 {
    kinds.iter().fold(0, |mask, k| mask | kind_bit(*k))
}

/// Deletes chunks stored before `cutoff_ms` (by the newest `event.ingested`
/// in them, never by the times events claim) that hold only kinds in
/// `mask`, at most `max_chunks` at a time. Returns the number of events and
/// chunks removed.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    cutoff_ms: i64,
    mask: i64,
    max_chunks: i64,
) -> Result<(u64, i64), StoreError> {
    let doomed: Vec<(i64, String)> = {
        let mut stmt = tx
            .prepare_cached(
                "SELECT id, kind_counts FROM event_chunks WHERE stored < ?1 AND (kinds & ~?2) = 0 ORDER BY id LIMIT ?3",
            )
            .map_err(backend)?;
        let rows =
            stmt.query_map(params![cutoff_ms, mask, max_chunks], |r| Ok((r.get(0)?, r.get(1)?))).map_err(backend)?;
        rows.collect::<Result<_, _>>().map_err(backend)?
    };
    let mut removed: BTreeMap<String, i64> = BTreeMap::new();
    for (id, counts) in &doomed {
        let counts: BTreeMap<String, i64> = serde_json::from_str(counts)
            .map_err(|e| StoreError::Corrupt { id: format!("chunk {id}"), reason: e.to_string() })?;
        for (kind, n) in counts {
            *removed.entry(kind).or_default() += n;
        }
        tx.execute("DELETE FROM event_chunks WHERE id = ?1", [id]).map_err(backend)?;
    }
    for (kind, n) in &removed {
        tx.execute("UPDATE event_counts SET n = MAX(n - ?2, 0) WHERE kind = ?1", params![kind, n]).map_err(backend)?;
    }
    // Blocks older than the oldest remaining chunk can no longer match anything.
    let oldest: Option<i64> =
        tx.query_row("SELECT MIN(id) FROM event_chunks", [], |r| r.get(0)).optional().map_err(backend)?.flatten();
    match oldest {
        Some(oldest) => tx.execute("DELETE FROM event_ip_blocks WHERE block < ?1", [oldest / CHUNKS_PER_BLOCK]),
        None => tx.execute("DELETE FROM event_ip_blocks", []),
    }
    .map_err(backend)?;
    Ok((removed.values().sum::<i64>().max(0) as u64, doomed.len() as i64))
}
