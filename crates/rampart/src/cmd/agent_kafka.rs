//! `rampart agent --ship kafka://…`: this host's events to the fleet's
//! Kafka bus, the fleet's bans from its decision topic.
//!
//! Events: the sources' batches go into an on-disk spool (synced, then
//! acknowledged to the source, which saves its offset); a drainer sends
//! the spool to the events topic in order and advances it only once the
//! broker confirmed every message. An unreachable broker fills the spool
//! up to `--buffer-mb`, then the sources wait; nothing acknowledged is
//! lost, by a broker outage or by a restart of the agent.
//!
//! Bans: a consumer of its own reads the whole decision topic at start
//! (rebuilding the firewall from it) and applies what follows as it comes;
//! the local allowlist still wins.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use rampart_bus::{DecisionFollower, KafkaBus, Spool, SpoolError, spool_record};
use rampart_core::config::{Config, KafkaConfig};
use rampart_core::{DecisionRecord, IngestBatch, IngestError, IngestReceiver, ingest_queue};
use rampart_respond::Allowlist;
use rampart_respond::follow::{Follower, fleet_decision};
use tokio::sync::Notify;

use crate::cli::AgentArgs;

/// Most spooled events sent in one round.
const SEND_BATCH: usize = 5_000;

pub fn run(config: Config, args: &AgentArgs, ship: &str) -> anyhow::Result<ExitCode> {
    let brokers = ship.strip_prefix("kafka://").context("--ship takes kafka://BROKER[,BROKER…]")?;
    let kafka = KafkaConfig { brokers: brokers.to_owned(), ..config.bus.kafka.clone() };
    let spool = Spool::open(&config.data_dir.join("agent-spool"), args.buffer_mb.max(1) * 1024 * 1024)
        .context("cannot open the agent's spool")?;
    let spool = Arc::new(Mutex::new(spool));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let allowlist = Allowlist::new(&config.respond.allowlist, &config.respond.protected_processes)?;
        let follower = Follower::new(rampart_respond::enforce::firewall_for(&config.respond), allowlist);
        let stop = Arc::new(AtomicBool::new(false));
        let member = format!("rampart-agent-{}-{}", std::process::id(), rampart_core::time::now_ms());
        let decisions = DecisionFollower::new(&kafka, &member).map_err(|e| anyhow::anyhow!("{e}"))?;
        let follow = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("rampart-decisions".into())
                .spawn(move || follow_decisions(decisions, follower, &stop))?
        };

        let bus = KafkaBus::new(&kafka).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (ingest, ingest_rx) = ingest_queue(config.ingest.queue_capacity);
        let sources = rampart_node::start_sources(&config, &ingest)?;
        drop(ingest);
        let wake = Arc::new(Notify::new());
        let spooler = tokio::spawn(spool_batches(ingest_rx, spool.clone(), wake.clone()));
        let drainer = tokio::spawn(drain(bus, spool.clone(), wake.clone(), stop.clone()));
        tracing::info!(brokers, topic = %kafka.topic, sources = sources.len(), "Agent shipping to Kafka.");

        super::serve::shutdown_signal().await;
        for source in &sources {
            source.stop.store(true, Ordering::SeqCst);
        }
        for source in sources {
            let thread = source.thread;
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let _ = spooler.await;
        // A last chance to send what is spooled; the rest waits for the next start.
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(500)).await;
        stop.store(true, Ordering::SeqCst);
        wake.notify_one();
        let _ = tokio::time::timeout(Duration::from_secs(10), drainer).await;
        let _ = tokio::task::spawn_blocking(move || follow.join()).await;
        let left = spool.lock().map(|s| s.waiting_bytes()).unwrap_or(0);
        tracing::info!(spooled_bytes = left, "Agent stopped; bans already applied stay until they expire.");
        Ok(ExitCode::SUCCESS)
    })
}

