//! The `Bus` seam: how batches of events travel from sources to the store
//! writer. Today one bounded in-process queue (`ingest_queue`); next Kafka.
//!
//! A batch carries a one-shot reply. The writer answers only after the batch
//! is committed, so a source that acknowledges on that reply (the HTTP API
//! answers 2xx) never acknowledges an event a crash could lose. A bus is
//! bounded: when it is full, senders wait or give up, never drop. A bus
//! whose reader sits in another process (Kafka) answers the reply when it
//! holds the batch durably, and commits its own offsets once the batch's
//! reply on the reading side says it was stored.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::event::Event;
use crate::sink::BoxFuture;

/// The writer's answer: the ids the store gave the events, or why not.
pub type IngestAck = Result<Vec<i64>, IngestError>;

/// Why a queued batch was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The store could not commit it; nothing of it was kept.
    #[error("store commit failed: {0}")]
    Commit(String),
    /// Whoever was to take it next (a remote server) refused it.
    #[error("refused: {0}")]
    Refused(String),
}

/// A batch of events on its way to the store.
#[derive(Debug)]
pub struct IngestBatch {
    pub events: Vec<Event>,
    /// Names the source in metrics, e.g. `http`.
    pub source: &'static str,
    pub received: Instant,
    pub ack: Option<oneshot::Sender<IngestAck>>,
}

/// Why a batch could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestQueueError {
    /// Still full after the wait: the caller should back off and retry.
    Full,
    /// The pipeline is shutting down.
    Closed,
}

/// The publishing half of a bus: every source holds one (through an
/// `IngestSender`).
pub trait Bus: Send + Sync + 'static {
    /// Queues `batch`, waiting up to `wait` for room.
    fn publish(&self, batch: IngestBatch, wait: Duration) -> BoxFuture<'_, Result<(), IngestQueueError>>;
    /// Batches waiting now.
    fn depth(&self) -> usize;
    /// True once no reader will take another batch.
    fn is_closed(&self) -> bool;
}

/// The reading half: the writer stage takes batches from it. It ends
/// (`None`) once every publisher is gone and what they queued is read.
pub trait BusReader: Send + 'static {
    /// The next batch; blocks the thread (the writer has its own).
    fn blocking_recv(&mut self) -> Option<IngestBatch>;
    /// A batch already waiting, if any (for group commit).
    fn try_recv(&mut self) -> Option<IngestBatch>;
    /// The next batch, for async readers (the agent's shipper).
    fn recv(&mut self) -> BoxFuture<'_, Option<IngestBatch>>;
    /// Batches waiting now.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The handle sources publish through; clones share one bus.
#[derive(Clone)]
pub struct IngestSender {
    bus: Arc<dyn Bus>,
}

impl std::fmt::Debug for IngestSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IngestSender").field("depth", &self.bus.depth()).finish()
    }
}

/// The reading half as the writer stage takes it.
pub type IngestReceiver = Box<dyn BusReader>;

impl IngestSender {
    pub fn new(bus: Arc<dyn Bus>) -> IngestSender {
        IngestSender { bus }
    }

    /// Queues a batch and waits up to `wait` for room; the receiver answers
    /// once the batch is committed.
    pub async fn send(
        &self,
        events: Vec<Event>,
        source: &'static str,
        wait: Duration,
    ) -> Result<oneshot::Receiver<IngestAck>, IngestQueueError> {
        let (ack, reply) = oneshot::channel();
        let batch = IngestBatch { events, source, received: Instant::now(), ack: Some(ack) };
        self.bus.publish(batch, wait).await?;
        Ok(reply)
    }

    /// Batches waiting in the bus now.
    pub fn depth(&self) -> usize {
        self.bus.depth()
    }

    pub fn is_closed(&self) -> bool {
        self.bus.is_closed()
    }
}

/// Makes the in-process bus: one bounded queue, `capacity` batches deep.
pub fn ingest_queue(capacity: usize) -> (IngestSender, IngestReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (IngestSender::new(Arc::new(QueueBus(tx))), Box::new(QueueReader(rx)))
}

/// The in-process bus's publishing half.
struct QueueBus(mpsc::Sender<IngestBatch>);

impl Bus for QueueBus {
    fn publish(&self, batch: IngestBatch, wait: Duration) -> BoxFuture<'_, Result<(), IngestQueueError>> {
        Box::pin(async move {
            self.0.send_timeout(batch, wait).await.map_err(|e| match e {
                mpsc::error::SendTimeoutError::Timeout(_) => IngestQueueError::Full,
                mpsc::error::SendTimeoutError::Closed(_) => IngestQueueError::Closed,
            })
        })
    }

    fn depth(&self) -> usize {
        self.0.max_capacity() - self.0.capacity()
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

/// The in-process bus's reading half.
struct QueueReader(mpsc::Receiver<IngestBatch>);

impl BusReader for QueueReader {
    fn blocking_recv(&mut self) -> Option<IngestBatch> {
        self.0.blocking_recv()
    }

    fn try_recv(&mut self) -> Option<IngestBatch> {
        self.0.try_recv().ok()
    }

    fn recv(&mut self) -> BoxFuture<'_, Option<IngestBatch>> {
        Box::pin(self.0.recv())
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}
