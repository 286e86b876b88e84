//! The `Source` seam: the outside world in, events out, into the ingest
//! queue.
//!
//! A source runs on a thread of its own (file followers and the host
//! collector block on the file system; a thread each keeps them from
//! starving the async workers), sends its batches through the
//! `IngestSender` it was built with, waits for each commit before it moves
//! on (so what it acknowledges upstream, a file offset or a journal cursor,
//! is never ahead of the store), and returns when `stop` is set. The node
//! runs every configured source the same way; a new kind of source (packet
//! capture, Kafka) is one more implementation.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

pub trait Source: Send + 'static {
    /// A short name for its thread and its logs, e.g. `files-0`, `host`.
    fn name(&self) -> String;

    /// Runs until `stop` is set, then finishes the batch in flight (and
    /// saves where it was) and returns. `runtime` is the node's, for the
    /// queue's async sends.
    fn run(self: Box<Self>, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>);
}
