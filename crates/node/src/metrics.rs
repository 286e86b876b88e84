//! Metric names the runtime reports, declared once.

/// Batches waiting in a pipeline queue, by `queue`.
pub const QUEUE_DEPTH: &str = "rampart_queue_depth";
/// From ingest receipt to detection done, per batch.
pub const DETECTION_LATENCY: &str = "rampart_detection_latency_seconds";
/// WAL checkpoints run by the idle writer.
pub const CHECKPOINT_SECONDS: &str = "rampart_store_checkpoint_seconds";
/// Events committed, by `kind` and `source` (http, a file source, kafka…).
pub const EVENTS_INGESTED: &str = "rampart_events_ingested_total";
/// From ingest receipt to commit in the store, per batch.
pub const INGEST_LATENCY: &str = "rampart_ingest_latency_seconds";
