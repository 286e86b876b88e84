//! The writer stage: group commit, then acknowledge, then hand on.

use std::sync::Arc;

use rampart_core::{Event, IngestReceiver, RateMeter, Store};
use tokio::sync::mpsc;

use super::DetectBatch;
use crate::telemetry::QUEUE_DEPTH;

pub(super) fn run(
    store: Arc<dyn Store>,
    mut ingest: IngestReceiver,
    detect: mpsc::Sender<DetectBatch>,
    max_commit: usize,
    rate: Arc<RateMeter>,
) {
    while let Some(first) = ingest.blocking_recv() {
        let mut total = first.events.len();
        let mut batches = vec![first];
        while total < max_commit {
            match ingest.try_recv() {
                Ok(batch) => {
                    total += batch.events.len();
                    batches.push(batch);
                }
                Err(_) => break,
            }
        }
        metrics::gauge!(QUEUE_DEPTH, "queue" => "ingest").set(ingest.len() as f64);

        let received = batches.iter().map(|b| b.received).min().unwrap_or_else(std::time::Instant::now);
        let mut sizes = Vec::with_capacity(batches.len());
        let mut events: Vec<Event> = Vec::with_capacity(total);
        for batch in &mut batches {
            sizes.push(batch.events.len());
            events.append(&mut batch.events);
        }
        match store.append_events(&mut events) {
            Ok(()) => {
                rate.record(total as u64);
                let mut offset = 0;
                for (batch, size) in batches.iter_mut().zip(sizes) {
                    let ids = events[offset..offset + size].iter().filter_map(|e| e.id).collect();
                    offset += size;
                    if let Some(ack) = batch.ack.take() {
                        // A client that hung up still had its events committed.
                        let _ = ack.send(Ok(ids));
                    }
                }
                if detect.blocking_send(DetectBatch { events, received }).is_err() {
                    tracing::error!("Detection stage is gone; committed events were not analysed.");
                }
            }
            Err(error) => {
                tracing::error!(%error, events = total, "Store commit failed; the batches are refused.");
                for batch in &mut batches {
                    if let Some(ack) = batch.ack.take() {
                        let _ = ack.send(Err(format!("store commit failed: {error}")));
                    }
                }
            }
        }
    }
    tracing::info!("Writer drained and stopped.");
}
