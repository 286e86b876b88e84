//! The `Sink` seam: somewhere alerts are delivered (stdout, Slack, webhooks).

use std::future::Future;
use std::pin::Pin;

use crate::alert::Alert;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why one delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    #[error("request failed: {0}")]
    Transport(String),
    #[error("receiver answered HTTP {0}")]
    Status(u16),
    #[error("write failed: {0}")]
    Io(String),
}

/// Delivers one alert notification. Retries and queues are the caller's job,
/// so every sink gets the same backoff and failure accounting.
pub trait Sink: Send + Sync {
    /// A short stable name for metrics and logs, e.g. `slack`.
    fn name(&self) -> &str;

    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>>;
}
