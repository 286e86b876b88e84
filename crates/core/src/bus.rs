//! The ingest queue: the bounded channel from sources to the store writer.
//!
//! A batch carries a one-shot reply. The writer answers only after the batch
//! is committed, so a source that acknowledges on that reply (the HTTP API
//! answers 2xx) never acknowledges an event a crash could lose. The channel
//! is bounded: when it is full, senders wait or give up, never drop.

use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::event::Event;

/// The writer's answer: the ids the store gave the events, or why it failed.
pub type IngestAck = Result<Vec<i64>, String>;

/// A batch of events on its way to the store.
#[derive(Debug)]
pub struct IngestBatch {
    pub events: Vec<Event>,
    /// Names the source in metrics, e.g. `http`.
    pub source: &'static str,
    pub received: Instant,
    pub ack: Option<oneshot::Sender<IngestAck>>,
}

/// The sending half, shared by every source.
#[derive(Debug, Clone)]
pub struct IngestSender {
    tx: mpsc::Sender<IngestBatch>,
}

pub type IngestReceiver = mpsc::Receiver<IngestBatch>;

/// Makes the queue, `capacity` batches deep.
pub fn ingest_queue(capacity: usize) -> (IngestSender, IngestReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (IngestSender { tx }, rx)
}

/// Why a batch could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestQueueError {
    /// Still full after the wait: the caller should back off and retry.
    Full,
    /// The pipeline is shutting down.
    Closed,
}

impl IngestSender {
    /// Queues a batch and waits up to `wait` for room.
    pub async fn send(
        &self,
        events: Vec<Event>,
        source: &'static str,
        wait: Duration,
    ) -> Result<oneshot::Receiver<IngestAck>, IngestQueueError> {
        let (ack, reply) = oneshot::channel();
        let batch = IngestBatch { events, source, received: Instant::now(), ack: Some(ack) };
        match self.tx.send_timeout(batch, wait).await {
            Ok(()) => Ok(reply),
            Err(mpsc::error::SendTimeoutError::Timeout(_)) => Err(IngestQueueError::Full),
            Err(mpsc::error::SendTimeoutError::Closed(_)) => Err(IngestQueueError::Closed),
        }
    }

    /// Batches waiting in the queue now.
    pub fn depth(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}
