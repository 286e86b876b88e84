//! The fleet's decision topic: every decision a worker or an API node
//! makes (or deletes) is one message keyed by the decision's id, on a
//! compacted topic, so the topic holds each decision's latest state for as
//! long as it matters. Every agent reads it from the start and then
//! follows it: a ban made anywhere is in force on every host within the
//! agent's poll (100 ms), beside the HTTP decision stream.

use std::time::Duration;

use rampart_core::config::KafkaConfig;
use rampart_core::{Decision, DecisionRecord};
use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::BusError;

/// How long a publish waits for the broker before the decision counts as
/// not shared (it stays in force where it was made, and in the store).
const PUBLISH_WAIT: Duration = Duration::from_secs(5);

pub struct DecisionPublisher {
    producer: ThreadedProducer<DefaultProducerContext>,
    topic: String,
}

impl DecisionPublisher {
    pub fn new(config: &KafkaConfig) -> Result<DecisionPublisher, BusError> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("acks", "all")
            .set("linger.ms", "0")
            .set("message.timeout.ms", PUBLISH_WAIT.as_millis().to_string())
            // Created by the broker's defaults it would not be compacted.
            .set("allow.auto.create.topics", "false")
            .create::<ThreadedProducer<DefaultProducerContext>>()
            .map_err(|e| BusError::Client(e.to_string()))?;
        Ok(DecisionPublisher { producer, topic: config.decisions_topic.clone() })
    }

    /// Publishes the decision's current state and waits for the broker.
    pub fn publish(&self, decision: &Decision) -> Result<(), BusError> {
        let payload = serde_json::to_vec(&DecisionRecord::from(decision))
            .map_err(|e| BusError::Client(format!("cannot encode decision {}: {e}", decision.id)))?;
        let key = decision.id.to_string();
        self.producer
            .send(BaseRecord::to(&self.topic).key(&key).payload(&payload))
            .map_err(|(e, _)| BusError::Client(e.to_string()))?;
        self.producer.flush(PUBLISH_WAIT).map_err(|e| BusError::Client(e.to_string()))
    }
}

/// An agent's reader of the decision topic: its own consumer (no group
/// offsets: every start reads the whole topic again).
pub struct DecisionFollower {
    consumer: BaseConsumer,
}

impl DecisionFollower {
    pub fn new(config: &KafkaConfig, member: &str) -> Result<DecisionFollower, BusError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &config.brokers)
            .set("group.id", member)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .map_err(|e| BusError::Client(e.to_string()))?;
        consumer.subscribe(&[&config.decisions_topic]).map_err(|e| BusError::Client(e.to_string()))?;
        Ok(DecisionFollower { consumer })
    }

    /// True once the topic's partitions are assigned (before that, an empty
    /// poll says nothing about the topic).
    pub fn assigned(&self) -> bool {
        self.consumer.assignment().is_ok_and(|list| list.count() > 0)
    }

    /// Every decision published since the last call: waits up to `wait`
    /// for the first, then takes what is already there. Unreadable
    /// messages are logged and skipped.
    pub fn poll(&self, wait: Duration) -> Vec<DecisionRecord> {
        let mut out = Vec::new();
        let mut wait = wait;
        while let Some(polled) = self.consumer.poll(wait) {
            wait = Duration::ZERO;
            let message = match polled {
                Ok(message) => message,
                Err(error) => {
                    tracing::warn!(%error, "Decision topic: consumer error.");
                    break;
                }
            };
            match message.payload().map(serde_json::from_slice::<DecisionRecord>) {
                Some(Ok(record)) => out.push(record),
                Some(Err(error)) => {
                    tracing::warn!(%error, offset = message.offset(), "Decision topic: unreadable message skipped.")
                }
                // A tombstone: compaction's way to forget a key.
                None => {}
            }
        }
        out
    }
}
