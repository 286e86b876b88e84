//! The responder thread (playbooks, allowlist, enforcers), the bridge that
//! hands it the API's requests, the alert sinks, and the admin token made
//! on a first start.

use std::sync::Arc;
use std::time::Duration;

use rampart_core::config::{Config, DeliveryConfig, SinksConfig};
use rampart_core::{DecisionRequest, Store};
use rampart_respond::playbook::{Playbook, builtin_playbooks};
use rampart_respond::{
    Allowlist, Responder, ResponderInput, SinkWorker, SlackSink, StdoutSink, WebhookSink, http_client, spawn_sink,
};
use rampart_server::auth;
use tokio::sync::mpsc;

use crate::error::NodeError;

/// The responder thread (playbooks, allowlist, enforcers) and its queue.
pub(crate) fn start_responder(
    config: &Config,
    store: Arc<dyn Store>,
) -> Result<(std::thread::JoinHandle<()>, mpsc::Sender<ResponderInput>), NodeError> {
    let respond = &config.respond;
    let mut playbooks = respond
        .playbooks
        .iter()
        .enumerate()
        .map(|(i, p)| Playbook::from_config(p).map_err(|e| NodeError::config(format!("respond.playbooks[{i}]"), e)))
        .collect::<Result<Vec<_>, _>>()?;
    if respond.builtin_playbooks {
        playbooks.extend(builtin_playbooks());
    }
    let allowlist = Allowlist::new(&respond.allowlist, &respond.protected_processes)
        .map_err(|e| NodeError::config("respond.allowlist", e))?;
    let enforce = respond.mode == rampart_core::config::ResponseMode::Enforce;
    if enforce {
        tracing::warn!(table = %respond.nftables.table, "Enforce mode: decisions are applied with nftables.");
    } else {
        tracing::info!("Observe mode: decisions are recorded, not applied (rampart serve --enforce to apply).");
    }
    let firewall = rampart_respond::enforce::firewall_for(&config.respond);
    let rate = respond.nftables.rate_limit_per_sec;
    let responder = Responder::new(store, playbooks, allowlist, enforce, firewall, rate)
        .with_kill_grace(Duration::from_secs(respond.kill_grace_secs))
        // Their own workers, so a notify playbook's sink has its own queue.
        .with_sinks(if respond.playbooks.iter().any(|p| p.sink.is_some()) {
            build_sinks(&config.sinks)?
        } else {
            Vec::new()
        });
    let (tx, rx) = mpsc::channel(4_096);
    let thread = std::thread::Builder::new()
        .name("rampart-respond".into())
        .spawn(move || responder.run(rx))
        .map_err(|source| NodeError::Thread { name: "rampart-respond".into(), source })?;
    Ok((thread, tx))
}

/// The API speaks `DecisionRequest`s; the responder takes those and alerts
/// on one queue, so everything that changes the firewall is ordered.
pub(crate) fn bridge_requests(respond_tx: mpsc::Sender<ResponderInput>) -> mpsc::Sender<DecisionRequest> {
    let (tx, mut rx) = mpsc::channel::<DecisionRequest>(256);
    tokio::spawn(async move {
        while let Some(request) = rx.recv().await {
            if respond_tx.send(ResponderInput::Request(request)).await.is_err() {
                break;
            }
        }
    });
    tx
}

/// On the very first start, creates the admin token: the operator's own
/// (`RAMPART_ADMIN_TOKEN`) or a fresh one printed once to stderr.
pub(crate) fn bootstrap_admin_token(store: &dyn Store, announce: bool) -> Result<(), NodeError> {
    if store.token_count()? > 0 {
        return Ok(());
    }
    match std::env::var("RAMPART_ADMIN_TOKEN") {
        Ok(token) if !token.trim().is_empty() => {
            auth::token_strength(token.trim()).map_err(|e| NodeError::config("RAMPART_ADMIN_TOKEN", e))?;
            auth::adopt_admin_token(store, token.trim())?;
            tracing::info!("Admin token taken from RAMPART_ADMIN_TOKEN.");
        }
        _ => {
            let token = auth::issue_token(store, "admin", rampart_core::Role::Admin)?;
            if announce {
                eprintln!(
                    "\nCreated the admin API token. It is shown only this once; keep it safe:\n\n    {token}\n\n\
                     Use it as `Authorization: Bearer <token>`. More: rampart token create --name NAME --role reader|admin\n"
                );
            }
        }
    }
    Ok(())
}

/// A worker per configured sink: stdout, Slack, each webhook.
pub(crate) fn build_sinks(config: &SinksConfig) -> Result<Vec<SinkWorker>, NodeError> {
    let mut sinks = Vec::new();
    if config.stdout {
        sinks.push(spawn_sink(Arc::new(StdoutSink::default()), config.queue_capacity, DeliveryConfig::default()));
    }
    if config.slack.is_some() || !config.webhooks.is_empty() {
        let client = http_client().map_err(|e| NodeError::config("sinks", e))?;
        if let Some(slack) = &config.slack {
            let sink = Arc::new(SlackSink::new(slack.webhook_url.clone(), client.clone()));
            sinks.push(spawn_sink(sink, config.queue_capacity, slack.delivery.clone()));
        }
        for hook in &config.webhooks {
            let sink =
                Arc::new(WebhookSink::new(hook.name.clone(), hook.url.clone(), hook.headers.clone(), client.clone()));
            sinks.push(spawn_sink(sink, config.queue_capacity, hook.delivery.clone()));
        }
    }
    Ok(sinks)
}
