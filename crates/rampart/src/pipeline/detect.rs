//! The detect stage: detectors → aggregator → saved alerts → callback.

use std::sync::Arc;

use rampart_core::{Alert, Detector, SaveOutcome, Store};
use rampart_detect::Aggregator;
use tokio::sync::mpsc;

use super::{AlertCallback, DetectBatch};
use crate::telemetry::{DETECTION_LATENCY, QUEUE_DEPTH};

pub(super) fn run(
    store: Arc<dyn Store>,
    mut batches: mpsc::Receiver<DetectBatch>,
    mut detectors: Vec<Box<dyn Detector>>,
    mut aggregator: Aggregator,
    mut on_alert: AlertCallback,
) {
    let mut findings = Vec::new();
    while let Some(batch) = batches.blocking_recv() {
        for event in &batch.events {
            for detector in &mut detectors {
                detector.detect(event, &mut findings);
            }
            for finding in findings.drain(..) {
                aggregator.merge(finding);
            }
        }
        persist(store.as_ref(), &mut aggregator, &mut on_alert);
        metrics::histogram!(DETECTION_LATENCY).record(batch.received.elapsed().as_secs_f64());
        metrics::gauge!(QUEUE_DEPTH, "queue" => "detect").set(batches.len() as f64);
    }
    tracing::info!("Detection drained and stopped.");
}

/// Saves what changed in this batch and reports it.
pub(crate) fn persist(store: &dyn Store, aggregator: &mut Aggregator, on_alert: &mut AlertCallback) {
    let changed = aggregator.take_changed();
    if changed.is_empty() {
        return;
    }
    let (alerts, previous): (Vec<Alert>, Vec<u64>) = changed.into_iter().unzip();
    let outcomes = match store.save_alerts(&alerts) {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::error!(%error, alerts = alerts.len(), "Saving alerts failed.");
            return;
        }
    };
    for ((alert, previous), outcome) in alerts.iter().zip(previous).zip(outcomes) {
        if outcome != SaveOutcome::AlreadyResolved {
            on_alert(alert);
            continue;
        }
        // A person resolved it meanwhile: what arrived since is a new alert.
        let Some(fresh) = aggregator.reopen(alert, previous, rampart_core::time::now_ms()) else { continue };
        match store.save_alerts(std::slice::from_ref(&fresh)) {
            Ok(_) => on_alert(&fresh),
            Err(error) => tracing::error!(%error, "Saving a reopened alert failed."),
        }
    }
}
