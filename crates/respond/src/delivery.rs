//! One task per sink: a bounded queue, timeout, retries with backoff.

use std::sync::Arc;
use std::time::Duration;

use rampart_core::config::DeliveryConfig;
use rampart_core::{Alert, Sink};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::metrics::{SINK_DELIVERED, SINK_DROPPED, SINK_FAILURES};

/// The notifier's handle on one running sink.
pub struct SinkWorker {
    name: String,
    tx: mpsc::Sender<Alert>,
    task: JoinHandle<()>,
}

impl SinkWorker {
    /// The sink's name (`stdout`, `slack`, a webhook's name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Queues without waiting: a full queue drops the notification, counts
    /// it and says so, because waiting here would stall every other sink.
    pub fn offer(&self, alert: &Alert) {
        if self.tx.try_send(alert.clone()).is_err() {
            metrics::counter!(SINK_DROPPED, "sink" => self.name.clone(), "reason" => "queue_full").increment(1);
            tracing::warn!(sink = %self.name, alert = %alert.id, "Sink queue full; notification dropped.");
        }
    }

    /// Closes the queue and waits (up to `grace`) for queued deliveries.
    pub async fn finish(self, grace: Duration) {
        drop(self.tx);
        if tokio::time::timeout(grace, self.task).await.is_err() {
            tracing::warn!(sink = %self.name, "Sink did not drain before shutdown.");
        }
    }
}

/// Starts a worker for `sink`.
pub fn spawn_sink(sink: Arc<dyn Sink>, capacity: usize, policy: DeliveryConfig) -> SinkWorker {
    let (tx, mut rx) = mpsc::channel::<Alert>(capacity.max(1));
    let name = sink.name().to_owned();
    let task = tokio::spawn(async move {
        while let Some(alert) = rx.recv().await {
            deliver_with_retries(sink.as_ref(), &alert, &policy).await;
        }
    });
    SinkWorker { name, tx, task }
}

async fn deliver_with_retries(sink: &dyn Sink, alert: &Alert, policy: &DeliveryConfig) {
    let name = sink.name().to_owned();
    let mut backoff = Duration::from_millis(policy.backoff_ms);
    for attempt in 0..=policy.retries {
        let result = tokio::time::timeout(Duration::from_millis(policy.timeout_ms), sink.deliver(alert)).await;
        let error = match result {
            Ok(Ok(())) => {
                metrics::counter!(SINK_DELIVERED, "sink" => name.clone()).increment(1);
                return;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("timed out after {} ms", policy.timeout_ms),
        };
        metrics::counter!(SINK_FAILURES, "sink" => name.clone()).increment(1);
        tracing::warn!(sink = %name, alert = %alert.id, attempt = attempt + 1, error = %error, "Sink delivery failed.");
        if attempt < policy.retries {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2);
        }
    }
    metrics::counter!(SINK_DROPPED, "sink" => name.clone(), "reason" => "retries_exhausted").increment(1);
    tracing::error!(sink = %name, alert = %alert.id, "Giving up on notification after retries.");
}
