//! The seams take implementations the runtime has never seen: a test
//! `Source` feeds the real pipeline (SQLite store, group commit, detect
//! stage) through `start_source`, a test `Detector` turns what it stored
//! into an alert; then a test `Bus` carries the batches, the responder
//! built from `[respond]` puts the playbook's ban through a test
//! `Enforcer`, and a test `Sink` gets the notification. If the runtime
//! reached past the traits into a concrete implementation, these would
//! not compile or not pass.

// Test helpers too should fail loudly.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rampart_core::config::{Durability, PlaybookAction, PlaybookConfig, RespondConfig, ResponseMode, SinksConfig};
use rampart_core::{
    Alert, BoxFuture, Bus, BusReader, Detector, Entity, Event, EventKind, Finding, IngestBatch, IngestQueueError,
    IngestReceiver, IngestSender, RateMeter, RuleCard, Severity, Sink, SinkError, Source, Store, ingest_queue,
};
use rampart_detect::Aggregator;
use rampart_node::pipeline::{Pipeline, PipelineConfig};
use rampart_respond::testing::Recording;
use rampart_respond::{Notifier, ResponderInput, spawn_sink};
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
struct EveryEvent(Arc<RuleCard>);

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

/// A rule of `severity` for the test detector.
fn rule(severity: Severity) -> Arc<RuleCard> {
    Arc::new(RuleCard {
        id: "test-every-event".into(),
        title: "every event".into(),
        description: String::new(),
        severity,
        score: 80.0,
        technique: None,
        tags: vec![],
        logic: None,
    })
}

/// The real pipeline over `store`, reading `bus`, with the test detector.
fn start_pipeline(
    store: &Arc<dyn Store>,
    bus: IngestReceiver,
    severity: Severity,
    on_alert: rampart_node::pipeline::AlertCallback,
) -> Pipeline {
    Pipeline::start(
        &PipelineConfig { max_commit_events: 1_000, linger: None, detect_queue_capacity: 4 },
        Arc::new(AtomicBool::new(true)),
        store.clone(),
        bus,
        vec![Box::new(EveryEvent(rule(severity)))],
        Aggregator::new(3_600, 20, 1_000),
        Arc::new(RateMeter::default()),
        on_alert,
    )
    .unwrap()
}

#[test]
fn a_test_source_and_a_test_detector_run_in_the_real_pipeline() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let _entered = runtime.enter();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let (ingest, ingest_rx) = ingest_queue(4);
    let alerts: Arc<Mutex<Vec<Alert>>> = Arc::default();
    let seen = alerts.clone();
    let pipeline = start_pipeline(
        &store,
        ingest_rx,
        Severity::Low,
        Box::new(move |alert: &Alert, _opened: bool| seen.lock().unwrap().push(alert.clone())),
    );

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

/// A bus that is not a tokio channel: a locked deque with a condition
/// variable, closed when its publishing half is dropped. Counts batches.
#[derive(Default)]
struct Shared {
    queue: Mutex<VecDeque<IngestBatch>>,
    ready: Condvar,
    closed: AtomicBool,
    published: AtomicUsize,
}

struct DequeBus(Arc<Shared>);
struct DequeReader(Arc<Shared>);

fn deque_bus() -> (IngestSender, IngestReceiver, Arc<Shared>) {
    let shared = Arc::new(Shared::default());
    (IngestSender::new(Arc::new(DequeBus(shared.clone()))), Box::new(DequeReader(shared.clone())), shared)
}

impl Drop for DequeBus {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::SeqCst);
        self.0.ready.notify_all();
    }
}

impl Bus for DequeBus {
    fn publish(&self, batch: IngestBatch, _wait: Duration) -> BoxFuture<'_, Result<(), IngestQueueError>> {
        self.0.queue.lock().unwrap().push_back(batch);
        self.0.published.fetch_add(1, Ordering::SeqCst);
        self.0.ready.notify_one();
        Box::pin(std::future::ready(Ok(())))
    }
    fn depth(&self) -> usize {
        self.0.queue.lock().unwrap().len()
    }
    fn is_closed(&self) -> bool {
        false
    }
}

