//! `KafkaReader`: the reading half of the Kafka bus, one member of the
//! workers' consumer group. At least once: a message's offset is stored
//! for commit only after the writer answered that its batch is stored
//! (and handed to detection); a batch the store refused is read again
//! from the broker (the reader seeks back) after a pause, so while the
//! store is down nothing is committed and the group's lag grows.
//!
//! Each event's id comes from its message (`bus_record_id`), so whatever
//! is read twice — after a refusal, or by the member that takes over a
//! dead one's partitions — has the same id and collapses in the store.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rampart_core::config::KafkaConfig;
use rampart_core::ecs::decode_event;
use rampart_core::{BoxFuture, BusReader, IngestAck, IngestBatch, Limits, bus_record_id};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, ClientContext, Offset};
use tokio::sync::oneshot;

use crate::BusError;

/// How long one poll waits for the first message of a batch.
const POLL: Duration = Duration::from_millis(100);
/// How long a refused batch waits before it is read again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Logs the group's rebalances: the first thing to look at when a worker
/// seems idle.
pub struct GroupLog;

impl ClientContext for GroupLog {}

impl ConsumerContext for GroupLog {
    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(list) => {
                let partitions: Vec<i32> = list.elements().iter().map(|e| e.partition()).collect();
                tracing::info!(?partitions, "Kafka partitions assigned to this worker.");
            }
            Rebalance::Revoke(list) => tracing::info!(count = list.count(), "Kafka partitions revoked."),
            Rebalance::Error(error) => tracing::warn!(%error, "Kafka rebalance failed."),
        }
    }
}

/// A batch handed to the writer and not yet answered.
struct InFlight {
    reply: oneshot::Receiver<IngestAck>,
    /// Per partition: the batch's lowest and highest offsets.
    span: BTreeMap<i32, (i64, i64)>,
}

pub struct KafkaReader {
    consumer: BaseConsumer<GroupLog>,
    topic: String,
    max_events: usize,
    limits: Limits,
    in_flight: VecDeque<InFlight>,
    stop: Arc<AtomicBool>,
    /// Set after a refusal: nothing is read before it.
    paused_until: Option<Instant>,
}

impl KafkaReader {
    /// Joins the group and subscribes; `stop` ends `blocking_recv` (the
    /// node's shutdown), after which the stored offsets are committed.
    pub fn new(config: &KafkaConfig, limits: Limits, stop: Arc<AtomicBool>) -> Result<KafkaReader, BusError> {
        let consumer: BaseConsumer<GroupLog> = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", &config.group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (config.session_timeout_ms / 3).max(100).to_string())
            .create_with_context(GroupLog)
            .map_err(|e| BusError::Client(e.to_string()))?;
        consumer.subscribe(&[&config.topic]).map_err(|e| BusError::Client(e.to_string()))?;
        Ok(KafkaReader {
            consumer,
            topic: config.topic.clone(),
            max_events: config.max_poll_events.max(1),
            limits,
            in_flight: VecDeque::new(),
            stop,
            paused_until: None,
        })
    }

    /// Stores the offsets of answered batches, in order; on a refusal,
    /// seeks every partition back to the oldest unstored message.
    fn settle(&mut self) {
        while let Some(front) = self.in_flight.front_mut() {
            match front.reply.try_recv() {
                Ok(Ok(_)) => {
                    let done = self.in_flight.pop_front().map(|b| b.span).unwrap_or_default();
                    for (partition, (_, last)) in done {
                        // Fails only for a partition this member has lost meanwhile: its new owner reads it again.
                        if let Err(error) = self.consumer.store_offset(&self.topic, partition, last) {
                            tracing::debug!(%error, partition, "Offset not stored.");
                        }
                    }
                }
                Err(oneshot::error::TryRecvError::Empty) => return,
                Ok(Err(_)) | Err(oneshot::error::TryRecvError::Closed) => {
                    self.rewind();
                    return;
                }
            }
        }
    }

