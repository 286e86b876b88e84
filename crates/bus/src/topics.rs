//! The fleet's two topics, made with the settings Rampart relies on, and
//! existing ones checked for the two mistakes a broker's defaults make:
//! an events topic that is compacted keeps only each source address's
//! latest event (a brute force would vanish), and a decision topic that
//! is not compacted forgets bans older than its retention, so an agent
//! that starts later never applies them. Workers and agents never create
//! topics themselves (`allow.auto.create.topics` is off) for that reason.

use std::time::{Duration, Instant};

use rampart_core::config::KafkaConfig;
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::RDKafkaErrorCode;

use crate::BusError;

/// What to create when a topic is missing.
#[derive(Debug, Clone, Copy)]
pub struct TopicPlan {
    /// Partitions of the events topic: the most workers that can share it.
    pub partitions: i32,
    /// Copies of each partition; -1 leaves it to the broker's
    /// `default.replication.factor`.
    pub replication_factor: i32,
}

/// One topic after the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicReport {
    pub topic: String,
    /// Created now, or there before.
    pub created: bool,
    pub partitions: usize,
    /// Its `cleanup.policy` as the broker describes it.
    pub cleanup_policy: String,
    /// Why Rampart cannot use it as it is; `None` when it can.
    pub problem: Option<String>,
}

/// Creates the events and decision topics of `config` where missing and
/// reports on both; `wait` bounds each request to the brokers.
pub fn ensure_topics(config: &KafkaConfig, plan: TopicPlan, wait: Duration) -> Result<Vec<TopicReport>, BusError> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &config.brokers)
        .create()
        .map_err(|e| BusError::Client(format!("cannot reach {}: {e}", config.brokers)))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .map_err(|e| BusError::Client(format!("cannot start a runtime: {e}")))?;
    let options = AdminOptions::new().request_timeout(Some(wait)).operation_timeout(Some(wait));
    let replication = || TopicReplication::Fixed(plan.replication_factor);
    let wanted = [
        NewTopic::new(&config.topic, plan.partitions, replication()),
        NewTopic::new(&config.decisions_topic, 1, replication()).set("cleanup.policy", "compact"),
    ];
    let results = runtime
        .block_on(admin.create_topics(&wanted, &options))
        .map_err(|e| BusError::Client(format!("cannot create topics on {}: {e}", config.brokers)))?;
    let mut created = Vec::new();
    for result in results {
        match result {
            Ok(topic) => created.push(topic),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => return Err(BusError::Client(format!("cannot create topic {topic}: {code}"))),
        }
    }
    let mut reports = Vec::new();
    for (topic, compacted) in [(&config.topic, false), (&config.decisions_topic, true)] {
        let partitions = partitions_of(&admin, topic, wait)?;
        let cleanup_policy = cleanup_policy_of(&runtime, &admin, topic, &options)?;
        let problem = policy_problem(topic, &cleanup_policy, compacted);
        reports.push(TopicReport {
            topic: topic.clone(),
            created: created.contains(topic),
            partitions,
            cleanup_policy,
            problem,
        });
    }
    Ok(reports)
}

/// The topic's partition count, once the brokers' metadata lists it (a
/// topic just created can take a moment to appear there).
fn partitions_of(admin: &AdminClient<DefaultClientContext>, topic: &str, wait: Duration) -> Result<usize, BusError> {
    let deadline = Instant::now() + wait;
    loop {
        let metadata = admin
            .inner()
            .fetch_metadata(Some(topic), wait)
            .map_err(|e| BusError::Client(format!("cannot read the metadata of {topic}: {e}")))?;
        let found = metadata.topics().iter().find(|t| t.name() == topic && t.error().is_none());
        match found {
            Some(t) if !t.partitions().is_empty() => return Ok(t.partitions().len()),
            _ if Instant::now() >= deadline => {
                return Err(BusError::Client(format!("topic {topic} is not in the brokers' metadata")));
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn cleanup_policy_of(
    runtime: &tokio::runtime::Runtime,
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
    options: &AdminOptions,
) -> Result<String, BusError> {
    let described = runtime
        .block_on(admin.describe_configs([&ResourceSpecifier::Topic(topic)], options))
        .map_err(|e| BusError::Client(format!("cannot describe topic {topic}: {e}")))?;
    let resource = described
        .into_iter()
        .next()
        .ok_or_else(|| BusError::Client(format!("no description of topic {topic}")))?
        .map_err(|code| BusError::Client(format!("cannot describe topic {topic}: {code}")))?;
    // Kafka's default when a broker leaves the entry out.
    Ok(resource.get("cleanup.policy").and_then(|e| e.value.clone()).unwrap_or_else(|| "delete".into()))
}

/// Whether a topic with this `cleanup.policy` can serve: the decision
/// topic must be compacted, the events topic must not be.
pub fn policy_problem(topic: &str, cleanup_policy: &str, should_compact: bool) -> Option<String> {
    let compacted = cleanup_policy.split(',').any(|p| p.trim() == "compact");
    match (should_compact, compacted) {
        (true, false) => Some(format!(
            "{topic} has cleanup.policy={cleanup_policy}: bans older than its retention would be lost to agents \
             that start later; set cleanup.policy=compact"
        )),
        (false, true) => Some(format!(
            "{topic} has cleanup.policy={cleanup_policy}: compaction keeps only each source address's latest \
             event; set cleanup.policy=delete"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::policy_problem;

    #[test]
    fn each_topic_must_have_its_own_policy() {
        assert_eq!(policy_problem("d", "compact", true), None);
        assert_eq!(policy_problem("d", "delete, compact", true), None);
        assert!(policy_problem("d", "delete", true).unwrap().contains("set cleanup.policy=compact"));
        assert_eq!(policy_problem("e", "delete", false), None);
        assert!(policy_problem("e", "compact,delete", false).unwrap().contains("set cleanup.policy=delete"));
    }
}
