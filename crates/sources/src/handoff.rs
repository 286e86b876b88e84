//! Handing a batch of events to the ingest queue and waiting for the
//! store's commit: shared by every source that reads from outside.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rampart_core::{Event, IngestQueueError, IngestSender};

/// Queues a batch and waits for the commit, retrying (never dropping) while
/// the queue is full or the store fails. False when the node is shutting down
/// before the batch could be queued.
pub(crate) fn deliver(
    ingest: &IngestSender,
    runtime: &tokio::runtime::Handle,
    events: &[Event],
    source: &'static str,
    stop: &AtomicBool,
) -> bool {
    let mut backoff = Duration::from_millis(100);
    loop {
        let result = runtime.block_on(async {
            match ingest.send(events.to_vec(), source, Duration::from_secs(1)).await {
                Ok(reply) => reply.await.map_err(|_| IngestQueueError::Closed).map(|ack| ack.is_ok()),
                Err(e) => Err(e),
            }
        });
        match result {
            Ok(true) => return true,
            Err(IngestQueueError::Closed) => return false,
            Ok(false) | Err(IngestQueueError::Full) => {
                if stop.load(Ordering::SeqCst) && ingest.is_closed() {
                    return false;
                }
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Sleeps `total`, waking early when `stop` is set.
pub(crate) fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while Instant::now() < until && !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}