    fn rewind(&mut self) {
        let mut from: BTreeMap<i32, i64> = BTreeMap::new();
        for batch in self.in_flight.drain(..) {
            for (partition, (first, _)) in batch.span {
                let at = from.entry(partition).or_insert(first);
                *at = (*at).min(first);
            }
        }
        for (partition, offset) in &from {
            if let Err(error) = self.consumer.seek(&self.topic, *partition, Offset::Offset(*offset), POLL) {
                tracing::warn!(%error, partition, "Cannot seek back; the group will redeliver on rebalance.");
            }
        }
        metrics::counter!("rampart_bus_redeliveries_total").increment(1);
        tracing::warn!(partitions = from.len(), "The store refused a batch; reading it again in 1 s.");
        self.paused_until = Some(Instant::now() + RETRY_AFTER);
    }

    /// Up to `max_events` messages: waits for the first, takes what else is there.
    fn read(&mut self, first_wait: Duration) -> Option<IngestBatch> {
        let mut events = Vec::new();
        let mut span: BTreeMap<i32, (i64, i64)> = BTreeMap::new();
        let mut wait = first_wait;
        while events.len() < self.max_events {
            let Some(polled) = self.consumer.poll(wait) else { break };
            wait = Duration::ZERO;
            let message = match polled {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "Kafka consumer error.");
                    break;
                }
            };
            let (partition, offset) = (message.partition(), message.offset());
            let bounds = span.entry(partition).or_insert((offset, offset));
            bounds.1 = offset;
            let timestamp = message.timestamp().to_millis().unwrap_or_default();
            let decoded = message
                .payload()
                .ok_or_else(|| "empty message".to_owned())
                .and_then(|bytes| rampart_core::ecs::strict_json::from_slice(bytes).map_err(|e| e.to_string()))
                .and_then(|value| {
                    decode_event(value, &self.limits, rampart_core::time::now_ms()).map_err(|e| e.to_string())
                });
            match decoded {
                Ok(mut event) => {
                    event.id = Some(bus_record_id(timestamp, partition, offset));
                    events.push(event);
                }
                // A message no worker could ever read is skipped (and committed with the rest), not retried forever.
                Err(error) => {
                    metrics::counter!("rampart_bus_rejected_total").increment(1);
                    tracing::warn!(partition, offset, error = %rampart_core::escape::for_terminal(&error), "Unreadable message on the bus skipped.");
                }
            }
        }
        if span.is_empty() {
            return None;
        }
        metrics::counter!("rampart_bus_events_read_total").increment(events.len() as u64);
        let (ack, reply) = oneshot::channel();
        self.in_flight.push_back(InFlight { reply, span });
        Some(IngestBatch { events, source: "kafka", received: Instant::now(), ack: Some(ack) })
    }

    fn commit_now(&self) {
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            tracing::debug!(%error, "Final offset commit.");
        }
    }
}

impl BusReader for KafkaReader {
    fn blocking_recv(&mut self) -> Option<IngestBatch> {
        loop {
            self.settle();
            if self.stop.load(Ordering::SeqCst) {
                self.commit_now();
                return None;
            }
            if let Some(until) = self.paused_until {
                let now = Instant::now();
                if now < until {
                    std::thread::sleep((until - now).min(POLL));
                    continue;
                }
                self.paused_until = None;
            }
            if let Some(batch) = self.read(POLL) {
                return Some(batch);
            }
        }
    }

    fn try_recv(&mut self) -> Option<IngestBatch> {
        if self.paused_until.is_some() || self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.read(Duration::ZERO)
    }

    fn recv(&mut self) -> BoxFuture<'_, Option<IngestBatch>> {
        // The writer reads from its own thread (`blocking_recv`); an async
        // reader polls without blocking its runtime.
        Box::pin(async move {
            loop {
                self.settle();
                if self.stop.load(Ordering::SeqCst) {
                    self.commit_now();
                    return None;
                }
                if self.paused_until.is_none_or(|until| Instant::now() >= until) {
                    self.paused_until = None;
                    if let Some(batch) = self.read(Duration::ZERO) {
                        return Some(batch);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    }

    fn len(&self) -> usize {
        0
    }
}