impl BusReader for DequeReader {
    fn blocking_recv(&mut self) -> Option<IngestBatch> {
        let mut queue = self.0.queue.lock().unwrap();
        loop {
            if let Some(batch) = queue.pop_front() {
                return Some(batch);
            }
            if self.0.closed.load(Ordering::SeqCst) {
                return None;
            }
            queue = self.0.ready.wait_timeout(queue, Duration::from_millis(50)).unwrap().0;
        }
    }
    fn try_recv(&mut self) -> Option<IngestBatch> {
        self.0.queue.lock().unwrap().pop_front()
    }
    fn recv(&mut self) -> BoxFuture<'_, Option<IngestBatch>> {
        // Only the writer thread reads this bus, and it uses blocking_recv.
        Box::pin(std::future::ready(self.try_recv()))
    }
    fn len(&self) -> usize {
        self.0.queue.lock().unwrap().len()
    }
}

/// Keeps the alerts it is handed.
#[derive(Default)]
struct KeepingSink(Mutex<Vec<Alert>>);

impl Sink for KeepingSink {
    fn name(&self) -> &str {
        "keeping"
    }
    fn deliver<'a>(&'a self, alert: &'a Alert) -> BoxFuture<'a, Result<(), SinkError>> {
        self.0.lock().unwrap().push(alert.clone());
        Box::pin(std::future::ready(Ok(())))
    }
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_test_bus_enforcer_and_sink_carry_an_attack_from_source_to_ban() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let _entered = runtime.enter();
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir.path(), Durability::Normal).unwrap());
    let (ingest, ingest_rx, bus) = deque_bus();

    let respond = RespondConfig {
        mode: ResponseMode::Enforce,
        builtin_playbooks: false,
        playbooks: vec![PlaybookConfig {
            name: "ban-test".into(),
            rules: vec!["test-every-event".into()],
            tags: vec![],
            min_severity: None,
            min_score: None,
            action: PlaybookAction::BanIp,
            durations: vec!["10m".into()],
            sink: None,
            mode: None,
        }],
        ..RespondConfig::default()
    };
    let enforcer = Recording::default();
    let responder = rampart_respond::build::responder(
        &respond,
        &SinksConfig::default(),
        store.clone(),
        Some(vec![Box::new(enforcer.clone())]),
    )
    .unwrap();
    let (respond_tx, respond_rx) = tokio::sync::mpsc::channel(16);
    let responder = std::thread::spawn(move || responder.run(respond_rx));
    let sink = Arc::new(KeepingSink::default());
    let notifier = Notifier { delay: Duration::ZERO, renotify: Duration::from_secs(60) }
        .spawn(vec![spawn_sink(sink.clone(), 16, Default::default())], 16);
    let notifier = Arc::new(notifier);

    let on_alert = {
        let notifier = notifier.clone();
        Box::new(move |alert: &Alert, opened: bool| {
            notifier.notify(alert.clone());
            if opened {
                respond_tx.blocking_send(ResponderInput::Alert(alert.clone())).unwrap();
            }
        })
    };
    let pipeline = start_pipeline(&store, ingest_rx, Severity::High, on_alert);
    let source = rampart_node::start_source(Box::new(CountingSource { ingest: ingest.clone(), batches: 2 })).unwrap();

    wait_for("the playbook's ban never reached the test enforcer", || !enforcer.entries().is_empty());
    wait_for("the alert never reached the test sink", || !sink.0.lock().unwrap().is_empty());
    source.stop.store(true, Ordering::SeqCst);
    source.thread.join().unwrap();
    drop(ingest);
    pipeline.join();
    responder.join().unwrap();

    assert_eq!(bus.published.load(Ordering::SeqCst), 2, "both batches went over the test bus");
    assert_eq!(store.stats().unwrap().events_total, 6);
    assert_eq!(enforcer.entries(), ["reset", "add 192.0.2.77"], "reconciled at start, then the ban");
    let kept = sink.0.lock().unwrap();
    assert_eq!((kept[0].rule_id.as_str(), kept[0].entity.value.as_str()), ("test-every-event", "192.0.2.77"));
    let actions = store.actions(None, 10).unwrap().items;
    assert!(actions.iter().any(|a| a.enforcer == "recording" && a.decision_id > 0), "{actions:?}");
}