/// Spools each batch, then acknowledges it; waits while the spool is full.
async fn spool_batches(mut batches: IngestReceiver, spool: Arc<Mutex<Spool>>, wake: Arc<Notify>) {
    let mut warned = false;
    while let Some(IngestBatch { events, ack, .. }) = batches.recv().await {
        let records: Vec<Vec<u8>> = events.iter().map(spool_record).collect();
        let answer = loop {
            let appended = {
                let mut spool = spool.lock().unwrap_or_else(|p| p.into_inner());
                spool.append(&records)
            };
            match appended {
                Ok(()) => break Ok(Vec::new()),
                Err(SpoolError::Full(limit)) => {
                    if !warned {
                        tracing::warn!(limit, "The agent's spool is full; the sources wait for the bus.");
                        warned = true;
                    }
                    wake.notify_one();
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(error) => {
                    tracing::error!(%error, "Cannot write the agent's spool; the batch is refused.");
                    break Err(IngestError::Commit(error.to_string()));
                }
            }
        };
        warned &= answer.is_err();
        if let Some(ack) = ack {
            let _ = ack.send(answer);
        }
        wake.notify_one();
    }
}

/// Sends the spool to the bus in order, advancing only past what the
/// broker confirmed; retries every second while it cannot.
async fn drain(bus: KafkaBus, spool: Arc<Mutex<Spool>>, wake: Arc<Notify>, stop: Arc<AtomicBool>) {
    let mut failing = false;
    while !stop.load(Ordering::SeqCst) {
        let peeked = spool.lock().unwrap_or_else(|p| p.into_inner()).peek(SEND_BATCH);
        let (records, to) = match peeked {
            Ok(next) => next,
            Err(error) => {
                tracing::error!(%error, "Cannot read the agent's spool.");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if records.is_empty() {
            let _ = tokio::time::timeout(Duration::from_millis(200), wake.notified()).await;
            continue;
        }
        match bus.publish_records(&records).await {
            Ok(_) => {
                if failing {
                    tracing::info!("The bus is back; sending the spool.");
                    failing = false;
                }
                if let Err(error) = spool.lock().unwrap_or_else(|p| p.into_inner()).advance(to) {
                    tracing::error!(%error, "Cannot advance the agent's spool; events may be sent twice.");
                }
            }
            Err(error) => {
                if !failing {
                    tracing::warn!(%error, "Cannot reach the bus; events stay in the spool.");
                    failing = true;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Rebuilds the firewall from the whole topic once the agent has caught
/// up with it, then applies each change as it arrives.
fn follow_decisions(decisions: DecisionFollower, mut follower: Follower, stop: &AtomicBool) {
    let mut backlog: BTreeMap<i64, DecisionRecord> = BTreeMap::new();
    while !stop.load(Ordering::SeqCst) {
        let records = decisions.poll(Duration::from_millis(100));
        let now = rampart_core::time::now_ms();
        if !follower.started() {
            // Caught up: assigned, and a poll found nothing more.
            let caught_up = records.is_empty() && decisions.assigned();
            backlog.extend(records.into_iter().map(|r| (r.id, r)));
            if !caught_up {
                continue;
            }
            let active: Vec<_> = backlog
                .values()
                .filter_map(|r| fleet_decision(r.clone(), now))
                .filter(|(_, over)| !over)
                .map(|(d, _)| d)
                .collect();
            // Kept until the firewall took it: a failed rebuild is tried again, slower.
            if report(follower.apply(active, &[]), true) {
                backlog.clear();
            } else {
                std::thread::sleep(Duration::from_secs(5));
            }
            continue;
        }
        if records.is_empty() {
            continue;
        }
        let (mut new, mut over) = (Vec::new(), Vec::new());
        for (decision, ended) in records.into_iter().filter_map(|r| fleet_decision(r, now)) {
            if ended { over.push(decision) } else { new.push(decision) }
        }
        report(follower.apply(new, &over), false);
    }
}

/// Logs what a round applied; false when the firewall failed it.
fn report(applied: Result<rampart_respond::follow::Applied, rampart_respond::EnforceError>, startup: bool) -> bool {
    match applied {
        Ok(done) => {
            if done.added + done.removed > 0 || startup {
                tracing::info!(added = done.added, removed = done.removed, startup, "Fleet decisions applied.");
            }
            true
        }
        Err(error) => {
            tracing::error!(%error, "Cannot apply fleet decisions.");
            false
        }
    }
}
