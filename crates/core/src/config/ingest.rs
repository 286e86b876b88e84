//! `[ingest]`: the bus's depth, how long a sender waits for room, the
//! limits on what a batch may hold, and per-token and per-client rates.

use serde::{Deserialize, Serialize};

use crate::ecs::Limits;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    pub max_batch_events: usize,
    pub max_batch_bytes: usize,
    pub max_message_bytes: usize,
    /// Batches the ingest queue holds before senders must wait.
    pub queue_capacity: usize,
    /// How long a request waits for queue room before it gets 503.
    pub enqueue_timeout_ms: u64,
    /// Token bucket per API token: events per second, with a burst of one
    /// second's worth. 0 turns it off.
    pub max_events_per_sec_per_token: u32,
    /// The same per client address.
    pub max_events_per_sec_per_client: u32,
    /// Events stamped further ahead of the server's clock than this are
    /// refused: a forged future `@timestamp` would sort first forever.
    pub max_future_skew_secs: u64,
}

impl Default for IngestConfig {
    fn default() -> IngestConfig {
        let limits = Limits::default();
        IngestConfig {
            max_batch_events: limits.max_batch_events,
            max_batch_bytes: limits.max_batch_bytes,
            max_message_bytes: limits.max_message_bytes,
            queue_capacity: 256,
            enqueue_timeout_ms: 1_000,
            max_events_per_sec_per_token: 0,
            max_events_per_sec_per_client: 0,
            max_future_skew_secs: limits.max_future_skew_ms / 1000,
        }
    }
}

impl IngestConfig {
    pub fn limits(&self) -> Limits {
        Limits {
            max_message_bytes: self.max_message_bytes,
            max_batch_events: self.max_batch_events,
            max_batch_bytes: self.max_batch_bytes,
            max_future_skew_ms: self.max_future_skew_secs.saturating_mul(1000),
            ..Limits::default()
        }
    }
}
