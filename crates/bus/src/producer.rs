//! `KafkaBus`: the publishing half of the Kafka bus. Each event is one
//! message keyed by its scenario key, so every event of one attacker lands
//! in one partition and so on one worker: stateful rules (a brute force's
//! count) see all of them and fire once across the group.
//!
//! `publish` returns once the batch is queued in the producer (which
//! batches and compresses); the batch's reply is answered once the broker
//! has acknowledged every message, with the ids the workers will give the
//! events (from each message's timestamp, partition and offset), or with a
//! refusal when any message failed — the sender then retries the batch,
//! and a duplicate collapses by id downstream.

use std::time::Duration;

use rampart_core::config::KafkaConfig;
use rampart_core::ecs::write_flat;
use rampart_core::{BoxFuture, Bus, Event, IngestBatch, IngestError, IngestQueueError, bus_record_id, ip_string};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;

use crate::BusError;

pub struct KafkaBus {
    producer: FutureProducer,
    topic: String,
}

impl KafkaBus {
    pub fn new(config: &KafkaConfig) -> Result<KafkaBus, BusError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("compression.type", "lz4")
            .set("linger.ms", config.linger_ms.to_string())
            .set("enable.idempotence", "false")
            .set("acks", "all")
            .set("message.timeout.ms", "30000")
            // A producer's metadata request would otherwise create a missing
            // topic with the broker's defaults (one partition, no settings):
            // after a broker restart that raced the operator's own create.
            // The topics are the operator's (README, "Scale out").
            .set("allow.auto.create.topics", "false")
            .create::<FutureProducer>()
            .map_err(|e| BusError::Client(e.to_string()))?;
        Ok(KafkaBus { producer, topic: config.topic.clone() })
    }

    /// Waits until every queued message is delivered (or `wait` passes).
    pub fn flush(&self, wait: Duration) {
        if let Err(error) = self.producer.flush(Timeout::After(wait)) {
            tracing::warn!(%error, "Kafka producer did not flush everything.");
        }
    }
}

/// What routes an event: the attacker's address, else the host it came from.
pub fn scenario_key(event: &Event) -> Option<String> {
    event.source.ip.map(ip_string).or_else(|| event.host_name.clone())
}

/// A message on its way: the broker's answer, awaited later.
type Pending = rdkafka::producer::DeliveryFuture;

impl KafkaBus {
    /// Queues one message, waiting until `deadline` for room in the producer.
    async fn queue(
        &self,
        key: Option<&[u8]>,
        payload: &[u8],
        deadline: tokio::time::Instant,
    ) -> Result<Pending, IngestQueueError> {
        loop {
            // Each message stamped as it is queued: ids (`bus_record_id`)
            // are unique while a partition takes fewer than 4,096 messages
            // stamped with one millisecond.
            let stamp = rampart_core::time::now_ms();
            let mut record = FutureRecord::to(&self.topic).payload(payload).timestamp(stamp);
            if let Some(key) = key {
                record = record.key(key);
            }
            match self.producer.send_result(record) {
                Ok(delivery) => return Ok(delivery),
                // The producer's queue is full: wait for room, as the in-process bus does.
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => return Err(IngestQueueError::Full),
            }
        }
    }

    /// Publishes spooled records (`key TAB payload`, as `spool_record`
    /// makes them) and waits for the broker: the ids the events will get,
    /// or why not every one was delivered.
    pub async fn publish_records(&self, records: &[Vec<u8>]) -> Result<Vec<i64>, String> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let mut pending = Vec::with_capacity(records.len());
        for record in records {
            let (key, payload) = match record.iter().position(|b| *b == b'\t') {
                Some(0) => (None, &record[1..]),
                Some(tab) => (Some(&record[..tab]), &record[tab + 1..]),
                None => (None, &record[..]),
            };
            pending.push(self.queue(key, payload, deadline).await.map_err(|_| "the producer stayed full".to_owned())?);
        }
        delivered(pending).await
    }
}

/// An event as one spool record: its scenario key, a tab, its flat JSON.
pub fn spool_record(event: &Event) -> Vec<u8> {
    let mut record: Vec<u8> = scenario_key(event).unwrap_or_default().bytes().filter(|b| *b != b'\t').collect();
    record.push(b'\t');
    write_flat(event, &mut record);
    record
}

/// Waits for every delivery: the ids, or the first failure.
async fn delivered(pending: Vec<Pending>) -> Result<Vec<i64>, String> {
    let mut ids = Vec::with_capacity(pending.len());
    let mut failure = None;
    for delivery in pending {
        match delivery.await {
            Ok(Ok(d)) => ids.push(bus_record_id(d.timestamp.to_millis().unwrap_or_default(), d.partition, d.offset)),
            Ok(Err((error, _))) => failure = Some(format!("kafka: {error}")),
            Err(_) => failure = Some("kafka: the producer went away".into()),
        }
    }
    failure.map_or(Ok(ids), Err)
}

impl Bus for KafkaBus {
    fn publish(&self, mut batch: IngestBatch, wait: Duration) -> BoxFuture<'_, Result<(), IngestQueueError>> {
        Box::pin(async move {
            let deadline = tokio::time::Instant::now() + wait;
            let mut pending = Vec::with_capacity(batch.events.len());
            let mut payload = Vec::with_capacity(512);
            for event in &batch.events {
                payload.clear();
                write_flat(event, &mut payload);
                let key = scenario_key(event);
                pending.push(self.queue(key.as_deref().map(str::as_bytes), &payload, deadline).await?);
            }
            let ack = batch.ack.take();
            tokio::spawn(async move {
                let answer = delivered(pending).await.map_err(IngestError::Refused);
                if let Some(ack) = ack {
                    let _ = ack.send(answer);
                }
            });
            Ok(())
        })
    }

    fn depth(&self) -> usize {
        usize::try_from(self.producer.in_flight_count()).unwrap_or(0)
    }

    fn is_closed(&self) -> bool {
        false
    }
}
