//! The in-process pipeline: ingest queue → writer → detect queue → detect.
//!
//! Two dedicated threads, because both stages block (SQLite) or burn CPU
//! (rules) and should not starve the async HTTP workers:
//!
//! * the **writer** takes as many queued batches as fit in one transaction
//!   (group commit), commits them, *then* answers each sender: that answer
//!   is the acknowledgement. It then hands the committed events on.
//! * the **detect** stage runs every detector, merges findings into alerts,
//!   saves changed alerts once per batch, and passes them to `on_alert`
//!   (notifier and live feed).
//!
//! Both queues are bounded, so a slow stage slows the one before it, back to
//! the HTTP client, which gets 503 + Retry-After instead of a silent drop.
//! Closing the ingest queue drains everything queued, in order, and stops.

mod detect;
mod writer;

pub use detect::{Take, persist};
pub use writer::Linger;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Instant;

use rampart_core::{Alert, Detector, Event, IngestReceiver, RateMeter, Store};
use rampart_detect::Aggregator;
use tokio::sync::mpsc;

/// Committed events on their way to detection.
pub struct DetectBatch {
    pub events: Vec<Event>,
    /// When the oldest batch in it reached the ingest queue.
    pub received: Instant,
}

/// Called with each saved alert, and whether it was just opened (playbooks
/// act on new alerts; the notifier and live feed take growth too).
pub type AlertCallback = Box<dyn FnMut(&Alert, bool) + Send>;

pub struct PipelineConfig {
    pub max_commit_events: usize,
    /// Set for stores that want few large inserts.
    pub linger: Option<Linger>,
    pub detect_queue_capacity: usize,
}

/// Clears the health flag if its thread unwinds from a panic.
struct PanicFlag(Arc<AtomicBool>);

impl Drop for PanicFlag {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(false, Ordering::SeqCst);
            tracing::error!("A pipeline thread panicked; the node reports not ready.");
        }
    }
}

/// The running stages; `join` waits for both to drain and stop.
pub struct Pipeline {
    writer: JoinHandle<()>,
    detect: JoinHandle<()>,
}

impl Pipeline {
    /// Starts both stages. If either thread dies of a panic, `healthy` turns
    /// false (the API's `/readyz` reports it) instead of failing silently.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        config: &PipelineConfig,
        healthy: Arc<AtomicBool>,
        store: Arc<dyn Store>,
        ingest: IngestReceiver,
        detectors: Vec<Box<dyn Detector>>,
        aggregator: Aggregator,
        rate: Arc<RateMeter>,
        on_alert: AlertCallback,
    ) -> std::io::Result<Pipeline> {
        let (detect_tx, detect_rx) = mpsc::channel(config.detect_queue_capacity.max(1));
        let writer_store = store.clone();
        let (max_commit, linger) = (config.max_commit_events, config.linger);
        let writer_health = PanicFlag(healthy.clone());
        let writer = std::thread::Builder::new().name("rampart-writer".into()).spawn(move || {
            let _flag = writer_health;
            writer::run(writer_store, ingest, detect_tx, max_commit, linger, rate);
        })?;
        let detect_health = PanicFlag(healthy);
        let detect = std::thread::Builder::new().name("rampart-detect".into()).spawn(move || {
            let _flag = detect_health;
            detect::run(store, detect_rx, detectors, aggregator, on_alert);
        })?;
        Ok(Pipeline { writer, detect })
    }

    /// Blocks until both stages have drained and stopped.
    pub fn join(self) {
        if self.writer.join().is_err() {
            tracing::error!("The writer thread panicked.");
        }
        if self.detect.join().is_err() {
            tracing::error!("The detect thread panicked.");
        }
    }
}
