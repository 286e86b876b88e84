//! The response side built from its own configuration sections: the
//! responder (playbooks, allowlist, enforcers) from `[respond]`, a sink
//! worker per `[sinks]` entry, and the notifier `[alerts]` times.

use std::sync::Arc;

use rampart_core::Store;
use rampart_core::config::{AlertsConfig, DeliveryConfig, RespondConfig, ResponseMode, SinksConfig};

use crate::enforce::Enforcer;
use crate::error::RespondError;
use crate::eve::EveSink;
use crate::playbook::{Playbook, Recidive, builtin_playbooks};
use crate::{
    Allowlist, Notifier, NotifierHandle, Responder, SinkWorker, SlackSink, StdoutSink, WebhookSink, spawn_sink,
};

/// The responder `[respond]` describes, with the enforcers it names
/// (`enforce::enforcers_for`) unless `enforcers` are given, and the sinks
/// `notify` playbooks may name.
pub fn responder(
    respond: &RespondConfig,
    sinks: &SinksConfig,
    store: Arc<dyn Store>,
    enforcers: Option<Vec<Box<dyn Enforcer>>>,
) -> Result<Responder, RespondError> {
    let mut playbooks = respond
        .playbooks
        .iter()
        .enumerate()
        .map(|(i, p)| {
            Playbook::from_config(p).map_err(|e| match e {
                RespondError::Config { key, reason } => {
                    RespondError::Config { key: format!("respond.playbooks[{i}].{key}"), reason }
                }
                other => other,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if respond.builtin_playbooks {
        playbooks.extend(builtin_playbooks());
    }
    let allowlist = Allowlist::new(&respond.allowlist, &respond.protected_processes)?;
    let enforce = respond.mode == ResponseMode::Enforce;
    if enforce {
        tracing::warn!(table = %respond.nftables.table, "Enforce mode: decisions are applied with nftables.");
    } else {
        tracing::info!("Observe mode: decisions are recorded, not applied (rampart serve --enforce to apply).");
    }
    let enforcers = enforcers.unwrap_or_else(|| crate::enforce::enforcers_for(respond));
    let rate = respond.nftables.rate_limit_per_sec;
    let recidive = Recidive::from_config(&respond.recidive).map_err(|e| match e {
        RespondError::Config { key, reason } => RespondError::Config { key: format!("respond.{key}"), reason },
        other => other,
    })?;
    let store_for_sinks = store.clone();
    Ok(Responder::new(store, playbooks, allowlist, enforce, enforcers, rate)
        .with_recidive(recidive)
        // Their own workers, so a notify playbook's sink has its own queue.
        .with_sinks(if respond.playbooks.iter().any(|p| p.sink.is_some()) {
            self::sinks(sinks, Some(store_for_sinks))?
        } else {
            Vec::new()
        }))
}

/// Notifications queued before the notifier drops (and counts) them.
const NOTIFIER_QUEUE: usize = 16_384;

/// The notifier `[alerts]` times, over a worker per `[sinks]` entry.
pub fn notifier(
    alerts: &AlertsConfig,
    sinks: &SinksConfig,
    store: Option<Arc<dyn Store>>,
) -> Result<NotifierHandle, RespondError> {
    let notifier = Notifier {
        delay: std::time::Duration::from_millis(alerts.notify_delay_ms),
        renotify: std::time::Duration::from_secs(alerts.renotify_interval_secs),
    };
    Ok(notifier.spawn(self::sinks(sinks, store)?, NOTIFIER_QUEUE))
}

/// A worker per configured sink: stdout, the EVE file, Slack, each
/// webhook. The store, when given, lets the EVE sink read an alert's
/// evidence for its addresses.
pub fn sinks(config: &SinksConfig, store: Option<Arc<dyn Store>>) -> Result<Vec<SinkWorker>, RespondError> {
    let mut sinks = Vec::new();
    if config.stdout {
        sinks.push(spawn_sink(Arc::new(StdoutSink::default()), config.queue_capacity, DeliveryConfig::default()));
    }
    if let Some(eve) = &config.eve {
        let sink = Arc::new(EveSink::new(eve.path.clone(), eve.sensor_name.clone(), store));
        sinks.push(spawn_sink(sink, config.queue_capacity, DeliveryConfig::default()));
    }
    if config.slack.is_some() || !config.webhooks.is_empty() {
        let client = rampart_client::http_client()?;
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
