//! `rampart agent`: applies a remote server's decisions with the local
//! nftables enforcer, and ships local log events to that server.
//!
//! Decisions come from `GET /api/v1/decisions/stream` (everything in force
//! at start, then what changed since each poll) and are applied by
//! respond's `Follower`; the local allowlist still wins over anything the
//! server sends. Log sources configured here
//! (`[[sources.files]]`, `[[sources.journal]]`) feed a local queue whose
//! batches are posted to the server's ingest API; a batch is acknowledged
//! to its source, which then saves its offset, only once the server has
//! committed it, so a crash anywhere re-sends rather than loses.
//!
//! With `--ship kafka://…` the agent talks to the fleet's bus instead
//! (`agent_kafka.rs`).

use std::process::ExitCode;
use std::time::Duration;

use rampart_core::config::Config;
use rampart_core::ecs::encode_event_string;
use rampart_core::{Decision, IngestBatch, IngestError, IngestReceiver, ingest_queue};
use rampart_respond::Allowlist;
use rampart_respond::follow::{Follower, remote_decision};
use std::sync::atomic::Ordering;

use crate::cli::AgentArgs;
use rampart_client::{ApiClient, Persistence, Posted};

pub fn run(config: Config, args: &AgentArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let allowlist = Allowlist::new(&config.respond.allowlist, &config.respond.protected_processes)?;
        let follower = Follower::new(rampart_respond::enforce::firewall_for(&config.respond), allowlist);
        let remote = args.server.api()?;

        let (ingest, ingest_rx) = ingest_queue(config.ingest.queue_capacity);
        let sources = rampart_node::start_sources(&config, &ingest)?;
        drop(ingest);
        let shipper = tokio::spawn(ship_events(remote.clone(), ingest_rx));

        let sync = tokio::spawn(sync_decisions(remote, follower, Duration::from_secs(args.interval_secs.max(1))));
        tracing::info!(server = %args.server.url(), sources = sources.len(), "Agent running.");
        super::serve::shutdown_signal().await;
        sync.abort();
        for source in &sources {
            source.stop.store(true, Ordering::SeqCst);
        }
        for source in sources {
            let thread = source.thread;
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        // With the sources gone the queue closes; the shipper sends what is left.
        let _ = tokio::time::timeout(Duration::from_secs(10), shipper).await;
        tracing::info!("Agent stopped; bans already applied stay until they expire.");
        Ok(ExitCode::SUCCESS)
    })
}

async fn sync_decisions(remote: ApiClient, follower: Follower, every: Duration) {
    let follower = std::sync::Arc::new(std::sync::Mutex::new(follower));
    loop {
        let startup = !follower.lock().is_ok_and(|f| f.started());
        match poll(&remote, startup).await {
            Ok((new, deleted)) => {
                let follower = follower.clone();
                let applied = tokio::task::spawn_blocking(move || {
                    let mut follower = follower.lock().unwrap_or_else(|p| p.into_inner());
                    follower.apply(new, &deleted)
                })
                .await;
                match applied {
                    Ok(Ok(done)) if done.added + done.removed > 0 || startup => {
                        tracing::info!(
                            added = done.added,
                            removed = done.removed,
                            startup,
                            "Remote decisions applied."
                        );
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::error!(%error, "Cannot apply remote decisions."),
                    Err(error) => tracing::error!(%error, "The firewall task failed."),
                }
            }
            Err(error) => tracing::warn!(%error, "Cannot poll the decision stream; will retry."),
        }
        tokio::time::sleep(every).await;
    }
}

async fn poll(remote: &ApiClient, startup: bool) -> anyhow::Result<(Vec<Decision>, Vec<Decision>)> {
    let query = [("startup", startup.to_string())];
    let body = remote.call(reqwest::Method::GET, "decisions/stream", &query, None).await?;
    let now = rampart_core::time::now_ms();
    let list = |key: &str| -> Vec<Decision> {
        body[key].as_array().into_iter().flatten().filter_map(|d| remote_decision(d, now)).collect()
    };
    Ok((list("new"), list("deleted")))
}

/// Posts each queued batch as NDJSON until the server commits it; retries
/// (never drops) with backoff while the server is away.
async fn ship_events(remote: ApiClient, mut batches: IngestReceiver) {
    while let Some(IngestBatch { events, ack, .. }) = batches.recv().await {
        let mut body = String::with_capacity(events.len() * 300);
        for e in &events {
            body.push_str(&encode_event_string(e));
            body.push('\n');
        }
        let result = match remote.post_events(body, Persistence::UntilTaken).await {
            Ok(Posted::Accepted) => Ok(Vec::new()),
            // A batch the server refuses as malformed will never pass: say so, do not loop.
            Ok(Posted::Refused(text)) => {
                tracing::error!(%text, events = events.len(), "The server refused a batch of local events.");
                Err(IngestError::Refused(text))
            }
            // UntilTaken only returns once the server answered for the batch.
            Err(error) => Err(IngestError::Refused(format!("{error:#}"))),
        };
        if let Some(ack) = ack {
            let _ = ack.send(result);
        }
    }
}
