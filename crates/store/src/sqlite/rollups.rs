//! One-minute rollups of host metrics: the mean and the maximum of every
//! gauge per host and minute, written with the samples and kept after the
//! samples are deleted (a day after they arrived, by default), so a week's
//! CPU chart still has its line at a sixtieth of the rows, and a chart of
//! any range reads one row per minute rather than thirty samples.

use std::collections::BTreeMap;

use rampart_core::{Body, Event, EventKind, MetricRollup, StoreError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::backend;

const MINUTE_MS: i64 = 60_000;
/// The gauges a rollup keeps: the whole host's, the ones charts and an
/// analyst looking back a week read. Per-core and per-interface series
/// (dozens on a busy host) would make each row ten times larger.
const ROLLUP_GAUGES: [&str; 14] = [
    "cpu.total.pct",
    "cpu.iowait.pct",
    "load.1",
    "memory.used.pct",
    "swap.used.pct",
    "net.rx.bytes_per_sec",
    "net.tx.bytes_per_sec",
    "disk.read.bytes_per_sec",
    "disk.write.bytes_per_sec",
    "fd.open",
    "processes.count",
    "processes.forks_per_sec",
    "tcp.established",
    "tcp.syn_recv",
];

/// Samples being folded into rollups before they are written.
#[derive(Debug, Default)]
pub(crate) struct Rollups {
    minutes: BTreeMap<(i64, String), MetricRollup>,
}

impl Rollups {
    /// The rollups of the host metrics samples among `events`.
    pub(crate) fn of(events: &[Event]) -> Rollups {
        let mut rollups = Rollups::default();
        for event in events {
            rollups.add(event);
        }
        rollups
    }

    /// Folds in `event` if it is a host metrics sample.
    fn add(&mut self, event: &Event) {
        let (EventKind::Metric, Some(Body::Metrics(values))) = (event.kind, &event.body) else { return };
        if event.action.as_deref() != Some("host_metrics") {
            return;
        }
        // The sample's own time, unless it claims one far from when it
        // arrived: retention goes by arrival, so must a forged time's row.
        let at = if (event.timestamp_ms - event.ingested_ms).abs() > 86_400_000 {
            event.ingested_ms
        } else {
            event.timestamp_ms
        };
        let minute_ms = at.div_euclid(MINUTE_MS) * MINUTE_MS;
        let host = event.host_name.clone().unwrap_or_default();
        let kept: BTreeMap<String, f64> =
            ROLLUP_GAUGES.iter().filter_map(|g| values.get(*g).map(|v| ((*g).to_owned(), *v))).collect();
        let sample = MetricRollup { minute_ms, host: host.clone(), samples: 1, mean: kept.clone(), max: kept };
        match self.minutes.entry((minute_ms, host)) {
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(sample);
            }
            std::collections::btree_map::Entry::Occupied(mut slot) => merge(slot.get_mut(), &sample),
        }
    }

    /// Writes the rollups, merging each with any row already kept for its
    /// minute (a minute's samples arrive over thirty commits).
    pub(crate) fn write(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        if self.minutes.is_empty() {
            return Ok(());
        }
        let mut read = tx
            .prepare_cached("SELECT samples, means, maxima FROM metric_rollups WHERE minute = ?1 AND host = ?2")
            .map_err(backend)?;
        let mut upsert = tx
            .prepare_cached(
                "INSERT OR REPLACE INTO metric_rollups (minute, host, samples, means, maxima) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend)?;
        for (_, mut rollup) in self.minutes {
            let kept = read
                .query_row(params![rollup.minute_ms, rollup.host], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
                })
                .optional()
                .map_err(backend)?;
            if let Some((samples, means, maxima)) = kept {
                let kept = decode(rollup.minute_ms, rollup.host.clone(), samples, &means, &maxima)?;
                merge(&mut rollup, &kept);
            }
            let json =
                |m: &BTreeMap<String, f64>| serde_json::to_string(m).map_err(|e| StoreError::Backend(e.to_string()));
            upsert
                .execute(params![
                    rollup.minute_ms,
                    rollup.host,
                    rollup.samples as i64,
                    json(&rollup.mean)?,
                    json(&rollup.max)?
                ])
                .map_err(backend)?;
        }
        Ok(())
    }
}

/// Folds `other` into `into`: means weighted by their sample counts.
fn merge(into: &mut MetricRollup, other: &MetricRollup) {
    let (a, b) = (into.samples as f64, other.samples as f64);
    for (name, value) in &other.mean {
        let mean = into.mean.entry(name.clone()).or_insert(*value);
        // A gauge missing from some samples: average over those that had it
        // would need per-gauge counts; the weighted blend is close enough
        // for a chart and exact when every sample has every gauge.
        *mean = (*mean * a + value * b) / (a + b);
    }
    for (name, value) in &other.max {
        let max = into.max.entry(name.clone()).or_insert(*value);
        *max = max.max(*value);
    }
    into.samples += other.samples;
}

fn decode(minute_ms: i64, host: String, samples: i64, means: &str, maxima: &str) -> Result<MetricRollup, StoreError> {
    let corrupt =
        |e: serde_json::Error| StoreError::Corrupt { id: format!("rollup {minute_ms} {host}"), reason: e.to_string() };
    Ok(MetricRollup {
        minute_ms,
        samples: samples.max(0) as u64,
        mean: serde_json::from_str(means).map_err(corrupt)?,
        max: serde_json::from_str(maxima).map_err(corrupt)?,
        host,
    })
}

pub(crate) fn query(conn: &Connection, since_ms: i64, until_ms: i64) -> Result<Vec<MetricRollup>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT minute, host, samples, means, maxima FROM metric_rollups
             WHERE minute >= ?1 AND minute < ?2 ORDER BY minute, host",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![since_ms, until_ms], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?, r.get::<_, String>(3)?, r.get(4)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (minute, host, samples, means, maxima): (i64, String, i64, String, String) = row.map_err(backend)?;
        out.push(decode(minute, host, samples, &means, &maxima)?);
    }
    Ok(out)
}

pub(crate) fn purge(conn: &Connection, cutoff_ms: i64) -> Result<u64, StoreError> {
    let n = conn.execute("DELETE FROM metric_rollups WHERE minute < ?1", [cutoff_ms]).map_err(backend)?;
    Ok(n as u64)
}
