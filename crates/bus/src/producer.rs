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

impl Bus for KafkaBus {
    fn publish(&self, mut batch: IngestBatch, wait: Duration) -> BoxFuture<'_, Result<(), IngestQueueError>> {
        Box::pin(async move {
            let now = rampart_core::time::now_ms();
            let mut deliveries = Vec::with_capacity(batch.events.len());
            let mut payload = Vec::with_capacity(512);
            let deadline = tokio::time::Instant::now() + wait;
            for event in &batch.events {
                payload.clear();
                write_flat(event, &mut payload);
                let key = scenario_key(event);
                loop {
                    let mut record = FutureRecord::to(&self.topic).payload(&payload[..]).timestamp(now);
                    if let Some(key) = &key {
                        record = record.key(key.as_bytes());
                    }
                    match self.producer.send_result(record) {
                        Ok(delivery) => {
                            deliveries.push(delivery);
                            break;
                        }
                        // The producer's queue is full: wait for room, as the in-process bus does.
                        Err(_) if tokio::time::Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(5)).await;
                        }
                        Err(_) => return Err(IngestQueueError::Full),
                    }
                }
            }
            let ack = batch.ack.take();
            let count = deliveries.len();
            tokio::spawn(async move {
                let mut ids = Vec::with_capacity(count);
                let mut failure = None;
                for delivery in deliveries {
                    match delivery.await {
                        Ok(Ok(d)) => ids.push(bus_record_id(now, d.partition, d.offset)),
                        Ok(Err((error, _))) => failure = Some(error.to_string()),
                        Err(_) => failure = Some("the producer went away".into()),
                    }
                }
                if let Some(ack) = ack {
                    let _ = ack.send(match failure {
                        None => Ok(ids),
                        Some(error) => Err(IngestError::Refused(format!("kafka: {error}"))),
                    });
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
