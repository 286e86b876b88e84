//! The Kafka bus: the `Bus` seam (`rampart_core::bus`) across processes.
//!
//! Ingest nodes and agents publish through `KafkaBus`; workers read through
//! `KafkaReader` as one consumer group, so adding a worker adds capacity
//! and a dead worker's partitions pass to the others. The wire form of an
//! event is the store's flat JSON document, read back with the same strict
//! decoder the HTTP API uses.

mod consumer;
mod decisions;
mod producer;
mod spool;
mod topics;

pub use consumer::KafkaReader;
pub use decisions::{DecisionFollower, DecisionPublisher};
pub use producer::{KafkaBus, scenario_key, spool_record};
pub use spool::{Position, Spool, SpoolError};
pub use topics::{TopicPlan, TopicReport, ensure_topics, policy_problem};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("kafka client: {0}")]
    Client(String),
}
