//! `rampart bus create-topics`: the fleet's topics, made or checked.

use std::process::ExitCode;
use std::time::Duration;

use rampart_bus::{TopicPlan, ensure_topics};
use rampart_core::config::Config;

use crate::cli::CreateTopicsArgs;

/// As in deploy/compose.yml: room for four workers.
const DEFAULT_PARTITIONS: i32 = 4;

pub fn create_topics(config: &Config, args: &CreateTopicsArgs) -> anyhow::Result<ExitCode> {
    let mut kafka = config.bus.kafka.clone();
    if let Some(brokers) = &args.brokers {
        kafka.brokers = brokers.clone();
    }
    let plan = TopicPlan {
        partitions: args.partitions.unwrap_or(DEFAULT_PARTITIONS),
        replication_factor: args.replication_factor.unwrap_or(-1),
    };
    let reports = ensure_topics(&kafka, plan, Duration::from_secs(args.timeout))?;
    let mut usable = true;
    for report in &reports {
        let how = if report.created { "created" } else { "exists" };
        println!(
            "{}: {how}, {} partition{}, cleanup.policy={}",
            report.topic,
            report.partitions,
            if report.partitions == 1 { "" } else { "s" },
            report.cleanup_policy
        );
        if let Some(problem) = &report.problem {
            eprintln!("error: {problem}");
            usable = false;
        }
    }
    // Only when asked for: an existing topic keeps its partitions (more
    // would move source addresses between workers mid-scenario).
    if let (Some(asked), Some(events)) = (args.partitions, reports.iter().find(|r| r.topic == kafka.topic))
        && events.partitions < asked as usize
    {
        println!(
            "note: {} has {} partitions, fewer than --partitions {asked}: at most {} workers share it",
            events.topic, events.partitions, events.partitions
        );
    }
    Ok(if usable { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
