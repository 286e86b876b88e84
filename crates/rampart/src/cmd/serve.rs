//! `rampart serve`: wires store, pipeline, sinks and API into a running node.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use rampart_core::config::{Config, DeliveryConfig, SinksConfig};
use rampart_core::{Alert, DecisionRequest, Detector, IngestSender, RateMeter, Store, ingest_queue};
use rampart_detect::{Aggregator, FlowDetector, HostAnomalyDetector, ModelSlot, RuleEngine, load_rules};

use crate::models::ModelManager;
use rampart_respond::playbook::{Playbook, builtin_playbooks};
use rampart_respond::{
    Allowlist, Notifier, NotifierHandle, Responder, ResponderInput, SinkWorker, SlackSink, StdoutSink, WebhookSink,
    http_client, spawn_sink,
};
use rampart_server::{AppState, MetricsRender, auth, router};
use rampart_sources::LogFormat;
use rampart_sources::host::{HostSource, HostSpec, local_host_name};
use rampart_sources::journal::{JournalSource, JournalSpec};
use rampart_sources::prometheus::{PrometheusSource, PrometheusSpec};
use rampart_sources::tail::{FileSource, FileSourceSpec, StartAt};
use rampart_store::SqliteStore;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::pipeline::{Pipeline, PipelineConfig};
use crate::telemetry;

pub fn run(config: Config) -> anyhow::Result<ExitCode> {
    run_with(config, |_| None)
}

