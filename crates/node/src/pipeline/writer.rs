//! The writer stage: group commit, then acknowledge, then hand on.

use std::sync::Arc;

use std::time::{Duration, Instant};

use rampart_core::{Event, IngestError, IngestReceiver, RateMeter, Store};
use tokio::sync::mpsc;

use super::DetectBatch;
use crate::metrics::{CHECKPOINT_SECONDS, INGEST_LATENCY, QUEUE_DEPTH};

/// How often a lingering writer looks for more batches.
const LINGER_POLL: Duration = Duration::from_millis(2);

/// For stores that want few large inserts (ClickHouse): wait up to `wait`
/// for `rows` events before committing.
#[derive(Debug, Clone, Copy)]
pub struct Linger {
    pub rows: usize,
    pub wait: Duration,
}

const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);
const CHECKPOINT_AT_LEAST: Duration = Duration::from_secs(10);

pub(super) fn run(
    store: Arc<dyn Store>,
    mut ingest: IngestReceiver,
    detect: mpsc::Sender<DetectBatch>,
    max_commit: usize,
    linger: Option<Linger>,
    rate: Arc<RateMeter>,
) {
    let mut last_checkpoint = Instant::now();
    while let Some(first) = ingest.blocking_recv() {
        let mut total = first.events.len();
        let mut batches = vec![first];
        let deadline = linger.map(|l| (Instant::now() + l.wait, l.rows.min(max_commit)));
        while total < max_commit {
            match ingest.try_recv() {
                Some(batch) => {
                    total += batch.events.len();
                    batches.push(batch);
                }
                // A store that wants large inserts waits a little for more.
                None => match deadline {
                    Some((until, rows)) if total < rows && Instant::now() < until => {
                        std::thread::sleep(LINGER_POLL);
                    }
                    _ => break,
                },
            }
        }
        metrics::gauge!(QUEUE_DEPTH, "queue" => "ingest").set(ingest.len() as f64);

        let received = batches.iter().map(|b| b.received).min().unwrap_or_else(Instant::now);
        let mut sizes = Vec::with_capacity(batches.len());
        let mut events: Vec<Event> = Vec::with_capacity(total);
        for batch in &mut batches {
            sizes.push(batch.events.len());
            events.append(&mut batch.events);
        }
        let started = Instant::now();
        let appended = store.append_events(&mut events);
        if started.elapsed() > Duration::from_millis(250) {
            tracing::warn!(events = total, ms = started.elapsed().as_millis() as u64, "Slow store commit.");
        }
        match appended {
            Ok(()) => {
                rate.record(total as u64);
                count_committed(&batches, &sizes, &events);
                let mut offset = 0;
                let ids: Vec<Vec<i64>> = sizes
                    .iter()
                    .map(|size| {
                        let ids = events[offset..offset + size].iter().filter_map(|e| e.id).collect();
                        offset += size;
                        ids
                    })
                    .collect();
                // Handed to detection before the answer: a bus commits its
                // offsets on the answer, and should not for events no
                // detector has been given.
                if detect.blocking_send(DetectBatch { events, received }).is_err() {
                    tracing::error!("Detection stage is gone; committed events were not analysed.");
                }
                for (batch, ids) in batches.iter_mut().zip(ids) {
                    if let Some(ack) = batch.ack.take() {
                        // A client that hung up still had its events committed.
                        let _ = ack.send(Ok(ids));
                    }
                }
            }
            Err(error) => {
                tracing::error!(%error, events = total, "Store commit failed; the batches are refused.");
                for batch in &mut batches {
                    if let Some(ack) = batch.ack.take() {
                        let _ = ack.send(Err(IngestError::Commit(error.to_string())));
                    }
                }
            }
        }
        // Offer the store a checkpoint while nothing waits (or, under constant
        // load, every ten seconds), so its cost never sits inside a commit.
        // The store decides whether one is due.
        let since = last_checkpoint.elapsed();
        if (ingest.is_empty() && since >= CHECKPOINT_EVERY) || since >= CHECKPOINT_AT_LEAST {
            let started = Instant::now();
            if let Err(error) = store.checkpoint() {
                tracing::warn!(%error, "WAL checkpoint failed.");
            }
            metrics::histogram!(CHECKPOINT_SECONDS).record(started.elapsed().as_secs_f64());
            last_checkpoint = Instant::now();
        }
    }
    if let Err(error) = store.checkpoint() {
        tracing::warn!(%error, "Final WAL checkpoint failed.");
    }
    tracing::info!("Writer drained and stopped.");
}

/// Committed events by kind and source, and each batch's time from receipt
/// to commit. Counted here, at the commit, so a client that hangs up after
/// queueing its batch cannot make the counter miss it.
fn count_committed(batches: &[rampart_core::IngestBatch], sizes: &[usize], events: &[Event]) {
    let mut offset = 0;
    for (batch, size) in batches.iter().zip(sizes) {
        metrics::histogram!(INGEST_LATENCY, "source" => batch.source).record(batch.received.elapsed().as_secs_f64());
        let mut by_kind: std::collections::BTreeMap<&'static str, u64> = std::collections::BTreeMap::new();
        for e in &events[offset..offset + size] {
            *by_kind.entry(e.kind.as_str()).or_default() += 1;
        }
        offset += size;
        for (kind, n) in by_kind {
            metrics::counter!(crate::metrics::EVENTS_INGESTED, "kind" => kind, "source" => batch.source).increment(n);
        }
    }
}
