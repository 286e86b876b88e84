//! The seams take implementations the runtime has never seen: a test
//! `Source` feeds the real pipeline (SQLite store, group commit, detect
//! stage) through `start_source`, and a test `Detector` turns what it
//! stored into an alert. If the runtime reached past the traits into a
//! concrete source or detector, these would not compile or not pass.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rampart_core::config::Durability;
use rampart_core::{
    Alert, Detector, Entity, Event, EventKind, Finding, RateMeter, RuleInfo, Severity, Source, Store, ingest_queue,
};
use rampart_detect::Aggregator;
use rampart_node::pipeline::{Pipeline, PipelineConfig};
use rampart_store::SqliteStore;

/// Sends `batches` batches of three events, each after the previous commit,
/// then waits to be stopped.
struct CountingSource {
    ingest: rampart_core::IngestSender,
    batches: usize,
}

impl Source for CountingSource {
    fn name(&self) -> String {
        "counting".into()
    }

    fn run(self: Box<Self>, runtime: tokio::runtime::Handle, stop: Arc<AtomicBool>) {
        for b in 0..self.batches {
            let events = (0..3)
                .map(|i| {
                    let mut e = Event::new(EventKind::Event, 1_000 + i);
                    e.message = Some(format!("batch {b} event {i}"));
                    e.source.ip = Some("192.0.2.77".parse().unwrap());
                    e
                })
                .collect();
            let ack = runtime.block_on(self.ingest.send(events, "counting", Duration::from_secs(5))).unwrap();
            runtime.block_on(ack).unwrap().unwrap();
        }
        while !stop.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Flags every event from one address.
struct EveryEvent(Arc<RuleInfo>);

impl Detector for EveryEvent {
    fn name(&self) -> &str {
        "every-event"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        if let Some(ip) = event.source.ip {
            out.push(Finding {
                rule: self.0.clone(),
                entity: Entity { field: "source.ip".into(), value: ip.to_string() },
                count: 1,
                first_seen_ms: event.timestamp_ms,
                last_seen_ms: event.timestamp_ms,
                evidence: event.id.into_iter().collect(),
                context: None,
            });
        }
    }
}

#[test]
fn a_test_source_and_a_test_detector_run_in_the_real_pipeline() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let _entered = runtime.enter();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let (ingest, ingest_rx) = ingest_queue(4);
    let rule = Arc::new(RuleInfo {
        id: "test-every-event".into(),
        title: "every event".into(),
        description: String::new(),
        severity: Severity::Low,
        score: 10.0,
        technique: None,
        tags: vec![],
    });
    let alerts: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let seen = alerts.clone();
    let pipeline = Pipeline::start(
        &PipelineConfig { max_commit_events: 1_000, detect_queue_capacity: 4 },
        Arc::new(AtomicBool::new(true)),
        store.clone(),
        ingest_rx,
        vec![Box::new(EveryEvent(rule))],
        Aggregator::new(3_600, 20, 1_000),
        Arc::new(RateMeter::default()),
        Box::new(move |alert: &Alert, _opened: bool| seen.lock().unwrap().push(alert.clone())),
    )
    .unwrap();

    let source = rampart_node::start_source(Box::new(CountingSource { ingest: ingest.clone(), batches: 4 })).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while store.stats().unwrap().events_total < 12 {
        assert!(Instant::now() < deadline, "the source's events never reached the store");
        std::thread::sleep(Duration::from_millis(20));
    }
    source.stop.store(true, Ordering::SeqCst);
    source.thread.join().unwrap();
    drop(ingest);
    pipeline.join();

    let alerts = alerts.lock().unwrap();
    let last = alerts.last().expect("the detector's findings became an alert");
    assert_eq!((last.rule_id.as_str(), last.entity.value.as_str(), last.count), ("test-every-event", "192.0.2.77", 12));
}