/// Runs a node until SIGTERM or Ctrl-C, with `beside` started next to it
/// (the demo's simulation) and stopped before it.
pub(crate) fn run_with(
    config: Config,
    beside: impl FnOnce(&Node) -> Option<JoinHandle<()>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("rampart-worker")
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let metrics = telemetry::install()?;
        let node = Node::start(config, metrics, true).await?;
        let extra = beside(&node);
        shutdown_signal().await;
        if let Some(task) = extra {
            task.abort();
        }
        tracing::info!("Shutting down: draining queues.");
        node.stop().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// A running all-in-one node.
pub struct Node {
    pub addr: SocketAddr,
    /// Every alert as it is saved (the live feed).
    pub live: broadcast::Sender<Alert>,
    pub state: AppState,
    ingest: IngestSender,
    stop_server: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
    pipeline: Pipeline,
    notifier: Arc<NotifierHandle>,
    retention: JoinHandle<()>,
    checkpoints: JoinHandle<()>,
    model_poll: Option<JoinHandle<()>>,
    sources: Vec<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
    responder: std::thread::JoinHandle<()>,
}

impl Node {
    pub async fn start(config: Config, metrics: MetricsRender, announce_token: bool) -> anyhow::Result<Node> {
        let sqlite = Arc::new(
            SqliteStore::open(&config.data_dir, config.store.durability)
                .with_context(|| format!("cannot open the store in {}", config.data_dir.display()))?,
        );
        let checkpoints = tokio::spawn(checkpoint_loop(sqlite.clone()));
        let store: Arc<dyn Store> = sqlite;
        bootstrap_admin_token(store.as_ref(), announce_token)?;

        let rules = load_rules(config.detect.builtin_rules, config.detect.rules_dir.as_deref())
            .map_err(|e| anyhow::anyhow!("cannot load rules: {e}"))?;
        tracing::info!(rules = rules.len(), "Rules loaded.");
        let mut catalog: Vec<Arc<rampart_core::RuleInfo>> = rules.iter().map(|r| r.info.clone()).collect();
        let mut detectors: Vec<Box<dyn Detector>> =
            vec![Box::new(RuleEngine::new(rules, config.detect.max_keys_per_rule))];
        if config.detect.host_anomaly.enabled {
            catalog.push(Arc::new(rampart_detect::host_anomaly::rule_info()));
            detectors.push(Box::new(HostAnomalyDetector::new(
                config.detect.host_anomaly.clone(),
                local_host_name(),
                Some(config.data_dir.join("host-baseline.json")),
            )));
        }
        let model_slot = Arc::new(ModelSlot::default());
        let models = Arc::new(ModelManager::new(store.clone(), model_slot.clone()));
        let model_poll = if config.detect.flows.enabled {
            models.sync().map_err(|e| anyhow::anyhow!("cannot read the model registry: {e}"))?;
            detectors.push(Box::new(FlowDetector::new(model_slot, config.detect.flows.min_probability)));
            Some(tokio::spawn(poll_models(models.clone(), Duration::from_secs(config.detect.flows.registry_poll_secs))))
        } else {
            None
        };
        let aggregator =
            Aggregator::new(config.alerts.dedup_window_secs, config.alerts.max_evidence, config.alerts.max_open);

        let notifier = Arc::new(
            Notifier {
                delay: Duration::from_millis(config.alerts.notify_delay_ms),
                renotify: Duration::from_secs(config.alerts.renotify_interval_secs),
            }
            .spawn(build_sinks(&config.sinks)?, 16_384),
        );
        let (live, _) = broadcast::channel(4_096);
        let (responder, respond_tx) = start_responder(&config, store.clone())?;
        let on_alert = {
            let (notifier, live, respond_tx) = (notifier.clone(), live.clone(), respond_tx.clone());
            Box::new(move |alert: &Alert, opened: bool| {
                notifier.notify(alert.clone());
                let _ = live.send(alert.clone());
                // The detect thread waits for room rather than drop an alert a playbook should see.
                if opened && respond_tx.blocking_send(ResponderInput::Alert(alert.clone())).is_err() {
                    tracing::error!("The responder has stopped; no playbook ran for this alert.");
                }
            })
        };

        let rate = Arc::new(RateMeter::default());
        let (ingest, ingest_rx) = ingest_queue(config.ingest.queue_capacity);
        let state = AppState::new(
            store.clone(),
            ingest.clone(),
            config.ingest.limits(),
            Duration::from_millis(config.ingest.enqueue_timeout_ms),
            rate.clone(),
            metrics,
        )
        .with_decisions(bridge_requests(respond_tx))
        .with_models(models)
        .with_rules(catalog)
        .with_rate_limits(config.ingest.max_events_per_sec_per_token, config.ingest.max_events_per_sec_per_client)
        .with_http(&config.http);
        let pipeline = Pipeline::start(
            &PipelineConfig {
                max_commit_events: config.store.max_commit_events,
                detect_queue_capacity: config.detect.queue_capacity,
            },
            state.pipeline_health(),
            store.clone(),
            ingest_rx,
            detectors,
            aggregator,
            rate.clone(),
            on_alert,
        )
        .context("cannot start the pipeline threads")?;
        let retention = tokio::spawn(retention_sweep(
            store.clone(),
            config.store.retention_days,
            Duration::from_secs(config.store.retention_interval_secs.max(1)),
        ));

        let sources = start_sources(&config, &ingest)?;
        let options = listen_options(&config)?;
        let scheme = if options.tls.is_some() { "https" } else { "http" };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr().context("no local address")?;
        if !addr.ip().is_loopback() && options.tls.is_none() {
            tracing::warn!(%addr, "Listening beyond loopback without TLS: tokens and events cross the network in clear text (set --tls-cert and --tls-key).");
        }
        let (stop_server, stopped) = oneshot::channel::<()>();
        let app = router(state.clone());
        let server = tokio::spawn(rampart_server::serve(listener, app, options, async {
            let _ = stopped.await;
        }));
        tracing::info!(%addr, scheme, data_dir = %config.data_dir.display(), "Rampart is listening.");
        Ok(Node {
            addr,
            live,
            state,
            ingest,
            stop_server,
            server,
            pipeline,
            notifier,
            retention,
            checkpoints,
            model_poll,
            sources,
            responder,
        })
    }

    /// Stops taking requests, drains both queues, flushes sinks.
    pub async fn stop(self) {
        let Node {
            state,
            ingest,
            stop_server,
            server,
            pipeline,
            notifier,
            retention,
            checkpoints,
            model_poll,
            sources,
            responder,
            ..
        } = self;
        state.set_ready(false);
        // Sources first: each finishes the batch in flight (and saves its offsets).
        for (stop, _) in &sources {
            stop.store(true, Ordering::SeqCst);
        }
        for (_, thread) in sources {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        let _ = stop_server.send(());
        match server.await {
            Ok(Err(error)) => tracing::error!(%error, "HTTP server failed."),
            Err(error) => tracing::error!(%error, "HTTP server task failed."),
            Ok(Ok(())) => {}
        }
        retention.abort();
        checkpoints.abort();
        if let Some(poll) = model_poll {
            poll.abort();
        }
        // With every sender gone, the writer drains the queue and stops, then detection.
        drop(state);
        drop(ingest);
        if tokio::task::spawn_blocking(move || pipeline.join()).await.is_err() {
            tracing::error!("Pipeline did not stop cleanly.");
        }
        // The responder finishes what is queued once the pipeline and the
        // API (its only senders) are gone.
        let joined =
            tokio::time::timeout(Duration::from_secs(10), tokio::task::spawn_blocking(move || responder.join()));
        if joined.await.is_err() {
            tracing::warn!("The responder did not stop within 10 s.");
        }
        match Arc::try_unwrap(notifier) {
            Ok(notifier) => notifier.shutdown().await,
            Err(_) => tracing::warn!("Notifier still shared at shutdown; pending notifications may be lost."),
        }
        tracing::info!("Rampart stopped.");
    }
}

/// The listener's limits from `[http]`, the connection cap lowered to what
/// the open-files limit can hold beside the store and the sources.
fn listen_options(config: &Config) -> anyhow::Result<rampart_server::ListenOptions> {
    let http = &config.http;
    let tls = match (&http.tls_cert, &http.tls_key) {
        (Some(cert), Some(key)) => Some(rampart_server::tls_config(cert, key)?),
        _ => None,
    };
    // Descriptors kept back for the store, sources, sinks and the overflow lane.
    const RESERVED_FDS: u64 = 256;
    let mut max_connections = http.max_connections;
    if let Some(limit) = crate::startup::open_files_limit() {
        let room = usize::try_from(limit.saturating_sub(RESERVED_FDS)).unwrap_or(usize::MAX).max(16);
        if room < max_connections {
            tracing::warn!(
                configured = max_connections,
                open_files_limit = limit,
                used = room,
                "The open-files limit cannot hold http.max_connections; using fewer."
            );
            max_connections = room;
        }
    }
    Ok(rampart_server::ListenOptions {
        max_connections,
        header_timeout: Duration::from_millis(http.header_timeout_ms),
        idle_timeout: Duration::from_secs(http.idle_timeout_secs),
        shutdown_grace: Duration::from_secs(http.shutdown_grace_secs),
        tls,
    })
}

/// One thread per `[[sources.files]]` and per `[[sources.journal]]`, each
/// following into the ingest queue (offsets and cursors live in the data
/// directory, named by position in the config), one per Prometheus endpoint,
/// and one for the host collector.
pub(crate) fn start_sources(
    config: &Config,
    ingest: &IngestSender,
) -> anyhow::Result<Vec<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>> {
    let mut running = Vec::new();
    for (i, files) in config.sources.files.iter().enumerate() {
        let spec = FileSourceSpec {
            paths: files.paths.clone(),
            format: LogFormat::parse(&files.format),
            regex: files.regex.clone(),
            start_at: if files.start_at == "beginning" { StartAt::Beginning } else { StartAt::End },
            poll_interval: Duration::from_millis(files.poll_interval_ms),
        };
        let offsets = config.data_dir.join(format!("file-offsets-{i}.json"));
        let source =
            FileSource::new(spec, offsets, ingest.clone()).map_err(|e| anyhow::anyhow!("sources.files[{i}].{e}"))?;
        running.push(spawn_source(format!("rampart-files-{i}"), move |rt, stop| source.run(rt, stop))?);
    }
    for (i, journal) in config.sources.journal.iter().enumerate() {
        let spec = JournalSpec {
            units: journal.units.clone(),
            directory: journal.directory.clone(),
            start_at: if journal.start_at == "beginning" { StartAt::Beginning } else { StartAt::End },
            journalctl: journal.journalctl.clone(),
        };
        let cursor = config.data_dir.join(format!("journal-cursor-{i}.txt"));
        let source = JournalSource::new(spec, cursor, ingest.clone())
            .map_err(|e| anyhow::anyhow!("sources.journal[{i}].{e}"))?;
        running.push(spawn_source(format!("rampart-journal-{i}"), move |rt, stop| source.run(rt, stop))?);
    }
    if !config.sources.prometheus.is_empty() {
        let client = http_client().map_err(anyhow::Error::msg)?;
        for prom in &config.sources.prometheus {
            let spec = PrometheusSpec {
                url: prom.url.clone(),
                interval: Duration::from_secs(prom.interval_secs),
                include: prom.include.clone(),
                queries: prom.queries.iter().map(|q| (q.name.clone(), q.query.clone())).collect(),
                timeout: Duration::from_millis(prom.timeout_ms),
            };
            let source = PrometheusSource::new(spec, client.clone(), ingest.clone());
            running.push(spawn_source("rampart-prometheus".into(), move |rt, stop| source.run(rt, stop))?);
        }
    }
    if config.sources.host.enabled {
        let spec = HostSpec {
            interval: Duration::from_millis(config.sources.host.interval_ms),
            top: config.sources.host.top_processes,
        };
        let source = HostSource::new(spec, ingest.clone());
        running.push(spawn_source("rampart-host".into(), move |rt, stop| source.run(rt, stop))?);
    }
    Ok(running)
}

/// The responder thread (playbooks, allowlist, enforcers) and its queue.
fn start_responder(
    config: &Config,
    store: Arc<dyn Store>,
) -> anyhow::Result<(std::thread::JoinHandle<()>, mpsc::Sender<ResponderInput>)> {
    let respond = &config.respond;
    let mut playbooks = respond
        .playbooks
        .iter()
        .enumerate()
        .map(|(i, p)| Playbook::from_config(p).map_err(|e| anyhow::anyhow!("respond.playbooks[{i}].{e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if respond.builtin_playbooks {
        playbooks.extend(builtin_playbooks());
    }
    let allowlist = Allowlist::new(&respond.allowlist, &respond.protected_processes)
        .map_err(|e| anyhow::anyhow!("respond.allowlist: {e}"))?;
    let enforce = respond.mode == "enforce";
    if enforce {
        tracing::warn!(table = %respond.nftables.table, "Enforce mode: decisions are applied with nftables.");
    } else {
        tracing::info!("Observe mode: decisions are recorded, not applied (rampart serve --enforce to apply).");
    }
    let firewall = crate::cmd::firewall(config);
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
        .context("cannot start the responder thread")?;
    Ok((thread, tx))
}

/// The API speaks `DecisionRequest`s; the responder takes those and alerts
/// on one queue, so everything that changes the firewall is ordered.
fn bridge_requests(respond_tx: mpsc::Sender<ResponderInput>) -> mpsc::Sender<DecisionRequest> {
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

/// A blocking source on its own thread, with the flag that stops it.
fn spawn_source(
    name: String,
    run: impl FnOnce(tokio::runtime::Handle, Arc<AtomicBool>) + Send + 'static,
) -> anyhow::Result<(Arc<AtomicBool>, std::thread::JoinHandle<()>)> {
    let stop = Arc::new(AtomicBool::new(false));
    let (flag, runtime) = (stop.clone(), tokio::runtime::Handle::current());
    let thread = std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || run(runtime, flag))
        .with_context(|| format!("cannot start the {name} thread"))?;
    Ok((stop, thread))
}

/// On the very first start, creates the admin token: the operator's own
/// (`RAMPART_ADMIN_TOKEN`) or a fresh one printed once to stderr.
fn bootstrap_admin_token(store: &dyn Store, announce: bool) -> anyhow::Result<()> {
    if store.token_count()? > 0 {
        return Ok(());
    }
    match std::env::var("RAMPART_ADMIN_TOKEN") {
        Ok(token) if !token.trim().is_empty() => {
            auth::token_strength(token.trim()).map_err(anyhow::Error::msg)?;
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

fn build_sinks(config: &SinksConfig) -> anyhow::Result<Vec<SinkWorker>> {
    let mut sinks = Vec::new();
    if config.stdout {
        sinks.push(spawn_sink(Arc::new(StdoutSink::default()), config.queue_capacity, DeliveryConfig::default()));
    }
    if config.slack.is_some() || !config.webhooks.is_empty() {
        let client = http_client().map_err(anyhow::Error::msg)?;
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

/// Picks up roles changed from the command line (`rampart models activate`).
async fn poll_models(models: Arc<ModelManager>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let models = models.clone();
        match tokio::task::spawn_blocking(move || models.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!(%error, "Cannot read the model registry."),
            Err(error) => tracing::error!(%error, "Model registry poll failed."),
        }
    }
}

async fn retention_sweep(store: Arc<dyn Store>, days: u32, every: Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        let cutoff = rampart_core::time::now_ms() - i64::from(days) * 86_400_000;
        let store = store.clone();
        match tokio::task::spawn_blocking(move || store.purge_events_before(cutoff)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::info!(deleted = n, days, "Retention sweep deleted old events."),
            Ok(Err(error)) => tracing::error!(%error, "Retention sweep failed."),
            Err(error) => tracing::error!(%error, "Retention sweep task failed."),
        }
    }
}

/// The bulk of WAL checkpointing, every second, beside the writer
/// (`SqliteStore::checkpoint_concurrently`); the writer finishes each one.
async fn checkpoint_loop(store: Arc<SqliteStore>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let store = store.clone();
        if let Ok(Err(error)) = tokio::task::spawn_blocking(move || store.checkpoint_concurrently()).await {
            tracing::warn!(%error, "WAL checkpoint failed.");
        }
    }
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
