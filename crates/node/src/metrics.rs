//! Metric names the runtime reports, declared once.

/// Batches waiting in a pipeline queue, by `queue`.
pub const QUEUE_DEPTH: &str = "rampart_queue_depth";
/// From ingest receipt to detection done, per batch.
pub const DETECTION_LATENCY: &str = "rampart_detection_latency_seconds";
/// WAL checkpoints run by the idle writer.
pub const CHECKPOINT_SECONDS: &str = "rampart_store_checkpoint_seconds";
