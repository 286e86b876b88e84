//! The fleet's decision topic: every decision a worker or an API node
//! makes (or deletes) is one message keyed by the decision's id, on a
//! compacted topic, so the topic holds each decision's latest state for as
//! long as it matters. Every agent reads it from the start and then
//! follows it: a ban made anywhere is in force on every host within the
//! agent's poll (100 ms), beside the HTTP decision stream.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Duration;

use rampart_core::config::KafkaConfig;
use rampart_core::{Decision, DecisionRecord};
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::{BaseRecord, ProducerContext, ThreadedProducer};

use crate::BusError;

/// How long a publish waits for the broker before the decision counts as
/// not shared (it stays in force where it was made, and in the store).
const PUBLISH_WAIT: Duration = Duration::from_secs(5);

pub struct DecisionPublisher {
    producer: ThreadedProducer<Delivery>,
    topic: String,
}

/// Hands each message's delivery report back to the publish waiting for
/// it: a flush returns once the queue is empty, delivered or not, and a
/// decision that never reached the topic must not be audited as shared.
struct Delivery;

impl ClientContext for Delivery {}

impl ProducerContext for Delivery {
    type DeliveryOpaque = Box<SyncSender<Result<(), String>>>;

    fn delivery(&self, result: &DeliveryResult<'_>, reply: Self::DeliveryOpaque) {
        // The publish may have stopped waiting; then nobody needs the answer.
        let _ = reply.send(result.as_ref().map(|_| ()).map_err(|(error, _)| error.to_string()));
    }
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
            .create_with_context::<_, ThreadedProducer<Delivery>>(Delivery)
            .map_err(|e| BusError::Client(e.to_string()))?;
        Ok(DecisionPublisher { producer, topic: config.decisions_topic.clone() })
    }

    /// Publishes the decision's current state and waits until the broker
    /// has it (an error names the topic when it does not).
    pub fn publish(&self, decision: &Decision) -> Result<(), BusError> {
        let payload = serde_json::to_vec(&DecisionRecord::from(decision))
            .map_err(|e| BusError::Client(format!("cannot encode decision {}: {e}", decision.id)))?;
        let key = decision.id.to_string();
        let (reply, delivered) = sync_channel(1);
        self.producer
            .send(BaseRecord::with_opaque_to(&self.topic, Box::new(reply)).key(&key).payload(&payload))
            .map_err(|(e, _)| {
                BusError::Client(format!("cannot publish decision {} on {}: {e}", decision.id, self.topic))
            })?;
        // librdkafka fails the message itself after `message.timeout.ms`; the margin covers its report.
        match delivered.recv_timeout(PUBLISH_WAIT + Duration::from_secs(2)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => {
                Err(BusError::Client(format!("decision {} did not reach {}: {error}", decision.id, self.topic)))
            }
            Err(_) => Err(BusError::Client(format!("decision {}: no answer from {} in time", decision.id, self.topic))),
        }
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
