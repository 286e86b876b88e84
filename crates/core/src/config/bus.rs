//! `[bus]`: how events travel from sources to the writer — in process
//! (the default) or through Kafka, for a fleet of ingest nodes and workers.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BusKind {
    Memory,
    Kafka,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BusConfig {
    pub kind: BusKind,
    pub kafka: KafkaConfig,
}

impl Default for BusConfig {
    fn default() -> BusConfig {
        BusConfig { kind: BusKind::Memory, kafka: KafkaConfig::default() }
    }
}

/// `[bus.kafka]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`.
    pub brokers: String,
    /// Where events go, keyed by their scenario key (the source address).
    pub topic: String,
    /// The workers' consumer group.
    pub group: String,
    /// The compacted topic every agent follows for bans.
    pub decisions_topic: String,
    /// How long a batch may wait in the producer for company (milliseconds).
    pub linger_ms: u64,
    /// A worker missing heartbeats this long loses its partitions to the others.
    pub session_timeout_ms: u64,
    /// Most messages a worker hands the writer in one batch.
    pub max_poll_events: usize,
}

impl Default for KafkaConfig {
    fn default() -> KafkaConfig {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            topic: "rampart.events".into(),
            group: "rampart-workers".into(),
            decisions_topic: "rampart.decisions".into(),
            linger_ms: 5,
            session_timeout_ms: 6_000,
            max_poll_events: 10_000,
        }
    }
}
