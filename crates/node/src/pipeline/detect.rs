//! The detect stage: detectors → aggregator → saved alerts → callback.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_core::{Alert, Detector, SaveOutcome, Store};
use rampart_detect::Aggregator;
use tokio::sync::mpsc;

use super::{AlertCallback, DetectBatch};
use crate::metrics::{DETECTION_LATENCY, QUEUE_DEPTH};

/// Operations slower than this are logged: they show up as alert latency.
const SLOW: Duration = Duration::from_millis(250);

/// Growth of open alerts is saved at most this often; new alerts at once.
const FLUSH_EVERY: Duration = Duration::from_millis(250);

pub(super) fn run(
    store: Arc<dyn Store>,
    mut batches: mpsc::Receiver<DetectBatch>,
    mut detectors: Vec<Box<dyn Detector>>,
    mut aggregator: Aggregator,
    mut on_alert: AlertCallback,
) {
    // A tiny runtime of our own, only to wait on the queue with a timeout so
    // pending alert growth is flushed even when no more events arrive.
    let clock = match tokio::runtime::Builder::new_current_thread().enable_time().build() {
        Ok(rt) => rt,
        Err(error) => {
            tracing::error!(%error, "Cannot start the detection stage's timer.");
            return;
        }
    };
    let mut findings = Vec::new();
    let mut last_flush = Instant::now();
    loop {
        let batch = match clock.block_on(async { tokio::time::timeout(FLUSH_EVERY, batches.recv()).await }) {
            Ok(Some(batch)) => batch,
            Ok(None) => break,
            Err(_idle) => {
                for detector in &mut detectors {
                    detector.poll(&mut findings);
                }
                let now = rampart_core::time::now_ms();
                for finding in findings.drain(..) {
                    aggregator.merge_at(finding, now);
                }
                if aggregator.has_changes() {
                    persist(store.as_ref(), &mut aggregator, &mut on_alert, Take::All);
                }
                last_flush = Instant::now();
                continue;
            }
        };
        let now = rampart_core::time::now_ms();
        for detector in &mut detectors {
            detector.detect_batch(&batch.events, &mut findings);
        }
        for finding in findings.drain(..) {
            aggregator.merge_at(finding, now);
        }
        if last_flush.elapsed() >= FLUSH_EVERY {
            persist(store.as_ref(), &mut aggregator, &mut on_alert, Take::All);
            last_flush = Instant::now();
        } else if aggregator.has_opened() {
            persist(store.as_ref(), &mut aggregator, &mut on_alert, Take::Opened);
        }
        metrics::histogram!(DETECTION_LATENCY).record(batch.received.elapsed().as_secs_f64());
        metrics::gauge!(QUEUE_DEPTH, "queue" => "detect").set(batches.len() as f64);
    }
    persist(store.as_ref(), &mut aggregator, &mut on_alert, Take::All);
    tracing::info!("Detection drained and stopped.");
}

/// Which changed alerts to save now.
#[derive(Clone, Copy)]
pub enum Take {
    /// Only alerts opened since the last save: new alerts go out at once.
    Opened,
    /// Everything changed, growth included (the periodic flush).
    All,
}

/// Saves changed alerts and reports them.
pub fn persist(store: &dyn Store, aggregator: &mut Aggregator, on_alert: &mut AlertCallback, take: Take) {
    let changed = match take {
        Take::Opened => aggregator.take_opened(),
        Take::All => aggregator.take_changed(),
    };
    if changed.is_empty() {
        return;
    }
    let (alerts, previous): (Vec<Alert>, Vec<u64>) = changed.into_iter().unzip();
    let started = Instant::now();
    let saved = store.save_alerts(&alerts);
    if started.elapsed() > SLOW {
        tracing::warn!(alerts = alerts.len(), ms = started.elapsed().as_millis() as u64, "Slow alert save.");
    }
    let outcomes = match saved {
        Ok(outcomes) => outcomes,
        Err(error) => {
            tracing::error!(%error, alerts = alerts.len(), "Saving alerts failed.");
            return;
        }
    };
    for ((alert, previous), outcome) in alerts.iter().zip(previous).zip(outcomes) {
        if outcome != SaveOutcome::AlreadyResolved {
            on_alert(alert, outcome == SaveOutcome::Inserted);
            continue;
        }
        // A person resolved it meanwhile: what arrived since is a new alert.
        let Some(fresh) = aggregator.reopen(alert, previous, rampart_core::time::now_ms()) else { continue };
        match store.save_alerts(std::slice::from_ref(&fresh)) {
            Ok(_) => on_alert(&fresh, true),
            Err(error) => tracing::error!(%error, "Saving a reopened alert failed."),
        }
    }
}
