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

use std::collections::{BTreeMap, HashMap, VecDeque};
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
/// How often the lag gauges are refreshed: a small JSON report per second.
const STATISTICS_EVERY_MS: &str = "1000";

/// Watches this member of the group: logs its rebalances (the first thing
/// to look at when a worker seems idle) and reports, from librdkafka's
/// statistics, how many partitions it holds and how far its committed
/// offsets trail the broker — the lag that grows while the store is down
/// and is zero only when every message was stored and committed.
pub struct GroupWatch {
    topic: String,
}

/// The part of librdkafka's statistics JSON the lag is read from; the rest
/// (brokers, queues) is skipped, so a field librdkafka adds or drops does
/// not break it.
#[derive(serde::Deserialize)]
struct Statistics {
    #[serde(default)]
    topics: HashMap<String, TopicStatistics>,
}

#[derive(serde::Deserialize)]
struct TopicStatistics {
    #[serde(default)]
    partitions: HashMap<String, PartitionStatistics>,
}

#[derive(serde::Deserialize)]
struct PartitionStatistics {
    partition: i32,
    /// Assigned to this member (librdkafka lists others it has seen too).
    desired: bool,
    lo_offset: i64,
    hi_offset: i64,
    /// `hi_offset - committed_offset`, or -1 when either is unknown.
    consumer_lag: i64,
}

impl PartitionStatistics {
    /// Messages not yet committed. Before the first commit everything the
    /// broker still holds is unread (the group starts at the earliest).
    fn lag(&self) -> u64 {
        let lag = if self.consumer_lag >= 0 { self.consumer_lag } else { self.hi_offset - self.lo_offset.max(0) };
        lag.max(0) as u64
    }
}

/// Partitions held and their total lag, from one statistics report.
fn lag_of(topic: &str, report: &[u8]) -> Result<(usize, u64), serde_json::Error> {
    let statistics: Statistics = serde_json::from_slice(report)?;
    let held: Vec<&PartitionStatistics> = statistics
        .topics
        .get(topic)
        .map(|t| t.partitions.values().filter(|p| p.partition >= 0 && p.desired).collect())
        .unwrap_or_default();
    Ok((held.len(), held.iter().map(|p| p.lag()).sum()))
}

impl ClientContext for GroupWatch {
    fn stats_raw(&self, report: &[u8]) {
        match lag_of(&self.topic, report) {
            Ok((partitions, lag)) => {
                metrics::gauge!("rampart_bus_partitions_assigned").set(partitions as f64);
                metrics::gauge!("rampart_bus_consumer_lag").set(lag as f64);
            }
            Err(error) => tracing::debug!(%error, "Kafka statistics not read."),
        }
    }
}

impl ConsumerContext for GroupWatch {
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
    consumer: BaseConsumer<GroupWatch>,
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
        let consumer: BaseConsumer<GroupWatch> = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", &config.group)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "500")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set("heartbeat.interval.ms", (config.session_timeout_ms / 3).max(100).to_string())
            .set("statistics.interval.ms", STATISTICS_EVERY_MS)
            .create_with_context(GroupWatch { topic: config.topic.clone() })
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
            // Received when the ingest node stamped the message, not when this
            // worker read it: a redelivered message then makes the same row,
            // in the same day partition, and the store's merge collapses it.
            let received = if timestamp > 0 { timestamp } else { rampart_core::time::now_ms() };
            let decoded = message
                .payload()
                .ok_or_else(|| "empty message".to_owned())
                .and_then(|bytes| rampart_core::ecs::strict_json::from_slice(bytes).map_err(|e| e.to_string()))
                .and_then(|value| decode_event(value, &self.limits, received).map_err(|e| e.to_string()));
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

#[cfg(test)]
mod tests {
    use super::lag_of;

    /// A consumer's report as librdkafka 2.x writes it, cut to one topic:
    /// partition 0 committed, partition 1 never committed, partition 2
    /// another member's, and librdkafka's internal partition -1.
    const REPORT: &str = r#"{
      "name": "rdkafka#consumer-1", "type": "consumer", "ts": 1, "brokers": {},
      "topics": {
        "rampart.events": { "topic": "rampart.events", "partitions": {
          "0": {"partition": 0, "desired": true, "fetch_state": "active", "lo_offset": 0, "hi_offset": 120,
                "committed_offset": 100, "consumer_lag": 20, "consumer_lag_stored": 5},
          "1": {"partition": 1, "desired": true, "fetch_state": "active", "lo_offset": 10, "hi_offset": 40,
                "committed_offset": -1001, "consumer_lag": -1, "consumer_lag_stored": -1},
          "2": {"partition": 2, "desired": false, "fetch_state": "none", "lo_offset": 0, "hi_offset": 900,
                "committed_offset": -1001, "consumer_lag": -1, "consumer_lag_stored": -1},
          "-1": {"partition": -1, "desired": false, "fetch_state": "none", "lo_offset": -1, "hi_offset": -1,
                "committed_offset": -1001, "consumer_lag": -1, "consumer_lag_stored": -1}
        }},
        "rampart.decisions": { "topic": "rampart.decisions", "partitions": {
          "0": {"partition": 0, "desired": true, "lo_offset": 0, "hi_offset": 7, "consumer_lag": 7}
        }}
      }
    }"#;

    #[test]
    fn the_lag_counts_this_members_partitions_of_the_topic_from_their_commits() {
        // 20 behind the commit on 0; 30 unread on 1 before its first commit.
        assert_eq!(lag_of("rampart.events", REPORT.as_bytes()).unwrap(), (2, 50));
    }

    #[test]
    fn a_member_with_no_partitions_reports_none_and_a_bad_report_is_an_error() {
        assert_eq!(lag_of("other", REPORT.as_bytes()).unwrap(), (0, 0));
        assert_eq!(lag_of("rampart.events", br#"{"topics": {}}"#).unwrap(), (0, 0));
        assert!(lag_of("rampart.events", b"{\"topics\": 3}").is_err());
    }
}
